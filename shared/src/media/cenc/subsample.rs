//! Which bytes of a video sample are encrypted (ISO/IEC 23001-7 9.5.2 / 10.4.2 for `cbcs`,
//! 9.5.1 for `cenc`): a sample is split into subsamples, each a run of clear bytes followed
//! by a run of protected bytes.
//!
//! * Every NAL unit's length field, its NAL header and, for coded slices, the whole slice
//!   header stay clear; other NAL units (SEI, parameter sets, ...) are entirely clear.
//! * `cenc`: the protected run is a multiple of 16 bytes; the clear run takes the remainder.
//!   `cbcs`: the protected run is the rest of the NAL unit, not aligned; the cipher leaves a
//!   trailing partial block clear.
//! * A slice with fewer than 16 bytes after its header is left clear.
//! * A clear run longer than `BytesOfClearData` holds (65535) is split into subsamples with
//!   no protected bytes.

use super::{CencError, Scheme};
use crate::media::codec::{h264, h264_slice, hevc, hevc_slice, CodecError};
use crate::media::sample::DEFAULT_NAL_LENGTH_SIZE;

/// One subsample: `BytesOfClearData` then `BytesOfProtectedData` (ISO/IEC 23001-7 7.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subsample {
    pub clear: u16,
    pub protected: u32,
}

/// Protected runs shorter than one block are not worth encrypting (nothing would be in
/// `cbcs`, and `cenc` aligns them away).
const MIN_PROTECTED: usize = 16;

/// The decoder configuration a video track's slice headers are read with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VideoContext {
    Avc(h264_slice::SliceContext),
    Hevc(Box<hevc_slice::SliceContext>),
}

impl VideoContext {
    /// Where the clear head of `nal` ends: `Some(bytes)` for a coded slice (NAL and slice
    /// header), `None` for a NAL unit that stays entirely clear.
    fn clear_head(&self, nal: &[u8]) -> Result<Option<usize>, CodecError> {
        match self {
            VideoContext::Avc(ctx) => {
                if h264_slice::is_slice(h264::nal_unit_type(nal)) {
                    h264_slice::slice_header_len(nal, ctx).map(Some)
                } else {
                    Ok(None)
                }
            }
            VideoContext::Hevc(ctx) => {
                let t = hevc::nal_unit_type(nal);
                // Coded slice segment types of Table 7-1 (the reserved VCL types stay clear).
                if t <= 9 || (hevc::nal_type::BLA_W_LP..=21).contains(&t) {
                    hevc_slice::slice_header_len(nal, ctx).map(Some)
                } else {
                    Ok(None)
                }
            }
        }
    }
}

/// Appends `clear` bytes then `protected` bytes to `out`, splitting clear runs that do not
/// fit 16 bits.
fn push(out: &mut Vec<Subsample>, mut clear: usize, protected: u32) {
    while clear > usize::from(u16::MAX) {
        out.push(Subsample {
            clear: u16::MAX,
            protected: 0,
        });
        clear -= usize::from(u16::MAX);
    }
    out.push(Subsample {
        // Fits: reduced below 65536 above.
        clear: u16::try_from(clear).unwrap_or(u16::MAX),
        protected,
    });
}

/// The subsamples of one video sample (NAL units with 4-byte length fields, as our muxers
/// write them), appended to `out`; `index` names the sample in errors.
pub fn video_subsamples(
    ctx: &VideoContext,
    scheme: Scheme,
    sample: &[u8],
    index: usize,
    out: &mut Vec<Subsample>,
) -> Result<(), CencError> {
    let length_size = usize::from(DEFAULT_NAL_LENGTH_SIZE);
    let mut pos = 0;
    let mut clear = 0usize;
    while pos < sample.len() {
        let field = sample
            .get(pos..pos + length_size)
            .ok_or(CencError::Sample {
                index,
                what: "NAL unit length field cut short",
            })?;
        let len = field.iter().fold(0usize, |n, &b| (n << 8) | usize::from(b));
        let nal = sample
            .get(pos + length_size..)
            .and_then(|rest| rest.get(..len))
            .ok_or(CencError::Sample {
                index,
                what: "NAL unit longer than the sample",
            })?;
        pos += length_size + len;
        if len < MIN_PROTECTED + 1 {
            clear += length_size + len; // no header leaves a block to protect
            continue;
        }
        let head = ctx
            .clear_head(nal)
            .map_err(|error| CencError::SliceHeader { index, error })?;
        let Some(head) = head.filter(|&h| len >= h + MIN_PROTECTED) else {
            clear += length_size + len;
            continue;
        };
        let protectable = len - head;
        let protected = match scheme {
            Scheme::Cenc => protectable - protectable % 16,
            Scheme::Cbcs => protectable,
        };
        clear += length_size + len - protected;
        let protected = u32::try_from(protected).map_err(|_| CencError::Sample {
            index,
            what: "NAL unit larger than 4 GiB",
        })?;
        push(out, clear, protected);
        clear = 0;
    }
    if clear > 0 {
        push(out, clear, 0);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An HEVC context is heavy to build by hand; the H.264 one from x264's 320x180 SPS/PPS.
    fn avc() -> VideoContext {
        let sps = [
            0x67, 0x64, 0x00, 0x0D, 0xAC, 0xD9, 0x41, 0x41, 0x9F, 0x9F, 0x01, 0x10, 0x00, 0x00,
            0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0xC0, 0xF1, 0x42, 0x99, 0x60,
        ];
        let config = h264::AvcConfig::new(&sps, &[0x68, 0xEB, 0xE3, 0xCB, 0x22, 0xC0]).unwrap();
        VideoContext::Avc(h264_slice::SliceContext::new(&config).unwrap())
    }

    fn nal(bytes: &[u8]) -> Vec<u8> {
        let mut out = u32::try_from(bytes.len()).unwrap().to_be_bytes().to_vec();
        out.extend_from_slice(bytes);
        out
    }

    #[test]
    fn sei_is_clear_and_long_clear_runs_split() {
        let mut sample = nal(&[6; 70_000]); // SEI
        sample.extend(nal(&[6; 10]));
        let mut out = Vec::new();
        video_subsamples(&avc(), Scheme::Cenc, &sample, 0, &mut out).unwrap();
        assert_eq!(
            out,
            [
                Subsample {
                    clear: 65535,
                    protected: 0
                },
                Subsample {
                    clear: u16::try_from(sample.len() - 65535).unwrap(),
                    protected: 0
                }
            ]
        );
    }

    #[test]
    fn idr_slice_header_clear_and_alignment_per_scheme() {
        // IDR slice, I type, PPS 0: first_mb 0 (1), slice_type 7 (0001000), pps 0 (1),
        // frame_num, idr_pic_id 0, poc lsb, dec_ref_pic_marking 00, slice_qp_delta 0 ...
        let mut body = vec![0x65, 0x88, 0x84];
        body.extend((0..100u8).map(|i| i.wrapping_mul(37) | 1));
        let sample = nal(&body);
        for (scheme, aligned) in [(Scheme::Cenc, true), (Scheme::Cbcs, false)] {
            let mut out = Vec::new();
            video_subsamples(&avc(), scheme, &sample, 0, &mut out).unwrap();
            assert_eq!(out.len(), 1);
            let s = out[0];
            assert_eq!(usize::from(s.clear) + s.protected as usize, sample.len());
            assert!(
                s.clear >= 4 + 3,
                "length, NAL header and slice header clear"
            );
            if aligned {
                assert_eq!(s.protected % 16, 0);
            }
        }
    }

    #[test]
    fn damaged_samples_are_errors() {
        let mut out = Vec::new();
        for bad in [&[0, 0, 0][..], &[0, 0, 0, 9, 6][..]] {
            assert!(video_subsamples(&avc(), Scheme::Cbcs, bad, 3, &mut out).is_err());
        }
    }
}
