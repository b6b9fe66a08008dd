//! Progress while sending: an indicatif bar per page on a terminal, plain
//! log lines under cron; and Ctrl-C / SIGTERM turned into a graceful stop.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

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

/// Recent (instant, results) samples of one page: the rate is measured over
/// the last [`RATE_WINDOW`], not since the start (a pause would drag it down
/// for the rest of the run).
#[derive(Debug, Default)]
struct Rate {
    samples: std::collections::VecDeque<(Instant, u64)>,
}

const RATE_WINDOW: Duration = Duration::from_secs(10);

impl Rate {
    /// Records `done` at `now`; returns results per second over the window.
    fn sample(&mut self, now: Instant, done: u64) -> f64 {
        self.samples.push_back((now, done));
        while self.samples.len() > 2 && self.samples.front().is_some_and(|(t, _)| now - *t > RATE_WINDOW) {
            self.samples.pop_front();
        }
        let Some(&(first, first_done)) = self.samples.front() else { return 0.0 };
        let secs = (now - first).as_secs_f64();
        if secs < 0.5 { 0.0 } else { done.saturating_sub(first_done) as f64 / secs }
    }
}

/// What follows the counts: the page's pause, or its rate and time left.
/// `rate` is results per second; `paused` is (until, code) in Unix seconds.
fn pace(done: u64, total: u64, rate: f64, paused: Option<(u64, Option<i64>)>) -> String {
    if let Some((until, code)) = paused {
        let at = chrono::DateTime::from_timestamp(until as i64, 0)
            .map_or_else(String::new, |t| t.format("%H:%M:%S UTC").to_string());
        let code = code.map_or_else(String::new, |c| format!(" (code {c})"));
        return format!("paused until {at}{code}");
    }
    if done >= total {
        return "done".to_owned();
    }
    if rate <= 0.0 {
        return "waiting".to_owned();
    }
    let left = ((total - done) as f64 / rate).ceil() as u64;
    format!("{} · about {} left", crate::report::html::rate_text(rate), eta_text(left))
}

/// `45s`, `3m 05s`, `2h 10m`.
fn eta_text(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m {:02}s", secs / 60, secs % 60),
        _ => format!("{}h {:02}m", secs / 3600, secs % 3600 / 60),
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
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
    let style = ProgressStyle::with_template("{prefix:>18} [{bar:30}] {pos}/{len} {msg}")
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
    let mut rates: Vec<Rate> = progress.iter().map(|_| Rate::default()).collect();
    loop {
        let (now, unix) = (Instant::now(), unix_now());
        for ((bar, p), rate) in bars.iter().zip(&progress).zip(&mut rates) {
            let (done, total) = (p.done(), p.total.load(Ordering::Relaxed));
            let per_second = rate.sample(now, done);
            bar.set_length(total);
            bar.set_position(done);
            bar.set_message(format!("{} · {}", pace(done, total, per_second, p.paused(unix)), line(p)));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Under cron: one line per page every 10 s, through the log (level and timestamp).
async fn log_lines(campaign: Arc<Campaign>, progress: Vec<Arc<Progress>>) {
    let mut tick = tokio::time::interval(Duration::from_secs(10));
    let mut rates: Vec<Rate> = progress.iter().map(|_| Rate::default()).collect();
    for (p, rate) in progress.iter().zip(&mut rates) {
        rate.sample(Instant::now(), p.done());
    }
    tick.tick().await;
    loop {
        tick.tick().await;
        let (now, unix) = (Instant::now(), unix_now());
        for ((page, p), rate) in campaign.pages.iter().zip(&progress).zip(&mut rates) {
            let (done, total) = (p.done(), p.total.load(Ordering::Relaxed));
            let per_second = rate.sample(now, done);
            tracing::info!(
                "page {}: {done}/{total} done, {}: {}",
                page.id,
                pace(done, total, per_second, p.paused(unix)),
                line(p)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pace_says_paused_until_and_the_code() {
        let until = chrono::DateTime::parse_from_rfc3339("2026-11-22T09:10:00Z").unwrap().timestamp() as u64;
        assert_eq!(pace(0, 10, 0.0, Some((until, Some(613)))), "paused until 09:10:00 UTC (code 613)");
        assert_eq!(pace(0, 10, 5.0, Some((until, None))), "paused until 09:10:00 UTC");
    }

    #[test]
    fn pace_rounds_the_rate_and_never_says_eta_0s_while_waiting() {
        assert_eq!(pace(100, 20_000, 297.8049, None), "298/s · about 1m 07s left");
        assert_eq!(pace(0, 10, 0.0, None), "waiting");
        assert_eq!(pace(10, 10, 0.0, None), "done");
        assert_eq!(pace(0, 3, 2.5, None), "2.5/s · about 2s left");
        assert_eq!(eta_text(7_800), "2h 10m");
    }

    #[test]
    fn the_rate_is_measured_over_the_last_seconds() {
        let t0 = Instant::now();
        let mut rate = Rate::default();
        assert_eq!(rate.sample(t0, 0), 0.0);
        assert_eq!(rate.sample(t0 + Duration::from_secs(2), 600), 300.0);
        // After a long pause, the old fast samples leave the window.
        rate.sample(t0 + Duration::from_secs(30), 600);
        let r = rate.sample(t0 + Duration::from_secs(35), 600);
        assert_eq!(r, 0.0);
        let paused = Progress::default();
        assert_eq!(paused.paused(0), None);
    }
}
