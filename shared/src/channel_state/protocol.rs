//! What the Worker and a channel's object send each other. Two kinds of request:
//!
//! - a **forwarded ingest request** ([`Forwarded`]): the encoder's request as the Worker
//!   received it, with the uploads the Worker's isolate remembers for the input (so the
//!   object needs no `head` for them), answered with the core's response and the statistics
//!   the commit recorded, which the Worker records in its own backend ([`Committed`]);
//! - a **state operation** ([`StateOp`]): reads of a round's keys in one request, a listing,
//!   a write, a delete, or the purge of a deleted channel, answered with a [`StateAnswer`].
//!
//! Both are framed as a 4-byte big-endian length, that many bytes of JSON, then the body.

use crate::http::{Method, Request, Response};
use crate::stats::DataPoint;
use crate::store::{Metadata, ObjectInfo, StoreError, StoreResult};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// Largest JSON head of a frame (the uploads of a forwarded request, a batch of keys).
pub const MAX_HEAD_BYTES: usize = 1024 * 1024;

/// The path a Worker sends forwarded ingest requests to, inside the object.
pub const COMMIT_PATH: &str = "/commit";
/// The path a Worker sends state operations to, inside the object.
pub const STATE_PATH: &str = "/state";

fn frame(head: &impl Serialize, body: &[u8]) -> StoreResult<Vec<u8>> {
    let head = serde_json::to_vec(head).map_err(|e| StoreError(format!("frame: {e}")))?;
    let len = u32::try_from(head.len())
        .ok()
        .filter(|n| (*n as usize) <= MAX_HEAD_BYTES)
        .ok_or_else(|| StoreError("frame head too large".into()))?;
    let mut out = Vec::with_capacity(4 + head.len() + body.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&head);
    out.extend_from_slice(body);
    Ok(out)
}

fn unframe<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> StoreResult<(T, &[u8])> {
    let bad = |why: &str| StoreError(format!("frame: {why}"));
    let len: [u8; 4] = bytes
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| bad("short"))?;
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_HEAD_BYTES {
        return Err(bad("head too large"));
    }
    let head = bytes.get(4..4 + len).ok_or_else(|| bad("short head"))?;
    let head = serde_json::from_slice(head).map_err(|e| bad(&e.to_string()))?;
    Ok((head, &bytes[4 + len..]))
}

#[derive(Serialize, Deserialize)]
struct RequestHead {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    client_ip: Option<IpAddr>,
    origin: String,
    uploads: Vec<ObjectInfo>,
    #[serde(default)]
    stats: bool,
}

/// An ingest request the Worker forwards to its channel's object.
#[derive(Debug, Clone)]
pub struct Forwarded {
    pub request: Request,
    /// Uploads of the input the Worker's isolate created and remembers (docs/ingest.md,
    /// "Isolate memory").
    pub uploads: Vec<ObjectInfo>,
    /// Whether the Worker keeps statistics: the object then returns the data points the
    /// commit recorded ([`Committed::points`]).
    pub stats: bool,
}

impl Forwarded {
    pub fn encode(&self) -> StoreResult<Vec<u8>> {
        let r = &self.request;
        let head = RequestHead {
            method: method_name(r.method).to_owned(),
            path: r.path.clone(),
            query: r.query.clone(),
            headers: r.headers.clone(),
            client_ip: r.client_ip,
            origin: r.origin.clone(),
            uploads: self.uploads.clone(),
            stats: self.stats,
        };
        frame(&head, &r.body)
    }

    pub fn decode(bytes: &[u8]) -> StoreResult<Forwarded> {
        let (head, body): (RequestHead, _) = unframe(bytes)?;
        let mut request = Request::new(Method::parse(&head.method), &head.path);
        request.query = head.query;
        request.headers = head.headers;
        request.client_ip = head.client_ip;
        request.origin = head.origin;
        request.body = body.to_vec();
        Ok(Forwarded {
            request,
            uploads: head.uploads,
            stats: head.stats,
        })
    }
}

fn method_name(m: Method) -> &'static str {
    match m {
        Method::Get => "GET",
        Method::Head => "HEAD",
        Method::Put => "PUT",
        Method::Post => "POST",
        Method::Patch => "PATCH",
        Method::Delete => "DELETE",
        Method::Options => "OPTIONS",
        Method::Other => "OTHER",
    }
}

#[derive(Serialize, Deserialize)]
struct ResponseHead {
    status: u16,
    headers: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    points: Vec<DataPoint>,
}

/// The object's answer to a [`Forwarded`] request: the core's response, and the data points
/// the commit recorded (docs/stats.md, "Channel state in a Durable Object"). The object keeps
/// no statistics of its own: the Worker records these in its backend, so the stats API, which
/// runs in the Worker, sees them whatever the backend (`memory` included).
#[derive(Debug, Clone)]
pub struct Committed {
    pub response: Response,
    pub points: Vec<DataPoint>,
}

pub fn encode_response(c: &Committed) -> StoreResult<Vec<u8>> {
    let head = ResponseHead {
        status: c.response.status,
        headers: c.response.headers.clone(),
        points: c.points.clone(),
    };
    frame(&head, &c.response.body)
}

pub fn decode_response(bytes: &[u8]) -> StoreResult<Committed> {
    let (head, body): (ResponseHead, _) = unframe(bytes)?;
    Ok(Committed {
        response: Response {
            status: head.status,
            headers: head.headers,
            body: body.to_vec(),
            held_body: None,
        },
        points: head.points,
    })
}

/// A state operation on a channel's object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum StateOp {
    /// The keys one read round needs.
    Get {
        keys: Vec<String>,
    },
    List {
        prefix: String,
    },
    Put {
        key: String,
        body: String,
        metadata: Metadata,
    },
    Delete {
        key: String,
    },
    /// Removes everything the object holds for deleted channel `channel`: its rows, and the
    /// copies of its state in the object store from before the object (docs/storage.md).
    Purge {
        channel: String,
    },
}

/// A state key's body and metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateValue {
    pub body: String,
    #[serde(default)]
    pub metadata: Metadata,
}

/// The answer to a [`StateOp`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum StateAnswer {
    /// One value per key asked for, in order.
    Values {
        values: Vec<Option<StateValue>>,
    },
    Listed {
        objects: Vec<ObjectInfo>,
    },
    Done,
    /// How many state keys a [`StateOp::Purge`] removed.
    Purged {
        keys: usize,
    },
    Failed {
        error: String,
    },
}

impl StateOp {
    pub fn encode(&self) -> StoreResult<Vec<u8>> {
        frame(self, &[])
    }
    pub fn decode(bytes: &[u8]) -> StoreResult<StateOp> {
        Ok(unframe(bytes)?.0)
    }
}

impl StateAnswer {
    pub fn encode(&self) -> StoreResult<Vec<u8>> {
        frame(self, &[])
    }
    pub fn decode(bytes: &[u8]) -> StoreResult<StateAnswer> {
        Ok(unframe(bytes)?.0)
    }
}
