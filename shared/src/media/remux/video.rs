//! H.264 / H.265 PES packets → `avc1` / `hvc1` samples: one access unit per PES packet
//! (ISO/IEC 13818-1 2.14.3.1 recommends it and encoders do it), Annex B NAL units rewritten
//! with 4-byte lengths, parameter sets moved to `avcC` / `hvcC`, IDR (H.264) or IRAP (H.265)
//! access units marked as sync samples.

use super::{BuiltTrack, Chunk, RemuxError, RemuxOptions, RemuxWarning};
use crate::media::codec::annexb::NalUnits;
use crate::media::codec::{h264, hevc, CodecError};
use crate::media::mp4::{CodecConfig, MuxError, SampleInfo, Track};
use crate::media::time::{Unwrapper, TS_TIMESCALE};
use crate::media::ts::Pes;
use std::borrow::Cow;

/// Duration given to the last sample of a segment of a single picture when nothing else says
/// how long it lasts: one frame at 30 fps.
const FALLBACK_FRAME_DURATION: u32 = TS_TIMESCALE / 30;
/// The last sample's duration derived from the next segment is trusted only up to this many
/// times the previous frame duration (a larger value means the next start is unrelated).
const MAX_LAST_DURATION_FACTOR: u64 = 4;

/// The video codecs the remuxer converts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum VideoCodec {
    H264,
    H265,
}

/// Parameter set slots: VPS (H.265 only), SPS, PPS; the first of each is kept.
#[derive(Default)]
struct ParameterSets<'a> {
    vps: Option<&'a [u8]>,
    sps: Option<&'a [u8]>,
    pps: Option<&'a [u8]>,
    /// A later parameter set differed from the kept one.
    changed: bool,
}

/// Keeps the first parameter set of a kind and notes when a different one follows.
fn note<'a>(slot: &mut Option<&'a [u8]>, nal: &'a [u8], changed: &mut bool) {
    match slot {
        Some(first) => *changed |= *first != nal,
        None => *slot = Some(nal),
    }
}

impl VideoCodec {
    /// (keep in sample, is a sync picture) for one NAL unit, noting parameter sets.
    fn classify<'a>(self, nal: &'a [u8], sets: &mut ParameterSets<'a>) -> (bool, bool) {
        match self {
            VideoCodec::H264 => {
                let t = h264::nal_unit_type(nal);
                match t {
                    h264::nal_type::SPS => note(&mut sets.sps, nal, &mut sets.changed),
                    h264::nal_type::PPS => note(&mut sets.pps, nal, &mut sets.changed),
                    _ => {}
                }
                (h264::keep_in_sample(t), t == h264::nal_type::IDR_SLICE)
            }
            VideoCodec::H265 => {
                let t = hevc::nal_unit_type(nal);
                match t {
                    hevc::nal_type::VPS => note(&mut sets.vps, nal, &mut sets.changed),
                    hevc::nal_type::SPS => note(&mut sets.sps, nal, &mut sets.changed),
                    hevc::nal_type::PPS => note(&mut sets.pps, nal, &mut sets.changed),
                    _ => {}
                }
                (hevc::keep_in_sample(t), hevc::is_irap(t))
            }
        }
    }

    /// The decoder configuration once all parameter sets were seen.
    fn config(self, sets: &ParameterSets<'_>) -> Option<Result<CodecConfig, CodecError>> {
        match self {
            VideoCodec::H264 => {
                let (sps, pps) = (sets.sps?, sets.pps?);
                Some(h264::AvcConfig::new(sps, pps).map(CodecConfig::Avc))
            }
            VideoCodec::H265 => {
                let (vps, sps, pps) = (sets.vps?, sets.sps?, sets.pps?);
                Some(hevc::HevcConfig::new(vps, sps, pps).map(CodecConfig::Hevc))
            }
        }
    }
}

struct Timed {
    dts: u64,
    pts: u64,
}

/// Groups PES packets into access units: a PES packet without a PTS continues the access unit
/// of the previous one (muxers that bound `PES_packet_length` split large pictures so).
fn access_units(pes: &[Pes]) -> Vec<(&Pes, Cow<'_, [u8]>)> {
    let mut units: Vec<(&Pes, Cow<'_, [u8]>)> = Vec::with_capacity(pes.len());
    for packet in pes {
        match units.last_mut() {
            Some((_, unit)) if packet.pts().is_none() => {
                unit.to_mut().extend_from_slice(packet.payload());
            }
            _ => units.push((packet, Cow::Borrowed(packet.payload()))),
        }
    }
    units
}

pub(super) fn build<'a>(
    codec: VideoCodec,
    pid: u16,
    pes: &'a [Pes],
    mut unwrapper: Unwrapper,
    options: &RemuxOptions,
    warnings: &mut Vec<RemuxWarning>,
) -> Result<BuiltTrack<'a>, RemuxError> {
    let units = access_units(pes);
    let mut config: Option<CodecConfig> = None;
    let mut sets = ParameterSets::default();
    let mut samples: Vec<SampleInfo> = Vec::with_capacity(pes.len());
    let mut times: Vec<Timed> = Vec::with_capacity(pes.len());
    let mut chunks = Vec::with_capacity(pes.len() * 4);
    let mut sample_chunks = Vec::with_capacity(pes.len());
    for (index, (packet, payload)) in units.iter().enumerate() {
        let time = match (packet.dts(), packet.pts()) {
            (Some(dts), Some(pts)) => {
                let dts = unwrapper.unwrap(dts);
                Timed {
                    dts,
                    pts: pts.unwrap_near(dts),
                }
            }
            _ => {
                warnings.push(RemuxWarning::Stream {
                    pid,
                    what: "video PES without PTS dropped",
                });
                continue;
            }
        };
        let first_chunk = chunks.len();
        let mut size: u64 = 0;
        let mut is_sync = false;
        for (start, nal) in NalUnits::new(payload) {
            let (keep, sync) = codec.classify(nal, &mut sets);
            is_sync |= sync;
            if !keep {
                continue;
            }
            chunks.push(Chunk {
                unit: index,
                start,
                end: start + nal.len(),
            });
            size += 4 + crate::media::reader::len_u64(nal.len());
        }
        if chunks.len() == first_chunk {
            warnings.push(RemuxWarning::Stream {
                pid,
                what: "PES without a coded picture dropped",
            });
            continue;
        }
        let size = u32::try_from(size).map_err(|_| {
            RemuxError::Mux(MuxError::OutOfRange {
                field: "sample size",
            })
        })?;
        if config.is_none() {
            if let Some(c) = codec.config(&sets) {
                config = Some(c.map_err(|error| RemuxError::Codec { pid, error })?);
            }
        }
        sample_chunks.push(first_chunk);
        samples.push(SampleInfo {
            duration: 0,
            size,
            is_sync,
            composition_offset: 0,
        });
        times.push(time);
    }
    let config = config.ok_or(RemuxError::MissingParameterSets { pid })?;
    let (Some(first), Some(last)) = (times.first(), times.last()) else {
        return Err(RemuxError::NoSamples { pid });
    };
    let lead = first.pts.saturating_sub(first.dts);
    let last_dts = last.dts;
    for (i, s) in samples.iter_mut().enumerate() {
        let t = &times[i];
        s.composition_offset =
            i32::try_from(i128::from(t.pts) - i128::from(t.dts)).map_err(|_| {
                RemuxError::Timestamp {
                    pid,
                    what: "PTS - DTS beyond 32 bits",
                }
            })?;
        if let Some(next) = times.get(i + 1) {
            s.duration = match next.dts.checked_sub(t.dts).map(u32::try_from) {
                Some(Ok(d)) => d,
                _ => {
                    warnings.push(RemuxWarning::Stream {
                        pid,
                        what: "DTS not increasing; sample duration set to 0",
                    });
                    0
                }
            };
        }
    }
    let previous = samples
        .iter()
        .rev()
        .nth(1)
        .map_or(FALLBACK_FRAME_DURATION, |s| s.duration);
    let from_next = options
        .next_segment_start
        .and_then(|next| next.checked_sub(lead))
        .and_then(|end| end.checked_sub(last_dts))
        .filter(|&d| d > 0 && d <= MAX_LAST_DURATION_FACTOR * u64::from(previous.max(1)))
        .and_then(|d| u32::try_from(d).ok());
    if options.next_segment_start.is_some() && from_next.is_none() {
        warnings.push(RemuxWarning::Stream {
            pid,
            what: "next_segment_start does not follow this segment; last duration repeated",
        });
    }
    if let Some(s) = samples.last_mut() {
        s.duration = from_next.unwrap_or(previous);
    }
    if sets.changed {
        warnings.push(RemuxWarning::Stream {
            pid,
            what: "parameter sets change inside the segment; the first ones are used",
        });
    }
    if samples.first().is_some_and(|s| !s.is_sync) {
        warnings.push(RemuxWarning::Stream {
            pid,
            what: "segment does not start with a random access picture",
        });
    }
    Ok(BuiltTrack {
        units: units.into_iter().map(|(_, u)| u).collect(),
        track: Track {
            timescale: TS_TIMESCALE,
            codec: config,
        },
        base_media_decode_time: first.dts,
        samples,
        chunks,
        sample_chunks,
        length_prefixed: true,
    })
}
