//! PES packet header (ISO/IEC 13818-1 2.4.3.6, Table 2-21) and reassembled PES packets.

use super::TsError;
use crate::media::time::Timestamp33;

/// `stream_id` values whose PES packets carry no optional header (Table 2-21, first branch).
fn has_optional_header(stream_id: u8) -> bool {
    !matches!(
        stream_id,
        0xBC // program_stream_map
            | 0xBE // padding_stream
            | 0xBF // private_stream_2
            | 0xF0 // ECM
            | 0xF1 // EMM
            | 0xF2 // DSMCC_stream
            | 0xF8 // ITU-T H.222.1 type E
            | 0xFF // program_stream_directory
    )
}

/// The fields of a PES header that the remuxer uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PesHeader {
    pub stream_id: u8,
    /// `PES_packet_length`; 0 means unbounded (allowed for video, 2.4.3.7).
    pub pes_packet_length: u16,
    pub pts: Option<Timestamp33>,
    pub dts: Option<Timestamp33>,
    /// Offset of the first payload byte from the start of the PES packet.
    pub payload_offset: usize,
}

impl PesHeader {
    /// Total PES packet size in bytes when `PES_packet_length` is not 0.
    pub fn declared_size(&self) -> Option<usize> {
        (self.pes_packet_length != 0).then(|| 6 + usize::from(self.pes_packet_length))
    }
}

/// Reads a 33-bit timestamp from its 5-byte field with marker bits (2.4.3.7).
fn timestamp(b: &[u8]) -> Timestamp33 {
    Timestamp33::new(
        (u64::from(b[0] >> 1 & 0x07) << 30)
            | (u64::from(b[1]) << 22)
            | (u64::from(b[2] >> 1) << 15)
            | (u64::from(b[3]) << 7)
            | u64::from(b[4] >> 1),
    )
}

/// The `PES_packet_length` field, once six bytes of the packet are known.
pub fn pes_packet_length(data: &[u8]) -> Option<u16> {
    data.get(4..6).map(|b| u16::from_be_bytes([b[0], b[1]]))
}

/// Parses the PES header at the start of `data` (which begins at `packet_start_code_prefix`).
pub fn parse_pes_header(data: &[u8], pid: u16) -> Result<PesHeader, TsError> {
    let malformed = |what| TsError::Malformed { pid, what };
    let Some(fixed) = data.get(..6) else {
        return Err(malformed("PES header truncated"));
    };
    if fixed[..3] != [0, 0, 1] {
        return Err(malformed("missing packet_start_code_prefix"));
    }
    let stream_id = fixed[3];
    let pes_packet_length = u16::from_be_bytes([fixed[4], fixed[5]]);
    if !has_optional_header(stream_id) {
        return Ok(PesHeader {
            stream_id,
            pes_packet_length,
            pts: None,
            dts: None,
            payload_offset: 6,
        });
    }
    let Some(opt) = data.get(6..9) else {
        return Err(malformed("PES header truncated"));
    };
    if opt[0] & 0xC0 != 0x80 {
        return Err(malformed("PES optional header marker is not '10'"));
    }
    let pts_dts_flags = opt[1] >> 6;
    let header_data_length = usize::from(opt[2]);
    let payload_offset = 9 + header_data_length;
    let fields = data
        .get(9..payload_offset)
        .ok_or(malformed("PES_header_data_length beyond data"))?;
    let need = match pts_dts_flags {
        0b10 => 5,
        0b11 => 10,
        0b00 => 0,
        _ => return Err(malformed("PTS_DTS_flags is '01'")),
    };
    if fields.len() < need {
        return Err(malformed("PTS/DTS beyond PES_header_data_length"));
    }
    let pts = (need >= 5).then(|| timestamp(&fields[..5]));
    let dts = (need == 10).then(|| timestamp(&fields[5..10]));
    if let Some(size) = (pes_packet_length != 0).then(|| 6 + usize::from(pes_packet_length)) {
        if size < payload_offset {
            return Err(malformed("PES_packet_length shorter than its header"));
        }
    }
    Ok(PesHeader {
        stream_id,
        pes_packet_length,
        pts,
        dts,
        payload_offset,
    })
}

/// A reassembled PES packet of one elementary stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pes {
    pub pid: u16,
    pub header: PesHeader,
    /// `random_access_indicator` of the packet that started this PES.
    pub random_access: bool,
    /// Byte offset of the starting TS packet in the demuxer's input.
    pub offset: u64,
    data: Vec<u8>,
}

impl Pes {
    pub(crate) fn new(
        pid: u16,
        header: PesHeader,
        random_access: bool,
        offset: u64,
        data: Vec<u8>,
    ) -> Self {
        Pes {
            pid,
            header,
            random_access,
            offset,
            data,
        }
    }

    /// The elementary stream bytes (after the header).
    pub fn payload(&self) -> &[u8] {
        self.data.get(self.header.payload_offset..).unwrap_or(&[])
    }

    pub fn pts(&self) -> Option<Timestamp33> {
        self.header.pts
    }

    /// DTS, or PTS when the DTS is absent (2.4.3.7: then they are equal).
    pub fn dts(&self) -> Option<Timestamp33> {
        self.header.dts.or(self.header.pts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(prefix: u8, ts: u64) -> [u8; 5] {
        [
            prefix << 4 | ((ts >> 29) as u8 & 0x0E) | 1,
            (ts >> 22) as u8,
            ((ts >> 14) as u8 & 0xFE) | 1,
            (ts >> 7) as u8,
            ((ts << 1) as u8 & 0xFE) | 1,
        ]
    }

    #[test]
    fn pts_and_dts() {
        let pts = (1u64 << 33) - 1;
        let dts = 126_000;
        let mut d = vec![0, 0, 1, 0xE0, 0, 0, 0x80, 0xC0, 10];
        d.extend_from_slice(&encode(3, pts));
        d.extend_from_slice(&encode(1, dts));
        d.extend_from_slice(&[0, 0, 0, 1, 9]);
        let h = parse_pes_header(&d, 0x100).unwrap();
        assert_eq!(h.pts.map(Timestamp33::get), Some(pts));
        assert_eq!(h.dts.map(Timestamp33::get), Some(dts));
        assert_eq!(h.payload_offset, 19);
    }

    #[test]
    fn header_beyond_data() {
        let d = [0, 0, 1, 0xE0, 0, 0, 0x80, 0x80, 10, 0x21];
        assert!(matches!(
            parse_pes_header(&d, 0x100),
            Err(TsError::Malformed { .. })
        ));
        let d = [0, 0, 2, 0xE0, 0, 0, 0x80, 0x00, 0];
        assert!(parse_pes_header(&d, 0x100).is_err());
    }
}
