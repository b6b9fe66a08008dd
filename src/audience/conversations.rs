//! Recipients read live from `GET /{page-id}/conversations` (SPEC §2
//! `conversations: { within: 7d }`, §4).
//!
//! Pages through the conversations newest first (cursor pagination via
//! `paging.next`) until they are older than `within`, at most 2 calls per
//! second per page as Meta limits this endpoint. A person's last interaction
//! is the newest message in the conversation that the page did not send.
//!
//! What a careful client must get right here, and this module does:
//! - **The token stays in the header.** Graph's `next` links may carry an
//!   `access_token` query parameter; it is removed before the link is
//!   followed, and a link to another origin than `PAGECAST_GRAPH_URL`'s is an
//!   error of the audience, never followed.
//! - **Throttling and transient errors are retried like a send**: a throttle
//!   pauses (Meta's `estimated_time_to_regain_access`, else 1 s, 2 s, 4 s …
//!   60 s) up to `send.max_pause` in all; a transient error backs off with
//!   jitter up to `send.max_attempts`. A GET changes nothing, so an answer
//!   lost after the request was written is retried too.
//! - **A long flow does not hide the person.** The listing shows the last
//!   few messages of each conversation; when they are all the page's own,
//!   the conversation's messages are paged until the person's last message,
//!   or until they are older than `within`.
//!
//! The waiting is behind [`Waits`], so tests check every pause without
//! sleeping through it.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use reqwest::Url;
use serde_json::Value;

use super::Recipient;
use crate::campaign::SendSettings;
use crate::send::classify::{self, Class};
use crate::send::client::{Client, Fetched};

/// Meta allows about 2 calls per second per page on this endpoint.
const CALL_INTERVAL: Duration = Duration::from_millis(500);

/// A runaway paging loop stops here (all calls of one page's audience).
const MAX_CALLS: usize = 10_000;

/// Messages asked for with each conversation of the listing.
const LISTED_MESSAGES: usize = 10;

/// Messages per call when a conversation's messages are paged.
const MESSAGES_PER_CALL: usize = 100;

/// At most this many calls page one conversation's messages.
const MAX_MESSAGE_CALLS: usize = 20;

/// Why the reader waits; tests tell the kinds apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// The 2 calls per second per page.
    Pace,
    /// A throttle answer pauses the page.
    Throttle,
    /// Backoff before retrying a transient error.
    Backoff,
}

/// Where the reader's waiting happens: the real clock in a run, a recorder
/// in tests.
pub trait Waits {
    /// Waits `duration` (for the reason `why`).
    fn wait(&self, why: Wait, duration: Duration) -> impl Future<Output = ()> + Send;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sleep;

impl Waits for Sleep {
    fn wait(&self, _why: Wait, duration: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(duration)
    }
}

/// The retry bounds of the campaign's `send:` block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Tries of one call that fails transiently (`send.max_attempts`).
    pub max_attempts: u32,
    /// Longest the listing may wait out throttling, in all (`send.max_pause`).
    pub max_pause: Duration,
}

impl From<&SendSettings> for Limits {
    fn from(send: &SendSettings) -> Self {
        Limits {
            max_attempts: send.max_attempts.max(1),
            max_pause: send.max_pause.to_std().unwrap_or(Duration::from_secs(15 * 60)),
        }
    }
}

/// Why a page's conversations could not be read: what happened, and how to
/// fix it. Displayed as `MESSAGE\n  help: HELP`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchError {
    /// What happened (may hold text from the API: redact before printing).
    pub message: String,
    /// How to fix it.
    pub help: String,
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}\n  help: {}", self.message, self.help)
    }
}

impl std::error::Error for FetchError {}

/// Fetches the recipients of `page` whose conversation was updated within
/// `within` of `now`, waiting on the real clock.
pub async fn fetch(
    client: &Client,
    page: &str,
    token: &str,
    within: TimeDelta,
    now: DateTime<Utc>,
    limits: Limits,
) -> Result<Vec<Recipient>, FetchError> {
    fetch_with(client, page, token, within, now, limits, &Sleep).await
}

/// [`fetch`] with the waiting done by `waits`.
pub async fn fetch_with(
    client: &Client,
    page: &str,
    token: &str,
    within: TimeDelta,
    now: DateTime<Utc>,
    limits: Limits,
    waits: &impl Waits,
) -> Result<Vec<Recipient>, FetchError> {
    let base = Url::parse(&client.endpoints().graph).map_err(|e| FetchError {
        message: format!("PAGECAST_GRAPH_URL {:?} is not a URL: {e}", client.endpoints().graph),
        help: "set PAGECAST_GRAPH_URL to the Graph API base, e.g. https://graph.facebook.com/v25.0".into(),
    })?;
    let mut reader = Reader {
        client,
        page,
        token,
        base,
        limits,
        waits,
        calls: 0,
        last_call: None,
        paused: Duration::ZERO,
        token_in_links: false,
    };
    // A `within` too long for the calendar reads everything.
    reader.read(now.checked_sub_signed(within).unwrap_or(DateTime::<Utc>::MIN_UTC)).await
}

/// One page's listing in progress.
struct Reader<'a, W> {
    client: &'a Client,
    page: &'a str,
    token: &'a str,
    /// `PAGECAST_GRAPH_URL`, whose origin alone is followed.
    base: Url,
    limits: Limits,
    waits: &'a W,
    /// Calls made so far.
    calls: usize,
    /// When the last call left, for the 2 calls per second.
    last_call: Option<tokio::time::Instant>,
    /// Throttle pauses so far, bounded by `max_pause`.
    paused: Duration,
    /// A link with an `access_token` was seen (warned once).
    token_in_links: bool,
}

impl<W: Waits> Reader<'_, W> {
    /// Reads every conversation updated at or after `oldest`.
    async fn read(&mut self, oldest: DateTime<Utc>) -> Result<Vec<Recipient>, FetchError> {
        let fields = format!("participants,updated_time,messages.limit({LISTED_MESSAGES}){{created_time,from}}");
        let mut url = self.edge(&[self.page, "conversations"], &[("fields", &fields), ("limit", "100")])?;
        let mut out = Vec::new();
        loop {
            let doc = self.get(&url, "the conversations listing").await?;
            let (threads, reached_older) = parse_page(&doc, self.page, oldest);
            for thread in threads {
                let last = match (thread.last, thread.more) {
                    (None, Some(more)) => self.person_last_message(more, oldest).await?,
                    (last, _) => last,
                };
                out.push(Recipient { id: thread.person, last_interaction: last, vars: Default::default() });
            }
            let next = match doc.pointer("/paging/next").and_then(Value::as_str) {
                Some(next) if !reached_older => self.follow(next)?,
                _ => return Ok(out),
            };
            if next == url {
                // A server that links a page to itself would loop for hours.
                tracing::warn!("page {}: the conversations listing links a page to itself; stopping there", self.page);
                return Ok(out);
            }
            url = next;
        }
    }

    /// Pages one conversation's messages, newest first, until the person's
    /// newest message (its time, whatever its age) or a page message older
    /// than `oldest` (`None`: no interaction within the bound).
    async fn person_last_message(
        &mut self,
        more: MoreMessages,
        oldest: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, FetchError> {
        let what = format!("the messages of conversation {}", more.conversation);
        let mut url = match &more.next {
            Some(link) => self.follow(link)?,
            None => {
                // The listed messages come again first; harmless.
                let limit = MESSAGES_PER_CALL.to_string();
                self.edge(&[&more.conversation, "messages"], &[("fields", "created_time,from"), ("limit", &limit)])?
            }
        };
        for _ in 0..MAX_MESSAGE_CALLS {
            let doc = self.get(&url, &what).await?;
            for message in doc.get("data").and_then(Value::as_array).into_iter().flatten() {
                let Some(at) = message.get("created_time").and_then(Value::as_str).and_then(parse_graph_time) else {
                    continue;
                };
                if message.pointer("/from/id").and_then(Value::as_str) != Some(self.page) {
                    return Ok(Some(at));
                }
                if at < oldest {
                    return Ok(None);
                }
            }
            match doc.pointer("/paging/next").and_then(Value::as_str) {
                Some(next) => url = self.follow(next)?,
                None => return Ok(None),
            }
        }
        tracing::warn!(
            "page {}: {what}: no message of the person in the last {} pages; treated as no interaction",
            self.page,
            MAX_MESSAGE_CALLS
        );
        Ok(None)
    }

    /// `{PAGECAST_GRAPH_URL}/{segments…}?{query}`.
    fn edge(&self, segments: &[&str], query: &[(&str, &str)]) -> Result<Url, FetchError> {
        let mut url = self.base.clone();
        {
            let mut path = url.path_segments_mut().map_err(|()| FetchError {
                message: format!("PAGECAST_GRAPH_URL {:?} cannot take a path", self.base.as_str()),
                help: "set PAGECAST_GRAPH_URL to an http(s) URL such as https://graph.facebook.com/v25.0".into(),
            })?;
            path.pop_if_empty().extend(segments);
        }
        url.query_pairs_mut().extend_pairs(query);
        Ok(url)
    }

    /// A `paging.next` link, checked: same origin as `PAGECAST_GRAPH_URL`,
    /// and without any `access_token` (the token travels in the header).
    fn follow(&mut self, link: &str) -> Result<Url, FetchError> {
        let url = Url::parse(link).map_err(|e| FetchError {
            message: format!(
                "page {}: the conversations listing gave a paging link that is not a URL ({e})",
                self.page
            ),
            help: "check PAGECAST_GRAPH_URL: it should be the Graph API (or a proxy that passes its answers through)"
                .into(),
        })?;
        if url.origin() != self.base.origin() {
            let host = url.host_str().unwrap_or("(no host)");
            return Err(FetchError {
                message: format!(
                    "page {}: the conversations listing links to another host, {host} (paging.next {}://{host}{}); \
                     pagecast follows paging only on PAGECAST_GRAPH_URL's own origin ({}), so the link was not \
                     followed and the token was not sent there",
                    self.page,
                    url.scheme(),
                    url.port().map(|p| format!(":{p}")).unwrap_or_default(),
                    self.base.origin().ascii_serialization(),
                ),
                help: format!(
                    "check PAGECAST_GRAPH_URL; a proxy in front of the Graph API must rewrite paging links to itself. \
                     Nothing was sent; the audience of page {} could not be read",
                    self.page
                ),
            });
        }
        let (url, removed) = without_access_token(url);
        if removed && !self.token_in_links {
            self.token_in_links = true;
            tracing::warn!(
                "page {}: a paging link carried an access_token; it was removed (the token goes in the Authorization header only)",
                self.page
            );
        }
        Ok(url)
    }

    /// One GET, with the retries of a send: throttles pause (bounded by
    /// `max_pause`), transient errors back off (bounded by `max_attempts`).
    async fn get(&mut self, url: &Url, what: &str) -> Result<Value, FetchError> {
        let mut attempts = 0u32;
        let mut throttles_in_row = 0u32;
        loop {
            self.pace().await?;
            let call = self.calls;
            let failure = match self.client.get_graph(url.clone(), self.token).await {
                Fetched::Answer { status, body, truncated, .. } if (200..300).contains(&status) => {
                    return self.parse(&body, truncated, what, call);
                }
                Fetched::Answer { status, usage, body, .. } => classify::graph(status, &body, usage.as_deref()),
                Fetched::Failed(transport) => classify::transport(transport),
            };
            match failure.class {
                Class::Throttle => {
                    throttles_in_row += 1;
                    let pause = classify::throttle_pause(throttles_in_row, failure.regain);
                    if self.paused + pause > self.limits.max_pause {
                        return Err(self.throttled(what, &failure));
                    }
                    self.paused += pause;
                    tracing::warn!(
                        "page {}: {what}: throttled ({}); pausing {}s",
                        self.page,
                        describe(&failure),
                        pause.as_secs_f64()
                    );
                    self.waits.wait(Wait::Throttle, pause).await;
                }
                // A GET changes nothing: an answer lost after the request
                // left is retried like one that never left.
                Class::Retry | Class::ConnectFailed | Class::Ambiguous => {
                    attempts += 1;
                    if attempts >= self.limits.max_attempts {
                        return Err(self.exhausted(what, &failure, attempts));
                    }
                    let backoff = classify::backoff(attempts, fastrand::f64());
                    tracing::warn!(
                        "page {}: {what}: {} (attempt {attempts} of {}); retrying in {}ms",
                        self.page,
                        describe(&failure),
                        self.limits.max_attempts,
                        backoff.as_millis()
                    );
                    self.waits.wait(Wait::Backoff, backoff).await;
                }
                _ => return Err(self.refused(what, &failure, call)),
            }
        }
    }

    /// Waits for the next call slot (2 calls per second) and counts the call.
    async fn pace(&mut self) -> Result<(), FetchError> {
        self.calls += 1;
        if self.calls > MAX_CALLS {
            return Err(FetchError {
                message: format!("page {}: more than {MAX_CALLS} calls reading conversations", self.page),
                help: "narrow `within` of the conversations audience".into(),
            });
        }
        let now = tokio::time::Instant::now();
        if let Some(wait) = self.last_call.map(|last| (last + CALL_INTERVAL).saturating_duration_since(now))
            && !wait.is_zero()
        {
            self.waits.wait(Wait::Pace, wait).await;
        }
        self.last_call = Some(tokio::time::Instant::now());
        Ok(())
    }

    /// A 2xx body as JSON.
    fn parse(&self, body: &[u8], truncated: bool, what: &str, call: usize) -> Result<Value, FetchError> {
        let cut = if truncated { " (cut at 8 MiB)" } else { "" };
        serde_json::from_slice(body).map_err(|_| FetchError {
            message: format!("page {}: {what}: call {call} answered with a body that is not JSON{cut}", self.page),
            help: "check PAGECAST_GRAPH_URL: it should be the Graph API (or a proxy that passes its answers through)"
                .into(),
        })
    }

    fn throttled(&self, what: &str, failure: &classify::Answer) -> FetchError {
        FetchError {
            message: format!(
                "page {}: {what}: Graph throttled the calls ({}) for longer than send.max_pause ({}s)",
                self.page,
                describe(failure),
                self.limits.max_pause.as_secs()
            ),
            help: "run again later (Meta's estimate is in the X-Business-Use-Case-Usage header), or raise \
                   send.max_pause; nothing was sent"
                .into(),
        }
    }

    fn exhausted(&self, what: &str, failure: &classify::Answer, attempts: u32) -> FetchError {
        FetchError {
            message: format!("page {}: {what}: gave up after {attempts} attempts: {}", self.page, describe(failure)),
            help: format!(
                "a transient error of the Graph API or the network ({}); run again later, or raise \
                 send.max_attempts; nothing was sent",
                self.base.host_str().unwrap_or("PAGECAST_GRAPH_URL")
            ),
        }
    }

    fn refused(&self, what: &str, failure: &classify::Answer, call: usize) -> FetchError {
        let help = match failure.code {
            Some(190 | 102) => "check the page token (the page's token_env variable): Graph refused it".to_string(),
            Some(10 | 200) => {
                "the page token lacks a permission this read needs (pages_messaging, pages_read_engagement)".into()
            }
            _ => format!(
                "Graph refused call {call} of reading page {}'s conversations; check the page id and \
                 PAGECAST_GRAPH_URL; nothing was sent",
                self.page
            ),
        };
        FetchError { message: format!("page {}: {what}: {}", self.page, describe(failure)), help }
    }
}

/// An error answer in words: `Graph error 613: (#613) …` or the HTTP status.
fn describe(failure: &classify::Answer) -> String {
    let message = failure.message.as_deref().unwrap_or("no message");
    let message: String = message.chars().take(300).collect();
    match (failure.code, failure.subcode) {
        (Some(code), Some(sub)) => format!("Graph error {code}/{sub}: {message}"),
        (Some(code), None) => format!("Graph error {code}: {message}"),
        _ => message,
    }
}

/// The URL without any `access_token` query parameter, and whether it had one.
pub fn without_access_token(mut url: Url) -> (Url, bool) {
    let Some(query) = url.query() else {
        return (url, false);
    };
    let is_token = |part: &&str| {
        let key = part.split('=').next().unwrap_or_default();
        key.replace("%5F", "_").replace("%5f", "_").eq_ignore_ascii_case("access_token")
    };
    if !query.split('&').any(|part| is_token(&part)) {
        return (url, false);
    }
    let kept: Vec<&str> = query.split('&').filter(|part| !part.is_empty() && !is_token(part)).collect();
    let kept = kept.join("&");
    url.set_query((!kept.is_empty()).then_some(kept.as_str()));
    (url, true)
}

/// One conversation of a listing page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thread {
    /// The person (the participant that is not the page).
    pub person: String,
    /// The newest message of the person among those listed.
    pub last: Option<DateTime<Utc>>,
    /// Where the older messages are, when every listed one was the page's
    /// and they did not yet reach back past `within`.
    pub more: Option<MoreMessages>,
}

/// How to read further back in one conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoreMessages {
    /// The conversation id (`t_…`).
    pub conversation: String,
    /// The nested edge's `paging.next`; `None` when Graph gave no paging
    /// at all, and the conversation's `messages` edge is read from the start.
    pub next: Option<String>,
}

/// The conversations of one page of results, and whether it reached
/// conversations older than `oldest` (then paging stops).
pub fn parse_page(doc: &Value, page: &str, oldest: DateTime<Utc>) -> (Vec<Thread>, bool) {
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
        let messages: Vec<&Value> =
            conv.pointer("/messages/data").and_then(Value::as_array).into_iter().flatten().collect();
        let time = |m: &Value| m.get("created_time").and_then(Value::as_str).and_then(parse_graph_time);
        let last = messages
            .iter()
            .filter(|m| m.pointer("/from/id").and_then(Value::as_str) != Some(page))
            .filter_map(|m| time(m))
            .max();
        let reaches_back = messages.iter().filter_map(|m| time(m)).any(|t| t < oldest);
        let more = if last.is_none() && !reaches_back { more_messages(conv, messages.len()) } else { None };
        out.push(Thread { person: person.to_string(), last, more });
    }
    (out, reached_older)
}

/// Where a conversation's older messages are: the nested edge's paging, or
/// (when Graph gave none but the listed messages filled the limit) the
/// conversation's own `messages` edge.
fn more_messages(conv: &Value, listed: usize) -> Option<MoreMessages> {
    let conversation = conv.get("id").and_then(Value::as_str).filter(|id| valid_conversation_id(id))?;
    let next = conv.pointer("/messages/paging/next").and_then(Value::as_str).map(String::from);
    // Paging without `next` is Graph saying there is nothing older.
    let unpaged_and_full = conv.pointer("/messages/paging").is_none() && listed >= LISTED_MESSAGES;
    (next.is_some() || unpaged_and_full).then(|| MoreMessages { conversation: conversation.to_string(), next })
}

/// Conversation ids look like `t_123…`; anything else is not put in a path.
fn valid_conversation_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-:.".contains(&b))
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

    fn at(text: &str) -> DateTime<Utc> {
        parse_graph_time(text).expect("test time")
    }

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
        let (rows, older) = parse_page(&doc, "500", at("2026-11-15T00:00:00+0000"));
        assert!(older);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].person, "111");
        assert_eq!(rows[0].last, Some(at("2026-11-21T09:00:00Z")));
        assert_eq!(rows[0].more, None);
    }

    #[test]
    fn only_page_messages_without_more_means_no_interaction() {
        let doc = json!({"data": [{"id": "t_1", "updated_time": "2026-11-21T10:00:00+0000",
            "participants": {"data": [{"id": "111"}, {"id": "500"}]},
            "messages": {"data": [{"created_time": "2026-11-21T10:00:00+0000", "from": {"id": "500"}}]}}]});
        let (rows, _) = parse_page(&doc, "500", DateTime::<Utc>::MIN_UTC);
        assert_eq!((rows[0].last, &rows[0].more), (None, &None));
    }

    fn page_only_thread(messages: usize, paging: Option<Value>) -> Value {
        let data: Vec<Value> = (0..messages)
            .map(|i| json!({"created_time": format!("2026-11-21T10:{:02}:00+0000", 59 - i), "from": {"id": "500"}}))
            .collect();
        let mut edge = json!({ "data": data });
        if let Some(paging) = paging {
            edge["paging"] = paging;
        }
        json!({"data": [{"id": "t_9", "updated_time": "2026-11-21T10:59:00+0000",
            "participants": {"data": [{"id": "111"}, {"id": "500"}]}, "messages": edge}]})
    }

    #[test]
    fn a_page_only_thread_says_where_older_messages_are() {
        let oldest = at("2026-11-15T00:00:00Z");
        let next = "http://g/t_9/messages?after=x";
        let doc = page_only_thread(10, Some(json!({"cursors": {"after": "x"}, "next": next})));
        let (rows, _) = parse_page(&doc, "500", oldest);
        assert_eq!(rows[0].more, Some(MoreMessages { conversation: "t_9".into(), next: Some(next.into()) }));
        // No paging at all but a full list: the conversation's own edge.
        let (rows, _) = parse_page(&page_only_thread(10, None), "500", oldest);
        assert_eq!(rows[0].more, Some(MoreMessages { conversation: "t_9".into(), next: None }));
        // Paging without `next`, or a short list: nothing older.
        let (rows, _) = parse_page(&page_only_thread(10, Some(json!({"cursors": {}}))), "500", oldest);
        assert_eq!(rows[0].more, None);
        let (rows, _) = parse_page(&page_only_thread(3, None), "500", oldest);
        assert_eq!(rows[0].more, None);
        // Listed messages already older than `within`: no need to look further.
        let (rows, _) = parse_page(&page_only_thread(10, None), "500", at("2026-11-21T10:55:00Z"));
        assert_eq!(rows[0].more, None);
    }

    #[test]
    fn access_tokens_are_removed_from_links() {
        let url = |s: &str| Url::parse(s).expect("test url");
        let (u, removed) =
            without_access_token(url("http://h/v1/5/conversations?access_token=EAAx&limit=100&after=c1"));
        assert!(removed);
        assert_eq!(u.as_str(), "http://h/v1/5/conversations?limit=100&after=c1");
        let (u, removed) = without_access_token(url("http://h/x?limit=1&ACCESS%5Ftoken=a&access_token=b"));
        assert!(removed);
        assert_eq!(u.as_str(), "http://h/x?limit=1");
        let (u, removed) = without_access_token(url("http://h/x?access_token=a"));
        assert_eq!((u.as_str(), removed), ("http://h/x", true));
        let (u, removed) = without_access_token(url("http://h/x?fields=a%2Cb&limit=2"));
        assert_eq!((u.as_str(), removed), ("http://h/x?fields=a%2Cb&limit=2", false));
    }

    #[test]
    fn errors_print_their_help() {
        let e = FetchError { message: "m".into(), help: "h".into() };
        assert_eq!(e.to_string(), "m\n  help: h");
    }
}
