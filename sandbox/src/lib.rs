//! `pagecast-sandbox`: a loopback stand-in for Meta's Graph Send API and
//! Harasocial's payload-id API.
//!
//! pagecast's tests and rehearsals must never touch the real network, yet
//! the hard parts of sending (throttling, ambiguous failures, resets, token
//! redaction, conversation paging) only show against a server that behaves
//! like Graph. This crate answers with the real APIs' shapes, injects
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

//! The binary (`src/main.rs`) is a thin CLI over [`serve`]; pagecast's
//! integration tests start it in-process with [`spawn`].

mod api;
mod config;
mod conn;
mod control;
mod conversations;
mod fault;
mod journal;
mod reply;
mod state;
mod templates;

use std::fs::{File, OpenOptions};
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use axum::Router;
use axum::routing::{get, post, put};
use tokio::net::TcpListener;

pub use crate::config::Config;
pub use crate::conn::Outage;
use crate::conn::{ConnHandle, ResettableListener};
use crate::journal::Journal;
use crate::state::Sandbox;

/// How to start a sandbox.
#[derive(Debug, Default)]
pub struct Options {
    /// The JSON config (tokens, faults, conversations…); `None` is `{}`.
    pub config: Option<Vec<u8>>,
    /// Append each recorded request to this file as one JSON line.
    pub record: Option<File>,
    /// Delay before every API answer; overrides `latency_ms` of any config.
    pub latency_ms: Option<u64>,
    /// The switch that closes the listening socket (an API outage).
    pub outage: Outage,
}

/// Serves on `listener` until `shutdown` resolves. `on_bound` is told the
/// address once the config is checked and the socket is ready.
pub async fn serve(
    listener: TcpListener,
    options: Options,
    on_bound: impl FnOnce(SocketAddr) -> Result<()>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let config = Config::from_json(options.config.as_deref().unwrap_or(b"{}"), options.latency_ms)
        .map_err(|error| anyhow::anyhow!("invalid config: {error}"))?;
    let local_addr = listener.local_addr()?;
    let listener = ResettableListener::new(listener, options.outage.clone())?;
    let sandbox = Sandbox::new(config, Journal::new(options.record), options.latency_ms, local_addr);
    let app = router(Arc::new(sandbox)).into_make_service_with_connect_info::<ConnHandle>();
    on_bound(local_addr)?;
    tokio::select! {
        served = axum::serve(listener, app) => served?,
        () = shutdown => {}
    }
    Ok(())
}

/// The routes: control routes by name, everything else to the imitated APIs.
fn router(sandbox: Arc<Sandbox>) -> Router {
    Router::new()
        .route("/_sandbox/requests", get(control::requests))
        .route("/_sandbox/down", post(conn::down_route))
        .route("/_sandbox/stats", get(control::stats))
        .route("/_sandbox/reset", post(control::reset))
        .route("/_sandbox/config", put(control::put_config))
        .route("/_sandbox/templates", get(control::templates))
        .route("/_sandbox/templates/{page}/{name}/{language}/{action}", post(control::review_template))
        .fallback(api::handle)
        .with_state(sandbox)
}

/// Serves with the empty config on a free loopback port, announcing
/// `listening on http://ADDR` on stdout, until the process is killed. For a
/// bench binary that re-runs itself as the sandbox's own process.
pub fn serve_announced_forever() -> ! {
    let served = tokio::runtime::Runtime::new().map_err(anyhow::Error::from).and_then(|runtime| {
        runtime.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let announce = |addr| {
                println!("listening on http://{addr}");
                Ok(())
            };
            serve(listener, Options::default(), announce, std::future::pending()).await
        })
    });
    if let Err(error) = served {
        eprintln!("sandbox: {error:#}");
    }
    std::process::exit(1);
}

/// Opens a `--record` file for appending.
pub fn open_record(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open record file {}", path.display()))
}

/// A sandbox serving on 127.0.0.1 from a thread of the calling process;
/// it stops when dropped. Tests use it the way an operator uses the binary.
#[derive(Debug)]
pub struct Running {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// `127.0.0.1:PORT`.
    pub addr: SocketAddr,
    outage: Outage,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Starts a sandbox on a free loopback port with this JSON config.
///
/// # Panics
/// When the config is invalid or no port can be bound: both are bugs of
/// the calling test.
pub fn spawn(config: &serde_json::Value) -> Running {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (bound_tx, bound_rx) = std::sync::mpsc::channel();
    let outage = Outage::default();
    let options =
        Options { config: Some(config.to_string().into_bytes()), outage: outage.clone(), ..Options::default() };
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime for the sandbox");
        let bound = bound_tx.clone();
        let served = runtime.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let shutdown = async move {
                let _ = stopped.await;
            };
            serve(listener, options, move |addr| Ok(bound.send(Ok(addr))?), shutdown).await
        });
        if let Err(error) = served {
            let _ = bound_tx.send(Err(error));
        }
        // Connections held open (a `hang`) must not keep the thread alive.
        runtime.shutdown_background();
    });
    let addr = match bound_rx.recv() {
        Ok(Ok(addr)) => addr,
        Ok(Err(error)) => panic!("the sandbox did not start: {error:#}"),
        Err(_) => panic!("the sandbox thread ended before binding"),
    };
    Running { url: format!("http://{addr}"), addr, outage, stop: Some(stop), thread: Some(thread) }
}

impl Running {
    /// Starts (`true`) or ends (`false`) an API outage: while down, the
    /// listening socket is closed and every new connection is refused.
    /// Returns once the change is published; the listener acts on it at once,
    /// and [`Running::wait_reachable`] confirms the end of an outage.
    pub fn set_down(&self, down: bool) {
        self.outage.set_down(down);
    }

    /// Waits (up to 5 s) until a TCP connect to the sandbox gives `reachable`.
    ///
    /// # Panics
    /// When the state is not reached in time: the listener is stuck.
    pub fn wait_reachable(&self, reachable: bool) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let now_reachable = || match std::net::TcpStream::connect(self.addr) {
            Ok(_) => true,
            // Only a refusal shows the socket closed; a reset is the race of the close.
            Err(error) => error.kind() != std::io::ErrorKind::ConnectionRefused,
        };
        while now_reachable() != reachable {
            assert!(std::time::Instant::now() < deadline, "the sandbox did not become reachable={reachable}");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
