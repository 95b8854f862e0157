//! Latency controls: HOLD-BACK and EXT-X-START on live HLS playlists, DASH
//! suggestedPresentationDelay, and blocking playlist reload (`_HLS_msn`).

mod common;

use common::*;
use edgepack::{Method, Request, Response};
use serde_json::json;

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
    text(&r).to_owned()
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
    // of 3 segments is widened to span it (10 segments), so a player can start that far back.
    let (o, _) = live(json!({"name": "hls", "segment_count": 3}), 12);
    let pl = playlist(&o, PL, T0 + 23_000);
    golden("media_hold_back.m3u8", &pl);
    assert_eq!(tag(&pl, "#EXT-X-START:"), Some("TIME-OFFSET=-19.0"));
    assert_eq!(pl.matches("#EXTINF").count(), 10, "{pl}");
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
    assert_eq!(pl.matches("#EXTINF").count(), 4, "{pl}");
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
