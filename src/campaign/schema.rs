//! The campaign JSON Schema: generated from the model types, checked with the
//! `jsonschema` crate, and its errors rephrased so that each one points at
//! the YAML node at fault and says how to fix it.

use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::Value;

use super::diagnostic::Diagnostic;
use super::load::Loaded;
use super::model::RawCampaign;

mod editor;

/// The campaign schema as JSON (draft 2020-12), as committed in
/// `schema/campaign.schema.json` and printed by `pagecast schema`: the
/// structure of [`core_schema`] plus every rule and annotation an editor can
/// use (see `editor.rs`). It never rejects a file that `validate` accepts.
pub fn schema_json() -> Value {
    let mut schema = core_schema();
    editor::extend(&mut schema);
    schema
}

/// The structure alone: what the types generate, tidied. `validate` checks
/// files against this and leaves the rules between fields to its semantic
/// stage, whose messages explain them better than a failed `if`/`then` or
/// `oneOf` could ("is not valid under any of the given schemas").
pub fn core_schema() -> Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let mut schema = generator.into_root_schema_for::<RawCampaign>();
    schema.insert("$id".into(), "https://pagecast.dev/schema/campaign.schema.json".into());
    let mut schema = schema.to_value();
    tidy(&mut schema);
    schema
}

/// An optional field is simply optional: drop the `null` that schemars adds
/// to `Option` fields (completion would offer it) and the non-standard
/// formats (`uint32`, `double`), which strict validators refuse.
fn tidy(node: &mut Value) {
    let Value::Object(object) = node else {
        if let Value::Array(items) = node {
            items.iter_mut().for_each(tidy);
        }
        return;
    };
    if object.get("format").is_some_and(Value::is_string) {
        object.remove("format");
    }
    if let Some(Value::Array(types)) = object.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types.remove(0);
            object.insert("type".into(), only);
        }
    }
    if let Some(Value::Array(branches)) = object.get_mut("anyOf") {
        branches.retain(|b| b != &serde_json::json!({ "type": "null" }));
        if branches.len() == 1
            && let Value::Object(only) = branches.remove(0)
        {
            object.remove("anyOf");
            for (key, value) in only {
                object.entry(key).or_insert(value);
            }
        }
    }
    object.values_mut().for_each(tidy);
}

/// The schema, pretty-printed with a trailing newline.
pub fn schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&schema_json()).expect("a schema serializes");
    text.push('\n');
    text
}

fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| jsonschema::validator_for(&core_schema()).expect("the generated schema is valid"))
}

/// Every field name the schema knows, for "did you mean" hints.
fn known_fields() -> &'static Vec<String> {
    static FIELDS: OnceLock<Vec<String>> = OnceLock::new();
    FIELDS.get_or_init(|| {
        let mut names = Vec::new();
        collect_property_names(&core_schema(), &mut names);
        names.sort();
        names.dedup();
        names
    })
}

fn collect_property_names(node: &Value, out: &mut Vec<String>) {
    match node {
        Value::Object(map) => {
            if let Some(Value::Object(props)) = map.get("properties") {
                out.extend(props.keys().cloned());
            }
            map.values().for_each(|v| collect_property_names(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_property_names(v, out)),
        _ => {}
    }
}

/// Checks a loaded file against the schema; one diagnostic per problem.
pub fn check(loaded: &Loaded) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> =
        validator().iter_errors(&loaded.value).flat_map(|e| explain_error(loaded, &e)).collect();
    out.sort_by_key(|d| (d.line, d.col));
    out.dedup();
    out
}

fn explain_error(loaded: &Loaded, error: &jsonschema::ValidationError<'_>) -> Vec<Diagnostic> {
    let pointer = error.instance_path().as_str().to_string();
    let instance = loaded.value.pointer(&pointer).unwrap_or(&Value::Null);
    explain(loaded, &pointer, instance, error.kind())
}

/// Alternatives (`anyOf`, as for a template variable's value): when every
/// branch fails only on the type, one message names every type; otherwise
/// explain the branch that came closest.
fn explain_any_of(
    loaded: &Loaded,
    pointer: &str,
    instance: &Value,
    context: &[Vec<jsonschema::ValidationError<'static>>],
) -> Option<Vec<Diagnostic>> {
    let types: Option<Vec<String>> = context
        .iter()
        .map(|branch| match branch.as_slice() {
            [e] => match e.kind() {
                ValidationErrorKind::Type { kind } => Some(type_names(kind)),
                _ => None,
            },
            _ => None,
        })
        .collect();
    if let Some(types) = types.filter(|t| !t.is_empty()) {
        let expected = types.join(" or ");
        let message = format!("expected {expected}, found {}", describe(instance));
        return Some(vec![loaded.error_at(pointer, message).with_hint(format!("write {expected} here"))]);
    }
    let branch = context.iter().filter(|b| !b.is_empty()).min_by_key(|b| b.len())?;
    Some(branch.iter().flat_map(|e| explain_error(loaded, e)).collect())
}

fn explain(loaded: &Loaded, pointer: &str, instance: &Value, kind: &ValidationErrorKind) -> Vec<Diagnostic> {
    let one = |message: String, hint: String| vec![loaded.error_at(pointer, message).with_hint(hint)];
    match kind {
        ValidationErrorKind::AnyOf { context } => explain_any_of(loaded, pointer, instance, context).unwrap_or_else(|| {
            one(
                format!("{} is not allowed here", describe(instance)),
                "see `pagecast schema` for what this field takes".into(),
            )
        }),
        ValidationErrorKind::AdditionalProperties { unexpected } => unexpected
            .iter()
            .map(|name| {
                let at = format!("{pointer}/{}", name.replace('~', "~0").replace('/', "~1"));
                let d = loaded.error_at_key(&at, format!("unknown field `{name}`"));
                match closest_field(name) {
                    Some(near) => d.with_hint(format!("did you mean `{near}`?")),
                    None if known_fields().iter().any(|f| f == name) => d.with_hint(format!(
                        "`{name}` is a field of another part of a campaign, not of this mapping: remove it or move it (`pagecast schema` shows where each field goes)"
                    )),
                    None => d.with_hint("remove it; `pagecast schema` lists every field"),
                }
            })
            .collect(),
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            one(format!("missing required field `{name}`"), required_hint(pointer, name))
        }
        ValidationErrorKind::Type { kind } => {
            let expected = type_names(kind);
            let hint = if expected.contains("string") && instance.is_number() {
                format!("quote it: \"{instance}\" (ids are text, and large numbers lose digits)")
            } else {
                format!("write {expected} here")
            };
            one(format!("expected {expected}, found {}", describe(instance)), hint)
        }
        ValidationErrorKind::Enum { options } => {
            let choices = list(options);
            let hint = match instance.as_str().and_then(|s| case_insensitive_match(s, options)) {
                Some(exact) => format!("write it as `{exact}` (values are case-sensitive)"),
                None => format!("use one of: {choices}"),
            };
            one(format!("{} is not a valid value", describe(instance)), hint)
        }
        ValidationErrorKind::Pattern { .. } => {
            let (what, hint) = pattern_meaning(pointer);
            one(format!("{} is not {what}", describe(instance)), hint.to_string())
        }
        ValidationErrorKind::Minimum { limit } | ValidationErrorKind::ExclusiveMinimum { limit } => {
            one(format!("{instance} is below the minimum {limit}"), format!("use a value of at least {limit}"))
        }
        ValidationErrorKind::Maximum { limit } | ValidationErrorKind::ExclusiveMaximum { limit } => {
            let hint = if pointer.ends_with("/max_failure_rate") {
                "the failure share is a fraction from 0.0 to 1.0: write 0.05 for 5%".to_string()
            } else {
                format!("use a value of at most {limit}")
            };
            one(format!("{instance} is above the maximum {limit}"), hint)
        }
        ValidationErrorKind::MinItems { limit } => one(
            format!("needs at least {limit} entr{}", if *limit == 1 { "y" } else { "ies" }),
            "add an entry; see examples/".into(),
        ),
        ValidationErrorKind::MaxItems { limit } => {
            one(format!("has more than {limit} entries"), format!("keep at most {limit}"))
        }
        ValidationErrorKind::MinLength { limit } => {
            one(format!("must be at least {limit} character(s) long"), "fill it in or remove the field".into())
        }
        ValidationErrorKind::MaxLength { limit } => {
            one(format!("must be at most {limit} characters long"), "shorten it".into())
        }
        other => one(format!("{other:?}"), "see `pagecast schema` for what this field takes".into()),
    }
}

fn required_hint(pointer: &str, name: &str) -> String {
    let example = match name {
        "version" => "version: 1",
        "id" if pointer.is_empty() => "id: order-shipped",
        "id" if pointer.starts_with("/pages") => "id: \"500725830264749\"",
        "id" => "id: \"2560816460648749\"",
        "pages" => "pages: [{ id: \"500725830264749\", provider: graph, token_env: SHOP_TOKEN }]",
        "audiences" => "audiences: [{ page: \"500725830264749\", file: audiences/people.csv }]",
        "message" => "message: { text: \"Hello\" }",
        "provider" => "provider: graph",
        "token_env" => "token_env: SHOP_TOKEN",
        "page" => "page: \"500725830264749\"",
        "file" => "file: audiences/opted-out.csv",
        "type" => "type: image",
        "cron" => "cron: \"0 9 * * MON-FRI\"",
        "within" => "within: 7d",
        "name" => "name: order_update",
        "language" => "language: en_US",
        "recipients" => "recipients: 50",
        "max_failure_rate" => "max_failure_rate: 0.05",
        _ => return format!("add `{name}`"),
    };
    format!("add `{example}`")
}

fn pattern_meaning(pointer: &str) -> (&'static str, &'static str) {
    let last = pointer.rsplit('/').next().unwrap_or("");
    match last {
        "id" if pointer == "/id" => (
            "a valid campaign id",
            "use 1-64 lowercase letters, digits, `-` or `_`, starting with a letter or digit (e.g. `order-shipped`)",
        ),
        "id" if pointer.starts_with("/pages") => ("a Page id", "a Page id is digits only, quoted: \"500725830264749\""),
        "id" => ("a page-scoped id", "a PSID is digits (letters, `-` and `_` allowed), quoted: \"2560816460648749\""),
        "token_env" => (
            "an environment variable name",
            "name the variable that holds the token (letters, digits, `_`), e.g. `SHOP_TOKEN`; never put the token itself here",
        ),
        "language" => ("a language code", "use Meta's code for the template's language, e.g. `en_US` or `vi`"),
        "payload_id" => ("a payload id", "a Harasocial payload id has no spaces, e.g. `__hrf_f_...`"),
        _ => ("a duration", "write a duration as a number and a unit: `30s`, `10m`, `2h` or `7d`"),
    }
}

fn type_names(kind: &TypeKind) -> String {
    let name = |t: &jsonschema::JsonType| match t.to_string().as_str() {
        "string" => "text (a string)".to_string(),
        "object" => "a mapping".to_string(),
        "array" => "a list".to_string(),
        "integer" => "a whole number".to_string(),
        "boolean" => "true or false".to_string(),
        other => format!("a {other}"),
    };
    match kind {
        TypeKind::Single(t) => name(t),
        TypeKind::Multiple(ts) => {
            ts.iter().filter(|t| t.to_string() != "null").map(|t| name(&t)).collect::<Vec<_>>().join(" or ")
        }
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

fn list(options: &Value) -> String {
    options.as_array().map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")).unwrap_or_default()
}

fn case_insensitive_match<'a>(text: &str, options: &'a Value) -> Option<&'a str> {
    options
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .find(|o| o.eq_ignore_ascii_case(text) || o.replace('_', "-").eq_ignore_ascii_case(text))
}

/// The known field nearest to an unknown one; never the name itself (a field
/// that is known elsewhere is not a misspelling).
fn closest_field(name: &str) -> Option<&'static str> {
    known_fields()
        .iter()
        .map(|f| (edit_distance(name, f), f))
        .filter(|(d, f)| *d > 0 && *d <= 2.max(f.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, f)| f.as_str())
}

/// Levenshtein distance over characters; names are short.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb { prev } else { 1 + prev.min(cur).min(row[j]) };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::load::load_bytes;
    use std::path::Path;

    fn problems(text: &str) -> Vec<String> {
        let loaded = load_bytes(Path::new("c.yaml"), text.as_bytes()).unwrap();
        check(&loaded).iter().map(ToString::to_string).collect()
    }

    const GOOD: &str = "version: 1\nid: a\npages:\n  - id: \"5\"\n    provider: graph\n    token_env: T\naudiences:\n  - page: \"5\"\n    file: a.csv\nmessage:\n  text: hi\nmessaging_type: UPDATE\n";

    #[test]
    fn a_good_file_passes() {
        assert_eq!(problems(GOOD), Vec::<String>::new());
    }

    #[test]
    fn unknown_field_points_at_its_key_and_suggests() {
        let p = problems(&GOOD.replace("messaging_type", "mesaging_type"));
        assert!(p.iter().any(|l| l.starts_with("c.yaml:12:1: error: mesaging_type: unknown field")), "{p:?}");
        assert!(p.iter().any(|l| l.contains("did you mean `messaging_type`?")), "{p:?}");
    }

    #[test]
    fn unquoted_page_id_is_a_type_error_with_a_quote_hint() {
        let p = problems(&GOOD.replace("id: \"5\"", "id: 5"));
        assert!(p[0].starts_with("c.yaml:4:9: error: pages[0].id: expected text"), "{p:?}");
        assert!(p[0].contains("quote it: \"5\""), "{p:?}");
    }

    #[test]
    fn enum_case_gets_the_right_spelling() {
        let p = problems(&GOOD.replace("UPDATE", "update"));
        assert!(p[0].contains("write it as `UPDATE`"), "{p:?}");
    }

    #[test]
    fn missing_field_points_at_the_mapping() {
        let p = problems(&GOOD.replace("    token_env: T\n", ""));
        assert!(p[0].starts_with("c.yaml:4:5: error: pages[0]: missing required field `token_env`"), "{p:?}");
    }

    #[test]
    fn a_field_known_elsewhere_is_not_suggested_as_itself() {
        let p = problems(&GOOD.replace("  text: hi\n", "  text: hi\n  type: image\n"));
        assert!(p[0].starts_with("c.yaml:12:3: error: message.type: unknown field `type`"), "{p:?}");
        assert!(!p[0].contains("did you mean `type`"), "{p:?}");
        assert!(p[0].contains("`type` is a field of another part of a campaign"), "{p:?}");
    }

    #[test]
    fn a_variable_value_names_every_type_it_may_have() {
        let text =
            GOOD.replace("    file: a.csv\n", "    recipients:\n      - id: \"1\"\n        vars: { name: [a, b] }\n");
        let p = problems(&text);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].contains("vars.name: expected text (a string) or a number or true or false, found a list"),
            "{p:?}"
        );
    }

    #[test]
    fn optional_fields_are_not_null_and_formats_are_standard() {
        let text = schema_text();
        assert!(!text.contains("\"null\""), "no field takes null");
        assert!(!text.contains("\"format\""), "no format keyword (uint32 and double are not standard)");
    }

    #[test]
    fn distance() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "ab"), 2);
    }
}
