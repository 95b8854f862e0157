//! Statistics through the whole origin (docs/stats.md): data points recorded by playback and
//! ingest in the memory backend, read back through the stats API, with injected time.

mod common;

use common::*;
use edgepack::stats::viewer::ViewerKeys;
use edgepack::stats::MemoryStats;
use edgepack::{Method, Request};
use serde_json::Value;
use std::rc::Rc;

const T0_S: u64 = T0 / 1000;
const ENDPOINT_STATS: &str = "/api/v1/groups/demo/channels/live/endpoints/hls/stats";
const CHANNEL_STATS: &str = "/api/v1/groups/demo/channels/live/stats";

fn stats_origin() -> (TestOrigin, (String, String)) {
    let o = origin().with_stats(Rc::new(MemoryStats::new()));
    let creds = setup(&o, serde_json::json!({"name": "hls"}));
    (o, creds)
}

/// One player's request from its own address.
fn play(o: &TestOrigin, viewer: u8, path: &str, now_ms: u64) -> u64 {
    let mut req = Request::new(Method::Get, &format!("/out/v1/demo/live/hls/{path}"))
        .with_header("user-agent", "test player");
    req.client_ip = Some(std::net::IpAddr::from([192, 0, 2, viewer]));
    let r = send(o, req, now_ms);
    assert_eq!(r.status, 200, "{path}: {}", text(&r));
    r.body.len() as u64
}

/// `players` players fetch the playlist and the newest segment every 2 s from `from_s` to
/// `to_s` (seconds after T0); returns the bytes they received.
fn watch(o: &TestOrigin, players: u8, from_s: u64, to_s: u64) -> u64 {
    let mut bytes = 0;
    for t in (from_s..to_s).step_by(2) {
        for p in 1..=players {
            let now = T0 + t * 1000 + u64::from(p) * 7;
            bytes += play(o, p, "v/index/media.m3u8", now);
            bytes += play(o, p, &format!("v/index/{}.ts", (t / 2).min(29)), now + 50);
        }
    }
    bytes
}

fn stats(o: &TestOrigin, path: &str, query: &str, now_ms: u64) -> (u16, Value) {
    let req =
        Request::new(Method::Get, path).with_header("authorization", &format!("Bearer {TOKEN}"));
    let mut req = req;
    req.query = query.to_owned();
    let r = send(o, req, now_ms);
    (
        r.status,
        serde_json::from_slice(&r.body).unwrap_or_default(),
    )
}

#[test]
fn concurrent_viewers_bytes_and_status_classes_of_an_endpoint() {
    let (o, creds) = stats_origin();
    push_live(&o, 1, &creds, "v", 30);
    let bytes = watch(&o, 3, 10, 50);
    // A request for a segment that does not exist: a 4xx, no viewer.
    let mut missing = Request::new(Method::Get, "/out/v1/demo/live/hls/v/index/999.ts");
    missing.client_ip = Some(std::net::IpAddr::from([192, 0, 2, 9]));
    let r = send(&o, missing, T0 + 30_000);
    assert_eq!(r.status, 404);
    let bytes = bytes + r.body.len() as u64;

    let q = format!("from={T0_S}&to={}&step=10", T0_S + 60);
    let (status, v) = stats(&o, ENDPOINT_STATS, &q, T0 + 60_000);
    assert_eq!(status, 200, "{v}");
    // Two 2 s segments, widened to divide the 10 s step.
    assert_eq!(v["viewer_window"], 5);
    let buckets = v["buckets"].as_array().cloned().unwrap_or_default();
    assert_eq!(buckets.len(), 6);
    for b in &buckets[1..5] {
        assert_eq!(b["viewers"], 3, "{b}");
        assert_eq!(b["peak_viewers"], 3, "{b}");
        assert_eq!(b["unique_viewers"], 3, "{b}");
    }
    assert_eq!(buckets[0]["viewers"], 0);
    assert_eq!(buckets[5]["viewers"], 0);
    let totals = &v["totals"];
    assert_eq!(totals["bytes"], bytes);
    assert_eq!(totals["requests"], 3 * 20 * 2 + 1);
    assert_eq!(totals["status"]["2xx"], 3 * 20 * 2);
    assert_eq!(totals["status"]["4xx"], 1);
    assert_eq!(totals["unique_viewers"], 3);
    assert_eq!(totals["peak_viewers"], 3);
    let summed: u64 = buckets.iter().filter_map(|b| b["bytes"].as_u64()).sum();
    assert_eq!(summed, bytes);
}

#[test]
fn a_player_that_stops_leaves_the_estimate_within_one_window() {
    let (o, creds) = stats_origin();
    push_live(&o, 1, &creds, "v", 30);
    watch(&o, 2, 0, 60);
    // Player 3 only during the first 20 s.
    for t in (0..20).step_by(2) {
        play(&o, 3, "v/index/media.m3u8", T0 + t * 1000);
    }
    let q = format!("from={T0_S}&to={}&step=20", T0_S + 60);
    let (_, v) = stats(&o, ENDPOINT_STATS, &q, T0 + 60_000);
    let viewers: Vec<u64> = v["buckets"]
        .as_array()
        .map(|b| b.iter().filter_map(|b| b["viewers"].as_u64()).collect())
        .unwrap_or_default();
    assert_eq!(viewers, [3, 2, 2]);
    assert_eq!(v["totals"]["unique_viewers"], 3);
}

#[test]
fn ingest_bitrate_and_sessions_split_at_long_gaps() {
    let (o, creds) = stats_origin();
    push_live(&o, 1, &creds, "v", 10);
    // The encoder stops for 30 s (longer than the channel's 15 s) and comes back.
    for i in 10..15u64 {
        let now = T0 + 50_000 + i * 2000;
        let seg = ts(2, i as u8);
        assert_eq!(
            put(&o, 1, &creds, &format!("v/seg{i}.ts"), &seg, now).status,
            201
        );
        let pl = media_playlist(i - 5, 6);
        put(&o, 1, &creds, "v/index.m3u8", pl.as_bytes(), now + 10);
    }
    watch(&o, 2, 0, 10);
    let q = format!("from={T0_S}&to={}&step=30", T0_S + 120);
    let (status, v) = stats(&o, CHANNEL_STATS, &q, T0 + 120_000);
    assert_eq!(status, 200, "{v}");
    let series = &v["ingest"][0];
    assert_eq!(
        (series["input"].as_u64(), series["rendition"].as_str()),
        (Some(1), Some("v/index"))
    );
    // Every segment is 376 bytes per 2 s: 1504 bit/s.
    assert_eq!(series["bitrate"], 1504);
    assert_eq!(series["buckets"][0]["segments"], 10);
    let sessions = v["sessions"].as_array().cloned().unwrap_or_default();
    assert_eq!(sessions.len(), 2, "{v}");
    assert_eq!(sessions[0]["segments"], 10);
    assert_eq!(sessions[0]["duration"], 18.0);
    assert_eq!(sessions[0]["peak_viewers"], 2);
    assert_eq!(sessions[0]["cumulative_viewers"], 2);
    assert_eq!(sessions[0]["live"], false);
    assert_eq!(sessions[1]["segments"], 5);
    assert_eq!(sessions[1]["cumulative_viewers"], 0);
}

#[test]
fn stats_routes_need_the_admin_token_and_valid_ranges() {
    let (o, _) = stats_origin();
    for path in [ENDPOINT_STATS, CHANNEL_STATS] {
        let r = send(&o, Request::new(Method::Get, path), T0);
        assert_eq!(r.status, 401);
        let wrong = Request::new(Method::Get, path).with_header("authorization", "Bearer nope");
        assert_eq!(send(&o, wrong, T0).status, 401);
        let (status, v) = stats(&o, path, "step=0", T0);
        assert_eq!((status, v["field"].as_str()), (400, Some("step")));
        let (status, v) = stats(&o, path, "from=tomorrow", T0);
        assert_eq!((status, v["field"].as_str()), (400, Some("from")));
    }
    let (status, _) = stats(
        &o,
        "/api/v1/groups/demo/channels/live/endpoints/nope/stats",
        "",
        T0,
    );
    assert_eq!(status, 404);
    let post = Request::new(Method::Post, CHANNEL_STATS)
        .with_header("authorization", &format!("Bearer {TOKEN}"));
    assert_eq!(send(&o, post, T0).status, 405);
}

#[test]
fn without_a_backend_the_routes_say_so() {
    let o = origin();
    setup(&o, serde_json::json!({"name": "hls"}));
    let (status, v) = stats(&o, ENDPOINT_STATS, "", T0);
    assert_eq!(status, 500, "{v}");
    assert!(v["error"]
        .as_str()
        .unwrap_or_default()
        .contains("statistics"));
}

#[test]
fn viewer_keys_off_counts_traffic_but_no_viewers() {
    let mut o = origin().with_stats(Rc::new(MemoryStats::new()));
    o.config.viewer_keys = ViewerKeys::Off;
    let creds = setup(&o, serde_json::json!({"name": "hls"}));
    push_live(&o, 1, &creds, "v", 10);
    let bytes = watch(&o, 2, 0, 20);
    let q = format!("from={T0_S}&to={}&step=10", T0_S + 20);
    let (_, v) = stats(&o, ENDPOINT_STATS, &q, T0 + 20_000);
    assert_eq!(v["totals"]["bytes"], bytes);
    assert_eq!(v["totals"]["unique_viewers"], 0);
    assert_eq!(v["totals"]["peak_viewers"], 0);
}
