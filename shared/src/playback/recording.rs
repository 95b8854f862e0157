//! A window of an endpoint as one file (`clip.mp4`, `clip.flv`, harvest recordings): which
//! input segments it is made of ([`FileParts`]), and writing them one at a time
//! ([`FileWriter`]). The selection is the one of a `?start=&vodend=` playlist (midpoint rule on
//! the reference rendition); the parts are owned and serializable, so a harvest job can plan
//! them once and write them over many requests. Docs: `docs/timeshift-harvest.md`.

use super::clip_mp4::av_renditions;
use super::{init_bytes, rendition_data, window_and_data, Play};
use crate::context::Ctx;
use crate::error::{MediaCause, MediaError, OriginError, OriginResult};
use crate::failover::{output_segments, OutputSegment};
use crate::media::flv::{FlvMuxer, FlvSegmentOptions};
use crate::media::remux::clip::{ClipPart, ClipWriter};
use crate::media::remux::{av_segment_to_flv, FlvSource, Fmp4Part, RemuxError, RemuxOptions};
use crate::model::{Channel, Endpoint};
use crate::names::Rendition;
use crate::output::group::Group;
use crate::store::{KvStore, ObjectStore};
use crate::timeline::Segment;
use crate::timeshift::{select, select_like, TimeShift};
use futures_util::future::{join, join3};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One output segment of a file: its video input segment and the audio one of the same
/// output number (when audio is a rendition of its own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilePart {
    pub seq: u64,
    pub video: Segment,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio: Option<Segment>,
    /// The timeline breaks before this part (gap, encoder restart, input switch).
    #[serde(default)]
    pub discontinuity: bool,
    /// First video PTS (90 kHz, unwrapped) of the next part when it follows without a break:
    /// the exact duration of this part's last frame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_video_start: Option<u64>,
}

/// The parts of a window, with the rendition they come from.
pub struct FileParts {
    pub parts: Vec<FilePart>,
    pub video_rendition: Rendition,
    /// The video rendition's target duration (cache lifetime of an unsettled clip).
    pub target_duration: u64,
}

/// The window's input segments of one rendition, in order.
fn members<'a>(groups: &'a [Group<'a>], chosen: &[OutputSegment<'_>]) -> Vec<OutputSegment<'a>> {
    let (Some(first), Some(last)) = (chosen.first(), chosen.last()) else {
        return Vec::new();
    };
    groups
        .iter()
        .filter(|g| (first.seq..=last.seq).contains(&g.seq))
        .flat_map(|g| g.members.iter().copied())
        .collect()
}

/// Most renditions whose window data a file reads beside its window
/// ([`indexed_window_data`]): with at most [`READ_AHEAD_BUCKETS`] archive buckets per input,
/// at most 8 × 2 × 5 small reads.
const MAX_READ_AHEAD_RENDITIONS: usize = 8;

/// Longest window, in archive buckets per input, whose renditions are read beside it: a
/// clip's (at most 10 minutes, `clip_mp4`), never a long harvest recording's.
const READ_AHEAD_BUCKETS: i64 = 4;

/// Every indexed rendition's data of a short window (`start_ms..end_ms` spans at most
/// [`READ_AHEAD_BUCKETS`] buckets, the index names at most [`MAX_READ_AHEAD_RENDITIONS`]),
/// read together; empty otherwise, or without an index (docs/round-trips.md, "Clips").
async fn indexed_window_data<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    play: &Play<'_>,
    (start_ms, end_ms): (i64, i64),
) -> BTreeMap<Rendition, super::RenditionData> {
    let (first, last) = crate::archive::buckets_of((start_ms, end_ms));
    let buckets = last.saturating_sub(first) / crate::archive::BUCKET_MS + 1;
    let few = play
        .renditions
        .is_some_and(|r| (2..=MAX_READ_AHEAD_RENDITIONS).contains(&r.len()));
    if buckets > READ_AHEAD_BUCKETS || !few {
        return BTreeMap::new();
    }
    super::indexed_data(cx, play).await
}

/// The parts of the window `start_ms..end_ms` (a `vodend` window) of `play`'s endpoint.
pub(crate) async fn window_parts<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    play: &Play<'_>,
    query: &str,
    (start_ms, end_ms): (i64, i64),
) -> OriginResult<FileParts> {
    let shift = TimeShift::Window {
        start_ms,
        end_ms: Some(end_ms),
        vod: true,
    };
    let mut play = Play {
        channel: play.channel,
        endpoint: play.endpoint,
        shift: Some(&shift),
        now_ms: play.now_ms,
        window: None,
        renditions: play.renditions,
        defer_session_keys: false,
    };
    // The window's segment numbers, chosen on the reference rendition as for a `vodend`
    // playlist (404 naming the retained range when it holds nothing).
    // The window and the renditions do not depend on each other: one round trip, which
    // reads the switch log and the reference rendition's timelines once (`ahead`).
    // A short window also reads every indexed rendition's data in that round trip, so that
    // a video or audio rendition other than the reference costs none of its own.
    let (window, renditions, mut indexed) = join3(
        window_and_data(cx, &play, None),
        av_renditions(cx, &play, query),
        indexed_window_data(cx, &play, (start_ms, end_ms)),
    )
    .await;
    let window = window?;
    play.window = window.window;
    let now = i64::try_from(play.now_ms).unwrap_or(i64::MAX);
    let (video_rendition, audio_rendition) = renditions?;

    // Both renditions' data together; the reference rendition's (often the video's) was
    // read for the window, the others' beside it when the window is short.
    let mut reference = window.reference;
    let mut data_of = |r: Rendition| {
        let read = match reference.take() {
            Some((name, data)) if name == r => Some(data),
            other => {
                reference = other;
                indexed.remove(&r)
            }
        };
        let play = &play;
        async move {
            match read {
                Some(data) => Ok(data),
                None => rendition_data(cx, play, &r).await,
            }
        }
    };
    let video_data = data_of(video_rendition.clone());
    let audio_data = audio_rendition.clone().map(&mut data_of);
    let audio_data = async {
        match audio_data {
            Some(read) => read.await.map(Some),
            None => Ok(None),
        }
    };
    let (video_data, audio_data) = join(video_data, audio_data).await;
    let (video_data, audio_data) = (video_data?, audio_data?);
    let (groups, _) = video_data.groups(play.endpoint);
    let outputs: Vec<_> = groups.iter().map(Group::output).collect();
    let selection = match &play.window {
        Some(seqs) => select_like(&outputs, seqs, &shift, now)?,
        None => select(&outputs, &shift, now, |s| s)?,
    };
    let video = members(&groups, selection.segments);
    let audio_all = audio_data
        .as_ref()
        .map(|d| output_segments(&d.log, d.refs()))
        .unwrap_or_default();
    let audio: BTreeMap<u64, &OutputSegment<'_>> = audio_all.iter().map(|s| (s.seq, s)).collect();
    let parts = video
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let previous = i.checked_sub(1).and_then(|p| video.get(p));
            let next = video.get(i + 1);
            FilePart {
                seq: v.seq,
                video: v.segment.clone(),
                audio: audio.get(&v.seq).map(|a| a.segment.clone()),
                discontinuity: previous.is_some_and(|p| p.seq + 1 != v.seq || v.discontinuity),
                next_video_start: next
                    .filter(|n| n.seq == v.seq + 1 && !n.discontinuity)
                    .and_then(|n| n.segment.media_start),
            }
        })
        .collect();
    Ok(FileParts {
        parts,
        video_rendition,
        target_duration: video_data.target_duration(),
    })
}

/// The parts of a harvest job's window: `play` built from the job's channel and its copy of
/// the endpoint's settings.
pub(crate) async fn job_parts<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    channel: &Channel,
    endpoint: &Endpoint,
    window: (i64, i64),
    now_ms: u64,
) -> OriginResult<FileParts> {
    let play = Play {
        channel,
        endpoint,
        shift: None,
        now_ms,
        window: None,
        renditions: None,
        defer_session_keys: false,
    };
    window_parts(cx, &play, "", window).await
}

/// What a file is written with.
pub enum FileWriter {
    Mp4(ClipWriter),
    Flv(FlvMuxer),
}

impl FileWriter {
    /// Bytes written since the last call (the MP4 writer's media data; FLV tags).
    pub fn drain(&mut self, flv_out: &mut Vec<u8>) -> Vec<u8> {
        match self {
            FileWriter::Mp4(w) => w.drain_media(),
            FileWriter::Flv(_) => std::mem::take(flv_out),
        }
    }
}

/// How a segment's bytes are read: with its init segment (fMP4), or as TS placed by its
/// media time.
pub(super) fn flv_source<'a>(
    bytes: &'a [u8],
    segment: &Segment,
    init: Option<&'a Vec<u8>>,
) -> FlvSource<'a> {
    match init {
        Some(init) => FlvSource::Fmp4(Fmp4Part {
            init,
            segment: bytes,
        }),
        None => FlvSource::Ts {
            bytes,
            options: RemuxOptions {
                time_reference: segment.media_start,
                ..RemuxOptions::default()
            },
        },
    }
}

/// The stored bytes of one input segment.
pub(super) async fn segment_bytes<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    seq: u64,
    s: &Segment,
) -> OriginResult<Vec<u8>> {
    Ok(cx
        .objects
        .get(&s.key)
        .await?
        .ok_or_else(|| OriginError::NotFound(format!("segment {seq} (expired)")))?
        .body)
}

/// The stored bytes a part is made of: its segments and, for fMP4, their init segments.
#[derive(Debug, Clone)]
pub struct PartBytes {
    video: Vec<u8>,
    audio: Option<Vec<u8>>,
    video_init: Vec<Vec<u8>>,
    audio_init: Vec<Vec<u8>>,
}

impl PartBytes {
    /// Bytes held.
    pub fn size(&self) -> u64 {
        let inits: usize = self
            .video_init
            .iter()
            .chain(&self.audio_init)
            .map(Vec::len)
            .sum();
        (self.video.len() + self.audio.as_ref().map_or(0, Vec::len) + inits) as u64
    }
}

/// Reads the bytes of `part`.
pub(crate) async fn read_part<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    part: &FilePart,
) -> OriginResult<PartBytes> {
    // Every read of a part in one round trip.
    let audio = async {
        match &part.audio {
            Some(a) => segment_bytes(cx, part.seq, a).await.map(Some),
            None => Ok(None),
        }
    };
    let inits = async {
        if part.video.init_key.is_none() {
            return Ok((Vec::new(), Vec::new()));
        }
        let audio_init = async {
            match &part.audio {
                Some(a) => init_bytes(cx, &[a]).await,
                None => Ok(Vec::new()),
            }
        };
        let (video_init, audio_init) = join(init_bytes(cx, &[&part.video]), audio_init).await;
        OriginResult::Ok((video_init?, audio_init?))
    };
    let (video, audio, inits) = join3(segment_bytes(cx, part.seq, &part.video), audio, inits).await;
    let (video, audio, (video_init, audio_init)) = (video?, audio?, inits?);
    Ok(PartBytes {
        video,
        audio,
        video_init,
        audio_init,
    })
}

/// Writes `part` (the file's last when `last`) from its bytes; FLV tags are appended to
/// `flv_out`, MP4 media data stays in the writer until drained.
pub(crate) fn push_part(
    writer: &mut FileWriter,
    flv_out: &mut Vec<u8>,
    part: &FilePart,
    bytes: &PartBytes,
    last: bool,
    rendition: &Rendition,
) -> OriginResult<()> {
    let fmp4 = part.video.init_key.is_some();
    let written: Result<(), RemuxError> = match writer {
        FileWriter::Flv(muxer) => {
            let v_source = flv_source(&bytes.video, &part.video, bytes.video_init.first());
            let a_source = bytes
                .audio
                .as_deref()
                .zip(part.audio.as_ref())
                .map(|(b, a)| flv_source(b, a, bytes.audio_init.first()));
            let options = FlvSegmentOptions {
                start_at_keyframe: false,
                discontinuity: part.discontinuity,
            };
            av_segment_to_flv(muxer, flv_out, &v_source, a_source.as_ref(), &options).map(|_| ())
        }
        FileWriter::Mp4(writer) if fmp4 => {
            let video_part = Fmp4Part {
                init: bytes
                    .video_init
                    .first()
                    .map(Vec::as_slice)
                    .unwrap_or_default(),
                segment: &bytes.video,
            };
            let audio_part = bytes
                .audio
                .as_deref()
                .zip(bytes.audio_init.first())
                .map(|(segment, init)| Fmp4Part { init, segment });
            writer
                .push_fmp4(&video_part, audio_part.as_ref(), last)
                .map(|_| ())
        }
        FileWriter::Mp4(writer) => writer
            .push(&ClipPart {
                video: &bytes.video,
                audio: bytes.audio.as_deref(),
                video_reference: part.video.media_start,
                audio_reference: part.audio.as_ref().and_then(|a| a.media_start),
                next_video_start: part.next_video_start,
                last,
            })
            .map(|_| ()),
    };
    written.map_err(|e| {
        MediaError::new(MediaCause::Remux(e))
            .rendition(rendition)
            .sequence(part.seq)
            .key(&part.video.key)
            .into()
    })
}

/// Reads and writes `part` ([`read_part`], [`push_part`]).
pub(crate) async fn write_part<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    writer: &mut FileWriter,
    flv_out: &mut Vec<u8>,
    part: &FilePart,
    last: bool,
    rendition: &Rendition,
) -> OriginResult<()> {
    let bytes = read_part(cx, part).await?;
    push_part(writer, flv_out, part, &bytes, last, rendition)
}
