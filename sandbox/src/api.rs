//! The imitated API endpoints: Graph send, Harasocial send, Graph
//! conversations.
//!
//! Every request goes through the same steps: route it by path (any version
//! prefix, e.g. `/v25.0`, is accepted), check its token and body the way the
//! real API would, pick its fault, record it, wait the configured latency,
//! and answer. Routing is by hand rather than by axum patterns so that a
//! base URL with any prefix works.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::config::Config;
use crate::conn::ConnHandle;
use crate::conversations::{self, PageQuery};
use crate::fault::Fault;
use crate::journal::{Entry, Kind};
use crate::reply::{self, GraphError};
use crate::state::Sandbox;

/// The `messaging_type` values the Send API accepts.
const MESSAGING_TYPES: [&str; 4] = ["RESPONSE", "UPDATE", "MESSAGE_TAG", "UTILITY"];

/// Where the `redirect:` faults point: any method gets an HTML 200 here.
pub const LANDING: &str = "/_sandbox/landing";

/// The only `messaging_type` Harasocial's payload-id API accepts.
const HARASOCIAL_TYPE: &str = "harasocial_facebook_payload_id";

/// An imitated endpoint, found from the method and path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Endpoint {
    /// `POST [/prefix]/{page}/messages`.
    Graph { page: String },
    /// `POST [/prefix]/social/messages.json`.
    Harasocial,
    /// `GET [/prefix]/{page}/conversations`.
    Conversations { page: String },
    /// `GET [/prefix]/{conversation}/messages`: one conversation's messages.
    Messages { conversation: String },
}

impl Endpoint {
    /// Routes a request; `None` for anything the sandbox does not imitate.
    fn route(method: &Method, path: &str) -> Option<Self> {
        let mut segments = path.rsplit('/').filter(|s| !s.is_empty());
        let (last, before) = (segments.next()?, segments.next()?);
        match (method, last) {
            (&Method::POST, "messages.json") if before == "social" => Some(Self::Harasocial),
            (&Method::POST, "messages") => Some(Self::Graph { page: before.to_owned() }),
            (&Method::GET, "conversations") => Some(Self::Conversations { page: before.to_owned() }),
            (&Method::GET, "messages") => Some(Self::Messages { conversation: before.to_owned() }),
            _ => None,
        }
    }

    /// The method the endpoint answers (routing checked it).
    fn method(&self) -> &'static str {
        match self {
            Self::Conversations { .. } | Self::Messages { .. } => "GET",
            Self::Graph { .. } | Self::Harasocial => "POST",
        }
    }

    /// The kind written in the journal.
    fn kind(&self) -> Kind {
        match self {
            Self::Graph { .. } => Kind::Graph,
            Self::Harasocial => Kind::Harasocial,
            Self::Conversations { .. } | Self::Messages { .. } => Kind::Conversations,
        }
    }
}

/// A request as received, read but not yet judged.
struct Incoming<'a> {
    endpoint: Endpoint,
    uri: &'a Uri,
    headers: &'a HeaderMap,
    /// Decoded query parameters.
    params: HashMap<String, String>,
    /// The body as JSON, a string when it is not JSON, null for GET.
    body: Value,
    /// Whether the body parsed as JSON.
    body_is_json: bool,
}

impl<'a> Incoming<'a> {
    /// Reads the parts of a request the checks and the journal need.
    fn read(endpoint: Endpoint, uri: &'a Uri, headers: &'a HeaderMap, body: &[u8]) -> Self {
        let params = match uri.query() {
            Some(_) => Query::try_from_uri(uri).map_or_else(|_| HashMap::new(), |q| q.0),
            None => HashMap::new(),
        };
        let (body, body_is_json) = match endpoint {
            Endpoint::Conversations { .. } | Endpoint::Messages { .. } => (Value::Null, true),
            _ => match serde_json::from_slice(body) {
                Ok(json) => (json, true),
                Err(_) => (Value::String(String::from_utf8_lossy(body).into_owned()), false),
            },
        };
        Self { endpoint, uri, headers, params, body, body_is_json }
    }

    /// The page the request is for.
    fn page(&self) -> Option<&str> {
        match &self.endpoint {
            Endpoint::Graph { page } | Endpoint::Conversations { page } => Some(page),
            Endpoint::Harasocial => non_empty(&self.body["page_id"]),
            Endpoint::Messages { .. } => None,
        }
    }

    /// The key of the fault script: recipient, else page, else conversation.
    fn fault_key(&self) -> &str {
        match &self.endpoint {
            Endpoint::Messages { conversation } => conversation,
            _ => self.recipient().or(self.page()).unwrap_or_default(),
        }
    }

    /// The recipient PSID in the body.
    fn recipient(&self) -> Option<&str> {
        non_empty(&self.body["recipient"]["id"])
    }

    /// The raw `Authorization` header.
    fn authorization(&self) -> Option<&str> {
        self.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok())
    }

    /// The bearer token, when the header has a non-empty one.
    fn bearer(&self) -> Option<&str> {
        let value = self.authorization()?;
        let (scheme, token) = value.split_once(' ')?;
        let token = token.trim();
        (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
    }

    /// The journal entry for this request.
    fn entry<'e>(&'e self, fault: &'e str) -> Entry<'e> {
        Entry {
            method: self.endpoint.method(),
            path: self.uri.path(),
            query: self.uri.query().unwrap_or_default(),
            authorization: self.authorization(),
            page: self.page(),
            recipient: self.recipient(),
            kind: self.endpoint.kind(),
            fault,
            body: &self.body,
        }
    }
}

/// A string field that is present and not empty.
fn non_empty(value: &Value) -> Option<&str> {
    value.as_str().filter(|s| !s.is_empty())
}

/// Why a request was refused before any fault applied.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Rejection {
    /// Missing, misplaced (query string) or wrong token.
    Auth,
    /// The body or query is not what the API accepts.
    BadRequest(String),
}

impl Rejection {
    /// The `fault` written in the journal.
    fn label(&self) -> &'static str {
        match self {
            Self::Auth => "auth_error",
            Self::BadRequest(_) => "bad_request",
        }
    }
}

/// What the checks leave to the answer.
enum Accepted {
    /// A send to this recipient.
    Send,
    /// A conversations page request.
    Conversations(PageQuery),
    /// A page of one conversation's messages.
    Messages(PageQuery),
}

/// Checks a request the way the real API would: token present and not in
/// the URL, then the body or query, then the token against `tokens[page]`.
fn check(config: &Config, incoming: &Incoming<'_>) -> Result<Accepted, Rejection> {
    let token = incoming.bearer().ok_or(Rejection::Auth)?;
    if incoming.params.contains_key("access_token") {
        return Err(Rejection::Auth);
    }
    let accepted = match &incoming.endpoint {
        Endpoint::Graph { .. } => check_graph_body(incoming).map(|()| Accepted::Send),
        Endpoint::Harasocial => check_harasocial_body(incoming).map(|()| Accepted::Send),
        Endpoint::Conversations { .. } => {
            PageQuery::from_params(&incoming.params, config.conversations_page_size).map(Accepted::Conversations)
        }
        Endpoint::Messages { .. } => {
            PageQuery::from_params(&incoming.params, config.conversations_page_size).map(Accepted::Messages)
        }
    }
    .map_err(Rejection::BadRequest)?;
    let owner = match &incoming.endpoint {
        Endpoint::Messages { conversation } => conversations::owner(config, conversation),
        _ => incoming.page(),
    };
    let expected = owner.and_then(|page| config.tokens.get(page));
    match expected {
        Some(expected) if expected != token => Err(Rejection::Auth),
        _ => Ok(accepted),
    }
}

/// The Send API's required parameters.
fn check_graph_body(incoming: &Incoming<'_>) -> Result<(), String> {
    let body = &incoming.body;
    if !incoming.body_is_json || !body.is_object() {
        return Err("(#100) The request body must be a JSON object".to_owned());
    }
    if incoming.recipient().is_none() {
        return Err("(#100) The parameter recipient is required".to_owned());
    }
    if !body["messaging_type"].as_str().is_some_and(|t| MESSAGING_TYPES.contains(&t)) {
        return Err(format!("(#100) param messaging_type must be one of {{{}}}", MESSAGING_TYPES.join(", ")));
    }
    if !body["message"].is_object() && body.get("sender_action").is_none() {
        return Err("(#100) The parameter message is required".to_owned());
    }
    Ok(())
}

/// Harasocial's required parameters.
fn check_harasocial_body(incoming: &Incoming<'_>) -> Result<(), String> {
    let body = &incoming.body;
    if !incoming.body_is_json || !body.is_object() {
        return Err("the request body must be a JSON object".to_owned());
    }
    if body["messaging_type"] != HARASOCIAL_TYPE {
        return Err(format!("messaging_type must be {HARASOCIAL_TYPE}"));
    }
    let missing = [
        ("recipient.id", incoming.recipient()),
        ("message.payload_id", non_empty(&body["message"]["payload_id"])),
        ("page_id", incoming.page()),
    ];
    match missing.iter().find(|(_, value)| value.is_none()) {
        Some((name, _)) => Err(format!("{name} is required")),
        None => Ok(()),
    }
}

/// Handles every request the control routes do not.
pub async fn handle(
    State(sandbox): State<Arc<Sandbox>>,
    ConnectInfo(conn): ConnectInfo<ConnHandle>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(endpoint) = Endpoint::route(&method, uri.path()) else {
        if uri.path().starts_with(LANDING) {
            return landing(&sandbox, &method, &uri, &headers, &body);
        }
        let text = format!("pagecast-sandbox: no endpoint for {method} {}\n", uri.path());
        return reply::plain(StatusCode::NOT_FOUND, text);
    };
    let incoming = Incoming::read(endpoint, &uri, &headers, &body);
    let config = sandbox.config();
    let verdict = check(&config, &incoming).map(|accepted| {
        let key = incoming.fault_key();
        let random = matches!(accepted, Accepted::Send);
        (accepted, sandbox.pick_fault(&config, key, random))
    });
    let label = match &verdict {
        Ok((_, fault)) => fault.to_string(),
        Err(rejection) => rejection.label().to_owned(),
    };
    let seq = sandbox.journal.record(&incoming.entry(&label));
    if !config.latency.is_zero() {
        tokio::time::sleep(config.latency).await;
    }
    let mut response = match verdict {
        Ok((accepted, fault)) => {
            let answer = Answer { sandbox: &sandbox, config: &config, incoming: &incoming, accepted, seq };
            answer.with_fault(fault, &conn).await
        }
        Err(rejection) => reject(&incoming.endpoint, rejection, seq),
    };
    if let Some(down) = config.down {
        // One connection per request, so the outage starts at a connect.
        response.headers_mut().insert(header::CONNECTION, axum::http::HeaderValue::from_static("close"));
        if seq == down.after {
            conn.outage().down_for(down.for_ms.map(Duration::from_millis));
        }
    }
    response
}

/// The page a `redirect:` fault leads to: recorded (kind `landing`, with the
/// recipient when a re-sent body names one) and answered HTML 200.
fn landing(sandbox: &Sandbox, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Response {
    let body = serde_json::from_slice(body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into()));
    let entry = Entry {
        method: method.as_str(),
        path: uri.path(),
        query: uri.query().unwrap_or_default(),
        authorization: headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()),
        page: None,
        recipient: non_empty(&body["recipient"]["id"]),
        kind: Kind::Landing,
        fault: "landing",
        body: &body,
    };
    sandbox.journal.record(&entry);
    reply::landing()
}

/// The response to a rejected request.
fn reject(endpoint: &Endpoint, rejection: Rejection, seq: u64) -> Response {
    match (endpoint, rejection) {
        (Endpoint::Harasocial, Rejection::Auth) => {
            reply::harasocial_error(StatusCode::UNAUTHORIZED, "unauthorized", "missing or invalid bearer token")
        }
        (Endpoint::Harasocial, Rejection::BadRequest(message)) => {
            reply::harasocial_error(StatusCode::BAD_REQUEST, "invalid_request", &message)
        }
        (_, Rejection::Auth) => reply::graph_bad_token(seq),
        (_, Rejection::BadRequest(message)) => GraphError::with_message(100, None, message).into_response(seq),
    }
}

/// Everything needed to answer an accepted request.
struct Answer<'a> {
    sandbox: &'a Sandbox,
    config: &'a Config,
    incoming: &'a Incoming<'a>,
    accepted: Accepted,
    seq: u64,
}

impl Answer<'_> {
    /// Applies the faults that act on the connection, else answers in the
    /// endpoint's own format.
    async fn with_fault(self, fault: Fault, conn: &ConnHandle) -> Response {
        match fault {
            Fault::Hang => std::future::pending().await,
            Fault::Reset => {
                conn.reset();
                // Never written: the connection fails first.
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
            Fault::Http { status } => reply::plain(status, format!("sandbox http {}", status.as_u16())),
            Fault::Redirect { status } => reply::redirect(status, LANDING),
            Fault::RedirectAway { status, port } => {
                let uri = self.incoming.uri;
                let path = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
                reply::redirect(status, &format!("http://127.0.0.1:{port}{path}"))
            }
            Fault::Endless => reply::endless(self.incoming.recipient().unwrap_or_default(), self.seq),
            Fault::Slow { ms } => {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                self.success()
            }
            other => match self.incoming.endpoint {
                Endpoint::Harasocial => self.harasocial(other),
                _ => self.graph(other),
            },
        }
    }

    /// The endpoint's success answer.
    fn success(&self) -> Response {
        match (&self.incoming.endpoint, &self.accepted) {
            (Endpoint::Harasocial, _) => reply::harasocial_sent(),
            (_, Accepted::Conversations(query)) => self.conversations(query),
            (_, Accepted::Messages(query)) => self.messages(query),
            (_, Accepted::Send) => {
                let recipient = self.incoming.recipient().unwrap_or_default();
                reply::graph_sent(recipient, self.seq)
            }
        }
    }

    /// A Graph endpoint's answer to a fault that is not about the connection.
    fn graph(&self, fault: Fault) -> Response {
        let error = match fault {
            Fault::Graph { code, subcode, transient } => match self.config.message_for(code, subcode) {
                Some(message) => GraphError { code, subcode, transient, message: message.to_owned() },
                None => GraphError::generic(code, subcode, transient),
            },
            Fault::Throttle { minutes } => {
                let page = self.incoming.page().unwrap_or_default();
                return reply::graph_throttle(page, minutes, self.seq);
            }
            Fault::EchoToken => GraphError::with_message(
                100,
                Some(2018001),
                format!("(#100) No matching user found for token {}", self.token()),
            ),
            Fault::HarasocialError => {
                GraphError::with_message(100, None, "(#100) sandbox error (harasocial_error given to a Graph request)")
            }
            Fault::GraphVaried { code, subcode } => {
                GraphError::with_message(code, subcode, format!("(#{code}) sandbox error number {}", self.seq))
            }
            Fault::HugeError { bytes } => return reply::huge_graph_error(bytes, self.seq),
            _ => return self.success(),
        };
        error.into_response(self.seq)
    }

    /// Harasocial's answer to a fault that is not about the connection.
    fn harasocial(&self, fault: Fault) -> Response {
        match fault {
            Fault::HarasocialError => {
                reply::harasocial_error(StatusCode::OK, "invalid_payload", "payload id not found")
            }
            Fault::EchoToken => reply::harasocial_error(
                StatusCode::OK,
                "invalid_recipient",
                &format!("recipient not found for token {}", self.token()),
            ),
            Fault::Graph { code, subcode, .. } | Fault::GraphVaried { code, subcode } => {
                let code = subcode.map_or(format!("graph_{code}"), |s| format!("graph_{code}_{s}"));
                reply::harasocial_error(StatusCode::OK, &code, "sandbox error")
            }
            Fault::HugeError { bytes } => {
                reply::harasocial_error(StatusCode::OK, "invalid_recipient", &reply::huge_message(bytes))
            }
            Fault::Throttle { minutes } => reply::harasocial_error(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                &format!("too many requests; retry in {minutes} minutes"),
            ),
            _ => self.success(),
        }
    }

    /// One page of the configured conversations, with `next` links that
    /// point back at this sandbox (or where `conversation_links` says).
    fn conversations(&self, query: &PageQuery) -> Response {
        let page = self.incoming.page().unwrap_or_default();
        let (origin, prefix) = self.link_base(page, "conversations");
        let links = self.links(&origin, prefix);
        axum::Json(conversations::render_page(self.config, page, query, &links)).into_response()
    }

    /// One page of a conversation's messages; Graph's error 100 for an
    /// unknown conversation.
    fn messages(&self, query: &PageQuery) -> Response {
        let Endpoint::Messages { conversation } = &self.incoming.endpoint else {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        };
        let (origin, prefix) = self.link_base(conversation, "messages");
        let links = self.links(&origin, prefix);
        match conversations::render_messages(self.config, conversation, query, &links) {
            Some(page) => axum::Json(page).into_response(),
            None => GraphError::with_message(
                100,
                Some(33),
                format!("(#100) Unsupported get request. Object with ID '{conversation}' does not exist"),
            )
            .into_response(self.seq),
        }
    }

    /// The origin links are written with, and the path prefix of this request.
    fn link_base(&self, id: &str, edge: &str) -> (String, &str) {
        let origin = self.config.conversation_links.origin.clone().unwrap_or_else(|| {
            let host = self.incoming.headers.get(header::HOST).and_then(|h| h.to_str().ok());
            format!("http://{}", host.map_or_else(|| self.sandbox.local_addr.to_string(), str::to_owned))
        });
        (origin, conversations::path_prefix(self.incoming.uri.path(), id, edge))
    }

    /// The link writer for this request.
    fn links<'l>(&'l self, origin: &'l str, prefix: &'l str) -> conversations::Links<'l> {
        conversations::Links {
            origin,
            prefix,
            raw_query: self.incoming.uri.query().unwrap_or_default(),
            token: self.config.conversation_links.access_token.then(|| self.token()),
        }
    }

    /// The bearer token (present: the checks passed).
    fn token(&self) -> &str {
        self.incoming.bearer().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_with_and_without_a_version_prefix() {
        let graph = Some(Endpoint::Graph { page: "500".into() });
        assert_eq!(Endpoint::route(&Method::POST, "/500/messages"), graph);
        assert_eq!(Endpoint::route(&Method::POST, "/v25.0/500/messages"), graph);
        assert_eq!(Endpoint::route(&Method::POST, "/social/messages.json"), Some(Endpoint::Harasocial));
        assert_eq!(
            Endpoint::route(&Method::GET, "/v25.0/500/conversations/"),
            Some(Endpoint::Conversations { page: "500".into() })
        );
        assert_eq!(
            Endpoint::route(&Method::GET, "/v25.0/t_1/messages"),
            Some(Endpoint::Messages { conversation: "t_1".into() })
        );
        assert_eq!(Endpoint::route(&Method::POST, "/messages"), None);
        assert_eq!(Endpoint::route(&Method::POST, "/x/messages.json"), None);
    }

    fn checked(config: &str, uri: &str, auth: Option<&str>, body: &str) -> Result<(), Rejection> {
        let config = Config::from_json(config.as_bytes(), None).expect("valid config");
        let uri: Uri = uri.parse().expect("valid uri");
        let mut headers = HeaderMap::new();
        if let Some(auth) = auth {
            headers.insert(header::AUTHORIZATION, auth.parse().expect("valid header"));
        }
        let method = if uri.path().ends_with("conversations") { Method::GET } else { Method::POST };
        let endpoint = Endpoint::route(&method, uri.path()).expect("routed");
        let incoming = Incoming::read(endpoint, &uri, &headers, body.as_bytes());
        check(&config, &incoming).map(|_| ())
    }

    const SEND: &str = r#"{"recipient":{"id":"42"},"messaging_type":"UPDATE","message":{"text":"hi"}}"#;
    const TOKENS: &str = r#"{"tokens": {"500": "tok"}}"#;

    #[test]
    fn graph_token_rules() {
        let ok = checked(TOKENS, "/500/messages", Some("Bearer tok"), SEND);
        assert_eq!(ok, Ok(()));
        for (uri, auth) in [
            ("/500/messages", None),
            ("/500/messages", Some("Bearer ")),
            ("/500/messages", Some("Basic tok")),
            ("/500/messages", Some("Bearer other")),
            ("/500/messages?access_token=tok", Some("Bearer tok")),
        ] {
            assert_eq!(checked(TOKENS, uri, auth, SEND), Err(Rejection::Auth), "{uri} {auth:?}");
        }
        let any_token = checked(TOKENS, "/600/messages", Some("bearer whatever"), SEND);
        assert_eq!(any_token, Ok(()), "pages without a configured token accept any");
    }

    #[test]
    fn graph_body_rules() {
        for body in [
            "not json",
            "[]",
            r#"{"messaging_type":"UPDATE","message":{"text":"hi"}}"#,
            r#"{"recipient":{"id":"42"},"messaging_type":"PROMO","message":{"text":"hi"}}"#,
            r#"{"recipient":{"id":"42"},"messaging_type":"UPDATE"}"#,
        ] {
            let result = checked("{}", "/500/messages", Some("Bearer t"), body);
            assert!(matches!(result, Err(Rejection::BadRequest(_))), "{body}");
        }
    }

    #[test]
    fn harasocial_rules() {
        let body = r#"{"messaging_type":"harasocial_facebook_payload_id","recipient":{"id":"42"},
                       "message":{"payload_id":"__hrf_f_1"},"page_id":"500"}"#;
        let uri = "/social/messages.json";
        assert_eq!(checked(TOKENS, uri, Some("Bearer tok"), body), Ok(()));
        assert_eq!(checked(TOKENS, uri, Some("Bearer no"), body), Err(Rejection::Auth));
        let no_payload = body.replace("__hrf_f_1", "");
        let result = checked(TOKENS, uri, Some("Bearer tok"), &no_payload);
        assert_eq!(result, Err(Rejection::BadRequest("message.payload_id is required".into())));
    }

    #[test]
    fn conversations_query_rules() {
        let uri = "/500/conversations?limit=2&fields=participants";
        assert_eq!(checked(TOKENS, uri, Some("Bearer tok"), ""), Ok(()));
        let bad = checked(TOKENS, "/500/conversations?after=zz", Some("Bearer tok"), "");
        assert!(matches!(bad, Err(Rejection::BadRequest(_))));
    }
}
