//! TS mux: samples from the fMP4 demuxer (and from the TS demuxer) → MPEG-TS segments,
//! checked by ffprobe decoding every frame, against the source's timestamps and against
//! ffmpeg's own `-copyts -c copy -f mpegts` of the same file; a golden segment byte for byte.

mod media_fmp4_support;
mod media_support;

use edgepack::media::mp4::demux::{parse_init, parse_segment, InitSegment, MediaSegment};
use edgepack::media::remux::{demux_ts, RemuxOptions};
use edgepack::media::sample::{OwnedSamples, Sample, TrackSamples};
use edgepack::media::ts::mux::{
    mux_segment, write_segment, ContinuityCounters, TsMuxError, TsMuxOptions, TsMuxTrack, PCR_LEAD,
};
use edgepack::media::ts::{probe_streams, Demuxer, Packet, TsEvent, TsWarning, PACKET_SIZE};
use media_fmp4_support::*;
use std::path::PathBuf;

/// The tracks of a demuxed segment as mux input, shifted by their edit lists.
fn mux_tracks<'a>(init: &'a InitSegment, seg: &'a MediaSegment<'a>) -> Vec<TsMuxTrack<'a>> {
    init.tracks
        .iter()
        .filter_map(|t| {
            Some(TsMuxTrack {
                samples: seg.samples_of(init, t.track_id)?,
                time_offset: t.edit_shift,
            })
        })
        .collect()
}

fn fmp4_to_ts(init: &[u8], segment: &[u8]) -> Vec<u8> {
    let init = parse_init(init).unwrap();
    let seg = parse_segment(segment, &init).unwrap();
    mux_segment(
        &mux_tracks(&init, &seg),
        &TsMuxOptions::default(),
        &ContinuityCounters::default(),
    )
    .unwrap()
    .0
}

/// (dts, pts) per packet of each stream.
fn times(packets: &[Packet_], stream: usize) -> Vec<(i64, i64)> {
    of_stream(packets, stream)
        .iter()
        .map(|p| (p.dts, p.pts))
        .collect()
}
type Packet_ = media_fmp4_support::Packet;

/// Our TS of `init` + `segment`: ffprobe decodes every frame, at the fMP4's presentation
/// times (ffprobe's, edit list applied) in 90 kHz; ffmpeg's own remux has the same
/// timestamps up to one constant (its mux offset).
fn check_fmp4_to_ts(init: &[u8], segment: &[u8]) {
    let ours = fmp4_to_ts(init, segment);
    let source = cat(init, segment);
    let (src_packets, src_streams) = probe(&source);
    let (packets, streams) = probe(&ours);
    assert_eq!(streams.len(), src_streams.len());
    for (i, (ours_s, src_s)) in streams.iter().zip(&src_streams).enumerate() {
        assert_eq!(ours_s.codec_name, src_s.codec_name);
        assert_eq!(ours_s.time_base, 90_000);
        assert_eq!(ours_s.frames, src_s.frames, "stream {i}: frames decoded");
        let expected: Vec<(i64, i64)> = of_stream(&src_packets, i)
            .iter()
            .map(|p| {
                (
                    to_90k(p.dts, src_s.time_base),
                    to_90k(p.pts, src_s.time_base),
                )
            })
            .collect();
        assert_eq!(times(&packets, i), expected, "stream {i}: timestamps");
        let keys = |ps: &[Packet_], s| of_stream(ps, s).iter().map(|p| p.key).collect::<Vec<_>>();
        assert_eq!(
            keys(&packets, i),
            keys(&src_packets, i),
            "stream {i}: key frames"
        );
    }

    let oracle = ffmpeg_to_ts(&source);
    let (ff_packets, ff_streams) = probe(&oracle);
    assert_eq!(ff_streams.len(), streams.len());
    let offset = of_stream(&ff_packets, 0)[0].dts - of_stream(&packets, 0)[0].dts;
    for (i, s) in ff_streams.iter().enumerate() {
        assert_eq!(
            s.frames, streams[i].frames,
            "stream {i}: ffmpeg's frame count"
        );
        let shifted: Vec<(i64, i64)> = times(&packets, i)
            .iter()
            .map(|&(d, p)| (d + offset, p + offset))
            .collect();
        assert_eq!(
            shifted,
            times(&ff_packets, i),
            "stream {i}: ffmpeg's timestamps"
        );
    }
}

#[test]
fn hls_fmp4_to_ts_decodes_like_the_source_and_ffmpeg() {
    check_fmp4_to_ts(HLS_INIT, HLS_SEG0);
    check_fmp4_to_ts(HLS_INIT, HLS_SEG1);
}

#[test]
fn dash_tracks_from_separate_files_mux_into_one_program() {
    let (vi, ai) = (
        parse_init(DASH_VIDEO_INIT).unwrap(),
        parse_init(DASH_AUDIO_INIT).unwrap(),
    );
    let (vs, as_) = (
        parse_segment(DASH_VIDEO_SEG, &vi).unwrap(),
        parse_segment(DASH_AUDIO_SEG, &ai).unwrap(),
    );
    let mut tracks = mux_tracks(&vi, &vs);
    tracks.extend(mux_tracks(&ai, &as_));
    let (ts, _) = mux_segment(
        &tracks,
        &TsMuxOptions::default(),
        &ContinuityCounters::default(),
    )
    .unwrap();
    let (packets, streams) = probe(&ts);
    assert_eq!(streams.len(), 2);
    for (i, t) in tracks.iter().enumerate() {
        assert_eq!(streams[i].frames, t.samples.samples.len() as u64);
        let timescale = i64::from(t.samples.track.timescale);
        let expected: Vec<(i64, i64)> = t
            .samples
            .samples
            .iter()
            .map(|s| {
                let dts = s.decode_time as i64 + t.time_offset;
                (
                    to_90k(dts, timescale),
                    to_90k(dts + i64::from(s.composition_offset), timescale),
                )
            })
            .collect();
        // ffprobe lifts negative first timestamps by 2^33 (the video's first DTS is -1024
        // ticks after the edit list); compare modulo the wrap.
        let wrap = |v: Vec<(i64, i64)>| -> Vec<(i64, i64)> {
            v.into_iter()
                .map(|(d, p)| (d.rem_euclid(1 << 33), p.rem_euclid(1 << 33)))
                .collect()
        };
        assert_eq!(wrap(times(&packets, i)), wrap(expected), "stream {i}");
    }
}

/// Walks a TS: (PID, packet) pairs.
fn packets(ts: &[u8]) -> Vec<(u16, Packet<'_>)> {
    assert_eq!(ts.len() % PACKET_SIZE, 0);
    ts.chunks(PACKET_SIZE)
        .map(|c| {
            let p = Packet::new(c).unwrap();
            (p.pid(), p)
        })
        .collect()
}

#[test]
fn program_tables_first_and_pcr_on_video() {
    let ts = fmp4_to_ts(HLS_INIT, HLS_SEG0);
    let all = packets(&ts);
    assert_eq!(all[0].0, 0x0000, "PAT first");
    assert_eq!(all[1].0, 0x1000, "PMT second");
    let streams = probe_streams(&ts);
    let layout: Vec<(u8, u16)> = streams
        .iter()
        .map(|s| (s.stream_type, s.elementary_pid))
        .collect();
    assert_eq!(layout, [(0x1B, 0x100), (0x0F, 0x101)]);
    // PCR in the first packet of every video PES, PCR_LEAD before its DTS, never on audio.
    let mut pcrs = Vec::new();
    for (pid, p) in &all {
        let pcr = p.adaptation_field().unwrap().and_then(|a| a.pcr_base());
        match pid {
            0x100 => {
                assert_eq!(pcr.is_some(), p.payload_unit_start_indicator());
                pcrs.extend(pcr);
            }
            _ => assert!(pcr.is_none()),
        }
    }
    let init = parse_init(HLS_INIT).unwrap();
    let seg = parse_segment(HLS_SEG0, &init).unwrap();
    let video = &seg.track(1).unwrap().samples;
    assert_eq!(pcrs.len(), video.len());
    let shift = init.tracks[0].edit_shift;
    for (pcr, s) in pcrs.iter().zip(video) {
        let dts = to_90k(s.decode_time as i64 + shift, 15_360);
        assert_eq!(*pcr as i64, (dts - PCR_LEAD as i64).rem_euclid(1 << 33));
    }
    // Increasing modulo 2^33 (the first ones wrap: the edit list puts the first DTS at -59).
    assert!(pcrs
        .windows(2)
        .all(|w| (w[1] as i64 - w[0] as i64).rem_euclid(1 << 33) == 3000));
    // Every video PES starts with an access unit delimiter; the IDR one carries SPS and PPS.
    let mut demux = Demuxer::new();
    demux.push(&ts);
    demux.finish();
    let mut first_video = None;
    while let Some(e) = demux.poll() {
        match e {
            TsEvent::Pes(pes) if pes.pid == 0x100 => {
                assert_eq!(&pes.payload()[..6], &[0, 0, 0, 1, 0x09, 0xF0]);
                first_video.get_or_insert(pes);
            }
            TsEvent::Warning(w) => panic!("{w}"),
            _ => {}
        }
    }
    let nal_types: Vec<u8> =
        edgepack::media::codec::annexb::NalUnits::new(first_video.unwrap().payload())
            .map(|(_, n)| n[0] & 0x1F)
            .collect();
    assert_eq!(&nal_types[..3], &[9, 7, 8], "AUD, SPS, PPS before the IDR");
    assert!(nal_types.contains(&5));
}

/// Our demuxer's continuity warnings over `ts`.
fn continuity_warnings(ts: &[u8]) -> usize {
    let mut demux = Demuxer::new();
    demux.push(ts);
    demux.finish();
    let mut n = 0;
    while let Some(e) = demux.poll() {
        if let TsEvent::Warning(TsWarning::Continuity { .. }) = e {
            n += 1;
        }
    }
    n
}

#[test]
fn continuity_counters_carry_across_segments() {
    let init = parse_init(HLS_INIT).unwrap();
    let seg0 = parse_segment(HLS_SEG0, &init).unwrap();
    let seg1 = parse_segment(HLS_SEG1, &init).unwrap();
    let options = TsMuxOptions::default();
    let mut counters = ContinuityCounters::default();
    let mut joined = Vec::new();
    write_segment(
        &mut joined,
        &mux_tracks(&init, &seg0),
        &options,
        &mut counters,
    )
    .unwrap();
    let after0 = counters.clone();
    write_segment(
        &mut joined,
        &mux_tracks(&init, &seg1),
        &options,
        &mut counters,
    )
    .unwrap();
    assert_eq!(continuity_warnings(&joined), 0);
    let pids: Vec<u16> = after0.iter().map(|(p, _)| p).collect();
    assert_eq!(pids, [0x0000, 0x0100, 0x0101, 0x1000]);
    // Without carrying them, the second segment restarts every counter: gaps.
    let (a, _) = mux_segment(
        &mux_tracks(&init, &seg0),
        &options,
        &ContinuityCounters::default(),
    )
    .unwrap();
    let (b, _) = mux_segment(
        &mux_tracks(&init, &seg1),
        &options,
        &ContinuityCounters::default(),
    )
    .unwrap();
    assert!(continuity_warnings(&cat(&a, &b)) > 0);
    // The joined output decodes whole: 120 frames of video.
    let (_, streams) = probe(&joined);
    assert_eq!(streams[0].frames, 120);
    // A pure function: the same inputs give the same bytes.
    let mut again = Vec::new();
    let mut c = ContinuityCounters::default();
    write_segment(&mut again, &mux_tracks(&init, &seg0), &options, &mut c).unwrap();
    write_segment(&mut again, &mux_tracks(&init, &seg1), &options, &mut c).unwrap();
    assert_eq!(again, joined);
}

#[test]
fn golden_ts_segment() {
    let ours = fmp4_to_ts(HLS_INIT, HLS_SEG0);
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests/fixtures/media/golden/h264_aac_fmp4_0.ts",
    ]
    .iter()
    .collect();
    if std::env::var_os("EDGEPACK_BLESS").is_some() {
        std::fs::write(&path, &ours).unwrap();
        return;
    }
    let golden = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if golden != ours {
        let first = golden
            .chunks(PACKET_SIZE)
            .zip(ours.chunks(PACKET_SIZE))
            .position(|(a, b)| a != b)
            .unwrap_or(golden.len().min(ours.len()) / PACKET_SIZE);
        let show = |d: &[u8]| {
            d.chunks(PACKET_SIZE)
                .nth(first)
                .map(|p| {
                    p.iter()
                        .take(24)
                        .map(|b| format!("{b:02x}"))
                        .collect::<String>()
                })
                .unwrap_or_default()
        };
        panic!(
            "TS differs from the golden file ({} vs {} bytes), first at packet {first}:\n  golden {}\n  ours   {}",
            golden.len(),
            ours.len(),
            show(&golden),
            show(&ours)
        );
    }
}

#[test]
fn ts_to_samples_to_ts() {
    // The TS demuxer's samples through the TS muxer: "any input to any output".
    for (name, source) in [
        ("h264_aac_0.ts", media_support::SEG0),
        ("h264_aac_wrap.ts", media_support::WRAP),
        ("h264_aac44_mono_0.ts", media_support::MONO44_0),
    ] {
        let demuxed = demux_ts(&[source]).unwrap();
        let segment = demuxed.samples(&RemuxOptions::default()).unwrap();
        let owned: Vec<OwnedSamples> = segment
            .tracks
            .iter()
            .map(|t| OwnedSamples::from_sample_track(t).unwrap())
            .collect();
        let tracks: Vec<TsMuxTrack<'_>> = owned
            .iter()
            .map(|o| TsMuxTrack {
                samples: o.view(),
                time_offset: 0,
            })
            .collect();
        let (ts, _) = mux_segment(
            &tracks,
            &TsMuxOptions::default(),
            &ContinuityCounters::default(),
        )
        .unwrap();
        let (src_packets, src_streams) = probe(source);
        let (packets, streams) = probe(&ts);
        for i in 0..2 {
            assert_eq!(
                streams[i].frames, src_streams[i].frames,
                "{name} stream {i}"
            );
            let (a, b) = (times(&packets, i), times(&src_packets, i));
            assert_eq!(a.len(), b.len(), "{name} stream {i}");
            // Video keeps 90 kHz: exact. Audio at 48 kHz (1024 samples = 1920 ticks): within
            // the source's own rounding. At 44.1 kHz ffprobe times the source's frames inside
            // one PES from the PES PTS plus a rounded step (2090 for 2089.8 ticks), which
            // drifts over a PES: there only the first frame is compared with the source, and
            // every frame with the exact rescaling of our sample-exact times.
            let rate = tracks[i].samples.track.timescale;
            let exact = 90_000 * 1024 % rate == 0;
            let tolerance = if i == 0 { 0 } else { 2 };
            let compared = if exact { a.len() } else { 1 };
            for (x, y) in a.iter().zip(&b).take(compared) {
                assert!(
                    (x.0 - y.0).abs() <= tolerance && (x.1 - y.1).abs() <= tolerance,
                    "{name} stream {i}: {x:?} vs {y:?}"
                );
            }
            let expected: Vec<(i64, i64)> = tracks[i]
                .samples
                .samples
                .iter()
                .map(|s| {
                    let dts = to_90k(s.decode_time as i64, i64::from(rate));
                    let pts = to_90k(
                        s.decode_time as i64 + i64::from(s.composition_offset),
                        i64::from(rate),
                    );
                    (dts, pts)
                })
                .collect();
            let wrap = |v: &[(i64, i64)]| -> Vec<(i64, i64)> {
                v.iter()
                    .map(|(d, p)| (d.rem_euclid(1 << 33), p.rem_euclid(1 << 33)))
                    .collect()
            };
            assert_eq!(wrap(&a), wrap(&expected), "{name} stream {i}");
        }
    }
}

#[test]
fn hevc_is_refused_and_errors_leave_no_trace() {
    let init = parse_init(HEVC_INIT).unwrap();
    let seg = parse_segment(HEVC_SEG, &init).unwrap();
    let err = mux_segment(
        &mux_tracks(&init, &seg),
        &TsMuxOptions::default(),
        &ContinuityCounters::default(),
    )
    .unwrap_err();
    assert_eq!(
        err,
        TsMuxError::UnsupportedCodec {
            track: 0,
            codec: "H.265"
        }
    );

    // A sample whose bytes are not in the buffer: an error, and neither the output nor the
    // counters change.
    let hls = parse_init(HLS_INIT).unwrap();
    let seg = parse_segment(HLS_SEG0, &hls).unwrap();
    let mut samples: Vec<Sample> = seg.track(2).unwrap().samples.clone();
    samples[3].offset = HLS_SEG0.len();
    let bad = TsMuxTrack {
        samples: TrackSamples {
            samples: &samples,
            ..seg.samples_of(&hls, 2).unwrap()
        },
        time_offset: 0,
    };
    let mut out = vec![1, 2, 3];
    let mut counters = ContinuityCounters::default();
    let err = write_segment(&mut out, &[bad], &TsMuxOptions::default(), &mut counters).unwrap_err();
    assert!(
        matches!(
            err,
            TsMuxError::SampleData {
                track: 0,
                sample: 3,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(out, [1, 2, 3]);
    assert_eq!(counters, ContinuityCounters::default());
    // A NAL unit length running past its sample.
    let mut video: Vec<Sample> = seg.track(1).unwrap().samples.clone();
    video[0].size -= 1;
    let bad = TsMuxTrack {
        samples: TrackSamples {
            samples: &video,
            ..seg.samples_of(&hls, 1).unwrap()
        },
        time_offset: 0,
    };
    assert!(matches!(
        mux_segment(
            &[bad],
            &TsMuxOptions::default(),
            &ContinuityCounters::default()
        ),
        Err(TsMuxError::SampleData { .. })
    ));
    // PID layouts that collide.
    let t = mux_tracks(&hls, &seg);
    let options = TsMuxOptions {
        pmt_pid: 0x101,
        ..TsMuxOptions::default()
    };
    assert!(matches!(
        mux_segment(&t, &options, &ContinuityCounters::default()),
        Err(TsMuxError::Pid { .. })
    ));
    assert_eq!(
        mux_segment(
            &[],
            &TsMuxOptions::default(),
            &ContinuityCounters::default()
        )
        .unwrap_err(),
        TsMuxError::NoTracks
    );
}

#[test]
fn audio_only_output_carries_the_pcr_on_audio() {
    let init = parse_init(DASH_AUDIO_INIT).unwrap();
    let seg = parse_segment(DASH_AUDIO_SEG, &init).unwrap();
    let (ts, _) = mux_segment(
        &mux_tracks(&init, &seg),
        &TsMuxOptions::default(),
        &ContinuityCounters::default(),
    )
    .unwrap();
    let pcrs = packets(&ts)
        .iter()
        .filter(|(pid, p)| {
            *pid == 0x100
                && p.adaptation_field()
                    .unwrap()
                    .and_then(|a| a.pcr_base())
                    .is_some()
        })
        .count();
    assert_eq!(pcrs, seg.tracks[0].samples.len());
    let (_, streams) = probe(&ts);
    assert_eq!(streams[0].frames, seg.tracks[0].samples.len() as u64);
}
