//! A channel group's CDN playback domain (`playback_base_url`): validated, and the base of its
//! endpoints' URLs in every API answer that carries one, of its harvest assets' URLs and of the
//! DASH `UTCTiming` source, ahead of `PUBLIC_BASE_URL`.

mod common;

use common::*;
use edgepack::{Method, Request};
use serde_json::json;

const EP: &str = "/api/v1/groups/demo/channels/live/endpoints/hls";

#[test]
fn the_group_domain_names_endpoint_urls() {
    let mut o = origin();
    o.config.public_base_url = Some("https://global.example.com".into());
    setup(
        &o,
        json!({"name": "hls", "signing_keys": [{"id": "k1", "secret": "0123456789abcdef"}]}),
    );
    let (_, ep) = api(&o, Method::Get, EP, None);
    assert_eq!(
        ep["url"],
        "https://global.example.com/out/v1/demo/live/hls/manifest.m3u8"
    );

    let (s, g) = api(
        &o,
        Method::Patch,
        "/api/v1/groups/demo",
        Some(json!({"playback_base_url": "https://cdn.example.net/live/"})),
    );
    assert_eq!(s, 200, "{g}");
    assert_eq!(g["playback_base_url"], "https://cdn.example.net/live");
    let want = "https://cdn.example.net/live/out/v1/demo/live/hls/manifest.m3u8";
    let (_, ep) = api(&o, Method::Get, EP, None);
    assert_eq!(ep["url"], want);
    let (_, list) = api(
        &o,
        Method::Get,
        "/api/v1/groups/demo/channels/live/endpoints",
        None,
    );
    assert_eq!(list["endpoints"][0]["url"], want);
    let (_, signed) = api(
        &o,
        Method::Post,
        &format!("{EP}/signed-url"),
        Some(json!({})),
    );
    assert!(
        signed["url"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{want}?token=")),
        "{signed}"
    );
    let (_, patched) = api(&o, Method::Patch, EP, Some(json!({"segment_count": 5})));
    assert_eq!(patched["url"], want);
    // Ingest URLs keep the origin's host: encoders push to the origin, not the CDN.
    let (_, ch) = api(&o, Method::Get, "/api/v1/groups/demo/channels/live", None);
    assert_eq!(
        ch["inputs"][0]["url"],
        "http://127.0.0.1:8787/in/v1/demo/live/1/"
    );

    // null (or "") clears it: back to PUBLIC_BASE_URL.
    let (s, g) = api(
        &o,
        Method::Patch,
        "/api/v1/groups/demo",
        Some(json!({"playback_base_url": null})),
    );
    assert_eq!((s, g["playback_base_url"].clone()), (200, json!(null)));
    let (_, ep) = api(&o, Method::Get, EP, None);
    assert_eq!(
        ep["url"],
        "https://global.example.com/out/v1/demo/live/hls/manifest.m3u8"
    );
}

/// The DASH clock (`UTCTiming`) and a harvest job's `asset_url` follow the group's domain too:
/// players read the clock, and play assets, where they play the live stream.
#[test]
fn the_group_domain_names_assets_and_the_dash_clock() {
    // DASH from the real fixture segments; harvest from 40 s of synthetic TS segments.
    let dash = origin();
    let c = setup(&dash, json!({"name": "dash", "protocol": "DASH"}));
    push_fixture_segments(&dash, &c);
    let harvest = origin();
    let c = setup(&harvest, json!({"name": "hls", "time_shift_days": 1}));
    push_live(&harvest, 1, &c, "s", 20);
    let now = T0 + 60_000;
    let clock = |o: &TestOrigin| {
        let r = get(o, "/out/v1/demo/live/dash/manifest.mpd", T0 + 5000);
        assert_eq!(r.status, 200, "{}", text(&r));
        let mpd = text(&r);
        let at = mpd.find("<UTCTiming ").expect("UTCTiming");
        mpd[at..].split('"').nth(3).unwrap_or_default().to_owned()
    };
    let asset = |o: &TestOrigin| {
        let body = json!({"endpoint": "hls", "start": "2026-11-23T12:00:02Z",
            "end": "2026-11-23T12:00:20Z", "destination": "vod/shows"});
        let req = Request::new(
            Method::Post,
            "/api/v1/groups/demo/channels/live/harvest-jobs",
        )
        .with_header("authorization", &format!("Bearer {TOKEN}"))
        .with_body(body.to_string());
        let r = send(o, req, now);
        assert_eq!(r.status, 201, "{}", text(&r));
        let job: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        job["asset_url"].as_str().unwrap().to_owned()
    };
    assert_eq!(clock(&dash), "http://127.0.0.1:8787/time");
    assert!(asset(&harvest).starts_with("http://127.0.0.1:8787/vod/v1/vod/shows/"));

    for o in [&dash, &harvest] {
        let (s, g) = api(
            o,
            Method::Patch,
            "/api/v1/groups/demo",
            Some(json!({"playback_base_url": "https://cdn.example.net/live/"})),
        );
        assert_eq!(s, 200, "{g}");
    }
    assert_eq!(clock(&dash), "https://cdn.example.net/live/time");
    let url = asset(&harvest);
    assert!(
        url.starts_with("https://cdn.example.net/live/vod/v1/vod/shows/"),
        "{url}"
    );
    let (_, jobs) = api(
        &harvest,
        Method::Get,
        "/api/v1/groups/demo/channels/live/harvest-jobs",
        None,
    );
    let jobs = jobs["harvest_jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 2);
    for j in jobs {
        let u = j["asset_url"].as_str().unwrap();
        assert!(u.starts_with("https://cdn.example.net/live/vod/v1/"), "{u}");
    }
}

#[test]
fn set_at_creation_and_echoed_back() {
    let o = origin();
    let body = json!({"name": "tv", "playback_base_url": "http://127.0.0.1:9000"});
    let (s, g) = api(&o, Method::Post, "/api/v1/groups", Some(body));
    assert_eq!(s, 201, "{g}");
    assert_eq!(g["playback_base_url"], "http://127.0.0.1:9000");
    // A GET answer sent back unchanged is accepted.
    let (_, got) = api(&o, Method::Get, "/api/v1/groups/tv", None);
    let (s, again) = api(&o, Method::Patch, "/api/v1/groups/tv", Some(got.clone()));
    assert_eq!((s, &again), (200, &got));
    let (_, list) = api(&o, Method::Get, "/api/v1/groups", None);
    assert_eq!(
        list["groups"][0]["playback_base_url"],
        "http://127.0.0.1:9000"
    );
}

#[test]
fn invalid_domains_name_the_field_and_change_nothing() {
    let o = origin();
    let (s, _) = api(
        &o,
        Method::Post,
        "/api/v1/groups",
        Some(json!({"name": "demo"})),
    );
    assert_eq!(s, 201);
    for bad in [
        json!("http://cdn.example.com"),
        json!("ftp://cdn.example.com"),
        json!("https://user:pw@cdn.example.com"),
        json!("https://cdn.example.com/?a=b"),
        json!("https://cdn.example.com/#x"),
        json!("https://"),
        json!("https://cdn example.com"),
        json!(format!("https://{}.com", "a".repeat(600))),
        json!(42),
    ] {
        let (s, e) = api(
            &o,
            Method::Patch,
            "/api/v1/groups/demo",
            Some(json!({"playback_base_url": bad})),
        );
        assert_eq!(s, 400, "{bad}: {e}");
        assert_eq!(e["field"], "playback_base_url", "{bad}");
        let (s, e) = api(
            &o,
            Method::Post,
            "/api/v1/groups",
            Some(json!({"name": "other", "playback_base_url": bad})),
        );
        assert_eq!((s, e["field"].clone()), (400, json!("playback_base_url")));
    }
    let (s, _) = api(&o, Method::Get, "/api/v1/groups/other", None);
    assert_eq!(s, 404, "nothing half-created");
    let (_, g) = api(&o, Method::Get, "/api/v1/groups/demo", None);
    assert_eq!(g["playback_base_url"], json!(null));
    let (s, e) = api(
        &o,
        Method::Patch,
        "/api/v1/groups/demo",
        Some(json!({"name": "renamed"})),
    );
    assert_eq!((s, e["field"].clone()), (400, json!("name")));
    let (s, _) = api(&o, Method::Patch, "/api/v1/groups/nope", Some(json!({})));
    assert_eq!(s, 404);
}

#[test]
fn an_unknown_field_is_named() {
    let o = origin();
    setup(&o, json!({"name": "hls"}));
    let (s, e) = api(
        &o,
        Method::Patch,
        "/api/v1/groups/demo",
        Some(json!({"playback_url": "https://x"})),
    );
    assert_eq!((s, e["field"].clone()), (400, json!("playback_url")), "{e}");
    assert!(
        e["allowed"].as_str().unwrap().contains("playback_base_url"),
        "{e}"
    );
    let (s, e) = api(&o, Method::Patch, EP, Some(json!({"segmnet_count": 3})));
    assert_eq!(
        (s, e["field"].clone()),
        (400, json!("segmnet_count")),
        "{e}"
    );
    let (s, e) = api(
        &o,
        Method::Patch,
        EP,
        Some(
            json!({"encryption": {"method": "AES_128", "key_provider_url": "https://k.example", "colour": 1}}),
        ),
    );
    assert_eq!(
        (s, e["field"].clone()),
        (400, json!("encryption.colour")),
        "{e}"
    );
}
