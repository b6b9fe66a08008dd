//! `pagecast run`: lock, plan against the ledger, send, record, report.
//!
//! [`prepare`] is shared with `plan` (validation, tokens, conversations,
//! audiences); [`execute`] is shared with `tick`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{Exit, print_diagnostics, progress, runtime};
use crate::audience::merge::{self, Audiences};
use crate::audience::{Recipient, conversations};
use crate::campaign::{AudienceSource, Campaign, validate_file};
use crate::cli::{Format, RunArgs};
use crate::ledger::journal::LedgerJournal;
use crate::ledger::{Ledger, LedgerError};
use crate::plan::{self, PlanOptions, Verdict, rfc3339};
use crate::report::{Outcome, OutcomeRow, Report, write::write_report};
use crate::send::client::{Client, Endpoints, Redactor};
use crate::send::pipeline::{self, Clock, Context, SendResult, SendSummary};

/// A campaign ready to plan: validated, tokens read, audiences merged.
pub struct Prepared {
    /// The campaign.
    pub campaign: Arc<Campaign>,
    /// Its recipients.
    pub audiences: Arc<Audiences>,
    /// Tokens per page (empty when not set and not needed).
    pub tokens: Vec<String>,
    /// The HTTP client.
    pub client: Client,
}

/// Validates a campaign file, printing its warnings, or its errors (Err is the exit).
pub fn validated(path: &Path, now: DateTime<Utc>) -> Result<Campaign, Exit> {
    match validate_file(path, now) {
        Ok(c) => {
            print_diagnostics(&c.warnings);
            Ok(c)
        }
        Err(d) => {
            print_diagnostics(&d);
            eprintln!("{}: invalid campaign: nothing was sent", path.display());
            Err(Exit::Invalid)
        }
    }
}

/// Reads tokens (required when `need_tokens`), fetches conversations and
/// merges audiences. Problems are printed; Err is the exit.
pub fn prepare(campaign: Campaign, now: DateTime<Utc>, need_tokens: bool) -> Result<Prepared, Exit> {
    let path = campaign.path.clone();
    let needs_conversations = |page: &str| {
        campaign.audiences.iter().any(|a| a.page == page && matches!(a.source, AudienceSource::Conversations(_)))
    };
    let mut tokens = Vec::new();
    for page in &campaign.pages {
        match std::env::var(&page.token_env) {
            Ok(t) if !t.trim().is_empty() => tokens.push(t.trim().to_string()),
            _ if need_tokens || needs_conversations(&page.id) => {
                eprintln!(
                    "{}: error: the environment variable {} (token of page {}) is not set\n  help: export {}=<page access token>; nothing was sent",
                    path.display(),
                    page.token_env,
                    page.id,
                    page.token_env
                );
                return Err(Exit::Invalid);
            }
            _ => tokens.push(String::new()),
        }
    }
    let client = Client::new(Endpoints::from_env(), campaign.send.concurrency).map_err(|e| {
        eprintln!("error: {e}");
        Exit::Invalid
    })?;
    let fetched = fetch_conversations(&campaign, &client, &tokens, now)?;
    let audiences = merge::load(&campaign, now, &fetched);
    report_rows(&audiences);
    // Unusable audience files and opt-out lists (SPEC §1, §2): nothing is sent.
    let unusable: Vec<_> = audiences.unusable.iter().chain(&audiences.unreadable_opt_outs).collect();
    if !unusable.is_empty() {
        unusable.iter().for_each(|e| eprintln!("{e}"));
        eprintln!("{}: unusable audience input: nothing was sent", path.display());
        return Err(Exit::Invalid);
    }
    Ok(Prepared { campaign: Arc::new(campaign), audiences: Arc::new(audiences), tokens, client })
}

fn report_rows(audiences: &Audiences) {
    for e in &audiences.row_errors {
        eprintln!("{e}");
    }
    let more = audiences.row_error_count.saturating_sub(audiences.row_errors.len() as u64);
    if more > 0 {
        eprintln!("... and {more} more rows left out");
    }
}

fn fetch_conversations(
    campaign: &Campaign,
    client: &Client,
    tokens: &[String],
    now: DateTime<Utc>,
) -> Result<HashMap<String, Vec<Recipient>>, Exit> {
    let wanted: Vec<(usize, chrono::TimeDelta)> = campaign
        .audiences
        .iter()
        .filter_map(|a| match a.source {
            AudienceSource::Conversations(within) => {
                campaign.pages.iter().position(|p| p.id == a.page).map(|i| (i, within))
            }
            _ => None,
        })
        .collect();
    let mut out = HashMap::new();
    if wanted.is_empty() {
        return Ok(out);
    }
    let redactor = Redactor::new(tokens.iter().cloned());
    let rt = runtime();
    for (i, within) in wanted {
        let page = &campaign.pages[i];
        match rt.block_on(conversations::fetch(client, &page.id, &tokens[i], within, now)) {
            Ok(rows) => {
                tracing::info!("page {}: {} conversations within {}h", page.id, rows.len(), within.num_hours());
                out.entry(page.id.clone()).or_insert_with(Vec::new).extend(rows);
            }
            Err(e) => {
                eprintln!(
                    "{}: error: {}\n  help: check the page token and PAGECAST_GRAPH_URL",
                    campaign.path.display(),
                    redactor.redact(&e)
                );
                return Err(Exit::Invalid);
            }
        }
    }
    Ok(out)
}

/// One real run of one occurrence.
pub struct RunRequest {
    /// The campaign file.
    pub path: PathBuf,
    /// `--now`.
    pub now: Option<DateTime<Utc>>,
    /// The occurrence key.
    pub occurrence: String,
    /// Where reports go.
    pub report_dir: PathBuf,
    /// `--resend-unknown`.
    pub resend_unknown: bool,
    /// Table or JSON on stdout.
    pub format: Format,
}

/// `pagecast run CAMPAIGN`.
pub fn command(path: &Path, args: &RunArgs, report_dir: &Path, resend_unknown: bool) -> Exit {
    let request = RunRequest {
        path: path.to_path_buf(),
        now: args.now,
        occurrence: args.occurrence.clone(),
        report_dir: report_dir.to_path_buf(),
        resend_unknown,
        format: args.format,
    };
    let ledger = match Ledger::open(&crate::cli::state_dir(args.state.clone())) {
        Ok(l) => l,
        Err(e) => return ledger_failure(&e),
    };
    execute(&ledger, &request)
}

/// Prints a ledger error and returns its exit code.
pub fn ledger_failure(e: &LedgerError) -> Exit {
    eprintln!("error: {e}");
    if matches!(e, LedgerError::Locked { .. }) {
        return Exit::Locked;
    }
    eprintln!("nothing was sent");
    Exit::Invalid
}

/// Runs one occurrence of one campaign: lock, plan, send, record, report.
pub fn execute(ledger: &Ledger, req: &RunRequest) -> Exit {
    let campaign = match validated(&req.path, req.now.unwrap_or_else(Utc::now)) {
        Ok(c) => c,
        Err(code) => return code,
    };
    // The lock comes before the audiences and the ledger are read: the plan
    // must read a ledger no one else is writing.
    let _lock = match ledger.lock(&campaign.id) {
        Ok(l) => l,
        Err(e) => return ledger_failure(&e),
    };
    execute_locked(ledger, req, campaign)
}

/// [`execute`] for a caller that already validated the campaign and holds its lock.
pub fn execute_locked(ledger: &Ledger, req: &RunRequest, campaign: Campaign) -> Exit {
    let clock = req.now.map_or(Clock::System, Clock::Frozen);
    let started = Utc::now();
    let prepared = match prepare(campaign, clock.now(), true) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let Prepared { campaign, audiences, tokens, client } = prepared;
    let prior = match ledger.prior(&campaign.id, &req.occurrence) {
        Ok(p) => p,
        Err(e) => return ledger_failure(&e),
    };
    let options = PlanOptions { resend_unknown: req.resend_unknown };
    let plan = plan::plan(&campaign, &audiences, plan::prior_lookup(prior), clock.now(), options);
    let run_id = match ledger.start_run(&campaign.id, &req.occurrence, started) {
        Ok(id) => id,
        Err(e) => return ledger_failure(&e),
    };
    let writer = ledger.writer();
    let journal = LedgerJournal::new(writer.clone(), campaign.clone(), audiences.clone(), &req.occurrence, run_id);
    let plan_rows = plan.rows(&campaign, &audiences);
    record_plan_skips(&journal, &plan, &plan_rows, started);
    let jobs = plan.jobs();
    tracing::info!(
        "{}: occurrence {}: {} to send, {} skipped",
        campaign.id,
        req.occurrence,
        jobs.len(),
        plan.decisions.len() - jobs.len()
    );

    let rt = runtime();
    let (cancel_tx, cancel_rx) = tokio::sync::watch::channel(false);
    let progress: Vec<_> = campaign.pages.iter().map(|_| Arc::new(pipeline::Progress::default())).collect();
    let ctx = Arc::new(Context {
        campaign: campaign.clone(),
        audiences: audiences.clone(),
        client,
        redactor: Redactor::new(tokens.iter().cloned()),
        tokens,
        journal,
        clock,
        cancel: cancel_rx,
        progress: progress.clone(),
    });
    let summary = rt.block_on(async {
        tokio::spawn(progress::watch_signals(cancel_tx));
        let display = progress::spawn(campaign.clone(), progress.clone());
        let summary = pipeline::run(ctx, jobs).await;
        display.abort();
        summary
    });
    let flushed = rt.block_on(writer.flush());

    let finished = Utc::now();
    let rows = merge_rows(&campaign, &audiences, plan_rows, &summary);
    let mut exit = exit_code(&summary, &rows);
    if let Err(e) = flushed {
        eprintln!("error: the ledger could not record every outcome: {e}");
        exit = exit.max(Exit::Aborted);
    }
    for stop in &summary.stopped {
        eprintln!("page {} stopped: {}", stop.page, stop.reason);
    }
    let report = Report::from_rows(
        &campaign.id,
        &req.occurrence,
        false,
        rfc3339(started),
        rfc3339(finished),
        exit.code().into(),
        rows,
    );
    if let Err(e) = ledger.finish_run(
        run_id,
        finished,
        exit.code().into(),
        &serde_json::to_string(&report.summary).unwrap_or_default(),
    ) {
        eprintln!("error: {e}");
    }
    emit(&report, &req.report_dir, started, req.format);
    exit
}

/// Prints the report (table or JSON) and writes the report files.
pub fn emit(report: &Report, report_dir: &Path, started: DateTime<Utc>, format: Format) {
    match format {
        Format::Json => println!("{}", crate::report::json::render(report)),
        _ => print!("{}", super::plan::table(report, &[])),
    }
    match write_report(report_dir, report, started) {
        Ok(dir) => eprintln!("report: {}", dir.display()),
        Err(e) => eprintln!("error: {e}"),
    }
}

fn exit_code(summary: &SendSummary, rows: &[OutcomeRow]) -> Exit {
    if summary.interrupted {
        Exit::Interrupted
    } else if !summary.stopped.is_empty() {
        Exit::Aborted
    } else if rows.iter().any(|r| matches!(r.outcome, Outcome::Failed | Outcome::Unknown)) {
        Exit::SomeFailed
    } else {
        Exit::Done
    }
}

/// Plan rows with each sent-to recipient's row replaced by its send result.
fn merge_rows(
    campaign: &Campaign,
    audiences: &Audiences,
    mut rows: Vec<OutcomeRow>,
    summary: &SendSummary,
) -> Vec<OutcomeRow> {
    for r in &summary.results {
        rows[r.person] = outcome_row(campaign, audiences, r);
    }
    rows
}

fn outcome_row(campaign: &Campaign, audiences: &Audiences, r: &SendResult) -> OutcomeRow {
    let ((_, id), person) = audiences.people.get_index(r.person).expect("result indexes people");
    let page = &campaign.pages[r.page as usize];
    OutcomeRow {
        page: page.id.clone(),
        recipient: id.to_string(),
        outcome: r.outcome,
        reason: r.reason.clone(),
        error_code: r.code,
        error_subcode: r.subcode,
        error_message: r.message.clone(),
        message_id: r.message_id.clone(),
        attempts: r.attempts,
        at: Some(rfc3339(r.at)),
        window_closes_at: page.rule.closes_at(person.last_interaction).map(rfc3339),
    }
}

/// Skips decided by the plan go into the ledger too, except those that
/// restate what the ledger already holds (already_sent, already_failed,
/// unknown_previous): overwriting them would lose the record.
fn record_plan_skips(journal: &LedgerJournal, plan: &plan::Plan, rows: &[OutcomeRow], at: DateTime<Utc>) {
    use crate::policy::SkipReason::{AlreadyFailed, AlreadySent, UnknownPrevious};
    for (d, row) in plan.decisions.iter().zip(rows) {
        if let Verdict::Skip(reason) = d.verdict
            && !matches!(reason, AlreadySent | AlreadyFailed | UnknownPrevious)
        {
            journal.skipped(&row.page, &row.recipient, reason.as_str(), at);
        }
    }
}
