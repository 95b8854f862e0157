//! PES packets out (ISO/IEC 13818-1 2.4.3.6, Table 2-21) and the elementary stream forms TS
//! carries: H.264 as an Annex B byte stream with an access unit delimiter first and the
//! parameter sets before every IDR picture (ISO/IEC 13818-1 2.14, ITU-T H.264 7.4.1.2.3),
//! AAC in ADTS frames (ISO/IEC 13818-7 6.2).

use crate::media::codec::h264::{nal_type, nal_unit_type, AvcConfig};

/// `packet_start_code_prefix` (2.4.3.7).
const PACKET_START_CODE_PREFIX: [u8; 3] = [0, 0, 1];
/// Bytes of a PES header with PTS and DTS: start code, stream_id, PES_packet_length (6),
/// flags and PES_header_data_length (3), PTS and DTS (10).
pub(super) const MAX_PES_HEADER_LEN: usize = 19;
/// '10', PES_scrambling_control 00, PES_priority 0, data_alignment_indicator 1 (every PES
/// packet starts with an access unit), copyright 0, original_or_copy 0.
const PES_FLAGS_1: u8 = 0x84;
/// `PTS_DTS_flags` (Table 2-21): PTS only; PTS and DTS.
const PTS_ONLY: u8 = 0x80;
const PTS_AND_DTS: u8 = 0xC0;
/// The 4-bit prefixes of the PTS and DTS fields ('0010' alone, '0011' + '0001' as a pair).
const PTS_ALONE_PREFIX: u8 = 0x2;
const PTS_PREFIX: u8 = 0x3;
const DTS_PREFIX: u8 = 0x1;

/// A four-byte Annex B start code (`zero_byte` + `start_code_prefix_one_3bytes`, B.1.1).
pub(super) const START_CODE: [u8; 4] = [0, 0, 0, 1];
/// An access unit delimiter NAL unit with its start code: `primary_pic_type` 7 (any slice
/// types) and the RBSP trailing bits (H.264 7.3.2.4).
pub(super) const ACCESS_UNIT_DELIMITER: [u8; 6] = [0, 0, 0, 1, nal_type::AUD, 0xF0];

/// A 33-bit timestamp field (2.4.3.7): `prefix`, bits 32..30, marker, 29..15, marker, 14..0,
/// marker.
fn timestamp(prefix: u8, t: u64) -> [u8; 5] {
    let t = t & ((1 << 33) - 1);
    let hi = (t >> 30).to_be_bytes()[7]; // three bits
    let mid = ((t >> 15) & 0x7FFF) << 1 | 1;
    let low = (t & 0x7FFF) << 1 | 1;
    let mid = mid.to_be_bytes();
    let low = low.to_be_bytes();
    [
        (prefix << 4) | (hi << 1) | 1,
        mid[6],
        mid[7],
        low[6],
        low[7],
    ]
}

/// Writes a PES header into `out` (cleared first) for a payload of `payload_len` bytes;
/// `unbounded` allows `PES_packet_length` 0 when the packet is too long for 16 bits (video
/// only, 2.4.3.7). Returns false when the length does not fit.
pub(super) fn pes_header(
    out: &mut Vec<u8>,
    stream_id: u8,
    pts: u64,
    dts: u64,
    payload_len: usize,
    unbounded: bool,
) -> bool {
    let with_dts = pts != dts;
    let header_data_length: u8 = if with_dts { 10 } else { 5 };
    // PES_packet_length counts the bytes after it: flags (2), header_data_length (1), the
    // optional fields, the payload.
    let length = payload_len
        .checked_add(3 + usize::from(header_data_length))
        .and_then(|l| u16::try_from(l).ok());
    let length = match (length, unbounded) {
        (Some(l), _) => l,
        (None, true) => 0,
        (None, false) => return false,
    };
    out.clear();
    out.extend_from_slice(&PACKET_START_CODE_PREFIX);
    out.push(stream_id);
    out.extend_from_slice(&length.to_be_bytes());
    out.push(PES_FLAGS_1);
    if with_dts {
        out.push(PTS_AND_DTS);
        out.push(header_data_length);
        out.extend_from_slice(&timestamp(PTS_PREFIX, pts));
        out.extend_from_slice(&timestamp(DTS_PREFIX, dts));
    } else {
        out.push(PTS_ONLY);
        out.push(header_data_length);
        out.extend_from_slice(&timestamp(PTS_ALONE_PREFIX, pts));
    }
    true
}

/// Splits a sample of length-prefixed NAL units (ISO/IEC 14496-15 5.3.2) into its NAL units.
pub(super) struct LengthPrefixed<'a> {
    data: &'a [u8],
    length_size: usize,
}

impl<'a> LengthPrefixed<'a> {
    pub fn new(data: &'a [u8], nal_length_size: u8) -> Self {
        LengthPrefixed {
            data,
            length_size: usize::from(nal_length_size),
        }
    }
}

impl<'a> Iterator for LengthPrefixed<'a> {
    /// A NAL unit, or `Err` when a length runs past the sample.
    type Item = Result<&'a [u8], ()>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.data.is_empty() {
            return None;
        }
        let Some((len, rest)) = self.data.split_at_checked(self.length_size) else {
            self.data = &[];
            return Some(Err(()));
        };
        let len = len
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        match rest.split_at_checked(len) {
            Some((nal, rest)) => {
                self.data = rest;
                Some(Ok(nal))
            }
            None => {
                self.data = &[];
                Some(Err(()))
            }
        }
    }
}

/// The Annex B pieces of an H.264 sample after the access unit delimiter (which the caller
/// writes): the parameter sets of `config` before an IDR picture when the sample carries
/// none, then each NAL unit with a start code. Delimiters in the sample are dropped (ours
/// comes first); empty NAL units too. Returns false when a NAL unit length is wrong.
pub(super) fn annex_b_pieces<'a>(
    sample: &'a [u8],
    nal_length_size: u8,
    config: &'a AvcConfig,
    is_sync: bool,
    pieces: &mut Vec<&'a [u8]>,
) -> bool {
    let mut has_sps = false;
    for nal in LengthPrefixed::new(sample, nal_length_size) {
        match nal {
            Ok(nal) => has_sps |= nal_unit_type(nal) == nal_type::SPS,
            Err(()) => return false,
        }
    }
    if is_sync && !has_sps {
        pieces.extend_from_slice(&[&START_CODE, &config.sps_nal, &START_CODE, &config.pps_nal]);
    }
    for nal in LengthPrefixed::new(sample, nal_length_size).flatten() {
        if nal.is_empty() || nal_unit_type(nal) == nal_type::AUD {
            continue;
        }
        pieces.push(&START_CODE);
        pieces.push(nal);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_fields() {
        // 2^33 - 1: all 33 bits set, every marker bit set.
        assert_eq!(
            timestamp(PTS_ALONE_PREFIX, (1 << 33) - 1),
            [0x2F, 0xFF, 0xFF, 0xFF, 0xFF]
        );
        assert_eq!(timestamp(DTS_PREFIX, 0), [0x11, 0x00, 0x01, 0x00, 0x01]);
        // 90000 = 0x15F90: bits 29..15 = 2, bits 14..0 = 0x5F90.
        assert_eq!(
            timestamp(PTS_PREFIX, 90_000),
            [0x31, 0x00, 0x05, 0xBF, 0x21]
        );
    }

    #[test]
    fn length_prefixed_nal_units() {
        let data = [0, 2, 0x65, 1, 0, 0, 0, 1, 9];
        let nals: Vec<_> = LengthPrefixed::new(&data, 2).collect();
        assert_eq!(nals, vec![Ok(&[0x65, 1][..]), Ok(&[][..]), Ok(&[9][..])]);
        let bad = [0, 5, 1];
        assert_eq!(LengthPrefixed::new(&bad, 2).last(), Some(Err(())));
        assert_eq!(LengthPrefixed::new(&[0], 2).last(), Some(Err(())));
    }
}
