//! The words every stage speaks: which recipient, what happened to it, and why.
//!
//! The planner decides, the sender acts, the ledger remembers and the report
//! tells; all four describe one recipient with the types below, so that an
//! outcome is written once (by the stage that knows it) and carried unchanged
//! to the ledger row and the report row. Reasons are typed here; their text
//! (`outside_window`, `page_stopped`, …) is normative (SPEC §3, §4, §8) and
//! appears only in the `as_str` functions of this module and of
//! [`SkipReason`].

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use crate::ledger::Prior;
pub use crate::policy::SkipReason;

/// One recipient of a plan: its page and its merged audience entry, as
/// indices (a plan of millions holds no strings per recipient).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Job {
    /// Index into `Campaign::pages`.
    pub page: u32,
    /// Index into `Audiences::people`.
    pub person: u32,
}

/// The final outcome of one recipient, written in snake case
/// (`not_attempted`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Sent: the API answered with a message id.
    Sent,
    /// Not sent, by policy or because of the ledger; not a failure.
    Skipped,
    /// The API answered something about this recipient: a re-run never
    /// sends to them.
    Failed,
    /// May or may not have been delivered.
    Unknown,
    /// Surely not delivered, for a reason that is not about the person: the
    /// next run of the occurrence evaluates it again.
    NotAttempted,
    /// Would be sent (dry run).
    Planned,
}

impl Outcome {
    /// Every outcome, in the order reports show them.
    pub const ALL: [Outcome; 6] =
        [Outcome::Sent, Outcome::Planned, Outcome::Skipped, Outcome::Failed, Outcome::Unknown, Outcome::NotAttempted];

    /// The name used in JSON, CSV and the ledger: `sent`, `not_attempted`, …
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Sent => "sent",
            Outcome::Skipped => "skipped",
            Outcome::Failed => "failed",
            Outcome::Unknown => "unknown",
            Outcome::NotAttempted => "not_attempted",
            Outcome::Planned => "planned",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a recipient ended `not_attempted` (SPEC §4, §6, §8): nothing went out,
/// and nothing was learned about the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pending {
    /// A fatal error of the page (bad token, missing permission, policy
    /// block, a streak of identical failures) stopped it.
    PageStopped,
    /// Retries were used up on transient errors or failed connections.
    RetriesExhausted,
    /// Ten connection failures in a row: the API is unreachable.
    Unreachable,
    /// Throttling would have paused the page past `send.max_pause`.
    Throttled,
    /// The person is busy (a flow still running, 2018321).
    TryLater,
    /// Left out by `--limit` / `--only` (or not in a pinned plan).
    Limit,
    /// The canary wave failed.
    CanaryFailed,
    /// The page's rolling 24-hour cap was reached.
    DailyLimit,
    /// Ctrl-C / SIGTERM before the request left.
    Interrupted,
}

impl Pending {
    /// The reason as reports write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Pending::PageStopped => "page_stopped",
            Pending::RetriesExhausted => "retries_exhausted",
            Pending::Unreachable => "unreachable",
            Pending::Throttled => "throttled",
            Pending::TryLater => "try_later",
            Pending::Limit => "limit",
            Pending::CanaryFailed => "canary_failed",
            Pending::DailyLimit => "daily_limit",
            Pending::Interrupted => "interrupted",
        }
    }
}

/// Why a recipient ended `unknown`: the request left and its fate is not known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Doubt {
    /// No answer in time after the request was written.
    Timeout,
    /// The connection broke after the request was written.
    ConnectionBroken,
    /// HTTP 5xx without an error body, or an unreadable 2xx.
    ServerError,
    /// Graph 1/1357046: "may have been delivered".
    AmbiguousError,
    /// A 2xx Graph answer without a message id, or one cut at 1 MiB.
    NoMessageId,
    /// A 3xx answer: sends never follow redirects.
    Redirected,
    /// An earlier attempt's answer was one of the above.
    EarlierAttempt,
    /// A second Ctrl-C abandoned the request in flight.
    Abandoned,
}

impl Doubt {
    /// The reason as reports write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Doubt::Timeout => "timeout_after_write",
            Doubt::ConnectionBroken => "connection_broken_after_write",
            Doubt::ServerError => "server_error",
            Doubt::AmbiguousError => "ambiguous_error",
            Doubt::NoMessageId => "no_message_id",
            Doubt::Redirected => "redirected",
            Doubt::EarlierAttempt => "earlier_attempt_ambiguous",
            Doubt::Abandoned => "abandoned",
        }
    }
}

/// The reason that goes with an outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// For `skipped`.
    Skip(SkipReason),
    /// For `not_attempted`.
    Pending(Pending),
    /// For `unknown`.
    Doubt(Doubt),
}

impl Reason {
    /// The reason as reports and the ledger write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Skip(r) => r.as_str(),
            Reason::Pending(r) => r.as_str(),
            Reason::Doubt(r) => r.as_str(),
        }
    }

    /// The outcome this reason belongs to.
    pub fn outcome(self) -> Outcome {
        match self {
            Reason::Skip(_) => Outcome::Skipped,
            Reason::Pending(_) => Outcome::NotAttempted,
            Reason::Doubt(_) => Outcome::Unknown,
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An API error as recorded: code, subcode and the (redacted, capped) message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ApiError {
    /// Graph error code (or a numeric Harasocial code).
    pub code: Option<i64>,
    /// Graph error subcode.
    pub subcode: Option<i64>,
    /// The API's message or a description of the failure, at most
    /// [`MAX_MESSAGE_CHARS`] characters, tokens redacted.
    pub message: Option<String>,
}

/// Error messages are kept up to this many characters (SPEC §4).
pub const MAX_MESSAGE_CHARS: usize = 1000;

/// Cuts `text` to [`MAX_MESSAGE_CHARS`] characters (Unicode scalar values),
/// marking the cut.
pub fn cap_message(text: &str) -> String {
    match text.char_indices().nth(MAX_MESSAGE_CHARS) {
        None => text.to_string(),
        Some((end, _)) => {
            let mut cut: String = text[..end].chars().take(MAX_MESSAGE_CHARS - 1).collect();
            cut.push('…');
            cut
        }
    }
}

/// What happened to one recipient: the one record that goes from the
/// sender (or the planner) to the ledger and to the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The recipient.
    pub job: Job,
    /// Its outcome.
    pub outcome: Outcome,
    /// Why (skipped, not_attempted, unknown).
    pub reason: Option<Reason>,
    /// The API error of the final answer, or a template error's detail.
    pub error: ApiError,
    /// The message id on success.
    pub message_id: Option<String>,
    /// Requests made for this recipient in this run.
    pub attempts: u32,
    /// When the outcome was known (wall clock).
    pub at: DateTime<Utc>,
}

impl Record {
    /// A record with the reason's outcome, no error and no message id.
    pub fn new(job: Job, reason: Reason, attempts: u32, at: DateTime<Utc>) -> Record {
        Record {
            job,
            outcome: reason.outcome(),
            reason: Some(reason),
            error: ApiError::default(),
            message_id: None,
            attempts,
            at,
        }
    }

    /// A `sent` record.
    pub fn sent(job: Job, message_id: Option<String>, attempts: u32, at: DateTime<Utc>) -> Record {
        Record { job, outcome: Outcome::Sent, reason: None, error: ApiError::default(), message_id, attempts, at }
    }

    /// A `failed` record with the API's error.
    pub fn failed(job: Job, error: ApiError, attempts: u32, at: DateTime<Utc>) -> Record {
        Record { job, outcome: Outcome::Failed, reason: None, error, message_id: None, attempts, at }
    }

    /// This record with an error attached.
    pub fn with_error(mut self, error: ApiError) -> Record {
        self.error = error;
        self
    }
}

/// Where "now" comes from. Made once per process from `--now`: policy and
/// schedule decisions use [`Clock::now`] (the frozen instant when given),
/// while records and reports are stamped with [`Clock::wall`], the real time
/// at which something happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    frozen: Option<DateTime<Utc>>,
}

impl Clock {
    /// The system clock, or `--now` when given.
    pub fn new(frozen: Option<DateTime<Utc>>) -> Clock {
        Clock { frozen }
    }

    /// The instant rules are evaluated at.
    pub fn now(self) -> DateTime<Utc> {
        self.frozen.unwrap_or_else(Utc::now)
    }

    /// The real time, for stamping what happened.
    pub fn wall(self) -> DateTime<Utc> {
        Utc::now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_names_match_serde() {
        for outcome in Outcome::ALL {
            let json = serde_json::to_string(&outcome).expect("serializes");
            assert_eq!(json, format!("\"{}\"", outcome.as_str()));
        }
    }

    #[test]
    fn reasons_belong_to_their_outcome() {
        assert_eq!(Reason::Pending(Pending::PageStopped).outcome(), Outcome::NotAttempted);
        assert_eq!(Reason::Doubt(Doubt::Timeout).outcome(), Outcome::Unknown);
        assert_eq!(Reason::Skip(SkipReason::Suppressed).outcome(), Outcome::Skipped);
        assert_eq!(Reason::Pending(Pending::RetriesExhausted).as_str(), "retries_exhausted");
    }

    #[test]
    fn messages_are_capped_in_characters() {
        let long = "é".repeat(5000);
        let capped = cap_message(&long);
        assert_eq!(capped.chars().count(), MAX_MESSAGE_CHARS);
        assert!(capped.ends_with('…'));
        assert_eq!(cap_message("short"), "short");
        let exact = "x".repeat(MAX_MESSAGE_CHARS);
        assert_eq!(cap_message(&exact), exact);
    }

    #[test]
    fn a_frozen_clock_freezes_rules_not_stamps() {
        let t: DateTime<Utc> = "2026-11-22T00:00:00Z".parse().expect("a time");
        let clock = Clock::new(Some(t));
        assert_eq!(clock.now(), t);
        assert!(clock.wall() > t);
    }
}
