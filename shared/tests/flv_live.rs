//! HTTP-FLV live endpoint (docs/flv.md, "Live endpoint"): the first chunk starts at a
//! keyframe, later chunks follow the output timeline, ffprobe decodes the whole stream, and the
//! stream ends before the platform's limits.

mod common;

use common::*;
use edgepack::testing::{instant_sleep, memory_origin};
use edgepack::{Method, Origin, Request, StreamLimits};
use serde_json::json;

const FLV: &str = "/out/v1/demo/live/flv/manifest.flv";

/// A channel whose input 1 has delivered `h264_aac_0.ts` (rendition `v`), with an FLV
/// endpoint; the stream limits are `limits`.
fn channel(limits: StreamLimits) -> (TestOrigin, (String, String)) {
    let o = memory_origin(TOKEN);
    let o = Origin::new(
        o.kv,
        o.objects,
        edgepack::Config {
            stream_limits: limits,
            ..o.config
        },
        o.random,
        instant_sleep,
    );
    let c = setup(&o, json!({"name": "hls"}));
    let (s, e) = api(
        &o,
        Method::Post,
        "/api/v1/groups/demo/channels/live/endpoints",
        Some(json!({"name": "flv", "protocol": "FLV"})),
    );
    assert_eq!(s, 201, "{e}");
    assert!(
        e["url"].as_str().unwrap().ends_with("/flv/manifest.flv"),
        "{e}"
    );
    segment(&o, &c, 0);
    (o, c)
}

/// Fixture segment `n` (0 or 1) and the playlist listing it.
fn segment(o: &TestOrigin, c: &(String, String), n: u64) {
    let now = T0 + n * 2000;
    let body = fixture(&format!("h264_aac_{n}.ts"));
    assert_eq!(
        put(o, 1, c, &format!("v/seg{n}.ts"), &body, now).status,
        201
    );
    let pl = media_playlist(0, n + 1);
    assert_eq!(
        put(o, 1, c, "v/index.m3u8", pl.as_bytes(), now + 10).status,
        201
    );
}

/// (type, timestamp ms, first body byte) of each tag after the 9-byte header.
fn tags(flv: &[u8]) -> Vec<(u8, u32, u8)> {
    tags_from(flv, 9 + 4)
}

/// The tags of a chunk after the first (no header), from byte `i`.
fn tags_from(flv: &[u8], mut i: usize) -> Vec<(u8, u32, u8)> {
    let mut out = Vec::new();
    while i + 11 <= flv.len() {
        let size = u32::from_be_bytes([0, flv[i + 1], flv[i + 2], flv[i + 3]]) as usize;
        let ts = u32::from_be_bytes([flv[i + 7], flv[i + 4], flv[i + 5], flv[i + 6]]);
        out.push((flv[i], ts, flv.get(i + 11).copied().unwrap_or(0)));
        i += 11 + size + 4;
    }
    out
}

#[test]
fn the_stream_starts_at_a_keyframe_and_follows_the_live_output() {
    let (o, c) = channel(StreamLimits::default());
    let (r, stream) = block_on(o.handle_stream(Request::new(Method::Get, FLV), T0 + 2100));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("content-type"), Some("video/x-flv"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let mut stream = stream.expect("a live stream");
    let mut flv = r.body.clone();
    assert_eq!(&flv[..3], b"FLV");
    // The first video tag after the AVC sequence header is a keyframe (frame type 1, AVC 1).
    let first = tags(&flv);
    let video: Vec<_> = first.iter().filter(|t| t.0 == 9).collect();
    assert_eq!(video[0].2, 0x17, "sequence header");
    assert_eq!(video[1].2, 0x17, "first frame: a keyframe");
    // The next segment arrives; the next chunk carries it, after a wait on the timer.
    segment(&o, &c, 1);
    let chunk = block_on(o.next_chunk(&mut stream, T0 + 2200)).expect("segment 1");
    let last_before = first.iter().map(|t| t.1).max().unwrap();
    flv.extend_from_slice(&chunk);
    let all = tags(&flv);
    assert!(all.len() > first.len());
    // Timestamps never go back per track.
    for kind in [8u8, 9] {
        let ts: Vec<u32> = all.iter().filter(|t| t.0 == kind).map(|t| t.1).collect();
        assert!(ts.windows(2).all(|w| w[0] <= w[1]), "{kind}: {ts:?}");
    }
    assert!(all.iter().map(|t| t.1).max().unwrap() > last_before);
    // Nothing more arrives: the stream ends once the input has been quiet for a while.
    assert!(block_on(o.next_chunk(&mut stream, T0 + 4200)).is_none());
    // ffprobe decodes the whole stream: every frame of both source segments.
    let probe = ffprobe_frames(&flv, "stream=codec_name,nb_read_frames");
    let source = |n: u64| {
        let p = ffprobe_frames(
            &fixture(&format!("h264_aac_{n}.ts")),
            "stream=codec_name,nb_read_frames",
        );
        p["streams"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["codec_name"] == "h264")
            .unwrap()["nb_read_frames"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    let video = probe["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["codec_name"] == "h264")
        .expect("an H.264 stream");
    let frames: u64 = video["nb_read_frames"].as_str().unwrap().parse().unwrap();
    assert_eq!(frames, source(0) + source(1), "{probe}");
    assert!(
        probe["streams"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["codec_name"] == "aac"),
        "{probe}"
    );
}

#[test]
fn the_stream_ends_before_the_read_limit() {
    // The first chunk takes 5 reads (switch log, 2 timelines, the segment, its init lookup);
    // a look and a segment are budgeted at 10.
    let (o, c) = channel(StreamLimits {
        max_reads: 14,
        max_ms: 0,
    });
    let (r, stream) = block_on(o.handle_stream(Request::new(Method::Get, FLV), T0 + 2100));
    assert_eq!(r.status, 200);
    let mut stream = stream.expect("a live stream");
    segment(&o, &c, 1);
    // The first chunk spent its reads: the next look would pass the limit.
    assert!(block_on(o.next_chunk(&mut stream, T0 + 4200)).is_none());
}

#[test]
fn the_stream_ends_before_the_time_limit() {
    let (o, c) = channel(StreamLimits {
        max_reads: 0,
        max_ms: 1000,
    });
    let (_, stream) = block_on(o.handle_stream(Request::new(Method::Get, FLV), T0 + 2100));
    let mut stream = stream.expect("a live stream");
    segment(&o, &c, 1);
    assert!(block_on(o.next_chunk(&mut stream, T0 + 3100)).is_none());
}

#[test]
fn head_and_plain_handle_answer_without_a_stream() {
    let (o, _) = channel(StreamLimits::default());
    let (r, stream) = block_on(o.handle_stream(Request::new(Method::Head, FLV), T0 + 2100));
    assert_eq!((r.status, r.body.len()), (200, 0));
    assert!(stream.is_none());
    // `handle` answers the first chunk alone: a finite FLV.
    let r = get(&o, FLV, T0 + 2100);
    assert_eq!(&r.body[..3], b"FLV");
    // Nothing below the endpoint but the stream.
    assert_eq!(
        get(&o, "/out/v1/demo/live/flv/v/index/media.m3u8", T0).status,
        404
    );
}

/// A stream with `query` at `now`: its first chunk, and the stream.
fn shifted(o: &TestOrigin, query: &str, now: u64) -> (Vec<u8>, edgepack::Stream) {
    let mut req = Request::new(Method::Get, FLV);
    req.query = query.into();
    let (r, stream) = block_on(o.handle_stream(req, now));
    assert_eq!(
        r.status,
        200,
        "{query}: {}",
        String::from_utf8_lossy(&r.body)
    );
    (r.body, stream.expect("a stream"))
}

/// Video frames in FLV bytes (video tags less the one sequence header at the start).
fn video_frames(flv: &[u8]) -> usize {
    tags(flv).iter().filter(|t| t.0 == 9).count() - 1
}

// The fixture segments are 2 s each, timed by arrival (their playlists come 10 ms after
// them): segment 0 covers 11:59:58.010-12:00:00.010, segment 1 12:00:00.010-12:00:02.010.

#[test]
fn time_shifted_streams_start_in_the_past_and_go_on() {
    let (o, c) = channel(StreamLimits::default());
    segment(&o, &c, 1);
    // `start`: from segment 0, then segment 1 at once (it is there), then the live wait.
    let (first, mut stream) = shifted(&o, "start=2026-11-23T11:59:58Z", T0 + 2100);
    assert_eq!(video_frames(&first), 60);
    let next = block_on(o.next_chunk(&mut stream, T0 + 2100)).expect("segment 1");
    assert_eq!(tags_from(&next, 0).iter().filter(|t| t.0 == 9).count(), 60);
    // `vodend`: a finite stream of the window.
    let (first, mut stream) = shifted(
        &o,
        "start=2026-11-23T11:59:58Z&vodend=2026-11-23T12:00:00Z",
        T0 + 2100,
    );
    assert_eq!(video_frames(&first), 60);
    assert!(block_on(o.next_chunk(&mut stream, T0 + 2100)).is_none());
    // `offset`: a second behind live: segment 0, then segment 1 once it is a second old.
    let (first, mut stream) = shifted(&o, "offset=1", T0 + 2100);
    assert_eq!(video_frames(&first), 60);
    let waits = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let log = waits.clone();
    edgepack::testing::on_sleep(move |ms| log.borrow_mut().push(ms));
    let next = block_on(o.next_chunk(&mut stream, T0 + 2200));
    edgepack::testing::clear_sleep_hook();
    assert!(next.is_some());
    // Segment 1 ends at 12:00:02.010 (its playlist arrived at 12:00:02.010): held until a
    // second later.
    assert_eq!(*waits.borrow(), [810], "held until 12:00:03.010");
}

#[test]
fn an_flv_endpoint_cannot_be_harvested() {
    let (o, _) = channel(StreamLimits::default());
    let (s, body) = api(
        &o,
        Method::Post,
        "/api/v1/groups/demo/channels/live/harvest-jobs",
        Some(json!({
            "endpoint": "flv",
            "start": "2026-11-23T12:00:00Z",
            "end": "2026-11-23T12:00:02Z",
            "destination": "x"
        })),
    );
    assert_eq!(s, 400, "{body}");
    assert_eq!(body["field"], "endpoint", "{body}");
}

#[test]
fn clip_flv_holds_the_same_frames_as_clip_mp4() {
    let (o, c) = channel(StreamLimits::default());
    segment(&o, &c, 1);
    let query = "start=2026-11-23T12:00:00Z&end=2026-11-23T12:00:04Z";
    let at = |file: &str| {
        let mut req = Request::new(Method::Get, &format!("/out/v1/demo/live/flv/{file}"));
        req.query = query.into();
        send_all(&o, req, T0 + 60_000)
    };
    let (flv, mp4) = (at("clip.flv"), at("clip.mp4"));
    assert_eq!(flv.status, 200, "{}", String::from_utf8_lossy(&flv.body));
    assert_eq!(flv.header("content-type"), Some("video/x-flv"));
    assert!(flv
        .header("content-disposition")
        .is_some_and(|d| d.ends_with(".flv\"")));
    let frames = |bytes: &[u8]| {
        let p = ffprobe_frames(bytes, "stream=codec_name,nb_read_frames");
        let mut counts: Vec<(String, String)> = p["streams"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["codec_name"].as_str().unwrap().to_owned(),
                    s["nb_read_frames"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        counts.sort();
        counts
    };
    let (f, m) = (frames(&flv.body), frames(&mp4.body));
    // Every video frame; audio: clip.mp4 trims it to the video's span, clip.flv keeps the
    // segments' audio frames (a few AAC frames of 21 ms at either end).
    assert_eq!(f[1], m[1], "video");
    let count = |v: &[(String, String)]| v[0].1.parse::<i64>().unwrap();
    assert!((count(&f) - count(&m)).abs() <= 4, "audio {f:?} vs {m:?}");
}

#[test]
fn immutable_media_may_be_kept_at_the_edge_under_a_key_of_its_settings() {
    let (o, _) = channel(StreamLimits::default());
    let hint = |req: Request| {
        let r = send(&o, req, T0 + 2100);
        (
            r.header("x-edgepack-edge-cache").map(str::to_owned),
            r.header("x-edgepack-edge-key").map(str::to_owned),
        )
    };
    let segment = "/out/v1/demo/live/hls/v/index/0.ts";
    let (ttl, open_key) = hint(Request::new(Method::Get, segment));
    assert_eq!(ttl.as_deref(), Some("600"));
    // Playlists and the FLV stream change: never.
    let get = |path: &str| Request::new(Method::Get, path);
    assert_eq!(
        hint(get("/out/v1/demo/live/hls/v/index/media.m3u8")).0,
        None
    );
    assert_eq!(hint(get(FLV)).0, None);
    // With access control too (the edge's copy is looked up only after the checks), under
    // another key: a copy made before the change is never found.
    let (s, _) = api(
        &o,
        Method::Patch,
        "/api/v1/groups/demo/channels/live/endpoints/hls",
        Some(json!({"referer_allowlist": ["player.example.com"]})),
    );
    assert_eq!(s, 200);
    let req = get(segment).with_header("referer", "https://player.example.com/");
    let (ttl, key) = hint(req);
    assert_eq!(ttl.as_deref(), Some("600"));
    assert!(key.is_some() && key != open_key, "{key:?} {open_key:?}");
    // Refused: nothing to keep.
    assert_eq!(hint(get(segment)), (None, None));
}

#[test]
fn access_controls_apply_and_the_answer_names_its_start() {
    let (o, _) = channel(StreamLimits::default());
    let (s, e) = api(
        &o,
        Method::Patch,
        "/api/v1/groups/demo/channels/live/endpoints/flv",
        Some(json!({"authorization_code": "code-1234567", "ip_blocklist": ["192.0.2.0/24"]})),
    );
    assert_eq!(s, 200, "{e}");
    let stream = |code: Option<&str>, ip: &str| {
        let mut req = Request::new(Method::Get, FLV);
        if let Some(code) = code {
            req = req.with_header("authorization", code);
        }
        req.client_ip = ip.parse().ok();
        block_on(o.handle_stream(req, T0 + 2100))
    };
    let (r, s) = stream(None, "203.0.113.9");
    assert_eq!(r.status, 403);
    assert!(s.is_none(), "no stream without the code");
    assert_eq!(stream(Some("code-1234567"), "192.0.2.7").0.status, 403);
    let (r, s) = stream(Some("code-1234567"), "203.0.113.9");
    assert_eq!(r.status, 200);
    assert!(s.is_some());
    // The encoder's clock of the first segment, for latency measurement.
    let pdt = r
        .header("x-edgepack-start-program-date-time")
        .expect("start program date time");
    assert!(edgepack::datetime::parse_iso8601_ms(pdt).is_some(), "{pdt}");
}
