//! Harvest jobs (live-to-VOD): copy a time window of an endpoint's output into a VOD asset in
//! object storage, `vod/{destination}/{job_id}/`, served at `/vod/v1/{destination}/{job_id}/`.
//!
//! The asset is exactly what the endpoint serves for `?start=S&vodend=E`: the job asks the
//! origin's own playback code (no network) for the manifest and every playlist, lists every
//! file they reference once (the plan), then copies the files in bounded batches and writes
//! the manifests, with the time-shift parameters removed, last. A job advances one batch per
//! `POST` (the first), per `GET` of the job, per scheduled run and per
//! `POST /api/v1/maintenance/harvest`. Job state lives in the object store (strongly
//! consistent) and changes only by conditional put; a lease object stops two advancers from
//! copying the same batch.

mod job;
mod jobs;
mod record;
mod refs;
mod run;
mod serve;
mod snapshot;
mod view;

pub(crate) use jobs::handle;
pub use run::run_harvests;
pub(crate) use serve::serve;
pub use serve::{ObjectBody, SERVE_PIECE_BYTES};

pub use job::{
    parse_destination, Format, Job, ManifestFile, Plan, Recording, Status, DESTINATION_RULE,
};
pub use record::{INDEX_PARTS_PER_OBJECT, MAX_PARTS_PER_BATCH, PART_BYTES};
pub use refs::resolve;

use crate::error::OriginError;
use serde::{Deserialize, Serialize};
use std::cell::Cell;

/// Most files one batch copies (a 2 s segment remux costs a few ms of CPU; 25 stay far below
/// a Worker's CPU and memory limits).
pub const MAX_FILES_PER_BATCH: usize = 25;
/// Store operations one batch started by an API request may make. Workers allow 1,000
/// binding operations per invocation (KV, R2); a file costs one write plus one read per
/// input segment it is made of.
pub const REQUEST_OP_BUDGET: usize = 200;
/// Store operations a scheduled run may spend on harvests across all jobs (the same run's
/// archive expiry may use up to about 550).
pub const SCHEDULED_OP_BUDGET: usize = 300;
/// Longest window a job may harvest.
pub const MAX_WINDOW_MS: i64 = 4 * 3_600_000;
/// Most files (init and media segments) one asset may have.
pub const MAX_FILES: usize = 20_000;
/// Most unfinished jobs per channel (bounds what scheduled runs walk).
pub const MAX_ACTIVE_PER_CHANNEL: usize = 20;
/// Most jobs a listing shows (the newest).
pub const MAX_LISTED: usize = 200;
/// How long a batch's claim holds: a batch that dies is redone after this.
pub const LEASE_MS: u64 = 60_000;
/// Length of job ids (62 symbols: 95 bits).
const ID_LEN: usize = 16;

/// Metadata key of an asset file's content type.
const CONTENT_TYPE: &str = "content-type";

/// What one run over the unfinished jobs did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HarvestReport {
    pub jobs: usize,
    pub segments_copied: u64,
    pub finished: usize,
    /// Unfinished jobs remain.
    pub more: bool,
}

/// The claim on the batch starting at `from`.
#[derive(Debug, Serialize, Deserialize)]
struct Lease {
    from: u64,
    until_ms: u64,
}

/// An operations budget shared by everything one invocation does for harvests.
pub(crate) struct Budget {
    ops: Cell<usize>,
    limit: usize,
}

impl Budget {
    pub fn new(limit: usize) -> Budget {
        Budget {
            ops: Cell::new(0),
            limit,
        }
    }

    fn spend(&self, n: usize) {
        self.ops.set(self.ops.get() + n);
    }

    fn left(&self) -> usize {
        self.limit.saturating_sub(self.ops.get())
    }
}

/// Why a job failed or was refused, when it is not a storage failure (those are retried).
fn is_permanent(e: &OriginError) -> bool {
    !matches!(e, OriginError::Storage(_) | OriginError::Random(_))
}
