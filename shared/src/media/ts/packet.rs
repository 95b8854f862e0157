//! Transport stream packet (ISO/IEC 13818-1 2.4.3.2) and adaptation field (2.4.3.4) views.

use super::TsError;

/// Size of a transport stream packet in bytes.
pub const PACKET_SIZE: usize = 188;
/// `sync_byte` (ISO/IEC 13818-1 2.4.3.3).
pub const SYNC_BYTE: u8 = 0x47;
/// The null packet PID (Table 2-3).
pub const NULL_PID: u16 = 0x1FFF;

/// A borrowed view over one 188-byte transport packet (ISO/IEC 13818-1 2.4.3.2).
#[derive(Clone, Copy)]
pub struct Packet<'a> {
    bytes: &'a [u8; PACKET_SIZE],
}

impl<'a> Packet<'a> {
    /// Views the first 188 bytes of `data`. Fewer bytes is [`TsError::NeedMoreData`]; a wrong
    /// first byte is [`TsError::SyncByte`].
    pub fn new(data: &'a [u8]) -> Result<Self, TsError> {
        let Some(head) = data.first_chunk::<PACKET_SIZE>() else {
            return Err(TsError::NeedMoreData {
                needed: PACKET_SIZE - data.len(),
            });
        };
        if head[0] != SYNC_BYTE {
            return Err(TsError::SyncByte {
                offset: 0,
                found: head[0],
            });
        }
        Ok(Packet { bytes: head })
    }

    pub fn as_bytes(&self) -> &'a [u8; PACKET_SIZE] {
        self.bytes
    }

    pub fn transport_error_indicator(&self) -> bool {
        self.bytes[1] & 0x80 != 0
    }

    pub fn payload_unit_start_indicator(&self) -> bool {
        self.bytes[1] & 0x40 != 0
    }

    pub fn pid(&self) -> u16 {
        u16::from_be_bytes([self.bytes[1] & 0x1F, self.bytes[2]])
    }

    pub fn transport_scrambling_control(&self) -> u8 {
        self.bytes[3] >> 6
    }

    /// `adaptation_field_control`: bit 1 = adaptation field present, bit 0 = payload present.
    pub fn adaptation_field_control(&self) -> u8 {
        (self.bytes[3] >> 4) & 0x3
    }

    pub fn continuity_counter(&self) -> u8 {
        self.bytes[3] & 0xF
    }

    pub fn has_payload(&self) -> bool {
        self.adaptation_field_control() & 0x1 != 0
    }

    /// The adaptation field, if present and well-formed.
    pub fn adaptation_field(&self) -> Result<Option<AdaptationField<'a>>, TsError> {
        if self.adaptation_field_control() & 0x2 == 0 {
            return Ok(None);
        }
        let len = usize::from(self.bytes[4]);
        // 2.4.3.5: at most 183 bytes with payload, exactly 183 without.
        if 5 + len > PACKET_SIZE {
            return Err(TsError::Malformed {
                pid: self.pid(),
                what: "adaptation_field_length beyond packet",
            });
        }
        Ok(Some(AdaptationField {
            bytes: &self.bytes[5..5 + len],
        }))
    }

    /// The payload bytes after the header and adaptation field (empty if none).
    pub fn payload(&self) -> Result<&'a [u8], TsError> {
        if !self.has_payload() {
            return Ok(&[]);
        }
        let start = match self.adaptation_field_control() & 0x2 {
            0 => 4,
            _ => 5 + usize::from(self.bytes[4]),
        };
        self.bytes.get(start..).ok_or(TsError::Malformed {
            pid: self.pid(),
            what: "adaptation_field_length beyond packet",
        })
    }
}

impl std::fmt::Debug for Packet<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Packet")
            .field("pid", &self.pid())
            .field("pusi", &self.payload_unit_start_indicator())
            .field("cc", &self.continuity_counter())
            .finish()
    }
}

/// A borrowed view over an adaptation field body (ISO/IEC 13818-1 2.4.3.4), after its length.
#[derive(Debug, Clone, Copy)]
pub struct AdaptationField<'a> {
    bytes: &'a [u8],
}

impl AdaptationField<'_> {
    fn flags(&self) -> u8 {
        self.bytes.first().copied().unwrap_or(0)
    }

    pub fn discontinuity_indicator(&self) -> bool {
        self.flags() & 0x80 != 0
    }

    pub fn random_access_indicator(&self) -> bool {
        self.flags() & 0x40 != 0
    }

    /// `program_clock_reference_base` (90 kHz part of the PCR), when `PCR_flag` is set.
    pub fn pcr_base(&self) -> Option<u64> {
        if self.flags() & 0x10 == 0 {
            return None;
        }
        let b = self.bytes.get(1..6)?;
        Some(
            (u64::from(b[0]) << 25)
                | (u64::from(b[1]) << 17)
                | (u64::from(b[2]) << 9)
                | (u64::from(b[3]) << 1)
                | (u64::from(b[4]) >> 7),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(header: [u8; 4]) -> [u8; PACKET_SIZE] {
        let mut p = [0xFF; PACKET_SIZE];
        p[..4].copy_from_slice(&header);
        p
    }

    #[test]
    fn header_fields() {
        let p = packet([0x47, 0x41, 0x00, 0x1A]);
        let p = Packet::new(&p).unwrap();
        assert!(p.payload_unit_start_indicator());
        assert_eq!(p.pid(), 0x100);
        assert_eq!(p.adaptation_field_control(), 1);
        assert_eq!(p.continuity_counter(), 0xA);
        assert_eq!(p.payload().unwrap().len(), 184);
    }

    #[test]
    fn short_and_bad_sync() {
        assert!(matches!(
            Packet::new(&[0x47; 10]),
            Err(TsError::NeedMoreData { needed: 178 })
        ));
        let p = packet([0x48, 0, 0, 0x10]);
        assert!(matches!(
            Packet::new(&p),
            Err(TsError::SyncByte { found: 0x48, .. })
        ));
    }

    #[test]
    fn adaptation_field_bounds() {
        let mut p = packet([0x47, 0x00, 0x11, 0x30]);
        p[4] = 200;
        let p = Packet::new(&p).unwrap();
        assert!(p.adaptation_field().is_err());
        assert!(p.payload().is_err());
    }

    #[test]
    fn random_access_and_pcr() {
        let mut p = packet([0x47, 0x01, 0x00, 0x30]);
        p[4] = 7;
        p[5] = 0x50;
        p[6..11].copy_from_slice(&[0, 0, 0, 1, 0x80]);
        let p = Packet::new(&p).unwrap();
        let af = p.adaptation_field().unwrap().unwrap();
        assert!(af.random_access_indicator());
        assert_eq!(af.pcr_base(), Some(3));
        assert_eq!(p.payload().unwrap().len(), 188 - 12);
    }
}
