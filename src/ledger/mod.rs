//! The durable ledger: who was sent what, so that no recipient ever gets the
//! same campaign occurrence twice, even across crashes.
//!
//! For one (campaign, occurrence, page, recipient) at most one message is
//! ever sent (SPEC §5). The sender therefore claims a key with
//! [`LedgerWriter::intent`] and sends only once that claim is committed, then
//! reports the answer with [`LedgerWriter::outcome`]. After a crash, a claim
//! without an outcome reads back as [`Prior::Unknown`]: the message may or may
//! not have been delivered, so it is reported and not resent unless the
//! operator asks (`--resend-unknown`).
//!
//! Durability and speed (details in `schema` and `writer`): SQLite in WAL
//! mode with `synchronous=FULL`, so a commit survives power loss, and one
//! writer thread that commits every queued intent and outcome together (group
//! commit), so the fsync cost is shared by all requests in flight and the
//! ledger does not cap the send rate.
//!
//! Several processes share one state directory (different campaigns run side
//! by side); `busy_timeout` serialises their writes. A per-campaign lock file
//! ([`Ledger::lock`]) keeps two processes off the same campaign.

mod error;
mod fires;
pub mod journal;
mod lock;
mod postgres;
mod runs;
mod schema;
mod writer;

#[cfg(test)]
mod tests;

use std::fs::DirBuilder;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use rusqlite::Connection;

use crate::vocab::Record;

pub use error::LedgerError;
pub use fires::{FireRecord, FireStatus};
pub use lock::CampaignLock;
pub use runs::{OccurrenceStatus, OutcomeCounts, RecipientOutcome};
pub use writer::LedgerWriter;

/// The database file inside the state directory.
pub const DB_FILE: &str = "ledger.sqlite3";

/// What an earlier run recorded for a recipient of an occurrence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prior {
    /// A message was sent.
    Sent,
    /// It failed permanently.
    Failed,
    /// An intent was recorded but no final answer (crash, or an ambiguous
    /// error): it may have been delivered.
    Unknown,
}

/// One recipient's [`Record`], keyed for the ledger: the ids it is stored
/// under and the run that produced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutcomeRecord {
    /// Campaign id.
    pub campaign: String,
    /// Occurrence key (`default`, `--occurrence KEY`, or a fire time).
    pub occurrence: String,
    /// Page id.
    pub page: String,
    /// Recipient id (PSID or payload id).
    pub recipient: String,
    /// The run that produced it ([`Ledger::start_run`]).
    pub run_id: i64,
    /// What happened.
    pub record: Record,
}

/// A handle to the ledger of one state directory, or of one PostgreSQL
/// database (the shared ledger, SPEC §5). Cheap to clone; `Send` and `Sync`.
/// Reads and run/fire bookkeeping use one connection; intents and outcomes go
/// through [`Ledger::writer`]. Callers do not know which backend is in use.
#[derive(Clone)]
pub struct Ledger {
    inner: Arc<Inner>,
}

struct Inner {
    /// The database file, or the PostgreSQL URL without its password.
    db_path: PathBuf,
    backend: Backend,
    writer: OnceLock<LedgerWriter>,
}

enum Backend {
    Sqlite { locks_dir: PathBuf, conn: Mutex<Connection> },
    Postgres(Box<postgres::PgLedger>),
}

impl Ledger {
    /// Opens (creating if needed, mode 0700) the state directory and its
    /// `ledger.sqlite3` (created 0600, only where no file is), and brings the
    /// schema up to date. Refuses a database written by a newer pagecast
    /// ([`LedgerError::TooNew`]), a damaged one ([`LedgerError::Corrupt`]) and
    /// a file without pagecast's schema ([`LedgerError::NotALedger`]).
    ///
    /// A `postgres://` (or `postgresql://`) URL in place of the directory
    /// opens the shared ledger in that database instead (SPEC §5).
    pub fn open(state_dir: &Path) -> Result<Ledger, LedgerError> {
        if let Some(url) = postgres::url_of(state_dir) {
            return postgres::PgLedger::open(url, true).map(|pg| Ledger::from_pg(pg.expect("created")));
        }
        create_private_dir(state_dir)?;
        let locks_dir = state_dir.join("locks");
        create_private_dir(&locks_dir)?;
        let db_path = state_dir.join(DB_FILE);
        let exists =
            db_path.try_exists().map_err(|e| LedgerError::Open { path: db_path.clone(), msg: e.to_string() })?;
        if !exists {
            schema::create(&db_path)?;
        }
        schema::require_ledger(&db_path)?;
        let mut conn = schema::connect(&db_path)?;
        schema::migrate(&mut conn, &db_path)?;
        let backend = Backend::Sqlite { locks_dir, conn: Mutex::new(conn) };
        let inner = Inner { db_path, backend, writer: OnceLock::new() };
        Ok(Ledger { inner: Arc::new(inner) })
    }

    fn from_pg(pg: postgres::PgLedger) -> Ledger {
        let inner =
            Inner { db_path: pg.label().into(), backend: Backend::Postgres(Box::new(pg)), writer: OnceLock::new() };
        Ledger { inner: Arc::new(inner) }
    }

    /// The PostgreSQL backend, when that is the one in use.
    fn pg(&self) -> Option<&postgres::PgLedger> {
        match &self.inner.backend {
            Backend::Postgres(pg) => Some(pg),
            Backend::Sqlite { .. } => None,
        }
    }

    /// Whether this is the shared PostgreSQL ledger.
    pub fn is_shared(&self) -> bool {
        self.pg().is_some()
    }

    /// Opens the ledger only if `state_dir` already holds one; for readers
    /// such as `plan`, which must not create state.
    pub fn open_existing(state_dir: &Path) -> Result<Option<Ledger>, LedgerError> {
        if let Some(url) = postgres::url_of(state_dir) {
            return postgres::PgLedger::open(url, false).map(|pg| pg.map(Ledger::from_pg));
        }
        let db_path = state_dir.join(DB_FILE);
        match db_path.try_exists() {
            Ok(true) => Ledger::open(state_dir).map(Some),
            Ok(false) => Ok(None),
            Err(e) => Err(LedgerError::Open { path: db_path, msg: e.to_string() }),
        }
    }

    /// The database file (for PostgreSQL: its URL without the password).
    pub fn path(&self) -> &Path {
        &self.inner.db_path
    }

    /// Takes the exclusive lock of `campaign`, or fails at once with
    /// [`LedgerError::Locked`] when another process (or another open of the
    /// lock file) holds it. Held until the guard drops or the process dies.
    ///
    /// On PostgreSQL it is a session advisory lock on a connection of its
    /// own: a second run on any host is refused, and a host that dies loses
    /// the lock with its session.
    pub fn lock(&self, campaign: &str) -> Result<CampaignLock, LedgerError> {
        match &self.inner.backend {
            Backend::Sqlite { locks_dir, .. } => lock::acquire(locks_dir, campaign),
            Backend::Postgres(pg) => pg.lock(campaign),
        }
    }

    /// The writer for intents and outcomes. The first call starts its thread
    /// (with its own connection); later calls share it.
    pub fn writer(&self) -> LedgerWriter {
        let path = &self.inner.db_path;
        self.inner
            .writer
            .get_or_init(|| match &self.inner.backend {
                Backend::Sqlite { .. } => LedgerWriter::spawn(path.clone()),
                Backend::Postgres(pg) => pg.writer(),
            })
            .clone()
    }

    /// Runs `f` on the shared reading connection, naming the file in errors.
    fn with_conn<T>(&self, f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> Result<T, LedgerError> {
        // A panic while holding the mutex leaves the connection usable:
        // every use is a statement or a transaction that SQLite rolls back.
        let Backend::Sqlite { conn, .. } = &self.inner.backend else {
            let msg = "a SQLite query on the PostgreSQL ledger (a pagecast bug)".to_string();
            return Err(LedgerError::Sql { path: self.inner.db_path.clone(), msg });
        };
        let mut conn = conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut conn).map_err(|e| LedgerError::sql(&self.inner.db_path, e))
    }
}

/// A `--state` value as it may be shown: a directory as it is, a PostgreSQL
/// URL without its password.
pub fn describe(state: &Path) -> String {
    match postgres::url_of(state) {
        Some(url) => postgres::redact(url),
        None => state.display().to_string(),
    }
}

fn create_private_dir(dir: &Path) -> Result<(), LedgerError> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| LedgerError::Open { path: dir.to_path_buf(), msg: format!("cannot create the directory: {e}") })
}
