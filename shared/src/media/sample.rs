//! Coded samples between the demuxers and the muxers: the sample pipeline's common currency.
//!
//! A demuxer finds samples (ISO/IEC 14496-12 3.1: all the data of one access unit) in its
//! input and describes each one by its timing and where its bytes are; it copies nothing.
//! [`TrackSamples`] pairs those descriptions with the track and the bytes, and is what the
//! muxers take: the TS muxer ([`crate::media::ts::mux`]), the CMAF fragment writer
//! ([`crate::media::mp4::write_media_segment`] through [`TrackSamples::sample_infos`] and
//! [`TrackSamples::write_samples`]) and the progressive writer (the same two).
//!
//! Sample bytes are in MP4 form: video access units as NAL units each preceded by its length
//! (ISO/IEC 14496-15 5.3.2, `nal_length_size` bytes), AAC as raw_data_blocks.
//!
//! * From fragmented MP4: [`crate::media::mp4::demux`] (`MediaSegment::track_samples`).
//! * From MPEG-TS: [`OwnedSamples::from_sample_track`] over the TS remux's
//!   [`SampleTrack`] (one copy: TS payloads are not contiguous samples).

use crate::media::mp4::{MuxError, SampleInfo, Track};
use crate::media::reader::len_u64;
use crate::media::remux::SampleTrack;
use std::ops::Range;

/// NAL unit length field size of the samples our own demuxers build (and of every `avcC` /
/// `hvcC` we write).
pub const DEFAULT_NAL_LENGTH_SIZE: u8 = 4;

/// One coded sample in decode order: timing in the track's timescale, and where its bytes
/// are in the buffer the samples of its track point into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// Decode time (DTS) in the track's timescale.
    pub decode_time: u64,
    /// In the track's timescale.
    pub duration: u32,
    /// Composition (presentation) time − decode time, in the track's timescale.
    pub composition_offset: i32,
    /// A sync sample (ISO/IEC 14496-12 3.1.18): an IDR or IRAP picture; every AAC frame.
    pub is_sync: bool,
    /// First byte of the sample in its buffer.
    pub offset: usize,
    /// Bytes of the sample.
    pub size: u32,
}

impl Sample {
    /// The sample's bytes as a range of its buffer.
    pub fn range(&self) -> Range<usize> {
        let size = usize::try_from(self.size).unwrap_or(usize::MAX);
        self.offset..self.offset.saturating_add(size)
    }

    /// Composition time: decode time + composition offset; `None` below zero or beyond 64 bits.
    pub fn composition_time(&self) -> Option<u64> {
        self.decode_time
            .checked_add_signed(i64::from(self.composition_offset))
    }

    /// What an MP4 `trun` row says about the sample.
    pub fn info(&self) -> SampleInfo {
        SampleInfo {
            duration: self.duration,
            size: self.size,
            is_sync: self.is_sync,
            composition_offset: self.composition_offset,
        }
    }
}

/// A track's samples and the bytes they point into: what the muxers take, whichever demuxer
/// produced them.
#[derive(Debug, Clone, Copy)]
pub struct TrackSamples<'a> {
    pub track: &'a Track,
    /// Bytes of each NAL unit length field in video samples (ISO/IEC 14496-15
    /// `lengthSizeMinusOne` + 1: 1, 2 or 4). Unused for audio.
    pub nal_length_size: u8,
    /// In decode order.
    pub samples: &'a [Sample],
    /// The buffer the samples' offsets point into.
    pub data: &'a [u8],
}

impl<'a> TrackSamples<'a> {
    /// The bytes of `sample`, or `None` when its range lies outside [`TrackSamples::data`].
    pub fn sample_data(&self, sample: &Sample) -> Option<&'a [u8]> {
        self.data.get(sample.range())
    }

    /// Decode time of the first sample: a fragment's `tfdt`.
    pub fn base_media_decode_time(&self) -> Option<u64> {
        self.samples.first().map(|s| s.decode_time)
    }

    /// `trun` rows for an MP4 writer. A sample lasts until the next one's decode time when
    /// that follows it (so a fragment built from several source fragments keeps each
    /// sample's decode time even where the source's `tfdt` jumped); the last sample, and
    /// one followed by an earlier or too distant decode time, keeps its own duration.
    pub fn sample_infos(&self) -> Vec<SampleInfo> {
        let mut out: Vec<SampleInfo> = self.samples.iter().map(Sample::info).collect();
        for (info, pair) in out.iter_mut().zip(self.samples.windows(2)) {
            let gap = pair[1].decode_time.checked_sub(pair[0].decode_time);
            if let Some(d) = gap.and_then(|g| u32::try_from(g).ok()) {
                info.duration = d;
            }
        }
        out
    }

    /// Appends the bytes of the samples in `range`, in decode order (an `mdat` body). A
    /// sample outside [`TrackSamples::data`] is left out, which the MP4 writers report as
    /// [`MuxError::SampleSizeMismatch`].
    pub fn write_samples(&self, range: Range<usize>, out: &mut Vec<u8>) {
        for s in self.samples.get(range).unwrap_or_default() {
            if let Some(bytes) = self.sample_data(s) {
                out.extend_from_slice(bytes);
            }
        }
    }
}

/// Samples that own their bytes: the TS remux's [`SampleTrack`] made contiguous.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedSamples {
    pub track: Track,
    pub samples: Vec<Sample>,
    pub data: Vec<u8>,
}

impl OwnedSamples {
    /// Copies the samples of a TS-demuxed track (length-prefixed with 4-byte lengths) into
    /// one buffer, with decode times from the track's base and its sample durations.
    pub fn from_sample_track(track: &SampleTrack<'_>) -> Result<Self, MuxError> {
        let infos = track.samples();
        let declared: u64 = infos.iter().map(|s| u64::from(s.size)).sum();
        let mut data = Vec::with_capacity(usize::try_from(declared).unwrap_or(0));
        track.write_samples(0..infos.len(), &mut data);
        let written = len_u64(data.len());
        if written != declared {
            return Err(MuxError::SampleSizeMismatch { declared, written });
        }
        let mut samples = Vec::with_capacity(infos.len());
        let mut decode_time = track.base_media_decode_time();
        let mut offset = 0usize;
        for s in infos {
            samples.push(Sample {
                decode_time,
                duration: s.duration,
                composition_offset: s.composition_offset,
                is_sync: s.is_sync,
                offset,
                size: s.size,
            });
            decode_time = decode_time.saturating_add(u64::from(s.duration));
            offset = offset.saturating_add(usize::try_from(s.size).unwrap_or(usize::MAX));
        }
        Ok(OwnedSamples {
            track: track.track().clone(),
            samples,
            data,
        })
    }

    /// A borrowed view for the muxers.
    pub fn view(&self) -> TrackSamples<'_> {
        TrackSamples {
            track: &self.track,
            nal_length_size: DEFAULT_NAL_LENGTH_SIZE,
            samples: &self.samples,
            data: &self.data,
        }
    }
}
