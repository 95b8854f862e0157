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
//! beyond, pointing at harvest jobs). The body is never held whole: a first pass remuxes the
//! window to learn every part's output length and the MP4 header (keeping input segments up
//! to [`CLIP_CACHE_BYTES`]); the answer, whole or a byte range, then streams part by part
//! ([`ClipBody`]). A HEAD runs the first pass only.

use super::{CacheControl, Play};
use crate::context::Ctx;
use crate::datetime::iso8601_ms;
use crate::error::{MediaCause, MediaError, OriginError, OriginResult};
use crate::http::query_param;
use crate::http::range;
use crate::http::range::RangeRequest;
use crate::http::Method;
use crate::http::{Request, Response};
use crate::media::flv::{FlvMuxer, FlvOptions};
use crate::media::mp4::TrackKind;
use crate::media::remux::clip::ClipWriter;
use crate::names::Rendition;
use crate::output::representations::{representations, Rep};
use crate::playback::clip_body::{ClipBody, CLIP_CACHE_BYTES};
use crate::playback::cmaf::channel_data;
use crate::playback::flv_live::FLV_CONTENT_TYPE;
use crate::playback::recording::{push_part, read_part, window_parts, FileWriter};
use crate::playback::ClipFormat;
use crate::store::{KvStore, ObjectStore};
use crate::timeshift::TimeShift;
use futures_util::{stream, StreamExt};

/// The file names of the clip below an endpoint.
pub const CLIP_FILE: &str = "clip.mp4";
pub const CLIP_FLV_FILE: &str = "clip.flv";

/// Longest window one clip may cover: 10 minutes (300 segments of 2 s, two renditions: ~600
/// object reads, within a Worker's 1,000 subrequests).
pub const MAX_CLIP_SECONDS: i64 = 600;
/// Largest clip: 4 GiB, a sanity bound (memory does not grow with the clip: the body
/// streams), checked while the first pass runs.
pub const MAX_CLIP_BYTES: u64 = 4 << 30;

/// Parts whose reads the first pass keeps in flight while it remuxes in order: a Worker
/// keeps six storage calls in flight per invocation (and queues the rest), and the bytes
/// waiting are at most this many parts.
const CLIP_READS_IN_FLIGHT: usize = 6;

/// The 413 answer for a window too long or too large; harvest jobs make longer VOD assets.
fn too_large(what: String) -> Response {
    let body = serde_json::json!({
        "error": format!(
            "{what}; clips are limited to {MAX_CLIP_SECONDS} s and {} GiB: use a harvest job \
             (POST .../channels/{{channel}}/harvest-jobs) for longer windows",
            MAX_CLIP_BYTES >> 30
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

/// A clip answer: the head, and for a GET the body's first piece, the rest to stream.
pub(super) async fn clip<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    play: &Play<'_>,
    req: &Request,
    format: ClipFormat,
) -> OriginResult<(Response, Option<ClipBody>)> {
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
        return Ok((
            too_large(format!("the window lasts {} s", (end_ms - start_ms) / 1000)),
            None,
        ));
    }
    let now = i64::try_from(play.now_ms).unwrap_or(i64::MAX);
    let window = window_parts(cx, play, query, (start_ms, end_ms)).await?;
    let rendition = window.video_rendition.clone();
    let new_writer = || match format {
        ClipFormat::Mp4 => FileWriter::Mp4(ClipWriter::new(0)),
        ClipFormat::Flv => FileWriter::Flv(FlvMuxer::new(FlvOptions::default())),
    };

    // First pass: every part's output length (and the MP4 header); inputs kept up to
    // CLIP_CACHE_BYTES (the first part always: the second pass starts from it).
    let mut writer = new_writer();
    let mut flv = Vec::new();
    let count = window.parts.len();
    let mut lengths = Vec::with_capacity(count);
    let mut cache = Vec::with_capacity(count);
    let mut flv_states = Vec::new();
    let (mut cached, mut media) = (0u64, 0u64);
    // Parts are read [`CLIP_READS_IN_FLIGHT`] at a time, remuxed in order.
    let mut reads = stream::iter(window.parts.iter().map(|part| read_part(cx, part)))
        .buffered(CLIP_READS_IN_FLIGHT);
    for (i, part) in window.parts.iter().enumerate() {
        let Some(bytes) = reads.next().await else {
            break;
        };
        let bytes = bytes?;
        if let FileWriter::Flv(muxer) = &writer {
            flv_states.push(muxer.clone());
        }
        push_part(
            &mut writer,
            &mut flv,
            part,
            &bytes,
            i + 1 == count,
            &rendition,
        )?;
        let len = writer.drain(&mut flv).len() as u64;
        lengths.push(len);
        media += len;
        if media > MAX_CLIP_BYTES {
            return Ok((too_large("the clip's media passes the limit".into()), None));
        }
        if i == 0 || cached + bytes.size() <= CLIP_CACHE_BYTES {
            cached += bytes.size();
            cache.push(Some(bytes));
        } else {
            cache.push(None);
        }
    }
    drop(reads);
    let (header, content_type, extension) = match &writer {
        FileWriter::Mp4(w) => (
            w.header()
                .map_err(|e| MediaError::new(MediaCause::Mux(e)))?,
            "video/mp4",
            "mp4",
        ),
        FileWriter::Flv(_) => (Vec::new(), FLV_CONTENT_TYPE, "flv"),
    };

    // Content cannot change once the window ended longer ago than a segment may take to
    // arrive (the channel's max segment duration).
    let settled = end_ms.saturating_add(
        i64::try_from(play.channel.max_segment_duration * 1000).unwrap_or(i64::MAX),
    ) <= now;
    let cache_control = if settled {
        CacheControl::Segment
    } else {
        CacheControl::Media {
            target_duration: window.target_duration,
        }
    };
    let filename = format!(
        "{}-{}.{extension}",
        play.channel.name.as_str(),
        compact_time(start_ms)
    );
    let head_len = header.len() as u64;
    let len = head_len + media;
    let full = Response::new(200)
        .with_body(content_type, Vec::new())
        .with_header("cache-control", cache_control.value())
        .with_header(
            "content-disposition",
            format!("attachment; filename=\"{filename}\""),
        );
    let span = match range::requested(req, len) {
        RangeRequest::Full => 0..len,
        RangeRequest::Partial(r) => r.first..r.last + 1,
        RangeRequest::Unsatisfiable => 0..0,
    };
    let mut as_head = req.clone();
    as_head.method = Method::Head;
    let mut response = range::serve(&as_head, full, len);
    if req.method == Method::Head || span.is_empty() {
        return Ok((response, None));
    }
    response.headers.retain(|(k, _)| k != "content-length");
    // The header's part of the span, then the media from the part holding its first byte.
    let at = |v: u64| usize::try_from(v.min(head_len)).unwrap_or(0);
    response.body = header[at(span.start)..at(span.end)].to_vec();
    let media_start = span.start.saturating_sub(head_len);
    let media_end = span.end.saturating_sub(head_len);
    let mut first = 0;
    let mut offset = 0;
    while first < count && offset + lengths[first] <= media_start {
        offset += lengths[first];
        first += 1;
    }
    let mut writer = match format {
        ClipFormat::Flv => FileWriter::Flv(
            flv_states
                .get(first)
                .cloned()
                .unwrap_or_else(|| FlvMuxer::new(FlvOptions::default())),
        ),
        ClipFormat::Mp4 => new_writer(),
    };
    if let (FileWriter::Mp4(_), true) = (&writer, first > 0) {
        // The second pass starts after the first part (tracks, start, audio delay).
        if let (Some(part), Some(Some(bytes))) = (window.parts.first(), cache.first()) {
            push_part(&mut writer, &mut flv, part, bytes, count == 1, &rendition)?;
            writer.drain(&mut flv);
        }
    }
    let mut body = ClipBody {
        parts: window.parts,
        cache,
        writer,
        rendition,
        next: first,
        skip: media_start - offset,
        remaining: media_end - media_start,
    };
    if response.body.is_empty() {
        response.body = body.next_chunk(cx).await.unwrap_or_default();
    }
    let more = body.remaining > 0;
    Ok((response, more.then_some(body)))
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
    let channel_data = channel_data(cx, play).await?;
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
