//! Key rotation of the sample methods (`SAMPLE_AES` on HLS-CMAF, `CENC` and `CBCS` on DASH;
//! docs/encryption.md, "Key rotation of the sample methods"), and the Widevine and PlayReady
//! `pssh` boxes of a static key. Checked with independent readers: ffmpeg decrypts each
//! segment with its own key period's key only (`framemd5` equal to the clear endpoint's),
//! mp4-atom (strict) reads each `traf` with its `seig` sample group, and the test's own box
//! walker, protobuf and PlayReady Object readers check the `pssh` boxes.
//! Needs ffmpeg (listed in the Makefile's FFPROBE_TESTS).

mod common;

use common::speke::*;
use common::*;
use edgepack::testing::fetched;
use edgepack::{Method, Request};
use serde_json::{json, Value};

const EP: &str = "/api/v1/groups/demo/channels/live/endpoints";
/// Seconds per key period of the rotating endpoints.
const INTERVAL_S: u64 = 10;
/// The fixture segments' program date times: the first ends where the next period starts.
const PDT_MS: [u64; 2] = [T0 + 8_000, T0 + 10_000];
const CLEARKEY: &str = "1077efec-c0b2-4d02-ace3-3c1e52e2fb4b";
const WIDEVINE_ID: [u8; 16] = [
    0xed, 0xef, 0x8b, 0xa9, 0x79, 0xd6, 0x4a, 0xce, 0xa3, 0xc8, 0x27, 0xdc, 0xd5, 0x1d, 0x21, 0xed,
];
const PLAYREADY_ID: [u8; 16] = [
    0x9a, 0x04, 0xf0, 0x79, 0x98, 0x40, 0x42, 0x86, 0xab, 0x92, 0xe6, 0x5b, 0xe0, 0x88, 0x5f, 0x95,
];

fn unhex(h: &str) -> Vec<u8> {
    (0..h.len() / 2)
        .map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

fn unb64(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

/// The period `ms` of program date time falls in.
fn period(ms: u64) -> u64 {
    ms / (INTERVAL_S * 1000)
}

fn iso(ms: u64) -> String {
    let secs = ms / 1000 - T0 / 1000;
    // T0 is 2026-11-23T12:00:00Z; the fixtures sit seconds after it.
    format!("2026-11-23T12:00:{secs:02}.{:03}Z", ms % 1000)
}

/// Channel `demo/live` (endpoint `clear`, HLS) with the two fixture segments pushed with
/// program date times [`PDT_MS`], so they fall in consecutive key periods.
fn channel() -> TestOrigin {
    provider_answering_every_kid();
    let o = origin();
    let creds = setup(&o, json!({"name": "clear"}));
    for (i, name) in ["h264_aac_0.ts", "h264_aac_1.ts"].iter().enumerate() {
        let now = PDT_MS[i] + 100;
        assert_eq!(
            put(&o, 1, &creds, &format!("v/seg{i}.ts"), &fixture(name), now).status,
            201
        );
        let mut pl =
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n"
                .to_owned();
        for (n, pdt) in PDT_MS.iter().enumerate().take(i + 1) {
            pl += &format!(
                "#EXT-X-PROGRAM-DATE-TIME:{}\n#EXTINF:2.000000,\nseg{n}.ts\n",
                iso(*pdt)
            );
        }
        let r = put(&o, 1, &creds, "v/index.m3u8", pl.as_bytes(), now + 10);
        assert!(r.status == 201 || r.status == 200, "{}", text(&r));
    }
    o
}

fn endpoint(o: &TestOrigin, name: &str, protocol: &str, encryption: Value) {
    let (s, v) = api(
        o,
        Method::Post,
        EP,
        Some(json!({"name": name, "protocol": protocol, "encryption": encryption})),
    );
    assert_eq!(s, 201, "{v}");
}

fn at(o: &TestOrigin, endpoint: &str, file: &str) -> Vec<u8> {
    let req = Request::new(Method::Get, &format!("/out/v1/demo/live/{endpoint}/{file}"));
    let r = send(o, req, PDT_MS[1] + 3_000);
    assert_eq!(
        r.status,
        200,
        "{endpoint}/{file}: {}",
        String::from_utf8_lossy(&r.body)
    );
    r.body
}

fn utf8(b: Vec<u8>) -> String {
    String::from_utf8(b).unwrap()
}

/// The boxes of `data` at one level: (type, body) in order.
fn boxes(data: &[u8]) -> Vec<([u8; 4], &[u8])> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos + 8 <= data.len() {
        let size = u32::from_be_bytes(data[pos..pos + 4].try_into().unwrap()) as usize;
        assert!(size >= 8 && pos + size <= data.len(), "box at {pos}");
        out.push((
            data[pos + 4..pos + 8].try_into().unwrap(),
            &data[pos + 8..pos + size],
        ));
        pos += size;
    }
    assert_eq!(pos, data.len(), "boxes fill the data");
    out
}

fn child<'a>(data: &'a [u8], kind: &[u8; 4]) -> &'a [u8] {
    boxes(data)
        .into_iter()
        .find(|(k, _)| k == kind)
        .unwrap_or_else(|| panic!("no {}", String::from_utf8_lossy(kind)))
        .1
}

/// `tenc` of an init segment's sample entry (`encv`/`enca`).
fn tenc(init: &[u8]) -> Vec<u8> {
    let i = init.windows(4).position(|w| w == b"tenc").expect("tenc") - 4;
    let size = u32::from_be_bytes(init[i..i + 4].try_into().unwrap()) as usize;
    init[i + 8..i + size].to_vec()
}

/// What one rotating media segment says about its key.
struct Fragment {
    /// KID of the `seig` entry every sample maps to.
    kid: [u8; 16],
    /// The `seig` entry's constant IV (cbcs) and crypt:skip byte.
    constant_iv: Option<Vec<u8>>,
    pattern: u8,
    /// `pssh` boxes in `moof`: (SystemID, KIDs).
    pssh: Vec<([u8; 16], Vec<[u8; 16]>)>,
}

/// Reads a media segment: mp4-atom (strict) decodes its `traf`; `sbgp` maps every sample to
/// the fragment's own `seig` entry, which is read field by field.
fn fragment(segment: &[u8]) -> Fragment {
    use mp4_atom::Decode;
    let top = boxes(segment);
    assert_eq!(
        top.iter().map(|b| b.0).collect::<Vec<_>>(),
        [*b"styp", *b"moof", *b"mdat"]
    );
    let moof = top[1].1;
    let mut pssh = Vec::new();
    let mut traf = None;
    for (kind, body) in boxes(moof) {
        match &kind {
            b"mfhd" => assert!(pssh.is_empty() && traf.is_none(), "mfhd first"),
            b"pssh" => {
                let system: [u8; 16] = body[4..20].try_into().unwrap();
                let kids = if body[0] == 1 {
                    let n = u32::from_be_bytes(body[20..24].try_into().unwrap()) as usize;
                    (0..n)
                        .map(|i| body[24 + 16 * i..40 + 16 * i].try_into().unwrap())
                        .collect()
                } else {
                    Vec::new()
                };
                pssh.push((system, kids));
            }
            b"traf" => traf = Some(body),
            other => panic!("unexpected {} in moof", String::from_utf8_lossy(other)),
        }
    }
    let traf_body = traf.expect("traf");
    let mut whole = (u32::try_from(traf_body.len() + 8).unwrap())
        .to_be_bytes()
        .to_vec();
    whole.extend_from_slice(b"traf");
    whole.extend_from_slice(traf_body);
    let traf = mp4_atom::Traf::decode(&mut std::io::Cursor::new(&whole))
        .unwrap_or_else(|e| panic!("mp4-atom traf: {e}"));
    let samples = traf.trun[0].entries.len() as u32;
    assert_eq!(traf.sbgp.len(), 1, "one sbgp");
    let sbgp = &traf.sbgp[0];
    assert_eq!(sbgp.grouping_type, b"seig".into());
    assert_eq!(sbgp.entries.len(), 1);
    assert_eq!(
        sbgp.entries[0].sample_count, samples,
        "every sample in the group"
    );
    assert_eq!(
        sbgp.entries[0].group_description_index, 0x1_0001,
        "the fragment's own sgpd entry 1"
    );
    assert_eq!(traf.sgpd.len(), 1, "one sgpd");
    let sgpd = &traf.sgpd[0];
    assert_eq!(sgpd.grouping_type, b"seig".into());
    assert_eq!(sgpd.entries.len(), 1);
    let mp4_atom::AnySampleGroupEntry::UnknownGroupingType(_, entry) = &sgpd.entries[0].entry
    else {
        panic!("seig entry bytes");
    };
    assert_eq!(sgpd.default_length, Some(entry.len() as u32));
    assert_eq!(entry[2], 1, "isProtected");
    let constant_iv = match entry[3] {
        0 => {
            assert_eq!(entry[20], 16, "constant_IV_size");
            assert_eq!(entry.len(), 37);
            Some(entry[21..37].to_vec())
        }
        8 => {
            assert_eq!(entry.len(), 20);
            None
        }
        n => panic!("Per_Sample_IV_Size {n}"),
    };
    Fragment {
        kid: entry[4..20].try_into().unwrap(),
        constant_iv,
        pattern: entry[1],
        pssh,
    }
}

/// KIDs of a key line (`KEYID=0x...`).
fn key_ids(playlist: &str) -> Vec<String> {
    playlist
        .lines()
        .filter(|l| l.starts_with("#EXT-X-KEY:") && l.contains("KEYFORMAT=\"identity\""))
        .map(|l| l.split("KEYID=0x").nth(1).unwrap()[..32].to_owned())
        .collect()
}

/// The content ids, KIDs and period indexes of the provider requests so far.
fn asked() -> Vec<(String, String, Option<u64>)> {
    fetched()
        .iter()
        .map(|r| {
            let body = std::str::from_utf8(&r.body).unwrap();
            let index = attrs(body, "ContentKeyPeriod", "index")
                .first()
                .map(|s| s.parse().unwrap());
            (
                attrs(body, "CPIX", "contentId")[0].to_owned(),
                attrs(body, "ContentKey", "kid")[0].replace('-', ""),
                index,
            )
        })
        .collect()
}

#[test]
fn sample_methods_rotate_keys_per_period_and_each_segment_decrypts_with_its_own_key() {
    let o = channel();
    let rotating = |method: &str, content_id: &str| {
        json!({"method": method, "key_provider_url": PROVIDER, "content_id": content_id,
            "drm_systems": ["CLEAR_KEY"], "key_rotation_interval": INTERVAL_S})
    };
    endpoint(&o, "clearcmaf", "HLS_CMAF", Value::Null);
    endpoint(&o, "cmaf", "HLS_CMAF", rotating("SAMPLE_AES", "rot-cmaf"));
    endpoint(&o, "cenc", "DASH", rotating("CENC", "rot-cenc"));
    endpoint(&o, "cbcs", "DASH", rotating("CBCS", "rot-cbcs"));
    let periods = [period(PDT_MS[0]), period(PDT_MS[1])];
    assert_eq!(
        periods[1],
        periods[0] + 1,
        "the fixtures straddle a boundary"
    );

    // The clear reference frames of each segment.
    let pl = utf8(at(&o, "clearcmaf", "v/index/video.m3u8"));
    let map_line = pl.lines().find(|l| l.starts_with("#EXT-X-MAP")).unwrap();
    let map = map_line.split('"').nth(1).unwrap().to_owned();
    let segments: Vec<String> = pl
        .lines()
        .filter(|l| l.ends_with(".m4s"))
        .map(str::to_owned)
        .collect();
    assert_eq!(segments.len(), 2, "{pl}");
    let clear_init = at(&o, "clearcmaf", &format!("v/index/{map}"));
    let clear: Vec<Vec<String>> = segments
        .iter()
        .map(|s| {
            framemd5(
                &clear_init,
                &at(&o, "clearcmaf", &format!("v/index/{s}")),
                None,
            )
        })
        .collect();
    assert!(clear.iter().all(|f| f.len() >= 30), "{clear:?}");

    // HLS-CMAF: the key lines and the init change where the period does.
    let pl = utf8(at(&o, "cmaf", "v/index/video.m3u8"));
    assert!(!pl.contains("EDGEPACK"), "no mark left: {pl}");
    let maps: Vec<String> = pl
        .lines()
        .filter(|l| l.starts_with("#EXT-X-MAP"))
        .map(|l| l.split('"').nth(1).unwrap().to_owned())
        .collect();
    let kids = key_ids(&pl);
    assert_eq!(kids.len(), 2, "an identity line per period: {pl}");
    assert_ne!(kids[0], kids[1], "a new KID per period");
    assert_eq!(maps.len(), 2, "an init per period: {pl}");
    for (i, (p, kid)) in periods.iter().zip(&kids).enumerate() {
        let identity =
            format!("URI=\"../../key/{p}-video.key\",KEYID=0x{kid},KEYFORMAT=\"identity\"");
        assert!(pl.contains(&identity), "{identity}\n{pl}");
        assert_eq!(
            at(&o, "cmaf", &format!("key/{p}-video.key")),
            key_of(kid).to_vec()
        );
        assert!(maps[i].ends_with(&format!("_k{p}.mp4")), "{pl}");
    }
    // Each period's lines and map come right before its first segment.
    let second_keys = pl.rfind("#EXT-X-KEY").unwrap();
    let second_map = pl.rfind("#EXT-X-MAP").unwrap();
    assert!(
        pl.find(&segments[0]).unwrap() < second_map.min(second_keys)
            && second_map.max(second_keys) < pl.find(&segments[1]).unwrap(),
        "{pl}"
    );
    for (i, s) in segments.iter().enumerate() {
        // The period's init: its KID in tenc (Shaka's HLS maps the identity key to it) and
        // its ClearKey pssh in moov.
        let init = at(&o, "cmaf", &format!("v/index/{}", maps[i]));
        let t = tenc(&init);
        assert_eq!(hex(&t[8..24]), kids[i], "tenc default_KID of period {i}");
        let moov = child(&init[boxes(&init)[0].1.len() + 8..], b"moov");
        assert_eq!(
            boxes(moov).iter().filter(|b| &b.0 == b"pssh").count(),
            1,
            "ClearKey's pssh in moov"
        );
        let seg = at(&o, "cmaf", &format!("v/index/{s}"));
        let f = fragment(&seg);
        assert_eq!(hex(&f.kid), kids[i], "seig names the segment's period KID");
        assert_eq!(f.pattern, 0x19, "cbcs video 1:9");
        assert_eq!(
            f.constant_iv.as_deref(),
            Some(&t[25..41]),
            "seig constant IV"
        );
        assert_eq!(f.pssh.len(), 1, "ClearKey's pssh in moof");
        assert_eq!(hex(&f.pssh[0].0), CLEARKEY.replace('-', ""));
        assert_eq!(f.pssh[0].1, vec![f.kid]);
        let own = key_of(&kids[i]);
        assert_eq!(
            framemd5(&init, &seg, Some(&own)),
            clear[i],
            "segment {i} with its own key"
        );
        let other = key_of(&kids[1 - i]);
        assert_ne!(
            framemd5(&init, &seg, Some(&other)),
            clear[i],
            "segment {i} with the other period's key"
        );
    }
    // The one init for all periods (DASH's) is served too, with the placeholder KID.
    let placeholder = maps[0].replace(&format!("_k{}", periods[0]), "");
    let init = at(&o, "cmaf", &format!("v/index/{placeholder}"));
    assert_eq!(&tenc(&init)[8..24], &[0u8; 16], "placeholder default_KID");
    assert!(!init.windows(4).any(|w| w == b"pssh"), "no pssh in moov");
    // A period name on an endpoint without rotation, or far from now: no init.
    let far = maps[0].replace(&format!("_k{}", periods[0]), "_k1");
    let req = Request::new(
        Method::Get,
        &format!("/out/v1/demo/live/cmaf/v/index/{far}"),
    );
    assert_eq!(send(&o, req, PDT_MS[1]).status, 404);
    // The master: the session keys of the first listed period.
    let master = utf8(at(&o, "cmaf", "manifest.m3u8"));
    assert!(
        master.contains(&format!("#EXT-X-SESSION-KEY:METHOD=SAMPLE-AES,URI=\"key/{}-video.key\",KEYID=0x{},KEYFORMAT=\"identity\"", periods[0], kids[0])),
        "{master}"
    );

    // DASH: ContentProtection names no key; each segment its own, in band.
    for (name, scheme) in [("cenc", "cenc"), ("cbcs", "cbcs")] {
        let mpd = utf8(at(&o, name, "manifest.mpd"));
        assert!(
            mpd.contains(&format!(
                "schemeIdUri=\"urn:mpeg:dash:mp4protection:2011\" value=\"{scheme}\""
            )),
            "{mpd}"
        );
        assert!(
            mpd.contains(&format!("schemeIdUri=\"urn:uuid:{CLEARKEY}\"")),
            "{mpd}"
        );
        assert!(
            !mpd.contains("default_KID") && !mpd.contains("cenc:pssh"),
            "{mpd}"
        );
        let video = &mpd[mpd.find("contentType=\"video\"").unwrap()..];
        let attr = |x: &str, n: &str| {
            let s = x.find(&format!("{n}=\"")).unwrap() + n.len() + 2;
            x[s..s + x[s..].find('"').unwrap()].to_owned()
        };
        let init = at(&o, name, &attr(video, "initialization"));
        assert_eq!(&tenc(&init)[8..24], &[0u8; 16], "{name}: tenc default_KID");
        let times = timeline_times(video);
        let mut seen = Vec::new();
        for (i, t) in times.iter().enumerate().take(2) {
            let seg = at(
                &o,
                name,
                &attr(video, "media").replace("$Time$", &t.to_string()),
            );
            let f = fragment(&seg);
            assert_eq!(f.constant_iv.is_some(), scheme == "cbcs", "{name}");
            let own = key_of(&hex(&f.kid));
            assert_eq!(
                framemd5(&init, &seg, Some(&own)),
                clear[i],
                "{name} segment {i}"
            );
            seen.push(f.kid);
        }
        assert_eq!(seen.len(), 2, "{mpd}");
        assert_ne!(seen[0], seen[1], "{name}: a new KID at the boundary");
        let wrong = key_of(&hex(&seen[0]));
        let seg = at(
            &o,
            name,
            &attr(video, "media").replace("$Time$", &times[1].to_string()),
        );
        assert_ne!(
            framemd5(&init, &seg, Some(&wrong)),
            clear[1],
            "{name}: the other period's key"
        );
    }

    // The provider: one request per endpoint and period, ContentKeyPeriod@index set.
    let asked = asked();
    for id in ["rot-cmaf", "rot-cenc", "rot-cbcs"] {
        let mut indexes: Vec<Option<u64>> =
            asked.iter().filter(|a| a.0 == id).map(|a| a.2).collect();
        indexes.sort();
        assert_eq!(indexes, periods.map(Some), "{id}: {asked:?}");
    }
}

/// The fields of a protobuf message: (field number, wire type, bytes or varint value).
fn protobuf(mut data: &[u8]) -> Vec<(u64, u8, Vec<u8>, u64)> {
    fn varint(d: &mut &[u8]) -> u64 {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = d[0];
            *d = &d[1..];
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                break;
            }
        }
        v
    }
    let mut out = Vec::new();
    while !data.is_empty() {
        let tag = varint(&mut data);
        let wire = (tag & 7) as u8;
        match wire {
            0 => {
                let v = varint(&mut data);
                out.push((tag >> 3, wire, Vec::new(), v));
            }
            2 => {
                let n = varint(&mut data) as usize;
                out.push((tag >> 3, wire, data[..n].to_vec(), 0));
                data = &data[n..];
            }
            w => panic!("wire type {w}"),
        }
    }
    out
}

/// A version 0 `pssh` body's SystemID and data.
fn pssh_data(body: &[u8]) -> ([u8; 16], Vec<u8>) {
    assert_eq!(body[0], 0, "version 0");
    let size = u32::from_be_bytes(body[20..24].try_into().unwrap()) as usize;
    assert_eq!(body.len(), 24 + size, "DataSize");
    (body[4..20].try_into().unwrap(), body[24..].to_vec())
}

/// A PlayReady Object's one WRM header, as text.
fn wrm_header(pro: &[u8]) -> String {
    assert_eq!(
        u32::from_le_bytes(pro[..4].try_into().unwrap()) as usize,
        pro.len(),
        "PRO length"
    );
    assert_eq!(u16::from_le_bytes([pro[4], pro[5]]), 1, "one record");
    assert_eq!(
        u16::from_le_bytes([pro[6], pro[7]]),
        1,
        "a rights management header"
    );
    let len = u16::from_le_bytes([pro[8], pro[9]]) as usize;
    assert_eq!(10 + len, pro.len());
    let units: Vec<u16> = pro[10..]
        .chunks(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16(&units).unwrap()
}

#[test]
fn a_static_key_gets_widevine_and_playready_pssh_boxes() {
    let o = channel();
    let kid = "00112233445566778899aabbccddeeff";
    let guid = [
        0x33u8, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee,
        0xff,
    ];
    for (name, method, la_url) in [
        ("wvcenc", "CENC", ""),
        (
            "wvcbcs",
            "CBCS",
            "https://pr.example.com/rightsmanager.asmx?a=1&b=2",
        ),
    ] {
        endpoint(
            &o,
            name,
            "DASH",
            json!({"method": method, "content_id": "movie-7", "drm_systems": ["WIDEVINE", "PLAYREADY"],
            "static_key": {"key_id": kid, "key": "f0e1d2c3b4a5968778695a4b3c2d1e0f", "key_url": la_url}}),
        );
        let mpd = utf8(at(&o, name, "manifest.mpd"));
        let pssh_of = |system: &str| {
            let pos = mpd
                .find(&format!("urn:uuid:{system}"))
                .unwrap_or_else(|| panic!("{mpd}"));
            let rest = &mpd[pos..];
            let start = rest
                .find("<cenc:pssh>")
                .unwrap_or_else(|| panic!("{system}: {mpd}"))
                + 11;
            unb64(&rest[start..start + rest[start..].find('<').unwrap()])
        };
        // Widevine: WidevinePsshData with key_id (2), content_id (4), protection_scheme (9).
        let wv = pssh_of("edef8ba9-79d6-4ace-a3c8-27dcd51d21ed");
        let (system, data) = pssh_data(boxes(&wv)[0].1);
        assert_eq!(system, WIDEVINE_ID);
        let fields = protobuf(&data);
        assert!(fields.contains(&(2, 2, unhex(kid), 0)), "{fields:?}");
        assert!(
            fields.contains(&(4, 2, b"movie-7".to_vec(), 0)),
            "{fields:?}"
        );
        let scheme = u32::from_be_bytes(method.to_ascii_lowercase().as_bytes().try_into().unwrap());
        assert!(
            fields.contains(&(9, 0, Vec::new(), u64::from(scheme))),
            "{fields:?}"
        );
        // PlayReady: a PlayReady Object with a WRM header naming the KID in GUID order.
        let pr = pssh_of("9a04f079-9840-4286-ab92-e65be0885f95");
        let (system, data) = pssh_data(boxes(&pr)[0].1);
        assert_eq!(system, PLAYREADY_ID);
        let xml = wrm_header(&data);
        let kid_b64 = b64(&guid);
        match method {
            "CENC" => {
                assert!(xml.contains("version=\"4.0.0.0\""), "{xml}");
                assert!(xml.contains(&format!("<KID>{kid_b64}</KID>")), "{xml}");
                assert!(
                    xml.contains("<ALGID>AESCTR</ALGID>") && !xml.contains("LA_URL"),
                    "{xml}"
                );
            }
            _ => {
                assert!(xml.contains("version=\"4.3.0.0\""), "{xml}");
                assert!(
                    xml.contains(&format!("<KID ALGID=\"AESCBC\" VALUE=\"{kid_b64}\">")),
                    "{xml}"
                );
                assert!(
                    xml.contains(
                        "<LA_URL>https://pr.example.com/rightsmanager.asmx?a=1&amp;b=2</LA_URL>"
                    ),
                    "{xml}"
                );
            }
        }
        // The init carries the same boxes in moov.
        let video = &mpd[mpd.find("contentType=\"video\"").unwrap()..];
        let s = video.find("initialization=\"").unwrap() + 16;
        let init = at(&o, name, &video[s..s + video[s..].find('"').unwrap()]);
        let moov = child(&init[boxes(&init)[0].1.len() + 8..], b"moov");
        let in_moov: Vec<&[u8]> = boxes(moov)
            .into_iter()
            .filter(|b| &b.0 == b"pssh")
            .map(|b| b.1)
            .collect();
        assert_eq!(in_moov, vec![&wv[8..], &pr[8..]], "{name}: moov pssh");
    }
    assert!(fetched().is_empty(), "a static key never calls a provider");
}
