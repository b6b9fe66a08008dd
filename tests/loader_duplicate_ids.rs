//! Campaign ids are unique within the tree given to `validate` (SPEC §2):
//! two files with one id are both invalid, each message naming the other.

#![allow(clippy::unwrap_used)] // tests unwrap: a panic is the failure report

mod common;

use common::*;

const PAGE: &str = "500725830264749";

fn campaign(id: &str) -> String {
    format!(
        "version: 1\nid: {id}\npages:\n  - {{ id: \"{PAGE}\", provider: graph, token_env: T }}\naudiences:\n  - page: \"{PAGE}\"\n    recipients: [{{ id: \"1\" }}]\nmessage:\n  text: Hello\nmessaging_type: UPDATE\n"
    )
}

#[test]
fn two_files_with_one_id_are_both_invalid_and_name_each_other() {
    let ws = Workspace::new();
    ws.write("campaigns/a.yaml", &campaign("sale"));
    ws.write("campaigns/more/b.yaml", &campaign("sale"));
    ws.write("campaigns/c.yaml", &campaign("other"));
    let out = ws.run(None, &["validate", "campaigns", "--now", NOW], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<&str> = err.lines().filter(|l| l.contains(": error: ")).collect();
    assert_eq!(
        errors,
        [
            "campaigns/a.yaml:2:5: error: id: campaign id \"sale\" is also the id of campaigns/more/b.yaml",
            "campaigns/more/b.yaml:2:5: error: id: campaign id \"sale\" is also the id of campaigns/a.yaml",
        ]
    );
    assert!(err.contains("checked 3 files: 1 valid, 2 invalid"), "{err}");

    let out = ws.run(None, &["validate", "campaigns", "--now", NOW, "--format", "json"], &[]);
    let files: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let valid: Vec<bool> = files.as_array().unwrap().iter().map(|f| f["valid"].as_bool().unwrap()).collect();
    assert_eq!(valid, [false, true, false]);

    // Each file alone is valid, and so is the tree once the ids differ.
    let out = ws.run(None, &["validate", "campaigns/a.yaml", "--now", NOW], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    ws.write("campaigns/more/b.yaml", &campaign("sale-2"));
    let out = ws.run(None, &["validate", "campaigns", "--now", NOW], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}
