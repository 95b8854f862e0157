//! Media segments: `styp` (ISO/IEC 14496-12 8.16.2), then `moof` (8.8.4) + `mdat` (8.1.1)
//! pairs; in each `moof` an `mfhd` (8.8.5) and a `traf` (8.8.6) per track with `tfhd`
//! (8.8.7), `tfdt` (8.8.12) and `trun` (8.8.8) boxes. Sample defaults come from `trun`, then
//! `tfhd`, then `trex`; data offsets follow 8.8.7.1 and 8.8.8.1.

use super::boxes::{fourcc, u64_field, BoxRef, Boxes};
use super::init::{InitSegment, TrackExtends};
use super::Fmp4Error;
use crate::media::reader::len_u64;
use crate::media::sample::{Sample, TrackSamples};
use std::ops::Range;

/// `tfhd` flags (8.8.7.1).
const TFHD_BASE_DATA_OFFSET_PRESENT: u32 = 0x00_0001;
const TFHD_SAMPLE_DESCRIPTION_INDEX_PRESENT: u32 = 0x00_0002;
const TFHD_DEFAULT_SAMPLE_DURATION_PRESENT: u32 = 0x00_0008;
const TFHD_DEFAULT_SAMPLE_SIZE_PRESENT: u32 = 0x00_0010;
const TFHD_DEFAULT_SAMPLE_FLAGS_PRESENT: u32 = 0x00_0020;
const TFHD_DEFAULT_BASE_IS_MOOF: u32 = 0x02_0000;
/// `trun` flags (8.8.8.1).
const TRUN_DATA_OFFSET_PRESENT: u32 = 0x00_0001;
const TRUN_FIRST_SAMPLE_FLAGS_PRESENT: u32 = 0x00_0004;
const TRUN_SAMPLE_DURATION_PRESENT: u32 = 0x00_0100;
const TRUN_SAMPLE_SIZE_PRESENT: u32 = 0x00_0200;
const TRUN_SAMPLE_FLAGS_PRESENT: u32 = 0x00_0400;
const TRUN_SAMPLE_COMPOSITION_TIME_OFFSETS_PRESENT: u32 = 0x00_0800;
/// `sample_is_non_sync_sample` in `sample_flags` (8.8.3.1).
const SAMPLE_IS_NON_SYNC_SAMPLE: u32 = 0x0001_0000;
/// The `styp` brand of the last segment of a presentation (ISO/IEC 23009-1 7.3.1, CMAF).
const LAST_SEGMENT_BRAND: [u8; 4] = *b"lmsg";

/// One `moof` of the segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment {
    /// `mfhd.sequence_number`.
    pub sequence_number: u32,
    /// Offset of the `moof` in the segment.
    pub offset: usize,
}

/// One track's samples in a media segment, in decode order across all its fragments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentTrack {
    pub track_id: u32,
    /// Offsets are into [`MediaSegment::data`].
    pub samples: Vec<Sample>,
}

/// A parsed media segment; samples point into [`MediaSegment::data`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaSegment<'a> {
    /// The segment's bytes, as given.
    pub data: &'a [u8],
    /// `styp.major_brand` (`None` without `styp`).
    pub major_brand: Option<[u8; 4]>,
    pub compatible_brands: Vec<[u8; 4]>,
    /// The `lmsg` brand: the last segment of the presentation.
    pub last_segment: bool,
    pub fragments: Vec<Fragment>,
    /// The carried tracks that have fragments here, in the init segment's track order.
    pub tracks: Vec<SegmentTrack>,
}

impl<'a> MediaSegment<'a> {
    pub fn track(&self, track_id: u32) -> Option<&SegmentTrack> {
        self.tracks.iter().find(|t| t.track_id == track_id)
    }

    /// The bytes of a sample of this segment.
    pub fn sample_data(&self, sample: &Sample) -> Option<&'a [u8]> {
        self.data.get(sample.range())
    }

    /// The samples of `track_id` as muxer input (with the init segment's track).
    pub fn samples_of<'s>(
        &'s self,
        init: &'s InitSegment,
        track_id: u32,
    ) -> Option<TrackSamples<'s>> {
        let t = init.track(track_id)?;
        let s = self.track(track_id)?;
        Some(TrackSamples {
            track: &t.track,
            nal_length_size: t.nal_length_size,
            samples: &s.samples,
            data: self.data,
        })
    }

    /// Every carried track's samples, in the init segment's track order.
    pub fn track_samples<'s>(&'s self, init: &'s InitSegment) -> Vec<TrackSamples<'s>> {
        self.tracks
            .iter()
            .filter_map(|s| self.samples_of(init, s.track_id))
            .collect()
    }
}

/// Per track while reading: its samples and where its decode time stands.
struct TrackState {
    track_id: u32,
    carried: bool,
    samples: Vec<Sample>,
    next_decode_time: Option<u64>,
}

/// What `tfhd` says (8.8.7).
struct Tfhd {
    flags: u32,
    base_data_offset: u64,
    default_sample_duration: u32,
    default_sample_size: u32,
    default_sample_flags: u32,
}

/// Parses a media segment of the tracks `init` declares.
pub fn parse_segment<'a>(
    data: &'a [u8],
    init: &InitSegment,
) -> Result<MediaSegment<'a>, Fmp4Error> {
    let mut top = Vec::new();
    for b in Boxes::top_level(data) {
        top.push(b?);
    }
    let mut segment = MediaSegment {
        data,
        major_brand: None,
        compatible_brands: Vec::new(),
        last_segment: false,
        fragments: Vec::new(),
        tracks: Vec::new(),
    };
    // Sample data must lie in an mdat's body.
    let mdats: Vec<Range<usize>> = top
        .iter()
        .filter(|b| &b.box_type == b"mdat")
        .map(|b| b.body_offset..b.end())
        .collect();
    let mut states: Vec<TrackState> = Vec::new();
    for b in &top {
        match &b.box_type {
            b"styp" if segment.fragments.is_empty() => {
                let mut r = b.reader();
                let major = b.field(fourcc(&mut r))?;
                b.field(r.skip(4))?; // minor_version
                segment.major_brand = Some(major);
                while r.remaining() >= 4 {
                    segment.compatible_brands.push(b.field(fourcc(&mut r))?);
                }
                segment.last_segment = major == LAST_SEGMENT_BRAND
                    || segment.compatible_brands.contains(&LAST_SEGMENT_BRAND);
            }
            b"moof" => {
                let sequence_number = parse_moof(b, init, &mdats, data.len(), &mut states)?;
                segment.fragments.push(Fragment {
                    sequence_number,
                    offset: b.offset,
                });
            }
            // sidx, prft, emsg, free, skip, mdat (read through trun), unknown: skipped.
            _ => {}
        }
    }
    if segment.fragments.is_empty() {
        return Err(Fmp4Error::MissingBox {
            box_type: *b"moof",
            parent: *b"file",
            offset: 0,
        });
    }
    for t in &init.tracks {
        if let Some(s) = states
            .iter_mut()
            .find(|s| s.track_id == t.track_id && s.carried)
        {
            segment.tracks.push(SegmentTrack {
                track_id: t.track_id,
                samples: std::mem::take(&mut s.samples),
            });
        }
    }
    Ok(segment)
}

/// Reads one `moof`; returns its sequence number.
fn parse_moof(
    moof: &BoxRef<'_>,
    init: &InitSegment,
    mdats: &[Range<usize>],
    input_len: usize,
    states: &mut Vec<TrackState>,
) -> Result<u32, Fmp4Error> {
    let mut sequence_number = None;
    // End of the previous traf's data: the base of the next traf without an explicit one.
    let mut previous_data_end: Option<usize> = None;
    for b in moof.children(0)? {
        let b = b?;
        match &b.box_type {
            b"mfhd" => {
                let (_, _, mut r) = b.full()?;
                sequence_number = Some(b.field(r.u32())?);
            }
            b"traf" => {
                let end = parse_traf(&b, moof, previous_data_end, init, mdats, input_len, states)?;
                previous_data_end = Some(end);
            }
            _ => {}
        }
    }
    sequence_number.ok_or(Fmp4Error::MissingBox {
        box_type: *b"mfhd",
        parent: *b"moof",
        offset: len_u64(moof.offset),
    })
}

/// `tfhd` over the track's `trex` defaults; also the sample description index that applies.
fn parse_tfhd(tfhd: &BoxRef<'_>, trex: TrackExtends) -> Result<(Tfhd, u32), Fmp4Error> {
    let (_, flags, mut r) = tfhd.full()?;
    tfhd.field(r.skip(4))?; // track_ID, read by the caller
    let mut t = Tfhd {
        flags,
        base_data_offset: 0,
        default_sample_duration: trex.default_sample_duration,
        default_sample_size: trex.default_sample_size,
        default_sample_flags: trex.default_sample_flags,
    };
    let mut sample_description_index = trex.default_sample_description_index;
    if flags & TFHD_BASE_DATA_OFFSET_PRESENT != 0 {
        t.base_data_offset = tfhd.field(u64_field(&mut r))?;
    }
    if flags & TFHD_SAMPLE_DESCRIPTION_INDEX_PRESENT != 0 {
        sample_description_index = tfhd.field(r.u32())?;
    }
    if flags & TFHD_DEFAULT_SAMPLE_DURATION_PRESENT != 0 {
        t.default_sample_duration = tfhd.field(r.u32())?;
    }
    if flags & TFHD_DEFAULT_SAMPLE_SIZE_PRESENT != 0 {
        t.default_sample_size = tfhd.field(r.u32())?;
    }
    if flags & TFHD_DEFAULT_SAMPLE_FLAGS_PRESENT != 0 {
        t.default_sample_flags = tfhd.field(r.u32())?;
    }
    Ok((t, sample_description_index))
}

/// Reads one `traf` into its track's samples; returns where its data ends.
fn parse_traf(
    traf: &BoxRef<'_>,
    moof: &BoxRef<'_>,
    previous_data_end: Option<usize>,
    init: &InitSegment,
    mdats: &[Range<usize>],
    input_len: usize,
    states: &mut Vec<TrackState>,
) -> Result<usize, Fmp4Error> {
    let tfhd = traf
        .children(0)?
        .find(b"tfhd")?
        .ok_or(Fmp4Error::MissingBox {
            box_type: *b"tfhd",
            parent: *b"traf",
            offset: len_u64(traf.offset),
        })?;
    let track_id = tfhd.field(tfhd.full()?.2.u32())?;
    let trex = init.trex(track_id).ok_or(Fmp4Error::UnknownTrack {
        track_id,
        offset: len_u64(traf.offset),
    })?;
    let (tfhd_fields, sample_description_index) = parse_tfhd(&tfhd, trex)?;
    let carried = init.track(track_id).is_some();
    if carried && sample_description_index != 1 {
        return Err(tfhd.unsupported("sample_description_index other than 1"));
    }
    let state = match states.iter().position(|s| s.track_id == track_id) {
        Some(i) => &mut states[i],
        None => {
            states.push(TrackState {
                track_id,
                carried,
                samples: Vec::new(),
                next_decode_time: None,
            });
            let last = states.len() - 1;
            &mut states[last]
        }
    };

    // 8.8.7.1: the base data offset.
    let base = if tfhd_fields.flags & TFHD_BASE_DATA_OFFSET_PRESENT != 0 {
        usize::try_from(tfhd_fields.base_data_offset)
            .map_err(|_| tfhd.malformed("base_data_offset beyond the input"))?
    } else if tfhd_fields.flags & TFHD_DEFAULT_BASE_IS_MOOF != 0 {
        moof.offset
    } else {
        previous_data_end.unwrap_or(moof.offset)
    };

    let mut data_end = base;
    let mut first_run = true;
    for b in traf.children(0)? {
        let b = b?;
        match &b.box_type {
            b"tfdt" => {
                let (version, _, mut r) = b.full()?;
                state.next_decode_time = Some(if version == 1 {
                    b.field(u64_field(&mut r))?
                } else {
                    u64::from(b.field(r.u32())?)
                });
            }
            b"trun" => {
                let start = if first_run { base } else { data_end };
                data_end = parse_trun(&b, &tfhd_fields, start, base, mdats, input_len, state)?;
                first_run = false;
            }
            _ => {}
        }
    }
    Ok(data_end)
}

/// The `mdat` body holding `offset` (the first byte of a run).
fn mdat_at(mdats: &[Range<usize>], offset: usize) -> Option<&Range<usize>> {
    mdats.iter().find(|m| m.start <= offset && offset <= m.end)
}

/// Reads one `trun` into `state`; `implicit_start` is where its data starts without a
/// `data_offset`, `base` what a `data_offset` counts from. Returns where its data ends.
fn parse_trun(
    trun: &BoxRef<'_>,
    tfhd: &Tfhd,
    implicit_start: usize,
    base: usize,
    mdats: &[Range<usize>],
    input_len: usize,
    state: &mut TrackState,
) -> Result<usize, Fmp4Error> {
    let (_version, flags, mut r) = trun.full()?;
    let sample_count = trun.field(r.u32())?;
    let count = usize::try_from(sample_count).unwrap_or(usize::MAX);
    let mut start = implicit_start;
    if flags & TRUN_DATA_OFFSET_PRESENT != 0 {
        let data_offset = i64::from(i32::from_be_bytes(trun.field(r.u32())?.to_be_bytes()));
        start = i64::try_from(base)
            .ok()
            .and_then(|b| b.checked_add(data_offset))
            .and_then(|s| usize::try_from(s).ok())
            .ok_or_else(|| trun.malformed("data_offset before the start of the input"))?;
    }
    let first_sample_flags = if flags & TRUN_FIRST_SAMPLE_FLAGS_PRESENT != 0 {
        Some(trun.field(r.u32())?)
    } else {
        None
    };
    let per_sample = [
        TRUN_SAMPLE_DURATION_PRESENT,
        TRUN_SAMPLE_SIZE_PRESENT,
        TRUN_SAMPLE_FLAGS_PRESENT,
        TRUN_SAMPLE_COMPOSITION_TIME_OFFSETS_PRESENT,
    ];
    let row_len = 4 * per_sample.iter().filter(|&&f| flags & f != 0).count();
    if count.saturating_mul(row_len) > r.remaining() {
        return Err(trun.malformed("sample_count exceeds the trun's rows"));
    }
    if count == 0 {
        return Ok(start);
    }
    let Some(mdat) = mdat_at(mdats, start).cloned() else {
        // The data would start past the end of the input: the input stops before its mdat.
        if start >= input_len {
            return Err(Fmp4Error::Truncated {
                box_type: *b"mdat",
                offset: len_u64(input_len),
                needed: len_u64(start - input_len).saturating_add(1),
            });
        }
        return Err(trun.malformed("sample data outside every mdat"));
    };
    // Without rows, a forged sample_count could ask for any number of (empty) samples:
    // bound it by the data present, as rows bound it otherwise.
    if row_len == 0 && count > mdat.len().max(1) {
        return Err(trun.malformed("sample_count exceeds the data present"));
    }
    let Some(mut decode_time) = state.next_decode_time else {
        return Err(Fmp4Error::MissingBox {
            box_type: *b"tfdt",
            parent: *b"traf",
            offset: len_u64(trun.offset),
        });
    };
    if state.carried {
        state.samples.reserve(count);
    }
    let mut pos = start;
    for i in 0..count {
        let duration = if flags & TRUN_SAMPLE_DURATION_PRESENT != 0 {
            trun.field(r.u32())?
        } else {
            tfhd.default_sample_duration
        };
        let size = if flags & TRUN_SAMPLE_SIZE_PRESENT != 0 {
            trun.field(r.u32())?
        } else {
            tfhd.default_sample_size
        };
        let sample_flags = if flags & TRUN_SAMPLE_FLAGS_PRESENT != 0 {
            trun.field(r.u32())?
        } else if i == 0 {
            first_sample_flags.unwrap_or(tfhd.default_sample_flags)
        } else {
            tfhd.default_sample_flags
        };
        // Version 0 declares the offset unsigned; muxers write negative ones there too, and
        // readers (ffmpeg among them) take the bits as signed: so do we.
        let composition_offset = if flags & TRUN_SAMPLE_COMPOSITION_TIME_OFFSETS_PRESENT != 0 {
            i32::from_be_bytes(trun.field(r.u32())?.to_be_bytes())
        } else {
            0
        };
        let end = usize::try_from(size)
            .ok()
            .and_then(|s| pos.checked_add(s))
            .filter(|&e| e <= mdat.end)
            .ok_or_else(|| trun.malformed("sample data runs past its mdat"))?;
        if state.carried {
            state.samples.push(Sample {
                decode_time,
                duration,
                composition_offset,
                is_sync: sample_flags & SAMPLE_IS_NON_SYNC_SAMPLE == 0,
                offset: pos,
                size,
            });
        }
        decode_time = decode_time
            .checked_add(u64::from(duration))
            .ok_or_else(|| trun.malformed("decode time beyond 64 bits"))?;
        pos = end;
    }
    state.next_decode_time = Some(decode_time);
    Ok(pos)
}
