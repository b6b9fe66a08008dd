//! Cron lines as crontab reads them, through the real binary: `pagecast next`
//! lists the fires of a campaign's `schedule:` (SPEC §5, day-of-week ranges).

mod common;

use chrono::{DateTime, Datelike, Weekday};
use common::*;
use serde_json::Value;

/// The local fire times `next --count 8` lists for this cron line in Hanoi.
fn next_fires(cron: &str) -> Vec<DateTime<chrono::FixedOffset>> {
    let ws = Workspace::new();
    let schedule = format!("schedule: {{ cron: \"{cron}\", timezone: Asia/Ho_Chi_Minh }}\n");
    ws.write("c.yaml", &graph_campaign("weekly", "500725830264749", "T", &["1"], &schedule));
    let out = ws.run(None, &["next", "c.yaml", "--count", "8", "--now", NOW, "--format", "json"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let next: Value = serde_json::from_slice(&out.stdout).unwrap();
    next["fires"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| DateTime::parse_from_rfc3339(f["local"].as_str().unwrap()).unwrap())
        .collect()
}

#[test]
fn sunday_to_sunday_ranges_fire_on_sundays_only() {
    for cron in ["0 9 * * SUN-SUN", "0 9 * * 0-SUN"] {
        let fires = next_fires(cron);
        assert_eq!(fires.len(), 8, "{cron}");
        assert!(fires.iter().all(|f| f.weekday() == Weekday::Sun), "{cron}: {fires:?}");
        // NOW is Sunday 2026-11-22 07:00 in Hanoi: that day's 09:00 is next.
        assert_eq!(fires[0].to_rfc3339(), "2026-11-22T09:00:00+07:00", "{cron}");
        assert_eq!(fires[1].to_rfc3339(), "2026-11-29T09:00:00+07:00", "{cron}");
    }
}

#[test]
fn a_range_closing_on_sunday_after_a_weekday_runs_to_the_end_of_the_week() {
    let fires = next_fires("0 9 * * FRI-SUN");
    let days: Vec<Weekday> = fires.iter().take(4).map(|f| f.weekday()).collect();
    assert_eq!(days, [Weekday::Sun, Weekday::Fri, Weekday::Sat, Weekday::Sun]);
}
