//! What an editor shows with the committed schemas (issue 12): every
//! `schema/*.schema.json` compiles under ajv 8's strict mode, and
//! yaml-language-server, driven over LSP like an editor drives it, shows no
//! problem in the examples and an error on the line where `pagecast validate`
//! reports the first error of each invalid file, on at least the share
//! recorded in `tests/editor/floor.txt`.
//!
//! The Node side is `tests/editor/check.mjs` with pinned packages
//! (`package-lock.json`); `.ci/run` installs them with `npm ci`. Without
//! Node or those packages the tests say so and pass, except in CI.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const NOW: &str = "2026-11-22T00:00:00Z";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// True when Node and the pinned packages are here; otherwise explains how
/// to get them (and fails in CI, where they must be).
fn node_ready() -> bool {
    let node = Command::new("node").arg("--version").output();
    let problem = if !node.is_ok_and(|o| o.status.success()) {
        "node is not installed"
    } else if !root().join("tests/editor/node_modules/yaml-language-server").is_dir() {
        "the editor packages are not installed: run `npm ci --prefix tests/editor`"
    } else {
        return true;
    };
    assert!(!in_ci(), "CI must run the editor check: {problem} (see .ci/run)");
    eprintln!("skipped: {problem}");
    false
}

fn node(args: &[&str]) -> std::process::Output {
    Command::new("node").arg("tests/editor/check.mjs").args(args).current_dir(root()).output().expect("run node")
}

fn schema_files() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(root().join("schema"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".schema.json"))
        .map(|n| format!("schema/{n}"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_schema_compiles_under_ajv_strict_mode() {
    if !node_ready() {
        return;
    }
    let files = schema_files();
    assert!(files.contains(&"schema/campaign.schema.json".to_string()));
    let args: Vec<&str> = std::iter::once("ajv").chain(files.iter().map(String::as_str)).collect();
    let out = node(&args);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "ajv (strict) refuses a schema:\n{text}{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(text.lines().filter(|l| l.starts_with("ok ")).count(), files.len(), "{text}");
}

/// The campaign files: every example (recursively) and the invalid corpus.
fn campaign_files() -> (Vec<String>, Vec<String>) {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                out.push(path);
            }
        }
    }
    let relative = |dir: &str| {
        let mut paths = Vec::new();
        walk(&root().join(dir), &mut paths);
        let mut names: Vec<String> =
            paths.iter().map(|p| p.strip_prefix(root()).unwrap().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    };
    (relative("examples"), relative("tests/invalid"))
}

/// File → the line of the first error `pagecast validate` prints for it.
fn validate_first_error_lines(files: &[String]) -> BTreeMap<String, u64> {
    let out = Command::new(env!("CARGO_BIN_EXE_pagecast"))
        .args(["validate", "--format", "json", "--now", NOW])
        .args(files)
        .current_dir(root())
        .output()
        .unwrap();
    let reports: Vec<Value> = serde_json::from_slice(&out.stdout).expect("validate prints JSON");
    reports
        .iter()
        .filter_map(|r| {
            let first = r["diagnostics"].as_array()?.iter().find(|d| d["severity"] == "error")?;
            Some((r["file"].as_str()?.to_string(), first["line"].as_u64()?))
        })
        .collect()
}

/// File → the editor's diagnostics as (line, message), errors and warnings.
fn editor_diagnostics(files: &[String]) -> BTreeMap<String, Vec<(u64, String)>> {
    let mut args = vec!["lsp", ".", "schema/campaign.schema.json"];
    args.extend(files.iter().map(String::as_str));
    let out = node(&args);
    assert!(out.status.success(), "the LSP run failed:\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            let shown = v["diagnostics"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["severity"].as_u64().is_some_and(|s| s <= 2))
                .map(|d| (d["line"].as_u64().unwrap(), d["message"].as_str().unwrap_or_default().to_string()))
                .collect();
            (v["file"].as_str().unwrap().to_string(), shown)
        })
        .collect()
}

#[test]
fn the_editor_shows_validates_first_error_on_its_line() {
    if !node_ready() {
        return;
    }
    let (examples, invalid) = campaign_files();
    assert!(examples.len() >= 5 && invalid.len() >= 30, "{} examples, {} invalid", examples.len(), invalid.len());
    let all: Vec<String> = examples.iter().chain(&invalid).cloned().collect();
    let editor = editor_diagnostics(&all);
    assert_eq!(editor.len(), all.len(), "the editor answered for every file");

    for file in &examples {
        assert_eq!(editor[file], vec![], "{file}: an example must show no problem in the editor");
    }

    let expected = validate_first_error_lines(&invalid);
    let mut agree = 0;
    let mut misses = Vec::new();
    for file in &invalid {
        let line = *expected.get(file).unwrap_or_else(|| panic!("{file}: validate reports no error"));
        let shown = &editor[file];
        if shown.iter().any(|(l, _)| *l == line) {
            agree += 1;
        } else {
            misses.push(format!("  {file}:{line}: editor shows {shown:?}"));
        }
    }
    println!("editor agrees on {agree}/{} invalid files", invalid.len());
    eprintln!("editor agrees on {agree}/{} invalid files; not on:\n{}", invalid.len(), misses.join("\n"));
    let floor: usize = std::fs::read_to_string(root().join("tests/editor/floor.txt"))
        .unwrap()
        .trim()
        .parse()
        .expect("tests/editor/floor.txt holds a number");
    assert!(
        agree >= floor,
        "the editor agrees with validate on {agree} invalid files, fewer than the floor {floor} (tests/editor/floor.txt)"
    );
}

/// What completion and hover show, as an editor asks for them: every value
/// of an enum with its own text, CUSTOMER_FEEDBACK offered and the retired
/// tags and HUMAN_AGENT not, no `null`, and a field's own meaning and default.
#[test]
fn completion_and_hover_explain_each_value_and_field() {
    if !node_ready() {
        return;
    }
    // Not a dot-directory (`.tmpXXXX`): the schema's `*.yaml` glob skips those.
    let tmp = tempfile::Builder::new().prefix("pagecast-probe").tempdir().unwrap();
    let file = tmp.path().join("probe.yaml");
    let text = "version: 1\nid: probe\npages:\n  - id: \"500725830264749\"\n    provider: graph\n    token_env: SHOP_TOKEN\naudiences:\n  - page: \"500725830264749\"\n    file: people.csv\nmessage:\n  text: Hi\nmessaging_type: \ntag: \nnotification_type: \npolicy:\n  margin: 10m\nschedule:\n  cron: \"0 9 * * *\"\n  catch_up: 1h\n";
    std::fs::write(&file, text).unwrap();
    let file = file.to_string_lossy().into_owned();
    let query = |line: u64, character: u64, kind: &str| serde_json::json!({ "file": file, "line": line, "character": character, "kind": kind });
    let queries = serde_json::json!([
        query(12, 16, "completion"),
        query(13, 5, "completion"),
        query(14, 19, "completion"),
        query(16, 4, "hover"),
        query(19, 4, "hover"),
    ]);
    let queries_file = tmp.path().join("queries.json");
    std::fs::write(&queries_file, queries.to_string()).unwrap();
    let out = node(&["probe", ".", "schema/campaign.schema.json", &queries_file.to_string_lossy()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let answers: Vec<Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let items = |i: usize| -> Vec<(String, String)> {
        answers[i]["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|it| (it["label"].as_str().unwrap().to_string(), it["documentation"].as_str().unwrap().to_string()))
            .collect()
    };
    let distinct_docs = |items: &[(String, String)]| {
        let docs: std::collections::BTreeSet<&String> = items.iter().map(|(_, d)| d).collect();
        docs.len() == items.len() && items.iter().all(|(_, d)| !d.is_empty())
    };

    let messaging_types = items(0);
    let labels: Vec<&str> = messaging_types.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(labels, ["RESPONSE", "UPDATE", "MESSAGE_TAG", "UTILITY"]);
    assert!(distinct_docs(&messaging_types), "each messaging type has its own text: {messaging_types:?}");

    let tags = items(1);
    assert_eq!(tags.iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>(), ["CUSTOMER_FEEDBACK"], "{tags:?}");
    assert!(tags[0].1.contains("7 days"), "{tags:?}");

    let notifications = items(2);
    assert_eq!(notifications.len(), 3, "{notifications:?}");
    assert!(distinct_docs(&notifications), "{notifications:?}");
    assert!(notifications.iter().all(|(l, _)| l != "null"), "null is never offered: {notifications:?}");

    let margin = answers[3]["hover"].as_str().unwrap();
    assert!(margin.contains("Safety margin") && margin.contains("Default `10m`"), "{margin}");
    let catch_up = answers[4]["hover"].as_str().unwrap();
    assert!(catch_up.contains("recorded as missed") && catch_up.contains("Default `30m`"), "{catch_up}");
}
