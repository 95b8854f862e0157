//! Conversion between the Spin (wasi:http 0.2) request/response and the core's.

use edgepack::adapter::{
    error_response, internal_header, null_body_status, payload_too_large, MAX_BODY_BYTES,
};
use futures::StreamExt;
use spin_sdk::http::{Fields, IncomingRequest, OutgoingResponse, ResponseOutparam, Scheme};
use std::net::{IpAddr, SocketAddr};

/// The client address header Spin sets from the TCP peer (`ip:port`); Spin overwrites any
/// value a client sends, so it cannot be spoofed.
const CLIENT_ADDR_HEADER: &str = "spin-client-addr";

/// Converts the platform request; `Err` carries the response to give instead (body too large or
/// incomplete).
pub async fn to_core_request(
    req: IncomingRequest,
) -> Result<edgepack::Request, edgepack::Response> {
    let headers: Vec<(String, String)> = req
        .headers()
        .entries()
        .into_iter()
        .map(|(name, value)| {
            (
                name.to_ascii_lowercase(),
                String::from_utf8_lossy(&value).into_owned(),
            )
        })
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let declared_len = header("content-length").and_then(|v| v.trim().parse::<u64>().ok());
    let client_ip = header(CLIENT_ADDR_HEADER).and_then(parse_client_addr);
    let origin = origin(&req, header("host"));
    let method = edgepack::Method::parse(&req.method().to_string());
    let path_with_query = req.path_with_query().unwrap_or_else(|| "/".to_owned());
    let (path, query) = match path_with_query.split_once('?') {
        Some((p, q)) => (p.to_owned(), q.to_owned()),
        None => (path_with_query, String::new()),
    };
    let body = read_body(req, declared_len).await?;
    Ok(edgepack::Request {
        method,
        path,
        query,
        headers,
        body,
        client_ip,
        origin,
    })
}

/// Reads the whole body, bounded by [`MAX_BODY_BYTES`]; chunked bodies work. A failing stream
/// or a short body is an error, so the core never sees a partial file.
async fn read_body(
    req: IncomingRequest,
    declared_len: Option<u64>,
) -> Result<Vec<u8>, edgepack::Response> {
    let limit = u64::try_from(MAX_BODY_BYTES).unwrap_or(u64::MAX);
    if declared_len.is_some_and(|n| n > limit) {
        return Err(payload_too_large());
    }
    let capacity = declared_len
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(0);
    let mut body = Vec::with_capacity(capacity);
    let mut stream = req.into_body_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            eprintln!("request body: {e:?}");
            error_response(400, "request body incomplete")
        })?;
        if body.len().saturating_add(chunk.len()) > MAX_BODY_BYTES {
            return Err(payload_too_large());
        }
        body.extend_from_slice(&chunk);
    }
    match declared_len {
        Some(n) if u64::try_from(body.len()).ok() != Some(n) => {
            eprintln!("request body: got {} of {n} declared bytes", body.len());
            Err(error_response(400, "request body incomplete"))
        }
        _ => Ok(body),
    }
}

/// `scheme://authority` the request came to, from the request target (Spin fills it from the
/// `Host` header), falling back to `Host`.
fn origin(req: &IncomingRequest, host: Option<&str>) -> String {
    let scheme = match req.scheme() {
        Some(Scheme::Https) => "https",
        _ => "http",
    };
    let authority = req
        .authority()
        .filter(|a| !a.is_empty())
        .or_else(|| host.map(str::to_owned))
        .unwrap_or_else(|| "localhost".to_owned());
    format!("{scheme}://{authority}")
}

/// `ip:port` (Spin's format) or a bare address.
fn parse_client_addr(value: &str) -> Option<IpAddr> {
    let value = value.trim();
    value
        .parse::<SocketAddr>()
        .map(|a| a.ip())
        .or_else(|_| value.parse::<IpAddr>())
        .ok()
}

/// Sends the core's response with a `content-length` (as the Worker runtime does for a fixed
/// body). Statuses that forbid a body get none. A HEAD answer carries no `content-length`:
/// wasi:http holds the body written to it, and a HEAD body is empty.
pub async fn send(out: ResponseOutparam, resp: edgepack::Response, is_head: bool) {
    let no_body = is_head || null_body_status(resp.status);
    let (fields, status, body) = match fields(&resp, no_body) {
        Ok(fields) => (fields, resp.status, resp.body),
        Err(detail) => {
            eprintln!("response headers: {detail}");
            let r = error_response(500, "invalid response header");
            match fields(&r, false) {
                Ok(fields) => (fields, r.status, r.body),
                Err(_) => return,
            }
        }
    };
    let body = if no_body { Vec::new() } else { body };
    let response = OutgoingResponse::new(fields);
    if response.set_status_code(status).is_err() {
        eprintln!("response status {status} refused");
    }
    if let Err(e) = out.set_with_body(response, body).await {
        eprintln!("response body: {e:?}");
    }
}

/// Sends the head of a long-lived response (no `content-length`) and returns its body, to
/// which the caller writes the response's body as the first chunk, then the rest.
pub fn stream_head(
    out: ResponseOutparam,
    resp: &edgepack::Response,
) -> Option<impl futures::Sink<Vec<u8>>> {
    let entries: Vec<(String, Vec<u8>)> = resp
        .headers
        .iter()
        .filter(|(name, _)| !name.eq_ignore_ascii_case("content-length"))
        .map(|(name, value)| (name.clone(), value.clone().into_bytes()))
        .collect();
    let fields = match Fields::from_list(&entries) {
        Ok(fields) => fields,
        Err(e) => {
            eprintln!("response headers: {e:?}");
            return None;
        }
    };
    let response = OutgoingResponse::new(fields);
    if response.set_status_code(resp.status).is_err() {
        eprintln!("response status {} refused", resp.status);
    }
    let body = response.take_body();
    out.set(response);
    Some(body)
}

fn fields(resp: &edgepack::Response, no_body: bool) -> Result<Fields, String> {
    let mut entries: Vec<(String, Vec<u8>)> = resp
        .headers
        .iter()
        // Spin has no platform cache to hand the edge-cache hints to.
        .filter(|(name, _)| !name.eq_ignore_ascii_case("content-length") && !internal_header(name))
        .map(|(name, value)| (name.clone(), value.clone().into_bytes()))
        .collect();
    if !no_body {
        entries.push((
            "content-length".to_owned(),
            resp.body.len().to_string().into_bytes(),
        ));
    }
    Fields::from_list(&entries).map_err(|e| format!("{e:?}"))
}
