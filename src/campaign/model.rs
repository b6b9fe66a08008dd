//! The campaign file as written: serde + schemars types whose doc comments
//! become the JSON Schema's descriptions (`schema/campaign.schema.json`).
//!
//! These types say only what a schema can say. The rules that need more than
//! one field (a tag goes with `MESSAGE_TAG`, a message fits its page's
//! provider, ...) live in `validate.rs`, which turns a [`RawCampaign`] into a
//! [`crate::campaign::Campaign`].

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A pagecast campaign: who is sent what, from which Pages, and when.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "pagecast campaign")]
pub struct RawCampaign {
    /// Version of the campaign file format. Always 1.
    #[schemars(range(min = 1, max = 1))]
    pub version: u32,
    /// The campaign's id: the ledger key. Lowercase letters, digits, `-` and `_`.
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9_-]{0,63}$"))]
    pub id: String,
    /// What the campaign is for, for people reading it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The Pages that send.
    #[schemars(length(min = 1))]
    pub pages: Vec<PageSpec>,
    /// Who receives the message. Audiences are merged; a (page, recipient)
    /// pair is sent to at most once.
    #[schemars(length(min = 1))]
    pub audiences: Vec<AudienceSpec>,
    /// Opt-out lists: CSV files with an `id` column. Listed recipients are skipped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suppress: Vec<SuppressSpec>,
    /// The message. Exactly one of `payload_id`, `text`, `attachment`, `template`.
    pub message: MessageSpec,
    /// Meta's messaging type: RESPONSE or UPDATE inside the 24-hour window,
    /// MESSAGE_TAG (with `tag`) for a customer feedback survey within 7 days,
    /// UTILITY for an approved utility `template` at any time. Required when
    /// the campaign has graph pages; absent when all its pages are harasocial.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messaging_type: Option<MessagingType>,
    /// The message tag; only with `messaging_type: MESSAGE_TAG`. Since
    /// 2026-04-27 only CUSTOMER_FEEDBACK is usable by a campaign.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<MessageTag>,
    /// How the person's phone announces the message. Default REGULAR (then
    /// not sent). Graph pages only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_type: Option<NotificationType>,
    /// When `pagecast tick` runs the campaign. Without it, only `pagecast run` does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ScheduleSpec>,
    /// Concurrency, rate and retry settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send: Option<SendSpec>,
    /// Messaging-window policy settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicySpec>,
}

/// A Page that sends.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PageSpec {
    /// The Page id: digits, written as a quoted string.
    #[schemars(regex(pattern = r"^[0-9]{1,32}$"))]
    pub id: String,
    /// Which API sends for this Page.
    pub provider: Provider,
    /// Name of the environment variable that holds the Page's access token
    /// (never the token itself).
    #[schemars(regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub token_env: String,
    /// The most messages this Page may send in any rolling 24 hours, counted
    /// across every campaign that shares the ledger (SPEC §6). Recipients over
    /// it end `not_attempted` (reason `daily_limit`) and go out in a later run.
    /// Default: no cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 4_294_967_295u32))]
    pub daily_limit: Option<u32>,
}

/// Which API sends for a Page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    // Meta's Graph Send API (`POST /{page-id}/messages`).
    Graph,
    // Harasocial's payload-id API (`POST /social/messages.json`).
    Harasocial,
}

/// One audience: a page plus exactly one of `file`, `recipients`, `conversations`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AudienceSpec {
    /// The Page (one of `pages[].id`) that sends to this audience.
    pub page: String,
    /// A `.csv` or `.jsonl` file, relative to the campaign file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Recipients written inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipients: Option<Vec<InlineRecipient>>,
    /// Recipients read live from the Page's conversations (graph pages only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversations: Option<ConversationsSpec>,
}

/// A recipient written in the campaign file.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InlineRecipient {
    /// The page-scoped id (PSID), as a quoted string.
    #[schemars(regex(pattern = r"^[0-9A-Za-z_-]{1,64}$"))]
    pub id: String,
    /// Time of the person's last message to the page (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_interaction: Option<String>,
    /// Template variables for this recipient.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vars: BTreeMap<String, VarValue>,
}

/// A template variable's value: text, a number, or true/false.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum VarValue {
    // Text.
    Text(String),
    // A number.
    Number(serde_json::Number),
    // true or false.
    Bool(bool),
}

impl JsonSchema for VarValue {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "VarValue".into()
    }

    fn inline_schema() -> bool {
        true
    }

    // `anyOf` rather than a `type` list: ajv's strict mode refuses union
    // types. The schema stage words the three branches' errors as one.
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A template variable's value: text, a number, or true/false.",
            "anyOf": [{ "type": "string" }, { "type": "number" }, { "type": "boolean" }]
        })
    }
}

impl VarValue {
    /// The value as the text a template prints.
    pub fn to_text(&self) -> String {
        match self {
            VarValue::Text(s) => s.clone(),
            VarValue::Number(n) => n.to_string(),
            VarValue::Bool(b) => b.to_string(),
        }
    }
}

/// Read recipients from `GET /{page}/conversations`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConversationsSpec {
    /// Only conversations updated within this long, e.g. `7d` (a duration:
    /// `30s`, `10m`, `2h`, `7d`).
    pub within: Duration,
}

/// An opt-out list for one page.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SuppressSpec {
    /// The Page (one of `pages[].id`).
    pub page: String,
    /// A CSV file with an `id` column, relative to the campaign file.
    pub file: String,
}

/// A duration such as `30s`, `10m`, `2h` or `7d`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct Duration(#[schemars(regex(pattern = r"^[0-9]{1,9}(s|m|h|d)$"))] pub String);

impl Duration {
    /// The duration in seconds, or None when it is not `<digits><s|m|h|d>`.
    pub fn seconds(&self) -> Option<i64> {
        parse_duration(&self.0)
    }
}

/// Parse `30s`, `10m`, `2h`, `7d` into seconds.
pub fn parse_duration(text: &str) -> Option<i64> {
    let unit = text.chars().last()?;
    let digits = &text[..text.len() - unit.len_utf8()];
    if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = digits.parse().ok()?;
    let scale = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return None,
    };
    Some(n * scale)
}

/// The message: exactly one of `payload_id`, `text`, `attachment`, `template`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageSpec {
    /// A Harasocial flow's payload id (harasocial pages only), e.g. `__hrf_f_...`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^\S+$"))]
    pub payload_id: Option<String>,
    /// Message text (graph pages); `{{ var }}` is filled per recipient. Under 2000 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// A media attachment or a Meta template passed through (graph pages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<AttachmentSpec>,
    /// An approved utility template (graph pages, `messaging_type: UTILITY`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<UtilityTemplate>,
    /// Quick replies, with `text` or `attachment`. At most 13.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quick_replies: Option<Vec<QuickReply>>,
    /// Delivered back in the message echo. Under 1000 characters (graph), at most 500 (harasocial).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,
}

/// A media attachment (`url` or `attachment_id`) or a template (`payload`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachmentSpec {
    /// The attachment type.
    #[serde(rename = "type")]
    pub kind: AttachmentKind,
    /// Public https URL of the media.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Id of an asset uploaded before (instead of `url`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment_id: Option<String>,
    /// Ask Meta to keep the uploaded media for reuse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_reusable: Option<bool>,
    /// Meta's template JSON, passed through (`type: template`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<serde_json::Map<String, serde_json::Value>>,
}

/// The attachment type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AttachmentKind {
    // An image.
    Image,
    // A video (send.rate at most 10).
    Video,
    // An audio clip (send.rate at most 10).
    Audio,
    // A file.
    File,
    // A Meta template (generic, button, customer_feedback), passed through.
    Template,
}

impl AttachmentKind {
    /// The name Meta uses on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            AttachmentKind::Image => "image",
            AttachmentKind::Video => "video",
            AttachmentKind::Audio => "audio",
            AttachmentKind::File => "file",
            AttachmentKind::Template => "template",
        }
    }
}

/// An approved utility template, sent as Meta's `message.template`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UtilityTemplate {
    /// The template's name as approved by Meta.
    #[schemars(length(min = 1))]
    pub name: String,
    /// Language code, e.g. `en_US`.
    #[schemars(regex(pattern = r"^[a-z]{2,3}(_[A-Z]{2})?$"))]
    pub language: String,
    /// Header, body and button parameters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<TemplateComponent>,
}

/// One component of a utility template.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateComponent {
    /// Which part of the template.
    #[serde(rename = "type")]
    pub kind: ComponentKind,
    /// The values filled into that part.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<TemplateParameter>,
}

/// Which part of a utility template a component fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ComponentKind {
    // The header.
    Header,
    // The body.
    Body,
    // The buttons.
    Buttons,
}

/// A parameter of a template component.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateParameter {
    /// `text`, `postback` or `url`.
    #[serde(rename = "type")]
    pub kind: ParameterKind,
    /// The text (type text); `{{ var }}` is filled per recipient.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The postback payload (type postback).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    /// The URL (type url).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Named parameter, for templates with named placeholders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter_name: Option<String>,
}

/// The kind of a template parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ParameterKind {
    // A text value.
    Text,
    // A postback button payload.
    Postback,
    // A URL button suffix or URL.
    Url,
}

/// A quick reply: `{title, payload}` or `{content_type: user_phone_number | user_email}`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuickReply {
    /// Kind of quick reply; default `text`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<QuickReplyKind>,
    /// The button title (text quick replies), at most 20 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The payload sent back when tapped (text quick replies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    /// Optional icon URL (text quick replies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
}

/// The content type of a quick reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuickReplyKind {
    // A button with a title and a payload.
    Text,
    // Offers the person's phone number.
    UserPhoneNumber,
    // Offers the person's email address.
    UserEmail,
}

/// Meta's messaging type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MessagingType {
    // A reply inside the 24-hour window.
    Response,
    // A proactive message inside the 24-hour window.
    Update,
    // Outside the window with an allowed tag.
    MessageTag,
    // An approved utility template, any time.
    Utility,
}

impl MessagingType {
    /// The name Meta uses on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            MessagingType::Response => "RESPONSE",
            MessagingType::Update => "UPDATE",
            MessagingType::MessageTag => "MESSAGE_TAG",
            MessagingType::Utility => "UTILITY",
        }
    }
}

/// A message tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MessageTag {
    // A customer feedback survey (customer_feedback template), within 7 days.
    CustomerFeedback,
    // Human agent replies: never for automated campaigns.
    HumanAgent,
    // Retired by Meta on 2026-04-27; use UTILITY.
    AccountUpdate,
    // Retired by Meta on 2026-04-27; use UTILITY.
    ConfirmedEventUpdate,
    // Retired by Meta on 2026-04-27; use UTILITY.
    PostPurchaseUpdate,
}

impl MessageTag {
    /// The name Meta uses on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageTag::CustomerFeedback => "CUSTOMER_FEEDBACK",
            MessageTag::HumanAgent => "HUMAN_AGENT",
            MessageTag::AccountUpdate => "ACCOUNT_UPDATE",
            MessageTag::ConfirmedEventUpdate => "CONFIRMED_EVENT_UPDATE",
            MessageTag::PostPurchaseUpdate => "POST_PURCHASE_UPDATE",
        }
    }
}

/// Push notification kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NotificationType {
    // Sound or vibration (Meta's default).
    Regular,
    // On-screen notification only.
    SilentPush,
    // No notification.
    NoPush,
}

impl NotificationType {
    /// The name Meta uses on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationType::Regular => "REGULAR",
            NotificationType::SilentPush => "SILENT_PUSH",
            NotificationType::NoPush => "NO_PUSH",
        }
    }
}

/// When `pagecast tick` runs the campaign.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSpec {
    /// Standard 5-field crontab line `minute hour day-of-month month
    /// day-of-week`, e.g. `0 9 * * MON-FRI` (0 and 7 are Sunday; names are
    /// three letters). Also `@hourly`, `@daily`, `@weekly`, `@monthly`, `@yearly`.
    pub cron: String,
    /// IANA time zone name in which the cron line is read, e.g.
    /// `Asia/Ho_Chi_Minh`; spelled exactly. Default `UTC`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// How late a fire may still be sent: a fire that `tick` reaches more
    /// than this after its time is recorded as missed, not sent. Default `30m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catch_up: Option<Duration>,
}

/// Concurrency, rate and retry settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SendSpec {
    /// Requests in flight for the whole run, all pages together: 1 to 256.
    /// Default 16.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 256))]
    pub concurrency: Option<u32>,
    /// Messages per second per page: 1 to 300. Default 20. Above 40 is a
    /// warning (Meta's high-volume mode); audio and video allow at most 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 300))]
    pub rate: Option<u32>,
    /// Attempts per recipient for errors after which the message surely was
    /// not delivered (throttling, 5xx before sending): 1 to 20. Default 4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 20))]
    pub max_attempts: Option<u32>,
    /// The longest a page may wait out Meta's throttling before it stops (its
    /// remaining recipients end `not_attempted`). Default `15m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_pause: Option<Duration>,
    /// Also retry errors after which the message may have been delivered
    /// (timeouts, dropped connections): risks a duplicate. Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_ambiguous: Option<bool>,
    /// A first wave sent before the rest (SPEC §6): the run waits for its
    /// answers and stops every page when too many failed. Default: no canary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<CanarySpec>,
}

/// The canary wave: `{ recipients: 50, max_failure_rate: 0.05 }`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CanarySpec {
    /// How many recipients the first wave sends to (spread over the pages in plan order).
    #[schemars(range(min = 1, max = 4_294_967_295u32))]
    pub recipients: u32,
    /// The run goes on only if (failed + unknown) ÷ recipients is at most
    /// this share, from 0.0 to 1.0 (e.g. 0.05 for 5%); otherwise every page
    /// stops and the run exits 3 (`canary_failed`).
    #[schemars(range(min = 0.0, max = 1.0))]
    pub max_failure_rate: f64,
}

/// Messaging-window policy settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    /// Safety margin: every messaging window is treated as closing this much
    /// early, so a send never lands just after it closed. Less than a day.
    /// Default `10m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub margin: Option<Duration>,
}
