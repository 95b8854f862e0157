//! CMAF (ISO/IEC 23000-19) track files in ISO base media file format (ISO/IEC 14496-12):
//! one track per file, an init segment (`ftyp` + `moov`) and media segments
//! (`styp` + `moof` + `mdat`); and progressive (non-fragmented) files with several tracks
//! ([`progressive`]).

pub mod demux;
mod fragment;
mod ftyp;
mod moov;
pub mod progressive;
mod sample_entry;
pub mod writer;

pub use fragment::{write_media_segment, write_media_segment_with, SampleEncryption, SampleInfo};
pub use moov::{init_segment, init_segment_with, InitProtection};
pub use progressive::{ProgressiveMp4, TrackIndex};

use crate::media::codec::aac::AacConfig;
use crate::media::codec::h264::AvcConfig;
use crate::media::codec::hevc::HevcConfig;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The `track_ID` of the single track of every CMAF track file we write.
pub const TRACK_ID: u32 = 1;

/// Errors of the muxer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MuxError {
    /// A box or field would exceed its 32-bit size.
    TooLarge { box_type: [u8; 4] },
    /// A value does not fit the field that carries it.
    OutOfRange { field: &'static str },
    /// The mdat writer produced a different number of bytes than the sample sizes add up to.
    SampleSizeMismatch { declared: u64, written: u64 },
    /// A fragment needs at least one sample.
    NoSamples,
}

impl fmt::Display for MuxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MuxError::TooLarge { box_type } => write!(
                f,
                "box '{}' larger than 4 GiB",
                String::from_utf8_lossy(box_type)
            ),
            MuxError::OutOfRange { field } => write!(f, "{field} out of range"),
            MuxError::SampleSizeMismatch { declared, written } => write!(
                f,
                "mdat holds {written} bytes but the samples declare {declared}"
            ),
            MuxError::NoSamples => write!(f, "no samples in fragment"),
        }
    }
}

impl std::error::Error for MuxError {}

/// Decoder configuration of a track, from the elementary stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodecConfig {
    Avc(AvcConfig),
    Hevc(HevcConfig),
    Aac(AacConfig),
}

/// `handler_type` family of a track (`vide`, `soun`; ISO/IEC 14496-12 8.4.3). Stored in
/// segment indexes as `"v"` / `"a"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TrackKind {
    #[serde(rename = "v")]
    Video,
    #[serde(rename = "a")]
    Audio,
}

impl TrackKind {
    /// The word used in URLs and file names.
    pub fn name(self) -> &'static str {
        match self {
            TrackKind::Video => "video",
            TrackKind::Audio => "audio",
        }
    }

    pub fn parse(s: &str) -> Option<TrackKind> {
        match s {
            "video" => Some(TrackKind::Video),
            "audio" => Some(TrackKind::Audio),
            _ => None,
        }
    }
}

/// A CMAF track: what the init segment describes and what manifests advertise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Track {
    /// Media timescale: 90 000 for video (the TS clock), the sample rate for audio.
    pub timescale: u32,
    pub codec: CodecConfig,
}

impl Track {
    pub fn kind(&self) -> TrackKind {
        Track::kind_of(&self.codec)
    }

    /// The media type a codec configuration belongs to.
    pub fn kind_of(codec: &CodecConfig) -> TrackKind {
        match codec {
            CodecConfig::Avc(_) | CodecConfig::Hevc(_) => TrackKind::Video,
            CodecConfig::Aac(_) => TrackKind::Audio,
        }
    }

    /// RFC 6381 `codecs` value for HLS `CODECS` and DASH `@codecs`.
    pub fn codec_string(&self) -> String {
        match &self.codec {
            CodecConfig::Avc(c) => c.codec_string(),
            CodecConfig::Hevc(c) => c.codec_string(),
            CodecConfig::Aac(c) => c.codec_string(),
        }
    }

    /// Picture size in pixels (video only).
    pub fn dimensions(&self) -> Option<(u32, u32)> {
        match &self.codec {
            CodecConfig::Avc(c) => Some((c.sps.width, c.sps.height)),
            CodecConfig::Hevc(c) => Some((c.width, c.height)),
            CodecConfig::Aac(_) => None,
        }
    }

    /// Sampling rate in Hz (audio only).
    pub fn sample_rate(&self) -> Option<u32> {
        match &self.codec {
            CodecConfig::Aac(c) => Some(c.sample_rate()),
            _ => None,
        }
    }

    /// Channel count (audio only).
    pub fn channels(&self) -> Option<u8> {
        match &self.codec {
            CodecConfig::Aac(c) => Some(c.channels()),
            _ => None,
        }
    }
}
