//! Segment URLs below the channel's storage id, and the rendition index (docs/round-trips.md):
//! the forms the playlists and MPDs write are served, the old ones still are, a storage id
//! that is not the channel's is a 404 without a segment read, access control still decides
//! first; the index is written once per new rendition, and ignored when it is not the
//! channel's or missing.

mod common;

use common::*;
use edgepack::playback::forget_remembered_endpoints;
use edgepack::store::{MemoryKv, MemoryObjects, Metadata, ObjectStore};
use edgepack::testing::{MemoryOrigin, ObjectOp, Observed, Observer, Op};
use edgepack::{Method, Origin, Request, Response};
use serde_json::json;
use std::cell::RefCell;
use std::rc::Rc;

const OUT: &str = "/out/v1/demo/live";
const NOW: u64 = T0 + 10_000;
const INDEX: &str = "rix/demo/live.json";

/// Records the key of every object operation.
#[derive(Clone, Default)]
struct Keys(Rc<RefCell<Vec<(ObjectOp, String)>>>);

impl Observer for Keys {
    fn start(&self, op: Op, key: &str) {
        if let Op::Object(op) = op {
            self.0.borrow_mut().push((op, key.to_owned()));
        }
    }
}

impl Keys {
    fn take(&self) -> Vec<(ObjectOp, String)> {
        std::mem::take(&mut self.0.borrow_mut())
    }
    /// Keys read with `get`.
    fn read(&self) -> Vec<String> {
        self.take()
            .into_iter()
            .filter(|(op, _)| *op == ObjectOp::Get)
            .map(|(_, k)| k)
            .collect()
    }
}

type Recorded = Origin<MemoryKv, Observed<MemoryObjects, Keys>>;

fn recorded(o: MemoryOrigin) -> (Recorded, Keys) {
    let keys = Keys::default();
    let observer = keys.clone();
    let o = wrap_stores(o, |kv| kv, |inner| Observed { inner, observer });
    (o, keys)
}

/// A live channel (input 1, rendition `v/index`, 4 segments) with endpoints `hls` (with
/// `hls_settings`), `cmaf` and `dash`.
fn live(hls_settings: serde_json::Value) -> (MemoryOrigin, (String, String)) {
    let o = origin();
    let mut hls = json!({"name": "hls"});
    if let (Some(h), Some(extra)) = (hls.as_object_mut(), hls_settings.as_object()) {
        h.extend(extra.clone());
    }
    let creds = setup(&o, hls);
    for (name, protocol) in [("cmaf", "HLS_CMAF"), ("dash", "DASH")] {
        let body = json!({"name": name, "protocol": protocol});
        let (s, v) = api(&o, Method::Post, ENDPOINTS, Some(body));
        assert_eq!(s, 201, "{v}");
    }
    push_fixture_segments(&o, &creds);
    (o, creds)
}

const ENDPOINTS: &str = "/api/v1/groups/demo/channels/live/endpoints";

fn get_with(o: &Recorded, path: &str, headers: &[(&str, &str)]) -> Response {
    forget_remembered_endpoints();
    let mut req = Request::new(Method::Get, path);
    for (k, v) in headers {
        req = req.with_header(k, v);
    }
    block_on(o.handle(req, NOW))
}

fn fetch(o: &Recorded, path: &str) -> Response {
    get_with(o, path, &[])
}

fn body_text(r: &Response) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

/// The URIs of a playlist (segment lines and `EXT-X-MAP` URIs).
fn uris(playlist: &str) -> Vec<String> {
    playlist
        .lines()
        .filter_map(|l| {
            if let Some(map) = l.strip_prefix("#EXT-X-MAP:URI=\"") {
                return Some(map.split('"').next()?.to_owned());
            }
            (!l.starts_with('#') && !l.is_empty()).then(|| l.to_owned())
        })
        .collect()
}

/// The storage id a URI names (`~{id}/...`).
fn storage_id(uri: &str) -> &str {
    let dir = uri
        .split('/')
        .find(|p| p.starts_with('~'))
        .expect("a storage-id directory");
    &dir[1..]
}

#[test]
fn playlists_list_segments_below_the_storage_id_and_they_are_served() {
    let (o, _) = live(json!({}));
    let (o, keys) = recorded(o);
    for (playlist, dir) in [
        (
            format!("{OUT}/hls/v/index/media.m3u8"),
            format!("{OUT}/hls/v/index"),
        ),
        (
            format!("{OUT}/cmaf/v/index/video.m3u8"),
            format!("{OUT}/cmaf/v/index"),
        ),
    ] {
        let r = fetch(&o, &playlist);
        assert_eq!(r.status, 200, "{}", body_text(&r));
        let listed = uris(&body_text(&r));
        assert!(!listed.is_empty());
        for uri in listed {
            assert!(uri.starts_with('~'), "{uri}");
            let new = fetch(&o, &format!("{dir}/{uri}"));
            assert_eq!(new.status, 200, "{uri}: {}", body_text(&new));
            // The old form, without the directory, serves the same bytes.
            let old_uri = uri.split_once('/').unwrap().1;
            let old = fetch(&o, &format!("{dir}/{old_uri}"));
            assert_eq!(old.status, 200, "{old_uri}");
            assert_eq!(old.body, new.body, "{uri}");
            assert_eq!(
                new.header("cache-control"),
                old.header("cache-control"),
                "{uri}"
            );
        }
    }
    // DASH: the SegmentTemplate's URLs, resolved as a player does.
    let mpd = body_text(&fetch(&o, &format!("{OUT}/dash/manifest.mpd")));
    let attr = |name: &str| {
        let start = mpd.find(&format!("{name}=\"")).expect(name) + name.len() + 2;
        mpd[start..start + mpd[start..].find('"').unwrap()].to_owned()
    };
    let (init, media) = (attr("initialization"), attr("media"));
    assert!(
        init.contains("/~") && media.contains("/~"),
        "{init} {media}"
    );
    let t = attr(" t");
    let init = fetch(&o, &format!("{OUT}/dash/{init}"));
    assert_eq!(init.status, 200, "{}", body_text(&init));
    let segment = fetch(&o, &format!("{OUT}/dash/{}", media.replace("$Time$", &t)));
    assert_eq!(segment.status, 200, "{}", body_text(&segment));
    keys.take();
}

#[test]
fn a_segment_url_reads_its_index_with_the_settings_and_its_bytes_next() {
    let (o, _) = live(json!({}));
    let (o, keys) = recorded(o);
    let playlist = body_text(&fetch(&o, &format!("{OUT}/hls/v/index/media.m3u8")));
    let uri = uris(&playlist).remove(0);
    let id = storage_id(&uri).to_owned();
    keys.take();
    let r = fetch(&o, &format!("{OUT}/hls/v/index/{uri}"));
    assert_eq!(r.status, 200);
    let read = keys.read();
    // The switch log and both timelines (under the URL's id), then the segment: nothing
    // read twice, nothing listed.
    assert_eq!(read.len(), 4, "{read:?}");
    assert!(read[..3].iter().all(|k| k.contains(&id)), "{read:?}");
    assert!(read[3].starts_with("seg/"), "{read:?}");
}

#[test]
fn a_storage_id_not_the_channels_is_a_404_without_a_segment_read() {
    let (o, _) = live(json!({}));
    let (o, keys) = recorded(o);
    let playlist = body_text(&fetch(&o, &format!("{OUT}/hls/v/index/media.m3u8")));
    let uri = uris(&playlist).remove(0);
    let id = storage_id(&uri).to_owned();
    let file = uri.split_once('/').unwrap().1.to_owned();
    let other = "A".repeat(id.len());
    let too_long = "A".repeat(33);
    for (dir, what) in [
        (format!("~{other}"), "another channel's id"),
        ("~bad-id".to_owned(), "a malformed id"),
        ("~".to_owned(), "an empty id"),
        (format!("~{too_long}"), "an id too long"),
    ] {
        keys.take();
        let r = fetch(&o, &format!("{OUT}/hls/v/index/{dir}/{file}"));
        assert_eq!(r.status, 404, "{what}: {}", body_text(&r));
        let read = keys.read();
        assert!(
            !read.iter().any(|k| k.starts_with("seg/")),
            "{what}: {read:?}"
        );
        if what != "another channel's id" {
            // Not an id: nothing of the object store is read for it.
            assert!(read.is_empty(), "{what}: {read:?}");
        }
    }
    // Only segment files are served below an id.
    let r = fetch(&o, &format!("{OUT}/hls/v/index/~{id}/media.m3u8"));
    assert_eq!(r.status, 404);
}

#[test]
fn access_control_refuses_a_segment_url_before_reading_its_bytes() {
    let (o, _) = live(json!({"authorization_code": "code-1234567"}));
    let (o, keys) = recorded(o);
    let code = [("authorization", "code-1234567")];
    let playlist = get_with(&o, &format!("{OUT}/hls/v/index/media.m3u8"), &code);
    assert_eq!(playlist.status, 200);
    let uri = uris(&body_text(&playlist)).remove(0);
    let path = format!("{OUT}/hls/v/index/{uri}");
    keys.take();
    let refused = fetch(&o, &path);
    assert_eq!(refused.status, 403);
    let read = keys.read();
    // At most the index of the URL's rendition was read; never the segment.
    assert!(read.len() <= 3, "{read:?}");
    assert!(!read.iter().any(|k| k.starts_with("seg/")), "{read:?}");
    assert_eq!(get_with(&o, &path, &code).status, 200);
}

#[test]
fn a_recreated_channel_does_not_serve_its_predecessors_segment_urls() {
    let (o, creds) = live(json!({}));
    let playlist = body_text(&get(&o, &format!("{OUT}/hls/v/index/media.m3u8"), NOW));
    let uri = uris(&playlist).remove(0);
    for e in ["hls", "cmaf", "dash"] {
        let (s, _) = api(&o, Method::Delete, &format!("{ENDPOINTS}/{e}"), None);
        assert_eq!(s, 204);
    }
    let (s, _) = api(
        &o,
        Method::Delete,
        "/api/v1/groups/demo/channels/live",
        None,
    );
    assert_eq!(s, 204);
    let (s, ch) = api(
        &o,
        Method::Post,
        "/api/v1/groups/demo/channels",
        Some(json!({"name": "live", "protocol": "HLS"})),
    );
    assert_eq!(s, 201, "{ch}");
    let (s, _) = api(&o, Method::Post, ENDPOINTS, Some(json!({"name": "hls"})));
    assert_eq!(s, 201);
    let _ = creds;
    push_fixture_segments(&o, &credentials(&ch, 1));
    forget_remembered_endpoints();
    let old = get(&o, &format!("{OUT}/hls/v/index/{uri}"), NOW);
    assert_eq!(old.status, 404, "{}", text(&old));
    let playlist = body_text(&get(&o, &format!("{OUT}/hls/v/index/media.m3u8"), NOW));
    let new = uris(&playlist).remove(0);
    assert_ne!(storage_id(&new), storage_id(&uri));
    assert_eq!(
        get(&o, &format!("{OUT}/hls/v/index/{new}"), NOW).status,
        200
    );
}

/// Index writes (`put_if_version` of [`INDEX`]) while `push` runs.
fn index_writes(keys: &Keys) -> usize {
    keys.take()
        .iter()
        .filter(|(op, k)| *op == ObjectOp::PutIfVersion && k == INDEX)
        .count()
}

#[test]
fn the_index_is_written_once_per_new_rendition() {
    let o = origin();
    let creds = setup(&o, json!({"name": "hls"}));
    let (o, keys) = recorded(o);
    let push = |dir: &str, n: u64| {
        for i in 0..n {
            let now = T0 + i * 2000;
            let seg = Request::new(Method::Put, &format!("/in/v1/demo/live/1/{dir}/seg{i}.ts"))
                .with_header("authorization", &basic(&creds.0, &creds.1))
                .with_body(ts(2, i as u8));
            assert_eq!(block_on(o.handle(seg, now)).status, 201);
            let pl = media_playlist(i.saturating_sub(5), i.min(5) + 1);
            let pl = Request::new(Method::Put, &format!("/in/v1/demo/live/1/{dir}/index.m3u8"))
                .with_header("authorization", &basic(&creds.0, &creds.1))
                .with_body(pl);
            assert!(block_on(o.handle(pl, now + 10)).status < 300);
        }
    };
    push("a", 4);
    assert_eq!(index_writes(&keys), 1);
    push("b", 4);
    assert_eq!(index_writes(&keys), 1);
    push("a", 2);
    assert_eq!(index_writes(&keys), 0);
    let index: serde_json::Value =
        serde_json::from_slice(&block_on(o.objects.inner.get(INDEX)).unwrap().unwrap().body)
            .unwrap();
    assert_eq!(index["inputs"], json!([["a/index", "b/index"], []]));
    // A master reads it beside the settings and lists nothing.
    keys.take();
    let r = fetch(&o, &format!("{OUT}/hls/manifest.m3u8"));
    assert_eq!(r.status, 200, "{}", body_text(&r));
    assert!(body_text(&r).contains("a/index/media.m3u8"));
    assert!(body_text(&r).contains("b/index/media.m3u8"));
    let ops = keys.take();
    assert!(!ops.iter().any(|(op, _)| *op == ObjectOp::List), "{ops:?}");
}

/// The masters and MPD of every endpoint, as text.
fn manifests(o: &Recorded) -> Vec<String> {
    [
        "hls/manifest.m3u8",
        "cmaf/manifest.m3u8",
        "dash/manifest.mpd",
    ]
    .iter()
    .map(|m| {
        let r = fetch(o, &format!("{OUT}/{m}"));
        assert_eq!(r.status, 200, "{m}: {}", body_text(&r));
        body_text(&r)
    })
    .collect()
}

fn put_index(o: &Recorded, index: serde_json::Value) {
    let body = index.to_string();
    block_on(
        o.objects
            .inner
            .put(INDEX, body.as_bytes(), &Metadata::new()),
    )
    .unwrap();
}

#[test]
fn a_missing_or_stale_index_is_ignored_and_an_unstored_rendition_left_out() {
    let (o, _) = live(json!({}));
    let (o, keys) = recorded(o);
    let with_index = manifests(&o);
    let index: serde_json::Value =
        serde_json::from_slice(&block_on(o.objects.inner.get(INDEX)).unwrap().unwrap().body)
            .unwrap();
    keys.take();
    // Missing: the renditions are listed, the same manifests.
    block_on(o.objects.inner.delete(INDEX)).unwrap();
    assert_eq!(manifests(&o), with_index);
    assert!(keys.take().iter().any(|(op, _)| *op == ObjectOp::List));
    // A predecessor's (another storage id) naming a rendition this channel never had.
    let mut stale = index.clone();
    stale["channel_id"] = json!("predecessor0000");
    stale["inputs"] = json!([["ghost/index"], []]);
    put_index(&o, stale);
    assert_eq!(manifests(&o), with_index);
    // This channel's, naming a rendition whose first timeline is not stored yet.
    let mut early = index.clone();
    early["inputs"] = json!([["aaa/index", "v/index"], []]);
    put_index(&o, early);
    assert_eq!(manifests(&o), with_index);
    keys.take();
    let r = fetch(
        &o,
        &format!(
            "{OUT}/hls/v/index/media.m3u8?start=2026-11-23T12:00:00Z&end=2026-11-23T12:00:04Z"
        ),
    );
    assert_eq!(r.status, 200, "{}", body_text(&r));
    assert!(!keys.take().iter().any(|(op, _)| *op == ObjectOp::List));
}

#[test]
fn a_new_channel_replaces_its_predecessors_index() {
    let (o, creds) = live(json!({}));
    let (o, _keys) = recorded(o);
    let mut stale: serde_json::Value =
        serde_json::from_slice(&block_on(o.objects.inner.get(INDEX)).unwrap().unwrap().body)
            .unwrap();
    stale["channel_id"] = json!("predecessor0000");
    stale["created_at_ms"] = json!(0);
    stale["inputs"] = json!([["ghost/index"], []]);
    put_index(&o, stale);
    // A new rendition of this channel: the index is its own again, seeded from the listings.
    let seg = Request::new(Method::Put, "/in/v1/demo/live/1/w/seg0.ts")
        .with_header("authorization", &basic(&creds.0, &creds.1))
        .with_body(ts(2, 0));
    assert_eq!(block_on(o.handle(seg, NOW)).status, 201);
    let pl = Request::new(Method::Put, "/in/v1/demo/live/1/w/index.m3u8")
        .with_header("authorization", &basic(&creds.0, &creds.1))
        .with_body(media_playlist(0, 1));
    assert!(block_on(o.handle(pl, NOW + 10)).status < 300);
    let index: serde_json::Value =
        serde_json::from_slice(&block_on(o.objects.inner.get(INDEX)).unwrap().unwrap().body)
            .unwrap();
    assert_ne!(index["channel_id"], json!("predecessor0000"));
    assert_eq!(index["inputs"], json!([["v/index", "w/index"], []]));
}

/// The stored index, parsed.
fn stored_index(o: &Recorded, key: &str) -> Option<serde_json::Value> {
    let object = block_on(o.objects.inner.get(key)).unwrap()?;
    Some(serde_json::from_slice(&object.body).unwrap())
}

#[test]
fn the_scheduled_run_writes_a_missing_index_and_never_replaces_a_channels_own() {
    let (o, _) = live(json!({}));
    let (o, keys) = recorded(o);
    let with_index = manifests(&o);
    let index = stored_index(&o, INDEX).unwrap();
    // A channel stored before the index: its masters list.
    block_on(o.objects.inner.delete(INDEX)).unwrap();
    let report = block_on(o.scheduled(NOW)).unwrap();
    assert_eq!(report.rendition_indexes_written, 1);
    assert_eq!(stored_index(&o, INDEX).unwrap(), index);
    keys.take();
    assert_eq!(manifests(&o), with_index);
    assert!(!keys.take().iter().any(|(op, _)| *op == ObjectOp::List));
    // Present: read, not written again.
    let report = block_on(o.scheduled(NOW)).unwrap();
    assert_eq!(report.rendition_indexes_written, 0);
    let writes = keys.take();
    assert!(!writes
        .iter()
        .any(|(op, k)| k == INDEX && matches!(op, ObjectOp::Put | ObjectOp::PutIfVersion)));
    // The channel's own index (as ingest wrote it, naming a rendition not listed yet) stays.
    let mut own = index.clone();
    own["inputs"] = json!([["aaa/index", "v/index"], []]);
    put_index(&o, own.clone());
    block_on(o.scheduled(NOW)).unwrap();
    assert_eq!(stored_index(&o, INDEX).unwrap(), own);
    // A predecessor's (older, another storage id) is replaced by this channel's.
    let mut stale = index.clone();
    stale["channel_id"] = json!("predecessor0000");
    stale["created_at_ms"] = json!(0);
    stale["inputs"] = json!([["ghost/index"], []]);
    put_index(&o, stale);
    let report = block_on(o.scheduled(NOW)).unwrap();
    assert_eq!(report.rendition_indexes_written, 1);
    assert_eq!(stored_index(&o, INDEX).unwrap(), index);
}

#[test]
fn the_scheduled_run_writes_a_bounded_number_of_indexes_per_run() {
    let (o, _) = live(json!({}));
    // More channels than one run backfills, each with content on input 1, none indexed.
    let extra = 20;
    for i in 0..extra {
        let name = format!("c{i}");
        let (s, ch) = api(
            &o,
            Method::Post,
            "/api/v1/groups/demo/channels",
            Some(json!({"name": name, "protocol": "HLS"})),
        );
        assert_eq!(s, 201, "{ch}");
        let creds = credentials(&ch, 1);
        for (file, body) in [
            ("v/seg0.ts", ts(2, 0)),
            ("v/index.m3u8", media_playlist(0, 1).into_bytes()),
        ] {
            let req = Request::new(Method::Put, &format!("/in/v1/demo/{name}/1/{file}"))
                .with_header("authorization", &basic(&creds.0, &creds.1))
                .with_body(body);
            assert!(send(&o, req, NOW).status < 300);
        }
    }
    let (o, _keys) = recorded(o);
    let indexes: Vec<String> = std::iter::once("rix/demo/live.json".to_owned())
        .chain((0..extra).map(|i| format!("rix/demo/c{i}.json")))
        .collect();
    for key in &indexes {
        block_on(o.objects.inner.delete(key)).unwrap();
    }
    let first = block_on(o.scheduled(NOW)).unwrap();
    assert_eq!(first.rendition_indexes_written, 20);
    let second = block_on(o.scheduled(NOW)).unwrap();
    assert_eq!(second.rendition_indexes_written, 1);
    for key in &indexes {
        let index = stored_index(&o, key).unwrap_or_else(|| panic!("{key}"));
        assert_eq!(index["inputs"], json!([["v/index"], []]), "{key}");
    }
    assert_eq!(
        block_on(o.scheduled(NOW))
            .unwrap()
            .rendition_indexes_written,
        0
    );
}

/// Makes every object operation wait one scheduler turn, so concurrent requests interleave.
#[derive(Clone, Default)]
struct Turns;

impl Observer for Turns {
    fn start(&self, _op: Op, _key: &str) {}
    async fn delay(&self) {
        YieldOnce(false).await;
    }
}

/// Drives a future whose store operations each wait one turn.
fn interleaved<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    for _ in 0..100_000 {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
    panic!("the requests did not finish");
}

#[test]
fn a_backfill_racing_ingests_new_rendition_keeps_it() {
    // The new rendition's first playlist starts `lag` turns after the run, so that for some
    // lag the run reads no index, ingest writes its own, and the run's write comes after.
    for lag in 0..48 {
        let (o, creds) = live(json!({}));
        let o = wrap_stores(
            o,
            |kv| kv,
            |inner| Observed {
                inner,
                observer: Turns,
            },
        );
        block_on(o.objects.inner.delete(INDEX)).unwrap();
        let auth = basic(&creds.0, &creds.1);
        let seg = Request::new(Method::Put, "/in/v1/demo/live/1/w/seg0.ts")
            .with_header("authorization", &auth)
            .with_body(ts(2, 0));
        assert_eq!(interleaved(o.handle(seg, NOW)).status, 201);
        let pl = Request::new(Method::Put, "/in/v1/demo/live/1/w/index.m3u8")
            .with_header("authorization", &auth)
            .with_body(media_playlist(0, 1));
        let ingest = async {
            for _ in 0..lag {
                YieldOnce(false).await;
            }
            o.handle(pl, NOW + 10).await
        };
        let (ingest, run) = interleaved(futures_util::future::join(ingest, o.scheduled(NOW + 10)));
        assert!(ingest.status < 300, "{}", body_text(&ingest));
        run.unwrap();
        let object = block_on(o.objects.inner.get(INDEX)).unwrap().unwrap();
        let index: serde_json::Value = serde_json::from_slice(&object.body).unwrap();
        assert_eq!(
            index["inputs"],
            json!([["v/index", "w/index"], []]),
            "lag {lag}"
        );
    }
}
