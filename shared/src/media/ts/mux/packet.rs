//! Transport packets out (ISO/IEC 13818-1 2.4.3.2, Table 2-2): PSI sections in one packet
//! each, and PES packets split over as many packets as they need, with the adaptation field
//! (2.4.3.4, Table 2-6) carrying the PCR, the random access indicator and stuffing.

use super::ContinuityCounters;
use crate::media::ts::packet::{PACKET_SIZE, SYNC_BYTE};

/// Bytes of the packet header (sync byte to continuity counter).
const HEADER_LEN: usize = 4;
/// Payload bytes of a packet without adaptation field.
pub(super) const MAX_PAYLOAD: usize = PACKET_SIZE - HEADER_LEN;
/// `adaptation_field_control` (Table 2-5): payload only; adaptation field then payload.
const PAYLOAD_ONLY: u8 = 0x10;
const ADAPTATION_AND_PAYLOAD: u8 = 0x30;
/// Adaptation field flags (Table 2-6).
const RANDOM_ACCESS_INDICATOR: u8 = 0x40;
const PCR_FLAG: u8 = 0x10;
/// Bytes of `program_clock_reference` (33-bit base, 6 reserved, 9-bit extension).
const PCR_LEN: usize = 6;
/// Stuffing bytes (2.4.3.5: `stuffing_byte` 0xFF; PSI sections are followed by 0xFF too).
const STUFFING: u8 = 0xFF;
const STUFFING_RUN: [u8; MAX_PAYLOAD] = [STUFFING; MAX_PAYLOAD];

fn header(out: &mut Vec<u8>, pid: u16, payload_unit_start: bool, control: u8, cc: u8) {
    let pid = pid.to_be_bytes();
    out.extend_from_slice(&[
        SYNC_BYTE,
        // transport_error_indicator 0, payload_unit_start_indicator, transport_priority 0.
        (u8::from(payload_unit_start) << 6) | (pid[0] & 0x1F),
        pid[1],
        // transport_scrambling_control 00.
        control | (cc & 0x0F),
    ]);
}

/// One PSI section (with its CRC_32) in one packet: `pointer_field` 0, the section, 0xFF to
/// the end. Sections longer than a packet are never written (the caller checks).
pub(super) fn write_section(out: &mut Vec<u8>, pid: u16, cc: u8, section: &[u8]) {
    header(out, pid, true, PAYLOAD_ONLY, cc);
    out.push(0); // pointer_field
    out.extend_from_slice(section);
    let fill = MAX_PAYLOAD.saturating_sub(1 + section.len());
    out.extend_from_slice(&STUFFING_RUN[..fill]);
}

/// The bytes of a PES packet, gathered from a header and body pieces without copying them
/// into one buffer first.
struct Gather<'p> {
    head: &'p [u8],
    body: &'p [&'p [u8]],
    /// The piece being read: 0 is `head`, i + 1 is `body[i]`.
    piece: usize,
    offset: usize,
}

impl<'p> Gather<'p> {
    fn current(&self) -> Option<&'p [u8]> {
        match self.piece {
            0 => Some(self.head),
            i => self.body.get(i - 1).copied(),
        }
    }

    /// Appends the next `n` bytes (the caller knows they exist).
    fn copy(&mut self, out: &mut Vec<u8>, mut n: usize) {
        while n > 0 {
            let Some(piece) = self.current() else { return };
            let rest = piece.get(self.offset..).unwrap_or_default();
            let take = rest.len().min(n);
            out.extend_from_slice(&rest[..take]);
            n -= take;
            self.offset += take;
            if self.offset >= piece.len() {
                self.piece += 1;
                self.offset = 0;
            }
        }
    }
}

/// How the first packet of a PES packet is marked.
#[derive(Debug, Clone, Copy)]
pub(super) struct PesStart {
    /// `program_clock_reference_base` (90 kHz, 33 bits) for the PCR PID.
    pub pcr_base: Option<u64>,
    /// `random_access_indicator`: the PES packet starts an elementary stream access point.
    pub random_access: bool,
}

/// Writes a PES packet (`head` then the `body` pieces) as transport packets on `pid`.
/// Packets are full: the last one is padded with adaptation field stuffing (2.4.3.5).
pub(super) fn write_pes(
    out: &mut Vec<u8>,
    pid: u16,
    counters: &mut ContinuityCounters,
    start: PesStart,
    head: &[u8],
    body: &[&[u8]],
) {
    let total = head.len() + body.iter().map(|b| b.len()).sum::<usize>();
    let mut data = Gather {
        head,
        body,
        piece: 0,
        offset: 0,
    };
    let mut remaining = total;
    let mut first = true;
    while remaining > 0 {
        let mut flags = 0;
        let mut pcr = None;
        if first {
            if start.random_access {
                flags |= RANDOM_ACCESS_INDICATOR;
            }
            if let Some(base) = start.pcr_base {
                flags |= PCR_FLAG;
                pcr = Some(base);
            }
        }
        // adaptation_field_length and the flags byte, then the PCR when present.
        let fields = if flags != 0 {
            2 + if pcr.is_some() { PCR_LEN } else { 0 }
        } else {
            0
        };
        let n = remaining.min(MAX_PAYLOAD - fields);
        // Bytes of the whole adaptation field (with its length byte), stuffing included.
        let adaptation = MAX_PAYLOAD - n;
        let control = if adaptation > 0 {
            ADAPTATION_AND_PAYLOAD
        } else {
            PAYLOAD_ONLY
        };
        header(out, pid, first, control, counters.take(pid));
        if adaptation > 0 {
            // adaptation_field_length counts the bytes after itself (< 184).
            out.push(u8::try_from(adaptation - 1).unwrap_or(0));
            if adaptation > 1 {
                out.push(flags);
                if let Some(base) = pcr {
                    write_pcr(out, base);
                }
                let stuffing = adaptation - fields.max(2);
                out.extend_from_slice(&STUFFING_RUN[..stuffing]);
            }
        }
        data.copy(out, n);
        remaining -= n;
        first = false;
    }
}

/// `program_clock_reference_base` (33 bits), 6 reserved bits, `_extension` 0 (2.4.3.5).
fn write_pcr(out: &mut Vec<u8>, base: u64) {
    let b = ((base & ((1 << 33) - 1)) << 15).to_be_bytes(); // the 33 bits at the top of 48
    out.extend_from_slice(&[b[2], b[3], b[4], b[5], b[6] | 0x7E, 0x00]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcr_layout() {
        let mut out = Vec::new();
        write_pcr(&mut out, (1 << 33) - 1);
        assert_eq!(out, [0xFF, 0xFF, 0xFF, 0xFF, 0xFE, 0x00]);
        out.clear();
        write_pcr(&mut out, 1);
        assert_eq!(out, [0, 0, 0, 0, 0x80 | 0x7E, 0x00]);
    }

    #[test]
    fn pes_fills_whole_packets() {
        for len in [1usize, 100, 175, 176, 182, 183, 184, 185, 400] {
            let head = vec![0xAB; 14];
            let body = vec![7u8; len];
            let mut out = Vec::new();
            let mut cc = ContinuityCounters::default();
            let start = PesStart {
                pcr_base: Some(12345),
                random_access: true,
            };
            write_pes(&mut out, 0x100, &mut cc, start, &head, &[&body]);
            assert_eq!(out.len() % PACKET_SIZE, 0, "{len}");
            let mut payload = Vec::new();
            for p in out.chunks(PACKET_SIZE) {
                let packet = crate::media::ts::Packet::new(p).unwrap();
                payload.extend_from_slice(packet.payload().unwrap());
            }
            assert_eq!(payload.len(), 14 + len, "{len}");
            assert_eq!(
                cc.next(0x100),
                u8::try_from(out.len() / PACKET_SIZE).unwrap() % 16
            );
        }
    }
}
