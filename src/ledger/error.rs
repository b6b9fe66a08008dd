//! The ledger's errors. Each message names the file or directory involved and
//! says what the operator can do about it, because these surface verbatim on a
//! cron job's stderr.

use std::path::{Path, PathBuf};

use rusqlite::ErrorCode;

/// Why a ledger operation failed.
///
/// The variants carry text rather than the underlying error values so that one
/// failed group commit can be reported to every caller that shared it
/// (`LedgerError` is `Clone`).
#[derive(Debug, Clone, thiserror::Error)]
pub enum LedgerError {
    /// Another process (or another open handle) holds the campaign's lock.
    #[error(
        "campaign `{campaign}` is already being run by another pagecast process \
         (its lock {path} is held{holder}); nothing was done: wait for that run to finish"
    )]
    Locked {
        /// The campaign id.
        campaign: String,
        /// The lock file.
        path: PathBuf,
        /// ` by PID n` when the lock file names its holder, else empty.
        holder: String,
    },
    /// The state directory or the database file cannot be created or opened.
    #[error(
        "cannot open the ledger at {path}: {msg}; make it writable, \
         or pass --state DIR or set PAGECAST_STATE to a writable directory"
    )]
    Open {
        /// The state directory or database file.
        path: PathBuf,
        /// What went wrong.
        msg: String,
    },
    /// The database file exists but is not a readable SQLite database.
    #[error(
        "the ledger {path} is damaged ({msg}); move the file (and any -wal/-shm \
         beside it) aside and keep it for inspection: without it pagecast cannot \
         know who was already sent to"
    )]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// What SQLite reported.
        msg: String,
    },
    /// A file where the ledger should be that holds no pagecast schema.
    #[error(
        "{path} exists but holds no pagecast ledger (it is empty, truncated, or another \
         program's file); pagecast refuses it, because an empty ledger would read as \
         \"nobody was sent to yet\" and everyone would be sent to again: restore the file \
         from a backup, or move it aside only if no campaign ever ran with this state directory"
    )]
    NotALedger {
        /// The database file.
        path: PathBuf,
    },
    /// The database was written by a newer pagecast (a higher schema version).
    #[error(
        "the ledger {path} has schema version {found}, but this pagecast understands \
         versions up to {supported}; upgrade pagecast (or pass --state DIR for a separate ledger)"
    )]
    TooNew {
        /// The database file.
        path: PathBuf,
        /// `PRAGMA user_version` found in the file.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// A claim was refused because the key already has a final outcome.
    #[error(
        "refusing to claim {page}/{recipient} of {campaign} occurrence `{occurrence}`: \
         the ledger already records it as {outcome}, so sending again would send twice"
    )]
    AlreadyFinal {
        /// The campaign id.
        campaign: String,
        /// The occurrence key.
        occurrence: String,
        /// The page id.
        page: String,
        /// The recipient id.
        recipient: String,
        /// `sent` or `failed`.
        outcome: String,
    },
    /// An outcome record that the ledger does not store (`planned`).
    #[error(
        "outcome `{outcome}` for {page}/{recipient} is not one of \
         sent, failed, unknown, not_attempted, skipped; it was not recorded (a pagecast bug)"
    )]
    InvalidOutcome {
        /// The page id.
        page: String,
        /// The recipient id.
        recipient: String,
        /// The rejected word.
        outcome: String,
    },
    /// A database read or write failed.
    #[error("ledger {path}: database error: {msg}; check free disk space and permissions")]
    Sql {
        /// The database file.
        path: PathBuf,
        /// What SQLite reported.
        msg: String,
    },
    /// A file operation outside SQLite failed (the lock files).
    #[error("{path}: {msg}; check that the state directory is writable")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// What the OS reported.
        msg: String,
    },
    /// The PostgreSQL ledger cannot be reached, or its connection was lost.
    /// `target` is the URL without its password.
    #[error(
        "the PostgreSQL ledger {target} is unreachable ({msg}); check that the server is \
         running and accepts connections from this host, and the user and password \
         (PGPASSWORD or ~/.pgpass)"
    )]
    Server {
        /// `postgres://user@host:port/db`, never the password.
        target: String,
        /// What the client library reported.
        msg: String,
    },
    /// The writer thread stopped, so nothing more can be recorded.
    #[error(
        "the ledger writer for {path} stopped; no further intents or outcomes can be \
         recorded (an earlier error explains why)"
    )]
    WriterGone {
        /// The database file.
        path: PathBuf,
    },
}

impl LedgerError {
    /// Classifies a SQLite error: damage becomes [`LedgerError::Corrupt`], the
    /// rest [`LedgerError::Sql`].
    pub(crate) fn sql(path: &Path, err: rusqlite::Error) -> Self {
        let path = path.to_path_buf();
        let msg = err.to_string();
        match err.sqlite_error_code() {
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => LedgerError::Corrupt { path, msg },
            _ => LedgerError::Sql { path, msg },
        }
    }

    /// Like [`LedgerError::sql`], but an error that is neither damage nor
    /// "too new" becomes [`LedgerError::Open`]: used while opening.
    pub(crate) fn open(path: &Path, err: rusqlite::Error) -> Self {
        match Self::sql(path, err) {
            LedgerError::Sql { path, msg } => LedgerError::Open { path, msg },
            other => other,
        }
    }

    pub(crate) fn io(path: &Path, err: std::io::Error) -> Self {
        LedgerError::Io { path: path.to_path_buf(), msg: err.to_string() }
    }
}
