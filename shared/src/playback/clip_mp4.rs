//! `clip.mp4?start=ISO&end=ISO[&rendition=NAME]` beside an endpoint's manifest: the window as
//! one progressive MP4 (`moov` before `mdat`, video + audio track) for download into an editor.
//!
//! The window selects the same segments a `?start=&vodend=` HLS playlist lists (whole
//! segments, numbered on the reference rendition: the clip starts with the first segment that
//! overlaps `start` and ends with the last one that begins before `end`). Video comes from the highest-bandwidth rendition the
//! endpoint's bitrate filters allow (or `rendition`), audio from that rendition when it muxes
//! audio, else from the endpoint's first audio rendition, paired by segment number.
//! `rendition` is a rendition id as in the endpoint's playlist paths (`stream_1/index`) or its
//! first part (`stream_1`) when that is unambiguous.
//! Work is bounded: [`MAX_CLIP_SECONDS`] of window and [`MAX_CLIP_BYTES`] of output (413
//! beyond, pointing at harvest jobs); one input segment per track is held at a time.

use super::{CacheControl, Play};
use crate::context::Ctx;
use crate::datetime::iso8601_ms;
use crate::error::{MediaCause, MediaError, OriginError, OriginResult};
use crate::failover::{output_segments, OutputSegment};
use crate::http::query_param;
use crate::http::range;
use crate::http::{Request, Response};
use crate::media::flv::{FlvMuxer, FlvOptions, FlvSegmentOptions};
use crate::media::mp4::TrackKind;
use crate::media::remux::clip::{ClipPart, ClipWriter};
use crate::media::remux::{av_segment_to_flv, Fmp4Part};
use crate::names::Rendition;
use crate::output::group::Group;
use crate::output::representations::{representations, Rep};
use crate::playback::cmaf::channel_data;
use crate::playback::flv_live::{flv_source, FLV_CONTENT_TYPE};
use crate::playback::init_bytes;
use crate::playback::rendition_data;
use crate::playback::window_reference;
use crate::playback::ClipFormat;
use crate::store::{KvStore, ObjectStore};
use crate::timeshift::{select, select_like, TimeShift};
use std::collections::BTreeMap;

/// The file names of the clip below an endpoint.
pub const CLIP_FILE: &str = "clip.mp4";
pub const CLIP_FLV_FILE: &str = "clip.flv";

/// What a clip is written with.
enum Writer {
    Mp4(ClipWriter),
    Flv(FlvMuxer, Vec<u8>),
}
/// Longest window one clip may cover: 10 minutes (300 segments of 2 s, two renditions: ~600
/// object reads, within a Worker's 1,000 subrequests).
pub const MAX_CLIP_SECONDS: i64 = 600;
/// Largest clip: 48 MiB, so the output, one input segment per track and the runtime fit a
/// Worker's 128 MB. Checked against the stored segment sizes before any media is read, and
/// against the output while it is written.
pub const MAX_CLIP_BYTES: u64 = 48 << 20;

/// The 413 answer for a window too long or too large; harvest jobs make longer VOD assets.
fn too_large(what: String) -> Response {
    let body = serde_json::json!({
        "error": format!(
            "{what}; clips are limited to {MAX_CLIP_SECONDS} s and {} MiB: use a harvest job \
             (POST .../channels/{{channel}}/harvest-jobs) for longer windows",
            MAX_CLIP_BYTES >> 20
        )
    });
    Response::new(413)
        .with_body("application/json", body.to_string())
        .with_header("cache-control", "no-store")
}

/// `2026-11-23T12:00:10.000Z` → `20261123T120010Z` (milliseconds kept when not zero).
fn compact_time(ms: i64) -> String {
    let iso = iso8601_ms(ms).replace(".000Z", "Z");
    iso.chars().filter(|c| *c != '-' && *c != ':').collect()
}

/// A query value with `%2F` (a rendition path's `/`) decoded.
fn rendition_param(query: &str) -> Option<String> {
    query_param(query, "rendition").map(|v| v.replace("%2F", "/").replace("%2f", "/"))
}

/// The rendition named `name`: its id (`stream_0/index`), or the first part of one id
/// (`stream_0`) when no other rendition shares it.
fn find_rendition(reps: &[Rep<'_>], name: &str) -> Option<Rendition> {
    let exact = reps.iter().find(|r| *r.rendition == *name);
    let mut prefixed = reps
        .iter()
        .filter(|r| r.rendition.split('/').next() == Some(name));
    let unique = match (prefixed.next(), prefixed.next()) {
        (Some(r), None) => Some(r),
        _ => None,
    };
    exact.or(unique).map(|r| r.rendition.clone())
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

pub(super) async fn clip<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    play: &Play<'_>,
    req: &Request,
    format: ClipFormat,
) -> OriginResult<Response> {
    let query = req.query.as_str();
    let missing = |name: &str| OriginError::BadRequest(format!("`{name}` is required"));
    let (start_ms, end_ms) = match play.shift {
        Some(TimeShift::Window {
            start_ms,
            end_ms: Some(end_ms),
            ..
        }) => (*start_ms, *end_ms),
        Some(TimeShift::Window { .. }) => return Err(missing("end")),
        _ => return Err(missing("start")),
    };
    if end_ms - start_ms > MAX_CLIP_SECONDS * 1000 {
        return Ok(too_large(format!(
            "the window lasts {} s",
            (end_ms - start_ms) / 1000
        )));
    }
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
    };
    // The window's segment numbers, chosen on the reference rendition as for a `vodend`
    // playlist (404 naming the retained range when it holds nothing).
    play.window = window_reference(cx, &play).await?;
    let now = i64::try_from(play.now_ms).unwrap_or(i64::MAX);

    let (video_rendition, audio_rendition) = av_renditions(cx, &play, query).await?;

    // The segments: as the `vodend` playlist of the video rendition lists them.
    let video_data = rendition_data(cx, &play, &video_rendition).await?;
    let (groups, _) = video_data.groups(play.endpoint);
    let outputs: Vec<_> = groups.iter().map(Group::output).collect();
    let selection = match &play.window {
        Some(seqs) => select_like(&outputs, seqs, &shift, now)?,
        None => select(&outputs, &shift, now, |s| s)?,
    };
    let video = members(&groups, selection.segments);
    let audio_data = match &audio_rendition {
        Some(r) => Some(rendition_data(cx, &play, r).await?),
        None => None,
    };
    let audio_all = audio_data
        .as_ref()
        .map(|d| output_segments(&d.log, d.refs()))
        .unwrap_or_default();
    let audio: BTreeMap<u64, &OutputSegment<'_>> = audio_all.iter().map(|s| (s.seq, s)).collect();

    let estimate: u64 = video
        .iter()
        .map(|v| v.segment.size + audio.get(&v.seq).map_or(0, |a| a.segment.size))
        .sum();
    if estimate > MAX_CLIP_BYTES {
        return Ok(too_large(format!(
            "the window holds {} MiB of media",
            estimate.div_ceil(1 << 20)
        )));
    }

    let mut writer = match format {
        ClipFormat::Mp4 => Writer::Mp4(ClipWriter::new(usize::try_from(estimate).unwrap_or(0))),
        ClipFormat::Flv => Writer::Flv(FlvMuxer::new(FlvOptions::default()), Vec::new()),
    };
    for (i, v) in video.iter().enumerate() {
        let next = video.get(i + 1);
        let next_video_start = next
            .filter(|n| n.seq == v.seq + 1 && !n.discontinuity)
            .and_then(|n| n.segment.media_start);
        let video_bytes = segment_bytes(cx, v).await?;
        let a = audio.get(&v.seq);
        let audio_bytes = match a {
            Some(a) => Some(segment_bytes(cx, a).await?),
            None => None,
        };
        if let Writer::Flv(muxer, out) = &mut writer {
            // FLV: video and audio of one output number, a discontinuity where the timeline
            // breaks (the muxer then keeps timestamps going forward).
            let video_init = init_bytes(cx, &[v.segment]).await?;
            let audio_init = match a {
                Some(a) => init_bytes(cx, &[a.segment]).await?,
                None => Vec::new(),
            };
            let v_source = flv_source(&video_bytes, v, video_init.first());
            let a_source = audio_bytes
                .as_deref()
                .zip(a)
                .map(|(bytes, a)| flv_source(bytes, a, audio_init.first()));
            let previous = i.checked_sub(1).and_then(|p| video.get(p));
            let options = FlvSegmentOptions {
                start_at_keyframe: false,
                discontinuity: previous.is_some_and(|p| p.seq + 1 != v.seq || v.discontinuity),
            };
            av_segment_to_flv(muxer, out, &v_source, a_source.as_ref(), &options).map_err(|e| {
                MediaError::new(MediaCause::Remux(e))
                    .rendition(&video_rendition)
                    .sequence(v.seq)
                    .key(&v.segment.key)
            })?;
            if u64::try_from(out.len()).unwrap_or(u64::MAX) > MAX_CLIP_BYTES {
                return Ok(too_large("the clip's media passes the limit".into()));
            }
            continue;
        }
        let Writer::Mp4(writer) = &mut writer else {
            continue;
        };
        let pushed = if v.segment.init_key.is_some() {
            // fMP4 input: each segment with its init segment.
            let video_init = init_bytes(cx, &[v.segment]).await?;
            let audio_init = match a {
                Some(a) => init_bytes(cx, &[a.segment]).await?,
                None => Vec::new(),
            };
            let video_part = Fmp4Part {
                init: video_init.first().map(Vec::as_slice).unwrap_or_default(),
                segment: &video_bytes,
            };
            let audio_part = audio_bytes
                .as_deref()
                .zip(audio_init.first())
                .map(|(segment, init)| Fmp4Part { init, segment });
            writer.push_fmp4(&video_part, audio_part.as_ref(), next.is_none())
        } else {
            writer.push(&ClipPart {
                video: &video_bytes,
                audio: audio_bytes.as_deref(),
                video_reference: v.segment.media_start,
                audio_reference: a.and_then(|a| a.segment.media_start),
                next_video_start,
                last: next.is_none(),
            })
        };
        pushed.map_err(|e| {
            MediaError::new(MediaCause::Remux(e))
                .rendition(&video_rendition)
                .sequence(v.seq)
                .key(&v.segment.key)
        })?;
        if writer.media_len() > MAX_CLIP_BYTES {
            return Ok(too_large("the clip's media passes the limit".into()));
        }
    }
    let (body, content_type, extension) = match writer {
        Writer::Mp4(writer) => (
            writer
                .finish()
                .map_err(|e| MediaError::new(MediaCause::Mux(e)))?,
            "video/mp4",
            "mp4",
        ),
        Writer::Flv(_, out) => (out, FLV_CONTENT_TYPE, "flv"),
    };

    // Content cannot change once the window ended longer ago than a segment may take to
    // arrive (the channel's max segment duration).
    let settled = end_ms.saturating_add(
        i64::try_from(play.channel.max_segment_duration * 1000).unwrap_or(i64::MAX),
    ) <= now;
    let cache = if settled {
        CacheControl::Segment
    } else {
        CacheControl::Media {
            target_duration: video_data.target_duration(),
        }
    };
    let filename = format!(
        "{}-{}.{extension}",
        play.channel.name.as_str(),
        compact_time(start_ms)
    );
    let len = u64::try_from(body.len()).unwrap_or(u64::MAX);
    let full = Response::new(200)
        .with_body(content_type, body)
        .with_header("cache-control", cache.value())
        .with_header(
            "content-disposition",
            format!("attachment; filename=\"{filename}\""),
        );
    // The clip is built whole (within MAX_CLIP_BYTES) and then sliced; HEAD builds it too.
    Ok(range::serve(req, full, len))
}

/// The renditions a single-stream output (a clip, an FLV stream) carries: video from the
/// highest-bandwidth rendition the endpoint's bitrate filters allow (or the `rendition` query
/// parameter), audio from that rendition when it muxes audio, else from the endpoint's first
/// audio rendition.
pub(super) async fn av_renditions<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    play: &Play<'_>,
    query: &str,
) -> OriginResult<(Rendition, Option<Rendition>)> {
    let channel_data = channel_data(cx, play.channel).await?;
    let tracks = channel_data.tracks();
    let (video_reps, audio_reps) =
        representations(&tracks, channel_data.master.as_ref(), play.endpoint);
    let video_rendition = match rendition_param(query) {
        Some(name) => find_rendition(&video_reps, &name).ok_or_else(|| {
            let names: Vec<&str> = video_reps.iter().map(|r| r.rendition.as_str()).collect();
            OriginError::NotFound(format!(
                "video rendition `{name}` (this endpoint offers: {})",
                names.join(", ")
            ))
        })?,
        None => video_reps
            .iter()
            .rev()
            .max_by_key(|r| r.bandwidth)
            .map(|r| r.rendition.clone())
            .ok_or_else(|| {
                OriginError::NotFound(
                    "no video rendition within the endpoint's bitrate range".into(),
                )
            })?,
    };
    let muxed_audio = tracks
        .get(&video_rendition)
        .is_some_and(|t| t.iter().any(|i| i.kind == TrackKind::Audio));
    let audio_rendition = (!muxed_audio)
        .then(|| audio_reps.first().map(|a| a.rendition.to_owned()))
        .flatten();

    Ok((video_rendition, audio_rendition))
}

/// The stored bytes of one input segment.
pub(super) async fn segment_bytes<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    s: &OutputSegment<'_>,
) -> OriginResult<Vec<u8>> {
    Ok(cx
        .objects
        .get(&s.segment.key)
        .await?
        .ok_or_else(|| OriginError::NotFound(format!("segment {} (expired)", s.seq)))?
        .body)
}
