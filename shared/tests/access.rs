//! Endpoint access control and ingest login throttling, through the origin.

mod common;

use common::*;
use edgepack::{Method, Request, Response};
use serde_json::json;

const EP: &str = "/api/v1/groups/demo/channels/live/endpoints/hls";
const MANIFEST: &str = "/out/v1/demo/live/hls/manifest.m3u8";

fn live() -> TestOrigin {
    let o = origin();
    let c = setup(&o, json!({"name": "hls"}));
    push_live(&o, 1, &c, "v", 4);
    o
}

fn patch(o: &TestOrigin, body: serde_json::Value) -> (u16, serde_json::Value) {
    api(o, Method::Patch, EP, Some(body))
}

fn fetch(o: &TestOrigin, path_and_query: &str, ip: &str, headers: &[(&str, &str)]) -> Response {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let mut req = Request::new(Method::Get, path);
    req.query = query.to_owned();
    req.client_ip = ip.parse().ok();
    for (k, v) in headers {
        req = req.with_header(k, v);
    }
    send(o, req, T0 + 10_000)
}

fn denied(r: &Response) -> &str {
    assert_eq!(r.status, 403);
    assert!(r.body.is_empty());
    r.header("x-edgepack-denied").unwrap()
}

#[test]
fn settings_are_validated_at_write_time() {
    let o = live();
    let cases = [
        (
            json!({"ip_allowlist": ["10.0.0.1/8"]}),
            "ip_allowlist",
            "host bits",
        ),
        (
            json!({"ip_allowlist": ["0.0.0.0/0"]}),
            "ip_allowlist",
            "allow-all",
        ),
        (
            json!({"ip_allowlist": ["::/0"]}),
            "ip_allowlist",
            "allow-all",
        ),
        (
            json!({"ip_blocklist": ["300.1.1.1"]}),
            "ip_blocklist",
            "not an IP",
        ),
        (
            json!({"ip_blocklist": "10.0.0.0/8"}),
            "ip_blocklist",
            "a list",
        ),
        (
            json!({"authorization_code": "short"}),
            "authorization_code",
            "8-256",
        ),
        (
            json!({"authorization_code": "has space in it"}),
            "authorization_code",
            "visible",
        ),
        (
            json!({"cdn_authorization": {"header_name": "Authorization", "secret": "0123456789abcdef"}}),
            "cdn_authorization",
            "standard",
        ),
        (
            json!({"cdn_authorization": {"header_name": "x-cdn", "secret": "short"}}),
            "cdn_authorization",
            "16-256",
        ),
        (
            json!({"signing_keys": [{"id": "a", "secret": "0123456789abcdef"}, {"id": "b", "secret": "0123456789abcdef"}, {"id": "c", "secret": "0123456789abcdef"}]}),
            "signing_keys",
            "at most 2",
        ),
        (
            json!({"signing_keys": [{"id": "a", "secret": "0123456789abcdef"}, {"id": "a", "secret": "0123456789abcdeg"}]}),
            "signing_keys",
            "unique",
        ),
        (
            json!({"referer_allowlist": ["https://x.com/"]}),
            "referer_allowlist",
            "host names",
        ),
    ];
    for (body, field, allowed) in cases {
        let (s, v) = patch(&o, body.clone());
        assert_eq!(s, 400, "{body}");
        assert_eq!(v["field"], field, "{body}: {v}");
        assert!(
            v["allowed"].as_str().unwrap().contains(allowed),
            "{body}: {v}"
        );
    }
    let mut many = Vec::new();
    for i in 0..101 {
        many.push(format!("10.0.{i}.0/24"));
    }
    assert_eq!(patch(&o, json!({"ip_blocklist": many})).0, 400);
    // Nothing was stored by the refused requests.
    assert_eq!(fetch(&o, MANIFEST, "198.51.100.1", &[]).status, 200);
    let (s, v) = patch(
        &o,
        json!({"ip_allowlist": ["203.0.113.0/24", "2001:DB8::/32"], "referer_allowlist": ["*.Example.com"]}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["ip_allowlist"],
        json!(["203.0.113.0/24", "2001:db8::/32"])
    );
    assert_eq!(v["referer_allowlist"], json!(["*.example.com"]));
    let (_, v) = patch(&o, json!({"ip_allowlist": null, "referer_allowlist": []}));
    assert!(v.get("ip_allowlist").is_none(), "{v}");
}

#[test]
fn ip_lists_with_ipv6() {
    let o = live();
    assert_eq!(patch(&o, json!({"ip_allowlist": ["203.0.113.0/24", "2001:db8::/32"], "ip_blocklist": ["2001:db8:bad::/48"]})).0, 200);
    assert_eq!(fetch(&o, MANIFEST, "203.0.113.9", &[]).status, 200);
    assert_eq!(fetch(&o, MANIFEST, "2001:db8:1::1", &[]).status, 200);
    assert_eq!(
        denied(&fetch(&o, MANIFEST, "2001:db8:bad::1", &[])),
        "ip blocked"
    );
    assert_eq!(
        denied(&fetch(&o, MANIFEST, "198.51.100.1", &[])),
        "ip not allowed"
    );
    assert_eq!(
        denied(&fetch(
            &o,
            "/out/v1/demo/live/hls/v/index/1.ts",
            "198.51.100.1",
            &[]
        )),
        "ip not allowed"
    );
    // A client-set forwarding header changes nothing: only the platform's address counts.
    let r = fetch(
        &o,
        MANIFEST,
        "198.51.100.1",
        &[
            ("x-forwarded-for", "203.0.113.9"),
            ("cf-connecting-ip", "203.0.113.9"),
        ],
    );
    assert_eq!(denied(&r), "ip not allowed");
}

#[test]
fn authorization_code_cdn_header_and_referer_combine() {
    let o = live();
    let (s, _) = patch(
        &o,
        json!({
            "authorization_code": "code-1234567",
            "cdn_authorization": {"header_name": "X-CDN-Secret", "secret": "cdn-secret-0123456789"},
            "referer_allowlist": ["player.example.com"],
        }),
    );
    assert_eq!(s, 200);
    let all = [
        ("authorization", "code-1234567"),
        ("x-cdn-secret", "cdn-secret-0123456789"),
        ("referer", "https://player.example.com/live"),
    ];
    assert_eq!(fetch(&o, MANIFEST, "::1", &all).status, 200);
    let tencent = [("x-tencent-package", "code-1234567"), all[1], all[2]];
    assert_eq!(fetch(&o, MANIFEST, "::1", &tencent).status, 200);
    assert_eq!(
        denied(&fetch(&o, MANIFEST, "::1", &all[1..])),
        "authorization code"
    );
    assert_eq!(
        denied(&fetch(&o, MANIFEST, "::1", &[all[0], all[2]])),
        "cdn authorization"
    );
    assert_eq!(
        denied(&fetch(&o, MANIFEST, "::1", &all[..2])),
        "referer not allowed"
    );
    // Preflights are answered without credentials (browsers cannot send them there).
    let r = send(&o, Request::new(Method::Options, MANIFEST), T0);
    assert_eq!(r.status, 204);
}

#[test]
fn signed_urls_open_the_whole_session_and_rotate() {
    let o = live();
    let k1 = json!({"id": "k1", "secret": "first-secret-0123456789"});
    let k2 = json!({"id": "k2", "secret": "second-secret-0123456789"});
    assert_eq!(patch(&o, json!({"signing_keys": [k1]})).0, 200);
    let (s, v) = api(
        &o,
        Method::Post,
        &format!("{EP}/signed-url"),
        Some(json!({"expires_in": 600})),
    );
    assert_eq!(s, 200, "{v}");
    let url = v["url"].as_str().unwrap();
    let token = v["token"].as_str().unwrap().to_owned();
    let path = url.strip_prefix("http://127.0.0.1:8787").unwrap();
    let r = fetch(&o, path, "::1", &[]);
    assert_eq!(r.status, 200);
    let master = text(&r).to_owned();
    let rendition = master.lines().find(|l| l.starts_with("v/")).unwrap();
    assert_eq!(rendition, format!("v/index/media.m3u8?token={token}"));
    let r = fetch(
        &o,
        &format!("/out/v1/demo/live/hls/{rendition}"),
        "::1",
        &[],
    );
    assert_eq!(r.status, 200);
    let seg = text(&r)
        .lines()
        .find(|l| l.ends_with(&token))
        .unwrap()
        .to_owned();
    assert_eq!(
        fetch(
            &o,
            &format!("/out/v1/demo/live/hls/v/index/{seg}"),
            "::1",
            &[]
        )
        .status,
        200
    );
    assert_eq!(denied(&fetch(&o, MANIFEST, "::1", &[])), "token missing");
    let forged = format!("{MANIFEST}?token={}", token.replace(".k1.", ".k9."));
    assert_eq!(denied(&fetch(&o, &forged, "::1", &[])), "token key unknown");
    // Rotation: add k2 beside k1, both verify; drop k1, its tokens stop.
    assert_eq!(
        patch(
            &o,
            json!({"signing_keys": [{"id": "k1", "secret": "first-secret-0123456789"}, k2]})
        )
        .0,
        200
    );
    assert_eq!(fetch(&o, path, "::1", &[]).status, 200);
    assert_eq!(patch(&o, json!({"signing_keys": [k2]})).0, 200);
    assert_eq!(denied(&fetch(&o, path, "::1", &[])), "token key unknown");
    // Expiry.
    let (_, v) = api(
        &o,
        Method::Post,
        &format!("{EP}/signed-url"),
        Some(json!({"expires_in": 60, "key_id": "k2"})),
    );
    let path = v["url"]
        .as_str()
        .unwrap()
        .strip_prefix("http://127.0.0.1:8787")
        .unwrap()
        .to_owned();
    let (p, q) = path.split_once('?').unwrap();
    let mut req = Request::new(Method::Get, p);
    req.query = q.to_owned();
    assert_eq!(denied(&send(&o, req, T0 + 61_000)), "token expired");
    assert_eq!(
        api(
            &o,
            Method::Post,
            &format!("{EP}/signed-url"),
            Some(json!({"key_id": "nope"}))
        )
        .0,
        400
    );
}

#[test]
fn failed_logins_are_throttled_per_address_without_locking_out_the_encoder() {
    let o = origin();
    let good = setup(&o, json!({"name": "hls"}));
    let attempt = |creds: &(String, String), ip: &str, now: u64| {
        let mut req = Request::new(Method::Put, "/in/v1/demo/live/1/seg0.ts")
            .with_header("authorization", &basic(&creds.0, &creds.1))
            .with_body(ts(1, 0));
        req.client_ip = ip.parse().ok();
        send(&o, req, now)
    };
    let bad = (good.0.clone(), "wrong".to_owned());
    for i in 0..20 {
        assert_eq!(attempt(&bad, "198.51.100.7", T0 + i).status, 401);
    }
    let r = attempt(&bad, "198.51.100.7", T0 + 100);
    assert_eq!(r.status, 429);
    assert!(r.header("retry-after").is_some());
    // The encoder at the same address, with valid credentials, is not locked out.
    assert_eq!(attempt(&good, "198.51.100.7", T0 + 200).status, 201);
    // Another address is unaffected; the next minute starts afresh.
    assert_eq!(attempt(&bad, "198.51.100.8", T0 + 300).status, 401);
    assert_eq!(attempt(&bad, "198.51.100.7", T0 + 60_000).status, 401);
}

#[test]
fn per_client_answers_are_private_and_mapped_rules_match() {
    let o = live();
    // Open endpoints are cacheable by CDNs.
    let r = fetch(&o, MANIFEST, "127.0.0.1", &[]);
    assert!(r.header("cache-control").unwrap().starts_with("public"));
    // An IPv4-mapped IPv6 rule is the IPv4 block it maps.
    let (s, v) = patch(&o, json!({"ip_blocklist": ["::ffff:127.0.0.0/104"]}));
    assert_eq!(
        (s, v["ip_blocklist"].clone()),
        (200, json!(["127.0.0.0/8"]))
    );
    assert_eq!(denied(&fetch(&o, MANIFEST, "127.0.0.1", &[])), "ip blocked");
    // Answers that depend on the client's address or headers stay out of shared caches.
    let r = fetch(&o, MANIFEST, "198.51.100.1", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("cache-control"), Some("private, max-age=2"));
    let seg = fetch(
        &o,
        "/out/v1/demo/live/hls/v/index/1.ts",
        "198.51.100.1",
        &[],
    );
    assert_eq!(
        seg.header("cache-control"),
        Some("private, max-age=31536000, immutable")
    );
    assert!(r
        .header("access-control-expose-headers")
        .unwrap()
        .contains("x-edgepack-denied"));
    // Signed URLs alone keep public caching: the token is part of the URL.
    assert_eq!(
        patch(
            &o,
            json!({"ip_blocklist": [], "signing_keys": [{"id": "k", "secret": "0123456789abcdef"}]})
        )
        .0,
        200
    );
    let (_, v) = api(&o, Method::Post, &format!("{EP}/signed-url"), None);
    let path = v["url"]
        .as_str()
        .unwrap()
        .strip_prefix("http://127.0.0.1:8787")
        .unwrap()
        .to_owned();
    assert!(fetch(&o, &path, "::1", &[])
        .header("cache-control")
        .unwrap()
        .starts_with("public"));
}
