//! Cheap probes over a whole transport stream segment, for ingest.

use super::{Demuxer, PmtStream, TsEvent};
use crate::media::time::Timestamp33;

/// The elementary streams of the first PMT in `ts` (empty when there is none).
pub fn probe_streams(ts: &[u8]) -> Vec<PmtStream> {
    let mut demux = Demuxer::new();
    for chunk in ts.chunks(super::PACKET_SIZE * 64) {
        demux.push(chunk);
        while let Some(event) = demux.poll() {
            if let TsEvent::Pmt(pmt) = event {
                return pmt.streams;
            }
        }
    }
    Vec::new()
}

/// The PTS of the first PES packet of the first video stream of the first program in `ts`
/// (of the first audio stream when there is no video), as a raw 33-bit value.
/// Stops reading as soon as it is found.
pub fn first_pts(ts: &[u8]) -> Option<Timestamp33> {
    let mut demux = Demuxer::new();
    let mut target = None;
    for chunk in ts.chunks(super::PACKET_SIZE * 16) {
        demux.push(chunk);
        while let Some(event) = demux.poll() {
            match event {
                TsEvent::Pmt(pmt) if target.is_none() => {
                    let pick = |f: fn(&PmtStream) -> bool| {
                        pmt.streams.iter().find(|s| f(s)).map(|s| s.elementary_pid)
                    };
                    target =
                        pick(|s| s.kind().is_video()).or_else(|| pick(|s| s.kind().is_audio()));
                }
                TsEvent::Pes(pes) if Some(pes.pid) == target => {
                    if let Some(pts) = pes.pts() {
                        return Some(pts);
                    }
                }
                _ => {}
            }
        }
    }
    demux.finish();
    while let Some(event) = demux.poll() {
        if let TsEvent::Pes(pes) = event {
            if Some(pes.pid) == target {
                if let Some(pts) = pes.pts() {
                    return Some(pts);
                }
            }
        }
    }
    None
}
