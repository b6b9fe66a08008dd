//! The only code that talks HTTP to Meta and Harasocial.
//!
//! One reqwest client (rustls, pooled connections) for the run. Tokens travel
//! only in the `Authorization: Bearer` header; anything the server says back
//! is passed through [`Redactor`] before it can reach a log or a report.

use std::time::Duration;

use serde_json::Value;

use super::classify::{self, Answer, Transport};
use crate::campaign::model::Provider;

/// Default Graph base URL.
pub const GRAPH_URL: &str = "https://graph.facebook.com/v25.0";
/// Default Harasocial base URL.
pub const HARASOCIAL_URL: &str = "https://apis.harasocial.com";

/// Base URLs, from `PAGECAST_GRAPH_URL` / `PAGECAST_HARASOCIAL_URL`.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// Graph base, e.g. `https://graph.facebook.com/v25.0`.
    pub graph: String,
    /// Harasocial base.
    pub harasocial: String,
}

impl Endpoints {
    /// Reads the environment, falling back to the real services.
    pub fn from_env() -> Self {
        let get = |k: &str, d: &str| std::env::var(k).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| d.to_string());
        Endpoints {
            graph: get("PAGECAST_GRAPH_URL", GRAPH_URL).trim_end_matches('/').to_string(),
            harasocial: get("PAGECAST_HARASOCIAL_URL", HARASOCIAL_URL).trim_end_matches('/').to_string(),
        }
    }
}

/// Replaces every known token in text that came back from a server.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    /// A redactor for these tokens (empty ones are ignored).
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        let mut secrets: Vec<String> = secrets.into_iter().filter(|s| s.len() >= 4).collect();
        // Longest first, so a token that contains another is fully hidden.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Redactor { secrets }
    }

    /// The text with every token replaced by `[redacted]`.
    pub fn redact(&self, text: &str) -> String {
        self.secrets.iter().fold(text.to_string(), |t, s| t.replace(s.as_str(), "[redacted]"))
    }
}

/// One page's endpoint and credentials, prepared once per run.
#[derive(Debug, Clone)]
pub struct Target {
    provider: Provider,
    url: reqwest::Url,
    auth: reqwest::header::HeaderValue,
}

/// The HTTP client of a run.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    endpoints: Endpoints,
}

impl Client {
    /// A client with a pool large enough for `concurrency` and a per-request
    /// timeout (`PAGECAST_REQUEST_TIMEOUT` seconds, default 30).
    pub fn new(endpoints: Endpoints, concurrency: usize) -> Result<Self, String> {
        let timeout = std::env::var("PAGECAST_REQUEST_TIMEOUT")
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|s| *s > 0.0)
            .unwrap_or(30.0);
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(concurrency.max(1))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs_f64(timeout))
            // A redirected POST may be re-issued as a GET, or carry the
            // token to another origin: never follow one (SPEC §4).
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("pagecast/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Client { http, endpoints })
    }

    /// The endpoints in use.
    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// Where one page's messages go, with its `Authorization` header built
    /// once (and marked sensitive, so no debug output shows it).
    pub fn target(&self, provider: Provider, page: &str, token: &str) -> Result<Target, String> {
        let url = match provider {
            Provider::Graph => format!("{}/{page}/messages", self.endpoints.graph),
            Provider::Harasocial => format!("{}/social/messages.json", self.endpoints.harasocial),
        };
        let url = reqwest::Url::parse(&url).map_err(|e| format!("bad API URL {url}: {e}"))?;
        let mut auth = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| "the token holds characters an HTTP header cannot carry (a newline?)".to_string())?;
        auth.set_sensitive(true);
        Ok(Target { provider, url, auth })
    }

    /// Sends one message and classifies the answer.
    pub async fn send(&self, target: &Target, body: &[u8]) -> Answer {
        let provider = target.provider;
        // The headers of each API's own documents (seeds/): Harasocial's
        // send-by-payload-id takes `application/json-patch+json` and answers
        // `text/plain`.
        let (content_type, accept) = match provider {
            Provider::Graph => ("application/json", "application/json"),
            Provider::Harasocial => ("application/json-patch+json", "text/plain"),
        };
        let response = self
            .http
            .post(target.url.clone())
            .header(reqwest::header::AUTHORIZATION, target.auth.clone())
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .header(reqwest::header::ACCEPT, accept)
            .body(body.to_vec())
            .send()
            .await;
        let response = match response {
            Ok(r) => r,
            Err(e) => return classify::transport(transport_kind(&e)),
        };
        let status = response.status().as_u16();
        if response.status().is_redirection() {
            return classify::redirect(status);
        }
        let usage = response.headers().get("x-business-use-case-usage").and_then(|v| v.to_str().ok()).map(String::from);
        let bytes = match read_capped(response).await {
            Ok(Body::Whole(b)) => b,
            Ok(Body::Cut(b)) if !(200..300).contains(&status) => b,
            Ok(Body::Cut(_)) => return classify::oversized(status),
            Err(e) => return classify::transport(transport_kind(&e)),
        };
        match provider {
            Provider::Graph => classify::graph(status, &bytes, usage.as_deref()),
            Provider::Harasocial => classify::harasocial(status, &bytes),
        }
    }

    /// GETs a Graph URL (already holding its query) and returns the JSON.
    pub async fn get_json(&self, url: &str, token: &str) -> Result<Value, String> {
        let response = self.http.get(url).bearer_auth(token).send().await.map_err(describe)?;
        let status = response.status();
        if status.is_redirection() {
            return Err(format!("HTTP {status}: a redirect, not followed"));
        }
        let body = match read_capped(response).await.map_err(describe)? {
            Body::Whole(b) => b,
            Body::Cut(_) => return Err(format!("HTTP {status}: an answer over 1 MiB")),
        };
        let json: Value = serde_json::from_slice(&body).map_err(|_| format!("HTTP {status}: not JSON"))?;
        if !status.is_success() {
            let msg = json.pointer("/error/message").and_then(Value::as_str).unwrap_or("no message");
            let code = json.pointer("/error/code").and_then(Value::as_i64).unwrap_or(0);
            return Err(format!("HTTP {status}: Graph error {code}: {msg}"));
        }
        Ok(json)
    }
}

/// The most of an answer body that is read (SPEC §4): a server that never
/// ends its body cannot grow the process.
pub const MAX_BODY: usize = 1 << 20;

/// A body read up to [`MAX_BODY`].
enum Body {
    /// All of it.
    Whole(Vec<u8>),
    /// The first [`MAX_BODY`] bytes; the rest was not read.
    Cut(Vec<u8>),
}

async fn read_capped(mut response: reqwest::Response) -> reqwest::Result<Body> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = MAX_BODY - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok(Body::Cut(body));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Body::Whole(body))
}

fn transport_kind(e: &reqwest::Error) -> Transport {
    if e.is_connect() {
        Transport::Connect
    } else if e.is_timeout() {
        Transport::Timeout
    } else {
        Transport::Broken
    }
}

/// A transport error without its URL (which may name hosts but never tokens).
fn describe(e: reqwest::Error) -> String {
    let kind = transport_kind(&e);
    format!("{kind:?}: {}", e.without_url())
}

/// The answer to a GET of the Graph API, unclassified (the conversations
/// reader decides what to retry).
#[derive(Debug)]
pub enum Fetched {
    /// The server answered.
    Answer {
        /// HTTP status.
        status: u16,
        /// The `X-Business-Use-Case-Usage` header, for throttle pauses.
        usage: Option<String>,
        /// The body, at most [`MAX_GET_BODY`] bytes.
        body: Vec<u8>,
        /// The body was longer and was cut.
        truncated: bool,
    },
    /// No answer.
    Failed(Transport),
}

/// The longest answer body a GET reads (a page of 100 conversations with
/// their last messages is well under 1 MiB).
pub const MAX_GET_BODY: usize = 8 << 20;

impl Client {
    /// GETs `url` with the token in the `Authorization` header alone. Used by
    /// the conversations reader, which checks the URL's origin first.
    pub async fn get_graph(&self, url: reqwest::Url, token: &str) -> Fetched {
        let mut response = match self.http.get(url).bearer_auth(token).send().await {
            Ok(r) => r,
            Err(e) => return Fetched::Failed(transport_kind(&e)),
        };
        let status = response.status().as_u16();
        let usage = response.headers().get("x-business-use-case-usage").and_then(|v| v.to_str().ok()).map(String::from);
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) if body.len() + chunk.len() > MAX_GET_BODY => {
                    body.extend_from_slice(&chunk[..MAX_GET_BODY - body.len()]);
                    return Fetched::Answer { status, usage, body, truncated: true };
                }
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) => return Fetched::Answer { status, usage, body, truncated: false },
                Err(e) => return Fetched::Failed(transport_kind(&e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_every_token_longest_first() {
        let r = Redactor::new(["abcd".to_string(), "abcdef".to_string(), String::new()]);
        assert_eq!(r.redact("token abcdef and abcd"), "token [redacted] and [redacted]");
    }
}
