//! `GET /api/v1/runtime`: what the instance that answers is using, for operators and the soak
//! test (`tests/bench/soak.js`): the WebAssembly linear memory, which grows and never shrinks,
//! so a leak or an unbounded peak shows here before the platform's memory limit (128 MB per
//! isolate on Workers) recycles the isolate; and, where the adapter counts its allocator, the
//! bytes allocated now, which tell a leak (they rise) from a high-water mark (they do not).
//! A native build answers `null` for both.

use crate::fields::ok;
use crate::http::Response;
use serde_json::json;
use std::sync::OnceLock;

/// What a counted allocator holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeapCount {
    /// Bytes allocated and not yet freed.
    pub live_bytes: u64,
    /// The most `live_bytes` ever was.
    pub peak_bytes: u64,
    /// Allocations made since the instance started.
    pub allocations: u64,
}

static HEAP_PROBE: OnceLock<fn() -> HeapCount> = OnceLock::new();

/// Gives the runtime answer the adapter's allocator count (set once per instance; later
/// calls change nothing).
pub fn count_heap_with(probe: fn() -> HeapCount) {
    let _ = HEAP_PROBE.set(probe);
}

/// The answer: `{"wasm_memory_bytes": n | null, "heap": {...} | null}`.
pub(crate) fn runtime() -> Response {
    let heap = HEAP_PROBE.get().map(|probe| {
        let c = probe();
        json!({
            "live_bytes": c.live_bytes,
            "peak_bytes": c.peak_bytes,
            "allocations": c.allocations,
        })
    });
    ok(json!({ "wasm_memory_bytes": wasm_memory_bytes(), "heap": heap }))
}

/// Bytes of linear memory 0, or `None` off wasm.
fn wasm_memory_bytes() -> Option<u64> {
    #[cfg(target_arch = "wasm32")]
    {
        /// Bytes per WebAssembly page.
        const PAGE: u64 = 65_536;
        Some(core::arch::wasm32::memory_size(0) as u64 * PAGE)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counted() -> HeapCount {
        HeapCount {
            live_bytes: 3,
            peak_bytes: 5,
            allocations: 7,
        }
    }

    #[test]
    fn the_answer_carries_the_adapters_count() {
        count_heap_with(counted);
        let r = runtime();
        assert_eq!(r.status, 200);
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            v,
            json!({
                "wasm_memory_bytes": null,
                "heap": {"live_bytes": 3, "peak_bytes": 5, "allocations": 7},
            })
        );
    }
}
