//! The ledger as the send pipeline's [`Journal`]: intents made durable before
//! each request, final records queued as outcomes.

use std::sync::Arc;

use super::{LedgerWriter, OutcomeRecord};
use crate::audience::merge::Audiences;
use crate::campaign::Campaign;
use crate::send::pipeline::Journal;
use crate::vocab::{Clock, Job, Record};

/// One run's view of the ledger.
pub struct LedgerJournal {
    writer: LedgerWriter,
    campaign: Arc<Campaign>,
    audiences: Arc<Audiences>,
    occurrence: String,
    run_id: i64,
    clock: Clock,
}

impl LedgerJournal {
    /// A journal for run `run_id` of `occurrence`.
    pub fn new(
        writer: LedgerWriter,
        campaign: Arc<Campaign>,
        audiences: Arc<Audiences>,
        occurrence: &str,
        run_id: i64,
        clock: Clock,
    ) -> Self {
        LedgerJournal { writer, campaign, audiences, occurrence: occurrence.to_string(), run_id, clock }
    }

    /// Queues one record (a plan's skip or a sender's result).
    pub fn record(&self, record: &Record) {
        self.writer.outcome(self.keyed(record.clone()));
    }

    fn keyed(&self, record: Record) -> OutcomeRecord {
        OutcomeRecord {
            campaign: self.campaign.id.clone(),
            occurrence: self.occurrence.clone(),
            page: self.campaign.pages[record.job.page as usize].id.clone(),
            recipient: self.audiences.recipient_id(record.job.person).to_string(),
            run_id: self.run_id,
            record,
        }
    }
}

impl Journal for LedgerJournal {
    async fn intent(&self, job: Job) -> Result<(), String> {
        let page = &self.campaign.pages[job.page as usize].id;
        let id = self.audiences.recipient_id(job.person);
        let mut buf = [0; 20];
        let recipient = id.as_str(&mut buf);
        self.writer
            .intent(&self.campaign.id, &self.occurrence, page, recipient, self.run_id, self.clock.wall())
            .await
            .map_err(|e| e.to_string())
    }

    fn outcome(&self, record: &Record) {
        self.record(record);
    }
}
