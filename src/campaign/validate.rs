//! The rules no schema can say (SPEC §2, §3), and the one constructor of
//! [`Campaign`].
//!
//! Every rule adds diagnostics rather than returning early, so a file with
//! five problems shows five errors in one run. Each diagnostic points at the
//! field that must change.

use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;

use super::diagnostic::Diagnostic;
use super::load::{Loaded, load_file};
use super::model::{
    AttachmentKind, AttachmentSpec, MessageTag, MessagingType, ParameterKind, Provider, QuickReplyKind, RawCampaign,
};
use super::{Audience, AudienceSource, Campaign, Page, SendSettings, Suppress, schema};
use crate::audience::{self, Recipient};
use crate::policy::{Rule, RuleError};
use crate::schedule::Schedule;
use crate::template::{MessageTemplate, limits};

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
        let audiences = self.audiences();
        let suppress = self.suppress();
        let schedule = self.schedule();
        let message = self.message();
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

    fn check_message_form(&mut self) {
        let m = &self.raw.message;
        let forms: Vec<&str> = [
            ("payload_id", m.payload_id.is_some()),
            ("text", m.text.is_some()),
            ("attachment", m.attachment.is_some()),
            ("template", m.template.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect();
        match forms.as_slice() {
            [] => {
                self.error(
                    "/message",
                    "the message has no content",
                    "give exactly one of `payload_id`, `text`, `attachment`, `template`",
                );
                return;
            }
            [_] => {}
            [_, second, ..] => {
                self.error_at_key(
                    &format!("/message/{second}"),
                    format!(
                        "a message has exactly one of payload_id, text, attachment, template; this one has {}",
                        forms.join(" and ")
                    ),
                    "keep one of them; send another form as a separate campaign",
                );
                return;
            }
        }
        let form = forms[0];
        let raw = self.raw;
        for (i, page) in raw.pages.iter().enumerate() {
            let fits = (form == "payload_id") == (page.provider == Provider::Harasocial);
            if !fits {
                let (what, fix) = match page.provider {
                    Provider::Harasocial => (
                        "harasocial pages send only `payload_id` (a Harasocial flow)",
                        "use `payload_id: __hrf_f_...`, or make the page `provider: graph`",
                    ),
                    Provider::Graph => (
                        "graph pages send `text`, `attachment` or `template`, not `payload_id`",
                        "send the flow from a `provider: harasocial` page, or write the message as `text`",
                    ),
                };
                self.error_at_key(
                    &format!("/message/{form}"),
                    format!("this `{form}` message does not fit page {} (pages[{i}]): {what}", page.id),
                    fix,
                );
            }
        }
        if m.quick_replies.is_some() && !matches!(form, "text" | "attachment") {
            self.error_at_key(
                "/message/quick_replies",
                "quick replies go only with `text` or `attachment`",
                "remove `quick_replies`",
            );
        }
        match (raw.messaging_type, form) {
            (Some(MessagingType::Utility), f) if f != "template" => self.error(
                "/messaging_type",
                "UTILITY sends only an approved utility `template`",
                "write the message as `template: { name, language, components }`, or use UPDATE inside the window",
            ),
            (Some(mt), "template") if mt != MessagingType::Utility => self.error(
                "/messaging_type",
                format!("a utility `template` is sent with `messaging_type: UTILITY`, not {}", mt.as_str()),
                "set `messaging_type: UTILITY`",
            ),
            _ => {}
        }
        self.check_limits();
        self.check_attachment();
        self.check_utility_template();
    }

    fn check_limits(&mut self) {
        let m = &self.raw.message;
        if let Some(text) = m.text.as_deref().filter(|t| !t.contains("{{")) {
            let n = text.chars().count();
            if n >= limits::TEXT_BELOW {
                self.error(
                    "/message/text",
                    format!("the text is {n} characters; Meta takes fewer than {}", limits::TEXT_BELOW),
                    "shorten it, or split it into two campaigns",
                );
            }
            if text.trim().is_empty() {
                self.error("/message/text", "the text is empty", "write the message, or remove `text`");
            }
        }
        if let Some(meta) = &m.metadata {
            let n = meta.chars().count();
            if self.has_provider(Provider::Graph) && n >= limits::GRAPH_METADATA_BELOW {
                self.error(
                    "/message/metadata",
                    format!("metadata is {n} characters; Meta takes fewer than {}", limits::GRAPH_METADATA_BELOW),
                    "shorten it",
                );
            }
            if self.has_provider(Provider::Harasocial) && n > limits::HARASOCIAL_METADATA_MAX {
                self.error(
                    "/message/metadata",
                    format!("metadata is {n} characters; Harasocial takes at most {}", limits::HARASOCIAL_METADATA_MAX),
                    "shorten it",
                );
            }
        }
        let replies = m.quick_replies.as_deref().unwrap_or_default();
        if replies.len() > limits::QUICK_REPLIES_MAX {
            self.error(
                "/message/quick_replies",
                format!("{} quick replies; Meta takes at most {}", replies.len(), limits::QUICK_REPLIES_MAX),
                "keep the 13 that matter most",
            );
        }
        for (i, q) in replies.iter().enumerate() {
            let at = format!("/message/quick_replies/{i}");
            match q.content_type.unwrap_or(QuickReplyKind::Text) {
                QuickReplyKind::Text => {
                    if q.title.is_none() || q.payload.is_none() {
                        self.error(
                            &at,
                            "a text quick reply needs `title` and `payload`",
                            "write `{ title: Track, payload: TRACK_ORDER }`",
                        );
                    }
                    if let Some(title) = q.title.as_deref().filter(|t| !t.contains("{{")) {
                        let n = title.chars().count();
                        if n > limits::QUICK_REPLY_TITLE_MAX {
                            self.error(
                                &format!("{at}/title"),
                                format!(
                                    "the title is {n} characters; Meta takes at most {}",
                                    limits::QUICK_REPLY_TITLE_MAX
                                ),
                                "shorten it",
                            );
                        }
                    }
                    if let Some(p) = &q.payload
                        && p.chars().count() > limits::QUICK_REPLY_PAYLOAD_MAX
                    {
                        self.error(&format!("{at}/payload"), "the payload is over 1000 characters", "shorten it");
                    }
                }
                kind => {
                    if q.title.is_some() || q.payload.is_some() || q.image_url.is_some() {
                        self.error(
                            &at,
                            format!("a {kind:?} quick reply takes no title, payload or image_url"),
                            "remove them; Messenger fills the button itself",
                        );
                    }
                }
            }
        }
    }

    fn check_attachment(&mut self) {
        let Some(a) = &self.raw.message.attachment else { return };
        let at = "/message/attachment";
        if a.kind == AttachmentKind::Template {
            if a.url.is_some() || a.attachment_id.is_some() {
                self.error(
                    at,
                    "a template attachment takes `payload`, not `url` or `attachment_id`",
                    "remove `url`/`attachment_id`",
                );
            }
            match &a.payload {
                None => self.error(
                    at,
                    "a template attachment needs `payload` (Meta's template JSON)",
                    "add `payload: { template_type: generic, elements: [...] }`",
                ),
                Some(p) => self.check_template_payload(p),
            }
            return;
        }
        if a.payload.is_some() {
            self.error_at_key(
                &format!("{at}/payload"),
                "only `type: template` takes a payload",
                "remove `payload`; give `url` or `attachment_id`",
            );
        }
        match (&a.url, &a.attachment_id) {
            (None, None) => self.error(
                at,
                format!("an {} attachment needs `url` or `attachment_id`", a.kind.as_str()),
                "add `url: https://...`",
            ),
            (Some(_), Some(_)) => self.error_at_key(
                &format!("{at}/attachment_id"),
                "give `url` or `attachment_id`, not both",
                "remove one",
            ),
            (Some(url), None) if !url.starts_with("https://") => {
                self.error(&format!("{at}/url"), "the media URL must start with https://", "host the file on https")
            }
            _ => {}
        }
        if matches!(a.kind, AttachmentKind::Audio | AttachmentKind::Video) {
            let rate = self.raw.send.as_ref().and_then(|s| s.rate).unwrap_or(20);
            if rate > 10 {
                self.error(
                    "/send/rate",
                    format!(
                        "{} attachments may be sent at most 10 per second per page (Meta's limit); the rate is {rate}",
                        a.kind.as_str()
                    ),
                    "set `send: { rate: 10 }` or lower",
                );
            }
        }
    }

    fn check_template_payload(&mut self, p: &serde_json::Map<String, Value>) {
        let at = "/message/attachment/payload";
        let kind = p.get("template_type").and_then(Value::as_str);
        match kind {
            None => self.error(
                at,
                "the template payload needs `template_type`",
                "add `template_type: generic` (or button, customer_feedback)",
            ),
            Some("generic") => {
                let elements = p.get("elements").and_then(Value::as_array);
                match elements {
                    None => self.error(at, "a generic template needs `elements`", "add `elements: [{ title: ... }]`"),
                    Some(e) if e.is_empty() || e.len() > 10 => self.error(
                        &format!("{at}/elements"),
                        format!("a generic template has 1 to 10 elements; this one has {}", e.len()),
                        "keep at most 10",
                    ),
                    Some(e) => {
                        for (i, el) in e.iter().enumerate() {
                            let n = el.get("buttons").and_then(Value::as_array).map_or(0, Vec::len);
                            if n > 3 {
                                self.error(
                                    &format!("{at}/elements/{i}/buttons"),
                                    format!("an element has at most 3 buttons; this one has {n}"),
                                    "keep at most 3",
                                );
                            }
                        }
                    }
                }
            }
            Some("button") => {
                let n = p.get("buttons").and_then(Value::as_array).map_or(0, Vec::len);
                if !(1..=3).contains(&n) {
                    self.error(
                        at,
                        format!("a button template has 1 to 3 buttons; this one has {n}"),
                        "keep 1 to 3 buttons",
                    );
                }
            }
            Some("customer_feedback") => {}
            Some(other) => self.error(
                &format!("{at}/template_type"),
                format!("template_type \"{other}\" is not one pagecast sends"),
                "use generic, button or customer_feedback",
            ),
        }
    }

    fn check_utility_template(&mut self) {
        let Some(t) = &self.raw.message.template else { return };
        for (c, comp) in t.components.iter().enumerate() {
            for (p, param) in comp.parameters.iter().enumerate() {
                let (field, value) = match param.kind {
                    ParameterKind::Text => ("text", &param.text),
                    ParameterKind::Postback => ("payload", &param.payload),
                    ParameterKind::Url => ("url", &param.url),
                };
                if value.is_none() {
                    self.error(
                        &format!("/message/template/components/{c}/parameters/{p}"),
                        format!("a {:?} parameter needs `{field}`", param.kind).to_lowercase(),
                        format!("add `{field}: ...`"),
                    );
                }
            }
        }
    }

    fn message(&mut self) -> Option<MessageTemplate> {
        match MessageTemplate::compile(&self.raw.message) {
            Ok(m) => Some(m),
            Err(errors) => {
                for e in errors {
                    self.error(
                        &e.pointer,
                        format!("the template does not parse: {}", e.message),
                        "write variables as `{{ name }}`; a literal `{{` is written `{{ '{{' }}`",
                    );
                }
                None
            }
        }
    }

    fn pages(&mut self, margin: TimeDelta) -> Vec<Page> {
        let raw = self.raw;
        raw.pages
            .iter()
            .filter_map(|p| {
                let rule = Rule::for_campaign(p.provider, raw.messaging_type, raw.tag, margin, self.now).ok()?;
                Some(Page { id: p.id.clone(), provider: p.provider, token_env: p.token_env.clone(), rule })
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
        }
    }

    fn audiences(&mut self) -> Vec<Audience> {
        let raw = self.raw;
        let ids: Vec<&str> = raw.pages.iter().map(|p| p.id.as_str()).collect();
        let mut out = Vec::new();
        for (i, a) in raw.audiences.iter().enumerate() {
            let at = format!("/audiences/{i}");
            let page = raw.pages.iter().find(|p| p.id == a.page);
            if page.is_none() {
                self.error(
                    &format!("{at}/page"),
                    format!("page \"{}\" is not one of this campaign's pages", a.page),
                    format!("use one of: {}", ids.join(", ")),
                );
            }
            let kinds = [a.file.is_some(), a.recipients.is_some(), a.conversations.is_some()];
            if kinds.iter().filter(|k| **k).count() != 1 {
                self.error(
                    &at,
                    "an audience has exactly one of `file`, `recipients`, `conversations`",
                    "split it into one audience per source",
                );
                continue;
            }
            let source = if let Some(file) = &a.file {
                self.audience_file(&format!("{at}/file"), file)
            } else if let Some(rows) = &a.recipients {
                Some(AudienceSource::Inline(self.inline(&at, rows)))
            } else {
                let c = a.conversations.as_ref().expect("one of three");
                if page.is_some_and(|p| p.provider != Provider::Graph) {
                    self.error_at_key(
                        &format!("{at}/conversations"),
                        "conversations are read from the Graph API: only for graph pages",
                        "list the recipients in a file instead",
                    );
                }
                let within =
                    self.duration(&format!("{at}/conversations/within"), Some(&c.within.0), TimeDelta::days(1));
                Some(AudienceSource::Conversations(within))
            };
            if let Some(source) = source {
                out.push(Audience { page: a.page.clone(), source });
            }
        }
        out
    }

    fn audience_file(&mut self, at: &str, file: &str) -> Option<AudienceSource> {
        let path = self.dir().join(file);
        let is = |ext: &str| file.to_ascii_lowercase().ends_with(ext);
        let source = if is(".csv") {
            AudienceSource::Csv(path.clone())
        } else if is(".jsonl") || is(".ndjson") {
            AudienceSource::Jsonl(path.clone())
        } else {
            self.error(
                at,
                format!("\"{file}\" is neither .csv nor .jsonl"),
                "give an audience file ending in .csv or .jsonl",
            );
            return None;
        };
        match std::fs::metadata(&path) {
            Ok(m) if m.is_file() => {}
            Ok(_) => self.error(at, format!("{} is not a file", path.display()), "name a .csv or .jsonl file"),
            Err(e) => self.error(
                at,
                format!("cannot open {}: {e}", path.display()),
                "paths are relative to the campaign file; check the spelling",
            ),
        }
        if let AudienceSource::Csv(p) = &source {
            self.check_csv_columns(at, p);
        }
        Some(source)
    }

    fn check_csv_columns(&mut self, at: &str, path: &Path) {
        let Ok(header) = audience::csv::read_header(path) else { return };
        if !header.iter().any(|h| h == "id") {
            self.error(
                at,
                format!("{} has no `id` column (its header is: {})", path.display(), header.join(",")),
                "the first line must name the columns, with one called `id`",
            );
            return;
        }
        let vars = self.template_variables();
        let missing: Vec<&String> = vars.iter().filter(|v| !header.iter().any(|h| h == *v)).collect();
        if !missing.is_empty() {
            let names: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
            self.warn(
                at,
                format!("the message uses {} but {} has no such column", names.join(", "), path.display()),
                "add the column, or its recipients are skipped as template_error unless another audience provides it",
            );
        }
    }

    fn template_variables(&self) -> Vec<String> {
        MessageTemplate::compile(&self.raw.message).map(|m| m.variables().iter().cloned().collect()).unwrap_or_default()
    }

    fn inline(&mut self, at: &str, rows: &[super::model::InlineRecipient]) -> Vec<Recipient> {
        let mut out = Vec::with_capacity(rows.len());
        for (j, row) in rows.iter().enumerate() {
            let row_at = format!("{at}/recipients/{j}");
            let last = match row.last_interaction.as_deref().map(|t| audience::parse_time(t, self.now)) {
                None => None,
                Some(Ok(t)) => Some(t),
                Some(Err(e)) => {
                    self.error(&format!("{row_at}/last_interaction"), e.message(), e.hint());
                    continue;
                }
            };
            let vars = audience::Vars::from_pairs(row.vars.iter().map(|(k, v)| (k.as_str(), v.to_text())));
            out.push(Recipient { id: row.id.clone(), last_interaction: last, vars });
        }
        out
    }

    fn suppress(&mut self) -> Vec<Suppress> {
        let raw = self.raw;
        let ids: Vec<&str> = raw.pages.iter().map(|p| p.id.as_str()).collect();
        let mut out = Vec::new();
        for (i, s) in raw.suppress.iter().enumerate() {
            if !ids.contains(&s.page.as_str()) {
                self.error(
                    &format!("/suppress/{i}/page"),
                    format!("page \"{}\" is not one of this campaign's pages", s.page),
                    format!("use one of: {}", ids.join(", ")),
                );
            }
            let path = self.dir().join(&s.file);
            match audience::csv::read_header(&path) {
                Ok(h) if h.iter().any(|c| c == "id") => {}
                Ok(h) => self.error(
                    &format!("/suppress/{i}/file"),
                    format!("{} has no `id` column (its header is: {})", path.display(), h.join(",")),
                    "an opt-out list is a CSV with an `id` column",
                ),
                Err(e) => self.error(
                    &format!("/suppress/{i}/file"),
                    format!("cannot read {}: {e}", path.display()),
                    "paths are relative to the campaign file; check the spelling",
                ),
            }
            out.push(Suppress { page: s.page.clone(), file: path });
        }
        out
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

fn is_customer_feedback(a: Option<&AttachmentSpec>) -> bool {
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
