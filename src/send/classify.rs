//! "What does this answer mean?" as a pure function (SPEC §4).
//!
//! The Send API has no idempotency key, so the classes are about delivery:
//! retry only what surely was not delivered, record as `unknown` what may
//! have been, pause the whole page on throttling, stop the page on what
//! would fail for every recipient.

use std::time::Duration;

use serde_json::Value;

use crate::vocab::Doubt;

/// What to do after one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Delivered.
    Sent,
    /// Surely not delivered and worth another try (backoff, `max_attempts`).
    Retry,
    /// The connection failed before the request was written: surely not
    /// delivered; retried like [`Class::Retry`], and ten in a row on one page
    /// mean the API is unreachable.
    ConnectFailed,
    /// May have been delivered: recorded `unknown`, not retried by default.
    Ambiguous,
    /// Rate limited: pause the whole page, then retry (not an attempt).
    Throttle,
    /// An answer about this person (blocked, unavailable…): failed, go on;
    /// never counts towards a streak.
    RecipientFailed,
    /// The person is busy (a flow still running): not attempted, try later.
    TryLater,
    /// Would fail for every recipient: stop the page.
    Fatal,
    /// Any other error (and 100 without subcode): failed, but a streak of
    /// them on one page shows an error of the page (SPEC §4).
    OtherFailure,
}

/// One classified answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The class.
    pub class: Class,
    /// Graph error code (or a numeric Harasocial code).
    pub code: Option<i64>,
    /// Graph error subcode.
    pub subcode: Option<i64>,
    /// The API's message or a description of the transport failure.
    pub message: Option<String>,
    /// The message id on success.
    pub message_id: Option<String>,
    /// How long Meta asks the page to wait (`estimated_time_to_regain_access`).
    pub regain: Option<Duration>,
    /// For an ambiguous answer: why delivery is in doubt.
    pub doubt: Option<Doubt>,
}

impl Answer {
    fn new(class: Class) -> Self {
        Answer { class, code: None, subcode: None, message: None, message_id: None, regain: None, doubt: None }
    }

    fn ambiguous(doubt: Doubt) -> Self {
        Answer { doubt: Some(doubt), ..Answer::new(Class::Ambiguous) }
    }

    fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }
}

/// Transport failures, by whether the request may have reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// The connection failed before the request was written.
    Connect,
    /// No answer in time after the request was written.
    Timeout,
    /// The connection broke after the request was written.
    Broken,
}

/// Classifies a transport failure.
pub fn transport(t: Transport) -> Answer {
    match t {
        Transport::Connect => {
            Answer::new(Class::ConnectFailed).with_message("connection failed before the request was sent")
        }
        Transport::Timeout => Answer::ambiguous(Doubt::Timeout).with_message("timeout after the request was sent"),
        Transport::Broken => {
            Answer::ambiguous(Doubt::ConnectionBroken).with_message("connection closed after the request was sent")
        }
    }
}

const RECIPIENT_FAILED: &[(i64, Option<i64>)] = &[
    (200, Some(1545041)),
    (10, Some(2018108)),
    (10, Some(2018278)),
    (10, Some(2534022)),
    (10, Some(2018065)),
    (100, Some(2018001)),
    (10, Some(1893015)),
];

/// Codes (or subcodes) that fail one recipient whatever they come with.
const RECIPIENT_FAILED_ANY: &[i64] = &[551, 2018300];

/// The person is busy: a code or subcode (SPEC §4 "try later").
const TRY_LATER_ANY: &[i64] = &[2018321];

/// `None` as subcode means "without a subcode".
const FATAL: &[(i64, Option<i64>)] = &[
    (1, Some(99)),
    (10, None),
    (200, None),
    (200, Some(2018028)),
    (10, Some(1893063)),
    (613, Some(2018338)),
    (100, Some(2018109)),
    (100, Some(2018047)),
    (100, Some(2018008)),
    (100, Some(2018294)),
    (100, Some(2018074)),
];

/// Fatal whatever the subcode.
const FATAL_ANY: &[i64] = &[190, 102, 3, 368, 2022];

const THROTTLE: &[i64] = &[4, 17, 32, 613, 80006];

const RETRY: &[i64] = &[1, 2, 1200];

/// The class of a Graph error code/subcode (SPEC §4's table, in its order).
pub fn graph_error_class(code: i64, subcode: Option<i64>, is_transient: bool) -> Class {
    let pair = (code, subcode);
    if FATAL.contains(&pair) || FATAL_ANY.contains(&code) {
        return Class::Fatal;
    }
    if THROTTLE.contains(&code) {
        return Class::Throttle;
    }
    if pair == (1, Some(1357046)) {
        return Class::Ambiguous;
    }
    if TRY_LATER_ANY.contains(&code) || subcode.is_some_and(|s| TRY_LATER_ANY.contains(&s)) {
        return Class::TryLater;
    }
    if RECIPIENT_FAILED.contains(&pair)
        || RECIPIENT_FAILED_ANY.contains(&code)
        || subcode.is_some_and(|s| RECIPIENT_FAILED_ANY.contains(&s))
    {
        return Class::RecipientFailed;
    }
    if RETRY.contains(&code) || is_transient {
        return Class::Retry;
    }
    Class::OtherFailure
}

/// Classifies a Graph Send API answer.
pub fn graph(status: u16, body: &[u8], usage_header: Option<&str>) -> Answer {
    if (200..300).contains(&status) {
        // The hot path: read only the id, without building a JSON tree.
        #[derive(serde::Deserialize)]
        struct Delivered {
            message_id: Option<String>,
        }
        let id = serde_json::from_slice::<Delivered>(body).ok().and_then(|d| d.message_id);
        let Some(id) = id.filter(|id| !id.is_empty()) else {
            return Answer::ambiguous(Doubt::NoMessageId).with_message(format!("HTTP {status} without a message_id"));
        };
        return Answer { message_id: Some(id), ..Answer::new(Class::Sent) };
    }
    if (300..400).contains(&status) {
        return redirect(status);
    }
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let error = json.as_ref().and_then(|j| j.get("error")).filter(|e| e.get("code").is_some());
    let Some(error) = error else {
        return http_status_class(status);
    };
    let code = error.get("code").and_then(Value::as_i64).unwrap_or(0);
    let subcode = error.get("error_subcode").and_then(Value::as_i64);
    let transient = error.get("is_transient").and_then(Value::as_bool).unwrap_or(false);
    let class = graph_error_class(code, subcode, transient);
    let mut a = if class == Class::Ambiguous { Answer::ambiguous(Doubt::AmbiguousError) } else { Answer::new(class) };
    a.code = Some(code);
    a.subcode = subcode;
    a.message = error.get("message").and_then(Value::as_str).map(String::from);
    if a.class == Class::Throttle {
        a.regain = usage_header.and_then(regain_from_usage);
    }
    a
}

/// An answer without a Graph error body, by HTTP status alone.
fn http_status_class(status: u16) -> Answer {
    let answer = match status {
        429 => Answer::new(Class::Throttle),
        500..=599 => Answer::ambiguous(Doubt::ServerError),
        401 | 403 | 404 => Answer::new(Class::Fatal),
        _ => Answer::new(Class::OtherFailure),
    };
    answer.with_message(format!("HTTP {status} without an error body"))
}

/// A 3xx: never followed (a redirected POST may be re-issued as GET, or
/// carry the token to another origin), and the message may have been
/// delivered before the redirect, so it is ambiguous.
pub fn redirect(status: u16) -> Answer {
    Answer::ambiguous(Doubt::Redirected).with_message(format!("HTTP {status} redirect, not followed"))
}

/// A 2xx whose body was cut at the size limit: delivered or not, its
/// message id cannot be trusted.
pub fn oversized(status: u16) -> Answer {
    if (200..300).contains(&status) {
        return Answer::ambiguous(Doubt::NoMessageId).with_message(format!("HTTP {status} with a body over 1 MiB"));
    }
    http_status_class(status)
}

/// The longest `estimated_time_to_regain_access` (minutes) in an
/// `X-Business-Use-Case-Usage` header: `{"<id>": [{..., "estimated_time_to_regain_access": 5}]}`.
pub fn regain_from_usage(header: &str) -> Option<Duration> {
    let v: Value = serde_json::from_str(header).ok()?;
    let minutes = v
        .as_object()?
        .values()
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|u| u.get("estimated_time_to_regain_access").and_then(Value::as_u64))
        .max()?;
    (minutes > 0).then(|| Duration::from_secs(minutes * 60))
}

/// Classifies a Harasocial answer: `{data, has_error, error_code, error_message}`.
pub fn harasocial(status: u16, body: &[u8]) -> Answer {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let has_error = json.as_ref().and_then(|j| j.get("has_error")).and_then(Value::as_bool).unwrap_or(false);
    match status {
        401 | 403 => return harasocial_error(Class::Fatal, json.as_ref(), status),
        429 => return harasocial_error(Class::Throttle, json.as_ref(), status),
        500..=599 => {
            return Answer {
                doubt: Some(Doubt::ServerError),
                ..harasocial_error(Class::Ambiguous, json.as_ref(), status)
            };
        }
        300..=399 => return redirect(status),
        _ => {}
    }
    if (200..300).contains(&status) && !has_error {
        if json.is_none() {
            return Answer::ambiguous(Doubt::ServerError).with_message("HTTP 2xx with an unreadable body");
        }
        return Answer::new(Class::Sent);
    }
    harasocial_error(Class::OtherFailure, json.as_ref(), status)
}

fn harasocial_error(class: Class, json: Option<&Value>, status: u16) -> Answer {
    let field = |name| json.and_then(|j| j.get(name)).filter(|v| !v.is_null());
    let code_text = field("error_code").map(|c| c.as_str().map_or_else(|| c.to_string(), String::from));
    let mut a = Answer::new(class);
    a.code = code_text.as_deref().and_then(|c| c.parse().ok());
    let text = field("error_message").and_then(Value::as_str).map(String::from);
    a.message = Some(match (code_text, text) {
        (Some(c), Some(t)) if a.code.is_none() => format!("{c}: {t}"),
        (_, Some(t)) => t,
        (Some(c), None) => c,
        (None, None) => format!("HTTP {status}"),
    });
    a
}

/// The wait before retry `attempt` (1-based): exponential from 250 ms,
/// capped at 30 s, with "equal jitter" (half fixed, half random) so that
/// many workers do not retry in lockstep.
pub fn backoff(attempt: u32, random: f64) -> Duration {
    let base = 250u64.saturating_mul(1 << attempt.saturating_sub(1).min(10)).min(30_000);
    let half = base / 2;
    Duration::from_millis(half + (half as f64 * random.clamp(0.0, 1.0)) as u64)
}

/// The page pause after the `n`-th throttle in a row when Meta gives no
/// estimate: 1 s, 2 s, 4 s … capped at 60 s.
pub fn throttle_pause(n: u32, regain: Option<Duration>) -> Duration {
    regain.unwrap_or_else(|| Duration::from_secs((1u64 << n.saturating_sub(1).min(6)).min(60)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(code: i64, sub: Option<i64>) -> Vec<u8> {
        let mut e = serde_json::json!({"error": {"message": "m", "type": "OAuthException", "code": code}});
        if let Some(s) = sub {
            e["error"]["error_subcode"] = s.into();
        }
        e.to_string().into_bytes()
    }

    fn class(code: i64, sub: Option<i64>) -> Class {
        graph(400, &err(code, sub), None).class
    }

    #[test]
    fn success_carries_the_message_id() {
        let a = graph(200, br#"{"recipient_id":"1","message_id":"m_9"}"#, None);
        assert_eq!((a.class, a.message_id.as_deref()), (Class::Sent, Some("m_9")));
    }

    #[test]
    fn retry_codes() {
        for (c, s) in [(1, None), (2, None), (1200, None), (1, Some(5))] {
            assert_eq!(class(c, s), Class::Retry, "{c}/{s:?}");
        }
        let transient = br#"{"error":{"code":9999,"is_transient":true}}"#;
        assert_eq!(graph(400, transient, None).class, Class::Retry);
    }

    #[test]
    fn ambiguous_answers() {
        assert_eq!(class(1, Some(1357046)), Class::Ambiguous);
        assert_eq!(graph(500, b"oops", None).class, Class::Ambiguous);
        assert_eq!(graph(502, b"", None).class, Class::Ambiguous);
        assert_eq!(transport(Transport::Timeout).class, Class::Ambiguous);
        assert_eq!(transport(Transport::Broken).class, Class::Ambiguous);
        assert_eq!(transport(Transport::Connect).class, Class::ConnectFailed);
        assert_eq!(graph(200, br#"{"recipient_id":"1"}"#, None).doubt, Some(Doubt::NoMessageId));
        assert_eq!(graph(200, b"<html>ok</html>", None).class, Class::Ambiguous);
        for status in [301, 302, 307, 308] {
            assert_eq!(graph(status, b"", None).doubt, Some(Doubt::Redirected), "{status}");
            assert_eq!(harasocial(status, b"").doubt, Some(Doubt::Redirected), "{status}");
        }
        assert_eq!(oversized(200).doubt, Some(Doubt::NoMessageId));
    }

    #[test]
    fn throttles() {
        for c in [4, 17, 32, 613, 80006] {
            assert_eq!(class(c, None), Class::Throttle, "{c}");
        }
        assert_eq!(graph(429, b"", None).class, Class::Throttle);
        assert_eq!(class(613, Some(2018338)), Class::Fatal);
    }

    #[test]
    fn recipient_failures() {
        for (c, s) in [
            (551, None),
            (200, Some(1545041)),
            (10, Some(2018108)),
            (10, Some(2018278)),
            (10, Some(2534022)),
            (10, Some(2018065)),
            (100, Some(2018001)),
            (10, Some(1893015)),
            (2018300, None),
            (551, Some(1545041)),
        ] {
            assert_eq!(class(c, s), Class::RecipientFailed, "{c}/{s:?}");
        }
    }

    #[test]
    fn a_busy_person_is_tried_later() {
        assert_eq!(class(2018321, None), Class::TryLater);
        assert_eq!(class(100, Some(2018321)), Class::TryLater);
    }

    #[test]
    fn stale_ids_are_other_failures_that_can_form_a_streak() {
        assert_eq!(class(100, None), Class::OtherFailure);
    }

    #[test]
    fn fatal_codes() {
        for (c, s) in [
            (190, None),
            (190, Some(463)),
            (102, None),
            (3, None),
            (1, Some(99)),
            (10, None),
            (200, None),
            (200, Some(2018028)),
            (368, None),
            (10, Some(1893063)),
            (2022, None),
            (100, Some(2018074)),
            (100, Some(2018109)),
            (100, Some(2018047)),
            (100, Some(2018008)),
            (100, Some(2018294)),
        ] {
            assert_eq!(class(c, s), Class::Fatal, "{c}/{s:?}");
        }
    }

    #[test]
    fn anything_else_is_an_other_failure() {
        assert_eq!(class(10900, None), Class::OtherFailure);
        assert_eq!(class(100, Some(1234)), Class::OtherFailure);
    }

    #[test]
    fn regain_comes_from_the_usage_header_in_minutes() {
        let h = r#"{"5":[{"type":"messenger","call_count":100,"estimated_time_to_regain_access":3}]}"#;
        let a = graph(400, &err(613, None), Some(h));
        assert_eq!(a.regain, Some(Duration::from_secs(180)));
        assert_eq!(regain_from_usage(r#"{"5":[{"estimated_time_to_regain_access":0}]}"#), None);
        assert_eq!(regain_from_usage("not json"), None);
    }

    #[test]
    fn harasocial_answers() {
        let ok = br#"{"data":{"success":true},"has_error":false,"error_code":null,"error_message":null}"#;
        assert_eq!(harasocial(200, ok).class, Class::Sent);
        let bad = br#"{"data":null,"has_error":true,"error_code":"invalid_payload","error_message":"nope"}"#;
        let a = harasocial(200, bad);
        assert_eq!(a.class, Class::OtherFailure);
        assert_eq!(a.message.as_deref(), Some("invalid_payload: nope"));
        assert_eq!(harasocial(401, b"").class, Class::Fatal);
        assert_eq!(harasocial(403, b"").class, Class::Fatal);
        assert_eq!(harasocial(429, b"").class, Class::Throttle);
        assert_eq!(harasocial(503, b"").class, Class::Ambiguous);
    }

    #[test]
    fn backoff_grows_with_jitter_and_caps() {
        assert_eq!(backoff(1, 0.0), Duration::from_millis(125));
        assert_eq!(backoff(1, 1.0), Duration::from_millis(250));
        assert_eq!(backoff(3, 0.0), Duration::from_millis(500));
        assert_eq!(backoff(30, 1.0), Duration::from_secs(30));
    }

    #[test]
    fn throttle_pause_doubles_to_a_minute() {
        let secs: Vec<u64> = (1..=8).map(|n| throttle_pause(n, None).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(throttle_pause(1, Some(Duration::from_secs(300))), Duration::from_secs(300));
    }
}
