//! `pagecast run` (and `plan`, and each fire of `tick`): one occurrence of one
//! campaign, as visible stages over one [`RunRequest`]:
//!
//! ```text
//! prepare (prepare.rs) ─▶ plan (plan_stage) ─┬─ dry run: report the plan, stop
//!                                            └─ send (send.rs) ─▶ settle + report (settle.rs)
//! ```
//!
//! The dry run is the same request stopped after the plan, so every flag of
//! the run (`--resend-unknown`, `--limit`, `--only`) shapes both alike.

mod pinned;
mod prepare;
mod send;
mod settle;

use std::path::{Path, PathBuf};

pub use prepare::{Prepared, prepare, validated};

use super::{Exit, Failure, Outcome};
use crate::audience::merge::Audiences;
use crate::campaign::Campaign;
use crate::cli::{Format, RunArgs};
use crate::ledger::Ledger;
use crate::plan::{self, Plan, PlanOptions};
use crate::vocab::{Clock, Pending};

/// One run of one occurrence, as the command line (or a tick) asked for it.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// The occurrence key.
    pub occurrence: String,
    /// `--now`, or the system clock.
    pub clock: Clock,
    /// Where reports go; a dry run writes them only when given.
    pub report_dir: Option<PathBuf>,
    /// Table or JSON on stdout.
    pub format: Format,
    /// Stop after the plan: nothing is sent or written.
    pub dry_run: bool,
    /// `--resend-unknown`.
    pub resend_unknown: bool,
    /// `--limit N`.
    pub limit: Option<usize>,
    /// `--only ID,…`.
    pub only: Option<Vec<String>>,
    /// `plan --out FILE`: write the pinned plan.
    pub out: Option<PathBuf>,
    /// `run --plan FILE`: send exactly this pinned plan.
    pub pinned: Option<PathBuf>,
    /// `--max-plan-age`.
    pub max_plan_age: chrono::TimeDelta,
}

impl RunRequest {
    /// The request of `plan` / `run` from their flags.
    pub fn from_args(args: &RunArgs, report_dir: Option<PathBuf>, dry_run: bool) -> RunRequest {
        RunRequest {
            occurrence: args.occurrence.clone(),
            clock: Clock::new(args.now),
            report_dir,
            format: args.format.into(),
            dry_run,
            resend_unknown: args.resend_unknown,
            limit: args.limit,
            only: args.only.clone(),
            out: None,
            pinned: args.pinned.clone(),
            max_plan_age: chrono::TimeDelta::try_seconds(args.max_plan_age).unwrap_or(chrono::TimeDelta::MAX),
        }
    }
}

/// `pagecast run CAMPAIGN`.
pub fn command(path: &Path, args: &RunArgs, report_dir: PathBuf) -> Outcome {
    let request = RunRequest::from_args(args, Some(report_dir), false);
    let ledger = Ledger::open(&crate::cli::state_dir(args.state.clone()))?;
    let campaign = validated(path, request.clock.now())?;
    // The lock comes before the audiences and the ledger are read: the plan
    // must read a ledger no one else is writing.
    let _lock = ledger.lock(&campaign.id)?;
    execute(Some(&ledger), &request, campaign)
}

/// Runs one occurrence of a validated campaign whose lock the caller holds
/// (or, for a dry run, that only reads `ledger`).
pub fn execute(ledger: Option<&Ledger>, req: &RunRequest, campaign: Campaign) -> Outcome {
    let started = req.clock.wall();
    // ── prepare ─────────────────────────────────────────────────────────
    let prepared = prepare(campaign, req.clock.now(), !req.dry_run)?;
    // ── the utility template's status on each page (SPEC §7) ────────────
    let blocked = crate::commands::templates::blocked_pages(&prepared.campaign, &prepared.tokens, &prepared.client)?;
    let Some(blocked) = blocked else { return Ok(Exit::Aborted) };
    let pinned = match &req.pinned {
        Some(path) => {
            let pinned = pinned::read(path, &prepared.campaign, &req.occurrence)?;
            pinned::check(&pinned, req.clock.now(), req.max_plan_age, &pinned::inputs(&prepared)?)?;
            Some(pinned)
        }
        None => None,
    };
    // ── plan ────────────────────────────────────────────────────────────
    let mut plan = plan_stage(ledger, req, &prepared, &blocked)?;
    if let Some(pinned) = &pinned {
        let (campaign, audiences) = (&prepared.campaign, &prepared.audiences);
        plan.only(audiences, |job| {
            let key = (campaign.pages[job.page as usize].id.clone(), audiences.recipient_id(job.person).to_string());
            pinned.planned.contains(&key)
        });
    }
    if req.dry_run {
        return settle::report_plan(req, &prepared, &plan, started);
    }
    let ledger = ledger.ok_or_else(|| Failure::invalid("a run needs a ledger (a pagecast bug)"))?;
    // ── send ────────────────────────────────────────────────────────────
    let sent = send::send_stage(ledger, req, &prepared, &plan, started)?;
    // ── settle and report ───────────────────────────────────────────────
    Ok(settle::settle(ledger, req, &prepared, &plan, sent))
}

/// Decides every recipient against what the ledger holds, then applies
/// `--limit` and `--only`.
fn plan_stage(
    ledger: Option<&Ledger>,
    req: &RunRequest,
    prepared: &Prepared,
    blocked: &std::collections::HashMap<String, String>,
) -> Result<Plan, Failure> {
    let (campaign, audiences) = (&*prepared.campaign, &*prepared.audiences);
    let prior = match ledger {
        Some(l) => l.prior(&campaign.id, &req.occurrence)?,
        None => Default::default(),
    };
    let options = PlanOptions { resend_unknown: req.resend_unknown };
    let mut plan =
        plan::plan(campaign, audiences, plan::prior_lookup(prior, campaign, audiences), req.clock.now(), options);
    crate::template_file::status::block_pages(&mut plan, campaign, audiences, blocked);
    if let Some(ids) = &req.only {
        let wanted: std::collections::HashSet<&str> = ids.iter().map(|id| id.trim()).collect();
        let found: std::collections::HashSet<&str> = wanted
            .iter()
            .copied()
            .filter(|id| (0..campaign.pages.len() as u32).any(|page| audiences.find_person(page, id).is_some()))
            .collect();
        let mut missing: Vec<&str> = wanted.difference(&found).copied().collect();
        missing.sort_unstable();
        if !missing.is_empty() {
            return Err(Failure::invalid(format!(
                "--only names recipients that are in no audience of {}: {}\n  help: pass ids from the campaign's audiences",
                campaign.id,
                missing.join(", ")
            )));
        }
        plan.only(audiences, |job| wanted.iter().any(|id| audiences.recipient_id(job.person) == **id));
    }
    if let Some(n) = req.limit {
        plan.limit(audiences, n);
    }
    if let Some(ledger) = ledger {
        hold_over_daily_limits(ledger, req, campaign, audiences, &mut plan)?;
    }
    Ok(plan)
}

/// Holds back each page's planned recipients past its `daily_limit` (the
/// messages it sent in the last 24 hours, all campaigns of this ledger,
/// counted against it): they end `not_attempted` (`daily_limit`) and go out
/// in a later run. A dry run shows the same, and says so.
fn hold_over_daily_limits(
    ledger: &Ledger,
    req: &RunRequest,
    campaign: &Campaign,
    audiences: &Audiences,
    plan: &mut Plan,
) -> Result<(), Failure> {
    let since = req.clock.now() - chrono::TimeDelta::hours(24);
    let mut room = Vec::with_capacity(campaign.pages.len());
    for page in &campaign.pages {
        room.push(match page.daily_limit {
            Some(limit) => Some(u64::from(limit).saturating_sub(ledger.page_sends_since(&page.id, since)?)),
            None => None,
        });
    }
    if room.iter().all(Option::is_none) {
        return Ok(());
    }
    let mut planned = vec![0u64; campaign.pages.len()];
    let before = plan.send_count();
    plan.hold_where(audiences, Pending::DailyLimit, |_, job| {
        let p = job.page as usize;
        planned[p] += 1;
        room[p].is_some_and(|room| planned[p] > room)
    });
    let held = before - plan.send_count();
    if held > 0 {
        tracing::warn!(
            "{}: {held} recipient(s) held back by a page's daily_limit (messages in any 24 hours, all campaigns); a later run sends to them",
            campaign.id
        );
    }
    Ok(())
}

/// The exit of a finished run (SPEC §1), from what happened to its recipients.
pub fn run_exit(interrupted: bool, pages_stopped: bool, open: usize) -> Exit {
    if interrupted {
        Exit::Interrupted
    } else if pages_stopped {
        Exit::Aborted
    } else if open > 0 {
        Exit::SomeFailed
    } else {
        Exit::Done
    }
}
