//! `{{ var }}` templates in message strings, filled per recipient.
//!
//! Every templated string of a message (text, quick-reply titles and
//! payloads, utility-template parameters) is compiled once with minijinja in
//! strict mode: an undefined variable is an error for that recipient, never
//! an empty string. Strings without `{{`/`{%` skip the engine entirely, so a
//! plain message costs nothing per recipient.

use std::collections::BTreeSet;

use minijinja::{Environment, UndefinedBehavior};

use crate::campaign::model::MessageSpec;

/// Meta's limits, in Unicode scalar values (SPEC §2).
pub mod limits {
    /// Text must be shorter than this.
    pub const TEXT_BELOW: usize = 2000;
    /// Graph metadata must be shorter than this.
    pub const GRAPH_METADATA_BELOW: usize = 1000;
    /// Harasocial metadata may be at most this long.
    pub const HARASOCIAL_METADATA_MAX: usize = 500;
    /// At most this many quick replies.
    pub const QUICK_REPLIES_MAX: usize = 13;
    /// A quick-reply title may be at most this long.
    pub const QUICK_REPLY_TITLE_MAX: usize = 20;
    /// A quick-reply payload may be at most this long.
    pub const QUICK_REPLY_PAYLOAD_MAX: usize = 1000;
}

/// Which string of the message a slot fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Text,
    QuickReplyTitle(usize),
    QuickReplyPayload(usize),
    ParamText(usize, usize),
    ParamPayload(usize, usize),
    ParamUrl(usize, usize),
}

impl Slot {
    fn pointer(self) -> String {
        match self {
            Slot::Text => "/message/text".into(),
            Slot::QuickReplyTitle(i) => format!("/message/quick_replies/{i}/title"),
            Slot::QuickReplyPayload(i) => format!("/message/quick_replies/{i}/payload"),
            Slot::ParamText(c, p) => format!("/message/template/components/{c}/parameters/{p}/text"),
            Slot::ParamPayload(c, p) => format!("/message/template/components/{c}/parameters/{p}/payload"),
            Slot::ParamUrl(c, p) => format!("/message/template/components/{c}/parameters/{p}/url"),
        }
    }

    fn get(self, m: &mut MessageSpec) -> Option<&mut String> {
        match self {
            Slot::Text => m.text.as_mut(),
            Slot::QuickReplyTitle(i) => m.quick_replies.as_mut()?.get_mut(i)?.title.as_mut(),
            Slot::QuickReplyPayload(i) => m.quick_replies.as_mut()?.get_mut(i)?.payload.as_mut(),
            Slot::ParamText(c, p) => param(m, c, p)?.text.as_mut(),
            Slot::ParamPayload(c, p) => param(m, c, p)?.payload.as_mut(),
            Slot::ParamUrl(c, p) => param(m, c, p)?.url.as_mut(),
        }
    }
}

fn param(m: &mut MessageSpec, c: usize, p: usize) -> Option<&mut crate::campaign::model::TemplateParameter> {
    m.template.as_mut()?.components.get_mut(c)?.parameters.get_mut(p)
}

/// A message whose templated strings are compiled, ready to fill per recipient.
#[derive(Debug)]
pub struct MessageTemplate {
    spec: MessageSpec,
    env: Environment<'static>,
    /// Slots that hold `{{ }}` and the template name each was compiled under.
    slots: Vec<(Slot, String)>,
    variables: BTreeSet<String>,
}

/// A template that does not parse: the JSON pointer of its string and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    /// Where the string sits in the campaign file.
    pub pointer: String,
    /// The engine's message.
    pub message: String,
}

impl MessageTemplate {
    /// Compiles every templated string of `spec`; all syntax errors at once.
    pub fn compile(spec: &MessageSpec) -> Result<Self, Vec<CompileError>> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        let mut slots = Vec::new();
        let mut errors = Vec::new();
        let mut variables = BTreeSet::new();
        let mut probe = spec.clone();
        for slot in all_slots(spec) {
            let Some(source) = slot.get(&mut probe).cloned() else { continue };
            if !source.contains("{{") && !source.contains("{%") {
                continue;
            }
            let name = slot.pointer();
            match env.add_template_owned(name.clone(), source) {
                Ok(()) => {
                    let tmpl = env.get_template(&name).expect("just added");
                    variables.extend(tmpl.undeclared_variables(false));
                    slots.push((slot, name));
                }
                Err(e) => errors.push(CompileError { pointer: name, message: describe(&e) }),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(MessageTemplate { spec: spec.clone(), env, slots, variables })
    }

    /// The variables the message uses.
    pub fn variables(&self) -> &BTreeSet<String> {
        &self.variables
    }

    /// True when no string of the message is templated.
    pub fn is_constant(&self) -> bool {
        self.slots.is_empty()
    }

    /// The message as written (templates not filled).
    pub fn spec(&self) -> &MessageSpec {
        &self.spec
    }

    /// Fills the message for one recipient and checks Meta's limits on the
    /// result. The error says which variable or limit failed.
    pub fn render<'a, I>(&self, vars: I) -> Result<MessageSpec, String>
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        let mut out = self.spec.clone();
        if self.slots.is_empty() {
            return Ok(out);
        }
        let ctx = minijinja::Value::from_pairs(vars);
        for (slot, name) in &self.slots {
            let tmpl = self.env.get_template(name).expect("compiled");
            let text = tmpl.render(&ctx).map_err(|e| describe(&e))?;
            if let Some(target) = slot.get(&mut out) {
                *target = text;
            }
        }
        check_rendered(&out)?;
        Ok(out)
    }
}

fn all_slots(spec: &MessageSpec) -> Vec<Slot> {
    let mut slots = vec![Slot::Text];
    for i in 0..spec.quick_replies.as_ref().map_or(0, Vec::len) {
        slots.push(Slot::QuickReplyTitle(i));
        slots.push(Slot::QuickReplyPayload(i));
    }
    if let Some(t) = &spec.template {
        for (c, comp) in t.components.iter().enumerate() {
            for p in 0..comp.parameters.len() {
                slots.extend([Slot::ParamText(c, p), Slot::ParamPayload(c, p), Slot::ParamUrl(c, p)]);
            }
        }
    }
    slots
}

/// Meta's limits on a filled message (the per-recipient half of SPEC §2).
fn check_rendered(m: &MessageSpec) -> Result<(), String> {
    if let Some(text) = &m.text {
        let n = text.chars().count();
        if n >= limits::TEXT_BELOW {
            return Err(format!("rendered text is {n} characters; Meta takes fewer than {}", limits::TEXT_BELOW));
        }
        if text.trim().is_empty() {
            return Err("rendered text is empty".into());
        }
    }
    for q in m.quick_replies.iter().flatten() {
        if let Some(title) = &q.title {
            let n = title.chars().count();
            if n > limits::QUICK_REPLY_TITLE_MAX {
                return Err(format!(
                    "rendered quick-reply title \"{title}\" is {n} characters; Meta takes at most {}",
                    limits::QUICK_REPLY_TITLE_MAX
                ));
            }
        }
    }
    Ok(())
}

fn describe(e: &minijinja::Error) -> String {
    let mut text = match e.kind() {
        minijinja::ErrorKind::UndefinedError => "undefined variable".to_string(),
        _ => e.kind().to_string(),
    };
    if let Some(detail) = e.detail() {
        text.push_str(": ");
        text.push_str(detail);
    }
    if let Some(line) = e.line() {
        text.push_str(&format!(" (template line {line})"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(t: &str) -> MessageSpec {
        MessageSpec { text: Some(t.into()), ..Default::default() }
    }

    #[test]
    fn fills_variables() {
        let m = MessageTemplate::compile(&text("Hi {{ first_name }}, order {{ order_id }}")).unwrap();
        let out = m.render([("first_name", "Lan"), ("order_id", "42")]).unwrap();
        assert_eq!(out.text.unwrap(), "Hi Lan, order 42");
        assert_eq!(m.variables().iter().collect::<Vec<_>>(), ["first_name", "order_id"]);
    }

    #[test]
    fn undefined_variable_is_an_error_not_empty() {
        let m = MessageTemplate::compile(&text("Hi {{ first_name }}")).unwrap();
        let e = m.render([("other", "x")]).unwrap_err();
        assert!(e.contains("undefined"), "{e}");
    }

    #[test]
    fn syntax_errors_name_the_string() {
        let e = MessageTemplate::compile(&text("Hi {{ first_name ")).unwrap_err();
        assert_eq!(e[0].pointer, "/message/text");
    }

    #[test]
    fn rendered_text_over_the_limit_is_an_error() {
        let m = MessageTemplate::compile(&text("{{ long }}")).unwrap();
        let long = "é".repeat(2000);
        assert!(m.render([("long", long.as_str())]).unwrap_err().contains("2000"));
        let ok = "é".repeat(1999);
        assert!(m.render([("long", ok.as_str())]).is_ok());
    }

    #[test]
    fn constant_messages_skip_the_engine() {
        let m = MessageTemplate::compile(&text("Hello")).unwrap();
        assert!(m.is_constant());
        assert_eq!(m.render([]).unwrap().text.unwrap(), "Hello");
    }
}
