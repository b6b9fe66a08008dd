//! The send pipeline: one visible flow with bounded concurrency and a smooth
//! per-page rate.
//!
//! ```text
//! `concurrency` workers (worker.rs), each:
//!   take the job of the page whose rate slot comes first (queue.rs)
//!   ─▶ wait for the slot (gate.rs) ─▶ window check ─▶ intent (durable) ─▶ POST
//!   ─▶ classify ─▶ step (step.rs: retry / pause page / stop page / final) ─▶ record
//! ```
//!
//! Jobs wait in per-page queues (plan order). A throttled page, whose next
//! slot is far away, is chosen only when no other page has work, and a slow
//! page never starves the others. A throttle moves the page's shared "not
//! before" instant, which every worker of that page honours. A fatal answer,
//! a streak of identical failures or an unreachable API stops its page only;
//! Ctrl-C stops dispatching (requests in flight finish and are recorded), a
//! second Ctrl-C abandons them (`unknown`).

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;

use super::client::{Client, Redactor};
use super::gate::{PageState, Pause, Stop};
use super::queue::Queues;
use super::wire::BodyTemplate;
use super::worker;
use crate::audience::merge::Audiences;
use crate::campaign::Campaign;
use crate::records::Records;
use crate::vocab::{Clock, Job, Outcome, Pending, Reason, Record};

/// Where intents and outcomes are made durable.
pub trait Journal: Send + Sync + 'static {
    /// Resolves once the intent to send to this recipient is durable.
    fn intent(&self, job: Job) -> impl Future<Output = Result<(), String>> + Send;
    /// Records a final result (queued; made durable in batches).
    fn outcome(&self, record: &Record);
}

/// A journal that keeps nothing (benchmarks of the pipeline alone).
pub struct NoJournal;

impl Journal for NoJournal {
    async fn intent(&self, _: Job) -> Result<(), String> {
        Ok(())
    }
    fn outcome(&self, _: &Record) {}
}

/// How far a stop request has gone (Ctrl-C / SIGTERM).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Cancel {
    /// Sending.
    #[default]
    Running,
    /// First signal: start nothing new; requests in flight finish.
    Stopping,
    /// Second signal: abandon the requests in flight (they end `unknown`).
    Abandon,
}

/// One worker's copy of the stop channel. The channel's value sits behind a
/// lock that every worker shares, and a worker asks for it at least once a
/// message: this copy reads the value only when the channel's version moved
/// since it last looked (one atomic load otherwise), and waits on the
/// channel without cloning it.
pub struct CancelWatch {
    rx: watch::Receiver<Cancel>,
    last: Cancel,
}

impl CancelWatch {
    /// A copy of `rx` that has read its current value.
    pub fn new(rx: &watch::Receiver<Cancel>) -> Self {
        let mut rx = rx.clone();
        let last = *rx.borrow_and_update();
        CancelWatch { rx, last }
    }

    /// The current stop request.
    pub fn now(&mut self) -> Cancel {
        // Err: the channel closed, and has_changed no longer tells whether
        // this copy saw the last value; read it (under the lock).
        if !matches!(self.rx.has_changed(), Ok(false)) {
            self.last = *self.rx.borrow_and_update();
        }
        self.last
    }

    /// Waits for the next stop request and returns it; None when no one can
    /// send one any more.
    pub async fn changed(&mut self) -> Option<Cancel> {
        self.rx.changed().await.ok()?;
        self.last = *self.rx.borrow_and_update();
        Some(self.last)
    }

    /// Resolves once a second signal asks to abandon requests in flight
    /// (never when no one can send it any more).
    pub async fn abandoned(&mut self) {
        while self.now() != Cancel::Abandon {
            if self.changed().await.is_none() {
                std::future::pending::<()>().await;
            }
        }
    }
}

/// Why a page stopped, as the run reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageStop {
    /// The page.
    pub page: String,
    /// Why.
    pub stop: Stop,
}

/// One throttling pause of one page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PagePause {
    /// The page.
    pub page: String,
    /// The pause.
    pub pause: Pause,
}

/// What the pipeline returns.
#[derive(Debug, Default)]
pub struct SendSummary {
    /// One record per job (streak failures already re-labelled).
    pub records: Records,
    /// Pages stopped, and why.
    pub stopped: Vec<PageStop>,
    /// Every throttling pause.
    pub pauses: Vec<PagePause>,
    /// True when a signal stopped the run.
    pub interrupted: bool,
}

/// Live counters per page, for the progress display. Every answer of the
/// page writes them: they fill one cache line of their own.
#[derive(Debug, Default)]
#[repr(align(64))]
pub struct Progress {
    /// sent, skipped, failed, unknown, not_attempted.
    pub counts: [AtomicU64; 5],
    /// Jobs for this page.
    pub total: AtomicU64,
    /// Unix seconds until which the page is paused by throttling (0: not paused).
    pub paused_until: AtomicU64,
    /// The code of that pause (0: none given).
    pub paused_code: std::sync::atomic::AtomicI64,
}

impl Progress {
    fn slot(outcome: Outcome) -> usize {
        match outcome {
            Outcome::Sent => 0,
            Outcome::Skipped => 1,
            Outcome::Failed => 2,
            Outcome::Unknown => 3,
            _ => 4,
        }
    }

    pub(crate) fn add(&self, outcome: Outcome) {
        self.counts[Self::slot(outcome)].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn relabel(&self, from: Outcome, to: Outcome) {
        self.counts[Self::slot(from)].fetch_sub(1, Ordering::Relaxed);
        self.add(to);
    }

    /// Notes the page's pause for the display (the gate's `paused_until`).
    pub(crate) fn set_paused(&self, until: Option<chrono::DateTime<chrono::Utc>>, code: Option<i64>) {
        self.paused_code.store(code.unwrap_or(0), Ordering::Relaxed);
        self.paused_until.store(until.map_or(0, |t| t.timestamp().max(0) as u64), Ordering::Relaxed);
    }

    /// Until when (Unix seconds) and by which code the page is paused, when
    /// that is after `now_unix`.
    pub fn paused(&self, now_unix: u64) -> Option<(u64, Option<i64>)> {
        let until = self.paused_until.load(Ordering::Relaxed);
        let code = self.paused_code.load(Ordering::Relaxed);
        (until > now_unix).then_some((until, (code != 0).then_some(code)))
    }

    /// Results so far.
    pub fn done(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }
}

/// Everything a run's workers share.
pub struct Context<J: Journal> {
    /// The campaign.
    pub campaign: Arc<Campaign>,
    /// Its merged audiences.
    pub audiences: Arc<Audiences>,
    /// The HTTP client.
    pub client: Client,
    /// One token per page, in `Campaign::pages` order.
    pub tokens: Vec<String>,
    /// Hides tokens in anything recorded.
    pub redactor: Redactor,
    /// Intents and outcomes.
    pub journal: J,
    /// Window checks use this clock.
    pub clock: Clock,
    /// Ctrl-C / SIGTERM.
    pub cancel: watch::Receiver<Cancel>,
    /// Per-page counters (same order as pages).
    pub progress: Vec<Arc<Progress>>,
}

/// The pages of one run, ready to send: rate gates, bodies, targets.
pub struct Pages(Arc<Vec<PageState>>);

impl Pages {
    /// Builds every page's state (a page whose token cannot be sent starts stopped).
    pub fn new<J: Journal>(ctx: &Context<J>) -> Pages {
        let campaign = &ctx.campaign;
        let settings = campaign.send;
        let max_pause = settings.max_pause.to_std().unwrap_or(Duration::from_secs(900));
        let message = &campaign.message;
        // Built once per distinct body (every Graph page shares one): one
        // copy in the cache, however many pages a run has.
        let mut bodies = HashMap::new();
        let states = campaign
            .pages
            .iter()
            .enumerate()
            .map(|(i, page)| {
                let body = bodies.entry(worker::body_key(page)).or_insert_with(|| {
                    let body = BodyTemplate::new(message.slots(), |recipient, filled| {
                        worker::request_body(campaign, page, recipient, &message.spec_with(filled))
                    });
                    body.map(Arc::new)
                });
                let body = body.clone();
                let target = ctx.client.target(page.provider, &page.id, &ctx.tokens[i]);
                PageState::new(&page.id, settings.rate, max_pause, body, target)
            })
            .collect();
        Pages(Arc::new(states))
    }

    /// Stops every page that has not stopped yet.
    pub fn stop_all(&self, pending: Pending, detail: &str) {
        for page in self.0.iter() {
            page.stop(pending, detail.to_string());
        }
    }
}

/// Sends every job and returns one record per job.
pub async fn run<J: Journal>(ctx: Arc<Context<J>>, jobs: Vec<Job>) -> SendSummary {
    let pages = Pages::new(&ctx);
    let mut summary = send(&ctx, &pages, jobs).await;
    finish(&ctx, &pages, &mut summary);
    summary
}

/// Sends one wave of jobs through `pages` (whose gates and stops carry over
/// from earlier waves). Call [`finish`] once after the last wave.
pub async fn send<J: Journal>(ctx: &Arc<Context<J>>, pages: &Pages, jobs: Vec<Job>) -> SendSummary {
    let job_count = jobs.len();
    for job in &jobs {
        ctx.progress[job.page as usize].total.fetch_add(1, Ordering::Relaxed);
    }
    let queues = Arc::new(Queues::new(pages.0.len(), jobs));

    // ── `concurrency` workers, each taking the job of the page that may send soonest ──
    let mut pool = tokio::task::JoinSet::new();
    for _ in 0..ctx.campaign.send.concurrency.max(1) {
        pool.spawn(worker::work(ctx.clone(), pages.0.clone(), queues.clone()));
    }

    // ── gather ───────────────────────────────────────────────────────────
    let mut summary = SendSummary::default();
    while let Some(done) = pool.join_next().await {
        match done {
            Ok(records) => summary.records.append(records),
            // A worker that panicked lost its records; the jobs it held end
            // without one, which the count below reports loudly.
            Err(e) => tracing::error!("a send worker failed: {e}"),
        }
    }
    if summary.records.len() != job_count {
        tracing::error!("{} jobs ended without a record (a pagecast bug)", job_count - summary.records.len());
    }
    summary
}

/// What a failure in a completed streak becomes: not about the person after all.
const STREAK_RELABEL: (Outcome, Reason) = (Outcome::NotAttempted, Reason::Pending(Pending::PageStopped));

/// A streak failure re-labelled (see [`STREAK_RELABEL`]).
pub(crate) fn relabel(record: &mut Record) {
    if record.outcome == Outcome::Failed {
        (record.outcome, record.reason) = (STREAK_RELABEL.0, Some(STREAK_RELABEL.1));
    }
}

/// Applies what only the end of sending knows: streak re-labels, stopped
/// pages, pauses, the interruption.
pub fn finish<J: Journal>(ctx: &Context<J>, pages: &Pages, summary: &mut SendSummary) {
    summary.interrupted = *ctx.cancel.borrow() != Cancel::Running;
    let relabeled: HashSet<Job> = pages.0.iter().flat_map(|p| p.relabeled()).collect();
    if !relabeled.is_empty() {
        summary.records.relabel(|job| relabeled.contains(&job), Outcome::Failed, STREAK_RELABEL);
    }
    for (state, page) in pages.0.iter().zip(&ctx.campaign.pages) {
        if let Some(stop) = state.stopped_because() {
            summary.stopped.push(PageStop { page: page.id.clone(), stop });
        }
        summary.pauses.extend(state.pauses().into_iter().map(|pause| PagePause { page: page.id.clone(), pause }));
    }
}
