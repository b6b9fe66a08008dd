//! The report as a table for people: totals, per page, reasons, codes,
//! pauses and stopped pages. `plan` and `run` print it on stdout.

use std::fmt::Write as _;

use super::{OutcomeRow, Report, Summary};

/// The report as a table for people: totals, per page, reasons, codes.
pub fn render(report: &Report, soonest: &[OutcomeRow]) -> String {
    let mut out = String::new();
    let kind = if report.dry_run { "plan" } else { "run" };
    let _ = writeln!(out, "{kind} of {} (occurrence {})", report.campaign, report.occurrence);
    let counts = |s: &Summary| {
        let mut parts = vec![format!("{} recipient{}", s.recipients, if s.recipients == 1 { "" } else { "s" })];
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
    if !report.not_attempted_by_reason.is_empty() {
        let _ = writeln!(out, "not attempted by reason (a later run sends to them):");
        for (reason, n) in &report.not_attempted_by_reason {
            let _ = writeln!(out, "  {reason:<22}{n:>8}");
        }
    }
    if !report.failed_by_code.is_empty() {
        let _ = writeln!(out, "failed by code:");
        for (code, n) in &report.failed_by_code {
            let _ = writeln!(out, "  {code:<22}{n:>8}");
        }
    }
    if let Some(c) = &report.canary {
        let _ = writeln!(out, "{}", c.describe());
    }
    for p in &report.stopped_pages {
        let _ = writeln!(out, "page {} stopped ({}): {}", p.page, p.reason, p.detail);
    }
    if !report.pauses.is_empty() {
        let _ = writeln!(out, "throttling pauses:");
        for p in &report.pauses {
            let code = p.code.map_or_else(|| "-".to_string(), |c| c.to_string());
            let _ = writeln!(out, "  page {:<20} {} .. {}  code {code}", p.page, p.from, p.until);
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
