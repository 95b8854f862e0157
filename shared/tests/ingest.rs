//! Ingest: auth, bad input, timelines, pruning.

mod common;

use common::*;
use edgepack::{Method, Request};
use serde_json::json;

const MASTER: &str = "#EXTM3U\n#EXT-X-VERSION:3\n\
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"group_aud\",NAME=\"audio_0\",DEFAULT=YES,URI=\"stream_2/index.m3u8\"\n\
#EXT-X-STREAM-INF:BANDWIDTH=1240800,RESOLUTION=640x360,CODECS=\"avc1.64001e,mp4a.40.2\",AUDIO=\"group_aud\"\nstream_0/index.m3u8\n\
#EXT-X-STREAM-INF:BANDWIDTH=440000,RESOLUTION=320x180,CODECS=\"avc1.64000d,mp4a.40.2\",AUDIO=\"group_aud\"\nstream_1/index.m3u8\n";

#[test]
fn wrong_credentials_store_nothing_and_challenge() {
    let o = origin();
    setup(&o, json!({"name": "hls"}));
    for auth in [
        None,
        Some(basic("input1-x", "wrong")),
        Some("Bearer x".to_owned()),
    ] {
        let mut req = Request::new(Method::Put, "/in/v1/demo/live/1/seg0.ts").with_body(ts(2, 1));
        if let Some(a) = &auth {
            req = req.with_header("authorization", a);
        }
        let r = send(&o, req, T0);
        assert_eq!(r.status, 401);
        assert_eq!(
            r.header("www-authenticate"),
            Some("Basic realm=\"edgepack ingest\"")
        );
    }
    assert!(o.objects.keys().is_empty());
}

#[test]
fn input_credentials_are_per_input() {
    let o = origin();
    let creds1 = setup(&o, json!({"name": "hls"}));
    assert_eq!(put(&o, 2, &creds1, "seg0.ts", &ts(1, 0), T0).status, 401);
    assert_eq!(put(&o, 1, &creds1, "seg0.ts", &ts(1, 0), T0).status, 201);
}

#[test]
fn bad_requests_get_clear_errors() {
    let o = origin();
    let c = setup(&o, json!({"name": "hls"}));
    let cases: [(&str, &[u8], u16); 7] = [
        ("seg.mp3", b"abc", 415),
        ("seg0.ts", b"not a transport stream at all", 400),
        ("../x.ts", &ts(1, 0), 400),
        ("a%2F..%2Fb.ts", &ts(1, 0), 400),
        ("index.m3u8", b"hello", 400),
        (
            "index.m3u8",
            b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:-4,\nseg0.ts\n",
            400,
        ),
        (
            "index.m3u8",
            b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nhttp://elsewhere/seg0.ts\n",
            400,
        ),
    ];
    for (path, body, status) in cases {
        let r = put(&o, 1, &c, path, body, T0);
        assert_eq!(r.status, status, "{path}: {}", text(&r));
        assert!(text(&r).contains("error"));
    }
    let huge = vec![b'#'; 2 * 1024 * 1024];
    assert_eq!(put(&o, 1, &c, "index.m3u8", &huge, T0).status, 413);
    let invalid_utf8 = b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nseg\xff.ts\n";
    assert_eq!(put(&o, 1, &c, "index.m3u8", invalid_utf8, T0).status, 400);
    assert!(o.objects.keys().is_empty());
    let r = send(
        &o,
        Request::new(Method::Put, "/in/v1/demo/nope/1/seg0.ts"),
        T0,
    );
    assert_eq!(r.status, 404);
    let r = send(
        &o,
        Request::new(Method::Put, "/in/v1/demo/live/3/seg0.ts"),
        T0,
    );
    assert_eq!(r.status, 404);
}

#[test]
fn too_many_segments_are_refused() {
    let o = origin();
    let c = setup(&o, json!({"name": "hls"}));
    let pl = media_playlist(0, 10_000);
    let r = put(&o, 1, &c, "index.m3u8", pl.as_bytes(), T0);
    assert_eq!(r.status, 400);
    assert!(text(&r).contains("at most 2000"), "{}", text(&r));
}

#[test]
fn malformed_playlist_keeps_serving_the_previous_state() {
    let o = origin();
    let c = setup(&o, json!({"name": "hls"}));
    push_live(&o, 1, &c, "stream_0", 4);
    let url = "/out/v1/demo/live/hls/stream_0/index/media.m3u8";
    let before = get(&o, url, T0 + 9000);
    assert_eq!(before.status, 200);
    let r = put(
        &o,
        1,
        &c,
        "stream_0/index.m3u8",
        b"#EXTM3U\n#EXT-X-TARGETDURATION:x\n#EXTINF:abc\n",
        T0 + 9000,
    );
    assert_eq!(r.status, 400, "{}", text(&r));
    assert!(text(&r).contains("malformed playlist"));
    let after = get(&o, url, T0 + 9000);
    assert_eq!(after.body, before.body);
}

#[test]
fn delete_is_acknowledged_and_keeps_content() {
    let o = origin();
    let c = setup(&o, json!({"name": "hls"}));
    push_live(&o, 1, &c, "stream_0", 2);
    let keys = o.objects.keys();
    let req = Request::new(Method::Delete, "/in/v1/demo/live/1/stream_0/seg0.ts")
        .with_header("authorization", &basic(&c.0, &c.1));
    assert_eq!(send(&o, req, T0 + 5000).status, 204);
    assert_eq!(o.objects.keys(), keys);
}

#[test]
fn master_playlist_is_parsed_and_kept() {
    let o = origin();
    let c = setup(&o, json!({"name": "hls"}));
    assert_eq!(
        put(&o, 1, &c, "master.m3u8", MASTER.as_bytes(), T0).status,
        201
    );
    let bad = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nhttp://x/y.m3u8\n";
    assert_eq!(
        put(&o, 1, &c, "master.m3u8", bad.as_bytes(), T0).status,
        400
    );
}

#[test]
fn encoder_restart_with_reused_names_continues_our_numbering() {
    let o = origin();
    let c = setup(&o, json!({"name": "hls"}));
    push_live(&o, 1, &c, "s", 5); // seg0..seg4, our seq 0..4
                                  // The encoder restarts: sequence 0 again, same file name, new content.
    let now = T0 + 20_000;
    assert_eq!(put(&o, 1, &c, "s/seg0.ts", &ts(2, 0xAA), now).status, 201);
    assert_eq!(
        put(
            &o,
            1,
            &c,
            "s/index.m3u8",
            media_playlist(0, 1).as_bytes(),
            now + 10
        )
        .status,
        201
    );
    let pl = get(&o, "/out/v1/demo/live/hls/s/index/media.m3u8", now + 20);
    let body = &plain(text(&pl));
    assert!(
        body.contains("#EXT-X-DISCONTINUITY\n#EXTINF:2.000,\n5.ts\n"),
        "{body}"
    );
    // The old segment 0 still serves its own bytes; segment 5 serves the new upload.
    assert_eq!(
        get(&o, "/out/v1/demo/live/hls/s/index/0.ts", now).body,
        ts(2, 0)
    );
    assert_eq!(
        get(&o, "/out/v1/demo/live/hls/s/index/5.ts", now).body,
        ts(2, 0xAA)
    );
}

#[test]
fn a_segment_never_uploaded_is_skipped_with_a_discontinuity() {
    let o = origin();
    let c = setup(&o, json!({"name": "hls"}));
    push_live(&o, 1, &c, "s", 2);
    // seg2 never arrives; seg3, seg4, seg5 do.
    let now = T0 + 8000;
    for n in 3..=5 {
        assert_eq!(
            put(&o, 1, &c, &format!("s/seg{n}.ts"), &ts(2, n as u8), now).status,
            201
        );
    }
    // While seg2 is among the playlist's newest three, it is waited for.
    let pl = |n| media_playlist(0, n);
    assert_eq!(
        put(&o, 1, &c, "s/index.m3u8", pl(4).as_bytes(), now).status,
        200
    );
    assert_eq!(
        put(&o, 1, &c, "s/index.m3u8", pl(5).as_bytes(), now).status,
        200
    );
    // Then it is given up.
    assert_eq!(
        put(&o, 1, &c, "s/index.m3u8", pl(6).as_bytes(), now).status,
        201
    );
    let body = get(&o, "/out/v1/demo/live/hls/s/index/media.m3u8", now);
    let body = &plain(text(&body));
    // Numbering follows the encoder's (renditions stay aligned): 2 is listed as a gap, so 3
    // keeps its number (HLS numbers segments by position).
    assert!(
        body.contains(
            "1.ts\n#EXT-X-GAP\n#EXTINF:2.000,\n2.ts\n#EXT-X-DISCONTINUITY\n#EXTINF:2.000,\n3.ts\n"
        ),
        "{body}"
    );
    assert_eq!(
        get(&o, "/out/v1/demo/live/hls/s/index/3.ts", now).body,
        ts(2, 3)
    );
    assert_eq!(
        get(&o, "/out/v1/demo/live/hls/s/index/2.ts", now).status,
        404
    );
}

/// Rendition `v` pushes segments 0-9 with continuous PTS except that `lost` is never uploaded
/// (its playlist still lists it) and, with `jump`, the PTS of the segments after it move on by
/// that many ticks; rendition `w` pushes all ten. The plain playlists of both, at the end.
fn one_rendition_loses_a_segment(lost: u64, jump: u64) -> (String, String) {
    let o = origin();
    let c = setup(&o, json!({"name": "hls", "program_date_time_interval": 1}));
    let mut v = Encoder::new(1, c.clone(), 0, 900_000, 0x10);
    let mut w = Encoder::new(1, c.clone(), 0, 900_000, 0x80);
    w.dir = "w";
    for n in 0..10 {
        let now = T0 + n * 2000;
        w.push(&o, now);
        if n == lost {
            // Listed by the next playlists, never uploaded.
            v.next += 1;
            continue;
        }
        if n == lost + 1 {
            v.pts0 += jump;
        }
        v.push(&o, now);
    }
    let at = T0 + 20_000;
    let read = |r: &str| {
        plain(text(&get(
            &o,
            &format!("/out/v1/demo/live/hls/{r}/index/media.m3u8"),
            at,
        )))
    };
    (read("v"), read("w"))
}

#[test]
fn a_segment_one_rendition_lost_is_a_gap_without_a_discontinuity() {
    // Media time goes on across segment 4: a gap, and both renditions keep one discontinuity
    // sequence (RFC 8216bis 6.2.4; hls.js and ExoPlayer wait forever for the video's timestamps
    // of a discontinuity only the audio has).
    let (v, w) = one_rendition_loses_a_segment(4, 0);
    assert!(
        undated(&v).contains("3.ts\n#EXT-X-GAP\n#EXTINF:2.000,\n4.ts\n#EXTINF:2.000,\n5.ts\n"),
        "{v}"
    );
    for pl in [&v, &w] {
        assert!(!pl.contains("DISCONTINUITY"), "{pl}");
    }
    assert_eq!(v.lines().count(), w.lines().count(), "{v}\n{w}");
    // The segment after the gap is dated where its media time is, as in the other rendition.
    assert_eq!(pdt_of(&v, "5.ts"), pdt_of(&w, "5.ts"), "{v}\n{w}");
    assert!(pdt_of(&v, "5.ts").is_some(), "{v}");
}

/// `pl` without its EXT-X-PROGRAM-DATE-TIME lines.
fn undated(pl: &str) -> String {
    let lines: Vec<&str> = pl
        .lines()
        .filter(|l| !l.starts_with("#EXT-X-PROGRAM-DATE-TIME"))
        .collect();
    lines.join("\n") + "\n"
}

/// The EXT-X-PROGRAM-DATE-TIME of the segment whose URI ends with `name`.
fn pdt_of<'a>(pl: &'a str, name: &str) -> Option<&'a str> {
    let lines: Vec<&str> = pl.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.ends_with(&format!("/{name}")) || *l == name)?;
    lines[..at]
        .iter()
        .rev()
        .take_while(|l| l.starts_with('#'))
        .find_map(|l| l.strip_prefix("#EXT-X-PROGRAM-DATE-TIME:"))
}

#[test]
fn a_segment_lost_before_a_media_time_jump_is_a_discontinuity() {
    // 10 s of media time more than the lost segment's: the encoder's clock jumped.
    let (v, w) = one_rendition_loses_a_segment(4, 900_000);
    assert!(
        undated(&v).contains(
            "3.ts\n#EXT-X-GAP\n#EXTINF:2.000,\n4.ts\n#EXT-X-DISCONTINUITY\n#EXTINF:2.000,\n5.ts\n"
        ),
        "{v}"
    );
    assert!(!w.contains("DISCONTINUITY"), "{w}");
}

#[test]
fn an_upload_overtaken_by_its_playlist_is_still_used() {
    let o = origin();
    let c = setup(&o, json!({"name": "hls"}));
    push_live(&o, 1, &c, "s", 2);
    let now = T0 + 6000;
    // seg3 and the playlist listing seg2 and seg3 arrive before seg2's upload finishes.
    assert_eq!(put(&o, 1, &c, "s/seg3.ts", &ts(2, 3), now).status, 201);
    assert_eq!(
        put(
            &o,
            1,
            &c,
            "s/index.m3u8",
            media_playlist(0, 4).as_bytes(),
            now
        )
        .status,
        200
    );
    assert_eq!(put(&o, 1, &c, "s/seg2.ts", &ts(2, 2), now + 6).status, 201);
    assert_eq!(
        put(
            &o,
            1,
            &c,
            "s/index.m3u8",
            media_playlist(0, 4).as_bytes(),
            now + 10
        )
        .status,
        201
    );
    let body = get(&o, "/out/v1/demo/live/hls/s/index/media.m3u8", now + 20);
    let body = &plain(text(&body));
    assert!(
        !body.contains("DISCONTINUITY") && body.contains("2.ts\n#EXTINF:2.000,\n3.ts\n"),
        "{body}"
    );
}

/// seg0..seg1 pushed, then seg3 uploaded, and seg2's upload completing while the playlist that
/// lists 0..3 waits for it (at `now`, returned): that playlist commits it.
fn seg2_committed_by_waiting() -> (std::rc::Rc<TestOrigin>, (String, String), u64) {
    use edgepack::testing::{clear_sleep_hook, on_sleep};
    let o = std::rc::Rc::new(origin());
    let c = setup(&o, json!({"name": "hls"}));
    push_live(&o, 1, &c, "s", 2);
    let now = T0 + 6000;
    assert_eq!(put(&o, 1, &c, "s/seg3.ts", &ts(2, 3), now).status, 201);
    let (writer, creds) = (o.clone(), c.clone());
    on_sleep(move |_| {
        let r = put(&writer, 1, &creds, "s/seg2.ts", &ts(2, 2), now + 6);
        assert_eq!(r.status, 201, "{}", text(&r));
        clear_sleep_hook();
    });
    let r = put(
        &o,
        1,
        &c,
        "s/index.m3u8",
        media_playlist(0, 4).as_bytes(),
        now,
    );
    clear_sleep_hook();
    assert_eq!(r.status, 201, "{}", text(&r));
    (o, c, now)
}

/// Segments `range` pushed after [`seg2_committed_by_waiting`], each with its playlist.
fn push_more(o: &TestOrigin, c: &(String, String), range: std::ops::Range<u64>) {
    for n in range {
        let at = T0 + n * 2000;
        let seg = format!("s/seg{n}.ts");
        assert_eq!(put(o, 1, c, &seg, &ts(2, n as u8), at).status, 201);
        let pl = media_playlist(n - 3, 4);
        assert_eq!(
            put(o, 1, c, "s/index.m3u8", pl.as_bytes(), at + 10).status,
            201
        );
    }
}

/// ffmpeg's audio playlist often overtakes its segment's upload by a few milliseconds. The
/// playlist waits for it (a bounded number of short polls) and commits it at once, so the
/// rendition is not one segment behind the others until the next playlist.
#[test]
fn an_upload_overtaken_by_its_playlist_is_committed_by_that_playlist() {
    let (o, _, now) = seg2_committed_by_waiting();
    let body = get(&o, "/out/v1/demo/live/hls/s/index/media.m3u8", now + 20);
    let body = &plain(text(&body));
    assert!(
        !body.contains("DISCONTINUITY") && body.contains("2.ts\n#EXTINF:2.000,\n3.ts\n"),
        "{body}"
    );
}

/// ffmpeg does not wait for answers, so a loaded origin may handle a playlist PUT after newer
/// ones. Its segments are the timeline's own uploads, not a restarted encoder's: nothing is
/// added, even for an upload that completed while the playlist committing it waited (it
/// arrived after that playlist's clock). Duplicated media made hls.js stall for good.
#[test]
fn a_late_older_playlist_adds_nothing_even_for_an_upload_found_by_waiting() {
    let (o, c, _) = seg2_committed_by_waiting();
    push_more(&o, &c, 4..10);
    let late = T0 + 20_000;
    let older = media_playlist(0, 4);
    let r = put(&o, 1, &c, "s/index.m3u8", older.as_bytes(), late);
    assert_eq!(r.status, 200, "{}", text(&r));
    let body = get(&o, "/out/v1/demo/live/hls/s/index/media.m3u8", late + 10);
    let body = &plain(text(&body));
    assert!(
        !body.contains("DISCONTINUITY") && body.ends_with("#EXTINF:2.000,\n9.ts\n"),
        "{body}"
    );
}

/// A loaded origin handled a playlist 70 s late, after newer ones had moved past segments its
/// window lists and the timeline never got (seen with 15 players and a disk-bound neighbour):
/// their uploads arrived before the timeline's newest entry, so they are no restart's.
#[test]
fn a_late_older_playlist_adds_nothing_for_segments_the_timeline_gave_up() {
    let o = origin();
    let c = setup(&o, json!({"name": "hls"}));
    for n in 0..10u64 {
        let seg = format!("s/seg{n}.ts");
        assert_eq!(
            put(&o, 1, &c, &seg, &ts(2, n as u8), T0 + n * 2000).status,
            201
        );
        if n == 3 {
            let first = media_playlist(0, 4);
            let r = put(&o, 1, &c, "s/index.m3u8", first.as_bytes(), T0 + 6_010);
            assert_eq!(r.status, 201, "{}", text(&r));
        }
    }
    // The playlist listing 6..9 moves past 4 and 5.
    let newer = media_playlist(6, 4);
    let r = put(&o, 1, &c, "s/index.m3u8", newer.as_bytes(), T0 + 18_010);
    assert_eq!(r.status, 201, "{}", text(&r));
    // The one listing 2..5, received at 11 s, handled now.
    let late = media_playlist(2, 4);
    let r = put(&o, 1, &c, "s/index.m3u8", late.as_bytes(), T0 + 11_010);
    assert_eq!(r.status, 200, "{}", text(&r));
    let body = get(&o, "/out/v1/demo/live/hls/s/index/media.m3u8", T0 + 18_100);
    let body = &plain(text(&body));
    assert!(body.ends_with("#EXTINF:2.000,\n9.ts\n"), "{body}");
    assert!(!body.contains("10.ts"), "{body}");
}

#[test]
fn old_segments_are_pruned_from_storage() {
    let o = origin();
    let c = setup(&o, json!({"name": "hls"}));
    let (s, _) = api(
        &o,
        Method::Patch,
        "/api/v1/groups/demo/channels/live",
        Some(json!({"max_playlist_duration": 30})),
    );
    assert_eq!(s, 200);
    push_live(&o, 1, &c, "s", 40);
    let segments = o
        .objects
        .keys()
        .into_iter()
        .filter(|k| k.starts_with("seg/"))
        .count();
    assert_eq!(segments, 15, "30 s of 2 s segments stay");
    assert_eq!(
        get(&o, "/out/v1/demo/live/hls/s/index/24.ts", T0).status,
        404
    );
    assert_eq!(
        get(&o, "/out/v1/demo/live/hls/s/index/25.ts", T0).status,
        200
    );
}

#[test]
fn ingest_writes_no_key_value_entry() {
    let o = origin();
    let c = setup(&o, json!({"name": "hls"}));
    let before = o.kv.len();
    push_live(&o, 1, &c, "s", 3);
    // Liveness is each timeline's newest segment: no heartbeat of its own.
    assert_eq!(o.kv.len(), before, "no heartbeat key");
    // The same playlist again writes nothing.
    let objects = o.objects.keys();
    assert_eq!(
        put(
            &o,
            1,
            &c,
            "s/index.m3u8",
            media_playlist(0, 3).as_bytes(),
            T0 + 9000
        )
        .status,
        200
    );
    assert_eq!(o.objects.keys(), objects);
}

#[test]
fn media_start_is_read_from_the_segments_and_unwrapped() {
    let o = origin();
    let c = setup(&o, json!({"name": "hls"}));
    for (i, name) in ["h264_aac_0.ts", "h264_aac_1.ts"].iter().enumerate() {
        let now = T0 + i as u64 * 2000;
        assert_eq!(
            put(&o, 1, &c, &format!("v/seg{i}.ts"), &fixture(name), now).status,
            201
        );
    }
    let pl = media_playlist(0, 2);
    assert_eq!(
        put(&o, 1, &c, "v/index.m3u8", pl.as_bytes(), T0 + 4000).status,
        201
    );
    let key = o
        .objects
        .keys()
        .into_iter()
        .find(|k| k.starts_with("idx/"))
        .unwrap();
    let stored = block_on(edgepack::store::ObjectStore::get(&o.objects, &key))
        .unwrap()
        .unwrap();
    let timeline: edgepack::timeline::Timeline = serde_json::from_slice(&stored.body).unwrap();
    let starts: Vec<Option<u64>> = timeline.segments.iter().map(|s| s.media_start).collect();
    // ffmpeg's HLS muxer starts at 1.4 s (126000 ticks) plus the B-frame delay; segments are 2 s.
    let first = starts[0].expect("first PTS read at ingest");
    assert!((126_000..=135_000).contains(&first), "{first}");
    assert_eq!(starts[1], Some(first + 180_000));
}

#[test]
fn renditions_per_input_are_bounded() {
    let o = origin();
    let c = setup(&o, json!({"name": "hls"}));
    for i in 0..32 {
        push_live(&o, 1, &c, &format!("r{i}"), 1);
    }
    assert_eq!(put(&o, 1, &c, "r32/seg0.ts", &ts(1, 0), T0).status, 201);
    let r = put(
        &o,
        1,
        &c,
        "r32/index.m3u8",
        media_playlist(0, 1).as_bytes(),
        T0,
    );
    assert_eq!(r.status, 409, "{}", text(&r));
    assert!(text(&r).contains("32 renditions"));
    // Existing renditions keep updating.
    assert_eq!(
        put(&o, 1, &c, "r0/seg1.ts", &ts(1, 1), T0 + 2000).status,
        201
    );
    assert_eq!(
        put(
            &o,
            1,
            &c,
            "r0/index.m3u8",
            media_playlist(0, 2).as_bytes(),
            T0 + 2000
        )
        .status,
        201
    );
}

/// After `old` segments `seg{n}.ts` (output numbers `0..old`), the encoder restarts with its
/// default names (no -start_number): seg0, seg1, seg2 again, new content, then a playlist
/// listing seg3 that overtakes seg3's upload by more than the ingest waits. The previous
/// run's seg3 is not that segment: the output lists seg3 once its own upload is in.
fn restart_reusing_names(o: &TestOrigin, c: &(String, String), old: u64) {
    let t = T0 + 2000 * old + 20_000;
    for n in 0..3u64 {
        let now = t + 2000 * n;
        let seg = format!("s/seg{n}.ts");
        assert_eq!(put(o, 1, c, &seg, &ts(2, 0xA0 + n as u8), now).status, 201);
        let pl = media_playlist(0, n + 1);
        let r = put(o, 1, c, "s/index.m3u8", pl.as_bytes(), now + 10);
        assert_eq!(r.status, 201, "{}", text(&r));
    }
    let now = t + 6000;
    let pl = media_playlist(0, 4);
    let r = put(o, 1, c, "s/index.m3u8", pl.as_bytes(), now);
    assert_eq!(r.status, 200, "nothing new yet: {}", text(&r));
    let playlist = |at| {
        plain(text(&get(
            o,
            "/out/v1/demo/live/hls/s/index/media.m3u8",
            at,
        )))
    };
    let (first, last) = (old, old + 3);
    assert!(
        playlist(now + 10).ends_with(&format!("{}.ts\n", last - 1)),
        "{}",
        playlist(now + 10)
    );
    assert_eq!(
        put(o, 1, c, "s/seg3.ts", &ts(2, 0xA3), now + 900).status,
        201
    );
    let r = put(o, 1, c, "s/index.m3u8", pl.as_bytes(), now + 1000);
    assert_eq!(r.status, 201, "{}", text(&r));
    assert!(playlist(now + 1010).ends_with(&format!("#EXTINF:2.000,\n{last}.ts\n")));
    for (n, tag) in [(first, 0xA0), (first + 2, 0xA2), (last, 0xA3)] {
        let r = get(
            o,
            &format!("/out/v1/demo/live/hls/s/index/{n}.ts"),
            now + 1010,
        );
        assert_eq!(r.body, ts(2, tag), "{n}.ts");
    }
}

#[test]
fn a_restart_reusing_segment_names_lists_only_its_own_uploads() {
    let o = origin();
    let c = setup(&o, json!({"name": "hls"}));
    push_live(&o, 1, &c, "s", 6);
    restart_reusing_names(&o, &c, 6);
    // The previous run's segments keep their bytes.
    let r = get(&o, "/out/v1/demo/live/hls/s/index/3.ts", T0 + 40_000);
    assert_eq!(r.body, ts(2, 3));
}

/// The previous run's seg2 arrived after the commit that listed it (its playlist waited for
/// it): the restart's seg2 is still its own upload, not the old one, nor left out.
#[test]
fn a_restart_reusing_a_name_whose_old_upload_was_waited_for_lists_its_own_upload() {
    let (o, c, _) = seg2_committed_by_waiting();
    push_more(&o, &c, 4..6);
    restart_reusing_names(&o, &c, 6);
}

#[test]
fn a_restart_reusing_names_after_they_left_the_timeline_ignores_archived_uploads() {
    // Time-shift keeps the uploads of segments pruned from the 30 s live timeline.
    let o = origin();
    let c = setup(&o, json!({"name": "hls", "time_shift_days": 1}));
    let path = "/api/v1/groups/demo/channels/live";
    let (s, _) = api(
        &o,
        Method::Patch,
        path,
        Some(json!({"max_playlist_duration": 30})),
    );
    assert_eq!(s, 200);
    push_live(&o, 1, &c, "s", 40);
    restart_reusing_names(&o, &c, 40);
}

/// Input 1's password as another location's control API would change it: straight in the
/// key-value store, so this origin's channel cache is not emptied.
fn rotate_elsewhere(o: &TestOrigin, password: &str) -> String {
    use edgepack::store::KvStore;
    let key = "cfg/c/demo/live";
    let raw = block_on(o.kv.get(key)).unwrap().unwrap();
    let mut channel: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    channel["inputs"][0]["password"] = json!(password);
    block_on(o.kv.put(key, channel.to_string().as_bytes())).unwrap();
    password.to_owned()
}

#[test]
fn a_credential_rotated_elsewhere_takes_effect_within_the_channel_cache_time() {
    use edgepack::channel_cache::CHANNEL_CACHE_MS;
    let o = origin();
    let c = setup(&o, json!({"name": "hls"}));
    assert_eq!(put(&o, 1, &c, "s/seg0.ts", &ts(2, 0), T0).status, 201);
    let new = (
        c.0.clone(),
        rotate_elsewhere(&o, "rotated-password-0123456789"),
    );
    // This isolate read the channel at T0: the old password works until the cache time ends.
    assert_eq!(
        put(&o, 1, &c, "s/seg1.ts", &ts(2, 1), T0 + 1_000).status,
        201
    );
    let late = T0 + CHANNEL_CACHE_MS;
    assert_eq!(put(&o, 1, &c, "s/seg2.ts", &ts(2, 2), late).status, 401);
    assert_eq!(put(&o, 1, &new, "s/seg2.ts", &ts(2, 2), late).status, 201);
    // A new password works at once: a failed check on a cached record reads it again.
    let newer = (
        c.0.clone(),
        rotate_elsewhere(&o, "rotated-again-0123456789"),
    );
    assert_eq!(
        put(&o, 1, &newer, "s/seg3.ts", &ts(2, 3), late + 1).status,
        201
    );
    // Through this origin's own API the change is at once.
    let (s, rotated) = api(
        &o,
        Method::Post,
        "/api/v1/groups/demo/channels/live/inputs/1/rotate-credentials",
        Some(json!({})),
    );
    assert_eq!(s, 200, "{rotated}");
    assert_eq!(
        put(&o, 1, &newer, "s/seg4.ts", &ts(2, 4), late + 2).status,
        401
    );
}

#[test]
fn a_channel_deleted_elsewhere_stops_ingest_within_the_channel_cache_time() {
    use edgepack::channel_cache::CHANNEL_CACHE_MS;
    use edgepack::store::KvStore;
    let o = origin();
    let c = setup(&o, json!({"name": "hls"}));
    assert_eq!(put(&o, 1, &c, "s/seg0.ts", &ts(2, 0), T0).status, 201);
    block_on(o.kv.delete("cfg/c/demo/live")).unwrap();
    assert_eq!(
        put(&o, 1, &c, "s/seg1.ts", &ts(2, 1), T0 + 1_000).status,
        201
    );
    let late = T0 + CHANNEL_CACHE_MS;
    assert_eq!(put(&o, 1, &c, "s/seg2.ts", &ts(2, 2), late).status, 404);
}
