//! `pagecast tick DIR`: the cron entry point (SPEC §5).
//!
//! For each valid campaign with a schedule: take its lock (a locked campaign
//! is running; pass over it), decide with [`crate::schedule::plan_tick`],
//! record missed fires, and run the due occurrence. Due campaigns run side by
//! side, one thread each. The exit code is the largest among the campaigns.

use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};

use super::validate::campaign_files;
use super::{Exit, Failure, Outcome, RunRequest, conclude, execute, print_diagnostics};
use crate::campaign::{Campaign, validate_file};
use crate::cli::Format;
use crate::ledger::{CampaignLock, FireStatus, Ledger, LedgerError};
use crate::schedule::{TickInput, plan_tick};
use crate::vocab::Clock;

/// Runs the command.
pub fn run(dir: &Path, clock: Clock, state: Option<PathBuf>, report_dir: &Path) -> Outcome {
    let tick_now = clock.now();
    let files = campaign_files(&[dir.to_path_buf()]).map_err(Failure::invalid)?;
    let ledger = Ledger::open(&crate::cli::state_dir(state))?;
    let mut worst = Exit::Done;
    let mut due = Vec::new();
    for file in files {
        // One campaign's file, however broken, never stops the others.
        let validated = std::panic::catch_unwind(|| validate_file(&file, tick_now));
        let campaign = match validated {
            Ok(Ok(c)) => {
                print_diagnostics(&c.warnings);
                c
            }
            Ok(Err(d)) => {
                print_diagnostics(&d);
                eprintln!("{}: invalid campaign skipped; the others still run", file.display());
                worst = worst.max(Exit::Invalid);
                continue;
            }
            Err(_) => {
                eprintln!("{}: reading this campaign crashed (a pagecast bug); the others still run", file.display());
                worst = worst.max(Exit::Invalid);
                continue;
            }
        };
        match decide(&ledger, &campaign, tick_now) {
            Ok(Some((fire, lock))) => due.push((campaign, fire, lock)),
            Ok(None) => {}
            Err(e) => worst = worst.max(conclude(Err(e.into()))),
        }
    }
    let report_dir = report_dir.to_path_buf();
    let results: Vec<Exit> = std::thread::scope(|scope| {
        let handles: Vec<_> = due
            .into_iter()
            .map(|(campaign, fire, lock)| {
                let (ledger, report_dir) = (&ledger, &report_dir);
                scope.spawn(move || run_fire(ledger, campaign, fire, lock, clock, report_dir))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(Exit::Aborted)).collect()
    });
    Ok(results.into_iter().fold(worst, Exit::max))
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
    let troubled = ledger.troubled_fires(&campaign.id, 100)?;
    let first_tick = input.last_handled.is_none() && input.unfinished.is_none() && troubled.is_empty();
    // A fire whose run could not start and whose catch_up has passed is
    // given up: missed, keeping its reason.
    let stale: Vec<DateTime<Utc>> = troubled
        .iter()
        .filter(|f| f.status == FireStatus::Pending.as_str() && now - f.fire > schedule.catch_up)
        .map(|f| f.fire)
        .collect();
    if !stale.is_empty() {
        ledger.record_fires(&campaign.id, &stale, FireStatus::Missed, None, now)?;
        tracing::warn!(
            "{}: {} fire(s) that could not start are past catch_up: recorded missed",
            campaign.id,
            stale.len()
        );
    }
    let mut plan = plan_tick(schedule, &input);
    if first_tick && plan.run.is_none() {
        // A new campaign's first tick after its latest fire's catch_up: that
        // fire came before pagecast knew the campaign. It is recorded (so the
        // next tick knows where the schedule starts), quietly.
        if let Some(&fire) = plan.missed.last() {
            tracing::info!(
                "{}: first tick; the fire of {} came before it and is not sent",
                campaign.id,
                occurrence(fire)
            );
            ledger.record_fires(
                &campaign.id,
                &[fire],
                FireStatus::Missed,
                Some("before the campaign's first tick"),
                now,
            )?;
        }
        plan.missed.clear();
        plan.missed_more = 0;
    }
    if !plan.missed.is_empty() {
        ledger.record_fires(&campaign.id, &plan.missed, FireStatus::Missed, Some("past catch_up"), now)?;
        let total = plan.missed.len() as u64 + plan.missed_more;
        tracing::warn!(
            "{}: {total} fire(s) missed (past catch_up), recorded, not sent; latest {}",
            campaign.id,
            occurrence(*plan.missed.last().expect("not empty"))
        );
    }
    let Some(fire) = plan.run else { return Ok(None) };
    ledger.record_fires(&campaign.id, &[fire], FireStatus::Started, None, now)?;
    Ok(Some((fire, lock)))
}

/// The occurrence key of a fire: RFC 3339 UTC.
pub fn occurrence(fire: DateTime<Utc>) -> String {
    fire.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn run_fire(
    ledger: &Ledger,
    campaign: Campaign,
    fire: DateTime<Utc>,
    _lock: CampaignLock,
    clock: Clock,
    report_dir: &Path,
) -> Exit {
    let id = campaign.id.clone();
    tracing::info!("{id}: running occurrence {}", occurrence(fire));
    let request = RunRequest {
        occurrence: occurrence(fire),
        clock,
        report_dir: Some(report_dir.to_path_buf()),
        format: Format::Table,
        dry_run: false,
        resend_unknown: false,
        limit: None,
        only: None,
        out: None,
        pinned: None,
        max_plan_age: chrono::TimeDelta::MAX,
    };
    let outcome = execute(Some(ledger), &request, campaign);
    let recorded = match &outcome {
        // The run could not start: the fire is not handled; the next tick
        // within catch_up tries again, and past it the fire is missed with this reason.
        Err(failure) if failure.exit == Exit::Invalid => {
            let reason = failure.message.as_deref().unwrap_or("the campaign could not start (see the log)");
            ledger.record_fires(&id, &[fire], FireStatus::Pending, Some(reason), Utc::now())
        }
        // Settled (nobody left `not_attempted`): finished. Otherwise it stays
        // started, and the next tick within catch_up resumes it.
        Ok(_) => match ledger.open_count(&id, &request.occurrence) {
            Ok(0) => ledger.record_fires(&id, &[fire], FireStatus::Finished, None, Utc::now()),
            Ok(open) => {
                tracing::warn!(
                    "{id}: occurrence {} is not settled ({open} not attempted); the next tick within catch_up resumes it",
                    request.occurrence
                );
                Ok(())
            }
            Err(e) => Err(e),
        },
        Err(_) => Ok(()),
    };
    if let Err(e) = recorded {
        eprintln!("error: {e}");
    }
    conclude(outcome)
}
