//! The published OpenAPI description (`shared/openapi.json`) against the API itself: every
//! path answers, every field the API returns is described, and every documented setting's
//! example is accepted.

mod common;

use common::*;
use edgepack::{Method, Request, OPENAPI};
use serde_json::{json, Value};

fn spec() -> Value {
    serde_json::from_str(OPENAPI).expect("openapi.json is JSON")
}

fn properties(spec: &Value, schema: &str) -> serde_json::Map<String, Value> {
    spec["components"]["schemas"][schema]["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("schema {schema}"))
        .clone()
}

#[test]
fn served_without_a_token() {
    let o = origin();
    let r = send(&o, Request::new(Method::Get, "/api/v1/openapi.json"), T0);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, OPENAPI.as_bytes());
    assert_eq!(spec()["openapi"], "3.1.0");
}

#[test]
fn every_documented_path_and_method_is_routed() {
    let o = origin();
    setup(&o, json!({"name": "hls", "time_shift_days": 1}));
    let spec = spec();
    let paths = spec["paths"].as_object().unwrap();
    assert!(paths.len() >= 13, "{} paths", paths.len());
    for (path, item) in paths {
        let concrete = path
            .replace("{group}", "demo")
            .replace("{channel}", "live")
            .replace("{endpoint}", "hls")
            .replace("{input}", "1")
            .replace("{job}", "no-such-job");
        for (method, _) in item.as_object().unwrap() {
            let m = match method.as_str() {
                "get" => Method::Get,
                "post" => Method::Post,
                "patch" => Method::Patch,
                "delete" => continue, // deletes are exercised by the API tests
                "parameters" => continue,
                other => panic!("method {other}"),
            };
            let body = (m != Method::Get).then(|| json!({}));
            let (status, v) = api(&o, m, &concrete, body);
            assert_ne!(status, 405, "{method} {path}: {v}");
            if !path.contains("{job}") {
                assert_ne!(status, 404, "{method} {path}: {v}");
            }
        }
    }
}

#[test]
fn every_returned_field_is_described() {
    let o = origin();
    setup(&o, json!({"name": "hls", "time_shift_days": 1}));
    let spec = spec();
    for (path, schema) in [
        ("/api/v1/groups/demo", "Group"),
        ("/api/v1/groups/demo/channels/live", "Channel"),
        (
            "/api/v1/groups/demo/channels/live/endpoints/hls",
            "Endpoint",
        ),
    ] {
        let (s, v) = api(&o, Method::Get, path, None);
        assert_eq!(s, 200);
        let described = properties(&spec, schema);
        for key in v.as_object().unwrap().keys() {
            assert!(
                described.contains_key(key),
                "{schema}.{key} is not described"
            );
        }
    }
    let (_, ch) = api(&o, Method::Get, "/api/v1/groups/demo/channels/live", None);
    let input = properties(&spec, "Input");
    for key in ch["inputs"][0].as_object().unwrap().keys() {
        assert!(input.contains_key(key), "Input.{key} is not described");
    }
}

#[test]
fn every_documented_setting_example_is_accepted() {
    let o = origin();
    setup(&o, json!({"name": "hls"}));
    let spec = spec();
    let mut n = 0;
    for (field, schema) in properties(&spec, "Endpoint") {
        if field == "name" || schema["readOnly"] == true {
            continue;
        }
        let example = schema
            .get("example")
            .unwrap_or_else(|| panic!("Endpoint.{field} has no example"));
        let name = format!("ep{n}");
        n += 1;
        let (s, v) = api(
            &o,
            Method::Post,
            "/api/v1/groups/demo/channels/live/endpoints",
            Some(json!({"name": name, field.clone(): example})),
        );
        assert_eq!(s, 201, "Endpoint.{field} = {example}: {v}");
    }
    for (field, schema) in properties(&spec, "Channel") {
        if field == "name" || schema["readOnly"] == true {
            continue;
        }
        let example = &schema["example"];
        let (s, v) = api(
            &o,
            Method::Patch,
            "/api/v1/groups/demo/channels/live",
            Some(json!({field.clone(): example})),
        );
        assert_eq!(s, 200, "Channel.{field} = {example}: {v}");
    }
    // A field the description does not have is refused, as `additionalProperties: false` says.
    let (s, _) = api(
        &o,
        Method::Patch,
        "/api/v1/groups/demo/channels/live",
        Some(json!({"max_segment_length": 10})),
    );
    assert_eq!(s, 400);
}

/// Every key of `value`, at every depth, is a property of `schema` (arrays through `items`).
fn check_described(value: &Value, schema: &Value, at: &str) {
    match value {
        Value::Object(map) => {
            let props = schema["properties"]
                .as_object()
                .unwrap_or_else(|| panic!("{at} has no properties"));
            for (k, v) in map {
                let sub = props
                    .get(k)
                    .unwrap_or_else(|| panic!("{at}.{k} is not described"));
                check_described(v, sub, &format!("{at}.{k}"));
            }
        }
        Value::Array(items) => {
            for v in items {
                check_described(v, &schema["items"], &format!("{at}[]"));
            }
        }
        _ => {}
    }
}

#[test]
fn every_stats_field_is_described() {
    let o = origin().with_stats(std::rc::Rc::new(edgepack::stats::MemoryStats::new()));
    let creds = setup(&o, json!({"name": "hls"}));
    push_live(&o, 1, &creds, "v", 5);
    let mut seg = Request::new(Method::Get, "/out/v1/demo/live/hls/v/index/1.ts");
    seg.client_ip = Some(std::net::IpAddr::from([192, 0, 2, 1]));
    assert_eq!(send(&o, seg, T0 + 9_000).status, 200);
    let spec = spec();
    for (path, schema) in [
        (
            "/api/v1/groups/demo/channels/live/endpoints/hls/stats",
            "EndpointStats",
        ),
        ("/api/v1/groups/demo/channels/live/stats", "ChannelStats"),
    ] {
        let mut req = Request::new(Method::Get, path)
            .with_header("authorization", &format!("Bearer {TOKEN}"));
        req.query = format!("from={}&to={}", T0 / 1000, T0 / 1000 + 60);
        let r = send(&o, req, T0 + 60_000);
        assert_eq!(r.status, 200, "{}", text(&r));
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        check_described(&v, &spec["components"]["schemas"][schema], schema);
        assert!(v.to_string().contains("buckets"));
    }
}
