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
    /// A scripted API outage, when configured.
    pub down: Option<Down>,
    /// Messages of `graph:` faults by `"CODE"` or `"CODE/SUBCODE"`, replacing
    /// the sandbox's own (tests put HTML, tokens or long text in them).
    pub messages: HashMap<String, String>,
    /// Conversations per page id, newest `updated_time` first.
    pub conversations: HashMap<String, Vec<Conversation>>,
    /// Default page size of `GET /{page}/conversations`.
    pub conversations_page_size: usize,
    /// Display names of pages, shown as the page participant of conversations.
    pub page_names: HashMap<String, String>,
    /// How paging links of conversations and messages are written.
    pub conversation_links: ConversationLinks,
}

/// How the sandbox writes `paging.next` links, to test what a client does
/// with links it should not follow as given.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConversationLinks {
    /// Put the request's bearer token in every link as `access_token=…`, as
    /// Graph does for callers that sent it in the query.
    #[serde(default)]
    pub access_token: bool,
    /// Write links to this origin (`http://other.example:8080`) instead of
    /// the sandbox's own.
    #[serde(default)]
    pub origin: Option<String>,
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
    down: Option<Down>,
    #[serde(default)]
    messages: HashMap<String, String>,
    #[serde(default)]
    conversations: HashMap<String, Vec<Conversation>>,
    conversations_page_size: Option<usize>,
    #[serde(default)]
    page_names: HashMap<String, String>,
    #[serde(default)]
    conversation_links: ConversationLinks,
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
            down: raw.down.map(check_down).transpose()?,
            messages: raw.messages,
            conversations: sort_conversations(raw.conversations)?,
            conversations_page_size: page_size(raw.conversations_page_size)?,
            page_names: raw.page_names,
            conversation_links: raw.conversation_links,
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

/// `"down": {"after": N, "for_ms": M}`: once the N-th API request (counted
/// from the sandbox's start) is answered, the listening socket closes, for M
/// ms or (without `for_ms`) until `Running::set_down(false)`. While it is set,
/// every API answer carries `Connection: close`, so each request opens its
/// own connection and the first one after the N-th is refused at connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Down {
    /// The request (1-based) after whose answer the outage starts.
    pub after: u64,
    /// The outage's length; `None`: until ended by hand.
    pub for_ms: Option<u64>,
}

impl Config {
    /// The configured message for a Graph error, `CODE/SUBCODE` before `CODE`.
    pub fn message_for(&self, code: u32, subcode: Option<u32>) -> Option<&str> {
        let exact = subcode.and_then(|sub| self.messages.get(&format!("{code}/{sub}")));
        exact.or_else(|| self.messages.get(&code.to_string())).map(String::as_str)
    }
}

/// Checks `down`.
fn check_down(down: Down) -> Result<Down, String> {
    if down.after == 0 {
        return Err("down.after must be at least 1 (the request after whose answer the API goes down)".to_owned());
    }
    Ok(down)
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
        assert!(!config.conversation_links.access_token && config.conversation_links.origin.is_none());
    }

    #[test]
    fn conversation_links_are_configurable() {
        let json = br#"{"conversation_links": {"access_token": true, "origin": "http://elsewhere.test:81"}}"#;
        let links = Config::from_json(json, None).expect("valid").conversation_links;
        assert!(links.access_token);
        assert_eq!(links.origin.as_deref(), Some("http://elsewhere.test:81"));
        assert!(Config::from_json(br#"{"conversation_links": {"host": "x"}}"#, None).is_err());
    }

    #[test]
    fn rejects_mistakes_with_a_pointer() {
        let cases: [(&[u8], &str); 8] = [
            (br#"{"down": {"after": 0}}"#, "down.after"),
            (br#"{"down": {"after": 1, "for": 5}}"#, "unknown field"),
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

    #[test]
    fn message_overrides_prefer_the_subcode() {
        let json = br#"{"messages": {"100": "plain", "100/7": "seven"}}"#;
        let config = Config::from_json(json, None).expect("valid");
        assert_eq!(config.message_for(100, Some(7)), Some("seven"));
        assert_eq!(config.message_for(100, Some(8)), Some("plain"));
        assert_eq!(config.message_for(100, None), Some("plain"));
        assert_eq!(config.message_for(551, None), None);
    }

    #[test]
    fn parses_an_outage() {
        let config = Config::from_json(br#"{"down": {"after": 3, "for_ms": 500}}"#, None).expect("valid");
        assert_eq!(config.down, Some(Down { after: 3, for_ms: Some(500) }));
        let config = Config::from_json(br#"{"down": {"after": 1}}"#, None).expect("valid");
        assert_eq!(config.down, Some(Down { after: 1, for_ms: None }));
    }
}
