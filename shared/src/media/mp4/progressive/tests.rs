use super::*;
use crate::media::codec::aac::AacConfig;

fn audio_track() -> Track {
    // AAC-LC, 48 kHz, stereo.
    let config = AacConfig {
        audio_object_type: 2,
        sampling_frequency_index: 3,
        channel_configuration: 2,
    };
    Track {
        timescale: 48_000,
        codec: CodecConfig::Aac(config),
    }
}

fn sample(size: u32, composition_offset: i32) -> SampleInfo {
    SampleInfo {
        duration: 1024,
        size,
        is_sync: true,
        composition_offset,
    }
}

/// Decodes `file` with mp4-atom (strict) and returns (ftyp, moov, mdat offset, mdat payload).
fn parse(file: &[u8]) -> (mp4_atom::Moov, usize, Vec<u8>) {
    use mp4_atom::Decode;
    let mut cursor = std::io::Cursor::new(file);
    let ftyp = mp4_atom::Ftyp::decode(&mut cursor).unwrap();
    assert_eq!(ftyp.major_brand, b"isom".into());
    let moov = mp4_atom::Moov::decode(&mut cursor).unwrap();
    let at = cursor.position() as usize;
    let mdat = mp4_atom::Mdat::decode(&mut cursor).unwrap();
    assert_eq!(cursor.position() as usize, file.len(), "trailing bytes");
    (moov, at, mdat.data)
}

fn two_chunks() -> ProgressiveMp4 {
    let mut mp4 = ProgressiveMp4::new(16);
    let a = mp4.add_track(audio_track());
    mp4.append_chunk(a, &[sample(2, 0), sample(3, 0)], |o| {
        o.extend_from_slice(&[1, 1, 2, 2, 2])
    })
    .unwrap();
    mp4.append_chunk(a, &[sample(1, 0)], |o| o.push(3)).unwrap();
    mp4.set_start_delay(a, 480);
    mp4
}

#[test]
fn moov_then_mdat_with_offsets_into_it() {
    let file = two_chunks().finish().unwrap();
    let (moov, mdat_at, payload) = parse(&file);
    assert_eq!(payload, [1, 1, 2, 2, 2, 3]);
    let stbl = &moov.trak[0].mdia.minf.stbl;
    let stco = stbl.stco.as_ref().expect("stco");
    let data = mdat_at as u64 + 8;
    assert_eq!(stco.entries, [data, data + 5].map(|v| v as u32));
    assert_eq!(
        stbl.stsz.samples,
        mp4_atom::StszSamples::Different {
            sizes: vec![2, 3, 1]
        }
    );
    assert_eq!(stbl.stsc.entries.len(), 2);
    assert!(stbl.stss.is_none(), "audio: every sample is a sync sample");
    assert_eq!(moov.trak[0].mdia.mdhd.duration, 3 * 1024);
    // 10 ms empty edit (media_time -1, read back as 32 bits), then the media from 0: 64 ms.
    let elst = &moov.trak[0]
        .edts
        .as_ref()
        .expect("edts")
        .elst
        .as_ref()
        .expect("elst");
    let edits: Vec<_> = elst
        .entries
        .iter()
        .map(|e| (e.segment_duration, e.media_time))
        .collect();
    assert_eq!(edits, [(10, u64::from(u32::MAX)), (64, 0)]);
}

#[test]
fn wide_offsets_when_past_4_gib() {
    let mp4 = two_chunks();
    let mut header = header(&mp4.tracks, true).unwrap();
    let start = (1u64 << 32) + 100;
    header.patch_offsets(&mp4.tracks, start).unwrap();
    use mp4_atom::Decode;
    let mut cursor = std::io::Cursor::new(&header.bytes);
    mp4_atom::Ftyp::decode(&mut cursor).unwrap();
    let moov = mp4_atom::Moov::decode(&mut cursor).unwrap();
    let stbl = &moov.trak[0].mdia.minf.stbl;
    assert!(stbl.stco.is_none());
    assert_eq!(stbl.co64.as_ref().unwrap().entries, [start, start + 5]);
    // 32-bit offsets refuse such a value rather than truncate it.
    let mut narrow = self::header(&mp4.tracks, false).unwrap();
    assert_eq!(
        narrow.patch_offsets(&mp4.tracks, start),
        Err(MuxError::TooLarge { box_type: *b"stco" })
    );
}

#[test]
fn declared_sizes_must_match_the_bytes() {
    let mut mp4 = ProgressiveMp4::new(0);
    let a = mp4.add_track(audio_track());
    assert_eq!(
        mp4.append_chunk(a, &[sample(2, 0)], |o| o.push(1)),
        Err(MuxError::SampleSizeMismatch {
            declared: 2,
            written: 1
        })
    );
}

#[test]
fn negative_composition_offsets_use_ctts_version_1() {
    let mut mp4 = ProgressiveMp4::new(0);
    let a = mp4.add_track(audio_track());
    mp4.append_chunk(a, &[sample(1, 2048), sample(1, -1024)], |o| {
        o.extend_from_slice(&[0, 0])
    })
    .unwrap();
    let file = mp4.finish().unwrap();
    let at = file.windows(4).position(|w| w == b"ctts").unwrap();
    assert_eq!(file[at + 4], 1, "version");
    let (moov, _, _) = parse(&file);
    // The earliest composition time is 1024 - 1024 = 0: no edit list is needed.
    assert!(moov.trak[0].edts.is_none());
}
