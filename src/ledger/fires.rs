//! Schedule bookkeeping for `tick` (SPEC §5): which fire times were run,
//! finished, or recorded as missed, one row per (campaign, fire).
//!
//! Recording is idempotent and never moves a fire backwards, so two ticks
//! that see the same fire (or a tick that retries after an error) agree:
//!
//! | recorded → new | none | started | finished | missed | pending |
//! |---|---|---|---|---|---|
//! | **Started**    | insert | keep | keep | started | started |
//! | **Finished**   | insert | finished | keep | finished | finished |
//! | **Missed**     | insert | missed | keep | keep | missed |
//! | **Pending**    | insert | pending | keep | keep | pending |
//!
//! Missed over Started is how a tick gives up resuming a fire whose run died
//! and whose catch-up window has passed. Pending is a fire whose run could
//! not start (a missing token, an unreadable audience): it is not handled,
//! so the next tick within `catch_up` tries it again; its reason is kept
//! when it is finally recorded missed.

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::runs::{count, optional_text};
use super::schema::{parse_ts, ts};
use super::{Ledger, LedgerError};

/// What happened to a scheduled fire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FireStatus {
    /// Its run started (and has not been seen to finish).
    Started,
    /// Its run finished.
    Finished,
    /// It was not run: too late for `catch_up`, or older than a newer fire.
    Missed,
    /// Its run could not start; not handled yet.
    Pending,
}

impl FireStatus {
    /// The status as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            FireStatus::Started => "started",
            FireStatus::Finished => "finished",
            FireStatus::Missed => "missed",
            FireStatus::Pending => "pending",
        }
    }
}

/// One recorded fire, as `status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FireRecord {
    /// The fire time.
    pub fire: DateTime<Utc>,
    /// What happened to it.
    pub status: &'static str,
    /// Why (for pending and missed fires).
    pub reason: Option<String>,
}

impl FireStatus {
    /// The upsert for this status; the `WHERE` holds the table in the module
    /// docs.
    pub(super) fn upsert_sql(self) -> &'static str {
        match self {
            FireStatus::Started => {
                "INSERT INTO fires (campaign, fire, status, reason, recorded_at) VALUES (?1, ?2, 'started', ?4, ?3)
                 ON CONFLICT (campaign, fire) DO UPDATE
                 SET status = 'started', reason = NULL, recorded_at = excluded.recorded_at
                 WHERE fires.status IN ('missed', 'pending')"
            }
            FireStatus::Finished => {
                "INSERT INTO fires (campaign, fire, status, reason, recorded_at) VALUES (?1, ?2, 'finished', ?4, ?3)
                 ON CONFLICT (campaign, fire) DO UPDATE
                 SET status = 'finished', reason = NULL, recorded_at = excluded.recorded_at
                 WHERE fires.status <> 'finished'"
            }
            FireStatus::Missed => {
                "INSERT INTO fires (campaign, fire, status, reason, recorded_at) VALUES (?1, ?2, 'missed', ?4, ?3)
                 ON CONFLICT (campaign, fire) DO UPDATE
                 SET status = 'missed', reason = COALESCE(excluded.reason, fires.reason),
                     recorded_at = excluded.recorded_at
                 WHERE fires.status IN ('started', 'pending')"
            }
            FireStatus::Pending => {
                "INSERT INTO fires (campaign, fire, status, reason, recorded_at) VALUES (?1, ?2, 'pending', ?4, ?3)
                 ON CONFLICT (campaign, fire) DO UPDATE
                 SET status = 'pending', reason = excluded.reason, recorded_at = excluded.recorded_at
                 WHERE fires.status IN ('started', 'pending')"
            }
        }
    }
}

impl Ledger {
    /// The latest fire of `campaign` that a tick handled (run or missed;
    /// a pending fire, whose run could not start, is not handled).
    pub fn last_handled_fire(&self, campaign: &str) -> Result<Option<DateTime<Utc>>, LedgerError> {
        if let Some(pg) = self.pg() {
            return pg.last_handled_fire(campaign);
        }
        self.fire_query("SELECT MAX(fire) FROM fires WHERE campaign = ?1 AND status <> 'pending'", campaign)
    }

    /// The latest `n` fires of `campaign` that are pending or missed, newest first.
    pub fn troubled_fires(&self, campaign: &str, n: u32) -> Result<Vec<FireRecord>, LedgerError> {
        if let Some(pg) = self.pg() {
            return pg.troubled_fires(campaign, n);
        }
        let rows: Vec<(String, String, Option<String>)> = self.with_conn(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT fire, status, reason FROM fires
                 WHERE campaign = ?1 AND status IN ('pending', 'missed') ORDER BY fire DESC LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![campaign, n], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            rows.collect()
        })?;
        rows.into_iter()
            .map(|(fire, status, reason)| {
                let status = if status == "pending" { FireStatus::Pending } else { FireStatus::Missed };
                Ok(FireRecord { fire: parse_ts(self.path(), &fire)?, status: status.as_str(), reason })
            })
            .collect()
    }

    /// The latest fire of `campaign` whose run started and did not finish.
    pub fn unfinished_fire(&self, campaign: &str) -> Result<Option<DateTime<Utc>>, LedgerError> {
        if let Some(pg) = self.pg() {
            return pg.unfinished_fire(campaign);
        }
        self.fire_query("SELECT MAX(fire) FROM fires WHERE campaign = ?1 AND status = 'started'", campaign)
    }

    /// How many fires of `campaign` were recorded as missed.
    pub fn missed_count(&self, campaign: &str) -> Result<u64, LedgerError> {
        if let Some(pg) = self.pg() {
            return pg.missed_count(campaign);
        }
        self.with_conn(|conn| {
            conn.prepare_cached("SELECT COUNT(*) FROM fires WHERE campaign = ?1 AND status = 'missed'")?
                .query_row([campaign], |row| count(row, 0))
        })
    }

    /// Records `fires` of `campaign` with `status` (and why, for pending
    /// and missed fires), in one transaction. Idempotent; see the module
    /// docs for how statuses combine.
    pub fn record_fires(
        &self,
        campaign: &str,
        fires: &[DateTime<Utc>],
        status: FireStatus,
        reason: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        if let Some(pg) = self.pg() {
            return pg.record_fires(campaign, fires, status, reason, at);
        }
        self.with_conn(|conn| {
            let tx = conn.transaction()?;
            {
                let mut stmt = tx.prepare_cached(status.upsert_sql())?;
                for fire in fires {
                    stmt.execute(params![campaign, ts(*fire), ts(at), reason])?;
                }
            }
            tx.commit()
        })
    }

    fn fire_query(&self, sql: &str, campaign: &str) -> Result<Option<DateTime<Utc>>, LedgerError> {
        let fire = self.with_conn(|conn| optional_text(conn, sql, [campaign]))?;
        fire.map(|f| parse_ts(self.path(), &f)).transpose()
    }
}
