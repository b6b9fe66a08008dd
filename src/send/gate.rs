//! One page's shared state while sending: its rate gate, its throttling
//! pause, why it stopped, and the streaks that show an error of the page.
//!
//! Every worker sending for a page goes through the page's [`PageState`]: it
//! reserves the page's next rate slot, honours the page's "not before"
//! instant (moved by any worker that met a throttle), and reports answers
//! that may stop the page. Only this file decides when a page stops.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use super::classify;
use super::client::Target;
use super::pipeline::{Cancel, CancelWatch};
use super::wire::BodyTemplate;
use crate::vocab::{Job, Pending, Record};

/// Ten failed connections in a row on one page: the API is unreachable.
pub const CONNECT_FAILURES_TO_STOP: u32 = 10;
/// Three identical per-recipient failures in a row are an error of the page.
pub const IDENTICAL_FAILURES_TO_STOP: usize = 3;
/// Ten streak-counting failures in a row, whatever they say, likewise.
pub const OTHER_FAILURES_TO_STOP: usize = 10;

/// Why a page stopped: the reason its remaining recipients get, and a
/// sentence for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stop {
    /// The `not_attempted` reason of the page's remaining recipients.
    pub pending: Pending,
    /// What happened, for the log and the report.
    pub detail: String,
}

/// One throttling pause of a page (the report lists them, SPEC §8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pause {
    /// When the page stopped sending.
    pub from: DateTime<Utc>,
    /// Until when.
    pub until: DateTime<Utc>,
    /// The error code that paused it (429 for an HTTP 429 without a body).
    pub code: Option<i64>,
}

/// The rate gate and stop state of one page.
///
/// The fields every message reads or writes come first and the struct is
/// laid out as written, from a cache line's start: with many pages served
/// in turn each page's state is cold when its turn comes, and these fit two
/// lines instead of spreading over five.
#[repr(C, align(64))]
pub struct PageState {
    gate: Mutex<Gate>,
    interval: Duration,
    stopped: AtomicBool,
    /// `throttles_in_row > 0`, read without the gate's lock (written under it).
    throttled: AtomicBool,
    /// The streak holds failures, read without its lock (written under it).
    streak_open: AtomicBool,
    connect_failures: AtomicU32,
    /// The page's body, serialized once with the recipient id and the
    /// templated strings left to splice in (None: built per request);
    /// pages whose bodies are the same share one.
    pub body: Option<Arc<BodyTemplate>>,
    /// URL and `Authorization` header (None when the token cannot be sent:
    /// the page is then stopped before it starts).
    pub target: Option<Target>,
    /// The page id, for log lines.
    pub id: String,
    stop: Mutex<Option<Stop>>,
    streak: Mutex<Vec<Record>>,
    relabeled: Mutex<Vec<Job>>,
    pauses: Mutex<Vec<Pause>>,
    max_pause: Duration,
}

struct Gate {
    next_slot: Instant,
    not_before: Instant,
    paused: Duration,
    throttles_in_row: u32,
}

/// A rate slot taken from a page's gate.
#[derive(Debug, Clone, Copy)]
pub struct Reserved {
    /// When the request may leave.
    pub slot: Instant,
    /// The page's pause that the slot honours.
    pub not_before: Instant,
    /// The page's earliest instant after this slot.
    pub next: Instant,
}

impl Gate {
    fn available_at(&self) -> Instant {
        self.next_slot.max(self.not_before)
    }

    fn reserve(&mut self, interval: Duration) -> Reserved {
        let slot = self.available_at().max(Instant::now());
        self.next_slot = slot + interval;
        Reserved { slot, not_before: self.not_before, next: self.available_at() }
    }
}

impl PageState {
    /// A page sending `rate` messages a second that stops once throttling
    /// has paused it for more than `max_pause` in all.
    pub fn new(
        id: &str,
        rate: u32,
        max_pause: Duration,
        body: Option<Arc<BodyTemplate>>,
        target: Result<Target, String>,
    ) -> Self {
        let now = Instant::now();
        let stop = target.as_ref().err().map(|detail| Stop { pending: Pending::PageStopped, detail: detail.clone() });
        PageState {
            id: id.to_string(),
            interval: Duration::from_secs_f64(1.0 / f64::from(rate.max(1))),
            gate: Mutex::new(Gate { next_slot: now, not_before: now, paused: Duration::ZERO, throttles_in_row: 0 }),
            stopped: AtomicBool::new(stop.is_some()),
            stop: Mutex::new(stop),
            connect_failures: AtomicU32::new(0),
            throttled: AtomicBool::new(false),
            streak: Mutex::new(Vec::new()),
            streak_open: AtomicBool::new(false),
            relabeled: Mutex::new(Vec::new()),
            pauses: Mutex::new(Vec::new()),
            max_pause,
            body,
            target: target.ok(),
        }
    }

    /// True once the page stopped.
    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// Stops the page; the first stop's reason is kept.
    pub fn stop(&self, pending: Pending, detail: String) {
        let mut stop = lock(&self.stop);
        if stop.is_none() {
            tracing::error!("page {} stopped: {detail}", self.id);
            *stop = Some(Stop { pending, detail });
        }
        self.stopped.store(true, Ordering::SeqCst);
    }

    /// Why the page stopped, if it did.
    pub fn stopped_because(&self) -> Option<Stop> {
        lock(&self.stop).clone()
    }

    /// The earliest instant this page may send again.
    pub fn available_at(&self) -> Instant {
        lock(&self.gate).available_at()
    }

    /// Takes the page's next rate slot: (the slot, the pause it honours).
    pub fn reserve(&self) -> (Instant, Instant) {
        let reserved = lock(&self.gate).reserve(self.interval);
        (reserved.slot, reserved.not_before)
    }

    /// Takes the page's next rate slot if the page may send by `key` (the
    /// queue's key for it, which an instant only passes by moving forward);
    /// Err(the page's earliest instant) when that is later. One lock for
    /// what [`available_at`] then [`reserve`] do.
    ///
    /// [`available_at`]: PageState::available_at
    /// [`reserve`]: PageState::reserve
    pub fn reserve_due(&self, key: Instant) -> Result<Reserved, Instant> {
        let mut g = lock(&self.gate);
        let due = g.available_at();
        if due > key {
            return Err(due);
        }
        Ok(g.reserve(self.interval))
    }

    /// True when a throttle moved the pause past `not_before` and it is not over.
    pub fn paused_since(&self, not_before: Instant) -> bool {
        let current = lock(&self.gate).not_before;
        current > not_before && Instant::now() < current
    }

    /// Waits for this page's next rate slot, and past any throttle pause.
    pub async fn wait_turn(&self, cancel: &mut CancelWatch) {
        loop {
            if self.is_stopped() {
                return;
            }
            let (slot, not_before) = self.reserve();
            if !sleep_or_cancel(slot, cancel).await || !self.paused_since(not_before) || self.is_stopped() {
                return;
            }
        }
    }

    /// Pauses the page after a throttle answer (`code`), for Meta's estimate
    /// or the growing default; stops it (false) when the total pause would
    /// pass `max_pause`.
    pub fn throttle(&self, regain: Option<Duration>, code: Option<i64>) -> bool {
        let mut g = lock(&self.gate);
        g.throttles_in_row += 1;
        self.throttled.store(true, Ordering::SeqCst);
        let pause = classify::throttle_pause(g.throttles_in_row, regain);
        let now = Instant::now();
        let until = now + pause;
        if until > g.not_before {
            let extension = until - g.not_before.max(now);
            g.paused += extension;
            g.not_before = until;
        }
        let total = g.paused;
        drop(g);
        if total > self.max_pause {
            let detail = format!(
                "throttled (code {}) for {}s in all, longer than send.max_pause ({}s)",
                code_text(code),
                total.as_secs(),
                self.max_pause.as_secs()
            );
            self.stop(Pending::Throttled, detail);
            return false;
        }
        self.note_pause(pause, code);
        true
    }

    fn note_pause(&self, pause: Duration, code: Option<i64>) {
        let from = Utc::now();
        let until = from + chrono::TimeDelta::from_std(pause).unwrap_or(chrono::TimeDelta::MAX);
        let mut pauses = lock(&self.pauses);
        match pauses.last_mut() {
            Some(last) if last.until >= from => last.until = last.until.max(until),
            _ => {
                tracing::warn!(
                    "page {} throttled (code {}): paused until {}",
                    self.id,
                    code_text(code),
                    until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                );
                pauses.push(Pause { from, until, code });
            }
        }
    }

    /// Until when the page is paused (wall clock), for the progress display.
    pub fn paused_until(&self) -> Option<DateTime<Utc>> {
        let pauses = lock(&self.pauses);
        pauses.last().map(|p| p.until).filter(|until| *until > Utc::now())
    }

    /// Every pause so far.
    pub fn pauses(&self) -> Vec<Pause> {
        lock(&self.pauses).clone()
    }

    /// The page answered with something other than a throttle. Called for
    /// nearly every answer, so it writes (and locks) only what changes.
    pub fn answered(&self) {
        if self.throttled.load(Ordering::SeqCst) {
            let mut g = lock(&self.gate);
            if g.throttles_in_row > 0 {
                tracing::info!("page {} resumed after throttling", self.id);
            }
            g.throttles_in_row = 0;
            self.throttled.store(false, Ordering::SeqCst);
        }
        if self.connect_failures.load(Ordering::Relaxed) != 0 {
            self.connect_failures.store(0, Ordering::Relaxed);
        }
    }

    /// A connection failed before the request was written; the tenth in a
    /// row stops the page as unreachable (false).
    pub fn connect_failed(&self) -> bool {
        let n = self.connect_failures.fetch_add(1, Ordering::SeqCst) + 1;
        if n >= CONNECT_FAILURES_TO_STOP {
            self.stop(Pending::Unreachable, format!("{n} connection failures in a row: the API is unreachable"));
            return false;
        }
        true
    }

    /// Runs `write` for a failure that counts towards a streak, under the
    /// streak's lock (so that a later re-label is ordered after it). When
    /// `failure` completes a streak, the page stops, `write` is not run, and
    /// the failures of the streak are returned (this one included): they are
    /// to be re-labelled `not_attempted`, so that a later run sends to them.
    pub fn streak_failure(&self, failure: &Record, write: impl FnOnce()) -> Vec<Record> {
        let mut streak = lock(&self.streak);
        streak.push(failure.clone());
        let n = streak.len();
        let (code, message) = (failure.error.code, failure.error.message.as_deref());
        self.streak_open.store(true, Ordering::SeqCst);
        let identical = n >= IDENTICAL_FAILURES_TO_STOP
            && streak[n - IDENTICAL_FAILURES_TO_STOP..]
                .iter()
                .all(|r| r.error.code == code && r.error.message.as_deref() == message);
        let count = if identical {
            IDENTICAL_FAILURES_TO_STOP
        } else if n >= OTHER_FAILURES_TO_STOP {
            OTHER_FAILURES_TO_STOP
        } else {
            write();
            return Vec::new();
        };
        let records: Vec<Record> = streak.drain(n - count..).collect();
        streak.clear();
        self.streak_open.store(false, Ordering::SeqCst);
        let detail = if identical {
            format!(
                "{count} recipients in a row failed with the same error (code {}: {})",
                code_text(code),
                message.unwrap_or("no message")
            )
        } else {
            format!("{count} recipients in a row failed (last: code {})", code_text(code))
        };
        self.stop(Pending::PageStopped, format!("{detail}: an error of the page, not of the people"));
        lock(&self.relabeled).extend(records.iter().map(|r| r.job));
        records
    }

    /// An answer that breaks a streak (a success, a failure about a person).
    /// Locks only when there is a streak to break.
    pub fn streak_broken(&self) {
        if self.streak_open.load(Ordering::SeqCst) {
            let mut streak = lock(&self.streak);
            streak.clear();
            self.streak_open.store(false, Ordering::SeqCst);
        }
    }

    /// The recipients recorded `failed` whose failures turned out to be a
    /// streak, re-labelled `not_attempted`.
    pub fn relabeled(&self) -> Vec<Job> {
        lock(&self.relabeled).clone()
    }
}

/// Sleeps until `at`; false if a signal came first.
pub async fn sleep_or_cancel(at: Instant, cancel: &mut CancelWatch) -> bool {
    if cancel.now() != Cancel::Running {
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
            Some(now) => now == Cancel::Running,
            // No one can cancel any more: just sleep.
            None => {
                tokio::time::sleep_until(at).await;
                true
            }
        },
    }
}

/// The resolution of tokio's timer.
const TIMER_GRAIN: std::time::Duration = std::time::Duration::from_millis(1);

/// `code` as text, or "none".
pub fn code_text(code: Option<i64>) -> String {
    code.map_or_else(|| "none".to_string(), |c| c.to_string())
}

/// Locks a mutex; a panic elsewhere never leaves these values half-written
/// (each critical section is a few assignments), so a poisoned lock is used.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::model::Provider;
    use crate::send::client::{Client, Endpoints};
    use crate::vocab::ApiError;

    fn page() -> PageState {
        let endpoints = Endpoints { graph: "http://127.0.0.1:9".into(), harasocial: "http://127.0.0.1:9".into() };
        let client = Client::new(endpoints, 1).expect("a client");
        PageState::new("1", 10, Duration::from_secs(60), None, client.target(Provider::Graph, "1", "token"))
    }

    #[test]
    fn a_page_without_a_usable_token_starts_stopped() {
        let p = PageState::new("1", 10, Duration::from_secs(60), None, Err("bad token".into()));
        assert_eq!(p.stopped_because().map(|s| s.pending), Some(Pending::PageStopped));
        assert!(page().stopped_because().is_none());
    }

    fn job(n: u32) -> Job {
        Job { page: 0, person: n }
    }

    fn failure(n: u32, code: i64, message: &str) -> Record {
        let error = ApiError { code: Some(code), subcode: None, message: Some(message.into()) };
        Record::failed(job(n), error, 1, Utc::now())
    }

    fn jobs(records: &[Record]) -> Vec<Job> {
        records.iter().map(|r| r.job).collect()
    }

    #[test]
    fn three_identical_failures_stop_the_page_and_return_the_streak() {
        let p = page();
        let mut written = 0;
        let stale = "No matching user found";
        assert!(p.streak_failure(&failure(1, 100, stale), || written += 1).is_empty());
        assert!(p.streak_failure(&failure(2, 100, stale), || written += 1).is_empty());
        let streak = p.streak_failure(&failure(3, 100, stale), || written += 1);
        assert_eq!(jobs(&streak), [job(1), job(2), job(3)]);
        assert_eq!(written, 2, "the failure that completes a streak is not written as failed");
        assert_eq!(p.relabeled(), [job(1), job(2), job(3)]);
        assert_eq!(p.stopped_because().map(|s| s.pending), Some(Pending::PageStopped));
    }

    #[test]
    fn different_failures_need_ten_in_a_row() {
        let p = page();
        for n in 0..9 {
            assert!(p.streak_failure(&failure(n, n.into(), "m"), || ()).is_empty(), "{n}");
        }
        assert_eq!(p.streak_failure(&failure(9, 9, "m"), || ()).len(), 10);
    }

    #[test]
    fn same_code_with_other_messages_is_no_identical_streak() {
        let p = page();
        for n in 0..3 {
            assert!(p.streak_failure(&failure(n, 100, &format!("user {n} not found")), || ()).is_empty());
        }
        assert!(p.stopped_because().is_none());
    }

    #[test]
    fn an_answer_about_a_person_breaks_the_streak() {
        let p = page();
        p.streak_failure(&failure(1, 100, "m"), || ());
        p.streak_failure(&failure(2, 100, "m"), || ());
        p.streak_broken();
        assert!(p.streak_failure(&failure(3, 100, "m"), || ()).is_empty());
        assert!(p.stopped_because().is_none());
    }

    #[test]
    fn an_answer_after_throttles_starts_the_pause_growth_again() {
        let p = page();
        assert!(p.throttle(None, Some(4)));
        assert!(p.throttle(None, Some(4)));
        assert_eq!(lock(&p.gate).throttles_in_row, 2);
        p.answered();
        assert_eq!(lock(&p.gate).throttles_in_row, 0);
        assert!(p.throttle(None, Some(4)));
        assert_eq!(lock(&p.gate).throttles_in_row, 1);
    }

    #[test]
    fn a_streak_broken_then_begun_again_counts_from_one() {
        let p = page();
        p.streak_broken();
        p.streak_failure(&failure(1, 100, "m"), || ());
        p.streak_failure(&failure(2, 100, "m"), || ());
        p.streak_broken();
        p.streak_broken();
        p.streak_failure(&failure(3, 100, "m"), || ());
        assert!(p.streak_failure(&failure(4, 100, "m"), || ()).is_empty());
        assert_eq!(jobs(&p.streak_failure(&failure(5, 100, "m"), || ())), [job(3), job(4), job(5)]);
    }

    #[test]
    fn ten_connection_failures_in_a_row_make_the_page_unreachable() {
        let p = page();
        for _ in 0..9 {
            assert!(p.connect_failed());
        }
        p.answered();
        for _ in 0..9 {
            assert!(p.connect_failed());
        }
        assert!(!p.connect_failed());
        assert_eq!(p.stopped_because().map(|s| s.pending), Some(Pending::Unreachable));
    }

    #[test]
    fn throttling_past_max_pause_stops_the_page_as_throttled() {
        let p = page();
        assert!(p.throttle(Some(Duration::from_secs(30)), Some(613)));
        assert_eq!(p.pauses().len(), 1);
        assert!(!p.throttle(Some(Duration::from_secs(120)), Some(613)));
        assert_eq!(p.stopped_because().map(|s| s.pending), Some(Pending::Throttled));
    }
}
