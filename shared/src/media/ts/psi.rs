//! Program-specific information sections with `section_syntax_indicator` = 1
//! (ISO/IEC 13818-1 2.4.4, Table 2-30 header), CRC-checked, and their reassembly from packets.

use super::crc::crc32_mpeg2;
use super::TsError;
use crate::media::reader::Reader;

/// Largest `section_length` of a PAT or PMT (2.4.4.4, 2.4.4.9): 1021 bytes.
pub const MAX_SECTION_LENGTH: usize = 1021;

/// A long-form PSI section with a verified CRC_32.
#[derive(Debug, Clone, Copy)]
pub struct Section<'a> {
    pub table_id: u8,
    /// `transport_stream_id` in a PAT, `program_number` in a PMT.
    pub table_id_extension: u16,
    pub version_number: u8,
    pub current_next_indicator: bool,
    pub section_number: u8,
    pub last_section_number: u8,
    /// Bytes after `last_section_number`, up to the CRC_32.
    pub body: &'a [u8],
}

impl<'a> Section<'a> {
    /// Parses one complete section starting at `table_id`. `pid` is for error context.
    pub fn parse(data: &'a [u8], pid: u16) -> Result<Self, TsError> {
        let malformed = |what| TsError::Malformed { pid, what };
        let mut r = Reader::new(data);
        let head = r
            .take(3)
            .map_err(|_| malformed("section header truncated"))?;
        let table_id = head[0];
        if head[1] & 0x80 == 0 {
            return Err(malformed("section_syntax_indicator is 0"));
        }
        let section_length = usize::from(u16::from_be_bytes([head[1] & 0x0F, head[2]]));
        if !(9..=MAX_SECTION_LENGTH).contains(&section_length) {
            return Err(malformed("section_length out of range"));
        }
        let whole = data
            .get(..3 + section_length)
            .ok_or(malformed("section_length beyond data"))?;
        let (covered, crc) = whole.split_at(whole.len() - 4);
        let expected = u32::from_be_bytes([crc[0], crc[1], crc[2], crc[3]]);
        if crc32_mpeg2(covered) != expected {
            return Err(TsError::Crc { pid, table_id });
        }
        let mut r = Reader::new(&covered[3..]);
        let fields = r
            .take(5)
            .map_err(|_| malformed("section header truncated"))?;
        Ok(Section {
            table_id,
            table_id_extension: u16::from_be_bytes([fields[0], fields[1]]),
            version_number: (fields[2] >> 1) & 0x1F,
            current_next_indicator: fields[2] & 0x1 != 0,
            section_number: fields[3],
            last_section_number: fields[4],
            body: r.rest(),
        })
    }
}

/// Total size (header + `section_length`) of the section at the start of `data`, if its first
/// three bytes are present.
fn section_size(data: &[u8]) -> Option<usize> {
    let b = data.get(..3)?;
    Some(3 + usize::from(u16::from_be_bytes([b[1] & 0x0F, b[2]])))
}

/// Collects the bytes of PSI sections on one PID across packets (2.4.4.2 `pointer_field`).
/// Memory is bounded by one section of at most [`MAX_SECTION_LENGTH`] + 3 bytes.
#[derive(Debug, Default)]
pub struct SectionAssembler {
    buf: Vec<u8>,
    active: bool,
}

impl SectionAssembler {
    /// Feeds one packet payload; calls `on_section` with every complete section's bytes and
    /// returns the first error met (the other sections are still delivered).
    pub fn push(
        &mut self,
        pid: u16,
        payload: &[u8],
        payload_unit_start_indicator: bool,
        mut on_section: impl FnMut(&[u8]) -> Result<(), TsError>,
    ) -> Result<(), TsError> {
        let mut first_error = None;
        let mut rest = payload;
        if payload_unit_start_indicator {
            let Some((&pointer, after)) = rest.split_first() else {
                self.reset();
                return Err(TsError::Malformed {
                    pid,
                    what: "missing pointer_field",
                });
            };
            let pointer = usize::from(pointer);
            let Some(tail) = after.get(..pointer) else {
                self.reset();
                return Err(TsError::Malformed {
                    pid,
                    what: "pointer_field beyond packet",
                });
            };
            if self.active {
                self.buf.extend_from_slice(tail);
                self.drain(pid, &mut on_section, &mut first_error);
            }
            self.reset();
            self.active = true;
            rest = &after[pointer..];
        } else if !self.active {
            return Ok(());
        }
        self.buf.extend_from_slice(rest);
        self.drain(pid, &mut on_section, &mut first_error);
        first_error.map_or(Ok(()), Err)
    }

    fn reset(&mut self) {
        self.buf.clear();
        self.active = false;
    }

    /// Delivers the complete sections at the front of the buffer; keeps an incomplete one.
    fn drain(
        &mut self,
        pid: u16,
        on_section: &mut impl FnMut(&[u8]) -> Result<(), TsError>,
        first_error: &mut Option<TsError>,
    ) {
        let mut start = 0;
        while self.active {
            let data = &self.buf[start..];
            // 0xFF after a section is stuffing up to the end of the packet (2.4.4.1).
            match data.first() {
                None => break,
                Some(0xFF) => {
                    self.active = false;
                    break;
                }
                Some(_) => {}
            }
            let Some(size) = section_size(data) else {
                break;
            };
            if size > MAX_SECTION_LENGTH + 3 {
                first_error.get_or_insert(TsError::Malformed {
                    pid,
                    what: "section_length out of range",
                });
                self.active = false;
                break;
            }
            let Some(section) = data.get(..size) else {
                break;
            };
            if let Err(e) = on_section(section) {
                first_error.get_or_insert(e);
            }
            start += size;
        }
        if self.active {
            self.buf.drain(..start);
        } else {
            self.buf.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PAT section for program 1 on PMT PID 0x1000 (ffmpeg's default layout).
    pub(crate) fn pat_section() -> Vec<u8> {
        let mut s = vec![
            0x00, 0xB0, 0x0D, 0x00, 0x01, 0xC1, 0x00, 0x00, 0x00, 0x01, 0xF0, 0x00,
        ];
        let crc = crc32_mpeg2(&s);
        s.extend_from_slice(&crc.to_be_bytes());
        s
    }

    #[test]
    fn parses_and_checks_crc() {
        let s = pat_section();
        let section = Section::parse(&s, 0).unwrap();
        assert_eq!(section.table_id, 0);
        assert_eq!(section.table_id_extension, 1);
        assert_eq!(section.body, &[0x00, 0x01, 0xF0, 0x00]);
        let mut bad = s.clone();
        bad[9] ^= 1;
        assert!(matches!(Section::parse(&bad, 0), Err(TsError::Crc { .. })));
        assert!(matches!(
            Section::parse(&s[..10], 0),
            Err(TsError::Malformed { .. })
        ));
    }

    #[test]
    fn reassembles_across_packets() {
        let s = pat_section();
        let mut first = vec![0u8];
        first.extend_from_slice(&s[..5]);
        let mut got = Vec::new();
        let mut asm = SectionAssembler::default();
        asm.push(0, &first, true, |b| {
            got.push(b.to_vec());
            Ok(())
        })
        .unwrap();
        assert!(got.is_empty());
        let mut second = s[5..].to_vec();
        second.extend_from_slice(&[0xFF; 20]);
        asm.push(0, &second, false, |b| {
            got.push(b.to_vec());
            Ok(())
        })
        .unwrap();
        assert_eq!(got, vec![s]);
    }

    #[test]
    fn pointer_beyond_packet() {
        let mut asm = SectionAssembler::default();
        let r = asm.push(0, &[50, 0, 0], true, |_| Ok(()));
        assert!(matches!(r, Err(TsError::Malformed { .. })));
    }
}
