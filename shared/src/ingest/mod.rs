//! Ingest: `PUT /in/v1/{group}/{channel}/{1|2}/{path...}` from an encoder, with Basic auth.
//! Segments are stored whole; media playlists commit them to the input's timeline.

mod claim;
mod commit;
mod extinf;
mod media;
mod mpd;
pub mod switch;
mod track;
mod upload;

use crate::auth::{basic_credentials, constant_time_eq};
use crate::channel_cache::ChannelCache;
use crate::channel_state::{self, CommitHome, Forwarded};
use crate::context::Ctx;
use crate::error::{OriginError, OriginResult};
use crate::hls::master::MasterInfo;
use crate::http::{Method, Request, Response};
use crate::ingest::media::ingest_media;
use crate::ingest_memory::IngestMemory;
use crate::keys;
use crate::model::{Channel, InputId, InputProtocol};
use crate::names::{Name, Rendition};
use crate::paths;
use crate::repo;
use crate::store::{KvStore, Metadata, ObjectStore};
use crate::timeline::PROBE_METADATA;
use m3u8_rs::Playlist;

/// Largest playlist accepted.
pub const MAX_PLAYLIST_BYTES: usize = 1024 * 1024;
/// Object metadata holding a segment's first PTS (raw 33-bit, 90 kHz).
pub const PTS_METADATA: &str = "pts";
/// Smallest plausible MPEG-TS segment: one packet.
const TS_PACKET: usize = 188;

pub(crate) async fn ingest<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    (channels, memory, home): (&ChannelCache, &IngestMemory, Option<&CommitHome>),
    req: &Request,
    route: &[&str],
    now_ms: u64,
) -> OriginResult<Response> {
    let [g, c, n, rest @ ..] = route else {
        return Err(OriginError::NotFound("ingest route".into()));
    };
    let not_found = || OriginError::NotFound(format!("channel {g}/{c}"));
    let (g, c) = (
        Name::parse(g).ok_or_else(not_found)?,
        Name::parse(c).ok_or_else(not_found)?,
    );
    let input =
        InputId::parse(n).ok_or_else(|| OriginError::NotFound(format!("input {n} (1 or 2)")))?;
    let key = keys::channel(&g, &c);
    let (mut channel, cached) = match channels.get(&key, now_ms) {
        Some(channel) => (channel, true),
        None => (read_channel(cx, channels, (&g, &c), now_ms).await?, false),
    };
    let mut checked = check_basic(req, &channel, input);
    if checked.is_err() && cached {
        // Credentials just rotated elsewhere work without waiting for the cache.
        channel = read_channel(cx, channels, (&g, &c), now_ms).await?;
        checked = check_basic(req, &channel, input);
    }
    if let Err(e) = checked {
        let e = failed_login(cx, req, now_ms, e).await;
        // DASH-IF ingest answers bad credentials with 403, and its senders expect it.
        return Err(match (channel.protocol, e) {
            (InputProtocol::Cmaf, OriginError::IngestUnauthorized) => {
                OriginError::Forbidden("missing or invalid ingest credentials")
            }
            (_, e) => e,
        });
    }
    match req.method {
        Method::Put | Method::Post => {}
        // Retention is the origin's: an encoder's delete is acknowledged and ignored.
        Method::Delete => return Ok(Response::new(204)),
        _ => return Err(OriginError::MethodNotAllowed),
    }
    if let Some(home) = home.filter(|_| channel_state::commits(channel.protocol, &rest.join("/"))) {
        // Channel state in the channel's object: the commit runs there (docs/storage.md).
        let prefix = keys::segment_upload(&channel.id, input, "");
        let forwarded = Forwarded {
            request: req.clone(),
            uploads: memory.take_uploads(&prefix, now_ms),
            stats: cx.stats.enabled(),
        };
        let committed = home(channel.id.clone(), forwarded, now_ms).await?;
        // Recorded here, in the Worker's backend: the stats API reads that one (docs/stats.md).
        for point in &committed.points {
            cx.stats.record(point);
        }
        return Ok(committed.response);
    }
    if channel.protocol.per_track() {
        return ingest_per_track(cx, &channel, input, rest, &req.body, now_ms).await;
    }
    let file = paths::validate(&rest.join("/"))?.to_owned();
    match (channel.protocol, paths::extension(&file).as_str()) {
        (_, "m3u8") => {
            let at = (&channel, input, memory);
            ingest_playlist(cx, at, &file, &req.body, now_ms).await
        }
        (InputProtocol::Hls, "ts") => {
            ingest_segment(cx, (&channel, input, memory), &file, &req.body, now_ms).await
        }
        (InputProtocol::HlsCmaf, "mp4" | "m4s" | "cmfv" | "cmfa") => {
            ingest_fmp4(cx, (&channel, input, memory), &file, &req.body, now_ms).await
        }
        (InputProtocol::Hls, other) => Err(OriginError::UnsupportedMediaType(format!(
            "`.{other}`; an HLS input takes .m3u8 playlists and .ts segments"
        ))),
        (InputProtocol::HlsCmaf, other) => Err(OriginError::UnsupportedMediaType(format!(
            "`.{other}`; an HLS_CMAF input takes .m3u8 playlists and fMP4 init and media \
             segments (.mp4, .m4s, .cmfv, .cmfa)"
        ))),
        (InputProtocol::Dash | InputProtocol::Cmaf, _) => {
            Err(OriginError::NotFound("ingest route".into()))
        }
    }
}

/// The channel from the key-value store, kept in `channels` for the next requests.
async fn read_channel<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    channels: &ChannelCache,
    (g, c): (&Name, &Name),
    now_ms: u64,
) -> OriginResult<Channel> {
    let channel = repo::channel(cx.kv, g, c).await?;
    channels.insert(&keys::channel(g, c), &channel, now_ms);
    Ok(channel)
}

/// A DASH or CMAF (DASH-IF ingest) upload: a manifest, or one track's init or media segment.
async fn ingest_per_track<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    channel: &Channel,
    input: InputId,
    route: &[&str],
    body: &[u8],
    now_ms: u64,
) -> OriginResult<Response> {
    // DASH-IF ingest's `Streams(<track>)` form: the track is named by the last part.
    let (dir, last) = route.split_at(route.len().saturating_sub(1));
    let streams = last.first().and_then(|p| paths::streams_name(p));
    let file = match streams {
        Some(name) => [dir, &[name]].concat().join("/"),
        None => route.join("/"),
    };
    let file = paths::validate(&file)?;
    let extension = paths::extension(file);
    match extension.as_str() {
        "mpd" => return mpd::ingest_mpd(cx, channel, input, file, body).await,
        // DASH-IF ingest may send HLS playlists beside the tracks: the tracks say it all.
        "m3u8" if channel.protocol == InputProtocol::Cmaf => return Ok(Response::new(204)),
        "m3u8" | "ts" => {
            return Err(OriginError::UnsupportedMediaType(format!(
                "`.{extension}`; a {} input takes fMP4 init and media segments, one track per \
                 path{}",
                channel.protocol.name(),
                if channel.protocol == InputProtocol::Dash {
                    ", and .mpd manifests"
                } else {
                    ""
                }
            )))
        }
        _ => {}
    }
    let rendition = match streams {
        Some(name) => {
            let stem = name.split('.').next().unwrap_or(name);
            Rendition::parse(&[dir, &[stem]].concat().join("/"))
        }
        None => paths::track_rendition(file),
    }
    .ok_or_else(|| {
        OriginError::BadRequest(format!(
            "`{file}` names no track: put each track in its own directory \
             (`video/init.cmfi`, `video/1.cmfv`), use `Streams(video.cmfv)`, or ffmpeg's DASH \
             names (`init-stream0.m4s`, `chunk-stream0-00001.m4s`)"
        ))
    })?;
    track::ingest_track(cx, channel, input, file, &rendition, body, now_ms).await
}

/// An init or media segment of an HLS_CMAF input, stored whole. An init segment must parse
/// (its tracks are what every segment is read with); media segments are read when a playlist
/// lists them, with the init segment the playlist names.
async fn ingest_fmp4<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    (channel, input, memory): (&Channel, InputId, &IngestMemory),
    file: &str,
    body: &[u8],
    now_ms: u64,
) -> OriginResult<Response> {
    if !track::is_fmp4(body) {
        return Err(OriginError::UnsupportedMediaType(format!(
            "`{file}` is not a fragmented MP4 segment (it does not start with ftyp, moov, \
             styp, sidx, prft, emsg or moof)"
        )));
    }
    if track::is_init(body) {
        track::check_init(file, body)?;
        upload::store_init(cx, (channel, input), file, body, now_ms).await?;
    } else {
        let metadata = Metadata::new();
        let at = (channel, input, memory);
        upload::store_segment(cx, at, file, body, metadata, now_ms).await?;
    }
    Ok(Response::new(201))
}

async fn ingest_segment<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    (channel, input, memory): (&Channel, InputId, &IngestMemory),
    file: &str,
    body: &[u8],
    now_ms: u64,
) -> OriginResult<Response> {
    if body.len() < TS_PACKET || body[0] != 0x47 {
        return Err(OriginError::BadRequest(format!(
            "`{file}` is not an MPEG-TS segment (expected sync byte 0x47 and at least {TS_PACKET} bytes)"
        )));
    }
    if !body.len().is_multiple_of(TS_PACKET) {
        return Err(OriginError::BadRequest(format!(
            "`{file}` is cut off: {} bytes is not a whole number of {TS_PACKET}-byte packets",
            body.len()
        )));
    }
    let mut metadata = Metadata::new();
    if let Some(probe) = crate::timeline::probe(body) {
        metadata.insert(PTS_METADATA.to_owned(), probe.pts.to_string());
        if let Ok(json) = serde_json::to_string(&probe) {
            metadata.insert(PROBE_METADATA.to_owned(), json);
        }
    } else if let Some(pts) = crate::media::ts::first_pts(body) {
        metadata.insert(PTS_METADATA.to_owned(), pts.get().to_string());
    }
    upload::store_segment(cx, (channel, input, memory), file, body, metadata, now_ms).await?;
    Ok(Response::new(201))
}

async fn ingest_playlist<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    (channel, input, memory): (&Channel, InputId, &IngestMemory),
    file: &str,
    body: &[u8],
    now_ms: u64,
) -> OriginResult<Response> {
    if body.len() > MAX_PLAYLIST_BYTES {
        return Err(OriginError::PayloadTooLarge {
            limit: MAX_PLAYLIST_BYTES,
        });
    }
    std::str::from_utf8(body)
        .map_err(|e| OriginError::MalformedPlaylist(format!("not UTF-8: {e}")))?;
    if !body.starts_with(b"#EXTM3U") {
        return Err(OriginError::MalformedPlaylist(
            "does not start with #EXTM3U".into(),
        ));
    }
    let playlist = m3u8_rs::parse_playlist_res(body).map_err(|e| parse_error(body, e))?;
    match playlist {
        Playlist::MasterPlaylist(pl) => {
            let info = MasterInfo::from_playlist(file, &pl)?;
            repo::object_put(cx.objects, &keys::master(&channel.id, input), &info).await?;
            Ok(Response::new(201))
        }
        Playlist::MediaPlaylist(pl) => {
            // UTF-8 was checked above; durations are read strictly from the text.
            let text = String::from_utf8_lossy(body);
            let durations = extinf::durations(&text)?;
            ingest_media(cx, (channel, input, memory), file, &pl, &durations, now_ms).await
        }
    }
}

/// Counts a failed login from the client's address; past [`MAX_FAILED_LOGINS`] in a
/// minute the answer becomes 429. Valid credentials are never throttled, so an encoder on
/// either input keeps working beside an attacker at the same address.
async fn failed_login<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    req: &Request,
    now_ms: u64,
    denied: OriginError,
) -> OriginError {
    let Some(ip) = req.client_ip else {
        return denied;
    };
    let minute = now_ms / 60_000;
    let key = keys::failed_logins(&client_block(ip), minute);
    let count: u64 = match repo::kv_get(cx.kv, &key).await {
        Ok(c) => c.unwrap_or(0),
        Err(_) => return denied,
    };
    let retry = OriginError::TooManyAttempts {
        retry_after_s: 60 - (now_ms / 1000) % 60,
    };
    if count >= MAX_FAILED_LOGINS {
        return retry;
    }
    // KV refuses more than one write per second per key: a flood is throttled too.
    let value = (count + 1).to_string();
    match cx
        .kv
        .put_expiring(&key, value.as_bytes(), THROTTLE_TTL_S)
        .await
    {
        Ok(()) => denied,
        Err(_) => retry,
    }
}

/// The unit failed logins are counted per: an IPv4 address, or an IPv6 /64 (one subscriber's
/// allocation, inside which a client can pick any address).
fn client_block(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => v4.to_string(),
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let net = std::net::Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1));
                format!("{net}/64")
            }
        },
    }
}

/// Failed-login counters expire after this many seconds (one minute's window, plus slack;
/// Workers KV's shortest expiry is 60 s).
const THROTTLE_TTL_S: u64 = 120;

/// Failed ingest logins accepted per client address per minute before answering 429.
pub const MAX_FAILED_LOGINS: u64 = 20;

/// Describes a parser failure by kind and byte offset, without echoing the body.
fn parse_error(body: &[u8], e: nom::Err<nom::error::Error<&[u8]>>) -> OriginError {
    OriginError::MalformedPlaylist(match e {
        nom::Err::Incomplete(_) => "truncated".into(),
        nom::Err::Error(e) | nom::Err::Failure(e) => format!(
            "parser stopped ({:?}) at byte {}",
            e.code,
            body.len().saturating_sub(e.input.len())
        ),
    })
}

/// Checks the input's Basic credentials in constant time.
fn check_basic(req: &Request, channel: &Channel, input: InputId) -> OriginResult<()> {
    let expected = channel.input(input);
    let ok = req
        .header("authorization")
        .and_then(basic_credentials)
        .is_some_and(|(user, pass)| {
            // Both compared always, so timing does not tell which one was wrong.
            let u = constant_time_eq(user.as_bytes(), expected.username.as_bytes());
            let p = constant_time_eq(pass.as_bytes(), expected.password.as_bytes());
            u & p
        });
    if ok {
        Ok(())
    } else {
        Err(OriginError::IngestUnauthorized)
    }
}
