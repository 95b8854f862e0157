//! The stateful FLV stream writer: header and sequence headers once, then the tags of each
//! segment on one continuous timeline (see the module documentation of [`super`]).

use super::amf::{write_on_metadata, AmfValue};
use super::plan::{plan, slot, Plan};
use super::tag::{
    si24, write_header, write_tag, AAC_AUDIO_TAG_HEADER, CODEC_ID_AVC, FRAME_TYPE_INTER,
    FRAME_TYPE_KEY, PACKET_TYPE_DATA, PACKET_TYPE_SEQUENCE_HEADER, SOUND_FORMAT_AAC,
    TAG_HEADER_LEN, TAG_TYPE_AUDIO, TAG_TYPE_SCRIPT_DATA, TAG_TYPE_VIDEO,
};
use super::FlvError;
use crate::media::mp4::{CodecConfig, TrackKind};
use crate::media::sample::TrackSamples;
use serde::{Deserialize, Serialize};

/// A forward jump between consecutive segments larger than this is a new clock (an encoder
/// restart, a failover to an input on another clock), not missing segments: the segment is
/// moved to continue the stream, since players wait out a gap in real time. Five 2 s segments
/// lost in a row are still kept at their place.
pub const MAX_FORWARD_JUMP_MS: i128 = 10_000;

/// Bytes of tag overhead besides the sample: tag header, the 5 bytes of the video tag header
/// (2 for audio) and `PreviousTagSize`.
const TAG_OVERHEAD: usize = TAG_HEADER_LEN + 5 + 4;

/// `onMetaData`'s `audiosamplesize`: AAC decodes to 16-bit samples in FLV's model.
const AUDIO_SAMPLE_SIZE: f64 = 16.0;

/// One track of a segment.
#[derive(Debug, Clone, Copy)]
pub struct FlvTrack<'a> {
    pub samples: TrackSamples<'a>,
    /// Added to decode times (track timescale) to place the track on the presentation's clock:
    /// the fMP4 edit list's shift; 0 for TS, whose timestamps already are.
    pub time_offset: i64,
}

/// Options of the stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlvOptions {
    /// Timestamp (ms) of the stream's first tag (E.4.1: 0 in a file).
    pub base_timestamp: u32,
}

/// Options of one segment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlvSegmentOptions {
    /// Drop the samples before the segment's last video keyframe (and audio before it): the
    /// GOP cache, so a new viewer's first frame decodes at once.
    pub start_at_keyframe: bool,
    /// The segment does not follow the previous one on the source's clock (failover, encoder
    /// restart): it continues where the stream stopped.
    pub discontinuity: bool,
}

/// What one [`FlvMuxer::write_segment`] call wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlvWritten {
    pub video_tags: u32,
    pub audio_tags: u32,
    /// AVC and AAC sequence header tags (at the start, and when the configuration changed).
    pub sequence_headers: u32,
    /// Samples left out (before the keyframe the stream or the segment starts at).
    pub dropped: u32,
    /// Timestamp of the first tag written, and of the last.
    pub first_timestamp: Option<u32>,
    pub last_timestamp: Option<u32>,
}

/// The FLV stream writer; see the module documentation. Its state serializes, so a file
/// written over many requests (a harvest recording) continues where it stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlvMuxer {
    options: FlvOptions,
    header_written: bool,
    /// The decoder configurations (video `avcC`, audio AudioSpecificConfig) last written as
    /// sequence headers.
    configs: [Option<Vec<u8>>; 2],
    /// FLV ms = source ms + `offset`, once the first segment fixed it.
    offset: Option<i128>,
    /// Timestamp of the last video and the last audio tag: no tag of a track goes below it.
    last_timestamps: [Option<u32>; 2],
    /// Where the stream stopped: the end (timestamp + duration) of its latest sample.
    next_timestamp: i128,
    /// Where each track (video, audio) stopped: the end of its last sample.
    ends: [Option<i128>; 2],
    /// A new `avcC` was sent mid-stream: the next keyframe also carries the SPS and PPS in
    /// band, for decoders that keep the first configuration (FFmpeg's FLV reader does).
    parameter_sets_in_band: bool,
    /// A video keyframe was written: inter frames may follow.
    keyframe_written: bool,
}

impl FlvMuxer {
    pub fn new(options: FlvOptions) -> Self {
        FlvMuxer {
            options,
            header_written: false,
            configs: [None, None],
            offset: None,
            last_timestamps: [None; 2],
            next_timestamp: i128::from(options.base_timestamp),
            ends: [None; 2],
            parameter_sets_in_band: false,
            keyframe_written: false,
        }
    }

    /// The FLV header was written (by the first segment with samples).
    pub fn header_written(&self) -> bool {
        self.header_written
    }

    /// Where the next segment starts when it does not follow on the source's clock (ms).
    pub fn next_timestamp(&self) -> u32 {
        u32::try_from(self.next_timestamp.max(0)).unwrap_or(u32::MAX)
    }

    /// Appends the tags of one segment (and, the first time, the stream's header); see the
    /// module documentation. On error nothing is appended and the muxer is unchanged.
    pub fn write_segment(
        &mut self,
        out: &mut Vec<u8>,
        tracks: &[FlvTrack<'_>],
        options: &FlvSegmentOptions,
    ) -> Result<FlvWritten, FlvError> {
        let saved = self.clone();
        let start = out.len();
        let result = self.write(out, tracks, options);
        if result.is_err() {
            *self = saved;
            out.truncate(start);
        }
        result
    }

    fn write(
        &mut self,
        out: &mut Vec<u8>,
        tracks: &[FlvTrack<'_>],
        options: &FlvSegmentOptions,
    ) -> Result<FlvWritten, FlvError> {
        let mut plans = plan(tracks)?;
        let mut written = FlvWritten::default();
        self.choose_starts(&mut plans, options, &mut written);
        let Some(segment_start) = plans.iter().filter_map(|p| p.dts_ms(p.start)).min() else {
            return Ok(written);
        };
        let offset = match self.offset {
            Some(offset) => {
                let behind = plans.iter().any(|p| {
                    let last = self.last_timestamps[slot(p.kind)];
                    let first = p.dts_ms(p.start);
                    matches!((first, last), (Some(f), Some(l)) if f + offset < i128::from(l))
                });
                let jump = segment_start + offset > self.next_timestamp + MAX_FORWARD_JUMP_MS;
                if options.discontinuity || behind || jump {
                    self.continuation(&plans, segment_start)
                } else {
                    offset
                }
            }
            None => i128::from(self.options.base_timestamp) - segment_start,
        };
        self.offset = Some(offset);
        let first =
            u32::try_from((segment_start + offset).max(0)).map_err(|_| FlvError::Timestamp {
                track: 0,
                sample: 0,
            })?;

        let present: usize = plans
            .iter()
            .map(|p| {
                let rest = p.samples.samples.get(p.start..).unwrap_or_default();
                let declared: u64 = rest.iter().map(|s| u64::from(s.size)).sum();
                let bounded = declared.min(crate::media::reader::len_u64(p.samples.data.len()));
                usize::try_from(bounded)
                    .unwrap_or(0)
                    .saturating_add(TAG_OVERHEAD.saturating_mul(rest.len()))
            })
            .fold(0, usize::saturating_add);
        out.reserve(present);

        if !self.header_written {
            self.write_stream_header(out, &plans, first)?;
        }
        for p in &plans {
            let sent = &mut self.configs[slot(p.kind)];
            if sent.as_deref() != Some(p.config.as_slice()) {
                if p.kind == TrackKind::Video {
                    // A new avcC mid-stream: the next keyframe repeats it in band.
                    self.parameter_sets_in_band = sent.is_some();
                }
                *sent = Some(p.config.clone());
                let at = self.clamp(p, i128::from(first), 0)?;
                write_sequence_header(out, p, at)?;
                written.sequence_headers += 1;
            }
        }

        let mut next: Vec<usize> = plans.iter().map(|p| p.start).collect();
        loop {
            // The next sample in decode order across the tracks (ties: video first).
            let mut pick: Option<(i128, usize)> = None;
            for (i, p) in plans.iter().enumerate() {
                if let Some(dts) = p.dts_ms(next[i]) {
                    if pick.is_none_or(|(best, _)| dts < best) {
                        pick = Some((dts, i));
                    }
                }
            }
            let Some((dts, i)) = pick else { break };
            let p = &plans[i];
            let index = next[i];
            next[i] += 1;
            let timestamp = self.clamp(p, dts + offset, index)?;
            let sample = &p.samples.samples[index];
            let data = p.samples.sample_data(sample).ok_or(FlvError::SampleData {
                track: p.index,
                sample: index,
            })?;
            match p.kind {
                TrackKind::Video => {
                    let pts = p.pts_ms(index).unwrap_or(dts) + offset;
                    let cts = i32::try_from(pts - i128::from(timestamp))
                        .ok()
                        .and_then(si24)
                        .ok_or(FlvError::OutOfRange {
                            field: "CompositionTime",
                        })?;
                    let frame_type = if sample.is_sync {
                        FRAME_TYPE_KEY
                    } else {
                        FRAME_TYPE_INTER
                    };
                    // After a new avcC mid-stream the keyframe repeats the SPS and PPS.
                    let mut parameter_sets = Vec::new();
                    if sample.is_sync && self.parameter_sets_in_band {
                        if let CodecConfig::Avc(avc) = &p.samples.track.codec {
                            for nal in [&avc.sps_nal, &avc.pps_nal] {
                                let len =
                                    u32::try_from(nal.len()).map_err(|_| FlvError::OutOfRange {
                                        field: "parameter set length",
                                    })?;
                                parameter_sets.extend_from_slice(&len.to_be_bytes());
                                parameter_sets.extend_from_slice(nal);
                            }
                        }
                        self.parameter_sets_in_band = false;
                    }
                    write_tag(out, TAG_TYPE_VIDEO, timestamp, |b| {
                        b.push((frame_type << 4) | CODEC_ID_AVC);
                        b.push(PACKET_TYPE_DATA);
                        b.extend_from_slice(&cts);
                        b.extend_from_slice(&parameter_sets);
                        b.extend_from_slice(data);
                    })?;
                    self.keyframe_written |= sample.is_sync;
                    written.video_tags += 1;
                }
                TrackKind::Audio => {
                    write_tag(out, TAG_TYPE_AUDIO, timestamp, |b| {
                        b.push(AAC_AUDIO_TAG_HEADER);
                        b.push(PACKET_TYPE_DATA);
                        b.extend_from_slice(data);
                    })?;
                    written.audio_tags += 1;
                }
            }
            self.last_timestamps[slot(p.kind)] = Some(timestamp);
            written.first_timestamp.get_or_insert(timestamp);
            written.last_timestamp = Some(timestamp);
        }
        for p in &plans {
            if let Some(end) = p.end_ms() {
                self.ends[slot(p.kind)] = Some(end + offset);
                self.next_timestamp = self.next_timestamp.max(end + offset);
            }
        }
        for last in self.last_timestamps.into_iter().flatten() {
            self.next_timestamp = self.next_timestamp.max(i128::from(last));
        }
        Ok(written)
    }

    /// The offset that moves a segment to continue the stream: the smallest that starts no
    /// track before the end of its own last sample (so one track continues exactly and the
    /// tracks keep their offset to each other); for tracks new to the stream, its end.
    fn continuation(&self, plans: &[Plan<'_>], segment_start: i128) -> i128 {
        plans
            .iter()
            .filter_map(|p| Some(self.ends[slot(p.kind)]? - p.dts_ms(p.start)?))
            .max()
            .unwrap_or(self.next_timestamp - segment_start)
    }

    /// Sets each plan's first sample: video from the segment's last keyframe
    /// (`start_at_keyframe`) or, before the stream has one, its first; audio from that
    /// keyframe's time when the segment starts there.
    fn choose_starts(
        &self,
        plans: &mut [Plan<'_>],
        options: &FlvSegmentOptions,
        written: &mut FlvWritten,
    ) {
        let mut keyframe_ms = None;
        for p in plans.iter_mut().filter(|p| p.kind == TrackKind::Video) {
            let samples = p.samples.samples;
            let keyframe = if options.start_at_keyframe {
                samples.iter().rposition(|s| s.is_sync)
            } else if !self.keyframe_written {
                samples.iter().position(|s| s.is_sync)
            } else {
                Some(0)
            };
            p.start = keyframe.unwrap_or(samples.len());
            if options.start_at_keyframe {
                keyframe_ms = p.dts_ms(p.start);
            }
        }
        if let Some(from) = keyframe_ms {
            for p in plans.iter_mut().filter(|p| p.kind == TrackKind::Audio) {
                p.start = (0..p.samples.samples.len())
                    .find(|&i| p.dts_ms(i).is_some_and(|t| t >= from))
                    .unwrap_or(p.samples.samples.len());
            }
        }
        let dropped: usize = plans.iter().map(|p| p.start).sum();
        written.dropped = u32::try_from(dropped).unwrap_or(u32::MAX);
    }

    /// A tag timestamp of `p`: never below the track's last one, within 32 bits.
    fn clamp(&self, p: &Plan<'_>, ms: i128, sample: usize) -> Result<u32, FlvError> {
        let last = self.last_timestamps[slot(p.kind)].map_or(0, i128::from);
        u32::try_from(ms.max(last)).map_err(|_| FlvError::Timestamp {
            track: p.index,
            sample,
        })
    }

    /// The FLV header and the `onMetaData` tag.
    fn write_stream_header(
        &mut self,
        out: &mut Vec<u8>,
        plans: &[Plan<'_>],
        timestamp: u32,
    ) -> Result<(), FlvError> {
        let video = plans.iter().find(|p| p.kind == TrackKind::Video);
        let audio = plans.iter().find(|p| p.kind == TrackKind::Audio);
        write_header(out, audio.is_some(), video.is_some());
        let mut properties: Vec<(&str, AmfValue)> = vec![("duration", AmfValue::Number(0.0))];
        if let Some(v) = video {
            if let Some((width, height)) = v.samples.track.dimensions() {
                properties.push(("width", AmfValue::Number(f64::from(width))));
                properties.push(("height", AmfValue::Number(f64::from(height))));
            }
            if let Some(fps) = v.frame_rate() {
                properties.push(("framerate", AmfValue::Number(fps)));
            }
            properties.push(("videocodecid", AmfValue::Number(f64::from(CODEC_ID_AVC))));
        }
        if let Some(a) = audio {
            if let Some(rate) = a.samples.track.sample_rate() {
                properties.push(("audiosamplerate", AmfValue::Number(f64::from(rate))));
            }
            properties.push(("audiosamplesize", AmfValue::Number(AUDIO_SAMPLE_SIZE)));
            let stereo = a.samples.track.channels().is_some_and(|c| c >= 2);
            properties.push(("stereo", AmfValue::Boolean(stereo)));
            properties.push((
                "audiocodecid",
                AmfValue::Number(f64::from(SOUND_FORMAT_AAC)),
            ));
        }
        let mut body = Vec::with_capacity(256);
        write_on_metadata(&mut body, &properties)?;
        write_tag(out, TAG_TYPE_SCRIPT_DATA, timestamp, |b| {
            b.extend_from_slice(&body)
        })?;
        self.header_written = true;
        Ok(())
    }
}

/// An `AVCPacketType` 0 or `AACPacketType` 0 tag with the track's decoder configuration.
fn write_sequence_header(out: &mut Vec<u8>, p: &Plan<'_>, timestamp: u32) -> Result<(), FlvError> {
    match p.kind {
        TrackKind::Video => write_tag(out, TAG_TYPE_VIDEO, timestamp, |b| {
            b.push((FRAME_TYPE_KEY << 4) | CODEC_ID_AVC);
            b.push(PACKET_TYPE_SEQUENCE_HEADER);
            b.extend_from_slice(&[0; 3]); // CompositionTime: 0 outside NAL unit packets
            b.extend_from_slice(&p.config);
        }),
        TrackKind::Audio => write_tag(out, TAG_TYPE_AUDIO, timestamp, |b| {
            b.push(AAC_AUDIO_TAG_HEADER);
            b.push(PACKET_TYPE_SEQUENCE_HEADER);
            b.extend_from_slice(&p.config);
        }),
    }
}
