//! HLS `METHOD=AES-128` on TS endpoints (docs/encryption.md): each segment encrypted whole
//! with its key period's key, `EXT-X-KEY` wherever the period changes in a media playlist, and
//! the key itself at `key/{period}.key` below the endpoint, behind its access controls.

use super::Play;
use crate::content_keys::{period_keys, PeriodKeys};
use crate::context::Ctx;
use crate::drm::aes128::{encrypt_segment, sequence_iv};
use crate::drm::TrackType;
use crate::error::{OriginError, OriginResult};
use crate::failover::OutputSegment;
use crate::http::Response;
use crate::model::{Encryption, EncryptionMethod};
use crate::names::Rendition;
use crate::store::{KvStore, ObjectStore};
use crate::timeline::Segment;
use std::fmt::Write;

/// The directory of key files below the endpoint.
pub const KEY_DIR: &str = "key";
/// How far from now a key file's period may lie beyond the time-shift retention: clocks of
/// encoders (program date time) and edges differ, but a request for a period a year away is
/// not a player's and must not make the origin call the key provider.
const KEY_PERIOD_SLACK_MS: u64 = 86_400_000;

/// The `AES_128` encryption of an endpoint: the setting for `AES_128`, `None` for a clear
/// endpoint and for the sample methods (`sample_enc` encrypts those on the CMAF routes).
pub(super) fn served<'a>(play: &Play<'a>) -> OriginResult<Option<&'a Encryption>> {
    match &play.endpoint.encryption {
        Some(e) if e.method == EncryptionMethod::Aes128 => Ok(Some(e)),
        _ => Ok(None),
    }
}

/// The key period of an output segment.
pub(super) fn period_of(enc: &Encryption, segment: &Segment) -> u64 {
    enc.period_of_ms(segment.pdt_ms)
}

/// `EXT-X-KEY` of a key period, seen from `rendition`'s playlist.
pub(super) fn key_line(enc: &Encryption, rendition: &Rendition, period: u64) -> String {
    let up = "../".repeat(rendition.split('/').count());
    tag_line("EXT-X-KEY", enc, &up, period)
}

/// `EXT-X-SESSION-KEY` of a key period for the master (RFC 8216bis 4.4.6.5): the attributes
/// of the media playlists' `EXT-X-KEY`, the URI relative to the master. An `IV` only when
/// the media playlists carry one (a constant IV); without it each segment's IV is its
/// sequence number, which a master-level line cannot state.
pub(super) fn session_key_line(enc: &Encryption, period: u64) -> String {
    tag_line("EXT-X-SESSION-KEY", enc, "", period)
}

fn tag_line(tag: &str, enc: &Encryption, up: &str, period: u64) -> String {
    let uri = match &enc.static_key {
        // The operator's key server serves a static key.
        Some(k) => k.key_url.clone(),
        None => format!("{up}{KEY_DIR}/{period}.key"),
    };
    let mut line = format!("#{tag}:METHOD=AES-128,URI=\"{uri}\"");
    if let Some(iv) = enc.fixed_iv() {
        let _ = write!(line, ",IV=0x{}", crate::drm::hex(&iv));
    }
    line
}

/// `playlist` with `key_line(period)` before its first segment and before every segment whose
/// key period differs from the one before; `segments` are the listed ones, in order. Returns
/// the periods listed.
pub(super) fn add_key_lines(
    playlist: &str,
    enc: &Encryption,
    segments: &[OutputSegment<'_>],
    key_line: impl Fn(u64) -> String,
) -> (String, Vec<u64>) {
    let mut out = String::with_capacity(playlist.len() + 128);
    let mut periods: Vec<u64> = Vec::new();
    let mut next = segments.iter();
    // A gap entry (`EXT-X-GAP`, hls::render_media) has an EXTINF but no segment.
    let mut gap = false;
    for line in playlist.lines() {
        if line == "#EXT-X-GAP" {
            gap = true;
        } else if line.starts_with("#EXTINF:") && !std::mem::take(&mut gap) {
            if let Some(s) = next.next() {
                let p = period_of(enc, s.segment);
                if periods.last() != Some(&p) {
                    out.push_str(&key_line(p));
                    out.push('\n');
                    periods.push(p);
                }
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    periods.dedup();
    (out, periods)
}

/// Makes sure every listed period has keys before a playlist is served: a playlist whose keys
/// cannot be had is a 5xx naming why, not a playlist of segments that will fail.
pub(super) async fn ensure_keys<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    play: &Play<'_>,
    periods: &[u64],
) -> OriginResult<()> {
    for p in periods {
        period_keys(cx, &play.channel.id, play.endpoint, *p, play.now_ms).await?;
    }
    Ok(())
}

/// A TS segment encrypted with its period's key; IV: the constant one, else the media
/// sequence number.
pub(super) async fn encrypt<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    play: &Play<'_>,
    enc: &Encryption,
    segment: &Segment,
    seq: u64,
    body: &[u8],
) -> OriginResult<Vec<u8>> {
    let keys = period_keys(
        cx,
        &play.channel.id,
        play.endpoint,
        period_of(enc, segment),
        play.now_ms,
    )
    .await?;
    let key = the_key(&keys)?;
    let iv = enc.fixed_iv().unwrap_or_else(|| sequence_iv(seq));
    Ok(encrypt_segment(&key.key, &iv, body))
}

/// Whether a key file may be asked for `period`: not beyond a day from now, nor older than
/// the time-shift retention plus a day (a request for a period a year away is not a
/// player's and must not make the origin call the key provider).
pub(super) fn period_in_reach(play: &Play<'_>, enc: &Encryption, period: u64) -> bool {
    let now = play.now_ms;
    let retention_ms = play.channel.archive_retention_s.saturating_mul(1000);
    let ms = |t: u64| i64::try_from(t).unwrap_or(i64::MAX);
    let earliest = enc.period_of_ms(ms(now.saturating_sub(retention_ms + KEY_PERIOD_SLACK_MS)));
    let latest = enc.period_of_ms(ms(now.saturating_add(KEY_PERIOD_SLACK_MS)));
    (earliest..=latest).contains(&period)
}

fn the_key(keys: &PeriodKeys) -> OriginResult<&crate::drm::cpix::ProvidedKey> {
    keys.for_track(TrackType::Video).ok_or_else(|| {
        OriginError::KeyProvider(crate::drm::DrmError::MissingKey {
            kid: keys
                .keys
                .keys
                .first()
                .map_or(crate::drm::Kid([0; 16]), |k| k.kid),
        })
    })
}

/// `key/{period}.key`: the 16 bytes, for the requesting client only and never stored by a
/// cache. Periods far from now and from the retained window are refused before the key
/// provider is asked.
pub(super) async fn key_file<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    play: &Play<'_>,
    enc: &Encryption,
    period: u64,
) -> OriginResult<Response> {
    // A static key is served by the operator's key server, never from here.
    if !period_in_reach(play, enc, period) || enc.static_key.is_some() {
        return Err(OriginError::NotFound(format!("key of period {period}")));
    }
    let keys = period_keys(cx, &play.channel.id, play.endpoint, period, play.now_ms).await?;
    let key = the_key(&keys)?;
    Ok(Response::new(200)
        .with_body("application/octet-stream", key.key.to_vec())
        .with_header("cache-control", "private, no-store"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::two_second_segment;

    #[test]
    fn key_lines_skip_gap_entries() {
        // Periods of 4 s: segments 0-1 in period 0, segment 3 in period 1; 2 is a gap.
        let enc = Encryption {
            method: EncryptionMethod::Aes128,
            drm_systems: Vec::new(),
            key_provider_url: "https://keys.example.com".into(),
            content_id: "c".into(),
            constant_iv: String::new(),
            key_rotation_interval: 4,
            static_key: None,
        };
        let segs: Vec<Segment> = [0, 1, 3]
            .iter()
            .map(|n| two_second_segment(*n, 0))
            .collect();
        let out: Vec<OutputSegment<'_>> = segs.iter().map(OutputSegment::primary).collect();
        let playlist = "#EXTM3U\n#EXTINF:2.000,\n0.ts\n#EXTINF:2.000,\n1.ts\n#EXT-X-GAP\n#EXTINF:2.000,\n2.ts\n#EXTINF:2.000,\n3.ts\n";
        let rendition = Rendition::parse("v").unwrap();
        let (text, periods) =
            add_key_lines(playlist, &enc, &out, |p| key_line(&enc, &rendition, p));
        assert_eq!(periods, [0, 1]);
        assert!(
            text.contains(
                "2.ts\n#EXT-X-KEY:METHOD=AES-128,URI=\"../key/1.key\"\n#EXTINF:2.000,\n3.ts"
            ),
            "{text}"
        );
    }
}
