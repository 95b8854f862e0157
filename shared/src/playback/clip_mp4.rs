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
use crate::http::query_param;
use crate::http::range;
use crate::http::{Request, Response};
use crate::media::flv::{FlvMuxer, FlvOptions};
use crate::media::mp4::TrackKind;
use crate::media::remux::clip::ClipWriter;
use crate::names::Rendition;
use crate::output::representations::{representations, Rep};
use crate::playback::cmaf::channel_data;
use crate::playback::flv_live::FLV_CONTENT_TYPE;
use crate::playback::recording::{window_parts, write_part, FileWriter};
use crate::playback::ClipFormat;
use crate::store::{KvStore, ObjectStore};
use crate::timeshift::TimeShift;

/// The file names of the clip below an endpoint.
pub const CLIP_FILE: &str = "clip.mp4";
pub const CLIP_FLV_FILE: &str = "clip.flv";

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
    let now = i64::try_from(play.now_ms).unwrap_or(i64::MAX);
    let window = window_parts(cx, play, query, (start_ms, end_ms)).await?;
    let estimate: u64 = window
        .parts
        .iter()
        .map(|p| p.video.size + p.audio.as_ref().map_or(0, |a| a.size))
        .sum();
    if estimate > MAX_CLIP_BYTES {
        return Ok(too_large(format!(
            "the window holds {} MiB of media",
            estimate.div_ceil(1 << 20)
        )));
    }

    let mut writer = match format {
        ClipFormat::Mp4 => FileWriter::Mp4(ClipWriter::new(usize::try_from(estimate).unwrap_or(0))),
        ClipFormat::Flv => FileWriter::Flv(FlvMuxer::new(FlvOptions::default())),
    };
    let mut flv = Vec::new();
    let count = window.parts.len();
    for (i, part) in window.parts.iter().enumerate() {
        write_part(
            cx,
            &mut writer,
            &mut flv,
            part,
            i + 1 == count,
            &window.video_rendition,
        )
        .await?;
        let written = match &writer {
            FileWriter::Mp4(w) => w.media_len(),
            FileWriter::Flv(_) => u64::try_from(flv.len()).unwrap_or(u64::MAX),
        };
        if written > MAX_CLIP_BYTES {
            return Ok(too_large("the clip's media passes the limit".into()));
        }
    }
    let (body, content_type, extension) = match writer {
        FileWriter::Mp4(writer) => (
            writer
                .finish()
                .map_err(|e| MediaError::new(MediaCause::Mux(e)))?,
            "video/mp4",
            "mp4",
        ),
        FileWriter::Flv(_) => (flv, FLV_CONTENT_TYPE, "flv"),
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
            target_duration: window.target_duration,
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
