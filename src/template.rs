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
    /// The slots' pieces (in the order of `slots`) when every templated
    /// string is only literal text and `{{ name }}`: such a message is
    /// filled by concatenation, without the engine (same output; see
    /// [`simple_parts`]).
    simple: Option<Vec<Vec<Part>>>,
}

/// A piece of a templated string that needs no engine.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    /// Literal text.
    Text(String),
    /// `{{ name }}`: the variable's value.
    Var(String),
}

/// Names that minijinja reads as something other than a variable of the
/// context (constants, globals of the `builtins` and `debug` features,
/// special names): a template using one always goes through the engine.
const NOT_PLAIN_NAMES: [&str; 16] = [
    "true",
    "false",
    "none",
    "True",
    "False",
    "None",
    "range",
    "dict",
    "namespace",
    "debug",
    "self",
    "loop",
    "super",
    "caller",
    "varargs",
    "kwargs",
];

/// The pieces of `source` when it is only literal text and `{{ name }}`
/// expressions (ASCII identifiers, spaces around them), with minijinja's
/// handling of a trailing newline (one `\n`, then one `\r`, removed).
/// None for anything else (blocks, comments, filters, whitespace control),
/// which the engine renders.
fn simple_parts(source: &str) -> Option<Vec<Part>> {
    let mut rest = source.strip_suffix('\n').unwrap_or(source);
    rest = rest.strip_suffix('\r').unwrap_or(rest);
    if rest.contains("{%") || rest.contains("{#") {
        return None;
    }
    let mut parts = Vec::new();
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            parts.push(Part::Text(rest[..open].to_string()));
        }
        let after = &rest[open + 2..];
        let close = after.find("}}")?;
        let name = after[..close].trim_matches([' ', '\t', '\n', '\r']);
        let mut chars = name.chars();
        let plain = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !NOT_PLAIN_NAMES.contains(&name);
        if !plain {
            return None;
        }
        parts.push(Part::Var(name.to_string()));
        rest = &after[close + 2..];
    }
    if !rest.is_empty() {
        parts.push(Part::Text(rest.to_string()));
    }
    Some(parts)
}

/// The value of `name` among `vars` (the last one wins, as in a map built
/// from the pairs).
fn lookup<'v>(vars: &[(&str, &'v str)], name: &str) -> Option<&'v str> {
    vars.iter().rev().find(|(k, _)| *k == name).map(|(_, v)| *v)
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
        let mut simple = Some(Vec::new());
        for slot in all_slots(spec) {
            let Some(source) = slot.get(&mut probe).cloned() else { continue };
            if !source.contains("{{") && !source.contains("{%") {
                continue;
            }
            let name = slot.pointer();
            match env.add_template_owned(name.clone(), source.clone()) {
                Ok(()) => {
                    let tmpl = env.get_template(&name).expect("just added");
                    variables.extend(tmpl.undeclared_variables(false));
                    simple = simple.zip(simple_parts(&source)).map(|(mut all, parts)| {
                        all.push(parts);
                        all
                    });
                    slots.push((slot, name));
                }
                Err(e) => errors.push(CompileError { pointer: name, message: describe(&e) }),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        // The fast path checks only the templated strings: it is used only
        // when the fixed ones pass Meta's limits (they do in any campaign
        // that validates).
        for (slot, _) in &slots {
            if let Some(target) = slot.get(&mut probe) {
                *target = "x".into();
            }
        }
        if check_rendered(&probe).is_err() {
            simple = None;
        }
        Ok(MessageTemplate { spec: spec.clone(), env, slots, variables, simple })
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
        let vars: Vec<(&str, &str)> = vars.into_iter().collect();
        if let Some(simple) = &self.simple {
            let filled: Option<Vec<String>> = simple.iter().map(|parts| fill(parts, &vars)).collect();
            // A variable is missing: the engine says which, in its words.
            if let Some(filled) = filled {
                for ((slot, _), text) in self.slots.iter().zip(filled) {
                    if let Some(target) = slot.get(&mut out) {
                        *target = text;
                    }
                }
                check_rendered(&out)?;
                return Ok(out);
            }
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

impl MessageTemplate {
    /// Whether [`MessageTemplate::render`] would succeed, without building
    /// the message when the templates are simple (the planner checks every
    /// recipient of an audience of millions). The error is render's.
    pub fn check<'a, I>(&self, vars: I) -> Result<(), String>
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        if self.slots.is_empty() {
            return Ok(());
        }
        let vars: Vec<(&str, &str)> = vars.into_iter().collect();
        if let Some(simple) = &self.simple
            && self.slots.iter().zip(simple).all(|((slot, _), parts)| fits(*slot, parts, &vars))
        {
            return Ok(());
        }
        self.render(vars).map(|_| ())
    }
}

/// The string of `parts` with `vars` filled in; None when one is missing.
fn fill(parts: &[Part], vars: &[(&str, &str)]) -> Option<String> {
    let mut text = String::new();
    for part in parts {
        match part {
            Part::Text(t) => text.push_str(t),
            Part::Var(name) => text.push_str(lookup(vars, name)?),
        }
    }
    Some(text)
}

/// True when `parts`, filled, certainly pass [`check_rendered`] in `slot`
/// (every variable defined, within Meta's limits); false when unsure.
fn fits(slot: Slot, parts: &[Part], vars: &[(&str, &str)]) -> bool {
    let mut chars = 0;
    let mut blank = true;
    for part in parts {
        let piece = match part {
            Part::Text(t) => t.as_str(),
            Part::Var(name) => match lookup(vars, name) {
                Some(v) => v,
                None => return false,
            },
        };
        chars += piece.chars().count();
        blank &= piece.trim().is_empty();
    }
    match slot {
        Slot::Text => chars < limits::TEXT_BELOW && !blank,
        Slot::QuickReplyTitle(_) => chars <= limits::QUICK_REPLY_TITLE_MAX,
        _ => true,
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

    /// The fast path (concatenation) and the engine agree, output and
    /// errors, on templates mixing plain and non-plain pieces.
    #[test]
    fn simple_templates_fill_exactly_as_the_engine_does() {
        let pieces = [
            "Hi ",
            "{{ a }}",
            "{{b}}",
            "{{\tc\n}}",
            " ",
            "\n",
            "\r",
            "}",
            "{",
            "}}",
            "{{ true }}",
            "{{- a }}",
            "{{ a|upper }}",
            "{{ range }}",
            "x",
            "é",
            "{# c #}",
            "{{ missing }}",
        ];
        let var_sets: [&[(&str, &str)]; 4] =
            [&[("a", "Lan"), ("b", " "), ("c", "42")], &[("a", ""), ("b", ""), ("c", "")], &[("a", "1")], &[]];
        let mut rng = fastrand::Rng::with_seed(16);
        let mut simple_seen = 0;
        for _ in 0..3000 {
            let source: String = (0..rng.usize(1..6)).map(|_| pieces[rng.usize(..pieces.len())]).collect();
            let Ok(fast) = MessageTemplate::compile(&text(&source)) else { continue };
            let mut engine = MessageTemplate::compile(&text(&source)).unwrap();
            engine.simple = None;
            simple_seen += usize::from(fast.simple.is_some());
            for vars in var_sets {
                let (a, b) = (fast.render(vars.iter().copied()), engine.render(vars.iter().copied()));
                assert_eq!(
                    a.as_ref().map(|m| m.text.clone()),
                    b.as_ref().map(|m| m.text.clone()),
                    "{source:?} {vars:?}"
                );
                assert_eq!(fast.check(vars.iter().copied()), b.map(|_| ()), "{source:?} {vars:?}");
            }
        }
        assert!(simple_seen > 300, "the fast path was taken {simple_seen} times");
    }

    #[test]
    fn the_check_fast_path_keeps_the_limits() {
        let m = MessageTemplate::compile(&text("{{ long }}")).unwrap();
        assert!(m.simple.is_some());
        let long = "é".repeat(2000);
        assert!(m.check([("long", long.as_str())]).unwrap_err().contains("2000"));
        assert!(m.check([("long", "   ")]).unwrap_err().contains("empty"));
        assert!(m.check([("long", "ok")]).is_ok());
    }

    #[test]
    fn constant_messages_skip_the_engine() {
        let m = MessageTemplate::compile(&text("Hello")).unwrap();
        assert!(m.is_constant());
        assert_eq!(m.render([]).unwrap().text.unwrap(), "Hello");
    }
}
