//! Connections, durability settings, versioned migrations and the time format.
//!
//! # Durability: WAL with `synchronous=FULL`
//!
//! The ledger promises that an intent is on disk before its request leaves,
//! and SPEC §5 names power loss alongside kill -9. In WAL mode,
//! `synchronous=NORMAL` fsyncs only at checkpoints: a committed transaction
//! survives the process dying (the WAL is in the OS page cache) but not the
//! machine losing power, so an intent could vanish after its message was
//! delivered and the recipient would be sent to again. `synchronous=FULL`
//! fsyncs the WAL on every commit, which closes that hole. Its cost is one
//! fsync per transaction, not per intent: the writer thread commits every
//! intent and outcome waiting in its queue together (group commit), so with
//! N requests in flight each fsync covers about N intents plus their outcomes.
//!
//! WAL also lets readers (`prior`, `status`, another campaign's process) read
//! while the writer writes, and `busy_timeout` makes writers of different
//! processes wait for each other instead of failing.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, TransactionBehavior};

use super::LedgerError;

/// How long a write waits for another process's transaction before failing.
/// Transactions are short (one group commit), so this is only reached when
/// something is badly wrong, e.g. a process stopped inside a transaction.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Schema migrations, in order. `PRAGMA user_version` holds how many have run;
/// to change the schema, append a step (never edit a released one).
const MIGRATIONS: &[&str] = &[V1, V2];

/// The schema version this build writes and understands.
pub(crate) const LATEST: i64 = MIGRATIONS.len() as i64;

/// Version 1. Times are RFC 3339 UTC text with milliseconds (see [`ts`]), so
/// they sort as text. A `sends` row with `intent_at` set and no `outcome` is an
/// intent whose answer never became durable: `unknown`.
pub(crate) const V1: &str = "
CREATE TABLE runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
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
    run_id        INTEGER NOT NULL,
    intent_at     TEXT,
    claims        INTEGER NOT NULL DEFAULT 0,
    outcome       TEXT CHECK (outcome IN ('sent', 'failed', 'unknown', 'not_attempted', 'skipped')),
    reason        TEXT,
    error_code    INTEGER,
    error_subcode INTEGER,
    error_message TEXT,
    message_id    TEXT,
    attempts      INTEGER,
    outcome_at    TEXT,
    PRIMARY KEY (campaign, occurrence, page, recipient)
) WITHOUT ROWID;

CREATE TABLE fires (
    campaign    TEXT NOT NULL,
    fire        TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('started', 'finished', 'missed')),
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (campaign, fire)
) WITHOUT ROWID;
";

/// Version 2: a fire whose run could not start is `pending` (with the
/// reason) rather than handled, so the next tick within `catch_up` tries it
/// again and a fire given up on says why; and sends are indexed by page and
/// time for the per-page daily cap.
const V2: &str = "
CREATE TABLE fires_v2 (
    campaign    TEXT NOT NULL,
    fire        TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('started', 'finished', 'missed', 'pending')),
    reason      TEXT,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (campaign, fire)
) WITHOUT ROWID;
INSERT INTO fires_v2 (campaign, fire, status, recorded_at) SELECT campaign, fire, status, recorded_at FROM fires;
DROP TABLE fires;
ALTER TABLE fires_v2 RENAME TO fires;
CREATE INDEX sends_by_page_time ON sends (page, intent_at);
";

/// Creates a new ledger at `path`, or leaves the one that appeared there
/// meanwhile. The database is built under a temporary name and linked into
/// place only when complete, so `path` never exists without pagecast's
/// schema: an empty file at `path` is then always damage, never a ledger
/// being created ([`require_ledger`]). The file is private (0600).
pub(crate) fn create(path: &Path) -> Result<(), LedgerError> {
    use std::os::unix::fs::PermissionsExt;
    let err = |e: std::io::Error| LedgerError::Open { path: path.to_path_buf(), msg: e.to_string() };
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let temp = path.with_extension(format!("creating-{}-{nanos}", std::process::id()));
    let built = (|| {
        std::fs::File::create(&temp)
            .and_then(|f| f.set_permissions(std::fs::Permissions::from_mode(0o600)))
            .map_err(err)?;
        let mut conn = connect(&temp)?;
        migrate(&mut conn, &temp)?;
        drop(conn);
        match std::fs::hard_link(&temp, path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(err(e)),
        }
    })();
    for suffix in ["", "-wal", "-shm"] {
        let mut leftover = temp.clone().into_os_string();
        leftover.push(suffix);
        let _ = std::fs::remove_file(leftover);
    }
    built
}

/// Refuses a database file that holds no pagecast schema (empty, truncated,
/// or another program's): reading it as "nobody was sent to yet" would send
/// to everyone again.
/// It reads the file without changing it (no journal mode is set yet).
pub(crate) fn require_ledger(path: &Path) -> Result<(), LedgerError> {
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| LedgerError::open(path, e))?;
    let version: i64 =
        conn.pragma_query_value(None, "user_version", |row| row.get(0)).map_err(|e| LedgerError::open(path, e))?;
    if version == 0 {
        return Err(LedgerError::NotALedger { path: path.to_path_buf() });
    }
    Ok(())
}

/// Opens a connection with the ledger's settings (no migration).
pub(crate) fn connect(path: &Path) -> Result<Connection, LedgerError> {
    let err = |e| LedgerError::open(path, e);
    let conn = Connection::open(path).map_err(err)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
    // The first statement that reads the file: a damaged header fails here.
    let _mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0)).map_err(err)?;
    conn.pragma_update(None, "synchronous", "FULL").map_err(err)?;
    Ok(conn)
}

/// Brings the schema up to [`LATEST`], refusing a newer database.
pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), LedgerError> {
    let err = |e| LedgerError::open(path, e);
    if check_version(conn, path)? == LATEST {
        return Ok(());
    }
    // Under the write lock, read again: another process may have migrated.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(err)?;
    let found = check_version(&tx, path)?;
    for step in MIGRATIONS.iter().skip(found as usize) {
        tx.execute_batch(step).map_err(err)?;
    }
    tx.pragma_update(None, "user_version", LATEST).map_err(err)?;
    tx.commit().map_err(err)
}

fn check_version(conn: &Connection, path: &Path) -> Result<i64, LedgerError> {
    let found: i64 =
        conn.pragma_query_value(None, "user_version", |row| row.get(0)).map_err(|e| LedgerError::open(path, e))?;
    if found > LATEST {
        return Err(LedgerError::TooNew { path: path.to_path_buf(), found, supported: LATEST });
    }
    Ok(found)
}

/// The one text form of a time in the database: RFC 3339, UTC, milliseconds,
/// fixed width, so text order is time order.
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Reads a time written by [`ts`]; anything else means the file was damaged.
pub(crate) fn parse_ts(path: &Path, text: &str) -> Result<DateTime<Utc>, LedgerError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| LedgerError::Corrupt { path: path.to_path_buf(), msg: format!("bad time `{text}`: {e}") })
}
