//! DASH: a dynamic MPD with one Period per output run (anchored in the switch log, so Period
//! ids and starts never change), SegmentTemplate `$Time$` addressing and a SegmentTimeline per
//! representation. Media and init segments are the CMAF ones.
//!
//! Time-shift (the parameters of [`crate::timeshift`]) lists the same segments as
//! HLS does for the same parameters, with archived segments merged back in:
//! - `start` + `vodend`: a static MPD (ISO/IEC 23009-1 5.3.1.2) for VOD and harvest: no
//!   `availabilityStartTime`, `publishTime` or `UTCTiming`; the first listed segment plays at
//!   0 (`Period@start` 0, `presentationTimeOffset` = its media time), later runs start at
//!   their wall-clock distance from it; `mediaPresentationDuration` ends with the last listed
//!   segment. Relative `$Time$` URLs below the endpoint, as live.
//! - `start` (+ `end`): the live MPD's Periods (same ids, wall-clock starts) listing from the
//!   window's first segment on, with `timeShiftBufferDepth` reaching back to it.
//! - `offset`: the live MPD with `availabilityStartTime` moved `offset` seconds past the epoch:
//!   the whole presentation sits `offset` later on the wall clock, so its live edge is
//!   `now - offset` for clients that compute it from the clock (dash.js) and from the newest
//!   segment (Shaka, which derives the edge from the SegmentTimeline) alike.
//! - `end` in the past: the window is final. Following the DASH-IF timing model ("End of live
//!   content"), the MPD stays dynamic with the same timeline, loses `minimumUpdatePeriod` and
//!   `timeShiftBufferDepth` (infinite: all it lists stays playable) and gives its last Period
//!   a duration, so clients stop polling and play to the end.

use super::cmaf::init_name;
use super::route::{storage_dir, storage_dir_clock};
use super::{CacheControl, Play};
use crate::context::Ctx;
use crate::dash::{
    availability_shift_ms, is_vod, select_mpd, window_of, write_mpd, AdaptationSet, Mpd, MpdType,
    Period, Representation,
};
use crate::error::{OriginError, OriginResult};
use crate::failover::{output_segments, Anchor};
use crate::media::mp4::TrackKind;
use crate::media::time::rescale;
use crate::output::group::{group, join_factor, target_duration as output_target_duration, Group};
use crate::output::representations::{representations, Rep};
use crate::playback::cmaf::channel_data_with;
use crate::store::{KvStore, ObjectStore};
use crate::timeshift::TimeShift;
use std::collections::BTreeMap;

const MPD_TYPE: &str = "application/dash+xml";

/// The `$Time$` of an output segment's track in its `timescale`: the video's earliest
/// presentation time (its first PTS, kept at 90 kHz in the timeline; CMAF fragments carry
/// composition offsets and no edit list), the audio's `tfdt`. fMP4 input keeps the encoder's
/// timescales (ffmpeg's video is 15360), coarser than 90 kHz, so the rescale is exact.
pub(super) fn segment_time(g: &Group<'_>, kind: TrackKind, timescale: u32) -> Option<u64> {
    match kind {
        TrackKind::Video => rescale(g.segment.media_start?, 90_000, timescale),
        TrackKind::Audio => g.segment.track(TrackKind::Audio).map(|t| t.t),
    }
}

fn segment_entry(g: &Group<'_>, kind: TrackKind, timescale: u32) -> Option<(u64, u64)> {
    Some((segment_time(g, kind, timescale)?, g.segment.track(kind)?.d))
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

/// `Cache-Control` of an MPD whose window is over and complete: it never changes again. A day
/// keeps CDN copies from outliving the archive's retention (whole days) by more than a day.
const FINISHED_MPD_MAX_AGE: u64 = 86_400;

/// One representation and the output segments its MPD lists.
type Listed<'a> = (Rep<'a>, Vec<Group<'a>>);

/// An output run (one Period): its anchor and each representation's groups in it.
type Run<'r, 'a> = (Anchor, Vec<(&'r Rep<'a>, Vec<&'r Group<'a>>)>);

/// Where a run's media sits in the MPD: `Period@start` and the media time (90 kHz) at it.
#[derive(Debug, Clone, Copy)]
struct PeriodOrigin {
    start_ms: i64,
    media_time: u64,
}

/// Wall-clock Unix ms of media time `m` (90 kHz) in the run anchored at `a`.
fn wall_clock_ms(a: &Anchor, m: u64) -> i64 {
    let delta = i128::from(m) - i128::from(a.media_time);
    i64::try_from(i128::from(a.start_ms) + delta / 90).unwrap_or(i64::MAX)
}

/// End of a segment list in 90 kHz ticks (its last `t + d`, rescaled).
fn end_ticks(segments: &[(u64, u64)], timescale: u32) -> Option<u64> {
    let (t, d) = segments.last()?;
    rescale(t + d, timescale, 90_000)
}

/// Milliseconds from 90 kHz ticks, rounded up (a duration never cuts content short).
fn ceil_ms(ticks: u64) -> u64 {
    ticks.div_ceil(90)
}

/// The MPD: live, or time-shifted (see the module docs). Returns the document, its
/// `Cache-Control` value and content type.
pub(super) async fn mpd<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    play: &Play<'_>,
    time_url: &str,
) -> OriginResult<(String, String, &'static str)> {
    let (channel, endpoint, shift) = (play.channel, play.endpoint, play.shift);
    let now_ms = i64::try_from(play.now_ms).unwrap_or(i64::MAX);
    // Time-shifted: archived segments of the window go back in front of the live ones.
    let data = channel_data_with(cx, play, shift.is_some()).await?;
    let tracks = data.tracks();
    let (video, audio) = representations(&tracks, data.master.as_ref(), endpoint);
    // Each representation's segments inside the window.
    let mut listed: Vec<Listed<'_>> = Vec::new();
    let mut outside = None;
    let (mut finished, mut complete) = (true, true);
    // A fixed window's output numbers on the first representation: all list the same.
    let mut reference = None;
    // The longest representation's target duration (whole seconds).
    let mut target_duration = 1;
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
        groups.retain(|g| segment_entry(g, rep.kind(), rep.info.timescale).is_some());
        // As an HLS playlist of these segments would declare it.
        target_duration = target_duration.max(output_target_duration(&groups, target, k));
        let outputs: Vec<_> = groups.iter().map(Group::output).collect();
        let window = endpoint.manifest_window;
        let selection = select_mpd(&outputs, shift, now_ms, window, reference.as_ref());
        let selection = match selection {
            Ok(s) => s,
            Err(e) => {
                outside.get_or_insert(e);
                continue;
            }
        };
        if reference.is_none() {
            reference = shift.and_then(|shift| window_of(&outputs, &selection, shift));
        }
        drop(outputs);
        finished &= selection.finished;
        complete &= selection.complete;
        groups.truncate(selection.range.end);
        groups.drain(..selection.range.start);
        if !groups.is_empty() {
            listed.push((rep, groups));
        }
    }
    let first = listed.first().and_then(|(_, g)| g.first()).ok_or_else(|| {
        outside.unwrap_or_else(|| OriginError::NotFound("no content has been ingested yet".into()))
    })?;
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
    // Output runs (one Period each), with each representation's groups in the run.
    let mut runs: BTreeMap<u64, Run<'_, '_>> = BTreeMap::new();
    for (rep, groups) in &listed {
        for g in groups {
            let a = anchor(g);
            let reps = &mut runs.entry(a.from_seq).or_insert((a, Vec::new())).1;
            match reps.iter_mut().find(|(r, _)| r.id() == rep.id()) {
                Some((_, gs)) => gs.push(g),
                None => reps.push((rep, vec![g])),
            }
        }
    }
    let vod = shift.is_some_and(is_vod);
    let origins = period_origins(&runs, vod);
    // Encrypted endpoints: each AdaptationSet's ContentProtection (its track type's key;
    // with rotation no key: each segment names its own in band).
    let protected = match super::sample_enc::method(play) {
        Some((enc, scheme)) => {
            let keys = if super::sample_enc::rotating(enc) {
                None
            } else {
                Some(super::sample_enc::keys(cx, play, 0).await?)
            };
            let of = |kind| super::sample_enc::content_protection(enc, scheme, keys.as_ref(), kind);
            Some((of(TrackKind::Video)?, of(TrackKind::Audio)?))
        }
        None => None,
    };
    let protection = |kind: TrackKind| match (&protected, kind) {
        (Some((video, _)), TrackKind::Video) => video.clone(),
        (Some((_, audio)), TrackKind::Audio) => audio.clone(),
        (None, _) => Vec::new(),
    };
    let mut periods: Vec<Period> = Vec::new();
    let mut presentation_end_ms = 0u64;
    let dir = storage_dir(&channel.id);
    for (from, (anchor, reps)) in &runs {
        // A time-shifted segment's URL names its run's clock (a stored anchor's, fixed once
        // the Period is published), so its request reads its archive bucket beside the
        // settings (`route::storage_dir_clock`).
        let clock = match shift {
            Some(_) if data.log.anchors.contains(anchor) => run_clock_ms(anchor),
            _ => None,
        };
        let origin = origins.get(from).copied().unwrap_or(PeriodOrigin {
            start_ms: 0,
            media_time: 0,
        });
        let mut sets: Vec<AdaptationSet> = Vec::new();
        let mut period_end_ms = 0u64;
        for (rep, gs) in reps {
            let media_dir = storage_dir_clock(&channel.id, clock, rep.info.timescale);
            let representation = representation(rep, gs, origin.media_time, (&dir, &media_dir));
            if let Some(end) = end_ticks(&representation.segments, representation.timescale) {
                period_end_ms = period_end_ms.max(ceil_ms(end.saturating_sub(origin.media_time)));
            }
            let kind = rep.kind();
            let set_id = match kind {
                TrackKind::Video => 1,
                TrackKind::Audio => 2,
            };
            match sets.iter_mut().find(|s| s.id == set_id) {
                Some(set) => set.representations.push(representation),
                None => sets.push(AdaptationSet {
                    content_protection: protection(kind),
                    id: set_id,
                    kind,
                    lang: rep.language.clone(),
                    representations: vec![representation],
                }),
            }
        }
        sets.sort_by_key(|s| s.id);
        let start = u64::try_from(origin.start_ms).unwrap_or(0);
        presentation_end_ms = presentation_end_ms.max(start + period_end_ms);
        periods.push(Period {
            id: format!("p{from}"),
            start_ms: origin.start_ms,
            duration_ms: Some(period_end_ms),
            adaptation_sets: sets,
        });
    }
    // Only the last Period of a finished dynamic presentation carries a duration.
    let last = periods.len().saturating_sub(1);
    for (i, p) in periods.iter_mut().enumerate() {
        if vod || !finished || i != last {
            p.duration_ms = None;
        }
    }
    let publish_time_ms = listed
        .iter()
        .filter_map(|(_, g)| g.last()?.members.last().map(|m| m.segment.arrived_ms))
        .max()
        .map_or(0, |ms| i64::try_from(ms).unwrap_or(i64::MAX));
    let (mpd_type, utc_timing_url) = if vod {
        let mpd_type = MpdType::Static {
            duration_ms: presentation_end_ms,
        };
        (mpd_type, None)
    } else {
        let tsb_ms = match shift {
            // A final presentation keeps everything it lists (infinite buffer).
            Some(_) if finished => None,
            // From the first listed segment to now, for as long as this MPD is valid.
            Some(TimeShift::Window { .. }) => {
                let first_ms = runs
                    .values()
                    .next()
                    .and_then(|(a, reps)| {
                        reps.iter()
                            .filter_map(|(_, gs)| gs.first()?.segment.media_start)
                            .min()
                            .map(|m| wall_clock_ms(a, m))
                    })
                    .unwrap_or(now_ms);
                let span = u64::try_from(now_ms.saturating_sub(first_ms)).unwrap_or(0);
                Some(span.div_ceil(1000) * 1000 + endpoint.min_update_period * 1000)
            }
            _ => Some(endpoint.manifest_window * 1000),
        };
        let mpd_type = MpdType::Dynamic {
            availability_start_ms: shift.map_or(0, availability_shift_ms),
            publish_time_ms,
            min_update_period_s: (!finished || shift.is_none())
                .then_some(endpoint.min_update_period),
            time_shift_buffer_depth_ms: tsb_ms,
            suggested_presentation_delay_s: endpoint
                .presentation_delay_s(channel.max_segment_duration, target_duration),
        };
        (mpd_type, Some(time_url.to_owned()))
    };
    let mpd = Mpd {
        mpd_type,
        min_buffer_time_s: endpoint.min_buffer_time,
        utc_timing_url,
        periods,
    };
    let cache = if shift.is_some() && finished && complete {
        format!("public, max-age={FINISHED_MPD_MAX_AGE}")
    } else {
        CacheControl::Media {
            target_duration: endpoint.min_update_period,
        }
        .value()
    };
    Ok((write_mpd(&mpd), cache, MPD_TYPE))
}

/// Each run's Period origin. Dynamic: the run's anchor (wall-clock `Period@start`, the run's
/// first media time as `presentationTimeOffset`), as in the live MPD, so Periods never move.
/// Static: the presentation starts at the first listed segment (time 0); each later Period
/// starts at its first listed segment, placed by wall-clock distance from the first.
fn period_origins(runs: &BTreeMap<u64, Run<'_, '_>>, vod: bool) -> BTreeMap<u64, PeriodOrigin> {
    let mut zero: Option<i64> = None;
    runs.iter()
        .map(|(from, (a, reps))| {
            if !vod {
                let origin = PeriodOrigin {
                    start_ms: a.start_ms,
                    media_time: a.media_time,
                };
                return (*from, origin);
            }
            let media_time = reps
                .iter()
                .filter_map(|(_, gs)| gs.first()?.segment.media_start)
                .min()
                .unwrap_or(a.media_time);
            let wall = wall_clock_ms(a, media_time);
            let zero = *zero.get_or_insert(wall);
            let origin = PeriodOrigin {
                start_ms: wall.saturating_sub(zero).max(0),
                media_time,
            };
            (*from, origin)
        })
        .collect()
}

/// The Unix ms at which media time 0 of the run anchored at `a` would play: its wall-clock
/// start less its first media time. `None` before 1970 (not written in a URL).
fn run_clock_ms(a: &Anchor) -> Option<i64> {
    let clock = i128::from(a.start_ms) - i128::from(a.media_time) / 90;
    i64::try_from(clock).ok().filter(|c| *c >= 0)
}

/// A Representation listing `gs`, with `presentationTimeOffset` at `origin` (90 kHz); its
/// init segment below `dir` (the storage-id directory, [`storage_dir`]), its media segments
/// below `media_dir` (the same, or with the run's clock, [`storage_dir_clock`]).
fn representation(
    rep: &Rep<'_>,
    gs: &[&Group<'_>],
    origin: u64,
    (dir, media_dir): (&str, &str),
) -> Representation {
    let kind = rep.kind();
    let info = rep.info;
    let init = gs
        .first()
        .and_then(|g| g.segment.track(kind))
        .map(|t| t.init.clone())
        .unwrap_or_default();
    Representation {
        id: rep.id(),
        bandwidth: rep.bandwidth,
        codecs: info.codec.clone(),
        width: info.width,
        height: info.height,
        frame_rate: rep.frame_rate.map(frame_rate),
        sample_rate: info.sample_rate,
        channels: info.channels,
        timescale: info.timescale,
        presentation_time_offset: rescale(origin, 90_000, info.timescale).unwrap_or(0),
        initialization: format!("{}/{dir}{}", rep.rendition, init_name(kind, &init)),
        media: format!("{}/{media_dir}{}_t$Time$.m4s", rep.rendition, kind.name()),
        start_number: gs.first().map_or(0, |g| g.seq),
        segments: gs
            .iter()
            .filter_map(|g| segment_entry(g, kind, info.timescale))
            .collect(),
    }
}

/// Appends `query` to the SegmentTemplate URLs of an MPD (their files sit below the endpoint).
pub(super) fn carry_on_templates(mpd: &str, query: &str) -> String {
    if query.is_empty() {
        return mpd.to_owned();
    }
    // The query goes into XML attribute values.
    let query = query
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;");
    let query = query.as_str();
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
