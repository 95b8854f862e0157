//! Elementary stream codecs: H.264 and H.265 (Annex B → ISO/IEC 14496-15 samples and decoder
//! configuration records) and AAC (ADTS → raw frames and AudioSpecificConfig).

pub mod aac;
pub mod annexb;
pub mod bits;
pub mod h264;
pub mod h264_slice;
pub mod hevc;
pub mod hevc_slice;

use std::fmt;

/// Errors of the codec layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodecError {
    /// A bitstream structure ends early.
    Truncated { what: &'static str },
    /// A syntax element has a value the specification forbids or we cannot represent.
    Malformed { what: &'static str },
    /// Valid, but outside what the remuxer supports (named).
    Unsupported { what: &'static str },
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodecError::Truncated { what } => write!(f, "truncated {what}"),
            CodecError::Malformed { what } => write!(f, "malformed {what}"),
            CodecError::Unsupported { what } => write!(f, "unsupported {what}"),
        }
    }
}

impl std::error::Error for CodecError {}
