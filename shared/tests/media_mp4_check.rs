//! Every box we write, read back by an independent parser (mp4-atom, strict).

mod media_support;

use edgepack::media::remux::{ts_to_cmaf, RemuxOptions, TrackKind};
use media_support::*;

#[test]
fn init_segments_parse_strictly() {
    let out = ts_to_cmaf(SEG0, &RemuxOptions::default()).unwrap();
    for t in &out.tracks {
        let moov = check_init(&t.init_segment().unwrap());
        assert_eq!(moov.trak.len(), 1);
        let trak = &moov.trak[0];
        assert_eq!(trak.tkhd.track_id, 1);
        assert_eq!(trak.mdia.mdhd.timescale, t.track.timescale);
        let trex = &moov.mvex.as_ref().expect("mvex").trex;
        assert_eq!(trex.len(), 1);
        let stsd = &trak.mdia.minf.stbl.stsd;
        assert_eq!(stsd.codecs.len(), 1);
        match (t.track.kind(), &stsd.codecs[0]) {
            (TrackKind::Video, mp4_atom::Codec::Avc1(avc1)) => {
                assert_eq!((avc1.visual.width, avc1.visual.height), (320, 180));
                assert_eq!(avc1.avcc.length_size, 4);
                assert_eq!(avc1.avcc.sequence_parameter_sets.len(), 1);
                assert_eq!(avc1.avcc.picture_parameter_sets.len(), 1);
            }
            (TrackKind::Audio, mp4_atom::Codec::Mp4a(mp4a)) => {
                assert_eq!(mp4a.audio.channel_count, 2);
                let dec = &mp4a.esds.es_desc.dec_config;
                assert_eq!(dec.object_type_indication, 0x40);
                assert_eq!(dec.dec_specific.profile, 2);
                assert_eq!(dec.dec_specific.chan_conf, 2);
            }
            (kind, codec) => panic!("{kind:?} track with {codec:?}"),
        }
    }
}

#[test]
fn media_segments_parse_strictly() {
    for (ts, seq) in [(SEG0, 1), (SEG1, 2), (WRAP, 3)] {
        let options = RemuxOptions {
            sequence_number: seq,
            ..RemuxOptions::default()
        };
        let out = ts_to_cmaf(ts, &options).unwrap();
        for t in &out.tracks {
            let (moof, _) = check_segment(&t.segment);
            assert_eq!(moof.mfhd.sequence_number, seq);
            let traf = &moof.traf[0];
            assert_eq!(traf.tfhd.track_id, 1);
            assert_eq!(
                traf.tfdt.as_ref().unwrap().base_media_decode_time,
                t.base_media_decode_time
            );
            let entries = &traf.trun[0].entries;
            assert_eq!(entries.len() as u32, t.sample_count);
            let total: u64 = entries.iter().map(|e| e.duration.unwrap() as u64).sum();
            assert_eq!(total, t.duration);
            if t.track.kind() == TrackKind::Video {
                assert_eq!(entries[0].flags, Some(0x0200_0000), "IDR first");
                assert!(entries[1..].iter().all(|e| e.flags == Some(0x0101_0000)));
                assert!(entries.iter().any(|e| e.cts.unwrap() != 0));
            }
        }
    }
}

#[test]
fn hevc_init_and_segment_parse_strictly() {
    let out = ts_to_cmaf(HEVC, &RemuxOptions::default()).unwrap();
    let video = &out.tracks[0];
    let moov = check_init(&video.init_segment().unwrap());
    let mp4_atom::Codec::Hvc1(hvc1) = &moov.trak[0].mdia.minf.stbl.stsd.codecs[0] else {
        panic!("hvc1 sample entry")
    };
    assert_eq!((hvc1.visual.width, hvc1.visual.height), (320, 180));
    assert_eq!(hvc1.hvcc.general_profile_idc, 1);
    assert_eq!(hvc1.hvcc.general_level_idc, 60);
    assert_eq!(hvc1.hvcc.arrays.len(), 3);
    let (moof, _) = check_segment(&video.segment);
    let entries = &moof.traf[0].trun[0].entries;
    assert_eq!(entries.len(), 60);
    assert_eq!(entries[0].flags, Some(0x0200_0000), "IRAP first");
}
