//! Stage 1 of a run: a campaign ready to plan — validated, tokens read,
//! conversations fetched, audiences merged. Every problem here is invalid
//! input (exit 2) and stops the run before anything is sent.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::audience::merge::{self, Audiences};
use crate::audience::{Recipient, conversations};
use crate::campaign::{AudienceSource, Campaign, validate_file};
use crate::commands::{Failure, print_diagnostics, runtime};
use crate::send::client::{Client, Endpoints, Redactor};

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
    /// The ids each conversations audience fetched, per page id (pinned plans hash them).
    pub conversation_ids: std::collections::BTreeMap<String, Vec<String>>,
}

/// Validates a campaign file, printing its warnings, or its errors.
pub fn validated(path: &Path, now: DateTime<Utc>) -> Result<Campaign, Failure> {
    match validate_file(path, now) {
        Ok(c) => {
            print_diagnostics(&c.warnings);
            Ok(c)
        }
        Err(d) => {
            print_diagnostics(&d);
            Err(Failure::at(path, "invalid campaign"))
        }
    }
}

/// Reads tokens (required when `need_tokens`), fetches conversations and
/// merges audiences.
pub fn prepare(campaign: Campaign, now: DateTime<Utc>, need_tokens: bool) -> Result<Prepared, Failure> {
    let path = campaign.path.clone();
    let needs_conversations = |page: &str| {
        campaign.audiences.iter().any(|a| a.page == page && matches!(a.source, AudienceSource::Conversations(_)))
    };
    let mut tokens = Vec::new();
    for page in &campaign.pages {
        match std::env::var(&page.token_env) {
            Ok(t) if !t.trim().is_empty() => tokens.push(t.trim().to_string()),
            _ if need_tokens || needs_conversations(&page.id) => {
                return Err(Failure::at(
                    &path,
                    format!(
                        "the environment variable {} (token of page {}) is not set\n  help: export {}=<page access token>",
                        page.token_env, page.id, page.token_env
                    ),
                ));
            }
            _ => tokens.push(String::new()),
        }
    }
    let client = Client::new(Endpoints::from_env(), campaign.send.concurrency).map_err(Failure::invalid)?;
    let fetched = fetch_conversations(&campaign, &client, &tokens, now)?;
    let audiences = merge::load(&campaign, now, &fetched);
    report_rows(&audiences);
    if let Some(e) = audiences.unreadable_opt_outs.first() {
        return Err(Failure::invalid(format!(
            "{}:{}: cannot read the opt-out list: {}\n  help: fix or remove the `suppress` entry; without it people who opted out could be messaged",
            e.file.display(),
            e.line,
            e.message
        )));
    }
    let conversation_ids =
        fetched.iter().map(|(page, rows)| (page.clone(), rows.iter().map(|r| r.id.clone()).collect())).collect();
    Ok(Prepared { campaign: Arc::new(campaign), audiences: Arc::new(audiences), tokens, client, conversation_ids })
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
) -> Result<HashMap<String, Vec<Recipient>>, Failure> {
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
    let rt = runtime()?;
    for (i, within) in wanted {
        let page = &campaign.pages[i];
        let limits = conversations::Limits::from(&campaign.send);
        match rt.block_on(conversations::fetch(client, &page.id, &tokens[i], within, now, limits)) {
            Ok(rows) => {
                tracing::info!("page {}: {} conversations within {}h", page.id, rows.len(), within.num_hours());
                out.entry(page.id.clone()).or_insert_with(Vec::new).extend(rows);
            }
            // The error says how to fix it (a token, a host, a throttle…).
            Err(e) => {
                return Err(Failure::at(&campaign.path, redactor.redact(&e.to_string())));
            }
        }
    }
    Ok(out)
}
