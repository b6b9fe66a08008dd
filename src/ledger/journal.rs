//! The ledger as the send pipeline's [`Journal`]: intents made durable before
//! each request, final results queued as outcome records.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{LedgerWriter, OutcomeRecord};
use crate::audience::merge::Audiences;
use crate::campaign::Campaign;
use crate::send::pipeline::{Journal, SendResult};

/// One run's view of the ledger.
pub struct LedgerJournal {
    writer: LedgerWriter,
    campaign: Arc<Campaign>,
    audiences: Arc<Audiences>,
    occurrence: String,
    run_id: i64,
}

impl LedgerJournal {
    /// A journal for run `run_id` of `occurrence`.
    pub fn new(
        writer: LedgerWriter,
        campaign: Arc<Campaign>,
        audiences: Arc<Audiences>,
        occurrence: &str,
        run_id: i64,
    ) -> Self {
        LedgerJournal { writer, campaign, audiences, occurrence: occurrence.to_string(), run_id }
    }

    /// Records a recipient the plan skipped (never sent in this run).
    pub fn skipped(&self, page: &str, recipient: &str, reason: &str, at: DateTime<Utc>) {
        self.writer.outcome(self.record(page, recipient, "skipped", Some(reason.to_string()), at));
    }

    fn record(
        &self,
        page: &str,
        recipient: &str,
        outcome: &str,
        reason: Option<String>,
        at: DateTime<Utc>,
    ) -> OutcomeRecord {
        OutcomeRecord {
            campaign: self.campaign.id.clone(),
            occurrence: self.occurrence.clone(),
            page: page.to_string(),
            recipient: recipient.to_string(),
            outcome: outcome.to_string(),
            reason,
            error_code: None,
            error_subcode: None,
            error_message: None,
            message_id: None,
            attempts: 0,
            at,
            run_id: self.run_id,
        }
    }
}

impl Journal for LedgerJournal {
    async fn intent(&self, page: &str, recipient: &str) -> Result<(), String> {
        self.writer
            .intent(&self.campaign.id, &self.occurrence, page, recipient, self.run_id, Utc::now())
            .await
            .map_err(|e| e.to_string())
    }

    fn outcome(&self, r: &SendResult) {
        let ((_, id), _) = self.audiences.people.get_index(r.person).expect("result indexes people");
        let page = &self.campaign.pages[r.page as usize].id;
        self.writer.outcome(OutcomeRecord {
            error_code: r.code,
            error_subcode: r.subcode,
            error_message: r.message.clone(),
            message_id: r.message_id.clone(),
            attempts: r.attempts,
            ..self.record(page, id, r.outcome.as_str(), r.reason.clone(), r.at)
        });
    }
}
