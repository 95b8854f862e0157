//! Redundant inputs on one output timeline (docs/timeline.md, "The switch log").
//!
//! Each input keeps its own timelines. A channel-wide switch log decides which input serves
//! which output sequence numbers: output segment `n` is segment `n - seq_delta` of the input of
//! the last record whose `from_seq <= n`. Records are only appended, with a conditional write,
//! by the ingest of the healthy input when the active one is confirmed unhealthy; manifests are
//! then a pure function of (timelines, switch log, endpoint settings).

mod decide;
pub mod first_arrival;
mod output;
pub mod policy;

pub use decide::{plan_switch, SwitchPlan, ALIGNMENT_TOLERANCE, RELATED_WINDOW};
pub use output::{discontinuities_through, output_segments, OutputSegment};

use crate::model::InputId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Records kept: older ones map output numbers long past retention.
pub const MAX_RECORDS: usize = 64;

/// Discontinuity counts that let every rendition keep one EXT-X-DISCONTINUITY-SEQUENCE across
/// switches: `D(n) = output + extra + input_timeline.discontinuities_through(n - delta) - input`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscontinuityBase {
    /// Output discontinuity tags on segments before `from_seq`.
    pub output: u64,
    /// The input timeline's tags on segments before the record's first mapped segment.
    pub input: u64,
    /// 1 when the record's own discontinuity tag is not already an input tag.
    pub extra: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwitchRecord {
    pub input: u8,
    pub from_seq: u64,
    pub seq_delta: i64,
    pub discontinuity: bool,
    pub at_ms: u64,
    /// Media time (90 kHz) where the record takes effect, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_time: Option<u64>,
    pub reason: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub bases: BTreeMap<String, DiscontinuityBase>,
}

impl SwitchRecord {
    pub fn input_id(&self) -> InputId {
        if self.input == 2 {
            InputId::BACKUP
        } else {
            InputId::PRIMARY
        }
    }

    /// The input sequence number serving output `n`.
    pub fn input_seq(&self, n: u64) -> Option<u64> {
        u64::try_from(i128::from(n) - i128::from(self.seq_delta)).ok()
    }

    /// The output number of input segment `seq`.
    pub fn output_seq(&self, seq: u64) -> Option<u64> {
        u64::try_from(i128::from(seq) + i128::from(self.seq_delta)).ok()
    }
}

/// Where an output run (a stretch of continuous media time) starts: DASH Periods are built
/// from these, so their start never changes once written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anchor {
    /// First output number of the run.
    pub from_seq: u64,
    /// Wall-clock time (Unix ms) of the run's first media time.
    pub start_ms: i64,
    /// The run's first media time (90 kHz, unwrapped first PTS).
    pub media_time: u64,
}

/// Anchors kept (each is tiny; older ones only describe content past retention).
pub const MAX_ANCHORS: usize = 64;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwitchLog {
    pub records: Vec<SwitchRecord>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub anchors: Vec<Anchor>,
}

impl SwitchLog {
    /// The first record: `input` serves output numbers equal to its own.
    pub fn starting_with(input: InputId, at_ms: u64) -> SwitchLog {
        SwitchLog {
            records: vec![SwitchRecord {
                input: input.number(),
                from_seq: 0,
                seq_delta: 0,
                discontinuity: false,
                at_ms,
                media_time: None,
                reason: format!("input {} delivered the first segments", input.number()),
                bases: BTreeMap::new(),
            }],
            anchors: Vec::new(),
        }
    }

    pub fn active(&self) -> Option<&SwitchRecord> {
        self.records.last()
    }

    /// The record serving output `n`, with the first output number after its range.
    pub fn record_for(&self, n: u64) -> Option<(&SwitchRecord, Option<u64>)> {
        let i = self
            .records
            .partition_point(|r| r.from_seq <= n)
            .checked_sub(1)?;
        Some((
            &self.records[i],
            self.records.get(i + 1).map(|r| r.from_seq),
        ))
    }

    /// The anchor of the run holding output `n`.
    pub fn anchor_for(&self, n: u64) -> Option<&Anchor> {
        let i = self
            .anchors
            .partition_point(|a| a.from_seq <= n)
            .checked_sub(1)?;
        self.anchors.get(i)
    }

    /// Starts a new run at `anchor.from_seq` unless one already starts there or later.
    /// Returns whether the log changed.
    pub fn add_anchor(&mut self, anchor: Anchor) -> bool {
        if self
            .anchors
            .last()
            .is_some_and(|a| a.from_seq >= anchor.from_seq)
        {
            return false;
        }
        self.anchors.push(anchor);
        let excess = self.anchors.len().saturating_sub(MAX_ANCHORS);
        self.anchors.drain(..excess);
        true
    }

    pub fn push(&mut self, record: SwitchRecord) {
        self.records.push(record);
        let excess = self.records.len().saturating_sub(MAX_RECORDS);
        self.records.drain(..excess);
    }
}

#[cfg(test)]
mod tests;
