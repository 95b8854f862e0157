//! The core's platform-neutral HTTP request and response.

use std::net::IpAddr;

pub mod range;

/// Upper bound on any request body an adapter hands to the core. Adapters stop reading past
/// it and answer with `adapter::payload_too_large`; the core applies tighter per-kind limits.
/// 32 MiB holds a 30 s segment at 8 Mbit/s, and leaves room in a Worker's 128 MB for the body,
/// its stored copy and the remux.
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Put,
    Post,
    Patch,
    Delete,
    Options,
    Other,
}

impl Method {
    pub fn parse(s: &str) -> Method {
        match s.to_ascii_uppercase().as_str() {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "PUT" => Method::Put,
            "POST" => Method::Post,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            "OPTIONS" => Method::Options,
            _ => Method::Other,
        }
    }
}

/// An incoming request, as the adapter saw it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    /// The raw (still percent-encoded) path, starting with `/`.
    pub path: String,
    /// The raw query string without `?` (empty when absent).
    pub query: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The client address as the platform reports it (never from a client-set header).
    pub client_ip: Option<IpAddr>,
    /// `scheme://host[:port]` the request came to; used for absolute URLs.
    pub origin: String,
}

impl Request {
    pub fn new(method: Method, path: &str) -> Request {
        Request {
            method,
            path: path.to_owned(),
            query: String::new(),
            headers: Vec::new(),
            body: Vec::new(),
            client_ip: None,
            origin: "http://127.0.0.1:8787".to_owned(),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Request {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_owned()));
        self
    }

    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Request {
        self.body = body.into();
        self
    }
}

/// A response produced by the core.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// A body the adapter holds outside the core (a cached copy's, never copied into it);
    /// `body` is then empty.
    pub held_body: Option<HeldBody>,
}

/// A body the adapter holds for a response (docs/storage.md, "Edge cache"): the adapter's
/// `token` for it, and its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldBody {
    pub token: u64,
    pub len: u64,
}

impl Response {
    pub fn new(status: u16) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            held_body: None,
        }
    }

    /// The same response with the body the adapter holds under `held` instead of `body`.
    pub fn with_held_body(mut self, content_type: &str, held: HeldBody) -> Response {
        self.body = Vec::new();
        self.held_body = Some(held);
        self.with_header("content-type", content_type)
    }

    /// Bytes of the body, wherever it is.
    pub fn body_len(&self) -> u64 {
        match self.held_body {
            Some(held) => held.len,
            None => u64::try_from(self.body.len()).unwrap_or(u64::MAX),
        }
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Response {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    pub fn with_body(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Response {
        self.body = body.into();
        self.with_header("content-type", content_type)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The first value of `name` in a raw query string (tokens need no percent-decoding).
pub fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then_some(v)
    })
}
