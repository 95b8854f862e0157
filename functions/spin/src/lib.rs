//! Fermyon Spin adapter: maps the Spin (wasi:http) request to the core's request, gives the core
//! Spin key-value storage, a clock, a timer, randomness and outbound HTTP, and maps the core's
//! response back. No routing or logic here.

mod config;
mod http;
mod kv;
mod objects;
mod outbound;
mod stats;

use edgepack::Origin;
use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use spin_sdk::http_component;
use std::task::Poll;
use std::time::{SystemTime, UNIX_EPOCH};
use wasi::clocks::monotonic_clock;

/// The Spin key-value store (declared in spin.toml) holding configuration, indexes and segments.
const STORE_LABEL: &str = "default";

#[http_component]
async fn handle(req: IncomingRequest, out: ResponseOutparam) {
    let is_head = matches!(req.method(), spin_sdk::http::Method::Head);
    let store = match spin_sdk::key_value::Store::open(STORE_LABEL) {
        Ok(store) => std::rc::Rc::new(store),
        Err(e) => {
            eprintln!("key-value store {STORE_LABEL}: {e}");
            let r = edgepack::adapter::error_response(500, "key-value store is not configured");
            return http::send(out, r, is_head).await;
        }
    };
    let core_req = match http::to_core_request(req).await {
        Ok(core_req) => core_req,
        Err(rejection) => return http::send(out, rejection, is_head).await,
    };
    let now = now_ms();
    let stats = stats::backend(
        store.clone(),
        config::stats_backend().as_deref(),
        config::otlp_endpoint().as_deref(),
        now,
    );
    let origin = Origin::new(
        kv::SpinKv::new(store.clone()),
        objects::KvObjects::new(store),
        config::from_variables(),
        random,
        sleep,
    )
    .with_fetch(outbound::fetch)
    .with_stats(stats.stats);
    match origin.handle_stream(core_req, now).await {
        (response, None) => http::send(out, response, is_head).await,
        // A long-lived response (HTTP-FLV): the first chunk, then each next one.
        (response, Some(mut stream)) => {
            use futures::SinkExt;
            let Some(mut body) = http::stream_head(out, &response) else {
                return;
            };
            let mut chunk = Some(response.body);
            while let Some(c) = chunk {
                if body.send(c).await.is_err() {
                    // The client went away.
                    break;
                }
                chunk = origin.next_chunk(&mut stream, now_ms()).await;
            }
            let _ = body.close().await;
        }
    }
    // The response is complete: only now are the request's data points exported (`otlp`).
    if let Some(export) = stats.export {
        export.flush(sleep).await;
    }
}

/// Wall-clock time (WASI `wall-clock`) in Unix milliseconds.
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The platform CSPRNG (`wasi:random/random` through getrandom's wasip2 backend).
fn random(buf: &mut [u8]) -> Result<(), edgepack::RandomError> {
    getrandom::fill(buf).map_err(|e| edgepack::RandomError(e.to_string()))
}

/// Waits on WASI's monotonic clock: a `subscribe-instant` pollable handed to spin-sdk's
/// executor, which waits in `wasi:io/poll` until the instant passes, so the host runs other
/// requests meanwhile and the component spends no CPU (measured in the local Spin host: a 6 s
/// wait took 6.02 s and under 10 ms of host CPU; docs/architecture.md).
fn sleep(ms: u64) -> edgepack::SleepFuture {
    let deadline = monotonic_clock::now().saturating_add(ms.saturating_mul(1_000_000));
    Box::pin(std::future::poll_fn(move |cx| {
        if monotonic_clock::now() >= deadline {
            return Poll::Ready(());
        }
        let pollable = monotonic_clock::subscribe_instant(deadline);
        spin_executor::push_waker(pollable, cx.waker().clone());
        Poll::Pending
    }))
}
