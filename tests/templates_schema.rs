//! Template files: the committed schema is what the types generate,
//! `pagecast schema --template` prints it, and `validate` checks template
//! files beside campaigns, holding UTILITY campaigns against them.

#![allow(clippy::unwrap_used)] // tests unwrap: a panic is the failure report

mod common;

use std::path::Path;

use common::{Workspace, text};

#[test]
fn committed_template_schema_matches_the_types() {
    let generated = pagecast::template_file::schema::schema_text();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/template.schema.json");
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap();
    assert!(
        committed == generated,
        "schema/template.schema.json is stale: run `UPDATE_SCHEMA=1 cargo test --test templates_schema`"
    );
}

#[test]
fn schema_template_prints_the_committed_file_and_is_portable() {
    let ws = Workspace::new();
    let out = ws.run(None, &["schema", "--template"], &[]);
    assert_eq!(out.status.code(), Some(0));
    let committed = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/template.schema.json")).unwrap();
    assert_eq!(out.stdout, committed);
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(schema["properties"]["template"]["pattern"], "^[a-z0-9_]{1,512}$");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("\"null\"") && !text.contains("uint"), "no null unions or integer formats:\n{text}");
    let campaign = ws.run(None, &["schema"], &[]);
    assert_ne!(campaign.stdout, out.stdout, "--template prints the other schema");
}

const TEMPLATE: &str = "# yaml-language-server: $schema=../schema/template.schema.json\nversion: 1\ntemplate: order_update\nlanguage: en_US\npages:\n  - { id: \"500\", token_env: SHOP_TOKEN }\nparameter_format: NAMED\nheader: \"Order {{order_id}}\"\nbody: \"Hi {{first_name}}, your order {{order_id}} has shipped.\"\nbuttons:\n  - { type: URL, text: Track order, url: \"https://shop.example/track/{{1}}\", example: \"A123\" }\nexamples: { first_name: Lan, order_id: \"A123\" }\n";

fn campaign(params: &str) -> String {
    format!(
        "version: 1\nid: shipped\npages:\n  - {{ id: \"500\", provider: graph, token_env: SHOP_TOKEN }}\naudiences:\n  - page: \"500\"\n    recipients:\n      - {{ id: \"1\", last_interaction: 2026-11-01T00:00:00Z, vars: {{ first_name: Lan, order_id: A1 }} }}\nmessage:\n  template:\n    name: order_update\n    language: en_US\n    components:\n{params}messaging_type: UTILITY\n"
    )
}

const GOOD_PARAMS: &str = "      - type: header\n        parameters:\n          - { type: text, parameter_name: order_id, text: \"{{ order_id }}\" }\n      - type: body\n        parameters:\n          - { type: text, parameter_name: first_name, text: \"{{ first_name }}\" }\n          - { type: text, parameter_name: order_id, text: \"{{ order_id }}\" }\n      - type: buttons\n        parameters:\n          - { type: url, url: \"{{ order_id }}\" }\n";

#[test]
fn validate_checks_both_kinds_and_cross_checks_utility_campaigns() {
    let ws = Workspace::new();
    ws.write("templates/order-update.yaml", TEMPLATE);
    ws.write("campaigns/shipped.yaml", &campaign(GOOD_PARAMS));
    let out = ws.run(None, &["validate", ".", "--now", common::NOW], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("checked 2 files: 2 valid"), "{}", text(&out));

    // The body's second parameter is gone: the campaign is invalid, the template is not.
    let missing = GOOD_PARAMS.replace(
        "          - { type: text, parameter_name: order_id, text: \"{{ order_id }}\" }\n      - type: buttons",
        "      - type: buttons",
    );
    ws.write("campaigns/shipped.yaml", &campaign(&missing));
    let out = ws.run(None, &["validate", ".", "--now", common::NOW], &[]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(
        t.contains("campaigns/shipped.yaml:19:11: error: message.template.components[1].parameters: missing parameter(s) for {{order_id}} of the template's body (template order_update at ./templates/order-update.yaml:9)"),
        "{t}"
    );
    assert!(t.contains("1 valid, 1 invalid"), "{t}");

    // Without the template file among the paths, there is nothing to hold it against.
    let out = ws.run(None, &["validate", "campaigns", "--now", common::NOW], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn a_bad_template_file_points_at_its_line() {
    let ws = Workspace::new();
    ws.write("t.yaml", &TEMPLATE.replace("examples: { first_name: Lan, ", "examples: { "));
    let out = ws.run(None, &["validate", "t.yaml"], &[]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(t.contains("t.yaml:9:7: error: body: {{first_name}} has no example"), "{t}");

    ws.write("t.yaml", &TEMPLATE.replace("language: en_US", "languge: en_US"));
    let out = ws.run(None, &["validate", "t.yaml"], &[]);
    let t = text(&out);
    assert!(t.contains("t.yaml:4:1: error: languge: unknown field `languge`"), "{t}");
    assert!(t.contains("did you mean `language`?"), "{t}");
}

#[test]
fn two_files_for_one_template_and_language_name_each_other() {
    let ws = Workspace::new();
    ws.write("a.yaml", TEMPLATE);
    ws.write("b.yaml", TEMPLATE);
    let out = ws.run(None, &["validate", "a.yaml", "b.yaml"], &[]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(t.contains("a.yaml:3:11: error: template: order_update (en_US) is also declared in b.yaml:3"), "{t}");
    assert!(t.contains("b.yaml:3:11: error: template: order_update (en_US) is also declared in a.yaml:3"), "{t}");
}

#[test]
fn template_examples_name_their_schema_and_are_listed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("examples/README.md")).unwrap();
    let dir = root.join("examples/templates");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().next(), Some("# yaml-language-server: $schema=../../schema/template.schema.json"));
        let t = pagecast::template_file::validate_file(&path).unwrap_or_else(|d| panic!("{d:?}"));
        let rel = format!("templates/{}", path.file_name().unwrap().to_str().unwrap());
        assert!(readme.contains(&format!("[{rel}]({rel})")), "examples/README.md does not list {rel}");
        assert!(!t.pages.is_empty());
        n += 1;
    }
    assert!(n >= 1);
}

#[test]
fn tick_passes_over_template_files_beside_campaigns() {
    let ws = Workspace::new();
    ws.write("dir/order-update.yaml", TEMPLATE);
    let out = ws.run(None, &["tick", "dir", "--now", common::NOW], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

/// Python's `jsonschema` (an independent draft 2020-12 implementation) and
/// pagecast's schema stage agree on template files, valid and not.
#[test]
fn an_independent_validator_agrees_on_template_files() {
    let probe = std::process::Command::new("python3").args(["-c", "import jsonschema"]).status();
    if !probe.is_ok_and(|s| s.success()) {
        assert!(std::env::var_os("CI").is_none(), "CI must have Python's jsonschema");
        eprintln!("skipped: `pip install jsonschema` to run the independent schema check");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let variants = [
        TEMPLATE.to_string(),
        TEMPLATE.replace("NAMED", "named"),
        TEMPLATE.replace("order_update", "Order-Update"),
        TEMPLATE.replace("version: 1", "version: 2"),
        TEMPLATE.replace("id: \"500\"", "id: 500"),
        TEMPLATE.replace("body:", "bodyy:"),
        TEMPLATE.replace("type: URL", "type: CALL"),
        TEMPLATE.replace("A123\" }\n", "A123\", extra: 1 }\n"),
        TEMPLATE.replace("pages:\n  - { id: \"500\", token_env: SHOP_TOKEN }\n", "pages: []\n"),
        std::fs::read_to_string(root.join("examples/templates/delivery-today.yaml")).unwrap(),
    ];
    let tmp = tempfile::tempdir().unwrap();
    let mut cases = Vec::new();
    for (i, text) in variants.iter().enumerate() {
        let loaded = pagecast::campaign::load::load_bytes(Path::new("t.yaml"), text.as_bytes()).unwrap();
        let ours = pagecast::template_file::schema::check(&loaded).is_empty();
        let json = tmp.path().join(format!("{i}.json"));
        std::fs::write(&json, loaded.value.to_string()).unwrap();
        cases.push((json, ours));
    }
    let script = "import json, sys, jsonschema\n\
                  v = jsonschema.Draft202012Validator(json.load(open(sys.argv[1])))\n\
                  for f in sys.argv[2:]:\n    print('valid' if v.is_valid(json.load(open(f))) else 'invalid')\n";
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(root.join("schema/template.schema.json"))
        .args(cases.iter().map(|c| &c.0))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let verdicts: Vec<bool> = String::from_utf8(out.stdout).unwrap().lines().map(|l| l == "valid").collect();
    let ours: Vec<bool> = cases.iter().map(|c| c.1).collect();
    assert_eq!(verdicts, ours);
    assert_eq!(ours.iter().filter(|v| **v).count(), 2, "the two real files are valid, the rest not: {ours:?}");
}
