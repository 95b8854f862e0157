use super::protocol::{decode_response, encode_response, MAX_HEAD_BYTES};
use super::rows::row_of;
use super::*;
use crate::http::{Method, Request, Response};
use crate::stats::{DataPoint, IngestPoint};
use crate::store::{MemoryObjects, Metadata, ObjectInfo, ObjectStore};
use futures_util::FutureExt;

/// The memory stores answer at once.
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    f.now_or_never().expect("memory stores never wait")
}

const TIMELINE_1: &str = "idx/ch1/1/v0.json";
const TIMELINE_2: &str = "idx/ch1/2/v0.json";
const CLAIM: &str = "fa/ch1/v0/00000000000000000007";
const LOG: &str = "switch/ch1.json";

#[test]
fn a_renditions_timelines_and_claims_share_a_row() {
    assert_eq!(row_of(TIMELINE_1), "r/v0");
    assert_eq!(row_of(TIMELINE_2), "r/v0");
    assert_eq!(row_of(CLAIM), "r/v0");
    assert_eq!(row_of("idx/ch1/1/audio/en.json"), "r/audio/en");
    assert_eq!(row_of("fa/ch1/audio/en/00000000000000000001"), "r/audio/en");
    assert_eq!(row_of(LOG), "switch");
    for key in [TIMELINE_1, CLAIM, LOG, "idx/ch1/", "fa/ch1/v0/"] {
        assert_eq!(channel_of(key), Some("ch1"), "{key}");
    }
    assert_eq!(channel_of("seg/ch1/1/a.ts"), None);
    assert_eq!(channel_of("idx/"), None);
    assert!(is_state_key(CLAIM) && !is_state_key("master/ch1/1.json"));
    assert!(spans_both("") && spans_both("i") && !spans_both("idx/") && !spans_both("seg/"));
}

fn store<'a>(
    state: &'a ChannelState<&'a MemoryRows>,
    objects: &'a MemoryObjects,
) -> StateObjects<'a, &'a MemoryRows, MemoryObjects> {
    StateObjects { state, objects }
}

#[test]
fn an_object_restarted_from_its_rows_answers_the_same() {
    let rows = MemoryRows::default();
    let r2 = MemoryObjects::default();
    let state = ChannelState::new(&rows);
    let s = store(&state, &r2);
    let none = Metadata::new();
    let v1 = block_on(s.put_if_version(TIMELINE_1, b"[1]", &none, None)).unwrap();
    assert!(v1.is_some());
    // Created only while absent; replaced only at the version read.
    assert_eq!(
        block_on(s.put_if_version(TIMELINE_1, b"[9]", &none, None)),
        Ok(None)
    );
    let v2 = block_on(s.put_if_version(TIMELINE_1, b"[1,2]", &none, v1.as_deref())).unwrap();
    assert!(v2.is_some());
    block_on(s.put(CLAIM, b"{\"input\":1}", &none)).unwrap();
    block_on(s.put(LOG, b"{}", &none)).unwrap();
    block_on(s.put("master/ch1/1.json", b"{}", &none)).unwrap();
    assert_eq!(
        state.flush(),
        Ok(2),
        "the rendition's row and the switch log's"
    );
    assert_eq!(rows.written.get(), 2);
    assert!(
        r2.keys() == vec!["master/ch1/1.json".to_owned()],
        "only non-state in R2"
    );

    let again = ChannelState::new(&rows);
    let s2 = store(&again, &r2);
    for key in [TIMELINE_1, CLAIM, LOG] {
        assert_eq!(block_on(s2.get(key)), block_on(s.get(key)), "{key}");
    }
    let (_, v) = block_on(s2.get_versioned(TIMELINE_1)).unwrap().unwrap();
    assert_eq!(Some(v), v2, "versions survive a restart");
    let listed: Vec<String> = block_on(s2.list("fa/ch1/"))
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    assert_eq!(listed, vec![CLAIM.to_owned()]);
    // A released claim is a change of its rendition's row.
    block_on(s2.delete(CLAIM)).unwrap();
    assert_eq!(again.flush(), Ok(1));
    assert_eq!(rows.load().unwrap().len(), 2);
}

#[test]
fn state_in_r2_from_before_is_read_once_then_kept_in_rows() {
    let rows = MemoryRows::default();
    let r2 = MemoryObjects::default();
    let none = Metadata::new();
    for (k, v) in [(TIMELINE_1, "[1]"), (CLAIM, "{}"), (LOG, "{\"a\":1}")] {
        block_on(r2.put(k, v.as_bytes(), &none)).unwrap();
    }
    let state = ChannelState::new(&rows);
    let s = store(&state, &r2);
    assert_eq!(block_on(s.get(TIMELINE_2)).unwrap(), None);
    assert_eq!(
        block_on(s.get(TIMELINE_1)).unwrap().map(|o| o.body),
        Some(b"[1]".to_vec())
    );
    assert_eq!(state.flush(), Ok(2));
    // R2 is not read again, by this object or by one restarted from the rows.
    block_on(r2.put(LOG, b"{\"changed\":1}", &none)).unwrap();
    for st in [&state, &ChannelState::new(&rows)] {
        let got = block_on(store(st, &r2).get(LOG)).unwrap().map(|o| o.body);
        assert_eq!(got, Some(b"{\"a\":1}".to_vec()));
    }
}

#[test]
fn a_failed_row_write_drops_the_unwritten_change() {
    let rows = MemoryRows::default();
    let r2 = MemoryObjects::default();
    let state = ChannelState::new(&rows);
    let s = store(&state, &r2);
    block_on(s.put(TIMELINE_1, b"[1]", &Metadata::new())).unwrap();
    state.flush().unwrap();
    block_on(s.put(TIMELINE_1, b"[1,2]", &Metadata::new())).unwrap();
    rows.failing.set(true);
    assert!(state.flush().is_err());
    rows.failing.set(false);
    let body = block_on(s.get(TIMELINE_1)).unwrap().map(|o| o.body);
    assert_eq!(body, Some(b"[1]".to_vec()), "what the rows hold");
}

#[test]
fn frames_round_trip_and_refuse_what_is_cut_or_too_large() {
    let mut request = Request::new(Method::Put, "/in/v1/demo/live/1/v/index.m3u8")
        .with_header("authorization", "Basic eA==")
        .with_body(b"#EXTM3U\n".to_vec());
    request.client_ip = "192.0.2.1".parse().ok();
    let uploads = vec![ObjectInfo {
        key: "seg/ch1/1/v/seg1.ts".into(),
        size: 376,
        metadata: [("pts".to_owned(), "900000".to_owned())].into(),
    }];
    let forwarded = Forwarded {
        request,
        uploads,
        stats: true,
    };
    let bytes = forwarded.encode().unwrap();
    let back = Forwarded::decode(&bytes).unwrap();
    assert_eq!(back.uploads, forwarded.uploads);
    assert_eq!(back.request.path, forwarded.request.path);
    assert_eq!(back.request.body, forwarded.request.body);
    assert_eq!(back.request.headers, forwarded.request.headers);
    assert_eq!(back.request.client_ip, forwarded.request.client_ip);
    assert_eq!(back.request.method, Method::Put);
    assert!(back.stats);
    let response = Response::new(201).with_body("text/plain", "ok");
    let point = DataPoint::Ingest(IngestPoint {
        at_ms: 1,
        group: "demo".into(),
        channel: "live".into(),
        input: 1,
        rendition: "v".into(),
        bytes: 376,
        duration_ms: 2000,
    });
    let committed = Committed {
        response: response.clone(),
        points: vec![point.clone()],
    };
    let c = decode_response(&encode_response(&committed).unwrap()).unwrap();
    let r = c.response;
    assert_eq!(
        (r.status, r.body, r.headers, c.points),
        (201, response.body, response.headers, vec![point])
    );
    let op = StateOp::Get {
        keys: vec![LOG.into()],
    };
    assert_eq!(StateOp::decode(&op.encode().unwrap()).unwrap(), op);

    assert!(Forwarded::decode(&bytes[..3]).is_err());
    assert!(Forwarded::decode(&bytes[..10]).is_err());
    let mut huge = u32::try_from(MAX_HEAD_BYTES + 1)
        .unwrap()
        .to_be_bytes()
        .to_vec();
    huge.extend_from_slice(b"{}");
    assert!(StateOp::decode(&huge).is_err());
}
