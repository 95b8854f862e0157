//! Cloudflare Worker adapter: maps the Workers request to the core's request, gives the core KV,
//! R2, a clock, a timer, randomness and outbound HTTP, and maps the core's response back. No
//! routing or logic here.

mod body;
mod channel_object;
mod config;
mod edge_cache;
mod heap;
mod http;
mod kv;
mod outbound;
mod r2;
mod stats;

use edgepack::channel_cache::ChannelCache;
use edgepack::channel_state::Routed;
use edgepack::ingest_memory::IngestMemory;
use edgepack::{Origin, SleepFuture};
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::{JsCast, JsValue};
use worker::{
    console_error, console_log, event, Context, Date, Delay, Env, ScheduleContext, ScheduledEvent,
};

/// KV namespace binding: small state (configuration, login throttling).
const KV_BINDING: &str = "EDGEPACK_KV";
/// R2 bucket binding: segments and indexes.
const BUCKET_BINDING: &str = "EDGEPACK_BUCKET";

thread_local! {
    /// Channel records this isolate read recently, shared by its requests (docs/ingest.md,
    /// "Configuration cache").
    static CHANNELS: Rc<ChannelCache> = Rc::default();
    /// What this isolate's ingest wrote recently (docs/ingest.md, "Isolate memory").
    static INGEST_MEMORY: Rc<IngestMemory> = Rc::default();
}

#[event(fetch)]
async fn fetch(req: worker::Request, env: Env, ctx: Context) -> worker::Result<worker::Response> {
    edgepack::api::count_heap_with(heap::count);
    if !edgepack::adapter::outlives_client(&req.path()) {
        return serve(req, env, &ctx).await;
    }
    // An upload is handled under `waitUntil`: when the encoder disconnects before the answer,
    // the runtime cancels this handler but not that (for up to 30 s), so the segment or
    // playlist is still read whole and committed.
    let (answer, answered) = futures_channel::oneshot::channel();
    let own = Context::new(JsValue::from(ctx.as_ref()).unchecked_into());
    ctx.wait_until(async move {
        // The client may be gone: then nobody takes the answer.
        let _ = answer.send(serve(req, env, &own).await);
    });
    answered.await.unwrap_or_else(|_| {
        http::to_worker_response(edgepack::adapter::error_response(
            503,
            "the upload's handler stopped before answering",
        ))
    })
}

/// The core's answer to `req`.
async fn serve(req: worker::Request, env: Env, ctx: &Context) -> worker::Result<worker::Response> {
    let (kv, objects) = match worker_bindings(&env) {
        Ok(stores) => stores,
        Err(unavailable) => return http::to_worker_response(unavailable),
    };
    let core_req = match http::to_core_request(req).await {
        Ok(core_req) => core_req,
        Err(rejection) => return http::to_worker_response(rejection),
    };
    let mut origin = Origin::new(kv, objects, config::from_env(&env), random, sleep)
        .with_fetch(outbound::fetch)
        .with_stats(stats::backend(&env))
        .with_channel_cache(CHANNELS.with(Rc::clone))
        .with_ingest_memory(INGEST_MEMORY.with(Rc::clone))
        .with_edge_cache(edge_cache::lookup);
    if let Some(client) = &origin.objects.client {
        let home = channel_object::commit_home(client.0.clone());
        origin = origin.with_commit_home(home);
    }
    match origin
        .handle_stream(core_req, Date::now().as_millis())
        .await
    {
        (response, None) => {
            let hint = edge_cache::hint(&response);
            let mut answer = http::to_worker_response(response)?;
            if let Some((key, ttl)) = hint {
                edge_cache::store(ctx, key, &mut answer, ttl);
                answer.headers_mut().set("x-edgepack-cache", "MISS")?;
            }
            Ok(answer)
        }
        // A long-lived response (HTTP-FLV): the body streams while the client reads it.
        (response, Some(stream)) => http::to_streaming_response(response, origin, stream),
    }
}

/// Cron trigger (`[triggers]` in wrangler.toml): archive expiry, in bounded batches.
#[event(scheduled)]
async fn scheduled(event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    let Ok((kv, objects)) = worker_bindings(&env) else {
        return;
    };
    let origin = Origin::new(kv, objects, config::from_env(&env), random, sleep);
    // The tick's own time (`scheduledTime`): the same for every retry of one tick.
    let now_ms = match event.schedule() {
        t if t.is_finite() && t > 0.0 => t as u64,
        _ => Date::now().as_millis(),
    };
    match origin.scheduled(now_ms).await {
        Ok(report) => console_log!(
            "expiry: {} channels, {} buckets and {} segments deleted, more: {}",
            report.channels,
            report.buckets_deleted,
            report.segments_deleted,
            report.more
        ),
        Err(e) => console_error!("expiry failed: {e}"),
    }
}

/// The Worker's object store: R2, with channel state through the channels' objects when
/// `CHANNEL_STATE` says so (docs/storage.md).
type WorkerObjects = Routed<r2::R2Objects, channel_object::ObjectClient>;

fn bindings(env: &Env) -> Result<(kv::WorkersKv, r2::R2Objects), edgepack::Response> {
    let kv = env
        .kv(KV_BINDING)
        .map_err(|e| missing_binding(KV_BINDING, e))?;
    let bucket = env
        .bucket(BUCKET_BINDING)
        .map_err(|e| missing_binding(BUCKET_BINDING, e))?;
    Ok((kv::WorkersKv::new(kv), r2::R2Objects::new(bucket)))
}

fn worker_bindings(env: &Env) -> Result<(kv::WorkersKv, WorkerObjects), edgepack::Response> {
    let (kv, objects) = bindings(env)?;
    let client = if channel_object::in_objects(env) {
        let namespace = env
            .durable_object(channel_object::BINDING)
            .map_err(|e| missing_binding(channel_object::BINDING, e))?;
        Some(channel_object::ObjectClient(namespace))
    } else {
        None
    };
    Ok((kv, Routed { objects, client }))
}

fn missing_binding(name: &str, detail: impl std::fmt::Display) -> edgepack::Response {
    console_error!("binding {name}: {detail}");
    edgepack::adapter::error_response(500, &format!("binding {name} is not configured"))
}

/// The platform CSPRNG (`crypto.getRandomValues` through getrandom's `wasm_js` backend).
fn random(buf: &mut [u8]) -> Result<(), edgepack::RandomError> {
    getrandom::fill(buf).map_err(|e| edgepack::RandomError(e.to_string()))
}

/// The runtime's timer (`setTimeout` through `worker::Delay`): the isolate serves other requests
/// meanwhile, and waiting is wall-clock time, not CPU time.
fn sleep(ms: u64) -> SleepFuture {
    Box::pin(Delay::from(Duration::from_millis(ms)))
}
