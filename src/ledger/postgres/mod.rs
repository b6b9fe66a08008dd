//! The shared ledger on PostgreSQL (SPEC §5, "The shared ledger"): the same
//! tables and the same claim/outcome rules as the SQLite ledger, so that
//! several hosts with one crontab send each (campaign, occurrence, page,
//! recipient) at most once in all.
//!
//! - Claims and outcomes use the very statements of the SQLite writer
//!   (`CLAIM_SQL`, `OUTCOME_SQL`: `INSERT … ON CONFLICT … DO UPDATE … WHERE`),
//!   committed by one writer thread with its own connection (group commit:
//!   every intent and outcome queued meanwhile shares one transaction).
//! - The campaign lock is a session advisory lock
//!   (`pg_try_advisory_lock(schema key, hashtext(campaign))`) held by a
//!   connection of its own for the whole run. The server drops it with the
//!   session: a host killed, powered off or cut off loses it, and the next
//!   tick anywhere takes the campaign over.
//! - Migrations are versioned (`pagecast_schema`) and run by pagecast under
//!   `pg_advisory_xact_lock`, so two hosts migrating at once are safe; a
//!   newer schema is refused.
//! - The `postgres` crate is synchronous and runs its own small runtime, which
//!   must not be entered from inside tokio. Every connection therefore lives
//!   on a thread of its own ([`Session`]) and callers, async or not, hand it
//!   closures.
//! - The password (in the URL, `PGPASSWORD` or `~/.pgpass`) never appears in
//!   a message: the ledger is named by [`Target::label`],
//!   `postgres://user@host:port/db`.
//!
//! Each connection names the schema it works in through the URL's
//! `options=-csearch_path%3D…` (the tests give each their own); lock keys
//! include the schema, so two pagecast installations in one database do not
//! lock each other out.

mod conn;
mod reads;
mod schema;
mod writer;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::lock::CampaignLock;
use super::{LedgerError, LedgerWriter};

use conn::{PgErr, Target};
pub(crate) use conn::{Session, redact};

/// The campaign lock: a session advisory lock whose first key is the schema,
/// so that installations in different schemas of one database are apart.
const LOCK_SQL: &str = "SELECT pg_try_advisory_lock(hashtext('pagecast:' || COALESCE(current_schema(), '')), hashtext($1)), pg_backend_pid()";

/// The server process id of the session holding each campaign this process
/// locked. The writer checks, in the transaction of every claim, that this
/// session is still there: a lock session lost while the writer's survives
/// (a terminated backend) would otherwise let another host take the
/// campaign over while this run keeps claiming.
pub(crate) type HeldLocks = Arc<Mutex<HashMap<String, i32>>>;

/// The URL in `state`, when it names a PostgreSQL ledger.
pub(super) fn url_of(state: &Path) -> Option<&str> {
    let s = state.to_str()?;
    (s.starts_with("postgres://") || s.starts_with("postgresql://")).then_some(s)
}

/// One PostgreSQL ledger: where it is, and the connection for reads and
/// run/fire bookkeeping.
pub(crate) struct PgLedger {
    target: Target,
    reader: Session,
    held: HeldLocks,
}

impl PgLedger {
    /// Connects and brings the schema up to date. With `create` false, a
    /// database without pagecast's tables is `None` (readers such as `plan`
    /// create nothing).
    pub(super) fn open(url: &str, create: bool) -> Result<Option<PgLedger>, LedgerError> {
        let target = Target::parse(url)?;
        let reader = Session::start(&target, "pagecast-ledger-read", true, None)?;
        if !create {
            let exists = reader.call(|client| {
                Ok(client.query_one("SELECT to_regclass('pagecast_schema') IS NOT NULL", &[])?.get::<_, bool>(0))
            })?;
            if !exists {
                return Ok(None);
            }
        }
        let label = target.label().to_string();
        reader.call(move |client| schema::migrate(client, &label))?;
        Ok(Some(PgLedger { target, reader, held: HeldLocks::default() }))
    }

    /// The URL without its password.
    pub(super) fn label(&self) -> &str {
        self.target.label()
    }

    fn path(&self) -> &Path {
        Path::new(self.target.label())
    }

    /// Takes the campaign's advisory lock on a new session, or fails at once.
    pub(super) fn lock(&self, campaign: &str) -> Result<CampaignLock, LedgerError> {
        let session = Session::start(&self.target, "pagecast-lock", false, Some("SELECT pg_advisory_unlock_all()"))?;
        let key = campaign.to_string();
        let (held, pid) = session.call(move |client| {
            let row = client.query_one(LOCK_SQL, &[&key])?;
            Ok((row.get::<_, bool>(0), row.get::<_, i32>(1)))
        })?;
        let path = PathBuf::from(format!("{} (advisory lock of campaign `{campaign}`)", self.label()));
        if !held {
            return Err(LedgerError::Locked { campaign: campaign.to_string(), path, holder: String::new() });
        }
        self.held.lock().unwrap_or_else(|p| p.into_inner()).insert(campaign.to_string(), pid);
        Ok(CampaignLock::session(session, path))
    }

    /// A writer thread with its own connection.
    pub(super) fn writer(&self) -> LedgerWriter {
        let (target, held) = (self.target.clone(), self.held.clone());
        let connect: super::writer::Connect = Box::new(move || writer::connect(&target, held));
        LedgerWriter::spawn_with(self.path().to_path_buf(), connect)
    }

    /// The server process id of the session holding `campaign`'s lock.
    #[cfg(test)]
    pub(crate) fn lock_pid(&self, campaign: &str) -> Option<i32> {
        self.held.lock().unwrap_or_else(|p| p.into_inner()).get(campaign).copied()
    }

    /// Runs `f` on the reading connection.
    fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut ::postgres::Client) -> Result<T, PgErr> + Send + 'static,
    ) -> Result<T, LedgerError> {
        self.reader.call(f)
    }
}
