//! Playback: `/out/v1/{group}/{channel}/{endpoint}/...`. The master is `{manifest_name}.m3u8`;
//! below it each rendition has `{rendition}/media.m3u8` and segments `{rendition}/{seq}.ts`.
//! Segment URLs are numbered by our timeline, so they are stable across requests and edges.

mod headers;

pub use headers::{cors_preflight, with_cors, CacheControl};

use crate::access::{self, TOKEN_PARAM};
use crate::error::{OriginError, OriginResult};
use crate::failover::{discontinuities_through, output_segments};
use crate::hls::master::{rendition_id, MasterInfo, Variant};
use crate::hls::{carry_query, live_window, render_master, render_media, MasterEntry, MediaWindow};
use crate::http::{Method, Request, Response};
use crate::keys;
use crate::model::{Channel, Endpoint, InputId};
use crate::names::Name;
use crate::origin::Origin;
use crate::repo;
use crate::store::{KvStore, ObjectStore};
use crate::timeline::{Timeline, TIMESCALE};

/// File name of every rendition playlist below its rendition directory.
pub const MEDIA_PLAYLIST: &str = "media.m3u8";

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
        let master_file = endpoint.manifest_file();
        // Query parameters a manifest carries onto every URI it references.
        let carried = match access::query_param(&req.query, TOKEN_PARAM) {
            Some(t) if endpoint.access.signs_urls() => format!("{TOKEN_PARAM}={t}"),
            _ => String::new(),
        };
        let (text, cache) = match rest {
            [file] if *file == master_file => self.master(&channel, &endpoint).await?,
            [dirs @ .., file] if !dirs.is_empty() => {
                let rendition = dirs.join("/");
                if *file == MEDIA_PLAYLIST {
                    self.media_playlist(&channel, &endpoint, &rendition).await?
                } else if let Some(seq) = file.strip_suffix(".ts").and_then(|n| n.parse().ok()) {
                    return self.segment(&channel, &rendition, seq).await;
                } else {
                    return Err(OriginError::NotFound((*file).to_owned()));
                }
            }
            _ => return Err(OriginError::NotFound("playback file".into())),
        };
        Ok(Response::new(200)
            .with_body(
                "application/vnd.apple.mpegurl",
                carry_query(&text, &carried),
            )
            .with_header("cache-control", cache.value()))
    }

    /// Renditions with content on either input, in key order.
    async fn renditions(&self, channel: &Channel) -> OriginResult<Vec<String>> {
        let mut all = repo::renditions(&self.objects, &channel.id, InputId::PRIMARY).await?;
        all.extend(repo::renditions(&self.objects, &channel.id, InputId::BACKUP).await?);
        all.sort();
        all.dedup();
        Ok(all)
    }

    async fn master(
        &self,
        channel: &Channel,
        endpoint: &Endpoint,
    ) -> OriginResult<(String, CacheControl)> {
        let available = self.renditions(channel).await?;
        if available.is_empty() {
            return Err(OriginError::NotFound(
                "no content has been ingested yet".into(),
            ));
        }
        // The active input's master, else the other's, else one made from the timelines.
        let log = repo::switch_log(&self.objects, &channel.id).await?;
        let active = log.active().map_or(InputId::PRIMARY, |r| r.input_id());
        let mut info: Option<MasterInfo> = None;
        for input in [active, other(active)] {
            if info.is_none() {
                info = repo::object_get(&self.objects, &keys::master(&channel.id, input)).await?;
            }
        }
        let info = match info {
            Some(info) => info,
            None => self.synthesized_master(channel, &available).await?,
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
        let text = render_master(endpoint, info.independent_segments, &variants, &audio)
            .ok_or_else(|| {
                OriginError::NotFound("no rendition within the endpoint's bitrate range".into())
            })?;
        Ok((text, CacheControl::Master))
    }

    /// A master for an encoder that sent only media playlists: peak bitrates from the timelines.
    async fn synthesized_master(
        &self,
        channel: &Channel,
        renditions: &[String],
    ) -> OriginResult<MasterInfo> {
        let mut info = MasterInfo::default();
        for r in renditions {
            let timelines = repo::rendition_timelines(&self.objects, &channel.id, r).await?;
            let peak = timelines
                .iter()
                .flatten()
                .flat_map(|t| &t.segments)
                .filter(|s| s.duration > 0)
                .map(|s| s.size * 8 * TIMESCALE / s.duration)
                .max()
                .unwrap_or(0);
            info.variants.push(Variant {
                rendition: rendition_id(r).to_owned(),
                bandwidth: peak,
                average_bandwidth: None,
                codecs: None,
                resolution: None,
                frame_rate: None,
                audio: None,
            });
        }
        Ok(info)
    }

    async fn media_playlist(
        &self,
        channel: &Channel,
        endpoint: &Endpoint,
        rendition: &str,
    ) -> OriginResult<(String, CacheControl)> {
        let log = repo::switch_log(&self.objects, &channel.id).await?;
        let timelines = repo::rendition_timelines(&self.objects, &channel.id, rendition).await?;
        let refs = [timelines[0].as_ref(), timelines[1].as_ref()];
        let all = output_segments(&log, refs);
        if all.is_empty() {
            return Err(OriginError::NotFound(format!("rendition {rendition}")));
        }
        let target_duration = refs
            .iter()
            .flatten()
            .map(|t| t.target_duration)
            .max()
            .unwrap_or(1);
        let segments = live_window(&all, target_duration, endpoint.segment_count);
        let discontinuity_sequence = segments
            .first()
            .and_then(|s| s.seq.checked_sub(1))
            .map_or(0, |before| {
                discontinuities_through(&log, refs, rendition, before)
            });
        let window = MediaWindow {
            target_duration,
            discontinuity_sequence,
            segments,
        };
        let text = render_media(&window, endpoint.program_date_time_interval, |s| {
            format!("{}.ts", s.seq)
        });
        Ok((text, CacheControl::Media { target_duration }))
    }

    async fn segment(
        &self,
        channel: &Channel,
        rendition: &str,
        seq: u64,
    ) -> OriginResult<Response> {
        let missing = || OriginError::NotFound(format!("segment {rendition}/{seq}"));
        let log = repo::switch_log(&self.objects, &channel.id).await?;
        let (record, _) = log.record_for(seq).ok_or_else(missing)?;
        let input_seq = record.input_seq(seq).ok_or_else(missing)?;
        let key = keys::timeline(&channel.id, record.input_id(), rendition);
        let timeline: Timeline = repo::object_get(&self.objects, &key)
            .await?
            .ok_or_else(missing)?;
        let entry = timeline.find(input_seq).ok_or_else(missing)?;
        let object = self.objects.get(&entry.key).await?.ok_or_else(missing)?;
        Ok(Response::new(200)
            .with_body("video/mp2t", object.body)
            .with_header("cache-control", CacheControl::Segment.value()))
    }
}

fn other(input: InputId) -> InputId {
    if input == InputId::PRIMARY {
        InputId::BACKUP
    } else {
        InputId::PRIMARY
    }
}
