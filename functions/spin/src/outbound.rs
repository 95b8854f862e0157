//! Outbound HTTP for the core (`edgepack::Fetch`, used for key providers): spin-sdk's
//! `wasi:http` outgoing handler, the answer read as a stream within the core's bound. Spin
//! allows only the hosts listed in spin.toml's `allowed_outbound_hosts`; a refused host is a
//! failed fetch, which the core reports (docs/encryption.md). The core's timer bounds the wait.

use edgepack::{FetchError, FetchFuture, FetchRequest, FetchResponse};
use futures::StreamExt;
use spin_sdk::http::{IncomingResponse, Method, Request};

pub fn fetch(req: FetchRequest) -> FetchFuture {
    Box::pin(async move {
        let method = match req.method {
            "GET" => Method::Get,
            "POST" => Method::Post,
            other => return Err(FetchError::Failed(format!("method {other} not supported"))),
        };
        let mut builder = Request::builder();
        builder.method(method).uri(req.url.as_str());
        for (name, value) in &req.headers {
            builder.header(*name, value.as_str());
        }
        builder.body(req.body);
        let response: IncomingResponse = spin_sdk::http::send(builder.build())
            .await
            .map_err(|e| FetchError::Failed(e.to_string()))?;
        let status = response.status();
        let mut stream = response.take_body_stream();
        let mut body = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| FetchError::Failed(e.to_string()))?;
            if body.len().saturating_add(chunk.len()) > req.max_body {
                return Err(FetchError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(FetchResponse { status, body })
    })
}
