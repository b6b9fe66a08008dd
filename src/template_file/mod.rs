//! Utility template files: Messenger utility templates declared as code
//! (SPEC §7).
//!
//! A YAML file with a top-level `template` key is a template file. It is
//! read with the campaign loader (so errors point at line and column),
//! checked against its own schema ([`schema`]) and rules ([`check`]), and
//! becomes a [`TemplateFile`]. From it, [`meta`] builds the components Meta
//! stores and compares them with what a page has; [`crosscheck`] holds a
//! UTILITY campaign's parameters against it; [`status`] reads each page's
//! templates and their review status.

pub mod check;
pub mod crosscheck;
pub mod meta;
pub mod model;
pub mod placeholder;
pub mod schema;
pub mod status;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::campaign::Diagnostic;
use crate::campaign::load::{Loaded, load_file};
use model::{ButtonSpec, ParameterFormat, RawTemplateFile, TemplatePageSpec};

/// Meta's longest header text, in characters.
pub const HEADER_MAX: usize = 60;
/// Meta's longest body text, in characters.
pub const BODY_MAX: usize = 1024;
/// Meta's longest button text, in characters.
pub const BUTTON_TEXT_MAX: usize = 20;

/// A template file that passed every check.
#[derive(Debug, Clone)]
pub struct TemplateFile {
    /// The file it came from.
    pub path: PathBuf,
    /// Meta's template name.
    pub name: String,
    /// Language code.
    pub language: String,
    /// Where it must exist.
    pub pages: Vec<TemplatePageSpec>,
    /// NAMED or POSITIONAL.
    pub format: ParameterFormat,
    /// Header text.
    pub header: Option<String>,
    /// Body text.
    pub body: String,
    /// Buttons, in order.
    pub buttons: Vec<ButtonSpec>,
    /// Example per placeholder key.
    pub examples: BTreeMap<String, String>,
    /// The file as loaded (for diagnostics that point into it).
    pub loaded: Loaded,
}

impl TemplateFile {
    /// The header's distinct placeholders, in order.
    pub fn header_params(&self) -> Vec<String> {
        self.header.as_deref().map(params_of).unwrap_or_default()
    }

    /// The body's distinct placeholders, in order.
    pub fn body_params(&self) -> Vec<String> {
        params_of(&self.body)
    }

    /// Where `pointer` sits in the file, as `path:line`.
    pub fn place(&self, pointer: &str) -> String {
        format!("{}:{}", self.path.display(), self.loaded.spans.value(pointer).line)
    }
}

fn params_of(text: &str) -> Vec<String> {
    placeholder::scan(text).map(|f| placeholder::distinct(&f)).unwrap_or_default()
}

/// True when a loaded YAML file is a template file (a top-level `template` key).
pub fn is_template_file(value: &Value) -> bool {
    value.get("template").is_some()
}

/// True when the file at `path` reads as a template file (commands that
/// walk a directory of campaigns, such as `tick`, pass over these).
pub fn is_template_path(path: &Path) -> bool {
    load_file(path).is_ok_and(|l| is_template_file(&l.value))
}

/// Loads and checks one template file.
pub fn validate_file(path: &Path) -> Result<TemplateFile, Vec<Diagnostic>> {
    let loaded = load_file(path).map_err(|d| vec![d])?;
    validate(&loaded)
}

/// Checks a loaded template file.
pub fn validate(loaded: &Loaded) -> Result<TemplateFile, Vec<Diagnostic>> {
    let problems = schema::check(loaded);
    if !problems.is_empty() {
        return Err(problems);
    }
    let raw: RawTemplateFile = serde_json::from_value(loaded.value.clone())
        .map_err(|e| vec![loaded.error_at("", format!("cannot read the template file: {e}"))])?;
    check::check(loaded, raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::load::load_bytes;

    const GOOD: &str = "version: 1\ntemplate: order_update\nlanguage: en_US\npages:\n  - { id: \"500\", token_env: SHOP_TOKEN }\nparameter_format: NAMED\nheader: \"Order {{order_id}}\"\nbody: \"Hi {{first_name}}, your order {{order_id}} has shipped.\"\nbuttons:\n  - { type: URL, text: Track order, url: \"https://shop.example/track/{{1}}\", example: \"A123\" }\nexamples: { first_name: Lan, order_id: \"A123\" }\n";

    fn problems(text: &str) -> Vec<String> {
        let loaded = load_bytes(Path::new("t.yaml"), text.as_bytes()).unwrap();
        match validate(&loaded) {
            Ok(_) => Vec::new(),
            Err(d) => d.iter().map(ToString::to_string).collect(),
        }
    }

    fn has(p: &[String], needle: &str) -> bool {
        p.iter().any(|l| l.contains(needle))
    }

    #[test]
    fn the_spec_example_is_valid() {
        assert_eq!(problems(GOOD), Vec::<String>::new());
        let loaded = load_bytes(Path::new("t.yaml"), GOOD.as_bytes()).unwrap();
        let t = validate(&loaded).unwrap();
        assert_eq!(t.header_params(), ["order_id"]);
        assert_eq!(t.body_params(), ["first_name", "order_id"]);
    }

    #[test]
    fn unknown_fields_and_bad_names_point_at_the_line() {
        let p = problems(&GOOD.replace("examples:", "exampels:"));
        assert!(p.iter().any(|l| l.starts_with("t.yaml:11:1: error: exampels: unknown field")), "{p:?}");
        assert!(has(&p, "did you mean `examples`?"), "{p:?}");
        let p = problems(&GOOD.replace("order_update", "Order-Update"));
        assert!(p[0].starts_with("t.yaml:2:11: error: template:"), "{p:?}");
    }

    #[test]
    fn positional_placeholders_are_numbered_in_order() {
        let text = GOOD
            .replace("parameter_format: NAMED\n", "")
            .replace("header: \"Order {{order_id}}\"\n", "")
            .replace("{{first_name}}, your order {{order_id}}", "{{2}}, your order {{1}}")
            .replace("{ first_name: Lan, order_id: \"A123\" }", "{ \"1\": A123, \"2\": Lan }");
        let p = problems(&text);
        assert!(has(&p, "numbered 2, 1; Meta wants 1, 2"), "{p:?}");
        let fixed = text.replace("{{2}}, your order {{1}}", "{{1}}, your order {{2}}");
        assert_eq!(problems(&fixed), Vec::<String>::new());
    }

    #[test]
    fn formats_do_not_mix() {
        let p = problems(&GOOD.replace("your order {{order_id}}", "your order {{2}}"));
        assert!(has(&p, "`{{2}}` does not fit parameter_format NAMED"), "{p:?}");
    }

    #[test]
    fn a_placeholder_may_not_start_or_end_the_text() {
        let p = problems(&GOOD.replace("has shipped.\"", "has shipped {{first_name}}\""));
        assert!(has(&p, "t.yaml:8:7: error: body: a placeholder starts or ends the text"), "{p:?}");
        let p = problems(&GOOD.replace("\"Hi {{first_name}}", "\"{{first_name}}"));
        assert!(has(&p, "starts or ends"), "{p:?}");
    }

    #[test]
    fn every_placeholder_needs_an_example_and_no_example_is_spare() {
        let p = problems(&GOOD.replace("first_name: Lan, ", ""));
        assert!(has(&p, "{{first_name}} has no example"), "{p:?}");
        let p = problems(&GOOD.replace("first_name: Lan", "first_name: Lan, city: Hue"));
        assert!(has(&p, "t.yaml:11:30: error: examples.city: no placeholder is called `city`"), "{p:?}");
    }

    #[test]
    fn url_buttons_take_a_suffix_and_its_example() {
        let p = problems(&GOOD.replace(", example: \"A123\"", ""));
        assert!(has(&p, "needs `example`"), "{p:?}");
        let p = problems(&GOOD.replace("track/{{1}}", "{{1}}/track"));
        assert!(has(&p, "at its very end"), "{p:?}");
        let p = problems(&GOOD.replace(
            "{ type: URL, text: Track order, url: \"https://shop.example/track/{{1}}\", example: \"A123\" }",
            "{ type: POSTBACK, text: Track }",
        ));
        assert!(has(&p, "a POSTBACK button needs `payload`"), "{p:?}");
    }

    #[test]
    fn header_is_text_with_at_most_one_placeholder() {
        let p = problems(&GOOD.replace("\"Order {{order_id}}\"", "\"Order {{order_id}} for {{first_name}} today\""));
        assert!(has(&p, "at most one placeholder"), "{p:?}");
        let p = problems(&GOOD.replace("header: \"Order {{order_id}}\"", "header: { image: x.png }"));
        assert!(has(&p, "header: expected a string"), "{p:?}");
    }

    #[test]
    fn enum_values_get_their_spelling() {
        let p = problems(&GOOD.replace("parameter_format: NAMED", "parameter_format: named"));
        assert!(has(&p, "t.yaml:6:19: error: parameter_format: \"named\" is not a valid value"), "{p:?}");
        assert!(has(&p, "write it as `NAMED`"), "{p:?}");
    }

    #[test]
    fn a_template_key_makes_a_template_file() {
        assert!(is_template_file(&serde_json::json!({"template": "x"})));
        assert!(!is_template_file(&serde_json::json!({"id": "x", "message": {"template": {}}})));
    }
}
