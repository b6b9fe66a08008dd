//! Rules about the message: its form fits every page, Meta's limits on text,
//! quick replies and metadata, attachments and template payloads, and that
//! `{{ var }}` templates parse.

use serde_json::Value;

use super::Validator;
use crate::campaign::model::{AttachmentKind, MessagingType, ParameterKind, Provider, QuickReplyKind};
use crate::template::{MessageTemplate, limits};

impl Validator<'_> {
    pub(super) fn check_message_form(&mut self) {
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
        self.check_fixed_text_limits();
        self.check_attachment();
        self.check_utility_template();
    }

    fn check_limits(&mut self) {
        let m = &self.raw.message;
        if let Some(text) = m.text.as_deref().filter(|t| !is_templated(t)) {
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
                    if let Some(title) = q.title.as_deref().filter(|t| !is_templated(t)) {
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
                    if let Some(p) = q.payload.as_ref().filter(|p| !is_templated(p))
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

    /// minijinja's parser and renderer recurse once per operator, filter and
    /// block, on the sending threads too: a template of thousands of `-` or
    /// `|upper` overflows the stack. Templates are kept to a size that real
    /// messages never reach and that is far from any stack (see the tests).
    fn templates_within_bounds(&mut self) -> bool {
        let m = &self.raw.message;
        let mut strings: Vec<(String, &str)> = Vec::new();
        strings.extend(m.text.as_deref().map(|t| ("/message/text".to_string(), t)));
        for (i, q) in m.quick_replies.iter().flatten().enumerate() {
            strings.extend(q.title.as_deref().map(|t| (format!("/message/quick_replies/{i}/title"), t)));
            strings.extend(q.payload.as_deref().map(|t| (format!("/message/quick_replies/{i}/payload"), t)));
        }
        for (c, comp) in m.template.iter().flat_map(|t| t.components.iter().enumerate()) {
            for (p, param) in comp.parameters.iter().enumerate() {
                let at = format!("/message/template/components/{c}/parameters/{p}");
                for (field, value) in [("text", &param.text), ("payload", &param.payload), ("url", &param.url)] {
                    strings.extend(value.as_deref().map(|v| (format!("{at}/{field}"), v)));
                }
            }
        }
        let mut ok = true;
        for (at, text) in strings {
            if let Some(problem) = template_bounds(text) {
                self.error(
                    &at,
                    problem,
                    format!(
                        "keep a template to at most {MAX_TEMPLATE_TAGS} `{{{{ }}}}`/`{{% %}}` tags of at most {MAX_TAG_CHARS} characters and {MAX_TAG_NESTING} nested brackets each; compute long expressions into an audience column"
                    ),
                );
                ok = false;
            }
        }
        ok
    }

    /// A templated string whose fixed text alone breaks a limit fails for
    /// every recipient (SPEC §2), so the file is invalid.
    fn check_fixed_text_limits(&mut self) {
        let m = &self.raw.message;
        let mut checks: Vec<(String, &str, usize, &str)> = Vec::new();
        if let Some(t) = &m.text {
            checks.push(("/message/text".into(), t, limits::TEXT_BELOW - 1, "fewer than 2000"));
        }
        for (i, q) in m.quick_replies.iter().flatten().enumerate() {
            if let Some(t) = &q.title {
                checks.push((
                    format!("/message/quick_replies/{i}/title"),
                    t,
                    limits::QUICK_REPLY_TITLE_MAX,
                    "at most 20",
                ));
            }
            if let Some(p) = &q.payload {
                checks.push((
                    format!("/message/quick_replies/{i}/payload"),
                    p,
                    limits::QUICK_REPLY_PAYLOAD_MAX,
                    "at most 1000",
                ));
            }
        }
        let over: Vec<(String, usize, &str)> = checks
            .into_iter()
            .filter(|(_, text, _, _)| is_templated(text))
            .map(|(at, text, max, says)| (at, fixed_chars(text), max, says))
            .filter(|(_, n, max, _)| n > max)
            .map(|(at, n, _, says)| (at, n, says))
            .collect();
        for (at, n, says) in over {
            self.error(
                &at,
                format!(
                    "the fixed text of this template alone is {n} characters (its {{{{ }}}} parts not counted); Meta takes {says}, so every recipient would fail"
                ),
                "shorten the fixed text",
            );
        }
    }

    pub(super) fn message(&mut self) -> Option<MessageTemplate> {
        if !self.templates_within_bounds() {
            return None;
        }
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
}

/// Tags (`{{ }}`, `{% %}`, `{# #}`) one templated string may hold.
const MAX_TEMPLATE_TAGS: usize = 100;
/// Characters inside one tag.
const MAX_TAG_CHARS: usize = 300;
/// Brackets (`(`, `[`, `{`) nested inside one tag.
const MAX_TAG_NESTING: usize = 20;

/// Why a template is too large to compile safely, if it is.
fn template_bounds(source: &str) -> Option<String> {
    let mut tags = 0usize;
    for (start, _) in source.match_indices('{') {
        let rest = &source[start + 1..];
        let close = match rest.as_bytes().first() {
            Some(b'{') => "}}",
            Some(b'%') => "%}",
            Some(b'#') => "#}",
            _ => continue,
        };
        tags += 1;
        if tags > MAX_TEMPLATE_TAGS {
            return Some(format!("the template has more than {MAX_TEMPLATE_TAGS} tags"));
        }
        let inner = &rest[1..];
        let len = inner.find(close).unwrap_or(inner.len());
        let chars = inner[..len].chars().count();
        if chars > MAX_TAG_CHARS {
            return Some(format!("a template tag holds {chars} characters"));
        }
        let mut depth = 0usize;
        for b in inner[..len].bytes() {
            match b {
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            }
            if depth > MAX_TAG_NESTING {
                return Some(format!("a template tag nests brackets deeper than {MAX_TAG_NESTING} levels"));
            }
        }
    }
    None
}

fn is_templated(text: &str) -> bool {
    text.contains("{{") || text.contains("{%") || text.contains("{#")
}

/// Where the next `{{`, `{%` or `{#` starts.
fn next_tag(text: &str) -> Option<usize> {
    text.match_indices('{').map(|(i, _)| i).find(|&i| matches!(text.as_bytes().get(i + 1), Some(b'{' | b'%' | b'#')))
}

/// The characters a template always prints: the text outside `{{ }}`,
/// `{% %}` and `{# #}`, and outside every block (`{% if %}`, `{% for %}`,
/// ...), whose body may not print. It never counts more than any rendering
/// prints, so a string over a limit by this count is over it for everyone.
fn fixed_chars(source: &str) -> usize {
    const OPENERS: [&str; 9] = ["if", "for", "macro", "call", "filter", "block", "raw", "with", "autoescape"];
    let mut rest = source;
    let mut depth = 0usize;
    let mut count = 0usize;
    let mut trim_next = false;
    loop {
        let next = next_tag(rest);
        let (literal, tag) = match next {
            Some(i) => (&rest[..i], Some(&rest[i..])),
            None => (rest, None),
        };
        let mut literal = if trim_next { literal.trim_start() } else { literal };
        if tag.is_some_and(|t| t[2..].starts_with('-')) {
            literal = literal.trim_end();
        }
        if depth == 0 {
            count += literal.chars().count();
        }
        let Some(tag) = tag else { return count };
        let close = match &tag[..2] {
            "{{" => "}}",
            "{%" => "%}",
            _ => "#}",
        };
        let Some(end) = tag[2..].find(close) else { return count };
        let inner = &tag[2..2 + end];
        trim_next = inner.ends_with('-');
        if tag.starts_with("{%") {
            let word = inner.trim_matches(['-', '+', ' ', '\t', '\n', '\r']).split_whitespace().next().unwrap_or("");
            if word.starts_with("end") {
                depth = depth.saturating_sub(1);
            } else if OPENERS.contains(&word) || (word == "set" && !inner.contains('=')) {
                depth += 1;
            }
        }
        rest = &tag[2 + end + close.len()..];
    }
}

#[cfg(test)]
mod tests {
    use super::{MAX_TAG_CHARS, MAX_TAG_NESTING, MAX_TEMPLATE_TAGS, fixed_chars, template_bounds};
    use crate::template::MessageTemplate;

    /// The largest templates the bounds let through compile and render on a
    /// 1 MiB stack (tokio's workers have 2 MiB) in a debug build.
    #[test]
    fn templates_at_the_bounds_compile_and_render_on_a_small_stack() {
        let n = MAX_TAG_CHARS - 4;
        let nested = MAX_TEMPLATE_TAGS / 2;
        let worst = [
            format!("{{{{ {}x }}}}", "-".repeat(n)),
            format!("{{{{ {}x }}}}", "not ".repeat(n / 4)),
            format!("{{{{ x{} }}}}", "+x".repeat(n / 2)),
            format!("{{{{ x{} }}}}", "|upper".repeat(n / 6)),
            format!("{{{{ {}x{} }}}}", "(".repeat(MAX_TAG_NESTING), ")".repeat(MAX_TAG_NESTING)),
            format!("{{{{ {}{} }}}}", "[".repeat(MAX_TAG_NESTING), "]".repeat(MAX_TAG_NESTING)),
            format!("{}x{}", "{% if x %}".repeat(nested), "{% endif %}".repeat(nested)),
            format!("{}x{}", "{% for i in [1] %}".repeat(nested), "{% endfor %}".repeat(nested)),
            "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}".to_string(),
            "{% set f = self %}{% include 'x' %}{{ x }}".to_string(),
        ];
        for source in worst {
            assert_eq!(template_bounds(&source), None, "{source}");
            std::thread::Builder::new()
                .stack_size(1024 * 1024)
                .spawn(move || {
                    let spec = serde_json::from_value(serde_json::json!({ "text": source })).unwrap();
                    if let Ok(t) = MessageTemplate::compile(&spec) {
                        let _ = t.render([("x", "1")]);
                    }
                })
                .unwrap()
                .join()
                .unwrap();
        }
    }

    #[test]
    fn templates_over_the_bounds_are_named() {
        assert!(template_bounds(&format!("{{{{ {}x }}}}", "-".repeat(5000))).unwrap().contains("5003 characters"));
        assert!(template_bounds(&"{{ x }}".repeat(101)).unwrap().contains("more than 100 tags"));
        assert_eq!(template_bounds("Hi {{ first_name }}, {not a tag}"), None);
        assert!(template_bounds(&format!("{{{{ {}x }}}}", "(".repeat(21))).unwrap().contains("deeper than 20"));
    }

    #[test]
    fn fixed_text_leaves_out_expressions_comments_and_blocks() {
        assert_eq!(fixed_chars("Hi {{ name }}, bye"), 8);
        assert_eq!(fixed_chars("a{# note #}b"), 2);
        assert_eq!(fixed_chars("x{% if a %}long text{% else %}other{% endif %}y"), 2);
        assert_eq!(fixed_chars("x{% for i in l %}{% if i %}t{% endif %}u{% endfor %}y"), 2);
        assert_eq!(fixed_chars("a  {{- b -}}  c"), 2);
        assert_eq!(fixed_chars("{% set x = 1 %}ab"), 2);
        assert_eq!(fixed_chars("é{{ unclosed"), 1);
    }
}
