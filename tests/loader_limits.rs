//! The loader limits of SPEC §2 against the real binary: nesting deeper than
//! 64 levels, alias expansion over 10,000 nodes (and a file over 1 MiB, in
//! tests/validate_cli.rs) are refused with exit 2 at the line, and no input
//! overflows the stack — neither in `validate` nor inside `tick`, where one
//! such file must not stop the other campaigns.

#![allow(clippy::unwrap_used)] // tests unwrap: a panic is the failure report

mod common;

use std::path::Path;
use std::process::Output;

use common::*;
use serde_json::json;

const PAGE: &str = "500725830264749";

fn validate(ws: &Workspace, file: &str) -> Output {
    ws.run(None, &["validate", file, "--now", NOW], &[])
}

fn first_line(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).lines().next().unwrap_or_default().to_string()
}

/// Exit 2 (never a crash: 134 is an abort, 101 a panic) and this first line.
fn assert_refused(ws: &Workspace, file: &str, text: &str, expected: &str) {
    ws.write(file, text);
    let out = validate(ws, file);
    assert_eq!(out.status.code(), Some(2), "{file}: {}", common::text(&out));
    assert_eq!(first_line(&out), format!("{file}:{expected}"));
}

const TOO_DEEP: &str = "error: mappings and lists nest deeper than 64 levels here; campaign files are limited to 64";

#[test]
fn the_34_kb_dash_file_is_refused_at_the_65th_level() {
    let ws = Workspace::new();
    // The file from the issue: ~16,850 levels of `- `, 34 KB.
    let text = format!("{}x\n", "- ".repeat(16_850));
    assert!(text.len() > 33_000);
    assert_refused(&ws, "dash.yaml", &text, &format!("1:129: {TOO_DEEP}"));
}

#[test]
fn a_mebibyte_of_brackets_or_braces_is_refused() {
    let ws = Workspace::new();
    let brackets = format!("{}\n", "[".repeat(1024 * 1024 - 1));
    assert_refused(&ws, "brackets.yaml", &brackets, &format!("1:256: {TOO_DEEP}"));
    let braces = format!("{}\n", "{".repeat(1024 * 1024 - 1));
    assert_refused(&ws, "braces.yaml", &braces, &format!("1:256: {TOO_DEEP}"));
    let mixed = format!("a: {}\n", "[{".repeat(5000));
    assert_refused(&ws, "mixed.yaml", &mixed, &format!("1:259: {TOO_DEEP}"));
}

#[test]
fn deep_block_mappings_and_explicit_keys_are_refused_at_their_line() {
    let ws = Workspace::new();
    // One-space indents: 1,400 levels in under 1 MiB.
    let text: String = (0..1400).map(|i| format!("{}k:\n", " ".repeat(i))).collect();
    assert!(text.len() < 1024 * 1024);
    assert_refused(&ws, "block.yaml", &text, &format!("65:65: {TOO_DEEP}"));
    assert_refused(&ws, "keys.yaml", &format!("{}x\n", "? ".repeat(20_000)), &format!("1:129: {TOO_DEEP}"));
}

/// A generic template payload is passed through as written, so it may nest:
/// 64 levels in all is accepted, 65 is refused at the 65th.
fn campaign_with_payload_depth(depth: usize) -> String {
    // Levels: file 1, message 2, attachment 3, payload 4, elements 5,
    // element 6; each `x:` below adds one.
    let extra = depth - 6;
    let mut nest = String::new();
    for i in 0..extra {
        nest.push_str(&format!("{}x:\n", " ".repeat(10 + i)));
    }
    nest.push_str(&format!("{}y: 1\n", " ".repeat(10 + extra)));
    format!(
        "version: 1\nid: deep\npages:\n  - {{ id: \"{PAGE}\", provider: graph, token_env: T }}\naudiences:\n  - page: \"{PAGE}\"\n    recipients: [{{ id: \"1\" }}]\nmessaging_type: UPDATE\nmessage:\n  attachment:\n    type: template\n    payload:\n      template_type: generic\n      elements:\n        - title: Hi\n{nest}"
    )
}

#[test]
fn sixty_four_levels_are_accepted_and_sixty_five_are_not() {
    let ws = Workspace::new();
    ws.write("at.yaml", &campaign_with_payload_depth(64));
    let out = validate(&ws, "at.yaml");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // The 65th level is the mapping that starts under the 59th `x:`, at its
    // first key (line 16 + 59, indented 10 + 59).
    assert_refused(&ws, "over.yaml", &campaign_with_payload_depth(65), &format!("75:70: {TOO_DEEP}"));
}

#[test]
fn alias_expansion_over_10000_nodes_is_refused_at_the_alias() {
    let ws = Workspace::new();
    // "Billion laughs": each line holds ten aliases of the line before.
    let mut lines = vec!["a: &a [x, x, x, x, x, x, x, x, x, x]".to_string()];
    for (prev, name) in "abcdefgh".chars().zip("bcdefghi".chars()) {
        lines.push(format!("{name}: &{name} [{}]", vec![format!("*{prev}"); 10].join(", ")));
    }
    let text = lines.join("\n") + "\n";
    assert_refused(
        &ws,
        "laughs.yaml",
        &text,
        "4:36: error: the aliases (`*name`) of this file expand to more than 10000 nodes",
    );
}

#[test]
fn aliases_that_nest_deep_anchors_under_each_other_are_refused() {
    let ws = Workspace::new();
    // Each anchor is 60 levels deep on its own line, and holds the one before.
    let mut text = String::new();
    for i in 0..3 {
        let inner = if i == 0 { "x".to_string() } else { format!("*a{}", i - 1) };
        text.push_str(&format!("k{i}: &a{i} {}{inner}{}\n", "[".repeat(60), "]".repeat(60)));
    }
    assert_refused(
        &ws,
        "chain.yaml",
        &text,
        "1:12: error: with its aliases (`*name`) expanded, this nests deeper than 64 levels; campaign files are limited to 64",
    );
}

#[test]
fn a_few_plain_aliases_still_work() {
    let ws = Workspace::new();
    let text = format!(
        "version: 1\nid: alias\npages:\n  - &page {{ id: \"{PAGE}\", provider: graph, token_env: T }}\naudiences:\n  - page: \"{PAGE}\"\n    recipients: [{{ id: \"1\" }}]\nmessaging_type: UPDATE\nmessage:\n  text: &hi Hello\n  metadata: *hi\n"
    );
    ws.write("alias.yaml", &text);
    let out = validate(&ws, "alias.yaml");
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out));
}

#[test]
fn tick_passes_over_a_hostile_file_and_runs_the_due_campaign() {
    let sb = Sandbox::start(&json!({}));
    let ws = Workspace::new();
    ws.write("campaigns/a-deep.yaml", &format!("{}x\n", "- ".repeat(16_850)));
    ws.write("campaigns/b-brackets.yaml", &"[".repeat(1024 * 1024 - 1));
    ws.write(
        "campaigns/c-daily.yaml",
        &format!(
            "version: 1\nid: daily\npages:\n  - {{ id: \"{PAGE}\", provider: graph, token_env: T }}\naudiences:\n  - page: \"{PAGE}\"\n    recipients: [{{ id: \"7\", last_interaction: \"2026-11-22T01:00:00Z\" }}]\nmessage:\n  text: Hello\nmessaging_type: UPDATE\nschedule: {{ cron: \"0 2 * * *\" }}\n"
        ),
    );
    let out = ws.run(Some(&sb), &["tick", "campaigns", "--now", "2026-11-22T02:05:00Z"], &[("T", "tok")]);
    assert_eq!(out.status.code(), Some(2), "the invalid files count with 2: {}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("{}:1:129: {TOO_DEEP}", Path::new("campaigns").join("a-deep.yaml").display())));
    assert_eq!(sb.requests_for("7").len(), 1, "the valid campaign still ran: {stderr}");
}
