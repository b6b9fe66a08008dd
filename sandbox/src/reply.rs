//! The response bodies the real APIs send, built in one place.
//!
//! Graph answers errors with HTTP 400 and `{error: {message, type, code,
//! error_subcode?, is_transient?, fbtrace_id}}`; Harasocial wraps everything
//! in `{data, has_error, error_code, error_message}`. pagecast's error
//! classification is only as good as these shapes are faithful.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::Json;
use axum::body::{Body, Bytes};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Graph's throttling header, read by pagecast for the pause length.
const BUSINESS_USAGE: HeaderName = HeaderName::from_static("x-business-use-case-usage");

/// The fields of a Graph error body.
#[derive(Debug, Clone)]
pub struct GraphError {
    /// Graph `code`.
    pub code: u32,
    /// Graph `error_subcode`, omitted when `None`.
    pub subcode: Option<u32>,
    /// Adds `"is_transient": true` when set.
    pub transient: bool,
    /// Human-readable message, conventionally starting with `(#CODE)`.
    pub message: String,
}

impl GraphError {
    /// An error with Meta's message for the codes pagecast treats specially
    /// (see [`known_message`]), else the generic `(#CODE) sandbox error`.
    pub fn generic(code: u32, subcode: Option<u32>, transient: bool) -> Self {
        let message = known_message(code, subcode).map_or_else(|| format!("(#{code}) sandbox error"), str::to_owned);
        Self { code, subcode, transient, message }
    }

    /// An error with a message of its own.
    pub fn with_message(code: u32, subcode: Option<u32>, message: impl Into<String>) -> Self {
        Self { code, subcode, transient: false, message: message.into() }
    }

    /// The HTTP 400 response carrying this error; `seq` makes the trace id.
    pub fn into_response(self, seq: u64) -> Response {
        let mut error = json!({
            "message": self.message,
            "type": "OAuthException",
            "code": self.code,
        });
        if let Some(subcode) = self.subcode {
            error["error_subcode"] = subcode.into();
        }
        if self.transient {
            error["is_transient"] = true.into();
        }
        error["fbtrace_id"] = format!("Sbx{seq:06}").into();
        (StatusCode::BAD_REQUEST, Json(json!({ "error": error }))).into_response()
    }
}

/// Meta's messages for the codes the Send API documents and pagecast's
/// classes name (SPEC §4), so that logs and reports read like the real thing
/// and streak checks (same code *and* message) see realistic text.
pub fn known_message(code: u32, subcode: Option<u32>) -> Option<&'static str> {
    Some(match (code, subcode) {
        (1, _) => "(#1) An unknown error occurred",
        (2, _) => "(#2) Service temporarily unavailable",
        (1200, _) => "(#1200) Temporary send message failure. Please try again later",
        (190, _) => "Invalid OAuth access token - Cannot parse access token",
        (551, _) => "(#551) This person isn't available right now.",
        (100, None | Some(2018001)) => "(#100) No matching user found",
        (10, Some(2018278)) => "(#10) This message is sent outside of allowed window.",
        (200, Some(1545041)) => "(#200) This person isn't available right now.",
        (2018321, _) => "(#2018321) The person is in a flow that is still running; try again later",
        (2018300, _) => "(#2018300) The person cannot receive messages from this page",
        _ => return None,
    })
}

/// The repeated unit of [`huge_message`]: one-, two- and three-byte
/// characters, none of which JSON escapes.
const HUGE_UNIT: &str = "(#100) Người dùng không tồn tại — ";

/// The message of a `huge_error:BYTES` fault: exactly `bytes` bytes of
/// UTF-8 that mixes one-, two- and three-byte characters, so a store that
/// cuts it by bytes instead of characters would split one.
pub fn huge_message(bytes: usize) -> String {
    let mut message = HUGE_UNIT.repeat(bytes / HUGE_UNIT.len() + 1);
    let mut end = bytes;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    message.truncate(end);
    // Pad with ASCII so the length is exact.
    message.extend(std::iter::repeat_n('x', bytes - end));
    message
}

/// Graph's error body for a `huge_error:BYTES` fault (100/2018001), written
/// by hand: serializing a 50 MB string through `serde_json` costs seconds in
/// a debug build, and the message holds nothing JSON must escape.
pub fn huge_graph_error(bytes: usize, seq: u64) -> Response {
    let message = huge_message(bytes);
    let body = format!(
        "{{\"error\":{{\"message\":\"{message}\",\"type\":\"OAuthException\",\"code\":100,\
         \"error_subcode\":2018001,\"fbtrace_id\":\"Sbx{seq:06}\"}}}}"
    );
    (StatusCode::BAD_REQUEST, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// A redirect with `Location`, the way a misconfigured proxy or a captive
/// portal answers; the body is a short HTML page, as nginx writes it.
pub fn redirect(status: u16, location: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::FOUND);
    let html =
        format!("<html><head><title>{status}</title></head><body><a href=\"{location}\">moved</a></body></html>\n");
    let mut response = (status, [(header::CONTENT_TYPE, "text/html")], html).into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// What a redirect leads to: an HTML 200 (a login page, a parked domain),
/// answered to any method. It has no `message_id`, so it is not a send.
pub fn landing() -> Response {
    let html = "<!doctype html><html><head><title>Welcome</title></head><body>It works!</body></html>\n";
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

/// HTTP 200 whose body begins like a Send API success and never ends.
pub fn endless(recipient: &str, seq: u64) -> Response {
    let head = format!("{{\"recipient_id\":\"{recipient}\",\"message_id\":\"m_{seq}\",\"padding\":\"");
    let body = Body::from_stream(Endless { head: Some(Bytes::from(head)) });
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// A chunk of the endless body: 64 KiB of spaces inside the JSON string.
static FILL: [u8; 64 * 1024] = [b' '; 64 * 1024];

/// The stream behind [`endless`]: its head, then [`FILL`] forever. It is
/// always ready; the socket's back-pressure paces it, and hyper drops it
/// when the client closes the connection.
struct Endless {
    head: Option<Bytes>,
}

impl futures_core::Stream for Endless {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let chunk = self.get_mut().head.take().unwrap_or_else(|| Bytes::from_static(&FILL));
        Poll::Ready(Some(Ok(chunk)))
    }
}

/// Graph's answer to a missing, misplaced or wrong token (code 190).
pub fn graph_bad_token(seq: u64) -> Response {
    GraphError::with_message(190, None, "Invalid OAuth access token - Cannot parse access token").into_response(seq)
}

/// Graph's throttle: code 613 plus the usage header naming the page.
pub fn graph_throttle(page: &str, minutes: u32, seq: u64) -> Response {
    let usage = json!({ page: [{
        "type": "messenger",
        "call_count": 100,
        "total_cputime": 10,
        "total_time": 10,
        "estimated_time_to_regain_access": minutes,
    }]});
    let mut response = GraphError::with_message(613, None, "(#613) Calls to this api have exceeded the rate limit.")
        .into_response(seq);
    if let Ok(value) = HeaderValue::from_str(&usage.to_string()) {
        response.headers_mut().insert(BUSINESS_USAGE, value);
    }
    response
}

/// The Send API's success body.
pub fn graph_sent(recipient: &str, seq: u64) -> Response {
    Json(json!({ "recipient_id": recipient, "message_id": format!("m_{seq}") })).into_response()
}

/// Harasocial's success body.
pub fn harasocial_sent() -> Response {
    harasocial(StatusCode::OK, None)
}

/// A Harasocial error body (`has_error: true`) with the given status.
pub fn harasocial_error(status: StatusCode, code: &str, message: &str) -> Response {
    harasocial(status, Some((code, message)))
}

/// Harasocial's envelope; success when `error` is `None`.
fn harasocial(status: StatusCode, error: Option<(&str, &str)>) -> Response {
    let body = match error {
        None => json!({
            "data": { "success": true },
            "has_error": false,
            "error_code": null,
            "error_message": null,
        }),
        Some((code, message)) => json!({
            "data": null,
            "has_error": true,
            "error_code": code,
            "error_message": message,
        }),
    };
    (status, Json(body)).into_response()
}

/// A bare status with a plain-text body, like a proxy in front of the API.
pub fn plain(status: StatusCode, text: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generic_message_names_the_code() {
        assert_eq!(GraphError::generic(613, None, false).message, "(#613) sandbox error");
    }

    #[test]
    fn documented_codes_carry_metas_messages() {
        assert_eq!(
            GraphError::generic(551, Some(1545041), false).message,
            "(#551) This person isn't available right now."
        );
        assert_eq!(GraphError::generic(100, None, false).message, "(#100) No matching user found");
        assert!(GraphError::generic(2018321, None, false).message.starts_with("(#2018321)"));
        assert_eq!(GraphError::generic(100, Some(2018109), false).message, "(#100) sandbox error");
    }

    #[test]
    fn huge_graph_error_is_valid_json() {
        let message = huge_message(5000);
        let body = format!(
            "{{\"error\":{{\"message\":\"{message}\",\"type\":\"OAuthException\",\"code\":100,\
             \"error_subcode\":2018001,\"fbtrace_id\":\"Sbx{:06}\"}}}}",
            7
        );
        let json: serde_json::Value = serde_json::from_str(&body).expect("valid JSON");
        assert_eq!(json["error"]["message"], message);
        assert_eq!(huge_graph_error(5000, 7).status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn huge_message_is_exactly_that_many_bytes_of_valid_utf8() {
        for bytes in [0, 1, 7, 8, 9, 1000, 1001, 4096, 100_003] {
            let message = huge_message(bytes);
            assert_eq!(message.len(), bytes);
            assert!(bytes < 40 || message.chars().count() < bytes, "multi-byte characters in {bytes}");
        }
    }

    #[test]
    fn redirect_carries_location_and_landing_is_html() {
        let response = redirect(308, "/_sandbox/landing");
        assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
        assert_eq!(response.headers()[header::LOCATION], "/_sandbox/landing");
        let response = landing();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    }

    #[test]
    fn endless_stream_never_ends() {
        use futures_core::Stream;
        let mut stream = Endless { head: Some(Bytes::from_static(b"{")) };
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        let mut total = 0;
        for n in 0..100 {
            match Pin::new(&mut stream).poll_next(&mut cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    assert!(n == 0 || chunk.len() == FILL.len());
                    total += chunk.len();
                }
                other => panic!("the stream ended or paused: {other:?}"),
            }
        }
        assert!(total > 6 * 1024 * 1024);
    }
}
