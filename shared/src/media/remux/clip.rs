//! Consecutive TS segments → one progressive MP4 (a clip): a video track and an audio track,
//! one chunk per track per input segment, built with the remux's sample extraction
//! ([`super::DemuxedTs::samples`]) and written by [`ProgressiveMp4`].
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

use super::{demux_ts, RemuxError, RemuxOptions, RemuxWarning, SampleTrack, TrackKind};
use crate::media::mp4::{MuxError, ProgressiveMp4, TrackIndex};
use crate::media::time::{rescale, TS_TIMESCALE};

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
}

/// Decode times of `t`'s samples from its base, and its earliest presentation time.
fn times(t: &SampleTrack<'_>) -> (Vec<u64>, u64) {
    let mut decode = t.base_media_decode_time();
    let mut earliest = u64::MAX;
    let mut out = Vec::with_capacity(t.samples().len());
    for s in t.samples() {
        out.push(decode);
        earliest = earliest.min(decode.saturating_add_signed(i64::from(s.composition_offset)));
        decode = decode.saturating_add(u64::from(s.duration));
    }
    (out, earliest)
}

impl ClipWriter {
    /// A writer whose output is reserved once for about `expected_media_bytes`.
    pub fn new(expected_media_bytes: usize) -> Self {
        ClipWriter {
            mp4: ProgressiveMp4::new(expected_media_bytes),
            video: None,
            audio: None,
            started: false,
        }
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

        let first = !self.started;
        if first {
            self.started = true;
            self.video = Some(self.mp4.add_track(video.track().clone()));
            self.audio = audio.map(|a| self.mp4.add_track(a.track().clone()));
        }
        let Some(video_index) = self.video else {
            return Err(RemuxError::NoTracks);
        };
        if self.mp4.track(video_index) != Some(video.track()) {
            warnings.push(RemuxWarning::Stream {
                pid: video.pid,
                what: "codec configuration differs from the clip's first; the first is kept",
            });
        }
        let samples = video.samples();
        self.mp4
            .append_chunk(video_index, samples, |out| {
                video.write_samples(0..samples.len(), out)
            })
            .map_err(RemuxError::Mux)?;

        let (audio, audio_index) = match (audio, self.audio) {
            (Some(a), Some(i)) => (a, i),
            (None, _) => return Ok(warnings),
            (Some(a), None) => {
                warnings.push(RemuxWarning::Stream {
                    pid: a.pid,
                    what: "audio that starts after the clip's first segment is left out",
                });
                return Ok(warnings);
            }
        };
        let (_, video_start) = times(video);
        let video_duration: u64 = samples.iter().map(|s| u64::from(s.duration)).sum();
        let rate = audio.track().timescale;
        let to_audio = |t: u64| {
            rescale(t, TS_TIMESCALE, rate).ok_or(RemuxError::Timestamp {
                pid: audio.pid,
                what: "time beyond 64 bits in the audio timescale",
            })
        };
        let (audio_times, _) = times(audio);
        let from = if first {
            let start = to_audio(video_start)?;
            let from = audio_times.partition_point(|&t| t < start);
            let delay = audio_times.get(from).map_or(0, |&t| t - start);
            self.mp4.set_start_delay(audio_index, delay);
            from
        } else {
            0
        };
        let to = if part.last {
            let end = to_audio(video_start.saturating_add(video_duration))?;
            audio_times.partition_point(|&t| t < end)
        } else {
            audio_times.len()
        };
        let range = from..to.max(from);
        let Some(kept) = audio.samples().get(range.clone()) else {
            return Ok(warnings);
        };
        self.mp4
            .append_chunk(audio_index, kept, |out| audio.write_samples(range, out))
            .map_err(RemuxError::Mux)?;
        Ok(warnings)
    }

    /// The finished file.
    pub fn finish(self) -> Result<Vec<u8>, MuxError> {
        if !self.started {
            return Err(MuxError::NoSamples);
        }
        self.mp4.finish()
    }
}
