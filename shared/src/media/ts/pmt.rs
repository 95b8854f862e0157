//! Program map table (ISO/IEC 13818-1 2.4.4.8, Table 2-33) and the stream types we carry
//! (Table 2-34).

use super::psi::Section;
use super::TsError;
use crate::media::reader::Reader;

/// `table_id` of a TS_program_map_section (Table 2-31).
pub const PMT_TABLE_ID: u8 = 0x02;

/// `stream_type` values (ISO/IEC 13818-1 Table 2-34).
pub mod stream_type {
    /// ISO/IEC 13818-7 AAC with ADTS transport syntax.
    pub const AAC_ADTS: u8 = 0x0F;
    /// ITU-T H.264 | ISO/IEC 14496-10.
    pub const H264: u8 = 0x1B;
    /// ITU-T H.265 | ISO/IEC 23008-2.
    pub const H265: u8 = 0x24;
}

/// What the remuxer can do with an elementary stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamKind {
    H264,
    H265,
    AacAdts,
    /// Any other `stream_type`: skipped with a warning.
    Unsupported(u8),
}

impl StreamKind {
    pub fn from_stream_type(stream_type: u8) -> Self {
        match stream_type {
            stream_type::H264 => StreamKind::H264,
            stream_type::H265 => StreamKind::H265,
            stream_type::AAC_ADTS => StreamKind::AacAdts,
            other => StreamKind::Unsupported(other),
        }
    }

    pub fn is_video(self) -> bool {
        matches!(self, StreamKind::H264 | StreamKind::H265)
    }

    pub fn is_audio(self) -> bool {
        matches!(self, StreamKind::AacAdts)
    }
}

/// One elementary stream of a program (the ES loop of Table 2-33).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PmtStream {
    pub stream_type: u8,
    pub elementary_pid: u16,
}

impl PmtStream {
    pub fn kind(&self) -> StreamKind {
        StreamKind::from_stream_type(self.stream_type)
    }
}

/// A parsed TS_program_map_section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pmt {
    pub program_number: u16,
    pub version_number: u8,
    pub pcr_pid: u16,
    pub streams: Vec<PmtStream>,
}

/// Parses a TS_program_map_section received on `pid`.
pub fn parse_pmt(section: &Section<'_>, pid: u16) -> Result<Pmt, TsError> {
    let malformed = |what| TsError::Malformed { pid, what };
    if section.table_id != PMT_TABLE_ID {
        return Err(malformed("PMT table_id is not 2"));
    }
    let mut r = Reader::new(section.body);
    let pcr_pid = r.u16().map_err(|_| malformed("PMT truncated"))? & 0x1FFF;
    let program_info_length =
        usize::from(r.u16().map_err(|_| malformed("PMT truncated"))? & 0x0FFF);
    r.skip(program_info_length)
        .map_err(|_| malformed("program_info_length beyond section"))?;
    let mut streams = Vec::new();
    while r.remaining() > 0 {
        let mut es = r.sub(5).map_err(|_| malformed("ES loop entry truncated"))?;
        let stream_type = es.u8().map_err(|_| malformed("ES loop entry truncated"))?;
        let elementary_pid = es.u16().map_err(|_| malformed("ES loop entry truncated"))? & 0x1FFF;
        let es_info_length =
            usize::from(es.u16().map_err(|_| malformed("ES loop entry truncated"))? & 0x0FFF);
        r.skip(es_info_length)
            .map_err(|_| malformed("ES_info_length beyond section"))?;
        streams.push(PmtStream {
            stream_type,
            elementary_pid,
        });
    }
    Ok(Pmt {
        program_number: section.table_id_extension,
        version_number: section.version_number,
        pcr_pid,
        streams,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::ts::crc::crc32_mpeg2;

    pub(crate) fn pmt_section(streams: &[(u8, u16)]) -> Vec<u8> {
        let mut body = vec![0xE1, 0x00, 0xF0, 0x00];
        for &(t, pid) in streams {
            body.push(t);
            body.extend_from_slice(&(0xE000 | pid).to_be_bytes());
            body.extend_from_slice(&[0xF0, 0x00]);
        }
        let section_length = u16::try_from(body.len() + 9).unwrap();
        let mut s = vec![0x02];
        s.extend_from_slice(&(0xB000 | section_length).to_be_bytes());
        s.extend_from_slice(&[0x00, 0x01, 0xC1, 0x00, 0x00]);
        s.extend_from_slice(&body);
        let crc = crc32_mpeg2(&s);
        s.extend_from_slice(&crc.to_be_bytes());
        s
    }

    #[test]
    fn streams_and_kinds() {
        let s = pmt_section(&[(0x1B, 0x100), (0x0F, 0x101), (0x06, 0x102)]);
        let pmt = parse_pmt(&Section::parse(&s, 0x1000).unwrap(), 0x1000).unwrap();
        assert_eq!(pmt.pcr_pid, 0x100);
        assert_eq!(pmt.streams.len(), 3);
        assert_eq!(pmt.streams[0].kind(), StreamKind::H264);
        assert_eq!(pmt.streams[1].kind(), StreamKind::AacAdts);
        assert_eq!(pmt.streams[2].kind(), StreamKind::Unsupported(6));
    }
}
