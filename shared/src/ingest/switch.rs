//! The failover decision, taken by the ingest of the input that is delivering
//! (docs/timeline.md, "The failover decision"): when the active input is unhealthy, append a
//! switch record to this input. The same write
//! records where output runs start (anchors for DASH Periods).

use crate::context::Ctx;
use crate::error::OriginResult;
use crate::failover::{plan_switch, policy, Anchor, SwitchLog, SwitchRecord, ALIGNMENT_TOLERANCE};
use crate::keys;
use crate::media::mp4::TrackKind;
use crate::model::{Channel, InputId};
use crate::repo;
use crate::store::{KvStore, Metadata, ObjectStore};
use crate::timeline::{Segment, Timeline, TIMESCALE};

/// The switch log with its version, for [`consider_switch`]; a channel without one yet gets
/// its first record (the first input with content becomes active).
pub(super) async fn read_log<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    channel: &Channel,
    input: InputId,
    now_ms: u64,
) -> OriginResult<(SwitchLog, Option<String>)> {
    let key = keys::switch_log(&channel.id);
    Ok(match cx.objects.get_versioned(&key).await? {
        Some((object, version)) => {
            let log: SwitchLog =
                serde_json::from_slice(&object.body).map_err(|e| repo::corrupt(&key, &e))?;
            (log, Some(version))
        }
        // A racing first write loses harmlessly.
        None => (SwitchLog::starting_with(input, now_ms), None),
    })
}

/// Called after `input` committed its `added` newest `segments` of a rendition, with the
/// other input's timeline of that rendition as the commit read it, and the log as
/// [`read_log`] read it before the commit.
pub(super) async fn consider_switch<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    channel: &Channel,
    input: InputId,
    (segments, added): (&[Segment], usize),
    other: Option<&Timeline>,
    (mut log, version): (SwitchLog, Option<String>),
    now_ms: u64,
) -> OriginResult<()> {
    let key = keys::switch_log(&channel.id);
    let mut changed = version.is_none();
    if let Some(record) = switch_to(cx, channel, &log, input, other, now_ms).await? {
        changed = true;
        log.push(record);
    }
    changed |= anchor_new_runs(&mut log, input, segments, added);
    if changed {
        // A lost race means another request already recorded a decision: keep it.
        let body = serde_json::to_vec(&log).map_err(|e| repo::corrupt(&key, &e))?;
        cx.objects
            .put_if_version(&key, &body, &Metadata::new(), version.as_deref())
            .await?;
    }
    Ok(())
}

/// A switch record to `input` when the active input is confirmed unhealthy. `active_timeline`
/// is the active input's timeline of the committing rendition, already read.
async fn switch_to<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    channel: &Channel,
    log: &SwitchLog,
    input: InputId,
    active_timeline: Option<&Timeline>,
    now_ms: u64,
) -> OriginResult<Option<SwitchRecord>> {
    let Some(active) = log.active().map(|r| r.input_id()) else {
        return Ok(None);
    };
    if active == input {
        return Ok(None);
    }
    // Cheap check first, on what the commit read anyway: the active input's newest segment
    // of this rendition (two inputs: the active one is the other one).
    let newest = active_timeline
        .and_then(Timeline::last)
        .map(|s| s.arrived_ms);
    let max = channel.max_segment_duration;
    if policy::is_healthy(newest, now_ms, max) {
        return Ok(None);
    }
    // Confirm on every rendition's timelines: an input is down only when all of them are.
    let renditions = repo::all_timelines(cx.objects, &channel.id).await?;
    let newest = renditions
        .values()
        .filter_map(|t| t[active.index()].as_ref()?.last())
        .map(|s| s.arrived_ms)
        .max();
    if policy::is_healthy(newest, now_ms, max) {
        return Ok(None);
    }
    let reason = match newest.map(|t| now_ms.saturating_sub(t) / 1000) {
        Some(s) => format!(
            "input {} delivered nothing for {s} s (max_segment_duration {max} s)",
            active.number()
        ),
        None => format!("input {} has no content", active.number()),
    };
    Ok(plan_switch(log, input, &renditions, now_ms, reason))
}

/// Records a new output run where the active input's new segments start one: the channel's
/// first segment, a discontinuity, or the first segment a discontinuous switch maps in.
/// Only segments with video anchor runs (audio PTS lead video by a fraction of a frame).
/// A run never starts before the previous run's content ends; when media time simply goes on
/// (a gap, not a new clock), it starts exactly there, so DASH Periods never overlap.
fn anchor_new_runs(
    log: &mut SwitchLog,
    input: InputId,
    segments: &[Segment],
    added: usize,
) -> bool {
    let Some(active) = log.active().cloned() else {
        return false;
    };
    if active.input_id() != input {
        return false;
    }
    let mut changed = false;
    for i in segments.len().saturating_sub(added)..segments.len() {
        let s = &segments[i];
        let (Some(media_time), Some(out)) = (s.media_start, active.output_seq(s.seq)) else {
            continue;
        };
        if s.track(TrackKind::Video).is_none() || out < active.from_seq {
            continue;
        }
        let first_ever = log.anchors.is_empty();
        let switched_here = active.discontinuity && out == active.from_seq;
        if !(first_ever || s.discontinuity || switched_here) {
            continue;
        }
        let previous_end = i
            .checked_sub(1)
            .and_then(|p| segments.get(p))
            .zip(log.anchors.last())
            .and_then(|(p, a)| {
                Some((
                    p.media_start? + p.duration,
                    run_end_ms(a, p.media_start? + p.duration),
                ))
            });
        let start_ms = match previous_end {
            Some((end_media, end_ms)) if end_media.abs_diff(media_time) <= ALIGNMENT_TOLERANCE => {
                end_ms
            }
            Some((_, end_ms)) => s.pdt_ms.max(end_ms),
            None => s.pdt_ms,
        };
        let from_seq = if first_ever { 0 } else { out };
        changed |= log.add_anchor(Anchor {
            from_seq,
            start_ms,
            media_time,
        });
    }
    changed
}

/// Wall-clock time at which media time `end` of the run anchored at `a` falls.
fn run_end_ms(a: &Anchor, end: u64) -> i64 {
    let elapsed = i128::from(end) - i128::from(a.media_time);
    let ms = i128::from(a.start_ms) + elapsed * 1000 / i128::from(TIMESCALE);
    i64::try_from(ms).unwrap_or(i64::MAX)
}
