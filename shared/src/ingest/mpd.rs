//! An encoder's MPD (DASH input): read for what the segments cannot say (representation ids,
//! declared bandwidth, language, labels, roles) and kept as the input's master description.
//! Timing never comes from it: encoders write values an origin must not pass on (ffmpeg's
//! `minimumUpdatePeriod="PT500S"`).

use crate::context::Ctx;
use crate::dash::source::{parse_source_mpd, ContentKind, SourceMpd, MAX_SOURCE_MPD_BYTES};
use crate::error::{OriginError, OriginResult};
use crate::hls::master::{AudioMedia, MasterInfo, Variant};
use crate::http::Response;
use crate::keys;
use crate::model::{Channel, InputId};
use crate::names::Rendition;
use crate::paths;
use crate::repo;
use crate::store::{KvStore, ObjectStore};

/// The HLS group id the audio representations of an MPD form.
const AUDIO_GROUP: &str = "audio";

pub(super) async fn ingest_mpd<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    channel: &Channel,
    input: InputId,
    file: &str,
    body: &[u8],
) -> OriginResult<Response> {
    if body.len() > MAX_SOURCE_MPD_BYTES {
        return Err(OriginError::PayloadTooLarge {
            limit: MAX_SOURCE_MPD_BYTES,
        });
    }
    let mpd = parse_source_mpd(body)
        .map_err(|e| OriginError::BadRequest(format!("manifest `{file}`: {e}")))?;
    // Every audio and video representation must be one the uploads can be attributed to.
    if let Some(r) = mpd.representations.iter().find(|r| {
        r.kind != ContentKind::Other && rendition_of(file, r.initialization.as_deref()).is_none()
    }) {
        return Err(OriginError::BadRequest(format!(
            "manifest `{file}`: representation `{}` has segment names the origin cannot \
             attribute to a track (initialization `{}`); use ffmpeg's default names or one \
             directory per representation (`$RepresentationID$/init.m4s`)",
            r.id,
            r.initialization.as_deref().unwrap_or("none")
        )));
    }
    let info = master_from_mpd(file, &mpd);
    if info.variants.is_empty() && info.audio.is_empty() {
        return Err(OriginError::BadRequest(format!(
            "manifest `{file}` has no video or audio representation"
        )));
    }
    repo::object_put(cx.objects, &keys::master(&channel.id, input), &info).await?;
    Ok(Response::new(201))
}

/// The rendition a representation's segments are ingested as: its init segment's path
/// resolved against the MPD, through the same rule the uploads go by.
fn rendition_of(mpd_path: &str, initialization: Option<&str>) -> Option<Rendition> {
    let init = paths::resolve_reference(paths::dir_of(mpd_path), initialization?).ok()?;
    paths::track_rendition(&init)
}

/// The MPD as a master description: video representations as variants that name one audio
/// group, audio representations as its members. Representations whose segments the ingest
/// cannot attribute (template names it does not know) are left out.
pub(super) fn master_from_mpd(mpd_path: &str, mpd: &SourceMpd) -> MasterInfo {
    let reps = || {
        mpd.representations.iter().filter_map(|r| {
            let rendition = rendition_of(mpd_path, r.initialization.as_deref())?;
            Some((r, rendition))
        })
    };
    let audio_reps: Vec<_> = reps()
        .filter(|(r, _)| r.kind == ContentKind::Audio)
        .collect();
    let has_main = audio_reps
        .iter()
        .any(|(r, _)| r.roles.iter().any(|x| x == "main"));
    let audio: Vec<AudioMedia> = audio_reps
        .iter()
        .enumerate()
        .map(|(i, (r, rendition))| AudioMedia {
            rendition: Some(rendition.clone()),
            group_id: AUDIO_GROUP.into(),
            name: r
                .label
                .clone()
                .or_else(|| r.language.clone())
                .unwrap_or_else(|| format!("audio_{i}")),
            language: r.language.clone(),
            default: if has_main {
                r.roles.iter().any(|x| x == "main")
            } else {
                i == 0
            },
            autoselect: true,
            channels: r.audio_channels.clone(),
        })
        .collect();
    let audio_peak = audio_reps.iter().map(|(r, _)| r.bandwidth).max();
    let audio_codec = audio_reps.first().and_then(|(r, _)| r.codecs.clone());
    let variants = reps()
        .filter(|(r, _)| r.kind == ContentKind::Video)
        .map(|(r, rendition)| Variant {
            rendition,
            bandwidth: r.bandwidth + audio_peak.unwrap_or(0),
            average_bandwidth: None,
            codecs: match (&r.codecs, &audio_codec) {
                (Some(v), Some(a)) => Some(format!("{v},{a}")),
                (v, _) => v.clone(),
            },
            resolution: r.width.zip(r.height).map(|(w, h)| (w.into(), h.into())),
            frame_rate: r.frame_rate,
            audio: (!audio.is_empty()).then(|| AUDIO_GROUP.into()),
        })
        .collect();
    MasterInfo {
        // Live-profile DASH segments start with a stream access point.
        independent_segments: true,
        variants,
        audio,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ffmpeg_mpd_becomes_two_variants_and_an_audio_group() {
        let mpd = parse_source_mpd(include_bytes!(
            "../../tests/fixtures/dash/ffmpeg_ldash_live.mpd"
        ))
        .expect("ffmpeg's MPD parses");
        let info = master_from_mpd("live/manifest.mpd", &mpd);
        let names: Vec<&str> = info.variants.iter().map(|v| v.rendition.as_str()).collect();
        assert_eq!(names, ["live/stream0", "live/stream1"]);
        let v = &info.variants[0];
        assert_eq!(v.bandwidth, 800_000 + 64_000);
        assert_eq!(v.codecs.as_deref(), Some("avc1.64001e,mp4a.40.2"));
        assert_eq!(v.resolution, Some((640, 360)));
        assert_eq!(v.frame_rate, Some(25.0));
        assert_eq!(v.audio.as_deref(), Some(AUDIO_GROUP));
        assert_eq!(info.audio.len(), 1);
        let a = &info.audio[0];
        assert_eq!(
            a.rendition.as_ref().map(Rendition::as_str),
            Some("live/stream2")
        );
        assert!(a.default);
        assert_eq!(a.channels.as_deref(), Some("1"));
    }
}
