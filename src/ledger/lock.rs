//! The per-campaign overlap lock: one process runs a campaign at a time.
//!
//! An exclusive, non-blocking OS lock (`File::try_lock`) on
//! `<state>/locks/<campaign>.lock`. The OS drops the lock when the file is
//! closed or the process dies, so a kill -9 never leaves a stale lock behind
//! and there is no PID file to clean up. The lock file itself is left in
//! place: deleting it while another process opens it would let two processes
//! each lock a different file of the same name.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::LedgerError;

/// Holds a campaign's lock until dropped.
pub struct CampaignLock {
    // Closing the file, or ending the PostgreSQL session, releases the lock.
    _held: Held,
    path: PathBuf,
}

/// Never read: held for what dropping it releases.
#[allow(dead_code)]
pub(super) enum Held {
    File(File),
    /// The session that holds the advisory lock (ends when dropped).
    Session(super::postgres::Session),
}

impl std::fmt::Debug for CampaignLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CampaignLock").field("path", &self.path).finish()
    }
}

impl CampaignLock {
    pub(super) fn session(session: super::postgres::Session, path: PathBuf) -> CampaignLock {
        CampaignLock { _held: Held::Session(session), path }
    }
}

impl CampaignLock {
    /// The lock file (for PostgreSQL: the database and lock it names).
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Takes the lock of `campaign` in `locks_dir`, or fails at once.
pub(crate) fn acquire(locks_dir: &Path, campaign: &str) -> Result<CampaignLock, LedgerError> {
    let path = locks_dir.join(format!("{}.lock", file_stem(campaign)));
    // No truncation before the lock is ours: the holder's PID stays readable.
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| LedgerError::io(&path, e))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let holder = holder_pid(&path).map(|pid| format!(" by PID {pid}")).unwrap_or_default();
            return Err(LedgerError::Locked { campaign: campaign.to_string(), path, holder });
        }
        Err(TryLockError::Error(e)) => return Err(LedgerError::io(&path, e)),
    }
    // For the operator who wonders who holds it; the lock does not depend on it.
    file.set_len(0).and_then(|()| writeln!(file, "{}", std::process::id())).map_err(|e| LedgerError::io(&path, e))?;
    Ok(CampaignLock { _held: Held::File(file), path })
}

/// The PID the holder wrote into the lock file, when it reads as one.
fn holder_pid(path: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(path).ok()?;
    text.trim().parse().ok()
}

/// Campaign ids are validated as `[a-z0-9][a-z0-9_-]*`; anything else is
/// escaped anyway so that no id can name a path outside the locks directory.
fn file_stem(campaign: &str) -> String {
    let mut out = String::with_capacity(campaign.len());
    for (i, c) in campaign.char_indices() {
        let plain = c.is_ascii_alphanumeric() || c == '_' || c == '-' || (c == '.' && i > 0);
        if plain {
            out.push(c);
        } else {
            let mut buf = [0; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::file_stem;

    #[test]
    fn stems_stay_inside_the_directory() {
        assert_eq!(file_stem("order-shipped_2"), "order-shipped_2");
        assert_eq!(file_stem("../x"), "%2E.%2Fx");
        assert_eq!(file_stem(""), "");
    }
}
