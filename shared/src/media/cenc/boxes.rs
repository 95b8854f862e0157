//! The protection boxes of an encrypted sample entry (ISO/IEC 14496-12 8.12, ISO/IEC 23001-7
//! 8): `sinf` holding `frma` (the original format), `schm` (the scheme) and `schi` with
//! `tenc` (the track's default key, IV and pattern); and the `seig` sample group entry that
//! names a fragment's key under key rotation.

use super::cipher::Pattern;
use super::{Scheme, TrackProtection, CENC_IV_SIZE};
use crate::media::mp4::writer::BoxWriter;
use crate::media::mp4::{CodecConfig, MuxError};

/// `scheme_version` of `schm` for both schemes (ISO/IEC 23001-7 4.2: 0x00010000).
const SCHEME_VERSION: u32 = 0x0001_0000;

/// The sample entry type of a clear track, kept in `frma` (14496-12 8.12.2).
pub fn original_format(codec: &CodecConfig) -> &'static [u8; 4] {
    match codec {
        CodecConfig::Avc(_) => b"avc1",
        CodecConfig::Hevc(_) => b"hvc1",
        CodecConfig::Aac(_) => b"mp4a",
    }
}

/// `sinf` (14496-12 8.12.1) for a track of `codec` protected by `p` with `pattern` (cbcs).
pub fn sinf(
    codec: &CodecConfig,
    p: &TrackProtection,
    pattern: Pattern,
) -> Result<Vec<u8>, MuxError> {
    let mut out = Vec::with_capacity(80);
    let mut w = BoxWriter::new(&mut out);
    w.boxed(b"sinf", |w| {
        // frma (8.12.2): data_format.
        w.boxed(b"frma", |w| {
            w.bytes(original_format(codec));
            Ok(())
        })?;
        // schm (8.12.5): scheme_type, scheme_version; no URI.
        w.full_box(b"schm", 0, 0, |w| {
            w.bytes(&p.scheme.scheme_type());
            w.u32(SCHEME_VERSION);
            Ok(())
        })?;
        w.boxed(b"schi", |w| write_tenc(w, p, pattern))
    })?;
    Ok(out)
}

/// `tenc` (ISO/IEC 23001-7 8.2): version 0 for `cenc` (8-byte per-sample IVs), version 1 for
/// `cbcs` with the pattern and the 16-byte constant IV.
fn write_tenc(
    w: &mut BoxWriter<'_>,
    p: &TrackProtection,
    pattern: Pattern,
) -> Result<(), MuxError> {
    let version = match p.scheme {
        Scheme::Cenc => 0,
        Scheme::Cbcs => 1,
    };
    w.full_box(b"tenc", version, 0, |w| {
        w.u8(0); // reserved
        match p.scheme {
            Scheme::Cenc => w.u8(0), // reserved
            // default_crypt_byte_block (4 bits), default_skip_byte_block (4 bits)
            Scheme::Cbcs => w.u8((pattern.crypt << 4) | (pattern.skip & 0x0F)),
        }
        w.u8(1); // default_isProtected
        match p.scheme {
            Scheme::Cenc => {
                w.u8(CENC_IV_SIZE); // default_Per_Sample_IV_Size
                w.bytes(&p.kid); // default_KID
            }
            Scheme::Cbcs => {
                w.u8(0); // default_Per_Sample_IV_Size: constant IV
                w.bytes(&p.kid);
                w.u8(16); // default_constant_IV_size
                w.bytes(&p.iv); // default_constant_IV
            }
        }
        Ok(())
    })
}

/// A `CencSampleEncryptionInformationGroupEntry` (ISO/IEC 23001-7 6, grouping type `seig`):
/// the fields of `tenc` for the samples of one fragment, so that a fragment names its own key
/// (key rotation). 20 bytes for `cenc`, 37 for `cbcs` (with the constant IV).
pub fn seig_entry(p: &TrackProtection, pattern: Pattern) -> Vec<u8> {
    let mut out = Vec::with_capacity(37);
    out.push(0); // reserved
    out.push(match p.scheme {
        Scheme::Cenc => 0,
        // crypt_byte_block (4 bits), skip_byte_block (4 bits)
        Scheme::Cbcs => (pattern.crypt << 4) | (pattern.skip & 0x0F),
    });
    out.push(1); // isProtected
    match p.scheme {
        Scheme::Cenc => {
            out.push(CENC_IV_SIZE); // Per_Sample_IV_Size
            out.extend_from_slice(&p.kid);
        }
        Scheme::Cbcs => {
            out.push(0); // Per_Sample_IV_Size: constant IV
            out.extend_from_slice(&p.kid);
            out.push(16); // constant_IV_size
            out.extend_from_slice(&p.iv);
        }
    }
    out
}
