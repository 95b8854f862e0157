//! Progressive MP4 clips from TS segments: read back by mp4-atom (strict), by ffprobe (every
//! frame decoded, counts and duration equal the source's) and against a golden box tree.
//! Needs `ffmpeg`/`ffprobe` on PATH: fails, never skips, without them.

mod media_support;

use edgepack::media::remux::clip::{ClipPart, ClipWriter};
use edgepack::media::ts::first_pts;
use media_support::*;
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

/// A file in the temp directory, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, bytes: &[u8]) -> TempFile {
        let path = std::env::temp_dir().join(format!("edgepack-{}-{name}", std::process::id()));
        std::fs::write(&path, bytes).unwrap();
        TempFile(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn run(cmd: &mut Command) -> (String, String) {
    let out = cmd
        .output()
        .expect("ffmpeg/ffprobe must be installed (apt-get install ffmpeg)");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{cmd:?} failed: {stderr}");
    (String::from_utf8(out.stdout).unwrap(), stderr)
}

/// `ffprobe -count_frames -show_streams -show_format` as JSON; decode errors fail the test.
fn ffprobe(path: &str) -> Value {
    let (out, err) = run(Command::new("ffprobe").args([
        "-v",
        "error",
        "-count_frames",
        "-show_streams",
        "-show_format",
        "-of",
        "json",
        path,
    ]));
    assert!(err.trim().is_empty(), "ffprobe errors: {err}");
    serde_json::from_str(&out).unwrap()
}

/// A full decode of every stream with ffmpeg: no error output.
fn decodes_cleanly(path: &str) {
    let (_, err) = run(Command::new("ffmpeg").args(["-v", "error", "-i", path, "-f", "null", "-"]));
    assert!(err.trim().is_empty(), "decode errors: {err}");
}

/// Packet PTS (90 kHz) of the source's `stream` (`v` or `a`).
fn source_pts(path: &str, stream: &str) -> Vec<i64> {
    let (out, _) = run(Command::new("ffprobe").args([
        "-v",
        "error",
        "-select_streams",
        stream,
        "-show_entries",
        "packet=pts",
        "-of",
        "csv=p=0",
        path,
    ]));
    out.lines()
        .filter_map(|l| l.trim().trim_end_matches(',').parse().ok())
        .collect()
}

/// The top-level boxes of `file`: (type, offset).
fn top_level(file: &[u8]) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 8 <= file.len() {
        let size = u32::from_be_bytes(file[at..at + 4].try_into().unwrap()) as usize;
        out.push((
            String::from_utf8_lossy(&file[at + 4..at + 8]).into_owned(),
            at,
        ));
        assert!(size >= 8, "box size {size} at {at}");
        at += size;
    }
    assert_eq!(at, file.len(), "boxes cover the file");
    out
}

fn two_segment_clip() -> Vec<u8> {
    let next = first_pts(SEG1).map(|t| t.get());
    let mut clip = ClipWriter::new(SEG0.len() + SEG1.len());
    for (ts, next_video_start, last) in [(SEG0, next, false), (SEG1, None, true)] {
        let warnings = clip
            .push(&ClipPart {
                video: ts,
                audio: None,
                video_reference: None,
                audio_reference: None,
                next_video_start,
                last,
            })
            .unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
    }
    clip.finish().unwrap()
}

/// What the clip of SEG0 + SEG1 must hold, from ffprobe on the source: every video frame,
/// and the audio frames that start within the video's span.
fn expected_counts() -> (usize, usize) {
    let source = TempFile::new("source.ts", &[SEG0, SEG1].concat());
    let video = source_pts(source.path(), "v");
    let audio = source_pts(source.path(), "a");
    let start = *video.iter().min().unwrap();
    let end = start + video.len() as i64 * 3000;
    // ffmpeg rounds the times of frames inside one PES to 90 kHz: 2 ticks of slack.
    let kept = audio
        .iter()
        .filter(|&&t| t >= start - 2 && t < end - 2)
        .count();
    (video.len(), kept)
}

fn check_probe(file: &[u8], name: &str) -> Value {
    let tmp = TempFile::new(name, file);
    let probe = ffprobe(tmp.path());
    decodes_cleanly(tmp.path());
    let (video_frames, audio_frames) = expected_counts();
    let video = stream(&probe, "video");
    let audio = stream(&probe, "audio");
    assert_eq!(video["codec_name"], "h264");
    assert_eq!(audio["codec_name"], "aac");
    assert_eq!(number(&video["nb_read_frames"]) as usize, video_frames);
    assert_eq!(number(&video["nb_frames"]) as usize, video_frames);
    assert_eq!(number(&audio["nb_read_frames"]) as usize, audio_frames);
    // 120 frames at 30 fps.
    let duration = number(&probe["format"]["duration"]);
    assert!((duration - 4.0).abs() < 0.03, "duration {duration}");
    assert!(
        number(&video["start_time"]).abs() < 1e-6,
        "video starts at 0: {video}"
    );
    let audio_start = number(&audio["start_time"]);
    assert!(
        (0.0..0.022).contains(&audio_start),
        "audio starts within one frame: {audio_start}"
    );
    probe
}

#[test]
fn clip_is_progressive_and_decodes_fully() {
    let file = two_segment_clip();
    let boxes = top_level(&file);
    let names: Vec<&str> = boxes.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["ftyp", "moov", "mdat"],
        "one moov before mdat, no moof"
    );
    check_probe(&file, "clip.mp4");
}

#[test]
fn every_box_parses_strictly() {
    use mp4_atom::Decode;
    let file = two_segment_clip();
    let mut cursor = std::io::Cursor::new(&file);
    let ftyp = mp4_atom::Ftyp::decode(&mut cursor).unwrap();
    assert_eq!(ftyp.major_brand, b"isom".into());
    assert!(ftyp.compatible_brands.contains(&b"avc1".into()));
    let moov = mp4_atom::Moov::decode(&mut cursor).unwrap_or_else(|e| panic!("{e}"));
    let mdat_at = cursor.position();
    let mdat = mp4_atom::Mdat::decode(&mut cursor).unwrap();
    assert_eq!(cursor.position() as usize, file.len(), "trailing bytes");
    assert!(moov.mvex.is_none(), "not fragmented");
    assert_eq!(moov.trak.len(), 2);
    let (video, audio) = (&moov.trak[0], &moov.trak[1]);
    assert_eq!((video.tkhd.track_id, audio.tkhd.track_id), (1, 2));
    assert_eq!(moov.mvhd.next_track_id, 3);
    let stbl = &video.mdia.minf.stbl;
    let mp4_atom::StszSamples::Different { sizes } = &stbl.stsz.samples else {
        panic!("sizes differ")
    };
    assert_eq!(sizes.len(), 120);
    let stss = stbl.stss.as_ref().expect("video has stss");
    assert_eq!(stss.entries, [1, 61], "one IDR per 2 s segment");
    assert!(stbl.ctts.is_some(), "B-frames need composition offsets");
    let elst = video.edts.as_ref().and_then(|e| e.elst.as_ref()).unwrap();
    assert_eq!(elst.entries.len(), 1);
    assert!(elst.entries[0].media_time > 0, "first picture's delay cut");
    // Chunk offsets: one chunk per track per segment, interleaved, inside mdat.
    let chunks = |t: &mp4_atom::Trak| t.mdia.minf.stbl.stco.as_ref().unwrap().entries.clone();
    let (v, a) = (chunks(video), chunks(audio));
    assert_eq!((v.len(), a.len()), (2, 2));
    assert_eq!(u64::from(v[0]), mdat_at + 8);
    assert!(v[0] < a[0] && a[0] < v[1] && v[1] < a[1]);
    let total: u64 = [video, audio]
        .iter()
        .map(|t| match &t.mdia.minf.stbl.stsz.samples {
            mp4_atom::StszSamples::Different { sizes } => sizes.iter().map(|&s| u64::from(s)).sum(),
            mp4_atom::StszSamples::Identical { count, size } => {
                u64::from(*count) * u64::from(*size)
            }
        })
        .sum();
    assert_eq!(total, mdat.data.len() as u64, "samples fill mdat");
}

#[test]
fn golden_box_tree() {
    use sha2::Digest;
    let file = two_segment_clip();
    let mdat = file.windows(4).position(|w| w == b"mdat").unwrap() - 4;
    let digest: String = sha2::Sha256::digest(&file)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let ours = format!(
        "{}sha256 {digest}\nbytes {}\n",
        box_tree(&file[..mdat + 8]),
        file.len()
    );
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests/fixtures/media/golden/h264_aac_clip.mp4.tree",
    ]
    .iter()
    .collect();
    if std::env::var_os("EDGEPACK_BLESS").is_some() {
        std::fs::write(&path, &ours).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ours, expected, "golden clip box tree differs");
}

/// Splits a fixture with ffmpeg into a video-only and an audio-only TS (timestamps kept), as
/// an encoder writes a separate audio rendition.
fn split(ts: &[u8], name: &str) -> (Vec<u8>, Vec<u8>) {
    let source = TempFile::new(&format!("{name}.ts"), ts);
    let mut out = Vec::new();
    for (map, kind) in [("0:v", "v"), ("0:a", "a")] {
        let dest = TempFile::new(&format!("{name}.{kind}.ts"), &[]);
        run(Command::new("ffmpeg").args([
            "-v",
            "error",
            "-y",
            "-copyts",
            "-i",
            source.path(),
            "-map",
            map,
            "-c",
            "copy",
            "-f",
            "mpegts",
            dest.path(),
        ]));
        out.push(std::fs::read(dest.path()).unwrap());
    }
    let audio = out.pop().unwrap();
    (out.pop().unwrap(), audio)
}

#[test]
fn audio_from_a_separate_rendition() {
    let (v0, a0) = split(SEG0, "seg0");
    let (v1, a1) = split(SEG1, "seg1");
    let next = first_pts(&v1).map(|t| t.get());
    let mut clip = ClipWriter::new(v0.len() + v1.len() + a0.len() + a1.len());
    for (video, audio, next_video_start, last) in [(&v0, &a0, next, false), (&v1, &a1, None, true)]
    {
        clip.push(&ClipPart {
            video,
            audio: Some(audio),
            video_reference: None,
            audio_reference: None,
            next_video_start,
            last,
        })
        .unwrap();
    }
    let file = clip.finish().unwrap();
    // The same frames as from the muxed segments.
    check_probe(&file, "separate.mp4");
}

#[test]
fn timeline_stays_continuous_across_a_discontinuity() {
    // SEG0, then a segment from another encoder run (timestamps near 2^33): a jump.
    let mut clip = ClipWriter::new(SEG0.len() + WRAP.len());
    for (ts, last) in [(SEG0, false), (WRAP, true)] {
        clip.push(&ClipPart {
            video: ts,
            audio: None,
            video_reference: None,
            audio_reference: None,
            next_video_start: None,
            last,
        })
        .unwrap();
    }
    let file = clip.finish().unwrap();
    let tmp = TempFile::new("disc.mp4", &file);
    let probe = ffprobe(tmp.path());
    decodes_cleanly(tmp.path());
    let duration = number(&probe["format"]["duration"]);
    assert!((duration - 4.0).abs() < 0.05, "duration {duration}");
    // Frame times advance by one frame everywhere: no gap or overlap at the jump.
    let pts = source_pts(tmp.path(), "v");
    let mut sorted = pts.clone();
    sorted.sort_unstable();
    let steps: Vec<i64> = sorted.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(steps.iter().all(|&d| d == 3000), "{steps:?}");
    assert_eq!(
        number(&stream(&probe, "video")["nb_read_frames"]) as usize,
        120
    );
}
