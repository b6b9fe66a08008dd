//! Launch safety (SPEC §1 `--limit`/`--only`, §6): a test send, a canary
//! wave, a pinned plan a reviewer approves, a daily cap per Page — each
//! through the real binary against the sandbox.

mod common;

use common::*;
use serde_json::json;

const PAGE: &str = "500725830264749";

fn outcomes_of(report: &serde_json::Value, wanted: &str) -> Vec<String> {
    report["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["outcome"] == wanted)
        .map(|r| r["recipient"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_test_send_with_limit_then_the_real_run_sends_each_person_once() {
    let sb = Sandbox::start(&json!({}));
    let ws = Workspace::new();
    let people = ids(5);
    ws.write("c.yaml", &graph_campaign("limited", PAGE, "T", &refs(&people), ""));
    let dry = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW, "--dry-run", "--limit", "2", "--format", "json"], &[]);
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry));
    let plan: serde_json::Value = serde_json::from_slice(&dry.stdout).unwrap();
    assert_eq!(outcomes_of(&plan, "planned"), ["1", "2"], "the dry run shows exactly what the run sends");
    assert_eq!(row(&plan, "3")["reason"], "limit");

    let test_send = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW, "--limit", "2"], &[("T", "tok")]);
    assert_eq!(
        test_send.status.code(),
        Some(0),
        "leftovers of --limit do not raise the exit code: {}",
        text(&test_send)
    );
    assert_eq!(sb.delivered().len(), 2);
    let report = ws.report("limited", "default");
    assert_eq!((report["summary"]["sent"].as_u64(), report["summary"]["not_attempted"].as_u64()), (Some(2), Some(3)));

    let real = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW], &[("T", "tok")]);
    assert_eq!(real.status.code(), Some(0), "{}", text(&real));
    assert_each_delivered_once(&sb, &refs(&people));
}

#[test]
fn only_sends_to_the_named_recipients_and_refuses_strangers() {
    let sb = Sandbox::start(&json!({}));
    let ws = Workspace::new();
    let people = ids(4);
    ws.write("c.yaml", &graph_campaign("only", PAGE, "T", &refs(&people), ""));
    let stranger = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW, "--only", "2,99"], &[("T", "tok")]);
    assert_eq!(stranger.status.code(), Some(2), "{}", text(&stranger));
    assert!(text(&stranger).contains("99"), "{}", text(&stranger));
    assert!(sb.delivered().is_empty(), "nothing is sent when --only names a stranger");

    let out = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW, "--only", "2,4"], &[("T", "tok")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(sb.delivered().keys().cloned().collect::<Vec<_>>(), ["2", "4"]);
}

#[test]
fn a_canary_that_passes_sends_the_rest() {
    let sb = Sandbox::start(&json!({"faults": {"1": ["graph:551"]}}));
    let ws = Workspace::new();
    let people = ids(10);
    let extra = "send: { concurrency: 2, canary: { recipients: 4, max_failure_rate: 0.25 } }\n";
    ws.write("c.yaml", &graph_campaign("canary-ok", PAGE, "T", &refs(&people), extra));
    let out = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW], &[("T", "tok")]);
    assert_eq!(out.status.code(), Some(1), "one failed person: {}", text(&out));
    let report = ws.report("canary-ok", "default");
    assert_eq!(report["canary"]["recipients"], 4);
    assert_eq!(report["canary"]["failed"], 1);
    assert_eq!(report["canary"]["passed"], true);
    assert_eq!(report["summary"]["sent"], 9);
}

#[test]
fn a_canary_that_fails_stops_every_page_and_leaves_the_rest_for_later() {
    let sb = Sandbox::start(&json!({"faults": {"1": ["graph:551"], "2": ["graph:551"]}}));
    let ws = Workspace::new();
    let people = ids(10);
    let extra = "send: { concurrency: 2, canary: { recipients: 4, max_failure_rate: 0.25 } }\n";
    ws.write("c.yaml", &graph_campaign("canary-bad", PAGE, "T", &refs(&people), extra));
    let out = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW], &[("T", "tok")]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("canary"), "{}", text(&out));
    assert_eq!(sb.message_requests().len(), 4, "only the canary wave was sent");
    let report = ws.report("canary-bad", "default");
    assert_eq!(report["canary"]["passed"], false);
    assert_eq!(report["canary"]["failed"], 2);
    assert_eq!(report["summary"]["not_attempted"], 6);
    assert_eq!(row(&report, "10")["reason"], "canary_failed");
    assert_eq!(report["stopped_pages"][0]["reason"], "canary_failed");
}

#[test]
fn a_pinned_plan_is_sent_exactly_and_refused_once_an_input_changed() {
    let sb = Sandbox::start(&json!({}));
    let ws = Workspace::new();
    let csv = format!("id,last_interaction,first_name\n1,{RECENT},Lan\n2,{RECENT},Minh\n");
    ws.write("audiences/a.csv", &csv);
    let campaign = format!(
        "version: 1\nid: pinned\npages:\n  - {{ id: \"{PAGE}\", provider: graph, token_env: T }}\naudiences:\n  - page: \"{PAGE}\"\n    file: audiences/a.csv\nmessage:\n  text: \"Hi {{{{ first_name }}}}\"\nmessaging_type: UPDATE\n"
    );
    ws.write("c.yaml", &campaign);
    let plan = ws.run(Some(&sb), &["plan", "c.yaml", "--now", NOW, "--out", "plan.json"], &[]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ws.dir.join("plan.json")).unwrap()).unwrap();
    assert_eq!(doc["inputs"].as_object().unwrap().len(), 2, "the campaign file and its CSV: {}", doc["inputs"]);
    assert!(doc["planned_at"].is_string());

    // Someone adds a line after the review: the pinned plan is refused.
    ws.write("audiences/a.csv", &format!("{csv}3,{RECENT},Hoa\n"));
    let refused = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW, "--plan", "plan.json"], &[("T", "tok")]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(text(&refused).contains("audiences/a.csv changed"), "{}", text(&refused));
    assert!(sb.delivered().is_empty());

    // Back as reviewed: exactly the planned two are sent.
    ws.write("audiences/a.csv", &csv);
    let stale =
        ws.run(Some(&sb), &["run", "c.yaml", "--now", "2026-11-23T06:00:00Z", "--plan", "plan.json"], &[("T", "tok")]);
    assert_eq!(stale.status.code(), Some(2), "a plan older than 24 h: {}", text(&stale));
    assert!(text(&stale).contains("--max-plan-age"), "{}", text(&stale));
    let run = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW, "--plan", "plan.json"], &[("T", "tok")]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    assert_each_delivered_once(&sb, &["1", "2"]);
}

#[test]
fn a_daily_limit_is_shared_by_the_campaigns_of_a_page() {
    let sb = Sandbox::start(&json!({}));
    let ws = Workspace::new();
    let capped = |id: &str, people: &[&str]| {
        graph_campaign(id, PAGE, "T", people, "")
            .replace("provider: graph, token_env: T }", "provider: graph, token_env: T, daily_limit: 3 }")
    };
    ws.write("a.yaml", &capped("first", &["1", "2"]));
    ws.write("b.yaml", &capped("second", &["3", "4", "5"]));
    let a = ws.run(Some(&sb), &["run", "a.yaml", "--now", NOW], &[("T", "tok")]);
    assert_eq!(a.status.code(), Some(0), "{}", text(&a));
    let plan = ws.run(Some(&sb), &["plan", "b.yaml", "--now", NOW, "--format", "json"], &[]);
    let planned: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    assert_eq!(outcomes_of(&planned, "planned"), ["3"], "the plan shows the cap: {}", text(&plan));
    let b = ws.run(Some(&sb), &["run", "b.yaml", "--now", NOW], &[("T", "tok")]);
    assert_eq!(b.status.code(), Some(1), "held recipients are left for a later run: {}", text(&b));
    let report = ws.report("second", "default");
    assert_eq!(row(&report, "4")["reason"], "daily_limit");
    assert_eq!(sb.delivered().len(), 3, "three messages in 24 hours, both campaigns together");
}
