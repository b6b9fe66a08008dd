//! The send pipeline: one visible flow with bounded concurrency and a smooth
//! per-page rate.
//!
//! ```text
//! `concurrency` workers, each: take the job of the page whose rate slot comes first
//!   ─▶ wait for the slot ─▶ window check ─▶ intent (durable) ─▶ POST ─▶ classify ─▶ retry / pause / record
//! ```
//!
//! Jobs wait in per-page queues (plan order). A free worker takes the next
//! job of the page that may send soonest and reserves that page's rate slot,
//! so a throttled page, whose next slot is far away, is chosen only when no
//! other page has work, and a slow page never starves the others. A throttle
//! moves the page's shared "not before" instant, which every task of that page
//! honours. A fatal answer stops its page only; Ctrl-C stops dispatching, and
//! requests already in flight finish and are recorded.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio::time::Instant;

use super::classify::{self, Class};
use super::client::{Client, Redactor, Target};
use super::wire::{self, BodyTemplate, GraphEnvelope};
use crate::audience::merge::Audiences;
use crate::campaign::model::Provider;
use crate::campaign::{Campaign, Page};
use crate::policy::SkipReason;
use crate::report::Outcome;

/// Ten permanent failures in a row on one page mean something is wrong with
/// the campaign, not with ten people: stop the page.
pub const OTHER_FAILURES_TO_STOP: u32 = 10;

/// Where "now" comes from for window checks: the system clock or `--now`.
#[derive(Debug, Clone, Copy)]
pub enum Clock {
    /// The system clock.
    System,
    /// A frozen instant.
    Frozen(DateTime<Utc>),
}

impl Clock {
    /// The current instant by this clock.
    pub fn now(self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Frozen(t) => t,
        }
    }
}

/// Where intents and outcomes are made durable.
pub trait Journal: Send + Sync + 'static {
    /// Resolves once the intent to send to (page, recipient) is durable.
    fn intent(&self, page: &str, recipient: &str) -> impl Future<Output = Result<(), String>> + Send;
    /// Records a final result (queued; made durable in batches).
    fn outcome(&self, result: &SendResult);
}

/// A journal that keeps nothing (benchmarks of the pipeline alone).
pub struct NoJournal;

impl Journal for NoJournal {
    async fn intent(&self, _: &str, _: &str) -> Result<(), String> {
        Ok(())
    }
    fn outcome(&self, _: &SendResult) {}
}

/// One recipient to send to.
#[derive(Debug, Clone, Copy)]
pub struct Job {
    /// Index into `Campaign::pages`.
    pub page: u32,
    /// Index into `Audiences::people`.
    pub person: usize,
}

/// The final result for one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendResult {
    /// Index into `Campaign::pages`.
    pub page: u32,
    /// Index into `Audiences::people`.
    pub person: usize,
    /// sent, skipped, failed, unknown or not_attempted.
    pub outcome: Outcome,
    /// Skip reason, or why the result is unknown / not attempted.
    pub reason: Option<String>,
    /// Error code.
    pub code: Option<i64>,
    /// Error subcode.
    pub subcode: Option<i64>,
    /// The API's message, redacted.
    pub message: Option<String>,
    /// The message id on success.
    pub message_id: Option<String>,
    /// Requests made.
    pub attempts: u32,
    /// When the result was known.
    pub at: DateTime<Utc>,
}

/// Why a page stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageStop {
    /// The page.
    pub page: String,
    /// What stopped it.
    pub reason: String,
}

/// What the pipeline returns.
#[derive(Debug, Default)]
pub struct SendSummary {
    /// One result per job.
    pub results: Vec<SendResult>,
    /// Pages stopped by a fatal answer or by throttling past `max_pause`.
    pub stopped: Vec<PageStop>,
    /// True when Ctrl-C stopped the run.
    pub interrupted: bool,
}

/// Live counters per page, for progress display.
#[derive(Debug, Default)]
pub struct Progress {
    /// sent, skipped, failed, unknown, not_attempted.
    pub counts: [AtomicU64; 5],
    /// Jobs for this page.
    pub total: AtomicU64,
}

impl Progress {
    fn add(&self, outcome: Outcome) {
        let i = match outcome {
            Outcome::Sent => 0,
            Outcome::Skipped => 1,
            Outcome::Failed => 2,
            Outcome::Unknown => 3,
            _ => 4,
        };
        self.counts[i].fetch_add(1, Ordering::Relaxed);
    }

    /// Results so far.
    pub fn done(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }
}

/// Everything a run's tasks share.
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
    /// Becomes true on Ctrl-C.
    pub cancel: watch::Receiver<bool>,
    /// Per-page counters (same order as pages).
    pub progress: Vec<Arc<Progress>>,
}

/// The rate gate and stop state of one page.
struct PageState {
    interval: Duration,
    gate: Mutex<Gate>,
    stopped: AtomicBool,
    stop_reason: Mutex<Option<String>>,
    failures_in_row: AtomicU32,
    max_pause: Duration,
    /// The page's body, serialized once, when the message has no templates.
    body: Option<BodyTemplate>,
    /// URL and `Authorization` header (None when the token cannot be sent:
    /// the page is then stopped before it starts).
    target: Option<Target>,
}

struct Gate {
    next_slot: Instant,
    not_before: Instant,
    paused: Duration,
    throttles_in_row: u32,
}

impl PageState {
    fn new(rate: u32, max_pause: Duration, body: Option<BodyTemplate>, target: Result<Target, String>) -> Self {
        let now = Instant::now();
        PageState {
            interval: Duration::from_secs_f64(1.0 / f64::from(rate.max(1))),
            gate: Mutex::new(Gate { next_slot: now, not_before: now, paused: Duration::ZERO, throttles_in_row: 0 }),
            failures_in_row: AtomicU32::new(0),
            max_pause,
            body,
            stopped: AtomicBool::new(target.is_err()),
            stop_reason: Mutex::new(target.as_ref().err().cloned()),
            target: target.ok(),
        }
    }

    fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    fn stop(&self, reason: String) {
        let mut r = self.stop_reason.lock().expect("not poisoned");
        if r.is_none() {
            *r = Some(reason);
        }
        self.stopped.store(true, Ordering::SeqCst);
    }

    /// The earliest instant this page may send again.
    fn available_at(&self) -> Instant {
        let g = self.gate.lock().expect("not poisoned");
        g.next_slot.max(g.not_before)
    }

    /// Takes the page's next rate slot: (the slot, the pause it honours).
    fn reserve(&self) -> (Instant, Instant) {
        let mut g = self.gate.lock().expect("not poisoned");
        let slot = g.next_slot.max(g.not_before).max(Instant::now());
        g.next_slot = slot + self.interval;
        (slot, g.not_before)
    }

    /// True when a throttle moved the pause past `not_before` and it is not over.
    fn paused_since(&self, not_before: Instant) -> bool {
        let current = self.gate.lock().expect("not poisoned").not_before;
        current > not_before && Instant::now() < current
    }

    /// Waits for this page's next rate slot, and past any throttle pause.
    async fn wait_turn(&self, cancel: &mut watch::Receiver<bool>) {
        loop {
            let (slot, not_before) = self.reserve();
            if !sleep_or_cancel(slot, cancel).await || !self.paused_since(not_before) || self.is_stopped() {
                return;
            }
        }
    }

    /// Pauses the page after a throttle answer; false when the total pause
    /// would pass `max_pause` (the page is then stopped).
    fn throttle(&self, regain: Option<Duration>) -> bool {
        let mut g = self.gate.lock().expect("not poisoned");
        g.throttles_in_row += 1;
        let pause = classify::throttle_pause(g.throttles_in_row, regain);
        let until = Instant::now() + pause;
        if until > g.not_before {
            let extension = until - g.not_before.max(Instant::now());
            g.paused += extension;
            g.not_before = until;
        }
        if g.paused > self.max_pause {
            drop(g);
            self.stop(format!("throttled for longer than send.max_pause ({}s)", self.max_pause.as_secs()));
            return false;
        }
        true
    }

    fn answered(&self) {
        self.gate.lock().expect("not poisoned").throttles_in_row = 0;
    }
}

/// Sleeps until `at`; false if Ctrl-C came first.
async fn sleep_or_cancel(at: Instant, cancel: &mut watch::Receiver<bool>) -> bool {
    if *cancel.borrow() {
        return false;
    }
    // tokio's timer rounds every deadline up to the next millisecond, so a
    // sleep for a slot that is (nearly) due would cap a page near 1,000/s.
    // The rate stays exact: slots advance from the slot, not the wake time.
    if at <= Instant::now() + TIMER_GRAIN {
        return true;
    }
    tokio::select! {
        _ = tokio::time::sleep_until(at) => true,
        changed = cancel.changed() => match changed {
            Ok(()) => !*cancel.borrow(),
            // No one can cancel any more: just sleep.
            Err(_) => {
                tokio::time::sleep_until(at).await;
                true
            }
        },
    }
}

/// The resolution of tokio's timer.
const TIMER_GRAIN: Duration = Duration::from_millis(1);

/// Sends every job and returns one result per job.
pub async fn run<J: Journal>(ctx: Arc<Context<J>>, jobs: Vec<Job>) -> SendSummary {
    let job_count = jobs.len();
    let settings = ctx.campaign.send;
    let max_pause = settings.max_pause.to_std().unwrap_or(Duration::from_secs(900));
    let campaign = &ctx.campaign;
    let constant = campaign.message.is_constant();
    let pages: Arc<Vec<PageState>> = Arc::new(
        campaign
            .pages
            .iter()
            .enumerate()
            .map(|(i, page)| {
                let body = constant
                    .then(|| BodyTemplate::new(|r| request_body(campaign, page, r, campaign.message.spec())))
                    .flatten();
                let target = ctx.client.target(page.provider, &page.id, &ctx.tokens[i]);
                PageState::new(settings.rate, max_pause, body, target)
            })
            .collect(),
    );
    for (p, n) in jobs
        .iter()
        .fold(vec![0u64; pages.len()], |mut n, j| {
            n[j.page as usize] += 1;
            n
        })
        .into_iter()
        .enumerate()
    {
        ctx.progress[p].total.store(n, Ordering::Relaxed);
    }
    let queues = Arc::new(Queues::new(pages.len(), jobs));

    // ── `concurrency` workers, each taking the job of the page that may send soonest ──
    let mut pool = tokio::task::JoinSet::new();
    for _ in 0..settings.concurrency.max(1) {
        let (ctx, pages, queues) = (ctx.clone(), pages.clone(), queues.clone());
        pool.spawn(async move {
            let mut cancel = ctx.cancel.clone();
            let mut done = Vec::new();
            loop {
                let (job, slot, not_before) = match queues.next(&pages, *cancel.borrow()) {
                    Next::Done => break,
                    Next::Drained(jobs) => {
                        done.extend(jobs.into_iter().map(|j| record(&ctx, not_attempted(j, &pages[j.page as usize]))));
                        continue;
                    }
                    Next::Job(job, slot, not_before) => (job, slot, not_before),
                };
                let state = &pages[job.page as usize];
                // Ctrl-C, a stop, or a throttle that moved the pause while this
                // worker waited: hand the job back and choose again.
                if !sleep_or_cancel(slot, &mut cancel).await || state.is_stopped() || state.paused_since(not_before) {
                    queues.put_back(job);
                    continue;
                }
                done.push(record(&ctx, send_one(&ctx, state, job).await));
            }
            done
        });
    }

    // ── gather ───────────────────────────────────────────────────────────
    let mut summary = SendSummary::default();
    while let Some(done) = pool.join_next().await {
        summary.results.extend(done.expect("pipeline tasks do not panic"));
    }
    assert_eq!(summary.results.len(), job_count, "every job ends with exactly one result");
    summary.interrupted = *ctx.cancel.borrow();
    for (i, state) in pages.iter().enumerate() {
        if let Some(reason) = state.stop_reason.lock().expect("not poisoned").clone() {
            summary.stopped.push(PageStop { page: ctx.campaign.pages[i].id.clone(), reason });
        }
    }
    summary
}

/// The jobs not yet started, per page, in plan order.
struct Queues {
    per_page: Mutex<Vec<VecDeque<Job>>>,
}

/// What a worker does next.
enum Next {
    /// Send this job at `slot` (the page's pause was the second instant).
    Job(Job, Instant, Instant),
    /// These jobs will not be sent (their page stopped, or Ctrl-C).
    Drained(Vec<Job>),
    /// Nothing is left.
    Done,
}

impl Queues {
    fn new(pages: usize, jobs: Vec<Job>) -> Self {
        let mut per_page = vec![VecDeque::new(); pages];
        for job in jobs {
            per_page[job.page as usize].push_back(job);
        }
        Queues { per_page: Mutex::new(per_page) }
    }

    /// The next job of the page that may send soonest, with its rate slot
    /// reserved; or the jobs that will never be sent.
    fn next(&self, pages: &[PageState], cancelled: bool) -> Next {
        let mut queues = self.per_page.lock().expect("not poisoned");
        let drained: Vec<Job> = queues
            .iter_mut()
            .enumerate()
            .filter(|(p, _)| cancelled || pages[*p].is_stopped())
            .flat_map(|(_, q)| q.drain(..))
            .collect();
        if !drained.is_empty() {
            return Next::Drained(drained);
        }
        let soonest = (0..queues.len()).filter(|p| !queues[*p].is_empty()).min_by_key(|p| pages[*p].available_at());
        let Some(p) = soonest else { return Next::Done };
        let job = queues[p].pop_front().expect("not empty");
        let (slot, not_before) = pages[p].reserve();
        Next::Job(job, slot, not_before)
    }

    /// Returns a job that was taken but not started, to the front of its page.
    fn put_back(&self, job: Job) {
        self.per_page.lock().expect("not poisoned")[job.page as usize].push_front(job);
    }
}

/// Hands a final result to the journal and the progress counters.
fn record<J: Journal>(ctx: &Context<J>, result: SendResult) -> SendResult {
    ctx.journal.outcome(&result);
    ctx.progress[result.page as usize].add(result.outcome);
    result
}

fn not_attempted(job: Job, state: &PageState) -> SendResult {
    let reason = if state.is_stopped() {
        state.stop_reason.lock().expect("not poisoned").clone().map(|r| format!("page stopped: {r}"))
    } else {
        Some("interrupted".to_string())
    };
    result(job, Outcome::NotAttempted, reason, 0)
}

fn result(job: Job, outcome: Outcome, reason: Option<String>, attempts: u32) -> SendResult {
    SendResult {
        page: job.page,
        person: job.person,
        outcome,
        reason,
        code: None,
        subcode: None,
        message: None,
        message_id: None,
        attempts,
        at: Utc::now(),
    }
}

/// One recipient, from the window check to a final result.
async fn send_one<J: Journal>(ctx: &Context<J>, state: &PageState, job: Job) -> SendResult {
    let page = &ctx.campaign.pages[job.page as usize];
    let (key, person) = ctx.audiences.people.get_index(job.person).expect("job indexes people");
    let recipient = &*key.1;
    let mut cancel = ctx.cancel.clone();

    // The window is checked again just before the request (SPEC §3).
    if let Err(reason) = page.rule.check(person.last_interaction, ctx.clock.now()) {
        return result(job, Outcome::Skipped, Some(reason.as_str().into()), 0);
    }
    let body = match &state.body {
        Some(template) => template.fill(recipient),
        None => match ctx.campaign.message.render(person.vars.iter()) {
            Ok(message) => serde_json::to_vec(&request_body(&ctx.campaign, page, recipient, &message))
                .expect("a JSON value serializes"),
            Err(detail) => {
                let mut r = result(job, Outcome::Skipped, Some(SkipReason::TemplateError.as_str().into()), 0);
                r.message = Some(detail);
                return r;
            }
        },
    };
    // Pages without a usable token are stopped before they start; this is
    // only a guard.
    let Some(target) = &state.target else {
        return result(job, Outcome::NotAttempted, Some("the page has no usable token".into()), 0);
    };
    if let Err(e) = ctx.journal.intent(&page.id, recipient).await {
        state.stop(format!("the ledger could not record the intent: {e}"));
        return result(job, Outcome::NotAttempted, Some(format!("ledger error: {e}")), 0);
    }

    let settings = ctx.campaign.send;
    let mut attempts = 0u32;
    // Set once an answer left delivery in doubt (only retried with
    // `retry_ambiguous`): from then on the result can never be "failed".
    let mut maybe_delivered = false;
    loop {
        attempts += 1;
        let answer = ctx.client.send(target, &body).await;
        let mut r = result(job, Outcome::Failed, None, attempts);
        r.code = answer.code;
        r.subcode = answer.subcode;
        r.message = answer.message.as_deref().map(|m| ctx.redactor.redact(m));
        if answer.class != Class::Throttle {
            state.answered();
        }
        match answer.class {
            Class::Sent => {
                state.failures_in_row.store(0, Ordering::Relaxed);
                r.outcome = Outcome::Sent;
                r.message_id = answer.message_id;
                r.message = None;
                return r;
            }
            Class::RecipientFailed => {
                state.failures_in_row.store(0, Ordering::Relaxed);
                return r;
            }
            Class::Fatal => {
                state.stop(format!("fatal error {}: {}", code_text(&r), r.message.clone().unwrap_or_default()));
                return r;
            }
            Class::OtherFailure => {
                if state.failures_in_row.fetch_add(1, Ordering::SeqCst) + 1 >= OTHER_FAILURES_TO_STOP {
                    state.stop(format!(
                        "{OTHER_FAILURES_TO_STOP} permanent failures in a row (last: {})",
                        code_text(&r)
                    ));
                }
                return r;
            }
            Class::Ambiguous if !(settings.retry_ambiguous && attempts < settings.max_attempts) => {
                r.outcome = Outcome::Unknown;
                r.reason = r.message.clone().or(Some("ambiguous answer".into()));
                return r;
            }
            Class::Retry if attempts >= settings.max_attempts => return settle(r, maybe_delivered),
            Class::Retry | Class::Ambiguous => {
                maybe_delivered |= answer.class == Class::Ambiguous;
                let wait = classify::backoff(attempts, fastrand::f64());
                if !sleep_or_cancel(Instant::now() + wait, &mut cancel).await {
                    return interrupted_after(r, "interrupted before a retry", maybe_delivered);
                }
            }
            Class::Throttle => {
                attempts -= 1; // a throttle is not an attempt (SPEC §4)
                if !state.throttle(answer.regain) {
                    return interrupted_after(r, "page stopped: throttled past send.max_pause", maybe_delivered);
                }
            }
        }
        state.wait_turn(&mut cancel).await;
        if *cancel.borrow() {
            return interrupted_after(r, "interrupted before a retry", maybe_delivered);
        }
        if state.is_stopped() {
            return interrupted_after(r, "page stopped before a retry", maybe_delivered);
        }
        if let Err(reason) = page.rule.check(person.last_interaction, ctx.clock.now()) {
            if maybe_delivered {
                return settle(r, true);
            }
            r.outcome = Outcome::Skipped;
            r.reason = Some(reason.as_str().into());
            return r;
        }
    }
}

/// A failed result, unless an earlier answer may have delivered the message.
fn settle(mut r: SendResult, maybe_delivered: bool) -> SendResult {
    if maybe_delivered {
        r.outcome = Outcome::Unknown;
        r.reason = Some("an earlier attempt may have been delivered".into());
    }
    r
}

/// A recipient whose earlier attempts surely did not deliver, stopped before
/// the next one. An earlier ambiguous answer makes it unknown, not "not attempted".
fn interrupted_after(mut r: SendResult, why: &str, maybe_delivered: bool) -> SendResult {
    if maybe_delivered {
        return settle(r, true);
    }
    r.outcome = Outcome::NotAttempted;
    r.reason = Some(why.into());
    r
}

fn code_text(r: &SendResult) -> String {
    match (r.code, r.subcode) {
        (Some(c), Some(s)) => format!("{c}/{s}"),
        (Some(c), None) => c.to_string(),
        _ => "no code".into(),
    }
}

fn request_body(
    campaign: &Campaign,
    page: &Page,
    recipient: &str,
    message: &crate::campaign::model::MessageSpec,
) -> serde_json::Value {
    match page.provider {
        Provider::Graph => {
            let envelope = GraphEnvelope {
                messaging_type: campaign.messaging_type.expect("validated: graph pages have a messaging type"),
                tag: campaign.tag,
                notification_type: campaign.notification_type,
            };
            wire::graph_body(envelope, recipient, message)
        }
        Provider::Harasocial => wire::harasocial_body(&page.id, recipient, message),
    }
}
