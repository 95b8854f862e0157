//! H.265 sequence parameter set (ITU-T H.265 7.3.2.2, profile_tier_level 7.3.3) and the HEVC
//! decoder configuration record `hvcC` (ISO/IEC 14496-15 8.3.3.1).

use super::bits::{rbsp, BitReader};
use super::CodecError;

/// `nal_unit_type` values (ITU-T H.265 Table 7-1).
pub mod nal_type {
    /// BLA_W_LP: first IRAP type; IRAP pictures are 16..=23.
    pub const BLA_W_LP: u8 = 16;
    pub const RSV_IRAP_VCL23: u8 = 23;
    pub const VPS: u8 = 32;
    pub const SPS: u8 = 33;
    pub const PPS: u8 = 34;
    pub const AUD: u8 = 35;
    pub const EOS: u8 = 36;
    pub const EOB: u8 = 37;
    pub const FD: u8 = 38;
}

/// `nal_unit_type` of an H.265 NAL unit (first 6 bits after forbidden_zero_bit).
pub fn nal_unit_type(nal: &[u8]) -> u8 {
    nal.first().map_or(0xFF, |b| (b >> 1) & 0x3F)
}

/// IRAP pictures are the sync samples of `hvc1` tracks (ISO/IEC 14496-15 8.4.1).
pub fn is_irap(nal_type: u8) -> bool {
    (nal_type::BLA_W_LP..=nal_type::RSV_IRAP_VCL23).contains(&nal_type)
}

/// Parameter sets live in `hvcC`; delimiters and filler data are dropped.
pub fn keep_in_sample(nal_type: u8) -> bool {
    !matches!(
        nal_type,
        nal_type::VPS
            | nal_type::SPS
            | nal_type::PPS
            | nal_type::AUD
            | nal_type::EOS
            | nal_type::EOB
            | nal_type::FD
    )
}

/// The fields of an H.265 SPS that `hvcC` and manifests need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HevcSps {
    pub sps_max_sub_layers_minus1: u8,
    pub sps_temporal_id_nesting_flag: bool,
    pub general_profile_space: u8,
    pub general_tier_flag: bool,
    pub general_profile_idc: u8,
    pub general_profile_compatibility_flags: u32,
    /// The 48 bits from general_progressive_source_flag on.
    pub general_constraint_indicator_flags: [u8; 6],
    pub general_level_idc: u8,
    pub chroma_format_idc: u8,
    pub bit_depth_luma_minus8: u8,
    pub bit_depth_chroma_minus8: u8,
    pub width: u32,
    pub height: u32,
}

fn small(v: u32, max: u32, what: &'static str) -> Result<u8, CodecError> {
    u8::try_from(v)
        .ok()
        .filter(|&v| u32::from(v) <= max)
        .ok_or(CodecError::Malformed { what })
}

/// Parses an H.265 SPS NAL unit (with its two-byte NAL header).
pub fn parse_sps(nal: &[u8]) -> Result<HevcSps, CodecError> {
    if nal_unit_type(nal) != nal_type::SPS {
        return Err(CodecError::Malformed {
            what: "H.265 SPS nal_unit_type",
        });
    }
    let data = rbsp(nal.get(2..).unwrap_or(&[]));
    let mut r = BitReader::new(&data, "H.265 SPS");
    read_sps(&mut r).map(|head| head.sps)
}

/// An SPS read up to the bit depths, with the reader left there.
pub(super) struct SpsHead {
    pub sps: HevcSps,
    pub separate_colour_plane_flag: bool,
    /// Uncropped picture size (pic_width/height_in_luma_samples).
    pub pic_width_in_luma_samples: u64,
    pub pic_height_in_luma_samples: u64,
}

/// Reads an SPS RBSP (after the NAL header) up to bit_depth_chroma_minus8.
pub(super) fn read_sps(r: &mut BitReader<'_>) -> Result<SpsHead, CodecError> {
    let _sps_video_parameter_set_id = r.bits(4)?;
    let sps_max_sub_layers_minus1 = small(r.bits(3)?, 6, "sps_max_sub_layers_minus1")?;
    let sps_temporal_id_nesting_flag = r.flag()?;
    // profile_tier_level(1, sps_max_sub_layers_minus1), 7.3.3.
    let general_profile_space = small(r.bits(2)?, 3, "general_profile_space")?;
    let general_tier_flag = r.flag()?;
    let general_profile_idc = small(r.bits(5)?, 31, "general_profile_idc")?;
    let general_profile_compatibility_flags = r.bits(32)?;
    let mut general_constraint_indicator_flags = [0u8; 6];
    for b in &mut general_constraint_indicator_flags {
        *b = r.byte()?;
    }
    let general_level_idc = r.byte()?;
    let sub_layers = usize::from(sps_max_sub_layers_minus1);
    let mut present = [(false, false); 8];
    for p in present.iter_mut().take(sub_layers) {
        *p = (r.flag()?, r.flag()?);
    }
    if sub_layers > 0 {
        r.skip(2 * (8 - sub_layers))?; // reserved_zero_2bits
    }
    for &(profile_present, level_present) in present.iter().take(sub_layers) {
        if profile_present {
            r.skip(88)?;
        }
        if level_present {
            r.skip(8)?;
        }
    }
    let _sps_seq_parameter_set_id = r.ue()?;
    let chroma_format_idc = small(r.ue()?, 3, "chroma_format_idc")?;
    let separate_colour_plane_flag = chroma_format_idc == 3 && r.flag()?;
    let pic_width_in_luma_samples = u64::from(r.ue()?);
    let pic_height_in_luma_samples = u64::from(r.ue()?);
    let mut window = [0u64; 4];
    if r.flag()? {
        for w in &mut window {
            *w = u64::from(r.ue()?);
        }
    }
    let bit_depth_luma_minus8 = small(r.ue()?, 8, "bit_depth_luma_minus8")?;
    let bit_depth_chroma_minus8 = small(r.ue()?, 8, "bit_depth_chroma_minus8")?;
    // Table 6-1: SubWidthC/SubHeightC; ChromaArrayType 0 uses 1.
    let (sub_width_c, sub_height_c) = match (chroma_format_idc, separate_colour_plane_flag) {
        (1, _) => (2, 2),
        (2, _) => (2, 1),
        _ => (1, 1),
    };
    let dimension = |full: u64, a: u64, b: u64, unit: u64| {
        full.checked_sub(unit * (a + b))
            .and_then(|v| u32::try_from(v).ok())
            .filter(|&v| v > 0 && v <= u32::from(u16::MAX))
            .ok_or(CodecError::Malformed {
                what: "H.265 SPS picture size",
            })
    };
    let sps = HevcSps {
        sps_max_sub_layers_minus1,
        sps_temporal_id_nesting_flag,
        general_profile_space,
        general_tier_flag,
        general_profile_idc,
        general_profile_compatibility_flags,
        general_constraint_indicator_flags,
        general_level_idc,
        chroma_format_idc,
        bit_depth_luma_minus8,
        bit_depth_chroma_minus8,
        width: dimension(pic_width_in_luma_samples, window[0], window[1], sub_width_c)?,
        height: dimension(
            pic_height_in_luma_samples,
            window[2],
            window[3],
            sub_height_c,
        )?,
    };
    Ok(SpsHead {
        sps,
        separate_colour_plane_flag,
        pic_width_in_luma_samples,
        pic_height_in_luma_samples,
    })
}

/// Everything an `hvc1` sample entry needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HevcConfig {
    pub sps: HevcSps,
    pub width: u32,
    pub height: u32,
    pub vps_nal: Vec<u8>,
    pub sps_nal: Vec<u8>,
    pub pps_nal: Vec<u8>,
}

impl HevcConfig {
    pub fn new(vps_nal: &[u8], sps_nal: &[u8], pps_nal: &[u8]) -> Result<Self, CodecError> {
        if nal_unit_type(vps_nal) != nal_type::VPS || nal_unit_type(pps_nal) != nal_type::PPS {
            return Err(CodecError::Malformed {
                what: "H.265 VPS/PPS nal_unit_type",
            });
        }
        let sps = parse_sps(sps_nal)?;
        Ok(HevcConfig {
            width: sps.width,
            height: sps.height,
            sps,
            vps_nal: vps_nal.to_vec(),
            sps_nal: sps_nal.to_vec(),
            pps_nal: pps_nal.to_vec(),
        })
    }

    /// RFC 6381 `codecs` value per ISO/IEC 14496-15 E.3, e.g. `hvc1.1.6.L60.B0`.
    pub fn codec_string(&self) -> String {
        let s = &self.sps;
        let space = ["", "A", "B", "C"]
            .get(usize::from(s.general_profile_space))
            .copied()
            .unwrap_or("");
        let tier = if s.general_tier_flag { 'H' } else { 'L' };
        let mut out = format!(
            "hvc1.{space}{}.{:X}.{tier}{}",
            s.general_profile_idc,
            s.general_profile_compatibility_flags.reverse_bits(),
            s.general_level_idc
        );
        let flags = &s.general_constraint_indicator_flags;
        let used = flags.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        for b in &flags[..used] {
            out.push_str(&format!(".{b:X}"));
        }
        out
    }

    /// The HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 8.3.3.1.2), 4-byte NAL lengths,
    /// one complete array each of VPS, SPS and PPS.
    pub fn decoder_configuration_record(&self) -> Result<Vec<u8>, CodecError> {
        let s = &self.sps;
        let mut out = Vec::with_capacity(64 + self.sps_nal.len());
        out.push(1); // configurationVersion
        out.push(
            (s.general_profile_space << 6)
                | (u8::from(s.general_tier_flag) << 5)
                | s.general_profile_idc,
        );
        out.extend_from_slice(&s.general_profile_compatibility_flags.to_be_bytes());
        out.extend_from_slice(&s.general_constraint_indicator_flags);
        out.push(s.general_level_idc);
        out.extend_from_slice(&0xF000u16.to_be_bytes()); // min_spatial_segmentation_idc 0
        out.push(0xFC); // parallelismType 0 (unknown)
        out.push(0xFC | s.chroma_format_idc);
        out.push(0xF8 | (s.bit_depth_luma_minus8 & 0x7));
        out.push(0xF8 | (s.bit_depth_chroma_minus8 & 0x7));
        out.extend_from_slice(&0u16.to_be_bytes()); // avgFrameRate unknown
                                                    // constantFrameRate 0, numTemporalLayers, temporalIdNested, lengthSizeMinusOne 3.
        out.push(
            ((s.sps_max_sub_layers_minus1 + 1) << 3)
                | (u8::from(s.sps_temporal_id_nesting_flag) << 2)
                | 3,
        );
        out.push(3); // numOfArrays
        for (nal_type, nal) in [
            (nal_type::VPS, &self.vps_nal),
            (nal_type::SPS, &self.sps_nal),
            (nal_type::PPS, &self.pps_nal),
        ] {
            let len = u16::try_from(nal.len()).map_err(|_| CodecError::Unsupported {
                what: "parameter set longer than 65535 bytes",
            })?;
            out.push(0x80 | nal_type); // array_completeness 1
            out.extend_from_slice(&1u16.to_be_bytes()); // numNalus
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(nal);
        }
        Ok(out)
    }
}

/// Bytes of an HEVCDecoderConfigurationRecord before `numOfArrays` (ISO/IEC 14496-15
/// 8.3.3.1.2): general profile, tier and level, chroma format, bit depths, frame rate.
const HVCC_FIXED_FIELDS: usize = 22;

impl HevcConfig {
    /// Reads an HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 8.3.3.1.2, the body of
    /// `hvcC`): the configuration from its first VPS, SPS and PPS, and the size in bytes of
    /// the NAL unit length fields in the samples (`lengthSizeMinusOne` + 1: 1, 2 or 4).
    pub fn from_decoder_configuration_record(record: &[u8]) -> Result<(Self, u8), CodecError> {
        let truncated = |_| CodecError::Truncated { what: "hvcC" };
        let mut r = crate::media::reader::Reader::new(record);
        let fixed = r.take(HVCC_FIXED_FIELDS).map_err(truncated)?;
        if fixed[0] != super::h264::CONFIGURATION_VERSION {
            return Err(CodecError::Unsupported {
                what: "hvcC configurationVersion other than 1",
            });
        }
        let nal_length_size = (fixed[HVCC_FIXED_FIELDS - 1] & 0x3) + 1;
        if nal_length_size == 3 {
            return Err(CodecError::Malformed {
                what: "hvcC lengthSizeMinusOne 2",
            });
        }
        let (mut vps, mut sps, mut pps) = (None, None, None);
        let num_of_arrays = r.u8().map_err(truncated)?;
        for _ in 0..num_of_arrays {
            let nal_unit_type = r.u8().map_err(truncated)? & 0x3F;
            let num_nalus = r.u16().map_err(truncated)?;
            for _ in 0..num_nalus {
                let len = r.u16().map_err(truncated)?;
                let nal = r.take(usize::from(len)).map_err(truncated)?;
                let slot = match nal_unit_type {
                    nal_type::VPS => &mut vps,
                    nal_type::SPS => &mut sps,
                    nal_type::PPS => &mut pps,
                    _ => continue, // SEI arrays and others
                };
                slot.get_or_insert(nal);
            }
        }
        match (vps, sps, pps) {
            (Some(vps), Some(sps), Some(pps)) => {
                Ok((HevcConfig::new(vps, sps, pps)?, nal_length_size))
            }
            _ => Err(CodecError::Unsupported {
                what: "hvcC without VPS, SPS and PPS (parameter sets only in band)",
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// x265's SPS for 320x180 Main@L2 (from the h265_aac.ts fixture).
    const SPS: &[u8] = &[
        0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00,
        0x03, 0x00, 0x3C, 0xA0, 0x0A, 0x08, 0x0B, 0x9F, 0x79, 0x65, 0x64, 0x92, 0x4C, 0xAF, 0x01,
        0x68, 0x08, 0x00, 0x00, 0x03, 0x00, 0x08, 0x00, 0x00, 0x03, 0x00, 0xF0, 0x40,
    ];

    #[test]
    fn sps_320x180_main() {
        let sps = parse_sps(SPS).unwrap();
        assert_eq!(sps.general_profile_idc, 1);
        assert_eq!(sps.general_level_idc, 60);
        assert_eq!((sps.width, sps.height), (320, 180));
        let cfg = HevcConfig::new(&[0x40, 0x01, 0x0C], SPS, &[0x44, 0x01, 0xC1]).unwrap();
        assert_eq!(cfg.codec_string(), "hvc1.1.6.L60.90");
        let rec = cfg.decoder_configuration_record().unwrap();
        assert_eq!(rec[0], 1);
        assert_eq!(rec[22], 3);
    }

    #[test]
    fn truncated_sps() {
        for n in 0..20 {
            assert!(parse_sps(&SPS[..n]).is_err(), "{n}");
        }
    }
}
