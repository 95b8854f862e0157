//! HLS_CMAF input (HLS with fMP4 segments, as `ffmpeg -f hls -hls_segment_type fmp4` pushes
//! it) into HLS-CMAF, DASH and HLS (TS) endpoints: what is accepted and refused at ingest, and served
//! segments that ffprobe decodes with the source's frames and timestamps.

mod common;

use common::*;
use edgepack::Method;
use serde_json::{json, Value};

const INIT: &str = "h264_aac_fmp4_init.mp4";
const SEGMENTS: [&str; 2] = ["h264_aac_fmp4_0.m4s", "h264_aac_fmp4_1.m4s"];

/// A channel `demo/live` with HLS_CMAF input and an HLS-CMAF, a DASH and an HLS (TS)
/// endpoint; returns input 1's credentials.
fn cmaf_channel(o: &TestOrigin) -> (String, String) {
    let ch = channel_with_endpoints(
        o,
        "HLS_CMAF",
        &[
            json!({"name": "cmaf", "protocol": "HLS_CMAF"}),
            json!({"name": "dash", "protocol": "DASH"}),
            json!({"name": "ts", "protocol": "HLS"}),
        ],
    );
    credentials(&ch, 1)
}

const ENDPOINTS: &str = "/api/v1/groups/demo/channels/live/endpoints";

/// An ffmpeg-style fMP4 media playlist listing `v/seg{n}.m4s` for `n` in `0..count`.
fn fmp4_playlist(count: u64) -> String {
    let mut s = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n\
                 #EXT-X-MAP:URI=\"init.mp4\"\n"
        .to_owned();
    for n in 0..count {
        s.push_str(&format!("#EXTINF:2.000000,\nseg{n}.m4s\n"));
    }
    s
}

/// Pushes the init segment and both fixture segments, each followed by its playlist.
fn push_fmp4(o: &TestOrigin, creds: &(String, String)) {
    assert_eq!(
        put(o, 1, creds, "v/init.mp4", &fixture(INIT), T0).status,
        201
    );
    for (n, name) in SEGMENTS.iter().enumerate() {
        let now = T0 + 2000 * n as u64 + 100;
        let r = put(o, 1, creds, &format!("v/seg{n}.m4s"), &fixture(name), now);
        assert_eq!(r.status, 201, "{}", text(&r));
        let pl = fmp4_playlist(n as u64 + 1);
        let r = put(o, 1, creds, "v/index.m3u8", pl.as_bytes(), now + 10);
        assert_eq!(r.status, 201, "{}", text(&r));
    }
}

fn ok_text(o: &TestOrigin, path: &str) -> String {
    let r = get(o, path, T0 + 5000);
    assert_eq!(r.status, 200, "{path}: {}", text(&r));
    text(&r).to_owned()
}

fn ok_bytes(o: &TestOrigin, path: &str) -> Vec<u8> {
    let r = get(o, path, T0 + 5000);
    assert_eq!(r.status, 200, "{path}: {}", text(&r));
    r.body
}

/// ffprobe's packets of the first stream of `codec_type` in `bytes`: (pts, dts, pts_time).
fn stream_packets(bytes: &[u8], codec_type: &str) -> Vec<(i64, i64, f64)> {
    let v = ffprobe_frames(
        bytes,
        "stream=index,codec_type,nb_read_frames:packet=stream_index,pts,dts,pts_time",
    );
    let streams = v["streams"].as_array().expect("streams");
    let index = streams
        .iter()
        .find(|s| s["codec_type"] == codec_type)
        .and_then(|s| s["index"].as_i64())
        .unwrap_or_else(|| panic!("no {codec_type} stream"));
    let number = |p: &Value, k: &str| p[k].as_i64().unwrap_or(i64::MIN);
    let seconds = |p: &Value| p["pts_time"].as_str().and_then(|t| t.parse().ok());
    v["packets"]
        .as_array()
        .expect("packets")
        .iter()
        .filter(|p| p["stream_index"].as_i64() == Some(index))
        .map(|p| {
            (
                number(p, "pts"),
                number(p, "dts"),
                seconds(p).unwrap_or(f64::NAN),
            )
        })
        .collect()
}

/// (pts, dts) of [`stream_packets`].
fn packets(bytes: &[u8], codec_type: &str) -> Vec<(i64, i64)> {
    stream_packets(bytes, codec_type)
        .into_iter()
        .map(|p| (p.0, p.1))
        .collect()
}

/// The earliest presentation time (seconds) of the first stream of `codec_type` in `bytes`.
fn first_pts_time(bytes: &[u8], codec_type: &str) -> f64 {
    stream_packets(bytes, codec_type)
        .into_iter()
        .map(|p| p.2)
        .fold(f64::INFINITY, f64::min)
}

/// The URIs a playlist lists (non-tag lines) and its EXT-X-MAP URI.
fn listed(playlist: &str) -> (Vec<String>, Option<String>) {
    let playlist = &plain(playlist);
    let uris = playlist
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    let map = playlist
        .lines()
        .find_map(|l| l.strip_prefix("#EXT-X-MAP:URI=\""))
        .map(|r| r.trim_end_matches('"').to_owned());
    (uris, map)
}

#[test]
fn fmp4_input_plays_on_cmaf_endpoints_with_the_source_samples() {
    let o = origin();
    let c = cmaf_channel(&o);
    push_fmp4(&o, &c);
    let master = ok_text(&o, "/out/v1/demo/live/cmaf/manifest.m3u8");
    let mut first_video_pts = None;
    assert!(master.contains("v/index/video.m3u8"), "{master}");
    assert!(
        master.contains("CODECS=\"avc1.64000d,mp4a.40.2\""),
        "{master}"
    );
    for (kind, codec_type) in [("video", "video"), ("audio", "audio")] {
        let playlist = ok_text(&o, &format!("/out/v1/demo/live/cmaf/v/index/{kind}.m3u8"));
        let (uris, map) = listed(&playlist);
        assert_eq!(uris.len(), 2, "{playlist}");
        let init = ok_bytes(
            &o,
            &format!("/out/v1/demo/live/cmaf/v/index/{}", map.expect("EXT-X-MAP")),
        );
        for (n, uri) in uris.iter().enumerate() {
            let segment = ok_bytes(&o, &format!("/out/v1/demo/live/cmaf/v/index/{uri}"));
            let ours = packets(&[init.as_slice(), &segment].concat(), codec_type);
            let source = [fixture(INIT), fixture(SEGMENTS[n])].concat();
            let theirs = packets(&source, codec_type);
            assert_eq!(ours.len(), theirs.len(), "{kind} segment {n}: packet count");
            // Same samples at the same decode times; our init has no edit list, so the
            // presentation times are the source's before its edit list shifts them.
            let dts = |p: &[(i64, i64)]| p.iter().map(|x| x.1 - p[0].1).collect::<Vec<_>>();
            assert_eq!(dts(&ours), dts(&theirs), "{kind} segment {n}: decode times");
            if kind == "video" && n == 0 {
                first_video_pts = ours.iter().map(|p| p.0).min();
            }
        }
    }
    // The DASH endpoint lists both segments on a SegmentTimeline of each track.
    let mpd = ok_text(&o, "/out/v1/demo/live/dash/manifest.mpd");
    assert_eq!(mpd.matches("<SegmentTimeline>").count(), 2, "{mpd}");
    assert!(mpd.contains("codecs=\"avc1.64000d\""), "{mpd}");
    // Video `S@t` is the segment's earliest presentation time in the track's own timescale
    // (ffmpeg's 15360), the time ffprobe reads from our segment.
    assert!(mpd.contains("timescale=\"15360\""), "{mpd}");
    let first_t: i64 = mpd
        .split("<S t=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .and_then(|t| t.parse().ok())
        .expect("a first S@t");
    assert_eq!(Some(first_t), first_video_pts, "{mpd}");
    // That segment is served under its $Time$ name.
    let r = get(
        &o,
        &format!("/out/v1/demo/live/dash/v/index/video_t{first_t}.m4s"),
        T0 + 5000,
    );
    assert_eq!(r.status, 200, "{}", text(&r));
}

#[test]
fn refusals_leave_the_served_state_as_it_was() {
    let o = origin();
    let c = cmaf_channel(&o);
    push_fmp4(&o, &c);
    let before = ok_text(&o, "/out/v1/demo/live/cmaf/v/index/video.m3u8");
    // MPEG-TS on an fMP4 input, and a body that is no fMP4.
    let r = put(&o, 1, &c, "v/seg9.ts", &fixture("h264_aac_0.ts"), T0 + 4000);
    assert_eq!(r.status, 415, "{}", text(&r));
    let r = put(&o, 1, &c, "v/seg9.m4s", b"not a segment at all", T0 + 4000);
    assert_eq!(r.status, 415, "{}", text(&r));
    // An init segment that does not parse.
    let mut broken = fixture(INIT);
    broken.truncate(40);
    let r = put(&o, 1, &c, "v/init2.mp4", &broken, T0 + 4000);
    assert_eq!(r.status, 400, "{}", text(&r));
    // A playlist without EXT-X-MAP on an fMP4 input.
    let pl = media_playlist(0, 2);
    let r = put(&o, 1, &c, "v/index.m3u8", pl.as_bytes(), T0 + 4100);
    assert_eq!(r.status, 400, "{}", text(&r));
    assert!(text(&r).contains("EXT-X-MAP"), "{}", text(&r));
    assert_eq!(
        ok_text(&o, "/out/v1/demo/live/cmaf/v/index/video.m3u8"),
        before
    );
    // The input protocol is fixed.
    let (s, v) = api(
        &o,
        Method::Patch,
        "/api/v1/groups/demo/channels/live",
        Some(json!({"protocol": "HLS"})),
    );
    assert_eq!((s, v["field"].as_str()), (400, Some("protocol")), "{v}");
}

/// (PID, continuity_counter) of every TS packet that carries a payload.
fn counters(ts: &[u8]) -> Vec<(u16, u8)> {
    ts.chunks(188)
        .filter(|p| p.len() == 188 && p[0] == 0x47 && p[3] & 0x10 != 0)
        .map(|p| ((u16::from(p[1] & 0x1f) << 8) | u16::from(p[2]), p[3] & 0x0f))
        .collect()
}

#[test]
fn fmp4_input_as_mpeg_ts_decodes_with_the_source_times_and_running_counters() {
    let o = origin();
    let c = cmaf_channel(&o);
    push_fmp4(&o, &c);
    let playlist = ok_text(&o, "/out/v1/demo/live/ts/v/index/media.m3u8");
    let (uris, map) = listed(&playlist);
    assert_eq!(uris, ["0.ts", "1.ts"], "{playlist}");
    assert_eq!(map, None, "TS segments need no init: {playlist}");
    let mut segments = Vec::new();
    for (n, uri) in uris.iter().enumerate() {
        let ts = ok_bytes(&o, &format!("/out/v1/demo/live/ts/v/index/{uri}"));
        let source = [fixture(INIT), fixture(SEGMENTS[n])].concat();
        for kind in ["video", "audio"] {
            let ours = packets(&ts, kind);
            let theirs = packets(&source, kind);
            assert_eq!(ours.len(), theirs.len(), "{kind} of {uri}: packet count");
        }
        // Presentation times as the fMP4 presents them (edit lists applied), at 90 kHz.
        for kind in ["video", "audio"] {
            let (ours, theirs) = (first_pts_time(&ts, kind), first_pts_time(&source, kind));
            assert!(
                (ours - theirs).abs() < 0.001,
                "{kind} of {uri}: first at {ours} s, source {theirs} s"
            );
        }
        segments.push(ts);
    }
    // Continuity counters run on from segment 0 into segment 1 on every PID.
    let (a, b) = (counters(&segments[0]), counters(&segments[1]));
    let pids: std::collections::BTreeSet<u16> = a.iter().map(|x| x.0).collect();
    assert!(pids.len() >= 4, "PAT, PMT, video and audio: {pids:?}");
    for pid in pids {
        let last = a.iter().rev().find(|x| x.0 == pid).map(|x| x.1).unwrap();
        let next = b.iter().find(|x| x.0 == pid).map(|x| x.1).unwrap();
        assert_eq!(next, (last + 1) % 16, "PID 0x{pid:04x}: {last} then {next}");
    }
}

#[test]
fn a_segment_is_listed_only_once_its_init_segment_arrived() {
    let o = origin();
    let c = cmaf_channel(&o);
    // ffmpeg holds the init PUT open for about a segment: the segment and its playlist can
    // arrive first.
    let seg = fixture(SEGMENTS[0]);
    assert_eq!(put(&o, 1, &c, "v/seg0.m4s", &seg, T0).status, 201);
    let pl = fmp4_playlist(1);
    let r = put(&o, 1, &c, "v/index.m3u8", pl.as_bytes(), T0 + 10);
    assert_eq!(r.status, 200, "nothing committed yet: {}", text(&r));
    let r = get(&o, "/out/v1/demo/live/cmaf/manifest.m3u8", T0 + 20);
    assert_eq!(r.status, 404, "{}", text(&r));
    assert_eq!(
        put(&o, 1, &c, "v/init.mp4", &fixture(INIT), T0 + 500).status,
        201
    );
    let r = put(&o, 1, &c, "v/index.m3u8", pl.as_bytes(), T0 + 510);
    assert_eq!(r.status, 201, "{}", text(&r));
    let playlist = ok_text(&o, "/out/v1/demo/live/cmaf/v/index/video.m3u8");
    assert_eq!(listed(&playlist).0.len(), 1, "{playlist}");
}

#[test]
fn a_ts_channel_refuses_fmp4() {
    let o = origin();
    let c = setup(&o, json!({"name": "hls"}));
    let r = put(&o, 1, &c, "v/seg0.m4s", &fixture(SEGMENTS[0]), T0);
    assert_eq!(r.status, 415, "{}", text(&r));
    let r = put(&o, 1, &c, "v/index.m3u8", fmp4_playlist(1).as_bytes(), T0);
    assert_eq!(r.status, 400, "{}", text(&r));
    assert!(text(&r).contains("HLS_CMAF"), "{}", text(&r));
}

#[test]
fn clip_of_fmp4_input_is_one_progressive_mp4() {
    let o = origin();
    let c = cmaf_channel(&o);
    push_fmp4(&o, &c);
    // Both segments: they arrived at T0 + 0.1 s and T0 + 2.1 s, program date times 2 s
    // before their arrival (no EXT-X-PROGRAM-DATE-TIME in the playlist).
    let mut req = edgepack::Request::new(Method::Get, "/out/v1/demo/live/cmaf/clip.mp4");
    req.query = "start=2026-11-23T11:59:58Z&end=2026-11-23T12:00:04Z".into();
    let r = send_all(&o, req, T0 + 60_000);
    assert_eq!(r.status, 200, "{}", text(&r));
    assert_eq!(r.header("content-type"), Some("video/mp4"));
    // moov before mdat, no fragments.
    let top: Vec<&[u8]> = {
        let mut at = 0;
        let mut out = Vec::new();
        while at + 8 <= r.body.len() {
            let size = u32::from_be_bytes(r.body[at..at + 4].try_into().unwrap()) as usize;
            out.push(&r.body[at + 4..at + 8]);
            at += size.max(8);
        }
        out
    };
    assert_eq!(top, [b"ftyp".as_slice(), b"moov", b"mdat"]);
    // Every frame of both source segments, decoded.
    let v = ffprobe_frames(&r.body, "stream=codec_type,nb_read_frames");
    let frames = |kind: &str| -> u64 {
        v["streams"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["codec_type"] == kind)
            .and_then(|s| s["nb_read_frames"].as_str()?.parse().ok())
            .unwrap_or_else(|| panic!("no {kind} stream: {v}"))
    };
    let source = |kind: &str| -> u64 {
        SEGMENTS
            .iter()
            .map(|s| packets(&[fixture(INIT), fixture(s)].concat(), kind).len() as u64)
            .sum()
    };
    assert_eq!(frames("video"), source("video"), "{v}");
    // Audio frames that start before the first picture or after the last are left out.
    let (audio, all) = (frames("audio"), source("audio"));
    assert!(audio + 3 >= all && audio <= all, "audio {audio} of {all}");
}

#[test]
fn aligned_fmp4_inputs_fail_over_without_a_discontinuity() {
    let o = origin();
    let c1 = cmaf_channel(&o);
    let (s, ch) = api(
        &o,
        Method::Patch,
        "/api/v1/groups/demo/channels/live",
        Some(json!({"max_segment_duration": 4})),
    );
    assert_eq!(s, 200, "{ch}");
    let c2 = credentials(&ch, 2);
    // Both encoders send the same init and first segment (identical timestamps); then input 1
    // dies and input 2 carries on with the next segment 8 s later.
    for (input, creds) in [(1, &c1), (2, &c2)] {
        assert_eq!(
            put(&o, input, creds, "v/init.mp4", &fixture(INIT), T0).status,
            201
        );
        let seg = fixture(SEGMENTS[0]);
        assert_eq!(
            put(&o, input, creds, "v/seg0.m4s", &seg, T0 + 100).status,
            201
        );
        let pl = fmp4_playlist(1);
        let r = put(&o, input, creds, "v/index.m3u8", pl.as_bytes(), T0 + 110);
        assert_eq!(r.status, 201, "{}", text(&r));
    }
    let now = T0 + 8_000;
    let seg = fixture(SEGMENTS[1]);
    assert_eq!(put(&o, 2, &c2, "v/seg1.m4s", &seg, now).status, 201);
    let r = put(
        &o,
        2,
        &c2,
        "v/index.m3u8",
        fmp4_playlist(2).as_bytes(),
        now + 10,
    );
    assert_eq!(r.status, 201, "{}", text(&r));

    let req = edgepack::Request::new(Method::Get, "/api/v1/groups/demo/channels/live/status")
        .with_header("authorization", &format!("Bearer {TOKEN}"));
    let r = send(&o, req, now + 20);
    let status: Value = serde_json::from_slice(&r.body).expect("status JSON");
    assert_eq!(status["active_input"], 2, "{status}");
    let switch = &status["switches"][1];
    assert_eq!(
        (
            switch["from_sequence"].as_u64(),
            switch["discontinuity"].as_bool()
        ),
        (Some(1), Some(false)),
        "the backup's segment 1 starts where input 1's segment 0 ended: {status}"
    );
    let playlist = get(&o, "/out/v1/demo/live/cmaf/v/index/video.m3u8", now + 20);
    let playlist = text(&playlist);
    assert!(!playlist.contains("#EXT-X-DISCONTINUITY\n"), "{playlist}");
    let (uris, map) = listed(playlist);
    assert_eq!(uris, ["video_0.m4s", "video_1.m4s"], "{playlist}");
    // Across the switch the decode times continue: segment 1 (input 2) starts where segment 0
    // (input 1) ends.
    let base = "/out/v1/demo/live/cmaf/v/index";
    let init = get(&o, &format!("{base}/{}", map.expect("EXT-X-MAP")), now + 20).body;
    let mut ends = Vec::new();
    for uri in &uris {
        let seg = get(&o, &format!("{base}/{uri}"), now + 20).body;
        let p = packets(&[init.as_slice(), &seg].concat(), "video");
        let first = p.iter().map(|x| x.1).min().expect("packets");
        let last = p.iter().map(|x| x.1).max().expect("packets");
        ends.push((first, last, p.len() as i64));
    }
    let frame = (ends[0].1 - ends[0].0) / (ends[0].2 - 1);
    assert_eq!(
        ends[1].0,
        ends[0].1 + frame,
        "decode times across the switch: {ends:?}"
    );
    // One DASH Period: no new run.
    let mpd = get(&o, "/out/v1/demo/live/dash/manifest.mpd", now + 20);
    assert_eq!(text(&mpd).matches("<Period ").count(), 1, "{}", text(&mpd));
}

#[test]
fn time_shift_windows_and_harvest_jobs_of_fmp4_input() {
    let o = origin();
    let c = cmaf_channel(&o);
    let (s, v) = api(
        &o,
        Method::Patch,
        &format!("{ENDPOINTS}/cmaf"),
        Some(json!({"time_shift_days": 1})),
    );
    assert_eq!(s, 200, "{v}");
    push_fmp4(&o, &c);
    let now = T0 + 60_000;
    let window = "start=2026-11-23T11:59:58Z&vodend=2026-11-23T12:00:04Z";
    let at = |path: &str, query: &str| {
        let mut req = edgepack::Request::new(Method::Get, path);
        req.query = query.to_owned();
        send(&o, req, now)
    };
    // A VOD window of both segments, its files served under the window's URLs.
    let base = "/out/v1/demo/live/cmaf/v/index";
    let r = at(&format!("{base}/video.m3u8"), window);
    assert_eq!(r.status, 200, "{}", text(&r));
    let playlist = text(&r).to_owned();
    assert!(playlist.ends_with("#EXT-X-ENDLIST\n"), "{playlist}");
    let (uris, map) = listed(&playlist);
    assert_eq!(uris.len(), 2, "{playlist}");
    let strip = |u: &str| u.split('?').next().unwrap_or(u).to_owned();
    let init = at(
        &format!("{base}/{}", strip(&map.expect("EXT-X-MAP"))),
        window,
    );
    assert_eq!(init.status, 200);
    let seg = at(&format!("{base}/{}", strip(&uris[1])), window);
    assert_eq!(seg.status, 200);
    let source = [fixture(INIT), fixture(SEGMENTS[1])].concat();
    assert_eq!(
        packets(&[init.body.as_slice(), &seg.body].concat(), "video").len(),
        packets(&source, "video").len()
    );

    // A harvest job of the same window: an asset of both segments, the init and the manifests.
    let body = json!({
        "endpoint": "cmaf",
        "start": "2026-11-23T11:59:58Z",
        "end": "2026-11-23T12:00:04Z",
        "destination": "vod/cmaf"
    });
    let req = edgepack::Request::new(
        Method::Post,
        "/api/v1/groups/demo/channels/live/harvest-jobs",
    )
    .with_header("authorization", &format!("Bearer {TOKEN}"))
    .with_body(body.to_string());
    let r = send(&o, req, now);
    assert_eq!(r.status, 201, "{}", text(&r));
    let job: Value = serde_json::from_slice(&r.body).expect("job JSON");
    assert_eq!(
        job["status"], "SUCCEEDED",
        "a small window is copied in the POST's batch: {job}"
    );
    let asset = job["asset_url"].as_str().expect("asset_url");
    let asset = asset
        .strip_prefix("http://127.0.0.1:8787")
        .expect("local URL");
    let dir = &asset[..asset.rfind('/').unwrap_or(0)];
    let master = get(&o, asset, now);
    assert_eq!(master.status, 200, "{}", text(&master));
    let vod = get(&o, &format!("{dir}/v/index/video.m3u8"), now);
    assert_eq!(vod.status, 200, "{}", text(&vod));
    let (uris, map) = listed(text(&vod));
    assert_eq!(uris.len(), 2, "{}", text(&vod));
    let init = get(
        &o,
        &format!("{dir}/v/index/{}", map.expect("EXT-X-MAP")),
        now,
    )
    .body;
    let seg = get(&o, &format!("{dir}/v/index/{}", uris[0]), now).body;
    let source = [fixture(INIT), fixture(SEGMENTS[0])].concat();
    assert_eq!(
        packets(&[init.as_slice(), &seg].concat(), "video").len(),
        packets(&source, "video").len()
    );
}
