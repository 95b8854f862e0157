//! H.264 sequence parameter set (ITU-T H.264 7.3.2.1.1) and the AVC decoder configuration
//! record `avcC` (ISO/IEC 14496-15 5.3.3.1).

use super::bits::{rbsp, BitReader};
use super::CodecError;

/// `nal_unit_type` values (ITU-T H.264 Table 7-1).
pub mod nal_type {
    pub const NON_IDR_SLICE: u8 = 1;
    pub const IDR_SLICE: u8 = 5;
    pub const SEI: u8 = 6;
    pub const SPS: u8 = 7;
    pub const PPS: u8 = 8;
    pub const AUD: u8 = 9;
    pub const END_OF_SEQUENCE: u8 = 10;
    pub const END_OF_STREAM: u8 = 11;
    pub const FILLER: u8 = 12;
}

/// `nal_unit_type` of an H.264 NAL unit.
pub fn nal_unit_type(nal: &[u8]) -> u8 {
    nal.first().map_or(0, |b| b & 0x1F)
}

/// NAL units that do not go into `avc1` samples: parameter sets live in `avcC`, access unit
/// delimiters and filler data are dropped (ISO/IEC 14496-15 5.3.2).
pub fn keep_in_sample(nal_type: u8) -> bool {
    !matches!(
        nal_type,
        nal_type::SPS
            | nal_type::PPS
            | nal_type::AUD
            | nal_type::END_OF_SEQUENCE
            | nal_type::END_OF_STREAM
            | nal_type::FILLER
    )
}

/// The fields of a sequence parameter set that the packager uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sps {
    pub profile_idc: u8,
    /// The byte holding constraint_set0..5_flags and reserved_zero_2bits.
    pub constraint_flags: u8,
    pub level_idc: u8,
    pub chroma_format_idc: u32,
    pub bit_depth_luma_minus8: u32,
    pub bit_depth_chroma_minus8: u32,
    /// Cropped picture size in luma samples.
    pub width: u32,
    pub height: u32,
    /// What a slice header's length depends on (7.3.3): see [`SliceSps`].
    pub slice: SliceSps,
}

/// The SPS fields that decide the syntax of a slice header (ITU-T H.264 7.3.3), for finding
/// where slice data starts ([`super::h264_slice`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SliceSps {
    pub separate_colour_plane_flag: bool,
    pub log2_max_frame_num_minus4: u32,
    pub pic_order_cnt_type: u32,
    pub log2_max_pic_order_cnt_lsb_minus4: u32,
    pub delta_pic_order_always_zero_flag: bool,
    pub frame_mbs_only_flag: bool,
    /// ChromaArrayType (7.4.2.1.1): 0 when colour planes are coded separately.
    pub chroma_array_type: u32,
    /// PicWidthInMbs * PicHeightInMapUnits (7-13, 7-16): the slice group change cycle's range.
    pub pic_size_in_map_units: u64,
}

/// Profiles whose SPS carries chroma_format_idc and friends (7.3.2.1.1).
fn has_chroma_info(profile_idc: u8) -> bool {
    matches!(
        profile_idc,
        100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135
    )
}

fn skip_scaling_list(r: &mut BitReader<'_>, size: usize) -> Result<(), CodecError> {
    let (mut last_scale, mut next_scale) = (8i32, 8i32);
    for _ in 0..size {
        if next_scale != 0 {
            let delta_scale = r.se()?;
            if !(-128..=127).contains(&delta_scale) {
                return Err(CodecError::Malformed {
                    what: "SPS delta_scale",
                });
            }
            next_scale = (last_scale + delta_scale + 256) % 256;
        }
        if next_scale != 0 {
            last_scale = next_scale;
        }
    }
    Ok(())
}

/// Parses a sequence parameter set NAL unit (with its one-byte NAL header).
pub fn parse_sps(nal: &[u8]) -> Result<Sps, CodecError> {
    if nal_unit_type(nal) != nal_type::SPS {
        return Err(CodecError::Malformed {
            what: "SPS nal_unit_type",
        });
    }
    let data = rbsp(nal.get(1..).unwrap_or(&[]));
    let mut r = BitReader::new(&data, "H.264 SPS");
    let profile_idc = r.byte()?;
    let constraint_flags = r.byte()?;
    let level_idc = r.byte()?;
    let _seq_parameter_set_id = r.ue()?;
    let (mut chroma_format_idc, mut separate_colour_plane_flag) = (1, false);
    let (mut bit_depth_luma_minus8, mut bit_depth_chroma_minus8) = (0, 0);
    if has_chroma_info(profile_idc) {
        chroma_format_idc = r.ue()?;
        if chroma_format_idc > 3 {
            return Err(CodecError::Malformed {
                what: "SPS chroma_format_idc",
            });
        }
        if chroma_format_idc == 3 {
            separate_colour_plane_flag = r.flag()?;
        }
        bit_depth_luma_minus8 = r.ue()?;
        bit_depth_chroma_minus8 = r.ue()?;
        if bit_depth_luma_minus8 > 6 || bit_depth_chroma_minus8 > 6 {
            return Err(CodecError::Malformed {
                what: "SPS bit_depth",
            });
        }
        let _qpprime_y_zero_transform_bypass_flag = r.flag()?;
        if r.flag()? {
            // seq_scaling_matrix_present_flag
            let lists = if chroma_format_idc != 3 { 8 } else { 12 };
            for i in 0..lists {
                if r.flag()? {
                    skip_scaling_list(&mut r, if i < 6 { 16 } else { 64 })?;
                }
            }
        }
    }
    let log2_max_frame_num_minus4 = r.ue()?;
    let pic_order_cnt_type = r.ue()?;
    let (mut log2_max_pic_order_cnt_lsb_minus4, mut delta_pic_order_always_zero_flag) = (0, false);
    match pic_order_cnt_type {
        0 => {
            log2_max_pic_order_cnt_lsb_minus4 = r.ue()?;
        }
        1 => {
            delta_pic_order_always_zero_flag = r.flag()?;
            let _offset_for_non_ref_pic = r.se()?;
            let _offset_for_top_to_bottom_field = r.se()?;
            let num_ref_frames_in_pic_order_cnt_cycle = r.ue()?;
            if num_ref_frames_in_pic_order_cnt_cycle > 255 {
                return Err(CodecError::Malformed {
                    what: "SPS num_ref_frames_in_pic_order_cnt_cycle",
                });
            }
            for _ in 0..num_ref_frames_in_pic_order_cnt_cycle {
                r.se()?;
            }
        }
        2 => {}
        _ => {
            return Err(CodecError::Malformed {
                what: "SPS pic_order_cnt_type",
            })
        }
    }
    let _max_num_ref_frames = r.ue()?;
    let _gaps_in_frame_num_value_allowed_flag = r.flag()?;
    let pic_width_in_mbs_minus1 = u64::from(r.ue()?);
    let pic_height_in_map_units_minus1 = u64::from(r.ue()?);
    let frame_mbs_only_flag = r.flag()?;
    if !frame_mbs_only_flag {
        let _mb_adaptive_frame_field_flag = r.flag()?;
    }
    let _direct_8x8_inference_flag = r.flag()?;
    let mut crop = [0u64; 4];
    if r.flag()? {
        for c in &mut crop {
            *c = u64::from(r.ue()?);
        }
    }
    // 7.4.2.1.1: CropUnitX/Y from ChromaArrayType, SubWidthC and SubHeightC (Table 6-1).
    let chroma_array_type = if separate_colour_plane_flag {
        0
    } else {
        chroma_format_idc
    };
    let frame_height_factor = if frame_mbs_only_flag { 1 } else { 2 };
    let (crop_unit_x, crop_unit_y) = match chroma_array_type {
        0 => (1, frame_height_factor),
        1 => (2, 2 * frame_height_factor),
        2 => (2, frame_height_factor),
        _ => (1, frame_height_factor),
    };
    let width = (pic_width_in_mbs_minus1 + 1) * 16;
    let height = frame_height_factor * (pic_height_in_map_units_minus1 + 1) * 16;
    let width = width.checked_sub(crop_unit_x * (crop[0] + crop[1]));
    let height = height.checked_sub(crop_unit_y * (crop[2] + crop[3]));
    if log2_max_frame_num_minus4 > 12 || log2_max_pic_order_cnt_lsb_minus4 > 12 {
        return Err(CodecError::Malformed {
            what: "SPS log2_max_frame_num or log2_max_pic_order_cnt_lsb",
        });
    }
    let slice = SliceSps {
        separate_colour_plane_flag,
        log2_max_frame_num_minus4,
        pic_order_cnt_type,
        log2_max_pic_order_cnt_lsb_minus4,
        delta_pic_order_always_zero_flag,
        frame_mbs_only_flag,
        chroma_array_type,
        pic_size_in_map_units: (pic_width_in_mbs_minus1 + 1) * (pic_height_in_map_units_minus1 + 1),
    };
    let dimension = |v: Option<u64>| {
        v.and_then(|v| u32::try_from(v).ok())
            .filter(|&v| v > 0 && v <= u32::from(u16::MAX))
            .ok_or(CodecError::Malformed {
                what: "SPS picture size",
            })
    };
    Ok(Sps {
        profile_idc,
        constraint_flags,
        level_idc,
        chroma_format_idc,
        bit_depth_luma_minus8,
        bit_depth_chroma_minus8,
        width: dimension(width)?,
        height: dimension(height)?,
        slice,
    })
}

/// Everything an `avc1` sample entry needs: parsed SPS plus the raw parameter sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvcConfig {
    pub sps: Sps,
    pub sps_nal: Vec<u8>,
    pub pps_nal: Vec<u8>,
}

impl AvcConfig {
    pub fn new(sps_nal: &[u8], pps_nal: &[u8]) -> Result<Self, CodecError> {
        if nal_unit_type(pps_nal) != nal_type::PPS {
            return Err(CodecError::Malformed {
                what: "PPS nal_unit_type",
            });
        }
        Ok(AvcConfig {
            sps: parse_sps(sps_nal)?,
            sps_nal: sps_nal.to_vec(),
            pps_nal: pps_nal.to_vec(),
        })
    }

    /// RFC 6381 3.3 `codecs` value, e.g. `avc1.64001f`.
    pub fn codec_string(&self) -> String {
        format!(
            "avc1.{:02x}{:02x}{:02x}",
            self.sps.profile_idc, self.sps.constraint_flags, self.sps.level_idc
        )
    }

    /// The AVCDecoderConfigurationRecord (ISO/IEC 14496-15 5.3.3.1.2) with 4-byte NAL lengths.
    pub fn decoder_configuration_record(&self) -> Result<Vec<u8>, CodecError> {
        let too_long = CodecError::Unsupported {
            what: "parameter set longer than 65535 bytes",
        };
        let sps_len = u16::try_from(self.sps_nal.len()).map_err(|_| too_long.clone())?;
        let pps_len = u16::try_from(self.pps_nal.len()).map_err(|_| too_long)?;
        let mut out = Vec::with_capacity(16 + self.sps_nal.len() + self.pps_nal.len());
        out.extend_from_slice(&[
            1, // configurationVersion
            self.sps.profile_idc,
            self.sps.constraint_flags,
            self.sps.level_idc,
            0xFC | 3, // reserved, lengthSizeMinusOne = 3
            0xE0 | 1, // reserved, numOfSequenceParameterSets = 1
        ]);
        out.extend_from_slice(&sps_len.to_be_bytes());
        out.extend_from_slice(&self.sps_nal);
        out.push(1); // numOfPictureParameterSets
        out.extend_from_slice(&pps_len.to_be_bytes());
        out.extend_from_slice(&self.pps_nal);
        if matches!(self.sps.profile_idc, 100 | 110 | 122 | 144) {
            // Chroma and bit-depth extension; the values were range-checked in parse_sps.
            let low_bits = |v: u32, mask: u8| u8::try_from(v).map_or(0, |v| v & mask);
            out.extend_from_slice(&[
                0xFC | low_bits(self.sps.chroma_format_idc, 0x3),
                0xF8 | low_bits(self.sps.bit_depth_luma_minus8, 0x7),
                0xF8 | low_bits(self.sps.bit_depth_chroma_minus8, 0x7),
                0, // numOfSequenceParameterSetExt
            ]);
        }
        Ok(out)
    }
}

/// Reads `count` parameter sets (16-bit length, NAL unit) of an `avcC`; returns the first.
fn first_parameter_set<'a>(
    r: &mut crate::media::reader::Reader<'a>,
    count: u8,
) -> Result<Option<&'a [u8]>, CodecError> {
    let truncated = |_| CodecError::Truncated { what: "avcC" };
    let mut first = None;
    for _ in 0..count {
        let len = r.u16().map_err(truncated)?;
        let nal = r.take(usize::from(len)).map_err(truncated)?;
        first.get_or_insert(nal);
    }
    Ok(first)
}

/// `configurationVersion` of the decoder configuration records we read (ISO/IEC 14496-15
/// 5.3.3.1.2, 8.3.3.1.2).
pub const CONFIGURATION_VERSION: u8 = 1;

impl AvcConfig {
    /// Reads an AVCDecoderConfigurationRecord (ISO/IEC 14496-15 5.3.3.1.2, the body of
    /// `avcC`): the configuration from its first SPS and PPS, and the size in bytes of the
    /// NAL unit length fields in the samples (`lengthSizeMinusOne` + 1: 1, 2 or 4).
    pub fn from_decoder_configuration_record(record: &[u8]) -> Result<(Self, u8), CodecError> {
        let truncated = |_| CodecError::Truncated { what: "avcC" };
        let mut r = crate::media::reader::Reader::new(record);
        if r.u8().map_err(truncated)? != CONFIGURATION_VERSION {
            return Err(CodecError::Unsupported {
                what: "avcC configurationVersion other than 1",
            });
        }
        r.skip(3).map_err(truncated)?; // profile, compatibility, level: the SPS has them
        let nal_length_size = (r.u8().map_err(truncated)? & 0x3) + 1;
        if nal_length_size == 3 {
            return Err(CodecError::Malformed {
                what: "avcC lengthSizeMinusOne 2",
            });
        }
        let num_of_sequence_parameter_sets = r.u8().map_err(truncated)? & 0x1F;
        let sps = first_parameter_set(&mut r, num_of_sequence_parameter_sets)?;
        let num_of_picture_parameter_sets = r.u8().map_err(truncated)?;
        let pps = first_parameter_set(&mut r, num_of_picture_parameter_sets)?;
        // The chroma and bit-depth extension of high profiles may follow; the SPS has it.
        match (sps, pps) {
            (Some(sps), Some(pps)) => Ok((AvcConfig::new(sps, pps)?, nal_length_size)),
            _ => Err(CodecError::Unsupported {
                what: "avcC without SPS and PPS (parameter sets only in band)",
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// x264's SPS for 320x180 High@1.3 (from the fixture).
    const SPS_320X180: [u8; 26] = [
        0x67, 0x64, 0x00, 0x0D, 0xAC, 0xD9, 0x41, 0x41, 0x9F, 0x9F, 0x01, 0x10, 0x00, 0x00, 0x03,
        0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0xC0, 0xF1, 0x42, 0x99, 0x60,
    ];

    #[test]
    fn sps_320x180_high() {
        let sps = parse_sps(&SPS_320X180).unwrap();
        assert_eq!(sps.profile_idc, 100);
        assert_eq!(sps.level_idc, 13);
        assert_eq!((sps.width, sps.height), (320, 180));
        let cfg = AvcConfig::new(&SPS_320X180, &[0x68, 0xEF, 0x8F, 0xCB]).unwrap();
        assert_eq!(cfg.codec_string(), "avc1.64000d");
        let rec = cfg.decoder_configuration_record().unwrap();
        assert_eq!(&rec[..6], &[1, 0x64, 0, 0x0D, 0xFF, 0xE1]);
        assert_eq!(rec.len(), 6 + 2 + 26 + 1 + 2 + 4 + 4);
    }

    #[test]
    fn truncated_sps_is_an_error() {
        // The fields we read end inside byte 10; the VUI after them is not parsed.
        for n in 0..9 {
            assert!(parse_sps(&SPS_320X180[..n]).is_err(), "{n}");
        }
    }
}
