//! Where the database is (URL, password lookup, the label without the
//! password) and [`Session`]: one connection on a thread of its own.

use std::path::PathBuf;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use ::postgres::config::Host;
use ::postgres::{Client, Config, NoTls};

use crate::ledger::LedgerError;

/// How long a connection attempt may take before the ledger gives up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// An error inside a session: the database's, or the ledger's own.
pub(crate) enum PgErr {
    Db(::postgres::Error),
    Ledger(LedgerError),
}

impl From<::postgres::Error> for PgErr {
    fn from(e: ::postgres::Error) -> Self {
        PgErr::Db(e)
    }
}

impl From<LedgerError> for PgErr {
    fn from(e: LedgerError) -> Self {
        PgErr::Ledger(e)
    }
}

/// A database error as a [`LedgerError`] naming `label`: an error the server
/// reported is `Sql`; a lost or refused connection is `Server`.
/// The server ending the session (SQLSTATE class 57, operator intervention:
/// a restart, `pg_terminate_backend`) or a connection exception (class 08)
/// count as a lost connection.
pub(crate) fn db_error(label: &str, e: &::postgres::Error) -> LedgerError {
    match e.as_db_error() {
        Some(db) => {
            let code = db.code().code();
            let msg = format!("{} {code}: {}", db.severity(), db.message());
            if code.starts_with("57") || code.starts_with("08") {
                LedgerError::Server { target: label.to_string(), msg }
            } else {
                LedgerError::Sql { path: label.into(), msg }
            }
        }
        None => LedgerError::Server { target: label.to_string(), msg: e.to_string() },
    }
}

impl PgErr {
    pub(crate) fn into_ledger(self, label: &str) -> LedgerError {
        match self {
            PgErr::Db(e) => db_error(label, &e),
            PgErr::Ledger(e) => e,
        }
    }
}

/// A parsed URL, with the password found for it, and its label.
#[derive(Clone)]
pub(crate) struct Target {
    config: Config,
    label: String,
}

impl Target {
    /// Parses `url` and completes it: the password from `PGPASSWORD` or the
    /// password file when the URL has none, `application_name=pagecast`, and
    /// a connect timeout.
    pub(crate) fn parse(url: &str) -> Result<Target, LedgerError> {
        let mut config: Config = url.parse().map_err(|e: ::postgres::Error| LedgerError::Open {
            path: redact(url).into(),
            msg: format!("not a valid PostgreSQL URL ({e}); write it as postgres://user@host:port/database"),
        })?;
        let host = match config.get_hosts().first() {
            Some(Host::Tcp(h)) => h.clone(),
            Some(Host::Unix(p)) => p.display().to_string(),
            None => "localhost".to_string(),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let user = config.get_user().map(str::to_string).or_else(|| std::env::var("USER").ok()).unwrap_or_default();
        let db = config.get_dbname().map_or_else(|| user.clone(), str::to_string);
        if config.get_user().is_none() {
            config.user(&user);
        }
        if config.get_password().is_none() {
            let found = std::env::var("PGPASSWORD")
                .ok()
                .filter(|p| !p.is_empty())
                .or_else(|| pgpass_lookup(&host, port, &db, &user));
            if let Some(password) = found {
                config.password(password);
            }
        }
        if config.get_application_name().is_none() {
            config.application_name("pagecast");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let label = format!("postgres://{user}@{host}:{port}/{db}");
        Ok(Target { config, label })
    }

    /// `postgres://user@host:port/db`: never the password.
    pub(crate) fn label(&self) -> &str {
        &self.label
    }

    /// A new connection (plain TCP: `NoTls`).
    pub(crate) fn connect(&self) -> Result<Client, LedgerError> {
        self.config.connect(NoTls).map_err(|e| LedgerError::Server { target: self.label.clone(), msg: e.to_string() })
    }
}

/// `url` with any password in its user part replaced by `***`.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return "(an unparsable URL)".to_string() };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let tail = tail.split('?').next().unwrap_or_default();
    match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}@{hosts}{tail}")
        }
        None => format!("{scheme}://{authority}{tail}"),
    }
}

/// The password for (host, port, db, user) in `PGPASSFILE` or `~/.pgpass`,
/// read as libpq reads it: `host:port:database:user:password` lines, `*`
/// matching anything, `\:` and `\\` escaped, the first match wins; a file
/// that others can read is ignored (with a warning), as libpq does.
fn pgpass_lookup(host: &str, port: u16, db: &str, user: &str) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pgpass")))?;
    let meta = std::fs::metadata(&path).ok()?;
    if meta.permissions().mode() & 0o077 != 0 {
        tracing::warn!("{}: ignored, others can read it; chmod 0600 it", path.display());
        return None;
    }
    let text = std::fs::read_to_string(&path).ok()?;
    let host = if host.starts_with('/') { "localhost" } else { host };
    let wanted = [host, &port.to_string(), db, user];
    text.lines().filter(|l| !l.trim_start().starts_with('#')).find_map(|line| {
        let fields = pgpass_fields(line);
        if fields.len() < 5 {
            return None;
        }
        let matches = fields[..4].iter().zip(wanted).all(|(f, w)| f == "*" || f == w);
        matches.then(|| fields[4..].join(":"))
    })
}

/// Splits a password-file line at unescaped colons.
fn pgpass_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    fields.last_mut().expect("never empty").push(next);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => fields.last_mut().expect("never empty").push(c),
        }
    }
    fields
}

type Job = Box<dyn FnOnce(&mut Client) + Send>;

/// One connection on a thread of its own. The `postgres` crate blocks on a
/// runtime of its own, which cannot run inside tokio; a session can be used
/// from anywhere. Dropping it runs its closing statement (if any), closes
/// the connection and waits for that.
pub(crate) struct Session {
    tx: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
    label: String,
}

impl Session {
    /// Connects on a new thread named `name`. With `reconnect`, a connection
    /// found closed is opened again before the next call (the reader, which
    /// may outlive a server restart); a lock's session never reconnects.
    /// `on_close` runs before the connection closes.
    pub(crate) fn start(
        target: &Target,
        name: &str,
        reconnect: bool,
        on_close: Option<&'static str>,
    ) -> Result<Session, LedgerError> {
        let (tx, rx) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = mpsc::sync_channel(1);
        let target = target.clone();
        let label = target.label().to_string();
        let thread = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                let mut client = match target.connect() {
                    Ok(c) => {
                        let _ = ready_tx.send(Ok(()));
                        c
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                for job in rx {
                    if reconnect
                        && client.is_closed()
                        && let Ok(c) = target.connect()
                    {
                        client = c;
                    }
                    job(&mut client);
                }
                if let Some(sql) = on_close {
                    let _ = client.batch_execute(sql);
                }
                let _ = client.close();
            })
            .map_err(|e| LedgerError::Server { target: label.clone(), msg: format!("cannot start a thread: {e}") })?;
        let ready = ready_rx.recv().unwrap_or_else(|_| {
            Err(LedgerError::Server { target: label.clone(), msg: "the connection thread stopped".into() })
        });
        let session = Session { tx: Some(tx), thread: Some(thread), label };
        ready.map(|()| session)
    }

    /// Runs `f` on the session's connection and waits for its result.
    pub(crate) fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T, PgErr> + Send + 'static,
    ) -> Result<T, LedgerError> {
        let (reply_tx, reply_rx) = mpsc::sync_channel(1);
        let label = self.label.clone();
        let job: Job = Box::new(move |client| {
            let _ = reply_tx.send(f(client).map_err(|e| e.into_ledger(&label)));
        });
        let gone = || LedgerError::Server { target: self.label.clone(), msg: "the connection thread stopped".into() };
        self.tx.as_ref().ok_or_else(gone)?.send(job).map_err(|_| gone())?;
        reply_rx.recv().map_err(|_| gone())?
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{pgpass_fields, redact};

    #[test]
    fn urls_lose_their_password() {
        assert_eq!(redact("postgres://u:secret@h:5432/db?options=x"), "postgres://u@h:5432/db");
        assert_eq!(redact("postgresql://h/db"), "postgresql://h/db");
        assert_eq!(redact("postgres://u:p@ss@h/db"), "postgres://u@h/db");
    }

    #[test]
    fn password_file_lines_split_like_libpq() {
        assert_eq!(pgpass_fields(r"h:5432:*:u:pa\:ss"), ["h", "5432", "*", "u", "pa:ss"]);
        assert_eq!(pgpass_fields("h:1:d:u:a:b"), ["h", "1", "d", "u", "a:b"]);
    }
}
