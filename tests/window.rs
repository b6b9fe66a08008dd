//! The window is checked again just before each request (SPEC §3): a
//! recipient planned while the window was open is not sent once it has
//! closed. Driven through the library so both instants are exact.

#![allow(clippy::unwrap_used)] // tests unwrap: a panic is the failure report

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use common::*;
use pagecast::audience::merge;
use pagecast::plan::{self, PlanOptions};
use pagecast::send::client::{Client, Endpoints, Redactor};
use pagecast::send::pipeline::{self, Cancel, Context, NoJournal, Progress};
use pagecast::vocab::{Clock, Outcome};
use serde_json::json;

fn at(t: &str) -> DateTime<Utc> {
    t.parse().unwrap()
}

#[test]
fn a_window_that_closes_between_plan_and_send_is_honoured() {
    let sb = Sandbox::start(&json!({}));
    let ws = Workspace::new();
    // Last message at 23:00; 24 h minus the 10-minute margin closes at 22:50 next day.
    let path = ws.write("c.yaml", &graph_campaign("late", "500725830264749", "T", &["1", "2"], ""));
    let planned_at = at("2026-11-22T22:49:00Z");
    let sent_at = at("2026-11-22T22:50:00Z");

    let campaign = Arc::new(pagecast::campaign::validate_file(&path, planned_at).unwrap());
    let audiences = Arc::new(merge::load(&campaign, planned_at, &HashMap::new()));
    let plan = plan::plan(&campaign, &audiences, |_| None, planned_at, PlanOptions::default());
    let jobs = plan.jobs(&audiences);
    assert_eq!(jobs.len(), 2, "both are inside the window when planned");

    let endpoints = Endpoints { graph: format!("{}/v25.0", sb.url), harasocial: sb.url.clone() };
    let (_keep, cancel) = tokio::sync::watch::channel(Cancel::Running);
    let ctx = Arc::new(Context {
        campaign: campaign.clone(),
        audiences,
        client: Client::new(endpoints, 4).unwrap(),
        tokens: vec!["tok".into()],
        redactor: Redactor::new(["tok".to_string()]),
        journal: NoJournal,
        clock: Clock::new(Some(sent_at)),
        cancel,
        progress: vec![Arc::new(Progress::default())],
    });
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let summary = rt.block_on(pipeline::run(ctx, jobs));

    assert_eq!(summary.records.len(), 2);
    for r in summary.records.iter() {
        assert_eq!(r.outcome, Outcome::Skipped);
        assert_eq!(r.reason.map(|r| r.as_str()), Some("outside_window"));
        assert_eq!(r.attempts, 0);
    }
    assert!(sb.requests().is_empty(), "nothing may be sent after the window closed");
}
