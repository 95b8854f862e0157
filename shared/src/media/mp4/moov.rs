//! Movie boxes (ISO/IEC 14496-12 8.2 `moov`, 8.3 `trak`, 8.4 `mdia`, 8.5 `stbl`): the CMAF
//! header's, for a single fragmented track (8.8.1 `mvex`; ISO/IEC 23000-19 7.3.2), and the
//! parts a progressive file's movie box shares with it ([`super::progressive`]).

use super::ftyp::write_ftyp;
use super::sample_entry::write_sample_entry;
use super::writer::BoxWriter;
use super::{CodecConfig, MuxError, Track, TrackKind, TRACK_ID};

/// The unity transformation matrix (14496-12 8.2.2.3).
const MATRIX: [u32; 9] = [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000];
/// `mvhd.timescale`: milliseconds by convention (the movie timeline is unused by fragments).
pub(super) const MOVIE_TIMESCALE: u32 = 1000;
/// ISO-639-2/T "und" packed as three 5-bit letters (14496-12 8.4.2.3).
const LANGUAGE_UND: u16 = (21 << 10) | (14 << 5) | 4;

/// Writes the CMAF header (init segment) of `track`: `ftyp` + `moov`.
pub fn init_segment(track: &Track) -> Result<Vec<u8>, MuxError> {
    init_segment_with(track, None)
}

/// What an encrypted track adds to its CMAF header (ISO/IEC 23001-7 8): complete boxes built
/// by [`crate::media::cenc`].
#[derive(Debug, Clone, Copy)]
pub struct InitProtection<'a> {
    /// The `sinf` box appended to the sample entry (which becomes `encv` / `enca`).
    pub sinf: &'a [u8],
    /// `pssh` boxes, written at the end of `moov`.
    pub pssh: &'a [Vec<u8>],
}

/// [`init_segment`], encrypted when `protection` is given (the clear output is unchanged).
pub fn init_segment_with(
    track: &Track,
    protection: Option<InitProtection<'_>>,
) -> Result<Vec<u8>, MuxError> {
    let mut out = Vec::with_capacity(1024);
    let mut w = BoxWriter::new(&mut out);
    write_ftyp(&mut w)?;
    w.boxed(b"moov", |w| {
        write_mvhd(w, 0, TRACK_ID + 1)?;
        let trak = Trak {
            track_id: TRACK_ID,
            duration: 0,
            media_duration: 0,
            more_descriptions: &[],
        };
        let sinf = protection.map(|p| p.sinf);
        write_trak(w, track, &trak, |_| Ok(()), sinf, empty_sample_tables)?;
        write_mvex(w)?;
        for pssh in protection.map_or(&[][..], |p| p.pssh) {
            w.bytes(pssh);
        }
        Ok(())
    })?;
    Ok(out)
}

/// The times of a `trak` (zero in a fragmented file: the fragments carry them) and its
/// sample descriptions after the track's own.
pub(super) struct Trak<'a> {
    pub track_id: u32,
    /// `tkhd.duration`: the edits' total, in [`MOVIE_TIMESCALE`] units.
    pub duration: u64,
    /// `mdhd.duration`: the samples' total, in the track's timescale.
    pub media_duration: u64,
    /// Further `stsd` entries (a progressive file across a codec change).
    pub more_descriptions: &'a [CodecConfig],
}

/// Version 1 (64-bit times) only when a duration does not fit version 0's 32 bits.
fn time_version(duration: u64) -> u8 {
    u8::from(duration > u64::from(u32::MAX))
}

/// Zero creation and modification times (deterministic output), then a duration, in the
/// width of `version`; `timescale` sits between them when given (`mvhd`, `mdhd`).
fn times(w: &mut BoxWriter<'_>, version: u8, timescale: Option<u32>, duration: u64) {
    if version == 1 {
        w.u64(0); // creation_time
        w.u64(0); // modification_time
        timescale.into_iter().for_each(|t| w.u32(t));
        w.u64(duration);
    } else {
        w.u32(0);
        w.u32(0);
        timescale.into_iter().for_each(|t| w.u32(t));
        // time_version chose version 0: the duration fits.
        w.u32(u32::try_from(duration).unwrap_or(u32::MAX));
    }
}

/// `mvhd` (8.2.2): zero times, `duration` in [`MOVIE_TIMESCALE`] units.
pub(super) fn write_mvhd(
    w: &mut BoxWriter<'_>,
    duration: u64,
    next_track_id: u32,
) -> Result<(), MuxError> {
    let version = time_version(duration);
    w.full_box(b"mvhd", version, 0, |w| {
        times(w, version, Some(MOVIE_TIMESCALE), duration);
        w.u32(0x0001_0000); // rate 1.0
        w.u16(0x0100); // volume 1.0
        w.zeros(2 + 8); // reserved
        MATRIX.iter().for_each(|&m| w.u32(m));
        w.zeros(24); // pre_defined
        w.u32(next_track_id);
        Ok(())
    })
}

/// `trak` (8.3.1) with `tkhd` (8.3.2), what `edts` writes (an edit list, or nothing), and
/// `mdia` whose `stbl` gets the sample description and then what `tables` writes.
pub(super) fn write_trak(
    w: &mut BoxWriter<'_>,
    track: &Track,
    trak: &Trak<'_>,
    edts: impl FnOnce(&mut BoxWriter<'_>) -> Result<(), MuxError>,
    sinf: Option<&[u8]>,
    tables: impl FnOnce(&mut BoxWriter<'_>) -> Result<(), MuxError>,
) -> Result<(), MuxError> {
    w.boxed(b"trak", |w| {
        let version = time_version(trak.duration);
        // flags: track_enabled | track_in_movie.
        w.full_box(b"tkhd", version, 0x3, |w| {
            if version == 1 {
                w.u64(0); // creation_time
                w.u64(0); // modification_time
                w.u32(trak.track_id);
                w.u32(0); // reserved
                w.u64(trak.duration);
            } else {
                w.u32(0);
                w.u32(0);
                w.u32(trak.track_id);
                w.u32(0);
                w.u32(u32::try_from(trak.duration).unwrap_or(u32::MAX));
            }
            w.zeros(8); // reserved
            w.u16(0); // layer
            w.u16(0); // alternate_group
            w.u16(if track.kind() == TrackKind::Audio {
                0x0100
            } else {
                0
            }); // volume
            w.u16(0); // reserved
            MATRIX.iter().for_each(|&m| w.u32(m));
            let (width, height) = track.dimensions().unwrap_or((0, 0));
            let fixed = |v: u32| {
                u16::try_from(v)
                    .map(|v| u32::from(v) << 16)
                    .map_err(|_| MuxError::OutOfRange {
                        field: "tkhd width",
                    })
            };
            w.u32(fixed(width)?);
            w.u32(fixed(height)?);
            Ok(())
        })?;
        edts(w)?;
        write_mdia(w, track, trak, sinf, tables)
    })
}

/// `mdia` (8.4.1): `mdhd` (8.4.2), `hdlr` (8.4.3), `minf` (8.4.4).
fn write_mdia(
    w: &mut BoxWriter<'_>,
    track: &Track,
    trak: &Trak<'_>,
    sinf: Option<&[u8]>,
    tables: impl FnOnce(&mut BoxWriter<'_>) -> Result<(), MuxError>,
) -> Result<(), MuxError> {
    w.boxed(b"mdia", |w| {
        let duration = trak.media_duration;
        let version = time_version(duration);
        w.full_box(b"mdhd", version, 0, |w| {
            times(w, version, Some(track.timescale), duration);
            w.u16(LANGUAGE_UND);
            w.u16(0); // pre_defined
            Ok(())
        })?;
        let (handler_type, name): (&[u8; 4], &[u8]) = match track.kind() {
            TrackKind::Video => (b"vide", b"VideoHandler\0"),
            TrackKind::Audio => (b"soun", b"SoundHandler\0"),
        };
        w.full_box(b"hdlr", 0, 0, |w| {
            w.u32(0); // pre_defined
            w.bytes(handler_type);
            w.zeros(12); // reserved
            w.bytes(name);
            Ok(())
        })?;
        w.boxed(b"minf", |w| {
            match track.kind() {
                // vmhd (12.1.2): flags 1, graphicsmode copy, opcolor 0.
                TrackKind::Video => w.full_box(b"vmhd", 0, 1, |w| {
                    w.zeros(8);
                    Ok(())
                })?,
                // smhd (12.2.2): balance 0.
                TrackKind::Audio => w.full_box(b"smhd", 0, 0, |w| {
                    w.zeros(4);
                    Ok(())
                })?,
            }
            write_dinf(w)?;
            write_stbl(w, track, trak.more_descriptions, sinf, tables)
        })
    })
}

/// `dinf` (8.7.1) with a `dref` (8.7.2) holding one self-contained `url ` entry.
fn write_dinf(w: &mut BoxWriter<'_>) -> Result<(), MuxError> {
    w.boxed(b"dinf", |w| {
        w.full_box(b"dref", 0, 0, |w| {
            w.u32(1); // entry_count
            w.full_box(b"url ", 0, 1, |_| Ok(()))
        })
    })
}

/// `stbl` (8.5.1): the sample entries in `stsd` (8.5.2), then the sample tables.
fn write_stbl(
    w: &mut BoxWriter<'_>,
    track: &Track,
    more_descriptions: &[CodecConfig],
    sinf: Option<&[u8]>,
    tables: impl FnOnce(&mut BoxWriter<'_>) -> Result<(), MuxError>,
) -> Result<(), MuxError> {
    let entry_count =
        u32::try_from(1 + more_descriptions.len()).map_err(|_| MuxError::OutOfRange {
            field: "stsd entry_count",
        })?;
    w.boxed(b"stbl", |w| {
        w.full_box(b"stsd", 0, 0, |w| {
            w.u32(entry_count);
            write_sample_entry(w, &track.codec, sinf)?;
            for codec in more_descriptions {
                write_sample_entry(w, codec, sinf)?;
            }
            Ok(())
        })?;
        tables(w)
    })
}

/// Empty sample tables: the samples of a fragmented file live in fragments.
fn empty_sample_tables(w: &mut BoxWriter<'_>) -> Result<(), MuxError> {
    for box_type in [b"stts", b"stsc", b"stco"] {
        w.full_box(box_type, 0, 0, |w| {
            w.u32(0); // entry_count
            Ok(())
        })?;
    }
    w.full_box(b"stsz", 0, 0, |w| {
        w.u32(0); // sample_size
        w.u32(0); // sample_count
        Ok(())
    })
}

/// `mvex` (8.8.1) with the track's `trex` (8.8.3); defaults are all given per fragment.
fn write_mvex(w: &mut BoxWriter<'_>) -> Result<(), MuxError> {
    w.boxed(b"mvex", |w| {
        w.full_box(b"trex", 0, 0, |w| {
            w.u32(TRACK_ID);
            w.u32(1); // default_sample_description_index
            w.u32(0); // default_sample_duration
            w.u32(0); // default_sample_size
            w.u32(0); // default_sample_flags
            Ok(())
        })
    })
}
