//! MPEG-2 transport stream demultiplexing (ISO/IEC 13818-1).
//!
//! [`Demuxer`] is a push-based state machine: [`Demuxer::push`] bytes in any chunking,
//! [`Demuxer::poll`] events ([`TsEvent`]) until `None`, [`Demuxer::finish`] at end of input.
//! Damage in the stream (lost sync, continuity-counter gaps, bad CRCs, truncated PES packets,
//! unsupported streams) is reported as [`TsEvent::Warning`] and skipped; nothing panics.

mod crc;
mod demux;
pub mod filter;
pub mod mux;
pub mod packet;
pub mod pat;
pub mod pes;
pub mod pmt;
mod probe;
pub mod psi;

pub use crc::crc32_mpeg2;
pub use demux::{Demuxer, MAX_PES_BYTES};
pub use packet::{Packet, PACKET_SIZE};
pub use pes::{Pes, PesHeader};
pub use pmt::{Pmt, PmtStream, StreamKind};
pub use probe::{first_pts, probe_streams};

use std::fmt;

/// Errors of the transport stream layer. [`TsError::NeedMoreData`] means the input stopped
/// early (more bytes would help); every other variant means the bytes present are wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TsError {
    /// The input ends inside a structure; `needed` more bytes were expected.
    NeedMoreData { needed: usize },
    /// A packet does not start with `sync_byte` 0x47 (2.4.3.3).
    SyncByte { offset: u64, found: u8 },
    /// A field has a value the syntax forbids.
    Malformed { pid: u16, what: &'static str },
    /// A PSI section's CRC_32 does not match (Annex A).
    Crc { pid: u16, table_id: u8 },
    /// A PES packet declares more bytes (`PES_packet_length`) than arrived before the next
    /// PES or the end of input.
    PesLengthBeyondData {
        pid: u16,
        declared: usize,
        available: usize,
    },
    /// A PES packet grew beyond [`MAX_PES_BYTES`].
    PesTooLarge { pid: u16 },
    /// No program association table in the input.
    MissingPat,
    /// The PAT names a PMT PID on which no valid program map section arrived.
    MissingPmt { pid: u16 },
}

impl TsError {
    /// True when the input was cut short, as opposed to malformed.
    pub fn is_need_more_data(&self) -> bool {
        matches!(self, TsError::NeedMoreData { .. })
    }
}

impl fmt::Display for TsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TsError::NeedMoreData { needed } => {
                write!(f, "transport stream truncated: {needed} more bytes needed")
            }
            TsError::SyncByte { offset, found } => {
                write!(
                    f,
                    "sync_byte 0x{found:02x} instead of 0x47 at byte {offset}"
                )
            }
            TsError::Malformed { pid, what } => write!(f, "PID 0x{pid:04x}: {what}"),
            TsError::Crc { pid, table_id } => {
                write!(
                    f,
                    "PID 0x{pid:04x}: CRC_32 mismatch in table_id 0x{table_id:02x}"
                )
            }
            TsError::PesLengthBeyondData {
                pid,
                declared,
                available,
            } => write!(
                f,
                "PID 0x{pid:04x}: PES_packet_length declares {declared} bytes, {available} present"
            ),
            TsError::PesTooLarge { pid } => {
                write!(
                    f,
                    "PID 0x{pid:04x}: PES packet larger than {MAX_PES_BYTES} bytes"
                )
            }
            TsError::MissingPat => write!(f, "no program association table"),
            TsError::MissingPmt { pid } => {
                write!(
                    f,
                    "PAT points to PMT PID 0x{pid:04x}, which carries no program map"
                )
            }
        }
    }
}

impl std::error::Error for TsError {}

/// Something the demuxer noticed and skipped; the stream goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TsWarning {
    /// `continuity_counter` jumped (2.4.3.3): packets were lost on `pid`.
    Continuity {
        pid: u16,
        offset: u64,
        expected: u8,
        found: u8,
    },
    /// `skipped` bytes before `offset` did not belong to aligned packets.
    LostSync { offset: u64, skipped: u64 },
    /// An elementary stream whose `stream_type` the remuxer does not handle.
    UnsupportedStream { pid: u16, stream_type: u8 },
    /// `transport_error_indicator` set: the packet was dropped.
    TransportError { pid: u16, offset: u64 },
    /// `transport_scrambling_control` set (2.4.3.3): the packet was dropped; encrypted
    /// transport streams are not supported.
    Scrambled { pid: u16, offset: u64 },
    /// A structure at `offset` was malformed and dropped.
    Error { offset: u64, error: TsError },
}

impl fmt::Display for TsWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TsWarning::Continuity {
                pid,
                offset,
                expected,
                found,
            } => write!(
                f,
                "PID 0x{pid:04x}: continuity_counter {found}, expected {expected}, at byte {offset}"
            ),
            TsWarning::LostSync { offset, skipped } => {
                write!(f, "lost sync: skipped {skipped} bytes before byte {offset}")
            }
            TsWarning::UnsupportedStream { pid, stream_type } => write!(
                f,
                "PID 0x{pid:04x}: stream_type 0x{stream_type:02x} not supported, skipped"
            ),
            TsWarning::TransportError { pid, offset } => write!(
                f,
                "PID 0x{pid:04x}: transport_error_indicator set at byte {offset}"
            ),
            TsWarning::Scrambled { pid, offset } => write!(
                f,
                "PID 0x{pid:04x}: scrambled packet dropped at byte {offset}"
            ),
            TsWarning::Error { offset, error } => write!(f, "at byte {offset}: {error}"),
        }
    }
}

/// What [`Demuxer::poll`] yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TsEvent {
    /// A program map table arrived for the first time or with a new `version_number`.
    Pmt(Pmt),
    /// A complete PES packet of a supported elementary stream.
    Pes(Pes),
    Warning(TsWarning),
}
