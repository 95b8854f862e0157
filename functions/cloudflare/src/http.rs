//! Conversion between the Workers request/response and the core's.

use crate::body::{self, BodyError};
use crate::edge_cache;
use edgepack::adapter::{error_response, internal_header, null_body_status, payload_too_large};
use edgepack::store::{KvStore, ObjectStore};
use edgepack::Origin;
use std::net::IpAddr;
use worker::{console_error, Date, Headers, ResponseBuilder};

/// The client address header the platform sets (a client cannot override it on Cloudflare).
const CLIENT_IP_HEADER: &str = "cf-connecting-ip";

/// Converts the platform request; `Err` carries the response to give instead (body too large or
/// incomplete).
pub async fn to_core_request(
    req: worker::Request,
) -> Result<edgepack::Request, edgepack::Response> {
    let url = req.url().map_err(|e| {
        console_error!("request url: {e}");
        error_response(400, "invalid request url")
    })?;
    let headers: Vec<(String, String)> = req
        .headers()
        .entries()
        .map(|(name, value)| (name.to_ascii_lowercase(), value))
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let declared_len = header("content-length").and_then(|v| v.trim().parse::<u64>().ok());
    let client_ip = header(CLIENT_IP_HEADER).and_then(|v| v.trim().parse::<IpAddr>().ok());

    let body = match body::read(req.inner().body(), declared_len).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => return Err(payload_too_large()),
        Err(BodyError::Incomplete(detail)) => {
            console_error!("request body: {detail}");
            return Err(error_response(400, "request body incomplete"));
        }
    };

    Ok(edgepack::Request {
        method: edgepack::Method::parse(&req.inner().method()),
        path: url.path().to_owned(),
        query: url.query().unwrap_or_default().to_owned(),
        headers,
        body,
        client_ip,
        origin: url.origin().ascii_serialization(),
    })
}

/// Converts the core's response. Statuses that forbid a body get none.
pub fn to_worker_response(resp: edgepack::Response) -> worker::Result<worker::Response> {
    let headers = Headers::new();
    for (name, value) in resp.headers.iter().filter(|(n, _)| !internal_header(n)) {
        if let Err(e) = headers.append(name, value) {
            console_error!("response header {name}: {e}");
            return plain_500();
        }
    }
    let builder = ResponseBuilder::new()
        .with_status(resp.status)
        .with_headers(headers);
    if null_body_status(resp.status) {
        return Ok(builder.empty());
    }
    Ok(match resp.held_body {
        None => builder.fixed(resp.body),
        Some(held) => match edge_cache::take_held(held.token) {
            Some(body) => builder.body(body),
            None => {
                console_error!("held body {} was let go before its answer", held.token);
                let lost = error_response(503, "cached copy expired; retry");
                return to_worker_response(lost.with_header("retry-after", "1"));
            }
        },
    })
}

/// A long-lived response: the head, its body as the first chunk, then each chunk
/// [`Origin::next_chunk`] gives until `None`; the Worker runs while the client reads.
pub fn to_streaming_response<K, O>(
    resp: edgepack::Response,
    origin: Origin<K, O>,
    stream: edgepack::Stream,
) -> worker::Result<worker::Response>
where
    K: KvStore + 'static,
    O: ObjectStore + 'static,
{
    let headers = Headers::new();
    for (name, value) in resp
        .headers
        .iter()
        .filter(|(n, _)| !n.eq_ignore_ascii_case("content-length"))
    {
        if let Err(e) = headers.append(name, value) {
            console_error!("response header {name}: {e}");
            return plain_500();
        }
    }
    let first = Some(resp.body);
    let body = futures_util::stream::unfold(
        (first, origin, stream),
        |(first, origin, mut stream)| async move {
            let chunk = match first {
                Some(chunk) => chunk,
                None => {
                    origin
                        .next_chunk(&mut stream, Date::now().as_millis())
                        .await?
                }
            };
            Some((Ok::<Vec<u8>, worker::Error>(chunk), (None, origin, stream)))
        },
    );
    ResponseBuilder::new()
        .with_status(resp.status)
        .with_headers(headers)
        .from_stream(body)
}

fn plain_500() -> worker::Result<worker::Response> {
    Ok(ResponseBuilder::new()
        .with_status(500)
        .fixed(b"internal error".to_vec()))
}
