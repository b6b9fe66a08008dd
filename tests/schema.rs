//! The committed schema is what the types generate, and it judges files the
//! way `validate` does.

use std::path::{Path, PathBuf};
use std::process::Command;

fn pagecast() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pagecast"))
}

#[test]
fn committed_schema_matches_the_types() {
    let generated = pagecast::campaign::schema::schema_text();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/campaign.schema.json");
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap();
    assert!(
        committed == generated,
        "schema/campaign.schema.json is stale: run `UPDATE_SCHEMA=1 cargo test --test schema`"
    );
}

#[test]
fn schema_command_prints_the_committed_file() {
    let out = pagecast().arg("schema").output().unwrap();
    assert!(out.status.success());
    let committed = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/campaign.schema.json")).unwrap();
    assert_eq!(out.stdout, committed);
}

#[test]
fn schema_is_draft_2020_12_and_closed() {
    let schema: serde_json::Value = serde_json::from_str(&pagecast::campaign::schema::schema_text()).unwrap();
    assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
    assert_eq!(schema["additionalProperties"], false);
    let required: Vec<&str> = schema["required"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    for field in ["version", "id", "pages", "audiences", "message"] {
        assert!(required.contains(&field), "{field} is required");
    }
}

/// Files of the corpus and the examples that parse as YAML, with the JSON
/// value a schema sees.
fn parsed_files() -> Vec<(PathBuf, serde_json::Value)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["examples", "examples/harasocial", "tests/invalid"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "yaml") {
                continue;
            }
            let Ok(loaded) = pagecast::campaign::load::load_file(&path) else { continue };
            files.push((path, loaded.value));
        }
    }
    files
}

/// Python's verdict (valid or not) on each value, against the committed
/// schema; None when Python's `jsonschema` is missing outside CI.
fn python_verdicts(values: &[&serde_json::Value]) -> Option<Vec<bool>> {
    let probe = Command::new("python3").args(["-c", "import jsonschema"]).status();
    if !probe.is_ok_and(|s| s.success()) {
        assert!(std::env::var_os("CI").is_none(), "CI must have Python's jsonschema (see .ci/run)");
        eprintln!("skipped: `pip install jsonschema` to run the independent schema check");
        return None;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let mut jsons = Vec::new();
    for (i, value) in values.iter().enumerate() {
        let json = tmp.path().join(format!("{i}.json"));
        std::fs::write(&json, value.to_string()).unwrap();
        jsons.push(json);
    }
    let script = "import json, sys, jsonschema\n\
                  schema = json.load(open(sys.argv[1]))\n\
                  jsonschema.Draft202012Validator.check_schema(schema)\n\
                  v = jsonschema.Draft202012Validator(schema)\n\
                  for f in sys.argv[2:]:\n    print('valid' if v.is_valid(json.load(open(f))) else 'invalid')\n";
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(root.join("schema/campaign.schema.json"))
        .args(&jsons)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let verdicts: Vec<bool> = String::from_utf8(out.stdout).unwrap().lines().map(|l| l == "valid").collect();
    assert_eq!(verdicts.len(), values.len());
    Some(verdicts)
}

fn committed_validator() -> jsonschema::Validator {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/campaign.schema.json")).unwrap();
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
}

/// Python's `jsonschema` (an independent implementation of draft 2020-12)
/// agrees with the `jsonschema` crate on the committed schema, file by file;
/// every example is valid under it; and the schema `validate` checks with
/// (the core) accepts every file the committed schema accepts, so the
/// editor's rules only ever add to it. `.ci/run` installs the module.
#[test]
fn an_independent_validator_agrees_with_ours() {
    let files = parsed_files();
    assert!(files.len() > 60, "examples and corpus found ({})", files.len());
    let values: Vec<&serde_json::Value> = files.iter().map(|f| &f.1).collect();
    let Some(python) = python_verdicts(&values) else { return };
    let committed = committed_validator();
    let core = jsonschema::validator_for(&pagecast::campaign::schema::core_schema()).unwrap();
    let mut schema_invalid = 0;
    for ((path, value), theirs) in files.iter().zip(python) {
        let ours = committed.is_valid(value);
        assert_eq!(
            ours,
            theirs,
            "{}: the jsonschema crate says valid={ours}, python jsonschema says {theirs}",
            path.display()
        );
        if ours {
            assert!(core.is_valid(value), "{}: valid under the committed schema but not the core", path.display());
        }
        if path.starts_with(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")) {
            assert!(ours, "{}: an example must be valid under the committed schema", path.display());
        }
        schema_invalid += usize::from(!ours);
    }
    assert!(schema_invalid >= 50, "only {schema_invalid} files are invalid under the committed schema");
}

/// The campaign every edge case below starts from: valid, inline audience.
const BASE: &str = "\
version: 1
id: edge
pages:
  - id: \"500725830264749\"
    provider: graph
    token_env: SHOP_TOKEN
audiences:
  - page: \"500725830264749\"
    recipients:
      - id: \"2560816460648749\"
        last_interaction: 2026-11-21T08:00:00Z
        vars: { first_name: Lan }
";

/// Files at the edges of the editor's rules that `validate` accepts: each
/// must be valid under the committed schema too (the schema never rejects a
/// file pagecast accepts). `validate` must accept them, or the case proves
/// nothing.
#[test]
fn the_committed_schema_accepts_what_validate_accepts_at_the_edges() {
    let emoji_text = "🚚".repeat(1999);
    let long_template = format!("{} {{{{ first_name }}}}", "a".repeat(1990));
    let harasocial = BASE.replace("provider: graph", "provider: harasocial");
    let cases: Vec<(&str, String, &str)> = vec![
        ("emoji-text", format!("{BASE}message: {{ text: \"{emoji_text}\" }}\nmessaging_type: UPDATE\n"), "2026-11-22T00:00:00Z"),
        ("templated-text", format!("{BASE}message: {{ text: \"{long_template}\" }}\nmessaging_type: UPDATE\n"), "2026-11-22T00:00:00Z"),
        (
            "emoji-title",
            format!(
                "{BASE}message:\n  text: Hi\n  quick_replies:\n    - {{ title: \"{}\", payload: P }}\n    - {{ title: \"{{{{ first_name }}}} and a long title\", payload: Q }}\n    - {{ content_type: user_email }}\nmessaging_type: RESPONSE\n",
                "😀".repeat(20)
            ),
            "2026-11-22T00:00:00Z",
        ),
        (
            "retired-tag-before-2026-04-27",
            format!("{BASE}message: {{ text: Your account }}\nmessaging_type: MESSAGE_TAG\ntag: ACCOUNT_UPDATE\n")
                .replace("2026-11-21T08:00:00Z", "2026-03-21T08:00:00Z"),
            "2026-04-01T00:00:00Z",
        ),
        (
            "harasocial-metadata-500",
            format!("{harasocial}message:\n  payload_id: __hrf_f_1\n  metadata: \"{}\"\n", "é".repeat(500)),
            "2026-11-22T00:00:00Z",
        ),
        (
            "graph-metadata-999",
            format!("{BASE}message: {{ text: Hi, metadata: \"{}\" }}\nmessaging_type: UPDATE\n", "🚚".repeat(999)),
            "2026-11-22T00:00:00Z",
        ),
        (
            "schedule-and-margin",
            format!(
                "{BASE}message: {{ text: Hi }}\nmessaging_type: UPDATE\nschedule: {{ cron: \"@Daily\", timezone: US/Eastern, catch_up: 1h }}\npolicy: {{ margin: 1439m }}\n"
            ),
            "2026-11-22T00:00:00Z",
        ),
        (
            "cron-names-and-steps",
            format!(
                "{BASE}message: {{ text: Hi }}\nmessaging_type: UPDATE\nschedule: {{ cron: \"00 9-17/2 1,15 jan-Jun FRI-SUN\", timezone: Asia/Ho_Chi_Minh }}\n"
            ),
            "2026-11-22T00:00:00Z",
        ),
        (
            "launch-safety",
            format!("{BASE}message: {{ text: Hi }}\nmessaging_type: UPDATE\nsend: {{ canary: {{ recipients: 1, max_failure_rate: 0 }} }}\n")
                .replace("token_env: SHOP_TOKEN", "token_env: SHOP_TOKEN\n    daily_limit: 1"),
            "2026-11-22T00:00:00Z",
        ),
        (
            "generic-template",
            format!(
                "{BASE}message:\n  attachment:\n    type: template\n    payload:\n      template_type: generic\n      elements: [{}]\nmessaging_type: UPDATE\n",
                ["{ title: A, buttons: [{ type: postback, title: B, payload: C }, {}, {}] }"; 10].join(", ")
            ),
            "2026-11-22T00:00:00Z",
        ),
        (
            "video-at-rate-10",
            format!("{BASE}message: {{ attachment: {{ type: video, attachment_id: \"123\" }} }}\nmessaging_type: UPDATE\nsend: {{ rate: 10 }}\n"),
            "2026-11-22T00:00:00Z",
        ),
        (
            "utility-template",
            format!(
                "{BASE}message:\n  template:\n    name: order_update\n    language: en_US\n    components:\n      - type: body\n        parameters: [{{ type: text, text: \"{{{{ first_name }}}}\" }}]\nmessaging_type: UTILITY\n"
            ),
            "2026-11-22T00:00:00Z",
        ),
        (
            "long-token-env-name",
            format!("{BASE}message: {{ text: Hi }}\nmessaging_type: UPDATE\n").replace("SHOP_TOKEN", &"T".repeat(60)),
            "2026-11-22T00:00:00Z",
        ),
    ];
    let tmp = tempfile::tempdir().unwrap();
    let committed = committed_validator();
    let mut values = Vec::new();
    for (name, text, now) in &cases {
        let path = tmp.path().join(format!("{name}.yaml"));
        std::fs::write(&path, text).unwrap();
        let out = pagecast().args(["validate", "--now", now]).arg(&path).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: validate refuses it:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let value = pagecast::campaign::load::load_file(&path).unwrap().value;
        let errors: Vec<String> =
            committed.iter_errors(&value).map(|e| format!("{} at {}", e, e.instance_path())).collect();
        assert!(errors.is_empty(), "{name}: the committed schema refuses a file validate accepts: {errors:?}");
        values.push(value);
    }
    if let Some(python) = python_verdicts(&values.iter().collect::<Vec<_>>()) {
        for ((name, ..), valid) in cases.iter().zip(python) {
            assert!(valid, "{name}: python jsonschema refuses a file validate accepts");
        }
    }
}

/// Every value an editor offers is explained: each `enum` (but the time
/// zones, whose names say it all) has one description per value, and every
/// `const` alternative and every field has a description.
#[test]
fn every_enum_value_and_field_is_described() {
    /// Inside a rule (`allOf`, `if`, ...) a `properties` restates a field;
    /// the field itself is described where it is declared.
    fn in_rule(path: &str) -> bool {
        ["/allOf", "/anyOf", "/oneOf", "/if", "/then", "/else", "/not", "/dependentSchemas"]
            .iter()
            .any(|k| path.contains(k))
    }
    fn walk(node: &serde_json::Value, path: &str, problems: &mut Vec<String>) {
        match node {
            serde_json::Value::Object(object) => {
                if let Some(values) = object.get("enum").and_then(|v| v.as_array())
                    && !path.ends_with("/timezone")
                    && !in_rule(path)
                {
                    for key in ["enumDescriptions", "markdownEnumDescriptions"] {
                        let n = object.get(key).and_then(|d| d.as_array()).map_or(0, Vec::len);
                        if n != values.len() {
                            problems.push(format!("{path}: {n} {key} for {} values", values.len()));
                        }
                    }
                }
                if let Some(serde_json::Value::Object(properties)) = object.get("properties")
                    && !in_rule(path)
                {
                    for (name, field) in properties {
                        if field.is_object() && field.get("description").is_none() && field.get("$ref").is_none() {
                            problems.push(format!("{path}/properties/{name}: no description"));
                        }
                    }
                }
                for (key, value) in object {
                    walk(value, &format!("{path}/{key}"), problems);
                }
            }
            serde_json::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, &format!("{path}/{i}"), problems);
                }
            }
            _ => {}
        }
    }
    let schema = pagecast::campaign::schema::schema_json();
    let mut problems = Vec::new();
    walk(&schema, "", &mut problems);
    assert!(problems.is_empty(), "{problems:#?}");
    let tag = &schema["properties"]["tag"];
    let offered: Vec<&str> = tag["anyOf"].as_array().unwrap().iter().filter_map(|b| b["const"].as_str()).collect();
    assert_eq!(offered, ["CUSTOMER_FEEDBACK"]);
    for rule in tag["allOf"].as_array().unwrap() {
        assert_eq!(rule["then"]["deprecated"], true);
        assert!(rule["then"]["deprecationMessage"].as_str().is_some_and(|m| m.contains("UTILITY")), "{rule}");
    }
}
