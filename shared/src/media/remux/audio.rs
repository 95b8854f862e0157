//! AAC PES packets → `mp4a` samples: each ADTS frame becomes one raw AAC sample of 1024 PCM
//! samples (ISO/IEC 14496-3 4.5.2.1), timed in the sample rate from the PES PTS.

use super::{BuiltTrack, Chunk, RemuxError, RemuxWarning};
use crate::media::codec::aac::{AacConfig, AdtsFrames, SAMPLES_PER_FRAME};
use crate::media::mp4::{CodecConfig, MuxError, SampleInfo, Track};
use crate::media::time::{rescale, Unwrapper, TS_TIMESCALE};
use crate::media::ts::Pes;
use std::borrow::Cow;

pub(super) fn build<'a>(
    pid: u16,
    pes: &'a [Pes],
    mut unwrapper: Unwrapper,
    warnings: &mut Vec<RemuxWarning>,
) -> Result<BuiltTrack<'a>, RemuxError> {
    let mut config: Option<AacConfig> = None;
    let mut samples: Vec<SampleInfo> = Vec::with_capacity(pes.len() * 2);
    let mut times: Vec<u64> = Vec::with_capacity(pes.len() * 2);
    let mut chunks = Vec::with_capacity(pes.len() * 2);
    let mut sample_chunks = Vec::with_capacity(pes.len() * 2);
    // Decode time of the frame after the last one taken, in the sample-rate timescale.
    let mut next_time: Option<u64> = None;
    let mut first_error = None;
    for (index, packet) in pes.iter().enumerate() {
        // The PES PTS times its first frame; later frames follow at 1024 samples each.
        let mut pes_time = None;
        for frame in AdtsFrames::new(packet.payload()) {
            let (raw_offset, frame) = match frame {
                Ok(f) => f,
                Err(error) => {
                    first_error.get_or_insert(error);
                    warnings.push(RemuxWarning::Stream {
                        pid,
                        what: "damaged or truncated ADTS frame; rest of the PES dropped",
                    });
                    break;
                }
            };
            let c = *config.get_or_insert(frame.config);
            if frame.config != c {
                warnings.push(RemuxWarning::Stream {
                    pid,
                    what: "AAC configuration changed; frame dropped",
                });
                continue;
            }
            let time = match (pes_time, packet.pts(), next_time) {
                (Some(t), _, _) => t,
                (None, Some(pts), _) => {
                    rescale(unwrapper.unwrap(pts), TS_TIMESCALE, c.sample_rate()).ok_or(
                        RemuxError::Timestamp {
                            pid,
                            what: "PTS beyond 64 bits in the audio timescale",
                        },
                    )?
                }
                (None, None, Some(t)) => t,
                (None, None, None) => {
                    warnings.push(RemuxWarning::Stream {
                        pid,
                        what: "audio PES without PTS dropped",
                    });
                    break;
                }
            };
            let end = time.saturating_add(u64::from(SAMPLES_PER_FRAME));
            pes_time = Some(end);
            next_time = Some(end);
            let size = u32::try_from(frame.raw.len()).map_err(|_| {
                RemuxError::Mux(MuxError::OutOfRange {
                    field: "sample size",
                })
            })?;
            sample_chunks.push(chunks.len());
            chunks.push(Chunk {
                unit: index,
                start: raw_offset,
                end: raw_offset + frame.raw.len(),
            });
            times.push(time);
            samples.push(SampleInfo {
                duration: SAMPLES_PER_FRAME,
                size,
                is_sync: true,
                composition_offset: 0,
            });
        }
    }
    let Some(config) = config else {
        return Err(match first_error {
            Some(error) => RemuxError::Codec { pid, error },
            None => RemuxError::NoSamples { pid },
        });
    };
    let Some(&first) = times.first() else {
        return Err(RemuxError::NoSamples { pid });
    };
    // A frame lasts until the next one starts: gaps in the source stay gaps in time, and
    // overlaps shorten the frame. The last frame keeps its nominal 1024 samples.
    for (i, pair) in times.windows(2).enumerate() {
        let d = pair[1].checked_sub(pair[0]).map(u32::try_from);
        match d {
            Some(Ok(d)) if d > 0 => samples[i].duration = d,
            _ => warnings.push(RemuxWarning::Stream {
                pid,
                what: "audio timestamps going back; nominal frame duration kept",
            }),
        }
    }
    Ok(BuiltTrack {
        units: pes.iter().map(|p| Cow::Borrowed(p.payload())).collect(),
        track: Track {
            timescale: config.sample_rate(),
            codec: CodecConfig::Aac(config),
        },
        base_media_decode_time: first,
        samples,
        chunks,
        sample_chunks,
        length_prefixed: false,
    })
}
