//! Harvest jobs: live-to-VOD assets from the archive, copied in batches.

mod common;

use common::*;
use edgepack::store::{
    MemoryKv, MemoryObjects, Metadata, Object, ObjectInfo, ObjectStore, StoreResult,
};
use edgepack::{Method, Origin, Request, Response};
use serde_json::{json, Value};
use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

const JOBS: &str = "/api/v1/groups/demo/channels/live/harvest-jobs";
/// 80 s of 2 s segments were pushed from T0; 20 s later every window below has settled.
const NOW: u64 = T0 + 100_000;
/// Segment i starts at T0 - 1.99 s + 2 s * i: this window holds 34 segments.
const START: &str = "2026-11-23T12:00:01Z";
const END: &str = "2026-11-23T12:01:09Z";

/// 80 s of 2 s TS segments on rendition `s/index`, a 30 s live timeline, a day of time-shift.
fn archived() -> TestOrigin {
    let o = origin();
    let c = setup(&o, json!({"name": "hls", "time_shift_days": 1}));
    let (s, _) = api(
        &o,
        Method::Patch,
        "/api/v1/groups/demo/channels/live",
        Some(json!({"max_playlist_duration": 30})),
    );
    assert_eq!(s, 200);
    push_live(&o, 1, &c, "s", 40);
    o
}

fn call<K: edgepack::store::KvStore, O: ObjectStore>(
    o: &Origin<K, O>,
    method: Method,
    path_query: &str,
    body: Option<Value>,
    now: u64,
) -> Response {
    let (path, query) = path_query.split_once('?').unwrap_or((path_query, ""));
    let mut req =
        Request::new(method, path).with_header("authorization", &format!("Bearer {TOKEN}"));
    req.query = query.to_owned();
    if let Some(b) = body {
        req = req.with_body(b.to_string());
    }
    block_on(o.handle(req, now))
}

fn json_of(r: &Response) -> Value {
    if r.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&r.body).expect("JSON")
    }
}

fn create(o: &TestOrigin, body: Value, now: u64) -> (u16, Value) {
    let r = call(o, Method::Post, JOBS, Some(body), now);
    (r.status, json_of(&r))
}

fn job_body(start: &str, end: &str) -> Value {
    json!({"endpoint": "hls", "start": start, "end": end, "destination": "vod/shows"})
}

fn poll(o: &TestOrigin, id: &str, now: u64) -> Value {
    let r = call(o, Method::Get, &format!("{JOBS}/{id}"), None, now);
    assert_eq!(r.status, 200, "{}", text(&r));
    json_of(&r)
}

/// The path of an asset URL below the host.
fn path_of(url: &str) -> String {
    url.strip_prefix("http://127.0.0.1:8787")
        .unwrap()
        .to_owned()
}

/// Every file of an asset: (path relative to the asset, body).
fn asset_files(o: &TestOrigin, asset_dir: &str) -> Vec<(String, Vec<u8>)> {
    let prefix = format!("vod/{asset_dir}");
    block_on(o.objects.list(&prefix))
        .unwrap()
        .into_iter()
        .map(|i| {
            let body = block_on(o.objects.get(&i.key)).unwrap().unwrap().body;
            (i.key[prefix.len()..].to_owned(), body)
        })
        .collect()
}

fn asset_dir(job: &Value) -> String {
    format!("vod/shows/{}/", job["id"].as_str().unwrap())
}

#[test]
fn job_copies_the_window_in_batches_and_the_asset_plays() {
    let o = archived();
    let (s, job) = create(&o, job_body(START, END), NOW);
    assert_eq!(s, 201, "{job}");
    // 34 segments: the POST copies the first batch.
    assert_eq!(job["status"], "IN_PROGRESS", "{job}");
    assert_eq!(job["progress"]["segments_total"], 34);
    assert_eq!(
        job["progress"]["segments_done"],
        edgepack::harvest::MAX_FILES_PER_BATCH as u64
    );
    assert_eq!(
        (job["start"].as_str(), job["end"].as_str()),
        (
            Some("2026-11-23T12:00:01.000Z"),
            Some("2026-11-23T12:01:09.000Z")
        )
    );
    let id = job["id"].as_str().unwrap().to_owned();
    let url = job["asset_url"].as_str().unwrap().to_owned();
    assert_eq!(
        url,
        format!("http://127.0.0.1:8787/vod/v1/vod/shows/{id}/manifest.m3u8")
    );
    // Nothing plays before the last file is in.
    let early = get(&o, &path_of(&url), NOW);
    assert_eq!(early.status, 404);
    assert_eq!(early.header("cache-control"), Some("public, max-age=1"));

    let job = poll(&o, &id, NOW + 1000);
    assert_eq!(job["status"], "SUCCEEDED", "{job}");
    assert_eq!(job["progress"]["segments_done"], 34);
    assert!(job["finished_at"].is_string());
    // Finished jobs stay as they are.
    assert_eq!(poll(&o, &id, NOW + 2000), job);

    let master = get(&o, &path_of(&url), NOW + 2000);
    assert_eq!(master.status, 200);
    assert_eq!(
        master.header("content-type"),
        Some("application/vnd.apple.mpegurl")
    );
    assert_eq!(master.header("access-control-allow-origin"), Some("*"));
    assert!(master
        .header("cache-control")
        .unwrap()
        .contains("immutable"));
    golden("harvest_master.m3u8", text(&master));
    let base = path_of(&url).trim_end_matches("manifest.m3u8").to_owned();
    let media = get(&o, &format!("{base}s/index/media.m3u8"), NOW + 2000);
    let body = text(&media).to_owned();
    assert!(body.contains("#EXT-X-PLAYLIST-TYPE:VOD\n") && body.ends_with("#EXT-X-ENDLIST\n"));
    assert!(!body.contains('?'), "{body}");
    golden("harvest_media.m3u8", &body);
    let seg = get(&o, &format!("{base}s/index/7.ts"), NOW + 2000);
    assert_eq!((seg.status, seg.body.clone()), (200, ts(2, 7)));
    assert_eq!(seg.header("content-type"), Some("video/mp2t"));
    let head = send(
        &o,
        Request::new(Method::Head, &format!("{base}s/index/7.ts")),
        NOW,
    );
    assert_eq!((head.status, head.body.len()), (200, 0));
    assert_eq!(get(&o, &format!("{base}s/index/99.ts"), NOW).status, 404);
    assert_eq!(get(&o, "/vod/v1/vod/../x", NOW).status, 404);
    // The job is no longer in the index of unfinished jobs.
    assert!(block_on(o.objects.list("hv/active/")).unwrap().is_empty());
}

#[test]
fn every_asset_file_equals_what_vodend_playback_serves() {
    let o = archived();
    let (_, job) = create(&o, job_body(START, END), NOW);
    let id = job["id"].as_str().unwrap();
    assert_eq!(poll(&o, id, NOW)["status"], "SUCCEEDED");
    let files = asset_files(&o, &asset_dir(&job));
    // 34 segments, the playlist and the master.
    assert_eq!(files.len(), 36);
    let q = format!("start={START}&vodend={END}").replace("Z", ".000Z");
    for (path, body) in files {
        let live = get_q(&o, &format!("/out/v1/demo/live/hls/{path}"), &q, NOW);
        assert_eq!(live.status, 200, "{path}");
        if path.ends_with(".m3u8") {
            // The asset names its files without the live storage-id directory.
            let expected = plain(&text(&live).replace(&format!("?{q}"), ""));
            assert_eq!(String::from_utf8(body).unwrap(), expected, "{path}");
        } else {
            assert_eq!(body, live.body, "{path}");
        }
    }
}

fn get_q(o: &TestOrigin, path: &str, query: &str, now: u64) -> Response {
    let mut req = Request::new(Method::Get, path);
    req.query = query.to_owned();
    send(o, req, now)
}

#[test]
fn two_jobs_make_two_assets_and_are_listed() {
    let o = archived();
    let (_, a) = create(&o, job_body(START, END), NOW);
    let (_, b) = create(
        &o,
        job_body("2026-11-23T12:00:21Z", "2026-11-23T12:00:41Z"),
        NOW,
    );
    assert_ne!(a["id"], b["id"]);
    assert_ne!(a["asset_url"], b["asset_url"]);
    assert_eq!(
        b["status"], "SUCCEEDED",
        "a short window finishes in the POST: {b}"
    );
    assert_eq!(b["progress"]["segments_total"], 10);
    poll(&o, a["id"].as_str().unwrap(), NOW);
    for job in [&a, &b] {
        let r = get(&o, &path_of(job["asset_url"].as_str().unwrap()), NOW);
        assert_eq!(r.status, 200);
    }
    let r = call(&o, Method::Get, JOBS, None, NOW);
    let list = json_of(&r);
    let ids: Vec<&Value> = list["harvest_jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| &j["id"])
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&&a["id"]) && ids.contains(&&b["id"]));

    // DELETE forgets the job; its asset stays.
    let path = format!("{JOBS}/{}", b["id"].as_str().unwrap());
    assert_eq!(call(&o, Method::Delete, &path, None, NOW).status, 204);
    assert_eq!(call(&o, Method::Get, &path, None, NOW).status, 404);
    assert_eq!(
        get(&o, &path_of(b["asset_url"].as_str().unwrap()), NOW).status,
        200
    );
}

#[test]
fn endpoint_without_time_shift_is_refused() {
    let o = archived();
    let (s, _) = api(
        &o,
        Method::Post,
        "/api/v1/groups/demo/channels/live/endpoints",
        Some(json!({"name": "plain"})),
    );
    assert_eq!(s, 201);
    let mut body = job_body(START, END);
    body["endpoint"] = json!("plain");
    let (s, e) = create(&o, body, NOW);
    assert_eq!(s, 400, "{e}");
    assert_eq!(e["field"], "endpoint");
    let allowed = e["allowed"].as_str().unwrap();
    assert!(
        allowed.contains("demo/live/plain") && allowed.contains("time_shift_days"),
        "{allowed}"
    );
    assert!(block_on(o.objects.list("hv/")).unwrap().is_empty());
}

#[test]
fn bad_requests_name_the_field() {
    let o = archived();
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            json!({"endpoint": "hls", "start": START, "end": END, "destination": "a", "x": 1}),
            400,
            "",
        ),
        (
            json!({"endpoint": "hls", "start": START, "end": END}),
            400,
            "destination",
        ),
        (
            json!({"start": START, "end": END, "destination": "a"}),
            400,
            "endpoint",
        ),
        (
            json!({"endpoint": "hls", "end": END, "destination": "a"}),
            400,
            "start",
        ),
        (
            json!({"endpoint": "hls", "start": "yesterday", "end": END, "destination": "a"}),
            400,
            "start",
        ),
        (
            json!({"endpoint": "hls", "start": END, "end": START, "destination": "a"}),
            400,
            "end",
        ),
        (
            json!({"endpoint": "hls", "start": START, "end": START, "destination": "a"}),
            400,
            "end",
        ),
        // The end has not happened yet.
        (
            json!({"endpoint": "hls", "start": START, "end": "2026-11-23T12:05:00Z", "destination": "a"}),
            400,
            "end",
        ),
        // Longer than four hours.
        (
            json!({"endpoint": "hls", "start": "2026-11-23T07:00:00Z", "end": END, "destination": "a"}),
            400,
            "end",
        ),
        // Older than the endpoint's time-shift.
        (
            json!({"endpoint": "hls", "start": "2026-11-21T12:00:00Z", "end": "2026-11-21T12:10:00Z", "destination": "a"}),
            400,
            "start",
        ),
        (
            json!({"endpoint": "nope", "start": START, "end": END, "destination": "a"}),
            404,
            "",
        ),
        // Inside the retention, but nothing was recorded then.
        (
            json!({"endpoint": "hls", "start": "2026-11-23T10:00:00Z", "end": "2026-11-23T10:10:00Z", "destination": "a"}),
            404,
            "",
        ),
    ];
    for dest in [
        "",
        "/a",
        "a/",
        "a//b",
        "a/../b",
        "a/./b",
        "a b",
        "ä",
        &"x".repeat(201),
    ] {
        let (s, e) = create(
            &o,
            json!({"endpoint": "hls", "start": START, "end": END, "destination": dest}),
            NOW,
        );
        assert_eq!(
            (s, e["field"].as_str()),
            (400, Some("destination")),
            "{dest}: {e}"
        );
    }
    for (body, status, field) in cases {
        let (s, e) = create(&o, body.clone(), NOW);
        assert_eq!(s, status, "{body}: {e}");
        if !field.is_empty() {
            assert_eq!(e["field"], field, "{body}: {e}");
        }
        assert!(e["error"].is_string());
    }
    assert_eq!(
        call(
            &o,
            Method::Get,
            "/api/v1/groups/demo/channels/nope/harvest-jobs",
            None,
            NOW
        )
        .status,
        404
    );
    assert_eq!(
        call(&o, Method::Get, &format!("{JOBS}/unknownjob"), None, NOW).status,
        404
    );
    assert_eq!(call(&o, Method::Put, JOBS, None, NOW).status, 405);
    assert!(block_on(o.objects.list("hv/")).unwrap().is_empty());
    assert!(block_on(o.objects.list("vod/")).unwrap().is_empty());
}

#[test]
fn a_recent_window_waits_for_its_last_segment() {
    let o = archived();
    // Ends 5 s ago: segments up to 15 s (the channel's max segment duration) late may still come.
    let now = T0 + 60_000;
    let (s, job) = create(
        &o,
        job_body("2026-11-23T12:00:41Z", "2026-11-23T12:00:55Z"),
        now,
    );
    assert_eq!(s, 201, "{job}");
    assert_eq!(job["status"], "PENDING");
    assert_eq!(job["progress"]["segments_total"], 0);
    let id = job["id"].as_str().unwrap();
    assert_eq!(poll(&o, id, now + 5_000)["status"], "PENDING");
    let done = poll(&o, id, now + 10_000);
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    assert_eq!(done["progress"]["segments_total"], 7);
}

#[test]
fn a_segment_gone_mid_job_fails_it_and_nothing_plays() {
    let o = archived();
    let (_, job) = create(&o, job_body(START, END), NOW);
    assert_eq!(job["status"], "IN_PROGRESS");
    // Segment 30 (not yet copied) disappears, as if expired.
    let gone: Vec<String> = o
        .objects
        .keys()
        .into_iter()
        .filter(|k| k.starts_with("seg/") && k.split('@').next().unwrap().ends_with("/s/seg30.ts"))
        .collect();
    assert_eq!(gone.len(), 1);
    block_on(o.objects.delete(&gone[0])).unwrap();
    let job = poll(&o, job["id"].as_str().unwrap(), NOW);
    assert_eq!(job["status"], "FAILED", "{job}");
    let reason = job["reason"].as_str().unwrap();
    assert!(
        reason.contains("s/index/30.ts") && reason.contains("expired"),
        "{reason}"
    );
    assert_eq!(
        get(&o, &path_of(job["asset_url"].as_str().unwrap()), NOW).status,
        404
    );
    assert!(block_on(o.objects.list("hv/active/")).unwrap().is_empty());
}

#[test]
fn scheduled_runs_and_the_maintenance_route_advance_jobs() {
    let o = archived();
    let (_, a) = create(&o, job_body(START, END), NOW);
    assert_eq!(a["status"], "IN_PROGRESS");
    block_on(o.scheduled(NOW + 60_000)).unwrap();
    assert_eq!(
        poll(&o, a["id"].as_str().unwrap(), NOW)["status"],
        "SUCCEEDED"
    );

    let (_, b) = create(&o, job_body(START, END), NOW);
    let r = call(&o, Method::Post, "/api/v1/maintenance/harvest", None, NOW);
    assert_eq!(r.status, 200);
    let report = json_of(&r);
    assert_eq!(
        report,
        json!({"jobs": 1, "segments_copied": 9, "finished": 1, "more": false})
    );
    assert_eq!(
        poll(&o, b["id"].as_str().unwrap(), NOW)["status"],
        "SUCCEEDED"
    );
}

#[test]
fn job_keeps_the_endpoint_settings_it_was_made_with() {
    let o = archived();
    let (_, job) = create(&o, job_body(START, END), NOW);
    // A 4 s segment duration would regroup the output; the job keeps its plan and packaging.
    let (s, _) = api(
        &o,
        Method::Patch,
        "/api/v1/groups/demo/channels/live/endpoints/hls",
        Some(json!({"segment_duration": 4, "authorization_code": "secret-code-1234"})),
    );
    assert_eq!(s, 200);
    let done = poll(&o, job["id"].as_str().unwrap(), NOW);
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    assert_eq!(asset_files(&o, &asset_dir(&job)).len(), 36);
}

#[test]
fn hls_cmaf_asset_has_init_and_fragments_equal_to_playback() {
    let o = origin();
    let c = setup(
        &o,
        json!({"name": "cmaf", "protocol": "HLS_CMAF", "time_shift_days": 1}),
    );
    push_fixture_segments(&o, &c);
    let now = T0 + 30_000;
    let body = json!({"endpoint": "cmaf", "start": "2026-11-23T11:59:58Z", "end": "2026-11-23T12:00:02.500Z", "destination": "clips"});
    let (s, job) = create(&o, body, now);
    assert_eq!(s, 201, "{job}");
    assert_eq!(job["status"], "SUCCEEDED", "{job}");
    let files = asset_files(&o, &format!("clips/{}/", job["id"].as_str().unwrap()));
    let names: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
    assert!(names.iter().any(|n| n.contains("video_init_")), "{names:?}");
    assert!(names.iter().any(|n| n.contains("audio_init_")), "{names:?}");
    assert_eq!(
        names.iter().filter(|n| n.ends_with(".m4s")).count(),
        4,
        "{names:?}"
    );
    let q = "start=2026-11-23T11:59:58.000Z&vodend=2026-11-23T12:00:02.500Z";
    for (path, body) in &files {
        let live = get_q(&o, &format!("/out/v1/demo/live/cmaf/{path}"), q, now);
        assert_eq!(live.status, 200, "{path}");
        if path.ends_with(".m3u8") {
            assert_eq!(
                std::str::from_utf8(body).unwrap(),
                plain(&text(&live).replace(&format!("?{q}"), ""))
            );
            if path != "manifest.m3u8" {
                assert!(text(&live).contains("#EXT-X-ENDLIST"));
            }
        } else {
            assert_eq!(body, &live.body, "{path}");
        }
    }
}

/// Object storage whose every call waits once, so two advancers interleave; conditional puts
/// stay atomic as on R2. Counts writes of asset files.
struct Interleaved {
    inner: MemoryObjects,
    asset_writes: Cell<usize>,
}

impl ObjectStore for Interleaved {
    async fn get(&self, key: &str) -> StoreResult<Option<Object>> {
        YieldOnce(false).await;
        self.inner.get(key).await
    }
    async fn put(&self, key: &str, body: &[u8], metadata: &Metadata) -> StoreResult<()> {
        YieldOnce(false).await;
        if key.starts_with("vod/") {
            self.asset_writes.set(self.asset_writes.get() + 1);
        }
        self.inner.put(key, body, metadata).await
    }
    async fn delete(&self, key: &str) -> StoreResult<()> {
        YieldOnce(false).await;
        self.inner.delete(key).await
    }
    async fn list(&self, prefix: &str) -> StoreResult<Vec<ObjectInfo>> {
        YieldOnce(false).await;
        self.inner.list(prefix).await
    }
    async fn put_if_version(
        &self,
        key: &str,
        body: &[u8],
        metadata: &Metadata,
        expected: Option<&str>,
    ) -> StoreResult<Option<String>> {
        YieldOnce(false).await;
        // Check and write without waiting in between: atomic, like R2's onlyIf.
        block_on(self.inner.put_if_version(key, body, metadata, expected))
    }
}

/// Runs two futures to completion, polling them in turn.
fn both<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let (mut a, mut b) = (pin!(a), pin!(b));
    let mut cx = Context::from_waker(Waker::noop());
    let (mut ra, mut rb) = (None, None);
    while ra.is_none() || rb.is_none() {
        if ra.is_none() {
            if let Poll::Ready(v) = a.as_mut().poll(&mut cx) {
                ra = Some(v);
            }
        }
        if rb.is_none() {
            if let Poll::Ready(v) = b.as_mut().poll(&mut cx) {
                rb = Some(v);
            }
        }
    }
    (ra.unwrap(), rb.unwrap())
}

#[test]
fn concurrent_advancers_neither_double_copy_nor_lose_progress() {
    let o = archived();
    // A PENDING job (window not settled at creation), so both advancers also race to plan it.
    let (_, job) = create(&o, job_body(START, END), T0 + 70_000);
    assert_eq!(job["status"], "PENDING");
    let id = job["id"].as_str().unwrap().to_owned();
    let Origin {
        kv,
        objects,
        config,
        random,
        sleep,
        ..
    } = o;
    let o: Origin<MemoryKv, Interleaved> = Origin::new(
        kv,
        Interleaved {
            inner: objects,
            asset_writes: Cell::new(0),
        },
        config,
        random,
        sleep,
    );
    let path = format!("{JOBS}/{id}");
    let mut last = Value::Null;
    for round in 0..6 {
        let now = NOW + round * 1000;
        let (a, b) = both(async { o.handle(admin_get(&path), now).await }, async {
            o.run_harvests(now, edgepack::harvest::REQUEST_OP_BUDGET)
                .await
        });
        assert_eq!(a.status, 200, "{}", text(&a));
        b.unwrap();
        last = json_of(&a);
    }
    let r = both(o.handle(admin_get(&path), NOW + 10_000), async {}).0;
    last = if r.status == 200 { json_of(&r) } else { last };
    assert_eq!(last["status"], "SUCCEEDED", "{last}");
    assert_eq!(last["progress"]["segments_done"], 34);
    // 34 segments and 2 manifests, each written once.
    assert_eq!(o.objects.asset_writes.get(), 36);
}

fn admin_get(path: &str) -> Request {
    Request::new(Method::Get, path).with_header("authorization", &format!("Bearer {TOKEN}"))
}

#[test]
fn dash_asset_is_a_static_mpd_with_every_segment_of_its_timeline() {
    let o = origin();
    let c = setup(
        &o,
        json!({"name": "dash", "protocol": "DASH", "time_shift_days": 1}),
    );
    push_fixture_segments(&o, &c);
    let now = T0 + 30_000;
    let body = json!({"endpoint": "dash", "start": "2026-11-23T11:59:58Z", "end": "2026-11-23T12:00:02.500Z", "destination": "dash"});
    let (s, job) = create(&o, body, now);
    assert_eq!(s, 201, "{job}");
    assert_eq!(job["status"], "SUCCEEDED", "{job}");
    assert!(job["asset_url"]
        .as_str()
        .unwrap()
        .ends_with("/manifest.mpd"));
    let mpd = get(&o, &path_of(job["asset_url"].as_str().unwrap()), now);
    assert_eq!(mpd.status, 200);
    assert_eq!(mpd.header("content-type"), Some("application/dash+xml"));
    let text = text(&mpd).to_owned();
    assert!(
        text.contains(r#"type="static""#) && !text.contains("vodend"),
        "{text}"
    );
    // The storage-id directory (with the run's clock on media segments) stays out of the asset.
    assert!(!text.contains('~'), "{text}");
    let files = asset_files(&o, &format!("dash/{}/", job["id"].as_str().unwrap()));
    let names: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        names.iter().filter(|n| n.contains("_init_")).count(),
        2,
        "{names:?}"
    );
    assert_eq!(
        names.iter().filter(|n| n.ends_with(".m4s")).count(),
        4,
        "{names:?}"
    );
    let q = "start=2026-11-23T11:59:58.000Z&vodend=2026-11-23T12:00:02.500Z";
    for (path, body) in &files {
        if path.ends_with(".mpd") {
            continue;
        }
        let live = get_q(&o, &format!("/out/v1/demo/live/dash/{path}"), q, now);
        assert_eq!(live.status, 200, "{path}");
        assert_eq!(body, &live.body, "{path}");
    }
}
