//! The editor's half of the campaign schema: what the committed
//! `schema/campaign.schema.json` says beyond the structure `validate` checks
//! with (see [`super::schema_json`]).
//!
//! An editor has only the schema, so here the schema says every rule that
//! JSON Schema can say: one message form, the `if`/`then` rules between
//! `messaging_type`, `tag`, the message and the pages' providers, Meta's
//! limits, cron lines and time zones, plus the annotations that
//! yaml-language-server reads (`markdownDescription`, `enumDescriptions`,
//! `deprecationMessage`, `doNotSuggest`, `errorMessage`).
//!
//! Every rule here restates a rule of `validate` (or a narrower part of one),
//! so the schema never rejects a file that `pagecast validate` accepts; the
//! tests in `tests/schema.rs` hold it to that. Two consequences shape it:
//! - Lengths are counted in Unicode scalar values, as SPEC §2 does. `maxLength`
//!   would be counted in UTF-16 units by yaml-language-server (an emoji counts
//!   2), so length limits are patterns such as `^[\s\S]{0,20}$`, which every
//!   validator (and the editor, which compiles patterns with the `u` flag)
//!   counts in code points. Templated strings (`{{`) are exempt, as in
//!   `validate`.
//! - A rule that holds only for some data is written so that other data
//!   passes (`anyOf: [{not: {type: array}}, {type: array, ...}]`), which also
//!   keeps ajv's strict mode satisfied.

use serde_json::{Map, Value, json};

/// Adds the editor's rules and annotations to the core schema.
pub(super) fn extend(schema: &mut Value) {
    root_rules(schema);
    message_rules(schema);
    audience_rules(schema);
    recipient_rules(schema);
    schedule_rules(schema);
    page_rules(schema);
    describe_enums(schema);
    let defs = schema["$defs"].clone();
    inline_described_refs(schema, &defs);
    add_markdown(schema);
    declare_required(schema);
}

// ---------------------------------------------------------------------------
// Helpers

fn def<'a>(schema: &'a mut Value, name: &str) -> &'a mut Map<String, Value> {
    schema["$defs"][name].as_object_mut().unwrap_or_else(|| panic!("no $defs/{name} in the generated schema"))
}

fn prop<'a>(object: &'a mut Map<String, Value>, name: &str) -> &'a mut Map<String, Value> {
    object
        .get_mut("properties")
        .and_then(|p| p.get_mut(name))
        .and_then(Value::as_object_mut)
        .unwrap_or_else(|| panic!("no property {name}"))
}

fn all_of(object: &mut Map<String, Value>, rule: Value) {
    match object.entry("allOf").or_insert_with(|| json!([])) {
        Value::Array(rules) => rules.push(rule),
        _ => unreachable!("allOf is a list"),
    }
}

fn merge(object: &mut Map<String, Value>, extra: Value) {
    if let Value::Object(extra) = extra {
        object.extend(extra);
    }
}

/// `schema` for values of JSON type `kind`; values of other types pass.
fn for_type(kind: &str, schema: Value) -> Value {
    let mut typed = json!({ "type": kind });
    if let (Value::Object(t), Value::Object(s)) = (&mut typed, schema) {
        t.extend(s);
    }
    json!({ "anyOf": [{ "not": { "type": kind } }, typed] })
}

/// A string of at most `max` characters (code points), unless templated.
fn at_most_chars(max: usize, templated_exempt: bool) -> String {
    if templated_exempt {
        format!(r"^(?:[\s\S]{{0,{max}}}|[\s\S]*\{{\{{[\s\S]*)$")
    } else {
        format!(r"^[\s\S]{{0,{max}}}$")
    }
}

/// Some character that is not white space to Rust's `str::trim` (the
/// Unicode `White_Space` property, spelled out: `\s` differs between
/// JavaScript, Python and Rust).
const WHITE_SPACE: &str = r"\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";

fn not_only_space() -> String {
    format!("[^{WHITE_SPACE}]")
}

/// The condition "the campaign's page list has a page with this provider".
fn has_provider(provider: &str) -> Value {
    json!({
        "required": ["pages"],
        "properties": { "pages": { "type": "array", "contains": {
            "type": "object", "required": ["provider"], "properties": { "provider": { "const": provider } }
        } } }
    })
}

/// The condition "every page has this provider".
fn all_providers(provider: &str) -> Value {
    json!({
        "required": ["pages"],
        "properties": { "pages": { "type": "array", "items": {
            "type": "object", "required": ["provider"], "properties": { "provider": { "const": provider } }
        } } }
    })
}

/// The condition "the message has this field".
fn message_has(field: &str) -> Value {
    json!({ "required": ["message"], "properties": { "message": { "type": "object", "required": [field] } } })
}

// ---------------------------------------------------------------------------
// Rules

/// `messaging_type`, `tag` and `notification_type` against the providers and
/// the message form (SPEC §2, §3).
fn root_rules(schema: &mut Value) {
    let root = schema.as_object_mut().expect("the root schema is an object");
    let rules = [
        json!({
            "if": has_provider("graph"),
            "then": { "required": ["messaging_type"],
                      "errorMessage": "Missing `messaging_type`: the campaign has graph pages. Add `messaging_type: UPDATE` (or RESPONSE, MESSAGE_TAG, UTILITY)." }
        }),
        json!({
            "if": all_providers("harasocial"),
            "then": { "properties": { "messaging_type": false, "tag": false, "notification_type": false },
                      "errorMessage": "Harasocial pages take no messaging_type, tag or notification_type: remove it." }
        }),
        json!({
            "if": all_providers("harasocial"),
            "then": { "properties": { "audiences": { "type": "array", "items": {
                "type": "object",
                "properties": { "conversations": false },
                "errorMessage": "Conversations are read from the Graph API: only for graph pages. List the recipients in a file instead."
            } } } }
        }),
        json!({
            "if": { "required": ["tag"] },
            "then": { "required": ["messaging_type"],
                      "errorMessage": "`tag` goes with `messaging_type: MESSAGE_TAG`." }
        }),
        json!({
            "if": { "required": ["messaging_type"],
                    "properties": { "messaging_type": { "not": { "const": "MESSAGE_TAG" } } } },
            "then": { "properties": { "tag": false },
                      "errorMessage": "`tag` only goes with `messaging_type: MESSAGE_TAG`: remove `tag`, or set `messaging_type: MESSAGE_TAG`." }
        }),
        json!({
            "if": { "not": { "required": ["tag"] } },
            "then": { "properties": { "messaging_type": {
                "enum": ["RESPONSE", "UPDATE", "UTILITY"],
                "errorMessage": "MESSAGE_TAG needs a `tag`: add `tag: CUSTOMER_FEEDBACK`, or use `messaging_type: UTILITY` with an approved utility template."
            } } }
        }),
        json!({
            "if": { "not": message_has("template") },
            "then": { "properties": { "messaging_type": {
                "enum": ["RESPONSE", "UPDATE", "MESSAGE_TAG"],
                "errorMessage": "UTILITY sends only an approved utility `template`: write the message as `template: { name, language, components }`, or use UPDATE inside the window."
            } } }
        }),
        json!({
            "if": message_has("template"),
            "then": { "properties": { "messaging_type": {
                "const": "UTILITY",
                "errorMessage": "A utility `template` is sent with `messaging_type: UTILITY`."
            } } }
        }),
        json!({
            "if": { "not": customer_feedback_message() },
            "then": { "properties": { "tag": {
                "not": { "const": "CUSTOMER_FEEDBACK" },
                "errorMessage": "CUSTOMER_FEEDBACK may only carry Meta's customer feedback template: send `attachment: { type: template, payload: { template_type: customer_feedback, ... } }`."
            } } }
        }),
        json!({
            "if": { "required": ["message"], "properties": { "message": { "type": "object", "required": ["attachment"],
                "properties": { "attachment": { "type": "object", "required": ["type"],
                    "properties": { "type": { "enum": ["audio", "video"] } } } } } } },
            "then": {
                "required": ["send"],
                "properties": { "send": { "type": "object", "required": ["rate"],
                    "properties": { "rate": { "type": "integer", "maximum": 10,
                        "errorMessage": "Audio and video attachments may be sent at most 10 per second per page (Meta's limit): set `send: { rate: 10 }` or lower." } } } },
                "errorMessage": "Audio and video attachments need `send: { rate: 10 }` or lower (the default rate is 20; Meta's limit for them is 10)."
            }
        }),
        json!({
            "if": has_provider("graph"),
            "then": { "properties": { "message": { "type": "object", "properties": {
                "payload_id": false,
                "metadata": { "type": "string", "pattern": at_most_chars(999, false), "errorMessage": "Meta takes metadata of fewer than 1000 characters." }
            }, "errorMessage": "Graph pages send `text`, `attachment` or `template`, not `payload_id`." } } }
        }),
        json!({
            "if": has_provider("harasocial"),
            "then": { "properties": { "message": { "type": "object", "properties": {
                "text": false, "attachment": false, "template": false,
                "metadata": { "type": "string", "pattern": at_most_chars(500, false), "errorMessage": "Harasocial takes metadata of at most 500 characters." }
            }, "errorMessage": "Harasocial pages send only `payload_id` (a Harasocial flow)." } } }
        }),
    ];
    rules.into_iter().for_each(|rule| all_of(root, rule));
    tag_property(prop(root, "tag"));
    // The tag's values are described in `tag_property`; the bare enum is unused.
    root.get_mut("$defs").and_then(Value::as_object_mut).map(|defs| defs.remove("MessageTag"));
}

/// `message.attachment` is Meta's customer feedback template.
fn customer_feedback_message() -> Value {
    json!({ "required": ["message"], "properties": { "message": { "type": "object", "required": ["attachment"],
        "properties": { "attachment": { "type": "object", "required": ["type", "payload"], "properties": {
            "type": { "const": "template" },
            "payload": { "type": "object", "required": ["template_type"],
                         "properties": { "template_type": { "const": "customer_feedback" } } }
        } } } } } })
}

const RETIRED_TAGS: &str = "^(?:ACCOUNT_UPDATE|CONFIRMED_EVENT_UPDATE|POST_PURCHASE_UPDATE)$";

/// The `tag` field: CUSTOMER_FEEDBACK is offered; the retired tags are
/// accepted (before 2026-04-27 they worked) but deprecated and never offered;
/// HUMAN_AGENT is refused (Meta forbids it for automated messages).
fn tag_property(tag: &mut Map<String, Value>) {
    let description = tag.get("description").cloned().unwrap_or_default();
    tag.clear();
    merge(
        tag,
        json!({
            "description": description,
            "type": "string",
            "anyOf": [
                { "const": "CUSTOMER_FEEDBACK", "description": "A customer feedback survey: Meta's `customer_feedback` template (an `attachment` of `type: template`), sent within 7 days of the person's last message." },
                { "pattern": RETIRED_TAGS, "deprecated": true, "doNotSuggest": true }
            ],
            "allOf": [
                { "if": { "const": "HUMAN_AGENT" }, "then": { "deprecated": true,
                  "deprecationMessage": "HUMAN_AGENT is for replies typed by a person; Meta forbids it for automated messages. Use UPDATE inside the 24-hour window, or UTILITY with an approved utility template." } },
                { "if": { "pattern": RETIRED_TAGS }, "then": { "deprecated": true,
                  "deprecationMessage": "Meta retired this tag on 2026-04-27 (requests fail with error 100): use `messaging_type: UTILITY` with an approved utility `template`, and remove `tag`." } }
            ]
        }),
    );
}

/// One message form, Meta's limits, quick replies, attachments, templates.
fn message_rules(schema: &mut Value) {
    let message = def(schema, "MessageSpec");
    let forms = ["payload_id", "text", "attachment", "template"];
    let one_form = "The message has exactly one of `payload_id`, `text`, `attachment`, `template`.";
    message
        .insert("oneOf".into(), forms.iter().map(|f| json!({ "required": [f], "errorMessage": one_form })).collect());
    // Two forms: the later one is at fault, as `validate` says.
    let dependent: Map<String, Value> = forms
        .iter()
        .enumerate()
        .filter(|(i, _)| *i + 1 < forms.len())
        .map(|(i, form)| {
            let later: Map<String, Value> = forms[i + 1..].iter().map(|f| (f.to_string(), json!(false))).collect();
            let text = "A message has exactly one of payload_id, text, attachment, template: keep one of them.";
            (form.to_string(), json!({ "properties": later, "errorMessage": text }))
        })
        .collect();
    message.insert("dependentSchemas".into(), Value::Object(dependent));
    all_of(
        message,
        json!({
            "if": { "anyOf": [{ "required": ["template"] }, { "required": ["payload_id"] }] },
            "then": { "properties": { "quick_replies": false },
                      "errorMessage": "Quick replies go only with `text` or `attachment`: remove `quick_replies`." }
        }),
    );
    merge(
        prop(message, "text"),
        json!({
            "allOf": [{ "pattern": not_only_space() }, { "pattern": at_most_chars(1999, true) }],
            "errorMessage": "Meta takes a text of 1 to 1999 characters, not only spaces."
        }),
    );
    merge(
        prop(message, "quick_replies"),
        json!({ "maxItems": 13, "errorMessage": "Meta takes at most 13 quick replies." }),
    );

    let reply = def(schema, "QuickReply");
    all_of(
        reply,
        json!({
            "if": { "required": ["content_type"], "properties": { "content_type": { "enum": ["user_phone_number", "user_email"] } } },
            "then": { "properties": { "title": false, "payload": false, "image_url": false },
                      "errorMessage": "This quick reply takes no title, payload or image_url: Messenger fills the button itself." },
            "else": { "required": ["title", "payload"],
                      "errorMessage": "A text quick reply needs `title` and `payload`, e.g. `{ title: Track, payload: TRACK_ORDER }`." }
        }),
    );
    merge(
        prop(reply, "title"),
        json!({ "pattern": at_most_chars(20, true), "errorMessage": "Meta takes a quick-reply title of at most 20 characters." }),
    );
    merge(
        prop(reply, "payload"),
        json!({ "pattern": at_most_chars(1000, false), "errorMessage": "Meta takes a payload of at most 1000 characters." }),
    );
    attachment_rules(schema);
    let parameter = def(schema, "TemplateParameter");
    for (kind, field) in [("text", "text"), ("postback", "payload"), ("url", "url")] {
        all_of(
            parameter,
            json!({
                "if": { "required": ["type"], "properties": { "type": { "const": kind } } },
                "then": { "required": [field], "errorMessage": format!("A {kind} parameter needs `{field}`.") }
            }),
        );
    }
}

const TEMPLATE_TYPES: [&str; 3] = [
    "Up to 10 elements (cards) with a title, image and at most 3 buttons each.",
    "A text with 1 to 3 buttons.",
    "Meta's customer feedback survey: the only message allowed with `tag: CUSTOMER_FEEDBACK`.",
];

fn attachment_rules(schema: &mut Value) {
    let attachment = def(schema, "AttachmentSpec");
    all_of(
        attachment,
        json!({
            "if": { "required": ["type"], "properties": { "type": { "const": "template" } } },
            "then": { "required": ["payload"], "properties": { "url": false, "attachment_id": false },
                      "errorMessage": "A template attachment takes `payload` (Meta's template JSON), not `url` or `attachment_id`." },
            "else": {
                "properties": { "payload": false },
                "anyOf": [{ "required": ["url"] }, { "required": ["attachment_id"] }],
                "dependentSchemas": { "url": { "properties": { "attachment_id": false } } },
                "errorMessage": "A media attachment takes `url` or `attachment_id` (not both), and no `payload`."
            }
        }),
    );
    merge(
        prop(attachment, "url"),
        json!({ "pattern": "^https://", "errorMessage": "The media URL must start with https://." }),
    );
    let payload = prop(attachment, "payload");
    merge(
        payload,
        json!({
            "required": ["template_type"],
            "properties": { "template_type": {
                "description": "Which of Meta's templates the payload is.",
                "enum": ["generic", "button", "customer_feedback"],
                "enumDescriptions": TEMPLATE_TYPES,
                "markdownEnumDescriptions": TEMPLATE_TYPES
            } },
            "allOf": [
                { "if": { "required": ["template_type"], "properties": { "template_type": { "const": "generic" } } },
                  "then": { "required": ["elements"], "properties": { "elements": {
                      "type": "array", "minItems": 1, "maxItems": 10,
                      "errorMessage": "A generic template has 1 to 10 elements.",
                      "items": for_type("object", json!({ "properties": {
                          "buttons": for_type("array", json!({ "maxItems": 3, "errorMessage": "An element has at most 3 buttons." }))
                      } }))
                  } } } },
                { "if": { "required": ["template_type"], "properties": { "template_type": { "const": "button" } } },
                  "then": { "required": ["buttons"], "properties": { "buttons": {
                      "type": "array", "minItems": 1, "maxItems": 3, "errorMessage": "A button template has 1 to 3 buttons."
                  } } } }
            ]
        }),
    );
}

fn audience_rules(schema: &mut Value) {
    let audience = def(schema, "AudienceSpec");
    let one_source = "An audience has exactly one of `file`, `recipients`, `conversations`.";
    let sources = ["file", "recipients", "conversations"];
    audience.insert(
        "oneOf".into(),
        sources.iter().map(|s| json!({ "required": [s], "errorMessage": one_source })).collect(),
    );
    merge(
        prop(audience, "file"),
        json!({
            "pattern": format!(r"\.(?:{}|{}|{})$", any_case("csv"), any_case("jsonl"), any_case("ndjson")),
            "errorMessage": "An audience file ends in .csv or .jsonl."
        }),
    );
}

/// `last_interaction` of an inline recipient looks like a time: Unix
/// seconds, or a date first (RFC 3339, or local `YYYY-MM-DD HH:MM[:SS]` when
/// the audience has a time zone). Whether it parses, and is not in the
/// future, stays with `validate`.
fn recipient_rules(schema: &mut Value) {
    let recipient = def(schema, "InlineRecipient");
    let space = format!("[{WHITE_SPACE}]");
    merge(
        prop(recipient, "last_interaction"),
        json!({
            "pattern": format!("^{space}*(?:[0-9]+{space}*$|[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}})"),
            "errorMessage": "A time: RFC 3339 (`2026-11-20T08:00:00Z`) or Unix seconds."
        }),
    );
}

fn schedule_rules(schema: &mut Value) {
    let schedule = def(schema, "ScheduleSpec");
    merge(
        prop(schedule, "cron"),
        json!({ "pattern": cron_pattern(),
                "errorMessage": "A standard 5-field crontab line: minute hour day-of-month month day-of-week, e.g. `0 9 * * MON-FRI`." }),
    );
    let zones: Vec<&str> = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect();
    merge(
        prop(schedule, "timezone"),
        json!({ "enum": zones, "errorMessage": "Unknown time zone: use an IANA name, spelled exactly, e.g. `Asia/Ho_Chi_Minh`, `Europe/Berlin` or `UTC`." }),
    );
}

fn page_rules(schema: &mut Value) {
    let page = def(schema, "PageSpec");
    merge(
        prop(page, "token_env"),
        json!({
            "maxLength": 60,
            "not": { "pattern": "^EAA[\\s\\S]{28}" },
            "errorMessage": "This looks like an access token: never put a token in a campaign file. Export it (`export SHOP_TOKEN=...`), write `token_env: SHOP_TOKEN`, and revoke the exposed token."
        }),
    );
    let policy = def(schema, "PolicySpec");
    merge(
        prop(policy, "margin"),
        json!({ "pattern": margin_pattern(), "errorMessage": "The margin must be less than a day, e.g. `10m`." }),
    );
}

// ---------------------------------------------------------------------------
// Patterns

/// `text` in any ASCII case, as a pattern (patterns take no flags).
fn any_case(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphabetic() {
                format!("[{}{}]", c.to_ascii_uppercase(), c.to_ascii_lowercase())
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// A pattern for the decimal numbers 0..=max, without leading zeros.
fn up_to(max: u32) -> String {
    let digits = max.to_string();
    let mut alts = vec![if digits.len() == 1 { class(0, max) } else { "[0-9]".to_string() }];
    for len in 2..digits.len() {
        alts.push(format!("[1-9][0-9]{{{}}}", len - 1));
    }
    if digits.len() > 1 {
        alts.push(same_length_up_to(digits.as_bytes(), true));
    }
    format!("(?:{})", alts.join("|"))
}

/// Numbers with exactly `max.len()` digits that are at most `max`.
fn same_length_up_to(max: &[u8], leading: bool) -> String {
    let d = u32::from(max[0] - b'0');
    let lo = u32::from(leading);
    let rest = max.len() - 1;
    if rest == 0 {
        return class(lo, d);
    }
    let mut alts = Vec::new();
    if d > lo {
        alts.push(format!("{}[0-9]{{{rest}}}", class(lo, d - 1)));
    }
    if d >= lo {
        alts.push(format!("{d}(?:{})", same_length_up_to(&max[1..], false)));
    }
    alts.join("|")
}

fn class(lo: u32, hi: u32) -> String {
    if lo == hi { lo.to_string() } else { format!("[{lo}-{hi}]") }
}

/// A duration of less than a day (`policy.margin`).
fn margin_pattern() -> String {
    format!("^(?:0*{}s|0*{}m|0*{}h|0+d)$", up_to(86_399), up_to(1439), up_to(23))
}

/// What `schedule::parse_cron` can accept (a superset: a range may run
/// backwards, a step may be too long, a single value may take a step).
fn cron_pattern() -> String {
    const MONTHS: [&str; 12] = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
    const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
    let names = |list: &[&str]| list.iter().map(|n| any_case(n)).collect::<Vec<_>>().join("|");
    let field = |value: String| {
        let item = format!(r"(?:\*|(?:{value})(?:-(?:{value}))?)(?:/[0-9]+)?");
        format!("{item}(?:,{item})*")
    };
    let fields = [
        field(format!("0*{}", up_to(59))),
        field(format!("0*{}", up_to(23))),
        field(format!("0*{}", up_to(31))),
        field(format!("0*{}|{}", up_to(12), names(&MONTHS))),
        field(format!("0*{}|{}", up_to(7), names(&DAYS))),
    ];
    // `\u0085` is white space to Rust's `split_whitespace` but not to `\s` in JavaScript.
    let space = r"[\s\u0085]";
    let nicknames = ["yearly", "annually", "monthly", "weekly", "daily", "midnight", "hourly"];
    let nicknames = nicknames.iter().map(|n| any_case(n)).collect::<Vec<_>>().join("|");
    format!("^{space}*(?:{}|@(?:{nicknames})){space}*$", fields.join(&format!("{space}+")))
}

// ---------------------------------------------------------------------------
// Annotations

/// Per-value descriptions for the enums, in their order in the model.
fn describe_enums(schema: &mut Value) {
    let tables: [(&str, &[&str]); 7] = [
        (
            "Provider",
            &[
                "Meta's Graph Send API (`POST /{page-id}/messages`): sends `text`, `attachment` or `template`; needs `messaging_type`.",
                "Harasocial's payload-id API: sends a Harasocial flow (`payload_id`); takes no `messaging_type`.",
            ],
        ),
        (
            "AttachmentKind",
            &[
                "An image at a public https `url` (or an uploaded `attachment_id`).",
                "A video: Meta allows at most 10 per second per page, so `send.rate` must be 10 or lower.",
                "An audio clip: Meta allows at most 10 per second per page, so `send.rate` must be 10 or lower.",
                "A file (PDF, ...) at a public https `url` (or an uploaded `attachment_id`).",
                "A Meta template passed through as `payload` (`template_type: generic | button | customer_feedback`).",
            ],
        ),
        ("ComponentKind", &["The template's header.", "The template's body.", "The template's buttons."]),
        (
            "ParameterKind",
            &[
                "A text value: give `text` (may use `{{ var }}`).",
                "A postback button's payload: give `payload`.",
                "A URL button's URL or suffix: give `url`.",
            ],
        ),
        (
            "QuickReplyKind",
            &[
                "A button with a `title` (at most 20 characters) and a `payload` sent back when tapped.",
                "Offers the person's phone number (no title, payload or image_url).",
                "Offers the person's email address (no title, payload or image_url).",
            ],
        ),
        (
            "MessagingType",
            &[
                "A reply to the person's message, inside the 24-hour window (minus `policy.margin`).",
                "A proactive message inside the 24-hour window (minus `policy.margin`).",
                "Outside the 24-hour window with a `tag`; for campaigns only CUSTOMER_FEEDBACK (within 7 days).",
                "An approved utility `template`, at any time (the only way to send an update outside the window since 2026-04-27).",
            ],
        ),
        (
            "NotificationType",
            &[
                "Sound or vibration (Meta's default; then not sent).",
                "An on-screen notification only, without sound.",
                "No notification at all.",
            ],
        ),
    ];
    for (name, descriptions) in tables {
        let object = def(schema, name);
        let count = object.get("enum").and_then(Value::as_array).map_or(0, Vec::len);
        assert_eq!(count, descriptions.len(), "every value of {name} has a description");
        object.insert("enumDescriptions".into(), json!(descriptions));
        object.insert("markdownEnumDescriptions".into(), json!(descriptions));
    }
}

/// A field that refers to a definition and describes itself (`$ref` plus
/// `description`) gets the definition's content inline: editors differ in
/// which description they show for such a pair, and the field's own text
/// (its meaning and default) is the one a reader needs.
fn inline_described_refs(node: &mut Value, defs: &Value) {
    match node {
        Value::Object(object) => {
            let target = object.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/$defs/"));
            if let Some(name) = target.map(str::to_string)
                && object.contains_key("description")
                && let Some(Value::Object(content)) = defs.get(&name)
            {
                object.remove("$ref");
                for (key, value) in content {
                    object.entry(key.clone()).or_insert_with(|| value.clone());
                }
            }
            object.values_mut().for_each(|v| inline_described_refs(v, defs));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| inline_described_refs(v, defs)),
        _ => {}
    }
}

/// `markdownDescription` beside every `description`: yaml-language-server
/// shows it on hover and in completion (the descriptions use `code` spans).
fn add_markdown(node: &mut Value) {
    match node {
        Value::Object(object) => {
            if let Some(Value::String(text)) = object.get("description") {
                let text = text.clone();
                object.entry("markdownDescription").or_insert(Value::String(text));
            }
            object.values_mut().for_each(add_markdown);
        }
        Value::Array(items) => items.iter_mut().for_each(add_markdown),
        _ => {}
    }
}

/// ajv's strict mode wants every `required` name declared in `properties`
/// of the same schema object, also inside `if`/`then`; `true` declares a
/// name without constraining it.
fn declare_required(node: &mut Value) {
    match node {
        Value::Object(object) => {
            let names: Vec<String> = match object.get("required") {
                Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).map(String::from).collect(),
                _ => Vec::new(),
            };
            if !names.is_empty() {
                let properties = object.entry("properties").or_insert_with(|| json!({}));
                if let Value::Object(properties) = properties {
                    for name in names {
                        properties.entry(name).or_insert(Value::Bool(true));
                    }
                }
            }
            object.values_mut().for_each(declare_required);
        }
        Value::Array(items) => items.iter_mut().for_each(declare_required),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pattern compiled as the schema stage compiles it (the `jsonschema` crate).
    fn pattern(p: &str) -> jsonschema::Validator {
        jsonschema::validator_for(&json!({ "pattern": p })).unwrap()
    }

    fn matches(p: &str, text: &str) -> bool {
        pattern(p).is_valid(&json!(text))
    }

    #[test]
    fn up_to_matches_exactly_the_numbers_up_to_max() {
        for max in [0, 7, 9, 12, 23, 31, 59, 100, 1439, 86_399] {
            let p = pattern(&format!("^{}$", up_to(max)));
            // Every number near the limit, and a sample below it.
            let near = max.saturating_sub(300)..=max + 300;
            for n in (0..max).step_by(97).chain(near) {
                assert_eq!(p.is_valid(&json!(n.to_string())), n <= max, "{n} against {max}");
            }
        }
    }

    #[test]
    fn the_margin_pattern_is_less_than_a_day() {
        let p = margin_pattern();
        for ok in ["0s", "10m", "86399s", "1439m", "23h", "0d", "0010m"] {
            assert!(matches(&p, ok), "{ok}");
        }
        for bad in ["86400s", "1440m", "24h", "1d", "2d"] {
            assert!(!matches(&p, bad), "{bad}");
        }
    }

    #[test]
    fn the_cron_pattern_accepts_what_the_parser_accepts() {
        let p = cron_pattern();
        let lines = [
            "0 9 * * MON-FRI",
            "*/15 * * * *",
            "0 0 1,15 * *",
            "30 8 * jan-mar sun",
            " 0  9 * * 1-5 ",
            "00 09 01 01 07",
            "@daily",
            "@Weekly",
            "0 9 * * FRI-SUN",
            "5-55/10 0-23/2 1-31/3 1-12/4 0-7/2",
        ];
        for line in lines {
            assert!(crate::schedule::parse_cron(line).is_ok(), "the parser refuses {line:?}");
            assert!(matches(&p, line), "the pattern refuses {line:?}");
        }
        for bad in ["0 0 9 * * MON-FRI", "0 9 * * MONDAY-FRIDAY", "61 * * * *", "0 24 * * *", "@reboot", "0 9 * * 1L"] {
            assert!(!matches(&p, bad), "the pattern accepts {bad:?}");
            assert!(crate::schedule::parse_cron(bad).is_err(), "the parser accepts {bad:?}");
        }
    }

    #[test]
    fn white_space_is_what_trim_trims() {
        let p = not_only_space();
        for text in [" ", "\t\n", "\u{3000}\u{85}\u{a0}"] {
            assert!(text.trim().is_empty() && !matches(&p, text), "{text:?}");
        }
        for text in ["\u{feff}", " a ", "{{ x }}"] {
            assert!(!text.trim().is_empty() && matches(&p, text), "{text:?}");
        }
    }

    #[test]
    fn lengths_count_characters_and_exempt_templates() {
        let p = at_most_chars(20, true);
        assert!(matches(&p, &"é".repeat(20)));
        assert!(matches(&p, &"🚚".repeat(20)));
        assert!(!matches(&p, &"a".repeat(21)));
        assert!(matches(&p, &format!("{}{{{{ name }}}}", "a".repeat(30))));
    }
}
