//! `GET /api/v1/runtime`: what the instance that answers is using, for operators and the soak
//! test (`tests/bench/soak.js`): the WebAssembly linear memory, which grows and never shrinks,
//! so a leak or an unbounded peak shows here before the platform's memory limit (128 MB per
//! isolate on Workers) recycles the isolate. A native build answers `null`.

use crate::fields::ok;
use crate::http::Response;
use serde_json::json;

/// The answer: `{"wasm_memory_bytes": n | null}`.
pub(crate) fn runtime() -> Response {
    ok(json!({ "wasm_memory_bytes": wasm_memory_bytes() }))
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
