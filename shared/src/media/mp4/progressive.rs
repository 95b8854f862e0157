//! A progressive (non-fragmented) MP4 file, ISO/IEC 14496-12: `ftyp` (4.3), `moov` with one
//! `trak` per track and complete sample tables (8.6.1.2 `stts`, 8.6.1.3 `ctts`, 8.6.2 `stss`,
//! 8.7.3 `stsz`, 8.7.4 `stsc`, 8.7.5 `stco`/`co64`), an edit list where presentation must be
//! moved (8.6.6 `elst`), then one `mdat` (8.1.1). The movie box comes first ("faststart"), so
//! a player or editor can start reading before the media data.
//!
//! Single pass, bounded memory: sample bytes are appended chunk by chunk to the output vector
//! (reserved once by the caller's estimate) while the sample tables grow beside it; [`finish`]
//! writes the header and moves the media data up behind it in place. Nothing but the output
//! and the tables is held. Output is a pure function of the calls: byte-identical everywhere.
//!
//! Two passes, for files too large to hold (recordings, streamed clips): the caller takes the
//! media data out as it grows ([`drain_media`]), or declares chunks without their bytes
//! ([`append_declared`]) from a first pass's sizes; [`header`] then gives `ftyp`, `moov` and
//! the `mdat` header for the media data in order, whose bytes the caller streams behind it.
//!
//! [`drain_media`]: ProgressiveMp4::drain_media
//! [`append_declared`]: ProgressiveMp4::append_declared
//! [`header`]: ProgressiveMp4::header
//!
//! Timelines: each track's decode time starts at 0 and advances by the sample durations, so a
//! track stays continuous whatever its source timestamps did (the caller decides durations).
//!
//! Codec changes: a track has one sample description (`stsd` entry, 8.5.2) per codec
//! configuration it met ([`ProgressiveMp4::select_description`]); each chunk names its entry
//! in `stsc.sample_description_index` (8.7.4), so an encoder restart at another resolution
//! stays one file. The timescale is the first configuration's: callers rescale the rest.
//!
//! [`finish`]: ProgressiveMp4::finish

use super::moov::{write_mvhd, write_trak, Trak, MOVIE_TIMESCALE};
use super::writer::BoxWriter;
use super::{CodecConfig, MuxError, SampleInfo, Track, TrackKind};
use crate::media::reader::len_u64;
use crate::media::time::rescale;

/// One run of an `stts` (count, delta) or `ctts` (count, offset) table.
type Run<T> = (u32, T);

/// The sample tables of one track, as chunks are appended.
#[derive(Debug)]
struct TrackTables {
    track: Track,
    /// Empty edit before the media, in the track's timescale (presentation starts later).
    start_delay: u64,
    stts: Vec<Run<u32>>,
    ctts: Vec<Run<i32>>,
    /// 1-based numbers of the sync samples.
    stss: Vec<u32>,
    sizes: Vec<u32>,
    /// (offset from the first media data byte, sample count, sample_description_index) per
    /// chunk.
    chunks: Vec<(u64, u32, u32)>,
    /// Sample descriptions after the first (`track.codec`), in `stsd` order.
    more_descriptions: Vec<CodecConfig>,
    /// The 1-based sample description of the chunks appended next.
    description: u32,
    /// Sum of the sample durations.
    duration: u64,
    /// Smallest composition time (decode time + offset) of any sample.
    earliest_presentation: Option<i64>,
    /// Largest composition time plus duration: where presentation ends.
    presentation_end: i64,
}

fn push_run<T: PartialEq + Copy>(runs: &mut Vec<Run<T>>, value: T) {
    match runs.last_mut() {
        Some((count, v)) if *v == value && *count < u32::MAX => *count += 1,
        _ => runs.push((1, value)),
    }
}

impl TrackTables {
    fn sample_count(&self) -> usize {
        self.sizes.len()
    }

    /// `elst` media_time of the first edit: where in the media presentation starts.
    fn media_time(&self) -> i64 {
        self.earliest_presentation.unwrap_or(0).max(0)
    }

    fn has_composition_offsets(&self) -> bool {
        self.ctts.iter().any(|&(_, o)| o != 0)
    }

    /// The presented media after the first edit's start, in the track's timescale.
    fn presented(&self) -> u64 {
        u64::try_from(self.presentation_end - self.media_time()).unwrap_or(0)
    }

    /// `tkhd.duration`: the edits' total in movie timescale.
    fn movie_duration(&self) -> u64 {
        let to_movie = |t: u64| rescale(t, self.track.timescale, MOVIE_TIMESCALE).unwrap_or(0);
        to_movie(self.start_delay) + to_movie(self.presented())
    }

    fn needs_edit_list(&self) -> bool {
        self.start_delay > 0 || self.media_time() != 0
    }
}

/// A progressive MP4 being written; see the module documentation.
#[derive(Debug)]
pub struct ProgressiveMp4 {
    /// The media data so far; the header goes in front of it in [`ProgressiveMp4::finish`].
    out: Vec<u8>,
    /// Media bytes before `out`: taken by [`ProgressiveMp4::drain_media`] or declared.
    drained: u64,
    tracks: Vec<TrackTables>,
}

/// Room [`ProgressiveMp4::new`] reserves for the header beside the expected media data: a
/// fixed part for the boxes and 1/32 of the data for the sample tables (about 20 bytes per
/// sample; a 2 s segment of 360p video has ~60 samples in ~250 kB).
const HEADER_FIXED_RESERVE: usize = 8192;
const HEADER_SHARE_DIVISOR: usize = 32;

/// The index of a track in a [`ProgressiveMp4`] (its `track_ID` is the index + 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrackIndex(usize);

impl ProgressiveMp4 {
    /// A writer whose output vector is reserved once for `expected_media_bytes` plus its header.
    pub fn new(expected_media_bytes: usize) -> Self {
        let header = HEADER_FIXED_RESERVE + expected_media_bytes / HEADER_SHARE_DIVISOR;
        ProgressiveMp4 {
            out: Vec::with_capacity(expected_media_bytes.saturating_add(header)),
            drained: 0,
            tracks: Vec::new(),
        }
    }

    /// Adds a track; tracks are written in the order they were added.
    pub fn add_track(&mut self, track: Track) -> TrackIndex {
        self.tracks.push(TrackTables {
            track,
            start_delay: 0,
            stts: Vec::new(),
            ctts: Vec::new(),
            stss: Vec::new(),
            sizes: Vec::new(),
            chunks: Vec::new(),
            more_descriptions: Vec::new(),
            description: 1,
            duration: 0,
            earliest_presentation: None,
            presentation_end: 0,
        });
        TrackIndex(self.tracks.len() - 1)
    }

    pub fn track(&self, index: TrackIndex) -> Option<&Track> {
        self.tracks.get(index.0).map(|t| &t.track)
    }

    /// The chunks appended next to `index` are of `codec`: its sample description, added
    /// when the track has none equal to it. Returns its 1-based `sample_description_index`.
    pub fn select_description(
        &mut self,
        index: TrackIndex,
        codec: &CodecConfig,
    ) -> Result<u32, MuxError> {
        let t = self
            .tracks
            .get_mut(index.0)
            .ok_or(MuxError::OutOfRange { field: "track" })?;
        let found = std::iter::once(&t.track.codec)
            .chain(&t.more_descriptions)
            .position(|c| c == codec);
        let position = match found {
            Some(p) => p,
            None => {
                if t.track.kind() != Track::kind_of(codec) {
                    return Err(MuxError::OutOfRange {
                        field: "sample description of another media type",
                    });
                }
                t.more_descriptions.push(codec.clone());
                t.more_descriptions.len()
            }
        };
        t.description = count(position + 1, "sample_description_index")?;
        Ok(t.description)
    }

    /// Presentation of `index` starts `delay` (track timescale) after the movie's start: an
    /// empty edit (audio that begins a little after the first video frame).
    pub fn set_start_delay(&mut self, index: TrackIndex, delay: u64) {
        if let Some(t) = self.tracks.get_mut(index.0) {
            t.start_delay = delay;
        }
    }

    /// Sum of the sample durations of `index` so far, in its timescale: the decode time the
    /// next chunk starts at.
    pub fn track_duration(&self, index: TrackIndex) -> u64 {
        self.tracks.get(index.0).map_or(0, |t| t.duration)
    }

    /// Media data bytes appended so far (drained and declared ones included).
    pub fn media_len(&self) -> u64 {
        self.drained + len_u64(self.out.len())
    }

    /// Takes the media data appended since the last call; offsets stay those of the whole
    /// file.
    pub fn drain_media(&mut self) -> Vec<u8> {
        let taken = std::mem::take(&mut self.out);
        self.drained += len_u64(taken.len());
        taken
    }

    /// Records one chunk of `samples` whose bytes the caller writes elsewhere (the second
    /// pass of a file whose sizes a first pass learned); nothing is held for them.
    pub fn append_declared(
        &mut self,
        index: TrackIndex,
        samples: &[SampleInfo],
    ) -> Result<(), MuxError> {
        if samples.is_empty() {
            return Ok(());
        }
        let declared: u64 = samples.iter().map(|s| u64::from(s.size)).sum();
        self.record(index, samples, self.media_len())?;
        self.drained += declared;
        Ok(())
    }

    /// Appends one chunk of `samples` (decode order) to track `index`; `write` must append
    /// exactly their bytes. Empty chunks are ignored.
    pub fn append_chunk(
        &mut self,
        index: TrackIndex,
        samples: &[SampleInfo],
        write: impl FnOnce(&mut Vec<u8>),
    ) -> Result<(), MuxError> {
        if index.0 >= self.tracks.len() {
            return Err(MuxError::OutOfRange { field: "track" });
        }
        if samples.is_empty() {
            return Ok(());
        }
        let declared: u64 = samples.iter().map(|s| u64::from(s.size)).sum();
        let before = self.out.len();
        let offset = self.media_len();
        write(&mut self.out);
        let written = len_u64(self.out.len() - before);
        if written != declared {
            self.out.truncate(before);
            return Err(MuxError::SampleSizeMismatch { declared, written });
        }
        self.record(index, samples, offset)
    }

    /// Adds a chunk at `offset` (from the first media byte) to the track's tables.
    fn record(
        &mut self,
        index: TrackIndex,
        samples: &[SampleInfo],
        offset: u64,
    ) -> Result<(), MuxError> {
        let t = self
            .tracks
            .get_mut(index.0)
            .ok_or(MuxError::OutOfRange { field: "track" })?;
        let count = u32::try_from(samples.len()).map_err(|_| MuxError::OutOfRange {
            field: "samples per chunk",
        })?;
        let total = t.sample_count() + samples.len();
        if u32::try_from(total).is_err() {
            return Err(MuxError::OutOfRange {
                field: "sample_count",
            });
        }
        t.chunks.push((offset, count, t.description));
        for s in samples {
            let decode_time = i64::try_from(t.duration).map_err(|_| MuxError::OutOfRange {
                field: "track duration",
            })?;
            let composition = decode_time + i64::from(s.composition_offset);
            t.earliest_presentation = Some(
                t.earliest_presentation
                    .map_or(composition, |e| e.min(composition)),
            );
            t.presentation_end = t.presentation_end.max(composition + i64::from(s.duration));
            t.sizes.push(s.size);
            if s.is_sync {
                // Fits: the total sample count was checked against u32 above.
                t.stss
                    .push(u32::try_from(t.sizes.len()).unwrap_or(u32::MAX));
            }
            push_run(&mut t.stts, s.duration);
            push_run(&mut t.ctts, s.composition_offset);
            t.duration += u64::from(s.duration);
        }
        Ok(())
    }

    /// `ftyp`, `moov` and the `mdat` header for all media data appended, drained or
    /// declared: the file's first bytes, the media data following them in order.
    pub fn header(&self) -> Result<Vec<u8>, MuxError> {
        file_header(&self.tracks, self.media_len())
    }

    /// Writes the header in front of the media data and returns the file (nothing may have
    /// been drained or declared).
    pub fn finish(self) -> Result<Vec<u8>, MuxError> {
        if self.drained > 0 {
            return Err(MuxError::OutOfRange {
                field: "media data taken out before finish",
            });
        }
        let head = self.header()?;
        let mut out = self.out;
        // Move the media data up behind the header, in place (no second buffer).
        let n = out.len();
        out.resize(n + head.len(), 0);
        out.copy_within(0..n, head.len());
        out[..head.len()].copy_from_slice(&head);
        Ok(out)
    }
}

/// `ftyp` + `moov` + the `mdat` header for `media_len` bytes of media data.
fn file_header(tracks: &[TrackTables], media_len: u64) -> Result<Vec<u8>, MuxError> {
    {
        // The `mdat` header: 64-bit `largesize` when the box passes 4 GiB.
        let large_mdat = media_len + 8 > u64::from(u32::MAX);
        let mdat_header_len = if large_mdat { 16 } else { 8 };
        // 32-bit chunk offsets unless the last byte lies past 4 GiB; the header's length does
        // not depend on the offsets' values, so it is written once per width.
        let mut header = header(tracks, false)?;
        let data_start = len_u64(header.bytes.len()) + mdat_header_len;
        if data_start + media_len > u64::from(u32::MAX) {
            header = self::header(tracks, true)?;
        }
        let data_start = len_u64(header.bytes.len()) + mdat_header_len;
        header.patch_offsets(tracks, data_start)?;
        let mut head = header.bytes;
        if large_mdat {
            head.extend_from_slice(&1u32.to_be_bytes());
            head.extend_from_slice(b"mdat");
            head.extend_from_slice(&(media_len + 16).to_be_bytes());
        } else {
            // Fits: checked against u32::MAX above.
            let size = u32::try_from(media_len + 8).unwrap_or(u32::MAX);
            head.extend_from_slice(&size.to_be_bytes());
            head.extend_from_slice(b"mdat");
        }
        Ok(head)
    }
}

/// `ftyp` of a progressive file: ISO base media (`isom`, `iso2`), MP4 (`mp41`), and `avc1`
/// when it holds H.264.
fn write_ftyp(w: &mut BoxWriter<'_>, tracks: &[TrackTables]) -> Result<(), MuxError> {
    let avc = tracks
        .iter()
        .any(|t| matches!(t.track.codec, CodecConfig::Avc(_)));
    w.boxed(b"ftyp", |w| {
        w.bytes(b"isom"); // major_brand
        w.u32(0x200); // minor_version
        w.bytes(b"isom");
        w.bytes(b"iso2");
        if avc {
            w.bytes(b"avc1");
        }
        w.bytes(b"mp41");
        Ok(())
    })
}

/// `ftyp` + `moov`, with chunk offsets to fill in.
struct Header {
    bytes: Vec<u8>,
    /// Per track: where its chunk offset entries start, and whether they are 64-bit.
    offsets_at: Vec<(usize, bool)>,
}

impl Header {
    fn patch_offsets(&mut self, tracks: &[TrackTables], data_start: u64) -> Result<(), MuxError> {
        for (t, &(at, wide)) in tracks.iter().zip(&self.offsets_at) {
            let mut at = at;
            for &(offset, _, _) in &t.chunks {
                let value = data_start + offset;
                if wide {
                    self.bytes[at..at + 8].copy_from_slice(&value.to_be_bytes());
                    at += 8;
                } else {
                    let value = u32::try_from(value)
                        .map_err(|_| MuxError::TooLarge { box_type: *b"stco" })?;
                    self.bytes[at..at + 4].copy_from_slice(&value.to_be_bytes());
                    at += 4;
                }
            }
        }
        Ok(())
    }
}

fn header(tracks: &[TrackTables], wide_offsets: bool) -> Result<Header, MuxError> {
    let mut bytes = Vec::with_capacity(HEADER_FIXED_RESERVE);
    let mut offsets_at = Vec::with_capacity(tracks.len());
    let mut w = BoxWriter::new(&mut bytes);
    write_ftyp(&mut w, tracks)?;
    let next_track_id = u32::try_from(tracks.len() + 1).map_err(|_| MuxError::OutOfRange {
        field: "next_track_ID",
    })?;
    w.boxed(b"moov", |w| {
        let duration = tracks.iter().map(TrackTables::movie_duration).max();
        write_mvhd(w, duration.unwrap_or(0), next_track_id)?;
        for (i, t) in tracks.iter().enumerate() {
            let trak = Trak {
                // Fits: next_track_ID (one more) does.
                track_id: u32::try_from(i + 1).unwrap_or(u32::MAX),
                duration: t.movie_duration(),
                media_duration: t.duration,
                more_descriptions: &t.more_descriptions,
            };
            write_trak(
                w,
                &t.track,
                &trak,
                |w| write_edts(w, t),
                None,
                |w| {
                    offsets_at.push(write_sample_tables(w, t, wide_offsets)?);
                    Ok(())
                },
            )?;
        }
        Ok(())
    })?;
    Ok(Header { bytes, offsets_at })
}

/// `edts` with an `elst` (8.6.6) when presentation does not start at media time 0 at the
/// movie's start: an empty edit for a start delay, then the media from its earliest
/// composition time (B-frames put the first picture's presentation after its decode time).
fn write_edts(w: &mut BoxWriter<'_>, t: &TrackTables) -> Result<(), MuxError> {
    if !t.needs_edit_list() {
        return Ok(());
    }
    let to_movie = |v: u64| rescale(v, t.track.timescale, MOVIE_TIMESCALE).unwrap_or(0);
    let mut edits: Vec<(u64, i64)> = Vec::with_capacity(2);
    if t.start_delay > 0 {
        edits.push((to_movie(t.start_delay), -1)); // media_time -1: empty edit
    }
    edits.push((to_movie(t.presented()), t.media_time()));
    let wide = edits
        .iter()
        .any(|&(d, m)| d > u64::from(u32::MAX) || i32::try_from(m).is_err());
    let entry_count = u32::try_from(edits.len()).unwrap_or(u32::MAX);
    w.boxed(b"edts", |w| {
        w.full_box(b"elst", u8::from(wide), 0, |w| {
            w.u32(entry_count);
            for (segment_duration, media_time) in edits {
                if wide {
                    w.u64(segment_duration);
                    w.bytes(&media_time.to_be_bytes());
                } else {
                    // Fits: `wide` is false.
                    w.u32(u32::try_from(segment_duration).unwrap_or(u32::MAX));
                    w.i32(i32::try_from(media_time).unwrap_or(-1));
                }
                w.u16(1); // media_rate_integer
                w.u16(0); // media_rate_fraction
            }
            Ok(())
        })
    })
}

fn count(len: usize, field: &'static str) -> Result<u32, MuxError> {
    u32::try_from(len).map_err(|_| MuxError::OutOfRange { field })
}

/// The sample tables of a track; returns where the chunk offsets go and their width.
fn write_sample_tables(
    w: &mut BoxWriter<'_>,
    t: &TrackTables,
    wide_offsets: bool,
) -> Result<(usize, bool), MuxError> {
    // stts (8.6.1.2): decoding deltas, run-length coded.
    w.full_box(b"stts", 0, 0, |w| {
        w.u32(count(t.stts.len(), "stts entry_count")?);
        for &(n, delta) in &t.stts {
            w.u32(n);
            w.u32(delta);
        }
        Ok(())
    })?;
    // ctts (8.6.1.3): composition offsets; version 1 when one is negative.
    if t.has_composition_offsets() {
        let version = u8::from(t.ctts.iter().any(|&(_, o)| o < 0));
        w.full_box(b"ctts", version, 0, |w| {
            w.u32(count(t.ctts.len(), "ctts entry_count")?);
            for &(n, offset) in &t.ctts {
                w.u32(n);
                w.i32(offset);
            }
            Ok(())
        })?;
    }
    // stss (8.6.2): sync samples; absent means every sample is one, so video always has it.
    if t.track.kind() == TrackKind::Video || t.stss.len() != t.sample_count() {
        w.full_box(b"stss", 0, 0, |w| {
            w.u32(count(t.stss.len(), "stss entry_count")?);
            t.stss.iter().for_each(|&n| w.u32(n));
            Ok(())
        })?;
    }
    // stsc (8.7.4): runs of chunks with the same number of samples and description.
    let mut runs: Vec<(u32, u32, u32)> = Vec::new();
    for (i, &(_, n, d)) in t.chunks.iter().enumerate() {
        if runs
            .last()
            .is_none_or(|&(_, last, desc)| (last, desc) != (n, d))
        {
            runs.push((count(i + 1, "stsc first_chunk")?, n, d));
        }
    }
    w.full_box(b"stsc", 0, 0, |w| {
        w.u32(count(runs.len(), "stsc entry_count")?);
        for (first_chunk, samples_per_chunk, sample_description_index) in runs {
            w.u32(first_chunk);
            w.u32(samples_per_chunk);
            w.u32(sample_description_index);
        }
        Ok(())
    })?;
    // stsz (8.7.3.2): one size per sample.
    w.full_box(b"stsz", 0, 0, |w| {
        w.u32(0); // sample_size: sizes differ
        w.u32(count(t.sizes.len(), "stsz sample_count")?);
        t.sizes.iter().for_each(|&s| w.u32(s));
        Ok(())
    })?;
    // stco / co64 (8.7.5): chunk offsets, patched once the header's length is known.
    let box_type = if wide_offsets { b"co64" } else { b"stco" };
    w.full_box(box_type, 0, 0, |w| {
        w.u32(count(t.chunks.len(), "chunk entry_count")?);
        let at = w.position();
        w.zeros(t.chunks.len() * if wide_offsets { 8 } else { 4 });
        Ok((at, wide_offsets))
    })
}

#[cfg(test)]
mod tests;
