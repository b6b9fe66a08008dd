//! Progress while sending: an indicatif bar per page on a terminal, plain
//! log lines under cron; and Ctrl-C / SIGTERM turned into a graceful stop.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::campaign::Campaign;
use crate::send::pipeline::{Cancel, Progress};

/// Stops the run on the first SIGINT or SIGTERM (requests in flight finish
/// and are recorded), and abandons requests in flight on the second.
pub async fn watch_signals(cancel: tokio::sync::watch::Sender<Cancel>) {
    signal().await;
    tracing::warn!(
        "stopping: requests in flight will finish and be recorded; the rest are not attempted (press Ctrl-C again to abandon requests in flight)"
    );
    let _ = cancel.send(Cancel::Stopping);
    signal().await;
    tracing::warn!("abandoning requests in flight: their recipients are recorded `unknown`");
    let _ = cancel.send(Cancel::Abandon);
}

/// Resolves on the next SIGINT or SIGTERM.
async fn signal() {
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}

fn line(p: &Progress) -> String {
    let c = |i: usize| p.counts[i].load(Ordering::Relaxed);
    format!("sent {} skipped {} failed {} unknown {} not attempted {}", c(0), c(1), c(2), c(3), c(4))
}

/// Starts the display task; abort it when sending is over.
pub fn spawn(campaign: Arc<Campaign>, progress: Vec<Arc<Progress>>) -> tokio::task::JoinHandle<()> {
    if std::io::stderr().is_terminal() {
        tokio::spawn(bars(campaign, progress))
    } else {
        tokio::spawn(log_lines(campaign, progress))
    }
}

async fn bars(campaign: Arc<Campaign>, progress: Vec<Arc<Progress>>) {
    let multi = MultiProgress::new();
    let style = ProgressStyle::with_template("{prefix:>18} [{bar:30}] {pos}/{len} {per_sec} eta {eta} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    let bars: Vec<ProgressBar> = campaign
        .pages
        .iter()
        .map(|p| {
            let bar = multi.add(ProgressBar::new(0));
            bar.set_style(style.clone());
            bar.set_prefix(p.id.clone());
            bar
        })
        .collect();
    loop {
        for (bar, p) in bars.iter().zip(&progress) {
            bar.set_length(p.total.load(Ordering::Relaxed));
            bar.set_position(p.done());
            bar.set_message(line(p));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn log_lines(campaign: Arc<Campaign>, progress: Vec<Arc<Progress>>) {
    let mut tick = tokio::time::interval(Duration::from_secs(10));
    tick.tick().await;
    loop {
        tick.tick().await;
        for (page, p) in campaign.pages.iter().zip(&progress) {
            let total = p.total.load(Ordering::Relaxed);
            tracing::info!("page {}: {}/{} done: {}", page.id, p.done(), total, line(p));
        }
    }
}
