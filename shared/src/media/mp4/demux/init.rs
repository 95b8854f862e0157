//! The init segment: `ftyp` (ISO/IEC 14496-12 4.3) and `moov` (8.2.1) with `mvhd` (8.2.2),
//! one `trak` (8.3.1) per track — `tkhd` (8.3.2), `edts`/`elst` (8.6.5, 8.6.6), `mdia`
//! (8.4.1) with `mdhd` (8.4.2), `hdlr` (8.4.3) and `minf`/`stbl`/`stsd` (8.5.2) — and
//! `mvex` (8.8.1) with a `trex` (8.8.3) per track.

use super::boxes::{fourcc, u64_field, BoxRef, Boxes};
use super::entry::parse_sample_entry;
use super::Fmp4Error;
use crate::media::mp4::{Track, TrackKind};
use crate::media::reader::len_u64;
use crate::media::time::rescale;

/// `trex` (ISO/IEC 14496-12 8.8.3): the defaults of a track's fragments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrackExtends {
    pub default_sample_description_index: u32,
    pub default_sample_duration: u32,
    pub default_sample_size: u32,
    pub default_sample_flags: u32,
}

impl Default for TrackExtends {
    /// What applies without a `trex`: the first sample description, nothing else.
    fn default() -> Self {
        TrackExtends {
            default_sample_description_index: 1,
            default_sample_duration: 0,
            default_sample_size: 0,
            default_sample_flags: 0,
        }
    }
}

/// A track of the init segment that we can carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitTrack {
    pub track_id: u32,
    /// Codec configuration and `mdhd.timescale`.
    pub track: Track,
    /// `hdlr.handler_type`: `vide`, `soun`.
    pub handler_type: [u8; 4],
    /// The sample entry's type: `avc1`, `avc3`, `hvc1`, `hev1`, `mp4a`.
    pub sample_entry: [u8; 4],
    /// Bytes of each NAL unit length field in the samples (1, 2 or 4; 4 for audio).
    pub nal_length_size: u8,
    pub trex: TrackExtends,
    /// What the edit list adds to media times to give presentation times on the movie
    /// timeline, in the track's timescale (8.6.6): the leading empty edit's duration minus
    /// the first edit's `media_time`. Zero without `elst`. Multiple non-empty edits are not
    /// modelled (only the first counts), as in ffmpeg without `-advanced_editlist`.
    pub edit_shift: i64,
}

/// A track of the init segment that is left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedTrack {
    pub track_id: u32,
    pub handler_type: [u8; 4],
    /// The first sample entry's type, when there is one.
    pub sample_entry: Option<[u8; 4]>,
    pub reason: Fmp4Error,
    /// Its fragments are still read (their data may define where the next track's starts).
    pub trex: TrackExtends,
}

/// A parsed init segment (CMAF header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitSegment {
    /// `ftyp.major_brand` (`None` without `ftyp`).
    pub major_brand: Option<[u8; 4]>,
    pub compatible_brands: Vec<[u8; 4]>,
    /// `mvhd.timescale`: the unit of edit list durations.
    pub movie_timescale: u32,
    /// The tracks we carry, in `trak` order.
    pub tracks: Vec<InitTrack>,
    pub skipped: Vec<SkippedTrack>,
}

impl InitSegment {
    pub fn track(&self, track_id: u32) -> Option<&InitTrack> {
        self.tracks.iter().find(|t| t.track_id == track_id)
    }

    /// The first track of `kind` (what a one-video, one-audio packaging takes).
    pub fn first_of_kind(&self, kind: TrackKind) -> Option<&InitTrack> {
        self.tracks.iter().find(|t| t.track.kind() == kind)
    }

    /// True when `track_id` is declared but left out.
    pub fn is_skipped(&self, track_id: u32) -> bool {
        self.skipped.iter().any(|t| t.track_id == track_id)
    }

    /// The `trex` defaults of a declared track (carried or skipped).
    pub fn trex(&self, track_id: u32) -> Option<TrackExtends> {
        self.track(track_id).map(|t| t.trex).or_else(|| {
            self.skipped
                .iter()
                .find(|t| t.track_id == track_id)
                .map(|t| t.trex)
        })
    }
}

fn missing(box_type: &[u8; 4], parent: &BoxRef<'_>) -> Fmp4Error {
    Fmp4Error::MissingBox {
        box_type: *box_type,
        parent: parent.box_type,
        offset: len_u64(parent.offset),
    }
}

fn required<'a>(parent: &BoxRef<'a>, box_type: &[u8; 4]) -> Result<BoxRef<'a>, Fmp4Error> {
    parent
        .children(0)?
        .find(box_type)?
        .ok_or_else(|| missing(box_type, parent))
}

/// Parses an init segment: `ftyp` (optional) and `moov`; other top-level boxes are skipped.
pub fn parse_init(data: &[u8]) -> Result<InitSegment, Fmp4Error> {
    let mut major_brand = None;
    let mut compatible_brands = Vec::new();
    let mut moov = None;
    for b in Boxes::top_level(data) {
        let b = b?;
        match &b.box_type {
            b"ftyp" if moov.is_none() => {
                let mut r = b.reader();
                major_brand = Some(b.field(fourcc(&mut r))?);
                b.field(r.skip(4))?; // minor_version
                while r.remaining() >= 4 {
                    compatible_brands.push(b.field(fourcc(&mut r))?);
                }
            }
            b"moov" => {
                moov = Some(b);
                break;
            }
            _ => {}
        }
    }
    let moov = moov.ok_or(Fmp4Error::MissingBox {
        box_type: *b"moov",
        parent: *b"file",
        offset: 0,
    })?;
    let movie_timescale = parse_mvhd(&required(&moov, b"mvhd")?)?;

    let mut trexes = Vec::new();
    if let Some(mvex) = moov.children(0)?.find(b"mvex")? {
        for b in mvex.children(0)? {
            let b = b?;
            if &b.box_type == b"trex" {
                trexes.push(parse_trex(&b)?);
            }
        }
    }

    let mut tracks: Vec<InitTrack> = Vec::new();
    let mut skipped: Vec<SkippedTrack> = Vec::new();
    for trak in moov.children(0)? {
        let trak = trak?;
        if &trak.box_type != b"trak" {
            continue;
        }
        let track_id = parse_tkhd(&required(&trak, b"tkhd")?)?;
        if tracks.iter().any(|t| t.track_id == track_id)
            || skipped.iter().any(|t| t.track_id == track_id)
        {
            return Err(trak.malformed("two tracks with the same track_ID"));
        }
        let trex = trexes
            .iter()
            .find(|(id, _)| *id == track_id)
            .map_or_else(TrackExtends::default, |&(_, t)| t);
        match parse_trak(&trak, track_id, movie_timescale, trex)? {
            Ok(track) => tracks.push(track),
            Err(s) => skipped.push(s),
        }
    }
    Ok(InitSegment {
        major_brand,
        compatible_brands,
        movie_timescale,
        tracks,
        skipped,
    })
}

/// `mvhd.timescale`.
fn parse_mvhd(mvhd: &BoxRef<'_>) -> Result<u32, Fmp4Error> {
    let (version, _, mut r) = mvhd.full()?;
    // creation_time and modification_time: 64 bits each in version 1, else 32.
    mvhd.field(r.skip(if version == 1 { 16 } else { 8 }))?;
    mvhd.field(r.u32())
}

/// `tkhd.track_ID`.
fn parse_tkhd(tkhd: &BoxRef<'_>) -> Result<u32, Fmp4Error> {
    let (version, _, mut r) = tkhd.full()?;
    tkhd.field(r.skip(if version == 1 { 16 } else { 8 }))?;
    let track_id = tkhd.field(r.u32())?;
    if track_id == 0 {
        return Err(tkhd.malformed("track_ID 0"));
    }
    Ok(track_id)
}

fn parse_trex(trex: &BoxRef<'_>) -> Result<(u32, TrackExtends), Fmp4Error> {
    let (_, _, mut r) = trex.full()?;
    let track_id = trex.field(r.u32())?;
    Ok((
        track_id,
        TrackExtends {
            default_sample_description_index: trex.field(r.u32())?,
            default_sample_duration: trex.field(r.u32())?,
            default_sample_size: trex.field(r.u32())?,
            default_sample_flags: trex.field(r.u32())?,
        },
    ))
}

/// The first edits of `elst` (8.6.6): the leading empty edit's `segment_duration` (movie
/// timescale) and the next edit's `media_time`.
fn parse_elst(elst: &BoxRef<'_>) -> Result<(u64, i64), Fmp4Error> {
    let (version, _, mut r) = elst.full()?;
    let entry_count = elst.field(r.u32())?;
    let (mut empty_duration, mut media_start) = (0u64, 0i64);
    let mut first_media = true;
    for i in 0..entry_count.min(2) {
        let (segment_duration, media_time) = if version == 1 {
            let d = elst.field(u64_field(&mut r))?;
            let t = elst.field(u64_field(&mut r))?;
            (d, i64::from_be_bytes(t.to_be_bytes()))
        } else {
            let d = elst.field(r.u32())?;
            let t = elst.field(r.u32())?;
            (u64::from(d), i64::from(i32::from_be_bytes(t.to_be_bytes())))
        };
        elst.field(r.skip(4))?; // media_rate_integer, media_rate_fraction
        if i == 0 && media_time == -1 {
            empty_duration = segment_duration;
        } else if first_media && media_time >= 0 {
            media_start = media_time;
            first_media = false;
        }
    }
    Ok((empty_duration, media_start))
}

/// Reads a `trak`. The outer error is a broken structure (the whole init segment fails);
/// the inner one a track we leave out.
fn parse_trak(
    trak: &BoxRef<'_>,
    track_id: u32,
    movie_timescale: u32,
    trex: TrackExtends,
) -> Result<Result<InitTrack, SkippedTrack>, Fmp4Error> {
    let mdia = required(trak, b"mdia")?;
    let mdhd = required(&mdia, b"mdhd")?;
    let (version, _, mut r) = mdhd.full()?;
    mdhd.field(r.skip(if version == 1 { 16 } else { 8 }))?;
    let timescale = mdhd.field(r.u32())?;
    if timescale == 0 {
        return Err(mdhd.malformed("timescale 0"));
    }
    let hdlr = required(&mdia, b"hdlr")?;
    let mut r = hdlr.reader();
    hdlr.field(r.skip(8))?; // version, flags, pre_defined
    let handler_type = hdlr.field(fourcc(&mut r))?;
    let stbl = required(&required(&mdia, b"minf")?, b"stbl")?;
    let stsd = required(&stbl, b"stsd")?;
    // FullBox header and entry_count; the first entry describes every sample we read.
    let Some(entry) = stsd.children(8)?.next().transpose()? else {
        return Err(stsd.malformed("no sample entry"));
    };
    let sample_entry = entry.box_type;
    let entry = match parse_sample_entry(&entry, track_id) {
        Ok(e) => e,
        Err(reason) => {
            return Ok(Err(SkippedTrack {
                track_id,
                handler_type,
                sample_entry: Some(sample_entry),
                reason,
                trex,
            }))
        }
    };
    let mut edit_shift = 0i64;
    if let Some(edts) = trak.children(0)?.find(b"edts")? {
        if let Some(elst) = edts.children(0)?.find(b"elst")? {
            let (empty_duration, media_start) = parse_elst(&elst)?;
            let empty = rescale(empty_duration, movie_timescale, timescale)
                .and_then(|e| i64::try_from(e).ok())
                .unwrap_or(0);
            edit_shift = empty.saturating_sub(media_start);
        }
    }
    Ok(Ok(InitTrack {
        track_id,
        track: Track {
            timescale,
            codec: entry.codec,
        },
        handler_type,
        sample_entry,
        nal_length_size: entry.nal_length_size,
        trex,
        edit_shift,
    }))
}
