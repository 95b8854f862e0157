//! Data points as OpenTelemetry metrics: the body of an OTLP/HTTP export in its JSON encoding
//! (`ExportMetricsServiceRequest`, opentelemetry-proto `collector/metrics/v1`, sent as
//! `POST {endpoint}/v1/metrics` with `Content-Type: application/json`). Spin's `otlp` backend
//! sends one per invocation (docs/stats.md, "Spin"); this module only builds the body.
//!
//! Every metric is a monotonic **delta** `Sum` of integers: the points of one export, summed per
//! metric and attribute set, over the interval from the first point's time to the last's.

use super::point::{DataPoint, IngestPoint, PlayPoint};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// `AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA` (opentelemetry-proto metrics/v1).
const DELTA: u8 = 1;
/// The `service.name` resource attribute (OpenTelemetry semantic conventions).
pub const SERVICE_NAME: &str = "edgepack";
/// The path a collector's OTLP/HTTP receiver takes metrics on.
pub const METRICS_PATH: &str = "/v1/metrics";

/// The metrics, their unit and what each point adds (docs/stats.md, "OTLP metrics").
pub const PLAY_REQUESTS: &str = "edgepack.play.requests";
pub const PLAY_BYTES: &str = "edgepack.play.bytes";
pub const PLAY_VIEWER_REQUESTS: &str = "edgepack.play.viewer_requests";
pub const INGEST_UPLOADS: &str = "edgepack.ingest.uploads";
pub const INGEST_BYTES: &str = "edgepack.ingest.bytes";
pub const INGEST_MEDIA_DURATION: &str = "edgepack.ingest.media_duration";

const METRICS: [(&str, &str, &str); 6] = [
    (PLAY_REQUESTS, "{request}", "playback answers"),
    (PLAY_BYTES, "By", "playback body bytes sent"),
    (
        PLAY_VIEWER_REQUESTS,
        "{request}",
        "successful playback GETs per viewer key",
    ),
    (INGEST_UPLOADS, "{upload}", "uploads that added segments"),
    (INGEST_BYTES, "By", "stored bytes of new segments"),
    (
        INGEST_MEDIA_DURATION,
        "ms",
        "media duration of new segments",
    ),
];

/// An attribute value: text, or an integer (OTLP JSON writes 64-bit integers as strings).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Attr {
    Text(String),
    Int(u64),
}

type Attrs = Vec<(&'static str, Attr)>;

/// One summed series of an export.
struct Sum {
    value: u64,
    first_ms: u64,
    last_ms: u64,
}

/// The export body of `points`, or `None` when there is nothing to send.
pub fn export_request(points: &[DataPoint]) -> Option<Value> {
    let mut sums: BTreeMap<(&'static str, Attrs), Sum> = BTreeMap::new();
    let mut add = |metric: &'static str, attrs: Attrs, value: u64, at_ms: u64| {
        let s = sums.entry((metric, attrs)).or_insert(Sum {
            value: 0,
            first_ms: at_ms,
            last_ms: at_ms,
        });
        s.value = s.value.saturating_add(value);
        s.first_ms = s.first_ms.min(at_ms);
        s.last_ms = s.last_ms.max(at_ms);
    };
    for p in points {
        match p {
            DataPoint::Play(p) => {
                let mut attrs = play_attrs(p);
                attrs.push(("http.response.status_code", Attr::Int(u64::from(p.status))));
                add(PLAY_REQUESTS, attrs.clone(), 1, p.at_ms);
                add(PLAY_BYTES, attrs, p.bytes, p.at_ms);
                if let Some(v) = &p.viewer {
                    let mut attrs = play_attrs(p);
                    attrs.push(("edgepack.viewer", Attr::Text(v.clone())));
                    add(PLAY_VIEWER_REQUESTS, attrs, 1, p.at_ms);
                }
            }
            DataPoint::Ingest(p) => {
                let attrs = ingest_attrs(p);
                add(INGEST_UPLOADS, attrs.clone(), 1, p.at_ms);
                add(INGEST_BYTES, attrs.clone(), p.bytes, p.at_ms);
                add(INGEST_MEDIA_DURATION, attrs, p.duration_ms, p.at_ms);
            }
        }
    }
    if sums.is_empty() {
        return None;
    }
    let metrics: Vec<Value> = METRICS
        .iter()
        .filter_map(|&(name, unit, description)| {
            let points: Vec<Value> = sums
                .iter()
                .filter(|((m, _), _)| *m == name)
                .map(|((_, attrs), s)| data_point(attrs, s))
                .collect();
            (!points.is_empty()).then(|| {
                json!({
                    "name": name,
                    "unit": unit,
                    "description": description,
                    "sum": {
                        "aggregationTemporality": DELTA,
                        "isMonotonic": true,
                        "dataPoints": points,
                    },
                })
            })
        })
        .collect();
    Some(json!({
        "resourceMetrics": [{
            "resource": {"attributes": attributes(&[("service.name", Attr::Text(SERVICE_NAME.into()))])},
            "scopeMetrics": [{
                "scope": {"name": SERVICE_NAME, "version": env!("CARGO_PKG_VERSION")},
                "metrics": metrics,
            }],
        }],
    }))
}

fn play_attrs(p: &PlayPoint) -> Attrs {
    vec![
        ("edgepack.group", Attr::Text(p.group.clone())),
        ("edgepack.channel", Attr::Text(p.channel.clone())),
        ("edgepack.endpoint", Attr::Text(p.endpoint.clone())),
    ]
}

fn ingest_attrs(p: &IngestPoint) -> Attrs {
    vec![
        ("edgepack.group", Attr::Text(p.group.clone())),
        ("edgepack.channel", Attr::Text(p.channel.clone())),
        ("edgepack.input", Attr::Int(u64::from(p.input))),
        ("edgepack.rendition", Attr::Text(p.rendition.clone())),
    ]
}

/// A `NumberDataPoint`: the interval ends a millisecond after the last point, so that it is
/// never empty (OTLP asks for `timeUnixNano` after `startTimeUnixNano` on a delta).
fn data_point(attrs: &[(&'static str, Attr)], s: &Sum) -> Value {
    json!({
        "attributes": attributes(attrs),
        "startTimeUnixNano": nanos(s.first_ms),
        "timeUnixNano": nanos(s.last_ms.saturating_add(1)),
        "asInt": s.value.to_string(),
    })
}

fn attributes(attrs: &[(&'static str, Attr)]) -> Vec<Value> {
    attrs
        .iter()
        .map(|(key, v)| match v {
            Attr::Text(s) => json!({"key": key, "value": {"stringValue": s}}),
            Attr::Int(i) => json!({"key": key, "value": {"intValue": i.to_string()}}),
        })
        .collect()
}

fn nanos(ms: u64) -> String {
    u128::from(ms).saturating_mul(1_000_000).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn play(at_ms: u64, status: u16, bytes: u64, viewer: Option<&str>) -> DataPoint {
        DataPoint::Play(PlayPoint {
            at_ms,
            group: "g".into(),
            channel: "c".into(),
            endpoint: "e".into(),
            status,
            bytes,
            viewer: viewer.map(str::to_owned),
        })
    }

    fn metric<'a>(body: &'a Value, name: &str) -> &'a Value {
        body["resourceMetrics"][0]["scopeMetrics"][0]["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {body}"))
    }

    #[test]
    fn points_are_summed_per_metric_and_attributes() {
        let body = export_request(&[
            play(1_000, 200, 500, Some("aa")),
            play(3_000, 200, 700, Some("aa")),
            play(2_000, 404, 20, None),
        ])
        .unwrap();
        let resource = &body["resourceMetrics"][0]["resource"]["attributes"][0];
        assert_eq!(resource["value"]["stringValue"], "edgepack");
        let requests = metric(&body, PLAY_REQUESTS);
        assert_eq!(requests["sum"]["aggregationTemporality"], 1);
        assert_eq!(requests["sum"]["isMonotonic"], true);
        let points = requests["sum"]["dataPoints"].as_array().unwrap();
        assert_eq!(points.len(), 2, "one series per status");
        let ok = &points[0];
        assert_eq!(ok["asInt"], "2");
        assert_eq!(ok["startTimeUnixNano"], "1000000000");
        assert_eq!(ok["timeUnixNano"], "3001000000");
        assert_eq!(
            ok["attributes"][3],
            json!({"key": "http.response.status_code", "value": {"intValue": "200"}})
        );
        assert_eq!(points[1]["asInt"], "1");
        let bytes = &metric(&body, PLAY_BYTES)["sum"]["dataPoints"];
        assert_eq!(
            (bytes[0]["asInt"].clone(), bytes[1]["asInt"].clone()),
            ("1200".into(), "20".into())
        );
        let viewers = &metric(&body, PLAY_VIEWER_REQUESTS)["sum"]["dataPoints"];
        assert_eq!(viewers.as_array().unwrap().len(), 1);
        assert_eq!(viewers[0]["attributes"][3]["value"]["stringValue"], "aa");
        assert_eq!(viewers[0]["asInt"], "2");
    }

    #[test]
    fn ingest_points_and_nothing_to_send() {
        assert_eq!(export_request(&[]), None);
        let body = export_request(&[DataPoint::Ingest(IngestPoint {
            at_ms: 5,
            group: "g".into(),
            channel: "c".into(),
            input: 2,
            rendition: "stream_0/index".into(),
            bytes: 1_000,
            duration_ms: 2_000,
        })])
        .unwrap();
        let d = &metric(&body, INGEST_MEDIA_DURATION)["sum"]["dataPoints"][0];
        assert_eq!(d["asInt"], "2000");
        assert_eq!(
            d["attributes"][2],
            json!({"key": "edgepack.input", "value": {"intValue": "2"}})
        );
        assert_eq!(metric(&body, INGEST_BYTES)["unit"], "By");
        assert_eq!(
            metric(&body, INGEST_UPLOADS)["sum"]["dataPoints"][0]["asInt"],
            "1"
        );
        let names: Vec<&str> = body["resourceMetrics"][0]["scopeMetrics"][0]["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap())
            .collect();
        assert!(!names.contains(&PLAY_REQUESTS), "{names:?}");
    }
}
