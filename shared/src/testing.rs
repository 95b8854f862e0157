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
