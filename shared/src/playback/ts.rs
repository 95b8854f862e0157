//! HLS with MPEG-TS segments: the encoder's segments served as they are (joined when the
//! endpoint's `segment_duration` asks for longer ones).

use super::Play;
use super::{CacheControl, MEDIA_PLAYLIST};
use crate::context::Ctx;
use crate::error::{MediaCause, MediaError, OriginError, OriginResult};
use crate::hls::master::{AudioMedia, MasterInfo, Variant};
use crate::hls::{render_master, MasterEntry};
use crate::http::Response;
use crate::media::mp4::TrackKind;
use crate::media::remux::{fmp4_parts_to_ts, ts_pids, Fmp4Part, RemuxError};
use crate::media::ts::filter::keep_only;
use crate::media::ts::mux::{ContinuityCounters, TsMuxError, TsMuxOptions};
use crate::media::ts::pat::PAT_PID;
use crate::names::Rendition;
use crate::output::group::Group;
use crate::playback::group_bytes;
use crate::playback::init_bytes;
use crate::playback::master_info;
use crate::playback::masters;
use crate::playback::renditions;
use crate::playback::segment_data;
use crate::playback::RenditionData;
use crate::repo;
use crate::store::{KvStore, ObjectStore};
use crate::timeline::{Segment, Timeline, TIMESCALE};
use futures_util::future::{join, join4};
use std::collections::BTreeMap;

pub(super) const PLAYLIST_TYPE: &str = "application/vnd.apple.mpegurl";

pub(super) async fn ts_master<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    play: &Play<'_>,
) -> OriginResult<(String, CacheControl, &'static str)> {
    let (channel, endpoint) = (play.channel, play.endpoint);
    // The renditions (listed, or indexed with their timelines, which say which have content),
    // the switch log and both masters in one round trip.
    let indexed = async {
        match play.renditions {
            Some(names) => Some(repo::timelines_of(cx.objects, &channel.id, names.to_vec()).await),
            None => None,
        }
    };
    let (listed, indexed, log, stored) = join4(
        renditions(cx, play),
        indexed,
        repo::switch_log(cx.objects, &channel.id),
        masters(cx, channel),
    )
    .await;
    let timelines = indexed.transpose()?.map(|mut t| {
        t.retain(|_, t| t.iter().any(Option::is_some));
        t
    });
    let available = match &timelines {
        Some(t) => t.keys().cloned().collect(),
        None => listed?,
    };
    if available.is_empty() {
        return Err(OriginError::NotFound(
            "no content has been ingested yet".into(),
        ));
    }
    let info = match master_info(stored?, &log?) {
        Some(info) => info,
        None => {
            let timelines = match timelines {
                Some(t) => t,
                None => repo::timelines_of(cx.objects, &channel.id, available.clone()).await?,
            };
            synthesized_master(&timelines)
        }
    };
    let uri = |r: &str| format!("{r}/{MEDIA_PLAYLIST}");
    let has = |r: &str| available.iter().any(|a| a == r);
    let variants: Vec<MasterEntry<'_>> = info
        .variants
        .iter()
        .filter(|v| has(&v.rendition))
        .map(|v| MasterEntry {
            variant: v,
            uri: uri(&v.rendition),
        })
        .collect();
    let audio: Vec<_> = info
        .audio
        .iter()
        .filter(|m| m.rendition.as_deref().is_none_or(has))
        .map(|m| (m, m.rendition.as_deref().map(uri)))
        .collect();
    let text = render_master(endpoint, 3, info.independent_segments, &variants, &audio)
        .ok_or_else(|| {
            OriginError::NotFound("no rendition within the endpoint's bitrate range".into())
        })?;
    let text = super::session_key::add_session_keys(
        cx,
        play,
        text,
        variants.first().map(|v| &v.variant.rendition),
        &[],
    )
    .await?;
    Ok((text, CacheControl::Master, PLAYLIST_TYPE))
}

/// A master for an encoder that sent only media playlists or tracks (or none yet), complete
/// from the first segment: peak and average bitrates from the timelines, codecs, resolution
/// and frame rate from what ingest probed. Audio-only renditions (separate audio tracks, as
/// DASH and CMAF ingest bring them) form one audio group that every video variant names.
fn synthesized_master(timelines: &BTreeMap<Rendition, [Option<Timeline>; 2]>) -> MasterInfo {
    let all: Vec<Variant> = timelines
        .iter()
        .map(|(r, t)| synthesized_variant(r, t))
        .collect();
    let (audio, mut variants): (Vec<Variant>, Vec<Variant>) = all
        .into_iter()
        .partition(|v| v.codecs.is_some() && !v.has_video());
    let mut info = MasterInfo::default();
    if variants.is_empty() {
        // Audio only: each rendition is a variant of its own.
        info.variants = audio;
        return info;
    }
    if let Some(first) = audio.first() {
        let peak = audio.iter().map(|a| a.bandwidth).max().unwrap_or(0);
        let average = audio.iter().filter_map(|a| a.average_bandwidth).max();
        for v in &mut variants {
            v.bandwidth += peak;
            v.average_bandwidth = v.average_bandwidth.map(|b| b + average.unwrap_or(0));
            v.codecs = match (&v.codecs, &first.codecs) {
                (Some(c), Some(a)) => Some(format!("{c},{a}")),
                (c, _) => c.clone(),
            };
            v.audio = Some(SYNTHESIZED_AUDIO_GROUP.into());
        }
        info.audio = audio
            .iter()
            .enumerate()
            .map(|(i, a)| AudioMedia {
                rendition: Some(a.rendition.clone()),
                group_id: SYNTHESIZED_AUDIO_GROUP.into(),
                name: format!("audio_{i}"),
                language: None,
                default: i == 0,
                autoselect: true,
                channels: None,
            })
            .collect();
    }
    info.variants = variants;
    info
}

/// The group id of audio renditions in a synthesized master.
const SYNTHESIZED_AUDIO_GROUP: &str = "audio";

/// One variant of [`synthesized_master`], from a rendition's timelines on both inputs.
fn synthesized_variant(rendition: &Rendition, timelines: &[Option<Timeline>; 2]) -> Variant {
    let segments = || {
        timelines
            .iter()
            .flatten()
            .flat_map(|t| &t.segments)
            .filter(|s| s.duration > 0)
    };
    let peak = segments()
        .map(|s| s.size * 8 * TIMESCALE / s.duration)
        .max()
        .unwrap_or(0);
    let (bits, ticks) = segments().fold((0u128, 0u128), |(b, d), s| {
        (b + u128::from(s.size) * 8, d + u128::from(s.duration))
    });
    let average = (ticks > 0)
        .then(|| u64::try_from(bits * u128::from(TIMESCALE) / ticks).unwrap_or(u64::MAX));
    // The tracks the newest probed segment had, on whichever input has them.
    let tracks = timelines
        .iter()
        .flatten()
        .map(|t| &t.tracks)
        .find(|t| !t.is_empty());
    let video = tracks.and_then(|t| t.iter().find(|i| i.kind == TrackKind::Video));
    let codecs = tracks.map(|t| {
        let names: Vec<&str> = t.iter().map(|i| i.codec.as_str()).collect();
        names.join(",")
    });
    Variant {
        rendition: rendition.clone(),
        bandwidth: peak,
        average_bandwidth: average,
        codecs,
        resolution: video.and_then(|v| Some((u64::from(v.width?), u64::from(v.height?)))),
        frame_rate: video
            .and_then(|v| v.frames_per_ks)
            .map(|f| f as f64 / 1000.0),
        audio: None,
    }
}

/// An output segment of fMP4 input as MPEG-TS. Continuity counters run on from segment to
/// segment without state: PAT and PMT (one each per input segment) count input sequence
/// numbers, the elementary streams start from the counters ingest recorded after the input
/// segment before (`Segment::ts_cc`).
fn fmp4_group_to_ts(
    data: &RenditionData,
    g: &Group<'_>,
    parts: &[Vec<u8>],
    inits: &[Vec<u8>],
    only: Option<TrackKind>,
) -> OriginResult<Vec<u8>> {
    let Some(first) = g.members.first() else {
        return Err(OriginError::NotFound(format!("segment {}", g.seq)));
    };
    let previous = data.timelines[first.input.index()]
        .as_ref()
        .and_then(|t| t.find(first.segment.seq.checked_sub(1)?))
        .and_then(|s| s.ts_cc)
        .unwrap_or_default();
    let options = TsMuxOptions::default();
    let kinds: Vec<TrackKind> = first.segment.tracks.iter().map(|t| t.kind).collect();
    let mut counters = ContinuityCounters::default();
    let psi = u8::try_from(first.segment.seq % 16).unwrap_or(0);
    counters.set(PAT_PID, psi);
    counters.set(options.pmt_pid, psi);
    for (pid, cc) in ts_pids(&kinds, only, &options).into_iter().zip(previous) {
        if let Some(pid) = pid {
            counters.set(pid, cc);
        }
    }
    let fmp4: Vec<Fmp4Part<'_>> = parts
        .iter()
        .zip(inits)
        .map(|(segment, init)| Fmp4Part { init, segment })
        .collect();
    fmp4_parts_to_ts(&fmp4, only, &options, &mut counters).map_err(|e| match e {
        RemuxError::TsMux(TsMuxError::UnsupportedCodec { codec, .. }) => {
            OriginError::UnsupportedMediaType(format!(
                "{codec} in MPEG-TS: HLS carries it in fMP4 only; use an HLS_CMAF or DASH endpoint"
            ))
        }
        e => MediaError::new(MediaCause::Remux(e))
            .key(&first.segment.key)
            .into(),
    })
}

pub(super) async fn ts_segment<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    play: &Play<'_>,
    rendition: &Rendition,
    seq: u64,
    only: Option<TrackKind>,
    near: Option<i64>,
) -> OriginResult<Response> {
    let endpoint = play.endpoint;
    let has = |data: &RenditionData| {
        let (groups, _) = data.groups(endpoint);
        groups
            .iter()
            .find(|g| g.seq == seq)
            .map(|g| g.segment.pdt_ms)
    };
    let data = segment_data(cx, play, rendition, near, has).await?;
    let (groups, _) = data.groups(endpoint);
    let g = groups
        .iter()
        .find(|g| g.seq == seq)
        .ok_or_else(|| OriginError::NotFound(format!("segment {rendition}/{seq}")))?;
    // The input segments and, for fMP4 input, their init segments: one round trip.
    let members: Vec<&Segment> = g.members.iter().map(|m| m.segment).collect();
    let (parts, inits) = join(group_bytes(cx, g), init_bytes(cx, &members)).await;
    let (mut parts, inits) = (parts?, inits?);
    if g.members.iter().any(|m| m.segment.init_key.is_some()) {
        let body = fmp4_group_to_ts(&data, g, &parts, &inits, only).map_err(|e| match e {
            OriginError::Media(m) => m.rendition(rendition).sequence(seq).into(),
            e => e,
        })?;
        let body = encrypted(cx, play, g, body).await?;
        return Ok(Response::new(200)
            .with_body("video/mp2t", body)
            .with_header("cache-control", CacheControl::Segment.value()));
    }
    if let Some(kind) = only {
        for part in &mut parts {
            *part = keep_only(part, kind).map_err(|e| {
                MediaError::new(MediaCause::Filter(e))
                    .rendition(rendition)
                    .sequence(seq)
            })?;
        }
    }
    // Transport streams join by concatenation.
    let body = encrypted(cx, play, g, parts.concat()).await?;
    Ok(Response::new(200)
        .with_body("video/mp2t", body)
        .with_header("cache-control", CacheControl::Segment.value()))
}

/// `body` as the endpoint serves it: encrypted when it has `AES_128` encryption.
async fn encrypted<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    play: &Play<'_>,
    g: &Group<'_>,
    body: Vec<u8>,
) -> OriginResult<Vec<u8>> {
    match super::aes128::served(play)? {
        Some(enc) => super::aes128::encrypt(cx, play, enc, &g.segment, g.seq, &body).await,
        None => Ok(body),
    }
}
