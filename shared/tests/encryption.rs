//! Encrypted endpoints through the origin, with a fake key provider (`testing::on_fetch`):
//! the `encryption` setting's validation, HLS AES-128 (playlists, segments checked by
//! `openssl enc -d`, the key route behind access control, rotation), determinism across
//! origins, and every way keys can fail to come, each a 5xx and never clear media.

mod common;

use common::speke::*;
use common::*;
use edgepack::content_keys::forget_cached_keys;
use edgepack::testing::{fetched, on_fetch, FakeAnswer};
use edgepack::{FetchError, FetchRequest, FetchResponse, Method, Request, Response};
use serde_json::{json, Value};
use std::process::Command;

const EP: &str = "/api/v1/groups/demo/channels/live/endpoints";

/// How the fake provider answers.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Good,
    KidOverride,
    KidMismatch,
    ShortKey,
    Malformed,
    Status422,
    Down,
    Slow,
    TooLarge,
}

fn answer(req: &FetchRequest, mode: Mode) -> FakeAnswer {
    let body = std::str::from_utf8(&req.body).unwrap();
    let content_id = attrs(body, "CPIX", "contentId")[0];
    let kids = attrs(body, "ContentKey", "kid");
    let respond = |status: u16, body: String| {
        FakeAnswer::Respond(FetchResponse {
            status,
            body: body.into_bytes(),
        })
    };
    match mode {
        Mode::Down => return FakeAnswer::Fail(FetchError::Failed("connection refused".into())),
        Mode::Slow => return FakeAnswer::Hang,
        Mode::TooLarge => return FakeAnswer::Fail(FetchError::TooLarge),
        Mode::Status422 => return respond(422, "Missing CPIX@contentId".into()),
        Mode::Malformed => return respond(200, "<cpix:CPIX contentId=".into()),
        _ => {}
    }
    let mut keys = String::new();
    let mut rules = String::new();
    for kid in &kids {
        let answered = match mode {
            Mode::KidOverride => "abababab-abab-abab-abab-abababababab".to_owned(),
            _ => kid.to_string(),
        };
        let mut key = key_of(&answered.replace('-', "")).to_vec();
        if mode == Mode::ShortKey {
            key.truncate(8);
        }
        keys += &content_key(&answered, " commonEncryptionScheme=\"cbc1\"", &key);
        let ruled = if mode == Mode::KidMismatch {
            "cdcdcdcd-cdcd-cdcd-cdcd-cdcdcdcdcdcd"
        } else {
            answered.as_str()
        };
        rules += &format!(
            "<cpix:ContentKeyUsageRule kid=\"{ruled}\" intendedTrackType=\"VIDEO\"/><cpix:ContentKeyUsageRule kid=\"{ruled}\" intendedTrackType=\"AUDIO\"/>"
        );
    }
    cpix_answer(content_id, &keys, &rules)
}

fn provider(mode: Mode) {
    provider_with(move |req| answer(req, mode));
}

/// Channel `demo/live` with a clear endpoint `clear` and an encrypted `hls` (`encryption`
/// merged into the AES-128 defaults), 8 segments of rendition `v`, 2 s apart from `T0`.
fn live(encryption: Value) -> TestOrigin {
    provider(Mode::Good);
    let o = origin();
    let creds = setup(&o, json!({"name": "clear"}));
    let mut enc = json!({"method": "AES_128", "key_provider_url": PROVIDER});
    enc.as_object_mut()
        .unwrap()
        .extend(encryption.as_object().unwrap().clone());
    let (s, v) = api(
        &o,
        Method::Post,
        EP,
        Some(json!({"name": "hls", "encryption": enc})),
    );
    assert_eq!(s, 201, "{v}");
    push_live(&o, 1, &creds, "v", 8);
    o
}

const NOW: u64 = T0 + 16_000;

fn play(o: &TestOrigin, endpoint: &str, file: &str) -> Response {
    let (file, query) = file.split_once('?').unwrap_or((file, ""));
    let mut req = Request::new(Method::Get, &format!("/out/v1/demo/live/{endpoint}/{file}"));
    req.query = query.to_owned();
    send(o, req, NOW)
}

fn playlist(o: &TestOrigin) -> String {
    let r = play(o, "hls", "v/index/media.m3u8");
    assert_eq!(r.status, 200, "{}", text(&r));
    text(&r).to_owned()
}

/// Segment numbers listed in a playlist.
fn listed(pl: &str) -> Vec<u64> {
    plain(pl)
        .lines()
        .filter(|l| l.ends_with(".ts"))
        .map(|l| l.trim_end_matches(".ts").parse().unwrap())
        .collect()
}

/// `openssl enc -d -aes-128-cbc` of `data`; `None` when openssl refuses (bad padding).
fn openssl_decrypt(data: &[u8], key: &[u8; 16], iv: &[u8; 16]) -> Option<Vec<u8>> {
    let dir = std::env::temp_dir().join(format!("edgepack-enc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Tests run on parallel threads of one process: a file per call.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let input = dir.join(format!("{n}-{}.bin", hex(iv)));
    std::fs::write(&input, data).unwrap();
    let out = Command::new("openssl")
        .args([
            "enc",
            "-d",
            "-aes-128-cbc",
            "-K",
            &hex(key),
            "-iv",
            &hex(iv),
            "-in",
        ])
        .arg(&input)
        .output()
        .expect("openssl is installed");
    out.status.success().then_some(out.stdout)
}

fn iv_of(seq: u64) -> [u8; 16] {
    u128::from(seq).to_be_bytes()
}

/// The KID of each ContentKey the provider was asked for, and the period indexes.
fn asked() -> Vec<(String, Option<String>)> {
    fetched()
        .iter()
        .map(|r| {
            let body = std::str::from_utf8(&r.body).unwrap().to_owned();
            let kid = attrs(&body, "ContentKey", "kid")[0].replace('-', "");
            let period = attrs(&body, "ContentKeyPeriod", "index")
                .first()
                .map(|s| s.to_string());
            (kid, period)
        })
        .collect()
}

#[test]
fn encryption_settings_are_validated() {
    provider(Mode::Good);
    let o = origin();
    setup(&o, json!({"name": "clear"}));
    let post = |name: &str, protocol: &str, enc: Value| {
        api(
            &o,
            Method::Post,
            EP,
            Some(json!({"name": name, "protocol": protocol, "encryption": enc})),
        )
    };
    let url = PROVIDER;
    for (protocol, enc, field) in [
        (
            "HLS",
            json!({"method": "CENC", "key_provider_url": url}),
            "encryption.method",
        ),
        (
            "HLS_CMAF",
            json!({"method": "AES_128", "key_provider_url": url}),
            "encryption.method",
        ),
        (
            "DASH",
            json!({"method": "SAMPLE_AES", "key_provider_url": url, "drm_systems": ["WIDEVINE"]}),
            "encryption.method",
        ),
        (
            "HLS",
            json!({"method": "BOGUS", "key_provider_url": url}),
            "encryption.method",
        ),
        (
            "HLS",
            json!({"key_provider_url": url, "drm_systems": ["WIDEVINE"]}),
            "encryption.drm_systems",
        ),
        (
            "HLS_CMAF",
            json!({"key_provider_url": url}),
            "encryption.drm_systems",
        ),
        (
            "HLS_CMAF",
            json!({"key_provider_url": url, "drm_systems": ["WIDEVINE", "WIDEVINE"]}),
            "encryption.drm_systems",
        ),
        (
            "HLS_CMAF",
            json!({"key_provider_url": url, "drm_systems": ["NAGRA"]}),
            "encryption.drm_systems",
        ),
        (
            "DASH",
            json!({"key_provider_url": url, "drm_systems": ["FAIRPLAY"]}),
            "encryption.drm_systems",
        ),
        (
            "DASH",
            json!({"method": "CBCS", "key_provider_url": url, "drm_systems": ["WIDEVINE", "PLAYREADY", "FAIRPLAY"]}),
            "encryption.drm_systems",
        ),
        ("HLS", json!({}), "encryption.key_provider_url"),
        (
            "HLS",
            json!({"key_provider_url": "http://keys.example.com/"}),
            "encryption.key_provider_url",
        ),
        (
            "HLS",
            json!({"key_provider_url": "https://user:pw@keys.example.com/"}),
            "encryption.key_provider_url",
        ),
        (
            "HLS",
            json!({"key_provider_url": format!("https://k.example/{}", "a".repeat(512))}),
            "encryption.key_provider_url",
        ),
        (
            "HLS",
            json!({"key_provider_url": url, "constant_iv": "00ff"}),
            "encryption.constant_iv",
        ),
        (
            "HLS",
            json!({"key_provider_url": url, "content_id": "a b"}),
            "encryption.content_id",
        ),
        (
            "HLS",
            json!({"key_provider_url": url, "key_rotation_interval": 5}),
            "encryption.key_rotation_interval",
        ),
        (
            "HLS",
            json!({"key_provider_url": url, "key_rotation_interval": 86_401}),
            "encryption.key_rotation_interval",
        ),
        ("HLS", json!("AES_128"), "encryption"),
    ] {
        let (s, v) = post("bad", protocol, enc.clone());
        assert_eq!(
            (s, v["field"].as_str()),
            (400, Some(field)),
            "{protocol} {enc}: {v}"
        );
    }
    let (s, v) = post("bad", "HLS", json!({"key_provider_url": url, "colour": 1}));
    assert_eq!(s, 400, "{v}");
    assert!(v["error"].as_str().unwrap().contains("colour"), "{v}");
    assert_eq!(
        api(&o, Method::Get, &format!("{EP}/bad"), None).0,
        404,
        "nothing half-created"
    );

    // Defaults: AES_128 on HLS, a generated content id, the IV from the sequence number.
    let (s, v) = post(
        "aes",
        "HLS",
        json!({"key_provider_url": "http://127.0.0.1:9/speke"}),
    );
    assert_eq!(s, 201, "{v}");
    let e = &v["encryption"];
    assert_eq!(e["method"], "AES_128");
    assert_eq!(e["content_id"].as_str().unwrap().len(), 32);
    assert_eq!(e["constant_iv"], "");
    assert_eq!(e["drm_systems"], json!([]));
    assert_eq!(e["key_rotation_interval"], 0);
    // SAMPLE_AES on HLS_CMAF by default, with a generated constant IV; DASH up to two
    // commercial systems plus ClearKey.
    let (s, v) = post(
        "cmaf",
        "HLS_CMAF",
        json!({"key_provider_url": url, "drm_systems": ["FAIRPLAY", "WIDEVINE", "PLAYREADY", "CLEAR_KEY"]}),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["encryption"]["method"], "SAMPLE_AES");
    assert_eq!(v["encryption"]["constant_iv"].as_str().unwrap().len(), 32);
    let (s, v) = post(
        "dash",
        "DASH",
        json!({"method": "CBCS", "key_provider_url": url, "drm_systems": ["WIDEVINE", "PLAYREADY", "CLEAR_KEY"], "content_id": "my.Content_1"}),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["encryption"]["content_id"], "my.Content_1");
    // Key rotation with the sample methods too.
    let (s, v) = post(
        "dash2",
        "DASH",
        json!({"method": "CBCS", "key_provider_url": url, "drm_systems": ["CLEAR_KEY"], "key_rotation_interval": 60}),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["encryption"]["key_rotation_interval"], 60, "{v}");
    // A PATCH changes the named fields and keeps the generated ones; null removes it.
    let aes = format!("{EP}/aes");
    let before = api(&o, Method::Get, &aes, None).1["encryption"]["content_id"].clone();
    let (s, v) = api(
        &o,
        Method::Patch,
        &aes,
        Some(json!({"encryption": {"constant_iv": "000102030405060708090A0B0C0D0E0F"}})),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["encryption"]["content_id"], before);
    assert_eq!(
        v["encryption"]["constant_iv"],
        "000102030405060708090a0b0c0d0e0f"
    );
    let (s, v) = api(&o, Method::Patch, &aes, Some(json!({"protocol": "DASH"})));
    assert_eq!(
        (s, v["field"].as_str()),
        (400, Some("encryption.method")),
        "{v}"
    );
    let (s, v) = api(&o, Method::Patch, &aes, Some(json!({"encryption": null})));
    assert_eq!(s, 200, "{v}");
    assert!(v.get("encryption").is_none(), "{v}");
    assert!(fetched().is_empty(), "settings never call the provider");
}

#[test]
fn aes128_segments_decrypt_with_openssl_and_the_key_route_serves_the_key() {
    let o = live(json!({"content_id": "demo-live"}));
    let pl = playlist(&o);
    // One key line before the first segment (no rotation), relative to the rendition.
    assert_eq!(pl.matches("#EXT-X-KEY:").count(), 1, "{pl}");
    assert!(
        pl.contains("#EXT-X-KEY:METHOD=AES-128,URI=\"../../key/0.key\"\n"),
        "{pl}"
    );
    let key_at = pl.find("#EXT-X-KEY").unwrap();
    assert!(key_at < pl.find("#EXTINF").unwrap(), "{pl}");
    // The SPEKE request: headers, version, content id, the AES-128 system, usage rules.
    let requests = fetched();
    assert_eq!(requests.len(), 1, "one provider call for the period");
    let r = &requests[0];
    assert_eq!((r.method, r.url.as_str()), ("POST", PROVIDER));
    assert!(r.headers.contains(&("x-speke-version", "2.0".into())));
    assert!(r
        .headers
        .contains(&("content-type", "application/xml".into())));
    let body = std::str::from_utf8(&r.body).unwrap();
    for part in [
        "contentId=\"demo-live\"",
        "version=\"2.3\"",
        "commonEncryptionScheme=\"cbc1\"",
        "systemId=\"81376844-f976-481e-a84e-cc25d39b0b33\"",
        "intendedTrackType=\"VIDEO\"",
        "intendedTrackType=\"AUDIO\"",
    ] {
        assert!(body.contains(part), "{part} in {body}");
    }
    assert!(
        !body.contains("ContentKeyPeriod"),
        "no rotation, no periods"
    );
    let kid = attrs(body, "ContentKey", "kid")[0].replace('-', "");
    let key = key_of(&kid);

    let k = play(&o, "hls", "key/0.key");
    assert_eq!(k.status, 200, "{}", text(&k));
    assert_eq!(k.body, key);
    assert_eq!(k.header("cache-control"), Some("private, no-store"));
    for seq in listed(&pl) {
        let clear = play(&o, "clear", &format!("v/index/{seq}.ts"));
        let enc = play(&o, "hls", &format!("v/index/{seq}.ts"));
        assert_eq!((clear.status, enc.status), (200, 200));
        assert_eq!(enc.header("content-type"), Some("video/mp2t"));
        assert_ne!(enc.body, clear.body);
        assert_eq!(enc.body.len(), (clear.body.len() / 16 + 1) * 16, "PKCS#7");
        assert_eq!(
            openssl_decrypt(&enc.body, &key, &iv_of(seq)).as_deref(),
            Some(&clear.body[..]),
            "segment {seq}"
        );
        let mut wrong = key;
        wrong[0] ^= 1;
        assert_ne!(
            openssl_decrypt(&enc.body, &wrong, &iv_of(seq)).as_deref(),
            Some(&clear.body[..])
        );
    }
    assert!(
        fetched().is_empty(),
        "keys came from the store or the cache"
    );
    // Periods far away are refused without asking the provider.
    assert_eq!(play(&o, "hls", "key/99.key").status, 404);
    assert!(fetched().is_empty());
}

#[test]
fn constant_iv_is_signalled_and_used() {
    let iv = "000102030405060708090a0b0c0d0e0f";
    let o = live(json!({"constant_iv": iv}));
    let pl = playlist(&o);
    assert!(
        pl.contains(&format!("URI=\"../../key/0.key\",IV=0x{iv}\n")),
        "{pl}"
    );
    let key = play(&o, "hls", "key/0.key").body;
    let key: [u8; 16] = key.try_into().unwrap();
    let seq = listed(&pl)[0];
    let clear = play(&o, "clear", &format!("v/index/{seq}.ts")).body;
    let enc = play(&o, "hls", &format!("v/index/{seq}.ts")).body;
    let iv: [u8; 16] = core::array::from_fn(|i| i as u8);
    assert_eq!(openssl_decrypt(&enc, &key, &iv), Some(clear));
}

#[test]
fn keys_rotate_at_period_boundaries() {
    // 10 s periods over 2 s segments: a new key line every five segments.
    let o = live(json!({"key_rotation_interval": 10}));
    let pl = playlist(&o);
    let periods: Vec<u64> = pl
        .lines()
        .filter_map(|l| l.strip_prefix("#EXT-X-KEY:METHOD=AES-128,URI=\"../../key/"))
        .map(|l| l.trim_end_matches(".key\"").parse().unwrap())
        .collect();
    assert!(periods.len() >= 2, "{pl}");
    assert!(periods.windows(2).all(|w| w[1] == w[0] + 1), "{pl}");
    let asked = asked();
    assert_eq!(asked.len(), periods.len(), "one provider call per period");
    for ((_, index), p) in asked.iter().zip(&periods) {
        assert_eq!(
            index.as_deref(),
            Some(p.to_string().as_str()),
            "ContentKeyPeriod@index"
        );
    }
    assert_ne!(asked[0].0, asked[1].0, "a new KID per period");
    let keys: Vec<[u8; 16]> = asked.iter().map(|(kid, _)| key_of(kid)).collect();
    // Each segment decrypts with its own period's key only; periods hold five segments.
    let mut period: Option<usize> = None;
    let mut per_period = vec![0; periods.len()];
    for line in plain(&pl).lines() {
        if line.starts_with("#EXT-X-KEY") {
            period = Some(period.map_or(0, |p| p + 1));
        }
        let Some(seq) = line.strip_suffix(".ts").map(|n| n.parse::<u64>().unwrap()) else {
            continue;
        };
        let p = period.unwrap();
        per_period[p] += 1;
        let clear = play(&o, "clear", &format!("v/index/{seq}.ts")).body;
        let enc = play(&o, "hls", &format!("v/index/{seq}.ts")).body;
        assert_eq!(
            openssl_decrypt(&enc, &keys[p], &iv_of(seq)).as_ref(),
            Some(&clear),
            "segment {seq}"
        );
        let other = keys[(p + 1) % keys.len()];
        assert_ne!(
            openssl_decrypt(&enc, &other, &iv_of(seq)).as_ref(),
            Some(&clear)
        );
    }
    assert!(
        per_period[1..per_period.len() - 1].iter().all(|n| *n == 5),
        "{per_period:?}"
    );
    for (p, k) in periods.iter().zip(&keys) {
        let r = play(&o, "hls", &format!("key/{p}.key"));
        assert_eq!(&r.body[..], &k[..]);
    }
    assert!(
        fetched().is_empty(),
        "segments and keys used the stored periods"
    );
}

#[test]
fn the_key_route_answers_only_requests_that_pass_access_control() {
    let o = live(json!({}));
    let (s, v) = api(
        &o,
        Method::Patch,
        &format!("{EP}/hls"),
        Some(json!({"authorization_code": "let-me-in"})),
    );
    assert_eq!(s, 200, "{v}");
    let path = "/out/v1/demo/live/hls/key/0.key";
    let refused = get(&o, path, NOW);
    assert_eq!(refused.status, 403);
    assert!(refused.body.is_empty());
    let ok = send(
        &o,
        Request::new(Method::Get, path).with_header("authorization", "let-me-in"),
        NOW,
    );
    assert_eq!(ok.status, 200, "{}", text(&ok));
    assert_eq!(ok.body.len(), 16);
    assert_eq!(ok.header("cache-control"), Some("private, no-store"));
}

#[test]
fn a_failing_key_provider_is_a_5xx_naming_the_cause_and_never_clear_media() {
    for (mode, status, cause) in [
        (Mode::Status422, 502, "HTTP 422: Missing CPIX@contentId"),
        (Mode::Down, 502, "unreachable: connection refused"),
        (Mode::Slow, 504, "did not answer within 4000 ms"),
        (Mode::Malformed, 502, "malformed CPIX"),
        (Mode::KidMismatch, 502, "which the request did not ask for"),
        (Mode::ShortKey, 502, "is 8 bytes, not 16"),
        (Mode::TooLarge, 502, "exceeds 262144 bytes"),
    ] {
        let o = live(json!({}));
        provider(mode);
        for file in ["v/index/media.m3u8", "v/index/3.ts", "key/0.key"] {
            let r = play(&o, "hls", file);
            assert_eq!(r.status, status, "{file}: {}", text(&r));
            assert_eq!(r.header("content-type"), Some("application/json"));
            assert!(text(&r).contains(cause), "{file}: {}", text(&r));
            assert_eq!(r.header("cache-control"), Some("no-store"));
        }
        // A provider that recovers: keys come, nothing was stored meanwhile.
        provider(Mode::Good);
        assert_eq!(play(&o, "hls", "v/index/3.ts").status, 200);
    }
}

#[test]
fn a_kid_override_is_used() {
    let o = live(json!({}));
    provider(Mode::KidOverride);
    let r = play(&o, "hls", "key/0.key");
    assert_eq!(r.status, 200, "{}", text(&r));
    assert_eq!(r.body, key_of("abababababababababababababababab"));
}

#[test]
fn without_the_key_secret_encrypted_endpoints_fail_closed() {
    let mut o = live(json!({}));
    o.config.key_secret = None;
    for file in ["v/index/media.m3u8", "v/index/3.ts", "key/0.key"] {
        let r = play(&o, "hls", file);
        assert_eq!(r.status, 500, "{file}");
        assert!(text(&r).contains("EDGEPACK_KEY_SECRET"), "{}", text(&r));
    }
    assert!(fetched().is_empty());
    assert_eq!(
        play(&o, "clear", "v/index/3.ts").status,
        200,
        "clear endpoints unaffected"
    );
}

fn attr<'a>(xml: &'a str, name: &str) -> &'a str {
    let start = xml.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
    &xml[start..start + xml[start..].find('"').unwrap()]
}

#[test]
fn sample_encryption_decrypts_with_ffmpeg_and_is_signalled() {
    provider(Mode::Good);
    let o = origin();
    let creds = setup(&o, json!({"name": "clear"}));
    push_fixture_segments(&o, &creds);
    let mut endpoints = vec![("clearcmaf", "HLS_CMAF", Value::Null)];
    endpoints.push((
        "cmaf",
        "HLS_CMAF",
        json!({"key_provider_url": PROVIDER, "drm_systems": ["CLEAR_KEY", "WIDEVINE"]}),
    ));
    endpoints.push((
        "dash",
        "DASH",
        json!({"method": "CENC", "key_provider_url": PROVIDER, "drm_systems": ["CLEAR_KEY"]}),
    ));
    for (name, protocol, enc) in &endpoints {
        let (s, v) = api(
            &o,
            Method::Post,
            EP,
            Some(json!({"name": name, "protocol": protocol, "encryption": enc})),
        );
        assert_eq!(s, 201, "{v}");
    }
    let at = |endpoint: &str, file: &str| {
        let mut req = Request::new(Method::Get, &format!("/out/v1/demo/live/{endpoint}/{file}"));
        req.query = String::new();
        let r = send(&o, req, T0 + 5000);
        assert_eq!(
            r.status,
            200,
            "{endpoint} {file}: {}",
            String::from_utf8_lossy(&r.body)
        );
        r.body
    };
    // The clear reference: the HLS-CMAF playlist's init and first segment.
    let pl = String::from_utf8(at("clearcmaf", "v/index/video.m3u8")).unwrap();
    let map = attr(
        pl.lines().find(|l| l.starts_with("#EXT-X-MAP")).unwrap(),
        "URI",
    )
    .to_owned();
    let first = pl.lines().find(|l| l.ends_with(".m4s")).unwrap().to_owned();
    let clear = framemd5(
        &at("clearcmaf", &format!("v/index/{map}")),
        &at("clearcmaf", &format!("v/index/{first}")),
        None,
    );
    assert!(clear.len() >= 30, "{clear:?}");

    // HLS-CMAF, SAMPLE_AES (cbcs): EXT-X-KEY for ClearKey (hls.js's and the W3C system id's).
    let pl = String::from_utf8(at("cmaf", "v/index/video.m3u8")).unwrap();
    let key_line = pl
        .lines()
        .find(|l| l.contains("KEYFORMAT=\"org.w3.clearkey\""))
        .unwrap_or_else(|| panic!("{pl}"));
    assert!(
        key_line.starts_with("#EXT-X-KEY:METHOD=SAMPLE-AES,"),
        "{key_line}"
    );
    assert!(
        pl.contains("KEYFORMAT=\"urn:uuid:1077efec-c0b2-4d02-ace3-3c1e52e2fb4b\""),
        "{pl}"
    );
    let kid = key_line.split("KEYID=0x").nth(1).unwrap()[..32].to_owned();
    let key = key_of(&kid);
    // Shaka's ClearKey form (`identity`) points at the key route, which serves that key.
    assert!(
        pl.contains("URI=\"../../key/0-video.key\",KEYID=0x"),
        "{pl}"
    );
    assert_eq!(at("cmaf", "key/0-video.key"), key.to_vec());
    let init = at("cmaf", &format!("v/index/{map}"));
    let segment = at("cmaf", &format!("v/index/{first}"));
    assert!(init.windows(4).any(|w| w == b"encv") && init.windows(4).any(|w| w == b"cbcs"));
    assert!(init.windows(4).any(|w| w == b"pssh"));
    assert_ne!(
        segment,
        at("clearcmaf", &format!("v/index/{first}")),
        "encrypted"
    );
    assert_eq!(
        framemd5(&init, &segment, Some(&key)),
        clear,
        "cbcs decrypts to the clear frames"
    );
    let mut wrong = key;
    wrong[0] ^= 1;
    assert_ne!(
        framemd5(&init, &segment, Some(&wrong)),
        clear,
        "a wrong key does not"
    );

    // DASH, CENC: ContentProtection with the video key's KID and the ClearKey pssh.
    let mpd = String::from_utf8(at("dash", "manifest.mpd")).unwrap();
    assert!(mpd.contains("xmlns:cenc=\"urn:mpeg:cenc:2013\""), "{mpd}");
    assert!(
        mpd.contains("schemeIdUri=\"urn:mpeg:dash:mp4protection:2011\" value=\"cenc\""),
        "{mpd}"
    );
    assert!(
        mpd.contains("schemeIdUri=\"urn:uuid:1077efec-c0b2-4d02-ace3-3c1e52e2fb4b\""),
        "{mpd}"
    );
    assert!(mpd.contains("<cenc:pssh>"), "{mpd}");
    let video = &mpd[mpd.find("contentType=\"video\"").unwrap()..];
    let kid = attr(video, "cenc:default_KID").replace('-', "");
    let key = key_of(&kid);
    let init_name = attr(video, "initialization").replace("$RepresentationID$", "v/index");
    let media = attr(video, "media").to_owned();
    let t = attr(&video[video.find("<S ").unwrap()..], "t").to_owned();
    let init = at("dash", &init_name);
    let segment = at(
        "dash",
        &media
            .replace("$Time$", &t)
            .replace("$RepresentationID$", "v/index"),
    );
    assert!(init.windows(4).any(|w| w == b"encv") && init.windows(4).any(|w| w == b"tenc"));
    assert_eq!(
        framemd5(&init, &segment, Some(&key)),
        clear,
        "cenc decrypts to the clear frames"
    );
    // clip.mp4 of an encrypted endpoint: refused, never clear.
    for endpoint in ["cmaf", "dash"] {
        let mut req = Request::new(
            Method::Get,
            &format!("/out/v1/demo/live/{endpoint}/clip.mp4"),
        );
        req.query = "start=2026-11-23T12:00:00Z&end=2026-11-23T12:00:02Z".into();
        let r = send(&o, req, T0 + 5000);
        assert_eq!(r.status, 501, "{}", text(&r));
        assert!(
            text(&r).contains("nothing is served in the clear"),
            "{}",
            text(&r)
        );
    }
}

#[test]
fn clip_of_an_aes128_endpoint_is_refused() {
    provider(Mode::Good);
    let o = origin();
    setup(&o, json!({"name": "clear"}));
    // And clip.mp4 of an AES-128 endpoint is refused too.
    let (s, _) = api(
        &o,
        Method::Post,
        EP,
        Some(json!({"name": "hls", "encryption": {"key_provider_url": PROVIDER}})),
    );
    assert_eq!(s, 201);
    assert_eq!(play(&o, "hls", "clip.mp4").status, 501);
    assert!(fetched().is_empty());
}

/// A copy of an origin's stores in a fresh origin (another edge), with an empty key cache.
fn other_edge(o: &TestOrigin) -> TestOrigin {
    use edgepack::store::{KvStore, ObjectStore};
    let b = origin();
    block_on(async {
        for k in o.kv.list("").await.unwrap() {
            b.kv.put(&k, &o.kv.get(&k).await.unwrap().unwrap())
                .await
                .unwrap();
        }
        for k in o.objects.keys() {
            let obj = o.objects.get(&k).await.unwrap().unwrap();
            b.objects.put(&k, &obj.body, &obj.metadata).await.unwrap();
        }
    });
    forget_cached_keys();
    b
}

#[test]
fn two_edges_over_the_same_stores_serve_identical_bytes() {
    let a = live(json!({"key_rotation_interval": 10}));
    let files: Vec<String> = std::iter::once("v/index/media.m3u8".to_owned())
        .chain(
            listed(&playlist(&a))
                .iter()
                .map(|s| format!("v/index/{s}.ts")),
        )
        .collect();
    let from_a: Vec<Vec<u8>> = files.iter().map(|f| play(&a, "hls", f).body).collect();
    // The other edge's provider would hand out other keys: the stored ones win.
    let b = other_edge(&a);
    provider(Mode::KidOverride);
    for (f, bytes) in files.iter().zip(&from_a) {
        assert_eq!(&play(&b, "hls", f).body, bytes, "{f}");
    }
    assert!(fetched().is_empty(), "the other edge read the stored keys");
    // Stored keys are sealed: no key bytes appear in the store.
    let key = play(&a, "hls", &format!("key/{}.key", NOW / 10_000 - 1)).body;
    assert_eq!(key.len(), 16);
    for k in a.objects.keys() {
        let obj = block_on(edgepack::store::ObjectStore::get(&a.objects, &k))
            .unwrap()
            .unwrap();
        assert!(!obj.body.windows(16).any(|w| w == &key[..]), "{k}");
    }
}

#[test]
fn time_shifted_playlists_carry_the_keys_too() {
    let o = live(json!({"key_rotation_interval": 10}));
    let (s, v) = api(
        &o,
        Method::Patch,
        &format!("{EP}/hls"),
        Some(json!({"time_shift_days": 1})),
    );
    assert_eq!(s, 200, "{v}");
    // T0 is 2026-11-23T12:00:00Z: a VOD window over the first segments.
    let q = "start=2026-11-23T11:59:58Z&vodend=2026-11-23T12:00:12Z";
    let r = play(&o, "hls", &format!("v/index/media.m3u8?{q}"));
    assert_eq!(r.status, 200, "{}", text(&r));
    let pl = text(&r);
    assert!(pl.contains("#EXT-X-ENDLIST"), "{pl}");
    let keys: Vec<&str> = pl.lines().filter(|l| l.starts_with("#EXT-X-KEY")).collect();
    assert!(keys.len() >= 2, "a key line per period in the window: {pl}");
    // The window's query rides on the key URI like on every other URI; the key route ignores it.
    let uri = keys[0].split('"').nth(1).unwrap();
    assert!(uri.ends_with(&format!("?{q}")), "{uri}");
    let key_file = uri.trim_start_matches("../../");
    let k = play(&o, "hls", key_file);
    assert_eq!((k.status, k.body.len()), (200, 16), "{}", text(&k));
    // Every listed segment is encrypted (never the clear bytes).
    for seq in listed(
        &pl.lines()
            .map(|l| l.split('?').next().unwrap())
            .collect::<Vec<_>>()
            .join("\n"),
    ) {
        let enc = play(&o, "hls", &format!("v/index/{seq}.ts?{q}"));
        let clear = play(&o, "clear", &format!("v/index/{seq}.ts"));
        assert_eq!(enc.status, 200);
        assert_ne!(enc.body, clear.body);
    }
}

/// `EXT-X-SESSION-KEY` lines of a master, with `EXT-X-KEY` lines of media playlists: every
/// session key is a media playlist's key line (same attributes; the URI seen from the master).
fn session_keys_match_media_keys(master: &str, media: &[String]) {
    let session: Vec<&str> = master
        .lines()
        .filter(|l| l.starts_with("#EXT-X-SESSION-KEY:"))
        .collect();
    assert!(!session.is_empty(), "{master}");
    for line in &session {
        assert!(!line.contains("METHOD=NONE"), "{line}");
        let as_media = line
            .replace("#EXT-X-SESSION-KEY:", "#EXT-X-KEY:")
            .replace("URI=\"key/", "URI=\"../../key/");
        assert!(
            media.iter().any(|pl| pl.lines().any(|l| l == as_media)),
            "{line} is in no media playlist: {media:?}"
        );
    }
    let mut unique = session.clone();
    unique.dedup();
    assert_eq!(unique.len(), session.len(), "no two alike: {master}");
    // Before the first rendition or variant.
    let first_session = master.find("#EXT-X-SESSION-KEY").unwrap();
    let first_variant = master.find("#EXT-X-STREAM-INF").unwrap();
    assert!(first_session < first_variant, "{master}");
}

#[test]
fn masters_carry_session_keys() {
    // AES_128 with 10 s key periods and a constant IV: the first listed segment's period, the
    // IV the media playlists carry; the URI is the key route, which serves that key.
    let o = live(
        json!({"key_rotation_interval": 10, "constant_iv": "000102030405060708090a0b0c0d0e0f"}),
    );
    let master = text(&play(&o, "hls", "manifest.m3u8")).to_owned();
    golden("encrypted_aes128_master.m3u8", &master);
    session_keys_match_media_keys(&master, &[playlist(&o)]);
    let uri = master
        .lines()
        .find(|l| l.starts_with("#EXT-X-SESSION-KEY"))
        .and_then(|l| l.split('"').nth(1))
        .unwrap();
    let k = play(&o, "hls", uri);
    assert_eq!((k.status, k.body.len()), (200, 16), "{}", text(&k));
    // A time-shifted master: the period where its window starts, as its media playlist says.
    let (s, v) = api(
        &o,
        Method::Patch,
        &format!("{EP}/hls"),
        Some(json!({"time_shift_days": 1})),
    );
    assert_eq!(s, 200, "{v}");
    let q = "start=2026-11-23T12:00:04Z";
    let shifted = text(&play(&o, "hls", &format!("manifest.m3u8?{q}"))).to_owned();
    let media = text(&play(&o, "hls", &format!("v/index/media.m3u8?{q}"))).to_owned();
    let period_of = |text: &str, tag: &str| {
        let line = text.lines().find(|l| l.starts_with(tag)).unwrap();
        line.split("key/")
            .nth(1)
            .unwrap()
            .split('.')
            .next()
            .unwrap()
            .to_owned()
    };
    let p = period_of(&shifted, "#EXT-X-SESSION-KEY");
    assert_eq!(p, period_of(&media, "#EXT-X-KEY"), "{shifted}\n{media}");
    assert_ne!(p, period_of(&master, "#EXT-X-SESSION-KEY"), "{shifted}");
    assert!(
        text(&play(&o, "clear", "manifest.m3u8"))
            .find("SESSION-KEY")
            .is_none(),
        "a clear endpoint has none"
    );
    // Without a constant IV each segment's IV is its sequence number: no IV at master level.
    let o = live(json!({}));
    let master = text(&play(&o, "hls", "manifest.m3u8")).to_owned();
    assert!(
        master.contains("#EXT-X-SESSION-KEY:METHOD=AES-128,URI=\"key/0.key\"\n"),
        "{master}"
    );

    // SAMPLE_AES (cbcs) on HLS-CMAF, ClearKey and Widevine: the lines of the video and the
    // audio key as the media playlists carry them.
    provider(Mode::Good);
    let o = origin();
    let creds = setup(&o, json!({"name": "clear"}));
    push_fixture_segments(&o, &creds);
    let enc = json!({"key_provider_url": PROVIDER, "drm_systems": ["CLEAR_KEY", "WIDEVINE"],
        "content_id": "session-golden", "constant_iv": "0f0e0d0c0b0a09080706050403020100"});
    let (s, v) = api(
        &o,
        Method::Post,
        EP,
        Some(json!({"name": "cmaf", "protocol": "HLS_CMAF", "encryption": enc})),
    );
    assert_eq!(s, 201, "{v}");
    let at = |file: &str| {
        let r = send(
            &o,
            Request::new(Method::Get, &format!("/out/v1/demo/live/cmaf/{file}")),
            T0 + 5000,
        );
        assert_eq!(r.status, 200, "{file}: {}", text(&r));
        text(&r).to_owned()
    };
    let master = at("manifest.m3u8");
    golden("encrypted_cmaf_master.m3u8", &master);
    session_keys_match_media_keys(
        &master,
        &[at("v/index/video.m3u8"), at("v/index/audio.m3u8")],
    );
}

#[test]
fn a_provider_failure_is_retried_once_and_then_remembered_for_seconds() {
    use edgepack::content_keys::{PROVIDER_FAILURE_CACHE_MS, PROVIDER_RETRY_DELAY_MS};
    let o = live(json!({}));
    let at = |file: &str, t: u64| {
        let r = send(
            &o,
            Request::new(Method::Get, &format!("/out/v1/demo/live/hls/{file}")),
            t,
        );
        (r.status, String::from_utf8_lossy(&r.body).into_owned())
    };
    // Down: the first request tries twice, after the retry delay on the platform timer.
    provider(Mode::Down);
    let slept = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let log = slept.clone();
    edgepack::testing::on_sleep(move |ms| log.borrow_mut().push(ms));
    let (s, body) = at("v/index/media.m3u8", NOW);
    edgepack::testing::clear_sleep_hook();
    assert_eq!((s, fetched().len()), (502, 2), "{body}");
    assert!(
        slept.borrow().contains(&PROVIDER_RETRY_DELAY_MS),
        "{slept:?}"
    );
    // Then every request of every viewer within the failure cache gets the same 5xx, and the
    // provider is not asked.
    for (file, t) in [
        ("v/index/3.ts", NOW + 1),
        ("key/0.key", NOW + 2_000),
        ("v/index/media.m3u8", NOW + PROVIDER_FAILURE_CACHE_MS - 1),
    ] {
        let (s, body) = at(file, t);
        assert_eq!(s, 502, "{file}: {body}");
        assert!(body.contains("unreachable: connection refused"), "{body}");
    }
    assert_eq!(
        fetched().len(),
        0,
        "no provider call within the failure cache"
    );
    // After it, the provider is asked again (and retried again).
    let (s, _) = at("v/index/3.ts", NOW + PROVIDER_FAILURE_CACHE_MS);
    assert_eq!((s, fetched().len()), (502, 2));

    // A refusal (422) and a malformed answer are final: one call each.
    for mode in [Mode::Status422, Mode::Malformed] {
        provider(mode);
        assert_eq!(at("v/index/3.ts", NOW).0, 502);
        assert_eq!(fetched().len(), 1);
    }
    // A provider that hangs spends the whole budget on one attempt.
    provider(Mode::Slow);
    assert_eq!(at("v/index/3.ts", NOW).0, 504);
    assert_eq!(fetched().len(), 1);

    // A 503 once, then keys: the retry gets them and the segment is served.
    let mut calls = 0;
    provider_with(move |req| {
        calls += 1;
        if calls == 1 {
            FakeAnswer::Respond(FetchResponse {
                status: 503,
                body: b"restarting".to_vec(),
            })
        } else {
            answer(req, Mode::Good)
        }
    });
    let (s, body) = at("v/index/3.ts", NOW);
    assert_eq!((s, fetched().len()), (200, 2), "{body}");

    // The failure is remembered per key period: another period's keys are asked for.
    let o = live(json!({"key_rotation_interval": 10}));
    provider(Mode::Down);
    let period = NOW / 10_000;
    let key = |p: u64| play(&o, "hls", &format!("key/{p}.key")).status;
    assert_eq!(key(period), 502);
    on_fetch(|req| answer(req, Mode::Good));
    assert_eq!(key(period), 502, "still remembered");
    assert_eq!(key(period - 1), 200, "another period");
}

const STATIC_KID: &str = "00112233445566778899aabbccddeeff";
const STATIC_KEY: &str = "f0e1d2c3b4a5968778695a4b3c2d1e0f";
const STATIC_IV: &str = "0a0b0c0d0e0f10111213141516171819";

fn bytes16(hex: &str) -> [u8; 16] {
    key_of(hex).map(|b| !b) // key_of flips every bit of the hex bytes
}

/// Every KV and object store value of an origin, as bytes.
fn stored_values(o: &TestOrigin) -> Vec<(String, Vec<u8>)> {
    use edgepack::store::{KvStore, ObjectStore};
    let mut out = Vec::new();
    for k in block_on(KvStore::list(&o.kv, "")).unwrap() {
        out.push((
            k.clone(),
            block_on(KvStore::get(&o.kv, &k)).unwrap().unwrap(),
        ));
    }
    for k in o.objects.keys() {
        let obj = block_on(ObjectStore::get(&o.objects, &k)).unwrap().unwrap();
        out.push((k, obj.body));
    }
    out
}

#[test]
fn a_static_key_encrypts_without_a_provider_and_is_never_shown_or_stored_plain() {
    provider(Mode::Down);
    let o = origin();
    let creds = setup(&o, json!({"name": "clear"}));
    push_live(&o, 1, &creds, "v", 8);
    let static_key = json!({"key_id": STATIC_KID, "key": STATIC_KEY, "iv": STATIC_IV,
        "key_url": "https://keys.example.com/hls/k1"});
    // Validation: one source of keys, AES_128 needs the key server URL, no rotation, 16-byte
    // key and key ID.
    let bad = [
        (
            json!({"key_provider_url": PROVIDER, "static_key": static_key}),
            "encryption.key_provider_url",
        ),
        (
            json!({"static_key": {"key_id": STATIC_KID, "key": STATIC_KEY}}),
            "encryption.static_key.key_url",
        ),
        (
            json!({"static_key": static_key, "key_rotation_interval": 10}),
            "encryption.key_rotation_interval",
        ),
        (
            json!({"static_key": {"key_id": STATIC_KID, "key": "abcd", "key_url": "https://k.example.com"}}),
            "encryption.static_key.key",
        ),
        (
            json!({"static_key": {"key_id": "xyz", "key": STATIC_KEY, "key_url": "https://k.example.com"}}),
            "encryption.static_key.key_id",
        ),
        (
            json!({"static_key": {"key_id": STATIC_KID, "key_url": "https://k.example.com"}}),
            "encryption.static_key.key",
        ),
        (
            json!({"static_key": {"key_id": STATIC_KID, "key": STATIC_KEY, "key_url": "ftp://k"}}),
            "encryption.static_key.key_url",
        ),
        (
            json!({"static_key": {"key_id": STATIC_KID, "key": STATIC_KEY, "key_url": "https://k.example.com", "kid": 1}}),
            "static_key",
        ),
    ];
    for (enc, field) in bad {
        let mut enc = enc;
        enc["method"] = json!("AES_128");
        let (s, v) = api(
            &o,
            Method::Post,
            EP,
            Some(json!({"name": "hls", "encryption": enc})),
        );
        assert_eq!(s, 400, "{enc}: {v}");
        assert!(v.to_string().contains(field), "{field}: {v}");
    }
    let (s, v) = api(
        &o,
        Method::Post,
        EP,
        Some(json!({"name": "hls", "encryption": {"method": "AES_128", "static_key": static_key}})),
    );
    assert_eq!(s, 201, "{v}");
    // Write-only: masked in every answer, never the sealed form.
    let (_, got) = api(&o, Method::Get, &format!("{EP}/hls"), None);
    for v in [&v, &got] {
        assert_eq!(
            v["encryption"]["static_key"],
            json!({"key_id": STATIC_KID, "key": "********", "iv": STATIC_IV,
                "key_url": "https://keys.example.com/hls/k1"}),
            "{v}"
        );
        assert!(!v.to_string().contains(STATIC_KEY), "{v}");
    }
    // Sealed at rest: neither its hex nor its bytes anywhere in KV or R2.
    let key = bytes16(STATIC_KEY);
    let check_storage = || {
        for (k, v) in stored_values(&o) {
            assert!(!v.windows(16).any(|w| w == key), "{k}");
            assert!(!String::from_utf8_lossy(&v).contains(STATIC_KEY), "{k}");
        }
    };
    check_storage();

    // Playback: the key server's URL and the static IV in EXT-X-KEY, master and media; the
    // segments decrypt with the static key and IV; the provider is never asked and the
    // origin never serves the key.
    let pl = playlist(&o);
    let line = format!(
        "#EXT-X-KEY:METHOD=AES-128,URI=\"https://keys.example.com/hls/k1\",IV=0x{STATIC_IV}"
    );
    assert!(pl.lines().any(|l| l == line), "{pl}");
    let master = text(&play(&o, "hls", "manifest.m3u8")).to_owned();
    assert!(
        master.contains(&line.replace("EXT-X-KEY", "EXT-X-SESSION-KEY")),
        "{master}"
    );
    let iv = bytes16(STATIC_IV);
    for seq in listed(&pl) {
        let enc = play(&o, "hls", &format!("v/index/{seq}.ts"));
        let clear = play(&o, "clear", &format!("v/index/{seq}.ts"));
        assert_eq!(enc.status, 200, "{}", text(&enc));
        assert_eq!(
            openssl_decrypt(&enc.body, &key, &iv),
            Some(clear.body),
            "{seq}"
        );
    }
    assert_eq!(play(&o, "hls", "key/0.key").status, 404);
    assert!(fetched().is_empty(), "no key provider call");

    // PATCH: the mask sent back keeps the key; another key ID needs its key.
    let (s, v) = api(
        &o,
        Method::Patch,
        &format!("{EP}/hls"),
        Some(json!({"encryption": {"static_key": got["encryption"]["static_key"].clone()}})),
    );
    assert_eq!(s, 200, "{v}");
    let segment = play(&o, "hls", "v/index/3.ts");
    assert_eq!(
        openssl_decrypt(&segment.body, &key, &iv),
        Some(play(&o, "clear", "v/index/3.ts").body)
    );
    let (s, v) = api(
        &o,
        Method::Patch,
        &format!("{EP}/hls"),
        Some(json!({"encryption": {"static_key": {"key_id": "ffeeddccbbaa99887766554433221100"}}})),
    );
    assert_eq!(s, 400, "{v}");
    assert!(v.to_string().contains("encryption.static_key.key"), "{v}");
    check_storage();

    // Without the deployment secret a new static key cannot be stored, and a stored one
    // does not open: fail closed.
    let mut o = o;
    o.config.key_secret = None;
    let (s, v) = api(
        &o,
        Method::Post,
        EP,
        Some(
            json!({"name": "hls2", "encryption": {"method": "AES_128", "static_key": static_key}}),
        ),
    );
    assert_eq!(s, 500, "{v}");
    assert!(v.to_string().contains("EDGEPACK_KEY_SECRET"), "{v}");
    assert_eq!(play(&o, "hls", "v/index/3.ts").status, 500);
    o.config.key_secret = Some("another secret".into());
    let r = play(&o, "hls", "v/index/3.ts");
    assert_eq!(r.status, 500, "{}", text(&r));
    assert!(text(&r).contains("static key"), "{}", text(&r));
}

/// The key lines of a media playlist's first key period: those before its first segment.
fn first_key_lines(playlist: &str) -> Vec<String> {
    playlist
        .lines()
        .take_while(|l| l.starts_with('#'))
        .filter(|l| l.starts_with("#EXT-X-KEY:"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn time_shifted_masters_with_rotating_sample_keys_name_their_windows_first_period() {
    // SAMPLE_AES with 10 s key periods: the two fixture segments fall in consecutive periods,
    // so windows starting in each give masters with different session keys. The master is
    // rendered beside its window, its keys written after (docs/round-trips.md).
    provider(Mode::Good);
    let o = origin();
    let creds = setup(&o, json!({"name": "clear"}));
    push_fixture_segments(&o, &creds);
    let enc = json!({"method": "SAMPLE_AES", "key_provider_url": PROVIDER,
        "drm_systems": ["CLEAR_KEY"], "key_rotation_interval": 10});
    let (s, v) = api(
        &o,
        Method::Post,
        EP,
        Some(
            json!({"name": "cmaf", "protocol": "HLS_CMAF", "encryption": enc, "time_shift_days": 1}),
        ),
    );
    assert_eq!(s, 201, "{v}");
    let at = |file: &str| {
        let (path, query) = file.split_once('?').unwrap_or((file, ""));
        let mut req = Request::new(Method::Get, &format!("/out/v1/demo/live/cmaf/{path}"));
        req.query = query.to_owned();
        let r = send(&o, req, T0 + 5000);
        assert_eq!(r.status, 200, "{file}: {}", text(&r));
        text(&r).to_owned()
    };
    let mut masters = Vec::new();
    for q in ["start=2026-11-23T11:59:59Z", "start=2026-11-23T12:00:01Z"] {
        let media: Vec<String> = ["video", "audio"]
            .iter()
            .map(|k| at(&format!("v/index/{k}.m3u8?{q}")))
            .collect();
        // Cold and with the keys in the isolate's cache: the same master.
        edgepack::content_keys::forget_cached_keys();
        let master = at(&format!("manifest.m3u8?{q}"));
        assert_eq!(master, at(&format!("manifest.m3u8?{q}")));
        assert!(!master.contains("EDGEPACK"), "{master}");
        let mut session: Vec<String> = master
            .lines()
            .filter(|l| l.starts_with("#EXT-X-SESSION-KEY:"))
            .map(|l| {
                l.replace("#EXT-X-SESSION-KEY:", "#EXT-X-KEY:")
                    .replace("URI=\"key/", "URI=\"../../key/")
            })
            .collect();
        let mut first: Vec<String> = media.iter().flat_map(|m| first_key_lines(m)).collect();
        session.sort();
        first.sort();
        first.dedup();
        assert!(!session.is_empty(), "{master}");
        assert_eq!(session, first, "{q}: {master}\n{media:?}");
        masters.push(master);
    }
    assert_ne!(
        masters[0], masters[1],
        "the windows start in different periods"
    );
}
