//! A media playlist from the encoder: commit its new segments to the input's timeline.

use crate::context::Ctx;
use crate::error::{OriginError, OriginResult};
use crate::hls::MAX_GAP_SEGMENTS;
use crate::ingest::claim;
use crate::ingest::commit::{commit, too_many_writers, COMMIT_ATTEMPTS};
use crate::ingest::upload;
use crate::ingest_memory::IngestMemory;
use crate::keys;
use crate::media::remux::{ts_counters_after, Fmp4Part};
use crate::media::time::Timestamp33;
use crate::model::{Channel, InputId, InputProtocol};
use crate::paths;
use crate::paths::rendition_id;
use crate::rendition_index;
use crate::repo;
use crate::store::{KvStore, ObjectInfo, ObjectStore};
use crate::timeline::{plan_append, AppendPlan, Segment, Timeline, TIMESCALE};
use crate::timeline::{probe_fmp4, SegmentProbe, PROBE_METADATA};
use m3u8_rs::MediaPlaylist;
use std::collections::BTreeMap;

/// Most renditions (media playlists) one input may carry.
pub const MAX_RENDITIONS_PER_INPUT: usize = 32;

/// A listed segment not uploaded yet is waited for while it is among the playlist's newest
/// this many (uploads of one encoder can overtake each other).
pub const UPLOAD_WAIT_SEGMENTS: usize = 3;

/// How often, and how many milliseconds apart, a playlist looks again for the upload of its
/// first missing segment among the newest: ffmpeg's playlist PUT often overtakes the upload
/// of the segment it lists by milliseconds (its audio, mostly). Waiting here, at most
/// half a second and only in that race, commits the segment with the playlist that lists it
/// instead of one playlist later.
pub const UPLOAD_POLLS: u64 = 5;
pub const UPLOAD_POLL_MS: u64 = 100;

/// Most segments accepted in one media playlist.
pub const MAX_PLAYLIST_SEGMENTS: usize = 2000;

/// A segment of the incoming playlist, checked.
struct Incoming<'a> {
    enc_seq: u64,
    uri: &'a str,
    path: String,
    duration: u64,
    pdt_ms: Option<i64>,
    discontinuity: bool,
    /// The init segment (`EXT-X-MAP`) in force for this segment, as a path below the input.
    map: Option<String>,
}

/// Commits a media playlist's new segments; applied again to the stored timeline when another
/// request of the rendition committed in between (overlapping PUTs of a slow origin).
pub(super) async fn ingest_media<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    at: (&Channel, InputId, &IngestMemory),
    file: &str,
    pl: &MediaPlaylist,
    durations: &[u64],
    now_ms: u64,
) -> OriginResult<super::Response> {
    for _ in 0..COMMIT_ATTEMPTS {
        if let Some(response) = ingest_media_once(cx, at, file, pl, durations, now_ms).await? {
            return Ok(response);
        }
    }
    Err(too_many_writers(&rendition_id(file).ok_or_else(|| {
        OriginError::BadRequest(format!("`{file}` does not name a media playlist"))
    })?))
}

/// One attempt of [`ingest_media`]: `None` when the timeline changed under it. Starts from
/// the timeline as this isolate last wrote or read it, when it has one (`memory`): the
/// conditional write catches a copy another writer made stale.
async fn ingest_media_once<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    (channel, input, memory): (&Channel, InputId, &IngestMemory),
    file: &str,
    pl: &MediaPlaylist,
    durations: &[u64],
    now_ms: u64,
) -> OriginResult<Option<super::Response>> {
    let incoming = check(file, pl, durations)?;
    let fmp4 = channel.protocol == InputProtocol::HlsCmaf;
    if let Some(s) = incoming.iter().find(|s| s.map.is_some() != fmp4) {
        return Err(OriginError::MalformedPlaylist(if fmp4 {
            format!(
                "segment `{}` has no EXT-X-MAP; an HLS_CMAF input takes fMP4 segments",
                s.uri
            )
        } else {
            format!(
                "segment `{}` has an EXT-X-MAP (fMP4); this channel's input protocol is HLS \
                 (MPEG-TS): create an HLS_CMAF channel for fMP4",
                s.uri
            )
        }));
    }
    // Init segments read while committing this playlist, by object key.
    let mut inits: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let rendition = &rendition_id(file).ok_or_else(|| {
        OriginError::BadRequest(format!("`{file}` does not name a media playlist"))
    })?;
    let key = keys::timeline(&channel.id, input, rendition);
    let read = match memory.timeline(&key, now_ms) {
        Some(kept) => Some(kept),
        None => {
            let read = repo::object_get_versioned(cx.objects, &key).await?;
            if let Some((t, version)) = &read {
                memory.keep_timeline(&key, t, version, now_ms);
            }
            read
        }
    };
    let (mut timeline, version): (Timeline, Option<String>) = match read {
        Some((t, version)) => (t, Some(version)),
        None => {
            let existing = repo::renditions(cx.objects, &channel.id, input).await?;
            if existing.len() >= MAX_RENDITIONS_PER_INPUT {
                return Err(OriginError::Conflict(format!(
                    "input {} already has {MAX_RENDITIONS_PER_INPUT} renditions; a new media playlist is refused",
                    input.number()
                )));
            }
            rendition_index::add(cx.objects, channel, input, rendition).await?;
            (Timeline::default(), None)
        }
    };
    let uris: Vec<&str> = incoming.iter().map(|s| s.uri).collect();
    let plan = plan_append(&timeline, pl.media_sequence, &uris);
    let (from, mut discontinuity) = match plan {
        AppendPlan::Continue { from, gap } => (from, gap),
        AppendPlan::Resync => (0, true),
    };
    let mut resync = plan == AppendPlan::Resync;
    // A playlist that does not continue the timeline is a restarted encoder's, whose uploads
    // arrive after the timeline's newest entry was committed; one listing older uploads is a
    // playlist a loaded origin handled late, whose segments the timeline listed or gave up
    // (docs/ingest.md, "Reused segment names").
    let resync_floor = match (plan, timeline.last()) {
        (AppendPlan::Resync, Some(last)) => last.arrived_ms,
        _ => 0,
    };
    // Media time of the segments given up since the last one listed (90 kHz ticks).
    let mut skipped: Option<u64> = None;
    let mut added = 0usize;
    for (i, s) in incoming.iter().enumerate().skip(from) {
        let newest = incoming.len() - i <= UPLOAD_WAIT_SEGMENTS;
        let bound = |key: &str| upload::is_upload_of(key, channel, input, &s.path);
        let after = stale_until(&timeline, bound, now_ms).max(resync_floor);
        let at = (channel, input, memory);
        let listed = |key: &str| timeline.binds(key);
        let file = (s.path.as_str(), &listed as &dyn Fn(&str) -> bool);
        let found = upload::find_segment(cx, at, file, (after, now_ms), true);
        let upload = match found.await? {
            Some(upload) => upload,
            // A playlist that does not continue the timeline may list segments it already
            // has: nothing new (a restarted encoder's new upload of the name is taken when
            // it is there).
            None if plan == AppendPlan::Resync
                && timeline.segments.iter().any(|t| bound(&t.key)) =>
            {
                continue;
            }
            // Not uploaded (yet): encoders upload in parallel, so a segment among the
            // newest few is waited for, briefly here and otherwise until a later playlist
            // (nothing after it is committed); an older one is given up: a gap, and a
            // discontinuity unless the next segment's media time continues across it.
            None if newest => match overtaken_upload(cx, at, file, after, now_ms).await? {
                Some(upload) => upload,
                None => break,
            },
            None => {
                skip(&mut skipped, s.duration);
                continue;
            }
        };
        if std::mem::take(&mut resync) {
            timeline.resync(s.enc_seq);
        }
        let seq = timeline.seq_for(s.enc_seq);
        if timeline.last().is_some_and(|l| seq <= l.seq) {
            // Sequence numbers that go backwards within one encoder run: ignored.
            continue;
        }
        let previous = timeline.last();
        let mut ts_cc = None;
        let (probe, media_start, init_key) = match &s.map {
            None => {
                let probe: Option<SegmentProbe> = upload
                    .metadata
                    .get(PROBE_METADATA)
                    .and_then(|j| serde_json::from_str(j).ok());
                (probe, media_start(&upload, previous), None)
            }
            Some(map) => {
                // Init segments keep their name across restarts on purpose: the newest one
                // is in force.
                let Some(init) = upload::find_init(cx, (channel, input), map, now_ms).await? else {
                    // The init segment is not there (yet): as for a missing segment.
                    if incoming.len() - i <= UPLOAD_WAIT_SEGMENTS {
                        break;
                    }
                    skip(&mut skipped, s.duration);
                    continue;
                };
                let cc_start = previous.and_then(|p| p.ts_cc).unwrap_or_default();
                let Some((probe, cc)) =
                    fmp4_probe(cx, &mut inits, &init.key, &upload.key, cc_start).await?
                else {
                    // Not a media segment its init segment can read: never listed.
                    skip(&mut skipped, s.duration);
                    continue;
                };
                ts_cc = cc;
                let start = Some(probe.pts);
                (Some(probe), start, Some(init.key))
            }
        };
        // Segments given up just before this one are a gap in a continuous timeline when its
        // media time goes on across them: no discontinuity, so every rendition keeps the same
        // discontinuity sequence (RFC 8216bis 6.2.4) whatever segments it alone lost. Not
        // while the other input delivers this rendition: its copies may fill the gap, and
        // first arrival decides the break (docs/timeline.md, "First arrival").
        let gap_ticks = skipped.unwrap_or(0);
        let bridged = match skipped {
            None => true,
            // Gap entries stand in for at most MAX_GAP_SEGMENTS numbers; a longer run is left
            // out of playlists, so what follows it needs the discontinuity.
            Some(ticks)
                if previous.is_some_and(|p| seq.saturating_sub(p.seq + 1) <= MAX_GAP_SEGMENTS)
                    && continues_across(previous, media_start, ticks) =>
            {
                let other = keys::timeline(&channel.id, input.other(), rendition);
                repo::object_get::<Timeline>(cx.objects, &other)
                    .await?
                    .is_none()
            }
            Some(_) => false,
        };
        let continuous = bridged && !(discontinuity || s.discontinuity);
        let pdt_ms = s.pdt_ms.unwrap_or_else(|| match previous {
            Some(p) if continuous => p.pdt_ms + ms(p.duration.saturating_add(gap_ticks)),
            _ => i64::try_from(now_ms).unwrap_or(i64::MAX) - ms(s.duration),
        });
        let tracks = match (&probe, media_start) {
            (Some(p), Some(m)) => p.tracks_at(m),
            _ => Vec::new(),
        };
        let segment = Segment {
            seq,
            enc_seq: s.enc_seq,
            uri: s.uri.to_owned(),
            key: upload.key,
            duration: s.duration,
            size: upload.size,
            pdt_ms,
            media_start,
            arrived_ms: now_ms,
            discontinuity: previous.is_some() && !continuous,
            tracks,
            init_key,
            ts_cc,
            claim: None,
        };
        // A break right after which the other input's copies may still fill the output is
        // decided once they are in (docs/timeline.md, "A restart ahead of the fill"): held,
        // like a missing upload, while among the newest.
        if segment.discontinuity
            && newest
            && claim::awaits_fill(cx, channel, input, rendition, &segment, now_ms).await?
        {
            break;
        }
        if let Some(p) = &probe {
            timeline.update_tracks(&p.info);
        }
        timeline.push(segment);
        discontinuity = false;
        skipped = None;
        added += 1;
    }
    if added == 0 {
        return Ok(Some(super::Response::new(200)));
    }
    let stored = commit(
        cx,
        (channel, input, Some(memory)),
        rendition,
        (&key, version.as_deref()),
        timeline,
        added,
        now_ms,
    )
    .await?;
    Ok(stored.then(|| super::Response::new(201)))
}

/// The upload of `file` (arriving after `after_ms`) that completes within [`UPLOAD_POLLS`]
/// short waits after `now_ms`.
async fn overtaken_upload<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    at: (&Channel, InputId, &IngestMemory),
    file: (&str, &dyn Fn(&str) -> bool),
    after_ms: u64,
    now_ms: u64,
) -> OriginResult<Option<ObjectInfo>> {
    for poll in 1..=UPLOAD_POLLS {
        (cx.sleep)(UPLOAD_POLL_MS).await;
        // The upload began before this playlist but is keyed by when it completed. The
        // lookup before the polls listed what a head does not show; an upload arriving
        // meanwhile takes the free name.
        let by = now_ms + poll * UPLOAD_POLL_MS;
        let found = upload::find_segment(cx, at, file, (after_ms, by), false);
        if let Some(upload) = found.await? {
            return Ok(Some(upload));
        }
    }
    Ok(None)
}

/// Uploads of a segment file (`is_upload` tells its upload keys) that arrived by this time are not
/// a new segment's (docs/ingest.md, "Reused segment names"):
/// - a name the timeline already bound is reused only by an encoder restarted with its
///   default names (or wrapping them): only a later upload of it is new (than the bound
///   upload's arrival, in its key; for one under its own name, the commit that bound it,
///   which may precede its arrival by the waits of [`overtaken_upload`]: the bound upload
///   itself is never new, [`Timeline::binds`]);
/// - once the timeline reaches back further than an upload waits for its playlist, an upload
///   older than its oldest entry belongs to a pruned one (kept in the archive with
///   time-shift), whatever its name.
fn stale_until(timeline: &Timeline, is_upload: impl Fn(&str) -> bool, now_ms: u64) -> u64 {
    let bound = timeline
        .segments
        .iter()
        .filter(|s| is_upload(&s.key))
        .map(|s| match s.key.rsplit_once('@') {
            Some((_, t)) => t.parse::<u64>().unwrap_or(s.arrived_ms),
            None => s.arrived_ms,
        })
        .max();
    // An upload is listed within the newest few segments of a playlist, or given up.
    let wait_ms = (UPLOAD_WAIT_SEGMENTS as u64 + 1)
        .saturating_mul(timeline.target_duration.max(1))
        .saturating_mul(1000);
    let pruned = timeline
        .segments
        .first()
        .map(|s| s.arrived_ms)
        .filter(|a| now_ms.saturating_sub(*a) > wait_ms);
    bound.into_iter().chain(pruned).max().unwrap_or(0)
}

/// The probe of a stored fMP4 segment read with its stored init segment (read once per
/// playlist), and the MPEG-TS continuity counters after it when its TS output continues from
/// `cc_start` (`None` for a codec TS does not carry); `None` when the two do not make a
/// segment the packager can use.
async fn fmp4_probe<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    inits: &mut BTreeMap<String, Vec<u8>>,
    init_key: &str,
    segment_key: &str,
    cc_start: [u8; 2],
) -> OriginResult<Option<(SegmentProbe, Option<[u8; 2]>)>> {
    if !inits.contains_key(init_key) {
        let Some(o) = cx.objects.get(init_key).await? else {
            return Ok(None);
        };
        inits.insert(init_key.to_owned(), o.body);
    }
    let Some(segment) = cx.objects.get(segment_key).await? else {
        return Ok(None);
    };
    let init = inits.get(init_key).map(Vec::as_slice).unwrap_or_default();
    let Some(probe) = probe_fmp4(init, &segment.body) else {
        return Ok(None);
    };
    let part = Fmp4Part {
        init,
        segment: &segment.body,
    };
    // Samples the TS muxer cannot read (NAL lengths that overrun a sample): never listed.
    Ok(ts_counters_after(&part, cc_start)
        .ok()
        .map(|cc| (probe, cc)))
}

/// Validates every segment of the playlist before anything is committed.
fn check<'a>(
    file: &str,
    pl: &'a MediaPlaylist,
    durations: &[u64],
) -> OriginResult<Vec<Incoming<'a>>> {
    if pl.segments.len() > MAX_PLAYLIST_SEGMENTS {
        return Err(OriginError::MalformedPlaylist(format!(
            "{} segments; at most {MAX_PLAYLIST_SEGMENTS} are accepted",
            pl.segments.len()
        )));
    }
    if durations.len() != pl.segments.len() {
        return Err(OriginError::MalformedPlaylist(format!(
            "{} #EXTINF tags for {} segment URIs",
            durations.len(),
            pl.segments.len()
        )));
    }
    if pl.target_duration == 0 {
        return Err(OriginError::MalformedPlaylist(
            "missing or zero #EXT-X-TARGETDURATION".into(),
        ));
    }
    let mut out = Vec::with_capacity(pl.segments.len());
    let mut map: Option<String> = None;
    for (i, s) in pl.segments.iter().enumerate() {
        if let Some(m) = &s.map {
            if m.byte_range.is_some() {
                return Err(OriginError::MalformedPlaylist(
                    "EXT-X-MAP with BYTERANGE is not supported".into(),
                ));
            }
            map = Some(paths::resolve(file, &m.uri)?);
        }
        let duration = *durations
            .get(i)
            .ok_or_else(|| OriginError::MalformedPlaylist(format!("segment {i} has no #EXTINF")))?;
        if s.byte_range.is_some() {
            return Err(OriginError::MalformedPlaylist(
                "EXT-X-BYTERANGE segments are not supported".into(),
            ));
        }
        out.push(Incoming {
            enc_seq: pl.media_sequence.checked_add(i as u64).ok_or_else(|| {
                OriginError::MalformedPlaylist("EXT-X-MEDIA-SEQUENCE overflows".into())
            })?,
            uri: &s.uri,
            path: paths::resolve(file, &s.uri)?,
            duration,
            pdt_ms: s.program_date_time.map(|t| t.timestamp_millis()),
            discontinuity: s.discontinuity,
            map: map.clone(),
        });
    }
    Ok(out)
}

/// The segment's first PTS, unwrapped next to where the previous segment ended.
fn media_start(upload: &ObjectInfo, previous: Option<&Segment>) -> Option<u64> {
    let raw: u64 = upload.metadata.get(super::PTS_METADATA)?.parse().ok()?;
    let pts = Timestamp33::new(raw);
    let reference = previous
        .and_then(|p| Some(p.media_start? + p.duration))
        .unwrap_or(pts.get());
    Some(pts.unwrap_near(reference))
}

/// Counts a segment of `ticks` given up into `skipped`.
fn skip(skipped: &mut Option<u64>, ticks: u64) {
    *skipped = Some(skipped.unwrap_or(0).saturating_add(ticks));
}

/// How far (90 kHz ticks, 100 ms) a segment's media time may be from where the segments before
/// it end, the given-up ones included, and still continue the timeline.
const GAP_TOLERANCE_TICKS: u64 = TIMESCALE / 10;

/// Whether a segment starting at `media_start` follows `previous` after `skipped` ticks of
/// segments given up; `false` when either media time is unknown.
fn continues_across(previous: Option<&Segment>, media_start: Option<u64>, skipped: u64) -> bool {
    let expected = previous
        .and_then(|p| p.media_start?.checked_add(p.duration))
        .and_then(|end| end.checked_add(skipped));
    match (expected, media_start) {
        (Some(expected), Some(start)) => expected.abs_diff(start) <= GAP_TOLERANCE_TICKS,
        _ => false,
    }
}

/// 90 kHz ticks to milliseconds.
fn ms(ticks: u64) -> i64 {
    i64::try_from(ticks * 1000 / TIMESCALE).unwrap_or(i64::MAX)
}
