//! Campaign files: the model as written, loading with spans, validation.
//!
//! Only [`validate::validate`] builds a [`Campaign`]; everything downstream
//! (plan, send, tick) takes one and can trust it.

pub mod diagnostic;
pub mod load;
pub mod model;
pub mod schema;
pub mod validate;

use std::path::PathBuf;

use chrono::TimeDelta;

use crate::audience::Recipient;
use crate::policy::Rule;
use crate::schedule::Schedule;
use crate::template::MessageTemplate;
use model::{MessageTag, MessagingType, NotificationType, Provider};

pub use diagnostic::Diagnostic;
pub use validate::{validate, validate_file};

/// A campaign that passed every check.
#[derive(Debug)]
pub struct Campaign {
    /// The ledger key.
    pub id: String,
    /// The file it came from.
    pub path: PathBuf,
    /// The sending Pages, in file order.
    pub pages: Vec<Page>,
    /// The audiences, in file order (later ones win when vars merge).
    pub audiences: Vec<Audience>,
    /// Opt-out lists.
    pub suppress: Vec<Suppress>,
    /// The message, compiled.
    pub message: MessageTemplate,
    /// Meta's messaging type (graph pages).
    pub messaging_type: Option<MessagingType>,
    /// The tag (with MESSAGE_TAG).
    pub tag: Option<MessageTag>,
    /// Push notification kind, when not the default.
    pub notification_type: Option<NotificationType>,
    /// When `tick` runs it.
    pub schedule: Option<Schedule>,
    /// Concurrency, rate and retries.
    pub send: SendSettings,
    /// Warnings found while validating (the campaign still runs).
    pub warnings: Vec<Diagnostic>,
}

impl Campaign {
    /// The page with this id.
    pub fn page(&self, id: &str) -> Option<&Page> {
        self.pages.iter().find(|p| p.id == id)
    }
}

/// A sending Page.
#[derive(Debug, Clone)]
pub struct Page {
    /// The Page id.
    pub id: String,
    /// Which API sends for it.
    pub provider: Provider,
    /// The environment variable holding its token.
    pub token_env: String,
    /// The window rule for its sends.
    pub rule: Rule,
    /// Its messages in any rolling 24 hours, across campaigns (SPEC §6); None: no cap.
    pub daily_limit: Option<u32>,
}

/// One audience of a campaign.
#[derive(Debug, Clone)]
pub struct Audience {
    /// The Page that sends to it.
    pub page: String,
    /// Where its recipients come from.
    pub source: AudienceSource,
}

/// Where an audience's recipients come from.
#[derive(Debug, Clone)]
pub enum AudienceSource {
    /// A CSV file (streamed).
    Csv(PathBuf),
    /// A JSONL file (streamed).
    Jsonl(PathBuf),
    /// Written in the campaign file.
    Inline(Vec<Recipient>),
    /// Read live from `GET /{page}/conversations`, updated within this long.
    Conversations(TimeDelta),
}

/// An opt-out list.
#[derive(Debug, Clone)]
pub struct Suppress {
    /// The Page it applies to.
    pub page: String,
    /// The CSV file with an `id` column.
    pub file: PathBuf,
}

/// Sending settings with defaults filled in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SendSettings {
    /// Requests in flight for the whole run.
    pub concurrency: usize,
    /// Messages per second per page.
    pub rate: u32,
    /// Attempts per recipient for errors that surely were not delivered.
    pub max_attempts: u32,
    /// Longest a page may wait out throttling before it stops.
    pub max_pause: TimeDelta,
    /// Retry errors after which the message may have been delivered.
    pub retry_ambiguous: bool,
    /// The first wave that must succeed before the rest is sent (SPEC §6).
    pub canary: Option<Canary>,
}

/// `send.canary`: send to `recipients` first, and go on only if
/// (failed + unknown) ÷ `recipients` ≤ `max_failure_rate`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Canary {
    /// Size of the first wave (at least 1).
    pub recipients: u32,
    /// The largest failure share that lets the run go on, 0.0 to 1.0.
    pub max_failure_rate: f64,
}

impl Default for SendSettings {
    fn default() -> Self {
        SendSettings {
            concurrency: 16,
            rate: 20,
            max_attempts: 4,
            max_pause: TimeDelta::minutes(15),
            retry_ambiguous: false,
            canary: None,
        }
    }
}
