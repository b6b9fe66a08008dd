//! The template file's JSON Schema (`schema/template.schema.json`,
//! `pagecast schema --template`): generated from the model types, made
//! portable (no `null` unions, no non-standard formats), and its errors
//! rephrased to point at the YAML node at fault.

use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::{Map, Value};

use super::model::RawTemplateFile;
use crate::campaign::Diagnostic;
use crate::campaign::load::Loaded;

/// The template file schema as JSON (draft 2020-12).
pub fn schema_json() -> Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let mut schema = generator.into_root_schema_for::<RawTemplateFile>();
    schema.insert("$id".into(), "https://pagecast.dev/schema/template.schema.json".into());
    let mut value = schema.to_value();
    portable(&mut value);
    // A template file is told from a campaign by its `template` key.
    value["required"] = serde_json::json!(["version", "template", "language", "pages", "body"]);
    value
}

/// The schema, pretty-printed with a trailing newline.
pub fn schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&schema_json()).expect("a schema serializes");
    text.push('\n');
    text
}

/// Drops what strict validators and editors stumble on: `null` in the types
/// of optional fields (an absent field is how YAML says "none"), integer
/// `format`s such as `uint8`, and `default: null`.
fn portable(node: &mut Value) {
    match node {
        Value::Object(map) => {
            strip_null_type(map);
            if map.get("format").and_then(Value::as_str).is_some_and(|f| f.starts_with("uint") || f.starts_with("int"))
            {
                map.remove("format");
            }
            if map.get("default").is_some_and(Value::is_null) {
                map.remove("default");
            }
            map.values_mut().for_each(portable);
        }
        Value::Array(items) => items.iter_mut().for_each(portable),
        _ => {}
    }
}

fn strip_null_type(map: &mut Map<String, Value>) {
    if let Some(Value::Array(types)) = map.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types.remove(0);
            map.insert("type".into(), only);
        }
    }
    if let Some(Value::Array(branches)) = map.get_mut("anyOf") {
        branches.retain(|b| b.get("type").and_then(Value::as_str) != Some("null"));
        if branches.len() == 1 {
            let only = branches.remove(0);
            map.remove("anyOf");
            if let Value::Object(inner) = only {
                map.extend(inner);
            }
        }
    }
}

fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| jsonschema::validator_for(&schema_json()).expect("the generated schema is valid"))
}

/// Checks a loaded template file against the schema; one diagnostic per problem.
pub fn check(loaded: &Loaded) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = validator()
        .iter_errors(&loaded.value)
        .flat_map(|e| {
            let pointer = e.instance_path().as_str().to_string();
            let instance = loaded.value.pointer(&pointer).cloned().unwrap_or(Value::Null);
            explain(loaded, &pointer, &instance, e.kind())
        })
        .collect();
    out.sort_by_key(|d| (d.line, d.col));
    out.dedup();
    out
}

const FIELDS: &[&str] = &[
    "version",
    "template",
    "language",
    "description",
    "pages",
    "parameter_format",
    "header",
    "body",
    "buttons",
    "examples",
    "id",
    "token_env",
    "type",
    "text",
    "payload",
    "url",
    "example",
];

fn explain(loaded: &Loaded, pointer: &str, instance: &Value, kind: &ValidationErrorKind) -> Vec<Diagnostic> {
    let one = |message: String, hint: String| vec![loaded.error_at(pointer, message).with_hint(hint)];
    match kind {
        ValidationErrorKind::AdditionalProperties { unexpected } => unexpected
            .iter()
            .map(|name| {
                let at = format!("{pointer}/{}", name.replace('~', "~0").replace('/', "~1"));
                let d = loaded.error_at_key(&at, format!("unknown field `{name}`"));
                let near = FIELDS
                    .iter()
                    .filter(|f| **f != name && crate::campaign::schema::edit_distance(name, f) <= 2)
                    .min_by_key(|f| crate::campaign::schema::edit_distance(name, f));
                match near {
                    Some(near) => d.with_hint(format!("did you mean `{near}`?")),
                    None => d.with_hint("remove it; `pagecast schema --template` lists every field"),
                }
            })
            .collect(),
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            one(format!("missing required field `{name}`"), required_hint(name))
        }
        ValidationErrorKind::Type { kind } => {
            let expected = match kind {
                TypeKind::Single(t) => t.to_string(),
                TypeKind::Multiple(ts) => ts.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(" or "),
            };
            let hint = if expected == "string" && (instance.is_number() || instance.is_boolean()) {
                format!("quote it: \"{instance}\"")
            } else {
                format!("write a {expected} here")
            };
            one(format!("expected a {expected}, found {}", describe(instance)), hint)
        }
        ValidationErrorKind::Enum { options } => {
            let choices: Vec<&str> = options.as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            let exact = instance.as_str().and_then(|s| choices.iter().find(|c| c.eq_ignore_ascii_case(s)));
            let hint = match exact {
                Some(exact) => format!("write it as `{exact}` (values are case-sensitive)"),
                None => format!("use one of: {}", choices.join(", ")),
            };
            one(format!("{} is not a valid value", describe(instance)), hint)
        }
        ValidationErrorKind::Pattern { .. } => {
            let (what, hint) = pattern_meaning(pointer);
            one(format!("{} is not {what}", describe(instance)), hint.into())
        }
        ValidationErrorKind::Minimum { limit } | ValidationErrorKind::Maximum { limit } => {
            one(format!("{instance} is not allowed here"), format!("write {limit}"))
        }
        ValidationErrorKind::MinItems { .. } => one("needs at least one entry".into(), "add an entry".into()),
        ValidationErrorKind::MinLength { .. } => one("must not be empty".into(), "fill it in".into()),
        other => one(format!("{other:?}"), "see `pagecast schema --template` for what this field takes".into()),
    }
}

fn required_hint(name: &str) -> String {
    let example = match name {
        "version" => "version: 1",
        "template" => "template: order_update",
        "language" => "language: en_US",
        "pages" => "pages: [{ id: \"500725830264749\", token_env: SHOP_TOKEN }]",
        "body" => "body: \"Hi {{first_name}}, your order {{order_id}} has shipped.\"",
        "id" => "id: \"500725830264749\"",
        "token_env" => "token_env: SHOP_TOKEN",
        "type" => "type: URL",
        "text" => "text: Track order",
        _ => return format!("add `{name}`"),
    };
    format!("add `{example}`")
}

fn pattern_meaning(pointer: &str) -> (&'static str, &'static str) {
    match pointer.rsplit('/').next().unwrap_or("") {
        "template" => (
            "a template name Meta accepts",
            "use lowercase letters, digits and `_` (e.g. `order_update`); Meta refuses other names",
        ),
        "language" => ("a language code", "use Meta's code for the language, e.g. `en_US` or `vi`"),
        "id" => ("a Page id", "a Page id is digits only, quoted: \"500725830264749\""),
        "token_env" => (
            "an environment variable name",
            "name the variable that holds the token (letters, digits, `_`), e.g. `SHOP_TOKEN`; never the token itself",
        ),
        _ => ("allowed here", "see `pagecast schema --template`"),
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "an empty value".into(),
        Value::Bool(b) => format!("`{b}`"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) if s.chars().count() > 60 => format!("\"{}…\"", s.chars().take(60).collect::<String>()),
        Value::String(s) => format!("\"{s}\""),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a mapping".into(),
    }
}
