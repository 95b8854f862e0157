//! Where an H.265 slice segment header ends: the SPS and PPS fields it depends on (ITU-T
//! H.265 7.3.2.2, 7.3.2.3, short-term reference picture sets 7.3.7) and the slice segment
//! header syntax (7.3.6), read only far enough to count its bits. Common Encryption keeps
//! the slice header clear ([`crate::media::cenc`]).

use super::bits::{ceil_log2, escaped_len, rbsp, BitReader};
use super::hevc::{nal_type, read_sps, HevcConfig};
use super::CodecError;

/// Limits of the specification (7.4.3.2.1, 7.4.7.1, 7.4.8), enforced so that hostile
/// parameter sets cannot make the reader allocate or loop without bound.
const MAX_SHORT_TERM_REF_PIC_SETS: u32 = 64;
const MAX_DELTA_POCS: u32 = 16;
const MAX_LONG_TERM_REF_PICS_SPS: u32 = 32;
const MAX_NUM_REF_IDX_MINUS1: u32 = 14;
const MAX_TILE_COLUMNS_OR_ROWS: u32 = 64;
/// RBSP bytes unescaped for a first attempt: slice headers are far shorter.
const HEADER_PREFIX: usize = 512;

/// IDR picture types (Table 7-1): no picture order count or reference sets in the header.
const IDR_W_RADL: u8 = 19;
const IDR_N_LP: u8 = 20;
/// Coded slice segment types: 0..=31 are VCL (Table 7-1).
const MAX_VCL: u8 = 31;

fn malformed(what: &'static str) -> CodecError {
    CodecError::Malformed { what }
}

fn usize_of(v: u32) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

/// A short-term reference picture set (7.4.8) as far as the slice header needs it: the delta
/// picture order counts and whether each is used by the current picture.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StRefPicSet {
    /// (DeltaPocS0 then DeltaPocS1, UsedByCurrPic) of every entry.
    pub entries: Vec<(i64, bool)>,
}

impl StRefPicSet {
    fn used(&self) -> u32 {
        u32::try_from(self.entries.iter().filter(|e| e.1).count()).unwrap_or(u32::MAX)
    }
}

/// st_ref_pic_set(stRpsIdx) (7.3.7) with the derivation of 7.4.8; `sets` holds the ones
/// before it.
fn st_ref_pic_set(
    r: &mut BitReader<'_>,
    idx: u32,
    num_short_term_ref_pic_sets: u32,
    sets: &[StRefPicSet],
) -> Result<StRefPicSet, CodecError> {
    let inter_ref_pic_set_prediction_flag = idx != 0 && r.flag()?;
    if inter_ref_pic_set_prediction_flag {
        let delta_idx_minus1 = if idx == num_short_term_ref_pic_sets {
            r.ue()?
        } else {
            0
        };
        let ref_idx = idx
            .checked_sub(delta_idx_minus1 + 1)
            .ok_or(malformed("delta_idx_minus1"))?;
        let reference = sets
            .get(usize_of(ref_idx))
            .ok_or(malformed("delta_idx_minus1"))?;
        let sign = r.flag()?;
        let abs = i64::from(r.ue()?) + 1;
        let delta_rps = if sign { -abs } else { abs };
        let mut entries = Vec::new();
        // One flag pair per entry of the reference set, then one for delta_rps itself.
        let candidates = reference
            .entries
            .iter()
            .map(|e| e.0 + delta_rps)
            .chain(std::iter::once(delta_rps));
        for d_poc in candidates {
            let used_by_curr_pic_flag = r.flag()?;
            let use_delta_flag = used_by_curr_pic_flag || r.flag()?;
            if use_delta_flag && d_poc != 0 {
                entries.push((d_poc, used_by_curr_pic_flag));
            }
        }
        if !u32::try_from(entries.len()).is_ok_and(|n| n <= MAX_DELTA_POCS) {
            return Err(malformed("short-term reference picture set size"));
        }
        return Ok(StRefPicSet { entries });
    }
    let num_negative_pics = r.ue()?;
    let num_positive_pics = r.ue()?;
    if num_negative_pics.saturating_add(num_positive_pics) > MAX_DELTA_POCS {
        return Err(malformed("num_negative_pics + num_positive_pics"));
    }
    let mut entries = Vec::new();
    for (count, sign) in [(num_negative_pics, -1i64), (num_positive_pics, 1)] {
        let mut poc = 0i64;
        for _ in 0..count {
            poc += sign * (i64::from(r.ue()?) + 1); // delta_poc_sX_minus1
            entries.push((poc, r.flag()?)); // used_by_curr_pic_sX_flag
        }
    }
    Ok(StRefPicSet { entries })
}

/// scaling_list_data() (7.3.4), skipped.
fn skip_scaling_list_data(r: &mut BitReader<'_>) -> Result<(), CodecError> {
    for size_id in 0..4u32 {
        let step = if size_id == 3 { 3 } else { 1 };
        for _ in (0..6).step_by(step) {
            if !r.flag()? {
                r.ue()?; // scaling_list_pred_matrix_id_delta
                continue;
            }
            let coef_num = 64.min(1 << (4 + (size_id << 1)));
            if size_id > 1 {
                r.se()?; // scaling_list_dc_coef_minus8
            }
            for _ in 0..coef_num {
                r.se()?; // scaling_list_delta_coef
            }
        }
    }
    Ok(())
}

/// The SPS fields a slice segment header's syntax depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SliceSps {
    pub separate_colour_plane_flag: bool,
    pub chroma_array_type: u8,
    pub log2_max_pic_order_cnt_lsb_minus4: u32,
    /// PicSizeInCtbsY (7-21).
    pub pic_size_in_ctbs_y: u64,
    pub sample_adaptive_offset_enabled_flag: bool,
    pub short_term_ref_pic_sets: Vec<StRefPicSet>,
    pub long_term_ref_pics_present_flag: bool,
    /// used_by_curr_pic_lt_sps_flag of each long-term candidate in the SPS.
    pub used_by_curr_pic_lt_sps_flag: Vec<bool>,
    pub sps_temporal_mvp_enabled_flag: bool,
}

/// Parses an SPS NAL unit (with its two-byte NAL header) for [`SliceSps`].
pub fn parse_slice_sps(nal: &[u8]) -> Result<SliceSps, CodecError> {
    let data = rbsp(nal.get(2..).unwrap_or(&[]));
    let mut r = BitReader::new(&data, "H.265 SPS");
    let head = read_sps(&mut r)?;
    let log2_max_pic_order_cnt_lsb_minus4 = r.ue()?;
    if log2_max_pic_order_cnt_lsb_minus4 > 12 {
        return Err(malformed("log2_max_pic_order_cnt_lsb_minus4"));
    }
    let sub_layer_ordering_info_present = r.flag()?;
    let first = if sub_layer_ordering_info_present {
        0
    } else {
        head.sps.sps_max_sub_layers_minus1
    };
    for _ in first..=head.sps.sps_max_sub_layers_minus1 {
        r.ue()?; // sps_max_dec_pic_buffering_minus1
        r.ue()?; // sps_max_num_reorder_pics
        r.ue()?; // sps_max_latency_increase_plus1
    }
    let log2_min_luma_coding_block_size_minus3 = r.ue()?;
    let log2_diff_max_min_luma_coding_block_size = r.ue()?;
    let ctb_log2_size_y = log2_min_luma_coding_block_size_minus3
        .checked_add(3)
        .and_then(|v| v.checked_add(log2_diff_max_min_luma_coding_block_size))
        .filter(|&v| (4..=6).contains(&v))
        .ok_or(malformed("CtbLog2SizeY"))?;
    r.ue()?; // log2_min_luma_transform_block_size_minus2
    r.ue()?; // log2_diff_max_min_luma_transform_block_size
    r.ue()?; // max_transform_hierarchy_depth_inter
    r.ue()?; // max_transform_hierarchy_depth_intra
    if r.flag()? && r.flag()? {
        // scaling_list_enabled_flag, sps_scaling_list_data_present_flag
        skip_scaling_list_data(&mut r)?;
    }
    r.flag()?; // amp_enabled_flag
    let sample_adaptive_offset_enabled_flag = r.flag()?;
    if r.flag()? {
        // pcm_enabled_flag
        r.skip(8)?; // pcm_sample_bit_depth_luma_minus1, _chroma_minus1
        r.ue()?; // log2_min_pcm_luma_coding_block_size_minus3
        r.ue()?; // log2_diff_max_min_pcm_luma_coding_block_size
        r.flag()?; // pcm_loop_filter_disabled_flag
    }
    let num_short_term_ref_pic_sets = r.ue()?;
    if num_short_term_ref_pic_sets > MAX_SHORT_TERM_REF_PIC_SETS {
        return Err(malformed("num_short_term_ref_pic_sets"));
    }
    let mut short_term_ref_pic_sets = Vec::new();
    for i in 0..num_short_term_ref_pic_sets {
        let set = st_ref_pic_set(
            &mut r,
            i,
            num_short_term_ref_pic_sets,
            &short_term_ref_pic_sets,
        )?;
        short_term_ref_pic_sets.push(set);
    }
    let long_term_ref_pics_present_flag = r.flag()?;
    let mut used_by_curr_pic_lt_sps_flag = Vec::new();
    if long_term_ref_pics_present_flag {
        let num_long_term_ref_pics_sps = r.ue()?;
        if num_long_term_ref_pics_sps > MAX_LONG_TERM_REF_PICS_SPS {
            return Err(malformed("num_long_term_ref_pics_sps"));
        }
        for _ in 0..num_long_term_ref_pics_sps {
            r.skip(usize_of(log2_max_pic_order_cnt_lsb_minus4 + 4))?; // lt_ref_pic_poc_lsb_sps
            used_by_curr_pic_lt_sps_flag.push(r.flag()?);
        }
    }
    let sps_temporal_mvp_enabled_flag = r.flag()?;
    let ctb = 1u64 << ctb_log2_size_y;
    let pic_size_in_ctbs_y = head.pic_width_in_luma_samples.div_ceil(ctb)
        * head.pic_height_in_luma_samples.div_ceil(ctb);
    Ok(SliceSps {
        separate_colour_plane_flag: head.separate_colour_plane_flag,
        chroma_array_type: if head.separate_colour_plane_flag {
            0
        } else {
            head.sps.chroma_format_idc
        },
        log2_max_pic_order_cnt_lsb_minus4,
        pic_size_in_ctbs_y,
        sample_adaptive_offset_enabled_flag,
        short_term_ref_pic_sets,
        long_term_ref_pics_present_flag,
        used_by_curr_pic_lt_sps_flag,
        sps_temporal_mvp_enabled_flag,
    })
}

/// The PPS fields a slice segment header's syntax depends on (7.3.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlicePps {
    pub pps_pic_parameter_set_id: u32,
    pub dependent_slice_segments_enabled_flag: bool,
    pub output_flag_present_flag: bool,
    pub num_extra_slice_header_bits: u32,
    pub cabac_init_present_flag: bool,
    pub num_ref_idx_l0_default_active_minus1: u32,
    pub num_ref_idx_l1_default_active_minus1: u32,
    pub pps_slice_chroma_qp_offsets_present_flag: bool,
    pub weighted_pred_flag: bool,
    pub weighted_bipred_flag: bool,
    pub tiles_enabled_flag: bool,
    pub entropy_coding_sync_enabled_flag: bool,
    pub pps_loop_filter_across_slices_enabled_flag: bool,
    pub deblocking_filter_override_enabled_flag: bool,
    pub pps_deblocking_filter_disabled_flag: bool,
    pub lists_modification_present_flag: bool,
    pub slice_segment_header_extension_present_flag: bool,
    pub chroma_qp_offset_list_enabled_flag: bool,
}

/// Parses a PPS NAL unit (with its two-byte NAL header) for [`SlicePps`].
pub fn parse_slice_pps(nal: &[u8]) -> Result<SlicePps, CodecError> {
    if super::hevc::nal_unit_type(nal) != nal_type::PPS {
        return Err(malformed("H.265 PPS nal_unit_type"));
    }
    let data = rbsp(nal.get(2..).unwrap_or(&[]));
    let mut r = BitReader::new(&data, "H.265 PPS");
    let pps_pic_parameter_set_id = r.ue()?;
    let _pps_seq_parameter_set_id = r.ue()?;
    let dependent_slice_segments_enabled_flag = r.flag()?;
    let output_flag_present_flag = r.flag()?;
    let num_extra_slice_header_bits = r.bits(3)?;
    r.flag()?; // sign_data_hiding_enabled_flag
    let cabac_init_present_flag = r.flag()?;
    let num_ref_idx_l0_default_active_minus1 = r.ue()?;
    let num_ref_idx_l1_default_active_minus1 = r.ue()?;
    if num_ref_idx_l0_default_active_minus1 > MAX_NUM_REF_IDX_MINUS1
        || num_ref_idx_l1_default_active_minus1 > MAX_NUM_REF_IDX_MINUS1
    {
        return Err(malformed("num_ref_idx_default_active_minus1"));
    }
    r.se()?; // init_qp_minus26
    r.flag()?; // constrained_intra_pred_flag
    let transform_skip_enabled_flag = r.flag()?;
    if r.flag()? {
        r.ue()?; // cu_qp_delta_enabled_flag: diff_cu_qp_delta_depth
    }
    r.se()?; // pps_cb_qp_offset
    r.se()?; // pps_cr_qp_offset
    let pps_slice_chroma_qp_offsets_present_flag = r.flag()?;
    let weighted_pred_flag = r.flag()?;
    let weighted_bipred_flag = r.flag()?;
    r.flag()?; // transquant_bypass_enabled_flag
    let tiles_enabled_flag = r.flag()?;
    let entropy_coding_sync_enabled_flag = r.flag()?;
    if tiles_enabled_flag {
        let columns = r.ue()?;
        let rows = r.ue()?;
        if columns >= MAX_TILE_COLUMNS_OR_ROWS || rows >= MAX_TILE_COLUMNS_OR_ROWS {
            return Err(malformed("num_tile_columns/rows_minus1"));
        }
        if !r.flag()? {
            // uniform_spacing_flag
            for _ in 0..columns + rows {
                r.ue()?; // column_width_minus1, row_height_minus1
            }
        }
        r.flag()?; // loop_filter_across_tiles_enabled_flag
    }
    let pps_loop_filter_across_slices_enabled_flag = r.flag()?;
    let (mut deblocking_filter_override_enabled_flag, mut pps_deblocking_filter_disabled_flag) =
        (false, false);
    if r.flag()? {
        // deblocking_filter_control_present_flag
        deblocking_filter_override_enabled_flag = r.flag()?;
        pps_deblocking_filter_disabled_flag = r.flag()?;
        if !pps_deblocking_filter_disabled_flag {
            r.se()?; // pps_beta_offset_div2
            r.se()?; // pps_tc_offset_div2
        }
    }
    if r.flag()? {
        skip_scaling_list_data(&mut r)?; // pps_scaling_list_data_present_flag
    }
    let lists_modification_present_flag = r.flag()?;
    r.ue()?; // log2_parallel_merge_level_minus2
    let slice_segment_header_extension_present_flag = r.flag()?;
    let mut chroma_qp_offset_list_enabled_flag = false;
    if r.flag()? {
        // pps_extension_present_flag
        let pps_range_extension_flag = r.flag()?;
        let others = r.bits(7)?; // multilayer, 3d, scc, 4 bits
        if others & 0x70 != 0 {
            return Err(CodecError::Unsupported {
                what: "H.265 PPS multilayer, 3D or SCC extension",
            });
        }
        if pps_range_extension_flag {
            if transform_skip_enabled_flag {
                r.ue()?; // log2_max_transform_skip_block_size_minus2
            }
            r.flag()?; // cross_component_prediction_enabled_flag
            chroma_qp_offset_list_enabled_flag = r.flag()?;
        }
    }
    Ok(SlicePps {
        pps_pic_parameter_set_id,
        dependent_slice_segments_enabled_flag,
        output_flag_present_flag,
        num_extra_slice_header_bits,
        cabac_init_present_flag,
        num_ref_idx_l0_default_active_minus1,
        num_ref_idx_l1_default_active_minus1,
        pps_slice_chroma_qp_offsets_present_flag,
        weighted_pred_flag,
        weighted_bipred_flag,
        tiles_enabled_flag,
        entropy_coding_sync_enabled_flag,
        pps_loop_filter_across_slices_enabled_flag,
        deblocking_filter_override_enabled_flag,
        pps_deblocking_filter_disabled_flag,
        lists_modification_present_flag,
        slice_segment_header_extension_present_flag,
        chroma_qp_offset_list_enabled_flag,
    })
}

/// What slice segment headers of a track need: its SPS and PPS fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SliceContext {
    pub sps: SliceSps,
    pub pps: SlicePps,
}

impl SliceContext {
    pub fn new(config: &HevcConfig) -> Result<Self, CodecError> {
        Ok(SliceContext {
            sps: parse_slice_sps(&config.sps_nal)?,
            pps: parse_slice_pps(&config.pps_nal)?,
        })
    }
}

/// Whether a NAL unit type is a coded slice segment (VCL, 0..=31 in Table 7-1).
pub fn is_vcl(nal_unit_type: u8) -> bool {
    nal_unit_type <= MAX_VCL
}

/// Bytes of `nal` (two-byte NAL header included, emulation prevention bytes as present) up
/// to the end of the slice segment header (its byte_alignment() included): the part Common
/// Encryption leaves clear.
pub fn slice_header_len(nal: &[u8], ctx: &SliceContext) -> Result<usize, CodecError> {
    let payload = nal.get(2..).ok_or(CodecError::Truncated {
        what: "H.265 NAL header",
    })?;
    let prefix = &payload[..payload.len().min(HEADER_PREFIX)];
    let bits = match header_bits(nal, &rbsp(prefix), ctx) {
        Err(CodecError::Truncated { .. }) if prefix.len() < payload.len() => {
            header_bits(nal, &rbsp(payload), ctx)?
        }
        other => other?,
    };
    escaped_len(payload, bits.div_ceil(8))
        .map(|n| n + 2)
        .ok_or(CodecError::Truncated {
            what: "H.265 slice segment header",
        })
}

/// slice_type values (Table 7-7).
const B: u32 = 0;
const P: u32 = 1;
const I: u32 = 2;

/// Bits of the slice segment header (7.3.6.1) at the start of `data` (the RBSP after the
/// NAL header), byte_alignment() included.
fn header_bits(nal: &[u8], data: &[u8], ctx: &SliceContext) -> Result<usize, CodecError> {
    let (sps, pps) = (&ctx.sps, &ctx.pps);
    let nal_unit_type = super::hevc::nal_unit_type(nal);
    let mut r = BitReader::new(data, "H.265 slice segment header");
    let first_slice_segment_in_pic_flag = r.flag()?;
    if super::hevc::is_irap(nal_unit_type) {
        r.flag()?; // no_output_of_prior_pics_flag
    }
    if r.ue()? != pps.pps_pic_parameter_set_id {
        return Err(CodecError::Unsupported {
            what: "slice referring to a PPS other than the sample entry's",
        });
    }
    let mut dependent_slice_segment_flag = false;
    if !first_slice_segment_in_pic_flag {
        if pps.dependent_slice_segments_enabled_flag {
            dependent_slice_segment_flag = r.flag()?;
        }
        r.skip(usize_of(ceil_log2(sps.pic_size_in_ctbs_y)))?; // slice_segment_address
    }
    if !dependent_slice_segment_flag {
        independent_fields(&mut r, nal_unit_type, sps, pps)?;
    }
    if pps.tiles_enabled_flag || pps.entropy_coding_sync_enabled_flag {
        let num_entry_point_offsets = r.ue()?;
        if num_entry_point_offsets > 0 {
            let offset_len_minus1 = r.ue()?;
            if offset_len_minus1 > 31 {
                return Err(malformed("offset_len_minus1"));
            }
            let bits = usize_of(num_entry_point_offsets)
                .checked_mul(usize_of(offset_len_minus1 + 1))
                .ok_or(malformed("num_entry_point_offsets"))?;
            r.skip(bits)?; // entry_point_offset_minus1[]
        }
    }
    if pps.slice_segment_header_extension_present_flag {
        let length = r.ue()?;
        r.skip(usize_of(length).saturating_mul(8))?; // slice_segment_header_extension_data_byte
    }
    // byte_alignment(): alignment_bit_equal_to_one, then zero bits to the byte boundary.
    r.flag()?;
    let pos = r.position();
    Ok(pos.div_ceil(8) * 8)
}

/// The fields of an independent slice segment's header (7.3.6.1, inside
/// `if( !dependent_slice_segment_flag )`).
fn independent_fields(
    r: &mut BitReader<'_>,
    nal_unit_type: u8,
    sps: &SliceSps,
    pps: &SlicePps,
) -> Result<(), CodecError> {
    r.skip(usize_of(pps.num_extra_slice_header_bits))?; // slice_reserved_flag[]
    let slice_type = r.ue()?;
    if slice_type > I {
        return Err(malformed("slice_type"));
    }
    if pps.output_flag_present_flag {
        r.flag()?; // pic_output_flag
    }
    if sps.separate_colour_plane_flag {
        r.skip(2)?; // colour_plane_id
    }
    let mut num_pic_total_curr = 0u32;
    let mut slice_temporal_mvp_enabled_flag = false;
    if nal_unit_type != IDR_W_RADL && nal_unit_type != IDR_N_LP {
        r.skip(usize_of(sps.log2_max_pic_order_cnt_lsb_minus4 + 4))?; // slice_pic_order_cnt_lsb
        let sets = &sps.short_term_ref_pic_sets;
        let num_sets = u32::try_from(sets.len()).unwrap_or(u32::MAX);
        let current = if !r.flag()? {
            // short_term_ref_pic_set_sps_flag = 0: the set is coded here.
            st_ref_pic_set(r, num_sets, num_sets, sets)?
        } else {
            let idx = if num_sets > 1 {
                r.bits(ceil_log2(u64::from(num_sets)))?
            } else {
                0
            };
            sets.get(usize_of(idx))
                .cloned()
                .ok_or(malformed("short_term_ref_pic_set_idx"))?
        };
        num_pic_total_curr = current.used();
        if sps.long_term_ref_pics_present_flag {
            let num_long_term_ref_pics_sps =
                u32::try_from(sps.used_by_curr_pic_lt_sps_flag.len()).unwrap_or(u32::MAX);
            let num_long_term_sps = if num_long_term_ref_pics_sps > 0 {
                r.ue()?
            } else {
                0
            };
            let num_long_term_pics = r.ue()?;
            if num_long_term_sps > num_long_term_ref_pics_sps
                || num_long_term_sps.saturating_add(num_long_term_pics) > MAX_DELTA_POCS * 2
            {
                return Err(malformed("num_long_term_sps + num_long_term_pics"));
            }
            for i in 0..num_long_term_sps + num_long_term_pics {
                let used = if i < num_long_term_sps {
                    let lt_idx_sps = if num_long_term_ref_pics_sps > 1 {
                        r.bits(ceil_log2(u64::from(num_long_term_ref_pics_sps)))?
                    } else {
                        0
                    };
                    sps.used_by_curr_pic_lt_sps_flag
                        .get(usize_of(lt_idx_sps))
                        .copied()
                        .ok_or(malformed("lt_idx_sps"))?
                } else {
                    r.skip(usize_of(sps.log2_max_pic_order_cnt_lsb_minus4 + 4))?; // poc_lsb_lt
                    r.flag()? // used_by_curr_pic_lt_flag
                };
                num_pic_total_curr += u32::from(used);
                if r.flag()? {
                    r.ue()?; // delta_poc_msb_present_flag: delta_poc_msb_cycle_lt
                }
            }
        }
        if sps.sps_temporal_mvp_enabled_flag {
            slice_temporal_mvp_enabled_flag = r.flag()?;
        }
    }
    let (mut slice_sao_luma_flag, mut slice_sao_chroma_flag) = (false, false);
    if sps.sample_adaptive_offset_enabled_flag {
        slice_sao_luma_flag = r.flag()?;
        if sps.chroma_array_type != 0 {
            slice_sao_chroma_flag = r.flag()?;
        }
    }
    if slice_type == P || slice_type == B {
        inter_fields(
            r,
            slice_type,
            num_pic_total_curr,
            slice_temporal_mvp_enabled_flag,
            sps,
            pps,
        )?;
    }
    r.se()?; // slice_qp_delta
    if pps.pps_slice_chroma_qp_offsets_present_flag {
        r.se()?; // slice_cb_qp_offset
        r.se()?; // slice_cr_qp_offset
    }
    if pps.chroma_qp_offset_list_enabled_flag {
        r.flag()?; // cu_chroma_qp_offset_enabled_flag
    }
    let deblocking_filter_override_flag =
        pps.deblocking_filter_override_enabled_flag && r.flag()?;
    let mut slice_deblocking_filter_disabled_flag = pps.pps_deblocking_filter_disabled_flag;
    if deblocking_filter_override_flag {
        slice_deblocking_filter_disabled_flag = r.flag()?;
        if !slice_deblocking_filter_disabled_flag {
            r.se()?; // slice_beta_offset_div2
            r.se()?; // slice_tc_offset_div2
        }
    }
    if pps.pps_loop_filter_across_slices_enabled_flag
        && (slice_sao_luma_flag || slice_sao_chroma_flag || !slice_deblocking_filter_disabled_flag)
    {
        r.flag()?; // slice_loop_filter_across_slices_enabled_flag
    }
    Ok(())
}

/// The P and B slice fields of 7.3.6.1: reference counts, list modification, collocated
/// picture, weighted prediction (7.3.6.3), merge candidates.
fn inter_fields(
    r: &mut BitReader<'_>,
    slice_type: u32,
    num_pic_total_curr: u32,
    slice_temporal_mvp_enabled_flag: bool,
    sps: &SliceSps,
    pps: &SlicePps,
) -> Result<(), CodecError> {
    let (mut l0, mut l1) = (
        pps.num_ref_idx_l0_default_active_minus1,
        pps.num_ref_idx_l1_default_active_minus1,
    );
    if r.flag()? {
        // num_ref_idx_active_override_flag
        l0 = r.ue()?;
        if slice_type == B {
            l1 = r.ue()?;
        }
        if l0 > MAX_NUM_REF_IDX_MINUS1 || l1 > MAX_NUM_REF_IDX_MINUS1 {
            return Err(malformed("num_ref_idx_active_minus1"));
        }
    }
    if pps.lists_modification_present_flag && num_pic_total_curr > 1 {
        // ref_pic_lists_modification (7.3.6.2)
        let bits = usize_of(ceil_log2(u64::from(num_pic_total_curr)));
        if r.flag()? {
            r.skip(bits.saturating_mul(usize_of(l0 + 1)))?; // list_entry_l0[]
        }
        if slice_type == B && r.flag()? {
            r.skip(bits.saturating_mul(usize_of(l1 + 1)))?; // list_entry_l1[]
        }
    }
    if slice_type == B {
        r.flag()?; // mvd_l1_zero_flag
    }
    if pps.cabac_init_present_flag {
        r.flag()?; // cabac_init_flag
    }
    if slice_temporal_mvp_enabled_flag {
        let collocated_from_l0_flag = slice_type != B || r.flag()?;
        if (collocated_from_l0_flag && l0 > 0) || (!collocated_from_l0_flag && l1 > 0) {
            r.ue()?; // collocated_ref_idx
        }
    }
    if (pps.weighted_pred_flag && slice_type == P) || (pps.weighted_bipred_flag && slice_type == B)
    {
        pred_weight_table(
            r,
            sps.chroma_array_type,
            l0,
            (slice_type == B).then_some(l1),
        )?;
    }
    r.ue()?; // five_minus_max_num_merge_cand
    Ok(())
}

/// pred_weight_table (7.3.6.3) for a single-layer stream (every reference has another
/// picture order count, so every flag is present).
fn pred_weight_table(
    r: &mut BitReader<'_>,
    chroma_array_type: u8,
    l0: u32,
    l1: Option<u32>,
) -> Result<(), CodecError> {
    r.ue()?; // luma_log2_weight_denom
    if chroma_array_type != 0 {
        r.se()?; // delta_chroma_log2_weight_denom
    }
    for count in std::iter::once(l0).chain(l1) {
        let n = usize_of(count) + 1;
        let mut luma = [false; 16];
        let mut chroma = [false; 16];
        for flag in luma.iter_mut().take(n) {
            *flag = r.flag()?; // luma_weight_lX_flag
        }
        if chroma_array_type != 0 {
            for flag in chroma.iter_mut().take(n) {
                *flag = r.flag()?; // chroma_weight_lX_flag
            }
        }
        for i in 0..n {
            if luma[i] {
                r.se()?; // delta_luma_weight
                r.se()?; // luma_offset
            }
            if chroma[i] {
                for _ in 0..4 {
                    r.se()?; // delta_chroma_weight, delta_chroma_offset for Cb and Cr
                }
            }
        }
    }
    Ok(())
}
