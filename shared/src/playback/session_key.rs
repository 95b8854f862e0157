//! `EXT-X-SESSION-KEY` in the master playlist of encrypted HLS endpoints (RFC 8216bis
//! 4.4.6.5, docs/encryption.md): the key lines of the first key period the master's window
//! needs, as the media playlists carry them, so a player can set up its keys (or its DRM
//! session) before it loads a media playlist.

use super::playlist::render;
use super::sample_enc::{self, KeyLines};
use super::{rendition_data, Play, RenditionData};
use crate::content_keys::period_keys;
use crate::context::Ctx;
use crate::error::{OriginError, OriginResult};
use crate::media::mp4::TrackKind;
use crate::model::{Encryption, EncryptionMethod};
use crate::names::Rendition;
use crate::store::{KvStore, ObjectStore};
use crate::timeshift::TimeShift;
use futures_util::future::join_all;
use std::collections::BTreeMap;

/// `master` with the endpoint's session keys before its first rendition or variant tag;
/// `master` itself for a clear endpoint. `reference`: a rendition the master lists, whose
/// playlist window says where the window begins (read only when keys rotate); `kinds`: the
/// track kinds of one-track playlists (each sample-encrypted kind has its own key), empty
/// for TS playlists of every stream.
pub(super) async fn add_session_keys<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    play: &Play<'_>,
    master: String,
    reference: Option<&Rendition>,
    kinds: &[TrackKind],
) -> OriginResult<String> {
    let Some(enc) = &play.endpoint.encryption else {
        return Ok(master);
    };
    let period = match reference {
        Some(rendition) if enc.key_rotation_interval > 0 => {
            if play.defer_session_keys {
                let kinds: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
                let line = format!("{DEFERRED}{}{KINDS_END}{rendition}\n", kinds.join(","));
                return Ok(insert_before_variants(&master, &line));
            }
            let kind = kinds.first().copied();
            first_period(cx, play, enc, rendition, kind, None).await?
        }
        _ => 0,
    };
    let lines = session_lines(cx, play, enc, period, kinds).await?;
    Ok(insert_before_variants(&master, &lines))
}

/// The line a master rendered with its session keys deferred holds in their place:
/// `{DEFERRED}{kinds, comma-separated}{KINDS_END}{reference rendition}`. Never answered:
/// [`settle`] replaces it.
const DEFERRED: &str = "#EDGEPACK-DEFERRED-SESSION-KEYS:";

/// Ends the kinds of a [`DEFERRED`] line (no kind name or rendition id holds it).
const KINDS_END: char = ' ';

/// `master` (rendered with `defer_session_keys`) with its session keys written, now that
/// `play.window` is known: the first key period of the reference rendition's playlist, from
/// `data` (the renditions' data read beside the master) or, when it is not there, read now.
pub(super) async fn settle<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    play: &Play<'_>,
    master: String,
    data: &BTreeMap<Rendition, RenditionData>,
) -> OriginResult<String> {
    let Some(enc) = &play.endpoint.encryption else {
        return Ok(master);
    };
    let Some(start) = master.find(DEFERRED) else {
        return Ok(master);
    };
    let end = master[start..]
        .find('\n')
        .map_or(master.len(), |i| start + i + 1);
    let line = master[start + DEFERRED.len()..end].trim_end();
    let (kinds, rendition) = line
        .split_once(KINDS_END)
        .ok_or_else(|| OriginError::NotFound("a master's session key line".into()))?;
    let kinds: Vec<TrackKind> = kinds.split(',').filter_map(TrackKind::parse).collect();
    let rendition = Rendition::parse(rendition)
        .ok_or_else(|| OriginError::NotFound(format!("rendition {rendition}")))?;
    let kind = kinds.first().copied();
    let period = first_period(cx, play, enc, &rendition, kind, data.get(&rendition)).await?;
    let lines = session_lines(cx, play, enc, period, &kinds).await?;
    Ok(format!("{}{lines}{}", &master[..start], &master[end..]))
}

/// Reads ahead, beside a time-shifted master and its window, the stored keys of the key
/// periods its first segment can fall in when the window has a `start` (that of `start` and
/// that of one longest segment before it), into the isolate's key cache: [`settle`] then
/// finds them without a round trip of its own. Nothing for other windows, for `AES_128`
/// (whose session key names only the key file) or without rotation; never a provider call.
pub(super) async fn preload<K: KvStore, O: ObjectStore>(cx: &Ctx<'_, K, O>, play: &Play<'_>) {
    let Some(enc) = &play.endpoint.encryption else {
        return;
    };
    let Some(TimeShift::Window { start_ms, .. }) = play.shift else {
        return;
    };
    if enc.key_rotation_interval == 0 || sample_enc::method(play).is_none() {
        return;
    }
    let longest_ms = i64::try_from(play.channel.max_segment_duration * 1000).unwrap_or(i64::MAX);
    let first = enc.period_of_ms(start_ms.saturating_sub(longest_ms));
    let last = enc.period_of_ms(*start_ms);
    let reads = (first..=last)
        .rev()
        .take(MAX_PRELOADED_PERIODS)
        .map(|p| crate::content_keys::preload(cx, &play.channel.id, play.endpoint, p));
    join_all(reads).await;
}

/// Most key periods [`preload`] reads: a channel's `max_segment_duration` is at most 60 s
/// and a key period at least 10 s, so one segment before `start` reaches over at most 7.
const MAX_PRELOADED_PERIODS: usize = 7;

/// The session key lines of key period `period`: the `AES_128` key's, or each kind's key of
/// the sample methods.
async fn session_lines<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    play: &Play<'_>,
    enc: &Encryption,
    period: u64,
    kinds: &[TrackKind],
) -> OriginResult<String> {
    let mut lines = String::new();
    if enc.method == EncryptionMethod::Aes128 {
        lines.push_str(&super::aes128::session_key_line(enc, period));
        lines.push('\n');
    } else if let Some((enc, scheme)) = sample_enc::method(play) {
        let keys = period_keys(cx, &play.channel.id, play.endpoint, period, play.now_ms).await?;
        for kind in kinds {
            let of_kind = sample_enc::key_lines(enc, scheme, &keys, *kind, KeyLines::Session)?;
            // The RFC allows no two session keys with the same attributes (a provider that
            // answers one KID for both track types).
            for line in of_kind.lines() {
                if !lines.lines().any(|l| l == line) {
                    lines.push_str(line);
                    lines.push('\n');
                }
            }
        }
    }
    Ok(lines)
}

/// The key period of the first segment `rendition`'s playlist lists (for this request: live
/// or time-shifted), the period a player starting from this master needs first. A master is
/// not refused for a hint: when that playlist cannot be rendered (nothing in the window yet),
/// the period of the request's time.
async fn first_period<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    play: &Play<'_>,
    enc: &Encryption,
    rendition: &Rendition,
    kind: Option<TrackKind>,
    known: Option<&RenditionData>,
) -> OriginResult<u64> {
    let read;
    let data = match known {
        Some(data) => data,
        None => {
            read = rendition_data(cx, play, rendition).await?;
            &read
        }
    };
    let first_ms = render(play, data, rendition, kind)
        .ok()
        .and_then(|r| r.first_pdt_ms)
        .unwrap_or_else(|| i64::try_from(play.now_ms).unwrap_or(i64::MAX));
    Ok(enc.period_of_ms(first_ms))
}

/// `lines` inserted before the first `EXT-X-MEDIA` or `EXT-X-STREAM-INF` of `master`.
fn insert_before_variants(master: &str, lines: &str) -> String {
    let mut out = String::with_capacity(master.len() + lines.len());
    let mut done = lines.is_empty();
    for line in master.lines() {
        if !done && (line.starts_with("#EXT-X-MEDIA:") || line.starts_with("#EXT-X-STREAM-INF:")) {
            out.push_str(lines);
            done = true;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_keys_go_before_the_first_variant() {
        let master = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",NAME=\"x\",URI=\"a.m3u8\"\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv.m3u8\n";
        assert_eq!(
            insert_before_variants(master, "#EXT-X-SESSION-KEY:METHOD=AES-128,URI=\"k\"\n"),
            "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-SESSION-KEY:METHOD=AES-128,URI=\"k\"\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",NAME=\"x\",URI=\"a.m3u8\"\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv.m3u8\n"
        );
        assert_eq!(insert_before_variants(master, ""), master);
    }
}
