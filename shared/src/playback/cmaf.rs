//! HLS with CMAF segments (and the init and media segments DASH shares): each input rendition's
//! tracks are remuxed per request into one CMAF track per file.

use super::ts::PLAYLIST_TYPE;
use super::CacheControl;
use super::Play;
use crate::context::Ctx;
use crate::error::{MediaCause, MediaError, OriginError, OriginResult};
use crate::failover::{output_segments, SwitchLog};
use crate::hls::master::{AudioMedia, MasterInfo, Variant};
use crate::hls::{render_master, MasterEntry};
use crate::http::Response;
use crate::media::remux::{
    fmp4_parts_to_cmaf, ts_parts_to_cmaf, Fmp4Part, RemuxOptions, RemuxedTrack, TrackKind,
};
use crate::model::OutputProtocol;
use crate::names::Rendition;
use crate::output::group::Group;
use crate::output::representations::representations;
use crate::playback::group_bytes;
use crate::playback::init_bytes;
use crate::playback::master_info;
use crate::playback::masters;
use crate::playback::rendition_data;
use crate::playback::segment_data;
use crate::playback::RenditionData;
use crate::repo;
use crate::store::{KvStore, ObjectStore};
use crate::timeline::TrackInfo;
use crate::timeline::{Segment, Timeline};
use futures_util::future::{join, join3, join_all};
use std::collections::BTreeMap;

/// Everything a channel-wide manifest (HLS-CMAF master, MPD) is built from.
pub(super) struct ChannelData {
    pub log: SwitchLog,
    pub renditions: BTreeMap<Rendition, [Option<Timeline>; 2]>,
    pub master: Option<MasterInfo>,
}

impl ChannelData {
    /// Each rendition's tracks, as the active input (else the other) last probed them.
    pub fn tracks(&self) -> BTreeMap<Rendition, Vec<TrackInfo>> {
        let active = self.log.active().map_or(0, |r| r.input_id().index());
        self.renditions
            .iter()
            .filter_map(|(r, t)| {
                let timeline = t[active]
                    .as_ref()
                    .filter(|t| !t.tracks.is_empty())
                    .or(t[1 - active].as_ref())?;
                (!timeline.tracks.is_empty()).then(|| (r.clone(), timeline.tracks.clone()))
            })
            .collect()
    }
}

/// File names of a track below its rendition.
pub(super) fn init_name(kind: TrackKind, version: &str) -> String {
    format!("{}_init_{version}.mp4", kind.name())
}

/// The init segment of a key period (HLS-CMAF with rotating sample encryption keys).
pub(super) fn period_init_name(kind: TrackKind, version: &str, period: u64) -> String {
    format!("{}_init_{version}_k{period}.mp4", kind.name())
}

fn content_type(kind: TrackKind) -> &'static str {
    match kind {
        TrackKind::Video => "video/mp4",
        TrackKind::Audio => "audio/mp4",
    }
}

pub(super) async fn channel_data<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    play: &Play<'_>,
) -> OriginResult<ChannelData> {
    channel_data_with(cx, play, false).await
}

/// [`channel_data`]; with `archived`, every rendition's timelines as [`rendition_data`] gives
/// them (archived segments of a time-shift window put back), read in the same round trip.
pub(super) async fn channel_data_with<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    play: &Play<'_>,
    archived: bool,
) -> OriginResult<ChannelData> {
    let channel = play.channel;
    let timelines = |names: Vec<Rendition>| async move {
        if !archived {
            return repo::timelines_of(cx.objects, &channel.id, names).await;
        }
        let merged = join_all(names.iter().map(|r| rendition_data(cx, play, r))).await;
        let mut renditions = BTreeMap::new();
        for (r, merged) in names.into_iter().zip(merged) {
            match merged {
                Ok(data) => {
                    renditions.insert(r, data.timelines);
                }
                // Indexed before its first timeline was stored.
                Err(OriginError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(renditions)
    };
    // Every timeline in the round trip of the switch log and both masters when the index
    // names the renditions; else in the one after the listings.
    let renditions = async {
        match play.renditions {
            Some(names) => timelines(names.to_vec()).await,
            None => timelines(repo::all_renditions(cx.objects, &channel.id).await?).await,
        }
    };
    let (renditions, log, masters) = join3(
        renditions,
        repo::switch_log(cx.objects, &channel.id),
        masters(cx, channel),
    )
    .await;
    let mut renditions = renditions?;
    renditions.retain(|_, t| t.iter().any(Option::is_some));
    if renditions.is_empty() {
        return Err(OriginError::NotFound(
            "no content has been ingested yet".into(),
        ));
    }
    let log = log?;
    let master = master_info(masters?, &log);
    Ok(ChannelData {
        log,
        renditions,
        master,
    })
}

pub(super) async fn cmaf_master<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    play: &Play<'_>,
) -> OriginResult<(String, CacheControl, &'static str)> {
    let endpoint = play.endpoint;
    let data = channel_data(cx, play).await?;
    let tracks = data.tracks();
    let (video, audio) = representations(&tracks, data.master.as_ref(), endpoint);
    let audio_codec = audio.first().map(|a| a.info.codec.clone());
    let variants: Vec<Variant> = video
        .iter()
        .map(|v| Variant {
            rendition: v.rendition.clone(),
            bandwidth: v.bandwidth,
            average_bandwidth: None,
            codecs: Some(match &audio_codec {
                Some(a) => format!("{},{a}", v.info.codec),
                None => v.info.codec.clone(),
            }),
            resolution: v
                .info
                .width
                .zip(v.info.height)
                .map(|(w, h)| (u64::from(w), u64::from(h))),
            frame_rate: v.frame_rate,
            audio: (!audio.is_empty()).then(|| "audio".to_owned()),
        })
        .collect();
    let entries: Vec<MasterEntry<'_>> = variants
        .iter()
        .map(|v| MasterEntry {
            variant: v,
            uri: format!("{}/video.m3u8", v.rendition),
        })
        .collect();
    let media: Vec<AudioMedia> = audio
        .iter()
        .map(|a| AudioMedia {
            rendition: Some(a.rendition.clone()),
            group_id: "audio".into(),
            name: a.name.clone(),
            language: a.language.clone(),
            default: a.default,
            autoselect: true,
            channels: a.info.channels.map(|c| c.to_string()),
        })
        .collect();
    let audio_entries: Vec<_> = media
        .iter()
        .map(|m| (m, m.rendition.as_ref().map(|r| format!("{r}/audio.m3u8"))))
        .collect();
    let independent = data.master.as_ref().is_some_and(|m| m.independent_segments);
    let version = if endpoint.protocol == OutputProtocol::Hls {
        3
    } else {
        7
    };
    let text = if entries.is_empty() {
        None
    } else {
        render_master(endpoint, version, independent, &entries, &audio_entries)
    }
    .ok_or_else(|| {
        OriginError::NotFound("no video rendition within the endpoint's bitrate range".into())
    })?;
    let kinds: &[TrackKind] = if audio.is_empty() {
        &[TrackKind::Video]
    } else {
        &[TrackKind::Video, TrackKind::Audio]
    };
    let text = super::session_key::add_session_keys(
        cx,
        play,
        text,
        video.first().map(|v| v.rendition),
        kinds,
    )
    .await?;
    Ok((text, CacheControl::Master, PLAYLIST_TYPE))
}

/// The init segment whose version tag is `version`, from the newest segment that has it;
/// with `period`, the one of that key period (HLS-CMAF with rotating keys).
pub(super) async fn cmaf_init<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    play: &Play<'_>,
    rendition: &Rendition,
    kind: TrackKind,
    version: &str,
    period: Option<u64>,
) -> OriginResult<Response> {
    let part = super::sample_enc::init_part(play, period)
        .ok_or_else(|| OriginError::NotFound(format!("init segment {version} of a key period")))?;
    let data = init_data(cx, play, rendition, kind, version).await?;
    let all = output_segments(&data.log, data.refs());
    let source = all
        .iter()
        .rev()
        .find(|s| s.segment.track(kind).is_some_and(|t| t.init == version))
        .ok_or_else(|| OriginError::NotFound(format!("init segment {version}")))?;
    // The source segment and its own init segment (fMP4 input) together.
    let (object, inits) = join(
        cx.objects.get(&source.segment.key),
        init_bytes(cx, &[source.segment]),
    )
    .await;
    let object = object?
        .ok_or_else(|| OriginError::NotFound(format!("init segment {version} (expired)")))?;
    let parts = [object.body];
    let inits = inits?;
    let input = Input {
        parts: &parts,
        inits: &inits,
        first: source.segment,
        last: source.segment,
    };
    let track = remux(&input, 1, kind, (rendition, source.seq))?;
    let at = (rendition, kind, source.seq);
    let body = match super::sample_enc::encryptor(cx, play, &track.track, at, part).await? {
        // Encrypted endpoints: encv/enca with the key's KID and the DRM systems' pssh (with
        // rotation: the key period's, or a placeholder KID in one init for every period).
        Some(e) => e
            .init_segment()
            .map_err(|e| super::sample_enc::encrypt_error(e, rendition, source.seq))?,
        None => track.init_segment().map_err(|e| {
            MediaError::new(MediaCause::Mux(e))
                .rendition(rendition)
                .sequence(source.seq)
                .key(&source.segment.key)
        })?,
    };
    Ok(Response::new(200)
        .with_body(content_type(kind), body)
        .with_header("cache-control", CacheControl::Segment.value()))
}

/// The data an init segment is found in. Time-shifted: the live timelines first (read beside
/// the settings under a URL's storage id), as the init comes from the newest segment that has
/// its version and archived segments are older than live ones: the same source when a live
/// one has it. Only when none does is the window's archive read (docs/round-trips.md).
async fn init_data<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    play: &Play<'_>,
    rendition: &Rendition,
    kind: TrackKind,
    version: &str,
) -> OriginResult<RenditionData> {
    if play.shift.is_some() {
        let has = |data: &RenditionData| {
            output_segments(&data.log, data.refs())
                .iter()
                .any(|s| s.segment.track(kind).is_some_and(|t| t.init == version))
        };
        match super::rendition_data_from(cx, play, rendition, Some(&[])).await {
            Ok(data) if has(&data) => return Ok(data),
            Ok(_) | Err(OriginError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    rendition_data(cx, play, rendition).await
}

/// The CMAF media segment of `kind` for the output segment `select` picks.
pub(super) async fn cmaf_segment<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    play: &Play<'_>,
    rendition: &Rendition,
    kind: TrackKind,
    near: Option<i64>,
    select: impl Fn(&Group<'_>, u32) -> bool,
) -> OriginResult<Response> {
    let endpoint = play.endpoint;
    // The track's timescale, for selections by media time ($Time$).
    let timescale = |data: &RenditionData| {
        data.refs()
            .iter()
            .flatten()
            .find_map(|t| t.track(kind))
            .map_or(90_000, |i| i.timescale)
    };
    let has = |data: &RenditionData| {
        let timescale = timescale(data);
        let (groups, _) = data.groups(endpoint);
        groups
            .iter()
            .find(|g| select(g, timescale))
            .map(|g| g.segment.pdt_ms)
    };
    let data = segment_data(cx, play, rendition, near, has).await?;
    let (groups, _) = data.groups(endpoint);
    let timescale = timescale(&data);
    let g = groups
        .iter()
        .find(|g| select(g, timescale))
        .ok_or_else(|| OriginError::NotFound(format!("segment of {rendition}")))?;
    let members: Vec<&Segment> = g.members.iter().map(|m| m.segment).collect();
    let (parts, inits) = join(group_bytes(cx, g), init_bytes(cx, &members)).await;
    let (parts, inits) = (parts?, inits?);
    let (first, last) = match (g.members.first(), g.members.last()) {
        (Some(f), Some(l)) => (f.segment, l.segment),
        _ => return Err(OriginError::NotFound(format!("segment {}", g.seq))),
    };
    let sequence = u32::try_from(g.seq % u64::from(u32::MAX)).unwrap_or(0) + 1;
    let input = Input {
        parts: &parts,
        inits: &inits,
        first,
        last,
    };
    let track = remux(&input, sequence, kind, (rendition, g.seq))?;
    // The key of the segment's key period (always 0 without rotation).
    let period = super::sample_enc::method(play)
        .map_or(0, |(enc, _)| super::sample_enc::period_of(enc, &g.segment));
    let at = (rendition, kind, g.seq);
    let part = super::sample_enc::Part::Media(period);
    let body = match super::sample_enc::encryptor(cx, play, &track.track, at, part).await? {
        Some(e) => e
            .encrypt_segment(&track.segment)
            .map_err(|e| super::sample_enc::encrypt_error(e, rendition, g.seq))?,
        None => track.segment,
    };
    Ok(Response::new(200)
        .with_body(content_type(kind), body)
        .with_header("cache-control", CacheControl::Segment.value()))
}

/// Input segments `first..=last` of one output segment: their bytes, and for fMP4 their init
/// segments (empty for MPEG-TS).
struct Input<'a> {
    parts: &'a [Vec<u8>],
    inits: &'a [Vec<u8>],
    first: &'a Segment,
    last: &'a Segment,
}

/// Remuxes the input segments and keeps the track of `kind`; `at` is the rendition and output
/// sequence number a failure names.
fn remux(
    input: &Input<'_>,
    sequence: u32,
    kind: TrackKind,
    (rendition, seq): (&Rendition, u64),
) -> OriginResult<RemuxedTrack> {
    let (first, last) = (input.first, input.last);
    let remuxed = if input.inits.is_empty() {
        let parts: Vec<&[u8]> = input.parts.iter().map(Vec::as_slice).collect();
        let options = RemuxOptions {
            time_reference: first.media_start,
            next_segment_start: last.media_start.map(|m| m + last.duration),
            sequence_number: sequence,
        };
        ts_parts_to_cmaf(&parts, &options)
    } else {
        let parts: Vec<Fmp4Part<'_>> = input
            .parts
            .iter()
            .zip(input.inits)
            .map(|(segment, init)| Fmp4Part { init, segment })
            .collect();
        fmp4_parts_to_cmaf(&parts, sequence)
    };
    let remuxed = remuxed.map_err(|e| {
        MediaError::new(MediaCause::Remux(e))
            .rendition(rendition)
            .sequence(seq)
            .key(&first.key)
    })?;
    remuxed
        .tracks
        .into_iter()
        .find(|t| t.track.kind() == kind)
        .ok_or_else(|| {
            OriginError::NotFound(format!("no {} track in segment {}", kind.name(), first.seq))
        })
}
