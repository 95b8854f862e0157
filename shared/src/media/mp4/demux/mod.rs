//! Fragmented MP4 demultiplexing (ISO/IEC 14496-12 8.8, CMAF ISO/IEC 23000-19): an init
//! segment (`ftyp` + `moov`) into tracks, a media segment (`styp`, `moof` + `mdat` pairs)
//! into each track's samples. Sans-IO and copy-free: samples are byte ranges of the input.
//!
//! ```text
//! let init = parse_init(&init_bytes)?;                   // InitSegment: tracks by track_ID
//! let segment = parse_segment(&segment_bytes, &init)?;   // MediaSegment<'_>
//! for track in segment.track_samples(&init) {            // TrackSamples: muxer input
//!     ...
//! }
//! ```
//!
//! * Several tracks in one file (ffmpeg's HLS fMP4 output puts audio and video together)
//!   or one per file (DASH, CMAF): tracks are keyed by `track_ID`.
//! * Codecs: `avc1`/`avc3` (`avcC`), `hvc1`/`hev1` (`hvcC`), `mp4a` (`esds` with an
//!   AudioSpecificConfig). The configuration comes from the record's first parameter sets,
//!   so `avc3`/`hev1` tracks whose records carry none (parameter sets only in band) are
//!   skipped; codec strings are written `avc1.`/`hvc1.` whatever the entry. Other tracks
//!   (text, encrypted `encv`/`enca`, other codecs) are listed in [`InitSegment::skipped`]
//!   with the reason, and their fragments read but not kept.
//! * Times stay in each track's `mdhd` timescale (ffmpeg: 15360 for 30 fps video, the
//!   sample rate for audio). [`InitTrack::edit_shift`] is what the edit list adds to
//!   presentation; muxers may apply it (ffmpeg's readers do).
//! * Media segments: `styp` (`lmsg` brand: last segment), any number of `moof` + `mdat`
//!   pairs (CMAF chunks); `sidx`, `prft`, `emsg`, `free` and unknown boxes are skipped.
//!   Every `tfhd` / `trun` flag combination, `trex` and `tfhd` defaults, `base_data_offset`
//!   (an offset in the given input), `default-base-is-moof` and the implicit bases.
//! * Hostile input: sizes are checked against the bytes present, every sample must lie in an
//!   `mdat`, allocations are bounded by the input's length, nothing panics. A structure cut
//!   short at the end of the input is [`Fmp4Error::Truncated`] ("need more data"); anything
//!   else wrong is [`Fmp4Error::Malformed`] or [`Fmp4Error::Unsupported`], with the box type
//!   and offset.

mod boxes;
mod entry;
mod fragment;
mod init;

pub use fragment::{parse_segment, Fragment, MediaSegment, SegmentTrack};
pub use init::{parse_init, InitSegment, InitTrack, SkippedTrack, TrackExtends};

use crate::media::codec::CodecError;
use std::fmt;

/// Errors of the fragmented MP4 demuxer. [`Fmp4Error::Truncated`] means the input stopped
/// early (more bytes would help); the other variants mean the bytes present are wrong or
/// beyond what we support.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fmp4Error {
    /// The input ends inside the box at `offset`; `needed` more bytes were expected (at
    /// least that many when a `trun` points past the end of the input, at an `mdat` that has
    /// not arrived).
    Truncated {
        box_type: [u8; 4],
        offset: u64,
        needed: u64,
    },
    /// The box at `offset` breaks its syntax.
    Malformed {
        box_type: [u8; 4],
        offset: u64,
        what: &'static str,
    },
    /// The box at `offset` is valid but outside what the demuxer handles.
    Unsupported {
        box_type: [u8; 4],
        offset: u64,
        what: &'static str,
    },
    /// A box the syntax requires is absent from its container (or from the input).
    MissingBox {
        box_type: [u8; 4],
        parent: [u8; 4],
        offset: u64,
    },
    /// A `traf` (at `offset`) names a `track_ID` the init segment does not declare.
    UnknownTrack { track_id: u32, offset: u64 },
    /// A decoder configuration record could not be read.
    Codec {
        track_id: u32,
        box_type: [u8; 4],
        error: CodecError,
    },
}

impl Fmp4Error {
    /// True when the input was cut short, as opposed to malformed.
    pub fn is_truncated(&self) -> bool {
        matches!(self, Fmp4Error::Truncated { .. })
    }
}

/// A four-character code for messages.
fn fourcc(t: &[u8; 4]) -> String {
    t.iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                char::from(b)
            } else {
                '?'
            }
        })
        .collect()
}

impl fmt::Display for Fmp4Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fmp4Error::Truncated {
                box_type,
                offset,
                needed,
            } => write!(
                f,
                "'{}' box at byte {offset} truncated: {needed} more bytes needed",
                fourcc(box_type)
            ),
            Fmp4Error::Malformed {
                box_type,
                offset,
                what,
            } => write!(f, "'{}' box at byte {offset}: {what}", fourcc(box_type)),
            Fmp4Error::Unsupported {
                box_type,
                offset,
                what,
            } => write!(
                f,
                "'{}' box at byte {offset}: unsupported: {what}",
                fourcc(box_type)
            ),
            Fmp4Error::MissingBox {
                box_type,
                parent,
                offset,
            } => write!(
                f,
                "no '{}' box in the '{}' at byte {offset}",
                fourcc(box_type),
                fourcc(parent)
            ),
            Fmp4Error::UnknownTrack { track_id, offset } => write!(
                f,
                "'traf' at byte {offset}: track_ID {track_id} is not in the init segment"
            ),
            Fmp4Error::Codec {
                track_id,
                box_type,
                error,
            } => write!(f, "track {track_id} '{}': {error}", fourcc(box_type)),
        }
    }
}

impl std::error::Error for Fmp4Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Fmp4Error::Codec { error, .. } => Some(error),
            _ => None,
        }
    }
}
