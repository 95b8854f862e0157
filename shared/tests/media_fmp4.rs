//! fMP4 demux: ffmpeg's HLS fMP4 (audio + video in one file) and low-latency DASH (one
//! track per file, CMAF chunks) output read into tracks and samples, checked packet for
//! packet against ffprobe over the same bytes; then samples → CMAF with our writer, checked
//! by mp4-atom (strict) and by ffprobe decoding every frame.

mod media_fmp4_support;
mod media_support;

use edgepack::media::codec::aac::{parse_adts, AacConfig};
use edgepack::media::codec::h264::AvcConfig;
use edgepack::media::mp4::demux::{parse_init, parse_segment, Fmp4Error, InitSegment};
use edgepack::media::mp4::{init_segment, write_media_segment, TrackKind};
use edgepack::media::sample::TrackSamples;
use media_fmp4_support::*;

/// Our samples of `track_id` against ffprobe's packets of `stream` in `init` + `segment`:
/// same count, decode and presentation times (ffprobe applies the edit list: our media times
/// plus `edit_shift`), sizes and key flags.
fn check_against_ffprobe(init: &[u8], segment: &[u8], expect_tracks: usize) {
    let parsed = parse_init(init).unwrap();
    let demuxed = parse_segment(segment, &parsed).unwrap();
    let (packets, streams) = probe(&cat(init, segment));
    assert_eq!(parsed.tracks.len(), expect_tracks);
    assert_eq!(streams.len(), expect_tracks);
    assert_eq!(demuxed.tracks.len(), expect_tracks);
    for (index, t) in parsed.tracks.iter().enumerate() {
        let ours = &demuxed.track(t.track_id).unwrap().samples;
        let theirs = of_stream(&packets, index);
        assert_eq!(streams[index].time_base, i64::from(t.track.timescale));
        assert_eq!(
            ours.len(),
            theirs.len(),
            "track {}: sample count",
            t.track_id
        );
        assert_eq!(
            u64::try_from(ours.len()).unwrap(),
            streams[index].frames,
            "track {}: ffprobe decoded every sample",
            t.track_id
        );
        for (i, (s, p)) in ours.iter().zip(&theirs).enumerate() {
            let dts = i64::try_from(s.decode_time).unwrap() + t.edit_shift;
            let pts = dts + i64::from(s.composition_offset);
            assert_eq!(
                (dts, pts),
                (p.dts, p.pts),
                "track {} sample {i}",
                t.track_id
            );
            assert_eq!(u64::from(s.size), p.size, "track {} sample {i}", t.track_id);
            assert_eq!(s.is_sync, p.key, "track {} sample {i}", t.track_id);
            assert!(demuxed.sample_data(s).is_some());
        }
    }
}

#[test]
fn hls_fmp4_init_has_video_and_audio() {
    let init = parse_init(HLS_INIT).unwrap();
    assert_eq!(init.major_brand, Some(*b"iso5"));
    assert!(init.skipped.is_empty());
    let ids: Vec<u32> = init.tracks.iter().map(|t| t.track_id).collect();
    assert_eq!(ids, [1, 2]);
    let (v, a) = (&init.tracks[0], &init.tracks[1]);
    assert_eq!(v.track.codec_string(), "avc1.64000d");
    assert_eq!(v.track.kind(), TrackKind::Video);
    assert_eq!(v.track.dimensions(), Some((320, 180)));
    assert_eq!((v.track.timescale, v.nal_length_size), (15_360, 4));
    assert_eq!((&v.handler_type, &v.sample_entry), (b"vide", b"avc1"));
    assert_eq!(a.track.codec_string(), "mp4a.40.2");
    assert_eq!(a.track.timescale, 48_000);
    assert_eq!(
        (a.track.sample_rate(), a.track.channels()),
        (Some(48_000), Some(2))
    );
    // Video: a 66 ms empty edit (1014 ticks) then media from 1024 (the B-frame delay);
    // audio: a 45 ms empty edit.
    assert_eq!((v.edit_shift, a.edit_shift), (1014 - 1024, 2160));
    assert_eq!(v.trex.default_sample_description_index, 1);
    // The same parameter sets as ffmpeg's TS output of the same encoder settings.
    let ts = edgepack::media::remux::ts_to_cmaf(
        media_support::SEG0,
        &edgepack::media::remux::RemuxOptions::default(),
    )
    .unwrap();
    assert_eq!(ts.tracks[0].track.codec_string(), v.track.codec_string());
}

#[test]
fn hls_fmp4_segments_match_ffprobe() {
    check_against_ffprobe(HLS_INIT, HLS_SEG0, 2);
    check_against_ffprobe(HLS_INIT, HLS_SEG1, 2);
}

#[test]
fn hls_fmp4_segment_layout() {
    let init = parse_init(HLS_INIT).unwrap();
    let seg = parse_segment(HLS_SEG0, &init).unwrap();
    assert_eq!(seg.major_brand, Some(*b"msdh"));
    assert!(!seg.last_segment);
    assert_eq!(seg.fragments.len(), 1);
    assert_eq!(seg.fragments[0].sequence_number, 1);
    let video = &seg.track(1).unwrap().samples;
    let audio = &seg.track(2).unwrap().samples;
    assert_eq!(video.len(), 60);
    assert_eq!(video.iter().filter(|s| s.is_sync).count(), 1);
    assert!(video[0].is_sync);
    assert_eq!(video[0].decode_time, 0);
    assert!(audio.iter().all(|s| s.is_sync));
    // Samples of one fragment follow each other in its mdat: video, then audio.
    assert_eq!(audio[0].offset, video.last().unwrap().range().end);
    // The second segment continues the first.
    let seg1 = parse_segment(HLS_SEG1, &init).unwrap();
    let next = &seg1.track(1).unwrap().samples[0];
    let last = video.last().unwrap();
    assert_eq!(
        next.decode_time,
        last.decode_time + u64::from(last.duration)
    );
}

#[test]
fn dash_fmp4_chunks_match_ffprobe() {
    check_against_ffprobe(DASH_VIDEO_INIT, DASH_VIDEO_SEG, 1);
    check_against_ffprobe(DASH_AUDIO_INIT, DASH_AUDIO_SEG, 1);
    let init = parse_init(DASH_VIDEO_INIT).unwrap();
    let seg = parse_segment(DASH_VIDEO_SEG, &init).unwrap();
    // -frag_duration 0.5: four CMAF chunks (moof + mdat) in the 2 s segment.
    let numbers: Vec<u32> = seg.fragments.iter().map(|f| f.sequence_number).collect();
    assert_eq!(numbers, [1, 2, 3, 4]);
    assert_eq!(seg.track(1).unwrap().samples.len(), 60);
    let audio_init = parse_init(DASH_AUDIO_INIT).unwrap();
    assert_eq!(audio_init.tracks[0].track.codec_string(), "mp4a.40.2");
    assert_eq!(init.tracks[0].edit_shift, -1024);
}

#[test]
fn hevc_fmp4_init_and_samples() {
    let init = parse_init(HEVC_INIT).unwrap();
    assert_eq!(init.tracks.len(), 1);
    let t = &init.tracks[0];
    assert_eq!(&t.sample_entry, b"hvc1");
    assert!(
        t.track.codec_string().starts_with("hvc1.1.6.L"),
        "{}",
        t.track.codec_string()
    );
    assert_eq!(t.track.dimensions(), Some((320, 180)));
    check_against_ffprobe(HEVC_INIT, HEVC_SEG, 1);
}

/// Samples → our CMAF writer: one init + one media segment per track.
fn to_cmaf(t: &TrackSamples<'_>) -> (Vec<u8>, Vec<u8>) {
    let init = init_segment(t.track).unwrap();
    let infos = t.sample_infos();
    let mut segment = Vec::new();
    write_media_segment(
        &mut segment,
        1,
        t.base_media_decode_time().unwrap(),
        &infos,
        |mdat| t.write_samples(0..t.samples.len(), mdat),
    )
    .unwrap();
    (init, segment)
}

fn check_cmaf_round_trip(init_bytes: &[u8], segment_bytes: &[u8]) {
    let init = parse_init(init_bytes).unwrap();
    let seg = parse_segment(segment_bytes, &init).unwrap();
    for t in seg.track_samples(&init) {
        assert_eq!(t.nal_length_size, 4, "our writers write 4-byte NAL lengths");
        let (ours_init, ours_seg) = to_cmaf(&t);
        // An independent, strict parser accepts every box.
        media_support::check_init(&ours_init);
        let (_, mdat) = media_support::check_segment(&ours_seg);
        assert_eq!(
            mdat.len(),
            t.samples.iter().map(|s| s.size as usize).sum::<usize>()
        );
        // ffprobe decodes every frame, at our media times (no edit list in our header).
        let (packets, streams) = probe(&cat(&ours_init, &ours_seg));
        assert_eq!(streams.len(), 1);
        assert_eq!(streams[0].frames, u64::try_from(t.samples.len()).unwrap());
        assert_eq!(packets.len(), t.samples.len());
        for (s, p) in t.samples.iter().zip(&packets) {
            assert_eq!(p.dts, i64::try_from(s.decode_time).unwrap());
            assert_eq!(p.pts, p.dts + i64::from(s.composition_offset));
            assert_eq!(p.key, s.is_sync);
            assert_eq!(p.size, u64::from(s.size));
        }
        // And our own demuxer reads our output back to the same samples.
        let back_init = parse_init(&ours_init).unwrap();
        let back = parse_segment(&ours_seg, &back_init).unwrap();
        let back = &back.tracks[0].samples;
        assert_eq!(back.len(), t.samples.len());
        for (a, b) in back.iter().zip(t.samples) {
            assert_eq!(
                (a.decode_time, a.composition_offset, a.is_sync, a.size),
                (b.decode_time, b.composition_offset, b.is_sync, b.size)
            );
        }
    }
}

#[test]
fn fmp4_to_cmaf_round_trips() {
    check_cmaf_round_trip(HLS_INIT, HLS_SEG0);
    check_cmaf_round_trip(HLS_INIT, HLS_SEG1);
    check_cmaf_round_trip(DASH_VIDEO_INIT, DASH_VIDEO_SEG);
    check_cmaf_round_trip(DASH_AUDIO_INIT, DASH_AUDIO_SEG);
    check_cmaf_round_trip(HEVC_INIT, HEVC_SEG);
}

#[test]
fn truncated_input_is_truncated_never_malformed() {
    for cut in 0..HLS_INIT.len() {
        match parse_init(&HLS_INIT[..cut]) {
            Err(e) if e.is_truncated() => {}
            // Cut between ftyp and moov: nothing is malformed, the movie box is missing.
            Err(Fmp4Error::MissingBox { box_type, .. }) if &box_type == b"moov" => {}
            other => panic!("init cut at {cut}: {other:?}"),
        }
    }
    let init = parse_init(DASH_VIDEO_INIT).unwrap();
    let full = parse_segment(DASH_VIDEO_SEG, &init).unwrap();
    let mut boundaries = 0;
    for cut in 0..DASH_VIDEO_SEG.len() {
        match parse_segment(&DASH_VIDEO_SEG[..cut], &init) {
            Err(e) if e.is_truncated() => {}
            Err(Fmp4Error::MissingBox { box_type, .. }) if &box_type == b"moof" => {}
            // Cut at a chunk boundary: the chunks so far, a prefix of the whole.
            Ok(seg) => {
                boundaries += 1;
                let n = seg.tracks[0].samples.len();
                assert_eq!(seg.tracks[0].samples[..], full.tracks[0].samples[..n]);
            }
            Err(e) => panic!("segment cut at {cut}: {e}"),
        }
    }
    assert_eq!(boundaries, 3, "cuts after the first three chunks parse");
}

#[test]
fn every_byte_flipped_never_panics() {
    let init = parse_init(HLS_INIT).unwrap();
    let seg = &HLS_SEG0[..4096.min(HLS_SEG0.len())];
    for i in 0..HLS_INIT.len() {
        let mut bad = HLS_INIT.to_vec();
        bad[i] ^= 0xFF;
        let _ = parse_init(&bad);
    }
    for i in 0..seg.len() {
        let mut bad = HLS_SEG0.to_vec();
        bad[i] ^= 0xFF;
        if let Ok(s) = parse_segment(&bad, &init) {
            for t in &s.tracks {
                assert!(t.samples.iter().all(|x| s.sample_data(x).is_some()));
            }
        }
    }
}

#[test]
fn decoder_configuration_records() {
    // avcC of the fixture (from the init segment) against the SPS/PPS of ffmpeg's TS output.
    let at = HLS_INIT.windows(4).position(|w| w == b"avcC").unwrap();
    let size = u32::from_be_bytes(HLS_INIT[at - 4..at].try_into().unwrap()) as usize;
    let record = &HLS_INIT[at + 4..at - 4 + size];
    let (config, nal_length_size) = AvcConfig::from_decoder_configuration_record(record).unwrap();
    assert_eq!(nal_length_size, 4);
    assert_eq!(config.codec_string(), "avc1.64000d");
    // Our writer writes the same record (with the High profile chroma/bit-depth extension).
    assert_eq!(config.decoder_configuration_record().unwrap(), record);
    for n in 0..record.len() - 4 {
        assert!(AvcConfig::from_decoder_configuration_record(&record[..n]).is_err());
    }
    // AudioSpecificConfig: AAC-LC 48 kHz stereo; explicit HE-AAC gives its core.
    let lc = AacConfig::from_audio_specific_config(&[0x11, 0x90]).unwrap();
    assert_eq!(
        (lc.audio_object_type, lc.sample_rate(), lc.channels()),
        (2, 48_000, 2)
    );
    // aot 5 (SBR), 24 kHz core (6), stereo, extension 48 kHz (3), core aot 2.
    let he = AacConfig::from_audio_specific_config(&[0x2B, 0x11, 0x88, 0x00]).unwrap();
    assert_eq!((he.audio_object_type, he.sample_rate()), (2, 24_000));
    assert!(AacConfig::from_audio_specific_config(&[0x11]).is_err());
    assert!(AacConfig::from_audio_specific_config(&[0x17, 0x80, 0, 0, 0]).is_err());
    // ADTS header: our writer against the existing ADTS parser.
    let mut frame = lc.adts_header(300).unwrap().to_vec();
    frame.extend(std::iter::repeat_n(0xAA, 300));
    let (parsed, len) = parse_adts(&frame).unwrap();
    assert_eq!((parsed.config, parsed.raw.len(), len), (lc, 300, 307));
    assert!(lc.adts_header(8185).is_err());
}

/// A tiny box builder for hand-made fragments.
mod build {
    pub fn boxed(t: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut out = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        out.extend_from_slice(t);
        out.extend_from_slice(body);
        out
    }

    pub fn full(t: &[u8; 4], version: u8, flags: u32, body: &[u8]) -> Vec<u8> {
        let mut b = ((u32::from(version) << 24) | flags).to_be_bytes().to_vec();
        b.extend_from_slice(body);
        boxed(t, &b)
    }

    pub fn u32s(v: &[u32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_be_bytes()).collect()
    }
}

/// The DASH audio init segment (one track, ID 1, trex with zero defaults) as the init of the
/// hand-made fragments; only its track IDs and trex matter here.
fn audio_init() -> InitSegment {
    parse_init(DASH_AUDIO_INIT).unwrap()
}

#[test]
fn tfhd_and_trun_flag_combinations() {
    use build::*;
    let init = audio_init();
    // styp with lmsg, then sidx, prft and emsg to skip.
    let mut seg = boxed(
        b"styp",
        &[b"msdh".as_slice(), &[0; 4], b"msdh", b"lmsg"].concat(),
    );
    seg.extend(full(b"sidx", 1, 0, &[0; 32]));
    seg.extend(full(b"prft", 1, 0, &[0; 16]));
    seg.extend(full(b"emsg", 1, 0, &[0; 24]));
    // moof 1: tfhd with explicit base_data_offset (0x1), default duration (0x8), size
    // (0x10), flags (0x20, non-sync); trun with first_sample_flags (0x4, sync) and no data
    // offset: data at base_data_offset.
    let moof_at = seg.len();
    let tfhd = full(
        b"tfhd",
        0,
        0x39,
        &[u32s(&[1]), vec![0; 8], u32s(&[1024, 3, 0x0001_0000])].concat(),
    );
    let tfdt = full(b"tfdt", 0, 0, &u32s(&[48_000]));
    let trun = full(b"trun", 0, 0x4, &u32s(&[2, 0x0200_0000]));
    let traf = boxed(b"traf", &[tfhd, tfdt, trun].concat());
    let mfhd = full(b"mfhd", 0, 0, &u32s(&[7]));
    let mut moof = boxed(b"moof", &[mfhd, traf].concat());
    let mdat_payload_at = moof_at + moof.len() + 8;
    // Patch base_data_offset (after tfhd's header and track_ID).
    let tfhd_at = moof.windows(4).position(|w| w == b"tfhd").unwrap() + 4;
    moof[tfhd_at + 8..tfhd_at + 16].copy_from_slice(&(mdat_payload_at as u64).to_be_bytes());
    seg.extend(moof);
    seg.extend(boxed(b"mdat", &[1, 2, 3, 4, 5, 6]));
    // moof 2, no tfdt (continues), no tfhd defaults (trex: zero): trun v1 with everything
    // per sample, negative composition offsets, data_offset from the moof
    // (default-base-is-moof); a second trun without data_offset continues after the first.
    let moof2_at = seg.len();
    let tfhd = full(b"tfhd", 0, 0x02_0000, &u32s(&[1]));
    let rows = |d: u32, s: u32, f: u32, c: i32| u32s(&[d, s, f, c as u32]);
    let trun_a = full(
        b"trun",
        1,
        0xF01,
        &[
            u32s(&[2, 0]),
            rows(1000, 2, 0x0200_0000, -5),
            rows(1024, 1, 0x0101_0000, 7),
        ]
        .concat(),
    );
    let trun_b = full(b"trun", 0, 0x300, &[u32s(&[1]), u32s(&[512, 4])].concat());
    let traf = boxed(b"traf", &[tfhd, trun_a, trun_b].concat());
    let mut moof2 = boxed(b"moof", &[full(b"mfhd", 0, 0, &u32s(&[8])), traf].concat());
    let data_offset = (moof2.len() + 16) as u32; // the mdat has a 16-byte header
    let trun_at = moof2.windows(4).position(|w| w == b"trun").unwrap() + 4;
    moof2[trun_at + 8..trun_at + 12].copy_from_slice(&data_offset.to_be_bytes());
    seg.extend(moof2);
    // An mdat with a 64-bit largesize header.
    let mut mdat = 1u32.to_be_bytes().to_vec();
    mdat.extend_from_slice(b"mdat");
    mdat.extend_from_slice(&(16u64 + 7).to_be_bytes());
    mdat.extend_from_slice(&[10, 11, 12, 20, 21, 22, 23]);
    seg.extend(mdat);

    let parsed = parse_segment(&seg, &init).unwrap();
    assert!(parsed.last_segment);
    assert_eq!(parsed.fragments.len(), 2);
    assert_eq!(parsed.fragments[1].offset, moof2_at);
    let s = &parsed.track(1).unwrap().samples;
    let got: Vec<_> = s
        .iter()
        .map(|s| {
            (
                s.decode_time,
                s.duration,
                s.composition_offset,
                s.is_sync,
                parsed.sample_data(s).unwrap().to_vec(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (48_000, 1024, 0, true, vec![1, 2, 3]),
            (49_024, 1024, 0, false, vec![4, 5, 6]),
            (50_048, 1000, -5, true, vec![10, 11]),
            (51_048, 1024, 7, false, vec![12]),
            (52_072, 512, 0, true, vec![20, 21, 22, 23]),
        ]
    );
}

#[test]
fn implicit_base_follows_the_previous_traf() {
    use build::*;
    // Two trafs of the same track in one moof, no base flags: the first starts at the moof
    // (so it needs a data_offset), the second right after the first's data.
    let init = audio_init();
    let traf1 = boxed(
        b"traf",
        &[
            full(b"tfhd", 0, 0x18, &u32s(&[1, 10, 2])),
            full(b"tfdt", 1, 0, &[0, 0, 0, 0, 0, 0, 0, 5]),
            full(b"trun", 0, 0x1, &u32s(&[2, 0])),
        ]
        .concat(),
    );
    let traf2 = boxed(
        b"traf",
        &[
            full(b"tfhd", 0, 0x18, &u32s(&[1, 10, 1])),
            full(b"trun", 0, 0, &u32s(&[1])),
        ]
        .concat(),
    );
    let mut moof = boxed(
        b"moof",
        &[full(b"mfhd", 0, 0, &u32s(&[1])), traf1, traf2].concat(),
    );
    let off = (moof.len() + 8) as u32;
    let at = moof.windows(4).position(|w| w == b"trun").unwrap() + 4;
    moof[at + 8..at + 12].copy_from_slice(&off.to_be_bytes());
    // An mdat with size 0: up to the end of the input.
    let mut seg = moof;
    seg.extend_from_slice(&[0, 0, 0, 0]);
    seg.extend_from_slice(b"mdat");
    seg.extend_from_slice(&[1, 2, 3, 4, 5]);
    let parsed = parse_segment(&seg, &init).unwrap();
    let s = &parsed.track(1).unwrap().samples;
    let data: Vec<_> = s
        .iter()
        .map(|x| parsed.sample_data(x).unwrap().to_vec())
        .collect();
    assert_eq!(data, vec![vec![1, 2], vec![3, 4], vec![5]]);
    let times: Vec<u64> = s.iter().map(|x| x.decode_time).collect();
    assert_eq!(times, [5, 15, 25]);
}

#[test]
fn malformed_fragments_are_reported_with_context() {
    use build::*;
    let init = audio_init();
    let moof = |traf: Vec<u8>| boxed(b"moof", &[full(b"mfhd", 0, 0, &u32s(&[1])), traf].concat());
    let tfdt = full(b"tfdt", 0, 0, &u32s(&[0]));
    let err = |seg: &[u8]| parse_segment(seg, &init).unwrap_err();

    // Samples beyond their mdat.
    let traf = boxed(
        b"traf",
        &[
            full(b"tfhd", 0, 0x02_0010, &u32s(&[1, 100])),
            tfdt.clone(),
            full(b"trun", 0, 0x1, &u32s(&[2, 0])),
        ]
        .concat(),
    );
    let mut m = moof(traf);
    let off = (m.len() + 8) as u32;
    let at = m.windows(4).position(|w| w == b"trun").unwrap() + 4;
    m[at + 8..at + 12].copy_from_slice(&off.to_be_bytes());
    let seg = [m, boxed(b"mdat", &[0; 150])].concat();
    assert!(
        matches!(err(&seg), Fmp4Error::Malformed { box_type, what, .. } if &box_type == b"trun" && what.contains("past its mdat"))
    );

    // A track the init does not declare.
    let traf = boxed(
        b"traf",
        &[full(b"tfhd", 0, 0x02_0000, &u32s(&[9])), tfdt.clone()].concat(),
    );
    assert_eq!(
        err(&moof(traf)),
        Fmp4Error::UnknownTrack {
            track_id: 9,
            offset: 24
        }
    );

    // A forged sample_count.
    let traf = boxed(
        b"traf",
        &[
            full(b"tfhd", 0, 0x02_0000, &u32s(&[1])),
            tfdt.clone(),
            full(b"trun", 0, 0x200, &u32s(&[u32::MAX, 1])),
        ]
        .concat(),
    );
    assert!(
        matches!(err(&moof(traf)), Fmp4Error::Malformed { what, .. } if what.contains("sample_count"))
    );
    let traf = boxed(
        b"traf",
        &[
            full(b"tfhd", 0, 0x02_0000, &u32s(&[1])),
            tfdt.clone(),
            full(b"trun", 0, 0, &u32s(&[u32::MAX])),
        ]
        .concat(),
    );
    let seg = [moof(traf), boxed(b"mdat", &[0; 4])].concat();
    assert!(
        matches!(err(&seg), Fmp4Error::Malformed { what, .. } if what.contains("outside every mdat") || what.contains("sample_count"))
    );

    // No tfdt for the track's first fragment.
    let traf = boxed(
        b"traf",
        &[
            full(b"tfhd", 0, 0x02_0010, &u32s(&[1, 1])),
            full(b"trun", 0, 0x1, &u32s(&[1, 0])),
        ]
        .concat(),
    );
    let mut m = moof(traf);
    let off = (m.len() + 8) as u32;
    let at = m.windows(4).position(|w| w == b"trun").unwrap() + 4;
    m[at + 8..at + 12].copy_from_slice(&off.to_be_bytes());
    let seg = [m, boxed(b"mdat", &[0])].concat();
    assert!(matches!(err(&seg), Fmp4Error::MissingBox { box_type, .. } if &box_type == b"tfdt"));

    // A child box larger than its container is malformed, not truncated.
    let mut bad = moof(boxed(b"traf", &[]));
    bad[8 + 3] = 200; // mfhd's size
    assert!(matches!(err(&bad), Fmp4Error::Malformed { box_type, .. } if &box_type == b"moof"));
    // A box size smaller than its header.
    assert!(matches!(
        err(&[0, 0, 0, 4, b'm', b'o', b'o', b'f']),
        Fmp4Error::Malformed { .. }
    ));
    // No moof at all.
    assert!(matches!(
        err(&boxed(b"styp", b"msdh\0\0\0\0")),
        Fmp4Error::MissingBox { .. }
    ));
    // Display carries box type and offset.
    let e = parse_segment(&[0, 0, 0, 99, b'm', b'o', b'o', b'f'], &init).unwrap_err();
    assert!(e.is_truncated());
    assert_eq!(
        e.to_string(),
        "'moof' box at byte 0 truncated: 91 more bytes needed"
    );
}

#[test]
fn unsupported_tracks_are_skipped_with_a_reason() {
    // Turn the audio init's mp4a into enca: the track is listed as skipped, and a segment
    // for it parses with no carried track.
    let mut init = DASH_AUDIO_INIT.to_vec();
    let at = init.windows(4).position(|w| w == b"mp4a").unwrap();
    init[at..at + 4].copy_from_slice(b"enca");
    let parsed = parse_init(&init).unwrap();
    assert!(parsed.tracks.is_empty());
    assert_eq!(parsed.skipped.len(), 1);
    assert_eq!(parsed.skipped[0].sample_entry, Some(*b"enca"));
    assert!(matches!(
        parsed.skipped[0].reason,
        Fmp4Error::Unsupported { .. }
    ));
    let seg = parse_segment(DASH_AUDIO_SEG, &parsed).unwrap();
    assert!(seg.tracks.is_empty());
    assert_eq!(seg.fragments.len(), 4);
}

#[test]
fn fmp4_segments_to_a_progressive_mp4() {
    // The progressive writer takes the demuxer's samples as it takes the TS remux's: two
    // HLS fMP4 segments become one file of both tracks that ffprobe decodes whole.
    use edgepack::media::mp4::ProgressiveMp4;
    let init = parse_init(HLS_INIT).unwrap();
    let mut mp4 = ProgressiveMp4::new(HLS_SEG0.len() + HLS_SEG1.len());
    let indexes: Vec<_> = init
        .tracks
        .iter()
        .map(|t| mp4.add_track(t.track.clone()))
        .collect();
    let mut expected = vec![0usize; init.tracks.len()];
    for bytes in [HLS_SEG0, HLS_SEG1] {
        let seg = parse_segment(bytes, &init).unwrap();
        for (i, t) in seg.track_samples(&init).iter().enumerate() {
            let infos = t.sample_infos();
            mp4.append_chunk(indexes[i], &infos, |out| {
                t.write_samples(0..t.samples.len(), out)
            })
            .unwrap();
            expected[i] += t.samples.len();
        }
    }
    let file = mp4.finish().unwrap();
    let (packets, streams) = probe(&file);
    for (i, s) in streams.iter().enumerate() {
        assert_eq!(s.frames, expected[i] as u64, "stream {i}");
        assert_eq!(of_stream(&packets, i).len(), expected[i]);
    }
    assert_eq!(expected, [120, 189]);
}
