//! The sandbox's configuration: tokens, fault scripts and conversations.
//!
//! The same JSON arrives from `--config FILE` at start and from
//! `PUT /_sandbox/config` at run time. It is checked and prepared once here
//! (fault names parsed, conversations sorted newest first) so that answering
//! a request never re-validates or re-sorts anything.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, FixedOffset};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::fault::{Fault, RandomFault};

/// Conversations per page when neither `limit` nor the config says otherwise.
const DEFAULT_PAGE_SIZE: usize = 25;

/// A checked configuration, ready to answer requests with.
#[derive(Debug, Clone)]
pub struct Config {
    /// Delay added before every API answer.
    pub latency: Duration,
    /// Expected bearer token per page id; pages not named accept any token.
    pub tokens: HashMap<String, String>,
    /// Scripted answers per recipient id (per page id for conversations).
    pub faults: HashMap<String, Vec<Fault>>,
    /// The fault for recipients without a script.
    pub random_fault: Option<RandomFault>,
    /// Seed for `random_fault`.
    pub seed: u64,
    /// Conversations per page id, newest `updated_time` first.
    pub conversations: HashMap<String, Vec<Conversation>>,
    /// Default page size of `GET /{page}/conversations`.
    pub conversations_page_size: usize,
    /// Display names of pages, shown as the page participant of conversations.
    pub page_names: HashMap<String, String>,
    /// Message templates per page id at start (objects with `name`, `language`, …).
    pub templates: HashMap<String, Vec<Value>>,
    /// Created templates are APPROVED at once instead of PENDING.
    pub templates_approve_on_create: bool,
    /// Templates per page of `GET /{page}/message_templates`.
    pub templates_page_size: usize,
}

/// One configured conversation, kept as given except for the list wrappers
/// Graph adds when answering.
#[derive(Debug, Clone, Deserialize)]
pub struct Conversation {
    /// Conversation id, e.g. `t_1`.
    pub id: String,
    /// Graph's time format, e.g. `2026-11-20T08:00:00+0000`, echoed verbatim.
    pub updated_time: String,
    /// Participants other than the page (the page is added when answering).
    #[serde(default)]
    pub participants: Vec<Value>,
    /// Messages, newest first, as Graph lists them.
    #[serde(default)]
    pub messages: Vec<Value>,
    /// Any other field (`snippet`, `unread_count`…), passed through.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The JSON shape of the config, before checking. Every field is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    latency_ms: Option<u64>,
    #[serde(default)]
    tokens: HashMap<String, String>,
    #[serde(default)]
    faults: HashMap<String, Vec<String>>,
    random_fault: Option<RawRandomFault>,
    #[serde(default)]
    seed: u64,
    #[serde(default)]
    conversations: HashMap<String, Vec<Conversation>>,
    conversations_page_size: Option<usize>,
    #[serde(default)]
    page_names: HashMap<String, String>,
    #[serde(default)]
    templates: HashMap<String, Vec<Value>>,
    #[serde(default)]
    templates_approve_on_create: bool,
    templates_page_size: Option<usize>,
}

/// `random_fault` as written in the config.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRandomFault {
    fault: String,
    probability: f64,
}

impl Config {
    /// Parses and checks config JSON. `latency_override` (the `--latency-ms`
    /// flag, when given) wins over the JSON's `latency_ms`.
    pub fn from_json(json: &[u8], latency_override: Option<u64>) -> Result<Self, String> {
        let raw: RawConfig = serde_json::from_slice(json).map_err(|e| e.to_string())?;
        let latency_ms = latency_override.or(raw.latency_ms).unwrap_or(0);
        Ok(Self {
            latency: Duration::from_millis(latency_ms),
            tokens: raw.tokens,
            faults: parse_scripts(raw.faults)?,
            random_fault: raw.random_fault.map(parse_random).transpose()?,
            seed: raw.seed,
            conversations: sort_conversations(raw.conversations)?,
            conversations_page_size: page_size(raw.conversations_page_size)?,
            page_names: raw.page_names,
            templates: check_templates(raw.templates)?,
            templates_approve_on_create: raw.templates_approve_on_create,
            templates_page_size: raw.templates_page_size.unwrap_or(DEFAULT_PAGE_SIZE).max(1),
        })
    }
}

/// Parses every fault script; an empty script is a mistake, not "ok".
fn parse_scripts(raw: HashMap<String, Vec<String>>) -> Result<HashMap<String, Vec<Fault>>, String> {
    raw.into_iter()
        .map(|(key, names)| {
            if names.is_empty() {
                return Err(format!("faults[{key:?}] is empty"));
            }
            let script = names
                .iter()
                .map(|name| Fault::parse(name).map_err(|e| format!("faults[{key:?}]: {e}")))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((key, script))
        })
        .collect()
}

/// Every configured template is an object with `name` and `language`.
fn check_templates(raw: HashMap<String, Vec<Value>>) -> Result<HashMap<String, Vec<Value>>, String> {
    for (page, list) in &raw {
        if let Some(i) = list.iter().position(|t| !t["name"].is_string() || !t["language"].is_string()) {
            return Err(format!("templates[{page:?}][{i}] needs `name` and `language` (strings)"));
        }
    }
    Ok(raw)
}

/// Checks `random_fault`.
fn parse_random(raw: RawRandomFault) -> Result<RandomFault, String> {
    if !(0.0..=1.0).contains(&raw.probability) {
        return Err(format!("random_fault.probability must be within 0..1, got {}", raw.probability));
    }
    Ok(RandomFault {
        fault: Fault::parse(&raw.fault).map_err(|e| format!("random_fault: {e}"))?,
        probability: raw.probability,
    })
}

/// Checks `conversations_page_size`.
fn page_size(raw: Option<usize>) -> Result<usize, String> {
    match raw {
        None => Ok(DEFAULT_PAGE_SIZE),
        Some(0) => Err("conversations_page_size must be at least 1".to_owned()),
        Some(size) => Ok(size),
    }
}

/// Sorts each page's conversations newest `updated_time` first, checking
/// that every time parses.
fn sort_conversations(raw: HashMap<String, Vec<Conversation>>) -> Result<HashMap<String, Vec<Conversation>>, String> {
    raw.into_iter()
        .map(|(page, conversations)| {
            let mut keyed = conversations
                .into_iter()
                .map(|c| Ok((graph_time(&c.updated_time)?, c)))
                .collect::<Result<Vec<_>, String>>()
                .map_err(|e| format!("conversations[{page:?}]: {e}"))?;
            keyed.sort_by_key(|(time, _)| std::cmp::Reverse(*time));
            Ok((page, keyed.into_iter().map(|(_, c)| c).collect()))
        })
        .collect()
}

/// Parses a Graph time (`+0000` offsets, as Graph writes them, or RFC 3339).
fn graph_time(text: &str) -> Result<DateTime<FixedOffset>, String> {
    DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%z")
        .or_else(|_| DateTime::parse_from_rfc3339(text))
        .map_err(|_| format!("updated_time {text:?} is not a time like 2026-11-20T08:00:00+0000"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_object_gives_defaults() {
        let config = Config::from_json(b"{}", None).expect("valid");
        assert_eq!(config.latency, Duration::ZERO);
        assert_eq!(config.conversations_page_size, DEFAULT_PAGE_SIZE);
        assert!(config.faults.is_empty() && config.random_fault.is_none());
    }

    #[test]
    fn latency_flag_wins_over_file() {
        let config = Config::from_json(br#"{"latency_ms": 50}"#, Some(3)).expect("valid");
        assert_eq!(config.latency, Duration::from_millis(3));
        let config = Config::from_json(br#"{"latency_ms": 50}"#, None).expect("valid");
        assert_eq!(config.latency, Duration::from_millis(50));
    }

    #[test]
    fn parses_the_documented_example() {
        let json = br#"{
          "latency_ms": 0,
          "tokens": {"500725830264749": "tok-shop"},
          "faults": {"2560816460648749": ["graph:613", "ok"]},
          "random_fault": {"fault": "graph:2", "probability": 0.1},
          "seed": 42,
          "conversations": {"500725830264749": [
            {"id":"t_1","updated_time":"2026-11-19T08:00:00+0000","participants":[{"id":"111","name":"Lan"}],
             "messages":[{"id":"m_1","created_time":"2026-11-19T08:00:00+0000","from":{"id":"111"}}]},
            {"id":"t_2","updated_time":"2026-11-20T08:00:00+0000","snippet":"hi"}
          ]},
          "conversations_page_size": 25
        }"#;
        let config = Config::from_json(json, None).expect("valid");
        assert_eq!(config.faults["2560816460648749"].len(), 2);
        assert_eq!(config.random_fault.map(|r| r.probability), Some(0.1));
        let ids: Vec<_> = config.conversations["500725830264749"].iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["t_2", "t_1"], "newest first");
        assert_eq!(config.conversations["500725830264749"][0].extra["snippet"], "hi");
    }

    #[test]
    fn rejects_mistakes_with_a_pointer() {
        let cases: [(&[u8], &str); 6] = [
            (br#"{"fautls": {}}"#, "unknown field"),
            (br#"{"faults": {"1": ["grahp:1"]}}"#, "faults[\"1\"]"),
            (br#"{"faults": {"1": []}}"#, "empty"),
            (br#"{"random_fault": {"fault": "ok", "probability": 2}}"#, "probability"),
            (br#"{"conversations_page_size": 0}"#, "at least 1"),
            (br#"{"conversations": {"9": [{"id":"t","updated_time":"yesterday"}]}}"#, "updated_time"),
        ];
        for (json, expected) in cases {
            let error = Config::from_json(json, None).expect_err("invalid");
            assert!(error.contains(expected), "{error} should mention {expected}");
        }
    }
}
