//! The committed schema is what the types generate, and it judges files the
//! way `validate` does.

use std::path::Path;
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

/// Python's `jsonschema` (an independent implementation of draft 2020-12)
/// must agree with pagecast's schema stage on every example (all valid) and
/// every corpus file that parses as YAML (valid or not, file by file).
/// `.ci/run` installs the module; elsewhere the test says how to get it.
#[test]
fn an_independent_validator_agrees_with_ours() {
    let probe = Command::new("python3").args(["-c", "import jsonschema"]).status();
    if !probe.is_ok_and(|s| s.success()) {
        assert!(std::env::var_os("CI").is_none(), "CI must have Python's jsonschema (see .ci/run)");
        eprintln!("skipped: `pip install jsonschema` to run the independent schema check");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let mut cases = Vec::new();
    for dir in ["examples", "examples/harasocial", "tests/invalid"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "yaml") {
                continue;
            }
            let Ok(loaded) = pagecast::campaign::load::load_file(&path) else { continue };
            let ours_valid = pagecast::campaign::schema::check(&loaded).is_empty();
            let json = tmp.path().join(format!("{}.json", cases.len()));
            std::fs::write(&json, loaded.value.to_string()).unwrap();
            cases.push((path, json, ours_valid));
        }
    }
    assert!(cases.len() > 60, "examples and corpus found ({})", cases.len());
    let script = "import json, sys, jsonschema\n\
                  schema = json.load(open(sys.argv[1]))\n\
                  v = jsonschema.Draft202012Validator(schema)\n\
                  for f in sys.argv[2:]:\n    print('valid' if v.is_valid(json.load(open(f))) else 'invalid')\n";
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(root.join("schema/campaign.schema.json"))
        .args(cases.iter().map(|c| &c.1))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let verdicts: Vec<String> = String::from_utf8(out.stdout).unwrap().lines().map(String::from).collect();
    assert_eq!(verdicts.len(), cases.len());
    let mut schema_invalid = 0;
    for ((path, _, ours), theirs) in cases.iter().zip(&verdicts) {
        let theirs_valid = theirs == "valid";
        assert_eq!(
            *ours,
            theirs_valid,
            "{}: pagecast says valid={ours}, python jsonschema says {theirs}",
            path.display()
        );
        if path.starts_with(root.join("examples")) {
            assert!(theirs_valid, "{}: an example must be schema-valid", path.display());
        }
        schema_invalid += usize::from(!theirs_valid);
    }
    assert!(schema_invalid >= 15, "only {schema_invalid} schema-level invalid files were compared");
}
