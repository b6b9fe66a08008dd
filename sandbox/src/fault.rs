//! Fault names and the rule that picks one for each request.
//!
//! Tests script the sandbox by recipient: "the first send to this PSID gets a
//! throttle, the second succeeds". Parsing happens once, when a config is
//! loaded, so a typo fails loudly at start (or on `PUT /_sandbox/config`)
//! instead of turning into a silent `ok` mid-test. Choosing is pure: the same
//! seed, recipient and attempt number always give the same answer, whatever
//! order concurrent requests arrive in.

use std::fmt;

use axum::http::StatusCode;

/// One scripted answer to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer success.
    Ok,
    /// A Graph error body (HTTP 400), optionally with `is_transient: true`.
    Graph {
        /// Graph `code`.
        code: u32,
        /// Graph `error_subcode`, omitted from the body when `None`.
        subcode: Option<u32>,
        /// Whether the body carries `"is_transient": true`.
        transient: bool,
    },
    /// Graph code 613 plus an `X-Business-Use-Case-Usage` header.
    Throttle {
        /// `estimated_time_to_regain_access`, in minutes as Meta sends it.
        minutes: u32,
    },
    /// A bare HTTP status with a plain-text body.
    Http {
        /// The status to answer with.
        status: StatusCode,
    },
    /// Wait this many milliseconds, then answer success.
    Slow {
        /// The extra delay.
        ms: u64,
    },
    /// Never answer.
    Hang,
    /// Read the request, then drop the connection without a response.
    Reset,
    /// An error whose message echoes the bearer token back.
    EchoToken,
    /// Harasocial's `has_error: true` answer with HTTP 200.
    HarasocialError,
    /// A Graph error (HTTP 400) whose message names the request's sequence
    /// number, so that no two answers carry the same message.
    GraphVaried {
        /// Graph `code`.
        code: u32,
        /// Graph `error_subcode`, omitted from the body when `None`.
        subcode: Option<u32>,
    },
    /// A redirect (301, 302, 307 or 308) to `/_sandbox/landing` on this
    /// server, which answers HTML 200 to any method.
    Redirect {
        /// The 3xx status.
        status: u16,
    },
    /// A redirect to `http://127.0.0.1:PORT` plus the same path: another
    /// origin (a second sandbox, in tests), which must never see the request.
    RedirectAway {
        /// The 3xx status.
        status: u16,
        /// The other origin's port on 127.0.0.1.
        port: u16,
    },
    /// HTTP 200 whose body starts like a send success and never ends: bytes
    /// stream until the client goes away.
    Endless,
    /// A Graph error (HTTP 400, code 100/2018001) whose message is this many
    /// bytes long.
    HugeError {
        /// Length of the message in bytes (UTF-8, multi-byte characters included).
        bytes: usize,
    },
}

impl Fault {
    /// Parses a fault name such as `ok`, `graph:613/2018338` or `http:503`.
    pub fn parse(name: &str) -> Result<Self, String> {
        let (kind, arg) = match name.split_once(':') {
            Some((kind, arg)) => (kind, Some(arg)),
            None => (name, None),
        };
        match (kind, arg) {
            ("ok", None) => Ok(Self::Ok),
            ("hang", None) => Ok(Self::Hang),
            ("reset", None) => Ok(Self::Reset),
            ("echo_token", None) => Ok(Self::EchoToken),
            ("harasocial_error", None) => Ok(Self::HarasocialError),
            ("endless", None) => Ok(Self::Endless),
            ("graph_varied", Some(arg)) => match parse_graph(arg, false)? {
                Fault::Graph { code, subcode, .. } => Ok(Self::GraphVaried { code, subcode }),
                other => Ok(other),
            },
            ("redirect", Some(arg)) => Ok(Self::Redirect { status: redirect_status(arg, name)? }),
            ("redirect_away", Some(arg)) => parse_redirect_away(arg, name),
            ("huge_error", Some(arg)) => Ok(Self::HugeError { bytes: number(arg, name)? }),
            ("graph", Some(arg)) => parse_graph(arg, false),
            ("graph_transient", Some(arg)) => parse_graph(arg, true),
            ("throttle", Some(arg)) => Ok(Self::Throttle { minutes: number(arg, name)? }),
            ("slow", Some(arg)) => Ok(Self::Slow { ms: number(arg, name)? }),
            ("http", Some(arg)) => parse_http(arg, name),
            _ => Err(format!(
                "unknown fault {name:?}: expected ok, graph:CODE[/SUBCODE], \
                 graph_transient:CODE[/SUBCODE], throttle:MINUTES, http:STATUS, \
                 slow:MS, hang, reset, echo_token, harasocial_error, graph_varied:CODE[/SUBCODE], \
                 redirect:3XX, redirect_away:3XX/PORT, endless or huge_error:BYTES"
            )),
        }
    }
}

/// Parses the `CODE` or `CODE/SUBCODE` part of a `graph:` fault.
fn parse_graph(arg: &str, transient: bool) -> Result<Fault, String> {
    let (code, subcode) = match arg.split_once('/') {
        Some((code, subcode)) => (code, Some(number(subcode, arg)?)),
        None => (arg, None),
    };
    Ok(Fault::Graph { code: number(code, arg)?, subcode, transient })
}

/// Parses the status of an `http:` fault; only real, final statuses make sense.
fn parse_http(arg: &str, name: &str) -> Result<Fault, String> {
    let code: u16 = number(arg, name)?;
    match StatusCode::from_u16(code) {
        Ok(status) if (200..=599).contains(&code) => Ok(Fault::Http { status }),
        _ => Err(format!("fault {name:?}: status must be 200-599")),
    }
}

/// The statuses a redirect fault may use: the four that carry `Location`.
const REDIRECTS: [u16; 4] = [301, 302, 307, 308];

/// Parses the status of a `redirect:` fault.
fn redirect_status(arg: &str, name: &str) -> Result<u16, String> {
    let status = number(arg, name)?;
    if REDIRECTS.contains(&status) {
        Ok(status)
    } else {
        Err(format!("fault {name:?}: a redirect status is 301, 302, 307 or 308"))
    }
}

/// Parses `STATUS/PORT` of a `redirect_away:` fault.
fn parse_redirect_away(arg: &str, name: &str) -> Result<Fault, String> {
    let (status, port) =
        arg.split_once('/').ok_or_else(|| format!("fault {name:?}: expected redirect_away:STATUS/PORT"))?;
    let port = number::<u16>(port, name)?;
    if port == 0 {
        return Err(format!("fault {name:?}: port 0 is not a port"));
    }
    Ok(Fault::RedirectAway { status: redirect_status(status, name)?, port })
}

/// Parses a decimal number inside a fault name, naming the fault on error.
fn number<T: std::str::FromStr>(text: &str, name: &str) -> Result<T, String> {
    text.parse().map_err(|_| format!("fault {name:?}: {text:?} is not a non-negative integer"))
}

impl fmt::Display for Fault {
    /// Writes the canonical name, the inverse of [`Fault::parse`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ok => f.write_str("ok"),
            Self::Graph { code, subcode, transient } => {
                let kind = if *transient { "graph_transient" } else { "graph" };
                match subcode {
                    Some(sub) => write!(f, "{kind}:{code}/{sub}"),
                    None => write!(f, "{kind}:{code}"),
                }
            }
            Self::Throttle { minutes } => write!(f, "throttle:{minutes}"),
            Self::Http { status } => write!(f, "http:{}", status.as_u16()),
            Self::Slow { ms } => write!(f, "slow:{ms}"),
            Self::Hang => f.write_str("hang"),
            Self::Reset => f.write_str("reset"),
            Self::EchoToken => f.write_str("echo_token"),
            Self::HarasocialError => f.write_str("harasocial_error"),
            Self::GraphVaried { code, subcode: Some(sub) } => write!(f, "graph_varied:{code}/{sub}"),
            Self::GraphVaried { code, subcode: None } => write!(f, "graph_varied:{code}"),
            Self::Redirect { status } => write!(f, "redirect:{status}"),
            Self::RedirectAway { status, port } => write!(f, "redirect_away:{status}/{port}"),
            Self::Endless => f.write_str("endless"),
            Self::HugeError { bytes } => write!(f, "huge_error:{bytes}"),
        }
    }
}

/// A fault that strikes recipients without a script, with some probability.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RandomFault {
    /// What a struck request gets.
    pub fault: Fault,
    /// Chance in `[0, 1]` that a request is struck.
    pub probability: f64,
}

/// The scripted answer for the `nth` (0-based) request of a recipient: the
/// script's `nth` entry, or its last one once the script is used up.
pub fn scripted(script: &[Fault], nth: u64) -> Fault {
    let index = usize::try_from(nth).unwrap_or(usize::MAX);
    script.get(index).or(script.last()).copied().unwrap_or(Fault::Ok)
}

/// Whether the random fault strikes the `nth` request of `key`: a pure
/// function of its inputs, so runs with the same seed agree.
pub fn random_strikes(random: &RandomFault, seed: u64, key: &str, nth: u64) -> bool {
    let mixed = seed ^ fnv1a(key.as_bytes()) ^ nth.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    fastrand::Rng::with_seed(mixed).f64() < random.probability
}

/// FNV-1a: a small, stable string hash (std's hasher may change between
/// releases, which would change which requests a seed strikes).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_documented_name() {
        let cases = [
            ("ok", Fault::Ok),
            ("graph:613", Fault::Graph { code: 613, subcode: None, transient: false }),
            ("graph:10/2018278", Fault::Graph { code: 10, subcode: Some(2018278), transient: false }),
            ("graph_transient:2", Fault::Graph { code: 2, subcode: None, transient: true }),
            ("throttle:5", Fault::Throttle { minutes: 5 }),
            ("http:503", Fault::Http { status: StatusCode::SERVICE_UNAVAILABLE }),
            ("slow:250", Fault::Slow { ms: 250 }),
            ("hang", Fault::Hang),
            ("reset", Fault::Reset),
            ("echo_token", Fault::EchoToken),
            ("harasocial_error", Fault::HarasocialError),
            ("graph_varied:10900", Fault::GraphVaried { code: 10900, subcode: None }),
            ("graph_varied:100/7", Fault::GraphVaried { code: 100, subcode: Some(7) }),
            ("redirect:301", Fault::Redirect { status: 301 }),
            ("redirect:302", Fault::Redirect { status: 302 }),
            ("redirect:307", Fault::Redirect { status: 307 }),
            ("redirect:308", Fault::Redirect { status: 308 }),
            ("redirect_away:307/4100", Fault::RedirectAway { status: 307, port: 4100 }),
            ("endless", Fault::Endless),
            ("huge_error:52428800", Fault::HugeError { bytes: 52_428_800 }),
            ("graph:551/1545041", Fault::Graph { code: 551, subcode: Some(1545041), transient: false }),
            ("graph:2018321", Fault::Graph { code: 2018321, subcode: None, transient: false }),
        ];
        for (name, fault) in cases {
            assert_eq!(Fault::parse(name), Ok(fault), "{name}");
            assert_eq!(fault.to_string(), name, "round trip of {name}");
        }
    }

    #[test]
    fn rejects_malformed_names() {
        for name in [
            "",
            "OK",
            "graph",
            "graph:",
            "graph:x",
            "graph:1/",
            "graph:-1",
            "http:99",
            "http:600",
            "slow",
            "hang:1",
            "throttle:1.5",
            "nope:1",
            "redirect",
            "redirect:300",
            "redirect:200",
            "redirect_away:307",
            "redirect_away:307/0",
            "redirect_away:307/70000",
            "redirect_away:303/4100",
            "endless:1",
            "huge_error",
            "huge_error:-5",
            "graph_varied",
        ] {
            assert!(Fault::parse(name).is_err(), "{name:?} should be rejected");
        }
    }

    #[test]
    fn script_repeats_its_last_entry() {
        let script = [Fault::Throttle { minutes: 1 }, Fault::Ok];
        assert_eq!(scripted(&script, 0), Fault::Throttle { minutes: 1 });
        assert_eq!(scripted(&script, 1), Fault::Ok);
        assert_eq!(scripted(&script, 7), Fault::Ok);
        assert_eq!(scripted(&[], 0), Fault::Ok);
    }

    #[test]
    fn random_fault_is_deterministic_and_near_its_probability() {
        let random = RandomFault { fault: Fault::Hang, probability: 0.1 };
        let struck = |seed| -> Vec<u32> {
            (0..10_000).filter(|n| random_strikes(&random, seed, &format!("psid-{n}"), 0)).collect()
        };
        assert_eq!(struck(42), struck(42));
        assert_ne!(struck(42), struck(43));
        let count = struck(42).len();
        assert!((800..1200).contains(&count), "{count}");
    }

    #[test]
    fn random_fault_extremes() {
        let never = RandomFault { fault: Fault::Hang, probability: 0.0 };
        let always = RandomFault { probability: 1.0, ..never };
        for n in 0..100 {
            assert!(!random_strikes(&never, 1, "a", n));
            assert!(random_strikes(&always, 1, "a", n));
        }
    }
}
