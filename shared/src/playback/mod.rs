//! Playback: `/out/v1/{group}/{channel}/{endpoint}/...`, packaged per request from the
//! channel's timelines (file names in `route`). Segment URLs are numbered by the output
//! timeline, so they are stable across requests, edges and failover.

mod aes128;
mod ahead;
pub mod blocking;
mod clip_body;
mod clip_mp4;
mod cmaf;
mod dash;
mod edge;
mod flv_live;
mod headers;
mod playlist;
pub(crate) mod recording;
mod route;
mod sample_enc;
mod session_key;
mod ts;

pub use ahead::forget_remembered_endpoints;
pub use clip_body::ClipBody;
pub use edge::CACHE_STATUS_HEADER;
pub use flv_live::LiveFlv;
pub use headers::{cors_preflight, with_cors, CacheControl};
pub use route::{ClipFormat, Route, MEDIA_PLAYLIST};

use crate::access::TOKEN_PARAM;
use crate::context::Ctx;
use crate::error::{OriginError, OriginResult};
use crate::failover::{discontinuities_through, output_segments, OutputSegment, SwitchLog};
use crate::hls::carry_query;
use crate::hls::master::MasterInfo;
use crate::hls::{live_window, live_window_min_s, MediaWindow};
use crate::http::{Method, Request, Response};
use crate::keys;
use crate::model::{Channel, Endpoint, InputId};
use crate::names::{Name, Rendition};
use crate::output::group::{group, join_factor, Group};
use crate::playback::clip_mp4::clip;
use crate::playback::cmaf::cmaf_init;
use crate::playback::cmaf::cmaf_master;
use crate::playback::cmaf::cmaf_segment;
use crate::playback::dash::mpd;
use crate::playback::playlist::rendition_playlist;
use crate::playback::ts::ts_master;
use crate::playback::ts::ts_segment;
use crate::rendition_index;
use crate::repo;
use crate::store::{KvStore, ObjectStore};
use crate::timeline::{Segment, Timeline};
use crate::timeshift::{carried_params, select, select_like, window_seqs, Selection, TimeShift};
use futures_util::future::{join, join3, join4, join5, join_all};
use std::ops::RangeInclusive;

/// The rest of a streamed playback answer.
pub enum PlaybackStream {
    /// HTTP-FLV, live or time-shifted.
    Flv(Box<LiveFlv>),
    /// A clip's body, part by part.
    Clip(Box<ClipBody>),
}

impl PlaybackStream {
    /// The next chunk; `None` ends the answer.
    pub async fn next_chunk<K: KvStore, O: ObjectStore>(
        &mut self,
        cx: &Ctx<'_, K, O>,
        now_ms: u64,
    ) -> Option<Vec<u8>> {
        match self {
            PlaybackStream::Flv(flv) => flv.next_chunk(cx, now_ms).await,
            PlaybackStream::Clip(body) => body.next_chunk(cx).await,
        }
    }
}

/// One rendition's output: the switch log and both inputs' timelines.
pub(crate) struct RenditionData {
    pub log: SwitchLog,
    pub timelines: [Option<Timeline>; 2],
}

impl RenditionData {
    /// The data of a live playlist from its stored objects.
    pub fn parse(objects: &repo::RenditionObjects) -> OriginResult<RenditionData> {
        Ok(RenditionData {
            log: objects.switch_log()?,
            timelines: objects.timelines()?,
        })
    }

    pub fn refs(&self) -> [Option<&Timeline>; 2] {
        [self.timelines[0].as_ref(), self.timelines[1].as_ref()]
    }

    /// The input's target duration (the longer of the two inputs').
    pub fn target_duration(&self) -> u64 {
        self.refs()
            .iter()
            .flatten()
            .map(|t| t.target_duration)
            .max()
            .unwrap_or(1)
            .max(1)
    }

    /// Output segments as the endpoint's `segment_duration` groups them, and the factor.
    pub fn groups(&self, endpoint: &Endpoint) -> (Vec<Group<'_>>, u64) {
        let k = join_factor(endpoint.segment_duration, self.target_duration());
        (group(&output_segments(&self.log, self.refs()), k), k)
    }

    /// EXT-X-DISCONTINUITY-SEQUENCE of a playlist whose first segment is `first`.
    pub fn discontinuity_sequence(&self, rendition: &str, first: Option<&Group<'_>>) -> u64 {
        let before = first
            .and_then(|g| g.members.first())
            .and_then(|m| m.seq.checked_sub(1));
        before.map_or(0, |b| {
            discontinuities_through(&self.log, self.refs(), rendition, b)
        })
    }
}

/// What every playback handler needs about the request.
pub(crate) struct Play<'a> {
    pub channel: &'a Channel,
    pub endpoint: &'a Endpoint,
    pub shift: Option<&'a TimeShift>,
    pub now_ms: u64,
    /// A fixed window's output sequence numbers, chosen on the reference rendition.
    pub window: Option<RangeInclusive<u64>>,
    /// The channel's renditions as its index names them (read beside the settings); `None`:
    /// list them. An indexed rendition without a timeline yet is left out by the reader.
    pub renditions: Option<&'a [Rendition]>,
    /// A master whose session keys name its window's first key period, rendered while the
    /// window is computed beside it: the keys are written after (`session_key::settle`).
    pub defer_session_keys: bool,
}

/// The window of a rendition playlist: the live one, or what a time-shift selects.
pub(crate) fn media_window<'s>(
    play: &Play<'_>,
    data: &RenditionData,
    rendition: &Rendition,
    groups: &[Group<'_>],
    outputs: &'s [OutputSegment<'s>],
    target: u64,
    version: u8,
) -> OriginResult<MediaWindow<'s>> {
    let (endpoint, shift, now_ms) = (play.endpoint, play.shift, play.now_ms);
    let hold_back_s = endpoint.hold_back_s(play.channel.max_segment_duration, target);
    // Long enough for the RFC's three target durations and for a player that holds back and
    // reads its playlists seconds apart.
    let min_duration_s = live_window_min_s(hold_back_s, target);
    let live = |s: &'s [OutputSegment<'s>]| live_window(s, min_duration_s, endpoint.segment_count);
    let now = i64::try_from(now_ms).unwrap_or(i64::MAX);
    let selection = match (shift, &play.window) {
        (Some(shift), Some(seqs)) => select_like(outputs, seqs, shift, now)?,
        (Some(shift), None) => select(outputs, shift, now, live)?,
        (None, _) => Selection {
            segments: live(outputs),
            playlist_type: None,
            end_list: false,
        },
    };
    let first = groups
        .iter()
        .find(|g| Some(g.seq) == selection.segments.first().map(|s| s.seq));
    // A playlist with a fixed start keeps one discontinuity sequence: it never slides.
    let discontinuity_sequence = match selection.playlist_type {
        Some(_) => 0,
        None => data.discontinuity_sequence(rendition, first),
    };
    // A playlist that grows at the live edge (no EXT-X-PLAYLIST-TYPE, no EXT-X-ENDLIST).
    let live_edge = selection.playlist_type.is_none() && !selection.end_list;
    Ok(MediaWindow {
        version,
        target_duration: target,
        discontinuity_sequence,
        playlist_type: selection.playlist_type,
        end_list: selection.end_list,
        hold_back_s: live_edge.then_some(hold_back_s),
        // Blocking reload follows the live playlist only, not a time-shifted one.
        can_block_reload: shift.is_none(),
        segments: selection.segments,
    })
}

pub(crate) async fn playback<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    req: &Request,
    route: &[&str],
    now_ms: u64,
) -> OriginResult<Response> {
    Ok(playback_stream(cx, req, route, now_ms).await?.0)
}

/// [`playback`], with the state of a long-lived response (HTTP-FLV) to continue it.
pub(crate) async fn playback_stream<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    req: &Request,
    route: &[&str],
    now_ms: u64,
) -> OriginResult<(Response, Option<PlaybackStream>)> {
    if !matches!(req.method, Method::Get | Method::Head) {
        return Err(OriginError::MethodNotAllowed);
    }
    let [g, c, e, rest @ ..] = route else {
        return Err(OriginError::NotFound("playback route".into()));
    };
    let not_found = || OriginError::NotFound(format!("endpoint {g}/{c}/{e}"));
    let (g, c, e) = (
        Name::parse(g).ok_or_else(not_found)?,
        Name::parse(c).ok_or_else(not_found)?,
        Name::parse(e).ok_or_else(not_found)?,
    );
    // A segment URL below the channel's storage id (`~{id}/`): its rendition's index is read
    // under that id in the same round trip as the settings, and checked against them after;
    // with a time-shift and the archive bucket its playlist named (`~{id}@{bucket}/`), that
    // bucket and its neighbours too, when the window's widest range reaches them.
    let by_id = route::split_storage_dir(rest);
    let rest: &[&str] = match &by_id {
        Some(dir) => &dir.path,
        None => rest,
    };
    let near_buckets = match (&by_id, TimeShift::parse(&req.query)) {
        (
            Some(route::StorageDir {
                bucket: Some(bucket),
                ..
            }),
            Ok(Some(shift)),
        ) => {
            let now = i64::try_from(now_ms).unwrap_or(i64::MAX);
            crate::archive::buckets_near(*bucket, shift.range(now, i64::MAX))
        }
        _ => Vec::new(),
    };
    // Both settings in one round trip, with the objects the route starts with read ahead
    // when this isolate served the endpoint before and would let the request through
    // (`ahead`); the endpoint's errors and access decide first.
    let remembered = ahead::remembered(&g, &c, &e);
    let refused_before = remembered.as_ref().is_some_and(|r| {
        r.endpoint
            .access
            .check(req, &r.endpoint.path_prefix(), now_ms)
            .is_err()
    });
    let hint = remembered.filter(|_| !refused_before);
    // An immutable file's copy under the key the remembered settings give, looked up first
    // (the platform's cache is local to the edge): on a hit nothing is read ahead, and the
    // copy is served once the settings just read give the same key and let the request in.
    let ahead_route = hint
        .as_ref()
        .and_then(|r| Some((r, Route::parse(&r.endpoint, rest).ok()?)));
    let early = match ahead_route {
        Some((r, ref route)) => early_copy(cx, req, route, r).await,
        None => None,
    };
    let ahead_id = hint
        .as_ref()
        .filter(|_| early.is_none())
        .map(|r| r.channel_id.as_str());
    let ahead_route = ahead_route.map(|(_, route)| route);
    // What to read ahead: under the URL's storage id when it names one (unless a copy is
    // at hand or the remembered settings refuse the request), else under the remembered id.
    let (read_id, start) = match &by_id {
        Some(dir) if early.is_none() && !refused_before => (
            Some(dir.id),
            Some(ahead::Start::Rendition(&dir.rendition, &near_buckets)),
        ),
        Some(_) => (None, None),
        None => {
            let indexed = hint.as_ref().is_some_and(|r| r.indexed);
            let start = ahead_route
                .as_ref()
                .and_then(|r| ahead::Start::of(r, indexed));
            (ahead_id, start)
        }
    };
    // Masters, MPDs, clips and time-shifted playlists learn the renditions from the channel's
    // index (keyed by names, `rendition_index`), read beside the settings instead of a listing.
    let index_request = !refused_before
        && match rest {
            [file] => {
                file.ends_with(".m3u8")
                    || file.ends_with(".mpd")
                    || [clip_mp4::CLIP_FILE, clip_mp4::CLIP_FLV_FILE].contains(file)
            }
            [.., file] => {
                file.ends_with(".m3u8") && matches!(TimeShift::parse(&req.query), Ok(Some(_)))
            }
            [] => false,
        };
    let index = async {
        if index_request {
            Some(cx.objects.get(&keys::rendition_index(&g, &c)).await)
        } else {
            None
        }
    };
    let objects = ahead::Ahead::new(cx.objects);
    // An MPD request also reads its group (the DASH clock's domain), in the same round.
    let mpd_request = matches!(rest, [file] if file.ends_with(".mpd"));
    let group = async {
        if mpd_request {
            Some(repo::group(cx.kv, &g).await)
        } else {
            None
        }
    };
    let (endpoint, channel, group, index, ()) = join5(
        repo::endpoint(cx.kv, &g, &c, &e),
        repo::channel(cx.kv, &g, &c),
        group,
        index,
        objects.read_for(read_id, start),
    )
    .await;
    // Remembered settings that let in a request the current ones refuse, or an endpoint or
    // channel gone: nothing is read ahead for them again.
    let forget = |err: OriginError| {
        if hint.is_some() {
            ahead::forget(&g, &c, &e);
        }
        err
    };
    let endpoint = endpoint.map_err(forget)?;
    endpoint
        .access
        .check(req, &endpoint.path_prefix(), now_ms)
        .map_err(|d| forget(OriginError::Forbidden(d.0)))?;
    let channel = channel.map_err(forget)?;
    // The index counts only when it is this channel's (not a predecessor's of the same names).
    let indexed = match index {
        Some(read) => read?.and_then(|o| rendition_index::of_channel(&o.body, &channel)),
        None => None,
    }
    .map(|index| index.all());
    let knows_index = index_request.then_some(indexed.is_some());
    ahead::remember(&g, &c, &e, &channel.id, &endpoint, knows_index);
    let cx = &cx.with_objects(&objects);
    let route = Route::parse(&endpoint, rest)?;
    if let Some(route::StorageDir { id, .. }) = &by_id {
        // A storage id that is not the channel's: the URL is of a channel deleted since (the
        // reads made under it answer nothing); only segment files are served below one.
        if *id != channel.id || !route.is_segment_file() {
            return Err(OriginError::NotFound(format!(
                "playback file below ~{id} of endpoint {g}/{c}/{e}"
            )));
        }
    }
    // A DASH manifest's clock (`UTCTiming`) is on the group's CDN domain: the group was read
    // beside the settings, in the same round trip.
    let dash_manifest = matches!(endpoint.protocol, crate::model::OutputProtocol::Dash)
        && matches!(route, Route::Manifest);
    let group_base = match group {
        Some(group) if dash_manifest => group?.playback_base_url,
        _ => None,
    };
    let shift = TimeShift::parse(&req.query)?;
    let mut play = Play {
        channel: &channel,
        endpoint: &endpoint,
        shift: shift.as_ref(),
        now_ms,
        window: None,
        renditions: indexed.as_deref(),
        defer_session_keys: false,
    };
    // Encrypted endpoints serve nothing before their method is known to be served.
    let encryption = aes128::served(&play)?;
    // Immutable files: the edge's copy, now that access and encryption checks have passed.
    let edge_key = edge::cacheable(&route, req).then(|| edge::key(req, &channel.id, &endpoint));
    if let Some(key) = &edge_key {
        let copy = match early {
            Some((early_key, copy)) if early_key == *key => Some(copy),
            _ => (cx.edge_cache)(key.clone()).await,
        };
        if let Some(copy) = copy {
            return Ok((for_client(edge::hit(copy), &endpoint), None));
        }
    }
    let hls = matches!(
        endpoint.protocol,
        crate::model::OutputProtocol::Hls | crate::model::OutputProtocol::HlsCmaf
    );
    let mut prefetched = None;
    // A time-shifted master reads like a live one, in the same round trip as its window (the
    // reads they share made once, `ahead`; `hls_master`).
    let master_beside_window = hls && route == Route::Manifest && shift.is_some();
    if hls && route.is_manifest() && !master_beside_window {
        let own = match &route {
            Route::TsPlaylist { rendition } | Route::CmafPlaylist { rendition, .. } => {
                Some(rendition)
            }
            _ => None,
        };
        let read = window_and_data(cx, &play, own).await?;
        play.window = read.window;
        prefetched = read.own;
    }
    // Query parameters a manifest carries onto every URI it references.
    let mut carried = carried_params(&req.query);
    if let Some(t) =
        crate::http::query_param(&req.query, TOKEN_PARAM).filter(|_| endpoint.access.signs_urls())
    {
        carried.push(format!("{TOKEN_PARAM}={t}"));
    }
    let carried = carried.join("&");
    // Delivery directives (RFC 8216bis 6.2.5.2) of live rendition playlists, the only ones that
    // advertise blocking reload; elsewhere they are ignored, and never carried onto URIs.
    let wait_for = match route {
        Route::TsPlaylist { .. } | Route::CmafPlaylist { .. } if shift.is_none() => {
            blocking::requested_msn(&req.query)?
        }
        _ => None,
    };
    let manifest = |(text, cache, content_type): (String, CacheControl, &str)| {
        Response::new(200)
            .with_body(content_type, carry_query(&text, &carried))
            .with_header("cache-control", cache.value())
    };
    // The archive bucket a time-shifted playlist named in the segment's URL.
    let near = by_id.as_ref().and_then(|dir| dir.bucket);
    let mut stream = None;
    let response = match route {
        Route::Manifest => match endpoint.protocol {
            crate::model::OutputProtocol::Hls | crate::model::OutputProtocol::HlsCmaf => {
                Ok(manifest(hls_master(cx, &play).await?))
            }
            crate::model::OutputProtocol::Dash => {
                // The clock players read, on the host they play from.
                let base = group_base
                    .as_deref()
                    .or(cx.config.public_base_url.as_deref())
                    .unwrap_or(&req.origin);
                let time_url = format!("{}/time", base.trim_end_matches('/'));
                let (text, cache, ct) = mpd(cx, &play, &time_url).await?;
                // An MPD's segment URLs are templates: the token and the time-shift
                // parameters go on each of them.
                Ok(Response::new(200)
                    .with_body(ct, dash::carry_on_templates(&text, &carried))
                    .with_header("cache-control", cache))
            }
            crate::model::OutputProtocol::Flv => {
                let (r, s) = flv_live::start(cx, &play, req).await?;
                stream = Some(PlaybackStream::Flv(Box::new(s)));
                Ok(r)
            }
        },
        Route::Clip(_) if endpoint.encryption.is_some() => Err(OriginError::NotImplemented(
            "a clip of an encrypted endpoint; nothing is served in the clear".into(),
        )),
        Route::Clip(format) => clip(cx, &play, req, format).await.map(|(r, body)| {
            stream = body.map(|b| PlaybackStream::Clip(Box::new(b)));
            r
        }),
        Route::Key { period, kind: None } => match encryption {
            Some(enc) => aes128::key_file(cx, &play, enc, period).await,
            None => Err(OriginError::NotFound(format!("key of period {period}"))),
        },
        Route::Key {
            period,
            kind: Some(kind),
        } => sample_enc::clear_key_file(cx, &play, period, kind).await,
        Route::TsPlaylist { rendition } => Ok(manifest(
            rendition_playlist(cx, &play, &rendition, None, wait_for, prefetched).await?,
        )),
        Route::TsSegment { rendition, seq } => {
            ts_segment(cx, &play, &rendition, seq, None, near).await
        }
        Route::TsTrackSegment {
            rendition,
            kind,
            seq,
        } => ts_segment(cx, &play, &rendition, seq, Some(kind), near).await,
        Route::CmafPlaylist { rendition, kind } => Ok(manifest(
            rendition_playlist(cx, &play, &rendition, Some(kind), wait_for, prefetched).await?,
        )),
        Route::Init {
            rendition,
            kind,
            version,
            period,
        } => cmaf_init(cx, &play, &rendition, kind, &version, period).await,
        Route::CmafSegment {
            rendition,
            kind,
            seq,
        } => cmaf_segment(cx, &play, &rendition, kind, near, |g, _| g.seq == seq).await,
        Route::DashSegment {
            rendition,
            kind,
            time,
        } => {
            cmaf_segment(cx, &play, &rendition, kind, near, |g, timescale| {
                dash::segment_time(g, kind, timescale) == Some(time)
            })
            .await
        }
    };
    // Immutable media: the platform's cache may answer the next request for the same file
    // (after the same checks) without storage reads.
    let response = response.map(|r| match &edge_key {
        Some(key) if stream.is_none() => edge::mark(r, req, key),
        _ => r,
    });
    response.map(|r| (for_client(r, &endpoint), stream))
}

/// `r` as `endpoint` answers it: where access depends on the client, no shared cache may keep
/// it.
fn for_client(r: Response, endpoint: &Endpoint) -> Response {
    if endpoint.access.per_client() {
        headers::private(r)
    } else {
        r
    }
}

/// Whether a master's text depends on its time-shift window: only the first key period of
/// its session key does, when keys rotate (`session_key`).
fn master_needs_window(endpoint: &Endpoint) -> bool {
    endpoint
        .encryption
        .as_ref()
        .is_some_and(|e| e.key_rotation_interval > 0)
}

/// An HLS master (TS, or CMAF and TS with audio separation).
async fn master_text<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    play: &Play<'_>,
) -> OriginResult<(String, CacheControl, &'static str)> {
    match play.endpoint.protocol {
        crate::model::OutputProtocol::Hls if !play.endpoint.audio_separation => {
            ts_master(cx, play).await
        }
        _ => cmaf_master(cx, play).await,
    }
}

/// An HLS master; time-shifted, with its window computed in the same round trip: a window
/// without content is a 404 as before, the master's text is the live one's. When keys
/// rotate, its session keys name the window's first key period: the master is rendered with
/// them deferred while the window and every indexed rendition's data (one of which is the
/// master's first variant, whose playlist the period follows) are read beside it, and they
/// are written once all is in (docs/round-trips.md, "Time-shifted masters").
async fn hls_master<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    play: &Play<'_>,
) -> OriginResult<(String, CacheControl, &'static str)> {
    if play.shift.is_none() {
        return master_text(cx, play).await;
    }
    if !master_needs_window(play.endpoint) {
        let (window, master) = join(window_reference(cx, play), master_text(cx, play)).await;
        window?;
        return master;
    }
    let deferred = Play {
        defer_session_keys: true,
        window: None,
        ..*play
    };
    let (read, data, master, ()) = join4(
        window_and_data(cx, play, None),
        indexed_data(cx, play),
        master_text(cx, &deferred),
        session_key::preload(cx, play),
    )
    .await;
    let window = read?.window;
    let (text, cache, content_type) = master?;
    let windowed = Play { window, ..*play };
    let text = session_key::settle(cx, &windowed, text, &data).await?;
    Ok((text, cache, content_type))
}

/// Every indexed rendition's data (with a time-shift, its window's archive merged in), read
/// together; renditions without content left out. Empty without an index.
async fn indexed_data<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    play: &Play<'_>,
) -> std::collections::BTreeMap<Rendition, RenditionData> {
    let names = play.renditions.unwrap_or_default();
    let read = join_all(names.iter().map(|r| rendition_data(cx, play, r))).await;
    names
        .iter()
        .zip(read)
        .filter_map(|(r, data)| Some((r.clone(), data.ok()?)))
        .collect()
}

/// The cached copy of the immutable file `route` names (as `remembered` settings parse it),
/// under the key those settings give, with that key.
async fn early_copy<K, O>(
    cx: &Ctx<'_, K, O>,
    req: &Request,
    route: &Route,
    remembered: &ahead::Remembered,
) -> Option<(String, Response)> {
    if !edge::cacheable(route, req) {
        return None;
    }
    let key = edge::key(req, &remembered.channel_id, &remembered.endpoint);
    let copy = (cx.edge_cache)(key.clone()).await?;
    Some((key, copy))
}

/// Renditions with content on either input, in key order: from the channel's index (where
/// one may still lack a timeline), else listed.
async fn renditions<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    play: &Play<'_>,
) -> OriginResult<Vec<Rendition>> {
    match play.renditions {
        Some(names) => Ok(names.to_vec()),
        None => repo::all_renditions(cx.objects, &play.channel.id).await,
    }
}

/// A rendition's switch log and timelines; with a time-shift, archived segments of the
/// window are put back in front of the live ones.
async fn rendition_data<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    play: &Play<'_>,
    rendition: &Rendition,
) -> OriginResult<RenditionData> {
    rendition_data_from(cx, play, rendition, None).await
}

/// The program-date-time range of a time-shift window whose archived segments are read:
/// nothing older is kept, as expiry deletes a bucket once its newest possible segment is
/// older than retention plus the live playlist (docs/timeshift-harvest.md, "Expiry").
fn archive_range(play: &Play<'_>) -> Option<(i64, i64)> {
    let (channel, shift, now_ms) = (play.channel, play.shift, play.now_ms);
    shift
        .filter(|_| channel.archive_retention_s > 0)
        .map(|shift| {
            let retention = i64::try_from(channel.archive_retention_s * 1000).unwrap_or(i64::MAX);
            let now = i64::try_from(now_ms).unwrap_or(i64::MAX);
            let (from, to) = shift.range(now, retention);
            let live_ms = i64::try_from(channel.max_playlist_duration * 1000).unwrap_or(i64::MAX);
            let oldest = now.saturating_sub(retention.saturating_add(live_ms));
            (from.max(oldest), to)
        })
}

/// The data of a time-shifted segment whose URL names the archive bucket it falls in
/// (`near`): only that bucket and its neighbours within the window's range are read (beside
/// the settings, `ahead`); `wanted` gives the program date time of the segment in them, and
/// they are used only when it falls in `near` itself (then its neighbours hold the input
/// segments it joins and the one before, as the whole window would), else the whole window
/// is read as for a playlist. Without `near` or a time-shift, [`rendition_data`].
pub(crate) async fn segment_data<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    play: &Play<'_>,
    rendition: &Rendition,
    near: Option<i64>,
    wanted: impl Fn(&RenditionData) -> Option<i64>,
) -> OriginResult<RenditionData> {
    if let (Some(bucket), Some(range)) = (near, archive_range(play)) {
        let buckets = crate::archive::buckets_near(bucket, range);
        let in_bucket = |pdt_ms| crate::archive::bucket_of(pdt_ms) == bucket;
        match rendition_data_from(cx, play, rendition, Some(&buckets)).await {
            Ok(data) if wanted(&data).is_some_and(in_bucket) => return Ok(data),
            Ok(_) | Err(OriginError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    rendition_data(cx, play, rendition).await
}

/// [`rendition_data`]; with `buckets`, the archived segments of those buckets instead of
/// the window's.
async fn rendition_data_from<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    play: &Play<'_>,
    rendition: &Rendition,
    buckets: Option<&[i64]>,
) -> OriginResult<RenditionData> {
    let channel = play.channel;
    // The archive buckets of a time-shift window do not depend on the live timelines: both
    // inputs' buckets are read in the same round trip as the switch log and the timelines.
    let range = archive_range(play);
    let archive_reads = range.map(|range| {
        InputId::ALL.map(|input| async move {
            match buckets {
                Some(buckets) => {
                    crate::archive::read_buckets(cx.objects, &channel.id, input, rendition, buckets)
                        .await
                }
                None => {
                    crate::archive::read(
                        cx.objects,
                        &channel.id,
                        input,
                        rendition,
                        range,
                        crate::timeshift::MAX_WINDOW_SEGMENTS,
                    )
                    .await
                }
            }
        })
    });
    let archived = async {
        match archive_reads {
            Some(reads) => Some(join_all(reads).await),
            None => None,
        }
    };
    let (objects, archived) = join(
        repo::rendition_objects(cx.objects, &channel.id, rendition),
        archived,
    )
    .await;
    let RenditionData { log, mut timelines } = RenditionData::parse(&objects?)?;
    if let Some(archived) = archived {
        for (input, archived) in InputId::ALL.into_iter().zip(archived) {
            let archived = archived?;
            if archived.is_empty() {
                continue;
            }
            let t = timelines[input.index()].get_or_insert_with(Timeline::default);
            let first_live = t.segments.first().map_or(u64::MAX, |s| s.seq);
            let mut merged: Vec<_> = archived
                .into_iter()
                .filter(|s| s.seq < first_live)
                .collect();
            merged.append(&mut t.segments);
            t.segments = merged;
        }
    }
    if timelines.iter().all(Option::is_none) {
        return Err(OriginError::NotFound(format!("rendition {rendition}")));
    }
    Ok(RenditionData { log, timelines })
}

/// A time-shifted manifest's window on the reference rendition (the first in key order):
/// its output sequence numbers for fixed windows, so that every rendition lists the same
/// segments; a 404 naming the retained range when the window holds no content.
async fn window_reference<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    play: &Play<'_>,
) -> OriginResult<Option<RangeInclusive<u64>>> {
    Ok(window_and_data(cx, play, None).await?.window)
}

/// A rendition's data read ahead of its use, or why it could not be read.
type Prefetched = Option<OriginResult<RenditionData>>;

/// A time-shift window, with the data read to compute it.
pub(crate) struct WindowData {
    pub window: Option<RangeInclusive<u64>>,
    /// The data of the rendition a playlist request names.
    own: Prefetched,
    /// The reference rendition and its data, when it is not that one.
    pub reference: Option<(Rendition, RenditionData)>,
}

/// [`window_reference`], with the data of `own` (the rendition a playlist request names) read
/// in the same round trip as the rendition listing and handed back for the playlist: when
/// `own` is the reference rendition, the window costs no read of its own.
async fn window_and_data<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    play: &Play<'_>,
    own: Option<&Rendition>,
) -> OriginResult<WindowData> {
    let Some(shift) = play.shift else {
        return Ok(WindowData {
            window: None,
            own: None,
            reference: None,
        });
    };
    // With the index, the first indexed rendition's data is read in the same round trip as
    // `own`'s; without it, the listing comes first.
    let first_indexed = play
        .renditions
        .and_then(|r| r.first())
        .filter(|r| Some(*r) != own);
    let data_of = |r: Option<&Rendition>| {
        let r = r.cloned();
        async move {
            match r {
                Some(r) => Some(rendition_data(cx, play, &r).await),
                None => None,
            }
        }
    };
    let (names, own_data, mut first_data) =
        join3(renditions(cx, play), data_of(own), data_of(first_indexed)).await;
    let now_ms = i64::try_from(play.now_ms).unwrap_or(i64::MAX);
    let window = |data: &RenditionData| {
        let outputs = output_segments(&data.log, data.refs());
        window_seqs(&outputs, shift, now_ms)
    };
    // The reference rendition: the first in key order with a timeline.
    for reference in names? {
        match (&own_data, own) {
            (Some(Ok(data)), Some(r)) if *r == reference => {
                return Ok(WindowData {
                    window: window(data)?,
                    own: own_data,
                    reference: None,
                });
            }
            (Some(Err(e)), Some(r)) if *r == reference => match e {
                OriginError::NotFound(_) => continue,
                e => return Err(e.clone()),
            },
            _ => {}
        }
        let data = match first_data.take() {
            Some(data) if first_indexed == Some(&reference) => data,
            _ => rendition_data(cx, play, &reference).await,
        };
        match data {
            Ok(data) => {
                return Ok(WindowData {
                    window: window(&data)?,
                    own: own_data,
                    reference: Some((reference, data)),
                });
            }
            // Indexed before its first timeline was stored.
            Err(OriginError::NotFound(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(WindowData {
        window: None,
        own: own_data,
        reference: None,
    })
}

/// Both inputs' stored masters, indexed by input, read together.
async fn masters<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    channel: &Channel,
) -> OriginResult<[Option<MasterInfo>; 2]> {
    let [a, b] = InputId::ALL;
    let (a, b) = join(
        repo::object_get(cx.objects, &keys::master(&channel.id, a)),
        repo::object_get(cx.objects, &keys::master(&channel.id, b)),
    )
    .await;
    Ok([a?, b?])
}

/// The active input's master, else the other's.
fn master_info(masters: [Option<MasterInfo>; 2], log: &SwitchLog) -> Option<MasterInfo> {
    let active = log.active().map_or(InputId::PRIMARY, |r| r.input_id());
    let [a, b] = masters;
    let (active_master, other) = if active == InputId::PRIMARY {
        (a, b)
    } else {
        (b, a)
    };
    active_master.or(other)
}

/// The stored input segments of an output segment, in order, read together.
async fn group_bytes<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    g: &Group<'_>,
) -> OriginResult<Vec<Vec<u8>>> {
    let reads = g.members.iter().map(|m| cx.objects.get(&m.segment.key));
    join_all(reads)
        .await
        .into_iter()
        .map(|object| {
            object?
                .map(|o| o.body)
                .ok_or_else(|| OriginError::NotFound(format!("segment {} (expired)", g.seq)))
        })
        .collect()
}

/// The init segment of each fMP4 segment in `segments`, in order (each key read once, all
/// together); empty when the segments are MPEG-TS.
async fn init_bytes<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    segments: &[&Segment],
) -> OriginResult<Vec<Vec<u8>>> {
    let mut keys: Vec<&str> = Vec::new();
    let mut index = Vec::with_capacity(segments.len());
    for s in segments {
        let Some(key) = s.init_key.as_deref() else {
            return Ok(Vec::new());
        };
        let i = keys.iter().position(|k| *k == key).unwrap_or_else(|| {
            keys.push(key);
            keys.len() - 1
        });
        index.push((i, s.seq));
    }
    let read = join_all(keys.iter().map(|k| cx.objects.get(k))).await;
    let mut bodies = Vec::with_capacity(read.len());
    for object in read {
        bodies.push(object?.map(|o| o.body));
    }
    index
        .into_iter()
        .map(|(i, seq)| {
            bodies.get(i).cloned().flatten().ok_or_else(|| {
                OriginError::NotFound(format!("init segment of segment {seq} (expired)"))
            })
        })
        .collect()
}
