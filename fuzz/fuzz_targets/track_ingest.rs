//! The per-track (DASH-IF CMAF ingest) path through `Origin` over memory stores: a CMAF channel
//! gets a real track (ffmpeg's DASH init and first segment), then the input is POSTed as that
//! track's next media segment and as another track's init segment (followed by the real
//! segment), and every endpoint type is read back. Never panics; every answer is 2xx or 4xx; a
//! refused upload leaves the served playlists byte-identical.
//! The set-up (and its playlists read back) runs once; each input starts on a copy of it. Reads
//! are made again only when the input changed the stores: an origin whose stores equal the
//! set-up's answers every read as the set-up did at the same time (`Snapshot::stores_unchanged`),
//! and those answers were checked once, at the set-up.
#![no_main]

use edgepack::testing::{
    memory_channel, reset_counter_random, send_hostile, MemoryOrigin, Snapshot,
};
use edgepack::{Method, Request, Response};
use libfuzzer_sys::fuzz_target;

const TOKEN: &str = "fuzz-admin-token";
/// 2026-11-23T12:00:00Z
const T0: u64 = 1_795_435_200_000;
const INIT: &[u8] = include_bytes!("../../shared/tests/fixtures/media/dash_init_0.mp4");
const SEGMENT: &[u8] = include_bytes!("../../shared/tests/fixtures/media/dash_0_1.m4s");
const ENDPOINTS: [(&str, &str); 3] = [("h", "HLS"), ("m", "HLS_CMAF"), ("d", "DASH")];

fn send(o: &MemoryOrigin, req: Request, now: u64) -> Response {
    send_hostile(o, req, now)
}

fn post(o: &MemoryOrigin, auth: &str, path: &str, body: &[u8], now: u64) -> Response {
    let req = Request::new(Method::Post, &format!("/in/v1/g/c/1/{path}"))
        .with_header("authorization", auth)
        .with_body(body.to_vec());
    send(o, req, now)
}

fn get(o: &MemoryOrigin, path: &str, now: u64) -> Response {
    send(
        o,
        Request::new(Method::Get, &format!("/out/v1/g/c/{path}")),
        now,
    )
}

/// Every endpoint's master and the playlists and segments it names, read at `now`; the
/// playlists' texts, to compare.
fn read_all(o: &MemoryOrigin, now: u64) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (name, _) in ENDPOINTS {
        let manifest = if name == "d" {
            "manifest.mpd"
        } else {
            "manifest.m3u8"
        };
        let master = get(o, &format!("{name}/{manifest}"), now);
        out.push(master.body.clone());
        if master.status != 200 || name == "d" {
            continue;
        }
        let text = String::from_utf8(master.body).expect("master is UTF-8");
        for uri in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let media = get(o, &format!("{name}/{uri}"), now);
            out.push(media.body.clone());
            let dir = uri.rsplit_once('/').map_or("", |(d, _)| d);
            let text = String::from_utf8(media.body).expect("playlist is UTF-8");
            for seg in text
                .lines()
                .filter(|l| !l.starts_with('#') && !l.is_empty())
            {
                get(o, &format!("{name}/{dir}/{seg}"), now);
            }
        }
    }
    out
}

/// The channel with its real track, and what it serves.
struct Start {
    origin: Snapshot,
    auth: String,
    /// The playlists served at `T0 + 4_000`.
    before: Vec<Vec<u8>>,
}

thread_local! {
    static START: Start = {
        reset_counter_random();
        let (o, auth) = memory_channel(TOKEN, "CMAF", &ENDPOINTS, T0);
        assert_eq!(post(&o, &auth, "Streams(v.cmfv)", INIT, T0).status, 201);
        assert_eq!(
            post(&o, &auth, "Streams(v.cmfv)", SEGMENT, T0 + 2_000).status,
            201
        );
        let before = read_all(&o, T0 + 4_000);
        let origin = Snapshot::take(&o);
        // What an input that leaves the stores as they are reads at the end (checked here once).
        read_all(&origin.origin(), T0 + 5_000);
        Start {
            origin,
            auth,
            before,
        }
    };
}

fuzz_target!(|data: &[u8]| {
    START.with(|start| run(start, data));
});

fn run(start: &Start, data: &[u8]) {
    let o = &start.origin.origin();
    let auth = &start.auth;
    let r = post(o, auth, "Streams(v.cmfv)", data, T0 + 4_000);
    // Unchanged stores answer as before (Snapshot::stores_unchanged): read again only when
    // the refused upload wrote something.
    if r.status >= 400 && !start.origin.stores_unchanged(o) {
        assert_eq!(
            read_all(o, T0 + 4_000),
            start.before,
            "a refused upload changed the output"
        );
    }
    // The input as another track's header, and the real segment after it.
    post(o, auth, "Streams(w.cmfv)", data, T0 + 4_100);
    post(o, auth, "Streams(w.cmfv)", SEGMENT, T0 + 4_200);
    if !start.origin.stores_unchanged(o) {
        read_all(o, T0 + 5_000);
    }
}
