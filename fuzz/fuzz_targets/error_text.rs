//! Any text through the sanitizer that every server string passes before it reaches an
//! error or a log: no control character survives, the output is bounded, and a secret
//! cut out of the input never appears whole.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shengwang_agent::redact::{Scrubber, MAX_FIELD_CHARS};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut scrubber = Scrubber::new();
    // A secret taken from the input itself, so it is sure to occur.
    let secret: String = text.chars().skip(3).take(12).collect();
    scrubber.secret(&secret);
    let out = scrubber.text(&text);
    assert!(!out.chars().any(char::is_control), "{out:?}");
    assert!(out.chars().count() <= MAX_FIELD_CHARS * 12 + 40, "{}", out.len());
    // Escapes (`\u{..}`) and the marker itself could spell such a secret without a leak.
    let plain = !secret.chars().any(|c| c.is_control() || matches!(c, '[' | ']' | '\\'));
    if secret.len() >= 6 && plain && !"redacted".contains(secret.as_str()) {
        assert!(!out.contains(&secret), "secret left in {out:?}");
    }
    if let Ok(json) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = scrubber.json(&json).to_string();
    }
});
