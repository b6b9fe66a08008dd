//! Request bodies, in Meta's and Harasocial's shapes (SPEC §4 and the seed
//! documents), whatever the YAML looks like.

use serde_json::{Map, Value, json};

use crate::campaign::model::{
    AttachmentKind, AttachmentSpec, MessageSpec, MessageTag, MessagingType, NotificationType, QuickReply,
    QuickReplyKind, UtilityTemplate,
};

/// The campaign-wide fields of a Graph request.
#[derive(Debug, Clone, Copy)]
pub struct GraphEnvelope {
    /// RESPONSE, UPDATE, MESSAGE_TAG or UTILITY.
    pub messaging_type: MessagingType,
    /// With MESSAGE_TAG.
    pub tag: Option<MessageTag>,
    /// Sent only when not the default REGULAR.
    pub notification_type: Option<NotificationType>,
}

/// `POST /{page-id}/messages` body.
pub fn graph_body(envelope: GraphEnvelope, recipient: &str, message: &MessageSpec) -> Value {
    let mut body = Map::new();
    body.insert("recipient".into(), json!({ "id": recipient }));
    body.insert("messaging_type".into(), envelope.messaging_type.as_str().into());
    body.insert("message".into(), graph_message(message));
    if let Some(tag) = envelope.tag {
        body.insert("tag".into(), tag.as_str().into());
    }
    if let Some(n) = envelope.notification_type.filter(|n| *n != NotificationType::Regular) {
        body.insert("notification_type".into(), n.as_str().into());
    }
    Value::Object(body)
}

fn graph_message(m: &MessageSpec) -> Value {
    let mut out = Map::new();
    if let Some(text) = &m.text {
        out.insert("text".into(), text.clone().into());
    }
    if let Some(a) = &m.attachment {
        out.insert("attachment".into(), attachment(a));
    }
    if let Some(t) = &m.template {
        out.insert("template".into(), utility_template(t));
    }
    if let Some(q) = &m.quick_replies {
        out.insert("quick_replies".into(), q.iter().map(quick_reply).collect());
    }
    if let Some(meta) = &m.metadata {
        out.insert("metadata".into(), meta.clone().into());
    }
    Value::Object(out)
}

fn attachment(a: &AttachmentSpec) -> Value {
    let payload = if a.kind == AttachmentKind::Template {
        Value::Object(a.payload.clone().unwrap_or_default())
    } else {
        let mut p = Map::new();
        if let Some(url) = &a.url {
            p.insert("url".into(), url.clone().into());
        }
        if let Some(id) = &a.attachment_id {
            p.insert("attachment_id".into(), id.clone().into());
        }
        if let Some(r) = a.is_reusable {
            p.insert("is_reusable".into(), r.into());
        }
        Value::Object(p)
    };
    json!({ "type": a.kind.as_str(), "payload": payload })
}

fn quick_reply(q: &QuickReply) -> Value {
    match q.content_type.unwrap_or(QuickReplyKind::Text) {
        QuickReplyKind::Text => {
            let mut out = Map::new();
            out.insert("content_type".into(), "text".into());
            out.insert("title".into(), q.title.clone().unwrap_or_default().into());
            out.insert("payload".into(), q.payload.clone().unwrap_or_default().into());
            if let Some(img) = &q.image_url {
                out.insert("image_url".into(), img.clone().into());
            }
            Value::Object(out)
        }
        QuickReplyKind::UserPhoneNumber => json!({ "content_type": "user_phone_number" }),
        QuickReplyKind::UserEmail => json!({ "content_type": "user_email" }),
    }
}

fn utility_template(t: &UtilityTemplate) -> Value {
    let components: Vec<Value> = t
        .components
        .iter()
        .map(|c| {
            let params: Vec<Value> = c.parameters.iter().map(utility_parameter).collect();
            let kind = serde_json::to_value(c.kind).unwrap_or_default();
            json!({ "type": kind, "parameters": params })
        })
        .collect();
    let mut out = json!({ "name": t.name, "language": { "code": t.language } });
    if !components.is_empty() {
        out["components"] = components.into();
    }
    out
}

/// A template parameter as Meta's utility-message guide writes it (SPEC §4):
/// text parameters `{"type": "text"}`, buttons `POSTBACK` / `URL` in capitals.
fn utility_parameter(p: &crate::campaign::model::TemplateParameter) -> Value {
    let mut v = serde_json::to_value(p).unwrap_or_default();
    let kind = match p.kind {
        crate::campaign::model::ParameterKind::Text => "text",
        crate::campaign::model::ParameterKind::Postback => "POSTBACK",
        crate::campaign::model::ParameterKind::Url => "URL",
    };
    v["type"] = kind.into();
    v
}

/// A body serialized once per page, with the recipient id and the message's
/// templated strings spliced in per request.
///
/// Every body of a page is the same but for `recipient.id` and the strings
/// that hold `{{ }}`; building and serializing a JSON tree per message would
/// cost more than the rest of the request path. The body is serialized once
/// with a marker in each of those places and cut at the markers; a request
/// writes the pieces with the recipient's values between them, escaped as
/// `serde_json` escapes them, so the bytes are those of the built body.
#[derive(Debug, Clone)]
pub struct BodyTemplate {
    /// The literal JSON around the values, back to back.
    literal: Vec<u8>,
    /// Each value: where it goes in `literal`, and which it is.
    holes: Vec<(usize, Hole)>,
}

/// What a [`BodyTemplate`] splices in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hole {
    /// The recipient id.
    Recipient,
    /// The message's templated string of this index.
    Filled(usize),
}

/// What every marker starts with; control characters keep it out of any
/// real message.
const MARKER: &str = "\u{1}pagecast-";

impl BodyTemplate {
    /// Serializes `body_for(recipient marker, one marker per templated
    /// string)` and cuts it at the markers. None unless the recipient marker
    /// is found exactly once and every marker is a whole JSON string (a body
    /// that quoted one inside another string cannot be spliced).
    pub fn new(filled: usize, body_for: impl Fn(&str, Vec<String>) -> Value) -> Option<Self> {
        let recipient = format!("{MARKER}recipient\u{1}");
        let markers: Vec<String> = (0..filled).map(|i| format!("{MARKER}{i}\u{1}")).collect();
        let bytes = serde_json::to_vec(&body_for(&recipient, markers.clone())).ok()?;
        let quote = |marker: &str| serde_json::to_vec(marker).ok();
        let mut holes = vec![(quote(&recipient)?, Hole::Recipient)];
        for (i, marker) in markers.iter().enumerate() {
            holes.push((quote(marker)?, Hole::Filled(i)));
        }

        let mut template = BodyTemplate { literal: Vec::with_capacity(bytes.len()), holes: Vec::new() };
        let mut at = 0;
        while at < bytes.len() {
            let rest = &bytes[at..];
            match holes.iter().find(|(quoted, _)| rest[0] == b'"' && rest.starts_with(quoted)) {
                Some((quoted, hole)) => {
                    template.holes.push((template.literal.len(), *hole));
                    at += quoted.len();
                }
                None => {
                    template.literal.push(bytes[at]);
                    at += 1;
                }
            }
        }
        let stray = quote(MARKER)?;
        let stray = &stray[1..stray.len() - 1];
        let markers_seen = bytes.windows(stray.len()).filter(|w| *w == stray).count();
        let recipients = template.holes.iter().filter(|(_, hole)| *hole == Hole::Recipient).count();
        if recipients != 1 || markers_seen != template.holes.len() {
            return None;
        }
        Some(template)
    }

    /// The body for one recipient: `filled` holds the message's templated
    /// strings (as many as given to [`BodyTemplate::new`], in that order).
    pub fn fill(&self, recipient: &str, filled: &[String]) -> Vec<u8> {
        let values: usize = filled.iter().map(String::len).sum();
        let mut out = Vec::with_capacity(self.literal.len() + recipient.len() + values + 16);
        let mut from = 0;
        for &(to, hole) in &self.holes {
            out.extend_from_slice(&self.literal[from..to]);
            from = to;
            let value = match hole {
                Hole::Recipient => recipient,
                Hole::Filled(i) => filled[i].as_str(),
            };
            serde_json::to_writer(&mut out, value).expect("a string serializes");
        }
        out.extend_from_slice(&self.literal[from..]);
        out
    }
}

/// `POST /social/messages.json` body (the seed document's shape).
pub fn harasocial_body(page: &str, recipient: &str, message: &MessageSpec) -> Value {
    let mut body = json!({
        "messaging_type": "harasocial_facebook_payload_id",
        "recipient": { "id": recipient },
        "message": { "payload_id": message.payload_id.clone().unwrap_or_default() },
        "page_id": page,
    });
    if let Some(meta) = &message.metadata {
        body["metadata"] = meta.clone().into();
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::model::{ComponentKind, ParameterKind, TemplateComponent, TemplateParameter};

    fn env(mt: MessagingType) -> GraphEnvelope {
        GraphEnvelope { messaging_type: mt, tag: None, notification_type: None }
    }

    #[test]
    fn text_with_quick_replies_and_metadata() {
        let m = MessageSpec {
            text: Some("Hi".into()),
            quick_replies: Some(vec![
                QuickReply {
                    content_type: None,
                    title: Some("Track".into()),
                    payload: Some("T".into()),
                    image_url: None,
                },
                QuickReply {
                    content_type: Some(QuickReplyKind::UserEmail),
                    title: None,
                    payload: None,
                    image_url: None,
                },
            ]),
            metadata: Some("order-shipped".into()),
            ..Default::default()
        };
        let body = graph_body(env(MessagingType::Update), "25", &m);
        assert_eq!(
            body,
            json!({"recipient": {"id": "25"}, "messaging_type": "UPDATE", "message": {"text": "Hi",
                "quick_replies": [{"content_type": "text", "title": "Track", "payload": "T"}, {"content_type": "user_email"}],
                "metadata": "order-shipped"}})
        );
    }

    #[test]
    fn media_tag_and_notification() {
        let m = MessageSpec {
            attachment: Some(AttachmentSpec {
                kind: AttachmentKind::Image,
                url: Some("https://x/y.png".into()),
                attachment_id: None,
                is_reusable: Some(true),
                payload: None,
            }),
            ..Default::default()
        };
        let e = GraphEnvelope {
            messaging_type: MessagingType::MessageTag,
            tag: Some(MessageTag::CustomerFeedback),
            notification_type: Some(NotificationType::SilentPush),
        };
        let body = graph_body(e, "25", &m);
        assert_eq!(
            body["message"],
            json!({"attachment": {"type": "image", "payload": {"url": "https://x/y.png", "is_reusable": true}}})
        );
        assert_eq!(body["tag"], "CUSTOMER_FEEDBACK");
        assert_eq!(body["notification_type"], "SILENT_PUSH");
        let regular = GraphEnvelope { notification_type: Some(NotificationType::Regular), ..e };
        assert!(graph_body(regular, "25", &m).get("notification_type").is_none());
    }

    #[test]
    fn utility_template_shape() {
        let m = MessageSpec {
            template: Some(UtilityTemplate {
                name: "order_update".into(),
                language: "en_US".into(),
                components: vec![TemplateComponent {
                    kind: ComponentKind::Body,
                    parameters: vec![TemplateParameter {
                        kind: ParameterKind::Text,
                        text: Some("42".into()),
                        payload: None,
                        url: None,
                        parameter_name: Some("order".into()),
                    }],
                }],
            }),
            ..Default::default()
        };
        let body = graph_body(env(MessagingType::Utility), "25", &m);
        assert_eq!(
            body["message"],
            json!({"template": {"name": "order_update", "language": {"code": "en_US"},
                "components": [{"type": "body", "parameters": [{"type": "text", "text": "42", "parameter_name": "order"}]}]}})
        );
    }

    #[test]
    fn a_body_template_gives_the_same_bytes_as_building_the_body() {
        let m = MessageSpec { text: Some("Hi \"there\"".into()), metadata: Some("x".into()), ..Default::default() };
        let build = |r: &str| graph_body(env(MessagingType::Update), r, &m);
        let t = BodyTemplate::new(0, |r, _| build(r)).unwrap();
        for r in ["25", "a\"b", "ü"] {
            assert_eq!(t.fill(r, &[]), serde_json::to_vec(&build(r)).unwrap());
        }
        let h = BodyTemplate::new(0, |r, _| harasocial_body("500", r, &m)).unwrap();
        assert_eq!(h.fill("7", &[]), serde_json::to_vec(&harasocial_body("500", "7", &m)).unwrap());
    }

    #[test]
    fn templated_strings_are_spliced_in_as_serde_json_writes_them() {
        // Text and a quick-reply payload filled per recipient (graph), the
        // same strings left out of the body (harasocial).
        let m = |text: &str, payload: &str| MessageSpec {
            text: Some(text.into()),
            quick_replies: Some(vec![QuickReply {
                content_type: None,
                title: Some("Track".into()),
                payload: Some(payload.into()),
                image_url: None,
            }]),
            metadata: Some("bench".into()),
            payload_id: Some("__hrf_f_1".into()),
            ..Default::default()
        };
        let with = |filled: Vec<String>| m(&filled[0], &filled[1]);
        let t = BodyTemplate::new(2, |r, f| graph_body(env(MessagingType::Update), r, &with(f))).unwrap();
        let h = BodyTemplate::new(2, |r, f| harasocial_body("500", r, &with(f))).unwrap();
        for (r, text, payload) in [("25", "Hi Lan", "T:1"), ("a\"b", "é \"q\" \\ \n\u{1}", "</script>")] {
            let filled = [text.to_string(), payload.to_string()];
            let built = graph_body(env(MessagingType::Update), r, &m(text, payload));
            assert_eq!(t.fill(r, &filled), serde_json::to_vec(&built).unwrap());
            let built = harasocial_body("500", r, &m(text, payload));
            assert_eq!(h.fill(r, &filled), serde_json::to_vec(&built).unwrap());
        }
    }

    #[test]
    fn a_marker_quoted_inside_another_string_is_refused() {
        let inside = |r: &str, f: Vec<String>| json!({ "recipient": { "id": r }, "text": format!("Hi {}", f[0]) });
        assert!(BodyTemplate::new(1, inside).is_none());
        let twice = |r: &str, _: Vec<String>| json!({ "recipient": { "id": r }, "copy": r });
        assert!(BodyTemplate::new(0, twice).is_none());
        let absent = |_: &str, _: Vec<String>| json!({ "recipient": {} });
        assert!(BodyTemplate::new(0, absent).is_none());
    }

    #[test]
    fn harasocial_matches_the_seed() {
        let m = MessageSpec { payload_id: Some("__hrf_f_1".into()), metadata: Some("m".into()), ..Default::default() };
        assert_eq!(
            harasocial_body("500", "256", &m),
            json!({"messaging_type": "harasocial_facebook_payload_id", "recipient": {"id": "256"},
                   "message": {"payload_id": "__hrf_f_1"}, "page_id": "500", "metadata": "m"})
        );
    }
}
