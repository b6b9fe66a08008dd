//! `pagecast plan` (= `run --dry-run`): the plan, nothing sent or written.

use std::path::{Path, PathBuf};

use super::Outcome;
use super::run::{RunRequest, execute, validated};
use crate::cli::RunArgs;
use crate::ledger::Ledger;

/// Runs the command. Report files are written only when `report_dir` is given.
pub fn run(path: &Path, args: &RunArgs, report_dir: Option<PathBuf>, out: Option<PathBuf>) -> Outcome {
    let request = RunRequest { out, ..RunRequest::from_args(args, report_dir, true) };
    let campaign = validated(path, request.clock.now())?;
    // The ledger is only read, and only if it exists: a plan writes nothing.
    let ledger = Ledger::open_existing(&crate::cli::state_dir(args.state.clone()))?;
    execute(ledger.as_ref(), &request, campaign)
}
