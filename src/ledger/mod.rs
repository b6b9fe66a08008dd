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

/// A handle to the ledger of one state directory. Cheap to clone; `Send` and
/// `Sync`. Reads and run/fire bookkeeping use one connection behind a mutex;
/// intents and outcomes go through [`Ledger::writer`].
#[derive(Clone)]
pub struct Ledger {
    inner: Arc<Inner>,
}

struct Inner {
    db_path: PathBuf,
    locks_dir: PathBuf,
    conn: Mutex<Connection>,
    writer: OnceLock<LedgerWriter>,
}

impl Ledger {
    /// Opens (creating if needed, mode 0700) the state directory and its
    /// `ledger.sqlite3` (created 0600, only where no file is), and brings the
    /// schema up to date. Refuses a database written by a newer pagecast
    /// ([`LedgerError::TooNew`]), a damaged one ([`LedgerError::Corrupt`]) and
    /// a file without pagecast's schema ([`LedgerError::NotALedger`]).
    pub fn open(state_dir: &Path) -> Result<Ledger, LedgerError> {
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
        let inner = Inner { db_path, locks_dir, conn: Mutex::new(conn), writer: OnceLock::new() };
        Ok(Ledger { inner: Arc::new(inner) })
    }

    /// Opens the ledger only if `state_dir` already holds one; for readers
    /// such as `plan`, which must not create state.
    pub fn open_existing(state_dir: &Path) -> Result<Option<Ledger>, LedgerError> {
        let db_path = state_dir.join(DB_FILE);
        match db_path.try_exists() {
            Ok(true) => Ledger::open(state_dir).map(Some),
            Ok(false) => Ok(None),
            Err(e) => Err(LedgerError::Open { path: db_path, msg: e.to_string() }),
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.db_path
    }

    /// Takes the exclusive lock of `campaign`, or fails at once with
    /// [`LedgerError::Locked`] when another process (or another open of the
    /// lock file) holds it. Held until the guard drops or the process dies.
    pub fn lock(&self, campaign: &str) -> Result<CampaignLock, LedgerError> {
        lock::acquire(&self.inner.locks_dir, campaign)
    }

    /// The writer for intents and outcomes. The first call starts its thread
    /// (with its own connection); later calls share it.
    pub fn writer(&self) -> LedgerWriter {
        let path = &self.inner.db_path;
        self.inner.writer.get_or_init(|| LedgerWriter::spawn(path.clone())).clone()
    }

    /// Runs `f` on the shared reading connection, naming the file in errors.
    fn with_conn<T>(&self, f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> Result<T, LedgerError> {
        // A panic while holding the mutex leaves the connection usable:
        // every use is a statement or a transaction that SQLite rolls back.
        let mut conn = self.inner.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut conn).map_err(|e| LedgerError::sql(&self.inner.db_path, e))
    }
}

fn create_private_dir(dir: &Path) -> Result<(), LedgerError> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| LedgerError::Open { path: dir.to_path_buf(), msg: format!("cannot create the directory: {e}") })
}
