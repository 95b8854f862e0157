//! One segment's tracks checked and planned for the muxer: which track is which, its decoder
//! configuration, its first sample, and its times in ms.

use super::muxer::FlvTrack;
use super::FlvError;
use crate::media::mp4::{CodecConfig, TrackKind};
use crate::media::sample::{TrackSamples, DEFAULT_NAL_LENGTH_SIZE};

/// Milliseconds per second: the unit of FLV timestamps.
const MS: i128 = 1000;

/// One track of a segment, checked and planned.
pub(super) struct Plan<'a> {
    /// The track's index in the caller's list (for errors).
    pub index: usize,
    pub kind: TrackKind,
    pub samples: TrackSamples<'a>,
    time_offset: i64,
    timescale: u32,
    /// The sequence header body (after the tag's 2-byte header): `avcC` or ASC.
    pub config: Vec<u8>,
    /// First sample written.
    pub start: usize,
}

/// Index of a track kind in per-kind state.
pub(super) fn slot(kind: TrackKind) -> usize {
    match kind {
        TrackKind::Video => 0,
        TrackKind::Audio => 1,
    }
}

/// `ticks` in `timescale` units → ms, rounded to nearest with halves away from zero (as
/// ffmpeg rescales).
fn to_ms(ticks: i128, timescale: u32) -> i128 {
    let num = ticks * MS;
    let den = i128::from(timescale);
    let half = den / 2;
    if num >= 0 {
        (num + half) / den
    } else {
        (num - half) / den
    }
}

impl Plan<'_> {
    /// Decode time of sample `i` in ms.
    pub fn dts_ms(&self, i: usize) -> Option<i128> {
        let s = self.samples.samples.get(i)?;
        Some(to_ms(
            i128::from(s.decode_time) + i128::from(self.time_offset),
            self.timescale,
        ))
    }

    /// Presentation time of sample `i` in ms.
    pub fn pts_ms(&self, i: usize) -> Option<i128> {
        let s = self.samples.samples.get(i)?;
        Some(to_ms(
            i128::from(s.decode_time)
                + i128::from(self.time_offset)
                + i128::from(s.composition_offset),
            self.timescale,
        ))
    }

    /// End of the last sample (decode time + duration) in ms.
    pub fn end_ms(&self) -> Option<i128> {
        let s = self.samples.samples.last()?;
        Some(to_ms(
            i128::from(s.decode_time) + i128::from(self.time_offset) + i128::from(s.duration),
            self.timescale,
        ))
    }

    /// Frames per second from the decode times of the segment's video samples.
    pub fn frame_rate(&self) -> Option<f64> {
        let samples = self.samples.samples;
        let (first, last) = (samples.first()?, samples.last()?);
        let (frames, span) = if samples.len() > 1 {
            (
                samples.len() - 1,
                last.decode_time.checked_sub(first.decode_time)?,
            )
        } else {
            (1, u64::from(first.duration))
        };
        // Text-like output: AMF0 numbers are doubles.
        (span > 0).then(|| frames as f64 * f64::from(self.timescale) / span as f64)
    }
}

/// Checks `tracks` and builds their plans: video first, then audio.
pub(super) fn plan<'a>(tracks: &[FlvTrack<'a>]) -> Result<Vec<Plan<'a>>, FlvError> {
    let mut plans: Vec<Plan<'a>> = Vec::with_capacity(tracks.len().min(2));
    for (index, t) in tracks.iter().enumerate() {
        let track = t.samples.track;
        let kind = track.kind();
        if plans.iter().any(|p| p.kind == kind) {
            return Err(FlvError::TooManyTracks { kind: kind.name() });
        }
        if track.timescale == 0 {
            return Err(FlvError::Timescale { track: index });
        }
        let config = match &track.codec {
            CodecConfig::Avc(avc) => {
                if t.samples.nal_length_size != DEFAULT_NAL_LENGTH_SIZE {
                    return Err(FlvError::NalLengthSize {
                        track: index,
                        size: t.samples.nal_length_size,
                    });
                }
                avc.decoder_configuration_record()
                    .map_err(FlvError::Codec)?
            }
            CodecConfig::Aac(aac) => aac.audio_specific_config().to_vec(),
            CodecConfig::Hevc(_) => {
                return Err(FlvError::UnsupportedCodec {
                    track: index,
                    codec: "H.265",
                })
            }
        };
        plans.push(Plan {
            index,
            kind,
            samples: t.samples,
            time_offset: t.time_offset,
            timescale: track.timescale,
            config,
            start: 0,
        });
    }
    plans.sort_by_key(|p| p.kind);
    Ok(plans)
}
