//! A template file in Meta's shape: the body of
//! `POST /{page-id}/message_templates`, and the comparison of a file with a
//! template a page already has.
//!
//! Examples are sent on create (Meta's review needs them) but never
//! compared: Meta may answer them differently and they do not change what a
//! message looks like. Compared are the texts and the buttons.

use serde_json::{Value, json};

use super::TemplateFile;
use super::model::{ButtonKind, ParameterFormat};
use super::placeholder;

/// The create request's JSON body.
pub fn create_body(t: &TemplateFile) -> Value {
    json!({
        "name": t.name,
        "language": t.language,
        "category": "UTILITY",
        "parameter_format": t.format.as_str(),
        "components": components(t),
    })
}

/// The components with their examples, as Meta's create call takes them.
pub fn components(t: &TemplateFile) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(header) = &t.header {
        let mut c = json!({"type": "HEADER", "format": "TEXT", "text": header});
        let params = t.header_params();
        if !params.is_empty() {
            c["example"] = match t.format {
                ParameterFormat::Named => json!({"header_text_named_params": named(t, &params)}),
                ParameterFormat::Positional => json!({"header_text": [example(t, "header")]}),
            };
        }
        out.push(c);
    }
    let mut body = json!({"type": "BODY", "text": t.body});
    let params = t.body_params();
    if !params.is_empty() {
        body["example"] = match t.format {
            ParameterFormat::Named => json!({"body_text_named_params": named(t, &params)}),
            ParameterFormat::Positional => {
                json!({"body_text": [params.iter().map(|p| example(t, p)).collect::<Vec<_>>()]})
            }
        };
    }
    out.push(body);
    if !t.buttons.is_empty() {
        let buttons: Vec<Value> = t.buttons.iter().map(button).collect();
        out.push(json!({"type": "BUTTONS", "buttons": buttons}));
    }
    out
}

fn example(t: &TemplateFile, key: &str) -> String {
    t.examples.get(key).cloned().unwrap_or_default()
}

fn named(t: &TemplateFile, params: &[String]) -> Vec<Value> {
    params.iter().map(|p| json!({"param_name": p, "example": example(t, p)})).collect()
}

fn button(b: &super::model::ButtonSpec) -> Value {
    match b.kind {
        ButtonKind::Postback => json!({"type": "POSTBACK", "text": b.text, "payload": b.payload}),
        ButtonKind::Url => {
            let url = b.url.clone().unwrap_or_default();
            let mut v = json!({"type": "URL", "text": b.text, "url": url});
            // Button URL examples stay positional: the full URL with the suffix filled.
            if let Some(e) = &b.example {
                let found = placeholder::scan(&url).unwrap_or_default();
                v["example"] = json!([placeholder::fill(&url, &found, |_| e.clone())]);
            }
            v
        }
    }
}

/// What a template looks like to a person, for comparison: header text,
/// body text, buttons (kind, text, url or payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    /// The header: `TEXT:<text>`, or `IMAGE` and the like for other formats.
    pub header: Option<String>,
    /// The body text.
    pub body: Option<String>,
    /// (type, text, url or payload) per button.
    pub buttons: Vec<(String, String, String)>,
}

/// The shape of a file.
pub fn shape_of_file(t: &TemplateFile) -> Shape {
    shape_of_components(&components(t))
}

/// The shape of Meta's `components` list (as listed or as created).
pub fn shape_of_components(components: &[Value]) -> Shape {
    let text = |c: &Value, k: &str| c.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let mut shape = Shape { header: None, body: None, buttons: Vec::new() };
    for c in components {
        match text(c, "type").to_ascii_uppercase().as_str() {
            "HEADER" => {
                let format = text(c, "format").to_ascii_uppercase();
                let format = if format.is_empty() { "TEXT".to_string() } else { format };
                shape.header = Some(if format == "TEXT" { format!("TEXT:{}", text(c, "text")) } else { format });
            }
            "BODY" => shape.body = Some(text(c, "text")),
            "BUTTONS" => {
                for b in c.get("buttons").and_then(Value::as_array).into_iter().flatten() {
                    let kind = text(b, "type").to_ascii_uppercase();
                    let target = if kind == "URL" { text(b, "url") } else { text(b, "payload") };
                    shape.buttons.push((kind, text(b, "text"), target));
                }
            }
            _ => {}
        }
    }
    shape
}

/// What differs between a file and a page's template, for people
/// (empty when they are the same).
pub fn differences(file: &Shape, page: &Shape) -> Vec<String> {
    let text = |t: &Option<String>| t.as_ref().map_or_else(|| "(none)".to_string(), |t| format!("{t:?}"));
    let buttons = |b: &[(String, String, String)]| {
        let list: Vec<String> = b.iter().map(|(k, t, x)| format!("{k} {t:?} {x:?}")).collect();
        format!("[{}]", list.join(", "))
    };
    let mut out = Vec::new();
    if file.header != page.header {
        out.push(format!("header: file {}, page {}", text(&file.header), text(&page.header)));
    }
    if file.body != page.body {
        out.push(format!("body: file {}, page {}", text(&file.body), text(&page.body)));
    }
    if file.buttons != page.buttons {
        out.push(format!("buttons: file {}, page {}", buttons(&file.buttons), buttons(&page.buttons)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::load::load_bytes;
    use std::path::Path;

    fn file(text: &str) -> TemplateFile {
        super::super::validate(&load_bytes(Path::new("t.yaml"), text.as_bytes()).unwrap()).unwrap()
    }

    const NAMED: &str = "version: 1\ntemplate: order_update\nlanguage: en_US\npages: [{ id: \"500\", token_env: T }]\nparameter_format: NAMED\nheader: \"Order {{order_id}}\"\nbody: \"Hi {{first_name}}, order {{order_id}} shipped.\"\nbuttons:\n  - { type: URL, text: Track, url: \"https://s.example/t/{{1}}\", example: A1 }\n  - { type: POSTBACK, text: Help, payload: HELP }\nexamples: { first_name: Lan, order_id: A1 }\n";

    #[test]
    fn named_examples_in_metas_shape() {
        let body = create_body(&file(NAMED));
        assert_eq!(body["category"], "UTILITY");
        assert_eq!(body["parameter_format"], "NAMED");
        let c = &body["components"];
        assert_eq!(
            c[0],
            json!({"type": "HEADER", "format": "TEXT", "text": "Order {{order_id}}",
            "example": {"header_text_named_params": [{"param_name": "order_id", "example": "A1"}]}})
        );
        assert_eq!(c[1]["example"]["body_text_named_params"][0], json!({"param_name": "first_name", "example": "Lan"}));
        assert_eq!(c[2]["buttons"][0]["example"], json!(["https://s.example/t/A1"]));
        assert_eq!(c[2]["buttons"][1], json!({"type": "POSTBACK", "text": "Help", "payload": "HELP"}));
    }

    #[test]
    fn positional_examples_in_metas_shape() {
        let text = "version: 1\ntemplate: t\nlanguage: vi\npages: [{ id: \"5\", token_env: T }]\nheader: \"Don {{1}}\"\nbody: \"Chao {{1}}, don {{2}} da giao.\"\nexamples: { header: A1, \"1\": Lan, \"2\": A1 }\n";
        let c = components(&file(text));
        assert_eq!(c[0]["example"], json!({"header_text": ["A1"]}));
        assert_eq!(c[1]["example"], json!({"body_text": [["Lan", "A1"]]}));
    }

    #[test]
    fn shapes_ignore_examples_and_case_but_not_text() {
        let f = file(NAMED);
        let mut listed = components(&f);
        for c in &mut listed {
            c.as_object_mut().unwrap().remove("example");
        }
        listed[0]["type"] = json!("header");
        assert!(differences(&shape_of_file(&f), &shape_of_components(&listed)).is_empty());
        listed[1]["text"] = json!("Hello {{first_name}}, order {{order_id}} shipped.");
        let d = differences(&shape_of_file(&f), &shape_of_components(&listed));
        assert_eq!(d.len(), 1);
        assert!(d[0].starts_with("body:"), "{d:?}");
    }
}
