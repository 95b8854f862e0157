//! Playback: golden playlists, filters, headers.

mod common;

use common::*;
use edgepack::{Method, Request};
use serde_json::json;

const MASTER: &str = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n\
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"group_aud\",NAME=\"audio_0\",DEFAULT=YES,URI=\"stream_2/index.m3u8\"\n\
#EXT-X-STREAM-INF:BANDWIDTH=1240800,RESOLUTION=640x360,CODECS=\"avc1.64001e,mp4a.40.2\",AUDIO=\"group_aud\"\nstream_0/index.m3u8\n\
#EXT-X-STREAM-INF:BANDWIDTH=440000,RESOLUTION=320x180,CODECS=\"avc1.64000d,mp4a.40.2\",AUDIO=\"group_aud\"\nstream_1/index.m3u8\n";

fn three_renditions(endpoint: serde_json::Value) -> TestOrigin {
    let o = origin();
    let c = setup(&o, endpoint);
    assert_eq!(
        put(&o, 1, &c, "master.m3u8", MASTER.as_bytes(), T0).status,
        201
    );
    for dir in ["stream_0", "stream_1", "stream_2"] {
        push_live(&o, 1, &c, dir, 8);
    }
    o
}

#[test]
fn master_golden() {
    let o = three_renditions(json!({"name": "hls"}));
    let r = get(&o, "/out/v1/demo/live/hls/manifest.m3u8", T0 + 20_000);
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("application/vnd.apple.mpegurl")
    );
    assert_eq!(r.header("cache-control"), Some("public, max-age=2"));
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    golden("master.m3u8", text(&r));
}

#[test]
fn master_order_and_bitrate_filter() {
    let o = three_renditions(
        json!({"name": "hls", "stream_order": "ascending", "max_video_bitrate": 1000000}),
    );
    let r = get(&o, "/out/v1/demo/live/hls/manifest.m3u8", T0 + 20_000);
    golden("master_filtered.m3u8", text(&r));
    let (s, _) = api(
        &o,
        Method::Patch,
        "/api/v1/groups/demo/channels/live/endpoints/hls",
        Some(json!({"stream_order": "descending", "max_video_bitrate": 2147483647})),
    );
    assert_eq!(s, 200);
    let body = get(&o, "/out/v1/demo/live/hls/manifest.m3u8", T0).body;
    let body = String::from_utf8(body).unwrap();
    let hi = body.find("BANDWIDTH=1240800").unwrap();
    let lo = body.find("BANDWIDTH=440000").unwrap();
    assert!(hi < lo, "{body}");
    let (s, _) = api(
        &o,
        Method::Patch,
        "/api/v1/groups/demo/channels/live/endpoints/hls",
        Some(json!({"min_video_bitrate": 2000000})),
    );
    assert_eq!(s, 200);
    let r = get(&o, "/out/v1/demo/live/hls/manifest.m3u8", T0);
    assert_eq!(r.status, 404, "no variant in range");
}

#[test]
fn media_playlist_golden_with_program_date_time() {
    let o = three_renditions(
        json!({"name": "hls", "segment_count": 3, "program_date_time_interval": 4, "hold_back": 6}),
    );
    let r = get(
        &o,
        "/out/v1/demo/live/hls/stream_0/index/media.m3u8",
        T0 + 20_000,
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("cache-control"), Some("public, max-age=1"));
    golden("media_pdt.m3u8", text(&r));
}

#[test]
fn window_holds_the_hold_back_a_segment_and_the_start_allowance() {
    // A hold-back of one second is raised to three target durations (RFC 8216bis 4.4.3.8);
    // the window of 2 spans it, the segment a start falls in and the 10 s a player's other
    // playlists may take to arrive: 6 + 2 + 10 s, 9 of the 12 segments.
    let o = origin();
    let c = setup(
        &o,
        json!({"name": "hls", "segment_count": 2, "hold_back": 1}),
    );
    push_live(&o, 1, &c, "stream_1", 12);
    let body = get(
        &o,
        "/out/v1/demo/live/hls/stream_1/index/media.m3u8",
        T0 + 23_000,
    )
    .body;
    let body = String::from_utf8(body).unwrap();
    assert!(body.contains("HOLD-BACK=6.0"), "{body}");
    assert_eq!(body.matches("#EXTINF").count(), 9, "{body}");
    assert!(body.contains("#EXT-X-MEDIA-SEQUENCE:3\n"), "{body}");
}

#[test]
fn synthesized_master_without_encoder_master() {
    let o = origin();
    let c = setup(&o, json!({"name": "hls"}));
    push_live(&o, 1, &c, "a", 3);
    let r = get(&o, "/out/v1/demo/live/hls/manifest.m3u8", T0);
    assert_eq!(r.status, 200);
    // 2 packets (376 bytes) per 2 s segment: 1504 bit/s peak and average. The fake segments
    // carry no stream the probe reads, so no CODECS.
    assert_eq!(
        text(&r),
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:BANDWIDTH=1504,AVERAGE-BANDWIDTH=1504\n\
         a/index/media.m3u8\n"
    );
}

#[test]
fn synthesized_master_is_complete_from_the_first_segment() {
    let o = origin();
    let c = setup(&o, json!({"name": "hls"}));
    // One real segment (320x180 30 fps H.264 High + AAC-LC), no master playlist.
    let now = T0;
    assert_eq!(
        put(&o, 1, &c, "v/seg0.ts", &fixture("h264_aac_0.ts"), now).status,
        201
    );
    let pl = media_playlist(0, 1);
    assert_eq!(
        put(&o, 1, &c, "v/index.m3u8", pl.as_bytes(), now + 10).status,
        201
    );
    let r = get(&o, "/out/v1/demo/live/hls/manifest.m3u8", now + 20);
    assert_eq!(r.status, 200, "{}", text(&r));
    let body = text(&r);
    let inf = body
        .lines()
        .find(|l| l.starts_with("#EXT-X-STREAM-INF:"))
        .expect("a variant");
    // The codec strings are what the CMAF endpoints advertise for the same track (avcC/esds).
    for attr in [
        "CODECS=\"avc1.64000d,mp4a.40.2\"",
        "RESOLUTION=320x180",
        "FRAME-RATE=30.000",
    ] {
        assert!(inf.contains(attr), "{attr} missing in {inf}");
    }
    let number = |name: &str| -> u64 {
        let v = inf.split(&format!("{name}=")).nth(1).expect(name);
        v.split(',').next().unwrap().parse().unwrap()
    };
    let bits = fixture("h264_aac_0.ts").len() as u64 * 8;
    // One 2 s segment: peak and average are its bits over its EXTINF duration.
    assert_eq!(number("BANDWIDTH"), bits / 2);
    assert_eq!(number("AVERAGE-BANDWIDTH"), bits / 2);
}

#[test]
fn segments_serve_stored_bytes_with_long_caching() {
    let o = three_renditions(json!({"name": "hls"}));
    let r = get(&o, "/out/v1/demo/live/hls/stream_1/index/3.ts", T0);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, ts(2, 3));
    assert_eq!(r.header("content-type"), Some("video/mp2t"));
    assert_eq!(
        r.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    let head = send(
        &o,
        Request::new(Method::Head, "/out/v1/demo/live/hls/stream_1/index/3.ts"),
        T0,
    );
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(head.header("content-length"), Some("376"));
}

#[test]
fn not_found_is_short_lived() {
    let o = three_renditions(json!({"name": "hls"}));
    for path in [
        "/out/v1/demo/live/hls/stream_1/index/99.ts",
        "/out/v1/demo/live/hls/nope/media.m3u8",
        "/out/v1/demo/live/hls/other.m3u8",
        "/out/v1/demo/live/nope/manifest.m3u8",
        "/out/v1/demo/live/hls/stream_1/index/x.ts",
    ] {
        let r = get(&o, path, T0);
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(
            r.header("cache-control"),
            Some("public, max-age=1"),
            "{path}"
        );
        assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    }
    let r = send(
        &o,
        Request::new(Method::Put, "/out/v1/demo/live/hls/manifest.m3u8"),
        T0,
    );
    assert_eq!(r.status, 405);
}

#[test]
fn no_content_yet_is_404() {
    let o = origin();
    setup(&o, json!({"name": "hls"}));
    let r = get(&o, "/out/v1/demo/live/hls/manifest.m3u8", T0);
    assert_eq!(r.status, 404);
    assert!(text(&r).contains("no content"));
}

#[test]
fn cors_preflight() {
    let o = origin();
    let r = send(
        &o,
        Request::new(Method::Options, "/out/v1/demo/live/hls/manifest.m3u8"),
        T0,
    );
    assert_eq!(r.status, 204);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert!(r
        .header("access-control-allow-headers")
        .unwrap()
        .contains("authorization"));
}

#[test]
fn rendering_is_deterministic() {
    let a = three_renditions(json!({"name": "hls"}));
    let b = three_renditions(json!({"name": "hls"}));
    for path in [
        "/out/v1/demo/live/hls/manifest.m3u8",
        "/out/v1/demo/live/hls/stream_2/index/media.m3u8",
    ] {
        // The channels' storage ids differ (each was created with its own): the rest is equal.
        let (a, b) = (get(&a, path, T0), get(&b, path, T0 + 5));
        assert_eq!(plain(text(&a)), plain(text(&b)), "{path}");
    }
}
