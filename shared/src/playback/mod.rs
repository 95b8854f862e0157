//! Playback: `/out/v1/{group}/{channel}/{endpoint}/...`, packaged per request from the
//! channel's timelines (file names in [`route`]). Segment URLs are numbered by the output
//! timeline, so they are stable across requests, edges and failover.

mod cmaf;
mod dash;
mod headers;
mod route;
mod ts;

pub use headers::{cors_preflight, with_cors, CacheControl};
pub use route::{Route, MEDIA_PLAYLIST};

use crate::access::{self, TOKEN_PARAM};
use crate::error::{OriginError, OriginResult};
use crate::failover::{discontinuities_through, output_segments, SwitchLog};
use crate::hls::carry_query;
use crate::hls::master::MasterInfo;
use crate::http::{Method, Request, Response};
use crate::keys;
use crate::model::{Channel, Endpoint, InputId};
use crate::names::Name;
use crate::origin::Origin;
use crate::packaging::group::{group, join_factor, Group};
use crate::repo;
use crate::store::{KvStore, ObjectStore};
use crate::timeline::Timeline;

/// One rendition's output: the switch log and both inputs' timelines.
pub(crate) struct RenditionData {
    pub log: SwitchLog,
    pub timelines: [Option<Timeline>; 2],
}

impl RenditionData {
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

impl<K: KvStore, O: ObjectStore> Origin<K, O> {
    pub(crate) async fn playback(
        &self,
        req: &Request,
        route: &[&str],
        now_ms: u64,
    ) -> OriginResult<Response> {
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
        let endpoint = repo::endpoint(&self.kv, g.as_str(), c.as_str(), e.as_str()).await?;
        endpoint
            .access
            .check(req, &endpoint.path_prefix(), now_ms)
            .map_err(|d| OriginError::Forbidden(d.0))?;
        let channel = repo::channel(&self.kv, g.as_str(), c.as_str()).await?;
        let route = Route::parse(&endpoint, rest)?;
        // Query parameters a manifest carries onto every URI it references.
        let carried = match access::query_param(&req.query, TOKEN_PARAM) {
            Some(t) if endpoint.access.signs_urls() => format!("{TOKEN_PARAM}={t}"),
            _ => String::new(),
        };
        let manifest = |(text, cache, content_type): (String, CacheControl, &str)| {
            Response::new(200)
                .with_body(content_type, carry_query(&text, &carried))
                .with_header("cache-control", cache.value())
        };
        let origin = self
            .config
            .public_base_url
            .as_deref()
            .unwrap_or(&req.origin);
        match route {
            Route::Manifest => match endpoint.protocol {
                crate::model::OutputProtocol::Hls if endpoint.audio_separation => {
                    Ok(manifest(self.cmaf_master(&channel, &endpoint).await?))
                }
                crate::model::OutputProtocol::Hls => {
                    Ok(manifest(self.ts_master(&channel, &endpoint).await?))
                }
                crate::model::OutputProtocol::HlsCmaf => {
                    Ok(manifest(self.cmaf_master(&channel, &endpoint).await?))
                }
                crate::model::OutputProtocol::Dash => {
                    let time_url = format!("{}/time", origin.trim_end_matches('/'));
                    let (text, cache, ct) = self.mpd(&channel, &endpoint, &time_url).await?;
                    // An MPD's segment URLs are templates: the token goes on each of them.
                    Ok(Response::new(200)
                        .with_body(ct, dash::carry_on_templates(&text, &carried))
                        .with_header("cache-control", cache.value()))
                }
            },
            Route::TsPlaylist { rendition } => Ok(manifest(
                self.ts_playlist(&channel, &endpoint, &rendition).await?,
            )),
            Route::TsSegment { rendition, seq } => {
                self.ts_segment(&channel, &endpoint, &rendition, seq, None)
                    .await
            }
            Route::TsTrackSegment {
                rendition,
                kind,
                seq,
            } => {
                self.ts_segment(&channel, &endpoint, &rendition, seq, Some(kind))
                    .await
            }
            Route::CmafPlaylist { rendition, kind } => Ok(manifest(
                self.cmaf_playlist(&channel, &endpoint, &rendition, kind)
                    .await?,
            )),
            Route::Init {
                rendition,
                kind,
                version,
            } => self.cmaf_init(&channel, &rendition, kind, &version).await,
            Route::CmafSegment {
                rendition,
                kind,
                seq,
            } => {
                self.cmaf_segment(&channel, &endpoint, &rendition, kind, |g| g.seq == seq)
                    .await
            }
            Route::DashSegment {
                rendition,
                kind,
                time,
            } => {
                self.cmaf_segment(&channel, &endpoint, &rendition, kind, |g| {
                    dash::segment_time(g, kind) == Some(time)
                })
                .await
            }
        }
    }

    /// Renditions with content on either input, in key order.
    async fn renditions(&self, channel: &Channel) -> OriginResult<Vec<String>> {
        let mut all = repo::renditions(&self.objects, &channel.id, InputId::PRIMARY).await?;
        all.extend(repo::renditions(&self.objects, &channel.id, InputId::BACKUP).await?);
        all.sort();
        all.dedup();
        Ok(all)
    }

    async fn rendition(&self, channel: &Channel, rendition: &str) -> OriginResult<RenditionData> {
        let log = repo::switch_log(&self.objects, &channel.id).await?;
        let timelines = repo::rendition_timelines(&self.objects, &channel.id, rendition).await?;
        if timelines.iter().all(Option::is_none) {
            return Err(OriginError::NotFound(format!("rendition {rendition}")));
        }
        Ok(RenditionData { log, timelines })
    }

    /// The active input's master, else the other's.
    async fn master_info(
        &self,
        channel: &Channel,
        log: &SwitchLog,
    ) -> OriginResult<Option<MasterInfo>> {
        let active = log.active().map_or(InputId::PRIMARY, |r| r.input_id());
        for input in [active, other(active)] {
            let info = repo::object_get(&self.objects, &keys::master(&channel.id, input)).await?;
            if info.is_some() {
                return Ok(info);
            }
        }
        Ok(None)
    }

    /// The stored input segments of an output segment, in order.
    async fn group_bytes(&self, channel: &Channel, g: &Group<'_>) -> OriginResult<Vec<Vec<u8>>> {
        let _ = channel;
        let mut parts = Vec::with_capacity(g.members.len());
        for m in &g.members {
            let object = self
                .objects
                .get(&m.segment.key)
                .await?
                .ok_or_else(|| OriginError::NotFound(format!("segment {} (expired)", g.seq)))?;
            parts.push(object.body);
        }
        Ok(parts)
    }
}

fn other(input: InputId) -> InputId {
    if input == InputId::PRIMARY {
        InputId::BACKUP
    } else {
        InputId::PRIMARY
    }
}
