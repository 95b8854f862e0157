//! Statistics on Cloudflare (docs/stats.md): data points go to Workers Analytics Engine through
//! the dataset binding `EDGEPACK_STATS` (`writeDataPoint` queues the write and returns at once)
//! and rollups come from its SQL API with `STATS_ACCOUNT_ID` and the secret `STATS_API_TOKEN`.
//! With `STATS = "memory"` (`make dev`) the isolate's memory holds them instead.

use crate::body::read_at_most;
use edgepack::stats::sql::{engine_point, parse_answer, rollup_sql, sql_api_url, valid_identifier};
use edgepack::stats::{DataPoint, MemoryStats, NoStats, Rollup, RollupFuture, Stats, StatsError};
use std::cell::Cell;
use std::rc::Rc;
use worker::js_sys::Uint8Array;
use worker::{
    console_error, AnalyticsEngineDataPointBuilder, AnalyticsEngineDataset, Env, Fetch, Headers,
    Method, Request, RequestInit, ResponseBody,
};

/// The Analytics Engine dataset binding (`[[analytics_engine_datasets]]` in wrangler.toml).
const BINDING: &str = "EDGEPACK_STATS";
/// The dataset the SQL API reads when `STATS_DATASET` is not set.
const DEFAULT_DATASET: &str = "edgepack";
/// Largest SQL API answer read (a rollup has at most a few thousand rows).
const MAX_ANSWER: usize = 8 * 1024 * 1024;

thread_local! {
    /// `STATS = "memory"`: the isolate's points, kept across requests until it is recycled.
    static MEMORY: Rc<MemoryStats> = Rc::new(MemoryStats::new());
    /// Points `writeDataPoint` refused in this isolate.
    static DROPPED: Cell<u64> = const { Cell::new(0) };
}

/// The deployment's backend, from `STATS` and the bindings.
pub fn backend(env: &Env) -> Rc<dyn Stats> {
    match crate::config::string(env, "STATS").as_deref() {
        Some("memory") => MEMORY.with(|m| m.clone()),
        Some("off") => Rc::new(NoStats),
        _ => match env.analytics_engine(BINDING) {
            Ok(dataset) => Rc::new(AnalyticsEngine {
                dataset,
                sql: SqlAccess::from_env(env),
            }),
            Err(_) => Rc::new(NoStats),
        },
    }
}

/// What the SQL API needs, or the setting that is missing.
struct SqlAccess {
    account_id: Option<String>,
    token: Option<String>,
    dataset: String,
    /// `STATS_SQL_URL`: another address for the SQL API (a proxy, or a local stub in tests).
    url: Option<String>,
}

impl SqlAccess {
    fn from_env(env: &Env) -> SqlAccess {
        SqlAccess {
            url: crate::config::string(env, "STATS_SQL_URL"),
            account_id: crate::config::string(env, "STATS_ACCOUNT_ID"),
            token: crate::config::string(env, "STATS_API_TOKEN"),
            dataset: crate::config::string(env, "STATS_DATASET")
                .unwrap_or_else(|| DEFAULT_DATASET.to_owned()),
        }
    }
}

struct AnalyticsEngine {
    dataset: AnalyticsEngineDataset,
    sql: SqlAccess,
}

impl Stats for AnalyticsEngine {
    fn record(&self, point: &DataPoint) {
        let p = engine_point(point);
        let built = AnalyticsEngineDataPointBuilder::new()
            .indexes([p.index.as_str()])
            .blobs(p.blobs.iter().map(String::as_str))
            .doubles(p.doubles)
            .build();
        if let Err(e) = self.dataset.write_data_point(&built) {
            let dropped = DROPPED.with(|d| {
                d.set(d.get() + 1);
                d.get()
            });
            // Once, then every thousandth: a failing binding must not flood the logs.
            if dropped % 1000 == 1 {
                console_error!("analytics engine: {dropped} data points dropped: {e}");
            }
        }
    }

    fn rollup<'a>(&'a self, query: &'a Rollup) -> RollupFuture<'a> {
        Box::pin(async move {
            let url = match (&self.sql.url, self.sql.account_id.as_deref()) {
                (Some(url), _) => url.clone(),
                (None, Some(account)) if valid_identifier(account) => sql_api_url(account),
                (None, _) => return Err(StatsError::NotConfigured("STATS_ACCOUNT_ID")),
            };
            let token = self
                .sql
                .token
                .as_deref()
                .ok_or(StatsError::NotConfigured("STATS_API_TOKEN secret"))?;
            if !valid_identifier(&self.sql.dataset) {
                return Err(StatsError::NotConfigured(
                    "STATS_DATASET (letters, digits, _)",
                ));
            }
            let body = send(&url, token, &rollup_sql(&self.sql.dataset, query)).await?;
            parse_answer(&body, query)
        })
    }
}

/// POSTs one statement to the SQL API; the body of a 200 answer.
async fn send(url: &str, token: &str, sql: &str) -> Result<Vec<u8>, StatsError> {
    let failed = |e: worker::Error| StatsError::Backend(e.to_string());
    let headers = Headers::new();
    headers
        .set("authorization", &format!("Bearer {token}"))
        .map_err(failed)?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(Uint8Array::from(sql.as_bytes()).into()));
    let request = Request::new_with_init(url, &init).map_err(failed)?;
    let response = Fetch::Request(request).send().await.map_err(failed)?;
    let status = response.status_code();
    let body = match response.body() {
        ResponseBody::Empty => Vec::new(),
        ResponseBody::Body(bytes) => bytes.clone(),
        ResponseBody::Stream(stream) => read_at_most(Some(stream.clone()), None, MAX_ANSWER)
            .await
            .map_err(|_| StatsError::BadAnswer("unreadable or too large".into()))?,
    };
    if status != 200 {
        // The engine's message names the problem (a bad column, a bad token) and no secret.
        let text = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
        return Err(StatsError::Backend(format!("status {status}: {text}")));
    }
    Ok(body)
}
