//! `pagecast templates plan|apply` against the sandbox: the whole cycle
//! (file → plan → apply → review → plan → campaign), review states, a
//! template that differs, paging with exact matching, throttling, a bad token.

#![allow(clippy::unwrap_used)] // tests unwrap: a panic is the failure report

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Output;

use common::{Sandbox, Workspace, text};
use serde_json::{Value, json};

const PAGE: &str = "500725830264749";
const TOKEN: &str = "tok-shop-1234";

fn template_file(page: &str) -> String {
    format!(
        "version: 1\ntemplate: order_update\nlanguage: en_US\npages:\n  - {{ id: \"{page}\", token_env: SHOP_TOKEN }}\nparameter_format: NAMED\nheader: \"Order {{{{order_id}}}}\"\nbody: \"Hi {{{{first_name}}}}, your order {{{{order_id}}}} has shipped.\"\nbuttons:\n  - {{ type: URL, text: Track order, url: \"https://shop.example/track/{{{{1}}}}\", example: \"A123\" }}\n  - {{ type: POSTBACK, text: Help, payload: HELP }}\nexamples: {{ first_name: Lan, order_id: \"A123\" }}\n"
    )
}

/// `POST /_sandbox/templates/{page}/order_update/en_US/{action}`.
fn review(sb: &Sandbox, page: &str, action: &str, reason: Option<&str>) {
    let body = reason.map(|r| json!({ "reason": r }).to_string()).unwrap_or_default();
    let mut s = TcpStream::connect(&sb.addr).unwrap();
    write!(
        s,
        "POST /_sandbox/templates/{page}/order_update/en_US/{action} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        sb.addr,
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

fn templates(ws: &Workspace, sb: &Sandbox, args: &[&str], token: &str) -> Output {
    ws.run(Some(sb), args, &[("SHOP_TOKEN", token), ("PAGECAST_PAUSE_SCALE", "0")])
}

fn template_requests(sb: &Sandbox) -> Vec<Value> {
    sb.requests().into_iter().filter(|r| r["kind"] == "templates").collect()
}

/// Every template call carries the token in the header and never in the URL.
fn assert_token_in_header_only(sb: &Sandbox) {
    let requests = template_requests(sb);
    assert!(!requests.is_empty());
    for r in requests {
        assert_eq!(r["authorization"], format!("Bearer {TOKEN}"), "{r}");
        assert!(!r["query"].as_str().unwrap().contains("access_token"), "{r}");
        assert!(!r["query"].as_str().unwrap().contains(TOKEN), "{r}");
    }
}

const PARAMS: &str = "      - type: header\n        parameters:\n          - { type: text, parameter_name: order_id, text: \"{{ order_id }}\" }\n      - type: body\n        parameters:\n          - { type: text, parameter_name: first_name, text: \"{{ first_name }}\" }\n          - { type: text, parameter_name: order_id, text: \"{{ order_id }}\" }\n      - type: buttons\n        parameters:\n          - { type: url, url: \"{{ order_id }}\" }\n          - { type: postback, payload: \"HELP_{{ order_id }}\" }\n";

fn utility_campaign(pages: &[&str]) -> String {
    let page_list: String =
        pages.iter().map(|p| format!("  - {{ id: \"{p}\", provider: graph, token_env: SHOP_TOKEN }}\n")).collect();
    let audiences: String = pages
        .iter()
        .enumerate()
        .map(|(i, p)| {
            format!("  - page: \"{p}\"\n    recipients:\n      - {{ id: \"{}\", last_interaction: 2026-10-01T00:00:00Z, vars: {{ first_name: Lan, order_id: A{i} }} }}\n", 100 + i)
        })
        .collect();
    format!(
        "version: 1\nid: shipped\npages:\n{page_list}audiences:\n{audiences}message:\n  template:\n    name: order_update\n    language: en_US\n    components:\n{PARAMS}messaging_type: UTILITY\n"
    )
}

#[test]
fn the_whole_cycle_from_file_to_send() {
    let sb = Sandbox::start(&json!({ "tokens": { PAGE: TOKEN } }));
    let ws = Workspace::new();
    ws.write("templates/order-update.yaml", &template_file(PAGE));
    ws.write("shipped.yaml", &utility_campaign(&[PAGE]));

    let out = templates(&ws, &sb, &["templates", "plan", "."], TOKEN);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains(&format!("{PAGE:<18} order_update (en_US)  create")), "{}", text(&out));

    let out = templates(&ws, &sb, &["templates", "apply", "."], TOKEN);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("created: PENDING"), "{}", text(&out));
    let created: Vec<Value> = template_requests(&sb).into_iter().filter(|r| r["method"] == "POST").collect();
    assert_eq!(created.len(), 1);
    let body = &created[0]["body"];
    assert_eq!(
        (&body["name"], &body["category"], &body["parameter_format"]),
        (&json!("order_update"), &json!("UTILITY"), &json!("NAMED"))
    );
    assert_eq!(
        body["components"][1]["example"]["body_text_named_params"][1],
        json!({"param_name": "order_id", "example": "A123"})
    );
    assert_eq!(body["components"][2]["buttons"][0]["example"], json!(["https://shop.example/track/A123"]));

    let out = templates(&ws, &sb, &["templates", "plan", "."], TOKEN);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("order_update (en_US)  PENDING"), "{}", text(&out));

    // While Meta reviews it, the campaign's plan skips the page.
    let out = ws.run(
        Some(&sb),
        &["plan", "shipped.yaml", "--now", common::NOW, "--format", "json"],
        &[("SHOP_TOKEN", TOKEN)],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(common::row(&plan, "100")["reason"], "template_not_approved");

    // A second apply while pending creates nothing.
    templates(&ws, &sb, &["templates", "apply", "."], TOKEN);
    assert_eq!(template_requests(&sb).iter().filter(|r| r["method"] == "POST").count(), 1);

    review(&sb, PAGE, "approve", None);
    let out = templates(&ws, &sb, &["templates", "plan", "."], TOKEN);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("order_update (en_US)  ok"), "{}", text(&out));
    assert_token_in_header_only(&sb);

    let out = ws.run(Some(&sb), &["validate", ".", "--now", common::NOW], &[]);
    assert_eq!(out.status.code(), Some(0), "the campaign matches its template file: {}", text(&out));

    let out = ws.run(
        Some(&sb),
        &["plan", "shipped.yaml", "--now", common::NOW, "--format", "json"],
        &[("SHOP_TOKEN", TOKEN)],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(common::row(&plan, "100")["outcome"], "planned");

    let out = ws.run(Some(&sb), &["run", "shipped.yaml", "--now", common::NOW], &[("SHOP_TOKEN", TOKEN)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let sent = sb.requests_for("100");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["body"]["messaging_type"], "UTILITY");
    assert_eq!(
        sent[0]["body"]["message"]["template"],
        json!({"name": "order_update", "language": {"code": "en_US"}, "components": [
            {"type": "header", "parameters": [{"type": "text", "text": "A0", "parameter_name": "order_id"}]},
            {"type": "body", "parameters": [
                {"type": "text", "text": "Lan", "parameter_name": "first_name"},
                {"type": "text", "text": "A0", "parameter_name": "order_id"}]},
            {"type": "buttons", "parameters": [{"type": "URL", "url": "A0"}, {"type": "POSTBACK", "payload": "HELP_A0"}]}
        ]})
    );
}

#[test]
fn a_template_approved_on_create_is_ok_at_once() {
    let sb = Sandbox::start(&json!({ "tokens": { PAGE: TOKEN }, "templates_approve_on_create": true }));
    let ws = Workspace::new();
    ws.write("t.yaml", &template_file(PAGE));
    let out = templates(&ws, &sb, &["templates", "apply", "t.yaml"], TOKEN);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("created: APPROVED (ok)"), "{}", text(&out));
    assert!(text(&out).contains("1 template(s) on 1 page(s): 1 ok, 0 not ok"), "{}", text(&out));
}

#[test]
fn review_states_show_with_their_reason() {
    let sb = Sandbox::start(&json!({ "tokens": { PAGE: TOKEN } }));
    let ws = Workspace::new();
    ws.write("t.yaml", &template_file(PAGE));
    templates(&ws, &sb, &["templates", "apply", "t.yaml"], TOKEN);

    review(&sb, PAGE, "reject", Some("TAG_CONTENT_MISMATCH"));
    let out = templates(&ws, &sb, &["templates", "plan", "t.yaml"], TOKEN);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("order_update (en_US)  REJECTED: TAG_CONTENT_MISMATCH"), "{}", text(&out));

    review(&sb, PAGE, "pause", None);
    let out = templates(&ws, &sb, &["templates", "apply", "t.yaml"], TOKEN);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("order_update (en_US)  PAUSED"), "{}", text(&out));
    assert_eq!(template_requests(&sb).iter().filter(|r| r["method"] == "POST").count(), 1, "apply never re-creates");
}

#[test]
fn an_approved_template_with_other_text_differs_and_is_left_alone() {
    let listed = json!({"name": "order_update", "language": "en_US", "status": "APPROVED", "components": [
        {"type": "HEADER", "format": "TEXT", "text": "Order {{order_id}}"},
        {"type": "BODY", "text": "Hello {{first_name}}, order {{order_id}} is on its way."},
        {"type": "BUTTONS", "buttons": [
            {"type": "URL", "text": "Track order", "url": "https://shop.example/track/{{1}}"},
            {"type": "POSTBACK", "text": "Help", "payload": "HELP"}]}]});
    let sb = Sandbox::start(&json!({ "tokens": { PAGE: TOKEN }, "templates": { PAGE: [listed] } }));
    let ws = Workspace::new();
    ws.write("t.yaml", &template_file(PAGE));
    let out = templates(&ws, &sb, &["templates", "apply", "t.yaml"], TOKEN);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("differs: Meta does not edit an approved template; use a new name (e.g. order_update_v2)"),
        "{t}"
    );
    assert!(t.contains("body: file \"Hi {{first_name}}"), "{t}");
    assert!(template_requests(&sb).iter().all(|r| r["method"] == "GET"), "nothing created or changed");
}

#[test]
fn paging_is_followed_and_names_compare_exactly() {
    let near = |name: &str, lang: &str| json!({"name": name, "language": lang, "status": "APPROVED"});
    let mut listed: Vec<Value> = (0..5).map(|i| near(&format!("other_{i}"), "en_US")).collect();
    listed.push(near("order_update_v2", "en_US"));
    listed.push(near("order_update", "en"));
    let sb =
        Sandbox::start(&json!({ "tokens": { PAGE: TOKEN }, "templates": { PAGE: listed }, "templates_page_size": 2 }));
    let ws = Workspace::new();
    ws.write("t.yaml", &template_file(PAGE));
    let out = templates(&ws, &sb, &["templates", "plan", "t.yaml"], TOKEN);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("order_update (en_US)  create"), "{}", text(&out));
    assert_eq!(template_requests(&sb).len(), 4, "7 templates, 2 per page");
    assert_token_in_header_only(&sb);
}

#[test]
fn throttling_pauses_and_goes_on() {
    let sb = Sandbox::start(
        &json!({ "tokens": { PAGE: TOKEN }, "faults": { format!("templates:{PAGE}"): ["throttle:0", "graph_transient:2", "ok"] } }),
    );
    let ws = Workspace::new();
    ws.write("t.yaml", &template_file(PAGE));
    let out = templates(&ws, &sb, &["templates", "plan", "t.yaml"], TOKEN);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("create"), "{}", text(&out));
    let faults: Vec<Value> = template_requests(&sb).iter().map(|r| r["fault"].clone()).collect();
    assert_eq!(faults, [json!("throttle:0"), json!("graph_transient:2"), json!("ok")]);
}

#[test]
fn a_bad_token_stops_with_exit_3_and_stays_secret() {
    let sb = Sandbox::start(&json!({ "tokens": { PAGE: TOKEN } }));
    let ws = Workspace::new();
    ws.write("t.yaml", &template_file(PAGE));
    let secret = "wrong-token-98765";
    let out = templates(&ws, &sb, &["templates", "apply", "t.yaml"], secret);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(3), "{t}");
    assert!(t.contains("stopped: Graph error 190"), "{t}");
    assert!(!t.contains(secret), "{t}");
    assert!(template_requests(&sb).iter().all(|r| r["method"] == "GET"));
}

#[test]
fn usage_errors_exit_2() {
    let sb = Sandbox::start(&json!({}));
    let ws = Workspace::new();
    ws.write("t.yaml", &template_file(PAGE));
    let out = ws.run(Some(&sb), &["templates", "plan", "t.yaml"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("SHOP_TOKEN"), "{}", text(&out));
    let out = templates(&ws, &sb, &["templates", "plan", "t.yaml", "--page", "42"], TOKEN);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("no template file lists page 42"), "{}", text(&out));
    ws.write("bad.yaml", &template_file(PAGE).replace("body:", "bodyy:"));
    let out = templates(&ws, &sb, &["templates", "apply", "."], TOKEN);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("bad.yaml:8:1: error: bodyy: unknown field"), "{}", text(&out));
    assert!(sb.requests().is_empty(), "nothing was asked of the API");
}

#[test]
fn a_page_whose_template_is_not_approved_is_not_sent_to() {
    let (approved, pending, missing) = ("501", "502", "503");
    let t = |status: &str| json!([{"name": "order_update", "language": "en_US", "status": status}]);
    let sb = Sandbox::start(&json!({ "templates": { approved: t("APPROVED"), pending: t("PENDING") } }));
    let ws = Workspace::new();
    ws.write("shipped.yaml", &utility_campaign(&[approved, pending, missing]));

    let out = ws.run(
        Some(&sb),
        &["plan", "shipped.yaml", "--now", common::NOW, "--format", "json"],
        &[("SHOP_TOKEN", TOKEN)],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(common::row(&plan, "100")["outcome"], "planned");
    assert_eq!(common::row(&plan, "101")["reason"], "template_not_approved");
    assert_eq!(common::row(&plan, "102")["reason"], "template_not_approved");
    assert_eq!(plan["skipped_by_reason"]["template_not_approved"], 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("page 502: template order_update (en_US) is PENDING"), "{err}");
    assert!(err.contains("page 503: template order_update (en_US) does not exist on this page"), "{err}");

    let out = ws.run(Some(&sb), &["run", "shipped.yaml", "--now", common::NOW], &[("SHOP_TOKEN", TOKEN)]);
    assert_eq!(out.status.code(), Some(0), "skips are not failures: {}", text(&out));
    assert_eq!(sb.requests_for("100").len(), 1);
    assert!(sb.requests_for("101").is_empty() && sb.requests_for("102").is_empty(), "no request for blocked pages");
    let report = ws.report("shipped", "default");
    let row = common::row(&report, "101");
    assert_eq!((&row["outcome"], &row["reason"]), (&json!("skipped"), &json!("template_not_approved")));
    let status_reads: Vec<Value> = template_requests(&sb).into_iter().filter(|r| r["method"] == "GET").collect();
    assert!(status_reads.iter().all(|r| r["authorization"] == format!("Bearer {TOKEN}")), "{status_reads:?}");
}

#[test]
fn a_bad_token_stops_the_campaign_before_any_send() {
    let sb = Sandbox::start(&json!({ "tokens": { PAGE: TOKEN } }));
    let ws = Workspace::new();
    ws.write("shipped.yaml", &utility_campaign(&[PAGE]));
    let out = ws.run(Some(&sb), &["run", "shipped.yaml", "--now", common::NOW], &[("SHOP_TOKEN", "bad-token-5555")]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(3), "{t}");
    assert!(
        t.contains("cannot read the status of template order_update (en_US)") && !t.contains("bad-token-5555"),
        "{t}"
    );
    assert!(sb.requests_for("100").is_empty());
}
