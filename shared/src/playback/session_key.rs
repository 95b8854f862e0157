//! `EXT-X-SESSION-KEY` in the master playlist of encrypted HLS endpoints (RFC 8216bis
//! 4.4.6.5, docs/encryption.md): the key lines of the first key period the master's window
//! needs, as the media playlists carry them, so a player can set up its keys (or its DRM
//! session) before it loads a media playlist.

use super::playlist::render;
use super::sample_enc::{self, KeyLines};
use super::{rendition_data, Play};
use crate::content_keys::period_keys;
use crate::context::Ctx;
use crate::error::OriginResult;
use crate::media::mp4::TrackKind;
use crate::model::{Encryption, EncryptionMethod};
use crate::names::Rendition;
use crate::store::{KvStore, ObjectStore};

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
            first_period(cx, play, enc, rendition, kinds.first().copied()).await?
        }
        _ => 0,
    };
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
    Ok(insert_before_variants(&master, &lines))
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
) -> OriginResult<u64> {
    let data = rendition_data(cx, play, rendition).await?;
    let first_ms = render(play, &data, rendition, kind)
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
