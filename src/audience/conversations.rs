//! Recipients read live from `GET /{page-id}/conversations`.
//!
//! Pages through the conversations newest first (cursor pagination via
//! `paging.next`) until they are older than `within`, at most 2 calls per
//! second per page as Meta limits this endpoint. A person's last interaction
//! is the newest message in the conversation that the page did not send.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;

use super::Recipient;
use crate::send::client::Client;

/// Meta allows about 2 calls per second per page on this endpoint.
const CALL_INTERVAL: Duration = Duration::from_millis(500);

/// A runaway paging loop stops here.
const MAX_CALLS: usize = 10_000;

/// Fetches the recipients of `page` whose conversation was updated within `within` of `now`.
pub async fn fetch(
    client: &Client,
    page: &str,
    token: &str,
    within: TimeDelta,
    now: DateTime<Utc>,
) -> Result<Vec<Recipient>, String> {
    let fields = "participants,updated_time,messages.limit(10){created_time,from}";
    let mut url = Some(format!("{}/{page}/conversations?fields={fields}&limit=100", client.endpoints().graph));
    let oldest = now - within;
    let mut out = Vec::new();
    let mut calls = 0;
    let mut next_call = tokio::time::Instant::now();
    while let Some(u) = url.take() {
        calls += 1;
        if calls > MAX_CALLS {
            return Err(format!("more than {MAX_CALLS} pages of conversations; narrow `within`"));
        }
        tokio::time::sleep_until(next_call).await;
        next_call = tokio::time::Instant::now() + CALL_INTERVAL;
        let doc = client.get_json(&u, token).await.map_err(|e| format!("GET conversations of page {page}: {e}"))?;
        let (rows, reached_older) = parse_page(&doc, page, oldest);
        out.extend(rows);
        if !reached_older {
            url = doc.pointer("/paging/next").and_then(Value::as_str).map(String::from);
        }
    }
    Ok(out)
}

/// The recipients of one page of results, and whether it reached
/// conversations older than `oldest` (then paging stops).
pub fn parse_page(doc: &Value, page: &str, oldest: DateTime<Utc>) -> (Vec<Recipient>, bool) {
    let mut out = Vec::new();
    let mut reached_older = false;
    for conv in doc.get("data").and_then(Value::as_array).into_iter().flatten() {
        let updated = conv.get("updated_time").and_then(Value::as_str).and_then(parse_graph_time);
        if updated.is_some_and(|t| t < oldest) {
            reached_older = true;
            continue;
        }
        let person = conv
            .pointer("/participants/data")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| p.get("id").and_then(Value::as_str))
            .find(|id| *id != page);
        let Some(person) = person else { continue };
        let last = conv
            .pointer("/messages/data")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|m| m.pointer("/from/id").and_then(Value::as_str) != Some(page))
            .filter_map(|m| m.get("created_time").and_then(Value::as_str).and_then(parse_graph_time))
            .max();
        out.push(Recipient { id: person.to_string(), last_interaction: last, vars: Default::default() });
    }
    (out, reached_older)
}

/// Graph writes `2026-11-20T08:00:00+0000`; RFC 3339 is accepted too.
pub fn parse_graph_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%z")
        .or_else(|_| DateTime::parse_from_rfc3339(text))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn last_interaction_is_the_newest_message_not_from_the_page() {
        let doc = json!({"data": [
            {"id": "t_1", "updated_time": "2026-11-21T10:00:00+0000",
             "participants": {"data": [{"id": "111"}, {"id": "500"}]},
             "messages": {"data": [
                {"created_time": "2026-11-21T10:00:00+0000", "from": {"id": "500"}},
                {"created_time": "2026-11-21T09:00:00+0000", "from": {"id": "111"}},
                {"created_time": "2026-11-20T09:00:00+0000", "from": {"id": "111"}}]}},
            {"id": "t_2", "updated_time": "2026-11-01T10:00:00+0000",
             "participants": {"data": [{"id": "222"}, {"id": "500"}]}, "messages": {"data": []}}
        ]});
        let oldest = parse_graph_time("2026-11-15T00:00:00+0000").unwrap();
        let (rows, older) = parse_page(&doc, "500", oldest);
        assert!(older);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].id, "111");
        assert_eq!(rows[0].last_interaction, parse_graph_time("2026-11-21T09:00:00Z"));
    }

    #[test]
    fn only_page_messages_means_no_interaction() {
        let doc = json!({"data": [{"updated_time": "2026-11-21T10:00:00+0000",
            "participants": {"data": [{"id": "111"}, {"id": "500"}]},
            "messages": {"data": [{"created_time": "2026-11-21T10:00:00+0000", "from": {"id": "500"}}]}}]});
        let (rows, _) = parse_page(&doc, "500", DateTime::<Utc>::MIN_UTC);
        assert_eq!(rows[0].last_interaction, None);
    }
}
