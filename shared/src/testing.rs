//! Helpers for tests and fuzz targets (feature `test-util`; never in a deployed build): the core
//! over in-memory stores, driven without an async runtime, with deterministic randomness.

use crate::auth::RandomError;
use crate::context::Config;
use crate::origin::Origin;
use crate::store::{MemoryKv, MemoryObjects};
use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// The origin over memory stores.
pub type MemoryOrigin = Origin<MemoryKv, MemoryObjects>;

/// Polls a future that never waits (the memory stores complete at once).
///
/// # Panics
/// When the future is pending: only memory-store futures may be driven this way.
pub fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("memory-store future must not wait"),
    }
}

thread_local!(static NEXT: Cell<u64> = const { Cell::new(1) });

/// Deterministic "randomness": a counter per thread, spread over the byte range.
pub fn counter_random(buf: &mut [u8]) -> Result<(), RandomError> {
    for b in buf.iter_mut() {
        let n = NEXT.with(|c| c.replace(c.get() + 1));
        *b = n.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_be_bytes()[0];
    }
    Ok(())
}

/// Restarts [`counter_random`] on this thread (a fuzz input then reproduces alone).
pub fn reset_counter_random() {
    NEXT.with(|c| c.set(1));
}

/// An origin over empty memory stores with the admin token `admin_token`.
pub fn memory_origin(admin_token: &str) -> MemoryOrigin {
    let config = Config {
        admin_token: Some(admin_token.to_owned()),
        ..Config::default()
    };
    Origin::new(
        MemoryKv::default(),
        MemoryObjects::default(),
        config,
        counter_random,
    )
}

/// A [memory origin](memory_origin) with group `g`, channel `c` taking input `protocol`, and
/// one endpoint `e` of `endpoint_protocol` per entry; returns it with input 1's
/// `Authorization` header.
///
/// # Panics
/// When the API refuses the set-up (a test's own mistake).
pub fn memory_channel(
    admin_token: &str,
    protocol: &str,
    endpoints: &[(&str, &str)],
    now_ms: u64,
) -> (MemoryOrigin, String) {
    use crate::http::{Method, Request};
    use base64::Engine;
    let o = memory_origin(admin_token);
    let api = |path: &str, body: serde_json::Value| {
        let req = Request::new(Method::Post, path)
            .with_header("authorization", &format!("Bearer {admin_token}"))
            .with_body(body.to_string());
        let r = block_on(o.handle(req, now_ms));
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        serde_json::from_slice::<serde_json::Value>(&r.body).unwrap_or_default()
    };
    api("/api/v1/groups", serde_json::json!({"name": "g"}));
    let channel = api(
        "/api/v1/groups/g/channels",
        serde_json::json!({"name": "c", "protocol": protocol}),
    );
    for (name, protocol) in endpoints {
        api(
            "/api/v1/groups/g/channels/c/endpoints",
            serde_json::json!({"name": name, "protocol": protocol}),
        );
    }
    let input = &channel["inputs"][0];
    let credentials = format!(
        "{}:{}",
        input["username"].as_str().unwrap_or_default(),
        input["password"].as_str().unwrap_or_default()
    );
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(credentials)
    );
    (o, auth)
}
