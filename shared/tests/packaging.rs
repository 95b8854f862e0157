//! HLS-CMAF and DASH endpoints over real TS segments: golden manifests, init and media
//! segments decoded by ffprobe, segment joining.

mod common;

use common::*;
use edgepack::Method;
use serde_json::json;
use std::process::{Command, Stdio};

/// A channel fed the two consecutive fixture segments on rendition `v`, with an endpoint per
/// protocol.
fn channel() -> TestOrigin {
    let o = origin();
    let c = setup(&o, json!({"name": "hls"}));
    for (name, body) in [
        ("cmaf", json!({"name": "cmaf", "protocol": "HLS_CMAF"})),
        ("dash", json!({"name": "dash", "protocol": "DASH"})),
    ] {
        let (s, v) = api(
            &o,
            Method::Post,
            "/api/v1/groups/demo/channels/live/endpoints",
            Some(body),
        );
        assert_eq!(s, 201, "{name}: {v}");
    }
    push_fixture_segments(&o, &c);
    o
}

fn ok_text(o: &TestOrigin, path: &str) -> String {
    let r = get(o, path, T0 + 5000);
    assert_eq!(r.status, 200, "{path}: {}", text(&r));
    text(&r).to_owned()
}

/// ffprobe over `bytes`: (decoded frames, first frame's pts_time, codec).
fn ffprobe(bytes: &[u8]) -> (u64, f64, String) {
    let v = ffprobe_frames(bytes, "stream=codec_name,nb_read_frames:frame=pts_time");
    let stream = &v["streams"][0];
    let frames: u64 = stream["nb_read_frames"].as_str().unwrap().parse().unwrap();
    let first: f64 = v["frames"][0]["pts_time"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    (
        frames,
        first,
        stream["codec_name"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn hls_cmaf_manifests_golden() {
    let o = channel();
    golden(
        "cmaf_master.m3u8",
        &ok_text(&o, "/out/v1/demo/live/cmaf/manifest.m3u8"),
    );
    golden(
        "cmaf_video.m3u8",
        &ok_text(&o, "/out/v1/demo/live/cmaf/v/index/video.m3u8"),
    );
    golden(
        "cmaf_audio.m3u8",
        &ok_text(&o, "/out/v1/demo/live/cmaf/v/index/audio.m3u8"),
    );
}

#[test]
fn dash_mpd_golden() {
    let o = channel();
    let r = get(&o, "/out/v1/demo/live/dash/manifest.mpd", T0 + 5000);
    assert_eq!(r.status, 200, "{}", text(&r));
    assert_eq!(r.header("content-type"), Some("application/dash+xml"));
    golden("live.mpd", text(&r));
}

#[test]
fn cmaf_segments_decode_with_source_timing() {
    let o = channel();
    let playlist = ok_text(&o, "/out/v1/demo/live/cmaf/v/index/video.m3u8");
    let init_uri = playlist
        .lines()
        .find_map(|l| l.strip_prefix("#EXT-X-MAP:URI=\""))
        .unwrap()
        .trim_end_matches('"');
    let init = get(
        &o,
        &format!("/out/v1/demo/live/cmaf/v/index/{init_uri}"),
        T0,
    );
    assert_eq!(
        (init.status, init.header("content-type")),
        (200, Some("video/mp4"))
    );
    for (i, seg) in playlist.lines().filter(|l| l.ends_with(".m4s")).enumerate() {
        let r = get(&o, &format!("/out/v1/demo/live/cmaf/v/index/{seg}"), T0);
        assert_eq!(r.status, 200);
        assert_eq!(
            r.header("cache-control"),
            Some("public, max-age=31536000, immutable")
        );
        let mut file = init.body.clone();
        file.extend_from_slice(&r.body);
        let (frames, first, codec) = ffprobe(&file);
        assert_eq!((frames, codec.as_str()), (60, "h264"), "segment {i}");
        // The fixtures start at PTS 1.4 s plus the B-frame delay; each segment is 2 s later.
        let expected = 1.4 + 2.0 * i as f64;
        assert!(
            (first - expected).abs() < 0.1,
            "segment {i} starts at {first}"
        );
        // Byte-identical on every request.
        assert_eq!(
            get(
                &o,
                &format!("/out/v1/demo/live/cmaf/v/index/{seg}"),
                T0 + 99
            )
            .body,
            r.body
        );
    }
    let audio = ok_text(&o, "/out/v1/demo/live/cmaf/v/index/audio.m3u8");
    let init_uri = audio
        .lines()
        .find_map(|l| l.strip_prefix("#EXT-X-MAP:URI=\""))
        .unwrap()
        .trim_end_matches('"');
    let mut file = get(
        &o,
        &format!("/out/v1/demo/live/cmaf/v/index/{init_uri}"),
        T0,
    )
    .body;
    let seg = audio.lines().find(|l| l.ends_with(".m4s")).unwrap();
    file.extend(get(&o, &format!("/out/v1/demo/live/cmaf/v/index/{seg}"), T0).body);
    let (frames, _, codec) = ffprobe(&file);
    assert_eq!(codec, "aac");
    // As many AAC frames as the source segment carries (`ffprobe -count_frames` on it: 92).
    assert_eq!(frames, 92);
}

#[test]
fn dash_segments_resolve_by_time() {
    let o = channel();
    let mpd = ok_text(&o, "/out/v1/demo/live/dash/manifest.mpd");
    let t: u64 = mpd
        .split("<S t=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let r = get(
        &o,
        &format!("/out/v1/demo/live/dash/v/index/video_t{t}.m4s"),
        T0,
    );
    assert_eq!(r.status, 200, "{}", text(&r));
    let cmaf = ok_text(&o, "/out/v1/demo/live/cmaf/v/index/video.m3u8");
    let first = cmaf.lines().find(|l| l.ends_with(".m4s")).unwrap();
    assert_eq!(
        get(&o, &format!("/out/v1/demo/live/cmaf/v/index/{first}"), T0).body,
        r.body,
        "same CMAF bytes for HLS and DASH"
    );
    assert_eq!(
        get(
            &o,
            &format!("/out/v1/demo/live/dash/v/index/video_t{}.m4s", t + 1),
            T0
        )
        .status,
        404
    );
    let time = get(&o, "/time", T0 + 1234);
    assert_eq!(text(&time), "2026-11-23T12:00:01.234Z");
}

#[test]
fn joined_segments_for_longer_output_durations() {
    let o = channel();
    let (s, _) = api(
        &o,
        Method::Patch,
        "/api/v1/groups/demo/channels/live/endpoints/cmaf",
        Some(json!({"segment_duration": 4})),
    );
    assert_eq!(s, 200);
    let playlist = plain(&ok_text(&o, "/out/v1/demo/live/cmaf/v/index/video.m3u8"));
    assert!(playlist.contains("#EXT-X-TARGETDURATION:4\n"), "{playlist}");
    assert!(
        playlist.contains("#EXTINF:4.000,\nvideo_0.m4s\n"),
        "{playlist}"
    );
    let init_uri = playlist
        .lines()
        .find_map(|l| l.strip_prefix("#EXT-X-MAP:URI=\""))
        .unwrap()
        .trim_end_matches('"');
    let mut file = get(
        &o,
        &format!("/out/v1/demo/live/cmaf/v/index/{init_uri}"),
        T0,
    )
    .body;
    file.extend(get(&o, "/out/v1/demo/live/cmaf/v/index/video_0.m4s", T0).body);
    let (frames, _, _) = ffprobe(&file);
    assert_eq!(frames, 120);
    // TS endpoints join by concatenation.
    let (s, _) = api(
        &o,
        Method::Patch,
        "/api/v1/groups/demo/channels/live/endpoints/hls",
        Some(json!({"segment_duration": 4})),
    );
    assert_eq!(s, 200);
    let r = get(&o, "/out/v1/demo/live/hls/v/index/0.ts", T0);
    let mut both = fixture("h264_aac_0.ts");
    both.extend(fixture("h264_aac_1.ts"));
    assert_eq!(r.body, both);
}

/// ffprobe's stream codec names of a TS body.
fn ts_streams(bytes: &[u8]) -> Vec<String> {
    let mut child = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name",
            "-of",
            "json",
            "-i",
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("ffprobe is installed");
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(bytes).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["codec_name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn hls_audio_separation_makes_audio_its_own_rendition() {
    let o = channel();
    let (s, v) = api(
        &o,
        Method::Patch,
        "/api/v1/groups/demo/channels/live/endpoints/hls",
        Some(json!({"audio_separation": true})),
    );
    assert_eq!(s, 200, "{v}");
    let master = ok_text(&o, "/out/v1/demo/live/hls/manifest.m3u8");
    golden("ts_separated_master.m3u8", &master);
    let video = ok_text(&o, "/out/v1/demo/live/hls/v/index/video.m3u8");
    assert!(
        video.contains("#EXT-X-VERSION:3\n")
            && video.contains("video_1.ts\n")
            && !video.contains("EXT-X-MAP"),
        "{video}"
    );
    let audio = ok_text(&o, "/out/v1/demo/live/hls/v/index/audio.m3u8");
    assert!(audio.contains("audio_0.ts\n"), "{audio}");
    let v = get(&o, "/out/v1/demo/live/hls/v/index/video_0.ts", T0);
    let a = get(&o, "/out/v1/demo/live/hls/v/index/audio_0.ts", T0);
    assert_eq!((v.status, a.status), (200, 200));
    assert_eq!(ts_streams(&v.body), vec!["h264"]);
    assert_eq!(ts_streams(&a.body), vec!["aac"]);
    // Every frame of each part decodes and nothing is lost.
    assert_eq!(ffprobe(&v.body).0, 60);
    assert_eq!(ffprobe(&a.body).0, 92);
    // The combined TS stays available at its usual URL.
    assert_eq!(
        get(&o, "/out/v1/demo/live/hls/v/index/0.ts", T0).body,
        fixture("h264_aac_0.ts")
    );
}

/// `n` consecutive 2 s HLS segments (320x180 H.264 + AAC) made by ffmpeg into a temp dir.
fn encoded_segments(n: usize) -> Vec<Vec<u8>> {
    let dir = std::env::temp_dir().join(format!("edgepack-segs-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let status = Command::new("ffmpeg")
        .current_dir(&dir)
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x180:rate=30",
            "-f",
            "lavfi",
            "-i",
            "sine=f=440:r=48000",
        ])
        .args([
            "-t",
            &(2 * n).to_string(),
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "60",
            "-keyint_min",
            "60",
            "-sc_threshold",
            "0",
        ])
        .args([
            "-c:a",
            "aac",
            "-f",
            "hls",
            "-hls_time",
            "2",
            "-hls_list_size",
            "0",
            "-hls_segment_filename",
            "s%d.ts",
            "index.m3u8",
        ])
        .status()
        .expect("ffmpeg is installed (apt-get install ffmpeg)");
    assert!(status.success());
    let segs = (0..n)
        .map(|i| std::fs::read(dir.join(format!("s{i}.ts"))).unwrap())
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    segs
}

/// `(id, start seconds)` of each DASH Period.
fn periods(mpd: &str) -> Vec<(String, f64)> {
    mpd.split("<Period id=\"")
        .skip(1)
        .map(|p| {
            let id = p.split('"').next().unwrap().to_owned();
            let start = p
                .split("start=\"PT")
                .nth(1)
                .unwrap()
                .split('S')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            (id, start)
        })
        .collect()
}

#[test]
fn dash_periods_after_discontinuities_never_overlap() {
    let segs = encoded_segments(6);
    for gap in [false, true] {
        let o = origin();
        let c = setup(&o, json!({"name": "dash", "protocol": "DASH"}));
        // Uploads arrive in a burst (no encoder PDT): program date times come from arrival.
        let now = T0;
        let mut listed = String::from(
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n",
        );
        for (i, seg) in segs.iter().enumerate() {
            if !(gap && i == 2) {
                assert_eq!(
                    put(&o, 1, &c, &format!("v/s{i}.ts"), seg, now + i as u64).status,
                    201
                );
            }
            if i == 2 && !gap {
                // The encoder declares a discontinuity though its clock goes on.
                listed.push_str("#EXT-X-DISCONTINUITY\n");
            }
            listed.push_str(&format!("#EXTINF:2.000000,\ns{i}.ts\n"));
            put(
                &o,
                1,
                &c,
                "v/index.m3u8",
                listed.as_bytes(),
                now + i as u64 + 1,
            );
        }
        let mpd = ok_text(&o, "/out/v1/demo/live/dash/manifest.mpd");
        let p = periods(&mpd);
        if gap {
            // Media time goes on across the lost segment: one Period, whose video timeline
            // leaves out segment 2's 2 s (the `S` after the first run starts one `d` later).
            assert_eq!(p.len(), 1, "{mpd}");
            let video = &mpd[..mpd.find("timescale=\"48000\"").unwrap_or(mpd.len())];
            assert_eq!(video.matches("<S ").count(), 2, "{mpd}");
            let times = timeline_times(video);
            let d = times[1] - times[0];
            let hole = times.windows(2).position(|w| w[1] - w[0] != d);
            let hole = hole.unwrap_or_else(|| panic!("no hole: {mpd}"));
            assert_eq!(times[hole + 1], times[hole] + 2 * d, "{mpd}");
            assert!(
                times[hole + 1..].windows(2).all(|w| w[1] - w[0] == d),
                "{mpd}"
            );
            continue;
        }
        assert_eq!(p.len(), 2, "{mpd}");
        // Period 0 holds 4 s (segments 0 and 1); with a continuous clock the next starts
        // exactly where it ends.
        let offset = p[1].1 - p[0].1;
        assert!((offset - 4.0).abs() < 0.002, "continuous: {offset}\n{mpd}");
    }
}
