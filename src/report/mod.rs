//! The run report: what happened to every recipient of one run, and the counts
//! people read first.
//!
//! A run ends as a list of [`OutcomeRow`]s. [`Report::from_rows`] derives every
//! count from those rows, so the totals in a report can never disagree with
//! the rows beside them. The report is then rendered three ways, each by a
//! pure formatter that takes a finished [`Report`] and returns text
//! ([`json`], [`csv`], [`html`]); [`write_report`] is the one function that
//! touches the file system.
//!
//! The key names of `report.json` are normative (SPEC §6). This module adds
//! `summary.planned`, `pages` (the summary per page) and the row fields
//! `error_message` and `window_closes_at`; it never renames or drops a key.

pub mod csv;
pub mod html;
pub mod json;
pub mod rows;
pub mod table;
pub mod write;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use write::{ReportError, write_report};

pub use crate::vocab::Outcome;

/// The key under which rows without a skip reason or an error code are
/// counted, so that `skipped_by_reason` and `failed_by_code` always add up to
/// `summary.skipped` and `summary.failed`.
pub const UNSPECIFIED: &str = "unspecified";

/// Everything `report.json` holds about one run (or one dry run) of one
/// occurrence of a campaign.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Report {
    /// The campaign id.
    pub campaign: String,
    /// The occurrence key: `default`, a `--occurrence` value, or a fire time.
    pub occurrence: String,
    /// True for `plan` and `run --dry-run`: nothing was sent.
    pub dry_run: bool,
    /// When the run started, RFC 3339 UTC (`2026-11-22T09:00:00Z`).
    pub started_at: String,
    /// When the run finished, RFC 3339 UTC.
    pub finished_at: String,
    /// The process exit code of the run (SPEC §1).
    pub exit_code: i32,
    /// Counts over all pages.
    pub summary: Summary,
    /// Counts per page id.
    pub pages: BTreeMap<String, Summary>,
    /// Skipped recipients per skip reason.
    pub skipped_by_reason: BTreeMap<String, u64>,
    /// Failed recipients per Graph/Harasocial error code (the code alone,
    /// `"551"`). `unknown` outcomes are not counted here.
    pub failed_by_code: BTreeMap<String, u64>,
    /// Recipients left `not_attempted` (for a later run) per reason.
    #[serde(default)]
    pub not_attempted_by_reason: BTreeMap<String, u64>,
    /// Every throttling pause of the run (SPEC §8).
    #[serde(default)]
    pub pauses: Vec<PauseRow>,
    /// Pages that stopped, and why (a fatal error, a streak, an unreachable
    /// API, throttling past `max_pause`, a failed canary).
    #[serde(default)]
    pub stopped_pages: Vec<StoppedPage>,
    /// The canary wave (SPEC §6), when the campaign has one.
    #[serde(default)]
    pub canary: Option<CanaryRow>,
    /// One row per recipient.
    pub outcomes: Vec<OutcomeRow>,
}

/// How the canary wave went.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CanaryRow {
    /// Recipients in the wave.
    pub recipients: u64,
    /// Of them, failed.
    pub failed: u64,
    /// Of them, unknown.
    pub unknown: u64,
    /// (failed + unknown) ÷ recipients.
    pub failure_rate: f64,
    /// The campaign's `send.canary.max_failure_rate`.
    pub max_failure_rate: f64,
    /// True when the rest was sent; false when every page stopped.
    pub passed: bool,
}

impl CanaryRow {
    /// Judges a finished wave.
    pub fn judge(records: &crate::records::Records, max_failure_rate: f64) -> CanaryRow {
        let count = |o| records.fates().filter(|(outcome, _)| *outcome == o).count() as u64;
        let (failed, unknown) = (count(Outcome::Failed), count(Outcome::Unknown));
        let recipients = records.len() as u64;
        let failure_rate = if recipients == 0 { 0.0 } else { (failed + unknown) as f64 / recipients as f64 };
        CanaryRow {
            recipients,
            failed,
            unknown,
            failure_rate,
            max_failure_rate,
            passed: failure_rate <= max_failure_rate,
        }
    }

    /// A sentence for the log, the table and the report.
    pub fn describe(&self) -> String {
        format!(
            "canary wave of {}: {} failed, {} unknown ({:.1}% against at most {:.1}%): {}",
            self.recipients,
            self.failed,
            self.unknown,
            self.failure_rate * 100.0,
            self.max_failure_rate * 100.0,
            if self.passed { "passed, sending the rest" } else { "failed, every page stopped" }
        )
    }
}

/// One throttling pause of one page.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PauseRow {
    /// The page id.
    pub page: String,
    /// When the page stopped sending, RFC 3339.
    pub from: String,
    /// Until when, RFC 3339.
    pub until: String,
    /// The error code that paused it (429 for HTTP 429 without a body).
    pub code: Option<i64>,
}

/// A page that stopped during the run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StoppedPage {
    /// The page id.
    pub page: String,
    /// The `not_attempted` reason its remaining recipients got.
    pub reason: String,
    /// What happened.
    pub detail: String,
}

/// How many recipients ended in each outcome. All seven counters are always
/// present in the JSON, zero or not.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    /// Every recipient counted once; the sum of the other six counters.
    pub recipients: u64,
    /// Would be sent (dry run only).
    pub planned: u64,
    /// Sent: the API answered with a message id.
    pub sent: u64,
    /// Not sent because of policy, the ledger, an opt-out or a template error.
    pub skipped: u64,
    /// The API refused this recipient permanently.
    pub failed: u64,
    /// The request may or may not have been delivered.
    pub unknown: u64,
    /// Not tried because the page stopped (fatal error or throttling).
    pub not_attempted: u64,
}

/// What happened to one recipient of the run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OutcomeRow {
    /// The page id.
    pub page: String,
    /// The page-scoped recipient id.
    pub recipient: String,
    /// The final outcome.
    pub outcome: Outcome,
    /// The skip reason (`suppressed`, `already_sent`, `outside_window`, …),
    /// or for `unknown` the reason the result is ambiguous.
    pub reason: Option<String>,
    /// The API error code of the final answer, if any.
    pub error_code: Option<i64>,
    /// The API error subcode of the final answer, if any.
    pub error_subcode: Option<i64>,
    /// The API error message, already redacted by the caller.
    pub error_message: Option<String>,
    /// The message id the API returned for a sent message.
    pub message_id: Option<String>,
    /// Requests made for this recipient in this run.
    pub attempts: u32,
    /// RFC 3339 time of the final answer; null for planned rows and for
    /// recipients skipped in the plan.
    pub at: Option<String>,
    /// RFC 3339 time at which the messaging window closes (margin
    /// included), or null when no window applies.
    pub window_closes_at: Option<String>,
}

impl Summary {
    /// Counts one more recipient with this outcome.
    pub fn add(&mut self, outcome: Outcome) {
        self.add_n(outcome, 1);
    }

    /// Counts `n` recipients with this outcome.
    pub fn add_n(&mut self, outcome: Outcome, n: u64) {
        self.recipients += n;
        *self.counter_mut(outcome) += n;
    }

    /// The counter of one outcome.
    pub fn get(&self, outcome: Outcome) -> u64 {
        match outcome {
            Outcome::Sent => self.sent,
            Outcome::Skipped => self.skipped,
            Outcome::Failed => self.failed,
            Outcome::Unknown => self.unknown,
            Outcome::NotAttempted => self.not_attempted,
            Outcome::Planned => self.planned,
        }
    }

    fn counter_mut(&mut self, outcome: Outcome) -> &mut u64 {
        match outcome {
            Outcome::Sent => &mut self.sent,
            Outcome::Skipped => &mut self.skipped,
            Outcome::Failed => &mut self.failed,
            Outcome::Unknown => &mut self.unknown,
            Outcome::NotAttempted => &mut self.not_attempted,
            Outcome::Planned => &mut self.planned,
        }
    }
}

impl OutcomeRow {
    /// A row with only the page, recipient and outcome set; the rest empty.
    pub fn new(page: impl Into<String>, recipient: impl Into<String>, outcome: Outcome) -> OutcomeRow {
        OutcomeRow {
            page: page.into(),
            recipient: recipient.into(),
            outcome,
            reason: None,
            error_code: None,
            error_subcode: None,
            error_message: None,
            message_id: None,
            attempts: 0,
            at: None,
            window_closes_at: None,
        }
    }
}

impl Report {
    /// Builds a report whose counts (`summary`, `pages`, `skipped_by_reason`,
    /// `failed_by_code`) are derived from `outcomes`.
    ///
    /// A skipped row without a reason, or a failed row without an error code,
    /// is counted under [`UNSPECIFIED`].
    pub fn from_rows(
        campaign: impl Into<String>,
        occurrence: impl Into<String>,
        dry_run: bool,
        started_at: impl Into<String>,
        finished_at: impl Into<String>,
        exit_code: i32,
        outcomes: Vec<OutcomeRow>,
    ) -> Report {
        let mut report = Report {
            campaign: campaign.into(),
            occurrence: occurrence.into(),
            dry_run,
            started_at: started_at.into(),
            finished_at: finished_at.into(),
            exit_code,
            summary: Summary::default(),
            pages: BTreeMap::new(),
            skipped_by_reason: BTreeMap::new(),
            failed_by_code: BTreeMap::new(),
            not_attempted_by_reason: BTreeMap::new(),
            pauses: Vec::new(),
            stopped_pages: Vec::new(),
            canary: None,
            outcomes: Vec::new(),
        };
        for row in &outcomes {
            report.count(row);
        }
        report.outcomes = outcomes;
        report
    }

    /// Counts one row into `summary`, `pages`, `skipped_by_reason` and
    /// `failed_by_code` without keeping it: how a streamed report builds
    /// its head from rows it never holds.
    pub fn count(&mut self, row: &OutcomeRow) {
        self.summary.add(row.outcome);
        self.pages.entry(row.page.clone()).or_default().add(row.outcome);
        let (map, key) = match row.outcome {
            Outcome::Skipped => (&mut self.skipped_by_reason, row.reason.clone()),
            Outcome::Failed => (&mut self.failed_by_code, row.error_code.map(|code| code.to_string())),
            Outcome::NotAttempted => (&mut self.not_attempted_by_reason, row.reason.clone()),
            _ => return,
        };
        *map.entry(key.unwrap_or_else(|| UNSPECIFIED.to_owned())).or_default() += 1;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A row with only the identifying fields set; tests fill in the rest.
    pub(crate) fn row(page: &str, recipient: &str, outcome: Outcome) -> OutcomeRow {
        OutcomeRow::new(page, recipient, outcome)
    }

    /// A small live run over two pages with every outcome but `planned`.
    pub(crate) fn sample() -> Report {
        let mut rows = vec![
            OutcomeRow {
                message_id: Some("m_1".into()),
                attempts: 1,
                at: Some("2026-11-22T09:00:05Z".into()),
                ..row("111", "r1", Outcome::Sent)
            },
            OutcomeRow {
                message_id: Some("m_2".into()),
                attempts: 2,
                at: Some("2026-11-22T09:00:40Z".into()),
                ..row("222", "r2", Outcome::Sent)
            },
            OutcomeRow { reason: Some("outside_window".into()), ..row("111", "r3", Outcome::Skipped) },
            OutcomeRow { reason: Some("suppressed".into()), ..row("222", "r4", Outcome::Skipped) },
            OutcomeRow {
                error_code: Some(551),
                error_message: Some("This person isn't available right now.".into()),
                attempts: 1,
                at: Some("2026-11-22T09:00:10Z".into()),
                ..row("111", "r5", Outcome::Failed)
            },
            OutcomeRow {
                reason: Some("timeout_after_write".into()),
                attempts: 1,
                at: Some("2026-11-22T09:00:20Z".into()),
                ..row("111", "r6", Outcome::Unknown)
            },
            row("222", "r7", Outcome::NotAttempted),
        ];
        rows.push(OutcomeRow {
            error_code: Some(10),
            error_subcode: Some(2018278),
            ..row("222", "r8", Outcome::Failed)
        });
        Report::from_rows("order-shipped", "default", false, "2026-11-22T09:00:00Z", "2026-11-22T09:01:00Z", 1, rows)
    }

    #[test]
    fn from_rows_counts_every_outcome() {
        let report = sample();
        let expected =
            Summary { recipients: 8, planned: 0, sent: 2, skipped: 2, failed: 2, unknown: 1, not_attempted: 1 };
        assert_eq!(report.summary, expected);
        assert_eq!(report.outcomes.len(), 8);
    }

    #[test]
    fn from_rows_counts_per_page() {
        let report = sample();
        let page = &report.pages["111"];
        assert_eq!((page.recipients, page.sent, page.failed, page.unknown), (4, 1, 1, 1));
        let page = &report.pages["222"];
        assert_eq!((page.recipients, page.skipped, page.not_attempted), (4, 1, 1));
        let total: u64 = report.pages.values().map(|p| p.recipients).sum();
        assert_eq!(total, report.summary.recipients);
    }

    #[test]
    fn from_rows_keys_failures_by_code_alone_and_skips_by_reason() {
        let report = sample();
        let failed: Vec<_> = report.failed_by_code.iter().collect();
        assert_eq!(failed, [(&"10".to_owned(), &1), (&"551".to_owned(), &1)]);
        assert_eq!(report.skipped_by_reason["outside_window"], 1);
        assert_eq!(report.skipped_by_reason["suppressed"], 1);
        // `unknown` rows are in neither map.
        assert!(!report.skipped_by_reason.contains_key("timeout_after_write"));
    }

    #[test]
    fn from_rows_counts_rows_without_reason_or_code_as_unspecified() {
        let rows =
            vec![row("1", "a", Outcome::Skipped), row("1", "b", Outcome::Failed), row("1", "c", Outcome::Planned)];
        let report = Report::from_rows("c", "o", true, "t0", "t1", 0, rows);
        assert_eq!(report.skipped_by_reason[UNSPECIFIED], 1);
        assert_eq!(report.failed_by_code[UNSPECIFIED], 1);
        assert_eq!(report.summary.planned, 1);
    }
}
