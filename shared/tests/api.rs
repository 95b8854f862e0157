//! Control API: auth, validation, lifecycle.

mod common;

use common::*;
use edgepack::{Config, Method, Origin, Request};
use serde_json::{json, Value};

#[test]
fn requires_the_admin_token() {
    let o = origin();
    let r = send(&o, Request::new(Method::Get, "/api/v1/groups"), T0);
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate"),
        Some("Bearer realm=\"edgepack api\"")
    );
    let r = send(
        &o,
        Request::new(Method::Get, "/api/v1/groups").with_header("authorization", "Bearer wrong"),
        T0,
    );
    assert_eq!(r.status, 401);
    assert!(!text(&r).contains(TOKEN));
}

#[test]
fn refuses_everything_without_a_configured_token() {
    let o = Origin::new(
        Default::default(),
        Default::default(),
        Config::default(),
        |_| Ok(()),
        edgepack::testing::instant_sleep,
    );
    let r = send(
        &o,
        Request::new(Method::Get, "/api/v1/groups").with_header("authorization", "Bearer "),
        T0,
    );
    assert_eq!(r.status, 500);
    assert!(text(&r).contains("ADMIN_TOKEN"));
}

#[test]
fn creates_reads_and_lists_resources() {
    let o = origin();
    setup(&o, json!({"name": "hls", "protocol": "HLS"}));
    let (s, ch) = api(&o, Method::Get, "/api/v1/groups/demo/channels/live", None);
    assert_eq!(s, 200);
    assert_eq!(ch["max_segment_duration"], 15);
    assert_eq!(ch["max_playlist_duration"], 600);
    assert_eq!(ch["inputs"][0]["id"], 1);
    assert_eq!(
        ch["inputs"][1]["url"],
        "http://127.0.0.1:8787/in/v1/demo/live/2/"
    );
    let p1 = ch["inputs"][0]["password"].as_str().unwrap();
    let p2 = ch["inputs"][1]["password"].as_str().unwrap();
    assert_eq!(p1.len(), 32);
    assert_ne!(p1, p2);
    let (s, ep) = api(
        &o,
        Method::Get,
        "/api/v1/groups/demo/channels/live/endpoints/hls",
        None,
    );
    assert_eq!(s, 200);
    assert_eq!(
        ep["url"],
        "http://127.0.0.1:8787/out/v1/demo/live/hls/manifest.m3u8"
    );
    assert_eq!(ep["segment_count"], 10);
    assert_eq!(ep["stream_order"], "original");
    let (_, list) = api(&o, Method::Get, "/api/v1/groups", None);
    assert_eq!(list["groups"][0]["name"], "demo");
    let (_, list) = api(
        &o,
        Method::Get,
        "/api/v1/groups/demo/channels/live/endpoints",
        None,
    );
    assert_eq!(list["endpoints"].as_array().unwrap().len(), 1);
}

#[test]
fn public_base_url_names_playback_urls() {
    let mut o = origin();
    o.config.public_base_url = Some("https://cdn.example.com/".into());
    setup(&o, json!({"name": "hls"}));
    let (_, ep) = api(
        &o,
        Method::Get,
        "/api/v1/groups/demo/channels/live/endpoints/hls",
        None,
    );
    assert_eq!(
        ep["url"],
        "https://cdn.example.com/out/v1/demo/live/hls/manifest.m3u8"
    );
}

#[test]
fn invalid_settings_name_the_field_and_range() {
    let o = origin();
    setup(&o, json!({"name": "hls"}));
    let cases = [
        (
            json!({"name": "e2", "segment_count": 500}),
            "segment_count",
            "2 to 100",
        ),
        (
            json!({"name": "e2", "segment_count": 1}),
            "segment_count",
            "2 to 100",
        ),
        (
            json!({"name": "e2", "segment_count": "5"}),
            "segment_count",
            "2 to 100",
        ),
        (
            json!({"name": "e2", "stream_order": "random"}),
            "stream_order",
            "ascending",
        ),
        (json!({"name": "e2", "protocol": "RTMP"}), "protocol", "HLS"),
        (
            json!({"name": "e2", "program_date_time_interval": 4000}),
            "program_date_time_interval",
            "0 to 3600",
        ),
        (
            json!({"name": "e2", "min_video_bitrate": 5, "max_video_bitrate": 4}),
            "min_video_bitrate",
            "at most",
        ),
        (
            json!({"name": "e2", "hold_back": 0}),
            "hold_back",
            "1 to 3600",
        ),
        (
            json!({"name": "e2", "hold_back": "20"}),
            "hold_back",
            "1 to 3600",
        ),
        (
            json!({"name": "e2", "suggested_presentation_delay": 3601}),
            "suggested_presentation_delay",
            "0 to 3600",
        ),
        (json!({"name": "bad/name"}), "name", "1-64"),
        (
            json!({"name": "e2", "manifest_name": "a.b"}),
            "manifest_name",
            "1-64",
        ),
    ];
    for (body, field, allowed) in cases {
        let (s, v) = api(
            &o,
            Method::Post,
            "/api/v1/groups/demo/channels/live/endpoints",
            Some(body.clone()),
        );
        assert_eq!(s, 400, "{body}");
        assert_eq!(v["field"], field, "{body}: {v}");
        assert!(
            v["allowed"].as_str().unwrap().contains(allowed),
            "{body}: {v}"
        );
    }
    let (s, v) = api(
        &o,
        Method::Post,
        "/api/v1/groups/demo/channels",
        Some(json!({"name": "c2", "max_segment_duration": 0})),
    );
    assert_eq!(
        (s, v["field"].as_str()),
        (400, Some("max_segment_duration"))
    );
    // Nothing was half-created.
    let (_, list) = api(
        &o,
        Method::Get,
        "/api/v1/groups/demo/channels/live/endpoints",
        None,
    );
    assert_eq!(list["endpoints"].as_array().unwrap().len(), 1);
    let (_, list) = api(&o, Method::Get, "/api/v1/groups/demo/channels", None);
    assert_eq!(list["channels"].as_array().unwrap().len(), 1);
}

#[test]
fn unknown_fields_and_bad_json_are_refused() {
    let o = origin();
    setup(&o, json!({"name": "hls"}));
    let (s, v) = api(
        &o,
        Method::Post,
        "/api/v1/groups/demo/channels/live/endpoints",
        Some(json!({"name": "x", "segmnet_count": 3})),
    );
    assert_eq!(s, 400);
    assert!(v["error"].as_str().unwrap().contains("segmnet_count"));
    let req = Request::new(Method::Post, "/api/v1/groups")
        .with_header("authorization", &format!("Bearer {TOKEN}"))
        .with_body("{not json");
    assert_eq!(send(&o, req, T0).status, 400);
    let (s, _) = api(&o, Method::Post, "/api/v1/groups", Some(json!({})));
    assert_eq!(s, 400);
}

#[test]
fn conflicts_and_missing_parents() {
    let o = origin();
    setup(&o, json!({"name": "hls"}));
    assert_eq!(
        api(
            &o,
            Method::Post,
            "/api/v1/groups",
            Some(json!({"name": "demo"}))
        )
        .0,
        409
    );
    assert_eq!(
        api(
            &o,
            Method::Post,
            "/api/v1/groups/demo/channels",
            Some(json!({"name": "live"}))
        )
        .0,
        409
    );
    assert_eq!(
        api(
            &o,
            Method::Post,
            "/api/v1/groups/nope/channels",
            Some(json!({"name": "x"}))
        )
        .0,
        404
    );
    assert_eq!(
        api(
            &o,
            Method::Post,
            "/api/v1/groups/demo/channels/nope/endpoints",
            Some(json!({"name": "x"}))
        )
        .0,
        404
    );
    let (s, v) = api(
        &o,
        Method::Delete,
        "/api/v1/groups/demo/channels/live",
        None,
    );
    assert_eq!(s, 409);
    assert!(v["error"].as_str().unwrap().contains("endpoint"), "{v}");
    assert_eq!(api(&o, Method::Delete, "/api/v1/groups/demo", None).0, 409);
    assert_eq!(
        api(
            &o,
            Method::Delete,
            "/api/v1/groups/demo/channels/live/endpoints/hls",
            None
        )
        .0,
        204
    );
    assert_eq!(
        api(
            &o,
            Method::Delete,
            "/api/v1/groups/demo/channels/live",
            None
        )
        .0,
        204
    );
    assert_eq!(
        api(&o, Method::Get, "/api/v1/groups/demo/channels/live", None).0,
        404
    );
    assert_eq!(api(&o, Method::Delete, "/api/v1/groups/demo", None).0, 204);
    assert_eq!(api(&o, Method::Put, "/api/v1/groups", None).0, 405);
}

#[test]
fn latency_settings_are_automatic_until_set_and_null_restores_that() {
    let o = origin();
    setup(&o, json!({"name": "hls"}));
    let path = "/api/v1/groups/demo/channels/live/endpoints/hls";
    let (_, v) = api(&o, Method::Get, path, None);
    assert_eq!(
        (&v["hold_back"], &v["suggested_presentation_delay"]),
        (&Value::Null, &Value::Null),
        "{v}"
    );
    let (s, v) = api(
        &o,
        Method::Patch,
        path,
        Some(json!({"hold_back": 12, "suggested_presentation_delay": 0})),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (
            v["hold_back"].as_u64(),
            v["suggested_presentation_delay"].as_u64()
        ),
        (Some(12), Some(0))
    );
    // Another setting leaves them alone; null returns each to its automatic value.
    let (_, v) = api(&o, Method::Patch, path, Some(json!({"segment_count": 4})));
    assert_eq!(v["hold_back"], 12, "{v}");
    let (_, v) = api(&o, Method::Patch, path, Some(json!({"hold_back": null})));
    assert_eq!(
        (&v["hold_back"], v["suggested_presentation_delay"].as_u64()),
        (&Value::Null, Some(0)),
        "{v}"
    );
}

#[test]
fn patch_changes_settings_but_not_names() {
    let o = origin();
    setup(&o, json!({"name": "hls"}));
    let path = "/api/v1/groups/demo/channels/live/endpoints/hls";
    let (s, v) = api(
        &o,
        Method::Patch,
        path,
        Some(json!({"segment_count": 5, "stream_order": "descending"})),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["segment_count"].as_u64(), v["stream_order"].as_str()),
        (Some(5), Some("descending"))
    );
    assert_eq!(
        api(&o, Method::Patch, path, Some(json!({"name": "other"}))).0,
        400
    );
    // A GET body echoed back is accepted.
    let (_, current) = api(&o, Method::Get, path, None);
    assert_eq!(api(&o, Method::Patch, path, Some(current)).0, 200);
    let ch = "/api/v1/groups/demo/channels/live";
    let (s, v) = api(
        &o,
        Method::Patch,
        ch,
        Some(json!({"max_segment_duration": 6})),
    );
    assert_eq!((s, v["max_segment_duration"].as_u64()), (200, Some(6)));
}

#[test]
fn rotation_replaces_credentials_at_once() {
    let o = origin();
    let old = setup(&o, json!({"name": "hls"}));
    assert_eq!(put(&o, 1, &old, "seg0.ts", &ts(1, 0), T0).status, 201);
    let (s, ch) = api(
        &o,
        Method::Post,
        "/api/v1/groups/demo/channels/live/inputs/1/rotate-credentials",
        None,
    );
    assert_eq!(s, 200);
    let new = credentials(&ch, 1);
    assert_ne!(new, old);
    assert_eq!(put(&o, 1, &old, "seg1.ts", &ts(1, 0), T0).status, 401);
    assert_eq!(put(&o, 1, &new, "seg1.ts", &ts(1, 0), T0).status, 201);
    assert_eq!(
        api(
            &o,
            Method::Post,
            "/api/v1/groups/demo/channels/live/inputs/3/rotate-credentials",
            None
        )
        .0,
        404
    );
}

/// A body over `MAX_API_BODY` is refused before it is parsed (413) and stores nothing; one at
/// the limit is parsed. The `api_json` fuzz target stays below the limit (fuzz/README.md).
#[test]
fn bodies_over_the_limit_are_refused_unread() {
    use edgepack::api::MAX_API_BODY;
    let o = origin();
    let body = |len: usize| {
        // A valid group whose name field is padded with spaces to `len` bytes.
        let mut b = br#"{"name":"g"}"#.to_vec();
        b.splice(1..1, std::iter::repeat_n(b' ', len - b.len()));
        b
    };
    let post = |b: Vec<u8>| {
        let req = Request::new(Method::Post, "/api/v1/groups")
            .with_header("authorization", &format!("Bearer {TOKEN}"))
            .with_body(b);
        send(&o, req, T0)
    };
    let r = post(body(MAX_API_BODY + 1));
    assert_eq!(r.status, 413, "{}", text(&r));
    assert_eq!(
        api(&o, Method::Get, "/api/v1/groups", None).1,
        json!({"groups": []})
    );
    assert_eq!(post(body(MAX_API_BODY)).status, 201);
}
