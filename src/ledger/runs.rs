//! Runs and what they recorded: the planner's view of earlier runs
//! ([`Ledger::prior`]), run bookkeeping, and `pagecast status`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::schema::{parse_ts, ts};
use super::{Ledger, LedgerError, Prior};

/// Counts of recorded outcomes in one occurrence.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OutcomeCounts {
    /// Sent.
    pub sent: u64,
    /// Failed permanently.
    pub failed: u64,
    /// Unknown: recorded so, or an intent without an outcome (crash).
    pub unknown: u64,
    /// Not attempted (a page stopped).
    pub not_attempted: u64,
    /// Skipped by policy.
    pub skipped: u64,
}

/// One occurrence of a campaign as `pagecast status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OccurrenceStatus {
    /// Campaign id.
    pub campaign: String,
    /// Occurrence key.
    pub occurrence: String,
    /// How many runs handled it.
    pub runs: u64,
    /// When its first run started.
    pub first_started_at: DateTime<Utc>,
    /// When its latest run started.
    pub last_started_at: DateTime<Utc>,
    /// When a run of it last finished; `None` if none did.
    pub last_finished_at: Option<DateTime<Utc>>,
    /// Exit code of the latest run; `None` while it runs or if it crashed.
    pub last_exit_code: Option<i32>,
    /// Outcomes recorded (the latest per recipient).
    pub counts: OutcomeCounts,
}

/// What the ledger holds for one recipient in one occurrence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecipientOutcome {
    /// Occurrence key.
    pub occurrence: String,
    /// Page id.
    pub page: String,
    /// `sent`, `failed`, `unknown`, `not_attempted`, `skipped`, or
    /// `unknown` for an intent without a recorded outcome.
    pub outcome: String,
    /// Why (skip / not_attempted / unknown reason).
    pub reason: Option<String>,
    /// API error code.
    pub error_code: Option<i64>,
    /// API error subcode.
    pub error_subcode: Option<i64>,
    /// API error message.
    pub error_message: Option<String>,
    /// Message id when sent.
    pub message_id: Option<String>,
    /// Attempts made.
    pub attempts: Option<i64>,
    /// When the outcome (or the intent) was recorded.
    pub at: Option<String>,
}

/// A `runs` aggregate row before its times are parsed.
type RunRow = (String, String, u64, String, String, Option<String>, Option<i32>);

impl Ledger {
    /// What earlier runs of this occurrence recorded, keyed by (page,
    /// recipient): `sent` → [`Prior::Sent`], `failed` → [`Prior::Failed`],
    /// `unknown` or an intent without an outcome → [`Prior::Unknown`].
    /// Recipients last `skipped` or `not_attempted` are absent: the planner
    /// evaluates them again.
    pub fn prior(&self, campaign: &str, occurrence: &str) -> Result<HashMap<(String, String), Prior>, LedgerError> {
        if let Some(pg) = self.pg() {
            return pg.prior(campaign, occurrence);
        }
        self.with_conn(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT page, recipient, outcome FROM sends
                 WHERE campaign = ?1 AND occurrence = ?2
                   AND (outcome IN ('sent', 'failed', 'unknown')
                        OR (outcome IS NULL AND intent_at IS NOT NULL))",
            )?;
            let rows = stmt.query_map(params![campaign, occurrence], |row| {
                let prior = match row.get_ref(2)?.as_str_or_null()? {
                    Some("sent") => Prior::Sent,
                    Some("failed") => Prior::Failed,
                    _ => Prior::Unknown,
                };
                Ok(((row.get(0)?, row.get(1)?), prior))
            })?;
            rows.collect()
        })
    }

    /// Every occurrence's record of one recipient of `campaign`, newest first.
    pub fn recipient_history(&self, campaign: &str, recipient: &str) -> Result<Vec<RecipientOutcome>, LedgerError> {
        if let Some(pg) = self.pg() {
            return pg.recipient_history(campaign, recipient);
        }
        self.with_conn(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT occurrence, page, COALESCE(outcome, 'unknown'),
                        CASE WHEN outcome IS NULL THEN 'no result recorded (crash?)' ELSE reason END,
                        error_code, error_subcode, error_message, message_id, attempts,
                        COALESCE(outcome_at, intent_at)
                 FROM sends WHERE campaign = ?1 AND recipient = ?2
                 ORDER BY COALESCE(outcome_at, intent_at) DESC, occurrence DESC",
            )?;
            let rows = stmt.query_map(params![campaign, recipient], |r| {
                Ok(RecipientOutcome {
                    occurrence: r.get(0)?,
                    page: r.get(1)?,
                    outcome: r.get(2)?,
                    reason: r.get(3)?,
                    error_code: r.get(4)?,
                    error_subcode: r.get(5)?,
                    error_message: r.get(6)?,
                    message_id: r.get(7)?,
                    attempts: r.get(8)?,
                    at: r.get(9)?,
                })
            })?;
            rows.collect()
        })
    }

    /// How many messages `page` sent (or may have sent: an intent without
    /// a recorded outcome, or `unknown`) since `since`, across every campaign
    /// of this ledger: what a page's `daily_limit` counts.
    pub fn page_sends_since(&self, page: &str, since: DateTime<Utc>) -> Result<u64, LedgerError> {
        self.with_conn(|conn| {
            conn.prepare_cached(
                "SELECT COUNT(*) FROM sends
                 WHERE page = ?1 AND intent_at >= ?2
                   AND (outcome IS NULL OR outcome IN ('sent', 'unknown'))",
            )?
            .query_row(params![page, ts(since)], |row| count(row, 0))
        })
    }

    /// How many recipients of this occurrence are recorded `not_attempted`:
    /// an occurrence is settled when none is (SPEC §5).
    pub fn open_count(&self, campaign: &str, occurrence: &str) -> Result<u64, LedgerError> {
        if let Some(pg) = self.pg() {
            return pg.open_count(campaign, occurrence);
        }
        self.with_conn(|conn| {
            conn.prepare_cached(
                "SELECT COUNT(*) FROM sends WHERE campaign = ?1 AND occurrence = ?2 AND outcome = 'not_attempted'",
            )?
            .query_row(params![campaign, occurrence], |row| count(row, 0))
        })
    }

    /// Records the start of a run and returns its id.
    pub fn start_run(&self, campaign: &str, occurrence: &str, started_at: DateTime<Utc>) -> Result<i64, LedgerError> {
        if let Some(pg) = self.pg() {
            return pg.start_run(campaign, occurrence, started_at);
        }
        self.with_conn(|conn| {
            conn.prepare_cached("INSERT INTO runs (campaign, occurrence, started_at) VALUES (?1, ?2, ?3)")?
                .execute(params![campaign, occurrence, ts(started_at)])?;
            Ok(conn.last_insert_rowid())
        })
    }

    /// Records the end of a run: its exit code and report summary (JSON).
    pub fn finish_run(
        &self,
        run_id: i64,
        finished_at: DateTime<Utc>,
        exit_code: i32,
        summary_json: &str,
    ) -> Result<(), LedgerError> {
        if let Some(pg) = self.pg() {
            return pg.finish_run(run_id, finished_at, exit_code, summary_json);
        }
        let changed = self.with_conn(|conn| {
            let changed = conn
                .prepare_cached("UPDATE runs SET finished_at = ?2, exit_code = ?3, summary = ?4 WHERE id = ?1")?
                .execute(params![run_id, ts(finished_at), exit_code, summary_json])?;
            // Fold the write-ahead log into the main file, so that a copy of
            // `ledger.sqlite3` alone (a naive backup) holds this run. Best
            // effort: another process reading the ledger may keep the log.
            let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
            Ok(changed)
        })?;
        if changed == 0 {
            return Err(LedgerError::Sql {
                path: self.path().to_path_buf(),
                msg: format!("no run with id {run_id} to finish (a pagecast bug)"),
            });
        }
        Ok(())
    }

    /// Per (campaign, occurrence), newest first: its runs and outcome counts.
    /// `campaign` narrows it to one campaign.
    pub fn status(&self, campaign: Option<&str>) -> Result<Vec<OccurrenceStatus>, LedgerError> {
        if let Some(pg) = self.pg() {
            return pg.status(campaign);
        }
        let (runs, mut counts) = self.with_conn(|conn| Ok((run_rows(conn, campaign)?, count_rows(conn, campaign)?)))?;
        let path = self.path();
        let parse_opt = |t: Option<String>| t.map(|t| parse_ts(path, &t)).transpose();
        runs.into_iter()
            .map(|(campaign, occurrence, runs, first, last, finished, exit)| {
                let counts = counts.remove(&(campaign.clone(), occurrence.clone()));
                Ok(OccurrenceStatus {
                    runs,
                    first_started_at: parse_ts(path, &first)?,
                    last_started_at: parse_ts(path, &last)?,
                    last_finished_at: parse_opt(finished)?,
                    last_exit_code: exit,
                    counts: counts.unwrap_or_default(),
                    campaign,
                    occurrence,
                })
            })
            .collect()
    }
}

fn run_rows(conn: &rusqlite::Connection, campaign: Option<&str>) -> rusqlite::Result<Vec<RunRow>> {
    // The exit code of the latest run (by id), NULL if it has not finished.
    let mut stmt = conn.prepare_cached(
        "SELECT campaign, occurrence, COUNT(*), MIN(started_at), MAX(started_at), MAX(finished_at),
                (SELECT l.exit_code FROM runs l
                 WHERE l.campaign = r.campaign AND l.occurrence = r.occurrence
                 ORDER BY l.id DESC LIMIT 1)
         FROM runs r
         WHERE ?1 IS NULL OR campaign = ?1
         GROUP BY campaign, occurrence
         ORDER BY MAX(started_at) DESC, MAX(id) DESC",
    )?;
    let rows = stmt.query_map([campaign], |row| {
        Ok((row.get(0)?, row.get(1)?, count(row, 2)?, row.get(3)?, row.get(4)?, row.get(5)?, row.get(6)?))
    })?;
    rows.collect()
}

fn count_rows(
    conn: &rusqlite::Connection,
    campaign: Option<&str>,
) -> rusqlite::Result<HashMap<(String, String), OutcomeCounts>> {
    let mut stmt = conn.prepare_cached(
        "SELECT campaign, occurrence,
                COUNT(*) FILTER (WHERE outcome = 'sent'),
                COUNT(*) FILTER (WHERE outcome = 'failed'),
                COUNT(*) FILTER (WHERE outcome = 'unknown'
                                    OR (outcome IS NULL AND intent_at IS NOT NULL)),
                COUNT(*) FILTER (WHERE outcome = 'not_attempted'),
                COUNT(*) FILTER (WHERE outcome = 'skipped')
         FROM sends
         WHERE ?1 IS NULL OR campaign = ?1
         GROUP BY campaign, occurrence",
    )?;
    let rows = stmt.query_map([campaign], |row| {
        let counts = OutcomeCounts {
            sent: count(row, 2)?,
            failed: count(row, 3)?,
            unknown: count(row, 4)?,
            not_attempted: count(row, 5)?,
            skipped: count(row, 6)?,
        };
        Ok(((row.get(0)?, row.get(1)?), counts))
    })?;
    rows.collect()
}

/// Reads a `COUNT(*)` column (rusqlite reads no `u64` without a feature).
pub(crate) fn count(row: &rusqlite::Row, i: usize) -> rusqlite::Result<u64> {
    Ok(u64::try_from(row.get::<_, i64>(i)?).unwrap_or_default())
}

/// Reads one optional text value of a single-row query.
pub(crate) fn optional_text(
    conn: &rusqlite::Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> rusqlite::Result<Option<String>> {
    Ok(conn.prepare_cached(sql)?.query_row(params, |row| row.get(0)).optional()?.flatten())
}
