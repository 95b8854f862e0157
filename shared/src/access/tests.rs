use super::*;
use crate::http::{Method, Request};

const PREFIX: &str = "/out/v1/demo/live/hls/";
const NOW: u64 = 1_795_435_200_000;

fn req(ip: &str) -> Request {
    let mut r = Request::new(Method::Get, "/out/v1/demo/live/hls/manifest.m3u8");
    r.client_ip = ip.parse().ok();
    r
}

fn nets(list: &[&str]) -> Vec<IpNet> {
    list.iter().map(|s| IpNet::parse(s).unwrap()).collect()
}

#[test]
fn open_by_default() {
    assert_eq!(
        AccessControl::default().check(&req("203.0.113.1"), PREFIX, NOW),
        Ok(())
    );
}

#[test]
fn ip_lists_block_before_allowing() {
    let ac = AccessControl {
        ip_allowlist: nets(&["203.0.113.0/24", "2001:db8::/32"]),
        ip_blocklist: nets(&["203.0.113.66"]),
        ..Default::default()
    };
    assert_eq!(ac.check(&req("203.0.113.1"), PREFIX, NOW), Ok(()));
    assert_eq!(ac.check(&req("2001:db8:1::5"), PREFIX, NOW), Ok(()));
    assert_eq!(
        ac.check(&req("203.0.113.66"), PREFIX, NOW),
        Err(Denial("ip blocked"))
    );
    assert_eq!(
        ac.check(&req("198.51.100.1"), PREFIX, NOW),
        Err(Denial("ip not allowed"))
    );
    assert_eq!(
        ac.check(&req("2001:db9::1"), PREFIX, NOW),
        Err(Denial("ip not allowed"))
    );
    assert_eq!(
        ac.check(&req(""), PREFIX, NOW),
        Err(Denial("client address unknown"))
    );
}

#[test]
fn authorization_code_in_either_header() {
    let ac = AccessControl {
        authorization_code: Some("s3cret-code".into()),
        ..Default::default()
    };
    assert_eq!(
        ac.check(
            &req("::1").with_header("authorization", "s3cret-code"),
            PREFIX,
            NOW
        ),
        Ok(())
    );
    assert_eq!(
        ac.check(
            &req("::1").with_header("x-tencent-package", "s3cret-code"),
            PREFIX,
            NOW
        ),
        Ok(())
    );
    assert_eq!(
        ac.check(
            &req("::1").with_header("authorization", "s3cret-cod"),
            PREFIX,
            NOW
        ),
        Err(Denial("authorization code"))
    );
    assert_eq!(
        ac.check(&req("::1"), PREFIX, NOW),
        Err(Denial("authorization code"))
    );
}

#[test]
fn cdn_header_and_referer() {
    let ac = AccessControl {
        cdn_authorization: Some(CdnAuthorization {
            header_name: "x-cdn-auth".into(),
            secret: "0123456789abcdefXYZ".into(),
        }),
        referer_allowlist: vec!["player.example.com".into(), "*.example.org".into()],
        ..Default::default()
    };
    let ok = |r: Request| r.with_header("x-cdn-auth", "0123456789abcdefXYZ");
    assert_eq!(
        ac.check(
            &ok(req("::1")).with_header("referer", "https://player.example.com/watch"),
            PREFIX,
            NOW
        ),
        Ok(())
    );
    assert_eq!(
        ac.check(
            &ok(req("::1")).with_header("referer", "https://a.b.example.org:8443/x"),
            PREFIX,
            NOW
        ),
        Ok(())
    );
    for bad in [
        "https://example.org/",
        "https://evil-example.org/",
        "https://player.example.com.evil.net/",
        "nonsense",
    ] {
        assert_eq!(
            ac.check(&ok(req("::1")).with_header("referer", bad), PREFIX, NOW),
            Err(Denial("referer not allowed")),
            "{bad}"
        );
    }
    assert_eq!(
        ac.check(&ok(req("::1")), PREFIX, NOW),
        Err(Denial("referer not allowed"))
    );
    assert_eq!(
        ac.check(
            &req("::1").with_header("referer", "https://player.example.com/"),
            PREFIX,
            NOW
        ),
        Err(Denial("cdn authorization"))
    );
}

#[test]
fn signed_tokens_from_the_query() {
    let key = SigningKey {
        id: "k1".into(),
        secret: "0123456789abcdef".into(),
    };
    let ac = AccessControl {
        signing_keys: vec![key.clone()],
        ..Default::default()
    };
    let t = token::sign(&key, NOW / 1000 + 60, PREFIX);
    let mut r = req("::1");
    r.query = format!("a=1&token={t}");
    assert_eq!(ac.check(&r, PREFIX, NOW), Ok(()));
    assert_eq!(
        ac.check(&r, PREFIX, NOW + 61_000),
        Err(Denial("token expired"))
    );
    assert_eq!(
        ac.check(&r, "/out/v1/demo/live/other/", NOW),
        Err(Denial("token signature invalid"))
    );
    assert_eq!(
        ac.check(&req("::1"), PREFIX, NOW),
        Err(Denial("token missing"))
    );
}
