//! Audio separation for HLS with TS segments: one kind of elementary stream kept out of a
//! transport stream segment (ISO/IEC 13818-1 2.4.4). The PAT passes as it is, the PMT is
//! rewritten to list only the kept streams, their packets pass as they are, everything else
//! is dropped. Timestamps and continuity counters are untouched, so consecutive filtered
//! segments continue each other.

use crate::media::mp4::TrackKind;
use crate::media::ts::pat::{parse_pat, PAT_PID};
use crate::media::ts::pmt::parse_pmt;
use crate::media::ts::psi::Section;
use crate::media::ts::{crc32_mpeg2, Packet, PmtStream, PACKET_SIZE};

/// `PCR_PID` value for a program without a PCR (2.4.4.9).
const NO_PCR: u16 = 0x1FFF;

/// Why a segment could not be filtered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterError {
    /// No PAT and PMT that fit in single packets before the media.
    NoProgram,
    /// The program has no stream of the wanted kind.
    NoStream(TrackKind),
}

impl std::fmt::Display for FilterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FilterError::NoProgram => f.write_str("no single-packet PAT/PMT in the segment"),
            FilterError::NoStream(k) => write!(f, "no {} stream in the segment", k.name()),
        }
    }
}

impl std::error::Error for FilterError {}

fn wanted(stream: &PmtStream, kind: TrackKind) -> bool {
    match kind {
        TrackKind::Video => stream.kind().is_video(),
        TrackKind::Audio => stream.kind().is_audio(),
    }
}

/// The packets of `ts` that carry streams of `kind`, with a PMT that lists only those.
pub fn keep_only(ts: &[u8], kind: TrackKind) -> Result<Vec<u8>, FilterError> {
    let mut pmt_pid: Option<u16> = None;
    let mut keep: Vec<u16> = Vec::new();
    let mut out = Vec::with_capacity(ts.len() / 2);
    for chunk in ts.chunks_exact(PACKET_SIZE) {
        let Ok(packet) = Packet::new(chunk) else {
            continue;
        };
        let pid = packet.pid();
        if pid == PAT_PID {
            if packet.payload_unit_start_indicator() {
                if let Some(p) = section(&packet)
                    .and_then(|s| parse_pat(&s).ok())
                    .and_then(|e| e.first().copied())
                {
                    pmt_pid = Some(p.program_map_pid);
                }
            }
            out.extend_from_slice(chunk);
        } else if Some(pid) == pmt_pid {
            if !packet.payload_unit_start_indicator() {
                continue;
            }
            let Some(rewritten) = rewrite_pmt(&packet, kind) else {
                continue;
            };
            keep = rewritten.1;
            out.extend_from_slice(&rewritten.0);
        } else if keep.contains(&pid) {
            out.extend_from_slice(chunk);
        }
    }
    match (pmt_pid, keep.is_empty()) {
        (None, _) => Err(FilterError::NoProgram),
        (Some(_), true) => Err(FilterError::NoStream(kind)),
        _ => Ok(out),
    }
}

/// The whole PSI section starting in a payload-unit-start packet.
fn section<'a>(packet: &Packet<'a>) -> Option<Section<'a>> {
    let payload = packet.payload().ok()?;
    let pointer = usize::from(*payload.first()?);
    Section::parse(payload.get(1 + pointer..)?, packet.pid()).ok()
}

/// The PMT packet listing only the streams of `kind`, and their PIDs.
fn rewrite_pmt(packet: &Packet<'_>, kind: TrackKind) -> Option<(Vec<u8>, Vec<u16>)> {
    let s = section(packet)?;
    let pmt = parse_pmt(&s, packet.pid()).ok()?;
    let kept: Vec<&PmtStream> = pmt.streams.iter().filter(|st| wanted(st, kind)).collect();
    let pids: Vec<u16> = kept.iter().map(|st| st.elementary_pid).collect();
    let pcr_pid = if pids.contains(&pmt.pcr_pid) {
        pmt.pcr_pid
    } else {
        NO_PCR
    };
    // section_length: 9 bytes of header after it, 5 per stream, 4 of CRC.
    let section_length = u16::try_from(9 + 5 * kept.len() + 4).ok()?;
    let mut body = vec![
        0x02,
        0xB0 | ((section_length >> 8) as u8 & 0x0F),
        section_length as u8,
    ];
    body.extend_from_slice(&pmt.program_number.to_be_bytes());
    body.push(0xC1 | (pmt.version_number << 1));
    body.extend_from_slice(&[0, 0]);
    body.extend_from_slice(&(0xE000 | pcr_pid).to_be_bytes());
    body.extend_from_slice(&0xF000u16.to_be_bytes());
    for st in &kept {
        body.push(st.stream_type);
        body.extend_from_slice(&(0xE000 | st.elementary_pid).to_be_bytes());
        body.extend_from_slice(&0xF000u16.to_be_bytes());
    }
    let crc = crc32_mpeg2(&body);
    body.extend_from_slice(&crc.to_be_bytes());
    let header = packet.as_bytes();
    // Keep sync byte, flags and PID; payload only, same continuity counter.
    let mut out = vec![
        header[0],
        header[1],
        header[2],
        0x10 | (header[3] & 0x0F),
        0,
    ];
    if out.len() + body.len() > PACKET_SIZE {
        return None;
    }
    out.extend_from_slice(&body);
    out.resize(PACKET_SIZE, 0xFF);
    Some((out, pids))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::ts::probe_streams;

    fn fixture() -> Vec<u8> {
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/media/h264_aac_0.ts"
        ))
        .unwrap()
    }

    #[test]
    fn keeps_one_kind_with_a_consistent_pmt() {
        let ts = fixture();
        let audio = keep_only(&ts, TrackKind::Audio).unwrap();
        let streams = probe_streams(&audio);
        assert_eq!(streams.len(), 1);
        assert!(streams[0].kind().is_audio());
        let video = keep_only(&ts, TrackKind::Video).unwrap();
        let streams = probe_streams(&video);
        assert_eq!(streams.len(), 1);
        assert!(streams[0].kind().is_video());
        // Nothing is lost or added: the two parts hold every media packet of the source.
        assert!(audio.len() + video.len() <= ts.len() + 2 * 2 * PACKET_SIZE);
        assert!(audio.len() < ts.len() / 4);
    }

    #[test]
    fn refuses_what_it_cannot_filter() {
        assert_eq!(
            keep_only(&[0x47; 188 * 3], TrackKind::Audio),
            Err(FilterError::NoProgram)
        );
        let video_only = keep_only(&fixture(), TrackKind::Video).unwrap();
        assert_eq!(
            keep_only(&video_only, TrackKind::Audio),
            Err(FilterError::NoStream(TrackKind::Audio))
        );
        assert_eq!(
            keep_only(&[], TrackKind::Video),
            Err(FilterError::NoProgram)
        );
    }
}
