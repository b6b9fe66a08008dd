//! The state shared by every connection: the current config, how many
//! requests each scripted recipient has made, and the journal.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use crate::config::Config;
use crate::fault::{self, Fault};
use crate::journal::Journal;

/// Everything the handlers share.
pub struct Sandbox {
    /// The config answering requests; replaced whole by `PUT /_sandbox/config`.
    config: RwLock<Arc<Config>>,
    /// Requests seen so far per fault key (recipient, or page for
    /// conversations), only for keys whose fault depends on it.
    attempts: Mutex<HashMap<String, u64>>,
    /// The record of requests.
    pub journal: Journal,
    /// `--latency-ms`, which wins over every config's `latency_ms`.
    pub latency_override: Option<u64>,
    /// The address the sandbox listens on, for links when `Host` is absent.
    pub local_addr: SocketAddr,
    /// Page message templates (seeded from the config, changed by creates and reviews).
    pub templates: Mutex<crate::templates::Store>,
}

impl Sandbox {
    /// A sandbox starting with `config`.
    pub fn new(config: Config, journal: Journal, latency_override: Option<u64>, local_addr: SocketAddr) -> Self {
        Self {
            templates: Mutex::new(crate::templates::Store::from_config(&config)),
            config: RwLock::new(Arc::new(config)),
            attempts: Mutex::new(HashMap::new()),
            journal,
            latency_override,
            local_addr,
        }
    }

    /// The current config.
    pub fn config(&self) -> Arc<Config> {
        Arc::clone(&self.config.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Replaces the config; fault scripts start again from their first entry.
    pub fn replace_config(&self, config: Config) {
        *self.templates.lock().unwrap_or_else(PoisonError::into_inner) = crate::templates::Store::from_config(&config);
        *self.config.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(config);
        self.clear_attempts();
    }

    /// Forgets the journal and restarts fault scripts.
    pub fn reset(&self) {
        self.journal.clear();
        self.clear_attempts();
    }

    /// The fault for the next request of `key`: its script, else (when
    /// `random` allows) the random fault, else `ok`. Keys that need neither
    /// are not counted, so plain benchmark traffic costs no map work.
    pub fn pick_fault(&self, config: &Config, key: &str, random: bool) -> Fault {
        let script = config.faults.get(key);
        let random_fault = config.random_fault.filter(|_| random);
        if script.is_none() && random_fault.is_none() {
            return Fault::Ok;
        }
        let nth = self.next_attempt(key);
        match (script, random_fault) {
            (Some(script), _) => fault::scripted(script, nth),
            (None, Some(r)) if fault::random_strikes(&r, config.seed, key, nth) => r.fault,
            _ => Fault::Ok,
        }
    }

    /// Returns how many requests `key` made before this one, counting this one.
    fn next_attempt(&self, key: &str) -> u64 {
        let mut attempts = self.attempts.lock().unwrap_or_else(PoisonError::into_inner);
        match attempts.get_mut(key) {
            Some(count) => {
                *count += 1;
                *count - 1
            }
            None => {
                attempts.insert(key.to_owned(), 1);
                0
            }
        }
    }

    /// Restarts every fault script.
    fn clear_attempts(&self) {
        self.attempts.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sandbox(json: &str) -> Sandbox {
        let config = Config::from_json(json.as_bytes(), None).expect("valid config");
        let addr = SocketAddr::from(([127, 0, 0, 1], 0));
        Sandbox::new(config, Journal::new(None), None, addr)
    }

    fn picks(sandbox: &Sandbox, key: &str, n: usize) -> Vec<String> {
        let config = sandbox.config();
        (0..n).map(|_| sandbox.pick_fault(&config, key, true).to_string()).collect()
    }

    #[test]
    fn scripts_run_per_recipient_and_restart_on_reset() {
        let sandbox = sandbox(r#"{"faults": {"a": ["graph:613", "http:502", "ok"]}}"#);
        assert_eq!(picks(&sandbox, "a", 4), ["graph:613", "http:502", "ok", "ok"]);
        assert_eq!(picks(&sandbox, "b", 2), ["ok", "ok"]);
        sandbox.reset();
        assert_eq!(picks(&sandbox, "a", 1), ["graph:613"]);
    }

    #[test]
    fn new_config_restarts_scripts() {
        let sandbox = sandbox(r#"{"faults": {"a": ["hang", "ok"]}}"#);
        assert_eq!(picks(&sandbox, "a", 1), ["hang"]);
        let config = Config::from_json(br#"{"faults": {"a": ["reset", "ok"]}}"#, None);
        sandbox.replace_config(config.expect("valid"));
        assert_eq!(picks(&sandbox, "a", 2), ["reset", "ok"]);
    }

    #[test]
    fn random_fault_only_where_allowed_and_repeatable() {
        let json = r#"{"random_fault": {"fault": "graph:2", "probability": 0.5}, "seed": 7}"#;
        let first = picks(&sandbox(json), "x", 50);
        assert_eq!(first, picks(&sandbox(json), "x", 50));
        assert!(first.iter().any(|f| f == "graph:2") && first.iter().any(|f| f == "ok"));

        let sandbox = sandbox(json);
        let config = sandbox.config();
        assert!((0..50).all(|_| sandbox.pick_fault(&config, "x", false) == Fault::Ok));
    }
}
