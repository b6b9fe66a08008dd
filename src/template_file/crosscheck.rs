//! A UTILITY campaign held against the template file of the same name and
//! language (SPEC §7): the same placeholders, no missing or extra
//! parameter, button parameters in the buttons' order. Diagnostics point at
//! the campaign (that is where a parameter is missing or extra) and name
//! the template file's line.

use crate::campaign::Diagnostic;
use crate::campaign::load::Loaded;
use crate::campaign::model::{ComponentKind, ParameterKind, TemplateParameter, UtilityTemplate};

use super::TemplateFile;
use super::model::{ButtonKind, ParameterFormat};

const AT: &str = "/message/template";

/// Every mismatch between `used` (the campaign's `message.template`, loaded
/// as `campaign`) and the template file `t`.
pub fn check(campaign: &Loaded, used: &UtilityTemplate, t: &TemplateFile) -> Vec<Diagnostic> {
    let mut x = Cross { campaign, t, diags: Vec::new() };
    let mut seen: Vec<ComponentKind> = Vec::new();
    for (c, comp) in used.components.iter().enumerate() {
        let at = format!("{AT}/components/{c}");
        if seen.contains(&comp.kind) {
            x.error(&at, format!("a second `{}` component", kind_name(comp.kind)), "merge the two into one", None);
            continue;
        }
        seen.push(comp.kind);
        match comp.kind {
            ComponentKind::Header => x.texts(&at, &comp.parameters, &t.header_params(), "/header", "header"),
            ComponentKind::Body => x.texts(&at, &comp.parameters, &t.body_params(), "/body", "body"),
            ComponentKind::Buttons => x.buttons(&at, &comp.parameters),
        }
    }
    let missing = |kind: ComponentKind| !seen.contains(&kind);
    if missing(ComponentKind::Header) && !t.header_params().is_empty() {
        x.missing_component("header", "/header", t.header_params().len());
    }
    if missing(ComponentKind::Body) && !t.body_params().is_empty() {
        x.missing_component("body", "/body", t.body_params().len());
    }
    if missing(ComponentKind::Buttons) && t.buttons.iter().any(|b| dynamic_url(b.url.as_deref())) {
        x.missing_component("buttons", "/buttons", 1);
    }
    x.diags.sort_by_key(|d| (d.line, d.col));
    x.diags
}

fn kind_name(kind: ComponentKind) -> &'static str {
    match kind {
        ComponentKind::Header => "header",
        ComponentKind::Body => "body",
        ComponentKind::Buttons => "buttons",
    }
}

fn dynamic_url(url: Option<&str>) -> bool {
    url.is_some_and(|u| u.ends_with("{{1}}"))
}

struct Cross<'a> {
    campaign: &'a Loaded,
    t: &'a TemplateFile,
    diags: Vec<Diagnostic>,
}

impl Cross<'_> {
    fn error(&mut self, pointer: &str, message: impl Into<String>, hint: impl Into<String>, file_at: Option<&str>) {
        let mut message = message.into();
        if let Some(p) = file_at {
            message.push_str(&format!(" (template {} at {})", self.t.name, self.t.place(p)));
        }
        self.diags.push(self.campaign.error_at(pointer, message).with_hint(hint));
    }

    fn missing_component(&mut self, name: &str, file_at: &str, n: usize) {
        self.error(
            &format!("{AT}/components"),
            format!("no `{name}` component, but the template's {name} has {n} placeholder(s)"),
            format!("add `- type: {name}` with its parameters"),
            Some(file_at),
        );
    }

    /// Header or body: text parameters for `wanted`, in order (POSITIONAL)
    /// or by `parameter_name` (NAMED).
    fn texts(&mut self, at: &str, params: &[TemplateParameter], wanted: &[String], file_at: &str, part: &str) {
        for (p, param) in params.iter().enumerate() {
            if param.kind != ParameterKind::Text {
                let at = format!("{at}/parameters/{p}/type");
                self.error(&at, format!("the {part} takes text parameters"), "write `type: text`", None);
            }
        }
        match self.t.format {
            ParameterFormat::Positional => self.positional(at, params, wanted, file_at, part),
            ParameterFormat::Named => self.named(at, params, wanted, file_at, part),
        }
    }

    fn positional(&mut self, at: &str, params: &[TemplateParameter], wanted: &[String], file_at: &str, part: &str) {
        for (p, param) in params.iter().enumerate() {
            if param.parameter_name.is_some() {
                let at = format!("{at}/parameters/{p}/parameter_name");
                self.error(
                    &at,
                    "the template is POSITIONAL: parameters have no names",
                    "remove `parameter_name`",
                    Some(file_at),
                );
            }
        }
        if params.len() > wanted.len() {
            let at = format!("{at}/parameters/{}", wanted.len());
            let message = format!("extra parameter: the template's {part} has {} placeholder(s)", wanted.len());
            self.error(&at, message, "remove it, or add the placeholder to a new template", Some(file_at));
        } else if params.len() < wanted.len() {
            let list = wanted[params.len()..].iter().map(|n| format!("{{{{{n}}}}}")).collect::<Vec<_>>().join(", ");
            let message = format!("missing parameter(s) for {list} of the template's {part}");
            self.error(
                &format!("{at}/parameters"),
                message,
                "add a `type: text` parameter for each, in order",
                Some(file_at),
            );
        }
    }

    fn named(&mut self, at: &str, params: &[TemplateParameter], wanted: &[String], file_at: &str, part: &str) {
        let mut given: Vec<&str> = Vec::new();
        for (p, param) in params.iter().enumerate() {
            let here = format!("{at}/parameters/{p}");
            match param.parameter_name.as_deref() {
                None => self.error(
                    &here,
                    "the template is NAMED: every parameter needs `parameter_name`",
                    format!("add `parameter_name:` one of {}", wanted.join(", ")),
                    Some(file_at),
                ),
                Some(name) if !wanted.iter().any(|w| w == name) => self.error(
                    &format!("{here}/parameter_name"),
                    format!("extra parameter: the template's {part} has no {{{{{name}}}}}"),
                    format!("use one of: {}", wanted.join(", ")),
                    Some(file_at),
                ),
                Some(name) if given.contains(&name) => {
                    self.error(&format!("{here}/parameter_name"), format!("`{name}` is given twice"), "keep one", None)
                }
                Some(name) => given.push(name),
            }
        }
        let missing: Vec<String> =
            wanted.iter().filter(|w| !given.contains(&w.as_str())).map(|n| format!("{{{{{n}}}}}")).collect();
        if !missing.is_empty() && params.iter().all(|p| p.parameter_name.is_some()) {
            let message = format!("missing parameter(s) for {} of the template's {part}", missing.join(", "));
            self.error(
                &format!("{at}/parameters"),
                message,
                "add a `type: text` parameter with `parameter_name` for each",
                Some(file_at),
            );
        }
    }

    /// Button parameters go to the template's buttons in order: a URL
    /// button ending in `{{1}}` needs a `url`, a POSTBACK button may take a
    /// `payload`, a URL button without a placeholder takes nothing.
    fn buttons(&mut self, at: &str, params: &[TemplateParameter]) {
        let buttons = &self.t.buttons;
        for (p, param) in params.iter().enumerate() {
            let here = format!("{at}/parameters/{p}");
            let Some(b) = buttons.get(p) else {
                let message = format!("extra parameter: the template has {} button(s)", buttons.len());
                self.error(&here, message, "remove it", Some("/buttons"));
                continue;
            };
            let file_at = format!("/buttons/{p}");
            match (b.kind, param.kind) {
                (ButtonKind::Url, ParameterKind::Url) if !dynamic_url(b.url.as_deref()) => self.error(
                    &here,
                    format!("extra parameter: button {} (`{}`) has a fixed URL", p + 1, b.text),
                    "remove it, or end the template's URL with {{1}} (a new template)",
                    Some(&file_at),
                ),
                (ButtonKind::Url, ParameterKind::Url) | (ButtonKind::Postback, ParameterKind::Postback) => {}
                (want, _) => {
                    let (kind, field) = match want {
                        ButtonKind::Url => ("url", "url"),
                        ButtonKind::Postback => ("postback", "payload"),
                    };
                    self.error(
                        &format!("{here}/type"),
                        format!(
                            "button {} (`{}`) is {}: its parameter is `type: {kind}`",
                            p + 1,
                            b.text,
                            kind.to_uppercase()
                        ),
                        format!(
                            "give the button parameters in the template's button order (`type: {kind}, {field}: …`)"
                        ),
                        Some(&file_at),
                    );
                }
            }
        }
        for (i, b) in buttons.iter().enumerate().skip(params.len()) {
            if dynamic_url(b.url.as_deref()) {
                self.error(
                    &format!("{at}/parameters"),
                    format!("missing parameter: button {} (`{}`) needs the URL suffix for {{{{1}}}}", i + 1, b.text),
                    "add `- { type: url, url: \"{{ order_id }}\" }` at its place in the button order",
                    Some(&format!("/buttons/{i}")),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::load::load_bytes;
    use crate::campaign::model::RawCampaign;
    use std::path::Path;

    const TEMPLATE: &str = "version: 1\ntemplate: order_update\nlanguage: en_US\npages: [{ id: \"500\", token_env: T }]\nparameter_format: NAMED\nbody: \"Hi {{first_name}}, order {{order_id}} shipped.\"\nbuttons:\n  - { type: POSTBACK, text: Help, payload: HELP }\n  - { type: URL, text: Track, url: \"https://s.example/t/{{1}}\", example: A1 }\nexamples: { first_name: Lan, order_id: A1 }\n";

    fn campaign(components: &str) -> String {
        format!(
            "version: 1\nid: c\npages: [{{ id: \"500\", provider: graph, token_env: T }}]\naudiences: [{{ page: \"500\", file: a.csv }}]\nmessage:\n  template:\n    name: order_update\n    language: en_US\n    components:\n{components}messaging_type: UTILITY\n"
        )
    }

    fn problems(components: &str) -> Vec<String> {
        let t = super::super::validate(&load_bytes(Path::new("t.yaml"), TEMPLATE.as_bytes()).unwrap()).unwrap();
        let loaded = load_bytes(Path::new("c.yaml"), campaign(components).as_bytes()).unwrap();
        let raw: RawCampaign = serde_json::from_value(loaded.value.clone()).unwrap();
        check(&loaded, raw.message.template.as_ref().unwrap(), &t).iter().map(ToString::to_string).collect()
    }

    const BODY: &str = "      - type: body\n        parameters:\n          - { type: text, parameter_name: first_name, text: \"{{ first_name }}\" }\n          - { type: text, parameter_name: order_id, text: \"{{ order_id }}\" }\n";
    const BUTTONS: &str = "      - type: buttons\n        parameters:\n          - { type: postback, payload: HELP_ME }\n          - { type: url, url: \"{{ order_id }}\" }\n";

    #[test]
    fn matching_parameters_pass() {
        assert_eq!(problems(&format!("{BODY}{BUTTONS}")), Vec::<String>::new());
    }

    #[test]
    fn missing_and_extra_named_parameters() {
        let p = problems(&format!("{}{BUTTONS}", BODY.replace("parameter_name: order_id", "parameter_name: order")));
        assert!(p.iter().any(|l| l.starts_with("c.yaml:13:43: error: message.template.components[0].parameters[1].parameter_name: extra parameter: the template's body has no {{order}} (template order_update at t.yaml:6)")), "{p:?}");
        let two = BODY.lines().take(3).map(|l| format!("{l}\n")).collect::<String>();
        let p = problems(&format!("{two}{BUTTONS}"));
        assert!(p.iter().any(|l| l.contains("missing parameter(s) for {{order_id}}")), "{p:?}");
    }

    #[test]
    fn button_parameters_follow_the_button_order() {
        let swapped = "      - type: buttons\n        parameters:\n          - { type: url, url: \"{{ order_id }}\" }\n          - { type: postback, payload: HELP_ME }\n";
        let p = problems(&format!("{BODY}{swapped}"));
        assert!(p.iter().any(|l| l.contains("button 1 (`Help`) is POSTBACK")), "{p:?}");
        let p = problems(BODY);
        assert!(p.iter().any(|l| l.contains("no `buttons` component")), "{p:?}");
        let only_postback =
            "      - type: buttons\n        parameters:\n          - { type: postback, payload: HELP_ME }\n";
        let p = problems(&format!("{BODY}{only_postback}"));
        assert!(p.iter().any(|l| l.contains("missing parameter: button 2 (`Track`)")), "{p:?}");
    }

    #[test]
    fn a_header_parameter_the_template_lacks_is_extra() {
        let header = "      - type: header\n        parameters:\n          - { type: text, parameter_name: order_id, text: x }\n";
        let p = problems(&format!("{header}{BODY}{BUTTONS}"));
        assert!(p.iter().any(|l| l.contains("extra parameter: the template's header has no {{order_id}}")), "{p:?}");
    }
}
