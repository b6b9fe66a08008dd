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
