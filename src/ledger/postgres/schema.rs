//! Versioned migrations of the PostgreSQL ledger, run by pagecast itself.
//!
//! `pagecast_schema(version)` holds how many steps have run. Every open
//! takes `pg_advisory_xact_lock` (keyed by the schema) before reading it, so
//! two hosts starting at once migrate one after the other: the second finds
//! the work done. A version above [`LATEST`] is refused (exit 2). To change
//! the schema, append a step; never edit a released one.
//!
//! The tables are those of the SQLite ledger (version 2 there), with times as
//! the same fixed-width RFC 3339 text, so both backends share their claim,
//! outcome and fire statements and sort times the same way.

use ::postgres::Client;

use super::conn::PgErr;
use crate::ledger::LedgerError;

const MIGRATIONS: &[&str] = &[V1];

/// The schema version this build writes and understands.
pub(crate) const LATEST: i32 = MIGRATIONS.len() as i32;

const V1: &str = "
CREATE TABLE runs (
    id          BIGSERIAL PRIMARY KEY,
    campaign    TEXT NOT NULL,
    occurrence  TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    exit_code   INTEGER,
    summary     TEXT
);
CREATE INDEX runs_by_occurrence ON runs (campaign, occurrence);

CREATE TABLE sends (
    campaign      TEXT NOT NULL,
    occurrence    TEXT NOT NULL,
    page          TEXT NOT NULL,
    recipient     TEXT NOT NULL,
    run_id        BIGINT NOT NULL,
    intent_at     TEXT,
    claims        BIGINT NOT NULL DEFAULT 0,
    outcome       TEXT CHECK (outcome IN ('sent', 'failed', 'unknown', 'not_attempted', 'skipped')),
    reason        TEXT,
    error_code    BIGINT,
    error_subcode BIGINT,
    error_message TEXT,
    message_id    TEXT,
    attempts      BIGINT,
    outcome_at    TEXT,
    PRIMARY KEY (campaign, occurrence, page, recipient)
);
CREATE INDEX sends_by_page_time ON sends (page, intent_at);

CREATE TABLE fires (
    campaign    TEXT NOT NULL,
    fire        TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('started', 'finished', 'missed', 'pending')),
    reason      TEXT,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (campaign, fire)
);
";

/// Brings the schema up to [`LATEST`] under the migration lock, refusing a
/// newer one.
pub(super) fn migrate(client: &mut Client, label: &str) -> Result<(), PgErr> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock(hashtext('pagecast-migrate:' || COALESCE(current_schema(), '')))", &[])?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS pagecast_schema (version INTEGER NOT NULL)")?;
    let found: i32 = tx.query_one("SELECT COALESCE(MAX(version), 0) FROM pagecast_schema", &[])?.get(0);
    if found > LATEST {
        return Err(LedgerError::TooNew { path: label.into(), found: found.into(), supported: LATEST.into() }.into());
    }
    if found < LATEST {
        for step in MIGRATIONS.iter().skip(usize::try_from(found).unwrap_or_default()) {
            tx.batch_execute(step)?;
        }
        tx.execute("DELETE FROM pagecast_schema", &[])?;
        tx.execute("INSERT INTO pagecast_schema (version) VALUES ($1)", &[&LATEST])?;
    }
    tx.commit()?;
    Ok(())
}
