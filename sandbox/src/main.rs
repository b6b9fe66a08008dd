//! `pagecast-sandbox`: the loopback Graph / Harasocial stand-in as a program,
//! for rehearsals and for benches that want it in a process of its own.
//!
//! ```text
//! pagecast-sandbox [--addr 127.0.0.1:0] [--config FILE] [--record FILE] [--latency-ms N]
//! ```
//!
//! It prints `listening on http://ADDR` on stdout once bound, then serves
//! until SIGINT or SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Parser;
use pagecast_sandbox::{Options, open_record, serve};
use tokio::net::TcpListener;

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
    let config = match &cli.config {
        Some(path) => Some(std::fs::read(path).with_context(|| format!("cannot read config {}", path.display()))?),
        None => None,
    };
    let record = cli.record.as_deref().map(open_record).transpose()?;
    let listener = TcpListener::bind(cli.addr).await.with_context(|| format!("cannot listen on {}", cli.addr))?;
    let options = Options { config, record, latency_ms: cli.latency_ms, ..Options::default() };
    serve(listener, options, announce, shutdown_signal()).await
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
