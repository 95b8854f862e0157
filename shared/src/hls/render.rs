//! Playlist writers. Output is a pure function of the stored state and the endpoint settings,
//! so every edge renders the same bytes.

use super::master::{AudioMedia, Variant};
use crate::datetime::iso8601_ms;
use crate::failover::OutputSegment;
use crate::model::{Endpoint, StreamOrder};
use crate::timeline::TIMESCALE;
use std::fmt::Write;

/// Live playlists hold at least this many target durations (RFC 8216bis 6.2.2).
pub const MIN_TARGET_DURATIONS: u64 = 3;

/// Seconds a live window reaches back beyond where a player starts: it starts hold-back from
/// the end of the first rendition playlist it reads, and its other playlists (its audio, a
/// second rendition) must still list that start when they arrive, seconds later on a loaded
/// origin or network (5.4 s measured). hls.js whose audio playlist has slid past the video's
/// start never plays (docs/timeline.md, "Hold-back").
pub const START_ALLOWANCE_S: u64 = 10;

/// The shortest live window, in seconds, for a hold-back of `hold_back_s` (at least three
/// target durations) and segments of `target_s`: the hold-back, the segment the player's start
/// falls in, and [`START_ALLOWANCE_S`].
pub fn live_window_min_s(hold_back_s: u64, target_s: u64) -> u64 {
    hold_back_s
        .max(MIN_TARGET_DURATIONS.saturating_mul(target_s))
        .saturating_add(target_s)
        .saturating_add(START_ALLOWANCE_S)
}

/// A variant of the output master, with its rendition's relative URI.
pub struct MasterEntry<'a> {
    pub variant: &'a Variant,
    pub uri: String,
}

/// Writes a master playlist: variants filtered by the endpoint's video bitrate range and sorted
/// by its stream order; audio renditions whose group some variant still uses.
pub fn render_master(
    endpoint: &Endpoint,
    version: u8,
    independent_segments: bool,
    variants: &[MasterEntry<'_>],
    audio: &[(&AudioMedia, Option<String>)],
) -> Option<String> {
    let mut chosen: Vec<&MasterEntry<'_>> = variants
        .iter()
        .filter(|e| {
            let v = e.variant;
            !v.has_video()
                || (endpoint.min_video_bitrate..=endpoint.max_video_bitrate).contains(&v.bandwidth)
        })
        .collect();
    match endpoint.stream_order {
        StreamOrder::Original => {}
        StreamOrder::Ascending => chosen.sort_by_key(|e| e.variant.bandwidth),
        StreamOrder::Descending => chosen.sort_by_key(|e| std::cmp::Reverse(e.variant.bandwidth)),
    }
    if chosen.is_empty() {
        return None;
    }
    let mut out = format!("#EXTM3U\n#EXT-X-VERSION:{version}\n");
    if independent_segments {
        out.push_str("#EXT-X-INDEPENDENT-SEGMENTS\n");
    }
    let used = |group: &str| {
        chosen
            .iter()
            .any(|e| e.variant.audio.as_deref() == Some(group))
    };
    let mut groups_present: Vec<&str> = Vec::new();
    for (m, uri) in audio.iter().filter(|(m, _)| used(&m.group_id)) {
        groups_present.push(&m.group_id);
        let _ = write!(
            out,
            "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"{}\",NAME=\"{}\"",
            m.group_id, m.name
        );
        if let Some(l) = &m.language {
            let _ = write!(out, ",LANGUAGE=\"{l}\"");
        }
        // AUTOSELECT must be YES where DEFAULT is (RFC 8216bis 4.4.6.1); absent means NO.
        let _ = write!(out, ",DEFAULT={}", yes_no(m.default));
        if m.autoselect || m.default {
            out.push_str(",AUTOSELECT=YES");
        }
        if let Some(c) = &m.channels {
            let _ = write!(out, ",CHANNELS=\"{c}\"");
        }
        if let Some(u) = uri {
            let _ = write!(out, ",URI=\"{u}\"");
        }
        out.push('\n');
    }
    for e in chosen {
        let v = e.variant;
        let _ = write!(out, "#EXT-X-STREAM-INF:BANDWIDTH={}", v.bandwidth);
        if let Some(a) = v.average_bandwidth {
            let _ = write!(out, ",AVERAGE-BANDWIDTH={a}");
        }
        if let Some(c) = &v.codecs {
            let _ = write!(out, ",CODECS=\"{c}\"");
        }
        if let Some((w, h)) = v.resolution {
            let _ = write!(out, ",RESOLUTION={w}x{h}");
        }
        if let Some(f) = v.frame_rate {
            let _ = write!(out, ",FRAME-RATE={f:.3}");
        }
        if let Some(a) = v.audio.as_deref().filter(|a| groups_present.contains(a)) {
            let _ = write!(out, ",AUDIO=\"{a}\"");
        }
        let _ = write!(out, "\n{}\n", e.uri);
    }
    Some(out)
}

/// The segments of a live media playlist and the state needed to number them.
pub struct MediaWindow<'a> {
    /// EXT-X-VERSION: 3 for TS, 7 for fMP4 (EXT-X-MAP in a media playlist).
    pub version: u8,
    pub target_duration: u64,
    /// Discontinuity tags on output segments before the first one listed.
    pub discontinuity_sequence: u64,
    /// `EXT-X-PLAYLIST-TYPE` (`VOD`, `EVENT`) for time-shifted playlists.
    pub playlist_type: Option<&'static str>,
    /// The playlist is complete (`EXT-X-ENDLIST`).
    pub end_list: bool,
    /// Live playlists: seconds behind the live edge players should stay, written as
    /// `EXT-X-SERVER-CONTROL:HOLD-BACK` and `EXT-X-START:TIME-OFFSET` (negative: from the end).
    pub hold_back_s: Option<u64>,
    /// The origin answers `_HLS_msn` by waiting (`EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES`).
    pub can_block_reload: bool,
    pub segments: &'a [OutputSegment<'a>],
}

/// The last `segment_count` segments, widened to span at least `min_duration_s`
/// ([`live_window_min_s`]).
pub fn live_window<'a>(
    all: &'a [OutputSegment<'a>],
    min_duration_s: u64,
    segment_count: u64,
) -> &'a [OutputSegment<'a>] {
    let min_ticks = min_duration_s.saturating_mul(TIMESCALE);
    let count = usize::try_from(segment_count).unwrap_or(usize::MAX);
    let mut start = all.len().saturating_sub(count);
    let mut ticks: u64 = all[start..].iter().map(|s| s.segment.duration).sum();
    while start > 0 && ticks < min_ticks {
        start -= 1;
        ticks += all[start].segment.duration;
    }
    &all[start..]
}

/// Writes a media playlist; `uri` names each segment, `map` its init segment (EXT-X-MAP,
/// written where it changes and after discontinuities), `pdt_interval_s` (0 = off) spaces
/// EXT-X-PROGRAM-DATE-TIME tags, which also follow every discontinuity.
pub fn render_media(
    window: &MediaWindow<'_>,
    pdt_interval_s: u64,
    uri: impl Fn(&OutputSegment<'_>) -> String,
    map: impl Fn(&OutputSegment<'_>) -> Option<String>,
) -> String {
    let first = window.segments.first().map_or(0, |s| s.seq);
    let mut out = format!(
        "#EXTM3U\n#EXT-X-VERSION:{}\n#EXT-X-TARGETDURATION:{}\n#EXT-X-MEDIA-SEQUENCE:{first}\n",
        window.version, window.target_duration
    );
    if let Some(t) = window.playlist_type {
        let _ = writeln!(out, "#EXT-X-PLAYLIST-TYPE:{t}");
    }
    if window.discontinuity_sequence > 0 {
        let _ = writeln!(
            out,
            "#EXT-X-DISCONTINUITY-SEQUENCE:{}",
            window.discontinuity_sequence
        );
    }
    if let Some(s) = window.hold_back_s {
        let _ = writeln!(out, "#EXT-X-START:TIME-OFFSET=-{s}.0");
    }
    match (window.can_block_reload, window.hold_back_s) {
        (true, Some(s)) => {
            let _ = writeln!(
                out,
                "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,HOLD-BACK={s}.0"
            );
        }
        (true, None) => out.push_str("#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES\n"),
        (false, Some(s)) => {
            let _ = writeln!(out, "#EXT-X-SERVER-CONTROL:HOLD-BACK={s}.0");
        }
        (false, None) => {}
    }
    let interval_ms = i64::try_from(pdt_interval_s.saturating_mul(1000)).unwrap_or(i64::MAX);
    let mut last_pdt: Option<i64> = None;
    let mut last_map: Option<String> = None;
    let mut previous: Option<&OutputSegment<'_>> = None;
    for s in window.segments {
        if let Some(p) = previous {
            write_gaps(&mut out, p, s.seq, &uri);
        }
        previous = Some(s);
        let pdt_ms = s.segment.pdt_ms;
        if s.discontinuity {
            out.push_str("#EXT-X-DISCONTINUITY\n");
        }
        if let Some(m) = map(s) {
            if s.discontinuity || last_map.as_deref() != Some(m.as_str()) {
                let _ = writeln!(out, "#EXT-X-MAP:URI=\"{m}\"");
                last_map = Some(m);
            }
        }
        let due = match last_pdt {
            None => true,
            Some(t) => s.discontinuity || pdt_ms - t >= interval_ms,
        };
        if pdt_interval_s > 0 && due {
            let _ = writeln!(out, "#EXT-X-PROGRAM-DATE-TIME:{}", iso8601_ms(pdt_ms));
            last_pdt = Some(pdt_ms);
        }
        write_extinf(&mut out, s.segment.duration, &uri(s));
    }
    if window.end_list {
        out.push_str("#EXT-X-ENDLIST\n");
    }
    out
}

fn write_extinf(out: &mut String, duration: u64, uri: &str) {
    let millis = (duration * 1000 + TIMESCALE / 2) / TIMESCALE;
    let _ = write!(
        out,
        "#EXTINF:{}.{:03},\n{uri}\n",
        millis / 1000,
        millis % 1000
    );
}

/// Longest run of missing numbers written as gaps; a longer one (an encoder that skipped that
/// many) is left as it is, after its discontinuity.
pub const MAX_GAP_SEGMENTS: u64 = 16;

/// Numbers between `previous` and `next` that no copy serves (a rendition that lagged when a
/// switch took effect, a segment no input delivered): listed with `EXT-X-GAP` (RFC 8216bis
/// 4.4.4.7), with the previous segment's duration, so every later segment keeps its number;
/// HLS numbers segments by their position. Players do not load gap segments.
fn write_gaps(
    out: &mut String,
    previous: &OutputSegment<'_>,
    next: u64,
    uri: &impl Fn(&OutputSegment<'_>) -> String,
) {
    for seq in gap_numbers(previous.seq, next) {
        let gap = OutputSegment {
            seq,
            discontinuity: false,
            ..*previous
        };
        out.push_str("#EXT-X-GAP\n");
        write_extinf(out, previous.segment.duration, &uri(&gap));
    }
}

/// The numbers listed as gaps between segments `previous` and `next`: none when they are
/// consecutive, or when more are missing than [`MAX_GAP_SEGMENTS`].
fn gap_numbers(previous: u64, next: u64) -> std::ops::Range<u64> {
    let first = previous.saturating_add(1);
    let missing = next.saturating_sub(first);
    if missing == 0 || missing > MAX_GAP_SEGMENTS {
        return first..first;
    }
    first..next
}

/// The media sequence number a player gives the last entry of a playlist listing `segments`
/// (RFC 8216bis 6.3.2: `EXT-X-MEDIA-SEQUENCE` plus its position), counting the gap entries
/// [`render_media`] writes between them: the number `_HLS_msn` names.
pub fn last_media_sequence(segments: &[OutputSegment<'_>]) -> u64 {
    let Some(first) = segments.first() else {
        return 0;
    };
    let gaps: u64 = segments
        .windows(2)
        .map(|w| {
            let r = gap_numbers(w[0].seq, w[1].seq);
            r.end - r.start
        })
        .sum();
    let listed = u64::try_from(segments.len()).unwrap_or(u64::MAX);
    first
        .seq
        .saturating_add(listed)
        .saturating_add(gaps)
        .saturating_sub(1)
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "YES"
    } else {
        "NO"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::{two_second_segment, Segment};

    /// The player's number of the last entry of a playlist listing `seqs`, counted from the
    /// text `render_media` writes, and the origin's.
    fn numbers(seqs: &[u64]) -> (u64, u64) {
        let segments: Vec<Segment> = seqs.iter().map(|n| two_second_segment(*n, 0)).collect();
        let out: Vec<OutputSegment<'_>> = segments.iter().map(OutputSegment::primary).collect();
        let window = MediaWindow {
            version: 3,
            target_duration: 2,
            discontinuity_sequence: 0,
            playlist_type: None,
            end_list: false,
            hold_back_s: None,
            can_block_reload: true,
            segments: &out,
        };
        let text = render_media(&window, 0, |s| format!("{}.ts", s.seq), |_| None);
        let entries = text.lines().filter(|l| l.starts_with("#EXTINF")).count();
        let player = seqs[0] + u64::try_from(entries).unwrap() - 1;
        (player, last_media_sequence(&out))
    }

    #[test]
    fn the_last_media_sequence_counts_entries_as_a_player_does() {
        let long = MAX_GAP_SEGMENTS + 1;
        for (seqs, last) in [
            (vec![4, 5, 6], 6),
            // Gaps are entries: the last keeps its number.
            (vec![4, 6, 9], 9),
            (vec![0, MAX_GAP_SEGMENTS + 1], MAX_GAP_SEGMENTS + 1),
            // A longer run is not written: the player numbers what follows by position.
            (vec![0, 1 + long, 2 + long], 2),
            (vec![7], 7),
        ] {
            assert_eq!(numbers(&seqs), (last, last), "{seqs:?}");
        }
        assert_eq!(last_media_sequence(&[]), 0);
    }
}
