//! Any bytes as a campaign file: the loader and the validator answer, never
//! panic, never overflow the stack.
#![no_main]

use std::path::Path;

use chrono::{DateTime, Utc};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let now = DateTime::<Utc>::from_timestamp(1_795_305_600, 0).expect("a time");
    if let Ok(loaded) = pagecast::campaign::load::load_bytes(Path::new("fuzz.yaml"), data) {
        let _ = pagecast::campaign::validate(&loaded, now);
    }
});
