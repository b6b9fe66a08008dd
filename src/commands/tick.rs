//! `pagecast tick DIR`: the cron entry point (SPEC §5).
//!
//! For each valid campaign with a schedule: take its lock (a locked campaign
//! is running; pass over it), decide with [`crate::schedule::plan_tick`],
//! record missed fires, and run the due occurrence. Due campaigns run side by
//! side, one thread each. The exit code is the largest among the campaigns.

use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};

use super::validate::campaign_files;
use super::{Exit, RunRequest, execute_locked, print_diagnostics};
use crate::campaign::{Campaign, validate_file};
use crate::cli::Format;
use crate::ledger::{CampaignLock, FireStatus, Ledger, LedgerError};
use crate::schedule::{TickInput, plan_tick};

/// Runs the command.
pub fn run(dir: &Path, now: Option<DateTime<Utc>>, state: Option<PathBuf>, report_dir: &Path) -> Exit {
    let tick_now = now.unwrap_or_else(Utc::now);
    let files = match campaign_files(&[dir.to_path_buf()]) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Invalid;
        }
    };
    let ledger = match Ledger::open(&crate::cli::state_dir(state)) {
        Ok(l) => l,
        Err(e) => return super::run::ledger_failure(&e),
    };
    let mut worst = Exit::Done;
    let mut due = Vec::new();
    // Utility template files (SPEC §7) may sit beside the campaigns.
    for file in files.into_iter().filter(|f| !crate::template_file::is_template_path(f)) {
        let campaign = match validate_file(&file, tick_now) {
            Ok(c) => {
                print_diagnostics(&c.warnings);
                c
            }
            Err(d) => {
                print_diagnostics(&d);
                eprintln!("{}: invalid campaign skipped; the others still run", file.display());
                worst = worst.max(Exit::Invalid);
                continue;
            }
        };
        match decide(&ledger, &campaign, tick_now) {
            Ok(Some((fire, lock))) => due.push((file, campaign, fire, lock)),
            Ok(None) => {}
            Err(e) => worst = worst.max(super::run::ledger_failure(&e)),
        }
    }
    let report_dir = report_dir.to_path_buf();
    let results: Vec<Exit> = std::thread::scope(|scope| {
        let handles: Vec<_> = due
            .into_iter()
            .map(|(file, campaign, fire, lock)| {
                let (ledger, report_dir) = (&ledger, &report_dir);
                scope.spawn(move || run_fire(ledger, file, campaign, fire, lock, now, report_dir))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(Exit::Aborted)).collect()
    });
    results.into_iter().fold(worst, Exit::max)
}

/// Takes the lock and records missed fires; Some when a fire is due (the
/// lock is then handed to its run).
fn decide(
    ledger: &Ledger,
    campaign: &Campaign,
    now: DateTime<Utc>,
) -> Result<Option<(DateTime<Utc>, CampaignLock)>, LedgerError> {
    let Some(schedule) = &campaign.schedule else { return Ok(None) };
    let lock = match ledger.lock(&campaign.id) {
        Ok(l) => l,
        Err(LedgerError::Locked { .. }) => {
            tracing::info!("{}: running in another pagecast; passed over", campaign.id);
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    let input = TickInput {
        last_handled: ledger.last_handled_fire(&campaign.id)?,
        unfinished: ledger.unfinished_fire(&campaign.id)?,
        now,
    };
    let plan = plan_tick(schedule, &input);
    if !plan.missed.is_empty() {
        ledger.record_fires(&campaign.id, &plan.missed, FireStatus::Missed, now)?;
        let total = plan.missed.len() as u64 + plan.missed_more;
        tracing::warn!(
            "{}: {total} fire(s) missed (past catch_up), recorded, not sent; latest {}",
            campaign.id,
            occurrence(*plan.missed.last().expect("not empty"))
        );
    }
    let Some(fire) = plan.run else { return Ok(None) };
    ledger.record_fires(&campaign.id, &[fire], FireStatus::Started, now)?;
    Ok(Some((fire, lock)))
}

/// The occurrence key of a fire: RFC 3339 UTC.
pub fn occurrence(fire: DateTime<Utc>) -> String {
    fire.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn run_fire(
    ledger: &Ledger,
    path: PathBuf,
    campaign: Campaign,
    fire: DateTime<Utc>,
    _lock: CampaignLock,
    now: Option<DateTime<Utc>>,
    report_dir: &Path,
) -> Exit {
    let id = campaign.id.clone();
    tracing::info!("{id}: running occurrence {}", occurrence(fire));
    let request = RunRequest {
        path,
        now,
        occurrence: occurrence(fire),
        report_dir: report_dir.to_path_buf(),
        resend_unknown: false,
        format: Format::Table,
    };
    let exit = execute_locked(ledger, &request, campaign);
    // An interrupted run stays "started": the next tick resumes it within catch_up.
    if exit != Exit::Interrupted
        && let Err(e) = ledger.record_fires(&id, &[fire], FireStatus::Finished, Utc::now())
    {
        eprintln!("error: {e}");
    }
    exit
}
