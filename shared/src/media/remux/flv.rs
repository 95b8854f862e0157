//! Consecutive TS or fragmented MP4 segments → tags of an FLV stream ([`crate::media::flv`]),
//! through a caller's [`FlvMuxer`] that carries the stream's state (header written, sequence
//! headers, timeline) from one call to the next.
//!
//! * TS: all parts are demuxed as one input ([`super::demux_ts`]), the video and audio tracks'
//!   samples made contiguous (one copy: TS payloads are not) and written in one call.
//! * fMP4: each part's first video and first audio track, on the presentation's clock (the
//!   edit list's shift applied, as for TS output). With `start_at_keyframe` the parts before
//!   the last one holding a video keyframe are skipped.
//! * On error nothing is appended and the muxer is unchanged.

use super::{demux_ts, Fmp4Part, RemuxError, RemuxOptions, RemuxWarning, TrackKind};
use crate::media::flv::{FlvMuxer, FlvSegmentOptions, FlvTrack, FlvWritten};
use crate::media::mp4::demux::{parse_init, parse_segment, InitSegment, MediaSegment};
use crate::media::sample::OwnedSamples;

/// What a `*_parts_to_flv` call wrote, and what it skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlvRemuxed {
    pub written: FlvWritten,
    pub warnings: Vec<RemuxWarning>,
}

impl FlvRemuxed {
    fn add(&mut self, w: &FlvWritten) {
        let total = &mut self.written;
        total.video_tags += w.video_tags;
        total.audio_tags += w.audio_tags;
        total.sequence_headers += w.sequence_headers;
        total.dropped += w.dropped;
        if total.first_timestamp.is_none() {
            total.first_timestamp = w.first_timestamp;
        }
        if w.last_timestamp.is_some() {
            total.last_timestamp = w.last_timestamp;
        }
    }
}

/// Appends the tags of consecutive TS `parts` to `out`. `remux` picks the timestamp epoch
/// (`time_reference`) and the last video frame's duration (`next_segment_start`).
pub fn ts_parts_to_flv(
    muxer: &mut FlvMuxer,
    out: &mut Vec<u8>,
    parts: &[&[u8]],
    remux: &RemuxOptions,
    segment: &FlvSegmentOptions,
) -> Result<FlvRemuxed, RemuxError> {
    let (owned, warnings) = owned_ts_samples(parts, remux)?;
    let tracks: Vec<FlvTrack<'_>> = owned
        .iter()
        .map(|o| FlvTrack {
            samples: o.view(),
            time_offset: 0,
        })
        .collect();
    let written = muxer
        .write_segment(out, &tracks, segment)
        .map_err(RemuxError::Flv)?;
    Ok(FlvRemuxed { written, warnings })
}

/// The tracks of consecutive TS `parts` as owned, contiguous samples (TS payloads are not
/// contiguous), with the demuxer's warnings.
fn owned_ts_samples(
    parts: &[&[u8]],
    options: &RemuxOptions,
) -> Result<(Vec<OwnedSamples>, Vec<RemuxWarning>), RemuxError> {
    let demuxed = demux_ts(parts)?;
    let samples = demuxed.samples(options)?;
    let mut owned = Vec::with_capacity(samples.tracks.len());
    for t in &samples.tracks {
        owned.push(OwnedSamples::from_sample_track(t)?);
    }
    Ok((owned, samples.warnings))
}

/// The first video and first audio track of one fMP4 part that have samples.
fn part_tracks<'a>(init: &'a InitSegment, segment: &'a MediaSegment<'_>) -> Vec<FlvTrack<'a>> {
    let mut tracks = Vec::with_capacity(2);
    for kind in [TrackKind::Video, TrackKind::Audio] {
        let Some(t) = init.first_of_kind(kind) else {
            continue;
        };
        if let Some(samples) = segment.samples_of(init, t.track_id) {
            if !samples.samples.is_empty() {
                tracks.push(FlvTrack {
                    samples,
                    time_offset: t.edit_shift,
                });
            }
        }
    }
    tracks
}

/// Appends the tags of consecutive fMP4 `parts` to `out`, part by part;
/// `segment.discontinuity` applies to the first part written.
pub fn fmp4_parts_to_flv(
    muxer: &mut FlvMuxer,
    out: &mut Vec<u8>,
    parts: &[Fmp4Part<'_>],
    segment: &FlvSegmentOptions,
) -> Result<FlvRemuxed, RemuxError> {
    let mut inits = Vec::with_capacity(parts.len());
    for p in parts {
        inits.push(parse_init(p.init).map_err(RemuxError::Fmp4)?);
    }
    let mut segments = Vec::with_capacity(parts.len());
    for (p, init) in parts.iter().zip(&inits) {
        segments.push(parse_segment(p.segment, init).map_err(RemuxError::Fmp4)?);
    }
    let tracks: Vec<Vec<FlvTrack<'_>>> = inits
        .iter()
        .zip(&segments)
        .map(|(init, segment)| part_tracks(init, segment))
        .collect();
    let first = if segment.start_at_keyframe {
        tracks
            .iter()
            .rposition(|t| {
                t.iter().any(|t| {
                    t.samples.track.kind() == TrackKind::Video
                        && t.samples.samples.iter().any(|s| s.is_sync)
                })
            })
            .unwrap_or(0)
    } else {
        0
    };
    let saved = muxer.clone();
    let start = out.len();
    let mut result = FlvRemuxed {
        written: FlvWritten::default(),
        warnings: Vec::new(),
    };
    for (i, part) in tracks.iter().enumerate().skip(first) {
        let options = if i == first {
            *segment
        } else {
            FlvSegmentOptions::default()
        };
        match muxer.write_segment(out, part, &options) {
            Ok(w) => result.add(&w),
            Err(e) => {
                *muxer = saved;
                out.truncate(start);
                return Err(RemuxError::Flv(e));
            }
        }
    }
    Ok(result)
}

/// One input of [`av_segment_to_flv`]: an MPEG-TS segment with the options that place its
/// timestamps, or an fMP4 segment with its init segment.
#[derive(Debug, Clone, Copy)]
pub enum FlvSource<'a> {
    Ts {
        bytes: &'a [u8],
        options: RemuxOptions,
    },
    Fmp4(Fmp4Part<'a>),
}

/// A source's demuxed form, owned while its tracks are written.
enum Demuxed<'a> {
    Ts(Vec<OwnedSamples>, Vec<RemuxWarning>),
    Fmp4(InitSegment, MediaSegment<'a>),
}

impl<'a> Demuxed<'a> {
    fn of(source: &FlvSource<'a>) -> Result<Demuxed<'a>, RemuxError> {
        match source {
            FlvSource::Ts { bytes, options } => {
                let (owned, warnings) = owned_ts_samples(&[bytes], options)?;
                Ok(Demuxed::Ts(owned, warnings))
            }
            FlvSource::Fmp4(part) => {
                let init = parse_init(part.init).map_err(RemuxError::Fmp4)?;
                let segment = parse_segment(part.segment, &init).map_err(RemuxError::Fmp4)?;
                Ok(Demuxed::Fmp4(init, segment))
            }
        }
    }

    /// The first track of `kind` with samples.
    fn track(&self, kind: TrackKind) -> Option<FlvTrack<'_>> {
        match self {
            Demuxed::Ts(owned, _) => owned
                .iter()
                .find(|o| o.track.kind() == kind && !o.samples.is_empty())
                .map(|o| FlvTrack {
                    samples: o.view(),
                    time_offset: 0,
                }),
            Demuxed::Fmp4(init, segment) => part_tracks(init, segment)
                .into_iter()
                .find(|t| t.samples.track.kind() == kind),
        }
    }
}

/// Appends one segment of a live stream: video, and audio from the same source or, when the
/// audio is a rendition of its own, from `audio` (the segment of the same output number).
/// On error nothing is appended and the muxer is unchanged.
pub fn av_segment_to_flv(
    muxer: &mut FlvMuxer,
    out: &mut Vec<u8>,
    video: &FlvSource<'_>,
    audio: Option<&FlvSource<'_>>,
    segment: &FlvSegmentOptions,
) -> Result<FlvRemuxed, RemuxError> {
    let video = Demuxed::of(video)?;
    let audio = audio.map(Demuxed::of).transpose()?;
    let mut tracks = Vec::with_capacity(2);
    tracks.extend(video.track(TrackKind::Video));
    tracks.extend(match &audio {
        Some(a) => a.track(TrackKind::Audio),
        None => video.track(TrackKind::Audio),
    });
    if tracks.is_empty() {
        return Err(RemuxError::NoTracks);
    }
    let mut warnings = Vec::new();
    for d in std::iter::once(&video).chain(audio.as_ref()) {
        if let Demuxed::Ts(_, w) = d {
            warnings.extend(w.iter().cloned());
        }
    }
    let written = muxer
        .write_segment(out, &tracks, segment)
        .map_err(RemuxError::Flv)?;
    Ok(FlvRemuxed { written, warnings })
}
