//! The time range of a stats request: `from`, `to` and `step` (docs/stats.md, "API").

use crate::datetime::parse_iso8601_ms;
use crate::error::{OriginError, OriginResult};
use crate::http::query_param;

/// Longest range one request may cover (Analytics Engine keeps three months).
pub const MAX_RANGE_S: u64 = 31 * 86_400;
/// How far back `from` may reach: Analytics Engine's retention.
pub const MAX_AGE_S: u64 = 92 * 86_400;
/// How far past the current time `to` may reach (clock skew between a console and the edge).
pub const MAX_FUTURE_S: u64 = 300;
/// Most buckets in one series.
pub const MAX_BUCKETS: u64 = 1440;
/// Buckets of the default `step`.
pub const DEFAULT_BUCKETS: u64 = 60;
/// The default range: the last hour.
pub const DEFAULT_RANGE_S: u64 = 3600;

const TIME_RULE: &str = "an ISO 8601 instant or Unix seconds";

/// A validated range: whole seconds, `from_s < to_s`, at most [`MAX_BUCKETS`] steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatsRange {
    pub from_s: u64,
    pub to_s: u64,
    pub step_s: u64,
}

impl StatsRange {
    /// Reads `from`, `to` and `step` from a raw query string at `now_ms`. Absent `to`: now;
    /// absent `from`: an hour before `to`; absent `step`: the range in 60 buckets.
    pub fn parse(query: &str, now_ms: u64) -> OriginResult<StatsRange> {
        let now_s = now_ms.div_ceil(1000);
        let to_s = match param(query, "to") {
            Some(v) => instant(v, "to")?,
            None => now_s,
        };
        let from_s = match param(query, "from") {
            Some(v) => instant(v, "from")?,
            None => to_s.saturating_sub(DEFAULT_RANGE_S),
        };
        if to_s > now_s + MAX_FUTURE_S {
            return Err(OriginError::invalid(
                "to",
                format!("{TIME_RULE}, at most {MAX_FUTURE_S} s after the current time"),
            ));
        }
        if from_s >= to_s {
            return Err(OriginError::invalid(
                "from",
                format!("{TIME_RULE}, before `to`"),
            ));
        }
        if to_s - from_s > MAX_RANGE_S {
            return Err(OriginError::invalid(
                "from",
                format!("{TIME_RULE}, at most {MAX_RANGE_S} s (31 days) before `to`"),
            ));
        }
        if from_s + MAX_AGE_S < now_s {
            return Err(OriginError::invalid(
                "from",
                format!("{TIME_RULE}, within the last {MAX_AGE_S} s (92 days, the retention)"),
            ));
        }
        let span = to_s - from_s;
        let step_s = match param(query, "step") {
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|s| (1..=MAX_RANGE_S).contains(s))
                .ok_or_else(|| step_error(span))?,
            None => span.div_ceil(DEFAULT_BUCKETS).max(1),
        };
        if span.div_ceil(step_s) > MAX_BUCKETS {
            return Err(step_error(span));
        }
        Ok(StatsRange {
            from_s,
            to_s,
            step_s,
        })
    }

    /// Number of buckets.
    pub fn buckets(&self) -> u64 {
        (self.to_s - self.from_s).div_ceil(self.step_s)
    }
}

fn step_error(span: u64) -> OriginError {
    OriginError::invalid(
        "step",
        format!(
            "whole seconds from {} to {MAX_RANGE_S}: at most {MAX_BUCKETS} buckets in the range",
            span.div_ceil(MAX_BUCKETS).max(1)
        ),
    )
}

fn param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query_param(query, name).filter(|v| !v.is_empty())
}

/// Unix seconds, or an ISO 8601 instant (percent-encoded `:` and `+` accepted), rounded down
/// to the second.
fn instant(v: &str, field: &'static str) -> OriginResult<u64> {
    let bad = || OriginError::invalid(field, TIME_RULE);
    if v.bytes().all(|b| b.is_ascii_digit()) {
        return v.parse().map_err(|_| bad());
    }
    let text = v
        .replace("%3A", ":")
        .replace("%3a", ":")
        .replace("%2B", "+")
        .replace("%2b", "+");
    let ms = parse_iso8601_ms(&text).ok_or_else(bad)?;
    u64::try_from(ms.div_euclid(1000)).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000_000;
    const NOW_S: u64 = 1_800_000_000;

    fn field(query: &str) -> Option<&'static str> {
        match StatsRange::parse(query, NOW) {
            Err(OriginError::InvalidField { field, .. }) => Some(field),
            _ => None,
        }
    }

    #[test]
    fn defaults_are_the_last_hour_in_sixty_buckets() {
        let r = StatsRange::parse("", NOW).ok();
        let expected = StatsRange {
            from_s: NOW_S - 3600,
            to_s: NOW_S,
            step_s: 60,
        };
        assert_eq!(r, Some(expected));
        assert_eq!(expected.buckets(), 60);
    }

    #[test]
    fn instants_in_both_forms() {
        let q = "from=2027-01-15T07:50:00Z&to=2027-01-15T08%3A00%3A00Z&step=10";
        let r = StatsRange::parse(q, NOW).ok();
        assert_eq!(r.map(|r| (r.to_s - r.from_s, r.step_s)), Some((600, 10)));
        let q = format!("from={}&to={}", NOW_S - 100, NOW_S);
        assert_eq!(StatsRange::parse(&q, NOW).ok().map(|r| r.step_s), Some(2));
    }

    #[test]
    fn bad_ranges_name_their_parameter() {
        assert_eq!(field("from=yesterday"), Some("from"));
        assert_eq!(field(&format!("from={NOW_S}&to={NOW_S}")), Some("from"));
        assert_eq!(field(&format!("to={}", NOW_S + 3600)), Some("to"));
        let long = format!("from={}&to={NOW_S}", NOW_S - MAX_RANGE_S - 1);
        assert_eq!(field(&long), Some("from"));
        let old = format!(
            "from={}&to={}",
            NOW_S - MAX_AGE_S - 100,
            NOW_S - MAX_AGE_S + 100
        );
        assert_eq!(field(&old), Some("from"));
        assert_eq!(field("step=0"), Some("step"));
        assert_eq!(field("step=-1"), Some("step"));
        // An hour in one-second steps is 3600 buckets.
        assert_eq!(field("step=1"), Some("step"));
        assert_eq!(field("step=3"), None);
    }
}
