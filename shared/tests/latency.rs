//! Latency controls: HOLD-BACK and EXT-X-START on live HLS playlists, DASH
//! suggestedPresentationDelay, and blocking playlist reload (`_HLS_msn`).

mod common;

use common::*;
use edgepack::playback::blocking::{MAX_POLLS, READS_PER_POLL};
use edgepack::testing::{clear_sleep_hook, on_sleep, Counting};
use edgepack::{Method, Origin, Request, Response};
use serde_json::json;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

const PL: &str = "/out/v1/demo/live/hls/v/index/media.m3u8";
const ENDPOINT: &str = "/api/v1/groups/demo/channels/live/endpoints/hls";

/// Endpoint `hls` on a channel whose input 1 has delivered `n` 2 s segments of rendition `v`
/// (the last one at `T0 + (n - 1) * 2 s`).
fn live(endpoint: serde_json::Value, n: u64) -> (TestOrigin, (String, String)) {
    let o = origin();
    let c = setup(&o, endpoint);
    push_live(&o, 1, &c, "v", n);
    (o, c)
}

/// A GET of `path_query` (the query after `?`) at `now_ms`.
fn at(o: &TestOrigin, path_query: &str, now_ms: u64) -> Response {
    let (path, query) = path_query.split_once('?').unwrap_or((path_query, ""));
    let mut req = Request::new(Method::Get, path);
    req.query = query.to_owned();
    send(o, req, now_ms)
}

fn playlist(o: &TestOrigin, path: &str, now_ms: u64) -> String {
    let r = at(o, path, now_ms);
    assert_eq!(r.status, 200, "{path}: {}", text(&r));
    plain(text(&r))
}

/// The value of `tag` (`#EXT-X-...:`) in `pl`, if present.
fn tag<'a>(pl: &'a str, tag: &str) -> Option<&'a str> {
    pl.lines().find_map(|l| l.strip_prefix(tag))
}

/// The `HOLD-BACK` attribute of `EXT-X-SERVER-CONTROL`, if any.
fn hold_back(pl: &str) -> Option<&str> {
    tag(pl, "#EXT-X-SERVER-CONTROL:")?
        .split(',')
        .find_map(|a| a.strip_prefix("HOLD-BACK="))
}

fn patch(o: &TestOrigin, path: &str, body: serde_json::Value) {
    let (s, v) = api(o, Method::Patch, path, Some(body));
    assert_eq!(s, 200, "{v}");
}

#[test]
fn live_playlist_holds_back_enough_to_ride_through_a_failover() {
    // max_segment_duration 15 s (the default) and 2 s segments: 15 + 2 + 2 = 19 s. The window
    // of 3 segments is widened to span it, the segment a start falls in and the 10 s a player's
    // other playlists may take to arrive: 31 s, 16 segments.
    let (o, _) = live(json!({"name": "hls", "segment_count": 3}), 20);
    let pl = playlist(&o, PL, T0 + 39_000);
    golden("media_hold_back.m3u8", &pl);
    assert_eq!(tag(&pl, "#EXT-X-START:"), Some("TIME-OFFSET=-19.0"));
    assert_eq!(pl.matches("#EXTINF").count(), 16, "{pl}");
}

#[test]
fn hold_back_follows_the_channel_failover_timeout() {
    let (o, _) = live(json!({"name": "hls", "segment_count": 3}), 12);
    patch(
        &o,
        "/api/v1/groups/demo/channels/live",
        json!({"max_segment_duration": 4}),
    );
    let pl = playlist(&o, PL, T0 + 23_000);
    assert_eq!(tag(&pl, "#EXT-X-START:"), Some("TIME-OFFSET=-8.0"), "{pl}");
    assert_eq!(hold_back(&pl), Some("8.0"), "{pl}");
    // 8 + 2 + 10 s: 10 segments.
    assert_eq!(pl.matches("#EXTINF").count(), 10, "{pl}");
}

#[test]
fn explicit_hold_back_is_kept_and_raised_to_three_target_durations() {
    let (o, _) = live(json!({"name": "hls", "hold_back": 10}), 12);
    let pl = playlist(&o, PL, T0 + 23_000);
    assert_eq!(tag(&pl, "#EXT-X-START:"), Some("TIME-OFFSET=-10.0"), "{pl}");
    assert_eq!(hold_back(&pl), Some("10.0"), "{pl}");
    // RFC 8216bis 4.4.3.8: at least three target durations.
    patch(&o, ENDPOINT, json!({"hold_back": 2}));
    let pl = playlist(&o, PL, T0 + 23_000);
    assert_eq!(tag(&pl, "#EXT-X-START:"), Some("TIME-OFFSET=-6.0"), "{pl}");
    assert_eq!(hold_back(&pl), Some("6.0"), "{pl}");
    // Back to automatic.
    patch(&o, ENDPOINT, json!({"hold_back": null}));
    let pl = playlist(&o, PL, T0 + 23_000);
    assert_eq!(hold_back(&pl), Some("19.0"), "{pl}");
}

#[test]
fn only_playlists_with_a_live_edge_hold_back() {
    let (o, _) = live(json!({"name": "hls"}), 12);
    let now = T0 + 23_000;
    // A finished window (VOD) and a start-over window (EVENT) have no live edge to hold back
    // from, and do not block.
    for q in [
        "start=2026-11-23T12:00:04Z&vodend=2026-11-23T12:00:12Z",
        "start=2026-11-23T12:00:04Z",
    ] {
        let pl = playlist(&o, &format!("{PL}?{q}"), now);
        assert!(tag(&pl, "#EXT-X-PLAYLIST-TYPE:").is_some(), "{pl}");
        assert!(!pl.contains("#EXT-X-START"), "{q}: {pl}");
        assert!(!pl.contains("#EXT-X-SERVER-CONTROL"), "{q}: {pl}");
    }
    // `offset` slides behind the live edge: held back, but it never blocks.
    let pl = playlist(&o, &format!("{PL}?offset=4"), now);
    assert_eq!(
        tag(&pl, "#EXT-X-SERVER-CONTROL:"),
        Some("HOLD-BACK=19.0"),
        "{pl}"
    );
    // The master leaves EXT-X-START to the media playlists, whose target durations it sets.
    let master = playlist(&o, "/out/v1/demo/live/hls/manifest.m3u8", now);
    assert!(!master.contains("#EXT-X-START"), "{master}");
}

#[test]
fn dash_delay_follows_the_hold_back_unless_set() {
    let o = origin();
    let c = setup(&o, json!({"name": "dash", "protocol": "DASH"}));
    push_fixture_segments(&o, &c);
    let mpd = "/out/v1/demo/live/dash/manifest.mpd";
    let path = "/api/v1/groups/demo/channels/live/endpoints/dash";
    let delay = || {
        let body = playlist(&o, mpd, T0 + 3_000);
        let attr = "suggestedPresentationDelay=\"";
        let at = body.find(attr).expect("attribute") + attr.len();
        body[at..at + body[at..].find('"').unwrap()].to_owned()
    };
    // Automatic: the same 19 s as the HLS hold-back of these 2 s segments.
    assert_eq!(delay(), "PT19.000S");
    patch(&o, path, json!({"hold_back": 10}));
    assert_eq!(delay(), "PT10.000S");
    // A longer MPD update period is the reload interval of the automatic value.
    patch(&o, path, json!({"hold_back": null, "min_update_period": 5}));
    assert_eq!(delay(), "PT22.000S");
    patch(&o, path, json!({"suggested_presentation_delay": 6}));
    assert_eq!(delay(), "PT6.000S");
    patch(&o, path, json!({"suggested_presentation_delay": null}));
    assert_eq!(delay(), "PT22.000S");
}

// Blocking playlist reload. The test origin's timer returns at once and runs the hook set by
// `on_sleep`, so a test commits a segment "while" a request waits, and counts the waits.

/// Segment `n` of rendition `v` on input 1, and the playlist that lists it (a window of 6), at
/// the time an encoder 2 s per segment would send them.
fn commit(o: &TestOrigin, c: &(String, String), n: u64) {
    let now = T0 + n * 2000;
    let r = put(o, 1, c, &format!("v/seg{n}.ts"), &ts(2, n as u8), now);
    assert_eq!(r.status, 201, "{}", text(&r));
    let first = n.saturating_sub(5);
    let pl = media_playlist(first, n - first + 1);
    let r = put(o, 1, c, "v/index.m3u8", pl.as_bytes(), now + 10);
    assert!(r.status == 200 || r.status == 201, "{}", text(&r));
}

/// The milliseconds of each wait of the requests made while it runs; `on_wait(k)` runs after
/// the `k`-th wait (1-based).
fn record_waits(on_wait: impl Fn(usize) + 'static) -> Rc<RefCell<Vec<u64>>> {
    let waits = Rc::new(RefCell::new(Vec::new()));
    let log = waits.clone();
    on_sleep(move |ms| {
        log.borrow_mut().push(ms);
        let k = log.borrow().len();
        on_wait(k);
    });
    waits
}

fn last_segment(pl: &str) -> String {
    plain(pl)
        .lines()
        .rfind(|l| !l.starts_with('#'))
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn blocking_reload_answers_as_soon_as_the_segment_commits() {
    let (o, c) = live(json!({"name": "hls"}), 6);
    let o = Rc::new(o);
    // Segments 0-5 are listed; a player asks for 6, which ingest commits during the second wait.
    let writer = o.clone();
    let waits = record_waits(move |k| {
        if k == 2 {
            commit(&writer, &c, 6);
        }
    });
    let r = at(&o, &format!("{PL}?_HLS_msn=6"), T0 + 10_100);
    clear_sleep_hook();
    assert_eq!(r.status, 200, "{}", text(&r));
    let pl = text(&r);
    assert_eq!(last_segment(pl), "6.ts", "{pl}");
    // Two waits of 3 target durations / 12 = 500 ms: answered at the first read after the commit.
    assert_eq!(*waits.borrow(), [500, 500]);
    assert_eq!(
        tag(pl, "#EXT-X-SERVER-CONTROL:"),
        Some("CAN-BLOCK-RELOAD=YES,HOLD-BACK=19.0")
    );
    // The answer keeps answering its URL (it lists segment 6): a CDN may keep it 3 target
    // durations. The directive is not carried onto segment URIs.
    assert_eq!(r.header("cache-control"), Some("public, max-age=6"));
    assert!(!pl.contains("_HLS"), "{pl}");
    // The same bytes as the plain playlist of that moment.
    assert_eq!(plain(pl), playlist(&o, PL, T0 + 11_100));
}

#[test]
fn blocking_reload_answers_at_once_what_is_listed() {
    let (o, _) = live(json!({"name": "hls"}), 6);
    let waits = record_waits(|_| {});
    for msn in [5, 0, 3] {
        let r = at(&o, &format!("{PL}?_HLS_msn={msn}"), T0 + 10_100);
        assert_eq!(r.status, 200, "{}", text(&r));
        assert_eq!(last_segment(text(&r)), "5.ts");
    }
    // An `_HLS_part` of a listed segment too: no partial segments, so it has all its parts.
    let r = at(&o, &format!("{PL}?_HLS_msn=5&_HLS_part=2"), T0 + 10_100);
    assert_eq!(r.status, 200, "{}", text(&r));
    assert!(waits.borrow().is_empty(), "{:?}", waits.borrow());
}

#[test]
fn blocking_reload_refuses_segments_more_than_two_ahead() {
    let (o, _) = live(json!({"name": "hls"}), 6);
    let waits = record_waits(|_| {});
    for q in ["_HLS_msn=8", "_HLS_part=0", "_HLS_msn=x"] {
        let r = at(&o, &format!("{PL}?{q}"), T0 + 10_100);
        assert_eq!(r.status, 400, "{q}: {}", text(&r));
        assert_eq!(r.header("cache-control"), Some("no-store"));
    }
    assert!(waits.borrow().is_empty(), "{:?}", waits.borrow());
}

#[test]
fn blocking_reload_gives_up_after_three_target_durations() {
    let (o, _) = live(json!({"name": "hls"}), 6);
    let waits = record_waits(|_| {});
    // Two ahead is allowed, and never arrives.
    let r = at(&o, &format!("{PL}?_HLS_msn=7"), T0 + 10_100);
    clear_sleep_hook();
    assert_eq!(r.status, 503, "{}", text(&r));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(*waits.borrow(), [500; 12]);
    assert!(text(&r).contains("6000 ms"), "{}", text(&r));
}

#[test]
fn blocking_reload_counts_gap_entries_as_players_do() {
    // Segments 0-5 arrive, 6 never does, 7-9 do: 6 is given up and listed as a gap, so a
    // player numbers the entries 0-9 and asks next for 10 (the CI failure of 2026-12-07:
    // counting only the segments, the origin took 8 for the last and refused 11 and 12).
    let (o, c) = live(json!({"name": "hls"}), 6);
    let now = T0 + 18_000;
    for n in 7..=9 {
        let r = put(&o, 1, &c, &format!("v/seg{n}.ts"), &ts(2, n as u8), now);
        assert_eq!(r.status, 201, "{}", text(&r));
    }
    for n in 8..=10 {
        let r = put(
            &o,
            1,
            &c,
            "v/index.m3u8",
            media_playlist(0, n).as_bytes(),
            now,
        );
        assert!(r.status == 200 || r.status == 201, "{}", text(&r));
    }
    let pl = playlist(&o, PL, now + 100);
    assert!(
        pl.contains("5.ts\n#EXT-X-GAP\n#EXTINF:2.000,\n6.ts\n"),
        "{pl}"
    );
    assert_eq!(last_segment(&pl), "9.ts", "{pl}");
    let waits = record_waits(|_| {});
    // 9 is listed: answered at once.
    let r = at(&o, &format!("{PL}?_HLS_msn=9"), now + 100);
    assert_eq!(r.status, 200, "{}", text(&r));
    assert!(waits.borrow().is_empty(), "{:?}", waits.borrow());
    // 10 and 11 are waited for (one and two past the last entry), 12 is refused.
    for msn in [10, 11] {
        let r = at(&o, &format!("{PL}?_HLS_msn={msn}"), now + 100);
        assert_eq!(r.status, 503, "{msn}: {}", text(&r));
    }
    let r = at(&o, &format!("{PL}?_HLS_msn=12"), now + 100);
    clear_sleep_hook();
    assert_eq!(r.status, 400, "{}", text(&r));
    assert!(text(&r).contains("last (9)"), "{}", text(&r));
}

#[test]
fn a_waiting_request_reads_storage_a_bounded_number_of_times() {
    let (o, c) = live(json!({"name": "hls"}), 6);
    let Origin {
        kv,
        objects,
        config,
        random,
        sleep,
        ..
    } = o;
    let o = Rc::new(Origin::new(
        Counting::new(kv),
        Counting::new(objects),
        config,
        random,
        sleep,
    ));
    let request = |msn: u64| {
        let mut req = Request::new(Method::Get, PL);
        req.query = format!("_HLS_msn={msn}");
        req
    };
    // The whole wait: the endpoint and channel (key-value), then the switch log and both
    // timelines once before the first wait and after each of the 12.
    let r = block_on(o.handle(request(7), T0 + 10_100));
    assert_eq!(r.status, 503);
    let reads = (o.kv.reads(), o.objects.reads());
    let bound = READS_PER_POLL * (1 + MAX_POLLS);
    assert_eq!(reads, (2, usize::try_from(bound).unwrap()));
    assert_eq!((o.kv.writes(), o.objects.writes()), (0, 0));
    // Answered after the third wait: four rounds of reads.
    o.kv.reset();
    o.objects.reset();
    let writer = o.clone();
    let counted = Rc::new(Cell::new((0, 0)));
    let at_commit = counted.clone();
    on_sleep(move |_| {
        let waits = at_commit.get().0 + 1;
        let mut reads = at_commit.get().1;
        if waits == 3 {
            // The ingest's own reads are not the waiting request's.
            reads = writer.objects.reads();
            let mut put = Request::new(Method::Put, "/in/v1/demo/live/1/v/seg6.ts")
                .with_header("authorization", &basic(&c.0, &c.1));
            put.body = ts(2, 6);
            assert_eq!(block_on(writer.handle(put, T0 + 12_000)).status, 201);
            let pl = Request::new(Method::Put, "/in/v1/demo/live/1/v/index.m3u8")
                .with_header("authorization", &basic(&c.0, &c.1))
                .with_body(media_playlist(1, 6));
            assert_eq!(block_on(writer.handle(pl, T0 + 12_010)).status, 201);
            reads = writer.objects.reads() - reads;
        }
        at_commit.set((waits, reads));
    });
    let r = block_on(o.handle(request(6), T0 + 10_100));
    clear_sleep_hook();
    assert_eq!(r.status, 200);
    let (waits, ingest_reads) = counted.get();
    assert_eq!(waits, 3);
    assert_eq!(o.objects.reads() - ingest_reads, 3 * 4);
}

#[test]
fn blocking_reload_keeps_the_signed_token_and_ignores_time_shifts() {
    let (o, c) = live(
        json!({"name": "hls", "signing_keys": [{"id": "k1", "secret": "0123456789abcdef"}]}),
        6,
    );
    let (s, signed) = api(
        &o,
        Method::Post,
        "/api/v1/groups/demo/channels/live/endpoints/hls/signed-url",
        Some(json!({"expires_in": 3600})),
    );
    assert_eq!(s, 200, "{signed}");
    let token = signed["token"].as_str().unwrap().to_owned();
    let o = Rc::new(o);
    let writer = o.clone();
    let waits = record_waits(move |k| {
        if k == 1 {
            commit(&writer, &c, 6);
        }
    });
    // hls.js adds the directive to the URL it has, token included.
    let r = at(&o, &format!("{PL}?token={token}&_HLS_msn=6"), T0 + 10_100);
    assert_eq!(r.status, 200, "{}", text(&r));
    let pl = text(&r);
    assert_eq!(last_segment(pl), format!("6.ts?token={token}"), "{pl}");
    assert!(!pl.contains("_HLS"), "{pl}");
    assert_eq!(waits.borrow().len(), 1);
    // Without the token the directive changes nothing: refused.
    assert_eq!(at(&o, &format!("{PL}?_HLS_msn=6"), T0 + 10_100).status, 403);
    // Time-shifted playlists do not block: the directive is ignored, whatever it says.
    waits.borrow_mut().clear();
    for q in [
        "start=2026-11-23T12:00:02Z&_HLS_msn=99",
        "offset=4&_HLS_msn=99",
        "offset=4&_HLS_part=1",
    ] {
        let r = at(&o, &format!("{PL}?token={token}&{q}"), T0 + 12_100);
        assert_eq!(r.status, 200, "{q}: {}", text(&r));
        assert!(!text(&r).contains("CAN-BLOCK-RELOAD"), "{}", text(&r));
    }
    clear_sleep_hook();
    assert!(waits.borrow().is_empty(), "{:?}", waits.borrow());
}

#[test]
fn blocking_reload_of_cmaf_track_playlists() {
    let o = origin();
    let c = setup(&o, json!({"name": "cmaf", "protocol": "HLS_CMAF"}));
    push_fixture_segments(&o, &c);
    let waits = record_waits(|_| {});
    let video = "/out/v1/demo/live/cmaf/v/index/video.m3u8";
    let r = at(&o, &format!("{video}?_HLS_msn=1"), T0 + 3_000);
    assert_eq!(r.status, 200, "{}", text(&r));
    assert_eq!(last_segment(text(&r)), "video_1.m4s");
    assert_eq!(r.header("cache-control"), Some("public, max-age=6"));
    assert_eq!(
        at(&o, &format!("{video}?_HLS_msn=4"), T0 + 3_000).status,
        400
    );
    let r = at(&o, &format!("{video}?_HLS_msn=2"), T0 + 3_000);
    clear_sleep_hook();
    assert_eq!(r.status, 503, "{}", text(&r));
    assert_eq!(waits.borrow().len(), 12);
}
