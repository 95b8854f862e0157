//! EXTINF durations read strictly (RFC 8216bis 4.4.4.1: a decimal-integer or a
//! decimal-floating-point number of seconds) and exactly, in 90 kHz ticks. The playlist parser
//! reads them leniently as `f32` (`1e30` as 1, `-2` as 0), so the ingest does not use its value.

use crate::error::{OriginError, OriginResult};
use crate::timeline::TIMESCALE;

/// Longest segment accepted: an hour.
pub const MAX_SEGMENT_SECONDS: u64 = 3600;

/// The duration of every `#EXTINF` tag of `playlist`, in order.
pub fn durations(playlist: &str) -> OriginResult<Vec<u64>> {
    playlist
        .lines()
        .filter_map(|l| l.strip_prefix("#EXTINF:"))
        .enumerate()
        .map(|(i, rest)| {
            let value = rest.split(',').next().unwrap_or_default().trim();
            ticks(value).ok_or_else(|| {
                let shown: String = value.chars().take(24).collect();
                OriginError::MalformedPlaylist(format!(
                    "segment {i}: EXTINF `{shown}` is not a duration in (0, {MAX_SEGMENT_SECONDS}] seconds"
                ))
            })
        })
        .collect()
}

/// `[0-9]+(.[0-9]+)?` seconds to ticks, rounding to the nearest tick; `None` outside
/// (0, MAX_SEGMENT_SECONDS].
fn ticks(value: &str) -> Option<u64> {
    let (int, frac) = value.split_once('.').unwrap_or((value, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || (value.contains('.') && !digits(frac)) || int.len() > 5 {
        return None;
    }
    let seconds: u64 = int.parse().ok()?;
    // Nine fraction digits are a nanosecond: more precision than a tick needs.
    let frac: String = frac.chars().take(9).collect();
    let nanos: u64 = format!("{frac:0<9}").parse().ok()?;
    let total = seconds * TIMESCALE + (nanos * TIMESCALE + 500_000_000) / 1_000_000_000;
    (total > 0 && total <= MAX_SEGMENT_SECONDS * TIMESCALE).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_exact_durations() {
        let pl = "#EXTM3U\n#EXTINF:2.000000,\na\n#EXTINF:2.002,title\nb\n#EXTINF:6,\nc\n#EXTINF:0.0333333333,\nd\n";
        assert_eq!(
            durations(pl).unwrap(),
            vec![180_000, 180_180, 540_000, 3000]
        );
    }

    #[test]
    fn refuses_what_is_not_a_duration() {
        for bad in [
            "1e30",
            "-2.0",
            "nan",
            "inf",
            "two",
            "0",
            "0.0",
            "3600.5",
            "",
            "2.",
            ".5",
            "+2",
            "99999999999",
        ] {
            let pl = format!("#EXTM3U\n#EXTINF:{bad},\na\n");
            assert!(durations(&pl).is_err(), "{bad}");
        }
        assert_eq!(durations("#EXTINF:3600,\na\n").unwrap(), vec![324_000_000]);
    }
}
