//! Schedule bookkeeping for `tick` (SPEC §5): which fire times were run,
//! finished, or recorded as missed, one row per (campaign, fire).
//!
//! Recording is idempotent and never moves a fire backwards, so two ticks
//! that see the same fire (or a tick that retries after an error) agree:
//!
//! | recorded → new | none | started | finished | missed |
//! |---|---|---|---|---|
//! | **Started**    | insert | keep | keep | started |
//! | **Finished**   | insert | finished | keep | finished |
//! | **Missed**     | insert | missed | keep | keep |
//!
//! Missed over Started is how a tick gives up resuming a fire whose run died
//! and whose catch-up window has passed.

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
}

impl FireStatus {
    /// The upsert for this status; the `WHERE` holds the table in the module
    /// docs.
    fn upsert_sql(self) -> &'static str {
        match self {
            FireStatus::Started => {
                "INSERT INTO fires (campaign, fire, status, recorded_at) VALUES (?1, ?2, 'started', ?3)
                 ON CONFLICT (campaign, fire) DO UPDATE
                 SET status = 'started', recorded_at = excluded.recorded_at
                 WHERE fires.status = 'missed'"
            }
            FireStatus::Finished => {
                "INSERT INTO fires (campaign, fire, status, recorded_at) VALUES (?1, ?2, 'finished', ?3)
                 ON CONFLICT (campaign, fire) DO UPDATE
                 SET status = 'finished', recorded_at = excluded.recorded_at
                 WHERE fires.status <> 'finished'"
            }
            FireStatus::Missed => {
                "INSERT INTO fires (campaign, fire, status, recorded_at) VALUES (?1, ?2, 'missed', ?3)
                 ON CONFLICT (campaign, fire) DO UPDATE
                 SET status = 'missed', recorded_at = excluded.recorded_at
                 WHERE fires.status = 'started'"
            }
        }
    }
}

impl Ledger {
    /// The latest fire of `campaign` that a tick handled (run or missed).
    pub fn last_handled_fire(&self, campaign: &str) -> Result<Option<DateTime<Utc>>, LedgerError> {
        self.fire_query("SELECT MAX(fire) FROM fires WHERE campaign = ?1", campaign)
    }

    /// The latest fire of `campaign` whose run started and did not finish.
    pub fn unfinished_fire(&self, campaign: &str) -> Result<Option<DateTime<Utc>>, LedgerError> {
        self.fire_query("SELECT MAX(fire) FROM fires WHERE campaign = ?1 AND status = 'started'", campaign)
    }

    /// How many fires of `campaign` were recorded as missed.
    pub fn missed_count(&self, campaign: &str) -> Result<u64, LedgerError> {
        self.with_conn(|conn| {
            conn.prepare_cached("SELECT COUNT(*) FROM fires WHERE campaign = ?1 AND status = 'missed'")?
                .query_row([campaign], |row| count(row, 0))
        })
    }

    /// Records `fires` of `campaign` with `status`, in one transaction.
    /// Idempotent; see the module docs for how statuses combine.
    pub fn record_fires(
        &self,
        campaign: &str,
        fires: &[DateTime<Utc>],
        status: FireStatus,
        at: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        self.with_conn(|conn| {
            let tx = conn.transaction()?;
            {
                let mut stmt = tx.prepare_cached(status.upsert_sql())?;
                for fire in fires {
                    stmt.execute(params![campaign, ts(*fire), ts(at)])?;
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
