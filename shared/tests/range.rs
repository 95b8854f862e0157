//! HTTP range requests on VOD files (`http::range`): every file under `/vod/v1` and
//! `clip.mp4` answer `Range: bytes=a-b`, `a-` and `-n` with 206 and `Content-Range`, a range
//! past the end with 416 and `Content-Range: bytes */len`, full answers with
//! `Accept-Ranges: bytes`; multi-range, invalid and `If-Range` requests get the whole file;
//! HEAD answers the length without a body.

mod common;

use common::*;
use edgepack::store::{Metadata, Object, ObjectInfo, ObjectStore, StoreResult};
use edgepack::{Method, Origin, Request, Response};
use serde_json::json;
use std::cell::Cell;

const FILE: &str = "/vod/v1/vod/shows/job1/s/index/0.ts";
const LEN: usize = 1000;

fn body() -> Vec<u8> {
    (0..LEN).map(|i| (i % 251) as u8).collect()
}

fn vod_origin() -> TestOrigin {
    let o = origin();
    let mut metadata = Metadata::new();
    metadata.insert("content-type".into(), "video/mp2t".into());
    block_on(
        o.objects
            .put("vod/vod/shows/job1/s/index/0.ts", &body(), &metadata),
    )
    .unwrap();
    o
}

fn request(
    o: &TestOrigin,
    method: Method,
    path: &str,
    query: &str,
    headers: &[(&str, &str)],
) -> Response {
    let mut req = Request::new(method, path);
    req.query = query.to_owned();
    for (k, v) in headers {
        req = req.with_header(k, v);
    }
    send_all(o, req, T0 + 60_000)
}

fn ranged(o: &TestOrigin, range: &str) -> Response {
    request(o, Method::Get, FILE, "", &[("range", range)])
}

#[test]
fn vod_file_without_range_says_it_accepts_ranges() {
    let o = vod_origin();
    let r = request(&o, Method::Get, FILE, "", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, body());
    assert_eq!(r.header("accept-ranges"), Some("bytes"));
    assert_eq!(r.header("content-range"), None);
    assert_eq!(r.header("content-type"), Some("video/mp2t"));
}

#[test]
fn vod_file_single_ranges() {
    let o = vod_origin();
    let full = body();
    for (range, first, last) in [
        ("bytes=10-19", 10, 19),
        ("bytes=0-0", 0, 0),
        ("bytes=990-", 990, 999),
        ("bytes=-5", 995, 999),
        ("bytes=900-5000", 900, 999),
        ("bytes=-2000", 0, 999),
    ] {
        let r = ranged(&o, range);
        assert_eq!(r.status, 206, "{range}");
        assert_eq!(
            r.header("content-range"),
            Some(format!("bytes {first}-{last}/{LEN}").as_str()),
            "{range}"
        );
        assert_eq!(r.body, full[first..=last], "{range}");
        assert_eq!(r.header("content-type"), Some("video/mp2t"), "{range}");
        assert_eq!(r.header("accept-ranges"), Some("bytes"), "{range}");
        // CORS and caching as for the whole file.
        assert_eq!(r.header("access-control-allow-origin"), Some("*"));
        assert!(r.header("cache-control").is_some());
    }
}

#[test]
fn vod_file_unsatisfiable_range_is_416() {
    let o = vod_origin();
    for range in [
        "bytes=1000-",
        "bytes=1000-1200",
        "bytes=-0",
        "bytes=99999999999999999999-",
    ] {
        let r = ranged(&o, range);
        assert_eq!(r.status, 416, "{range}");
        assert_eq!(r.header("content-range"), Some("bytes */1000"), "{range}");
        assert!(r.body.is_empty(), "{range}");
    }
}

#[test]
fn vod_file_ignored_ranges_give_the_whole_file() {
    let o = vod_origin();
    // Several ranges (single ranges only), invalid ones, another unit.
    for range in [
        "bytes=0-9,20-29",
        "bytes=9-0",
        "bytes=x-",
        "items=0-9",
        "bytes=0x10-",
    ] {
        let r = ranged(&o, range);
        assert_eq!((r.status, r.body.len()), (200, LEN), "{range}");
        assert_eq!(r.header("accept-ranges"), Some("bytes"));
    }
    // If-Range: no validator to compare it with, so never a partial answer.
    let r = request(
        &o,
        Method::Get,
        FILE,
        "",
        &[("range", "bytes=0-9"), ("if-range", "\"abc\"")],
    );
    assert_eq!((r.status, r.body.len()), (200, LEN));
}

#[test]
fn vod_file_head_answers_the_length_without_a_body() {
    let o = vod_origin();
    let r = request(&o, Method::Head, FILE, "", &[]);
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    assert_eq!(r.header("content-length"), Some("1000"));
    assert_eq!(r.header("accept-ranges"), Some("bytes"));
    assert_eq!(r.header("content-type"), Some("video/mp2t"));
    // One content-length only.
    let lengths = r
        .headers
        .iter()
        .filter(|(k, _)| k == "content-length")
        .count();
    assert_eq!(lengths, 1);

    let r = request(&o, Method::Head, FILE, "", &[("range", "bytes=100-199")]);
    assert_eq!(r.status, 206);
    assert!(r.body.is_empty());
    assert_eq!(r.header("content-length"), Some("100"));
    assert_eq!(r.header("content-range"), Some("bytes 100-199/1000"));

    let r = request(&o, Method::Head, FILE, "", &[("range", "bytes=5000-")]);
    assert_eq!(r.status, 416);
    assert_eq!(r.header("content-range"), Some("bytes */1000"));

    // A missing file stays a 404, for HEAD too; so does a key that only prefixes another.
    let r = request(
        &o,
        Method::Head,
        "/vod/v1/vod/shows/job1/s/index/1.ts",
        "",
        &[],
    );
    assert_eq!(r.status, 404);
    let r = request(
        &o,
        Method::Head,
        "/vod/v1/vod/shows/job1/s/index/0.t",
        "",
        &[],
    );
    assert_eq!(r.status, 404);
}

/// An object store that counts the bodies read (`get`) apart from listings.
struct BodyReads<S> {
    inner: S,
    gets: Cell<usize>,
    lists: Cell<usize>,
}

impl<S: ObjectStore> ObjectStore for BodyReads<S> {
    async fn get(&self, key: &str) -> StoreResult<Option<Object>> {
        self.gets.set(self.gets.get() + 1);
        self.inner.get(key).await
    }
    async fn put(&self, key: &str, body: &[u8], metadata: &Metadata) -> StoreResult<()> {
        self.inner.put(key, body, metadata).await
    }
    async fn delete(&self, key: &str) -> StoreResult<()> {
        self.inner.delete(key).await
    }
    async fn list(&self, prefix: &str) -> StoreResult<Vec<ObjectInfo>> {
        self.lists.set(self.lists.get() + 1);
        self.inner.list(prefix).await
    }
}

#[test]
fn vod_file_head_reads_no_body() {
    let Origin {
        kv,
        objects,
        config,
        random,
        sleep,
        ..
    } = vod_origin();
    let counted = BodyReads {
        inner: objects,
        gets: Cell::new(0),
        lists: Cell::new(0),
    };
    let o = Origin::new(kv, counted, config, random, sleep);
    let head = |range: Option<&str>| {
        let mut req = Request::new(Method::Head, FILE);
        if let Some(r) = range {
            req = req.with_header("range", r);
        }
        block_on(o.handle(req, T0))
    };
    assert_eq!(head(None).header("content-length"), Some("1000"));
    assert_eq!(head(Some("bytes=-10")).header("content-length"), Some("10"));
    assert_eq!((o.objects.gets.get(), o.objects.lists.get()), (0, 2));
    // GET reads the body once.
    let r = block_on(o.handle(Request::new(Method::Get, FILE), T0));
    assert_eq!(r.body.len(), LEN);
    assert_eq!(o.objects.gets.get(), 1);
}

// ---- clip.mp4 ----

const CLIP: &str = "/out/v1/demo/live/hls/clip.mp4";
const WINDOW: &str = "start=2026-11-23T11:59:50Z&end=2026-11-23T12:00:10Z";

fn clip_origin() -> TestOrigin {
    let o = origin();
    let creds = setup(&o, json!({"name": "hls", "time_shift_days": 1}));
    push_fixture_segments(&o, &creds);
    o
}

#[test]
fn clip_answers_ranges_and_head() {
    let o = clip_origin();
    let full = request(&o, Method::Get, CLIP, WINDOW, &[]);
    assert_eq!(full.status, 200, "{}", text(&full));
    assert_eq!(full.header("accept-ranges"), Some("bytes"));
    let len = full.body.len();
    assert!(len > 100_000, "{len}");

    let r = request(&o, Method::Get, CLIP, WINDOW, &[("range", "bytes=0-1023")]);
    assert_eq!(r.status, 206);
    assert_eq!(r.body, full.body[..1024]);
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes 0-1023/{len}").as_str())
    );
    assert_eq!(r.header("content-type"), Some("video/mp4"));
    assert!(r.header("content-disposition").is_some());

    let r = request(&o, Method::Get, CLIP, WINDOW, &[("range", "bytes=-100")]);
    assert_eq!(r.status, 206);
    assert_eq!(r.body, full.body[len - 100..]);

    let r = request(
        &o,
        Method::Get,
        CLIP,
        WINDOW,
        &[("range", &format!("bytes={len}-"))],
    );
    assert_eq!(r.status, 416);
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes */{len}").as_str())
    );

    let r = request(&o, Method::Head, CLIP, WINDOW, &[]);
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    assert_eq!(r.header("content-length"), Some(len.to_string().as_str()));

    // Errors are not ranged: a missing window is still its 400.
    let r = request(&o, Method::Get, CLIP, "", &[("range", "bytes=0-9")]);
    assert_eq!(r.status, 400);
}
