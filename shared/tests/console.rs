//! The operator console at `/console/`: every built file is served with its type, a strong
//! validator and the security headers; the files are public and hold no secret, and the
//! console reaches the API only with the token in a header.

mod common;

use common::*;
use edgepack::console::{paths, CONTENT_SECURITY_POLICY};
use edgepack::{Method, Request, Response};
use std::path::Path;

fn get(o: &TestOrigin, path: &str) -> Response {
    send(o, Request::new(Method::Get, path), T0)
}

fn dist() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../functions/console/dist")
}

/// Every file below `dist/`, relative, with `/` separators.
fn built_files(dir: &Path, prefix: &str, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("functions/console/dist exists") {
        let entry = entry.unwrap();
        let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
        if entry.file_type().unwrap().is_dir() {
            built_files(&entry.path(), &format!("{name}/"), out);
        } else {
            out.push(name);
        }
    }
}

#[test]
fn every_built_file_is_served_with_its_type_and_headers() {
    let o = origin();
    let mut files = Vec::new();
    built_files(&dist(), "", &mut files);
    files.sort();
    let mut embedded: Vec<String> = paths().map(str::to_owned).collect();
    embedded.sort();
    assert_eq!(
        files, embedded,
        "shared/src/console.rs lists every file of dist/"
    );
    for f in files {
        let r = get(&o, &format!("/console/{f}"));
        assert_eq!(r.status, 200, "{f}");
        assert_eq!(r.body, std::fs::read(dist().join(&f)).unwrap(), "{f}");
        let want = match f.rsplit('.').next() {
            Some("html") => "text/html; charset=utf-8",
            Some("css") => "text/css; charset=utf-8",
            Some("js") => "text/javascript; charset=utf-8",
            other => panic!("{f}: unexpected extension {other:?}"),
        };
        assert_eq!(r.header("content-type"), Some(want), "{f}");
        assert_eq!(
            r.header("content-security-policy"),
            Some(CONTENT_SECURITY_POLICY)
        );
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(r.header("x-frame-options"), Some("DENY"));
        assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
        assert_eq!(r.header("cache-control"), Some("no-cache"));
    }
}

#[test]
fn the_index_and_its_validators() {
    let o = origin();
    let index = get(&o, "/console/");
    assert_eq!(index.status, 200);
    assert!(text(&index).contains("<script src=\"console.js\""));
    assert_eq!(get(&o, "/console/index.html").body, index.body);
    let etag = index.header("etag").unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.len() == 34, "{etag}");
    assert_ne!(
        Some(etag.as_str()),
        get(&o, "/console/console.js").header("etag")
    );

    let again = send(
        &o,
        Request::new(Method::Get, "/console/")
            .with_header("if-none-match", &format!("\"x\", {etag}")),
        T0,
    );
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    assert_eq!(again.header("etag"), Some(etag.as_str()));
    let stale = send(
        &o,
        Request::new(Method::Get, "/console/").with_header("if-none-match", "\"0000\""),
        T0,
    );
    assert_eq!(stale.status, 200);

    let head = send(&o, Request::new(Method::Head, "/console/console.js"), T0);
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    let len = std::fs::metadata(dist().join("console.js")).unwrap().len();
    assert_eq!(
        head.header("content-length"),
        Some(len.to_string().as_str())
    );
}

#[test]
fn other_paths_and_methods() {
    let o = origin();
    let r = get(&o, "/console");
    assert_eq!((r.status, r.header("location")), (308, Some("/console/")));
    assert_eq!(get(&o, "/console/nope.js").status, 404);
    assert_eq!(get(&o, "/console/../api/v1/groups").status, 404);
    assert_eq!(get(&o, "/console/players/").status, 404);
    let r = send(&o, Request::new(Method::Post, "/console/"), T0);
    assert_eq!(r.status, 405);
    // With the query a browser may add, the same file.
    assert_eq!(get(&o, "/console/?x=1").status, 200);
}

#[test]
fn the_console_needs_no_token_in_a_url() {
    let o = origin();
    // The page loads without any credential...
    assert_eq!(get(&o, "/console/").status, 200);
    // ...and the API takes the token from the Authorization header only.
    let r = get(&o, &format!("/api/v1/groups?token={TOKEN}"));
    assert_eq!(r.status, 401);
    let r = get(&o, &format!("/api/v1/groups?access_token={TOKEN}"));
    assert_eq!(r.status, 401);
    // The bundle keeps the token in sessionStorage and sends it as a bearer header; it never
    // writes it to localStorage or a cookie.
    let js = text(&get(&o, "/console/console.js")).to_owned();
    assert!(js.contains("sessionStorage"));
    assert!(js.contains("Bearer "));
    for forbidden in ["localStorage", "document.cookie", "access_token"] {
        assert!(!js.contains(forbidden), "console.js mentions {forbidden}");
    }
    // No page pulls code or styles from elsewhere.
    let html = text(&get(&o, "/console/")).to_owned();
    assert!(
        !html.contains("http://") && !html.contains("https://") && !html.contains("//"),
        "{html}"
    );
}
