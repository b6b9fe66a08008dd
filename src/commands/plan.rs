//! `pagecast plan` (= `run --dry-run`): the plan document, nothing sent or written.

use std::fmt::Write as _;
use std::path::Path;

use chrono::Utc;

use super::Exit;
use super::run::{prepare, validated};
use crate::cli::{Format, RunArgs};
use crate::ledger::Ledger;
use crate::plan::{self, PlanOptions};
use crate::report::{OutcomeRow, Report};

/// How many soonest-closing windows the table lists.
const SOONEST: usize = 10;

/// Runs the command. Report files are written only when `report_dir` is given.
pub fn run(path: &Path, args: &RunArgs, report_dir: Option<&Path>) -> Exit {
    let now = args.now.unwrap_or_else(Utc::now);
    let started = Utc::now();
    let prepared = match validated(path, now).and_then(|c| prepare(c, now, false)) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let (campaign, audiences) = (&prepared.campaign, &prepared.audiences);
    // The ledger is only read, and only if it exists: a plan writes nothing.
    let state = crate::cli::state_dir(args.state.clone());
    let prior = match Ledger::open_existing(&state) {
        Ok(Some(l)) => match l.prior(&campaign.id, &args.occurrence) {
            Ok(p) => p,
            Err(e) => return super::run::ledger_failure(&e),
        },
        Ok(None) => Default::default(),
        Err(e) => return super::run::ledger_failure(&e),
    };
    let plan = plan::plan(campaign, audiences, plan::prior_lookup(prior), now, PlanOptions::default());
    if args.format != Format::Json && report_dir.is_none() {
        let report = plan.summary_report(campaign, &args.occurrence, started);
        print!("{}", table(&report, &plan.soonest(campaign, audiences, SOONEST)));
        return Exit::Done;
    }
    let report = plan.report(campaign, audiences, &args.occurrence, started);
    match args.format {
        Format::Json => println!("{}", crate::report::json::render(&report)),
        _ => print!("{}", table(&report, &plan.soonest(campaign, audiences, SOONEST))),
    }
    if let Some(dir) = report_dir {
        match crate::report::write::write_report(dir, &report, started) {
            Ok(d) => eprintln!("report: {}", d.display()),
            Err(e) => eprintln!("error: {e}"),
        }
    }
    Exit::Done
}

/// The report as a table for people: totals, per page, reasons, codes.
pub fn table(report: &Report, soonest: &[OutcomeRow]) -> String {
    let mut out = String::new();
    let kind = if report.dry_run { "plan" } else { "run" };
    let _ = writeln!(out, "{kind} of {} (occurrence {})", report.campaign, report.occurrence);
    let counts = |s: &crate::report::Summary| {
        let mut parts = vec![format!("{} recipients", s.recipients)];
        for (name, n) in [
            ("planned", s.planned),
            ("sent", s.sent),
            ("skipped", s.skipped),
            ("failed", s.failed),
            ("unknown", s.unknown),
            ("not attempted", s.not_attempted),
        ] {
            if n > 0 {
                parts.push(format!("{n} {name}"));
            }
        }
        parts.join(", ")
    };
    for (page, s) in &report.pages {
        let _ = writeln!(out, "  page {page:<20} {}", counts(s));
    }
    let _ = writeln!(out, "  total{:<21}{}", "", counts(&report.summary));
    if !report.skipped_by_reason.is_empty() {
        let _ = writeln!(out, "skipped by reason:");
        for (reason, n) in &report.skipped_by_reason {
            let _ = writeln!(out, "  {reason:<22}{n:>8}");
        }
    }
    if !report.failed_by_code.is_empty() {
        let _ = writeln!(out, "failed by code:");
        for (code, n) in &report.failed_by_code {
            let _ = writeln!(out, "  {code:<22}{n:>8}");
        }
    }
    if !soonest.is_empty() {
        let _ = writeln!(out, "windows closing soonest:");
        for r in soonest {
            let _ = writeln!(out, "  {}  {:<20} {}", r.window_closes_at.as_deref().unwrap_or(""), r.recipient, r.page);
        }
    }
    out
}
