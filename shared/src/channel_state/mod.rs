//! Channel state in one object per channel (docs/storage.md, "Channel state in a Durable
//! Object"). The small, hot, strongly ordered keys of a channel (its timelines, its switch log,
//! its first-arrival claims) can live in a single-threaded object named by the channel's
//! storage id instead of the object store: every committing ingest request of the channel is
//! forwarded to the object, which runs the same core over [`StateObjects`] (those keys from
//! its memory, persisted as rows; everything else from the object store), so the two inputs
//! are ordered by one thread and a commit costs one row written instead of object-store reads
//! and conditional writes. Playback reads the keys from the object, a round's keys in one
//! request ([`Routed`]). Segment bytes, archive buckets, masters and harvests stay in the
//! object store.
//!
//! - [`rows`]: how the keys are grouped into rows (one per rendition: a commit writes one) and
//!   the row storage seam (SQLite in a Durable Object, memory in tests).
//! - [`state`]: the object's memory of its keys, and the store a commit runs over.
//! - [`protocol`]: what the Worker and the object send each other.
//! - [`routed`]: the Worker's store: state keys through the object, the rest as before.
//!
//! The object itself, which runs the core, is `crate::channel_object`.

pub mod protocol;
pub mod routed;
pub mod rows;
pub mod state;

pub use protocol::{Committed, Forwarded, StateAnswer, StateOp};
pub use routed::{Routed, StateClient};
pub use rows::{MemoryRows, RowStorage};
pub use state::{ChannelState, StateObjects};

/// Sends a forwarded ingest request to the object of channel `channel_id` at the Worker's
/// `now_ms` and returns its answer with the data points to record (the Worker's Durable
/// Object stub, where the object reads its own clock; the object itself in tests).
pub type CommitHome = std::rc::Rc<
    dyn Fn(
        String,
        Forwarded,
        u64,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = crate::store::StoreResult<Committed>>>,
    >,
>;

/// Whether an ingest request of a channel with `protocol` for `file` commits (so it runs in
/// the channel's object): HLS media playlists (master playlists too: they are few), and
/// every upload of a per-track input (each media segment commits; its manifest is rare).
pub fn commits(protocol: crate::model::InputProtocol, file: &str) -> bool {
    protocol.per_track() || crate::paths::extension(file) == "m3u8"
}

/// Key prefixes of channel state: timelines, switch logs, first-arrival claims
/// (`keys::timeline`, `keys::switch_log`, `keys::claim`).
pub const STATE_ROOTS: [&str; 3] = ["idx/", "switch/", "fa/"];

/// Whether `key` is channel state.
pub fn is_state_key(key: &str) -> bool {
    STATE_ROOTS.iter().any(|r| key.starts_with(r))
}

/// The storage id of the channel a state key (or a listing prefix inside one channel's
/// state) belongs to: its second path segment (`switch/{id}.json`: the file stem).
pub fn channel_of(key: &str) -> Option<&str> {
    let (root, rest) = key.split_once('/')?;
    let id = match root {
        "switch" => rest.strip_suffix(".json")?,
        "idx" | "fa" => rest.split_once('/')?.0,
        _ => return None,
    };
    (!id.is_empty() && !id.contains('/')).then_some(id)
}

/// Whether a listing of `prefix` may return keys of both stores (a prefix of a state root,
/// such as the empty prefix).
pub fn spans_both(prefix: &str) -> bool {
    STATE_ROOTS
        .iter()
        .any(|r| r.starts_with(prefix) && r.len() > prefix.len())
}

#[cfg(test)]
mod tests;
