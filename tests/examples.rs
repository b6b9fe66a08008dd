//! Every campaign in `examples/` is checked: it validates, it names the
//! schema in its modeline, the README lists it, and `plan --format json` on
//! it prints the SPEC §6 plan document with `dry_run: true`.
//!
//! The audiences in `examples/audiences/` are written relative to
//! 2026-11-22T00:00:00Z, so every run here freezes the clock there.

#![allow(clippy::unwrap_used)] // tests unwrap: a panic is the failure report

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const NOW: &str = "2026-11-22T00:00:00Z";

/// The example whose audience is read live from the Graph API.
const NEEDS_NETWORK: &str = "examples/weekend-hours.yaml";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every `*.yaml` / `*.yml` under `dir`, as paths relative to the crate root.
fn campaign_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root().join(dir)];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                out.push(path.strip_prefix(root()).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// Campaign examples; utility template files (a top-level `template:` key)
/// are checked by tests/templates_schema.rs.
fn examples() -> Vec<PathBuf> {
    let is_template = |f: &PathBuf| {
        std::fs::read_to_string(root().join(f)).unwrap_or_default().lines().any(|l| l.starts_with("template:"))
    };
    let files: Vec<PathBuf> = campaign_files(Path::new("examples")).into_iter().filter(|f| !is_template(f)).collect();
    assert!(files.len() >= 7, "expected at least 7 examples, found {files:?}");
    files
}

/// Runs the real binary from the crate root with a scratch state and report
/// directory, and with the APIs pointed at a closed loopback port so that no
/// test can reach the network by accident.
fn pagecast(args: &[&str], scratch: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pagecast"))
        .args(args)
        .current_dir(root())
        .env("PAGECAST_STATE", scratch.join("state"))
        .env("PAGECAST_REPORT_DIR", scratch.join("reports"))
        .env("PAGECAST_GRAPH_URL", "http://127.0.0.1:9")
        .env("PAGECAST_HARASOCIAL_URL", "http://127.0.0.1:9")
        .env_remove("XDG_STATE_HOME")
        .env_remove("SHOP_TOKEN")
        .env_remove("OUTLET_TOKEN")
        .env_remove("HARASOCIAL_TOKEN")
        .output()
        .expect("run pagecast")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn every_example_validates_without_errors() {
    let tmp = scratch();
    for file in examples() {
        let out = pagecast(&["validate", file.to_str().unwrap(), "--now", NOW], tmp.path());
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(0), "{}:\n{err}", file.display());
        assert!(!err.contains("error:"), "{}:\n{err}", file.display());
    }
}

#[test]
fn the_examples_directory_validates_as_a_whole() {
    let tmp = scratch();
    let out = pagecast(&["validate", "examples", "--now", NOW], tmp.path());
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("error:"), "{err}");
}

#[test]
fn every_example_names_the_schema_relative_to_itself() {
    for file in examples() {
        let text = std::fs::read_to_string(root().join(&file)).unwrap();
        let first = text.lines().next().unwrap_or_default();
        let depth = file.components().count() - 1;
        let schema = format!("{}schema/campaign.schema.json", "../".repeat(depth));
        assert_eq!(first, format!("# yaml-language-server: $schema={schema}"), "{}", file.display());
        let resolved = root().join(&file).parent().unwrap().join(&schema);
        assert!(
            resolved.is_file(),
            "{}: the modeline names {}, which does not exist",
            file.display(),
            resolved.display()
        );
    }
}

#[test]
fn the_readme_lists_every_example() {
    let readme = std::fs::read_to_string(root().join("examples/README.md")).unwrap();
    for file in examples() {
        let rel = file.strip_prefix("examples").unwrap().to_str().unwrap().replace('\\', "/");
        assert!(readme.contains(&format!("[{rel}]({rel})")), "examples/README.md does not list {rel}");
    }
}

/// The keys SPEC §6 names, checked on one plan document.
fn assert_plan_document(file: &Path, plan: &Value) {
    let at = file.display();
    for key in [
        "campaign",
        "occurrence",
        "dry_run",
        "started_at",
        "finished_at",
        "exit_code",
        "summary",
        "skipped_by_reason",
        "failed_by_code",
        "outcomes",
    ] {
        assert!(plan.get(key).is_some(), "{at}: the plan has no `{key}`: {plan:#}");
    }
    assert_eq!(plan["dry_run"], Value::Bool(true), "{at}");
    for key in ["recipients", "sent", "skipped", "failed", "unknown", "not_attempted"] {
        assert!(plan["summary"][key].is_u64(), "{at}: summary.{key} is not a count: {:#}", plan["summary"]);
    }
    assert!(plan["skipped_by_reason"].is_object(), "{at}");
    assert!(plan["failed_by_code"].is_object(), "{at}");
    let outcomes = plan["outcomes"].as_array().unwrap_or_else(|| panic!("{at}: outcomes is not a list"));
    assert!(!outcomes.is_empty(), "{at}: no outcomes");
    for row in outcomes {
        for key in [
            "page",
            "recipient",
            "outcome",
            "reason",
            "error_code",
            "error_subcode",
            "message_id",
            "attempts",
            "at",
            "window_closes_at",
        ] {
            assert!(row.get(key).is_some(), "{at}: an outcome row has no `{key}`: {row}");
        }
        let outcome = row["outcome"].as_str().unwrap_or_default();
        assert!(matches!(outcome, "planned" | "skipped"), "{at}: a dry run planned {row}");
        assert_eq!(row["reason"].is_null(), outcome == "planned", "{at}: {row}");
    }
    let count = |o: &str| outcomes.iter().filter(|r| r["outcome"] == o).count() as u64;
    assert_eq!(plan["summary"]["recipients"].as_u64(), Some(outcomes.len() as u64), "{at}");
    assert_eq!(plan["summary"]["skipped"].as_u64(), Some(count("skipped")), "{at}");
    assert_eq!(plan["summary"]["planned"].as_u64(), Some(count("planned")), "{at}");
}

fn plan(file: &Path, tmp: &Path) -> Value {
    let out = pagecast(&["plan", file.to_str().unwrap(), "--now", NOW, "--format", "json"], tmp);
    assert_eq!(out.status.code(), Some(0), "{}:\n{}", file.display(), stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{}: stdout is not JSON ({e}):\n{}", file.display(), String::from_utf8_lossy(&out.stdout))
    })
}

#[test]
fn plan_prints_the_report_document_for_every_offline_example() {
    let tmp = scratch();
    for file in examples().iter().filter(|f| *f != Path::new(NEEDS_NETWORK)) {
        let plan = plan(file, tmp.path());
        assert_plan_document(file, &plan);
        let id = std::fs::read_to_string(root().join(file))
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("id: ").map(str::to_string))
            .unwrap();
        assert_eq!(plan["campaign"], Value::String(id), "{}", file.display());
        assert_eq!(plan["occurrence"], "default", "{}", file.display());
    }
    assert!(!tmp.path().join("reports").exists(), "plan wrote reports without --report-dir");
}

/// (recipient, outcome, reason) for each row.
fn decisions(plan: &Value) -> Vec<(String, String, Option<String>)> {
    plan["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["recipient"].as_str().unwrap().to_string(),
                r["outcome"].as_str().unwrap().to_string(),
                r["reason"].as_str().map(str::to_string),
            )
        })
        .collect()
}

fn decision_of<'a>(d: &'a [(String, String, Option<String>)], id: &str) -> Option<(&'a str, Option<&'a str>)> {
    d.iter().find(|(r, _, _)| r == id).map(|(_, o, why)| (o.as_str(), why.as_deref()))
}

/// The rows the example audiences were written to exercise (SPEC §3).
#[test]
fn plans_decide_what_the_examples_say() {
    let tmp = scratch();
    let shipped = decisions(&plan(Path::new("examples/order-shipped.yaml"), tmp.path()));
    let cases = [
        ("2560816460648749", "planned", None),                   // 14h45m ago
        ("7194620385217734", "planned", None),                   // +07:00 offset
        ("6021937748105526", "planned", None),                   // Unix seconds
        ("2964401175386620", "skipped", Some("outside_window")), // 23h55m ago: past 24h minus the 15m margin
        ("5147290063318841", "skipped", Some("no_interaction")), // empty last_interaction
        ("2291748830265107", "skipped", Some("outside_window")), // 4 days ago
        ("3079185542619908", "skipped", Some("suppressed")),     // opted out, and recent
        ("9903516627481152", "skipped", Some("suppressed")),     // opted out
    ];
    for (id, outcome, reason) in cases {
        assert_eq!(decision_of(&shipped, id), Some((outcome, reason)), "order-shipped, {id}");
    }
    // Rows left out with a warning are not recipients at all.
    assert_eq!(decision_of(&shipped, "4815926030471187"), None, "the future-time row is left out");
    assert_eq!(shipped.len(), 16, "18 rows, one with an empty id and one in the future: {shipped:?}");

    let survey = decisions(&plan(Path::new("examples/feedback-survey.yaml"), tmp.path()));
    assert_eq!(decision_of(&survey, "7194620385217734"), Some(("planned", None)), "6 days ago: inside the tag window");
    assert_eq!(decision_of(&survey, "6021937748105526"), Some(("skipped", Some("outside_tag_window"))), "10 days ago");

    let utility = decisions(&plan(Path::new("examples/delivery-reminder.yaml"), tmp.path()));
    assert_eq!(decision_of(&utility, "5147290063318841"), Some(("planned", None)), "UTILITY: any age");
    assert_eq!(decision_of(&utility, "8836104472915530"), Some(("skipped", Some("no_interaction"))));

    let mut flow = decisions(&plan(Path::new("examples/harasocial/flash-sale-flow.yaml"), tmp.path()));
    flow.sort();
    assert_eq!(
        flow,
        vec![
            ("2560816460648749".into(), "planned".into(), None),
            ("4408712296503318".into(), "skipped".into(), Some("outside_window".into())),
            ("7194620385217734".into(), "planned".into(), None),
            ("9903516627481152".into(), "skipped".into(), Some("no_interaction".into())),
        ]
    );
}

/// The conversations example needs the Graph API: without its token it is a
/// usage error (exit 2) that names the variable; with a token but no server
/// it fails cleanly, sending nothing.
#[test]
fn the_conversations_example_fails_cleanly_without_the_network() {
    let tmp = scratch();
    let out = pagecast(&["plan", NEEDS_NETWORK, "--now", NOW, "--format", "json"], tmp.path());
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("SHOP_TOKEN"), "the error should name the missing variable:\n{err}");

    let out = Command::new(env!("CARGO_BIN_EXE_pagecast"))
        .args(["plan", NEEDS_NETWORK, "--now", NOW, "--format", "json"])
        .current_dir(root())
        .env("SHOP_TOKEN", "test-token")
        .env("PAGECAST_STATE", tmp.path().join("state"))
        .env("PAGECAST_GRAPH_URL", "http://127.0.0.1:9")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(matches!(out.status.code(), Some(2 | 3)), "exit {:?}:\n{err}", out.status.code());
    assert!(err.contains("conversations") && !err.contains("panicked") && !err.contains("test-token"), "{err}");
}

#[test]
fn the_weekday_schedule_fires_at_nine_in_hanoi() {
    let tmp = scratch();
    let out = pagecast(
        &["next", "examples/delivery-reminder.yaml", "--count", "2", "--now", NOW, "--format", "json"],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let next: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(next["campaign"], "delivery-reminder");
    assert_eq!(next["timezone"], "Asia/Ho_Chi_Minh");
    // 2026-11-22 is a Sunday: Monday and Tuesday 09:00 +07:00.
    assert_eq!(
        next["fires"],
        serde_json::json!([
            {"utc": "2026-11-23T02:00:00Z", "local": "2026-11-23T09:00:00+07:00"},
            {"utc": "2026-11-24T02:00:00Z", "local": "2026-11-24T09:00:00+07:00"}
        ])
    );
}
