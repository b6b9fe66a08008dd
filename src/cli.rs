//! Command-line definitions (clap derive) and nothing else.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand, ValueEnum};

/// Declarative campaign runner for Facebook Messenger.
#[derive(Debug, Parser)]
#[command(name = "pagecast", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Output for people or for machines, as the commands use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Text for people (validate).
    Text,
    /// A table for people (plan, run, next, status).
    Table,
    /// JSON on stdout, alone.
    Json,
}

/// `--format` of `validate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TextFormat {
    /// Diagnostics for people, on stderr.
    Text,
    /// One JSON document on stdout.
    Json,
}

/// `--format` of `plan`, `run`, `next` and `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TableFormat {
    /// A table for people.
    Table,
    /// One JSON document on stdout, alone.
    Json,
}

impl From<TextFormat> for Format {
    fn from(f: TextFormat) -> Format {
        match f {
            TextFormat::Text => Format::Text,
            TextFormat::Json => Format::Json,
        }
    }
}

impl From<TableFormat> for Format {
    fn from(f: TableFormat) -> Format {
        match f {
            TableFormat::Table => Format::Table,
            TableFormat::Json => Format::Json,
        }
    }
}

/// The subcommands (SPEC §1).
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check campaign files (or directories of *.yaml / *.yml) against the schema and Meta's rules.
    Validate {
        /// Files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Freeze the clock at this RFC 3339 instant.
        #[arg(long, value_parser = parse_now)]
        now: Option<DateTime<Utc>>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: TextFormat,
    },
    /// Print the campaign JSON Schema (with --template, the template file's).
    Schema {
        /// Print the utility template file's schema instead.
        #[arg(long)]
        template: bool,
    },
    /// Show who would be sent to, and why not (a dry run: nothing is sent or written).
    Plan {
        /// The campaign file.
        campaign: PathBuf,
        /// Flags shared with `run`.
        #[command(flatten)]
        common: RunArgs,
        /// Write report files here (only when given).
        #[arg(long)]
        report_dir: Option<PathBuf>,
        /// Also write the pinned plan here: the plan with the SHA-256 of every input, for `run --plan`.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Send a campaign now.
    Run {
        /// The campaign file.
        campaign: PathBuf,
        /// Plan only: nothing is sent and nothing is written to the ledger.
        #[arg(long)]
        dry_run: bool,
        /// Flags shared with `plan`.
        #[command(flatten)]
        common: RunArgs,
        /// Where reports go (default: PAGECAST_REPORT_DIR, else ./reports). A
        /// dry run, like `plan`, writes report files only when this is given.
        #[arg(long)]
        report_dir: Option<PathBuf>,
    },
    /// Run every due scheduled campaign in DIR (the cron entry point).
    Tick {
        /// Directory of campaign files.
        dir: PathBuf,
        /// Freeze the clock at this RFC 3339 instant.
        #[arg(long, value_parser = parse_now)]
        now: Option<DateTime<Utc>>,
        /// The ledger's directory, or a postgres://user@host:port/db URL (shared ledger).
        #[arg(long, env = "PAGECAST_STATE", hide_env_values = true)]
        state: Option<PathBuf>,
        /// Where reports go. Relative paths are relative to the working
        /// directory, which under cron is $HOME: give an absolute path there.
        #[arg(long, env = "PAGECAST_REPORT_DIR", default_value = "reports")]
        report_dir: PathBuf,
        /// Print what this tick would do per campaign (run, resume, record
        /// missed, pass over) and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// List a campaign's upcoming scheduled fires.
    Next {
        /// The campaign file.
        campaign: PathBuf,
        /// How many.
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=1000))]
        count: u16,
        /// Freeze the clock at this RFC 3339 instant.
        #[arg(long, value_parser = parse_now)]
        now: Option<DateTime<Utc>>,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: TableFormat,
    },
    /// Utility templates as code: compare with each page, or create the missing ones.
    #[command(subcommand)]
    Templates(TemplatesCommand),
    /// Show what the ledger holds: occurrences, fires, one recipient's outcomes.
    Status {
        /// Only this campaign (its id, or its file).
        campaign: Option<String>,
        /// This recipient's outcome in every occurrence of the campaign.
        #[arg(long, value_name = "ID")]
        recipient: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: TableFormat,
        /// The ledger's directory, or a postgres://user@host:port/db URL (shared ledger).
        #[arg(long, env = "PAGECAST_STATE", hide_env_values = true)]
        state: Option<PathBuf>,
    },
}

/// `pagecast templates plan|apply` (SPEC §7).
#[derive(Debug, Subcommand)]
pub enum TemplatesCommand {
    /// Compare template files with each page's templates: create, ok, differs, or the status.
    Plan(TemplatesArgs),
    /// Create the missing templates (never edits or deletes), then show each status.
    Apply(TemplatesArgs),
}

/// The arguments of `templates plan` and `templates apply`.
#[derive(Debug, clap::Args)]
pub struct TemplatesArgs {
    /// Template files, or directories of *.yaml / *.yml (campaign files among them are passed over).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Only this page.
    #[arg(long)]
    pub page: Option<String>,
}

/// Flags shared by `plan` and `run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Freeze the clock at this RFC 3339 instant.
    #[arg(long, value_parser = parse_now)]
    pub now: Option<DateTime<Utc>>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: TableFormat,
    /// The occurrence this run belongs to.
    #[arg(long, default_value = "default", value_parser = parse_occurrence)]
    pub occurrence: String,
    /// The ledger's directory, or a postgres://user@host:port/db URL (shared ledger).
    #[arg(long, env = "PAGECAST_STATE", hide_env_values = true)]
    pub state: Option<PathBuf>,
    /// Resend recipients whose earlier attempt never recorded a result (they may get the message twice).
    #[arg(long)]
    pub resend_unknown: bool,
    /// Send to at most N recipients (the first N of the plan): a test send before the launch.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Send only to these recipient ids (comma-separated; each must be in the audience).
    #[arg(long, value_name = "ID,ID...", value_delimiter = ',')]
    pub only: Option<Vec<String>>,
    /// Send exactly this pinned plan (from `plan --out`); refused if an input changed or it is too old.
    #[arg(long = "plan", value_name = "FILE")]
    pub pinned: Option<PathBuf>,
    /// The oldest pinned plan `--plan` accepts (30s, 10m, 2h, 7d).
    #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = parse_age)]
    pub max_plan_age: i64,
}

fn parse_age(text: &str) -> Result<i64, String> {
    crate::campaign::model::parse_duration(text).ok_or_else(|| "write a duration such as 30m, 24h or 7d".to_string())
}

/// The report directory of a real run: `--report-dir`, `PAGECAST_REPORT_DIR`, or `./reports`.
pub fn report_dir(explicit: Option<PathBuf>) -> PathBuf {
    explicit
        .or_else(|| std::env::var_os("PAGECAST_REPORT_DIR").filter(|v| !v.is_empty()).map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("reports"))
}

fn parse_now(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{e}; write RFC 3339, e.g. 2026-11-22T09:00:00Z"))
}

fn parse_occurrence(text: &str) -> Result<String, String> {
    let ok = !text.is_empty()
        && text.len() <= 128
        && text.as_bytes()[0].is_ascii_alphanumeric()
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"._:+-".contains(&b));
    if ok { Ok(text.to_string()) } else { Err("use letters, digits and . _ : + - (at most 128)".into()) }
}

/// The state directory: `--state`, `PAGECAST_STATE`, `$XDG_STATE_HOME/pagecast`
/// or `~/.local/state/pagecast`.
pub fn state_dir(explicit: Option<PathBuf>) -> PathBuf {
    if let Some(dir) = explicit {
        return dir;
    }
    if let Some(xdg) = std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(xdg).join("pagecast");
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
    home.join(".local/state/pagecast")
}
