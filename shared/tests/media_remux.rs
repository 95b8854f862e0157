//! Remux of the ffmpeg fixtures: timing, continuity across segments, determinism, and
//! hostile input (errors or warnings, never a panic).

mod media_support;

use edgepack::media::remux::{
    ts_parts_to_cmaf, ts_to_cmaf, RemuxError, RemuxOptions, RemuxWarning, TrackKind,
};
use edgepack::media::ts::{first_pts, TsError, TsWarning, PACKET_SIZE};
use media_support::*;

fn options(next: Option<u64>) -> RemuxOptions {
    RemuxOptions {
        next_segment_start: next,
        ..RemuxOptions::default()
    }
}

#[test]
fn tracks_and_codec_strings() {
    let out = ts_to_cmaf(SEG0, &RemuxOptions::default()).unwrap();
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    let [video, audio] = &out.tracks[..] else {
        panic!("two tracks")
    };
    assert_eq!(video.track.kind(), TrackKind::Video);
    assert_eq!(video.track.codec_string(), "avc1.64000d");
    assert_eq!(video.track.dimensions(), Some((320, 180)));
    assert_eq!(video.track.timescale, 90_000);
    assert_eq!(video.sample_count, 60);
    assert!(video.starts_with_sync_sample);
    // ffmpeg starts DTS at 1.4 s.
    assert_eq!(video.base_media_decode_time, 126_000);
    // Two B-frames: the IDR is shown two frames after it is decoded.
    assert_eq!(video.presentation_start, 132_000);
    assert_eq!(
        Some(video.presentation_start),
        first_pts(SEG0).map(|t| t.get())
    );
    assert_eq!(video.duration, 60 * 3000);
    assert_eq!(audio.track.codec_string(), "mp4a.40.2");
    assert_eq!(audio.track.sample_rate(), Some(48_000));
    assert_eq!(audio.track.channels(), Some(2));
    assert_eq!(audio.track.timescale, 48_000);
    assert!(video.bitrate().unwrap() > 100_000);
}

#[test]
fn hevc_track() {
    let out = ts_to_cmaf(HEVC, &RemuxOptions::default()).unwrap();
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    let video = &out.tracks[0];
    assert_eq!(video.track.codec_string(), "hvc1.1.6.L60.90");
    assert_eq!(video.track.dimensions(), Some((320, 180)));
    assert_eq!(video.sample_count, 60);
    assert!(video.starts_with_sync_sample);
    assert_eq!(out.tracks[1].track.codec_string(), "mp4a.40.2");
}

#[test]
fn video_samples_are_length_prefixed_nal_units() {
    let out = ts_to_cmaf(SEG0, &RemuxOptions::default()).unwrap();
    let video = &out.tracks[0];
    let (moof, mdat) = check_segment(&video.segment);
    let mut pos = 0;
    for entry in &moof.traf[0].trun[0].entries {
        let end = pos + entry.size.unwrap() as usize;
        let mut nal_types = Vec::new();
        while pos < end {
            let len = u32::from_be_bytes(mdat[pos..pos + 4].try_into().unwrap()) as usize;
            nal_types.push(mdat[pos + 4] & 0x1F);
            pos += 4 + len;
        }
        assert_eq!(pos, end, "NAL lengths fill the sample exactly");
        assert!(
            nal_types.iter().all(|t| ![7, 8, 9].contains(t)),
            "{nal_types:?}"
        );
        let idr = nal_types.contains(&5);
        assert_eq!(idr, entry.flags == Some(0x0200_0000));
    }
}

#[test]
fn consecutive_segments_continue_each_other() {
    let next = first_pts(SEG1).map(|t| t.get());
    let a = ts_to_cmaf(SEG0, &options(next)).unwrap();
    let b = ts_to_cmaf(SEG1, &options(None)).unwrap();
    for (ta, tb) in a.tracks.iter().zip(&b.tracks) {
        assert_eq!(
            ta.base_media_decode_time + ta.duration,
            tb.base_media_decode_time,
            "{:?}",
            ta.track.kind()
        );
        assert_eq!(
            ta.presentation_start + ta.duration,
            tb.presentation_start,
            "{:?}",
            ta.track.kind()
        );
    }
    assert!(a.warnings.is_empty(), "{:?}", a.warnings);
}

#[test]
fn audio_at_44100_hz_continues_across_segments() {
    // 1024 samples at 44.1 kHz are 2089.8 ticks of 90 kHz: the TS PTS are rounded, the track
    // timescale is exact, and consecutive segments must still meet sample-exactly.
    let next = first_pts(MONO44_1).map(|t| t.get());
    let a = ts_to_cmaf(MONO44_0, &options(next)).unwrap();
    let b = ts_to_cmaf(MONO44_1, &options(None)).unwrap();
    assert!(a.warnings.is_empty() && b.warnings.is_empty());
    let (va, aa) = (&a.tracks[0], &a.tracks[1]);
    assert_eq!(va.track.codec_string(), "avc1.4d400c");
    assert_eq!(va.sample_count, 50);
    assert_eq!(va.duration, 50 * 3600);
    assert_eq!(aa.track.timescale, 44_100);
    assert_eq!(aa.track.channels(), Some(1));
    assert_eq!(aa.duration, u64::from(aa.sample_count) * 1024);
    for (ta, tb) in a.tracks.iter().zip(&b.tracks) {
        assert_eq!(
            ta.base_media_decode_time + ta.duration,
            tb.base_media_decode_time
        );
    }
    // No B-frames: no composition offsets, so trun version 0 without them.
    let (moof, _) = check_segment(&va.segment);
    assert!(moof.traf[0].trun[0].entries.iter().all(|e| e.cts.is_none()));
}

#[test]
fn joined_segments_equal_one_longer_segment() {
    let joined = ts_parts_to_cmaf(&[SEG0, SEG1], &RemuxOptions::default()).unwrap();
    let whole: Vec<u8> = [SEG0, SEG1].concat();
    let single = ts_to_cmaf(&whole, &RemuxOptions::default()).unwrap();
    assert_eq!(joined, single);
    assert_eq!(joined.tracks[0].sample_count, 120);
    assert_eq!(joined.tracks[0].duration, 120 * 3000);
}

#[test]
fn deterministic_output() {
    let a = ts_to_cmaf(SEG1, &options(Some(1 << 20))).unwrap();
    let b = ts_to_cmaf(SEG1, &options(Some(1 << 20))).unwrap();
    assert_eq!(a, b);
}

#[test]
fn init_segment_is_the_same_for_every_segment() {
    let a = ts_to_cmaf(SEG0, &RemuxOptions::default()).unwrap();
    let b = ts_to_cmaf(SEG1, &RemuxOptions::default()).unwrap();
    for (ta, tb) in a.tracks.iter().zip(&b.tracks) {
        assert_eq!(ta.init_segment().unwrap(), tb.init_segment().unwrap());
    }
}

#[test]
fn time_reference_selects_the_epoch() {
    let epoch = 5u64 << 33;
    let out = ts_to_cmaf(
        SEG0,
        &RemuxOptions {
            time_reference: Some(epoch + 126_000),
            ..RemuxOptions::default()
        },
    )
    .unwrap();
    assert_eq!(out.tracks[0].base_media_decode_time, epoch + 126_000);
    let audio = &out.tracks[1];
    assert_eq!(
        audio.base_media_decode_time,
        (epoch + 130_080) * 48_000 / 90_000
    );
}

#[test]
fn wrap_inside_a_segment_stays_monotonic() {
    let out = ts_to_cmaf(WRAP, &RemuxOptions::default()).unwrap();
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    let video = &out.tracks[0];
    assert!(video.base_media_decode_time < 1 << 33);
    assert!(video.base_media_decode_time + video.duration > 1 << 33);
    assert_eq!(video.duration, 60 * 3000);
}

#[test]
fn last_video_duration_from_next_segment() {
    let next = first_pts(SEG1).unwrap().get();
    // A later start than the frame grid stretches the last sample.
    let out = ts_to_cmaf(SEG0, &options(Some(next + 500))).unwrap();
    assert_eq!(out.tracks[0].duration, 60 * 3000 + 500);
    // An unrelated start falls back to the previous frame duration, with a warning.
    let out = ts_to_cmaf(SEG0, &options(Some(next + 10_000_000))).unwrap();
    assert_eq!(out.tracks[0].duration, 60 * 3000);
    assert!(!out.warnings.is_empty());
}

// ---- hostile input ----

fn pid_of(p: &[u8]) -> u16 {
    u16::from_be_bytes([p[1] & 0x1F, p[2]])
}

fn without_pid(ts: &[u8], pid: u16) -> Vec<u8> {
    ts.chunks(PACKET_SIZE)
        .filter(|p| pid_of(p) != pid)
        .flatten()
        .copied()
        .collect()
}

#[test]
fn pmt_pointing_nowhere() {
    // The PAT names PMT PID 0x1000; remove every packet on it.
    let ts = without_pid(SEG0, 0x1000);
    assert_eq!(
        ts_to_cmaf(&ts, &RemuxOptions::default()),
        Err(RemuxError::Ts(TsError::MissingPmt { pid: 0x1000 }))
    );
}

#[test]
fn missing_pat() {
    let ts = without_pid(SEG0, 0);
    assert_eq!(
        ts_to_cmaf(&ts, &RemuxOptions::default()),
        Err(RemuxError::Ts(TsError::MissingPat))
    );
    assert_eq!(
        ts_to_cmaf(&[], &RemuxOptions::default()),
        Err(RemuxError::Ts(TsError::MissingPat))
    );
}

#[test]
fn audio_only_when_video_is_lost() {
    let ts = without_pid(SEG0, 0x100);
    let out = ts_to_cmaf(&ts, &RemuxOptions::default()).unwrap();
    // The video PID is declared but carries nothing: its track is dropped and named.
    assert_eq!(out.tracks.len(), 1);
    assert_eq!(out.tracks[0].track.kind(), TrackKind::Audio);
    assert_eq!(
        out.warnings,
        vec![RemuxWarning::TrackDropped {
            pid: 0x100,
            error: RemuxError::MissingParameterSets { pid: 0x100 }
        }]
    );
    // With nothing left at all, the first track's error is the result.
    let ts = without_pid(&ts, 0x101);
    assert_eq!(
        ts_to_cmaf(&ts, &RemuxOptions::default()),
        Err(RemuxError::MissingParameterSets { pid: 0x100 })
    );
}

#[test]
fn truncated_input_at_every_packet_boundary_and_inside() {
    let mut cuts: Vec<usize> = (0..SEG0.len()).step_by(PACKET_SIZE * 7).collect();
    cuts.extend([1, 100, 187, 189, 5000, SEG0.len() - 1]);
    for cut in cuts {
        match ts_to_cmaf(&SEG0[..cut], &RemuxOptions::default()) {
            Ok(out) => {
                for t in &out.tracks {
                    check_segment(&t.segment);
                }
                if cut % PACKET_SIZE != 0 {
                    assert!(out.warnings.iter().any(|w| matches!(
                        w,
                        RemuxWarning::Ts(TsWarning::Error {
                            error: TsError::NeedMoreData { .. },
                            ..
                        })
                    )));
                }
            }
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
}

#[test]
fn wrong_sync_bytes_are_skipped() {
    let mut ts = SEG0.to_vec();
    // From packet 10 on: the first picture (with SPS/PPS) stays intact.
    for i in (10..ts.len() / PACKET_SIZE).step_by(97) {
        ts[i * PACKET_SIZE] = 0x00;
    }
    let out = ts_to_cmaf(&ts, &RemuxOptions::default()).unwrap();
    assert!(out
        .warnings
        .iter()
        .any(|w| matches!(w, RemuxWarning::Ts(TsWarning::LostSync { .. }))));
    for t in &out.tracks {
        check_segment(&t.segment);
    }
}

#[test]
fn pes_length_beyond_packet_data() {
    // Make the first audio PES declare 60000 bytes: it cannot be complete.
    let mut ts = SEG0.to_vec();
    let start = ts
        .chunks(PACKET_SIZE)
        .position(|p| pid_of(p) == 0x101 && p[1] & 0x40 != 0)
        .unwrap()
        * PACKET_SIZE;
    let afc = (ts[start + 3] >> 4) & 3;
    let payload = start
        + if afc & 2 != 0 {
            5 + ts[start + 4] as usize
        } else {
            4
        };
    ts[payload + 4..payload + 6].copy_from_slice(&60_000u16.to_be_bytes());
    let out = ts_to_cmaf(&ts, &RemuxOptions::default()).unwrap();
    assert!(out.warnings.iter().any(|w| matches!(
        w,
        RemuxWarning::Ts(TsWarning::Error {
            error: TsError::PesLengthBeyondData { pid: 0x101, .. },
            ..
        })
    )));
}

#[test]
fn unsupported_stream_is_a_warning() {
    // Rewrite the AAC stream_type (0x0F) in the PMT to 0x81 (AC-3) and fix the CRC.
    let mut ts = SEG0.to_vec();
    let pmt = ts
        .chunks(PACKET_SIZE)
        .position(|p| pid_of(p) == 0x1000)
        .unwrap()
        * PACKET_SIZE;
    let section = pmt + 5;
    let len = (u16::from_be_bytes([ts[section + 1] & 0x0F, ts[section + 2]]) as usize) + 3;
    let body = &mut ts[section..section + len];
    let es = body[12..len - 4]
        .chunks(5)
        .position(|e| e[0] == 0x0F)
        .unwrap();
    body[12 + es * 5] = 0x81;
    let crc = crc32_mpeg2(&body[..len - 4]);
    body[len - 4..].copy_from_slice(&crc.to_be_bytes());
    let out = ts_to_cmaf(&ts, &RemuxOptions::default()).unwrap();
    assert_eq!(out.tracks.len(), 1);
    assert!(out
        .warnings
        .contains(&RemuxWarning::Ts(TsWarning::UnsupportedStream {
            pid: 0x101,
            stream_type: 0x81
        })));
}

fn crc32_mpeg2(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04C1_1DB7
            } else {
                crc << 1
            };
        }
    }
    crc
}

#[test]
fn random_bytes_never_panic() {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for round in 0..200 {
        let mut ts = SEG0[..PACKET_SIZE * 40].to_vec();
        // Flip random bytes, keeping most sync bytes so parsing goes deep.
        for _ in 0..(round % 50 + 1) {
            let i = (next() as usize) % ts.len();
            ts[i] = next() as u8;
        }
        let _ = ts_to_cmaf(&ts, &RemuxOptions::default());
        let _ = first_pts(&ts);
    }
}

/// Packetizes one PES packet on `pid` (ISO/IEC 13818-1 2.4.3.2), stuffing the last packet
/// through its adaptation field.
fn packetize(out: &mut Vec<u8>, pid: u16, cc: &mut u8, pes: &[u8]) {
    for (i, chunk) in pes.chunks(184).enumerate() {
        let pusi = if i == 0 { 0x40 } else { 0 };
        out.extend_from_slice(&[0x47, pusi | (pid >> 8) as u8, pid as u8]);
        if chunk.len() == 184 {
            out.push(0x10 | *cc);
        } else {
            let af_len = 183 - chunk.len();
            out.push(0x30 | *cc);
            out.push(af_len as u8);
            if af_len > 0 {
                out.push(0);
                out.extend(std::iter::repeat_n(0xFF, af_len - 1));
            }
        }
        out.extend_from_slice(chunk);
        *cc = (*cc + 1) & 0xF;
    }
}

fn timestamp(prefix: u8, ts: u64) -> [u8; 5] {
    [
        (prefix << 4) | (((ts >> 30) as u8 & 0x07) << 1) | 1,
        (ts >> 22) as u8,
        ((ts >> 15) as u8) << 1 | 1,
        (ts >> 7) as u8,
        (ts as u8) << 1 | 1,
    ]
}

#[test]
fn pictures_split_over_several_pes_packets() {
    use edgepack::media::ts::{Demuxer, TsEvent};
    // Re-multiplex the fixture's video with every picture split into PES packets of at most
    // 500 payload bytes, the continuations without PTS (as some muxers do).
    let mut demux = Demuxer::new();
    demux.push(SEG0);
    demux.finish();
    let first_on = |pid| SEG0.chunks(PACKET_SIZE).find(|p| pid_of(p) == pid).unwrap();
    let mut ts: Vec<u8> = [first_on(0), first_on(0x1000)].concat();
    let mut cc = 0;
    let mut split = 0;
    while let Some(event) = demux.poll() {
        let TsEvent::Pes(pes) = event else { continue };
        if pes.pid != 0x100 {
            continue;
        }
        for (i, part) in pes.payload().chunks(500).enumerate() {
            let mut p = vec![0, 0, 1, 0xE0, 0, 0, 0x80];
            if i == 0 {
                p.extend_from_slice(&[0xC0, 10]);
                p.extend_from_slice(&timestamp(3, pes.pts().unwrap().get()));
                p.extend_from_slice(&timestamp(1, pes.dts().unwrap().get()));
            } else {
                p.extend_from_slice(&[0x00, 0]);
                split += 1;
            }
            let len = u16::try_from(p.len() - 6 + part.len()).unwrap();
            p[4..6].copy_from_slice(&len.to_be_bytes());
            p.extend_from_slice(part);
            packetize(&mut ts, 0x100, &mut cc, &p);
        }
    }
    assert!(split > 20, "the fixture has pictures above 500 bytes");
    let out = ts_to_cmaf(&ts, &RemuxOptions::default()).unwrap();
    let original = ts_to_cmaf(SEG0, &RemuxOptions::default()).unwrap();
    assert_eq!(out.tracks.len(), 1, "the audio PID carries nothing here");
    assert_eq!(out.tracks[0], original.tracks[0]);
}

#[test]
fn corrupt_psi_sections_are_reported() {
    // Flip a bit in every PAT section: the CRC check rejects them all.
    let mut ts = SEG0.to_vec();
    for p in ts.chunks_mut(PACKET_SIZE).filter(|p| pid_of(p) == 0) {
        p[12] ^= 0x01;
    }
    let err = ts_to_cmaf(&ts, &RemuxOptions::default()).unwrap_err();
    assert_eq!(err, RemuxError::Ts(TsError::MissingPat));
    // Same for the PMT: the PAT points to a PID with no valid program map.
    let mut ts = SEG0.to_vec();
    for p in ts.chunks_mut(PACKET_SIZE).filter(|p| pid_of(p) == 0x1000) {
        p[20] ^= 0x80;
    }
    let err = ts_to_cmaf(&ts, &RemuxOptions::default()).unwrap_err();
    assert_eq!(err, RemuxError::Ts(TsError::MissingPmt { pid: 0x1000 }));
    assert!(!err.to_string().is_empty());
}

#[test]
fn parameter_set_change_is_reported() {
    // Two unrelated streams back to back: High profile 320x180, then Main profile.
    let out = ts_parts_to_cmaf(&[SEG0, MONO44_0], &RemuxOptions::default()).unwrap();
    assert!(out.warnings.contains(&RemuxWarning::Stream {
        pid: 0x100,
        what: "parameter sets change inside the segment; the first ones are used"
    }));
    assert_eq!(out.tracks[0].track.codec_string(), "avc1.64000d");
}
