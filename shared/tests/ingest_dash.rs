//! Per-track input: DASH (an MPD plus ffmpeg's per-representation init and media segments)
//! and CMAF (DASH-IF Live Media Ingest interface 1, `Streams(name)` and directory paths) into
//! HLS-CMAF, DASH and HLS (TS) endpoints; the ingest status table; repeats, gaps and a track
//! that starts late.

mod common;

use common::*;
use edgepack::store::ObjectStore;
use edgepack::{Method, Request};
use serde_json::json;

const VIDEO_INIT: &str = "dash_init_0.mp4";
const AUDIO_INIT: &str = "dash_init_1.mp4";
const VIDEO: [&str; 2] = ["dash_0_1.m4s", "dash_0_2.m4s"];
const AUDIO: [&str; 2] = ["dash_1_1.m4s", "dash_1_2.m4s"];

/// ffmpeg's MPD for the fixtures (its default file names, as `-f dash -method PUT` uses them).
const MPD: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011"
  type="dynamic" minimumUpdatePeriod="PT500S" availabilityStartTime="2026-11-23T12:00:00Z">
 <Period id="0" start="PT0.0S">
  <AdaptationSet id="0" contentType="video" frameRate="30/1">
   <Representation id="0" mimeType="video/mp4" codecs="avc1.64000d" bandwidth="300000" width="320" height="180">
    <SegmentTemplate timescale="15360" initialization="init-stream$RepresentationID$.m4s" media="chunk-stream$RepresentationID$-$Number%05d$.m4s" startNumber="1"/>
   </Representation>
  </AdaptationSet>
  <AdaptationSet id="1" contentType="audio" lang="en">
   <Role schemeIdUri="urn:mpeg:dash:role:2011" value="main"/>
   <Representation id="1" mimeType="audio/mp4" codecs="mp4a.40.2" bandwidth="64000" audioSamplingRate="48000">
    <AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="2"/>
    <SegmentTemplate timescale="48000" initialization="init-stream$RepresentationID$.m4s" media="chunk-stream$RepresentationID$-$Number%05d$.m4s" startNumber="1"/>
   </Representation>
  </AdaptationSet>
 </Period>
</MPD>"#;

/// A channel `demo/live` taking `protocol`, with an HLS-CMAF, a DASH and an HLS (TS)
/// endpoint; returns the channel.
fn channel(o: &TestOrigin, protocol: &str) -> serde_json::Value {
    channel_with(o, protocol, json!({}))
}

/// [`channel`] with `extra` settings on every endpoint.
fn channel_with(o: &TestOrigin, protocol: &str, extra: serde_json::Value) -> serde_json::Value {
    let endpoints: Vec<serde_json::Value> = [("cmaf", "HLS_CMAF"), ("dash", "DASH"), ("ts", "HLS")]
        .into_iter()
        .map(|(name, protocol)| {
            let mut body = json!({"name": name, "protocol": protocol});
            if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
                b.extend(e.clone());
            }
            body
        })
        .collect();
    channel_with_endpoints(o, protocol, &endpoints)
}

fn upload(
    o: &TestOrigin,
    method: Method,
    input: u8,
    creds: &(String, String),
    path: &str,
    body: &[u8],
    now_ms: u64,
) -> edgepack::Response {
    let req = Request::new(method, &format!("/in/v1/demo/live/{input}/{path}"))
        .with_header("authorization", &basic(&creds.0, &creds.1))
        .with_body(body.to_vec());
    send(o, req, now_ms)
}

/// A POST to input 1 that must be stored (201).
fn stored(o: &TestOrigin, creds: &(String, String), path: &str, body: &[u8], now_ms: u64) {
    let r = upload(o, Method::Post, 1, creds, path, body, now_ms);
    assert_eq!(r.status, 201, "{path}: {}", text(&r));
}

/// Pushes what `ffmpeg -f dash -method PUT` does for the fixtures: both init segments, the
/// MPD, then each segment of both tracks.
fn push_dash(o: &TestOrigin, input: u8, creds: &(String, String)) {
    let put = |path: &str, body: &[u8], now: u64| {
        let r = upload(o, Method::Put, input, creds, path, body, now);
        assert!(
            matches!(r.status, 200 | 201),
            "{path}: {} {}",
            r.status,
            text(&r)
        );
    };
    put("live/init-stream0.m4s", &fixture(VIDEO_INIT), T0);
    put("live/init-stream1.m4s", &fixture(AUDIO_INIT), T0 + 1);
    put("live/manifest.mpd", MPD.as_bytes(), T0 + 2);
    for n in 0..2 {
        let now = T0 + 2000 * (n as u64 + 1);
        put(
            &format!("live/chunk-stream0-{:05}.m4s", n + 1),
            &fixture(VIDEO[n]),
            now,
        );
        put(
            &format!("live/chunk-stream1-{:05}.m4s", n + 1),
            &fixture(AUDIO[n]),
            now + 5,
        );
        put("live/manifest.mpd", MPD.as_bytes(), now + 10);
    }
}

fn ok(o: &TestOrigin, path: &str) -> Vec<u8> {
    let r = get(o, path, T0 + 6000);
    assert_eq!(r.status, 200, "{path}: {}", text(&r));
    r.body
}

fn ok_text(o: &TestOrigin, path: &str) -> String {
    String::from_utf8(ok(o, path)).expect("UTF-8")
}

const OUT: &str = "/out/v1/demo/live";

/// The init segment (`EXT-X-MAP`) and every segment of the CMAF playlist `pl` of `dir` (below
/// [`OUT`]), concatenated: one fMP4 stream for ffprobe.
fn playlist_bytes(o: &TestOrigin, dir: &str, pl: &str, now: u64) -> Vec<u8> {
    let init = pl
        .lines()
        .find_map(|l| l.strip_prefix("#EXT-X-MAP:URI=\""))
        .and_then(|l| l.split('"').next())
        .expect("EXT-X-MAP");
    let uris = pl.lines().filter(|l| !l.starts_with('#') && !l.is_empty());
    let mut bytes = Vec::new();
    for u in std::iter::once(init).chain(uris) {
        let r = get(o, &format!("{OUT}/{dir}/{u}"), now);
        assert_eq!(r.status, 200, "{u}: {}", String::from_utf8_lossy(&r.body));
        bytes.extend(r.body);
    }
    bytes
}

#[test]
fn dash_input_feeds_every_endpoint_type() {
    let o = origin();
    let ch = channel(&o, "DASH");
    let creds = credentials(&ch, 1);
    push_dash(&o, 1, &creds);

    // HLS-CMAF: the MPD's video representation with its audio group, names from the MPD.
    let master = ok_text(&o, &format!("{OUT}/cmaf/manifest.m3u8"));
    assert!(
        master.contains("CODECS=\"avc1.64000d,mp4a.40.2\""),
        "{master}"
    );
    assert!(master.contains("RESOLUTION=320x180"), "{master}");
    assert!(master.contains("LANGUAGE=\"en\""), "{master}");
    let video = ok_text(&o, &format!("{OUT}/cmaf/live/stream0/video.m3u8"));
    assert_eq!(video.matches("#EXTINF:").count(), 2, "{video}");
    let audio = ok_text(&o, &format!("{OUT}/cmaf/live/stream1/audio.m3u8"));
    assert_eq!(audio.matches("#EXTINF:").count(), 2, "{audio}");

    // DASH: one video and one audio representation, times from the segments.
    let mpd = ok_text(&o, &format!("{OUT}/dash/manifest.mpd"));
    assert!(mpd.contains("contentType=\"video\""), "{mpd}");
    assert!(mpd.contains("contentType=\"audio\""), "{mpd}");
    assert!(
        !mpd.contains("PT500S"),
        "the encoder's update period is not passed on"
    );

    // HLS (TS): a video variant and an audio rendition, both muxed to MPEG-TS per request.
    let ts_master = ok_text(&o, &format!("{OUT}/ts/manifest.m3u8"));
    assert!(ts_master.contains("TYPE=AUDIO"), "{ts_master}");
    let ts_video = ok_text(&o, &format!("{OUT}/ts/live/stream0/media.m3u8"));
    let first = ts_video
        .lines()
        .find(|l| !l.starts_with('#') && !l.is_empty())
        .expect("a segment");
    let seg = ok(&o, &format!("{OUT}/ts/live/stream0/{first}"));
    let v = ffprobe_frames(&seg, "stream=codec_type,nb_read_frames");
    assert_eq!(v["streams"][0]["codec_type"], "video");
    assert_eq!(v["streams"][0]["nb_read_frames"], "60", "{v}");
}

#[test]
fn dash_segments_continue_on_one_timeline() {
    let o = origin();
    let ch = channel(&o, "DASH");
    push_dash(&o, 1, &credentials(&ch, 1));
    // Both video segments as one fMP4: 120 frames with continuous decode times.
    let pl = ok_text(&o, &format!("{OUT}/cmaf/live/stream0/video.m3u8"));
    let uris: Vec<&str> = pl
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect();
    assert_eq!(uris.len(), 2, "{pl}");
    let bytes = playlist_bytes(&o, "cmaf/live/stream0", &pl, T0 + 6000);
    let v = ffprobe_frames(&bytes, "stream=nb_read_frames:packet=dts");
    assert_eq!(v["streams"][0]["nb_read_frames"], "120", "{v}");
    let dts: Vec<i64> = v["packets"]
        .as_array()
        .expect("packets")
        .iter()
        .filter_map(|p| p["dts"].as_i64())
        .collect();
    let steps: std::collections::BTreeSet<i64> = dts.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(steps.len(), 1, "one decode step across the join: {steps:?}");
}

#[test]
fn cmaf_ingest_takes_streams_paths_and_posts() {
    let o = origin();
    let ch = channel(&o, "CMAF");
    let creds = credentials(&ch, 1);
    let post = |path: &str, body: &[u8], now: u64| stored(&o, &creds, path, body, now);
    post("Streams(video.cmfv)", &fixture(VIDEO_INIT), T0);
    post("Streams(audio.cmfa)", &fixture(AUDIO_INIT), T0);
    for n in 0..2 {
        let now = T0 + 2000 * (n as u64 + 1);
        post("Streams(video.cmfv)", &fixture(VIDEO[n]), now);
        post("Streams(audio.cmfa)", &fixture(AUDIO[n]), now);
    }
    // No manifest from the sender: the master is made from the tracks.
    let master = ok_text(&o, &format!("{OUT}/cmaf/manifest.m3u8"));
    assert!(master.contains("TYPE=AUDIO"), "{master}");
    assert!(master.contains("avc1.64000d,mp4a.40.2"), "{master}");
    let ts_master = ok_text(&o, &format!("{OUT}/ts/manifest.m3u8"));
    assert!(ts_master.contains("video/media.m3u8"), "{ts_master}");
    assert!(
        ts_master.contains("URI=\"audio/media.m3u8\""),
        "{ts_master}"
    );
    let audio = ok_text(&o, &format!("{OUT}/ts/audio/media.m3u8"));
    let first = audio
        .lines()
        .find(|l| !l.starts_with('#') && !l.is_empty())
        .expect("a segment");
    let seg = ok(&o, &format!("{OUT}/ts/audio/{first}"));
    let v = ffprobe_frames(&seg, "stream=codec_type,nb_read_frames");
    assert_eq!(v["streams"][0]["codec_type"], "audio", "{v}");
}

#[test]
fn directory_paths_name_the_track() {
    let o = origin();
    let ch = channel(&o, "CMAF");
    let creds = credentials(&ch, 1);
    for (path, body, now) in [
        ("video_1/init.cmfi", fixture(VIDEO_INIT), T0),
        ("video_1/1.cmfv", fixture(VIDEO[0]), T0 + 2000),
        ("video_1/2.cmfv", fixture(VIDEO[1]), T0 + 4000),
    ] {
        let r = upload(&o, Method::Put, 1, &creds, path, &body, now);
        assert_eq!(r.status, 201, "{path}: {}", text(&r));
    }
    let pl = ok_text(&o, &format!("{OUT}/cmaf/video_1/video.m3u8"));
    assert_eq!(pl.matches("#EXTINF:").count(), 2, "{pl}");
}

#[test]
fn status_table() {
    let o = origin();
    let ch = channel(&o, "CMAF");
    let creds = credentials(&ch, 1);
    let status = |path: &str, body: &[u8], creds: &(String, String)| {
        let r = upload(&o, Method::Post, 1, creds, path, body, T0);
        (r.status, text(&r).to_owned())
    };
    let wrong = (creds.0.clone(), "wrong".to_owned());
    assert_eq!(
        status("Streams(v.cmfv)", &fixture(VIDEO_INIT), &wrong).0,
        403
    );
    // A media segment before its init segment.
    let (s, body) = status("Streams(v.cmfv)", &fixture(VIDEO[0]), &creds);
    assert_eq!(s, 412, "{body}");
    // MPEG-TS to a CMAF channel.
    let (s, body) = status("Streams(v.ts)", &ts(4, 1), &creds);
    assert_eq!(s, 415, "{body}");
    let (s, body) = status("Streams(v.cmfv)", &ts(4, 1), &creds);
    assert_eq!(s, 415, "{body}");
    // A malformed init segment; a media segment its init cannot read.
    let mut bad = fixture(VIDEO_INIT);
    bad.truncate(100);
    let (s, body) = status("Streams(v.cmfv)", &bad, &creds);
    assert_eq!(s, 400, "{body}");
    assert_eq!(
        status("Streams(v.cmfv)", &fixture(VIDEO_INIT), &creds).0,
        201
    );
    let mut cut = fixture(VIDEO[0]);
    cut.truncate(cut.len() / 2);
    let (s, body) = status("Streams(v.cmfv)", &cut, &creds);
    assert_eq!(s, 400, "{body}");
    // A bare file name names no track.
    let (s, body) = status("segment.cmfv", &fixture(VIDEO[0]), &creds);
    assert_eq!(s, 400, "{body}");
    // Unknown channel.
    let req = Request::new(Method::Post, "/in/v1/demo/nope/1/Streams(v.cmfv)")
        .with_header("authorization", &basic(&creds.0, &creds.1))
        .with_body(fixture(VIDEO_INIT));
    assert_eq!(send(&o, req, T0).status, 404);
    // Nothing refused was served: the track has no segment yet.
    let r = get(&o, &format!("{OUT}/cmaf/v/video.m3u8"), T0 + 1000);
    assert_ne!(r.status, 200, "{}", text(&r));
}

#[test]
fn repeats_are_kept_once_and_gaps_are_marked() {
    let o = origin();
    let ch = channel(&o, "CMAF");
    let creds = credentials(&ch, 1);
    let post =
        |body: &[u8], now: u64| upload(&o, Method::Post, 1, &creds, "Streams(v.cmfv)", body, now);
    assert_eq!(post(&fixture(VIDEO_INIT), T0).status, 201);
    assert_eq!(post(&fixture(VIDEO[0]), T0 + 2000).status, 201);
    // The same segment again (a retry, or a redundant sender on one path): kept once.
    assert_eq!(post(&fixture(VIDEO[0]), T0 + 2100).status, 200);
    // The CMAF header again (a sender that repeats it before every segment): kept once.
    assert_eq!(post(&fixture(VIDEO_INIT), T0 + 3900).status, 200);
    assert_eq!(post(&fixture(VIDEO[1]), T0 + 4000).status, 201);
    let pl = ok_text(&o, &format!("{OUT}/cmaf/v/video.m3u8"));
    assert_eq!(pl.matches("#EXTINF:").count(), 2, "{pl}");
    assert!(!pl.contains("#EXT-X-DISCONTINUITY\n"), "{pl}");
}

#[test]
fn failover_between_aligned_cmaf_inputs_is_seamless() {
    let o = origin();
    let ch = channel(&o, "CMAF");
    let (one, two) = (credentials(&ch, 1), credentials(&ch, 2));
    let post = |input: u8, creds: &(String, String), body: &[u8], now: u64| {
        let r = upload(&o, Method::Post, input, creds, "Streams(v.cmfv)", body, now);
        assert_eq!(r.status, 201, "input {input}: {}", text(&r));
    };
    // Both inputs get the same CMAF header and first segment; input 1 then stops.
    post(1, &one, &fixture(VIDEO_INIT), T0);
    post(2, &two, &fixture(VIDEO_INIT), T0);
    post(1, &one, &fixture(VIDEO[0]), T0 + 2000);
    post(2, &two, &fixture(VIDEO[0]), T0 + 2050);
    // Input 2 goes on alone, past the channel's failover timeout (max_segment_duration).
    let late = T0 + 2000 + 16_000;
    post(2, &two, &fixture(VIDEO[1]), late);
    let r = get(&o, &format!("{OUT}/cmaf/v/video.m3u8"), late + 100);
    let pl = text(&r);
    assert_eq!(pl.matches("#EXTINF:").count(), 2, "{pl}");
    assert!(!pl.contains("#EXT-X-DISCONTINUITY\n"), "{pl}");
    let (s, status) = api(
        &o,
        Method::Get,
        "/api/v1/groups/demo/channels/live/status",
        None,
    );
    assert_eq!(s, 200, "{status}");
    assert_eq!(status["active_input"], 2, "{status}");
    // The two segments, one from each input, decode as one stream with one decode step.
    let bytes = playlist_bytes(&o, "cmaf/v", pl, late + 100);
    let v = ffprobe_frames(&bytes, "stream=nb_read_frames:packet=dts");
    assert_eq!(v["streams"][0]["nb_read_frames"], "120", "{v}");
}

#[test]
fn a_track_that_starts_late_lines_up_with_the_others() {
    let o = origin();
    let ch = channel(&o, "CMAF");
    let creds = credentials(&ch, 1);
    let post = |path: &str, body: &[u8], now: u64| stored(&o, &creds, path, body, now);
    post("Streams(v.cmfv)", &fixture(VIDEO_INIT), T0);
    post("Streams(v.cmfv)", &fixture(VIDEO[0]), T0 + 2000);
    post("Streams(v.cmfv)", &fixture(VIDEO[1]), T0 + 4000);
    // Audio's first segment is its second 2 s: it takes video's second number.
    post("Streams(a.cmfa)", &fixture(AUDIO_INIT), T0 + 4000);
    post("Streams(a.cmfa)", &fixture(AUDIO[1]), T0 + 4010);
    let sequence = |pl: &str| {
        pl.lines()
            .find_map(|l| l.strip_prefix("#EXT-X-MEDIA-SEQUENCE:"))
            .and_then(|n| n.parse::<u64>().ok())
            .expect("EXT-X-MEDIA-SEQUENCE")
    };
    let video = ok_text(&o, &format!("{OUT}/ts/v/media.m3u8"));
    let audio = ok_text(&o, &format!("{OUT}/ts/a/media.m3u8"));
    assert_eq!(sequence(&audio), sequence(&video) + 1, "{video}\n{audio}");
}

#[test]
fn clip_of_dash_input_has_video_and_audio() {
    let o = origin();
    let ch = channel(&o, "DASH");
    push_dash(&o, 1, &credentials(&ch, 1));
    // The first segments ended when they arrived (T0 + 2 s): they start at T0.
    let mut req = Request::new(Method::Get, &format!("{OUT}/cmaf/clip.mp4"));
    req.query = "start=2026-11-23T12:00:00Z&end=2026-11-23T12:00:04Z".into();
    let r = send_all(&o, req, T0 + 60_000);
    assert_eq!(r.status, 200, "{}", text(&r));
    let v = ffprobe_frames(&r.body, "stream=codec_type,nb_read_frames");
    let frames = |kind: &str| {
        v["streams"]
            .as_array()
            .expect("streams")
            .iter()
            .find(|s| s["codec_type"] == kind)
            .and_then(|s| s["nb_read_frames"].as_str()?.parse::<u64>().ok())
    };
    assert_eq!(frames("video"), Some(120), "{v}");
    assert!(frames("audio").is_some_and(|n| n > 180), "{v}");
}

/// Found by the `track_ingest` fuzz target: a media segment whose `trun` the demuxer reads but
/// whose NAL unit lengths overrun their samples was stored and then answered 500 on the TS
/// endpoint. It is refused at ingest now.
#[test]
fn fuzz_samples_ts_cannot_carry_are_refused_at_ingest() {
    let o = origin();
    let ch = channel(&o, "CMAF");
    let creds = credentials(&ch, 1);
    let post = |body: &[u8], now: u64| {
        upload(&o, Method::Post, 1, &creds, "Streams(v.cmfv)", body, now).status
    };
    assert_eq!(post(&fixture(VIDEO_INIT), T0), 201);
    assert_eq!(post(&fixture(VIDEO[0]), T0 + 2000), 201);
    let before = ok_text(&o, &format!("{OUT}/ts/v/media.m3u8"));
    assert_eq!(
        post(&fixture("fuzz/track_ingest_nal_overrun.m4s"), T0 + 4000),
        400
    );
    assert_eq!(ok_text(&o, &format!("{OUT}/ts/v/media.m3u8")), before);
}

#[test]
fn an_mpd_whose_segments_cannot_be_attributed_is_refused() {
    let o = origin();
    let ch = channel(&o, "DASH");
    let creds = credentials(&ch, 1);
    let flat = MPD.replace(
        "init-stream$RepresentationID$.m4s",
        "init_$RepresentationID$.m4s",
    );
    let r = upload(
        &o,
        Method::Put,
        1,
        &creds,
        "manifest.mpd",
        flat.as_bytes(),
        T0,
    );
    assert_eq!(r.status, 400, "{}", text(&r));
    assert!(text(&r).contains("representation `0`"), "{}", text(&r));
    let r = upload(&o, Method::Put, 1, &creds, "manifest.mpd", b"<MPD/>", T0);
    assert_eq!(r.status, 400, "{}", text(&r));
    let r = upload(
        &o,
        Method::Put,
        1,
        &creds,
        "manifest.mpd",
        MPD.as_bytes(),
        T0,
    );
    assert_eq!(r.status, 201, "{}", text(&r));
}

#[test]
fn harvest_and_time_shift_of_dash_input() {
    let o = origin();
    let ch = channel_with(&o, "DASH", json!({"time_shift_days": 1}));
    push_dash(&o, 1, &credentials(&ch, 1));
    let now = T0 + 30_000;
    // A time-shifted window: both segments of both tracks, as a VOD playlist.
    let mut req = Request::new(Method::Get, &format!("{OUT}/cmaf/live/stream1/audio.m3u8"));
    req.query = "start=2026-11-23T12:00:00Z&vodend=2026-11-23T12:00:04Z".into();
    let r = send(&o, req, now);
    assert_eq!(r.status, 200, "{}", text(&r));
    assert_eq!(text(&r).matches("#EXTINF:").count(), 2, "{}", text(&r));
    assert!(text(&r).contains("#EXT-X-ENDLIST"), "{}", text(&r));
    // A harvest job of the same window: per-track inits and fragments.
    let body = json!({"endpoint": "cmaf", "start": "2026-11-23T12:00:00Z",
        "end": "2026-11-23T12:00:04Z", "destination": "clips"});
    let req = Request::new(
        Method::Post,
        "/api/v1/groups/demo/channels/live/harvest-jobs",
    )
    .with_header("authorization", &format!("Bearer {TOKEN}"))
    .with_body(body.to_string());
    let r = send(&o, req, now);
    assert_eq!(r.status, 201, "{}", text(&r));
    let job: serde_json::Value = serde_json::from_slice(&r.body).expect("job JSON");
    assert_eq!(job["status"], "SUCCEEDED", "{job}");
    let prefix = format!("vod/clips/{}/", job["id"].as_str().expect("id"));
    let files: Vec<String> = block_on(o.objects.list(&prefix))
        .expect("list")
        .into_iter()
        .map(|i| i.key[prefix.len()..].to_owned())
        .collect();
    assert_eq!(
        files.iter().filter(|f| f.ends_with(".m4s")).count(),
        4,
        "{files:?}"
    );
    assert!(files.iter().any(|f| f.contains("audio_init_")), "{files:?}");
    assert!(files.iter().any(|f| f.contains("video_init_")), "{files:?}");
}
