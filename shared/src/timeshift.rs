//! Time-shifted playback through query parameters on the normal playback URLs:
//! `start` (ISO 8601 UTC), `end` (live until then), `vodend` (a VOD playlist ending then),
//! `offset` (seconds behind the live edge). `start` and `offset` together are refused;
//! `vodend` wins over `end`.

use crate::datetime::{iso8601_ms, parse_iso8601_ms};
use crate::error::{OriginError, OriginResult};
use crate::failover::OutputSegment;
use crate::http::query_param;
use crate::timeline::TIMESCALE;
use std::ops::RangeInclusive;

/// Most segments one time-shifted playlist lists (a 4-hour window of 2 s segments).
pub const MAX_WINDOW_SEGMENTS: usize = 7200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeShift {
    /// From `start_ms` to `end_ms` (or on, live); `vod`: a finished VOD playlist.
    Window {
        start_ms: i64,
        end_ms: Option<i64>,
        vod: bool,
    },
    /// Live, `offset_s` behind the live edge; `end_ms` stops it.
    Offset { offset_s: u64, end_ms: Option<i64> },
    /// Live, stopping at `end_ms`.
    Until { end_ms: i64 },
}

/// The parameters names a manifest carries onto every URI.
pub const PARAMS: [&str; 4] = ["start", "end", "vodend", "offset"];

fn instant(query: &str, name: &'static str) -> OriginResult<Option<i64>> {
    let Some(raw) = query_param(query, name) else {
        return Ok(None);
    };
    let text = raw
        .replace("%3A", ":")
        .replace("%3a", ":")
        .replace("%2B", "+")
        .replace("%2b", "+");
    parse_iso8601_ms(&text).map(Some).ok_or_else(|| {
        OriginError::invalid(name, "an ISO 8601 UTC time such as 2026-11-23T12:00:00Z")
    })
}

impl TimeShift {
    /// Reads the parameters of a playback query; `None` for plain live playback.
    pub fn parse(query: &str) -> OriginResult<Option<TimeShift>> {
        let start = instant(query, "start")?;
        let end = instant(query, "end")?;
        let vodend = instant(query, "vodend")?;
        let offset = match query_param(query, "offset") {
            Some(v) => Some(v.parse::<u64>().map_err(|_| {
                OriginError::invalid("offset", "whole seconds behind the live edge")
            })?),
            None => None,
        };
        let end_ms = vodend.or(end);
        if let (Some(s), Some(e)) = (start, end_ms) {
            if e <= s {
                return Err(OriginError::invalid(
                    if vodend.is_some() { "vodend" } else { "end" },
                    "a time after `start`",
                ));
            }
        }
        Ok(match (start, offset) {
            (Some(_), Some(_)) => {
                return Err(OriginError::BadRequest(
                    "`start` and `offset` cannot be combined".into(),
                ))
            }
            (Some(start_ms), None) => Some(TimeShift::Window {
                start_ms,
                end_ms,
                vod: vodend.is_some(),
            }),
            (None, Some(offset_s)) => {
                if vodend.is_some() {
                    return Err(OriginError::BadRequest("`vodend` needs `start`".into()));
                }
                Some(TimeShift::Offset {
                    offset_s,
                    end_ms: end,
                })
            }
            (None, None) => match (vodend, end) {
                (Some(_), _) => {
                    return Err(OriginError::BadRequest("`vodend` needs `start`".into()))
                }
                (None, Some(end_ms)) => Some(TimeShift::Until { end_ms }),
                (None, None) => None,
            },
        })
    }

    /// The program-date-time range whose segments the request may reference.
    pub fn range(&self, now_ms: i64, retention_ms: i64) -> (i64, i64) {
        match *self {
            TimeShift::Window {
                start_ms, end_ms, ..
            } => (start_ms, end_ms.unwrap_or(now_ms).min(now_ms)),
            TimeShift::Offset { offset_s, .. } => {
                let edge = now_ms.saturating_sub(
                    i64::try_from(offset_s.saturating_mul(1000)).unwrap_or(i64::MAX),
                );
                (edge.saturating_sub(retention_ms.min(3_600_000)), edge)
            }
            TimeShift::Until { end_ms } => (now_ms.saturating_sub(3_600_000), end_ms.min(now_ms)),
        }
    }
}

/// The segments a playlist lists, and how it is typed.
pub struct Selection<'s, 'a> {
    pub segments: &'s [OutputSegment<'a>],
    /// `EXT-X-PLAYLIST-TYPE`: `VOD` or `EVENT`.
    pub playlist_type: Option<&'static str>,
    pub end_list: bool,
}

fn end_of(s: &OutputSegment<'_>) -> i64 {
    s.segment.pdt_ms + i64::try_from(s.segment.duration * 1000 / TIMESCALE).unwrap_or(0)
}

fn middle_of(s: &OutputSegment<'_>) -> i64 {
    (s.segment.pdt_ms + end_of(s)) / 2
}

/// Selects the segments of a time-shifted playlist from `all` (in order); `live` picks the
/// usual live window from a slice.
pub fn select<'s, 'a>(
    all: &'s [OutputSegment<'a>],
    shift: &TimeShift,
    now_ms: i64,
    live: impl Fn(&'s [OutputSegment<'a>]) -> &'s [OutputSegment<'a>],
) -> OriginResult<Selection<'s, 'a>> {
    let retained = || match (all.first(), all.last()) {
        (Some(f), Some(l)) => format!(
            "content is retained from {} to {}",
            iso8601_ms(f.segment.pdt_ms),
            iso8601_ms(end_of(l))
        ),
        _ => "no content is retained".to_owned(),
    };
    let outside = || {
        OriginError::NotFound(format!(
            "the requested window is outside the retained content: {}",
            retained()
        ))
    };
    let (segments, playlist_type, end_list) = match *shift {
        TimeShift::Window {
            start_ms,
            end_ms,
            vod,
        } => {
            // By midpoint: renditions whose program date times differ by less than half a
            // segment (each is its own arrival time) select the same segments.
            let from = all.partition_point(|s| middle_of(s) < start_ms);
            let to = end_ms.map_or(all.len(), |e| all.partition_point(|s| middle_of(s) < e));
            if from >= to {
                return Err(outside());
            }
            let slice = &all[from..to.min(from + MAX_WINDOW_SEGMENTS)];
            let (playlist_type, end_list) = window_type(all, end_ms, vod, now_ms);
            (slice, playlist_type, end_list)
        }
        TimeShift::Offset { offset_s, end_ms } => {
            let edge = now_ms
                .saturating_sub(i64::try_from(offset_s.saturating_mul(1000)).unwrap_or(i64::MAX));
            let edge = end_ms.map_or(edge, |e| edge.min(e));
            let to = all.partition_point(|s| end_of(s) <= edge);
            if to == 0 || all.first().is_some_and(|f| f.segment.pdt_ms > edge) {
                return Err(outside());
            }
            (live(&all[..to]), None, end_ms.is_some_and(|e| e <= now_ms))
        }
        TimeShift::Until { end_ms } => {
            let to = all.partition_point(|s| s.segment.pdt_ms < end_ms);
            if to == 0 {
                return Err(outside());
            }
            (live(&all[..to]), None, end_ms <= now_ms)
        }
    };
    Ok(Selection {
        segments,
        playlist_type,
        end_list,
    })
}

/// `EXT-X-PLAYLIST-TYPE` and `EXT-X-ENDLIST` of a window: VOD, or an EVENT complete once its
/// end has passed or is covered.
fn window_type(
    all: &[OutputSegment<'_>],
    end_ms: Option<i64>,
    vod: bool,
    now_ms: i64,
) -> (Option<&'static str>, bool) {
    if vod {
        return (Some("VOD"), true);
    }
    let complete =
        end_ms.is_some_and(|e| all.last().is_some_and(|l| end_of(l) >= e) || e <= now_ms);
    (Some("EVENT"), complete)
}

/// The output sequence numbers a window selects on the reference rendition (see
/// [`select_like`]); `None` for shifts that are not a fixed window. An error when the window
/// holds no content, as [`select`].
pub fn window_seqs(
    all: &[OutputSegment<'_>],
    shift: &TimeShift,
    now_ms: i64,
) -> OriginResult<Option<RangeInclusive<u64>>> {
    let sel = select(all, shift, now_ms, |s| s)?;
    if !matches!(shift, TimeShift::Window { .. }) {
        return Ok(None);
    }
    Ok(match (sel.segments.first(), sel.segments.last()) {
        (Some(f), Some(l)) => Some(f.seq..=l.seq),
        _ => None,
    })
}

/// A window's selection on a rendition other than the reference: the same output sequence
/// numbers (`seqs`, from [`window_seqs`]), so every rendition of a window has one duration
/// although each rendition's program date times are its own arrival times.
pub fn select_like<'s, 'a>(
    all: &'s [OutputSegment<'a>],
    seqs: &RangeInclusive<u64>,
    shift: &TimeShift,
    now_ms: i64,
) -> OriginResult<Selection<'s, 'a>> {
    let TimeShift::Window { end_ms, vod, .. } = *shift else {
        return select(all, shift, now_ms, |s| s);
    };
    let from = all.partition_point(|s| s.seq < *seqs.start());
    let to = all.partition_point(|s| s.seq <= *seqs.end());
    if from >= to {
        return Err(OriginError::NotFound(format!(
            "this rendition has none of the window's segments {}-{}",
            seqs.start(),
            seqs.end()
        )));
    }
    let (playlist_type, end_list) = window_type(all, end_ms, vod, now_ms);
    Ok(Selection {
        segments: &all[from..to],
        playlist_type,
        end_list,
    })
}

/// The time-shift parameters of `query`, re-encoded for carrying onto manifest URIs.
pub fn carried_params(query: &str) -> Vec<String> {
    PARAMS
        .iter()
        .filter_map(|p| query_param(query, p).map(|v| format!("{p}={v}")))
        .collect()
}

#[cfg(test)]
mod tests;
