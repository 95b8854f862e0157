//! Common Encryption (ISO/IEC 23001-7) of CMAF tracks: the `cenc` (AES-CTR) and `cbcs`
//! (AES-CBC with a 1:9 pattern for video) schemes, applied to the init and media segments our
//! muxers write. Sans-IO and deterministic: the same track, samples, key, KID and IV give the
//! same bytes on every edge. See `docs/encryption.md`.
//!
//! ```text
//! let enc = Encryptor::new(&track, &protection)?;     // once per track: key schedule, SPS/PPS
//! let init = enc.init_segment()?;                      // encv/enca + sinf, pssh in moov
//! let seg = enc.encrypt_segment(&clear_segment)?;      // our styp+moof+mdat → encrypted
//! // or, from samples: enc.write_media_segment(&mut out, seq, tfdt, &infos, &sample_bytes)
//! ```
//!
//! * Video (H.264, H.265): subsamples per NAL unit ([`subsample`]); length fields, NAL
//!   headers and slice headers clear. Audio (AAC): the whole sample, no subsamples.
//! * `cenc`: 8-byte per-sample IV in `senc`, derived from [`TrackProtection::iv`] and the
//!   sample's decode time ([`Encryptor::sample_iv`]).
//! * `cbcs`: the 16-byte constant IV of `tenc` ([`TrackProtection::iv`]), reset at every
//!   subsample; video pattern 1:9, audio every whole block (pattern 0:0).
//! * Each fragment's `traf` gets `saiz`, `saio` (offset from the `moof` start) and `senc`;
//!   `cbcs` audio, whose entries are all empty, gets `senc` alone.
//! * Key rotation ([`Encryptor::rotating`]): one init for every key period, its `tenc`
//!   naming [`ROTATION_DEFAULT_KID`] and no `pssh`; each fragment names its key in a `seig`
//!   sample group and carries the key's `pssh` boxes in `moof` (ISO/IEC 23001-7 6 and 8.1).

mod boxes;
pub mod cipher;
pub mod drm_pssh;
pub mod pssh;
pub mod subsample;

use crate::media::codec::{h264_slice, hevc_slice, CodecError};
use crate::media::mp4::demux::{parse_init, parse_segment, Fmp4Error, InitSegment};
use crate::media::mp4::{
    init_segment_with, write_media_segment_with, CodecConfig, InitProtection, MuxError,
    SampleEncryption, SampleInfo, Track, TRACK_ID,
};
use cipher::{Cipher, Pattern};
use std::fmt;
use subsample::{Subsample, VideoContext};

pub use drm_pssh::{playready_pssh, widevine_pssh, PLAYREADY_SYSTEM_ID, WIDEVINE_SYSTEM_ID};
pub use pssh::{check_pssh, clearkey_pssh, pssh_box, CLEARKEY_SYSTEM_ID};

/// `Per_Sample_IV_Size` of the `cenc` scheme as we write it.
pub const CENC_IV_SIZE: u8 = 8;
/// The `cbcs` video pattern (ISO/IEC 23001-7 10.4.2): one block encrypted in ten.
pub const CBCS_VIDEO_PATTERN: Pattern = Pattern { crypt: 1, skip: 9 };
/// The `cbcs` pattern for audio: none, every whole block encrypted.
pub const CBCS_AUDIO_PATTERN: Pattern = Pattern { crypt: 0, skip: 0 };

/// `default_KID` of `tenc` in the init segment of a track whose keys rotate: a placeholder
/// (all zero, as Shaka Packager writes), since every fragment names its own key in `seig`.
pub const ROTATION_DEFAULT_KID: [u8; 16] = [0; 16];

/// A Common Encryption scheme (ISO/IEC 23001-7 4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// AES-CTR, per-sample IVs, subsample protected runs aligned to 16 bytes (DASH, Widevine,
    /// PlayReady).
    Cenc,
    /// AES-CBC with a pattern and a constant IV (HLS with FairPlay; CMAF's common choice).
    Cbcs,
}

impl Scheme {
    /// `scheme_type` of `schm`.
    pub fn scheme_type(self) -> [u8; 4] {
        match self {
            Scheme::Cenc => *b"cenc",
            Scheme::Cbcs => *b"cbcs",
        }
    }
}

/// How one track is encrypted.
#[derive(Clone, PartialEq, Eq)]
pub struct TrackProtection {
    pub scheme: Scheme,
    /// `default_KID` of `tenc`.
    pub kid: [u8; 16],
    /// The AES-128 content key.
    pub key: [u8; 16],
    /// `cbcs`: the constant IV written in `tenc`. `cenc`: the first 8 bytes are the seed of
    /// the per-sample IVs (the rest is unused); tracks that share a key need different seeds.
    pub iv: [u8; 16],
    /// Complete `pssh` boxes for `moov` (from a key server, or [`clearkey_pssh`]).
    pub pssh: Vec<Vec<u8>>,
}

impl fmt::Debug for TrackProtection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key stays out of logs.
        f.debug_struct("TrackProtection")
            .field("scheme", &self.scheme)
            .field("kid", &self.kid)
            .field("pssh", &self.pssh.len())
            .finish_non_exhaustive()
    }
}

/// Errors of the encryptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CencError {
    Mux(MuxError),
    /// The clear segment given to [`Encryptor::encrypt_segment`] could not be read.
    Fmp4(Fmp4Error),
    /// The track's parameter sets could not be read for slice headers.
    Config(CodecError),
    /// Sample `index` of the fragment is not a well-formed sequence of NAL units.
    Sample {
        index: usize,
        what: &'static str,
    },
    /// A slice header of sample `index` could not be read: where its data starts is unknown,
    /// so the sample cannot be encrypted as the scheme requires.
    SliceHeader {
        index: usize,
        error: CodecError,
    },
    /// The `pssh` box at `index` of [`TrackProtection::pssh`] is malformed.
    Pssh {
        index: usize,
        what: &'static str,
    },
}

impl fmt::Display for CencError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CencError::Mux(e) => write!(f, "encrypted segment: {e}"),
            CencError::Fmp4(e) => write!(f, "segment to encrypt: {e}"),
            CencError::Config(e) => write!(f, "parameter sets for encryption: {e}"),
            CencError::Sample { index, what } => write!(f, "sample {index}: {what}"),
            CencError::SliceHeader { index, error } => {
                write!(f, "sample {index}: slice header: {error}")
            }
            CencError::Pssh { index, what } => write!(f, "pssh box {index}: {what}"),
        }
    }
}

impl std::error::Error for CencError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CencError::Mux(e) => Some(e),
            CencError::Fmp4(e) => Some(e),
            CencError::Config(e) | CencError::SliceHeader { error: e, .. } => Some(e),
            _ => None,
        }
    }
}

impl From<MuxError> for CencError {
    fn from(e: MuxError) -> Self {
        CencError::Mux(e)
    }
}

/// Encrypts the segments of one track with one [`TrackProtection`]; built once per track
/// (key schedule, parsed parameter sets) and reused for each segment.
#[derive(Debug, Clone)]
pub struct Encryptor {
    track: Track,
    protection: TrackProtection,
    cipher: Cipher,
    /// `None` for audio.
    video: Option<VideoContext>,
    /// The clear init, parsed: what [`Encryptor::encrypt_segment`] reads segments with.
    clear_init: InitSegment,
    /// Key rotation: fragments name their key (`seig`) and carry its `pssh` in `moof`.
    rotating: bool,
}

impl Encryptor {
    pub fn new(track: &Track, protection: &TrackProtection) -> Result<Self, CencError> {
        for (index, b) in protection.pssh.iter().enumerate() {
            check_pssh(b, index)?;
        }
        let video = match &track.codec {
            CodecConfig::Avc(c) => Some(VideoContext::Avc(
                h264_slice::SliceContext::new(c).map_err(CencError::Config)?,
            )),
            CodecConfig::Hevc(c) => Some(VideoContext::Hevc(Box::new(
                hevc_slice::SliceContext::new(c).map_err(CencError::Config)?,
            ))),
            CodecConfig::Aac(_) => None,
        };
        let clear = crate::media::mp4::init_segment(track)?;
        let clear_init = parse_init(&clear).map_err(CencError::Fmp4)?;
        Ok(Encryptor {
            track: track.clone(),
            protection: protection.clone(),
            cipher: Cipher::new(&protection.key),
            video,
            clear_init,
            rotating: false,
        })
    }

    /// For a track whose key changes over time (key rotation): [`Encryptor::init_segment`]
    /// writes [`ROTATION_DEFAULT_KID`] in `tenc` and no `pssh` (one init serves every key
    /// period); each media segment names this encryptor's KID (and constant IV) in a `seig`
    /// sample group and carries its `pssh` boxes in `moof`.
    pub fn rotating(mut self) -> Self {
        self.rotating = true;
        self
    }

    /// The `cbcs` pattern of this track (video 1:9, audio none).
    pub fn pattern(&self) -> Pattern {
        if self.video.is_some() {
            CBCS_VIDEO_PATTERN
        } else {
            CBCS_AUDIO_PATTERN
        }
    }

    /// The encrypted CMAF header: `encv`/`enca` with `sinf`, and the `pssh` boxes in `moov`.
    pub fn init_segment(&self) -> Result<Vec<u8>, CencError> {
        let (protection, pssh): (TrackProtection, &[Vec<u8>]) = if self.rotating {
            let p = TrackProtection {
                kid: ROTATION_DEFAULT_KID,
                pssh: Vec::new(),
                ..self.protection.clone()
            };
            (p, &[][..])
        } else {
            (self.protection.clone(), self.protection.pssh.as_slice())
        };
        let sinf = boxes::sinf(&self.track.codec, &protection, self.pattern())?;
        Ok(init_segment_with(
            &self.track,
            Some(InitProtection { sinf: &sinf, pssh }),
        )?)
    }

    /// The `cenc` IV of the sample decoded at `decode_time`: the seed (first 8 bytes of
    /// [`TrackProtection::iv`], big-endian) plus the decode time, modulo 2^64. Samples of
    /// one track have distinct decode times, so no IV repeats within a track; every edge
    /// computes the same one.
    pub fn sample_iv(&self, decode_time: u64) -> [u8; 8] {
        let mut seed = [0u8; 8];
        seed.copy_from_slice(&self.protection.iv[..8]);
        u64::from_be_bytes(seed)
            .wrapping_add(decode_time)
            .to_be_bytes()
    }

    /// Reads a clear media segment of this track as our fragment writer outputs it (one
    /// track; several fragments are joined into one) and writes it encrypted.
    pub fn encrypt_segment(&self, clear: &[u8]) -> Result<Vec<u8>, CencError> {
        let segment = parse_segment(clear, &self.clear_init).map_err(CencError::Fmp4)?;
        let sequence_number = segment.fragments.first().map_or(0, |f| f.sequence_number);
        let samples = segment
            .samples_of(&self.clear_init, TRACK_ID)
            .ok_or(CencError::Mux(MuxError::NoSamples))?;
        let infos = samples.sample_infos();
        let base = samples.base_media_decode_time().unwrap_or(0);
        let mut out = Vec::with_capacity(clear.len() + 64 + infos.len() * 32);
        // Our fragments hold their samples back to back in one mdat: use them in place.
        let contiguous = samples
            .samples
            .windows(2)
            .all(|w| w[0].range().end == w[1].offset);
        let span = samples.samples.first().zip(samples.samples.last());
        if let Some(data) = span
            .filter(|_| contiguous)
            .and_then(|(first, last)| samples.data.get(first.offset..last.range().end))
        {
            self.write_media_segment(&mut out, sequence_number, base, &infos, data)?;
        } else {
            let mut data = Vec::with_capacity(clear.len());
            samples.write_samples(0..samples.samples.len(), &mut data);
            self.write_media_segment(&mut out, sequence_number, base, &infos, &data)?;
        }
        Ok(out)
    }

    /// Appends an encrypted media segment (as [`crate::media::mp4::write_media_segment`]
    /// writes a clear one) for `samples`, whose bytes are `data` in order.
    pub fn write_media_segment(
        &self,
        out: &mut Vec<u8>,
        sequence_number: u32,
        base_media_decode_time: u64,
        samples: &[SampleInfo],
        data: &[u8],
    ) -> Result<(), CencError> {
        let declared: u64 = samples.iter().map(|s| u64::from(s.size)).sum();
        if declared != crate::media::reader::len_u64(data.len()) {
            return Err(CencError::Mux(MuxError::SampleSizeMismatch {
                declared,
                written: crate::media::reader::len_u64(data.len()),
            }));
        }
        let plan = self.plan(base_media_decode_time, samples, data)?;
        let seig = self
            .rotating
            .then(|| boxes::seig_entry(&self.protection, self.pattern()));
        let moof_pssh: &[Vec<u8>] = if self.rotating {
            self.protection.pssh.as_slice()
        } else {
            &[]
        };
        write_media_segment_with(
            out,
            sequence_number,
            base_media_decode_time,
            samples,
            Some(SampleEncryption {
                entries: &plan.entries,
                sizes: &plan.sizes,
                use_subsamples: self.video.is_some(),
                moof_pssh,
                seig: seig.as_deref(),
            }),
            |m| m.extend_from_slice(data),
        )?;
        let mdat_start = out.len() - data.len();
        self.encrypt_in_place(&mut out[mdat_start..], samples, &plan);
        Ok(())
    }

    /// Subsamples, IVs and the `senc` entries of a fragment's samples.
    fn plan(&self, base: u64, samples: &[SampleInfo], data: &[u8]) -> Result<Plan, CencError> {
        let mut plan = Plan {
            entries: Vec::with_capacity(samples.len() * 16),
            sizes: Vec::with_capacity(samples.len()),
            subsamples: Vec::new(),
            counts: Vec::with_capacity(samples.len()),
            ivs: Vec::with_capacity(samples.len()),
        };
        let (mut offset, mut decode_time) = (0usize, base);
        for (index, s) in samples.iter().enumerate() {
            let size = usize::try_from(s.size).unwrap_or(usize::MAX);
            let bytes = data
                .get(offset..offset.saturating_add(size))
                .ok_or(CencError::Sample {
                    index,
                    what: "beyond the sample data",
                })?;
            offset += size;
            let start = plan.entries.len();
            if self.protection.scheme == Scheme::Cenc {
                let iv = self.sample_iv(decode_time);
                plan.entries.extend_from_slice(&iv);
                plan.ivs.push(iv);
            }
            decode_time = decode_time.wrapping_add(u64::from(s.duration));
            if let Some(ctx) = &self.video {
                let first = plan.subsamples.len();
                subsample::video_subsamples(
                    ctx,
                    self.protection.scheme,
                    bytes,
                    index,
                    &mut plan.subsamples,
                )?;
                let subs = &plan.subsamples[first..];
                let count = u16::try_from(subs.len()).map_err(|_| CencError::Sample {
                    index,
                    what: "more than 65535 subsamples",
                })?;
                plan.entries.extend_from_slice(&count.to_be_bytes());
                for sub in subs {
                    plan.entries.extend_from_slice(&sub.clear.to_be_bytes());
                    plan.entries.extend_from_slice(&sub.protected.to_be_bytes());
                }
                plan.counts.push(subs.len());
            }
            let entry_size = plan.entries.len() - start;
            plan.sizes
                .push(u8::try_from(entry_size).map_err(|_| CencError::Sample {
                    index,
                    what: "auxiliary information over 255 bytes (more than 41 subsamples)",
                })?);
        }
        Ok(plan)
    }

    /// Encrypts the samples in `mdat` (their bytes in order) as `plan` describes.
    fn encrypt_in_place(&self, mdat: &mut [u8], samples: &[SampleInfo], plan: &Plan) {
        // The protected ranges of every sample, in mdat offsets; one CBC chain or one
        // contiguous stretch of a sample's CTR key stream each.
        let mut ranges = Vec::with_capacity(plan.subsamples.len().max(samples.len()));
        let mut sample_of = Vec::with_capacity(ranges.capacity());
        let mut subsamples = plan.subsamples.iter();
        let mut start = 0usize;
        for (index, s) in samples.iter().enumerate() {
            let size = usize::try_from(s.size).unwrap_or(usize::MAX);
            let end = start.saturating_add(size).min(mdat.len());
            match plan.counts.get(index) {
                // Audio: the whole sample.
                None => {
                    ranges.push(start..end);
                    sample_of.push(index);
                }
                Some(&count) => {
                    let mut pos = start;
                    for sub in subsamples.by_ref().take(count) {
                        pos += usize::from(sub.clear);
                        let protected = usize::try_from(sub.protected).unwrap_or(0);
                        if protected > 0 {
                            ranges.push(pos..(pos + protected).min(end));
                            sample_of.push(index);
                        }
                        pos += protected;
                    }
                }
            }
            start = end;
        }
        match self.protection.scheme {
            Scheme::Cbcs => {
                self.cipher
                    .cbc_pattern_chains(&self.protection.iv, self.pattern(), mdat, &ranges);
            }
            Scheme::Cenc => {
                // One key stream per sample, running on across its ranges.
                let mut current: Option<(usize, cipher::Ctr<'_>)> = None;
                for (range, &index) in ranges.iter().zip(&sample_of) {
                    if current.as_ref().is_none_or(|(i, _)| *i != index) {
                        let iv = plan.ivs.get(index).copied().unwrap_or_default();
                        current = Some((index, self.cipher.ctr(iv)));
                    }
                    if let (Some((_, ctr)), Some(bytes)) =
                        (&mut current, mdat.get_mut(range.clone()))
                    {
                        ctr.apply(bytes);
                    }
                }
            }
        }
    }
}

/// What encrypting one fragment takes, computed from the clear samples.
struct Plan {
    /// `senc` entries, concatenated.
    entries: Vec<u8>,
    /// `saiz` sizes.
    sizes: Vec<u8>,
    /// Every video sample's subsamples, concatenated; `counts` says how many each has.
    subsamples: Vec<Subsample>,
    counts: Vec<usize>,
    /// `cenc` per-sample IVs.
    ivs: Vec<[u8; 8]>,
}

/// A per-track IV from one configured IV and a label naming the track (say the rendition's
/// name and kind): the first 16 bytes of SHA-256(`iv` || `label`). Tracks that share a key
/// need different `cenc` IV seeds ([`TrackProtection::iv`]); this gives each its own, the same
/// on every edge.
pub fn derive_iv(iv: &[u8; 16], label: &[u8]) -> [u8; 16] {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(iv)
        .chain_update(label)
        .finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

/// The encrypted init segment of `track` (see [`Encryptor::init_segment`]).
pub fn init_segment(track: &Track, protection: &TrackProtection) -> Result<Vec<u8>, CencError> {
    Encryptor::new(track, protection)?.init_segment()
}

/// `clear`, a media segment of `track` as our muxers write it, encrypted (see
/// [`Encryptor::encrypt_segment`]).
pub fn encrypt_segment(
    track: &Track,
    protection: &TrackProtection,
    clear: &[u8],
) -> Result<Vec<u8>, CencError> {
    Encryptor::new(track, protection)?.encrypt_segment(clear)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ivs_differ_per_label_and_are_stable() {
        let iv = [7u8; 16];
        let a = derive_iv(&iv, b"video_1080p");
        assert_eq!(a, derive_iv(&iv, b"video_1080p"));
        assert_ne!(a, derive_iv(&iv, b"video_720p"));
        assert_ne!(a, derive_iv(&[8u8; 16], b"video_1080p"));
    }
}
