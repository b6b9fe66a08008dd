//! The rules of a template file that no schema can say (SPEC §7): the
//! placeholders are of the declared format and numbered in order, none
//! starts or ends a text, every one has an example, buttons are complete.
//! Every rule adds a diagnostic rather than returning early.

use super::model::{ButtonKind, ParameterFormat, RawTemplateFile};
use super::placeholder::{self, Placeholder};
use super::{BODY_MAX, BUTTON_TEXT_MAX, HEADER_MAX, TemplateFile};
use crate::campaign::Diagnostic;
use crate::campaign::load::Loaded;

struct Checker<'a> {
    loaded: &'a Loaded,
    raw: &'a RawTemplateFile,
    format: ParameterFormat,
    diags: Vec<Diagnostic>,
}

/// Checks a schema-valid file; Err holds every problem.
pub fn check(loaded: &Loaded, raw: RawTemplateFile) -> Result<TemplateFile, Vec<Diagnostic>> {
    let format = raw.parameter_format.unwrap_or_default();
    let mut c = Checker { loaded, raw: &raw, format, diags: Vec::new() };
    c.pages();
    // Meta's rule on the ends is the body's: "Order {{order_id}}" is a fine header.
    let header = c.text("/header", raw.header.as_deref(), HEADER_MAX, false);
    let body = c.text("/body", Some(&raw.body), BODY_MAX, true);
    if header.len() > 1 {
        c.error("/header", "a header holds at most one placeholder", "move the others into the body");
    }
    c.examples(&header, &body);
    c.buttons();
    let mut diags = c.diags;
    diags.sort_by_key(|d| (d.line, d.col));
    if !diags.is_empty() {
        return Err(diags);
    }
    Ok(TemplateFile {
        path: loaded.path.clone(),
        name: raw.template,
        language: raw.language,
        pages: raw.pages,
        format,
        header: raw.header,
        body: raw.body,
        buttons: raw.buttons,
        examples: raw.examples,
        loaded: loaded.clone(),
    })
}

impl Checker<'_> {
    fn error(&mut self, pointer: &str, message: impl Into<String>, hint: impl Into<String>) {
        let d = self.loaded.error_at(pointer, message).with_hint(hint);
        self.diags.push(d);
    }

    fn pages(&mut self) {
        for (i, p) in self.raw.pages.iter().enumerate() {
            if self.raw.pages[..i].iter().any(|q| q.id == p.id) {
                self.error(&format!("/pages/{i}/id"), format!("page {} is listed twice", p.id), "list each page once");
            }
        }
    }

    /// Checks one text and returns its distinct placeholders in order.
    fn text(&mut self, at: &str, text: Option<&str>, max: usize, ends_rule: bool) -> Vec<String> {
        let Some(text) = text else { return Vec::new() };
        let len = text.chars().count();
        if len > max {
            self.error(at, format!("is {len} characters long; Meta allows at most {max}"), "shorten it");
        }
        let found = match placeholder::scan(text) {
            Ok(found) => found,
            Err(e) => {
                self.error(at, e, "Meta's placeholders are `{{1}}` (POSITIONAL) or `{{order_id}}` (NAMED)");
                return Vec::new();
            }
        };
        self.format_of(at, &found);
        let trimmed = text.trim();
        if ends_rule && (trimmed.starts_with("{{") || trimmed.ends_with("}}")) {
            self.error(
                at,
                "a placeholder starts or ends the text; Meta refuses such templates",
                "put words around it, e.g. \"Hi {{first_name}}, …\" or end with a full stop",
            );
        }
        let names = placeholder::distinct(&found);
        if self.format == ParameterFormat::Positional && found.iter().all(Placeholder::is_positional) {
            let expected: Vec<String> = (1..=names.len()).map(|n| n.to_string()).collect();
            if names != expected {
                self.error(
                    at,
                    format!(
                        "placeholders are numbered {}; Meta wants {} in order",
                        names.join(", "),
                        expected.join(", ")
                    ),
                    "number them {{1}}, {{2}} … in the order they appear",
                );
            }
        }
        names
    }

    fn format_of(&mut self, at: &str, found: &[Placeholder]) {
        let (wrong, hint) = match self.format {
            ParameterFormat::Positional => (
                found.iter().find(|p| !p.is_positional()),
                "write `{{1}}`, `{{2}}` …, or set `parameter_format: NAMED`",
            ),
            ParameterFormat::Named => (
                found.iter().find(|p| p.is_positional()),
                "name it, e.g. `{{order_id}}`, or set `parameter_format: POSITIONAL`",
            ),
        };
        if let Some(p) = wrong {
            let message = format!("`{{{{{}}}}}` does not fit parameter_format {}", p.name, self.format.as_str());
            self.error(at, message, hint);
        }
    }

    /// The example keys the placeholders need.
    fn example_keys(&self, header: &[String], body: &[String]) -> Vec<(String, &'static str)> {
        let mut keys: Vec<(String, &'static str)> = Vec::new();
        match self.format {
            ParameterFormat::Named => {
                for n in header.iter().chain(body) {
                    if !keys.iter().any(|(k, _)| k == n) {
                        let at = if header.contains(n) { "/header" } else { "/body" };
                        keys.push((n.clone(), at));
                    }
                }
            }
            ParameterFormat::Positional => {
                if !header.is_empty() {
                    keys.push(("header".into(), "/header"));
                }
                keys.extend(body.iter().map(|n| (n.clone(), "/body")));
            }
        }
        keys
    }

    fn examples(&mut self, header: &[String], body: &[String]) {
        let keys = self.example_keys(header, body);
        for (key, at) in &keys {
            match self.raw.examples.get(key) {
                Some(v) if v.trim().is_empty() => {
                    self.error(&format!("/examples/{key}"), "the example is empty", "write a realistic value")
                }
                Some(_) => {}
                None => {
                    let what =
                        if key == "header" { "the header's {{1}}".to_string() } else { format!("{{{{{key}}}}}") };
                    self.error(
                        at,
                        format!("{what} has no example; Meta's review requires one for every placeholder"),
                        format!("add `examples: {{ {key}: \"…\" }}`"),
                    );
                }
            }
        }
        for key in self.raw.examples.keys() {
            if !keys.iter().any(|(k, _)| k == key) {
                self.diags.push(
                    self.loaded
                        .error_at_key(&format!("/examples/{key}"), format!("no placeholder is called `{key}`"))
                        .with_hint("remove it, or fix its name to match a placeholder"),
                );
            }
        }
    }

    fn buttons(&mut self) {
        for (i, b) in self.raw.buttons.iter().enumerate() {
            let at = format!("/buttons/{i}");
            if b.text.chars().count() > BUTTON_TEXT_MAX {
                self.error(
                    &format!("{at}/text"),
                    format!("a button text has at most {BUTTON_TEXT_MAX} characters"),
                    "shorten it",
                );
            }
            match b.kind {
                ButtonKind::Postback => {
                    if b.payload.as_deref().is_none_or(str::is_empty) {
                        self.error(&at, "a POSTBACK button needs `payload`", "add `payload: TRACK_ORDER`");
                    }
                    for (field, set) in [("url", b.url.is_some()), ("example", b.example.is_some())] {
                        if set {
                            self.error(
                                &format!("{at}/{field}"),
                                format!("a POSTBACK button has no `{field}`"),
                                "remove it",
                            );
                        }
                    }
                }
                ButtonKind::Url => self.url_button(&at, b.url.as_deref(), b.example.as_deref(), b.payload.is_some()),
            }
        }
    }

    fn url_button(&mut self, at: &str, url: Option<&str>, example: Option<&str>, has_payload: bool) {
        if has_payload {
            self.error(&format!("{at}/payload"), "a URL button has no `payload`", "remove it");
        }
        let Some(url) = url else {
            self.error(at, "a URL button needs `url`", "add `url: \"https://shop.example/track/{{1}}\"`");
            return;
        };
        let url_at = format!("{at}/url");
        if !url.starts_with("https://") {
            self.error(&url_at, "the URL must start with https://", "write the full https URL");
        }
        let found = placeholder::scan(url).unwrap_or_default();
        let dynamic = match found.as_slice() {
            [] => false,
            [p] if p.name == "1" && p.end == url.len() => true,
            _ => {
                self.error(
                    &url_at,
                    "a URL takes one placeholder, `{{1}}`, at its very end",
                    "write e.g. `https://shop.example/track/{{1}}`; the message fills the suffix",
                );
                return;
            }
        };
        match (dynamic, example) {
            (true, None) => self.error(
                at,
                "a URL ending in {{1}} needs `example` (a sample suffix for Meta's review)",
                "add `example: \"A123\"`",
            ),
            (true, Some(e)) if e.trim().is_empty() => {
                self.error(&format!("{at}/example"), "the example is empty", "write a realistic suffix")
            }
            (false, Some(_)) => self.error(
                &format!("{at}/example"),
                "`example` is only for a URL ending in {{1}}",
                "remove it, or end the URL with `{{1}}`",
            ),
            _ => {}
        }
    }
}
