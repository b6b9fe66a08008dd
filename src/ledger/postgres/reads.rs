//! Reads and run/fire bookkeeping on the reading connection: the SQLite
//! ledger's queries (runs.rs, fires.rs) in PostgreSQL's dialect.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::PgLedger;
use super::writer::dollars;
use crate::ledger::schema::{parse_ts, ts};
use crate::ledger::{FireRecord, FireStatus, LedgerError, OccurrenceStatus, OutcomeCounts, Prior, RecipientOutcome};

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or_default()
}

impl PgLedger {
    pub(crate) fn prior(
        &self,
        campaign: &str,
        occurrence: &str,
    ) -> Result<HashMap<(String, String), Prior>, LedgerError> {
        let (c, o) = (campaign.to_string(), occurrence.to_string());
        self.call(move |client| {
            let rows = client.query(
                "SELECT page, recipient, outcome FROM sends
                 WHERE campaign = $1 AND occurrence = $2
                   AND (outcome IN ('sent', 'failed', 'unknown')
                        OR (outcome IS NULL AND intent_at IS NOT NULL))",
                &[&c, &o],
            )?;
            Ok(rows
                .iter()
                .map(|row| {
                    let prior = match row.get::<_, Option<&str>>(2) {
                        Some("sent") => Prior::Sent,
                        Some("failed") => Prior::Failed,
                        _ => Prior::Unknown,
                    };
                    ((row.get(0), row.get(1)), prior)
                })
                .collect())
        })
    }

    pub(crate) fn recipient_history(
        &self,
        campaign: &str,
        recipient: &str,
    ) -> Result<Vec<RecipientOutcome>, LedgerError> {
        let (c, r) = (campaign.to_string(), recipient.to_string());
        self.call(move |client| {
            let rows = client.query(
                "SELECT occurrence, page, COALESCE(outcome, 'unknown'),
                        CASE WHEN outcome IS NULL THEN 'no result recorded (crash?)' ELSE reason END,
                        error_code, error_subcode, error_message, message_id, attempts,
                        COALESCE(outcome_at, intent_at)
                 FROM sends WHERE campaign = $1 AND recipient = $2
                 ORDER BY COALESCE(outcome_at, intent_at) DESC, occurrence DESC",
                &[&c, &r],
            )?;
            Ok(rows
                .iter()
                .map(|r| RecipientOutcome {
                    occurrence: r.get(0),
                    page: r.get(1),
                    outcome: r.get(2),
                    reason: r.get(3),
                    error_code: r.get(4),
                    error_subcode: r.get(5),
                    error_message: r.get(6),
                    message_id: r.get(7),
                    attempts: r.get(8),
                    at: r.get(9),
                })
                .collect())
        })
    }

    pub(crate) fn open_count(&self, campaign: &str, occurrence: &str) -> Result<u64, LedgerError> {
        let (c, o) = (campaign.to_string(), occurrence.to_string());
        self.call(move |client| {
            let row = client.query_one(
                "SELECT COUNT(*) FROM sends WHERE campaign = $1 AND occurrence = $2 AND outcome = 'not_attempted'",
                &[&c, &o],
            )?;
            Ok(count(row.get(0)))
        })
    }

    pub(crate) fn start_run(
        &self,
        campaign: &str,
        occurrence: &str,
        started_at: DateTime<Utc>,
    ) -> Result<i64, LedgerError> {
        let (c, o, at) = (campaign.to_string(), occurrence.to_string(), ts(started_at));
        self.call(move |client| {
            let row = client.query_one(
                "INSERT INTO runs (campaign, occurrence, started_at) VALUES ($1, $2, $3) RETURNING id",
                &[&c, &o, &at],
            )?;
            Ok(row.get(0))
        })
    }

    pub(crate) fn finish_run(
        &self,
        run_id: i64,
        finished_at: DateTime<Utc>,
        exit_code: i32,
        summary_json: &str,
    ) -> Result<(), LedgerError> {
        let (at, summary) = (ts(finished_at), summary_json.to_string());
        let changed = self.call(move |client| {
            Ok(client.execute(
                "UPDATE runs SET finished_at = $2, exit_code = $3, summary = $4 WHERE id = $1",
                &[&run_id, &at, &exit_code, &summary],
            )?)
        })?;
        if changed == 0 {
            return Err(LedgerError::Sql {
                path: self.path().to_path_buf(),
                msg: format!("no run with id {run_id} to finish (a pagecast bug)"),
            });
        }
        Ok(())
    }

    pub(crate) fn status(&self, campaign: Option<&str>) -> Result<Vec<OccurrenceStatus>, LedgerError> {
        let c = campaign.map(str::to_string);
        type RunRow = (String, String, i64, String, String, Option<String>, Option<i32>);
        let (runs, mut counts) = self.call(move |client| {
            let runs: Vec<RunRow> = client
                .query(
                    "SELECT campaign, occurrence, COUNT(*), MIN(started_at), MAX(started_at), MAX(finished_at),
                            (SELECT l.exit_code FROM runs l
                             WHERE l.campaign = r.campaign AND l.occurrence = r.occurrence
                             ORDER BY l.id DESC LIMIT 1)
                     FROM runs r
                     WHERE $1::text IS NULL OR campaign = $1
                     GROUP BY campaign, occurrence
                     ORDER BY MAX(started_at) DESC, MAX(id) DESC",
                    &[&c],
                )?
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5), r.get(6)))
                .collect();
            let counts: HashMap<(String, String), OutcomeCounts> = client
                .query(
                    "SELECT campaign, occurrence,
                            COUNT(*) FILTER (WHERE outcome = 'sent'),
                            COUNT(*) FILTER (WHERE outcome = 'failed'),
                            COUNT(*) FILTER (WHERE outcome = 'unknown'
                                                OR (outcome IS NULL AND intent_at IS NOT NULL)),
                            COUNT(*) FILTER (WHERE outcome = 'not_attempted'),
                            COUNT(*) FILTER (WHERE outcome = 'skipped')
                     FROM sends
                     WHERE $1::text IS NULL OR campaign = $1
                     GROUP BY campaign, occurrence",
                    &[&c],
                )?
                .iter()
                .map(|r| {
                    let counts = OutcomeCounts {
                        sent: count(r.get(2)),
                        failed: count(r.get(3)),
                        unknown: count(r.get(4)),
                        not_attempted: count(r.get(5)),
                        skipped: count(r.get(6)),
                    };
                    ((r.get(0), r.get(1)), counts)
                })
                .collect();
            Ok((runs, counts))
        })?;
        let path = self.path();
        let parse_opt = |t: Option<String>| t.map(|t| parse_ts(path, &t)).transpose();
        runs.into_iter()
            .map(|(campaign, occurrence, runs, first, last, finished, exit)| {
                let counts = counts.remove(&(campaign.clone(), occurrence.clone()));
                Ok(OccurrenceStatus {
                    runs: count(runs),
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

    pub(crate) fn last_handled_fire(&self, campaign: &str) -> Result<Option<DateTime<Utc>>, LedgerError> {
        self.fire_query("SELECT MAX(fire) FROM fires WHERE campaign = $1 AND status <> 'pending'", campaign)
    }

    pub(crate) fn unfinished_fire(&self, campaign: &str) -> Result<Option<DateTime<Utc>>, LedgerError> {
        self.fire_query("SELECT MAX(fire) FROM fires WHERE campaign = $1 AND status = 'started'", campaign)
    }

    pub(crate) fn troubled_fires(&self, campaign: &str, n: u32) -> Result<Vec<FireRecord>, LedgerError> {
        let (c, n) = (campaign.to_string(), i64::from(n));
        let rows: Vec<(String, String, Option<String>)> = self.call(move |client| {
            Ok(client
                .query(
                    "SELECT fire, status, reason FROM fires
                     WHERE campaign = $1 AND status IN ('pending', 'missed') ORDER BY fire DESC LIMIT $2",
                    &[&c, &n],
                )?
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2)))
                .collect())
        })?;
        rows.into_iter()
            .map(|(fire, status, reason)| {
                let status = if status == "pending" { FireStatus::Pending } else { FireStatus::Missed };
                Ok(FireRecord { fire: parse_ts(self.path(), &fire)?, status: status.as_str(), reason })
            })
            .collect()
    }

    pub(crate) fn missed_count(&self, campaign: &str) -> Result<u64, LedgerError> {
        let c = campaign.to_string();
        self.call(move |client| {
            let row =
                client.query_one("SELECT COUNT(*) FROM fires WHERE campaign = $1 AND status = 'missed'", &[&c])?;
            Ok(count(row.get(0)))
        })
    }

    pub(crate) fn record_fires(
        &self,
        campaign: &str,
        fires: &[DateTime<Utc>],
        status: FireStatus,
        reason: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        let (c, at, reason) = (campaign.to_string(), ts(at), reason.map(str::to_string));
        let fires: Vec<String> = fires.iter().map(|f| ts(*f)).collect();
        let sql = dollars(status.upsert_sql());
        self.call(move |client| {
            let mut tx = client.transaction()?;
            let stmt = tx.prepare(&sql)?;
            for fire in &fires {
                tx.execute(&stmt, &[&c, fire, &at, &reason])?;
            }
            tx.commit()?;
            Ok(())
        })
    }

    fn fire_query(&self, sql: &'static str, campaign: &str) -> Result<Option<DateTime<Utc>>, LedgerError> {
        let c = campaign.to_string();
        let fire: Option<String> = self.call(move |client| Ok(client.query_one(sql, &[&c])?.get(0)))?;
        fire.map(|f| parse_ts(self.path(), &f)).transpose()
    }
}
