//! Per-request store data: WASI, wasi:http with the outbound policy, and the Spin interfaces.

use crate::kv::Sqlite;
use crate::manifest::App;
use crate::outbound::Outbound;
use std::sync::Arc;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

pub struct HostState {
    pub table: ResourceTable,
    pub wasi: WasiCtx,
    pub http: WasiHttpCtx,
    pub outbound: Outbound,
    pub app: Arc<App>,
    pub kv: Arc<Sqlite>,
}

impl HostState {
    pub fn new(app: Arc<App>, kv: Arc<Sqlite>) -> HostState {
        HostState {
            table: ResourceTable::new(),
            // Guest output goes to the host's stdout/stderr (Spin logs it the same way); no
            // environment, arguments or files.
            wasi: WasiCtx::builder().inherit_stdout().inherit_stderr().build(),
            http: WasiHttpCtx::new(),
            outbound: Outbound {
                allowed: Arc::new(app.allowed_outbound_hosts.clone()),
            },
            app,
            kv,
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.outbound,
        }
    }
}
