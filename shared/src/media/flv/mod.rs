//! FLV muxer (Adobe Flash Video File Format Specification v10.1, Annex E), sans-IO: samples of
//! an H.264 and an AAC track in, FLV bytes out, for HTTP-FLV live streams and FLV recordings.
//! See `docs/flv.md`.
//!
//! ```text
//! let mut muxer = FlvMuxer::new(FlvOptions { base_timestamp: 0 });
//! for each segment:                      // video + audio TrackSamples of one segment
//!     muxer.write_segment(&mut out, &[FlvTrack { samples, time_offset }], &FlvSegmentOptions {
//!         start_at_keyframe: first,      // the GOP cache: begin at the last keyframe
//!         discontinuity: false,          // a timestamp jump the caller knows of (failover)
//!     })?;
//! ```
//!
//! * The first call that has something to write starts the stream: the FLV header (audio and
//!   video flags from the tracks of that segment), an `onMetaData` script tag (duration 0,
//!   width, height, framerate, codec ids 7 and 10, audio sample rate, sample size, stereo) and
//!   the sequence headers: `AVCPacketType` 0 with the `avcC` record, `AACPacketType` 0 with
//!   the AudioSpecificConfig. A later segment whose codec configuration differs (after a
//!   failover, an encoder restart) gets new sequence headers before its first tags.
//! * Then one tag per sample, video and audio interleaved by decode time: video tags carry
//!   `FrameType` 1 (key) or 2 (inter), `AVCPacketType` 1, the composition time offset in ms
//!   (SI24, may be negative) and the NAL units with their 4-byte lengths; audio tags one raw
//!   AAC frame.
//! * Timestamps: decode times (plus each track's `time_offset`) rescaled to ms with integer
//!   rounding, mapped so the stream's first tag is at `base_timestamp`; later segments keep
//!   the mapping, so tags keep the source's spacing. A segment that would go back in time,
//!   one flagged as a discontinuity, or one that jumps forward by more than
//!   [`MAX_FORWARD_JUMP_MS`] is moved to start where the stream stopped: timestamps never go
//!   back. Video before the stream's first keyframe is never written (nothing could decode it).
//! * H.264 and AAC only: H.265 is refused with [`FlvError::UnsupportedCodec`] (enhanced-RTMP's
//!   FourCC video tags are out of scope). At most one video and one audio track.
//! * On error nothing is appended and the muxer is unchanged. Memory: the output is reserved
//!   from the sample bytes actually present, never from declared sizes.

mod amf;
mod muxer;
mod plan;
mod tag;

pub use amf::{write_on_metadata, AmfValue, ON_METADATA};
pub use muxer::{
    FlvMuxer, FlvOptions, FlvSegmentOptions, FlvTrack, FlvWritten, MAX_FORWARD_JUMP_MS,
};
pub use tag::{
    write_header, write_tag, AAC_AUDIO_TAG_HEADER, CODEC_ID_AVC, FRAME_TYPE_INTER, FRAME_TYPE_KEY,
    PACKET_TYPE_DATA, PACKET_TYPE_SEQUENCE_HEADER, SOUND_FORMAT_AAC, TAG_TYPE_AUDIO,
    TAG_TYPE_SCRIPT_DATA, TAG_TYPE_VIDEO,
};

use crate::media::codec::CodecError;
use std::fmt;

/// Errors of the FLV muxer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlvError {
    /// A codec FLV (without the enhanced-RTMP extension) does not carry.
    UnsupportedCodec { track: usize, codec: &'static str },
    /// More than one video or more than one audio track (E.1: one stream of each type).
    TooManyTracks { kind: &'static str },
    /// A track whose timescale is zero.
    Timescale { track: usize },
    /// Video samples whose NAL unit lengths are not 4 bytes (what our `avcC` declares).
    NalLengthSize { track: usize, size: u8 },
    /// A sample's bytes are not where its description says.
    SampleData { track: usize, sample: usize },
    /// A tag body longer than `DataSize` (UI24) can say.
    TagTooLarge { data_size: usize },
    /// A timestamp outside the 32-bit ms range of `Timestamp` + `TimestampExtended`.
    Timestamp { track: usize, sample: usize },
    /// A value does not fit the field that carries it.
    OutOfRange { field: &'static str },
    /// The decoder configuration record could not be written.
    Codec(CodecError),
}

impl fmt::Display for FlvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlvError::UnsupportedCodec { track, codec } => write!(
                f,
                "track {track}: {codec} is not carried in FLV (H.264 and AAC only)"
            ),
            FlvError::TooManyTracks { kind } => write!(f, "more than one {kind} track"),
            FlvError::Timescale { track } => write!(f, "track {track}: timescale 0"),
            FlvError::NalLengthSize { track, size } => write!(
                f,
                "track {track}: {size}-byte NAL unit lengths (only 4 pass through)"
            ),
            FlvError::SampleData { track, sample } => write!(
                f,
                "track {track} sample {sample}: bytes outside the track's buffer"
            ),
            FlvError::TagTooLarge { data_size } => {
                write!(f, "tag body of {data_size} bytes exceeds DataSize (UI24)")
            }
            FlvError::Timestamp { track, sample } => write!(
                f,
                "track {track} sample {sample}: timestamp outside 32-bit milliseconds"
            ),
            FlvError::OutOfRange { field } => write!(f, "{field} out of range"),
            FlvError::Codec(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for FlvError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FlvError::Codec(e) => Some(e),
            _ => None,
        }
    }
}
