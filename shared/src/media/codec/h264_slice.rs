//! Where an H.264 slice header ends: the picture parameter set fields it depends on
//! (ITU-T H.264 7.3.2.2) and the slice header syntax (7.3.3), read only far enough to count
//! its bits. Common Encryption keeps the slice header clear ([`crate::media::cenc`]).

use super::bits::{ceil_log2, escaped_len, rbsp, BitReader};
use super::h264::{nal_type, AvcConfig, SliceSps};
use super::CodecError;

/// `nal_unit_type` of a coded slice extension (MVC, SVC): not parsed here.
const CODED_SLICE_EXTENSION: u8 = 20;
/// Largest `num_ref_idx_lX_active_minus1` (7.4.3: 31 for field slices).
const MAX_NUM_REF_IDX_MINUS1: u32 = 31;
/// A reference list modification or memory management loop longer than this is malformed
/// (each entry names a distinct picture; 32 references at most, plus the terminator).
const MAX_LOOP: usize = 66;
/// RBSP bytes unescaped for a first attempt: slice headers are far shorter.
const HEADER_PREFIX: usize = 256;

/// The PPS fields a slice header's syntax depends on (7.3.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pps {
    pub pic_parameter_set_id: u32,
    pub entropy_coding_mode_flag: bool,
    pub bottom_field_pic_order_in_frame_present_flag: bool,
    pub num_slice_groups_minus1: u32,
    pub slice_group_map_type: u32,
    pub slice_group_change_rate_minus1: u32,
    pub num_ref_idx_l0_default_active_minus1: u32,
    pub num_ref_idx_l1_default_active_minus1: u32,
    pub weighted_pred_flag: bool,
    pub weighted_bipred_idc: u32,
    pub deblocking_filter_control_present_flag: bool,
    pub redundant_pic_cnt_present_flag: bool,
}

fn malformed(what: &'static str) -> CodecError {
    CodecError::Malformed { what }
}

/// Parses a picture parameter set NAL unit (with its NAL header) up to the fields slice
/// headers need.
pub fn parse_pps(nal: &[u8]) -> Result<Pps, CodecError> {
    if super::h264::nal_unit_type(nal) != nal_type::PPS {
        return Err(malformed("PPS nal_unit_type"));
    }
    let data = rbsp(nal.get(1..).unwrap_or(&[]));
    let mut r = BitReader::new(&data, "H.264 PPS");
    let pic_parameter_set_id = r.ue()?;
    let _seq_parameter_set_id = r.ue()?;
    let entropy_coding_mode_flag = r.flag()?;
    let bottom_field_pic_order_in_frame_present_flag = r.flag()?;
    let num_slice_groups_minus1 = r.ue()?;
    let (mut slice_group_map_type, mut slice_group_change_rate_minus1) = (0, 0);
    if num_slice_groups_minus1 > 0 {
        if num_slice_groups_minus1 > 7 {
            return Err(malformed("PPS num_slice_groups_minus1"));
        }
        slice_group_map_type = r.ue()?;
        match slice_group_map_type {
            0 => {
                for _ in 0..=num_slice_groups_minus1 {
                    r.ue()?; // run_length_minus1
                }
            }
            2 => {
                for _ in 0..num_slice_groups_minus1 {
                    r.ue()?; // top_left
                    r.ue()?; // bottom_right
                }
            }
            3..=5 => {
                r.flag()?; // slice_group_change_direction_flag
                slice_group_change_rate_minus1 = r.ue()?;
            }
            6 => {
                let pic_size_in_map_units_minus1 = r.ue()?;
                let bits = ceil_log2(u64::from(num_slice_groups_minus1) + 1);
                let skip = usize::try_from(u64::from(pic_size_in_map_units_minus1) + 1)
                    .ok()
                    .and_then(|n| n.checked_mul(usize::try_from(bits).ok()?))
                    .ok_or(malformed("PPS pic_size_in_map_units_minus1"))?;
                r.skip(skip)?; // slice_group_id[]
            }
            1 => {}
            _ => return Err(malformed("PPS slice_group_map_type")),
        }
    }
    let num_ref_idx_l0_default_active_minus1 = r.ue()?;
    let num_ref_idx_l1_default_active_minus1 = r.ue()?;
    if num_ref_idx_l0_default_active_minus1 > MAX_NUM_REF_IDX_MINUS1
        || num_ref_idx_l1_default_active_minus1 > MAX_NUM_REF_IDX_MINUS1
    {
        return Err(malformed("PPS num_ref_idx_default_active_minus1"));
    }
    let weighted_pred_flag = r.flag()?;
    let weighted_bipred_idc = r.bits(2)?;
    let _pic_init_qp_minus26 = r.se()?;
    let _pic_init_qs_minus26 = r.se()?;
    let _chroma_qp_index_offset = r.se()?;
    let deblocking_filter_control_present_flag = r.flag()?;
    let _constrained_intra_pred_flag = r.flag()?;
    let redundant_pic_cnt_present_flag = r.flag()?;
    Ok(Pps {
        pic_parameter_set_id,
        entropy_coding_mode_flag,
        bottom_field_pic_order_in_frame_present_flag,
        num_slice_groups_minus1,
        slice_group_map_type,
        slice_group_change_rate_minus1,
        num_ref_idx_l0_default_active_minus1,
        num_ref_idx_l1_default_active_minus1,
        weighted_pred_flag,
        weighted_bipred_idc,
        deblocking_filter_control_present_flag,
        redundant_pic_cnt_present_flag,
    })
}

/// What slice headers of a track need: its SPS and PPS fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SliceContext {
    pub sps: SliceSps,
    pub pps: Pps,
}

impl SliceContext {
    pub fn new(config: &AvcConfig) -> Result<Self, CodecError> {
        Ok(SliceContext {
            sps: config.sps.slice,
            pps: parse_pps(&config.pps_nal)?,
        })
    }
}

/// Whether a NAL unit type is a coded slice whose header this module reads (1..=5).
pub fn is_slice(nal_unit_type: u8) -> bool {
    (nal_type::NON_IDR_SLICE..=nal_type::IDR_SLICE).contains(&nal_unit_type)
}

/// Whether a NAL unit type carries coded picture data (VCL, 7.4.1.2.2: 1..=5, and the
/// extension types 20 and 21).
pub fn is_vcl(nal_unit_type: u8) -> bool {
    is_slice(nal_unit_type) || matches!(nal_unit_type, CODED_SLICE_EXTENSION | 21)
}

/// Bytes of `nal` (NAL header included, emulation prevention bytes as present) up to and
/// including the last byte holding slice header bits: the part Common Encryption leaves clear.
pub fn slice_header_len(nal: &[u8], ctx: &SliceContext) -> Result<usize, CodecError> {
    let payload = nal.get(1..).ok_or(CodecError::Truncated {
        what: "H.264 NAL header",
    })?;
    let prefix = &payload[..payload.len().min(HEADER_PREFIX)];
    let data = rbsp(prefix);
    let bits = match header_bits(nal, &data, ctx) {
        Err(CodecError::Truncated { .. }) if prefix.len() < payload.len() => {
            header_bits(nal, &rbsp(payload), ctx)?
        }
        other => other?,
    };
    let rbsp_bytes = bits.div_ceil(8);
    escaped_len(payload, rbsp_bytes)
        .map(|n| n + 1)
        .ok_or(CodecError::Truncated {
            what: "H.264 slice header",
        })
}

/// slice_type % 5 values (Table 7-6).
const P: u32 = 0;
const B: u32 = 1;
const I: u32 = 2;
const SP: u32 = 3;
const SI: u32 = 4;

/// Bits of the slice header (7.3.3) at the start of `data` (the RBSP after the NAL header).
fn header_bits(nal: &[u8], data: &[u8], ctx: &SliceContext) -> Result<usize, CodecError> {
    let (sps, pps) = (&ctx.sps, &ctx.pps);
    let header = nal.first().copied().unwrap_or(0);
    let nal_ref_idc = (header >> 5) & 0x3;
    let idr_pic_flag = header & 0x1F == nal_type::IDR_SLICE;
    let mut r = BitReader::new(data, "H.264 slice header");
    let _first_mb_in_slice = r.ue()?;
    let slice_type = r.ue()? % 5;
    if r.ue()? != pps.pic_parameter_set_id {
        return Err(CodecError::Unsupported {
            what: "slice referring to a PPS other than the sample entry's",
        });
    }
    if sps.separate_colour_plane_flag {
        r.skip(2)?; // colour_plane_id
    }
    r.skip(usize::try_from(sps.log2_max_frame_num_minus4 + 4).unwrap_or(usize::MAX))?; // frame_num
    let mut field_pic_flag = false;
    if !sps.frame_mbs_only_flag {
        field_pic_flag = r.flag()?;
        if field_pic_flag {
            r.flag()?; // bottom_field_flag
        }
    }
    if idr_pic_flag {
        r.ue()?; // idr_pic_id
    }
    if sps.pic_order_cnt_type == 0 {
        r.skip(usize::try_from(sps.log2_max_pic_order_cnt_lsb_minus4 + 4).unwrap_or(usize::MAX))?;
        if pps.bottom_field_pic_order_in_frame_present_flag && !field_pic_flag {
            r.se()?; // delta_pic_order_cnt_bottom
        }
    }
    if sps.pic_order_cnt_type == 1 && !sps.delta_pic_order_always_zero_flag {
        r.se()?; // delta_pic_order_cnt[0]
        if pps.bottom_field_pic_order_in_frame_present_flag && !field_pic_flag {
            r.se()?; // delta_pic_order_cnt[1]
        }
    }
    if pps.redundant_pic_cnt_present_flag {
        r.ue()?; // redundant_pic_cnt
    }
    if slice_type == B {
        r.flag()?; // direct_spatial_mv_pred_flag
    }
    let (mut l0, mut l1) = (
        pps.num_ref_idx_l0_default_active_minus1,
        pps.num_ref_idx_l1_default_active_minus1,
    );
    if matches!(slice_type, P | SP | B) && r.flag()? {
        // num_ref_idx_active_override_flag
        l0 = r.ue()?;
        if slice_type == B {
            l1 = r.ue()?;
        }
        if l0 > MAX_NUM_REF_IDX_MINUS1 || l1 > MAX_NUM_REF_IDX_MINUS1 {
            return Err(malformed("slice num_ref_idx_active_minus1"));
        }
    }
    // ref_pic_list_modification (7.3.3.1)
    if slice_type != I && slice_type != SI {
        ref_pic_list_modification(&mut r)?;
        if slice_type == B {
            ref_pic_list_modification(&mut r)?;
        }
    }
    if (pps.weighted_pred_flag && matches!(slice_type, P | SP))
        || (pps.weighted_bipred_idc == 1 && slice_type == B)
    {
        pred_weight_table(
            &mut r,
            sps.chroma_array_type,
            l0,
            (slice_type == B).then_some(l1),
        )?;
    }
    if nal_ref_idc != 0 {
        dec_ref_pic_marking(&mut r, idr_pic_flag)?;
    }
    if pps.entropy_coding_mode_flag && slice_type != I && slice_type != SI {
        r.ue()?; // cabac_init_idc
    }
    r.se()?; // slice_qp_delta
    if slice_type == SP || slice_type == SI {
        if slice_type == SP {
            r.flag()?; // sp_for_switch_flag
        }
        r.se()?; // slice_qs_delta
    }
    if pps.deblocking_filter_control_present_flag {
        let disable_deblocking_filter_idc = r.ue()?;
        if disable_deblocking_filter_idc != 1 {
            r.se()?; // slice_alpha_c0_offset_div2
            r.se()?; // slice_beta_offset_div2
        }
    }
    if pps.num_slice_groups_minus1 > 0 && (3..=5).contains(&pps.slice_group_map_type) {
        // 7-35: Ceil(Log2(PicSizeInMapUnits ÷ SliceGroupChangeRate + 1)) bits.
        let rate = u64::from(pps.slice_group_change_rate_minus1) + 1;
        let bits = ceil_log2(sps.pic_size_in_map_units.div_ceil(rate) + 1);
        r.skip(usize::try_from(bits).unwrap_or(usize::MAX))?; // slice_group_change_cycle
    }
    Ok(r.position())
}

/// ref_pic_list_modification for one list (7.3.3.1).
fn ref_pic_list_modification(r: &mut BitReader<'_>) -> Result<(), CodecError> {
    if !r.flag()? {
        return Ok(());
    }
    for _ in 0..MAX_LOOP {
        match r.ue()? {
            0..=2 => {
                r.ue()?; // abs_diff_pic_num_minus1 or long_term_pic_num
            }
            3 => return Ok(()),
            _ => return Err(malformed("modification_of_pic_nums_idc")),
        }
    }
    Err(malformed("ref_pic_list_modification too long"))
}

/// pred_weight_table (7.3.3.2); `l1` is the B slice's second list size.
fn pred_weight_table(
    r: &mut BitReader<'_>,
    chroma_array_type: u32,
    l0: u32,
    l1: Option<u32>,
) -> Result<(), CodecError> {
    r.ue()?; // luma_log2_weight_denom
    if chroma_array_type != 0 {
        r.ue()?; // chroma_log2_weight_denom
    }
    for count in std::iter::once(l0).chain(l1) {
        for _ in 0..=count {
            if r.flag()? {
                r.se()?; // luma_weight
                r.se()?; // luma_offset
            }
            if chroma_array_type != 0 && r.flag()? {
                for _ in 0..4 {
                    r.se()?; // chroma_weight, chroma_offset for Cb and Cr
                }
            }
        }
    }
    Ok(())
}

/// dec_ref_pic_marking (7.3.3.3).
fn dec_ref_pic_marking(r: &mut BitReader<'_>, idr_pic_flag: bool) -> Result<(), CodecError> {
    if idr_pic_flag {
        r.flag()?; // no_output_of_prior_pics_flag
        r.flag()?; // long_term_reference_flag
        return Ok(());
    }
    if !r.flag()? {
        return Ok(()); // adaptive_ref_pic_marking_mode_flag
    }
    for _ in 0..MAX_LOOP {
        let memory_management_control_operation = r.ue()?;
        match memory_management_control_operation {
            0 => return Ok(()),
            1 | 2 | 4 | 6 => {
                r.ue()?;
            }
            3 => {
                r.ue()?; // difference_of_pic_nums_minus1
                r.ue()?; // long_term_frame_idx
            }
            5 => {}
            _ => return Err(malformed("memory_management_control_operation")),
        }
    }
    Err(malformed("dec_ref_pic_marking too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pps_of_x264() {
        // x264 High profile PPS: CABAC, weighted_bipred_idc 2, deblocking control present.
        let pps = parse_pps(&[0x68, 0xEB, 0xE3, 0xCB, 0x22, 0xC0]).unwrap();
        assert!(pps.entropy_coding_mode_flag);
        assert_eq!(pps.weighted_bipred_idc, 2);
        assert!(pps.deblocking_filter_control_present_flag);
        assert!(parse_pps(&[0x67, 0xEB]).is_err());
    }
}
