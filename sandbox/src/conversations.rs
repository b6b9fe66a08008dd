//! `GET /{page}/conversations`: Graph's cursor paging over configured data.
//!
//! pagecast builds audiences from this edge (`conversations: {within: 7d}`),
//! so the sandbox reproduces what a client must get right: `limit`, opaque
//! `after` cursors, a `next` link that repeats the query, no `next` on the
//! last page, the `{data: [...]}` wrappers around edges, and `fields`
//! selecting the top-level fields (with `.limit(N)` on edges).
//!
//! A conversation's `messages` edge, cut by its limit, carries its own
//! `paging.next` to `GET /{conversation-id}/messages`, which pages the
//! configured messages the same way: a client that only reads the listed
//! few misses the person behind a long flow of page messages. Links may be
//! written with the caller's `access_token` or to another origin
//! (`conversation_links` in the config), as a client must not follow them
//! as given. Everything here is pure; the handler supplies the links' base.

use std::collections::HashMap;
use std::ops::Range;

use serde_json::{Map, Value, json};

use crate::config::{Config, Conversation};

/// Name given to the page participant when `page_names` does not say.
const DEFAULT_PAGE_NAME: &str = "Sandbox Page";

/// The paging part of a conversations request, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageQuery {
    /// Conversations per page.
    pub limit: usize,
    /// Index of the last conversation already seen (from the `after` cursor).
    pub after: Option<usize>,
    /// Requested top-level fields; `None` when `fields` is absent (all fields).
    pub fields: Option<Vec<Field>>,
}

/// One top-level entry of `fields`, e.g. `messages.limit(1){from}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Field name, e.g. `messages`.
    pub name: String,
    /// `.limit(N)` on an edge, if given.
    pub limit: Option<usize>,
    /// The nested fields in `{...}`, if given, e.g. `from,created_time`.
    pub nested: Option<String>,
}

impl PageQuery {
    /// Reads `limit`, `after` and `fields` from decoded query parameters.
    pub fn from_params(params: &HashMap<String, String>, default_limit: usize) -> Result<Self, String> {
        let limit = match params.get("limit") {
            None => default_limit,
            Some(text) => match text.parse() {
                Ok(limit) if limit > 0 => limit,
                _ => return Err(format!("(#100) limit must be a positive integer, got {text:?}")),
            },
        };
        let after = match params.get("after") {
            None => None,
            Some(cursor) => Some(decode_cursor(cursor).ok_or("(#100) Invalid cursor")?),
        };
        let fields = params.get("fields").map(|spec| parse_fields(spec));
        Ok(Self { limit, after, fields })
    }
}

/// Splits a `fields` value at its top-level commas (nested `{...}` and
/// `(...)` may hold commas of their own).
pub fn parse_fields(spec: &str) -> Vec<Field> {
    let mut fields = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, ch) in spec.char_indices() {
        match ch {
            '{' | '(' => depth += 1,
            '}' | ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                fields.extend(parse_field(&spec[start..i]));
                start = i + 1;
            }
            _ => {}
        }
    }
    fields.extend(parse_field(&spec[start..]));
    fields
}

/// Parses one top-level field: its name and an optional `.limit(N)`.
fn parse_field(text: &str) -> Option<Field> {
    let text = text.trim();
    let name_end = text.find(['.', '{', '(']).unwrap_or(text.len());
    let name = &text[..name_end];
    if name.is_empty() {
        return None;
    }
    let limit = text[name_end..]
        .strip_prefix(".limit(")
        .and_then(|rest| rest.split_once(')'))
        .and_then(|(n, _)| n.trim().parse().ok());
    let nested = text.find('{').zip(text.rfind('}')).filter(|(a, b)| a < b).map(|(a, b)| text[a + 1..b].to_owned());
    Some(Field { name: name.to_owned(), limit, nested })
}

/// The opaque cursor naming the conversation at `index`.
pub fn cursor(index: usize) -> String {
    format!("c{index}")
}

/// The index a cursor names, if it is one of ours.
pub fn decode_cursor(cursor: &str) -> Option<usize> {
    cursor.strip_prefix('c')?.parse().ok()
}

/// The indices of the page that follows `after`, at most `limit` long.
pub fn window(total: usize, after: Option<usize>, limit: usize) -> Range<usize> {
    let start = after.map_or(0, |i| i.saturating_add(1)).min(total);
    start..start.saturating_add(limit).min(total)
}

/// The raw query with `after` (and `before`) replaced by `after=CURSOR`,
/// every other parameter kept byte for byte, as Graph's `next` does.
pub fn next_query(raw_query: &str, after: &str) -> String {
    let mut parts: Vec<&str> = raw_query
        .split('&')
        .filter(|part| {
            let key = part.split('=').next().unwrap_or_default();
            !part.is_empty() && key != "after" && key != "before"
        })
        .collect();
    let after = format!("after={after}");
    parts.push(&after);
    parts.join("&")
}

/// How absolute paging links are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Links<'a> {
    /// `http://HOST:PORT` of the sandbox, or the configured other origin.
    pub origin: &'a str,
    /// The path before `/{id}/{edge}`: a version prefix such as `/v25.0`, or empty.
    pub prefix: &'a str,
    /// The raw query of the request being answered.
    pub raw_query: &'a str,
    /// Written into every link as `access_token=…` when set.
    pub token: Option<&'a str>,
}

impl Links<'_> {
    /// `{origin}{prefix}/{id}/{edge}?[access_token=…&]{query}`.
    fn link(&self, id: &str, edge: &str, query: &str) -> String {
        let token = self.token.map(|t| format!("access_token={t}&")).unwrap_or_default();
        format!("{}{}/{id}/{edge}?{token}{query}", self.origin, self.prefix)
    }
}

/// The path prefix of a request for `/{id}/{edge}` (e.g. `/v25.0`).
pub fn path_prefix<'a>(path: &'a str, id: &str, edge: &str) -> &'a str {
    let path = path.trim_end_matches('/');
    path.strip_suffix(&format!("/{id}/{edge}")).unwrap_or("")
}

/// Builds the answer to a conversations request.
pub fn render_page(config: &Config, page_id: &str, query: &PageQuery, links: &Links<'_>) -> Value {
    let all = config.conversations.get(page_id).map_or(&[][..], Vec::as_slice);
    let range = window(all.len(), query.after, query.limit);
    if range.is_empty() {
        return json!({ "data": [] });
    }
    let page =
        Participant { id: page_id, name: config.page_names.get(page_id).map_or(DEFAULT_PAGE_NAME, String::as_str) };
    let data: Vec<Value> =
        all[range.clone()].iter().map(|c| render_conversation(c, &page, query.fields.as_deref(), links)).collect();
    let next = (range.end < all.len())
        .then(|| links.link(page_id, "conversations", &next_query(links.raw_query, &cursor(range.end - 1))));
    json!({ "data": data, "paging": paging(&range, next) })
}

/// Builds the answer to `GET /{conversation-id}/messages`: its messages,
/// newest first, paged like the listing; `None` for an unknown conversation.
pub fn render_messages(config: &Config, conversation_id: &str, query: &PageQuery, links: &Links<'_>) -> Option<Value> {
    let conversation = find(config, conversation_id)?;
    let all = &conversation.messages;
    let range = window(all.len(), query.after, query.limit);
    if range.is_empty() {
        return Some(json!({ "data": [] }));
    }
    let next = (range.end < all.len())
        .then(|| links.link(conversation_id, "messages", &next_query(links.raw_query, &cursor(range.end - 1))));
    Some(json!({ "data": &all[range.clone()], "paging": paging(&range, next) }))
}

/// The page that holds a conversation, for its token and its faults.
pub fn owner<'c>(config: &'c Config, conversation_id: &str) -> Option<&'c str> {
    config
        .conversations
        .iter()
        .find(|(_, list)| list.iter().any(|c| c.id == conversation_id))
        .map(|(page, _)| page.as_str())
}

/// A configured conversation by id.
fn find<'c>(config: &'c Config, conversation_id: &str) -> Option<&'c Conversation> {
    config.conversations.values().flatten().find(|c| c.id == conversation_id)
}

/// Graph's `paging` object for the items of `range`.
fn paging(range: &Range<usize>, next: Option<String>) -> Value {
    let mut paging = json!({ "cursors": { "before": cursor(range.start), "after": cursor(range.end - 1) } });
    if let Some(next) = next {
        paging["next"] = Value::String(next);
    }
    paging
}

/// The page itself, as it appears among a conversation's participants.
struct Participant<'a> {
    id: &'a str,
    name: &'a str,
}

/// One conversation as Graph shows it, limited to the requested fields.
fn render_conversation(c: &Conversation, page: &Participant<'_>, fields: Option<&[Field]>, links: &Links<'_>) -> Value {
    // `None`: not requested; `Some(limit)`: requested, with an optional edge limit.
    let wanted = |name: &str| match fields {
        None => Some(None),
        Some(fields) => fields.iter().find(|f| f.name == name).map(|f| f.limit),
    };
    let nested = |name: &str| fields.and_then(|f| f.iter().find(|f| f.name == name)).and_then(|f| f.nested.clone());
    let mut out = Map::new();
    out.insert("id".into(), Value::String(c.id.clone()));
    if wanted("updated_time").is_some() {
        out.insert("updated_time".into(), Value::String(c.updated_time.clone()));
    }
    if let Some(limit) = wanted("participants") {
        out.insert("participants".into(), edge(&with_page(&c.participants, page), limit));
    }
    if let Some(limit) = wanted("messages") {
        let mut messages = edge(&c.messages, limit);
        let shown = limit.unwrap_or(usize::MAX).min(c.messages.len());
        if shown > 0 {
            // The nested edge links to the conversation's own `messages` edge.
            let fields = nested("messages").map(|f| format!("fields={f}&")).unwrap_or_default();
            let next = (shown < c.messages.len())
                .then(|| links.link(&c.id, "messages", &format!("{fields}limit={shown}&after={}", cursor(shown - 1))));
            messages["paging"] = paging(&(0..shown), next);
        }
        out.insert("messages".into(), messages);
    }
    for (name, value) in &c.extra {
        if wanted(name).is_some() {
            out.insert(name.clone(), value.clone());
        }
    }
    Value::Object(out)
}

/// The participants with the page appended, unless the config lists it.
fn with_page(participants: &[Value], page: &Participant<'_>) -> Vec<Value> {
    let mut all = participants.to_vec();
    if !participants.iter().any(|p| p["id"] == page.id) {
        all.push(json!({ "id": page.id, "name": page.name }));
    }
    all
}

/// An edge in Graph's `{data: [...]}` wrapper, cut to `limit` items.
fn edge(items: &[Value], limit: Option<usize>) -> Value {
    let items = &items[..limit.unwrap_or(usize::MAX).min(items.len())];
    json!({ "data": items })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_with(count: usize) -> Config {
        let conversations: Vec<Value> = (0..count)
            .map(|i| {
                json!({
                    "id": format!("t_{i}"),
                    "updated_time": format!("2026-11-{:02}T08:00:00+0000", 28 - i),
                    "participants": [{"id": format!("psid{i}"), "name": "Lan"}],
                    "messages": [{"id": "m_2"}, {"id": "m_1"}],
                    "snippet": "hello"
                })
            })
            .collect();
        let json = json!({ "conversations": { "500": conversations }, "page_names": {"500": "Shop"} });
        Config::from_json(json.to_string().as_bytes(), None).expect("valid config")
    }

    fn links(raw_query: &str) -> Links<'_> {
        Links { origin: "http://h", prefix: "/v9", raw_query, token: None }
    }

    fn query(limit: usize, after: Option<usize>, fields: Option<&str>) -> PageQuery {
        PageQuery { limit, after, fields: fields.map(parse_fields) }
    }

    #[test]
    fn windows_walk_to_the_end() {
        assert_eq!(window(5, None, 2), 0..2);
        assert_eq!(window(5, Some(1), 2), 2..4);
        assert_eq!(window(5, Some(3), 2), 4..5);
        assert_eq!(window(5, Some(4), 2), 5..5);
        assert_eq!(window(5, Some(usize::MAX), 2), 5..5);
        assert_eq!(window(0, None, 25), 0..0);
    }

    #[test]
    fn cursors_round_trip_and_reject_strangers() {
        assert_eq!(decode_cursor(&cursor(17)), Some(17));
        assert_eq!(decode_cursor("QVFIU"), None);
        assert_eq!(decode_cursor("c"), None);
    }

    #[test]
    fn fields_split_at_top_level_commas() {
        let fields = parse_fields("participants,updated_time,messages.limit(1){from,created_time}");
        let names: Vec<_> = fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["participants", "updated_time", "messages"]);
        assert_eq!(fields[2].limit, Some(1));
        assert_eq!(fields[0].limit, None);
        assert!(parse_fields("").is_empty());
    }

    #[test]
    fn next_query_replaces_only_the_cursor() {
        assert_eq!(next_query("fields=a%2Cb&limit=2&after=c1", "c3"), "fields=a%2Cb&limit=2&after=c3");
        assert_eq!(next_query("", "c0"), "after=c0");
        assert_eq!(next_query("before=c2&limit=1", "c0"), "limit=1&after=c0");
    }

    #[test]
    fn query_params_are_checked() {
        let params = |pairs: &[(&str, &str)]| {
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<HashMap<_, _>>()
        };
        let q = PageQuery::from_params(&params(&[("limit", "3"), ("after", "c4")]), 25);
        assert_eq!(q, Ok(query(3, Some(4), None)));
        assert_eq!(PageQuery::from_params(&params(&[]), 25).map(|q| q.limit), Ok(25));
        assert!(PageQuery::from_params(&params(&[("limit", "0")]), 25).is_err());
        assert!(PageQuery::from_params(&params(&[("after", "zzz")]), 25).is_err());
    }

    #[test]
    fn pages_link_forward_until_the_last() {
        let config = config_with(3);
        let link = links("");
        let first = render_page(&config, "500", &query(2, None, None), &link);
        assert_eq!(first["data"][0]["id"], "t_0");
        assert_eq!(first["data"][1]["id"], "t_1");
        assert_eq!(first["paging"]["cursors"]["after"], "c1");
        assert_eq!(first["paging"]["next"], "http://h/v9/500/conversations?after=c1");
        let last = render_page(&config, "500", &query(2, Some(1), None), &link);
        assert_eq!(last["data"].as_array().map(Vec::len), Some(1));
        assert_eq!(last["data"][0]["updated_time"], "2026-11-26T08:00:00+0000");
        assert!(last["paging"].get("next").is_none());
        let unknown = render_page(&config, "999", &query(2, None, None), &link);
        assert_eq!(unknown, json!({ "data": [] }));
    }

    #[test]
    fn conversations_show_graph_wrappers_and_requested_fields() {
        let config = config_with(1);
        let page = render_page(&config, "500", &query(5, None, None), &links(""));
        let c = &page["data"][0];
        assert_eq!(c["participants"]["data"][1], json!({"id": "500", "name": "Shop"}));
        assert_eq!(c["messages"]["data"].as_array().map(Vec::len), Some(2));
        assert_eq!(c["snippet"], "hello");

        let fields = Some("participants,messages.limit(1){from}");
        let page = render_page(&config, "500", &query(5, None, fields), &links(""));
        let c = &page["data"][0];
        assert_eq!(c["messages"]["data"], json!([{"id": "m_2"}]));
        assert!(c.get("updated_time").is_none());
        assert!(c.get("snippet").is_none());
        assert_eq!(c["id"], "t_0");
    }

    #[test]
    fn cut_message_edges_link_to_the_conversation_messages() {
        let config = config_with(1);
        let fields = Some("participants,messages.limit(1){from,created_time}");
        let page = render_page(&config, "500", &query(5, None, fields), &links(""));
        let messages = &page["data"][0]["messages"];
        assert_eq!(messages["paging"]["next"], "http://h/v9/t_0/messages?fields=from,created_time&limit=1&after=c0");
        // Not cut: cursors, no next.
        let page = render_page(&config, "500", &query(5, None, Some("messages.limit(2)")), &links(""));
        assert!(page["data"][0]["messages"]["paging"].get("next").is_none());

        let q = query(1, Some(0), None);
        let rest = render_messages(&config, "t_0", &q, &links("fields=from&limit=1&after=c0")).expect("known");
        assert_eq!(rest["data"], json!([{"id": "m_1"}]));
        assert!(rest["paging"].get("next").is_none());
        let first = render_messages(&config, "t_0", &query(1, None, None), &links("limit=1")).expect("known");
        assert_eq!(first["paging"]["next"], "http://h/v9/t_0/messages?limit=1&after=c0");
        assert!(render_messages(&config, "t_404", &q, &links("")).is_none());
        assert_eq!(owner(&config, "t_0"), Some("500"));
    }

    #[test]
    fn links_can_carry_the_token_or_go_elsewhere() {
        let config = config_with(3);
        let link = Links { origin: "http://elsewhere.test:81", prefix: "", raw_query: "limit=1", token: Some("tok") };
        let page = render_page(&config, "500", &query(1, None, None), &link);
        assert_eq!(
            page["paging"]["next"],
            "http://elsewhere.test:81/500/conversations?access_token=tok&limit=1&after=c0"
        );
    }

    #[test]
    fn path_prefixes() {
        assert_eq!(path_prefix("/v25.0/500/conversations", "500", "conversations"), "/v25.0");
        assert_eq!(path_prefix("/t_1/messages/", "t_1", "messages"), "");
    }
}
