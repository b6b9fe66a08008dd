//! The commands behind the CLI, and the one place that maps outcomes to exit
//! codes (SPEC §1).

mod next;
mod plan;
mod progress;
mod run;
mod status;
pub mod templates;
mod tick;
mod validate;

use std::io::IsTerminal;

use chrono::{DateTime, Utc};

use crate::cli::{Cli, Command};

pub use run::{RunRequest, execute, execute_locked};

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

/// Runs one command.
pub fn dispatch(cli: Cli) -> Exit {
    match cli.command {
        Command::Validate { paths, now, format } => validate::run(&paths, clock(now), format),
        Command::Schema { template: false } => {
            print!("{}", crate::campaign::schema::schema_text());
            Exit::Done
        }
        Command::Schema { template: true } => {
            print!("{}", crate::template_file::schema::schema_text());
            Exit::Done
        }
        Command::Templates(action) => templates::run(action),
        Command::Plan { campaign, common, report_dir } => plan::run(&campaign, &common, report_dir.as_deref()),
        Command::Run { campaign, dry_run, common, report_dir, resend_unknown } => {
            if dry_run {
                return plan::run(&campaign, &common, report_dir.as_deref());
            }
            run::command(&campaign, &common, &crate::cli::report_dir(report_dir), resend_unknown)
        }
        Command::Tick { dir, now, state, report_dir } => tick::run(&dir, now, state, &report_dir),
        Command::Next { campaign, count, now, format } => next::run(&campaign, count.into(), clock(now), format),
        Command::Status { campaign, state } => status::run(campaign.as_deref(), state),
    }
}

fn clock(now: Option<DateTime<Utc>>) -> DateTime<Utc> {
    now.unwrap_or_else(Utc::now)
}

/// Prints a diagnostic list to stderr.
fn print_diagnostics(diags: &[crate::campaign::Diagnostic]) {
    for d in diags {
        eprintln!("{d}");
    }
}

/// A multi-threaded runtime sized for this work (I/O bound, 2 workers).
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a tokio runtime starts")
}
