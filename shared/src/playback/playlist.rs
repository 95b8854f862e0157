//! Rendition playlists of every HLS endpoint (RFC 8216bis 4.4.3): the TS rendition's
//! `media.m3u8`, and the one-track playlists (`video.m3u8`, `audio.m3u8`) of HLS-CMAF and of
//! HLS with separated audio.

use super::blocking::wait_for_segment;
use super::cmaf::{init_name, period_init_name};
use super::route::{storage_dir, storage_dir_at};
use super::ts::PLAYLIST_TYPE;
use super::{media_window, rendition_data, CacheControl, Play, RenditionData};
use crate::context::Ctx;
use crate::error::{OriginError, OriginResult};
use crate::hls::render_media;
use crate::media::mp4::TrackKind;
use crate::model::OutputProtocol;
use crate::names::Rendition;
use crate::output::group::{target_duration, Group};
use crate::store::{KvStore, ObjectStore};

/// A rendered rendition playlist.
pub(super) struct Rendered {
    pub text: String,
    pub target_duration: u64,
    /// Media sequence number of its last segment, as a player counts it
    /// (`EXT-X-MEDIA-SEQUENCE` plus the entries listed, gaps included, minus one).
    pub last_msn: u64,
    /// Key periods of the listed segments (encrypted endpoints; else empty).
    pub periods: Vec<u64>,
    /// Program date time of the first listed segment.
    pub first_pdt_ms: Option<i64>,
}

/// The playlist of `rendition`: all of its streams (`kind` `None`, TS segments as the encoder
/// made them), or one track kind (fMP4 on HLS-CMAF, filtered TS with separated audio). With
/// `wait_for` (a live playlist's `_HLS_msn`), not before it lists that segment; `prefetched`:
/// the rendition's data when the time-shift window already read it.
pub(super) async fn rendition_playlist<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    play: &Play<'_>,
    rendition: &Rendition,
    kind: Option<TrackKind>,
    wait_for: Option<u64>,
    prefetched: super::Prefetched,
) -> OriginResult<(String, CacheControl, &'static str)> {
    let (rendered, cache) = match wait_for {
        Some(msn) => {
            let rendered = wait_for_segment(cx, play, rendition, kind, msn).await?;
            let cache = CacheControl::Blocking {
                target_duration: rendered.target_duration,
            };
            (rendered, cache)
        }
        None => {
            let data = match prefetched {
                Some(data) => data?,
                None => rendition_data(cx, play, rendition).await?,
            };
            let rendered = render(play, &data, rendition, kind)?;
            let cache = CacheControl::Media {
                target_duration: rendered.target_duration,
            };
            (rendered, cache)
        }
    };
    if !rendered.periods.is_empty() {
        super::aes128::ensure_keys(cx, play, &rendered.periods).await?;
    }
    // Sample encryption (HLS-CMAF): the DRM systems' EXT-X-KEY lines, before the first map;
    // with rotation, in place of each key period's mark.
    let text = match (super::sample_enc::method(play), kind) {
        (Some((enc, scheme)), Some(kind)) if play.endpoint.protocol == OutputProtocol::HlsCmaf => {
            let lines_of = |period| async move {
                let keys = super::sample_enc::keys(cx, play, period).await?;
                super::sample_enc::key_lines(
                    enc,
                    scheme,
                    &keys,
                    kind,
                    super::sample_enc::KeyLines::Media(rendition),
                )
            };
            if super::sample_enc::rotating(enc) {
                let mut text = rendered.text;
                for period in &rendered.periods {
                    let mark = format!("{}\n", super::sample_enc::period_mark(*period));
                    text = text.replace(&mark, &lines_of(*period).await?);
                }
                text
            } else {
                let lines = lines_of(0).await?;
                super::sample_enc::insert_key_lines(&rendered.text, &lines)
            }
        }
        _ => rendered.text,
    };
    Ok((text, cache, PLAYLIST_TYPE))
}

/// Writes the playlist of `rendition` from its data.
pub(super) fn render(
    play: &Play<'_>,
    data: &RenditionData,
    rendition: &Rendition,
    kind: Option<TrackKind>,
) -> OriginResult<Rendered> {
    let endpoint = play.endpoint;
    let (mut groups, k) = data.groups(endpoint);
    if let Some(kind) = kind {
        groups.retain(|g| g.segment.track(kind).is_some());
    }
    if groups.is_empty() {
        return Err(OriginError::NotFound(match kind {
            Some(kind) => format!("{} track of {rendition}", kind.name()),
            None => format!("rendition {rendition}"),
        }));
    }
    let target = target_duration(&groups, data.target_duration(), k);
    let outputs: Vec<_> = groups.iter().map(Group::output).collect();
    // TS segments (whole or one kind of stream) or fMP4 ones with their init segments.
    let ts = endpoint.protocol == OutputProtocol::Hls;
    let version = if ts { 3 } else { 7 };
    let window = media_window(play, data, rendition, &groups, &outputs, target, version)?;
    let extension = if ts { "ts" } else { "m4s" };
    // Segment files below the storage-id directory: one round trip less to serve them.
    // A time-shifted playlist's segments also name their archive bucket: read beside the
    // settings, so a segment of the window costs no more round trips than a live one.
    let dir = storage_dir(&play.channel.id);
    let segment_dir = |s: &crate::failover::OutputSegment<'_>| match play.shift {
        Some(_) => storage_dir_at(&play.channel.id, s.segment.pdt_ms),
        None => dir.clone(),
    };
    let text = render_media(
        &window,
        endpoint.program_date_time_interval,
        |s| match kind {
            Some(kind) => format!("{}{}_{}.{extension}", segment_dir(s), kind.name(), s.seq),
            None => format!("{}{}.ts", segment_dir(s), s.seq),
        },
        |s| {
            let kind = kind.filter(|_| !ts)?;
            let track = s.segment.track(kind)?;
            // Rotating sample encryption keys: an init per key period (`sample_enc::Part`).
            let name = match super::sample_enc::method(play) {
                Some((enc, _)) if super::sample_enc::rotating(enc) => {
                    let period = super::sample_enc::period_of(enc, s.segment);
                    period_init_name(kind, &track.init, period)
                }
                _ => init_name(kind, &track.init),
            };
            Some(format!("{dir}{name}"))
        },
    );
    let (text, periods) = match (
        super::aes128::served(play)?,
        super::sample_enc::method(play),
    ) {
        (Some(enc), _) => super::aes128::add_key_lines(&text, enc, window.segments, |p| {
            super::aes128::key_line(enc, rendition, p)
        }),
        // Rotating sample encryption: a mark where each key period starts, replaced by the
        // period's key lines once its keys are read (`rendition_playlist`).
        (None, Some((enc, _))) if super::sample_enc::rotating(enc) && !ts => {
            super::aes128::add_key_lines(&text, enc, window.segments, |p| {
                super::sample_enc::period_mark(p)
            })
        }
        _ => (text, Vec::new()),
    };
    Ok(Rendered {
        text,
        target_duration: target,
        last_msn: crate::hls::last_media_sequence(window.segments),
        periods,
        first_pdt_ms: window.segments.first().map(|s| s.segment.pdt_ms),
    })
}
