//! Consecutive TS or fragmented MP4 segments → one progressive MP4 (a clip): a video track and
//! an audio track, one chunk per track per input segment, with samples from the remux's TS
//! extraction ([`super::DemuxedTs::samples`]) or the fMP4 demuxer, written by
//! [`ProgressiveMp4`]. fMP4 times are placed on the presentation's clock with the source's
//! edit lists, as TS timestamps already are.
//!
//! Timeline rules:
//! * The clip starts at the first video frame's presentation time (segments start with a
//!   random access picture); an edit list hides the B-frame delay of the first picture.
//! * Audio frames that start before it are dropped, and so are, in the last part, those that
//!   start at or after the video's end; the first kept frame is placed with an empty edit so
//!   audio and video start in sync.
//! * Each track's timeline is the sum of its sample durations, so it stays continuous across
//!   a discontinuity (encoder restart, failover: a timestamp jump) inside the clip: a video
//!   segment's last frame lasts until the next segment's first PTS only when that follows
//!   (`next_video_start`), else it repeats the frame duration before it; an audio segment's
//!   last frame keeps its nominal 1024 samples. At a jump the tracks may drift apart by at
//!   most one frame.
//! * A segment whose codec configuration differs from the one before (an encoder restart at
//!   another resolution, profile or sample rate) gets a sample description of its own in the
//!   same track ([`ProgressiveMp4::select_description`]); its samples are rescaled to the
//!   track's timescale (the first segment's) when theirs differs. A video segment in another
//!   configuration than the first also repeats its parameter sets in band, in front of its
//!   first picture (ISO/IEC 14496-15 allows parameter sets in samples that equal the sample
//!   entry's): players that keep the first decoder configuration (Chromium's `<video src>`)
//!   then switch at that picture too. The rule depends on the segment alone, so a writer that
//!   restarts after the first segment writes the same bytes.

use super::{demux_ts, Fmp4Part, RemuxError, RemuxOptions, RemuxWarning, SampleTrack, TrackKind};
use crate::media::mp4::demux::{parse_init, parse_segment, InitSegment, InitTrack, MediaSegment};
use crate::media::mp4::{CodecConfig, MuxError, ProgressiveMp4, SampleInfo, Track, TrackIndex};
use crate::media::sample::{TrackSamples, DEFAULT_NAL_LENGTH_SIZE};
use crate::media::time::rescale;
use std::borrow::Cow;
use std::ops::Range;

/// One input segment of the clip.
#[derive(Debug, Clone, Copy)]
pub struct ClipPart<'a> {
    /// The video rendition's TS segment (its audio is used when `audio` is `None`).
    pub video: &'a [u8],
    /// The audio rendition's segment of the same span, when audio is a separate rendition.
    pub audio: Option<&'a [u8]>,
    /// Unwrapped 90 kHz times near each segment's start (the timelines' `media_start`), to
    /// pick the timestamp epoch ([`RemuxOptions::time_reference`]).
    pub video_reference: Option<u64>,
    pub audio_reference: Option<u64>,
    /// Unwrapped 90 kHz first PTS of the next video segment when it follows this one without
    /// a discontinuity: the exact duration of the last frame.
    pub next_video_start: Option<u64>,
    /// The clip's last part: audio past the end of the video is dropped.
    pub last: bool,
}

/// Writes a clip part by part; see the module documentation.
#[derive(Debug)]
pub struct ClipWriter {
    mp4: ProgressiveMp4,
    video: Option<TrackIndex>,
    audio: Option<TrackIndex>,
    /// The first part was written (the clip's start is fixed).
    started: bool,
    /// The chunks the last push appended: (0 video | 1 audio, samples).
    chunks: Vec<ClipChunk>,
    /// The source track (codec configuration) of each of `chunks`.
    chunk_tracks: Vec<Track>,
}

/// One chunk a push appended: the track (0 video, 1 audio) and its samples, what a second
/// pass declares with [`ClipWriter::declare`].
pub type ClipChunk = (u8, Vec<SampleInfo>);

/// One track of one clip part, whichever demuxer read it: `trun`-style rows, the first decode
/// time, and where the bytes come from.
struct ClipTrack<'p> {
    track: &'p Track,
    /// The source's PID (TS) or `track_ID` (fMP4), for warnings.
    id: u16,
    samples: Cow<'p, [SampleInfo]>,
    base: u64,
    /// Added to decode times (track timescale) to place the track on the presentation's clock:
    /// the fMP4 edit list's shift; 0 for TS, whose timestamps already are.
    time_offset: i64,
    write: &'p dyn Fn(Range<usize>, &mut Vec<u8>),
}

fn ts_track<'p>(
    t: &'p SampleTrack<'_>,
    write: &'p dyn Fn(Range<usize>, &mut Vec<u8>),
) -> ClipTrack<'p> {
    ClipTrack {
        track: t.track(),
        id: t.pid,
        samples: Cow::Borrowed(t.samples()),
        base: t.base_media_decode_time(),
        time_offset: 0,
        write,
    }
}

fn fmp4_track<'p>(
    t: &InitTrack,
    s: &TrackSamples<'p>,
    write: &'p dyn Fn(Range<usize>, &mut Vec<u8>),
) -> ClipTrack<'p> {
    ClipTrack {
        track: s.track,
        id: u16::try_from(t.track_id).unwrap_or(u16::MAX),
        samples: Cow::Owned(s.sample_infos()),
        base: s.base_media_decode_time().unwrap_or(0),
        time_offset: t.edit_shift,
        write,
    }
}

/// The first track of `kind` in an fMP4 part, when it has samples.
fn fmp4_samples<'a>(
    init: &'a InitSegment,
    segment: &'a MediaSegment<'_>,
    kind: TrackKind,
) -> Option<(&'a InitTrack, TrackSamples<'a>)> {
    let t = init.first_of_kind(kind)?;
    let s = segment.samples_of(init, t.track_id)?;
    (!s.samples.is_empty()).then_some((t, s))
}

impl ClipTrack<'_> {
    /// Decode times of the samples on the presentation's clock, and the earliest presentation
    /// time.
    fn times(&self) -> (Vec<u64>, u64) {
        let mut decode = self.base.saturating_add_signed(self.time_offset);
        let mut earliest = u64::MAX;
        let mut out = Vec::with_capacity(self.samples.len());
        for s in self.samples.iter() {
            out.push(decode);
            earliest = earliest.min(decode.saturating_add_signed(i64::from(s.composition_offset)));
            decode = decode.saturating_add(u64::from(s.duration));
        }
        (out, earliest)
    }
}

impl ClipWriter {
    /// A writer whose output is reserved once for about `expected_media_bytes`.
    pub fn new(expected_media_bytes: usize) -> Self {
        ClipWriter {
            mp4: ProgressiveMp4::new(expected_media_bytes),
            video: None,
            audio: None,
            started: false,
            chunks: Vec::new(),
            chunk_tracks: Vec::new(),
        }
    }

    /// The media data written since the last call (offsets stay the file's).
    pub fn drain_media(&mut self) -> Vec<u8> {
        self.mp4.drain_media()
    }

    /// The chunks the last push appended.
    pub fn last_chunks(&self) -> &[ClipChunk] {
        &self.chunks
    }

    /// The source tracks (codec configurations) of [`ClipWriter::last_chunks`], in order.
    pub fn last_chunk_tracks(&self) -> &[Track] {
        &self.chunk_tracks
    }

    fn index_of(&self, track: u8) -> Result<TrackIndex, MuxError> {
        match track {
            0 => self.video,
            _ => self.audio,
        }
        .ok_or(MuxError::OutOfRange { field: "track" })
    }

    /// Declares a chunk a first pass recorded, without its bytes (after the first part), in
    /// the track's current sample description.
    pub fn declare(&mut self, chunk: &ClipChunk) -> Result<(), MuxError> {
        let index = self.index_of(chunk.0)?;
        self.mp4.append_declared(index, &chunk.1)
    }

    /// The chunks declared next on `track` (0 video, 1 audio) are of `codec`: what a first
    /// pass saw change ([`ClipWriter::last_chunk_tracks`]).
    pub fn declare_description(&mut self, track: u8, codec: &CodecConfig) -> Result<(), MuxError> {
        let index = self.index_of(track)?;
        self.mp4.select_description(index, codec).map(|_| ())
    }

    /// `ftyp`, `moov` and the `mdat` header for every part pushed or declared.
    pub fn header(&self) -> Result<Vec<u8>, MuxError> {
        if !self.started {
            return Err(MuxError::NoSamples);
        }
        self.mp4.header()
    }

    /// Media bytes written so far (to bound the clip's size while it grows).
    pub fn media_len(&self) -> u64 {
        self.mp4.media_len()
    }

    /// Appends one input segment; returns what was skipped.
    pub fn push(&mut self, part: &ClipPart<'_>) -> Result<Vec<RemuxWarning>, RemuxError> {
        let video_ts = demux_ts(&[part.video])?;
        let video_segment = video_ts.samples(&RemuxOptions {
            time_reference: part.video_reference,
            next_segment_start: part.next_video_start,
            sequence_number: 1,
        })?;
        let mut warnings = video_segment.warnings;
        let find =
            |tracks: &[SampleTrack<'_>], kind| tracks.iter().position(|t| t.track().kind() == kind);
        let video_at = find(&video_segment.tracks, TrackKind::Video).ok_or(RemuxError::NoTracks)?;
        let video = &video_segment.tracks[video_at];
        let audio_ts;
        let audio_segment;
        let audio = match part.audio {
            Some(bytes) => {
                audio_ts = demux_ts(&[bytes])?;
                audio_segment = audio_ts.samples(&RemuxOptions {
                    time_reference: part.audio_reference,
                    ..RemuxOptions::default()
                })?;
                warnings.extend(audio_segment.warnings.iter().cloned());
                find(&audio_segment.tracks, TrackKind::Audio).map(|i| &audio_segment.tracks[i])
            }
            None => find(&video_segment.tracks, TrackKind::Audio).map(|i| &video_segment.tracks[i]),
        };
        let write_video = |r: Range<usize>, out: &mut Vec<u8>| video.write_samples(r, out);
        let write_audio = |r: Range<usize>, out: &mut Vec<u8>| {
            if let Some(a) = audio {
                a.write_samples(r, out);
            }
        };
        let video = ts_track(video, &write_video);
        let audio = audio.map(|a| ts_track(a, &write_audio));
        self.push_tracks(&video, audio.as_ref(), part.last, warnings)
    }

    /// Appends one fragmented MP4 input segment (with its init segment): its first video
    /// track, and the first audio track of `audio` when audio is a separate rendition, else its
    /// own; returns what was skipped.
    pub fn push_fmp4(
        &mut self,
        video: &Fmp4Part<'_>,
        audio: Option<&Fmp4Part<'_>>,
        last: bool,
    ) -> Result<Vec<RemuxWarning>, RemuxError> {
        let video_init = parse_init(video.init).map_err(RemuxError::Fmp4)?;
        let video_segment = parse_segment(video.segment, &video_init).map_err(RemuxError::Fmp4)?;
        let audio_init;
        let audio_segment;
        let (audio_init, audio_segment) = match audio {
            Some(a) => {
                audio_init = parse_init(a.init).map_err(RemuxError::Fmp4)?;
                audio_segment = parse_segment(a.segment, &audio_init).map_err(RemuxError::Fmp4)?;
                (&audio_init, &audio_segment)
            }
            None => (&video_init, &video_segment),
        };
        let (v_init, v) = fmp4_samples(&video_init, &video_segment, TrackKind::Video)
            .ok_or(RemuxError::NoTracks)?;
        if v_init.nal_length_size != DEFAULT_NAL_LENGTH_SIZE {
            return Err(RemuxError::Mux(MuxError::OutOfRange {
                field: "lengthSizeMinusOne (only 4-byte NAL lengths pass through)",
            }));
        }
        let a = fmp4_samples(audio_init, audio_segment, TrackKind::Audio);
        let write_video = |r: Range<usize>, out: &mut Vec<u8>| v.write_samples(r, out);
        let write_audio = |r: Range<usize>, out: &mut Vec<u8>| {
            if let Some((_, a)) = &a {
                a.write_samples(r, out);
            }
        };
        let video = fmp4_track(v_init, &v, &write_video);
        let audio = a.as_ref().map(|(t, s)| fmp4_track(t, s, &write_audio));
        self.push_tracks(&video, audio.as_ref(), last, Vec::new())
    }

    fn push_tracks(
        &mut self,
        video: &ClipTrack<'_>,
        audio: Option<&ClipTrack<'_>>,
        last: bool,
        mut warnings: Vec<RemuxWarning>,
    ) -> Result<Vec<RemuxWarning>, RemuxError> {
        let first = !self.started;
        self.chunks.clear();
        self.chunk_tracks.clear();
        if first {
            self.started = true;
            self.video = Some(self.mp4.add_track(video.track.clone()));
            self.audio = audio.map(|a| self.mp4.add_track(a.track.clone()));
        }
        let Some(video_index) = self.video else {
            return Err(RemuxError::NoTracks);
        };
        let samples = &video.samples;
        let mut placed = self.describe(video_index, video, samples)?;
        let first_codec = self.mp4.track(video_index).map(|t| &t.codec);
        let in_band = match (first, first_codec) {
            (false, Some(c)) if *c != video.track.codec => parameter_sets(&video.track.codec),
            _ => Vec::new(),
        };
        if !in_band.is_empty() {
            if let Some(s) = placed.to_mut().first_mut() {
                let extra = u32::try_from(in_band.len()).ok();
                s.size = extra
                    .and_then(|e| s.size.checked_add(e))
                    .ok_or(RemuxError::Mux(MuxError::OutOfRange {
                        field: "sample size with parameter sets",
                    }))?;
            }
        }
        self.mp4
            .append_chunk(video_index, &placed, |out| {
                out.extend_from_slice(&in_band);
                (video.write)(0..samples.len(), out)
            })
            .map_err(RemuxError::Mux)?;
        self.chunks.push((0, placed.into_owned()));
        self.chunk_tracks.push(video.track.clone());

        let (audio, audio_index) = match (audio, self.audio) {
            (Some(a), Some(i)) => (a, i),
            (None, _) => return Ok(warnings),
            (Some(a), None) => {
                warnings.push(RemuxWarning::Stream {
                    pid: a.id,
                    what: "audio that starts after the clip's first segment is left out",
                });
                return Ok(warnings);
            }
        };
        let (_, video_start) = video.times();
        let video_duration: u64 = samples.iter().map(|s| u64::from(s.duration)).sum();
        let rate = audio.track.timescale;
        let to_audio = |t: u64| {
            rescale(t, video.track.timescale, rate).ok_or(RemuxError::Timestamp {
                pid: audio.id,
                what: "time beyond 64 bits in the audio timescale",
            })
        };
        let (audio_times, _) = audio.times();
        let from = if first {
            let start = to_audio(video_start)?;
            let from = audio_times.partition_point(|&t| t < start);
            let delay = audio_times.get(from).map_or(0, |&t| t - start);
            self.mp4.set_start_delay(audio_index, delay);
            from
        } else {
            0
        };
        let to = if last {
            let end = to_audio(video_start.saturating_add(video_duration))?;
            audio_times.partition_point(|&t| t < end)
        } else {
            audio_times.len()
        };
        let range = from..to.max(from);
        let Some(kept) = audio.samples.get(range.clone()) else {
            return Ok(warnings);
        };
        let placed = self.describe(audio_index, audio, kept)?;
        self.mp4
            .append_chunk(audio_index, &placed, |out| (audio.write)(range, out))
            .map_err(RemuxError::Mux)?;
        self.chunks.push((1, placed.into_owned()));
        self.chunk_tracks.push(audio.track.clone());
        Ok(warnings)
    }

    /// Selects `source`'s codec configuration as the sample description of the next chunk of
    /// `index`, and gives `samples` in the file track's timescale.
    fn describe<'s>(
        &mut self,
        index: TrackIndex,
        source: &ClipTrack<'_>,
        samples: &'s [SampleInfo],
    ) -> Result<Cow<'s, [SampleInfo]>, RemuxError> {
        self.mp4
            .select_description(index, &source.track.codec)
            .map_err(RemuxError::Mux)?;
        let from = source.track.timescale;
        let to = self.mp4.track(index).map_or(from, |t| t.timescale);
        if from == to {
            return Ok(Cow::Borrowed(samples));
        }
        rescale_samples(samples, from, to, source.id).map(Cow::Owned)
    }

    /// The finished file.
    pub fn finish(self) -> Result<Vec<u8>, MuxError> {
        if !self.started {
            return Err(MuxError::NoSamples);
        }
        self.mp4.finish()
    }
}

/// `samples` with durations and composition offsets from timescale `from` to `to`: durations
/// from the rescaled running sum, so rounding does not accumulate within the chunk.
fn rescale_samples(
    samples: &[SampleInfo],
    from: u32,
    to: u32,
    pid: u16,
) -> Result<Vec<SampleInfo>, RemuxError> {
    let error = || RemuxError::Timestamp {
        pid,
        what: "a sample duration beyond 32 bits in the file's timescale",
    };
    let (mut at, mut placed) = (0u64, 0u64);
    samples
        .iter()
        .map(|s| {
            at += u64::from(s.duration);
            let end = rescale(at, from, to).ok_or_else(error)?;
            let duration = u32::try_from(end - placed).map_err(|_| error())?;
            placed = end;
            // Round half away from zero; an i32 times a u32 fits an i64.
            let scaled = i64::from(s.composition_offset) * i64::from(to);
            let half = i64::from(from) / 2 * scaled.signum();
            let composition_offset =
                i32::try_from((scaled + half) / i64::from(from)).map_err(|_| error())?;
            Ok(SampleInfo {
                duration,
                composition_offset,
                ..*s
            })
        })
        .collect()
}

/// A video configuration's parameter sets as NAL units with 4-byte lengths (the sample format
/// of our `avcC`/`hvcC`): VPS (H.265), SPS, PPS. Empty for audio.
fn parameter_sets(codec: &CodecConfig) -> Vec<u8> {
    let nals: Vec<&[u8]> = match codec {
        CodecConfig::Avc(c) => vec![&c.sps_nal, &c.pps_nal],
        CodecConfig::Hevc(c) => vec![&c.vps_nal, &c.sps_nal, &c.pps_nal],
        CodecConfig::Aac(_) => Vec::new(),
    };
    let mut out = Vec::new();
    for nal in nals {
        // Parameter sets are a few bytes to a few hundred: far below 4 GiB.
        let len = u32::try_from(nal.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(nal);
    }
    out
}
