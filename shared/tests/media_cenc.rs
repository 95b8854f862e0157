//! Common Encryption of our CMAF tracks, checked by independent tools: ffmpeg decrypts
//! (`-decryption_key`) to exactly the clear decode (`-f framemd5`), mp4-atom (strict) reads
//! every fragment box, and the subsample layout is checked NAL unit by NAL unit against the
//! clear samples. Golden files pin the bytes (`EDGEPACK_BLESS=1` rewrites them).
//! Needs ffmpeg (listed in the Makefile's FFPROBE_TESTS).

mod media_support;

use edgepack::media::cenc::{
    clearkey_pssh, encrypt_segment, init_segment, Encryptor, Scheme, TrackProtection,
    CLEARKEY_SYSTEM_ID,
};
use edgepack::media::codec::{h264, h264_slice, hevc, hevc_slice};
use edgepack::media::mp4::{CodecConfig, Track};
use edgepack::media::remux::{
    fmp4_parts_to_cmaf, ts_to_cmaf, Fmp4Part, RemuxOptions, RemuxedTrack, TrackKind,
};
use edgepack::media::ts::first_pts;
use media_support::*;
use std::path::PathBuf;
use std::process::Command;

const KEY: [u8; 16] = [
    0x3c, 0x2f, 0x5e, 0x11, 0x8a, 0x04, 0x9d, 0x67, 0xb1, 0x20, 0xee, 0x45, 0x0f, 0x93, 0x7a, 0xd8,
];
const KID: [u8; 16] = [
    0x6d, 0x76, 0xf2, 0x5c, 0xb1, 0x7f, 0x5e, 0x16, 0xb8, 0xea, 0xef, 0x6b, 0xbf, 0x58, 0x2d, 0x8e,
];
const IV: [u8; 16] = [
    0x9a, 0x3b, 0x41, 0x70, 0x05, 0xcc, 0x18, 0xe2, 0x5f, 0x66, 0x0d, 0xa7, 0x31, 0xbe, 0x84, 0x29,
];
const SCHEMES: [Scheme; 2] = [Scheme::Cenc, Scheme::Cbcs];

fn protection(scheme: Scheme) -> TrackProtection {
    TrackProtection {
        scheme,
        kid: KID,
        key: KEY,
        iv: IV,
        pssh: vec![clearkey_pssh(&[KID]).unwrap()],
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

/// The CMAF tracks of the fixtures: (name, track) for x264 and x265 video and AAC audio, from
/// MPEG-TS, and from ffmpeg's fMP4 (another encoder configuration).
fn fixtures() -> Vec<(String, RemuxedTrack)> {
    let mut out = Vec::new();
    let next = first_pts(SEG1).map(|t| t.get());
    let h264 = ts_to_cmaf(
        SEG0,
        &RemuxOptions {
            next_segment_start: next,
            sequence_number: 1,
            time_reference: None,
        },
    )
    .unwrap();
    let hevc = ts_to_cmaf(HEVC, &RemuxOptions::default()).unwrap();
    let mono = ts_to_cmaf(MONO44_0, &RemuxOptions::default()).unwrap();
    for (name, segment) in [("h264_aac_0", h264), ("h265_aac", hevc), ("mono44", mono)] {
        for t in segment.tracks {
            out.push((format!("{name}.{}", t.track.kind().name()), t));
        }
    }
    for (name, ts) in SLICE_FIXTURES {
        let t = ts_to_cmaf(ts, &RemuxOptions::default()).unwrap();
        out.push((
            format!("{name}.video"),
            t.tracks.into_iter().next().unwrap(),
        ));
    }
    let hevc_fmp4 = fmp4_parts_to_cmaf(
        &[Fmp4Part {
            init: include_bytes!("fixtures/media/h265_fmp4_init.mp4"),
            segment: include_bytes!("fixtures/media/h265_fmp4_0.m4s"),
        }],
        1,
    )
    .unwrap();
    for t in hevc_fmp4.tracks {
        out.push((format!("h265_fmp4.{}", t.track.kind().name()), t));
    }
    out
}

/// Encoder settings that exercise other slice header syntax (see the fixtures README):
/// several slices per picture, CAVLC, MBAFF interlacing, weighted prediction, B-pyramids.
const SLICE_FIXTURES: [(&str, &[u8]); 3] = [
    (
        "h264_slices_interlaced",
        include_bytes!("fixtures/media/cenc/h264_slices_interlaced.ts"),
    ),
    (
        "h264_baseline_slices",
        include_bytes!("fixtures/media/cenc/h264_baseline_slices.ts"),
    ),
    (
        "h265_slices_weighted",
        include_bytes!("fixtures/media/cenc/h265_slices_weighted.ts"),
    ),
];

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("edgepack-cenc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// ffmpeg's per-frame MD5s of the decoded file (init + one segment); `Err` with ffmpeg's
/// message when it fails.
fn framemd5(file: &[u8], name: &str, key: Option<&[u8; 16]>) -> Result<String, String> {
    let path = scratch(name);
    std::fs::write(&path, file).unwrap();
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-hide_banner", "-nostdin", "-v", "error"]);
    if let Some(key) = key {
        cmd.args(["-decryption_key", &hex(key)]);
    }
    cmd.arg("-i").arg(&path);
    cmd.args(["-map", "0", "-f", "framemd5", "-"]);
    let out = cmd
        .output()
        .expect("ffmpeg (Debian package) must be installed");
    let _ = std::fs::remove_file(&path);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let frames: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    if !out.status.success() || frames.is_empty() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(frames.join("\n"))
}

fn encrypted(t: &RemuxedTrack, scheme: Scheme) -> (Vec<u8>, Vec<u8>) {
    let p = protection(scheme);
    let init = init_segment(&t.track, &p).unwrap();
    let seg = encrypt_segment(&t.track, &p, &t.segment).unwrap();
    (init, seg)
}

#[test]
fn ffmpeg_decrypts_every_frame_bit_exactly() {
    for (name, t) in fixtures() {
        let clear = [t.init_segment().unwrap(), t.segment.clone()].concat();
        let reference = framemd5(&clear, &format!("{name}.clear.mp4"), None)
            .unwrap_or_else(|e| panic!("{name}: clear: {e}"));
        assert!(reference.lines().count() >= 10, "{name}: {reference}");
        for scheme in SCHEMES {
            let (init, seg) = encrypted(&t, scheme);
            let file = [init, seg].concat();
            let label = format!("{name}.{scheme:?}");
            let decrypted = framemd5(&file, &format!("{label}.mp4"), Some(&KEY))
                .unwrap_or_else(|e| panic!("{label}: {e}"));
            assert_eq!(decrypted, reference, "{label}: decrypted frames differ");
            let mut wrong = KEY;
            wrong[0] ^= 1;
            if let Ok(frames) = framemd5(&file, &format!("{label}.wrong.mp4"), Some(&wrong)) {
                assert_ne!(frames, reference, "{label}: a wrong key decoded the same");
            }
        }
    }
}

#[test]
fn output_is_deterministic_and_the_clear_path_unchanged() {
    for (name, t) in fixtures() {
        for scheme in SCHEMES {
            let a = encrypted(&t, scheme);
            let b = encrypted(&t, scheme);
            assert!(a == b, "{name} {scheme:?}: two runs differ");
            // The sample-level writer gives the same bytes as the segment re-writer.
            let enc = Encryptor::new(&t.track, &protection(scheme)).unwrap();
            assert_eq!(enc.encrypt_segment(&t.segment).unwrap(), a.1);
        }
    }
}

/// Box bodies by path from `data` (first match at each level).
fn find<'a>(data: &'a [u8], path: &[&[u8; 4]]) -> Option<(usize, &'a [u8])> {
    let (mut pos, end) = (0usize, data.len());
    let Some((want, rest)) = path.split_first() else {
        return Some((0, data));
    };
    while pos + 8 <= end {
        let size = u32::from_be_bytes(data[pos..pos + 4].try_into().unwrap()) as usize;
        if size < 8 || pos + size > end {
            return None;
        }
        if &data[pos + 4..pos + 8] == *want {
            let skip = match *want {
                b"stsd" => 8,
                b"encv" => 78,
                b"enca" => 28,
                _ => 0,
            };
            let body = &data[pos + 8 + skip..pos + size];
            return find(body, rest).map(|(at, b)| (pos + 8 + skip + at, b));
        }
        pos += size;
    }
    None
}

#[test]
fn init_segments_carry_the_protection_boxes() {
    for (name, t) in fixtures() {
        for scheme in SCHEMES {
            let (init, _) = encrypted(&t, scheme);
            let video = t.track.kind() == TrackKind::Video;
            let entry: &[u8; 4] = if video { b"encv" } else { b"enca" };
            let sinf = [&b"moov"[..], b"trak", b"mdia", b"minf", b"stbl", b"stsd"]
                .iter()
                .map(|b| <&[u8; 4]>::try_from(*b).unwrap())
                .chain([entry, b"sinf"])
                .collect::<Vec<_>>();
            let (_, frma) = find(&init, &[sinf.clone(), vec![b"frma"]].concat())
                .unwrap_or_else(|| panic!("{name}: no sinf/frma\n{}", box_tree(&init)));
            let original: &[u8] = match t.track.codec {
                CodecConfig::Avc(_) => b"avc1",
                CodecConfig::Hevc(_) => b"hvc1",
                CodecConfig::Aac(_) => b"mp4a",
            };
            assert_eq!(frma, original, "{name}");
            let (_, schm) = find(&init, &[sinf.clone(), vec![b"schm"]].concat()).unwrap();
            assert_eq!(&schm[4..8], &scheme.scheme_type(), "{name}");
            assert_eq!(&schm[8..12], &[0, 1, 0, 0], "{name}: scheme_version");
            let (_, tenc) = find(&init, &[sinf, vec![b"schi", b"tenc"]].concat()).unwrap();
            let label = format!("{name} {scheme:?}");
            assert_eq!(tenc[6], 1, "{label}: default_isProtected");
            assert_eq!(&tenc[8..24], &KID, "{label}: default_KID");
            match scheme {
                Scheme::Cenc => {
                    assert_eq!(tenc[0], 0, "{label}: tenc version 0");
                    assert_eq!(tenc[5], 0, "{label}: no pattern");
                    assert_eq!(tenc[7], 8, "{label}: Per_Sample_IV_Size");
                    assert_eq!(tenc.len(), 24);
                }
                Scheme::Cbcs => {
                    assert_eq!(tenc[0], 1, "{label}: tenc version 1");
                    let pattern = if video { 0x19 } else { 0x00 };
                    assert_eq!(tenc[5], pattern, "{label}: crypt:skip");
                    assert_eq!(tenc[7], 0, "{label}: Per_Sample_IV_Size");
                    assert_eq!(tenc[24], 16, "{label}: default_constant_IV_size");
                    assert_eq!(&tenc[25..41], &IV, "{label}: constant IV");
                    assert_eq!(tenc.len(), 41);
                }
            }
            let (_, pssh) = find(&init, &[b"moov", b"pssh"]).expect("pssh in moov");
            assert_eq!(&pssh[4..20], &CLEARKEY_SYSTEM_ID);
            assert_eq!(&pssh[24..40], &KID);
        }
    }
}

/// One `senc` entry.
struct Entry {
    iv: Vec<u8>,
    subsamples: Vec<(usize, usize)>,
}

fn senc_entries(senc: &[u8], count: usize, iv_size: usize) -> Vec<Entry> {
    let flags = u32::from_be_bytes(senc[0..4].try_into().unwrap()) & 0xFF_FFFF;
    assert_eq!(
        u32::from_be_bytes(senc[4..8].try_into().unwrap()) as usize,
        count
    );
    let mut pos = 8;
    let mut out = Vec::new();
    for _ in 0..count {
        let iv = senc[pos..pos + iv_size].to_vec();
        pos += iv_size;
        let mut subsamples = Vec::new();
        if flags & 2 != 0 {
            let n = u16::from_be_bytes(senc[pos..pos + 2].try_into().unwrap()) as usize;
            pos += 2;
            for _ in 0..n {
                let clear = u16::from_be_bytes(senc[pos..pos + 2].try_into().unwrap()) as usize;
                let protected =
                    u32::from_be_bytes(senc[pos + 2..pos + 6].try_into().unwrap()) as usize;
                subsamples.push((clear, protected));
                pos += 6;
            }
        }
        out.push(Entry { iv, subsamples });
    }
    assert_eq!(pos, senc.len(), "senc entries fill the box");
    out
}

/// The NAL units of a sample: (offset of the length field, NAL unit bytes).
fn nal_units(sample: &[u8]) -> Vec<(usize, &[u8])> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < sample.len() {
        let len = u32::from_be_bytes(sample[pos..pos + 4].try_into().unwrap()) as usize;
        out.push((pos, &sample[pos + 4..pos + 4 + len]));
        pos += 4 + len;
    }
    out
}

/// Slice header length in bytes (NAL header included) when `nal` is a coded slice.
fn slice_header(track: &Track, nal: &[u8]) -> Option<usize> {
    match &track.codec {
        CodecConfig::Avc(c) => {
            let t = h264::nal_unit_type(nal);
            (t == 1 || t == 5).then(|| {
                let ctx = h264_slice::SliceContext::new(c).unwrap();
                h264_slice::slice_header_len(nal, &ctx).unwrap()
            })
        }
        CodecConfig::Hevc(c) => {
            let t = hevc::nal_unit_type(nal);
            (t < 32).then(|| {
                let ctx = hevc_slice::SliceContext::new(c).unwrap();
                hevc_slice::slice_header_len(nal, &ctx).unwrap()
            })
        }
        CodecConfig::Aac(_) => None,
    }
}

#[test]
fn fragment_boxes_and_subsamples_follow_the_scheme() {
    for (name, t) in fixtures() {
        let (_, clear_samples) = check_segment(&t.segment);
        for scheme in SCHEMES {
            let label = format!("{name} {scheme:?}");
            let (_, seg) = encrypted(&t, scheme);
            let (moof, mdat) = check_segment(&seg);
            assert_eq!(mdat.len(), clear_samples.len());
            let traf = &moof.traf[0];
            let trun = &traf.trun[0];
            let count = trun.entries.len();
            let video = t.track.kind() == TrackKind::Video;
            let iv_size = if scheme == Scheme::Cenc { 8 } else { 0 };
            let (senc_at, senc) = find(&seg, &[b"moof", b"traf", b"senc"]).expect("senc");
            let entries = senc_entries(senc, count, iv_size);
            let sizes: Vec<usize> = entries
                .iter()
                .map(|e| e.iv.len() + if video { 2 + 6 * e.subsamples.len() } else { 0 })
                .collect();
            if !video && scheme == Scheme::Cbcs {
                // Constant IV, no subsamples: empty auxiliary information, no saiz or saio
                // (ISO/IEC 23001-7 7.1; what Shaka Packager writes).
                assert!(sizes.iter().all(|&s| s == 0));
                assert!(traf.saiz.is_empty() && traf.saio.is_empty(), "{label}");
            } else {
                assert_eq!(traf.saiz.len(), 1, "{label}: saiz");
                assert_eq!(traf.saio.len(), 1, "{label}: saio");
                let saiz = &traf.saiz[0];
                assert_eq!(saiz.sample_count as usize, count, "{label}: saiz count");
                let saio = &traf.saio[0];
                assert_eq!(saio.offsets.len(), 1);
                // saio counts from the moof start (default-base-is-moof) to senc's first entry.
                let moof_start = find(&seg, &[b"moof"]).unwrap().0 - 8;
                assert_eq!(
                    moof_start + saio.offsets[0] as usize,
                    senc_at + 8,
                    "{label}: saio offset lands on senc's first entry"
                );
                if saiz.default_sample_info_size != 0 {
                    let default = saiz.default_sample_info_size as usize;
                    assert!(sizes.iter().all(|&s| s == default), "{label}: saiz size");
                } else {
                    let listed: Vec<usize> =
                        saiz.sample_info_size.iter().map(|&s| s as usize).collect();
                    assert_eq!(listed, sizes, "{label}: saiz sizes");
                }
            }
            if scheme == Scheme::Cenc {
                let mut ivs: Vec<&Vec<u8>> = entries.iter().map(|e| &e.iv).collect();
                ivs.sort();
                ivs.dedup();
                assert_eq!(ivs.len(), count, "{label}: per-sample IVs are distinct");
            }
            let mut offset = 0;
            let mut protected_total = 0;
            for (i, (entry, run)) in entries.iter().zip(&trun.entries).enumerate() {
                let size = run.size.unwrap() as usize;
                let sample = &clear_samples[offset..offset + size];
                let encrypted = &mdat[offset..offset + size];
                offset += size;
                if !video {
                    assert!(entry.subsamples.is_empty());
                    if size >= 16 {
                        assert_ne!(
                            sample[..16],
                            encrypted[..16],
                            "{label} {i}: audio encrypted"
                        );
                    }
                    if scheme == Scheme::Cbcs {
                        let tail = size % 16;
                        assert_eq!(sample[size - tail..], encrypted[size - tail..]);
                    }
                    continue;
                }
                let total: usize = entry.subsamples.iter().map(|s| s.0 + s.1).sum();
                assert_eq!(total, size, "{label} sample {i}: clear + protected = size");
                // Every protected run lies inside one coded slice, after its slice header.
                let nals = nal_units(sample);
                let mut pos = 0;
                for &(clear, protected) in &entry.subsamples {
                    assert!(clear <= 65535);
                    pos += clear;
                    if protected == 0 {
                        continue;
                    }
                    protected_total += protected;
                    assert!(protected >= 16, "{label} sample {i}: tiny protected run");
                    if scheme == Scheme::Cenc {
                        assert_eq!(protected % 16, 0, "{label} sample {i}: cenc aligned");
                    }
                    let (at, nal) = nals
                        .iter()
                        .find(|(at, nal)| pos >= at + 4 && pos < at + 4 + nal.len())
                        .expect("protected run inside a NAL unit");
                    let header = slice_header(&t.track, nal)
                        .unwrap_or_else(|| panic!("{label} sample {i}: non-VCL NAL encrypted"));
                    assert!(
                        pos >= at + 4 + header,
                        "{label} sample {i}: slice header clear"
                    );
                    assert_eq!(
                        pos + protected,
                        at + 4 + nal.len(),
                        "{label}: runs to NAL end"
                    );
                    if scheme == Scheme::Cbcs {
                        assert_eq!(
                            pos,
                            at + 4 + header,
                            "{label}: cbcs starts after the header"
                        );
                    } else {
                        assert!(
                            pos - (at + 4 + header) < 16,
                            "{label}: cenc clear remainder"
                        );
                    }
                    // Clear bytes are unchanged, protected ones are not all unchanged.
                    let label = format!("{label} sample {i} at {pos}");
                    assert!(
                        sample[pos - clear..pos] == encrypted[pos - clear..pos],
                        "{label}"
                    );
                    assert!(sample[pos..pos + 16] != encrypted[pos..pos + 16], "{label}");
                    pos += protected;
                }
                // Every slice with 16 bytes after its header is protected.
                for (at, nal) in &nals {
                    if let Some(header) = slice_header(&t.track, nal) {
                        if nal.len() >= header + 16 {
                            let start = at + 4 + header;
                            let mut p = 0;
                            let covered = entry.subsamples.iter().any(|&(c, pr)| {
                                p += c + pr;
                                pr > 0 && p == at + 4 + nal.len() && p - pr >= start
                            });
                            assert!(covered, "{label} sample {i}: slice left clear");
                        }
                    }
                }
            }
            assert!(
                protected_total > 0 || !video,
                "{label}: something encrypted"
            );
        }
    }
}

/// Where ffmpeg's bitstream tracer (`-bsf:v trace_headers`, libavcodec's CBS) says each
/// slice header ends, in RBSP bits from the start of the NAL unit, in decode order.
fn traced_slice_header_ends(file: &[u8], name: &str) -> Vec<usize> {
    let path = scratch(name);
    std::fs::write(&path, file).unwrap();
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-i"])
        .arg(&path)
        .args([
            "-map",
            "0:v",
            "-c",
            "copy",
            "-bsf:v",
            "trace_headers",
            "-f",
            "null",
            "-",
        ])
        .output()
        .expect("ffmpeg");
    let _ = std::fs::remove_file(&path);
    let log = String::from_utf8_lossy(&out.stderr);
    let mut ends = Vec::new();
    let mut in_slice = false;
    for line in log.lines() {
        let Some(at) = line.find("] ") else { continue };
        let text = &line[at + 2..];
        if text.starts_with("Slice Header") || text.starts_with("Slice Segment Header") {
            in_slice = true;
            ends.push(0);
            continue;
        }
        let fields: Vec<&str> = text.split_whitespace().collect();
        let element = fields.len() >= 5 && fields[fields.len() - 2] == "=";
        if !element {
            in_slice = false;
            continue;
        }
        if in_slice {
            let pos: usize = fields[0].parse().unwrap();
            let bits = fields[fields.len() - 3].len();
            *ends.last_mut().unwrap() = pos + bits;
        }
    }
    ends
}

#[test]
fn slice_header_lengths_match_ffmpeg_bitstream_tracer() {
    for (name, t) in fixtures() {
        if t.track.kind() != TrackKind::Video {
            continue;
        }
        let clear = [t.init_segment().unwrap(), t.segment.clone()].concat();
        let traced = traced_slice_header_ends(&clear, &format!("{name}.trace.mp4"));
        let (moof, mdat) = check_segment(&t.segment);
        let mut ours = Vec::new();
        let mut offset = 0;
        for run in &moof.traf[0].trun[0].entries {
            let size = run.size.unwrap() as usize;
            for (_, nal) in nal_units(&mdat[offset..offset + size]) {
                if let Some(len) = slice_header(&t.track, nal) {
                    // RBSP bytes (NAL header included) of the clear head.
                    ours.push(edgepack::media::codec::bits::rbsp(&nal[..len]).len());
                }
            }
            offset += size;
        }
        let traced: Vec<usize> = traced.iter().map(|bits| bits.div_ceil(8)).collect();
        assert!(!ours.is_empty(), "{name}");
        assert_eq!(
            ours, traced,
            "{name}: slice header bytes, ours vs ffmpeg's tracer"
        );
    }
}

fn golden(name: &str, ours: &[u8]) {
    golden_boxes("tests/fixtures/media/cenc", name, ours);
}

#[test]
fn golden_encrypted_segments() {
    for (name, t) in fixtures() {
        if !name.starts_with("h264_aac_0") {
            continue;
        }
        for scheme in SCHEMES {
            let (init, seg) = encrypted(&t, scheme);
            let s = format!("{scheme:?}").to_lowercase();
            golden(&format!("{name}.{s}.init.mp4"), &init);
            golden(&format!("{name}.{s}.seg.m4s"), &seg);
        }
    }
}

#[test]
fn hostile_pssh_and_samples_are_errors_not_panics() {
    let t = &fixtures()[0].1;
    let mut p = protection(Scheme::Cenc);
    p.pssh.push(b"\0\0\0\x08pssh".to_vec());
    assert!(init_segment(&t.track, &p).is_err());
    let p = protection(Scheme::Cbcs);
    let enc = Encryptor::new(&t.track, &p).unwrap();
    let infos = [edgepack::media::mp4::SampleInfo {
        duration: 3000,
        size: 9,
        is_sync: true,
        composition_offset: 0,
    }];
    let mut out = Vec::new();
    let bad = [0, 0, 0, 20, 0x65, 1, 2, 3, 4];
    assert!(enc
        .write_media_segment(&mut out, 1, 0, &infos, &bad)
        .is_err());
    assert!(enc.encrypt_segment(&t.segment[..100]).is_err());
}
