//! Issue 8, thinking like an attacker: other ways an outage or a half-broken
//! answer could break "at most one message per key, and every key ends in a
//! state that a re-run handles correctly".

mod common;

use common::*;
use serde_json::{Value, json};

const PAGE: &str = "500725830264749";

#[test]
fn the_dry_run_after_an_outage_plans_exactly_the_people_the_rerun_sends_to() {
    let sb = Sandbox::start(&json!({"down": {"after": 2}}));
    let ws = Workspace::new();
    let people = ids(5);
    ws.write(
        "c.yaml",
        &graph_campaign("dry", PAGE, "T", &refs(&people), "send: { concurrency: 1, max_attempts: 1 }\n"),
    );
    let out = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW], &[("T", "tok")]);
    assert!(matches!(out.status.code(), Some(1 | 3)), "{}", text(&out));
    sb.up();
    let plan = ws.run(Some(&sb), &["plan", "c.yaml", "--now", NOW, "--format", "json"], &[]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    let doc: Value = serde_json::from_slice(&plan.stdout).unwrap();
    assert_eq!(doc["summary"]["planned"], 3, "{}", doc["summary"]);
    assert_eq!(doc["skipped_by_reason"]["already_sent"], 2);
    let planned: Vec<&str> = doc["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["outcome"] == "planned")
        .map(|r| r["recipient"].as_str().unwrap())
        .collect();
    assert_eq!(planned, ["3", "4", "5"]);
    let again = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW], &[("T", "tok")]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert_each_delivered_once(&sb, &refs(&people));
}

#[test]
fn a_fatal_answer_mid_run_stops_the_page_and_the_rerun_finishes_it_once() {
    // Recipient 3's request meets a token error (e.g. the token was revoked
    // mid-run): 1 and 2 were delivered, 3..6 must not be lost.
    let sb = Sandbox::start(&json!({"faults": {"3": ["graph:190", "ok"]}}));
    let ws = Workspace::new();
    let people = ids(6);
    ws.write("c.yaml", &graph_campaign("revoked", PAGE, "T", &refs(&people), "send: { concurrency: 1 }\n"));
    let out = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW], &[("T", "tok")]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let report = ws.report("revoked", "default");
    assert_eq!(report["summary"]["sent"], 2);
    assert_eq!(report["summary"]["failed"], 0, "{}", report["summary"]);
    for id in ["3", "4", "5", "6"] {
        assert_eq!(outcome(&report, id), ("not_attempted".into(), "page_stopped".into()), "{id}");
    }
    let again = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW], &[("T", "tok")]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert_each_delivered_once(&sb, &refs(&people));
}

#[test]
fn a_harasocial_401_is_the_pages_error_not_the_persons() {
    let sb = Sandbox::start(&json!({"tokens": {PAGE: "right"}}));
    let ws = Workspace::new();
    ws.write(
        "h.yaml",
        &format!(
            "version: 1\nid: h401\npages:\n  - {{ id: \"{PAGE}\", provider: harasocial, token_env: H }}\naudiences:\n  - page: \"{PAGE}\"\n    recipients:\n      - {{ id: \"1\", last_interaction: {RECENT} }}\n      - {{ id: \"2\", last_interaction: {RECENT} }}\nmessage:\n  payload_id: __hrf_f_abc\nsend: {{ concurrency: 1 }}\n"
        ),
    );
    let out = ws.run(Some(&sb), &["run", "h.yaml", "--now", NOW], &[("H", "wrong")]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let report = ws.report("h401", "default");
    assert_eq!(report["summary"]["failed"], 0, "{}", report["summary"]);
    assert_eq!(outcome(&report, "1"), ("not_attempted".into(), "page_stopped".into()));
    let again = ws.run(Some(&sb), &["run", "h.yaml", "--now", NOW], &[("H", "right")]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert_each_delivered_once(&sb, &["1", "2"]);
}

#[test]
fn an_interrupted_run_is_finished_by_the_rerun_without_doubles() {
    let faults: serde_json::Map<String, Value> = (1..=20).map(|i| (i.to_string(), json!(["slow:300", "ok"]))).collect();
    let sb = Sandbox::start(&json!({ "faults": faults }));
    let ws = Workspace::new();
    let people = ids(20);
    ws.write("c.yaml", &graph_campaign("sig", PAGE, "T", &refs(&people), "send: { concurrency: 2 }\n"));
    let mut child = ws.pagecast(Some(&sb), &["run", "c.yaml", "--now", NOW]).env("T", "tok").spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while sb.message_requests().len() < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(130));
    let report = ws.report("sig", "default");
    let left: Vec<&Value> =
        report["outcomes"].as_array().unwrap().iter().filter(|r| r["outcome"] == "not_attempted").collect();
    assert!(!left.is_empty());
    for r in &left {
        assert_eq!(r["reason"], "interrupted", "{r}");
    }
    let again = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW], &[("T", "tok")]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    // "slow" answers are successes too: count every answered request.
    let mut per: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for r in sb.message_requests() {
        *per.entry(r["recipient"].as_str().unwrap().to_string()).or_default() += 1;
    }
    assert_eq!(per.len(), 20, "{per:?}");
    assert!(per.values().all(|n| *n == 1), "{per:?}");
}

#[test]
fn an_outage_run_with_limit_keeps_both_kinds_of_leftovers_apart() {
    // --limit leftovers are `limit`; outage leftovers are retries_exhausted;
    // both are sent by the full re-run, once.
    let sb = Sandbox::start(&json!({}));
    let ws = Workspace::new();
    let people = ids(4);
    ws.write(
        "c.yaml",
        &graph_campaign("lim", PAGE, "T", &refs(&people), "send: { concurrency: 1, max_attempts: 1 }\n"),
    );
    sb.down();
    let out = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW, "--limit", "2"], &[("T", "tok")]);
    assert_eq!(out.status.code(), Some(1), "the outage leftovers raise the exit code: {}", text(&out));
    let report = ws.report("lim", "default");
    let reasons: Vec<String> = refs(&people).iter().map(|id| outcome(&report, id).1).collect();
    assert_eq!(reasons, ["retries_exhausted", "retries_exhausted", "limit", "limit"]);
    sb.up();
    let again = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW], &[("T", "tok")]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert_each_delivered_once(&sb, &refs(&people));
}

#[test]
fn a_streak_broken_by_an_outage_does_not_charge_people() {
    // Two identical errors, then the API goes away: the two are failed (no
    // streak of three), the rest are not_attempted, nobody else is failed.
    let sb = Sandbox::start(&json!({"faults": {"1": ["graph:10900"], "2": ["graph:10900"]}, "down": {"after": 2}}));
    let ws = Workspace::new();
    let people = ids(5);
    ws.write(
        "c.yaml",
        &graph_campaign("mix", PAGE, "T", &refs(&people), "send: { concurrency: 1, max_attempts: 1 }\n"),
    );
    let out = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW], &[("T", "tok")]);
    assert!(matches!(out.status.code(), Some(1 | 3)), "{}", text(&out));
    let report = ws.report("mix", "default");
    assert_eq!(report["summary"]["failed"], 2, "{}", report["summary"]);
    for id in ["3", "4", "5"] {
        assert_eq!(outcome(&report, id).0, "not_attempted", "{id}");
    }
    sb.up();
    let again = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW], &[("T", "tok")]);
    assert!(matches!(again.status.code(), Some(0 | 1)), "{}", text(&again));
    assert_each_delivered_once(&sb, &["3", "4", "5"]);
    assert!(sb.requests_for("1").len() == 1 && sb.requests_for("2").len() == 1, "failed people are not resent");
}

#[test]
fn a_proxy_answering_404_to_everyone_is_the_pages_error() {
    // A wrong PAGECAST_GRAPH_URL path or a proxy's error page: nothing in it
    // is about a person, so nobody may end `failed` for good.
    // The first request meets it; the page stops; fixed, the re-run sends to all.
    let sb = Sandbox::start(&json!({ "faults": { "1": ["http:404", "ok"] } }));
    let ws = Workspace::new();
    let people = ids(6);
    ws.write("c.yaml", &graph_campaign("proxy", PAGE, "T", &refs(&people), "send: { concurrency: 1 }\n"));
    let out = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW], &[("T", "tok")]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let report = ws.report("proxy", "default");
    assert_eq!(report["summary"]["failed"], 0, "{}", report["summary"]);
    let again = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW], &[("T", "tok")]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert_each_delivered_once(&sb, &refs(&people));
}

#[test]
fn an_error_message_cannot_inject_html_into_the_report() {
    let payload = "<script>alert('pwned')</script><img src=x onerror=alert(1)>";
    let sb = Sandbox::start(&json!({"faults": {"2": ["graph:10900"]}, "messages": {"10900": payload}}));
    let ws = Workspace::new();
    ws.write("c.yaml", &graph_campaign("html", PAGE, "T", &["1", "2", "3"], "send: { concurrency: 1 }\n"));
    let out = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW], &[("T", "tok")]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report = ws.report("html", "default");
    assert_eq!(row(&report, "2")["error_message"], payload, "report.json keeps the text as data");
    let dir = ws.reports().join("html").join("default");
    let run = std::fs::read_dir(&dir).unwrap().flatten().next().unwrap().path();
    let html = std::fs::read_to_string(run.join("report.html")).unwrap();
    assert!(!html.contains("<script>alert('pwned')"), "the API's text became markup in report.html");
    assert!(!html.contains("<img src=x"), "the API's text became markup in report.html");
}

#[test]
fn a_token_echoed_near_the_cut_is_not_leaked_in_part() {
    // The token sits across the 1,000th character: cutting before redacting
    // would keep its first characters.
    let token = "EAAsecretTOKEN0123456789abcdefXYZ";
    let message = format!("(#10900) {}{token} trailing text", "x".repeat(981));
    let sb = Sandbox::start(&json!({"faults": {"2": ["graph:10900"]}, "messages": {"10900": message}}));
    let ws = Workspace::new();
    ws.write("c.yaml", &graph_campaign("cut", PAGE, "T", &["1", "2", "3"], "send: { concurrency: 1 }\n"));
    let out = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW], &[("T", token)]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let mut haystack = text(&out) + &ws.all_report_text();
    for entry in std::fs::read_dir(ws.state()).unwrap().flatten() {
        if entry.path().is_file() {
            haystack.push_str(&String::from_utf8_lossy(&std::fs::read(entry.path()).unwrap()));
        }
    }
    for start in 0..=token.len() - 8 {
        let piece = &token[start..start + 8];
        assert!(!haystack.contains(piece), "a piece of the token ({piece}) was kept");
    }
}

#[test]
fn an_absurd_regain_estimate_stops_the_page_without_a_crash() {
    // u32::MAX minutes: arithmetic on the pause must not overflow or panic.
    let sb = Sandbox::start(&json!({"faults": {"1": ["throttle:4294967295", "ok"]}}));
    let ws = Workspace::new();
    ws.write("c.yaml", &graph_campaign("absurd", PAGE, "T", &["1", "2"], "send: { concurrency: 1, max_pause: 1m }\n"));
    let out = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW], &[("T", "tok")]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(!text(&out).contains("panicked"), "{}", text(&out));
    let report = ws.report("absurd", "default");
    assert_eq!(outcome(&report, "1"), ("not_attempted".into(), "throttled".into()));
    assert_eq!(outcome(&report, "2"), ("not_attempted".into(), "throttled".into()));
    let again = ws.run(Some(&sb), &["run", "c.yaml", "--now", NOW], &[("T", "tok")]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert_each_delivered_once(&sb, &["1", "2"]);
}
