//! `{manifest_name}.flv[?rendition=NAME]` on an FLV endpoint: the live output as one long
//! HTTP-FLV response (docs/flv.md, "Live endpoint").
//!
//! The response starts with the FLV header, `onMetaData`, the sequence headers and the newest
//! output segment from its last keyframe (the GOP cache: the first frame decodes at once), then
//! follows the output timeline segment by segment: the same numbers, the same copies and the
//! same failover decisions as the endpoint's HLS and DASH siblings, so a switch of inputs is a
//! flagged discontinuity that the muxer closes (timestamps never go back). The stream ends
//! cleanly before the platform's limits ([`StreamLimits`]); a player that reconnects resumes at
//! the live edge.

use super::clip_mp4::av_renditions;
use super::recording::{flv_source, segment_bytes};
use super::{init_bytes, rendition_data, Play, RenditionData};
use crate::context::{Ctx, StreamLimits};
use crate::datetime::iso8601_ms;
use crate::error::{MediaCause, MediaError, OriginError, OriginResult};
use crate::failover::{output_segments, OutputSegment};
use crate::http::{Request, Response};
use crate::media::flv::{FlvMuxer, FlvOptions, FlvSegmentOptions};
use crate::media::remux::av_segment_to_flv;
use crate::model::{Channel, Endpoint};
use crate::names::Rendition;
use crate::store::{KvStore, ObjectStore};
use crate::timeline::TIMESCALE;
use crate::timeshift::{select, TimeShift};

pub const FLV_CONTENT_TYPE: &str = "video/x-flv";

/// Response header: the program date time (encoder wall clock) of the segment the stream
/// starts in, its first sample; the first video tag's when segments start with a keyframe.
/// What a client needs to tell how far behind the encoder it plays (`tests/bench/latency.js`).
pub const START_PDT_HEADER: &str = "x-edgepack-start-program-date-time";

/// Shortest wait between two looks at the timeline, ms.
pub const MIN_POLL_MS: u64 = 250;

/// Looks at the timeline after the newest segment's expected successor is overdue by this
/// many of its durations: the stream then ends (the input is down; a reconnecting player
/// finds the live edge wherever failover put it).
pub const MAX_IDLE_SEGMENTS: u64 = 4;

/// A live HTTP-FLV stream between two chunks: what it plays and how far it got.
pub struct LiveFlv {
    channel: Channel,
    endpoint: Endpoint,
    video: Rendition,
    audio: Option<Rendition>,
    /// The next output number to send.
    next: u64,
    muxer: FlvMuxer,
    /// Storage reads so far.
    reads: u32,
    started_ms: u64,
    limits: StreamLimits,
    /// `start`/`end`/`vodend`/`offset`: where the stream started; archived segments are read
    /// while it plays behind the live timelines.
    shift: Option<TimeShift>,
    /// The stream ends before the first segment whose middle is at or after this (`end`,
    /// `vodend`).
    end_ms: Option<i64>,
    /// `offset`: a segment is sent this long after it ended, so the stream keeps its distance
    /// from live; otherwise segments go out as fast as the client reads them.
    delay_ms: u64,
}

/// The segments of one output number: video, and audio when it is a rendition of its own.
struct Pair<'a> {
    video: OutputSegment<'a>,
    audio: Option<OutputSegment<'a>>,
}

/// Starts a stream at `now_ms`: the response head with the first chunk as its body.
pub(super) async fn start<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    play: &Play<'_>,
    req: &Request,
) -> OriginResult<(Response, LiveFlv)> {
    let (video, audio) = av_renditions(cx, play, &req.query).await?;
    let shift = play.shift.copied();
    let mut stream = LiveFlv {
        channel: play.channel.clone(),
        endpoint: play.endpoint.clone(),
        video,
        audio,
        next: 0,
        muxer: FlvMuxer::new(FlvOptions::default()),
        reads: 0,
        started_ms: play.now_ms,
        limits: cx.config.stream_limits,
        end_ms: match shift {
            Some(TimeShift::Window { end_ms, .. } | TimeShift::Offset { end_ms, .. }) => end_ms,
            Some(TimeShift::Until { end_ms }) => Some(end_ms),
            None => None,
        },
        delay_ms: match shift {
            Some(TimeShift::Offset { offset_s, .. }) => offset_s.saturating_mul(1000),
            _ => 0,
        },
        shift,
    };
    let (v, a) = stream.read(cx, play.now_ms, shift.is_some()).await?;
    let v_out = output_segments(&v.log, v.refs());
    let a_out = a.as_ref().map(|a| output_segments(&a.log, a.refs()));
    let now = i64::try_from(play.now_ms).unwrap_or(i64::MAX);
    // Where the stream starts: live, the newest segment; `start`, the window's first; `offset`,
    // the newest segment that far behind live.
    let from: &[OutputSegment<'_>] = match &shift {
        None | Some(TimeShift::Until { .. }) => &v_out,
        Some(sh) => {
            let selected = select(&v_out, sh, now, |s| s)?.segments;
            match sh {
                TimeShift::Window { .. } => selected.get(..1).unwrap_or_default(),
                _ => selected,
            }
        }
    };
    // The newest such segment whose audio twin is in too (audio uploads can trail video's).
    let newest = from
        .iter()
        .rev()
        .filter_map(|s| pair(*s, a_out.as_deref()))
        .next()
        .ok_or_else(|| OriginError::NotFound("no content has been ingested yet".into()))?;
    let options = FlvSegmentOptions {
        start_at_keyframe: true,
        discontinuity: false,
    };
    let chunk = stream.write(cx, &newest, &options).await?;
    stream.next = newest.video.seq + 1;
    let response = Response::new(200)
        .with_body(FLV_CONTENT_TYPE, chunk)
        .with_header("cache-control", "no-store")
        .with_header(START_PDT_HEADER, iso8601_ms(newest.video.segment.pdt_ms));
    Ok((response, stream))
}

/// The video segment `video` with its audio twin, when the audio is a rendition of its own
/// (`None` while the twin has not arrived).
fn pair<'a>(video: OutputSegment<'a>, audio: Option<&[OutputSegment<'a>]>) -> Option<Pair<'a>> {
    match audio {
        None => Some(Pair { video, audio: None }),
        Some(all) => all.iter().find(|a| a.seq == video.seq).map(|a| Pair {
            video,
            audio: Some(*a),
        }),
    }
}

impl LiveFlv {
    /// The next chunk of the stream, waiting for the next output segment with the platform's
    /// timer; `None` ends the stream (a limit reached, the input gone quiet, or an error,
    /// which is logged by the caller's platform only as the end of the body).
    pub async fn next_chunk<K: KvStore, O: ObjectStore>(
        &mut self,
        cx: &Ctx<'_, K, O>,
        now_ms: u64,
    ) -> Option<Vec<u8>> {
        let mut waited = 0u64;
        loop {
            let now = now_ms + waited;
            if self.exhausted(now) {
                return None;
            }
            let (mut v, mut a) = self.read(cx, now, false).await.ok()?;
            let behind = |v: &RenditionData| {
                output_segments(&v.log, v.refs())
                    .first()
                    .is_some_and(|f| f.seq > self.next)
            };
            if self.shift.is_some() && behind(&v) {
                // Still behind the live timelines: read the archive too.
                (v, a) = self.read(cx, now, true).await.ok()?;
            }
            let v_out = output_segments(&v.log, v.refs());
            let a_out = a.as_ref().map(|a| output_segments(&a.log, a.refs()));
            let mut candidates = v_out.iter().filter(|s| s.seq >= self.next);
            let first = candidates.next();
            if let Some(first) = first {
                if self.end_ms.is_some_and(|e| middle_ms(first) >= e) {
                    return None;
                }
            }
            let held = first.map(|f| end_ms(f) + i64::try_from(self.delay_ms).unwrap_or(0));
            let now_i = i64::try_from(now).unwrap_or(i64::MAX);
            if let Some(first) = first.filter(|_| held.is_some_and(|h| h <= now_i)) {
                // Audio trails: wait for the twin, unless a later video segment shows that
                // it is not coming.
                let later = candidates.next().is_some();
                let ready = pair(*first, a_out.as_deref()).or_else(|| {
                    later.then_some(Pair {
                        video: *first,
                        audio: None,
                    })
                });
                if let Some(p) = ready {
                    let options = FlvSegmentOptions {
                        start_at_keyframe: false,
                        discontinuity: p.video.discontinuity || p.video.seq != self.next,
                    };
                    let chunk = self.write(cx, &p, &options).await.ok()?;
                    self.next = p.video.seq + 1;
                    return Some(chunk);
                }
            }
            if let Some(h) = held.filter(|h| *h > now_i) {
                // `offset`: the next segment is held back until its time.
                let wait = u64::try_from(h - now_i).unwrap_or(0).max(MIN_POLL_MS);
                (cx.sleep)(wait).await;
                waited += wait;
                continue;
            }
            // Nothing new: wait until the newest segment's successor is due, then poll.
            let newest = v_out.last()?;
            let due = newest.segment.arrived_ms + newest.segment.duration * 1000 / TIMESCALE;
            let overdue = now.saturating_sub(due);
            if overdue > MAX_IDLE_SEGMENTS * newest.segment.duration * 1000 / TIMESCALE {
                return None;
            }
            let wait = due.saturating_sub(now).max(MIN_POLL_MS);
            (cx.sleep)(wait).await;
            waited += wait;
        }
    }

    /// Whether a limit is reached at `now_ms` (a segment costs a few reads; keep a margin).
    fn exhausted(&self, now_ms: u64) -> bool {
        let reads =
            self.limits.max_reads > 0 && self.reads + READS_PER_LOOK > self.limits.max_reads;
        let time =
            self.limits.max_ms > 0 && now_ms.saturating_sub(self.started_ms) >= self.limits.max_ms;
        reads || time
    }

    /// Both renditions' switch logs and timelines.
    async fn read<K: KvStore, O: ObjectStore>(
        &mut self,
        cx: &Ctx<'_, K, O>,
        now_ms: u64,
        archive: bool,
    ) -> OriginResult<(RenditionData, Option<RenditionData>)> {
        if archive {
            // Archive buckets: about one read per input and 10 minutes of window.
            self.reads += ARCHIVE_READS;
        }
        let play = Play {
            channel: &self.channel,
            endpoint: &self.endpoint,
            shift: if archive { self.shift.as_ref() } else { None },
            now_ms,
            window: None,
            renditions: None,
            defer_session_keys: false,
        };
        let video = rendition_data(cx, &play, &self.video).await?;
        self.reads += READS_PER_RENDITION;
        let audio = match &self.audio {
            Some(r) => {
                self.reads += READS_PER_RENDITION;
                Some(rendition_data(cx, &play, r).await?)
            }
            None => None,
        };
        Ok((video, audio))
    }

    /// The tags of one output number.
    async fn write<K: KvStore, O: ObjectStore>(
        &mut self,
        cx: &Ctx<'_, K, O>,
        p: &Pair<'_>,
        options: &FlvSegmentOptions,
    ) -> OriginResult<Vec<u8>> {
        let video = segment_bytes(cx, p.video.seq, p.video.segment).await?;
        let audio = match &p.audio {
            Some(a) => Some(segment_bytes(cx, a.seq, a.segment).await?),
            None => None,
        };
        let video_init = init_bytes(cx, &[p.video.segment]).await?;
        let audio_init = match &p.audio {
            Some(a) => init_bytes(cx, &[a.segment]).await?,
            None => Vec::new(),
        };
        self.reads += 2 + u32::try_from(video_init.len() + audio_init.len()).unwrap_or(2);
        let v_source = flv_source(&video, p.video.segment, video_init.first());
        let a_source = match (&audio, &p.audio) {
            (Some(bytes), Some(a)) => Some(flv_source(bytes, a.segment, audio_init.first())),
            _ => None,
        };
        let mut out = Vec::new();
        av_segment_to_flv(
            &mut self.muxer,
            &mut out,
            &v_source,
            a_source.as_ref(),
            options,
        )
        .map_err(|e| {
            MediaError::new(MediaCause::Remux(e))
                .rendition(&self.video)
                .sequence(p.video.seq)
                .key(&p.video.segment.key)
        })?;
        Ok(out)
    }
}

/// Reads of the archive a time-shifted stream adds to a look behind the live timelines.
const ARCHIVE_READS: u32 = 4;

/// Wall-clock end and middle of a segment (its program date time plus duration).
fn end_ms(s: &OutputSegment<'_>) -> i64 {
    s.segment.pdt_ms + i64::try_from(s.segment.duration * 1000 / TIMESCALE).unwrap_or(0)
}

fn middle_ms(s: &OutputSegment<'_>) -> i64 {
    (s.segment.pdt_ms + end_ms(s)) / 2
}

/// Reads of one rendition's data: the switch log and both inputs' timelines.
const READS_PER_RENDITION: u32 = 3;
/// Reads of one look at the timeline and one segment written, as [`LiveFlv::exhausted`]
/// budgets them: two renditions' data, two segments, two init segments.
const READS_PER_LOOK: u32 = 2 * READS_PER_RENDITION + 4;
