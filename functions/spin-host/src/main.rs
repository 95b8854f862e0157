//! A local host for the edgepack Spin component, standing in for `spin up` where the Spin CLI
//! is not available: reads spin.toml, loads the component it names, serves wasi:http on a local
//! address, and provides Spin key-value (SQLite, persistent) and variables.
//!
//! ```text
//! edgepack-spin-host [--listen 127.0.0.1:3000] [--state-dir DIR] [spin.toml]
//! edgepack-spin-host --list-keys [--state-dir DIR] [spin.toml]   # print the default store's keys
//! ```
//! Variables come from spin.toml defaults, overridden by `SPIN_VARIABLE_<NAME>`. Key-value data
//! lives in `DIR/sqlite_key_value.db` (default DIR: `.spin` beside spin.toml, as with Spin).

mod bindings;
mod kv;
mod manifest;
mod outbound;
mod server;
mod state;
mod variables;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;
use wasmtime::error::Context;
use wasmtime::{bail, Result};

/// Spin's default listen address.
const DEFAULT_LISTEN: &str = "127.0.0.1:3000";

struct Args {
    manifest: PathBuf,
    listen: SocketAddr,
    state_dir: Option<PathBuf>,
    list_keys: bool,
}

fn parse_args() -> Result<Args> {
    let mut manifest = PathBuf::from("spin.toml");
    let mut listen: SocketAddr = DEFAULT_LISTEN.parse()?;
    let mut state_dir = None;
    let mut list_keys = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => {
                let v = args.next().context("--listen needs an address")?;
                listen = v
                    .parse::<SocketAddr>()
                    .with_context(|| format!("--listen {v}"))?;
            }
            "--state-dir" => {
                state_dir = Some(PathBuf::from(
                    args.next().context("--state-dir needs a directory")?,
                ));
            }
            "--list-keys" => list_keys = true,
            "-h" | "--help" => {
                println!(
                    "usage: edgepack-spin-host [--listen ADDR | --list-keys] [--state-dir DIR] [spin.toml]"
                );
                std::process::exit(0);
            }
            other if other.starts_with('-') => bail!("unknown option {other}"),
            other => manifest = PathBuf::from(other),
        }
    }
    Ok(Args {
        manifest,
        listen,
        state_dir,
        list_keys,
    })
}

fn main() -> ExitCode {
    let started = Instant::now();
    let result = parse_args().and_then(|args| {
        let state_dir = args
            .state_dir
            .unwrap_or_else(|| server::default_state_dir(&args.manifest));
        if args.list_keys {
            return kv::Sqlite::open(&state_dir.join(server::KV_FILE))?.print_keys();
        }
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("starting the runtime")?
            .block_on(server::run(args.manifest, args.listen, state_dir, started))
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("edgepack-spin-host: {e:#}");
            ExitCode::FAILURE
        }
    }
}
