//! MPEG-TS segment → CMAF track files: the function the packaging endpoints call.
//!
//! The input is one ingested TS segment (or several consecutive ones, joined to make a longer
//! output segment). Each supported elementary stream becomes its own CMAF track: an init
//! segment from [`init_segment`] and one media segment per call. Output depends only on the
//! input bytes and [`RemuxOptions`], so every edge produces byte-identical segments.
//!
//! Timing: decode times are the TS DTS (PTS when absent), unwrapped to 64 bits near
//! [`RemuxOptions::time_reference`]; video keeps the 90 kHz clock as its timescale, audio uses
//! its sample rate (each AAC frame lasts 1024 samples). `tfdt` is the first sample's decode
//! time, so consecutive segments of one stream continue each other without any state.

mod audio;
pub mod clip;
mod flv;
mod fmp4;
mod video;

pub use crate::media::mp4::{init_segment, CodecConfig, Track, TrackKind};
pub use flv::{av_segment_to_flv, fmp4_parts_to_flv, ts_parts_to_flv, FlvRemuxed, FlvSource};
pub use fmp4::{fmp4_parts_to_cmaf, fmp4_parts_to_ts, ts_counters_after, ts_pids, Fmp4Part};

use crate::media::codec::CodecError;
use crate::media::flv::FlvError;
use crate::media::mp4::demux::Fmp4Error;
use crate::media::mp4::{write_media_segment, MuxError, SampleInfo};
use crate::media::time::Unwrapper;
use crate::media::ts::mux::TsMuxError;
use crate::media::ts::{Demuxer, Pes, Pmt, StreamKind, TsError, TsEvent, TsWarning};
use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

/// Options of one remux call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemuxOptions {
    /// An unwrapped 90 kHz time near this segment's start (the timeline's `media_start`), to
    /// unwrap the 33-bit timestamps into the right 2^33 epoch. `None`: the segment's first PTS
    /// as it is (epoch 0).
    pub time_reference: Option<u64>,
    /// Unwrapped 90 kHz PTS of the first video frame of the segment that follows, if known:
    /// gives the last video sample its exact duration. Otherwise it repeats the previous one.
    pub next_segment_start: Option<u64>,
    /// `mfhd.sequence_number` of the fragment (the output segment number; at least 1).
    pub sequence_number: u32,
}

impl Default for RemuxOptions {
    fn default() -> Self {
        RemuxOptions {
            time_reference: None,
            next_segment_start: None,
            sequence_number: 1,
        }
    }
}

/// One track's output of a remux call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemuxedTrack {
    /// The elementary stream's PID in the source.
    pub pid: u16,
    pub track: Track,
    /// The CMAF media segment: `styp` + `moof` + `mdat`.
    pub segment: Vec<u8>,
    /// `tfdt` of the segment, in `track.timescale` units.
    pub base_media_decode_time: u64,
    /// Earliest presentation time of the segment (smallest decode time + composition
    /// offset), in `track.timescale` units: the segment's start on a DASH SegmentTimeline.
    pub presentation_start: u64,
    /// Sum of the sample durations, in `track.timescale` units.
    pub duration: u64,
    pub sample_count: u32,
    /// True when the first sample is a sync sample (IDR for video; always for audio).
    pub starts_with_sync_sample: bool,
}

impl RemuxedTrack {
    /// The CMAF header for this track (identical for every segment with the same codec
    /// configuration).
    pub fn init_segment(&self) -> Result<Vec<u8>, MuxError> {
        init_segment(&self.track)
    }

    /// Average bit rate of the media segment in bits per second, for manifests.
    pub fn bitrate(&self) -> Option<u64> {
        let bits = u128::from(crate::media::reader::len_u64(self.segment.len())) * 8;
        let bps = bits * u128::from(self.track.timescale) / u128::from(self.duration).max(1);
        (self.duration > 0).then(|| u64::try_from(bps).unwrap_or(u64::MAX))
    }
}

/// The result of [`ts_to_cmaf`]: video tracks first, then audio, each in PID order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemuxedSegment {
    pub tracks: Vec<RemuxedTrack>,
    /// Damage that was skipped (continuity errors, unsupported streams, dropped frames, ...).
    pub warnings: Vec<RemuxWarning>,
}

/// Something skipped while remuxing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemuxWarning {
    Ts(TsWarning),
    /// A frame or PES packet of `pid` was dropped or adjusted for the reason given.
    Stream {
        pid: u16,
        what: &'static str,
    },
    /// The stream on `pid` could not be remuxed; the other tracks were.
    TrackDropped {
        pid: u16,
        error: RemuxError,
    },
}

impl fmt::Display for RemuxWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RemuxWarning::Ts(w) => w.fmt(f),
            RemuxWarning::Stream { pid, what } => write!(f, "PID 0x{pid:04x}: {what}"),
            RemuxWarning::TrackDropped { pid, error } => {
                write!(f, "PID 0x{pid:04x}: track dropped: {error}")
            }
        }
    }
}

/// Errors of a remux call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemuxError {
    Ts(TsError),
    /// A fragmented MP4 input (init or media segment) did not parse.
    Fmp4(Fmp4Error),
    /// The samples could not be written as MPEG-TS (e.g. H.265, which HLS carries in fMP4 only).
    TsMux(TsMuxError),
    /// The samples could not be written as FLV (e.g. H.265, which FLV does not carry).
    Flv(FlvError),
    Codec {
        pid: u16,
        error: CodecError,
    },
    Mux(MuxError),
    /// The program has no H.264, H.265 or AAC stream.
    NoTracks,
    /// A video stream without SPS/PPS in this segment.
    MissingParameterSets {
        pid: u16,
    },
    /// A stream with no usable sample in this segment.
    NoSamples {
        pid: u16,
    },
    /// A timestamp is missing or not representable.
    Timestamp {
        pid: u16,
        what: &'static str,
    },
}

impl fmt::Display for RemuxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RemuxError::Ts(e) => e.fmt(f),
            RemuxError::Fmp4(e) => e.fmt(f),
            RemuxError::TsMux(e) => e.fmt(f),
            RemuxError::Flv(e) => e.fmt(f),
            RemuxError::Codec { pid, error } => write!(f, "PID 0x{pid:04x}: {error}"),
            RemuxError::Mux(e) => e.fmt(f),
            RemuxError::NoTracks => write!(f, "no H.264, H.265 or AAC stream in the program"),
            RemuxError::MissingParameterSets { pid } => {
                write!(f, "PID 0x{pid:04x}: no SPS/PPS in the segment")
            }
            RemuxError::NoSamples { pid } => write!(f, "PID 0x{pid:04x}: no usable samples"),
            RemuxError::Timestamp { pid, what } => write!(f, "PID 0x{pid:04x}: {what}"),
        }
    }
}

impl std::error::Error for RemuxError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RemuxError::Ts(e) => Some(e),
            RemuxError::Fmp4(e) => Some(e),
            RemuxError::TsMux(e) => Some(e),
            RemuxError::Flv(e) => Some(e),
            RemuxError::Codec { error, .. } => Some(error),
            RemuxError::Mux(e) => Some(e),
            _ => None,
        }
    }
}

impl From<MuxError> for RemuxError {
    fn from(e: MuxError) -> Self {
        RemuxError::Mux(e)
    }
}

/// Remuxes one TS segment; see the module documentation.
pub fn ts_to_cmaf(ts: &[u8], options: &RemuxOptions) -> Result<RemuxedSegment, RemuxError> {
    ts_parts_to_cmaf(&[ts], options)
}

/// Remuxes consecutive TS segments of one stream into one output segment per track.
pub fn ts_parts_to_cmaf(
    parts: &[&[u8]],
    options: &RemuxOptions,
) -> Result<RemuxedSegment, RemuxError> {
    let demuxed = demux_ts(parts)?;
    let samples = demuxed.samples(options)?;
    let mut warnings = samples.warnings;
    let mut tracks = Vec::new();
    let mut first_error = None;
    for t in samples.tracks {
        let pid = t.pid;
        match t.built.into_track(pid, options.sequence_number) {
            Ok(track) => tracks.push(track),
            Err(error) => {
                warnings.push(RemuxWarning::TrackDropped {
                    pid,
                    error: error.clone(),
                });
                first_error.get_or_insert(error);
            }
        }
    }
    if tracks.is_empty() {
        return Err(first_error.unwrap_or(RemuxError::NoTracks));
    }
    Ok(RemuxedSegment { tracks, warnings })
}

/// The elementary streams of TS input, demuxed once: the source of [`DemuxedTs::samples`].
pub struct DemuxedTs {
    streams: Vec<StreamPes>,
    warnings: Vec<RemuxWarning>,
}

/// Runs the demuxer over consecutive TS `parts` (see [`DemuxedTs::samples`]).
pub fn demux_ts(parts: &[&[u8]]) -> Result<DemuxedTs, RemuxError> {
    demux_all(parts)
}

/// The samples of each track of some TS input, before any box is written: what a CMAF
/// fragment or a progressive MP4 is made of. Video first, then audio, each in PID order.
pub struct SampleSegment<'a> {
    pub tracks: Vec<SampleTrack<'a>>,
    pub warnings: Vec<RemuxWarning>,
}

/// One track's samples, borrowing the demuxed payloads.
pub struct SampleTrack<'a> {
    /// The elementary stream's PID in the source.
    pub pid: u16,
    built: BuiltTrack<'a>,
}

impl SampleTrack<'_> {
    pub fn track(&self) -> &Track {
        &self.built.track
    }

    /// Sample durations, sizes, sync flags and composition offsets, in decode order.
    pub fn samples(&self) -> &[SampleInfo] {
        &self.built.samples
    }

    /// Decode time of the first sample, unwrapped, in the track's timescale.
    pub fn base_media_decode_time(&self) -> u64 {
        self.built.base_media_decode_time
    }

    /// Appends the bytes of the samples in `range` (MP4 sample format: length-prefixed NAL
    /// units, raw AAC frames), in decode order; their sizes are `samples()[range]`'s.
    pub fn write_samples(&self, range: Range<usize>, out: &mut Vec<u8>) {
        self.built.write_samples(range, out);
    }
}

impl DemuxedTs {
    /// Builds each supported stream's samples; `options.time_reference` picks the timestamp
    /// epoch and `options.next_segment_start` the last video sample's duration. A stream that
    /// cannot be built is dropped with [`RemuxWarning::TrackDropped`]; only when none is left
    /// is the call an error.
    pub fn samples(&self, options: &RemuxOptions) -> Result<SampleSegment<'_>, RemuxError> {
        let mut warnings = self.warnings.clone();
        let reference = match options.time_reference {
            Some(r) => r,
            None => self
                .streams
                .iter()
                .find_map(|s| s.pes.iter().find_map(Pes::pts))
                .map_or(0, |t| t.get()),
        };
        let mut tracks = Vec::new();
        let mut first_error = None;
        for stream in &self.streams {
            let unwrapper = Unwrapper::new(reference);
            let built = match stream.kind {
                StreamKind::H264 | StreamKind::H265 => {
                    let codec = if stream.kind == StreamKind::H264 {
                        video::VideoCodec::H264
                    } else {
                        video::VideoCodec::H265
                    };
                    video::build(
                        codec,
                        stream.pid,
                        &stream.pes,
                        unwrapper,
                        options,
                        &mut warnings,
                    )
                }
                StreamKind::AacAdts => {
                    audio::build(stream.pid, &stream.pes, unwrapper, &mut warnings)
                }
                StreamKind::Unsupported(_) => continue,
            };
            match built {
                Ok(built) => tracks.push(SampleTrack {
                    pid: stream.pid,
                    built,
                }),
                // One broken stream does not take the others down (audio renditions keep
                // playing when the video of a segment is damaged); it is reported.
                Err(error) => {
                    warnings.push(RemuxWarning::TrackDropped {
                        pid: stream.pid,
                        error: error.clone(),
                    });
                    first_error.get_or_insert(error);
                }
            }
        }
        if tracks.is_empty() {
            return Err(first_error.unwrap_or(RemuxError::NoTracks));
        }
        tracks.sort_by_key(|t| (t.built.track.kind(), t.pid));
        Ok(SampleSegment { tracks, warnings })
    }
}

/// The PES packets of one elementary stream.
struct StreamPes {
    pid: u16,
    kind: StreamKind,
    pes: Vec<Pes>,
}

/// Runs the demuxer over all parts and groups the PES packets of the first program's
/// supported streams.
fn demux_all(parts: &[&[u8]]) -> Result<DemuxedTs, RemuxError> {
    let mut demux = Demuxer::new();
    let mut program: Option<Pmt> = None;
    let mut streams: Vec<StreamPes> = Vec::new();
    let mut warnings = Vec::new();
    let mut drain = |demux: &mut Demuxer| {
        while let Some(event) = demux.poll() {
            match event {
                TsEvent::Pmt(pmt) => {
                    if program.is_none() {
                        for s in &pmt.streams {
                            let kind = s.kind();
                            if kind.is_video() || kind.is_audio() {
                                streams.push(StreamPes {
                                    pid: s.elementary_pid,
                                    kind,
                                    pes: Vec::new(),
                                });
                            }
                        }
                        program = Some(pmt);
                    }
                }
                TsEvent::Pes(pes) => {
                    if let Some(s) = streams.iter_mut().find(|s| s.pid == pes.pid) {
                        s.pes.push(pes);
                    }
                }
                TsEvent::Warning(w) => warnings.push(RemuxWarning::Ts(w)),
            }
        }
    };
    for part in parts {
        demux.push(part);
        drain(&mut demux);
    }
    demux.finish();
    drain(&mut demux);
    if program.is_none() {
        if !demux.pat_seen() {
            return Err(RemuxError::Ts(TsError::MissingPat));
        }
        let pid = demux.missing_pmts().next().unwrap_or(0);
        return Err(RemuxError::Ts(TsError::MissingPmt { pid }));
    }
    Ok(DemuxedTs { streams, warnings })
}

/// Where a sample's bytes are: a range of one of the track's units (PES payloads, or access
/// units joined from several PES packets).
#[derive(Debug, Clone, Copy)]
struct Chunk {
    unit: usize,
    start: usize,
    end: usize,
}

/// A track's samples before muxing.
struct BuiltTrack<'a> {
    units: Vec<Cow<'a, [u8]>>,
    track: Track,
    samples: Vec<SampleInfo>,
    /// Sample bytes in decode order (a sample may span several chunks).
    chunks: Vec<Chunk>,
    /// Index in `chunks` of each sample's first chunk.
    sample_chunks: Vec<usize>,
    /// Write a 4-byte length before each chunk (ISO/IEC 14496-15 NAL unit samples).
    length_prefixed: bool,
    base_media_decode_time: u64,
}

impl BuiltTrack<'_> {
    /// Appends the bytes of the samples in `range`, in decode order.
    fn write_samples(&self, range: Range<usize>, out: &mut Vec<u8>) {
        // A sample's chunks follow each other, from its first chunk to the next sample's.
        let first_chunk = |i: usize| {
            self.sample_chunks
                .get(i)
                .copied()
                .unwrap_or(self.chunks.len())
        };
        let chunks = first_chunk(range.start)..first_chunk(range.end);
        for c in self.chunks.get(chunks).unwrap_or_default() {
            let Some(bytes) = self.units.get(c.unit).and_then(|u| u.get(c.start..c.end)) else {
                continue;
            };
            if self.length_prefixed {
                // Sizes were checked against u32 when the sample was built; a mismatch here
                // would surface as MuxError::SampleSizeMismatch.
                let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
                out.extend_from_slice(&len.to_be_bytes());
            }
            out.extend_from_slice(bytes);
        }
    }

    fn into_track(self, pid: u16, sequence_number: u32) -> Result<RemuxedTrack, RemuxError> {
        let declared: u64 = self.samples.iter().map(|s| u64::from(s.size)).sum();
        let mut segment = Vec::with_capacity(
            usize::try_from(declared)
                .unwrap_or(0)
                .saturating_add(64 + 16 * self.samples.len()),
        );
        write_media_segment(
            &mut segment,
            sequence_number,
            self.base_media_decode_time,
            &self.samples,
            |mdat| self.write_samples(0..self.samples.len(), mdat),
        )?;
        let duration = self.samples.iter().map(|s| u64::from(s.duration)).sum();
        let mut decode_time = self.base_media_decode_time;
        let mut presentation_start = u64::MAX;
        for s in &self.samples {
            let pts = decode_time.saturating_add_signed(i64::from(s.composition_offset));
            presentation_start = presentation_start.min(pts);
            decode_time = decode_time.saturating_add(u64::from(s.duration));
        }
        Ok(RemuxedTrack {
            pid,
            starts_with_sync_sample: self.samples.first().is_some_and(|s| s.is_sync),
            sample_count: u32::try_from(self.samples.len())
                .map_err(|_| RemuxError::NoSamples { pid })?,
            track: self.track,
            segment,
            base_media_decode_time: self.base_media_decode_time,
            presentation_start,
            duration,
        })
    }
}
