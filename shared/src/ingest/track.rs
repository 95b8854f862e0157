//! Per-track fMP4 ingest (DASH, DASH-IF CMAF ingest): one track per path, its init segment
//! then its media segments, each committed to the rendition's timeline when its upload is
//! complete. Timing and boundaries come from the segment (`tfdt`, `trun`), never from a
//! manifest (docs/ingest.md, "Per-track input").

use crate::context::Ctx;
use crate::error::{OriginError, OriginResult};
use crate::http::Response;
use crate::ingest::commit::{commit, too_many_writers, COMMIT_ATTEMPTS};
use crate::keys;
use crate::media::mp4::demux::parse_init;
use crate::media::remux::{ts_counters_after, Fmp4Part};
use crate::media::time::rescale;
use crate::model::{Channel, InputId};
use crate::names::Rendition;
use crate::rendition_index;
use crate::repo;
use crate::store::{KvStore, Metadata, ObjectStore};
use crate::timeline::{probe_fmp4, Segment, Timeline, TIMESCALE};

use super::media::MAX_RENDITIONS_PER_INPUT;

/// Largest distance (90 kHz) between one segment's end and the next one's start that still
/// counts as continuous: rounding to 90 kHz, never a missing frame (one frame is 11 ms at
/// 90 fps).
pub const CONTINUITY_TOLERANCE: u64 = 900;

/// Box types a fragmented MP4 upload may start with (ISO/IEC 14496-12 4.3, 8.16.2, 8.16.3,
/// 8.16.5, 8.8.4; ISO/IEC 23009-1 5.10.3.3).
pub(super) const FMP4_FIRST_BOXES: [&[u8; 4]; 7] = [
    b"ftyp", b"moov", b"styp", b"sidx", b"prft", b"emsg", b"moof",
];

/// Whether `body` starts like a fragmented MP4 init or media segment.
pub(super) fn is_fmp4(body: &[u8]) -> bool {
    let first_box = body.get(4..8).unwrap_or_default();
    FMP4_FIRST_BOXES.iter().any(|b| b.as_slice() == first_box)
}

/// Whether `body` starts with an init segment's boxes.
pub(super) fn is_init(body: &[u8]) -> bool {
    matches!(body.get(4..8), Some(b"ftyp" | b"moov"))
}

/// One upload of a track: its init segment (CMAF header) or a media segment; applied again to
/// the stored timeline when another upload of the track committed in between.
pub(super) async fn ingest_track<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    channel: &Channel,
    input: InputId,
    file: &str,
    rendition: &Rendition,
    body: &[u8],
    now_ms: u64,
) -> OriginResult<Response> {
    for _ in 0..COMMIT_ATTEMPTS {
        if let Some(response) =
            ingest_track_once(cx, channel, input, file, rendition, body, now_ms).await?
        {
            return Ok(response);
        }
    }
    Err(too_many_writers(rendition))
}

/// One attempt of [`ingest_track`]: `None` when the timeline changed under it.
async fn ingest_track_once<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    channel: &Channel,
    input: InputId,
    file: &str,
    rendition: &Rendition,
    body: &[u8],
    now_ms: u64,
) -> OriginResult<Option<Response>> {
    if !is_fmp4(body) {
        return Err(OriginError::UnsupportedMediaType(format!(
            "`{file}` is not a fragmented MP4 (CMAF) init or media segment; a {} input takes \
             one fMP4 track per path",
            channel.protocol.name()
        )));
    }
    let key = keys::timeline(&channel.id, input, rendition);
    let read: Option<(Timeline, String)> = repo::object_get_versioned(cx.objects, &key).await?;
    let (timeline, version) = match read {
        Some((t, v)) => (Some(t), Some(v)),
        None => (None, None),
    };
    if is_init(body) {
        let stored = (&*key, version.as_deref());
        let at = (input, rendition);
        return ingest_init(cx, channel, at, file, stored, timeline, body, now_ms).await;
    }
    let Some(mut timeline) = timeline else {
        return Err(before_init(file, rendition));
    };
    let Some(init_key) = timeline.init.clone() else {
        return Err(before_init(file, rendition));
    };
    let Some(init) = cx.objects.get(&init_key).await? else {
        return Err(before_init(file, rendition));
    };
    let Some(probe) = probe_fmp4(&init.body, body) else {
        return Err(OriginError::BadRequest(format!(
            "`{file}` is not a media segment of rendition `{rendition}`'s init segment \
             (no moof/mdat with samples of its track)"
        )));
    };
    let (Some(first), Some(info)) = (probe.tracks.first(), probe.info.first()) else {
        return Err(OriginError::BadRequest(format!("`{file}` has no samples")));
    };
    let start = probe.pts;
    let duration = rescale(first.d, info.timescale, 90_000).unwrap_or(0);
    if duration == 0 {
        return Err(OriginError::BadRequest(format!(
            "`{file}` has a zero duration"
        )));
    }
    let place = match place(&timeline, start) {
        Place::Known => return Ok(Some(Response::new(200))),
        Place::Next => Position {
            seq: timeline.last().map_or(0, |l| l.seq + 1),
            pdt_ms: timeline.last().map(|l| l.pdt_ms + ms(l.duration)),
            discontinuity: false,
        },
        Place::Elsewhere => {
            let sibling = sibling_position(cx, channel, input, rendition, start).await?;
            let after = timeline.last().map(|l| l.seq + 1);
            let seq = match (sibling.as_ref().map(|s| s.0), after) {
                (Some(s), Some(a)) => s.max(a),
                (Some(s), None) => s,
                (None, Some(a)) => a,
                (None, None) => start.checked_div(duration).unwrap_or(0),
            };
            Position {
                seq,
                pdt_ms: sibling.map(|s| s.1),
                discontinuity: timeline.last().is_some(),
            }
        }
    };
    let previous_cc = timeline.last().and_then(|l| l.ts_cc).unwrap_or_default();
    let part = Fmp4Part {
        init: &init.body,
        segment: body,
    };
    let ts_cc = ts_counters_after(&part, previous_cc)
        .map_err(|e| OriginError::BadRequest(format!("`{file}` cannot be read: {e}")))?;
    let object_key = keys::segment(&channel.id, input, file, now_ms);
    cx.objects.put(&object_key, body, &Metadata::new()).await?;
    let segment = Segment {
        seq: place.seq,
        enc_seq: place.seq,
        uri: file.to_owned(),
        key: object_key,
        duration,
        size: body.len() as u64,
        pdt_ms: place
            .pdt_ms
            .unwrap_or_else(|| i64::try_from(now_ms).unwrap_or(i64::MAX) - ms(duration)),
        media_start: Some(start),
        arrived_ms: now_ms,
        discontinuity: place.discontinuity,
        tracks: probe.tracks_at(start),
        init_key: Some(init_key),
        ts_cc,
        claim: None,
    };
    timeline.update_tracks(&probe.info);
    timeline.push(segment);
    let stored = (&*key, version.as_deref());
    let at = (channel, input, None);
    let committed = commit(cx, at, rendition, stored, timeline, 1, now_ms).await?;
    Ok(committed.then(|| Response::new(201)))
}

/// An init segment: checked, stored, and made the one the rendition's next segments are read
/// with.
#[allow(clippy::too_many_arguments)]
async fn ingest_init<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    channel: &Channel,
    (input, rendition): (InputId, &Rendition),
    file: &str,
    (key, version): (&str, Option<&str>),
    timeline: Option<Timeline>,
    body: &[u8],
    now_ms: u64,
) -> OriginResult<Option<Response>> {
    check_init(file, body)?;
    let mut timeline = match timeline {
        Some(t) => t,
        None => {
            let existing = repo::renditions(cx.objects, &channel.id, input).await?;
            if existing.len() >= MAX_RENDITIONS_PER_INPUT {
                return Err(OriginError::Conflict(format!(
                    "input {} already has {MAX_RENDITIONS_PER_INPUT} renditions; a new track is refused",
                    input.number()
                )));
            }
            rendition_index::add(cx.objects, channel, input, rendition).await?;
            Timeline::default()
        }
    };
    // Senders repeat the CMAF header (on reconnection, or before every segment): the same
    // bytes keep the stored one, so storage does not grow with repeats.
    if let Some(current) = &timeline.init {
        if cx
            .objects
            .get(current)
            .await?
            .is_some_and(|o| o.body == body)
        {
            return Ok(Some(Response::new(200)));
        }
    }
    let object_key = keys::segment(&channel.id, input, file, now_ms);
    cx.objects.put(&object_key, body, &Metadata::new()).await?;
    timeline.init = Some(object_key);
    let stored = repo::object_put_if_version(cx.objects, key, &timeline, version).await?;
    Ok(stored.map(|_| Response::new(201)))
}

/// An init segment the packager can read: it parses and has an H.264, H.265 or AAC track.
pub(super) fn check_init(file: &str, body: &[u8]) -> OriginResult<()> {
    let init = parse_init(body)
        .map_err(|e| OriginError::BadRequest(format!("init segment `{file}`: {e}")))?;
    if init.tracks.is_empty() {
        return Err(OriginError::UnsupportedMediaType(format!(
            "init segment `{file}` has no H.264, H.265 or AAC track"
        )));
    }
    Ok(())
}

fn before_init(file: &str, rendition: &Rendition) -> OriginError {
    OriginError::PreconditionFailed(format!(
        "media segment `{file}` arrived before an init segment (CMAF header) of track \
         `{rendition}` on this input"
    ))
}

/// Where a media segment starting at `start` (90 kHz) goes on a timeline.
#[derive(Debug, PartialEq, Eq)]
enum Place {
    /// It starts where a committed segment starts: a repeat, kept as first received.
    Known,
    /// It continues the last segment (or is the first of an empty timeline).
    Next,
    /// It does not continue the timeline: a gap, or an encoder restart.
    Elsewhere,
}

fn place(timeline: &Timeline, start: u64) -> Place {
    let Some(last) = timeline.last() else {
        return Place::Elsewhere;
    };
    let near = |m: Option<u64>| m.is_some_and(|m| m.abs_diff(start) <= CONTINUITY_TOLERANCE);
    if timeline.segments.iter().any(|s| near(s.media_start)) {
        return Place::Known;
    }
    if near(last.media_start.map(|m| m + last.duration)) {
        return Place::Next;
    }
    Place::Elsewhere
}

struct Position {
    seq: u64,
    pdt_ms: Option<i64>,
    discontinuity: bool,
}

/// The sequence number and program date time the input's other renditions give media time
/// `start`: the segment starting nearest to it, within half a segment, on any of them. So a
/// track that starts late, or resumes after a gap, lines up with the others.
async fn sibling_position<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    channel: &Channel,
    input: InputId,
    rendition: &Rendition,
    start: u64,
) -> OriginResult<Option<(u64, i64)>> {
    let mut best: Option<(u64, u64, i64)> = None;
    for other in repo::renditions(cx.objects, &channel.id, input).await? {
        if &other == rendition {
            continue;
        }
        let key = keys::timeline(&channel.id, input, &other);
        let Some(t) = repo::object_get::<Timeline>(cx.objects, &key).await? else {
            continue;
        };
        for s in &t.segments {
            let Some(m) = s.media_start else { continue };
            let distance = m.abs_diff(start);
            if distance <= s.duration / 2 && best.is_none_or(|b| distance < b.0) {
                let offset = i64::try_from(start).unwrap_or(0) - i64::try_from(m).unwrap_or(0);
                best = Some((distance, s.seq, s.pdt_ms + offset * 1000 / TIMESCALE as i64));
            }
        }
    }
    Ok(best.map(|(_, seq, pdt)| (seq, pdt)))
}

/// 90 kHz ticks to milliseconds.
fn ms(ticks: u64) -> i64 {
    i64::try_from(ticks * 1000 / TIMESCALE).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::two_second_segments;

    const TWO_S: u64 = 2 * TIMESCALE;

    #[test]
    fn place_by_media_time() {
        let t = two_second_segments(3, 0);
        // Starts of committed segments, within the tolerance: repeats.
        assert_eq!(place(&t, 0), Place::Known);
        assert_eq!(place(&t, TWO_S + CONTINUITY_TOLERANCE), Place::Known);
        // The end of the last one: next.
        assert_eq!(place(&t, 3 * TWO_S), Place::Next);
        assert_eq!(place(&t, 3 * TWO_S - CONTINUITY_TOLERANCE), Place::Next);
        // A gap, a restart at zero after the window moved on, a first segment.
        assert_eq!(place(&t, 4 * TWO_S), Place::Elsewhere);
        assert_eq!(
            place(&t, 3 * TWO_S + CONTINUITY_TOLERANCE + 1),
            Place::Elsewhere
        );
        assert_eq!(place(&Timeline::default(), 0), Place::Elsewhere);
    }

    #[test]
    fn upload_kinds_by_first_box() {
        let boxed = |t: &[u8; 4]| [&[0, 0, 0, 8][..], t].concat();
        assert!(is_init(&boxed(b"ftyp")) && is_fmp4(&boxed(b"ftyp")));
        assert!(!is_init(&boxed(b"styp")) && is_fmp4(&boxed(b"styp")));
        assert!(is_fmp4(&boxed(b"moof")) && is_fmp4(&boxed(b"prft")));
        assert!(!is_fmp4(&[0x47; 188]) && !is_fmp4(b"abc"));
    }
}
