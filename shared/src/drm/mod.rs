//! Content keys: the SPEKE v2.0 client (CPIX 2.3 documents, sans-IO: the caller sends the
//! request and hands back the answer), the DRM system ids, whole-segment AES-128 for HLS and
//! the sealing of keys at rest. Imports nothing of the crate (a leaf). See docs/encryption.md.

pub mod aes128;
pub mod cpix;
pub mod seal;
pub mod systems;

pub use systems::DrmSystem;

use std::fmt;

/// A key id (16 bytes; CPIX writes it as a UUID).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Kid(pub [u8; 16]);

impl Kid {
    /// `8-4-4-4-12` hex digits, any case.
    pub fn parse_uuid(s: &str) -> Option<Kid> {
        let groups: Vec<&str> = s.split('-').collect();
        let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
        if lens != [8, 4, 4, 4, 12] {
            return None;
        }
        parse_hex16(&groups.concat()).map(Kid)
    }

    /// Lower-case UUID form.
    pub fn uuid(&self) -> String {
        let h = hex(&self.0);
        format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        )
    }

    /// 32 lower-case hex digits.
    pub fn hex(&self) -> String {
        hex(&self.0)
    }
}

impl fmt::Display for Kid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.uuid())
    }
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// 16 bytes from exactly 32 hex digits (any case).
pub fn parse_hex16(s: &str) -> Option<[u8; 16]> {
    if s.len() != 32 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// A content key's protection scheme (`ContentKey@commonEncryptionScheme`, ISO/IEC 23001-7 4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// AES-CTR, full sample and video NAL subsample encryption.
    Cenc,
    /// AES-CBC, partial video NAL pattern encryption (also HLS SAMPLE-AES on CMAF).
    Cbcs,
    /// AES-CBC, full sample: what a whole-segment HLS AES-128 key is requested as.
    Cbc1,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Cenc => "cenc",
            Scheme::Cbcs => "cbcs",
            Scheme::Cbc1 => "cbc1",
        }
    }
}

/// The kind of track a key is for (`ContentKeyUsageRule@intendedTrackType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TrackType {
    Video,
    Audio,
}

impl TrackType {
    pub fn as_str(self) -> &'static str {
        match self {
            TrackType::Video => "VIDEO",
            TrackType::Audio => "AUDIO",
        }
    }
}

/// A failure to get usable keys from a key provider. Messages name the cause, never a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DrmError {
    /// The provider answered with an HTTP error status; `message` is the start of its body when
    /// that is text (SPEKE's 422 answers are fixed sentences such as "Missing CPIX@contentId").
    ProviderStatus { status: u16, message: String },
    /// The provider could not be reached (connection refused, DNS, TLS, platform refusal).
    Unreachable(String),
    /// The provider did not answer within the time allowed.
    Timeout { ms: u64 },
    /// The answer is larger than [`cpix::MAX_RESPONSE_BYTES`].
    TooLarge { limit: usize },
    /// The answer is not a CPIX document we can read.
    MalformedXml(String),
    /// A requested key is absent from the answer, or has no value.
    MissingKey { kid: Kid },
    /// The answer names key ids the request cannot account for.
    KidMismatch { kid: String },
    /// A key value that is not 16 bytes.
    KeyLength { kid: Kid, len: usize },
    /// A `PSSH` element that is not one `pssh` box.
    BadPssh { kid: Kid, reason: &'static str },
    /// The answer's `contentId` or `version` differs from the request's.
    WrongDocument(String),
}

impl fmt::Display for DrmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DrmError::ProviderStatus { status, message } if message.is_empty() => {
                write!(f, "key provider answered HTTP {status}")
            }
            DrmError::ProviderStatus { status, message } => {
                write!(f, "key provider answered HTTP {status}: {message}")
            }
            DrmError::Unreachable(m) => write!(f, "key provider unreachable: {m}"),
            DrmError::Timeout { ms } => write!(f, "key provider did not answer within {ms} ms"),
            DrmError::TooLarge { limit } => {
                write!(f, "key provider answer exceeds {limit} bytes")
            }
            DrmError::MalformedXml(m) => write!(f, "malformed CPIX answer: {m}"),
            DrmError::MissingKey { kid } => write!(f, "CPIX answer lacks the key of KID {kid}"),
            DrmError::KidMismatch { kid } => {
                write!(
                    f,
                    "CPIX answer names KID {kid}, which the request did not ask for"
                )
            }
            DrmError::KeyLength { kid, len } => {
                write!(f, "key of KID {kid} is {len} bytes, not 16")
            }
            DrmError::BadPssh { kid, reason } => write!(f, "PSSH of KID {kid}: {reason}"),
            DrmError::WrongDocument(m) => write!(f, "CPIX answer for another request: {m}"),
        }
    }
}

impl std::error::Error for DrmError {}
