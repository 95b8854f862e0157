//! Workers Analytics Engine (docs/stats.md, "Cloudflare"): the layout of a data point in a
//! dataset, the SQL of a [`Rollup`] and the reading of the SQL API's JSON answer. The Worker
//! adapter writes the points with `writeDataPoint` and sends the SQL; nothing here does I/O.
//!
//! Layout: `index1` = `{group}/{channel}` (the sampling key, cut to 96 bytes); `blob1` kind
//! (`play` or `ingest`), `blob2` group, `blob3` channel, `blob4` endpoint (play) or rendition
//! (ingest), `blob5` viewer key or empty; `double1` status (play) or input (ingest), `double2`
//! bytes, `double3` Unix ms, `double4` media duration in ms (ingest).

use super::point::DataPoint;
use super::rollup::{GroupBy, Kind, Rollup, Row};
use super::StatsError;
use serde_json::Value;

/// Analytics Engine's limit on an index.
pub const MAX_INDEX_BYTES: usize = 96;

/// A data point as `writeDataPoint` takes it.
#[derive(Debug, Clone, PartialEq)]
pub struct EnginePoint {
    pub index: String,
    pub blobs: [String; 5],
    pub doubles: [f64; 4],
}

/// The dataset layout of a point.
pub fn engine_point(point: &DataPoint) -> EnginePoint {
    let (g, c) = point.channel();
    let mut index = format!("{g}/{c}");
    // Names are ASCII: any byte is a character boundary.
    index.truncate(MAX_INDEX_BYTES);
    let ms = |v: u64| v as f64;
    match point {
        DataPoint::Play(p) => EnginePoint {
            index,
            blobs: [
                "play".into(),
                p.group.clone(),
                p.channel.clone(),
                p.endpoint.clone(),
                p.viewer.clone().unwrap_or_default(),
            ],
            doubles: [f64::from(p.status), ms(p.bytes), ms(p.at_ms), 0.0],
        },
        DataPoint::Ingest(p) => EnginePoint {
            index,
            blobs: [
                "ingest".into(),
                p.group.clone(),
                p.channel.clone(),
                p.rendition.clone(),
                String::new(),
            ],
            doubles: [
                f64::from(p.input),
                ms(p.bytes),
                ms(p.at_ms),
                ms(p.duration_ms),
            ],
        },
    }
}

/// The SQL API's address for an account.
pub fn sql_api_url(account_id: &str) -> String {
    format!("https://api.cloudflare.com/client/v4/accounts/{account_id}/analytics_engine/sql")
}

/// Whether `name` can be a dataset (and an account id): ASCII letters, digits, `_`.
pub fn valid_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A quoted SQL string; names are validated, this only guards against a future change.
fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The query of a rollup over `dataset`. Counts and sums are weighted by `_sample_interval`,
/// so they stay estimates of the true figures when the engine samples.
pub fn rollup_sql(dataset: &str, q: &Rollup) -> String {
    let t = "toUnixTimestamp(timestamp)";
    let interval = q.interval_s.max(1);
    let mut select = vec![format!("intDiv({t} - {}, {interval}) AS bucket", q.from_s)];
    let mut group = vec!["bucket"];
    if q.group_by != GroupBy::Time {
        select.push("double1 AS input".into());
        group.push("input");
    }
    if q.group_by == GroupBy::InputRendition {
        select.push("blob4 AS rendition".into());
        group.push("rendition");
    }
    select.push("sum(_sample_interval) AS requests".into());
    select.push("sum(_sample_interval * double2) AS bytes".into());
    for (i, lo) in [200, 300, 400, 500].iter().enumerate() {
        select.push(format!(
            "sumIf(_sample_interval, double1 >= {lo} AND double1 < {}) AS s{i}",
            lo + 100
        ));
    }
    select.push("count(DISTINCT blob5) - max(if(blob5 = '', 1, 0)) AS viewers".into());
    select.push("min(double3) AS first_ms".into());
    select.push("max(double3) AS last_ms".into());
    select.push("sum(_sample_interval * double4) AS duration_ms".into());
    let kind = match q.kind {
        Kind::Play => "play",
        Kind::Ingest => "ingest",
    };
    let mut filter = vec![
        format!("timestamp >= toDateTime({})", q.from_s),
        format!("timestamp < toDateTime({})", q.to_s),
        format!("blob1 = {}", quoted(kind)),
        format!("blob2 = {}", quoted(&q.scope.group)),
        format!("blob3 = {}", quoted(&q.scope.channel)),
    ];
    if let (Kind::Play, Some(e)) = (q.kind, &q.scope.endpoint) {
        filter.push(format!("blob4 = {}", quoted(e)));
    }
    if let Some(head) = q.head_s {
        filter.push(format!("({t} - {}) % {interval} < {head}", q.from_s));
    }
    format!(
        "SELECT {} FROM {dataset} WHERE {} GROUP BY {} ORDER BY bucket FORMAT JSON",
        select.join(", "),
        filter.join(" AND "),
        group.join(", ")
    )
}

/// The rows of the SQL API's JSON answer (`{"data": [{column: value}]}`; 64-bit integers may
/// come quoted).
pub fn parse_answer(body: &[u8], q: &Rollup) -> Result<Vec<Row>, StatsError> {
    let answer: Value =
        serde_json::from_slice(body).map_err(|e| StatsError::BadAnswer(e.to_string()))?;
    let data = answer
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| StatsError::BadAnswer("no `data` array".into()))?;
    data.iter()
        .map(|r| {
            let n = |name: &str| number(r.get(name));
            let rendition = match q.group_by {
                GroupBy::InputRendition => Some(
                    r.get("rendition")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                ),
                _ => None,
            };
            Ok(Row {
                interval: n("bucket"),
                input: match q.group_by {
                    GroupBy::Time => None,
                    _ => Some(u8::try_from(n("input")).unwrap_or(0)),
                },
                rendition,
                requests: n("requests"),
                bytes: n("bytes"),
                status: [n("s0"), n("s1"), n("s2"), n("s3")],
                viewers: n("viewers"),
                first_ms: n("first_ms"),
                last_ms: n("last_ms"),
                duration_ms: n("duration_ms"),
            })
        })
        .collect()
}

/// A non-negative whole number from a JSON number or numeric string (rounded; 0 otherwise).
fn number(v: Option<&Value>) -> u64 {
    match v {
        Some(Value::Number(n)) => n.as_u64().unwrap_or_else(|| n.as_f64().map_or(0, whole)),
        Some(Value::String(s)) => {
            let s = s.trim();
            s.parse::<u64>()
                .unwrap_or_else(|_| s.parse::<f64>().map_or(0, whole))
        }
        _ => 0,
    }
}

/// A float rounded to a whole number; negative, NaN: 0; past `u64::MAX`: `u64::MAX`.
fn whole(f: f64) -> u64 {
    // A float-to-int `as` saturates, and NaN becomes 0.
    f.round().max(0.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::point::{IngestPoint, PlayPoint};
    use crate::stats::rollup::Scope;

    fn query(group_by: GroupBy, head: Option<u64>) -> Rollup {
        Rollup {
            kind: if group_by == GroupBy::Time {
                Kind::Play
            } else {
                Kind::Ingest
            },
            scope: Scope {
                group: "g".into(),
                channel: "c".into(),
                endpoint: Some("e".into()),
            },
            from_s: 1000,
            to_s: 2000,
            interval_s: 10,
            head_s: head,
            group_by,
        }
    }

    #[test]
    fn the_sql_filters_kind_scope_and_time_and_groups_by_bucket() {
        let sql = rollup_sql("edgepack", &query(GroupBy::Time, Some(4)));
        assert!(sql.starts_with(
            "SELECT intDiv(toUnixTimestamp(timestamp) - 1000, 10) AS bucket, sum(_sample_interval)"
        ));
        assert!(sql.contains("FROM edgepack WHERE timestamp >= toDateTime(1000) AND timestamp < toDateTime(2000) AND blob1 = 'play' AND blob2 = 'g' AND blob3 = 'c' AND blob4 = 'e' AND (toUnixTimestamp(timestamp) - 1000) % 10 < 4"));
        assert!(sql.ends_with("GROUP BY bucket ORDER BY bucket FORMAT JSON"));
        let sql = rollup_sql("edgepack", &query(GroupBy::InputRendition, None));
        assert!(sql.contains("blob1 = 'ingest'"));
        assert!(!sql.contains("blob4 = 'e'"));
        assert!(sql.contains("GROUP BY bucket, input, rendition"));
    }

    #[test]
    fn answers_with_quoted_or_plain_numbers() {
        let body = br#"{"meta":[],"data":[{"bucket":"3","input":2,"rendition":"v/index",
            "requests":"5","bytes":1200.0,"s0":5,"s1":0,"s2":"0","s3":0,"viewers":0,
            "first_ms":1700000000123,"last_ms":"1700000004000","duration_ms":10000}],"rows":1}"#;
        let rows = parse_answer(body, &query(GroupBy::InputRendition, None));
        let row = rows
            .ok()
            .and_then(|r| r.into_iter().next())
            .unwrap_or_default();
        assert_eq!(row.interval, 3);
        assert_eq!(row.input, Some(2));
        assert_eq!(row.rendition.as_deref(), Some("v/index"));
        assert_eq!((row.requests, row.bytes, row.status[0]), (5, 1200, 5));
        assert_eq!(
            (row.first_ms, row.last_ms),
            (1_700_000_000_123, 1_700_000_004_000)
        );
        assert!(parse_answer(b"{}", &query(GroupBy::Time, None)).is_err());
        assert!(parse_answer(b"not json", &query(GroupBy::Time, None)).is_err());
    }

    #[test]
    fn points_are_laid_out_as_documented() {
        let play = engine_point(&DataPoint::Play(PlayPoint {
            at_ms: 7,
            group: "g".into(),
            channel: "c".into(),
            endpoint: "e".into(),
            status: 206,
            bytes: 9,
            viewer: Some("ab".into()),
        }));
        assert_eq!(play.index, "g/c");
        assert_eq!(play.blobs, ["play", "g", "c", "e", "ab"].map(String::from));
        assert_eq!(play.doubles, [206.0, 9.0, 7.0, 0.0]);
        let long = "x".repeat(64);
        let ingest = engine_point(&DataPoint::Ingest(IngestPoint {
            at_ms: 7,
            group: long.clone(),
            channel: long,
            input: 2,
            rendition: "r".into(),
            bytes: 9,
            duration_ms: 2000,
        }));
        assert_eq!(ingest.index.len(), MAX_INDEX_BYTES);
        assert_eq!(ingest.doubles, [2.0, 9.0, 7.0, 2000.0]);
    }
}
