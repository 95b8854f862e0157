//! The stats parsers: a stats request's query string (`from`, `to`, `step`) and an Analytics
//! Engine SQL API answer. The first byte picks which. Never a panic; an accepted range is
//! ordered, within the documented bounds, and its buckets fit the limit; rows read from any
//! answer can be laid out as a report.
#![no_main]

use edgepack::stats::range::{StatsRange, MAX_BUCKETS, MAX_RANGE_S};
use edgepack::stats::report::sessions;
use edgepack::stats::rollup::{GroupBy, Kind, Rollup, Scope};
use edgepack::stats::sql::parse_answer;
use libfuzzer_sys::fuzz_target;

/// 2026-11-23T12:00:00Z
const T0: u64 = 1_795_435_200_000;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    if pick % 2 == 0 {
        let query = String::from_utf8_lossy(rest);
        if let Ok(r) = StatsRange::parse(&query, T0) {
            assert!(r.from_s < r.to_s);
            assert!(r.to_s - r.from_s <= MAX_RANGE_S);
            assert!(r.step_s >= 1 && r.buckets() <= MAX_BUCKETS);
        }
    } else {
        let group_by = match pick % 3 {
            0 => GroupBy::Time,
            1 => GroupBy::Input,
            _ => GroupBy::InputRendition,
        };
        let q = Rollup {
            kind: Kind::Ingest,
            scope: Scope {
                group: "g".into(),
                channel: "c".into(),
                endpoint: None,
            },
            from_s: T0 / 1000,
            to_s: T0 / 1000 + 3600,
            interval_s: 15,
            head_s: None,
            group_by,
        };
        if let Ok(rows) = parse_answer(rest, &q) {
            let found = sessions(&rows, 15_000);
            assert!(found.iter().all(|s| s.start_ms <= s.end_ms));
        }
    }
});
