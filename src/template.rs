//! `{{ var }}` templates in message strings, filled per recipient.
//!
//! Every templated string of a message (text, quick-reply titles and
//! payloads, utility-template parameters) is compiled once with minijinja in
//! strict mode: an undefined variable is an error for that recipient, never
//! an empty string. Strings without `{{`/`{%` skip the engine entirely, so a
//! plain message costs nothing per recipient. Strings made of literal text
//! and `{{ name }}` lookups alone (most messages) are filled by splicing the
//! values in, which the engine is shown to agree with when the message is
//! compiled; anything else, and any lookup of a missing variable, goes
//! through the engine. The sender fills a message per request, so this is
//! on its hot path.

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
    /// Slots that hold `{{ }}`, in [`all_slots`] order.
    slots: Vec<Compiled>,
    variables: BTreeSet<String>,
    /// The strings that are not templated pass Meta's limits (they do in
    /// any campaign that validates): [`MessageTemplate::check`] then looks
    /// at the templated ones only.
    fixed_fit: bool,
}

/// One templated string.
#[derive(Debug)]
struct Compiled {
    slot: Slot,
    /// The name the engine compiled it under.
    name: String,
    /// Its pieces, when it is literal text and `{{ name }}` lookups alone.
    plain: Option<Vec<Piece>>,
}

/// A piece of a plain template.
#[derive(Debug)]
enum Piece {
    Text(String),
    Var(String),
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
            let plain = plain_pieces(&source);
            match env.add_template_owned(name.clone(), source) {
                Ok(()) => {
                    let tmpl = env.get_template(&name).expect("just added");
                    variables.extend(tmpl.undeclared_variables(false));
                    let plain = plain.filter(|pieces| engine_agrees(&tmpl, pieces));
                    slots.push(Compiled { slot, name, plain });
                }
                Err(e) => errors.push(CompileError { pointer: name, message: describe(&e) }),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut template = MessageTemplate { spec: spec.clone(), env, slots, variables, fixed_fit: false };
        template.fixed_fit = template.check_rendered(&vec!["x".to_string(); template.slots.len()]).is_ok();
        Ok(template)
    }

    /// Whether [`MessageTemplate::render`] would succeed, with its error;
    /// without building a string when every templated string is plain (the
    /// planner checks each recipient of an audience of millions).
    pub fn check<'a, I>(&self, vars: I) -> Result<(), String>
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        if self.slots.is_empty() {
            return Ok(());
        }
        let vars: Vec<(&str, &str)> = vars.into_iter().collect();
        let fits = |c: &Compiled| c.plain.as_deref().is_some_and(|pieces| fits(c.slot, pieces, &vars));
        if self.fixed_fit && self.slots.iter().all(fits) {
            return Ok(());
        }
        self.render_slots(vars).map(|_| ())
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
        let filled = self.render_slots(vars)?;
        Ok(self.spec_with(filled))
    }

    /// How many strings of the message are templated (its slots).
    pub fn slots(&self) -> usize {
        self.slots.len()
    }

    /// Fills each templated string for one recipient, in slot order, and
    /// checks Meta's limits on the message they make: what [`render`] does,
    /// without building the message (the sender splices the strings into a
    /// body serialized once, `send::wire::BodyTemplate`).
    ///
    /// [`render`]: MessageTemplate::render
    pub fn render_slots<'a, I>(&self, vars: I) -> Result<Vec<String>, String>
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        if self.slots.is_empty() {
            return Ok(Vec::new());
        }
        let vars: Vec<(&str, &str)> = vars.into_iter().collect();
        // The engine's context, built only when a string needs the engine.
        let mut ctx = None;
        let mut filled = Vec::with_capacity(self.slots.len());
        for compiled in &self.slots {
            let spliced = compiled.plain.as_deref().and_then(|pieces| splice(pieces, &vars));
            let text = match spliced {
                Some(text) => text,
                None => {
                    let ctx = ctx.get_or_insert_with(|| minijinja::Value::from_pairs(vars.iter().copied()));
                    let tmpl = self.env.get_template(&compiled.name).expect("compiled");
                    tmpl.render(&*ctx).map_err(|e| describe(&e))?
                }
            };
            filled.push(text);
        }
        self.check_rendered(&filled)?;
        Ok(filled)
    }

    /// The message with its templated strings replaced, in slot order, by
    /// `filled` (strings [`render_slots`] returned, or markers).
    ///
    /// [`render_slots`]: MessageTemplate::render_slots
    pub fn spec_with(&self, filled: impl IntoIterator<Item = String>) -> MessageSpec {
        let mut out = self.spec.clone();
        for (compiled, text) in self.slots.iter().zip(filled) {
            if let Some(target) = compiled.slot.get(&mut out) {
                *target = text;
            }
        }
        out
    }

    /// Meta's limits on a filled message (the per-recipient half of SPEC §2),
    /// its templated strings read from `filled`.
    fn check_rendered(&self, filled: &[String]) -> Result<(), String> {
        if let Some(text) = self.filled_or(filled, Slot::Text, self.spec.text.as_ref()) {
            let n = text.chars().count();
            if n >= limits::TEXT_BELOW {
                return Err(format!("rendered text is {n} characters; Meta takes fewer than {}", limits::TEXT_BELOW));
            }
            if text.trim().is_empty() {
                return Err("rendered text is empty".into());
            }
        }
        for (i, q) in self.spec.quick_replies.iter().flatten().enumerate() {
            if let Some(title) = self.filled_or(filled, Slot::QuickReplyTitle(i), q.title.as_ref()) {
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

    /// The string of `slot` in the filled message: from `filled` when the
    /// slot is templated, else as `written`.
    fn filled_or<'a>(&self, filled: &'a [String], slot: Slot, written: Option<&'a String>) -> Option<&'a str> {
        match self.slots.iter().position(|c| c.slot == slot) {
            Some(i) => filled.get(i).map(String::as_str),
            None => written.map(String::as_str),
        }
    }
}

/// The pieces of `source` when it is literal text and `{{ name }}` lookups
/// alone (spaces inside the braces, no filters, no whitespace control, no
/// tags or comments); None otherwise.
fn plain_pieces(source: &str) -> Option<Vec<Piece>> {
    let literal = |text: &str| !text.contains("{%") && !text.contains("{#");
    let mut pieces = Vec::new();
    let mut rest = source;
    while let Some(open) = rest.find("{{") {
        let (text, after) = (&rest[..open], &rest[open + 2..]);
        let close = after.find("}}")?;
        let name = after[..close].trim_matches(' ');
        let identifier = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !literal(text) || !identifier {
            return None;
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text.to_string()));
        }
        pieces.push(Piece::Var(name.to_string()));
        rest = &after[close + 2..];
    }
    if !literal(rest) {
        return None;
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest.to_string()));
    }
    Some(pieces)
}

/// True when the engine renders `tmpl` as [`splice`] fills `pieces`, for
/// values that would show any difference the engine makes whatever the
/// value is: escaping (`<&>"'`), a literal read as a keyword (`none`), a
/// trailing newline dropped, one variable read for another.
fn engine_agrees(tmpl: &minijinja::Template<'_, '_>, pieces: &[Piece]) -> bool {
    let probes: Vec<(String, String)> = pieces
        .iter()
        .filter_map(|p| match p {
            Piece::Var(name) => Some((name.clone(), format!("<&>\"' {name}\u{1}"))),
            Piece::Text(_) => None,
        })
        .collect();
    let vars: Vec<(&str, &str)> = probes.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let engine = tmpl.render(minijinja::Value::from_pairs(vars.iter().copied()));
    engine.ok().is_some_and(|text| splice(pieces, &vars).as_deref() == Some(text.as_str()))
}

/// True when `pieces`, filled, certainly pass Meta's limits in `slot`
/// (every variable defined); false when unsure.
fn fits(slot: Slot, pieces: &[Piece], vars: &[(&str, &str)]) -> bool {
    let (mut chars, mut blank) = (0, true);
    for piece in pieces {
        let Some(value) = piece_value(piece, vars) else { return false };
        chars += value.chars().count();
        blank &= value.trim().is_empty();
    }
    match slot {
        Slot::Text => chars < limits::TEXT_BELOW && !blank,
        Slot::QuickReplyTitle(_) => chars <= limits::QUICK_REPLY_TITLE_MAX,
        _ => true,
    }
}

/// `pieces` with each variable's value; None when one is missing (the
/// engine then says which). The last pair of a name wins, as in the
/// engine's context.
fn splice(pieces: &[Piece], vars: &[(&str, &str)]) -> Option<String> {
    // Sized first: one allocation per string.
    let len = pieces.iter().map(|p| piece_value(p, vars).map(str::len)).sum::<Option<usize>>()?;
    let mut out = String::with_capacity(len);
    for piece in pieces {
        out.push_str(piece_value(piece, vars)?);
    }
    Some(out)
}

/// The text of one piece; None for a missing variable.
fn piece_value<'a>(piece: &'a Piece, vars: &[(&str, &'a str)]) -> Option<&'a str> {
    match piece {
        Piece::Text(text) => Some(text),
        Piece::Var(name) => vars.iter().rev().find(|(n, _)| n == name).map(|(_, v)| *v),
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

    /// What the engine alone makes of `source` (the slow path, always right).
    fn engine(source: &str, vars: &[(&str, &str)]) -> Result<String, String> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.add_template_owned("/message/text", source.to_string()).map_err(|e| describe(&e))?;
        let tmpl = env.get_template("/message/text").map_err(|e| describe(&e))?;
        tmpl.render(minijinja::Value::from_pairs(vars.iter().copied())).map_err(|e| describe(&e))
    }

    fn is_plain(m: &MessageTemplate) -> bool {
        m.slots[0].plain.is_some()
    }

    #[test]
    fn lookups_alone_are_spliced_and_say_what_the_engine_says() {
        let vars = [("first_name", "Lan <&> \"x\""), ("order_id", "42"), ("none", "N"), ("a", "1"), ("a", "2")];
        let plain = ["Hi {{ first_name }}, order {{order_id}}", "{{ a }}}", "}} {{   a }} {", "x\n{{ a }} y"];
        let engine_only = [
            "Hi {{ first_name | upper }}",
            "Hi {{- first_name }}",
            "Hi {{ first_name -}} !",
            "{% if a %}{{ a }}{% endif %}",
            "{# note #}{{ a }}",
            "{{ none }}",
            "{{ a }}\n",
            "{{ order_id + 1 }}",
            "{{ first_name ~ a }}",
        ];
        for source in plain.iter().chain(&engine_only) {
            let m = MessageTemplate::compile(&text(source)).unwrap();
            assert_eq!(is_plain(&m), plain.contains(source), "{source:?}");
            let got = m.render(vars).map(|spec| spec.text.unwrap_or_default());
            assert_eq!(got, engine(source, &vars), "{source:?}");
        }
    }

    #[test]
    fn a_missing_variable_goes_through_the_engine_and_its_message() {
        let m = MessageTemplate::compile(&text("Hi {{ first_name }}")).unwrap();
        assert!(is_plain(&m));
        assert_eq!(
            m.render([("other", "x")]).map(|_| ()),
            engine("Hi {{ first_name }}", &[("other", "x")]).map(|_| ())
        );
    }

    #[test]
    fn filled_slots_make_the_rendered_message() {
        let mut spec = text("Hi {{ first_name }}");
        spec.quick_replies = Some(vec![crate::campaign::model::QuickReply {
            content_type: None,
            title: Some("{{ title }}".into()),
            payload: Some("TRACK:{{ order_id | upper }}".into()),
            image_url: None,
        }]);
        let m = MessageTemplate::compile(&spec).unwrap();
        assert_eq!(m.slots(), 3);
        let vars = [("first_name", "Lan"), ("title", "Track"), ("order_id", "hn-1")];
        let filled = m.render_slots(vars).unwrap();
        assert_eq!(filled, ["Hi Lan", "Track", "TRACK:HN-1"]);
        let rendered = m.render(vars).unwrap();
        assert_eq!(serde_json::to_value(m.spec_with(filled)).unwrap(), serde_json::to_value(rendered).unwrap());
        let long = [("first_name", "Lan"), ("title", "a title over twenty characters"), ("order_id", "1")];
        assert!(m.render_slots(long).unwrap_err().contains("quick-reply title"));
    }

    /// The plain path and the engine agree, output, check and errors, on
    /// templates mixing plain and other pieces.
    #[test]
    fn plain_templates_render_and_check_as_the_engine_does() {
        let pieces = [
            "Hi ",
            "{{ a }}",
            "{{b}}",
            "{{  c }}",
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
            "<&>",
        ];
        let var_sets: [&[(&str, &str)]; 4] =
            [&[("a", "Lan"), ("b", " "), ("c", "42")], &[("a", ""), ("b", ""), ("c", "")], &[("a", "1")], &[]];
        let mut rng = fastrand::Rng::with_seed(16);
        let mut plain_seen = 0;
        for _ in 0..3000 {
            let source: String = (0..rng.usize(1..6)).map(|_| pieces[rng.usize(..pieces.len())]).collect();
            let Ok(fast) = MessageTemplate::compile(&text(&source)) else { continue };
            let mut engine = MessageTemplate::compile(&text(&source)).unwrap();
            engine.slots.iter_mut().for_each(|c| c.plain = None);
            plain_seen += usize::from(fast.slots.iter().all(|c| c.plain.is_some()) && !fast.slots.is_empty());
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
        assert!(plain_seen > 300, "the plain path was taken {plain_seen} times");
    }

    #[test]
    fn the_check_keeps_the_limits() {
        let m = MessageTemplate::compile(&text("{{ long }}")).unwrap();
        assert!(is_plain(&m));
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
