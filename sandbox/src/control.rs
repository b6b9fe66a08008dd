//! The `/_sandbox/*` routes tests use to steer and inspect the sandbox.
//!
//! They are never delayed, never faulted and never recorded: a test must be
//! able to read what happened even while the API side hangs.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::config::Config;
use crate::state::Sandbox;

/// `GET /_sandbox/requests`: every recorded request, in arrival order.
pub async fn requests(State(sandbox): State<Arc<Sandbox>>) -> Response {
    let json = sandbox.journal.requests_json();
    ([(header::CONTENT_TYPE, "application/json")], json).into_response()
}

/// `GET /_sandbox/stats`: request counts in total, per page and per fault.
pub async fn stats(State(sandbox): State<Arc<Sandbox>>) -> Response {
    Json(sandbox.journal.stats_json()).into_response()
}

/// `POST /_sandbox/reset`: forget the recorded requests and restart the
/// fault scripts.
pub async fn reset(State(sandbox): State<Arc<Sandbox>>) -> Response {
    sandbox.reset();
    Json(json!({ "ok": true })).into_response()
}

/// `GET /_sandbox/templates`: every page's message templates.
pub async fn templates(State(sandbox): State<Arc<Sandbox>>) -> Response {
    let all = sandbox.templates.lock().unwrap_or_else(std::sync::PoisonError::into_inner).all();
    Json(all).into_response()
}

/// `POST /_sandbox/templates/{page}/{name}/{language}/{approve|reject|pause|disable}`,
/// body `{"reason": "…"}` optional: Meta's review, on command.
pub async fn review_template(
    State(sandbox): State<Arc<Sandbox>>,
    axum::extract::Path((page, name, language, action)): axum::extract::Path<(String, String, String, String)>,
    body: Bytes,
) -> Response {
    crate::templates::control(&sandbox, &page, &name, &language, &action, &body)
}

/// `PUT /_sandbox/config`: replace the whole config (same JSON as
/// `--config`); a bad one is refused and the old one stays.
pub async fn put_config(State(sandbox): State<Arc<Sandbox>>, body: Bytes) -> Response {
    match Config::from_json(&body, sandbox.latency_override) {
        Ok(config) => {
            sandbox.replace_config(config);
            Json(json!({ "ok": true })).into_response()
        }
        Err(error) => {
            (StatusCode::BAD_REQUEST, Json(json!({ "ok": false, "error": format!("invalid config: {error}") })))
                .into_response()
        }
    }
}
