//! DASH: a dynamic MPD with one Period per output run (anchored in the switch log, so Period
//! ids and starts never change), SegmentTemplate `$Time$` addressing and a SegmentTimeline per
//! representation. Media and init segments are the CMAF ones.

use super::cmaf::init_name;
use super::{CacheControl, Ctx};
use crate::dash::{write_mpd, AdaptationSet, Mpd, MpdType, Period, Representation};
use crate::error::{OriginError, OriginResult};
use crate::failover::{output_segments, Anchor};
use crate::media::time::rescale;
use crate::origin::Origin;
use crate::packaging::group::{group, join_factor, newest_within, Group};
use crate::packaging::probe::Kind;
use crate::packaging::reps::{representations, Rep};
use crate::store::{KvStore, ObjectStore};
use std::collections::BTreeMap;

const MPD_TYPE: &str = "application/dash+xml";

/// The `$Time$` of an output segment's track: the video's earliest presentation time (its
/// first PTS; CMAF fragments carry composition offsets and no edit list), the audio's `tfdt`.
pub(super) fn segment_time(g: &Group<'_>, kind: Kind) -> Option<u64> {
    match kind {
        Kind::Video => g.segment.media_start,
        Kind::Audio => g.segment.track(Kind::Audio).map(|t| t.t),
    }
}

fn segment_entry(g: &Group<'_>, kind: Kind) -> Option<(u64, u64)> {
    Some((segment_time(g, kind)?, g.segment.track(kind)?.d))
}

/// `@frameRate` (FrameRateType: an integer or a ratio).
fn frame_rate(f: f64) -> String {
    let milli = (f * 1000.0).round() as u64;
    if milli.is_multiple_of(1000) {
        (milli / 1000).to_string()
    } else {
        format!("{milli}/1000")
    }
}

impl<K: KvStore, O: ObjectStore> Origin<K, O> {
    pub(super) async fn mpd(
        &self,
        cx: &Ctx<'_>,
        time_url: &str,
    ) -> OriginResult<(String, CacheControl, &'static str)> {
        let (channel, endpoint) = (cx.channel, cx.endpoint);
        let data = self.channel_data(channel).await?;
        let tracks = data.tracks();
        let (video, audio) = representations(&tracks, data.master.as_ref(), endpoint);
        // Each representation's segments inside the manifest window.
        let mut listed: Vec<(Rep<'_>, Vec<Group<'_>>)> = Vec::new();
        for rep in video.into_iter().chain(audio) {
            let Some(t) = data.renditions.get(rep.rendition) else {
                continue;
            };
            let refs = [t[0].as_ref(), t[1].as_ref()];
            let target = refs
                .iter()
                .flatten()
                .map(|t| t.target_duration)
                .max()
                .unwrap_or(1);
            let k = join_factor(endpoint.segment_duration, target);
            let mut groups = group(&output_segments(&data.log, refs), k);
            groups.retain(|g| segment_entry(g, rep.kind()).is_some());
            let keep = newest_within(&groups, endpoint.manifest_window);
            groups.drain(..groups.len() - keep);
            if !groups.is_empty() {
                listed.push((rep, groups));
            }
        }
        let first = listed
            .first()
            .and_then(|(_, g)| g.first())
            .ok_or_else(|| OriginError::NotFound("no content has been ingested yet".into()))?;
        // Channels anchored before anchors existed: one run from the first listed segment.
        let fallback = Anchor {
            from_seq: 0,
            start_ms: first.segment.pdt_ms,
            media_time: first.segment.media_start.unwrap_or(0),
        };
        let anchor = |g: &Group<'_>| {
            g.members
                .first()
                .and_then(|m| data.log.anchor_for(m.seq))
                .copied()
                .unwrap_or(fallback)
        };
        let mut periods: BTreeMap<u64, (Anchor, Vec<AdaptationSet>)> = BTreeMap::new();
        for (rep, groups) in &listed {
            let mut runs: BTreeMap<u64, (Anchor, Vec<&Group<'_>>)> = BTreeMap::new();
            for g in groups {
                let a = anchor(g);
                runs.entry(a.from_seq).or_insert((a, Vec::new())).1.push(g);
            }
            for (from, (a, gs)) in runs {
                let kind = rep.kind();
                let info = rep.info;
                let init = gs[0]
                    .segment
                    .track(kind)
                    .map(|t| t.init.clone())
                    .unwrap_or_default();
                let representation = Representation {
                    id: rep.id(),
                    bandwidth: rep.bandwidth,
                    codecs: info.codec.clone(),
                    width: info.width,
                    height: info.height,
                    frame_rate: rep.frame_rate.map(frame_rate),
                    sample_rate: info.sample_rate,
                    channels: info.channels,
                    timescale: info.timescale,
                    presentation_time_offset: rescale(a.media_time, 90_000, info.timescale)
                        .unwrap_or(0),
                    initialization: format!("{}/{}", rep.rendition, init_name(kind, &init)),
                    media: format!("{}/{}_t$Time$.m4s", rep.rendition, kind.name()),
                    start_number: gs[0].seq,
                    segments: gs.iter().filter_map(|g| segment_entry(g, kind)).collect(),
                };
                let sets = &mut periods.entry(from).or_insert((a, Vec::new())).1;
                let set_id = match kind {
                    Kind::Video => 1,
                    Kind::Audio => 2,
                };
                match sets.iter_mut().find(|s| s.id == set_id) {
                    Some(set) => set.representations.push(representation),
                    None => sets.push(AdaptationSet {
                        id: set_id,
                        kind,
                        lang: rep.language.clone(),
                        representations: vec![representation],
                    }),
                }
            }
        }
        let publish_time_ms = listed
            .iter()
            .filter_map(|(_, g)| g.last()?.members.last().map(|m| m.segment.arrived_ms))
            .max()
            .map_or(0, |ms| i64::try_from(ms).unwrap_or(i64::MAX));
        let mpd = Mpd {
            mpd_type: MpdType::Dynamic {
                publish_time_ms,
                min_update_period_s: endpoint.min_update_period,
                time_shift_buffer_depth_s: endpoint.manifest_window,
                suggested_presentation_delay_s: endpoint.suggested_presentation_delay,
            },
            min_buffer_time_s: endpoint.min_buffer_time,
            utc_timing_url: Some(time_url.to_owned()),
            periods: periods
                .into_iter()
                .map(|(from, (a, mut sets))| {
                    sets.sort_by_key(|s| s.id);
                    Period {
                        id: format!("p{from}"),
                        start_ms: a.start_ms,
                        adaptation_sets: sets,
                    }
                })
                .collect(),
        };
        let cache = CacheControl::Media {
            target_duration: endpoint.min_update_period,
        };
        Ok((write_mpd(&mpd), cache, MPD_TYPE))
    }
}

/// Appends `query` to the SegmentTemplate URLs of an MPD (their files sit below the endpoint).
pub(super) fn carry_on_templates(mpd: &str, query: &str) -> String {
    if query.is_empty() {
        return mpd.to_owned();
    }
    let mut out = mpd.to_owned();
    for attr in ["initialization=\"", "media=\""] {
        let mut from = 0;
        while let Some(i) = out[from..].find(attr) {
            let start = from + i + attr.len();
            let Some(len) = out[start..].find('"') else {
                break;
            };
            let end = start + len;
            let sep = if out[start..end].contains('?') {
                "&amp;"
            } else {
                "?"
            };
            out.insert_str(end, &format!("{sep}{query}"));
            from = end + sep.len() + query.len();
        }
    }
    out
}
