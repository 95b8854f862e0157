//! Fixtures for the `hls_ingest` and `api_json` fuzz targets (fuzz/fuzz_targets/): the same
//! properties as the targets, replayed on the seed inputs and on every input the fuzzer found
//! to fail. A finding is added here as a byte string with the date and what it broke.

mod common;

use common::*;
use edgepack::{Method, Request, Response};
use serde_json::json;

// Names as in the fuzz targets, so a crash input replays unchanged.
const CHANNELS: &str = "/api/v1/groups/g/channels";
const CHANNEL: &str = "/api/v1/groups/g/channels/c";
const ENDPOINTS: &str = "/api/v1/groups/g/channels/c/endpoints";
const ENDPOINT: &str = "/api/v1/groups/g/channels/c/endpoints/e";
const MASTER: &str = "/out/v1/g/c/e/manifest.m3u8";
const MEDIA: &str = "/out/v1/g/c/e/v/index/media.m3u8";

/// Group `g`, channel `c`, endpoint `e`; returns input 1's credentials.
fn fuzz_setup(o: &TestOrigin) -> (String, String) {
    assert_eq!(
        api(
            o,
            Method::Post,
            "/api/v1/groups",
            Some(json!({"name": "g"}))
        )
        .0,
        201
    );
    let (s, ch) = api(o, Method::Post, CHANNELS, Some(json!({"name": "c"})));
    assert_eq!(s, 201);
    assert_eq!(
        api(o, Method::Post, ENDPOINTS, Some(json!({"name": "e"}))).0,
        201
    );
    credentials(&ch, 1)
}

/// PUT to input 1 of `g/c`.
fn put_gc(o: &TestOrigin, c: &(String, String), path: &str, body: &[u8], now: u64) -> Response {
    let req = Request::new(Method::Put, &format!("/in/v1/g/c/1/{path}"))
        .with_header("authorization", &basic(&c.0, &c.1))
        .with_body(body.to_vec());
    send(o, req, now)
}

fn checked(r: Response, what: &str) -> Response {
    assert!(
        (200..500).contains(&r.status),
        "{what}: {} {}",
        r.status,
        String::from_utf8_lossy(&r.body)
    );
    r
}

fn read(o: &TestOrigin, path: &str, now: u64) -> Response {
    let r = checked(get(o, path, now), path);
    assert!(matches!(r.status, 200 | 404), "GET {path}: {}", r.status);
    r
}

/// `hls_ingest`'s set-up: the segments a playlist may name, and a live start; input 1's
/// credentials.
fn hls_setup(o: &TestOrigin) -> (String, String) {
    let c = fuzz_setup(o);
    for i in 0..4u8 {
        assert_eq!(
            put_gc(o, &c, &format!("v/seg{i}.ts"), &ts(2, i), T0).status,
            201
        );
    }
    assert_eq!(put_gc(o, &c, "seg0.ts", &ts(1, 9), T0).status, 201);
    let start = media_playlist(0, 2);
    assert_eq!(
        put_gc(o, &c, "v/index.m3u8", start.as_bytes(), T0 + 10).status,
        201
    );
    c
}

/// The `hls_ingest` property: the input PUT as a media playlist (twice), as a master and as
/// another rendition's playlist; no 5xx, no panic, a refused playlist changes nothing served.
fn hls_ingest(data: &[u8]) {
    let o = origin();
    let c = hls_setup(&o);
    for now in [T0 + 2_000, T0 + 4_000] {
        let before = read(&o, MEDIA, now);
        let r = checked(put_gc(&o, &c, "v/index.m3u8", data, now), "media PUT");
        let after = read(&o, MEDIA, now);
        if r.status >= 400 {
            assert_eq!(
                after.body, before.body,
                "a refused playlist changed the output"
            );
        }
    }
    checked(
        put_gc(&o, &c, "master.m3u8", data, T0 + 5_000),
        "master PUT",
    );
    checked(
        put_gc(&o, &c, "w/index.m3u8", data, T0 + 5_500),
        "rendition PUT",
    );
    let master = read(&o, MASTER, T0 + 6_000);
    if master.status == 200 {
        for uri in text(&master)
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            read(&o, &format!("/out/v1/g/c/e/{uri}"), T0 + 6_000);
        }
    }
    let media = read(&o, MEDIA, T0 + 6_000);
    if media.status == 200 {
        for uri in text(&media)
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            read(&o, &format!("/out/v1/g/c/e/v/index/{uri}"), T0 + 6_000);
        }
    }
}

fn raw_api(o: &TestOrigin, method: Method, path: &str, body: &[u8]) -> Response {
    let req = Request::new(method, path)
        .with_header("authorization", &format!("Bearer {TOKEN}"))
        .with_body(body.to_vec());
    checked(send(o, req, T0), path)
}

/// The `api_json` property: the first byte picks the request, the rest is its body.
fn api_json(data: &[u8]) {
    let Some((&op, body)) = data.split_first() else {
        return;
    };
    let o = origin();
    fuzz_setup(&o);
    let (method, path, resource) = match op % 6 {
        0 => (Method::Post, CHANNELS, None),
        1 => (Method::Patch, CHANNEL, Some(CHANNEL)),
        2 => (Method::Post, ENDPOINTS, None),
        3 | 5 => (Method::Patch, ENDPOINT, Some(ENDPOINT)),
        _ => (Method::Post, "/api/v1/groups", None),
    };
    let state = |o: &TestOrigin| {
        ["/api/v1/groups", CHANNELS, ENDPOINTS].map(|p| raw_api(o, Method::Get, p, b"").body)
    };
    let before = state(&o);
    let r = raw_api(&o, method, path, body);
    if r.status >= 400 {
        let t = String::from_utf8_lossy(&r.body);
        assert!(t.starts_with('{') && t.contains("\"error\":"), "{t}");
        assert_eq!(state(&o), before, "a refused request changed stored state");
        return;
    }
    if let Some(resource) = resource {
        let shown = raw_api(&o, Method::Get, resource, b"").body;
        let again = raw_api(&o, Method::Patch, resource, &shown);
        assert_eq!(again.status, 200, "{}", text(&again));
        assert_eq!(raw_api(&o, Method::Get, resource, b"").body, shown);
    }
    let p = checked(send(&o, Request::new(Method::Get, MASTER), T0), "playback");
    assert!(matches!(p.status, 200 | 403 | 404), "playback {}", p.status);
    if p.status == 403 {
        assert!(p.header("x-edgepack-denied").is_some() && p.body.is_empty());
    }
    if op % 6 == 5 {
        // The endpoint's own signed URL verifies unless another control refuses first.
        let s = raw_api(&o, Method::Post, &format!("{ENDPOINT}/signed-url"), b"{}");
        if s.status == 200 {
            let v: serde_json::Value = serde_json::from_slice(&s.body).expect("JSON");
            let url = v["url"].as_str().expect("url");
            let (p, q) = url["http://127.0.0.1:8787".len()..]
                .split_once('?')
                .expect("query");
            let mut req = Request::new(Method::Get, p);
            req.query = q.to_owned();
            let g = checked(send(&o, req, T0), "signed playback");
            let reason = g.header("x-edgepack-denied").unwrap_or_default();
            assert!(
                !reason.starts_with("token"),
                "own signed URL refused: {reason}"
            );
        }
    }
}

/// Seeds of the `hls_ingest` target (the corpus it starts from).
const HLS_SEEDS: &[&[u8]] = &[
    b"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:1\n#EXTINF:2.000000,\nseg1.ts\n#EXTINF:2.000000,\nseg2.ts\n#EXTINF:2.000000,\nseg3.ts\n",
    b"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:3\n#EXT-X-MEDIA-SEQUENCE:2\n#EXT-X-DISCONTINUITY-SEQUENCE:1\n#EXT-X-PROGRAM-DATE-TIME:2026-11-23T12:00:02.000Z\n#EXTINF:2.5,\nseg2.ts\n#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:2026-11-23T12:00:04.500+00:00\n#EXTINF:2.002,\nseg3.ts\n",
    b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:2,\nseg2.ts\n#EXTINF:2,\nseg3.ts\n",
    b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:18446744073709551615\n#EXTINF:2,\nseg3.ts\n",
    b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:1\n#EXTINF:2,\nseg1.ts\n#EXTINF:2,\nseg1.ts\n#EXTINF:-1,\nseg2.ts\n#EXTINF:1e9,\nseg3.ts\n",
    b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:2\n#EXTINF:2,\n../v/seg2.ts?x=1\n#EXTINF:2,\n./seg3.ts#f\n#EXTINF:2,\n../seg0.ts\n",
    b"#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:2\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-KEY:METHOD=AES-128,URI=\"k.key\",IV=0x00000000000000000000000000000001\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXT-X-BYTERANGE:100@0\n#EXTINF:2,title\nseg2.ts\n#EXT-X-GAP\n#EXTINF:2,\nseg3.ts\n#EXT-X-ENDLIST\n",
    b"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\",NAME=\"audio_2\",DEFAULT=YES,AUTOSELECT=YES,LANGUAGE=\"en\",CHANNELS=\"2\",URI=\"w/index.m3u8\"\n#EXT-X-STREAM-INF:BANDWIDTH=1140800,AVERAGE-BANDWIDTH=900000,RESOLUTION=640x360,FRAME-RATE=30.000,CODECS=\"avc1.4d401e,mp4a.40.2\",AUDIO=\"aud\"\nv/index.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=455400,RESOLUTION=320x180,CODECS=\"avc1.4d400d,mp4a.40.2\",AUDIO=\"aud\"\nw/index.m3u8\n",
    b"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=18446744073709551615,RESOLUTION=99999999999x0,FRAME-RATE=nan\n../x.m3u8\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",NAME=\"a\"\n",
    b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nseg\xff\xfe.ts\n",
    b"",
    b"#EXTM3U",
];

/// Seeds of the `api_json` target: request selector byte, then the body.
const API_SEEDS: &[&[u8]] = &[
    b"\x00{\"name\": \"c2\", \"protocol\": \"HLS\", \"max_segment_duration\": 15, \"max_playlist_duration\": 600}",
    b"\x01{\"max_segment_duration\": 60, \"max_playlist_duration\": 30, \"name\": \"c\", \"protocol\": \"HLS\", \"group\": \"g\", \"inputs\": [], \"created_at\": \"x\"}",
    b"\x02{\"name\": \"e2\", \"authorization_code\": \"abcdefgh12\", \"ip_allowlist\": [\"203.0.113.0/24\", \"2001:db8::/32\"], \"ip_blocklist\": [\"::ffff:10.0.0.0/104\"], \"cdn_authorization\": {\"header_name\": \"X-CDN\", \"secret\": \"0123456789abcdef\"}, \"signing_keys\": [{\"id\": \"k1\", \"secret\": \"0123456789abcdef\"}], \"referer_allowlist\": [\"*.example.com\", \"a-b.c\"]}",
    b"\x03{\"segment_count\": 2, \"stream_order\": \"ascending\", \"min_video_bitrate\": 5, \"max_video_bitrate\": 4}",
    b"\x03{\"ip_allowlist\": null, \"ip_blocklist\": [], \"authorization_code\": null, \"cdn_authorization\": null, \"signing_keys\": null, \"referer_allowlist\": null}",
    b"\x04{\"name\": \"g2\"}",
    b"\x05{\"signing_keys\": [{\"id\": \"A\", \"secret\": \"!\\\"#$%&'()*+,-./0\"}], \"referer_allowlist\": [\"x\"]}",
    b"\x03{\"segment_count\":1e2,\"name\":\"e\",\"x\":{\"a\":[[[[[[[]]]]]]]}}",
    b"\x01{\"max_segment_duration\":-1,\"name\":\"\\u0000\"}",
    b"\x05{\"signing_keys\":[{\"id\":\"k\",\"secret\":\"0123456789abcdef\"}],\"ip_allowlist\":[\"::/1\"]}",
    b"\x03\xff\xfe{",
    b"\x03[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
];

#[test]
fn hls_ingest_seeds() {
    for (i, seed) in HLS_SEEDS.iter().enumerate() {
        let r = std::panic::catch_unwind(|| hls_ingest(seed));
        assert!(
            r.is_ok(),
            "hls_ingest seed {i}: {:?}",
            String::from_utf8_lossy(seed)
        );
    }
}

#[test]
fn api_json_seeds() {
    for (i, seed) in API_SEEDS.iter().enumerate() {
        let r = std::panic::catch_unwind(|| api_json(seed));
        assert!(
            r.is_ok(),
            "api_json seed {i}: {:?}",
            String::from_utf8_lossy(seed)
        );
    }
}

/// What the origin-level targets (`api_json`, `hls_ingest`, `track_ingest`) rely on to set up
/// once: every copy a `Snapshot` gives answers as the origin itself would next (same stores,
/// same randomness), copies share no writes, and none keeps the fake fetches of earlier runs.
#[test]
fn snapshot_copies_answer_as_the_origin_would() {
    use edgepack::testing::{fake_fetch, fetched, reset_counter_random, Snapshot};
    use edgepack::FetchRequest;
    reset_counter_random();
    let o = origin();
    fuzz_setup(&o);
    let snapshot = Snapshot::take(&o);
    // A new channel's input credentials come from the randomness.
    let c2 = Some(json!({"name": "c2"}));
    let next = api(&o, Method::Post, CHANNELS, c2.clone());
    assert_eq!(next.0, 201);
    for _ in 0..2 {
        // Recorded when called; the answer is not needed.
        drop(fake_fetch(FetchRequest {
            method: "POST",
            url: "http://127.0.0.1:1/speke".into(),
            headers: Vec::new(),
            body: Vec::new(),
            max_body: 1,
        }));
        let copy = snapshot.origin();
        assert!(fetched().is_empty(), "an earlier run's fetch kept");
        assert_eq!(api(&copy, Method::Post, CHANNELS, c2.clone()), next);
    }
    let copy = snapshot.origin();
    let (status, _) = api(&copy, Method::Get, &format!("{CHANNELS}/c2"), None);
    assert_eq!(status, 404, "a copy saw another copy's channel");
}

/// `Snapshot::stores_unchanged`, which lets `track_ingest` skip reading everything again after
/// a refused upload: true after reads and refused writes, false after any accepted write.
#[test]
fn snapshot_sees_any_stored_change() {
    use edgepack::testing::{reset_counter_random, Snapshot};
    reset_counter_random();
    let o = origin();
    fuzz_setup(&o);
    let snapshot = Snapshot::take(&o);
    let copy = snapshot.origin();
    assert!(snapshot.stores_unchanged(&copy));
    assert_eq!(raw_api(&copy, Method::Post, CHANNELS, b"{").status, 400);
    assert_eq!(get(&copy, MASTER, T0).status, 404);
    assert!(
        snapshot.stores_unchanged(&copy),
        "a refusal or a read stored something"
    );
    assert_eq!(
        raw_api(&copy, Method::Post, CHANNELS, br#"{"name":"c2"}"#).status,
        201
    );
    assert!(!snapshot.stores_unchanged(&copy));
}

/// What lets `hls_ingest` and `track_ingest` skip reads: after refused uploads that left the
/// stores as the snapshot's, the copy serves byte for byte what a fresh copy serves at the same
/// time (so the set-up's reads stand for the input's).
#[test]
fn refused_uploads_leave_reads_as_the_snapshot_serves() {
    use edgepack::testing::{reset_counter_random, Snapshot};
    reset_counter_random();
    let o = origin();
    let c = hls_setup(&o);
    let snapshot = Snapshot::take(&o);
    let copy = snapshot.origin();
    let garbage = b"#EXTM3U\n#EXTINF:x,\nseg0.ts\n";
    for (path, now) in [("v/index.m3u8", T0 + 2_000), ("master.m3u8", T0 + 5_000)] {
        let r = put_gc(&copy, &c, path, garbage, now);
        assert!((400..500).contains(&r.status), "{path}: {}", r.status);
    }
    assert!(
        snapshot.stores_unchanged(&copy),
        "a refused upload stored something"
    );
    let fresh = snapshot.origin();
    for (path, now) in [
        (MEDIA, T0 + 2_000),
        (MEDIA, T0 + 6_000),
        (MASTER, T0 + 6_000),
    ] {
        let (a, b) = (read(&copy, path, now), read(&fresh, path, now));
        assert_eq!(a.status, 200, "{path}");
        assert_eq!((a.status, a.body), (b.status, b.body), "{path} at {now}");
    }
}
