//! Heap bytes live on this thread, and their peak since [`reset_peak`]: a counting global
//! allocator, per thread so that tests running beside this one do not count.
//! Included by the test binaries and benches that measure memory (`#[global_allocator]`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn add(delta: isize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

pub struct Counting;

// SAFETY: every call is forwarded to the system allocator unchanged; only sizes are
// counted, in thread-locals that never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            add(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        unsafe { System.dealloc(p, layout) };
        add(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, layout, new_size) };
        if !q.is_null() {
            add(new_size as isize - layout.size() as isize);
        }
        q
    }
}

pub fn live() -> isize {
    LIVE.with(Cell::get)
}

pub fn reset_peak() {
    PEAK.with(|p| p.set(LIVE.with(Cell::get)));
}

pub fn peak() -> isize {
    PEAK.with(Cell::get)
}
