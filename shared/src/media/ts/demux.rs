//! The push-based transport stream demuxer: packets → PSI tables and PES packets per PID
//! (ISO/IEC 13818-1 2.4.3 and 2.4.4).

use super::packet::{Packet, NULL_PID, PACKET_SIZE, SYNC_BYTE};
use super::pat::{parse_pat, PAT_PID};
use super::pes::{parse_pes_header, pes_packet_length, Pes};
use super::pmt::{parse_pmt, Pmt, StreamKind};
use super::psi::{Section, SectionAssembler};
use super::{TsError, TsEvent, TsWarning};
use crate::media::reader::len_u64;
use std::collections::VecDeque;

/// Largest PES packet the demuxer reassembles (a generous bound for one coded picture of
/// 4K intra video); a larger one is dropped with [`TsError::PesTooLarge`].
pub const MAX_PES_BYTES: usize = 32 << 20;

/// Reassembly state of one elementary stream PID.
#[derive(Debug)]
struct EsState {
    pid: u16,
    continuity_counter: Option<u8>,
    /// Bytes of the PES being assembled, from `packet_start_code_prefix`.
    buf: Vec<u8>,
    active: bool,
    start_offset: u64,
    random_access: bool,
    /// Size of the last PES, to size the next buffer in one allocation.
    last_size: usize,
}

/// State of one PMT PID.
#[derive(Debug)]
struct PmtState {
    pid: u16,
    assembler: SectionAssembler,
    version_number: Option<u8>,
}

/// Demultiplexes a transport stream into [`TsEvent`]s; see the module documentation.
#[derive(Debug, Default)]
pub struct Demuxer {
    /// Undecided input bytes (at most one packet).
    carry: Vec<u8>,
    /// Stream offset of the first byte not yet consumed.
    offset: u64,
    /// Bytes skipped so far while out of sync (`None` while in sync).
    lost: Option<u64>,
    pat: SectionAssembler,
    pat_seen: bool,
    pmts: Vec<PmtState>,
    streams: Vec<EsState>,
    unsupported: Vec<u16>,
    events: VecDeque<TsEvent>,
}

impl Demuxer {
    pub fn new() -> Self {
        Self::default()
    }

    /// The next event, if any.
    pub fn poll(&mut self) -> Option<TsEvent> {
        self.events.pop_front()
    }

    /// True once a PAT was parsed.
    pub fn pat_seen(&self) -> bool {
        self.pat_seen
    }

    /// PMT PIDs named by the PAT on which no valid PMT has arrived (yet).
    pub fn missing_pmts(&self) -> impl Iterator<Item = u16> + '_ {
        self.pmts
            .iter()
            .filter(|p| p.version_number.is_none())
            .map(|p| p.pid)
    }

    /// Feeds bytes; packets may be split across calls. The events do not depend on how the
    /// input is split.
    pub fn push(&mut self, data: &[u8]) {
        let mut rest = data;
        if !self.carry.is_empty() {
            // Enough bytes to decide everything the carry holds (at most one packet plus the
            // one-packet look-ahead of resync).
            let take = rest.len().min(2 * PACKET_SIZE);
            let old = self.carry.len();
            let mut carry = std::mem::take(&mut self.carry);
            carry.extend_from_slice(&rest[..take]);
            let n = self.consume(&carry, false);
            if n < old {
                // Only when all of `data` went into the carry (more would have decided it).
                carry.drain(..n);
                carry.extend_from_slice(&rest[take..]);
                self.carry = carry;
                return;
            }
            rest = &rest[n - old..];
            carry.clear();
            self.carry = carry;
        }
        let n = self.consume(rest, false);
        self.carry.extend_from_slice(&rest[n..]);
    }

    /// Ends the input: reports a trailing partial packet and emits the PES packets still being
    /// assembled (those shorter than their `PES_packet_length` are dropped with a warning).
    pub fn finish(&mut self) {
        let carry = std::mem::take(&mut self.carry);
        self.consume(&carry, true);
        if let Some(skipped) = self.lost.take() {
            self.warn(TsWarning::LostSync {
                offset: self.offset,
                skipped,
            });
        }
        for i in 0..self.streams.len() {
            self.flush_pes(i);
        }
    }

    /// Processes the packets of `buf` (which starts at `self.offset`) as far as they can be
    /// decided without more input (all of it when `at_end`); returns the bytes consumed,
    /// leaving at most one packet's worth undecided.
    fn consume(&mut self, buf: &[u8], at_end: bool) -> usize {
        let mut pos = 0;
        while pos < buf.len() {
            let rest = &buf[pos..];
            if let Some(lost) = self.lost {
                // Resync: the next 0x47 that is followed by another one a packet later.
                let mut i = 0;
                let found = loop {
                    match rest.get(i) {
                        None => break None,
                        Some(&SYNC_BYTE) => match rest.get(i + PACKET_SIZE) {
                            Some(&SYNC_BYTE) => break Some(i),
                            Some(_) => {}
                            // No look-ahead: decide when more input (or the end) arrives.
                            None if at_end => break Some(i),
                            None => {
                                self.lost = Some(lost + len_u64(i));
                                self.offset += len_u64(i);
                                return pos + i;
                            }
                        },
                        Some(_) => {}
                    }
                    i += 1;
                };
                let Some(i) = found else {
                    self.lost = Some(lost + len_u64(rest.len()));
                    self.offset += len_u64(rest.len());
                    return buf.len();
                };
                self.offset += len_u64(i);
                pos += i;
                self.lost = None;
                self.warn(TsWarning::LostSync {
                    offset: self.offset,
                    skipped: lost + len_u64(i),
                });
                continue;
            }
            if rest[0] != SYNC_BYTE {
                self.lost = Some(0);
                continue;
            }
            if rest.len() < PACKET_SIZE {
                if !at_end {
                    return pos;
                }
                self.warn(TsWarning::Error {
                    offset: self.offset,
                    error: TsError::NeedMoreData {
                        needed: PACKET_SIZE - rest.len(),
                    },
                });
                self.offset += len_u64(rest.len());
                return buf.len();
            }
            self.packet_at(&rest[..PACKET_SIZE], self.offset);
            self.offset += len_u64(PACKET_SIZE);
            pos += PACKET_SIZE;
        }
        pos
    }

    fn warn(&mut self, warning: TsWarning) {
        self.events.push_back(TsEvent::Warning(warning));
    }

    fn packet_at(&mut self, bytes: &[u8], offset: u64) {
        let packet = match Packet::new(bytes) {
            Ok(p) => p,
            Err(error) => return self.warn(TsWarning::Error { offset, error }),
        };
        let pid = packet.pid();
        if pid == NULL_PID {
            return;
        }
        if packet.transport_error_indicator() {
            return self.warn(TsWarning::TransportError { pid, offset });
        }
        if packet.transport_scrambling_control() != 0 && packet.has_payload() {
            return self.warn(TsWarning::Scrambled { pid, offset });
        }
        if let Err(error) = self.dispatch(packet, offset) {
            self.warn(TsWarning::Error { offset, error });
        }
    }

    fn dispatch(&mut self, packet: Packet<'_>, offset: u64) -> Result<(), TsError> {
        let pid = packet.pid();
        if let Some(i) = self.streams.iter().position(|s| s.pid == pid) {
            return self.es_packet(i, packet, offset);
        }
        if pid == PAT_PID {
            let payload = packet.payload()?;
            let mut pat = std::mem::take(&mut self.pat);
            let mut sections = Vec::new();
            let r = pat.push(pid, payload, packet.payload_unit_start_indicator(), |s| {
                let section = Section::parse(s, pid)?;
                sections.extend(parse_pat(&section)?);
                Ok(())
            });
            self.pat = pat;
            for entry in sections {
                self.pat_seen = true;
                if !self.pmts.iter().any(|p| p.pid == entry.program_map_pid) {
                    self.pmts.push(PmtState {
                        pid: entry.program_map_pid,
                        assembler: SectionAssembler::default(),
                        version_number: None,
                    });
                }
            }
            return r;
        }
        if let Some(i) = self.pmts.iter().position(|p| p.pid == pid) {
            let payload = packet.payload()?;
            let mut found = Vec::new();
            let r = self.pmts[i].assembler.push(
                pid,
                payload,
                packet.payload_unit_start_indicator(),
                |s| {
                    let section = Section::parse(s, pid)?;
                    found.push(parse_pmt(&section, pid)?);
                    Ok(())
                },
            );
            for pmt in found {
                self.on_pmt(i, pmt);
            }
            return r;
        }
        Ok(())
    }

    fn on_pmt(&mut self, i: usize, pmt: Pmt) {
        if self.pmts[i].version_number == Some(pmt.version_number) {
            return;
        }
        self.pmts[i].version_number = Some(pmt.version_number);
        for stream in &pmt.streams {
            let pid = stream.elementary_pid;
            match stream.kind() {
                StreamKind::Unsupported(stream_type) => {
                    if !self.unsupported.contains(&pid) {
                        self.unsupported.push(pid);
                        self.warn(TsWarning::UnsupportedStream { pid, stream_type });
                    }
                }
                _ if self.streams.iter().any(|s| s.pid == pid) => {}
                _ => self.streams.push(EsState {
                    pid,
                    continuity_counter: None,
                    buf: Vec::new(),
                    active: false,
                    start_offset: 0,
                    random_access: false,
                    last_size: 0,
                }),
            }
        }
        self.events.push_back(TsEvent::Pmt(pmt));
    }

    fn es_packet(&mut self, i: usize, packet: Packet<'_>, offset: u64) -> Result<(), TsError> {
        let pid = packet.pid();
        let af = packet.adaptation_field()?;
        let discontinuity = af.is_some_and(|a| a.discontinuity_indicator());
        let random_access = af.is_some_and(|a| a.random_access_indicator());
        if packet.has_payload() {
            let cc = packet.continuity_counter();
            let state = &mut self.streams[i];
            match state.continuity_counter {
                // 2.4.3.3: one duplicate packet may follow the original; drop it.
                Some(last) if last == cc && !discontinuity => return Ok(()),
                Some(last) if (last + 1) & 0xF != cc && !discontinuity => {
                    state.continuity_counter = Some(cc);
                    self.warn(TsWarning::Continuity {
                        pid,
                        offset,
                        expected: (last + 1) & 0xF,
                        found: cc,
                    });
                }
                _ => state.continuity_counter = Some(cc),
            }
        }
        let payload = packet.payload()?;
        if packet.payload_unit_start_indicator() {
            self.flush_pes(i);
            let state = &mut self.streams[i];
            state.active = true;
            state.start_offset = offset;
            state.random_access = random_access;
            state.buf.reserve(state.last_size.max(PACKET_SIZE));
        }
        let state = &mut self.streams[i];
        if !state.active || payload.is_empty() {
            return Ok(());
        }
        if state.buf.len() + payload.len() > MAX_PES_BYTES {
            state.buf.clear();
            state.active = false;
            return Err(TsError::PesTooLarge { pid });
        }
        state.buf.extend_from_slice(payload);
        if let Some(len) = pes_packet_length(&state.buf).filter(|&l| l != 0) {
            let declared = 6 + usize::from(len);
            if state.buf.len() >= declared {
                let extra = state.buf.len() - declared;
                state.buf.truncate(declared);
                self.flush_pes(i);
                // Bytes after a bounded PES and before the next start are not ours.
                if extra > 0 && payload.iter().rev().take(extra).any(|&b| b != 0xFF) {
                    return Err(TsError::Malformed {
                        pid,
                        what: "payload beyond PES_packet_length",
                    });
                }
            }
        }
        Ok(())
    }

    /// Emits the PES being assembled on stream `i`, if any.
    fn flush_pes(&mut self, i: usize) {
        let state = &mut self.streams[i];
        if !state.active {
            return;
        }
        state.active = false;
        let data = std::mem::take(&mut state.buf);
        let (pid, offset, random_access) = (state.pid, state.start_offset, state.random_access);
        state.last_size = data.len();
        let header = match parse_pes_header(&data, pid) {
            Ok(h) => h,
            Err(error) => return self.warn(TsWarning::Error { offset, error }),
        };
        if let Some(declared) = header.declared_size() {
            if data.len() < declared {
                return self.warn(TsWarning::Error {
                    offset,
                    error: TsError::PesLengthBeyondData {
                        pid,
                        declared,
                        available: data.len(),
                    },
                });
            }
        }
        self.events.push_back(TsEvent::Pes(Pes::new(
            pid,
            header,
            random_access,
            offset,
            data,
        )));
    }
}
