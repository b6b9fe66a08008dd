//! `pagecast tick DIR`: the cron entry point (SPEC §5).
//!
//! For each valid campaign with a schedule: take its lock (a locked campaign
//! is running; pass over it), decide with [`crate::schedule::plan_tick`],
//! record missed fires, and run the due occurrence. Due campaigns run side by
//! side, one thread each. The exit code is the largest among the campaigns.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};

use super::validate::campaign_files;
use super::{Exit, Failure, Outcome, RunRequest, conclude, execute};
use crate::campaign::{Campaign, validate_file};
use crate::cli::Format;
use crate::ledger::{CampaignLock, FireStatus, Ledger, LedgerError};
use crate::schedule::{Schedule, TickInput, plan_tick};
use crate::vocab::Clock;

/// Runs the command; with `dry_run`, prints per campaign what this tick
/// would do and changes nothing (no ledger write, no report, no send).
pub fn run(dir: &Path, clock: Clock, state: Option<PathBuf>, report_dir: &Path, dry_run: bool) -> Outcome {
    let tick_now = clock.now();
    let files = campaign_files(&[dir.to_path_buf()]).map_err(Failure::invalid)?;
    if files.is_empty() {
        // Not invalid input: a directory may hold no campaign yet.
        tracing::warn!("{}: no campaign files (*.yaml, *.yml) here; nothing to do", dir.display());
        return Ok(Exit::Done);
    }
    let state_dir = crate::cli::state_dir(state);
    let ledger = if dry_run { Ledger::open_existing(&state_dir)? } else { Some(Ledger::open(&state_dir)?) };
    let mut warned = if dry_run { None } else { Some(Warned::load(&state_dir)) };
    let mut worst = Exit::Done;
    // Two files with one id would share a ledger key: run neither (SPEC §2).
    let duplicates = crate::campaign::validate::duplicate_id_errors(&files);
    log_diagnostics(&duplicates);
    let shared_ids: Vec<PathBuf> =
        crate::campaign::validate::files_of(&duplicates).into_iter().map(Path::to_path_buf).collect();
    if !shared_ids.is_empty() {
        worst = Exit::Invalid;
    }
    let mut due = Vec::new();
    // Utility template files (SPEC §7) may sit beside the campaigns.
    let campaigns = files.into_iter().filter(|f| !crate::template_file::is_template_path(f));
    for file in campaigns.filter(|f| !shared_ids.contains(f)) {
        // One campaign's file, however broken, never stops the others.
        let validated = std::panic::catch_unwind(|| validate_file(&file, tick_now));
        let campaign = match validated {
            Ok(Ok(c)) => {
                // Warnings of a file already warned about, unchanged, are not repeated on every tick.
                if warned.as_mut().is_none_or(|w| w.first_time(&file, &c.warnings)) {
                    log_diagnostics(&c.warnings);
                }
                c
            }
            Ok(Err(d)) => {
                log_diagnostics(&d);
                if dry_run {
                    println!("{}: would pass over: invalid campaign file (see above)", file.display());
                } else {
                    tracing::error!("{}: invalid campaign skipped; the others still run", file.display());
                }
                worst = worst.max(Exit::Invalid);
                continue;
            }
            Err(_) => {
                tracing::error!(
                    "{}: reading this campaign crashed (a pagecast bug); the others still run",
                    file.display()
                );
                worst = worst.max(Exit::Invalid);
                continue;
            }
        };
        let Some(schedule) = &campaign.schedule else {
            if dry_run {
                println!("{}: would pass over: no schedule (send it with `pagecast run`)", campaign.id);
            }
            continue;
        };
        let lock = match ledger.as_ref().map(|l| l.lock(&campaign.id)).transpose() {
            Ok(lock) => lock,
            Err(LedgerError::Locked { holder, .. }) => {
                if dry_run {
                    println!("{}: would pass over: locked (running in another pagecast{holder})", campaign.id);
                } else {
                    tracing::info!("{}: running in another pagecast{holder}; passed over", campaign.id);
                }
                continue;
            }
            Err(e) => {
                worst = worst.max(conclude(Err(e.into())));
                continue;
            }
        };
        let decision = match ledger.as_ref().map(|l| decide(l, &campaign.id, schedule, tick_now)).transpose() {
            Ok(d) => d.unwrap_or_else(|| first_decision(schedule, tick_now)),
            Err(e) => {
                worst = worst.max(conclude(Err(e.into())));
                continue;
            }
        };
        if dry_run {
            describe(&campaign.id, schedule, &decision, tick_now);
            continue;
        }
        let (Some(ledger), Some(lock)) = (&ledger, lock) else { continue };
        match record(ledger, &campaign.id, &decision, tick_now) {
            Ok(Some(fire)) => due.push((campaign, fire, lock)),
            Ok(None) => {}
            Err(e) => worst = worst.max(conclude(Err(e.into()))),
        }
    }
    if let Some(w) = warned {
        w.save();
    }
    let Some(ledger) = ledger.filter(|_| !dry_run) else { return Ok(worst) };
    // Under cron the working directory is $HOME: name the reports' place plainly.
    let report_dir = std::path::absolute(report_dir).unwrap_or_else(|_| report_dir.to_path_buf());
    if !due.is_empty() {
        tracing::info!("reports go to {}", report_dir.display());
    }
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

/// What one tick decided for one campaign; [`record`] carries it out, the
/// dry run only [`describe`]s it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Decision {
    /// Fires whose run could not start, past catch_up: to record missed.
    stale: Vec<DateTime<Utc>>,
    /// Fires past catch_up: to record missed (listed).
    missed: Vec<DateTime<Utc>>,
    /// How many more missed fires, not listed.
    missed_more: u64,
    /// The fire to run now.
    run: Option<DateTime<Utc>>,
    /// True when `run` is an unfinished occurrence resumed.
    resume: bool,
    /// On a campaign's first tick with nothing to run: the latest fire before
    /// it, recorded with [`BEFORE_FIRST_TICK`] (not a missed fire).
    before_first: Option<DateTime<Utc>>,
}

/// The reason of a fire that came before a campaign's first tick: recorded
/// so that the next tick is not a first one, never reported as missed.
pub const BEFORE_FIRST_TICK: &str = "before the campaign's first tick";

/// Decides from what the ledger holds; reads only.
fn decide(ledger: &Ledger, campaign: &str, schedule: &Schedule, now: DateTime<Utc>) -> Result<Decision, LedgerError> {
    let input = TickInput {
        last_handled: ledger.last_handled_fire(campaign)?,
        unfinished: ledger.unfinished_fire(campaign)?,
        now,
    };
    let troubled = ledger.troubled_fires(campaign, 100)?;
    let first_tick = input.last_handled.is_none() && input.unfinished.is_none() && troubled.is_empty();
    // A fire whose run could not start and whose catch_up has passed is
    // given up: missed, keeping its reason.
    let stale = troubled
        .iter()
        .filter(|f| f.status == FireStatus::Pending.as_str() && now - f.fire > schedule.catch_up)
        .map(|f| f.fire)
        .collect();
    Ok(decision(schedule, &input, first_tick, stale))
}

/// The decision for a campaign the ledger has never seen.
fn first_decision(schedule: &Schedule, now: DateTime<Utc>) -> Decision {
    decision(schedule, &TickInput { last_handled: None, unfinished: None, now }, true, Vec::new())
}

fn decision(schedule: &Schedule, input: &TickInput, first_tick: bool, stale: Vec<DateTime<Utc>>) -> Decision {
    let mut plan = plan_tick(schedule, input);
    let before_first = if first_tick && plan.run.is_none() { plan.missed.last().copied() } else { None };
    if first_tick && plan.run.is_none() {
        // A new campaign's first tick after its latest fire's catch_up: that
        // fire came before pagecast knew the campaign. It is recorded (so the
        // next tick knows where the schedule starts), quietly: see `before_first`.
        plan.missed.clear();
        plan.missed_more = 0;
    }
    let resume = plan.run.is_some() && plan.run == input.unfinished;
    Decision { stale, missed: plan.missed, missed_more: plan.missed_more, run: plan.run, resume, before_first }
}

/// Records what `decision` says; Some(fire) when a fire is due.
fn record(
    ledger: &Ledger,
    campaign: &str,
    decision: &Decision,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, LedgerError> {
    if !decision.stale.is_empty() {
        ledger.record_fires(campaign, &decision.stale, FireStatus::Missed, None, now)?;
        tracing::warn!(
            "{campaign}: {} that could not start {} past catch_up: recorded missed",
            plural(decision.stale.len() as u64, "fire"),
            if decision.stale.len() == 1 { "is" } else { "are" }
        );
    }
    if let Some(latest) = decision.missed.last() {
        ledger.record_fires(campaign, &decision.missed, FireStatus::Missed, Some("past catch_up"), now)?;
        let total = decision.missed.len() as u64 + decision.missed_more;
        tracing::warn!(
            "{campaign}: {} missed (past catch_up), recorded, not sent; latest {}",
            plural(total, "fire"),
            occurrence(*latest)
        );
    }
    if let Some(fire) = decision.before_first {
        tracing::info!("{campaign}: first tick; the fire of {} came before it and is not sent", occurrence(fire));
        ledger.record_fires(campaign, &[fire], FireStatus::Missed, Some(BEFORE_FIRST_TICK), now)?;
    }
    let Some(fire) = decision.run else { return Ok(None) };
    ledger.record_fires(campaign, &[fire], FireStatus::Started, None, now)?;
    Ok(Some(fire))
}

/// The dry run's lines for one campaign, on stdout.
fn describe(campaign: &str, schedule: &Schedule, decision: &Decision, now: DateTime<Utc>) {
    if !decision.stale.is_empty() {
        println!(
            "{campaign}: would record {} that could not start as missed (past catch_up)",
            plural(decision.stale.len() as u64, "fire")
        );
    }
    if let Some(latest) = decision.missed.last() {
        let total = decision.missed.len() as u64 + decision.missed_more;
        println!(
            "{campaign}: would record {} as missed (past catch_up); latest {}",
            plural(total, "fire"),
            occurrence(*latest)
        );
    }
    match decision.run {
        Some(fire) if decision.resume => {
            println!("{campaign}: would resume fire {} (started, not settled)", occurrence(fire))
        }
        Some(fire) => println!("{campaign}: would run fire {}", occurrence(fire)),
        None => {
            let next = schedule.fires_after(now, 1).first().map(|f| occurrence(f.utc));
            println!(
                "{campaign}: would pass over: not due (next fire {})",
                next.as_deref().unwrap_or("none within the search window")
            );
        }
    }
}

/// Diagnostics as log lines (under cron each gets a level and a timestamp).
fn log_diagnostics(diags: &[crate::campaign::Diagnostic]) {
    for d in diags {
        if d.is_error() {
            tracing::error!("{d}");
        } else {
            tracing::warn!("{d}");
        }
    }
}

/// `1 fire`, `3 fires`.
fn plural(n: u64, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

/// The (file, content) pairs whose warnings a tick has printed already:
/// `<state>/warned.json`, so that cron does not mail the same warnings every
/// few minutes. A changed file (or changed warnings) is warned about again.
struct Warned {
    path: Option<PathBuf>,
    seen: BTreeMap<String, String>,
    changed: bool,
}

impl Warned {
    fn load(state_dir: &Path) -> Warned {
        // A PostgreSQL URL in place of the state directory: nowhere to keep it; warn every time.
        let path = (!state_dir.to_string_lossy().contains("://")).then(|| state_dir.join("warned.json"));
        let seen = path
            .as_deref()
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|bytes| serde_json::from_slice::<BTreeMap<String, String>>(&bytes).ok())
            .unwrap_or_default();
        Warned { path, seen, changed: false }
    }

    /// True when these warnings of this file were not printed by an earlier tick.
    fn first_time(&mut self, file: &Path, warnings: &[crate::campaign::Diagnostic]) -> bool {
        if warnings.is_empty() || self.path.is_none() {
            return !warnings.is_empty();
        }
        let key = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf()).to_string_lossy().into_owned();
        let mut content = std::fs::read(file).unwrap_or_default();
        for w in warnings {
            content.extend_from_slice(w.to_string().as_bytes());
        }
        let hash = format!("{:016x}", fnv1a(&content));
        if self.seen.get(&key) == Some(&hash) {
            tracing::debug!("{key}: warnings printed by an earlier tick; unchanged");
            return false;
        }
        self.seen.insert(key, hash);
        self.changed = true;
        true
    }

    /// Writes the record atomically (0600); a failure only means the warnings show again.
    fn save(self) {
        let Some(path) = self.path.filter(|_| self.changed) else { return };
        let Ok(text) = serde_json::to_vec_pretty(&self.seen) else { return };
        let tmp = path.with_extension(format!("json.tmp{}", std::process::id()));
        let written = (|| {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut f = options.open(&tmp)?;
            std::io::Write::write_all(&mut f, &text)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            tracing::debug!("{}: cannot record the warnings printed ({e}); they will show again", path.display());
        }
    }
}

/// FNV-1a, 64 bits: a content fingerprint stable across builds.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
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
            ledger.record_fires(&id, &[fire], FireStatus::Pending, Some(reason), clock.wall())
        }
        // Settled (nobody left `not_attempted`): finished. Otherwise it stays
        // started, and the next tick within catch_up resumes it.
        Ok(_) => match ledger.open_count(&id, &request.occurrence) {
            Ok(0) => ledger.record_fires(&id, &[fire], FireStatus::Finished, None, clock.wall()),
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
