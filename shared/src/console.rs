//! The operator console at `/console/` (docs/console.md): static files built from
//! `functions/console` and embedded at compile time, served with their content types, a strong
//! `ETag` (SHA-256 of the bytes) answered with 304, and a strict Content-Security-Policy. The
//! files hold no secret; the console signs in to the control API with the admin token it keeps
//! in the browser's `sessionStorage`.

use crate::http::{Method, Request, Response};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// One embedded file of the console.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($path:literal, $type:expr) => {
        Asset {
            path: $path,
            content_type: $type,
            body: include_bytes!(concat!("../../functions/console/dist/", $path)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

/// Every file of `functions/console/dist` (a core test checks that none is missing).
const ASSETS: [Asset; 6] = [
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("console.js", JS),
    asset!("console.css", "text/css; charset=utf-8"),
    // The players, copied from their npm packages; the preview page loads only the one it needs.
    asset!("players/hls.min.js", JS),
    asset!("players/dash.mediaplayer.min.js", JS),
    asset!("players/mpegts.js", JS),
];

/// Same-origin scripts, styles and API calls only; media from MSE `blob:` URLs. The preview
/// plays from the origin's own `/out/v1` paths, so no other origin is needed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
style-src 'self'; img-src 'self' data:; connect-src 'self'; media-src 'self' blob:; \
base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The answer to `GET|HEAD /console/{path}`; `None` for a path the console does not have.
pub fn serve(req: &Request, path: &[&str]) -> Option<Response> {
    let file = match path {
        [] | [""] => "index.html",
        _ => &path.join("/"),
    };
    let (i, asset) = ASSETS.iter().enumerate().find(|(_, a)| a.path == file)?;
    if !matches!(req.method, Method::Get | Method::Head) {
        return Some(with_security(
            Response::new(405).with_header("allow", "GET, HEAD"),
        ));
    }
    let etag = etag(i, asset);
    let fresh = req
        .header("if-none-match")
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let response = if fresh {
        Response::new(304)
    } else {
        Response::new(200).with_body(asset.content_type, asset.body)
    };
    Some(with_security(
        response
            .with_header("etag", etag)
            // Stable names: revalidate each time (cheap with the ETag), never serve stale code.
            .with_header("cache-control", "no-cache"),
    ))
}

/// `/console` without the slash: relative links in the page need it.
pub fn redirect() -> Response {
    with_security(Response::new(308).with_header("location", "/console/"))
}

fn with_security(r: Response) -> Response {
    r.with_header("content-security-policy", CONTENT_SECURITY_POLICY)
        .with_header("x-content-type-options", "nosniff")
        .with_header("referrer-policy", "no-referrer")
        .with_header("x-frame-options", "DENY")
        .with_header("cross-origin-opener-policy", "same-origin")
}

/// The asset's strong validator: a quoted SHA-256 prefix, computed once per instance.
fn etag(i: usize, asset: &Asset) -> &'static str {
    static ETAGS: [OnceLock<String>; ASSETS.len()] = [const { OnceLock::new() }; ASSETS.len()];
    ETAGS[i].get_or_init(|| {
        let digest = Sha256::digest(asset.body);
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        format!("\"{hex}\"")
    })
}

/// The embedded files' paths, for tests.
pub fn paths() -> impl Iterator<Item = &'static str> {
    ASSETS.iter().map(|a| a.path)
}
