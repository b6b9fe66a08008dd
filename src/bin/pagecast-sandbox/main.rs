//! `pagecast-sandbox`: a loopback stand-in for Meta's Graph Send API and
//! Harasocial's payload-id API.
//!
//! pagecast's tests and rehearsals must never touch the real network, yet
//! the hard parts of sending (throttling, ambiguous failures, resets, token
//! redaction, conversation paging) only show against a server that behaves
//! like Graph. This binary answers with the real APIs' shapes, injects
//! scripted faults per recipient, and records every request for tests to
//! assert on. It is also the target of throughput benchmarks, so a request
//! costs O(1) work and no fsync.
//!
//! ```text
//! pagecast-sandbox [--addr 127.0.0.1:0] [--config FILE] [--record FILE] [--latency-ms N]
//! ```
//!
//! It prints `listening on http://ADDR` on stdout once bound, then serves
//! until SIGINT or SIGTERM.

mod api;
mod config;
mod conn;
mod control;
mod conversations;
mod fault;
mod journal;
mod reply;
mod state;

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use axum::Router;
use axum::routing::{get, post, put};
use clap::Parser;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::conn::{ConnHandle, ResettableListener};
use crate::journal::Journal;
use crate::state::Sandbox;

/// Command-line arguments.
#[derive(Debug, Parser)]
#[command(
    name = "pagecast-sandbox",
    about = "Loopback stand-in for the Graph Send API and Harasocial, with scripted faults"
)]
struct Cli {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: SocketAddr,
    /// JSON config: tokens, faults, random_fault, seed, conversations, latency_ms.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Also append each recorded request to FILE as one JSON line.
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    /// Delay before every API answer; overrides `latency_ms` of any config.
    #[arg(long, value_name = "N")]
    latency_ms: Option<u64>,
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let config = load_config(cli.config.as_deref(), cli.latency_ms)?;
    let record = cli.record.as_deref().map(open_record).transpose()?;
    let listener = TcpListener::bind(cli.addr).await.with_context(|| format!("cannot listen on {}", cli.addr))?;
    let local_addr = listener.local_addr()?;
    let sandbox = Sandbox::new(config, Journal::new(record), cli.latency_ms, local_addr);
    let app = router(Arc::new(sandbox)).into_make_service_with_connect_info::<ConnHandle>();
    announce(local_addr)?;
    tokio::select! {
        served = axum::serve(ResettableListener(listener), app) => served?,
        () = shutdown_signal() => {}
    }
    Ok(())
}

/// The routes: control routes by name, everything else to the imitated APIs.
fn router(sandbox: Arc<Sandbox>) -> Router {
    Router::new()
        .route("/_sandbox/requests", get(control::requests))
        .route("/_sandbox/stats", get(control::stats))
        .route("/_sandbox/reset", post(control::reset))
        .route("/_sandbox/config", put(control::put_config))
        .fallback(api::handle)
        .with_state(sandbox)
}

/// Reads `--config`, or starts from the empty config.
fn load_config(path: Option<&Path>, latency_override: Option<u64>) -> Result<Config> {
    let json = match path {
        Some(path) => std::fs::read(path).with_context(|| format!("cannot read config {}", path.display()))?,
        None => b"{}".to_vec(),
    };
    Config::from_json(&json, latency_override).map_err(|error| match path {
        Some(path) => anyhow::anyhow!("invalid config {}: {error}", path.display()),
        None => anyhow::anyhow!("invalid config: {error}"),
    })
}

/// Opens `--record` for appending.
fn open_record(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open record file {}", path.display()))
}

/// Prints the one line tests read to learn the port.
fn announce(addr: SocketAddr) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on http://{addr}")?;
    stdout.flush()?;
    Ok(())
}

/// Resolves on SIGINT or SIGTERM. Open connections (a `hang` may hold one
/// forever) are dropped rather than drained.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
