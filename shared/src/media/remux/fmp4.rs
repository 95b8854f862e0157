//! Fragmented MP4 segments (HLS fMP4, CMAF) → one CMAF track file per track. Samples, their
//! timing and their bytes pass unchanged: each track gets its own fragment (ffmpeg's HLS fMP4
//! carries audio and video in one file) and an init segment we write ([`init_segment`]).
//!
//! Several consecutive input segments joined into one output segment are one fragment whose
//! `tfdt` is the first one's; a sample lasts until the next sample's decode time, across the
//! joins. Output depends only on the input bytes: byte-identical on every edge.

use super::{init_segment, RemuxError, RemuxWarning, RemuxedSegment, RemuxedTrack, TrackKind};
use crate::media::mp4::demux::{parse_init, parse_segment, InitSegment, MediaSegment};
use crate::media::mp4::{write_media_segment, MuxError, SampleInfo};
use crate::media::sample::{TrackSamples, DEFAULT_NAL_LENGTH_SIZE};
use crate::media::ts::mux::{
    write_segment, ContinuityCounters, TsMuxError, TsMuxOptions, TsMuxTrack,
};

/// One input segment with the init segment it needs.
#[derive(Debug, Clone, Copy)]
pub struct Fmp4Part<'a> {
    pub init: &'a [u8],
    pub segment: &'a [u8],
}

/// The CMAF tracks of consecutive fMP4 segments: video first, then audio, one of each kind
/// (the first track of that kind in the first part's init).
pub fn fmp4_parts_to_cmaf(
    parts: &[Fmp4Part<'_>],
    sequence_number: u32,
) -> Result<RemuxedSegment, RemuxError> {
    let mut inits = Vec::with_capacity(parts.len());
    for p in parts {
        inits.push(parse_init(p.init).map_err(RemuxError::Fmp4)?);
    }
    let mut segments = Vec::with_capacity(parts.len());
    for (p, init) in parts.iter().zip(&inits) {
        segments.push(parse_segment(p.segment, init).map_err(RemuxError::Fmp4)?);
    }
    let mut out = RemuxedSegment {
        tracks: Vec::new(),
        warnings: Vec::new(),
    };
    let Some(first) = inits.first() else {
        return Err(RemuxError::NoTracks);
    };
    for kind in [TrackKind::Video, TrackKind::Audio] {
        let Some(t) = first.first_of_kind(kind) else {
            continue;
        };
        let pid = u16::try_from(t.track_id).unwrap_or(u16::MAX);
        match track(&inits, &segments, kind, sequence_number) {
            Ok(Some(track)) => out.tracks.push(track),
            Ok(None) => {}
            Err(error) => out.warnings.push(RemuxWarning::TrackDropped { pid, error }),
        }
    }
    if out.tracks.is_empty() {
        return Err(match out.warnings.pop() {
            Some(RemuxWarning::TrackDropped { error, .. }) => error,
            _ => RemuxError::NoTracks,
        });
    }
    Ok(out)
}

/// The first track of `kind` in every part, as one CMAF fragment; `None` when no part has
/// samples of that kind.
fn track(
    inits: &[InitSegment],
    segments: &[MediaSegment<'_>],
    kind: TrackKind,
    sequence_number: u32,
) -> Result<Option<RemuxedTrack>, RemuxError> {
    let mut parts: Vec<TrackSamples<'_>> = Vec::new();
    let mut source_id = None;
    for (init, segment) in inits.iter().zip(segments) {
        let Some(t) = init.first_of_kind(kind) else {
            continue;
        };
        if kind == TrackKind::Video && t.nal_length_size != DEFAULT_NAL_LENGTH_SIZE {
            // Our avcC/hvcC declare 4-byte lengths; other sizes would need every sample
            // rewritten.
            return Err(RemuxError::Mux(MuxError::OutOfRange {
                field: "lengthSizeMinusOne (only 4-byte NAL lengths pass through)",
            }));
        }
        source_id.get_or_insert(t.track_id);
        if let Some(s) = segment.samples_of(init, t.track_id) {
            if !s.samples.is_empty() {
                parts.push(s);
            }
        }
    }
    let Some(first) = parts.first() else {
        return Ok(None);
    };
    let track = first.track.clone();
    if parts.iter().any(|p| *p.track != track) {
        // A codec change inside one output segment: the init would describe only part of it.
        return Err(RemuxError::Mux(MuxError::OutOfRange {
            field: "codec configuration (changes inside the segment)",
        }));
    }
    let base = first.base_media_decode_time().unwrap_or(0);
    let mut infos: Vec<SampleInfo> = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        let mut part_infos = p.sample_infos();
        // The last sample of a part lasts until the next part starts, when that follows it.
        let next = parts
            .get(i + 1)
            .and_then(TrackSamples::base_media_decode_time);
        if let (Some(last), Some(next), Some(s)) = (part_infos.last_mut(), next, p.samples.last()) {
            if let Some(d) = next
                .checked_sub(s.decode_time)
                .and_then(|g| u32::try_from(g).ok())
            {
                last.duration = d;
            }
        }
        infos.append(&mut part_infos);
    }
    let presentation_start = parts
        .iter()
        .flat_map(|p| p.samples.iter())
        .filter_map(|s| s.composition_time())
        .min()
        .unwrap_or(base);
    let duration: u64 = infos.iter().map(|s| u64::from(s.duration)).sum();
    let sample_count = u32::try_from(infos.len()).map_err(|_| {
        RemuxError::Mux(MuxError::OutOfRange {
            field: "sample count",
        })
    })?;
    let starts_with_sync_sample = infos.first().is_some_and(|s| s.is_sync);
    let mut segment = Vec::new();
    write_media_segment(&mut segment, sequence_number, base, &infos, |mdat| {
        for p in &parts {
            p.write_samples(0..p.samples.len(), mdat);
        }
    })?;
    // The init must be writable for the track to be served at all.
    init_segment(&track)?;
    Ok(Some(RemuxedTrack {
        // The source's track_ID stands where a TS source has its PID.
        pid: source_id.and_then(|id| u16::try_from(id).ok()).unwrap_or(0),
        track,
        segment,
        base_media_decode_time: base,
        presentation_start,
        duration,
        sample_count,
        starts_with_sync_sample,
    }))
}

/// Consecutive fMP4 segments as MPEG-TS (one program: the first video track, then the first
/// audio track of each part, or only those of `only`), each part after its own PAT and PMT.
/// Timestamps are the fMP4 presentation's (edit lists applied), at 90 kHz; `counters` carries
/// the continuity counters in and out.
pub fn fmp4_parts_to_ts(
    parts: &[Fmp4Part<'_>],
    only: Option<TrackKind>,
    options: &TsMuxOptions,
    counters: &mut ContinuityCounters,
) -> Result<Vec<u8>, RemuxError> {
    let mut out =
        Vec::with_capacity(parts.iter().map(|p| p.segment.len()).sum::<usize>() * 21 / 20);
    for p in parts {
        let init = parse_init(p.init).map_err(RemuxError::Fmp4)?;
        let segment = parse_segment(p.segment, &init).map_err(RemuxError::Fmp4)?;
        let mut tracks = Vec::new();
        for kind in [TrackKind::Video, TrackKind::Audio] {
            if only.is_some_and(|k| k != kind) {
                continue;
            }
            let Some(t) = init.first_of_kind(kind) else {
                continue;
            };
            if let Some(samples) = segment.samples_of(&init, t.track_id) {
                tracks.push(TsMuxTrack {
                    samples,
                    time_offset: t.edit_shift,
                });
            }
        }
        write_segment(&mut out, &tracks, options, counters).map_err(RemuxError::TsMux)?;
    }
    Ok(out)
}

/// The elementary PIDs [`fmp4_parts_to_ts`] gives video and audio with `options`, for a
/// part whose init has `kinds` (the first track of a kind present gets the next PID).
pub fn ts_pids(
    kinds: &[TrackKind],
    only: Option<TrackKind>,
    options: &TsMuxOptions,
) -> [Option<u16>; 2] {
    let mut next = options.first_elementary_pid;
    let mut out = [None, None];
    for (i, kind) in [TrackKind::Video, TrackKind::Audio].into_iter().enumerate() {
        if kinds.contains(&kind) && only.is_none_or(|k| k == kind) {
            out[i] = Some(next);
            next = next.saturating_add(1);
        }
    }
    out
}

/// The continuity counters (video, audio) after [`fmp4_parts_to_ts`] of one part whose
/// elementary streams start at `start`: what a later segment of the same track continues from.
/// `None` when the part has a codec MPEG-TS does not carry; an error when its samples cannot be
/// muxed (so a segment that could never be served as TS is refused where it arrives).
pub fn ts_counters_after(
    part: &Fmp4Part<'_>,
    start: [u8; 2],
) -> Result<Option<[u8; 2]>, RemuxError> {
    let options = TsMuxOptions::default();
    let init = parse_init(part.init).map_err(RemuxError::Fmp4)?;
    let kinds: Vec<TrackKind> = init.tracks.iter().map(|t| t.track.kind()).collect();
    let pids = ts_pids(&kinds, None, &options);
    let mut counters = ContinuityCounters::default();
    for (pid, cc) in pids.iter().zip(start) {
        if let Some(pid) = pid {
            counters.set(*pid, cc);
        }
    }
    match fmp4_parts_to_ts(std::slice::from_ref(part), None, &options, &mut counters) {
        Err(RemuxError::TsMux(TsMuxError::UnsupportedCodec { .. })) => return Ok(None),
        Err(e) => return Err(e),
        Ok(_) => {}
    }
    Ok(Some([0, 1].map(|i| {
        pids[i].map_or(start[i], |pid| counters.next(pid))
    })))
}
