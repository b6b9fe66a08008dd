//! The rules no schema can say (SPEC §2, §3), and the one constructor of
//! [`Campaign`].
//!
//! Every rule adds diagnostics rather than returning early, so a file with
//! five problems shows five errors in one run. Each diagnostic points at the
//! field that must change. The rules are grouped by what they look at:
//! pages and tags here, the message in `message.rs`, audiences and opt-outs
//! in `audiences.rs`.

mod audiences;
mod launch;
mod message;

use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;

use super::diagnostic::Diagnostic;
use super::load::{Loaded, load_file};
use super::model::{AttachmentKind, AttachmentSpec, MessageTag, MessagingType, Provider, RawCampaign};
use super::{Campaign, Page, SendSettings, schema};
use crate::policy::{Rule, RuleError};
use crate::schedule::Schedule;

/// Loads and validates one campaign file. Err holds every problem found
/// (errors and warnings); Ok's warnings are in [`Campaign::warnings`].
pub fn validate_file(path: &Path, now: DateTime<Utc>) -> Result<Campaign, Vec<Diagnostic>> {
    let loaded = load_file(path).map_err(|d| vec![d])?;
    validate(&loaded, now)
}

/// Validates a loaded file.
pub fn validate(loaded: &Loaded, now: DateTime<Utc>) -> Result<Campaign, Vec<Diagnostic>> {
    let problems = schema::check(loaded);
    if !problems.is_empty() {
        return Err(problems);
    }
    let raw: RawCampaign = match serde_json::from_value(loaded.value.clone()) {
        Ok(raw) => raw,
        Err(e) => return Err(vec![loaded.error_at("", format!("cannot read the campaign: {e}"))]),
    };
    let mut v = Validator { loaded, raw: &raw, now, diags: Vec::new() };
    let campaign = v.build();
    v.diags.sort_by_key(|d| (d.line, d.col));
    if v.diags.iter().any(Diagnostic::is_error) {
        return Err(v.diags);
    }
    let mut campaign = campaign.expect("no errors means a campaign was built");
    campaign.warnings = v.diags;
    Ok(campaign)
}

struct Validator<'a> {
    loaded: &'a Loaded,
    raw: &'a RawCampaign,
    now: DateTime<Utc>,
    diags: Vec<Diagnostic>,
}

impl Validator<'_> {
    fn error(&mut self, pointer: &str, message: impl Into<String>, hint: impl Into<String>) {
        let d = self.loaded.error_at(pointer, message).with_hint(hint);
        self.diags.push(d);
    }

    fn error_at_key(&mut self, pointer: &str, message: impl Into<String>, hint: impl Into<String>) {
        let d = self.loaded.error_at_key(pointer, message).with_hint(hint);
        self.diags.push(d);
    }

    fn warn(&mut self, pointer: &str, message: impl Into<String>, hint: impl Into<String>) {
        let d = self.loaded.error_at(pointer, message).with_hint(hint).warning();
        self.diags.push(d);
    }

    fn dir(&self) -> PathBuf {
        self.loaded.path.parent().map(Path::to_path_buf).unwrap_or_default()
    }

    fn duration(&mut self, pointer: &str, text: Option<&str>, default: TimeDelta) -> TimeDelta {
        let Some(text) = text else { return default };
        match super::model::parse_duration(text) {
            Some(secs) => TimeDelta::seconds(secs),
            None => {
                self.error(pointer, format!("\"{text}\" is not a duration"), "write `30s`, `10m`, `2h` or `7d`");
                default
            }
        }
    }

    fn build(&mut self) -> Option<Campaign> {
        self.check_pages();
        self.check_message_form();
        let margin = self.duration(
            "/policy/margin",
            self.raw.policy.as_ref().and_then(|p| p.margin.as_ref()).map(|d| d.0.as_str()),
            TimeDelta::minutes(10),
        );
        if margin >= TimeDelta::hours(24) {
            self.error(
                "/policy/margin",
                "the margin is a day or more, so no window would ever be open",
                "use a few minutes, e.g. `10m`",
            );
        }
        let pages = self.pages(margin);
        let send = self.send_settings();
        let message = self.message();
        let variables = message.as_ref().map(|m| m.variables().clone()).unwrap_or_default();
        let audiences = self.audiences(&variables);
        let suppress = self.suppress();
        let schedule = self.schedule();
        Some(Campaign {
            id: self.raw.id.clone(),
            path: self.loaded.path.clone(),
            pages,
            audiences,
            suppress,
            message: message?,
            messaging_type: self.raw.messaging_type,
            tag: self.raw.tag,
            notification_type: self.raw.notification_type,
            schedule,
            send,
            warnings: Vec::new(),
        })
    }

    fn has_provider(&self, provider: Provider) -> bool {
        self.raw.pages.iter().any(|p| p.provider == provider)
    }

    fn check_pages(&mut self) {
        let raw = self.raw;
        for (i, page) in raw.pages.iter().enumerate() {
            if raw.pages[..i].iter().any(|p| p.id == page.id) {
                self.error(
                    &format!("/pages/{i}/id"),
                    format!("page {} is listed twice", page.id),
                    "list each page once",
                );
            }
            if looks_like_a_token(&page.token_env) {
                self.error(
                    &format!("/pages/{i}/token_env"),
                    "this looks like an access token, not the name of an environment variable",
                    "never put a token in a campaign file: export it (`export SHOP_TOKEN=...`) and write `token_env: SHOP_TOKEN`; then revoke the exposed token",
                );
            }
        }
        let graph = self.has_provider(Provider::Graph);
        match (graph, raw.messaging_type) {
            (true, None) => self.error(
                "",
                "missing required field `messaging_type` (the campaign has graph pages)",
                "add `messaging_type: UPDATE` (or RESPONSE, MESSAGE_TAG, UTILITY)",
            ),
            (false, Some(_)) => self.error_at_key(
                "/messaging_type",
                "harasocial pages take no messaging_type",
                "remove `messaging_type`; harasocial sends use their own payload-id type",
            ),
            _ => {}
        }
        if !graph {
            for field in ["tag", "notification_type"] {
                if self.loaded.value.get(field).is_some() {
                    self.error_at_key(
                        &format!("/{field}"),
                        format!("harasocial pages take no {field}"),
                        format!("remove `{field}`"),
                    );
                }
            }
        }
        self.check_tag();
    }

    fn check_tag(&mut self) {
        let raw = self.raw;
        match (raw.messaging_type, raw.tag) {
            (Some(MessagingType::MessageTag), None) => self.error(
                "/messaging_type",
                "MESSAGE_TAG needs a `tag`",
                "add `tag: CUSTOMER_FEEDBACK`, or use `messaging_type: UTILITY` with an approved utility template",
            ),
            (Some(mt), Some(_)) if mt != MessagingType::MessageTag => self.error(
                "/tag",
                format!("`tag` only goes with `messaging_type: MESSAGE_TAG`, not {}", mt.as_str()),
                "remove `tag`, or set `messaging_type: MESSAGE_TAG`",
            ),
            _ => {}
        }
        if raw.messaging_type != Some(MessagingType::MessageTag) {
            return;
        }
        let Some(tag) = raw.tag else { return };
        match Rule::for_campaign(Provider::Graph, raw.messaging_type, Some(tag), TimeDelta::zero(), self.now) {
            Err(RuleError::HumanAgent) => self.error(
                "/tag",
                RuleError::HumanAgent.to_string(),
                "campaigns are automated: use UPDATE inside the 24-hour window, or UTILITY with an approved template",
            ),
            Err(e @ RuleError::Retired { .. }) => self.error(
                "/tag",
                e.to_string(),
                "use `messaging_type: UTILITY` with an approved utility `template` (and remove `tag`)",
            ),
            _ => {}
        }
        if tag == MessageTag::CustomerFeedback && !is_customer_feedback(raw.message.attachment.as_ref()) {
            self.error(
                "/tag",
                "CUSTOMER_FEEDBACK may only carry Meta's customer feedback template",
                "send `attachment: { type: template, payload: { template_type: customer_feedback, ... } }`",
            );
        }
    }

    fn pages(&mut self, margin: TimeDelta) -> Vec<Page> {
        let raw = self.raw;
        raw.pages
            .iter()
            .filter_map(|p| {
                let rule = Rule::for_campaign(p.provider, raw.messaging_type, raw.tag, margin, self.now).ok()?;
                let (id, token_env, daily_limit) = (p.id.clone(), p.token_env.clone(), p.daily_limit);
                Some(Page { id, provider: p.provider, token_env, rule, daily_limit })
            })
            .collect()
    }

    fn send_settings(&mut self) -> SendSettings {
        let d = SendSettings::default();
        let Some(s) = &self.raw.send else { return d };
        let rate = s.rate.unwrap_or(d.rate);
        if rate > 40 {
            self.warn("/send/rate", format!("{rate} messages per second per page: Meta puts pages over 40/s into high-volume mode, where they cannot send"), "keep the rate at 40 or below unless Meta enabled high-volume mode for the page");
        }
        SendSettings {
            concurrency: s.concurrency.unwrap_or(16) as usize,
            rate,
            max_attempts: s.max_attempts.unwrap_or(d.max_attempts),
            max_pause: self.duration("/send/max_pause", s.max_pause.as_ref().map(|d| d.0.as_str()), d.max_pause),
            retry_ambiguous: s.retry_ambiguous.unwrap_or(false),
            canary: self.canary(),
        }
    }

    fn schedule(&mut self) -> Option<Schedule> {
        let s = self.raw.schedule.as_ref()?;
        let catch_up =
            self.duration("/schedule/catch_up", s.catch_up.as_ref().map(|d| d.0.as_str()), TimeDelta::minutes(30));
        match Schedule::new(&s.cron, s.timezone.as_deref(), catch_up.num_seconds()) {
            Ok(schedule) => Some(schedule),
            Err(e) => {
                let at = format!("/schedule/{}", e.field());
                let hint = e.hint().to_string();
                self.error(&at, e.to_string(), hint);
                None
            }
        }
    }
}

pub(super) fn is_customer_feedback(a: Option<&AttachmentSpec>) -> bool {
    a.is_some_and(|a| {
        a.kind == AttachmentKind::Template
            && a.payload.as_ref().and_then(|p| p.get("template_type")).and_then(Value::as_str)
                == Some("customer_feedback")
    })
}

/// Page tokens are long base64-ish strings; Meta's start with `EAA`.
fn looks_like_a_token(name: &str) -> bool {
    name.starts_with("EAA") && name.len() > 30 || name.len() > 60
}
