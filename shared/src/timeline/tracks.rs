//! What ingest learns from a TS segment by remuxing it once: codecs and the exact timing each
//! CMAF track will have, so manifests (DASH SegmentTimeline, HLS CODECS, init URLs) need no
//! media work per request.

use crate::media::mp4::TrackKind;
use crate::media::remux::{fmp4_parts_to_cmaf, ts_to_cmaf, Fmp4Part, RemuxOptions, RemuxedSegment};
use crate::media::time::rescale;
use crate::media::ts::first_pts;
use crate::store::content_version;
use serde::{Deserialize, Serialize};

/// Object metadata key holding a segment's probe (compact JSON, well under R2's 2 KiB).
pub const PROBE_METADATA: &str = "probe";

/// A track's description, for manifests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackInfo {
    #[serde(rename = "k")]
    pub kind: TrackKind,
    #[serde(rename = "c")]
    pub codec: String,
    #[serde(rename = "w", default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(rename = "h", default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    pub sample_rate: Option<u32>,
    #[serde(rename = "n", default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<u8>,
    #[serde(rename = "s")]
    pub timescale: u32,
    /// Bits per second of this track in the probed segment.
    #[serde(rename = "b")]
    pub bitrate: u64,
    /// Video: frames per 1000 seconds in the probed segment (HLS `FRAME-RATE` is written from
    /// it with three decimals).
    #[serde(rename = "f", default, skip_serializing_if = "Option::is_none")]
    pub frames_per_ks: Option<u64>,
}

/// One track of one segment: timing in the track's timescale and its init segment's identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentTrack {
    #[serde(rename = "k")]
    pub kind: TrackKind,
    /// `tfdt` (base media decode time) the remux gives this segment.
    #[serde(rename = "t")]
    pub t: u64,
    #[serde(rename = "d")]
    pub d: u64,
    /// Version tag of the track's init segment (changes when the codec configuration does).
    #[serde(rename = "i")]
    pub init: String,
}

/// The probe of one segment, as stored beside the upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentProbe {
    /// First video PTS (raw 33-bit): the epoch the timings below are relative to.
    pub pts: u64,
    pub info: Vec<TrackInfo>,
    pub tracks: Vec<SegmentTrack>,
}

/// Remuxes `ts` once; `None` when it has no track the packager can use.
pub fn probe(ts: &[u8]) -> Option<SegmentProbe> {
    let pts = first_pts(ts)?.get();
    let options = RemuxOptions {
        time_reference: Some(pts),
        ..RemuxOptions::default()
    };
    let remuxed = ts_to_cmaf(ts, &options).ok()?;
    probe_tracks(pts, &remuxed)
}

/// What [`probe`] learns, for a fragmented MP4 segment and its init segment. Timings are
/// already 64-bit: `pts` is the first video (else audio) presentation time in 90 kHz, so
/// [`SegmentProbe::tracks_at`] of it moves nothing.
pub fn probe_fmp4(init: &[u8], segment: &[u8]) -> Option<SegmentProbe> {
    let part = Fmp4Part { init, segment };
    let remuxed = fmp4_parts_to_cmaf(&[part], 1).ok()?;
    let first = remuxed.tracks.first()?;
    let pts = rescale(first.presentation_start, first.track.timescale, 90_000)?;
    probe_tracks(pts, &remuxed)
}

fn probe_tracks(pts: u64, remuxed: &RemuxedSegment) -> Option<SegmentProbe> {
    let mut probe = SegmentProbe {
        pts,
        info: Vec::new(),
        tracks: Vec::new(),
    };
    for t in &remuxed.tracks {
        let kind = t.track.kind();
        // One track of each kind: the first video and the first audio stream.
        if probe.info.iter().any(|i| i.kind == kind) {
            continue;
        }
        let init = t.init_segment().ok()?;
        probe.info.push(TrackInfo {
            kind,
            codec: t.track.codec_string(),
            width: t.track.dimensions().map(|d| d.0),
            height: t.track.dimensions().map(|d| d.1),
            sample_rate: t.track.sample_rate(),
            channels: t.track.channels(),
            timescale: t.track.timescale,
            bitrate: t.bitrate().unwrap_or(0),
            frames_per_ks: (kind == TrackKind::Video && t.duration > 0).then(|| {
                u64::from(t.sample_count) * u64::from(t.track.timescale) * 1000 / t.duration
            }),
        });
        probe.tracks.push(SegmentTrack {
            kind,
            t: t.base_media_decode_time,
            d: t.duration,
            init: content_version(&init),
        });
    }
    Some(probe)
}

impl SegmentProbe {
    /// The tracks' timings moved into the epoch of `media_start` (the unwrapped first PTS).
    pub fn tracks_at(&self, media_start: u64) -> Vec<SegmentTrack> {
        let epoch = media_start.saturating_sub(self.pts);
        self.tracks
            .iter()
            .zip(&self.info)
            .map(|(t, info)| {
                let shift = rescale(epoch, 90_000, info.timescale).unwrap_or(0);
                SegmentTrack {
                    t: t.t + shift,
                    ..t.clone()
                }
            })
            .collect()
    }
}
