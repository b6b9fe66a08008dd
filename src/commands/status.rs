//! `pagecast status [CAMPAIGN]`: occurrences and their counts from the ledger.

use std::path::PathBuf;

use super::Exit;
use crate::ledger::Ledger;
use crate::plan::rfc3339;

/// Runs the command.
pub fn run(campaign: Option<&str>, state: Option<PathBuf>) -> Exit {
    let dir = crate::cli::state_dir(state);
    let ledger = match Ledger::open_existing(&dir) {
        Ok(Some(l)) => l,
        Ok(None) => {
            println!("no ledger in {} yet: nothing has run", dir.display());
            return Exit::Done;
        }
        Err(e) => return super::run::ledger_failure(&e),
    };
    let rows = match ledger.status(campaign) {
        Ok(r) => r,
        Err(e) => return super::run::ledger_failure(&e),
    };
    println!(
        "{:<24} {:<22} {:>4} {:<21} {:>4} {:>8} {:>7} {:>7} {:>7} {:>8}",
        "campaign", "occurrence", "runs", "last started", "exit", "sent", "skipped", "failed", "unknown", "not att."
    );
    for r in &rows {
        let c = &r.counts;
        println!(
            "{:<24} {:<22} {:>4} {:<21} {:>4} {:>8} {:>7} {:>7} {:>7} {:>8}",
            r.campaign,
            r.occurrence,
            r.runs,
            rfc3339(r.last_started_at),
            r.last_exit_code.map_or("-".into(), |c| c.to_string()),
            c.sent,
            c.skipped,
            c.failed,
            c.unknown,
            c.not_attempted
        );
    }
    if let Some(id) = campaign
        && let Ok(missed) = ledger.missed_count(id)
    {
        println!("{id}: {missed} scheduled fire(s) missed");
    }
    Exit::Done
}
