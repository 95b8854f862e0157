//! Time-shift: archive at prune, `start`/`end`/`vodend`/`offset` playback, expiry.

mod common;

use common::*;
use edgepack::{Method, Request};
use serde_json::json;

const PL: &str = "/out/v1/demo/live/hls/s/index/media.m3u8";

/// 80 s of 2 s segments with a 30 s live timeline and a day of time-shift.
fn archived() -> TestOrigin {
    let o = origin();
    let c = setup(&o, json!({"name": "hls", "time_shift_days": 1}));
    let (s, ch) = api(
        &o,
        Method::Patch,
        "/api/v1/groups/demo/channels/live",
        Some(json!({"max_playlist_duration": 30})),
    );
    assert_eq!(s, 200);
    assert_eq!(ch["archive_retention"], 86_400);
    push_live(&o, 1, &c, "s", 40);
    o
}

fn at(o: &TestOrigin, path_query: &str, now: u64) -> edgepack::Response {
    let (path, query) = path_query.split_once('?').unwrap_or((path_query, ""));
    let mut req = Request::new(Method::Get, path);
    req.query = query.to_owned();
    send(o, req, now)
}

/// Segment numbers listed by a playlist.
fn listed(body: &str) -> Vec<u64> {
    plain(body)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split(['.', '?']).next().unwrap().parse().unwrap())
        .collect()
}

const NOW: u64 = T0 + 80_000;

#[test]
fn retention_follows_the_endpoints() {
    let o = archived();
    let ep = "/api/v1/groups/demo/channels/live/endpoints";
    assert_eq!(
        api(
            &o,
            Method::Post,
            ep,
            Some(json!({"name": "long", "time_shift_days": 7}))
        )
        .0,
        201
    );
    assert_eq!(
        api(&o, Method::Get, "/api/v1/groups/demo/channels/live", None).1["archive_retention"],
        7 * 86_400
    );
    assert_eq!(
        api(
            &o,
            Method::Post,
            ep,
            Some(json!({"name": "x", "time_shift_days": 31}))
        )
        .0,
        400
    );
    assert_eq!(api(&o, Method::Delete, &format!("{ep}/long"), None).0, 204);
    assert_eq!(
        api(&o, Method::Get, "/api/v1/groups/demo/channels/live", None).1["archive_retention"],
        86_400
    );
}

#[test]
fn pruned_segments_go_to_the_archive() {
    let o = archived();
    let keys = o.objects.keys();
    assert_eq!(
        keys.iter().filter(|k| k.starts_with("seg/")).count(),
        40,
        "nothing deleted"
    );
    assert!(keys.iter().any(|k| k.starts_with("arc/")));
    // The live playlist is unchanged by time-shift.
    let live = text(&at(&o, PL, NOW)).to_owned();
    assert!(!live.contains("PLAYLIST-TYPE") && !live.contains("ENDLIST"));
    assert_eq!(listed(&live).last(), Some(&39));
}

#[test]
fn vod_window_from_the_archive() {
    let o = archived();
    // Segment i starts at T0 - 1.99 s + 2 s * i (program date time from arrival).
    let q = "start=2026-11-23T12:00:10Z&vodend=2026-11-23T12:00:30Z";
    let r = at(&o, &format!("{PL}?{q}"), NOW);
    assert_eq!(r.status, 200, "{}", text(&r));
    let body = text(&r);
    assert!(
        body.contains("#EXT-X-PLAYLIST-TYPE:VOD\n") && body.ends_with("#EXT-X-ENDLIST\n"),
        "{body}"
    );
    // The segments whose middle is in the window: 6 (10.01-12.01 s) .. 15 (28.01-30.01 s).
    assert_eq!(listed(body), (6..=15).collect::<Vec<_>>());
    assert!(
        body.lines()
            .filter(|l| !l.starts_with('#'))
            .all(|l| l.ends_with(&format!("?{q}"))),
        "{body}"
    );
    // Archived segments serve their bytes under the window's URLs.
    let seg = at(&o, &format!("/out/v1/demo/live/hls/s/index/6.ts?{q}"), NOW);
    assert_eq!((seg.status, seg.body.clone()), (200, ts(2, 6)));
    // The master carries the window too.
    let master = text(&at(
        &o,
        &format!("/out/v1/demo/live/hls/manifest.m3u8?{q}"),
        NOW,
    ))
    .to_owned();
    assert!(
        master.contains(&format!("s/index/media.m3u8?{q}")),
        "{master}"
    );
}

#[test]
fn offset_and_event_windows() {
    let o = archived();
    let body = text(&at(&o, &format!("{PL}?offset=60"), NOW)).to_owned();
    let seqs = listed(&body);
    assert_eq!(seqs.last(), Some(&9), "{body}");
    assert!(!body.contains("ENDLIST"));
    let body = text(&at(&o, &format!("{PL}?start=2026-11-23T12:01:10Z"), NOW)).to_owned();
    assert!(
        body.contains("#EXT-X-PLAYLIST-TYPE:EVENT\n") && !body.contains("ENDLIST"),
        "{body}"
    );
    assert_eq!(listed(&body).last(), Some(&39));
}

#[test]
fn bad_and_outside_windows() {
    let o = archived();
    let r = at(
        &o,
        &format!("{PL}?start=2026-11-23T12:00:10Z&offset=5"),
        NOW,
    );
    assert_eq!(r.status, 400);
    assert_eq!(at(&o, &format!("{PL}?start=noon"), NOW).status, 400);
    let r = at(
        &o,
        &format!("{PL}?start=2026-11-22T12:00:00Z&vodend=2026-11-22T12:10:00Z"),
        NOW,
    );
    assert_eq!(r.status, 404);
    assert!(text(&r).contains("retained from"), "{}", text(&r));
    // The master answers as its playlists do.
    let r = at(
        &o,
        "/out/v1/demo/live/hls/manifest.m3u8?start=2026-11-22T12:00:00Z&vodend=2026-11-22T12:10:00Z",
        NOW,
    );
    assert_eq!(r.status, 404);
    assert!(text(&r).contains("retained from"), "{}", text(&r));
    let r = at(
        &o,
        "/out/v1/demo/live/hls/manifest.m3u8?start=2026-11-23T12:00:10Z&vodend=2026-11-23T12:00:30Z",
        NOW,
    );
    assert_eq!(r.status, 200, "{}", text(&r));
    let (s, _) = api(
        &o,
        Method::Post,
        "/api/v1/groups/demo/channels/live/endpoints",
        Some(json!({"name": "dash", "protocol": "DASH"})),
    );
    assert_eq!(s, 201);
    let r = at(
        &o,
        "/out/v1/demo/live/dash/manifest.mpd?start=2026-11-22T12:00:00Z&vodend=2026-11-22T12:10:00Z",
        NOW,
    );
    assert_eq!(r.status, 404, "{}", text(&r));
    // An offset of any size is a clear answer, never an overflow.
    let r = at(&o, &format!("{PL}?offset=18446744073709551615"), NOW);
    assert_eq!(r.status, 404, "{}", text(&r));
}

#[test]
fn expiry_removes_archived_content_past_retention_only() {
    let o = archived();
    let run = |now: u64| {
        let req = Request::new(Method::Post, "/api/v1/maintenance/expire")
            .with_header("authorization", &format!("Bearer {TOKEN}"));
        let r = send(&o, req, now);
        assert_eq!(r.status, 200);
        serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()
    };
    // Within retention nothing goes.
    assert_eq!(run(NOW + 3_600_000)["segments_deleted"], 0);
    // 40 segments, 15 kept live: 20 archived in two batches of ten, 20 still live.
    let report = run(NOW + 2 * 86_400_000);
    assert_eq!(report["segments_deleted"], 20, "{report}");
    let keys = o.objects.keys();
    assert!(!keys.iter().any(|k| k.starts_with("arc/")));
    assert_eq!(
        keys.iter().filter(|k| k.starts_with("seg/")).count(),
        20,
        "live segments stay"
    );
    assert_eq!(at(&o, PL, NOW).status, 200);
    // The origin's scheduled entry point does the same work.
    assert_eq!(
        block_on(o.scheduled(NOW + 3 * 86_400_000))
            .unwrap()
            .segments_deleted,
        0
    );
}

#[test]
fn a_deleted_channel_leaves_storage_in_scheduled_runs() {
    let o = archived();
    // A second channel whose data must stay.
    let (s, ch) = api(
        &o,
        Method::Post,
        "/api/v1/groups/demo/channels",
        Some(json!({"name": "other"})),
    );
    assert_eq!(s, 201, "{ch}");
    let other_id = channel_id(&o, "other");
    for key in [
        format!("seg/{other_id}/1/v/seg0.ts@0000000000001"),
        format!("idx/{other_id}/1/v.json"),
        "vod/shows/job/manifest.m3u8".to_owned(),
    ] {
        block_on(edgepack::store::ObjectStore::put(
            &o.objects,
            &key,
            b"x",
            &Default::default(),
        ))
        .unwrap();
    }
    let keys_of = |o: &TestOrigin, id: &str| -> Vec<String> {
        o.objects
            .keys()
            .into_iter()
            .filter(|k| k.contains(id))
            .collect()
    };
    let id = channel_id(&o, "live");
    assert!(keys_of(&o, &id).len() > 40, "{:?}", keys_of(&o, &id));
    assert!(
        o.objects.keys().iter().any(|k| k == INDEX),
        "the channel has an index"
    );
    let before_others: Vec<String> = o
        .objects
        .keys()
        .into_iter()
        .filter(|k| !k.contains(&id) && k != INDEX)
        .collect();
    let (s, _) = api(
        &o,
        Method::Delete,
        "/api/v1/groups/demo/channels/live/endpoints/hls",
        None,
    );
    assert_eq!(s, 204);
    let req = Request::new(Method::Delete, "/api/v1/groups/demo/channels/live")
        .with_header("authorization", &format!("Bearer {TOKEN}"));
    assert_eq!(send(&o, req, NOW).status, 204);
    // Runs delete in bounded batches until nothing of the channel is left but its marker.
    let mut runs = 0;
    loop {
        let report = block_on(o.scheduled(NOW + 60_000)).unwrap();
        runs += 1;
        assert!(report.deleted_channel_objects <= 250, "{report:?}");
        if report.deleted_channel_objects == 0 {
            break;
        }
        assert!(runs < 10, "{report:?}");
    }
    assert_eq!(keys_of(&o, &id), vec![format!("gone/{id}")]);
    let heartbeats = block_on(edgepack::store::KvStore::list(&o.kv, &format!("hb/{id}/"))).unwrap();
    assert!(heartbeats.is_empty(), "heartbeats go: {heartbeats:?}");
    // The marker outlives the grace period (late uploads from other locations), then goes.
    let report = block_on(o.scheduled(NOW + 3_600_000)).unwrap();
    assert_eq!(report.deleted_channels_purged, 1, "{report:?}");
    assert!(keys_of(&o, &id).is_empty());
    // The other channel, stored without a rendition index, got one from the runs.
    let other_index = "rix/demo/other.json";
    let after_others: Vec<String> = o
        .objects
        .keys()
        .into_iter()
        .filter(|k| !k.contains(&id) && k != INDEX && k != other_index)
        .collect();
    assert_eq!(
        after_others, before_others,
        "other channels keep their data"
    );
    assert!(o.objects.keys().iter().any(|k| k == other_index));
    // The rendition index, keyed by the channel's names, went with the deletion.
    assert!(!o.objects.keys().iter().any(|k| k == INDEX));
}

/// The deleted channel's rendition index (docs/round-trips.md, "The rendition index").
const INDEX: &str = "rix/demo/live.json";

/// The internal id of a channel of group `demo` (its storage key prefix).
fn channel_id(o: &TestOrigin, channel: &str) -> String {
    let raw = block_on(edgepack::store::KvStore::get(
        &o.kv,
        &format!("cfg/c/demo/{channel}"),
    ))
    .unwrap()
    .unwrap();
    let config: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    config["id"].as_str().unwrap().to_owned()
}

/// Lets the ingest request it serves stop before each store call while `paused`.
#[derive(Clone, Default)]
struct Pausing(std::rc::Rc<std::cell::Cell<bool>>);

impl edgepack::testing::Observer for Pausing {
    fn start(&self, _op: edgepack::testing::Op, _key: &str) {}
    async fn delay(&self) {
        if self.0.get() {
            YieldOnce(false).await;
        }
    }
}

/// Pruning into the archive never hides a segment from a time-shifted playlist: one is
/// requested between every two store calls of every ingest request, while segments move from
/// the live timeline to the archive, and always lists the whole window.
#[test]
fn a_time_shifted_playlist_lists_every_segment_while_ingest_prunes() {
    use edgepack::testing::Observed;
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    let o = origin();
    let creds = setup(&o, json!({"name": "hls", "time_shift_days": 1}));
    let patch = json!({"max_playlist_duration": 30});
    let channel = "/api/v1/groups/demo/channels/live";
    assert_eq!(api(&o, Method::Patch, channel, Some(patch)).0, 200);
    let paused = Pausing::default();
    let o = wrap_stores(
        o,
        |kv| kv,
        |inner| Observed {
            inner,
            observer: paused.clone(),
        },
    );
    // Segments 1-10 (their middles fall in the window), pruned from the live timeline of
    // 15 segments by segment 26 at the latest.
    let window = "start=2026-11-23T12:00:00Z&vodend=2026-11-23T12:00:20Z";
    let mut checks = 0;
    let mut check = |now: u64| {
        let mut req = Request::new(Method::Get, PL);
        req.query = window.to_owned();
        let r = block_on(o.handle(req, now));
        assert_eq!(r.status, 200, "{}", text(&r));
        assert_eq!(listed(text(&r)), (1..=10).collect::<Vec<_>>());
        checks += 1;
    };
    for i in 0..40u64 {
        let now = T0 + i * 2000;
        let mut files = vec![(format!("s/seg{i}.ts"), ts(2, i as u8))];
        let first = i.saturating_sub(5);
        files.push((
            "s/index.m3u8".to_owned(),
            media_playlist(first, i - first + 1).into_bytes(),
        ));
        for (path, body) in files {
            let req = Request::new(Method::Put, &format!("/in/v1/demo/live/1/{path}"))
                .with_header("authorization", &basic(&creds.0, &creds.1))
                .with_body(body);
            let mut ingest = std::pin::pin!(o.handle(req, now + 10));
            let status = loop {
                paused.0.set(true);
                let polled = ingest
                    .as_mut()
                    .poll(&mut Context::from_waker(Waker::noop()));
                paused.0.set(false);
                match polled {
                    Poll::Ready(r) => break r.status,
                    Poll::Pending if i > 10 => check(now + 20),
                    Poll::Pending => {}
                }
            };
            assert!(status == 200 || status == 201, "{path}: {status}");
        }
    }
    assert!(checks > 100, "{checks} checks");
    let archived = o.objects.inner.keys();
    assert!(archived.iter().any(|k| k.starts_with("arc/")), "archived");
}
