//! MPEG-2 transport stream multiplexing (ISO/IEC 13818-1): tracks of samples → one TS
//! segment, as HLS carries it.
//!
//! ```text
//! let mut counters = ContinuityCounters::default();    // carried from segment to segment
//! let tracks = [TsMuxTrack { samples: video, time_offset: 0 }, TsMuxTrack { samples: audio, time_offset: 0 }];
//! write_segment(&mut out, &tracks, &TsMuxOptions::default(), &mut counters)?;
//! ```
//!
//! * One program: a PAT and a PMT at the start of every segment (so each segment decodes on
//!   its own), then one PES packet per sample, interleaved by decode time.
//! * H.264 (`stream_type` 0x1B): length-prefixed NAL units become an Annex B byte stream with
//!   an access unit delimiter first and the SPS and PPS before every IDR picture. AAC
//!   (`stream_type` 0x0F): each raw frame gets an ADTS header. H.265 is refused
//!   ([`TsMuxError::UnsupportedCodec`]).
//! * Timestamps: decode and composition times (track timescale, 64 bits) plus the track's
//!   `time_offset` are rescaled to 90 kHz (rounded to nearest, halves away from zero, as
//!   ffmpeg's rescaling does) and written modulo 2^33. The PCR rides on the first video
//!   track's PID (the first track's without video), in the first packet of each of its PES
//!   packets, [`PCR_LEAD`] before the access unit's DTS.
//! * Continuity counters continue from `counters`, which the call advances: a caller that
//!   passes the counters of one segment to the next gets a gapless output, and the output
//!   stays a pure function of the inputs.
//! * PIDs: PMT 0x1000, elementary streams from 0x100 in track order (ffmpeg's defaults);
//!   program_number 1, transport_stream_id 1 ([`TsMuxOptions`]).

mod packet;
mod pes;

use crate::media::codec::aac::ADTS_HEADER_LEN;
use crate::media::codec::CodecError;
use crate::media::mp4::CodecConfig;
use crate::media::sample::TrackSamples;
use crate::media::time::{TIMESTAMP_WRAP, TS_TIMESCALE};
use crate::media::ts::crc32_mpeg2;
use crate::media::ts::pat::{PAT_PID, PAT_TABLE_ID};
use crate::media::ts::pmt::{stream_type, PMT_TABLE_ID};
use packet::{write_pes, write_section, PesStart, MAX_PAYLOAD};
use pes::{annex_b_pieces, pes_header, ACCESS_UNIT_DELIMITER, MAX_PES_HEADER_LEN};
use std::fmt;

/// How far the PCR runs ahead of the DTS of the access unit it arrives with, in 90 kHz
/// ticks (100 ms): in the T-STD model (2.4.2) an access unit must be in the buffer before
/// its decode time, so the clock must not have reached its DTS when its first byte arrives.
/// Players do not depend on the exact value; ffmpeg leads by its mux delay (0.7 s).
pub const PCR_LEAD: u64 = 9_000;

/// `stream_id` bases (Table 2-22): video streams 0xE0..=0xEF, audio 0xC0..=0xDF.
const VIDEO_STREAM_ID: u8 = 0xE0;
const MAX_VIDEO_STREAMS: usize = 16;
const AUDIO_STREAM_ID: u8 = 0xC0;
const MAX_AUDIO_STREAMS: usize = 32;
/// Lowest PID free for programs and elementary streams (Table 2-3).
const FIRST_USABLE_PID: u16 = 0x0010;
/// Highest PID before the null packet PID 0x1FFF.
const LAST_USABLE_PID: u16 = 0x1FFE;
/// Section bytes of a PMT before its elementary stream loop (after section_length) and per
/// stream, and the CRC_32.
const PMT_FIXED_LEN: usize = 9;
const PMT_STREAM_LEN: usize = 5;
const CRC_LEN: usize = 4;

/// Layout of the output program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TsMuxOptions {
    pub transport_stream_id: u16,
    pub program_number: u16,
    pub pmt_pid: u16,
    /// PID of the first track; the others follow in order.
    pub first_elementary_pid: u16,
}

impl Default for TsMuxOptions {
    fn default() -> Self {
        TsMuxOptions {
            transport_stream_id: 1,
            program_number: 1,
            pmt_pid: 0x1000,
            first_elementary_pid: 0x100,
        }
    }
}

/// One track to multiplex.
#[derive(Debug, Clone, Copy)]
pub struct TsMuxTrack<'a> {
    pub samples: TrackSamples<'a>,
    /// Added to every decode and composition time, in the track's timescale, before the
    /// conversion to 90 kHz: e.g. the fMP4 edit list's shift (`InitTrack::edit_shift`) so
    /// that audio and video keep the sync the MP4 presentation had; 0 keeps media times.
    pub time_offset: i64,
}

/// The `continuity_counter` (2.4.3.3) each PID's next packet carries; carried across the
/// segments of one output so the counters run on without a gap.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContinuityCounters {
    /// (PID, next counter), sorted by PID.
    next: Vec<(u16, u8)>,
}

impl ContinuityCounters {
    /// The counter of the next packet on `pid` (0 for a PID not written yet).
    pub fn next(&self, pid: u16) -> u8 {
        self.next
            .binary_search_by_key(&pid, |&(p, _)| p)
            .map_or(0, |i| self.next[i].1)
    }

    /// Sets the counter of the next packet on `pid` (its low 4 bits): to carry counters that
    /// were recorded elsewhere (a stateless origin stores them with each segment).
    pub fn set(&mut self, pid: u16, next: u8) {
        let next = next & 0x0F;
        match self.next.binary_search_by_key(&pid, |&(p, _)| p) {
            Ok(i) => self.next[i].1 = next,
            Err(i) => self.next.insert(i, (pid, next)),
        }
    }

    /// Every PID written so far with its next counter, by PID.
    pub fn iter(&self) -> impl Iterator<Item = (u16, u8)> + '_ {
        self.next.iter().copied()
    }

    /// Returns the counter for a packet on `pid` and advances it (modulo 16).
    fn take(&mut self, pid: u16) -> u8 {
        match self.next.binary_search_by_key(&pid, |&(p, _)| p) {
            Ok(i) => {
                let cc = self.next[i].1;
                self.next[i].1 = (cc + 1) & 0x0F;
                cc
            }
            Err(i) => {
                self.next.insert(i, (pid, 1));
                0
            }
        }
    }
}

/// Errors of the TS muxer; `track` is the index in the call's track list, `sample` the
/// index in that track's samples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TsMuxError {
    /// No track to write.
    NoTracks,
    /// More tracks than the program can carry (stream_ids, PIDs or one PMT packet).
    TooManyTracks { tracks: usize },
    /// The PID layout of the options is unusable.
    Pid { pid: u16, what: &'static str },
    /// A codec the TS muxer does not write.
    UnsupportedCodec { track: usize, codec: &'static str },
    /// A sample's bytes are not where its offset and size say, or its NAL unit lengths do
    /// not add up to its size.
    SampleData {
        track: usize,
        sample: usize,
        what: &'static str,
    },
    /// A sample cannot be carried (an AAC frame too long for ADTS, a PES too long).
    Codec {
        track: usize,
        sample: usize,
        error: CodecError,
    },
    /// The track's timescale is 0.
    Timescale { track: usize },
}

impl fmt::Display for TsMuxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TsMuxError::NoTracks => write!(f, "no track to multiplex"),
            TsMuxError::TooManyTracks { tracks } => {
                write!(f, "{tracks} tracks: more than one TS program carries here")
            }
            TsMuxError::Pid { pid, what } => write!(f, "PID 0x{pid:04x}: {what}"),
            TsMuxError::UnsupportedCodec { track, codec } => {
                write!(f, "track {track}: {codec} is not written to MPEG-TS")
            }
            TsMuxError::SampleData {
                track,
                sample,
                what,
            } => write!(f, "track {track} sample {sample}: {what}"),
            TsMuxError::Codec {
                track,
                sample,
                error,
            } => write!(f, "track {track} sample {sample}: {error}"),
            TsMuxError::Timescale { track } => write!(f, "track {track}: timescale 0"),
        }
    }
}

impl std::error::Error for TsMuxError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TsMuxError::Codec { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// One elementary stream of the output.
struct Stream<'a> {
    track: usize,
    pid: u16,
    stream_type: u8,
    stream_id: u8,
    samples: TrackSamples<'a>,
    time_offset: i64,
    timescale: u32,
}

/// `ticks` in `timescale` units → 90 kHz, rounded to nearest with halves away from zero.
fn to_90khz(ticks: i128, timescale: u32) -> i128 {
    let num = ticks * i128::from(TS_TIMESCALE);
    let den = i128::from(timescale);
    let half = den / 2;
    if num >= 0 {
        (num + half) / den
    } else {
        (num - half) / den
    }
}

/// An unwrapped 90 kHz time as a 33-bit PTS/DTS (2.4.3.7).
fn wrap33(t: i128) -> u64 {
    u64::try_from(t.rem_euclid(i128::from(TIMESTAMP_WRAP))).unwrap_or(0)
}

/// Plans the program: one stream per track, PIDs and stream_ids.
fn plan<'a>(
    tracks: &[TsMuxTrack<'a>],
    options: &TsMuxOptions,
) -> Result<Vec<Stream<'a>>, TsMuxError> {
    if tracks.is_empty() {
        return Err(TsMuxError::NoTracks);
    }
    let max_streams = (MAX_PAYLOAD - 1 - 3 - PMT_FIXED_LEN - CRC_LEN) / PMT_STREAM_LEN;
    if tracks.len() > max_streams {
        return Err(TsMuxError::TooManyTracks {
            tracks: tracks.len(),
        });
    }
    let usable = |pid: u16| (FIRST_USABLE_PID..=LAST_USABLE_PID).contains(&pid);
    if !usable(options.pmt_pid) {
        return Err(TsMuxError::Pid {
            pid: options.pmt_pid,
            what: "PMT PID outside 0x0010..=0x1FFE",
        });
    }
    let (mut video, mut audio) = (0usize, 0usize);
    let mut streams = Vec::with_capacity(tracks.len());
    for (i, t) in tracks.iter().enumerate() {
        let pid = u16::try_from(i)
            .ok()
            .and_then(|i| options.first_elementary_pid.checked_add(i))
            .filter(|&p| usable(p))
            .ok_or(TsMuxError::Pid {
                pid: options.first_elementary_pid,
                what: "elementary PIDs outside 0x0010..=0x1FFE",
            })?;
        if pid == options.pmt_pid {
            return Err(TsMuxError::Pid {
                pid,
                what: "an elementary PID equals the PMT PID",
            });
        }
        let (stream_type, stream_id) = match &t.samples.track.codec {
            CodecConfig::Avc(_) => {
                video += 1;
                let id = u8::try_from(video - 1)
                    .ok()
                    .filter(|_| video <= MAX_VIDEO_STREAMS)
                    .ok_or(TsMuxError::TooManyTracks {
                        tracks: tracks.len(),
                    })?;
                (stream_type::H264, VIDEO_STREAM_ID + id)
            }
            CodecConfig::Aac(_) => {
                audio += 1;
                let id = u8::try_from(audio - 1)
                    .ok()
                    .filter(|_| audio <= MAX_AUDIO_STREAMS)
                    .ok_or(TsMuxError::TooManyTracks {
                        tracks: tracks.len(),
                    })?;
                (stream_type::AAC_ADTS, AUDIO_STREAM_ID + id)
            }
            CodecConfig::Hevc(_) => {
                return Err(TsMuxError::UnsupportedCodec {
                    track: i,
                    codec: "H.265",
                })
            }
        };
        let timescale = t.samples.track.timescale;
        if timescale == 0 {
            return Err(TsMuxError::Timescale { track: i });
        }
        streams.push(Stream {
            track: i,
            pid,
            stream_type,
            stream_id,
            samples: t.samples,
            time_offset: t.time_offset,
            timescale,
        });
    }
    Ok(streams)
}

/// A PSI section: header fields after `section_length`, the body, then the CRC_32 (2.4.4).
fn section(table_id: u8, id: u16, body: &[u8]) -> Vec<u8> {
    // section_length counts from after itself to the end of the CRC (fits: checked by plan).
    let section_length = u16::try_from(5 + body.len() + CRC_LEN).unwrap_or(0);
    let mut s = Vec::with_capacity(3 + usize::from(section_length));
    s.push(table_id);
    // section_syntax_indicator 1, '0', reserved '11', 12-bit section_length.
    s.extend_from_slice(&(0xB000 | section_length).to_be_bytes());
    s.extend_from_slice(&id.to_be_bytes());
    s.push(0xC1); // reserved '11', version_number 0, current_next_indicator 1
    s.push(0); // section_number
    s.push(0); // last_section_number
    s.extend_from_slice(body);
    let crc = crc32_mpeg2(&s);
    s.extend_from_slice(&crc.to_be_bytes());
    s
}

/// `PCR_PID` when no stream carries the PCR (2.4.4.9); never the case here.
const NO_PCR_PID: u16 = 0x1FFF;

/// The PID that carries the PCR: the first video stream's, else the first stream's.
fn pcr_pid(streams: &[Stream<'_>]) -> Option<u16> {
    streams
        .iter()
        .find(|s| s.stream_type == stream_type::H264)
        .or(streams.first())
        .map(|s| s.pid)
}

/// PAT (2.4.4.3) and PMT (2.4.4.8) sections of the program.
fn program_tables(options: &TsMuxOptions, streams: &[Stream<'_>]) -> (Vec<u8>, Vec<u8>) {
    let reserved_pid = |pid: u16| (0xE000 | pid).to_be_bytes();
    let mut pat = Vec::with_capacity(4);
    pat.extend_from_slice(&options.program_number.to_be_bytes());
    pat.extend_from_slice(&reserved_pid(options.pmt_pid));
    let pat = section(PAT_TABLE_ID, options.transport_stream_id, &pat);

    let pcr_pid = pcr_pid(streams).unwrap_or(NO_PCR_PID);
    let mut pmt = Vec::with_capacity(4 + PMT_STREAM_LEN * streams.len());
    pmt.extend_from_slice(&reserved_pid(pcr_pid));
    pmt.extend_from_slice(&0xF000u16.to_be_bytes()); // reserved, program_info_length 0
    for s in streams {
        pmt.push(s.stream_type);
        pmt.extend_from_slice(&reserved_pid(s.pid));
        pmt.extend_from_slice(&0xF000u16.to_be_bytes()); // reserved, ES_info_length 0
    }
    let pmt = section(PMT_TABLE_ID, options.program_number, &pmt);
    (pat, pmt)
}

/// Writes one TS segment of `tracks` to `out` and advances `counters`. On error nothing is
/// appended and `counters` is unchanged.
pub fn write_segment(
    out: &mut Vec<u8>,
    tracks: &[TsMuxTrack<'_>],
    options: &TsMuxOptions,
    counters: &mut ContinuityCounters,
) -> Result<(), TsMuxError> {
    let streams = plan(tracks, options)?;
    let start = out.len();
    let mut cc = counters.clone();
    match write_streams(out, &streams, options, &mut cc) {
        Ok(()) => {
            *counters = cc;
            Ok(())
        }
        Err(e) => {
            out.truncate(start);
            Err(e)
        }
    }
}

/// [`write_segment`] into a new buffer: the segment and the counters after it.
pub fn mux_segment(
    tracks: &[TsMuxTrack<'_>],
    options: &TsMuxOptions,
    counters: &ContinuityCounters,
) -> Result<(Vec<u8>, ContinuityCounters), TsMuxError> {
    let mut out = Vec::new();
    let mut cc = counters.clone();
    write_segment(&mut out, tracks, options, &mut cc)?;
    Ok((out, cc))
}

/// Bytes a segment will take, roughly: the samples, a few dozen bytes of headers each, and
/// the packet overhead (188 bytes per 184 of payload).
fn estimate(streams: &[Stream<'_>]) -> usize {
    let payload: usize = streams
        .iter()
        .flat_map(|s| s.samples.samples.iter())
        .map(|s| usize::try_from(s.size).unwrap_or(0).saturating_add(64))
        .fold(0, usize::saturating_add);
    (payload / MAX_PAYLOAD + 2 + streams.len()).saturating_mul(crate::media::ts::PACKET_SIZE)
}

fn write_streams(
    out: &mut Vec<u8>,
    streams: &[Stream<'_>],
    options: &TsMuxOptions,
    cc: &mut ContinuityCounters,
) -> Result<(), TsMuxError> {
    out.reserve(estimate(streams));
    let (pat, pmt) = program_tables(options, streams);
    write_section(out, PAT_PID, cc.take(PAT_PID), &pat);
    write_section(out, options.pmt_pid, cc.take(options.pmt_pid), &pmt);

    let pcr_pid = pcr_pid(streams);
    let mut next = vec![0usize; streams.len()];
    let mut header = Vec::with_capacity(MAX_PES_HEADER_LEN + ACCESS_UNIT_DELIMITER.len());
    let mut pieces: Vec<&[u8]> = Vec::new();
    loop {
        // The next sample in decode order across the streams (ties: track order).
        let mut pick: Option<(i128, usize)> = None;
        for (i, s) in streams.iter().enumerate() {
            let Some(sample) = s.samples.samples.get(next[i]) else {
                continue;
            };
            let dts = to_90khz(
                i128::from(sample.decode_time) + i128::from(s.time_offset),
                s.timescale,
            );
            if pick.is_none_or(|(best, _)| dts < best) {
                pick = Some((dts, i));
            }
        }
        let Some((dts, i)) = pick else { break };
        let s = &streams[i];
        let index = next[i];
        next[i] += 1;
        let sample = &s.samples.samples[index];
        let pts = to_90khz(
            i128::from(sample.decode_time)
                + i128::from(s.time_offset)
                + i128::from(sample.composition_offset),
            s.timescale,
        );
        let data = s
            .samples
            .sample_data(sample)
            .ok_or(TsMuxError::SampleData {
                track: s.track,
                sample: index,
                what: "bytes outside the track's buffer",
            })?;
        pieces.clear();
        // What goes between the PES header and the sample's pieces: an access unit
        // delimiter, or the ADTS header.
        let mut prefix = [0u8; ADTS_HEADER_LEN];
        let (prefix_len, unbounded) = match &s.samples.track.codec {
            CodecConfig::Avc(config) => {
                if !annex_b_pieces(
                    data,
                    s.samples.nal_length_size,
                    config,
                    sample.is_sync,
                    &mut pieces,
                ) {
                    return Err(TsMuxError::SampleData {
                        track: s.track,
                        sample: index,
                        what: "NAL unit lengths do not match the sample size",
                    });
                }
                prefix[..ACCESS_UNIT_DELIMITER.len()].copy_from_slice(&ACCESS_UNIT_DELIMITER);
                (ACCESS_UNIT_DELIMITER.len(), true)
            }
            CodecConfig::Aac(config) => {
                prefix = config
                    .adts_header(data.len())
                    .map_err(|error| TsMuxError::Codec {
                        track: s.track,
                        sample: index,
                        error,
                    })?;
                pieces.push(data);
                (ADTS_HEADER_LEN, false)
            }
            CodecConfig::Hevc(_) => {
                return Err(TsMuxError::UnsupportedCodec {
                    track: s.track,
                    codec: "H.265",
                })
            }
        };
        let prefix = &prefix[..prefix_len];
        let payload_len = prefix.len() + pieces.iter().map(|p| p.len()).sum::<usize>();
        if !pes_header(
            &mut header,
            s.stream_id,
            wrap33(pts),
            wrap33(dts),
            payload_len,
            unbounded,
        ) {
            return Err(TsMuxError::Codec {
                track: s.track,
                sample: index,
                error: CodecError::Unsupported {
                    what: "audio PES packet longer than PES_packet_length allows",
                },
            });
        }
        header.extend_from_slice(prefix);
        let start = PesStart {
            pcr_base: (Some(s.pid) == pcr_pid).then(|| wrap33(dts - i128::from(PCR_LEAD))),
            random_access: sample.is_sync,
        };
        write_pes(out, s.pid, cc, start, &header, &pieces);
    }
    Ok(())
}
