//! The FLV muxer (`media::flv`, `remux::{ts,fmp4}_parts_to_flv`): golden tags for a fixture,
//! ffprobe (FFmpeg's FLV demuxer and decoders, an independent reader) decoding every frame of
//! FLV made from recorded TS and fMP4 with the source's frame counts and timestamps, timelines
//! continuing across segments and discontinuities, the GOP-cache start, codec changes and
//! refusals. Needs `ffprobe` on PATH: fails, never skips, without it. `EDGEPACK_BLESS=1`
//! rewrites the golden file (review the diff).

mod media_support;

use edgepack::media::flv::{
    FlvError, FlvMuxer, FlvOptions, FlvSegmentOptions, FlvTrack, TAG_TYPE_AUDIO,
    TAG_TYPE_SCRIPT_DATA, TAG_TYPE_VIDEO,
};
use edgepack::media::remux::{
    demux_ts, fmp4_parts_to_flv, ts_parts_to_flv, Fmp4Part, RemuxError, RemuxOptions,
};
use edgepack::media::sample::OwnedSamples;
use edgepack::media::ts::first_pts;
use media_support::*;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;

const FMP4_INIT: &[u8] = include_bytes!("fixtures/media/h264_aac_fmp4_init.mp4");
const FMP4_0: &[u8] = include_bytes!("fixtures/media/h264_aac_fmp4_0.m4s");
const FMP4_1: &[u8] = include_bytes!("fixtures/media/h264_aac_fmp4_1.m4s");
const HEVC_FMP4_INIT: &[u8] = include_bytes!("fixtures/media/h265_fmp4_init.mp4");
const HEVC_FMP4_0: &[u8] = include_bytes!("fixtures/media/h265_fmp4_0.m4s");

// ---- a test-side FLV reader (independent of the muxer's code) ----

/// One FLV tag as read back.
#[derive(Debug, Clone, PartialEq)]
struct Tag {
    tag_type: u8,
    timestamp: u32,
    data: Vec<u8>,
}

impl Tag {
    fn is_video(&self) -> bool {
        self.tag_type == TAG_TYPE_VIDEO
    }
    fn is_audio(&self) -> bool {
        self.tag_type == TAG_TYPE_AUDIO
    }
    /// `AVCPacketType` / `AACPacketType` 0.
    fn is_sequence_header(&self) -> bool {
        (self.is_video() || self.is_audio()) && self.data.get(1) == Some(&0)
    }
    fn is_keyframe(&self) -> bool {
        self.is_video() && self.data[0] >> 4 == 1
    }
    fn composition_time(&self) -> i32 {
        let v = i32::from_be_bytes([0, self.data[2], self.data[3], self.data[4]]);
        (v << 8) >> 8
    }
    /// One line of a tag list.
    fn line(&self) -> String {
        let kind = match self.tag_type {
            TAG_TYPE_VIDEO => "video",
            TAG_TYPE_AUDIO => "audio",
            TAG_TYPE_SCRIPT_DATA => "script",
            _ => "other",
        };
        let mut s = format!("{kind:6} {:>7} ms {:>6} B", self.timestamp, self.data.len());
        if self.is_sequence_header() {
            s.push_str(" sequence header");
        } else if self.is_video() {
            let frame = if self.is_keyframe() { "key" } else { "inter" };
            let _ = write!(s, " {frame} cts {}", self.composition_time());
        }
        s
    }
}

/// Reads an FLV file: checks the header, every PreviousTagSize and that nothing trails.
/// Returns the header's flags byte and the tags.
fn read_flv(flv: &[u8]) -> (u8, Vec<Tag>) {
    assert!(flv.len() >= 13, "short FLV");
    assert_eq!(&flv[..4], b"FLV\x01", "signature and version");
    let data_offset = u32::from_be_bytes(flv[5..9].try_into().unwrap()) as usize;
    assert_eq!(data_offset, 9);
    assert_eq!(&flv[9..13], &[0, 0, 0, 0], "PreviousTagSize0");
    let mut pos = 13;
    let mut tags = Vec::new();
    while pos < flv.len() {
        assert!(pos + 11 <= flv.len(), "truncated tag header at {pos}");
        let h = &flv[pos..pos + 11];
        let size = u32::from_be_bytes([0, h[1], h[2], h[3]]) as usize;
        let timestamp = u32::from_be_bytes([h[7], h[4], h[5], h[6]]);
        assert_eq!(&h[8..11], &[0, 0, 0], "StreamID");
        let end = pos + 11 + size;
        assert!(end + 4 <= flv.len(), "truncated tag at {pos}");
        let previous = u32::from_be_bytes(flv[end..end + 4].try_into().unwrap()) as usize;
        assert_eq!(
            previous,
            11 + size,
            "PreviousTagSize after the tag at {pos}"
        );
        tags.push(Tag {
            tag_type: h[0],
            timestamp,
            data: flv[pos + 11..end].to_vec(),
        });
        pos = end + 4;
    }
    (flv[4], tags)
}

fn tag_list(flv: &[u8]) -> String {
    let (flags, tags) = read_flv(flv);
    let mut out = format!("header flags 0x{flags:02x}\n");
    for t in tags {
        out.push_str(&t.line());
        out.push('\n');
    }
    out
}

// ---- helpers ----

fn fixture_path(name: &str) -> String {
    format!("{}/tests/fixtures/media/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn write_temp(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// ffprobe's packets of a file: per stream type, (pts, dts) in ms rounded half away from
/// zero, and each stream's decoded frame count (`-count_frames`). Decode errors fail.
struct Probe {
    video: Vec<(i64, i64)>,
    audio: Vec<(i64, i64)>,
    video_frames: u64,
    audio_frames: u64,
}

fn round_ms(ticks: i64, den: i64) -> i64 {
    let num = i128::from(ticks) * 1000;
    let den = i128::from(den);
    let r = if num >= 0 {
        (num + den / 2) / den
    } else {
        (num - den / 2) / den
    };
    r as i64
}

fn probe(path: &std::path::Path) -> Probe {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_frames",
            "-show_packets",
            "-show_streams",
        ])
        .args(["-of", "json"])
        .arg(path)
        .output()
        .expect("ffprobe must be installed (apt-get install ffmpeg)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "ffprobe failed: {stderr}");
    assert!(stderr.trim().is_empty(), "decode errors: {stderr}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let streams = json["streams"].as_array().unwrap();
    let mut result = Probe {
        video: Vec::new(),
        audio: Vec::new(),
        video_frames: 0,
        audio_frames: 0,
    };
    let mut kinds = Vec::new();
    for s in streams {
        let tb = s["time_base"].as_str().unwrap();
        let den: i64 = tb.strip_prefix("1/").unwrap().parse().unwrap();
        let kind = s["codec_type"].as_str().unwrap().to_owned();
        let frames = number(&s["nb_read_frames"]) as u64;
        match kind.as_str() {
            "video" => result.video_frames = frames,
            "audio" => result.audio_frames = frames,
            _ => {}
        }
        kinds.push((kind, den));
    }
    for p in json["packets"].as_array().unwrap() {
        let (kind, den) = &kinds[p["stream_index"].as_u64().unwrap() as usize];
        let pts = round_ms(p["pts"].as_i64().unwrap(), *den);
        let dts = round_ms(p["dts"].as_i64().unwrap(), *den);
        match kind.as_str() {
            "video" => result.video.push((pts, dts)),
            "audio" => result.audio.push((pts, dts)),
            _ => {}
        }
    }
    result
}

fn ts_segment(
    muxer: &mut FlvMuxer,
    out: &mut Vec<u8>,
    parts: &[&[u8]],
    next: Option<&[u8]>,
    segment: FlvSegmentOptions,
) {
    let remux = RemuxOptions {
        next_segment_start: next.and_then(first_pts).map(|t| t.get()),
        ..RemuxOptions::default()
    };
    ts_parts_to_flv(muxer, out, parts, &remux, &segment).unwrap();
}

/// SEG0 as the next segment of the stream, its last frame lasting until SEG1.
fn seg0(muxer: &mut FlvMuxer, out: &mut Vec<u8>) {
    ts_segment(muxer, out, &[SEG0], Some(SEG1), Default::default());
}

/// SEG0 then SEG1 as one stream whose timestamps are the source's ms (base = its first DTS).
fn ts_stream(base: u32) -> Vec<u8> {
    let mut muxer = FlvMuxer::new(FlvOptions {
        base_timestamp: base,
    });
    let mut out = Vec::new();
    seg0(&mut muxer, &mut out);
    ts_segment(&mut muxer, &mut out, &[SEG1], None, Default::default());
    out
}

/// Compares our FLV's packets with the source's, `shift` ms added to the source's; audio
/// within `audio_tolerance` ms.
fn assert_same_packets(ours: &Probe, source: &Probe, shift: i64, audio_tolerance: i64) {
    assert_eq!(ours.video.len(), source.video.len(), "video packets");
    assert_eq!(ours.audio.len(), source.audio.len(), "audio packets");
    assert_eq!(
        ours.video_frames, source.video_frames,
        "decoded video frames"
    );
    assert_eq!(
        ours.audio_frames, source.audio_frames,
        "decoded audio frames"
    );
    assert_eq!(ours.video_frames as usize, ours.video.len());
    for (i, (a, b)) in ours.video.iter().zip(&source.video).enumerate() {
        assert_eq!(
            *a,
            (b.0 + shift, b.1 + shift),
            "video packet {i} (pts, dts)"
        );
    }
    for (i, (a, b)) in ours.audio.iter().zip(&source.audio).enumerate() {
        assert!(
            (a.0 - (b.0 + shift)).abs() <= audio_tolerance,
            "audio packet {i}: {a:?} vs {b:?} + {shift}"
        );
    }
}

// ---- golden ----

#[test]
fn golden_tags_of_a_ts_segment() {
    let mut muxer = FlvMuxer::new(FlvOptions::default());
    let mut ours = Vec::new();
    ts_segment(
        &mut muxer,
        &mut ours,
        &[SEG0],
        Some(SEG1),
        Default::default(),
    );
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests/fixtures/media/golden/h264_aac_0.flv",
    ]
    .iter()
    .collect();
    if std::env::var_os("EDGEPACK_BLESS").is_some() {
        std::fs::write(&path, &ours).unwrap();
        return;
    }
    let expected = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if expected != ours {
        panic!(
            "FLV differs from the golden file ({} vs {} bytes)\n{}",
            expected.len(),
            ours.len(),
            tag_diff(&expected, &ours)
        );
    }
}

/// The tags that differ between two FLV files, as `-` (golden) and `+` (ours) tag lines with
/// the first bytes of the body, at most 20 pairs.
fn tag_diff(golden: &[u8], ours: &[u8]) -> String {
    let (gf, g) = read_flv(golden);
    let (of, o) = read_flv(ours);
    let mut out = format!(
        "header flags 0x{gf:02x} / 0x{of:02x}, {} / {} tags\n",
        g.len(),
        o.len()
    );
    let show = |t: Option<&Tag>| {
        t.map_or("(none)".to_owned(), |t| {
            let head: String = t.data.iter().take(12).map(|b| format!("{b:02x}")).collect();
            format!("{} [{head}]", t.line())
        })
    };
    let mut shown = 0;
    for i in 0..g.len().max(o.len()) {
        if g.get(i) != o.get(i) && shown < 20 {
            let at = match (g.get(i), o.get(i)) {
                (Some(a), Some(b)) => a.data.iter().zip(&b.data).position(|(x, y)| x != y),
                _ => None,
            };
            let at = at.map_or(String::new(), |n| format!(", bodies differ from byte {n}"));
            out.push_str(&format!(
                "tag {i}{at}\n- {}\n+ {}\n",
                show(g.get(i)),
                show(o.get(i))
            ));
            shown += 1;
        }
    }
    out
}

#[test]
fn stream_starts_with_header_metadata_and_sequence_headers() {
    let flv = ts_stream(0);
    let (flags, tags) = read_flv(&flv);
    assert_eq!(flags, 0x05, "audio and video flags");
    assert_eq!(tags[0].tag_type, TAG_TYPE_SCRIPT_DATA);
    let meta = &tags[0].data;
    assert!(meta.windows(10).any(|w| w == b"onMetaData"));
    for name in [
        "duration",
        "width",
        "height",
        "framerate",
        "videocodecid",
        "audiocodecid",
        "audiosamplerate",
        "stereo",
    ] {
        assert!(
            meta.windows(name.len()).any(|w| w == name.as_bytes()),
            "{name} in onMetaData"
        );
    }
    // The sequence headers come before any media tag, once each.
    assert!(tags[1].is_sequence_header() && tags[2].is_sequence_header());
    assert_eq!(tags.iter().filter(|t| t.is_sequence_header()).count(), 2);
    assert_eq!(tags[1].data[..2], [0x17, 0]);
    assert_eq!(tags[1].data[5], 1, "avcC configurationVersion");
    assert_eq!(tags[2].data[..2], [0xAF, 0]);
    // The first video tag after the sequence header is a keyframe.
    let first_video = tags
        .iter()
        .find(|t| t.is_video() && !t.is_sequence_header())
        .unwrap();
    assert!(first_video.is_keyframe(), "{}", first_video.line());
    assert_eq!(tags[0].timestamp, 0, "first tag at the base timestamp");
}

// ---- ffprobe against the sources ----

#[test]
fn ffprobe_decodes_every_frame_of_flv_from_ts() {
    let mut source = SEG0.to_vec();
    source.extend_from_slice(SEG1);
    let source = probe(&write_temp("flv_source.ts", &source));
    let first_dts = source.video[0].1.min(source.audio[0].1);
    let flv = ts_stream(u32::try_from(first_dts).unwrap());
    let ours = probe(&write_temp("flv_from_ts.flv", &flv));
    // Video times are the source's to the ms; ffmpeg times TS audio frames from the PES PTS
    // plus a rounded step while ours are sample-exact: within 1 ms.
    assert_same_packets(&ours, &source, 0, 1);
    assert_eq!(source.video.len(), 120, "two 2 s segments at 30 fps");
}

#[test]
fn ffprobe_decodes_every_frame_of_flv_from_fmp4() {
    let mut source = FMP4_INIT.to_vec();
    source.extend_from_slice(FMP4_0);
    source.extend_from_slice(FMP4_1);
    let source = probe(&write_temp("flv_source.mp4", &source));
    let mut muxer = FlvMuxer::new(FlvOptions::default());
    let mut flv = Vec::new();
    for segment in [FMP4_0, FMP4_1] {
        let part = Fmp4Part {
            init: FMP4_INIT,
            segment,
        };
        fmp4_parts_to_flv(&mut muxer, &mut flv, &[part], &Default::default()).unwrap();
    }
    let ours = probe(&write_temp("flv_from_fmp4.flv", &flv));
    // Base 0 is the source's earliest decode time (negative: the edit lists' B-frame delay
    // and AAC priming).
    let first_dts = source.video[0].1.min(source.audio[0].1);
    assert!(first_dts < 0, "the fixture starts before 0: {first_dts}");
    assert_same_packets(&ours, &source, -first_dts, 0);
}

#[test]
fn ffprobe_decodes_the_gop_cache_start() {
    // Both segments as one input: the stream starts at the last keyframe (SEG1's IDR), with
    // SEG1's frames only and no audio before that keyframe.
    let mut muxer = FlvMuxer::new(FlvOptions::default());
    let mut flv = Vec::new();
    let start = FlvSegmentOptions {
        start_at_keyframe: true,
        discontinuity: false,
    };
    let remux = RemuxOptions::default();
    let w = ts_parts_to_flv(&mut muxer, &mut flv, &[SEG0, SEG1], &remux, &start).unwrap();
    assert_eq!(w.written.video_tags, 60);
    assert!(w.written.dropped >= 60);
    let (_, tags) = read_flv(&flv);
    let first_video = tags
        .iter()
        .find(|t| t.is_video() && !t.is_sequence_header())
        .unwrap();
    assert!(first_video.is_keyframe());
    let first_audio = tags
        .iter()
        .find(|t| t.is_audio() && !t.is_sequence_header())
        .unwrap();
    assert!(first_audio.timestamp >= first_video.timestamp);
    let ours = probe(&write_temp("flv_gop_start.flv", &flv));
    let source = probe(std::path::Path::new(&fixture_path("h264_aac_1.ts")));
    assert_eq!(ours.video_frames, source.video_frames);
    assert_eq!(ours.video.len(), source.video.len());
}

// ---- timelines ----

fn media_tags(flv: &[u8]) -> Vec<Tag> {
    read_flv(flv)
        .1
        .into_iter()
        .filter(|t| (t.is_video() || t.is_audio()) && !t.is_sequence_header())
        .collect()
}

/// Per track, timestamps never go back and consecutive frames are at most `max_gap` apart.
fn assert_continuous(tags: &[Tag], max_gap: u32) {
    assert_continuous_av(tags, max_gap, max_gap);
}

/// [`assert_continuous`] with a gap per track kind. Where a segment is moved to continue the
/// stream, its tracks keep their offset to each other and one of them continues exactly; the
/// other may resume later by the difference of the tracks' ends, up to the video's decode
/// delay (two B-frames: video decode times trail the audio's by two frames).
fn assert_continuous_av(tags: &[Tag], video_gap: u32, audio_gap: u32) {
    for video in [true, false] {
        let max_gap = if video { video_gap } else { audio_gap };
        let times: Vec<u32> = tags
            .iter()
            .filter(|t| t.is_video() == video)
            .map(|t| t.timestamp)
            .collect();
        for w in times.windows(2) {
            assert!(w[1] >= w[0], "went back: {w:?}");
            assert!(w[1] - w[0] <= max_gap, "gap: {w:?}");
        }
    }
}

#[test]
fn consecutive_segments_continue_the_timeline() {
    let mut muxer = FlvMuxer::new(FlvOptions::default());
    let mut out = Vec::new();
    seg0(&mut muxer, &mut out);
    let boundary = out.len();
    ts_segment(&mut muxer, &mut out, &[SEG1], None, Default::default());
    let tags = media_tags(&out);
    // 30 fps video (33/34 ms), 48 kHz AAC (21/22 ms): no jump at the segment boundary.
    assert_continuous(&tags, 34);
    // The second call wrote no header and no sequence header again.
    let (_, second) = read_flv(&{
        let mut f = out[..13].to_vec();
        f.extend_from_slice(&out[boundary..]);
        f
    });
    assert!(second
        .iter()
        .all(|t| !t.is_sequence_header() && t.tag_type != 18));
}

#[test]
fn a_segment_from_the_past_continues_where_the_stream_stopped() {
    // SEG0 twice (a failover to an input that is 2 s behind, unflagged) and then SEG0 again
    // flagged as a discontinuity: timestamps never go back and have no hole.
    let mut muxer = FlvMuxer::new(FlvOptions {
        base_timestamp: 5_000,
    });
    let mut out = Vec::new();
    seg0(&mut muxer, &mut out);
    let end = muxer.next_timestamp();
    seg0(&mut muxer, &mut out);
    let flagged = FlvSegmentOptions {
        discontinuity: true,
        ..Default::default()
    };
    ts_segment(&mut muxer, &mut out, &[SEG0], Some(SEG1), flagged);
    let tags = media_tags(&out);
    assert_eq!(tags.iter().filter(|t| t.is_video()).count(), 180);
    assert_continuous_av(&tags, 34 + 34, 22 + 67);
    assert!((5_000..5_050).contains(&tags[0].timestamp));
    assert!((5_000 + 1_950..5_000 + 2_050).contains(&end), "{end}");
    let last = tags.last().unwrap().timestamp;
    assert!((5_000 + 5_900..5_000 + 6_050).contains(&last), "{last}");
}

#[test]
fn a_far_jump_forward_is_closed() {
    // SEG0 and then the 2^33-wrap fixture (a clock 26 h away): the second segment follows.
    let mut muxer = FlvMuxer::new(FlvOptions::default());
    let mut out = Vec::new();
    seg0(&mut muxer, &mut out);
    ts_segment(&mut muxer, &mut out, &[WRAP], None, Default::default());
    assert_continuous_av(&media_tags(&out), 34 + 34, 22 + 67);
}

#[test]
fn a_codec_change_sends_new_sequence_headers() {
    // 30 fps High + 48 kHz stereo, then 25 fps Main + 44.1 kHz mono (a failover to another
    // encoder): new AVC and AAC sequence headers before the second segment's tags.
    let mut muxer = FlvMuxer::new(FlvOptions::default());
    let mut out = Vec::new();
    seg0(&mut muxer, &mut out);
    let flagged = FlvSegmentOptions {
        discontinuity: true,
        ..Default::default()
    };
    ts_segment(&mut muxer, &mut out, &[MONO44_0], Some(MONO44_1), flagged);
    let (_, tags) = read_flv(&out);
    let headers: Vec<&Tag> = tags.iter().filter(|t| t.is_sequence_header()).collect();
    assert_eq!(headers.len(), 4, "{}", tag_list(&out));
    assert_ne!(headers[0].data, headers[2].data, "a new avcC");
    assert_ne!(
        headers[1].data, headers[3].data,
        "a new AudioSpecificConfig"
    );
    // They come right before the second segment's first media tag.
    let second_start = tags
        .iter()
        .position(|t| std::ptr::eq(t, headers[2]))
        .unwrap();
    assert!(tags[second_start + 2].timestamp >= headers[2].timestamp);
    assert_continuous_av(&media_tags(&out), 40 + 40, 24 + 40);
    // FFmpeg reads the new configuration and decodes every frame of both encoders.
    let ours = probe(&write_temp("flv_codec_change.flv", &out));
    assert_eq!(ours.video_frames, 60 + 50);
}

// ---- refusals and hostile input ----

#[test]
fn hevc_is_refused() {
    let mut muxer = FlvMuxer::new(FlvOptions::default());
    let mut out = Vec::new();
    let err = ts_parts_to_flv(
        &mut muxer,
        &mut out,
        &[HEVC],
        &RemuxOptions::default(),
        &Default::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            RemuxError::Flv(FlvError::UnsupportedCodec { codec: "H.265", .. })
        ),
        "{err:?}"
    );
    let part = Fmp4Part {
        init: HEVC_FMP4_INIT,
        segment: HEVC_FMP4_0,
    };
    let err = fmp4_parts_to_flv(&mut muxer, &mut out, &[part], &Default::default()).unwrap_err();
    assert!(matches!(
        err,
        RemuxError::Flv(FlvError::UnsupportedCodec { .. })
    ));
    assert!(out.is_empty());
    assert!(!muxer.header_written());
}

#[test]
fn a_sample_outside_its_buffer_is_an_error_and_writes_nothing() {
    let demuxed = demux_ts(&[SEG0]).unwrap();
    let samples = demuxed.samples(&RemuxOptions::default()).unwrap();
    let mut video = OwnedSamples::from_sample_track(&samples.tracks[0]).unwrap();
    let last = video.samples.len() - 1;
    video.samples[last].offset = video.data.len();
    let mut muxer = FlvMuxer::new(FlvOptions::default());
    let mut out = b"earlier".to_vec();
    let track = FlvTrack {
        samples: video.view(),
        time_offset: 0,
    };
    let err = muxer
        .write_segment(&mut out, &[track], &Default::default())
        .unwrap_err();
    assert_eq!(
        err,
        FlvError::SampleData {
            track: 0,
            sample: last
        }
    );
    assert_eq!(out, b"earlier");
    assert!(!muxer.header_written());
    // Two video tracks are refused too.
    let err = muxer
        .write_segment(&mut out, &[track, track], &Default::default())
        .unwrap_err();
    assert_eq!(err, FlvError::TooManyTracks { kind: "video" });
}

#[test]
fn output_is_deterministic() {
    assert_eq!(ts_stream(0), ts_stream(0));
}

#[test]
fn video_before_the_first_keyframe_is_never_written() {
    // A stream that starts mid-GOP (SEG0 without its IDR): its inter frames are dropped, audio
    // plays; the next segment's IDR starts the video.
    let demuxed = demux_ts(&[SEG0]).unwrap();
    let samples = demuxed.samples(&RemuxOptions::default()).unwrap();
    let owned: Vec<OwnedSamples> = samples
        .tracks
        .iter()
        .map(|t| OwnedSamples::from_sample_track(t).unwrap())
        .collect();
    let mut video = owned[0].view();
    assert!(video.samples[0].is_sync);
    video.samples = &video.samples[1..];
    let tracks = [
        FlvTrack {
            samples: video,
            time_offset: 0,
        },
        FlvTrack {
            samples: owned[1].view(),
            time_offset: 0,
        },
    ];
    let mut muxer = FlvMuxer::new(FlvOptions::default());
    let mut out = Vec::new();
    let w = muxer
        .write_segment(&mut out, &tracks, &Default::default())
        .unwrap();
    assert_eq!((w.video_tags, w.dropped), (0, 59));
    assert!(w.audio_tags > 90);
    ts_segment(&mut muxer, &mut out, &[SEG1], None, Default::default());
    let tags = media_tags(&out);
    let first_video = tags.iter().find(|t| t.is_video()).unwrap();
    assert!(first_video.is_keyframe());
    assert_eq!(tags.iter().filter(|t| t.is_video()).count(), 60);
}

#[test]
fn fmp4_parts_start_at_the_last_part_with_a_keyframe() {
    let parts = [
        Fmp4Part {
            init: FMP4_INIT,
            segment: FMP4_0,
        },
        Fmp4Part {
            init: FMP4_INIT,
            segment: FMP4_1,
        },
    ];
    let mut muxer = FlvMuxer::new(FlvOptions::default());
    let mut flv = Vec::new();
    let start = FlvSegmentOptions {
        start_at_keyframe: true,
        discontinuity: false,
    };
    let w = fmp4_parts_to_flv(&mut muxer, &mut flv, &parts, &start).unwrap();
    assert_eq!(w.written.video_tags, 60);
    let ours = probe(&write_temp("flv_fmp4_gop_start.flv", &flv));
    assert_eq!(ours.video_frames, 60);
    let (_, tags) = read_flv(&flv);
    let first_video = tags
        .iter()
        .find(|t| t.is_video() && !t.is_sequence_header())
        .unwrap();
    assert!(first_video.is_keyframe());
}
