//! The timeline of one rendition of one input: the append-only segment index that manifests are
//! built from. Only that input's ingest writes it, once per media playlist that brings new
//! segments (docs/storage.md, "One writer per key, at most once per segment").

mod append;
mod tracks;

pub use append::{plan_append, AppendPlan};

pub use tracks::{probe, probe_fmp4, SegmentProbe, SegmentTrack, TrackInfo, PROBE_METADATA};

use crate::media::mp4::TrackKind;
use serde::{Deserialize, Serialize};

/// MPEG-TS clock: timeline durations are integer 90 kHz ticks.
pub const TIMESCALE: u64 = 90_000;

/// Hard cap on entries kept, whatever the playlist duration says (bounds the stored object).
pub const MAX_ENTRIES: usize = 4096;

/// One committed segment. Field names are short: this list is read on every manifest request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    /// Our sequence number: the encoder's plus the timeline's offset, which changes only when
    /// the encoder's numbering restarts, so it always increases and renditions stay aligned.
    #[serde(rename = "s")]
    pub seq: u64,
    /// The encoder's media sequence number of this segment.
    #[serde(rename = "e")]
    pub enc_seq: u64,
    /// The encoder's URI (path below the input base).
    #[serde(rename = "u")]
    pub uri: String,
    /// Object key of the stored upload.
    #[serde(rename = "k")]
    pub key: String,
    /// Duration in 90 kHz ticks (from EXTINF).
    #[serde(rename = "d")]
    pub duration: u64,
    #[serde(rename = "b")]
    pub size: u64,
    /// Program date time of the first sample, Unix ms.
    #[serde(rename = "p")]
    pub pdt_ms: i64,
    /// First PTS in the segment, 90 kHz, when the ingest could read it.
    #[serde(rename = "m", default, skip_serializing_if = "Option::is_none")]
    pub media_start: Option<u64>,
    #[serde(rename = "a")]
    pub arrived_ms: u64,
    #[serde(rename = "x", default, skip_serializing_if = "is_false")]
    pub discontinuity: bool,
    /// Per CMAF track: decode time, duration and init segment identity (from the ingest probe).
    #[serde(rename = "c", default, skip_serializing_if = "Vec::is_empty")]
    pub tracks: Vec<SegmentTrack>,
    /// Object key of the init segment (`EXT-X-MAP`) of a fragmented MP4 segment; `None` for
    /// MPEG-TS.
    #[serde(rename = "n", default, skip_serializing_if = "Option::is_none")]
    pub init_key: Option<String>,
    /// fMP4 input: the MPEG-TS continuity counters (video, audio) after this segment's packets,
    /// where the next segment's TS output continues (docs/timeline.md, "Media time").
    #[serde(rename = "o", default, skip_serializing_if = "Option::is_none")]
    pub ts_cc: Option<[u8; 2]>,
    /// Aligned redundant inputs: whether this copy won or lost the output number it claimed
    /// (docs/timeline.md, "First arrival"); `None` when no claim was made.
    #[serde(rename = "w", default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<Claim>,
}

/// The outcome of one copy's claim on an output number (first arrival).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    /// The output sequence number claimed.
    #[serde(rename = "n")]
    pub out: u64,
    /// `true`: this copy serves `out`; `false`: the other input's copy does.
    #[serde(rename = "w")]
    pub won: bool,
}

impl Segment {
    pub fn track(&self, kind: TrackKind) -> Option<&SegmentTrack> {
        self.tracks.iter().find(|t| t.kind == kind)
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeline {
    /// EXT-X-TARGETDURATION of the output: never decreases, never below any rounded EXTINF.
    pub target_duration: u64,
    /// Discontinuities carried by segments that have been pruned.
    pub discontinuity_sequence: u64,
    /// `seq - enc_seq` of the current encoder run (encoder numbers span all of `u64`).
    #[serde(default)]
    pub seq_offset: i128,
    /// The tracks of the newest probed segment, with peak bitrates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tracks: Vec<TrackInfo>,
    /// Per-track input (DASH, CMAF): object key of the newest init segment, which the media
    /// segments that follow are read with.
    #[serde(rename = "i", default, skip_serializing_if = "Option::is_none")]
    pub init: Option<String>,
    pub segments: Vec<Segment>,
}

impl Timeline {
    pub fn last(&self) -> Option<&Segment> {
        self.segments.last()
    }

    /// Whether a segment of the timeline is the upload stored at `key` (a playlist that lists
    /// it again is older than the one that bound it, or a restart's own re-listing).
    pub fn binds(&self, key: &str) -> bool {
        self.segments.iter().any(|s| s.key == key)
    }

    /// Our number for the encoder's `enc_seq`; after a resync the offset is moved first.
    pub fn seq_for(&self, enc_seq: u64) -> u64 {
        let seq = i128::from(enc_seq) + self.seq_offset;
        u64::try_from(seq.max(0)).unwrap_or(u64::MAX)
    }

    /// Re-anchors numbering so that `enc_seq` follows the last segment directly.
    pub fn resync(&mut self, enc_seq: u64) {
        if let Some(last) = self.last() {
            self.seq_offset = i128::from(last.seq) + 1 - i128::from(enc_seq);
        }
    }

    /// Number of discontinuity tags on segments numbered `seq` or lower, pruned ones included.
    pub fn discontinuities_through(&self, seq: u64) -> u64 {
        let end = self.segments.partition_point(|s| s.seq <= seq);
        self.discontinuity_sequence
            + self.segments[..end]
                .iter()
                .filter(|s| s.discontinuity)
                .count() as u64
    }

    /// Records the tracks a new segment carries, keeping each kind's peak bitrate.
    pub fn update_tracks(&mut self, info: &[TrackInfo]) {
        let peaks: Vec<(TrackKind, u64)> =
            self.tracks.iter().map(|t| (t.kind, t.bitrate)).collect();
        self.tracks = info.to_vec();
        for t in &mut self.tracks {
            if let Some((_, peak)) = peaks.iter().find(|(k, _)| *k == t.kind) {
                t.bitrate = t.bitrate.max(*peak);
            }
        }
    }

    pub fn track(&self, kind: TrackKind) -> Option<&TrackInfo> {
        self.tracks.iter().find(|t| t.kind == kind)
    }

    /// Appends a segment, keeping the target duration an upper bound of every rounded duration.
    pub fn push(&mut self, segment: Segment) {
        self.target_duration = self.target_duration.max(rounded_seconds(segment.duration));
        self.segments.push(segment);
    }

    /// Removes the oldest segments while what stays still covers `keep_ticks`; returns the
    /// removed ones so their objects can be deleted.
    pub fn prune(&mut self, keep_ticks: u64) -> Vec<Segment> {
        let cut = self.prunable(keep_ticks);
        let removed: Vec<Segment> = self.segments.drain(..cut).collect();
        self.discontinuity_sequence += removed.iter().filter(|s| s.discontinuity).count() as u64;
        removed
    }

    /// How many of the oldest segments [`Timeline::prune`] would remove.
    pub fn prunable(&self, keep_ticks: u64) -> usize {
        let mut total: u64 = self.segments.iter().map(|s| s.duration).sum();
        let mut cut = 0;
        for s in &self.segments {
            let over_cap = self.segments.len() - cut > MAX_ENTRIES;
            if !over_cap && total.saturating_sub(s.duration) < keep_ticks {
                break;
            }
            total -= s.duration;
            cut += 1;
        }
        cut
    }

    /// The segment numbered `seq` (numbers may have gaps where the encoder skipped).
    pub fn find(&self, seq: u64) -> Option<&Segment> {
        let i = self.segments.binary_search_by_key(&seq, |s| s.seq).ok()?;
        self.segments.get(i)
    }
}

/// Seconds rounded to the nearest integer, as RFC 8216bis 4.4.3.1 compares EXTINF with
/// EXT-X-TARGETDURATION.
pub fn rounded_seconds(ticks: u64) -> u64 {
    (ticks + TIMESCALE / 2) / TIMESCALE
}

/// A test segment `seq` of 2 s: `{seq}.ts`, at program date time `t0_ms + 2 seq s` and media
/// time `2 seq s`.
#[cfg(test)]
pub(crate) fn two_second_segment(seq: u64, t0_ms: i64) -> Segment {
    Segment {
        seq,
        enc_seq: seq,
        uri: format!("{seq}.ts"),
        key: format!("k{seq}"),
        duration: 2 * TIMESCALE,
        size: 1,
        pdt_ms: t0_ms + seq as i64 * 2000,
        media_start: Some(seq * 2 * TIMESCALE),
        arrived_ms: 0,
        discontinuity: false,
        tracks: Vec::new(),
        init_key: None,
        ts_cc: None,
        claim: None,
    }
}

/// A test timeline of `n` [two-second segments](two_second_segment) numbered from 0.
#[cfg(test)]
pub(crate) fn two_second_segments(n: u64, t0_ms: i64) -> Timeline {
    let mut t = Timeline::default();
    for i in 0..n {
        t.push(two_second_segment(i, t0_ms));
    }
    t
}

#[cfg(test)]
mod tests;
