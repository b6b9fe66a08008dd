//! `pagecast status [CAMPAIGN] [--recipient ID]`: what the ledger holds —
//! occurrences and their counts, fires that could not start or were missed
//! (with why), or one recipient's outcome in every occurrence.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::{Exit, Failure, Outcome, output};
use crate::cli::Format;
use crate::ledger::{FireRecord, Ledger, OccurrenceStatus, RecipientOutcome};
use crate::report::rows::rfc3339;

/// What `status` was asked.
pub struct StatusRequest {
    /// A campaign id or a campaign file.
    pub campaign: Option<String>,
    /// One recipient's history (needs a campaign).
    pub recipient: Option<String>,
    /// Table or JSON.
    pub format: Format,
    /// `--state`.
    pub state: Option<PathBuf>,
}

/// Runs the command.
pub fn run(req: StatusRequest) -> Outcome {
    let campaign = req.campaign.as_deref().map(campaign_id).transpose()?;
    let dir = crate::cli::state_dir(req.state.clone());
    let Some(ledger) = Ledger::open_existing(&dir)? else {
        if req.format == Format::Json {
            output::println("[]");
        } else {
            output::println(&format!("no ledger in {} yet: nothing has run", crate::ledger::describe(&dir)));
        }
        return Ok(Exit::Done);
    };
    if let Some(recipient) = &req.recipient {
        let id = campaign.ok_or_else(|| {
            Failure::invalid("--recipient needs a campaign: `pagecast status CAMPAIGN --recipient ID`")
        })?;
        let history = ledger.recipient_history(&id, recipient)?;
        print_history(&id, recipient, &history, req.format);
        return Ok(Exit::Done);
    }
    let rows = ledger.status(campaign.as_deref())?;
    let (fires, missed) = match &campaign {
        Some(id) => (ledger.troubled_fires(id, 20)?, ledger.missed_count(id)?),
        None => (Vec::new(), 0),
    };
    match req.format {
        Format::Json => {
            let doc = json!({"occurrences": rows, "fires": fires, "missed": missed});
            output::println(&serde_json::to_string_pretty(&doc).unwrap_or_default());
        }
        _ => print_table(&rows, &fires, missed, campaign.as_deref()),
    }
    Ok(Exit::Done)
}

/// A campaign argument: a file (its validated id) or an id.
fn campaign_id(arg: &str) -> Result<String, Failure> {
    let path = Path::new(arg);
    let looks_like_file = path.is_file() || arg.ends_with(".yaml") || arg.ends_with(".yml");
    if !looks_like_file {
        return Ok(arg.to_string());
    }
    match crate::campaign::validate_file(path, chrono::Utc::now()) {
        Ok(c) => Ok(c.id),
        Err(d) => {
            super::print_diagnostics(&d);
            Err(Failure::invalid(format!("{arg}: cannot read the campaign id from this file")))
        }
    }
}

fn print_table(rows: &[OccurrenceStatus], fires: &[FireRecord], missed: u64, campaign: Option<&str>) {
    if rows.is_empty() {
        let what = campaign.map_or_else(|| "any campaign".to_string(), |c| format!("campaign `{c}`"));
        output::println(&format!("the ledger holds no run of {what}"));
    } else {
        output::println(&format!(
            "{:<24} {:<22} {:>4} {:<21} {:>4} {:>8} {:>7} {:>7} {:>7} {:>8}",
            "campaign",
            "occurrence",
            "runs",
            "last started",
            "exit",
            "sent",
            "skipped",
            "failed",
            "unknown",
            "not att."
        ));
    }
    for r in rows {
        let c = &r.counts;
        output::println(&format!(
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
        ));
    }
    if let Some(id) = campaign
        && missed > 0
    {
        output::println(&format!("{id}: {missed} scheduled fire{} missed", if missed == 1 { "" } else { "s" }));
    }
    for f in fires {
        output::println(&format!(
            "fire {} {}: {}",
            rfc3339(f.fire),
            f.status,
            f.reason.as_deref().unwrap_or("no reason recorded")
        ));
    }
}

fn print_history(campaign: &str, recipient: &str, history: &[RecipientOutcome], format: Format) {
    if format == Format::Json {
        let doc = json!({"campaign": campaign, "recipient": recipient, "occurrences": history});
        output::println(&serde_json::to_string_pretty(&doc).unwrap_or_default());
        return;
    }
    if history.is_empty() {
        output::println(&format!("{recipient}: no record in any occurrence of `{campaign}`"));
        return;
    }
    for h in history {
        let detail = match h.outcome.as_str() {
            "sent" => format!("message id {}", h.message_id.as_deref().unwrap_or("?")),
            "failed" => format!(
                "error {}{}: {}",
                h.error_code.map_or("?".into(), |c| c.to_string()),
                h.error_subcode.map_or(String::new(), |s| format!("/{s}")),
                h.error_message.as_deref().unwrap_or("")
            ),
            _ => h.reason.clone().unwrap_or_default(),
        };
        output::println(&format!(
            "{recipient}  occurrence {:<22} page {:<18} {:<14} {detail}  (at {})",
            h.occurrence,
            h.page,
            h.outcome,
            h.at.as_deref().unwrap_or("-")
        ));
    }
}
