//! The commands behind the CLI, and the one place that maps their results
//! to exit codes (SPEC §1): a command returns `Ok(Exit)` when it did its work
//! (the exit then says how it went: 0, 1, 3, 130) or `Err(Failure)` when it
//! could not (2, 4), and [`dispatch`] prints the failure once.

mod next;
pub mod output;
mod plan;
mod progress;
pub mod run;
mod status;
mod tick;
mod validate;

use std::io::IsTerminal;

use crate::cli::{Cli, Command};
use crate::vocab::Clock;

pub use run::{RunRequest, execute};

/// pagecast's exit codes (SPEC §1, normative).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// Everyone was sent or skipped by policy.
    Done = 0,
    /// Some recipients failed permanently or ended unknown.
    SomeFailed = 1,
    /// Invalid input or usage: nothing was sent.
    Invalid = 2,
    /// A fatal API error stopped a page.
    Aborted = 3,
    /// Another pagecast holds the campaign's lock.
    Locked = 4,
    /// Ctrl-C: requests in flight finished and were recorded; the rest were not attempted.
    Interrupted = 130,
}

impl Exit {
    /// The process exit code.
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// Why a command could not do its work. Its message is printed once, by
/// [`dispatch`]; `None` when the details were printed already (a list of
/// diagnostics).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// [`Exit::Invalid`] or [`Exit::Locked`].
    pub exit: Exit,
    /// What to print, naming the file and the fix.
    pub message: Option<String>,
    /// The file at fault, printed first (`FILE: error: …`).
    pub file: Option<String>,
}

impl Failure {
    /// Invalid input or usage (exit 2): nothing was sent.
    pub fn invalid(message: impl Into<String>) -> Failure {
        Failure { exit: Exit::Invalid, message: Some(message.into()), file: None }
    }

    /// Invalid input in `file` (exit 2).
    pub fn at(file: &std::path::Path, message: impl Into<String>) -> Failure {
        Failure { file: Some(file.display().to_string()), ..Failure::invalid(message) }
    }

    /// Invalid input whose details were printed already.
    pub fn printed() -> Failure {
        Failure { exit: Exit::Invalid, message: None, file: None }
    }

    /// Another pagecast holds the campaign (exit 4).
    pub fn locked(message: impl Into<String>) -> Failure {
        Failure { exit: Exit::Locked, message: Some(message.into()), file: None }
    }

    /// The one line (or block) printed for this failure.
    pub fn text(&self) -> Option<String> {
        let message = self.message.as_deref()?;
        Some(match &self.file {
            Some(file) => format!("{file}: error: {message}"),
            None => format!("error: {message}"),
        })
    }
}

impl From<crate::ledger::LedgerError> for Failure {
    fn from(e: crate::ledger::LedgerError) -> Failure {
        match e {
            crate::ledger::LedgerError::Locked { .. } => Failure::locked(e.to_string()),
            _ => Failure::invalid(e.to_string()),
        }
    }
}

/// What a command returns.
pub type Outcome = Result<Exit, Failure>;

/// The one mapping from a command's result to the process exit code.
pub fn conclude(result: Outcome) -> Exit {
    match result {
        Ok(exit) => exit,
        Err(failure) => {
            if let Some(text) = failure.text() {
                eprintln!("{text}");
            }
            if failure.exit == Exit::Invalid {
                eprintln!("nothing was sent");
            }
            failure.exit
        }
    }
}

/// Plain log lines on stderr (`PAGECAST_LOG` or `RUST_LOG` sets the filter).
pub fn init_logging() {
    let filter = std::env::var("PAGECAST_LOG").or_else(|_| std::env::var("RUST_LOG")).unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}

/// Runs one command and returns its exit code.
pub fn dispatch(cli: Cli) -> Exit {
    conclude(match cli.command {
        Command::Validate { paths, now, format } => validate::run(&paths, Clock::new(now).now(), format.into()),
        Command::Schema => {
            output::print(&crate::campaign::schema::schema_text());
            Ok(Exit::Done)
        }
        Command::Plan { campaign, common, report_dir, out } => plan::run(&campaign, &common, report_dir, out),
        Command::Run { campaign, dry_run, common, report_dir } => {
            if dry_run {
                plan::run(&campaign, &common, report_dir, None)
            } else {
                run::command(&campaign, &common, crate::cli::report_dir(report_dir))
            }
        }
        Command::Tick { dir, now, state, report_dir } => tick::run(&dir, Clock::new(now), state, &report_dir),
        Command::Next { campaign, count, now, format } => {
            next::run(&campaign, count.into(), Clock::new(now).now(), format.into())
        }
        Command::Status { campaign, recipient, format, state } => {
            status::run(status::StatusRequest { campaign, recipient, format: format.into(), state })
        }
    })
}

/// Prints a diagnostic list to stderr.
fn print_diagnostics(diags: &[crate::campaign::Diagnostic]) {
    for d in diags {
        eprintln!("{d}");
    }
}

/// A multi-threaded runtime sized for this work (I/O bound, 2 workers).
fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::invalid(format!("cannot start the async runtime: {e}")))
}
