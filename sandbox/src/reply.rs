//! The response bodies the real APIs send, built in one place.
//!
//! Graph answers errors with HTTP 400 and `{error: {message, type, code,
//! error_subcode?, is_transient?, fbtrace_id}}`; Harasocial wraps everything
//! in `{data, has_error, error_code, error_message}`. pagecast's error
//! classification is only as good as these shapes are faithful.

use axum::Json;
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
    /// An error with the sandbox's generic message, `(#CODE) sandbox error`.
    pub fn generic(code: u32, subcode: Option<u32>, transient: bool) -> Self {
        Self { code, subcode, transient, message: format!("(#{code}) sandbox error") }
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
}
