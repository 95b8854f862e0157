//! Loads the component and serves wasi:http over HTTP/1 on the listen address, one component
//! instance per request (as Spin does).

use crate::bindings;
use crate::kv::Sqlite;
use crate::manifest::{self, App};
use crate::state::HostState;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderName, HeaderValue};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::net::TcpListener;
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::error::Context;
use wasmtime::{format_err, Result};
use wasmtime::{Engine, Store};
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::WasiHttpView;

/// The header carrying the TCP peer (`ip:port`), as Spin sets it.
const CLIENT_ADDR: &str = "spin-client-addr";
/// Spin's file name for the default key-value store.
pub const KV_FILE: &str = "sqlite_key_value.db";

/// `.spin` beside the manifest, where `spin up` keeps its state.
pub fn default_state_dir(manifest: &std::path::Path) -> PathBuf {
    manifest
        .parent()
        .unwrap_or_else(|| std::path::Path::new("."))
        .join(".spin")
}

struct Server {
    pre: ProxyPre<HostState>,
    app: Arc<App>,
    kv: Arc<Sqlite>,
    started: Instant,
    answered: AtomicBool,
}

pub async fn run(
    manifest_path: PathBuf,
    listen: SocketAddr,
    state_dir: PathBuf,
    started: Instant,
) -> Result<()> {
    let app = Arc::new(manifest::load(
        &manifest_path,
        &manifest::variables_from_env(),
    )?);
    std::fs::create_dir_all(&state_dir)
        .with_context(|| format!("creating {}", state_dir.display()))?;
    let kv = Arc::new(Sqlite::open(&state_dir.join(KV_FILE))?);

    let config = wasmtime::Config::new();
    let engine = Engine::new(&config)?;
    let compile_start = Instant::now();
    let component = Component::from_file(&engine, &app.source)
        .with_context(|| format!("loading {} (run `make spin`)", app.source.display()))?;
    let compile_ms = compile_start.elapsed().as_millis();

    let mut linker = Linker::<HostState>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    bindings::Host_::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)?;
    let pre = ProxyPre::new(linker.instantiate_pre(&component)?)
        .context("the component does not export wasi:http/incoming-handler")?;

    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    let addr = listener.local_addr()?;
    println!(
        "edgepack-spin-host: serving http://{addr} (component {} from {}; compiled in {compile_ms} ms; ready {} ms after start; key-value in {})",
        app.component_id,
        app.source.display(),
        started.elapsed().as_millis(),
        state_dir.display(),
    );
    let server = Arc::new(Server {
        pre,
        app,
        kv,
        started,
        answered: AtomicBool::new(false),
    });

    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => accepted?,
            _ = shutdown() => return Ok(()),
        };
        let server = server.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let server = server.clone();
                async move { server.handle(req, peer).await }
            });
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                if !e.is_incomplete_message() {
                    eprintln!("edgepack-spin-host: connection from {peer}: {e}");
                }
            }
        });
    }
}

/// Ctrl-C or SIGTERM.
async fn shutdown() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

impl Server {
    async fn handle(
        self: Arc<Self>,
        req: hyper::Request<Incoming>,
        peer: SocketAddr,
    ) -> Result<hyper::Response<HyperOutgoingBody>, std::convert::Infallible> {
        let response = if self.app.matches(req.uri().path()) {
            self.call(req, peer).await.unwrap_or_else(|e| {
                eprintln!("edgepack-spin-host: {e:#}");
                plain(500, "internal error")
            })
        } else {
            plain(404, "not found")
        };
        if !self.answered.swap(true, Ordering::Relaxed) {
            println!(
                "edgepack-spin-host: first response {} ms after start",
                self.started.elapsed().as_millis()
            );
        }
        Ok(response)
    }

    async fn call(
        &self,
        mut req: hyper::Request<Incoming>,
        peer: SocketAddr,
    ) -> Result<hyper::Response<HyperOutgoingBody>> {
        set_spin_headers(&mut req, peer, &self.app.route)?;
        let mut store = Store::new(
            self.pre.engine(),
            HostState::new(self.app.clone(), self.kv.clone()),
        );
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let wasi_req = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, req)?;
        let out = store.data_mut().http().new_response_outparam(sender)?;
        let pre = self.pre.clone();
        // The guest may keep writing the body after it set the response: run it on its own.
        let task = tokio::spawn(async move {
            let proxy = pre.instantiate_async(&mut store).await?;
            proxy
                .wasi_http_incoming_handler()
                .call_handle(store, wasi_req, out)
                .await
        });
        match receiver.await {
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(code)) => Err(format_err!("guest error: {code:?}")),
            Err(_) => {
                let detail = match task.await {
                    Ok(Ok(())) => format_err!("guest returned without a response"),
                    Ok(Err(e)) => e,
                    Err(e) => e.into(),
                };
                Err(detail.context("guest never set a response"))
            }
        }
    }
}

/// The headers Spin gives a component. Any `spin-*` header the client sent is dropped first,
/// so `spin-client-addr` is always the TCP peer.
fn set_spin_headers(
    req: &mut hyper::Request<Incoming>,
    peer: SocketAddr,
    route: &str,
) -> Result<()> {
    let host = req
        .headers()
        .get(hyper::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost")
        .to_owned();
    let path_and_query = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".to_owned());
    let path = req.uri().path().to_owned();
    let headers = req.headers_mut();
    let client_set: Vec<HeaderName> = headers
        .keys()
        .filter(|k| k.as_str().starts_with("spin-"))
        .cloned()
        .collect();
    for name in client_set {
        headers.remove(name);
    }
    let base = route.strip_suffix("/...").unwrap_or(route);
    let path_info = path.strip_prefix(base).unwrap_or(&path);
    for (name, value) in [
        (CLIENT_ADDR, peer.to_string()),
        ("spin-full-url", format!("http://{host}{path_and_query}")),
        ("spin-path-info", path_info.to_owned()),
        ("spin-matched-route", route.to_owned()),
        ("spin-raw-component-route", route.to_owned()),
        ("spin-component-route", base.to_owned()),
        ("spin-base-path", "/".to_owned()),
    ] {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_str(&value).context("spin header value")?,
        );
    }
    Ok(())
}

fn plain(status: u16, text: &'static str) -> hyper::Response<HyperOutgoingBody> {
    let body = Full::new(Bytes::from_static(text.as_bytes()))
        .map_err(|never| match never {})
        .boxed_unsync();
    let mut resp = hyper::Response::new(body);
    *resp.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or_default();
    resp
}
