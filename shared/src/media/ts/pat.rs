//! Program association table (ISO/IEC 13818-1 2.4.4.3, Table 2-30).

use super::psi::Section;
use super::TsError;

/// `table_id` of a program_association_section (Table 2-31).
pub const PAT_TABLE_ID: u8 = 0x00;
/// The PAT's PID (Table 2-3).
pub const PAT_PID: u16 = 0x0000;

/// One `program_number` → `program_map_PID` entry; program 0 (the network PID) is left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PatEntry {
    pub program_number: u16,
    pub program_map_pid: u16,
}

/// Parses a program_association_section into its programs.
pub fn parse_pat(section: &Section<'_>) -> Result<Vec<PatEntry>, TsError> {
    if section.table_id != PAT_TABLE_ID {
        return Err(TsError::Malformed {
            pid: PAT_PID,
            what: "PAT table_id is not 0",
        });
    }
    if !section.body.len().is_multiple_of(4) {
        return Err(TsError::Malformed {
            pid: PAT_PID,
            what: "PAT program loop not a multiple of 4 bytes",
        });
    }
    Ok(section
        .body
        .chunks_exact(4)
        .map(|e| PatEntry {
            program_number: u16::from_be_bytes([e[0], e[1]]),
            program_map_pid: u16::from_be_bytes([e[2] & 0x1F, e[3]]),
        })
        .filter(|e| e.program_number != 0)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::ts::crc::crc32_mpeg2;

    #[test]
    fn one_program() {
        let mut s = vec![0x00, 0xB0, 0x11, 0x00, 0x01, 0xC1, 0x00, 0x00];
        s.extend_from_slice(&[0x00, 0x00, 0xE0, 0x10]); // network PID, skipped
        s.extend_from_slice(&[0x00, 0x01, 0xF0, 0x00]);
        let crc = crc32_mpeg2(&s);
        s.extend_from_slice(&crc.to_be_bytes());
        let section = Section::parse(&s, 0).unwrap();
        assert_eq!(
            parse_pat(&section).unwrap(),
            vec![PatEntry {
                program_number: 1,
                program_map_pid: 0x1000
            }]
        );
    }
}
