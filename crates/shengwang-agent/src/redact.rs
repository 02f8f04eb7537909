//! Hides secrets and makes untrusted text safe to print.
//!
//! Two rules, applied together wherever server text reaches an error, a log or a terminal:
//! - by field name: vendor blocks are free-form JSON once built, so their keys (`api_key`,
//!   `secret_key`, `token`, …) are the only record of what is secret ([`redact_json`]);
//! - by value: a server can echo anything it received (the `Authorization` header, the join
//!   body), so every secret the client knows is replaced wherever it appears ([`Scrubber`]).
//!
//! Server text is also cut to [`MAX_FIELD_CHARS`] characters per field and its control
//! characters are escaped, so it can neither flood a log nor drive a terminal.

use serde_json::Value;

/// What replaces a secret value.
pub const REDACTED: &str = "[redacted]";

/// True for a field name that holds a credential: names ending in `key`, `token` or `salt`,
/// containing `secret` or `password`, plus `access_key_id` and `authorization` (so `api_key`,
/// `appKey`, `agora_token`, `secret_id`, `encryption_salt`). `max_tokens` and `voice_id` are
/// not secrets.
pub fn is_secret_field(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["key", "token", "salt"].iter().any(|end| n.ends_with(end))
        || ["secret", "password"].iter().any(|part| n.contains(part))
        || matches!(n.as_str(), "access_key_id" | "authorization")
}

/// Replaces, anywhere in `value`, every string or number under a secret field name
/// ([`is_secret_field`]) with [`REDACTED`]. Objects and arrays under such names are redacted
/// whole.
pub fn redact_json(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if is_secret_field(k) && !v.is_null() {
                    *v = Value::String(REDACTED.into());
                } else {
                    redact_json(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_json),
        _ => {}
    }
}

/// `Debug` for wire types that carry tokens or vendor keys: `Name {json}` with the secrets
/// redacted, so `{:?}` of a request never shows them.
pub(crate) fn debug_json<T: serde::Serialize>(
    name: &str,
    value: &T,
    f: &mut std::fmt::Formatter<'_>,
) -> std::fmt::Result {
    let mut v = serde_json::to_value(value).map_err(|_| std::fmt::Error)?;
    redact_json(&mut v);
    write!(f, "{name} {v}")
}

/// Longest piece of server text kept in an error or a log line, in characters; the rest is
/// summarised as `…(N more bytes)`.
pub const MAX_FIELD_CHARS: usize = 512;

/// Secrets shorter than this are not searched for by value: replacing every `1` of a text
/// would hide nothing and ruin the message. Certificates, secrets and tokens are far longer.
const MIN_SECRET_LEN: usize = 6;

/// Items kept per JSON array or object, and nesting depth kept, when a server's body is
/// stored in an error.
const MAX_JSON_ITEMS: usize = 64;
const MAX_JSON_DEPTH: usize = 16;

/// Replaces known secret values in untrusted text, escapes its control characters and caps
/// its length. Build one with the secrets of a request, then pass every piece of the
/// response through it.
#[derive(Default, Clone)]
pub struct Scrubber {
    secrets: Vec<String>,
}

impl std::fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scrubber")
            .field("secrets", &self.secrets.len())
            .finish()
    }
}

impl Scrubber {
    /// A scrubber that knows no secret yet (it still escapes and caps).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a secret value; too short or empty values are ignored.
    pub fn secret(&mut self, value: impl AsRef<str>) -> &mut Self {
        let v = value.as_ref();
        if v.len() >= MIN_SECRET_LEN && !self.secrets.iter().any(|s| s == v) {
            self.secrets.push(v.to_owned());
            // Longest first, so a secret that contains another is replaced whole.
            self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
        self
    }

    /// Adds every value under a secret field name in `json` (see [`is_secret_field`]).
    pub fn secrets_in_json(&mut self, json: &Value) -> &mut Self {
        match json {
            Value::Object(map) => {
                for (k, v) in map {
                    if is_secret_field(k) {
                        self.secrets_anywhere(v);
                    } else {
                        self.secrets_in_json(v);
                    }
                }
            }
            Value::Array(items) => {
                for v in items {
                    self.secrets_in_json(v);
                }
            }
            _ => {}
        }
        self
    }

    fn secrets_anywhere(&mut self, json: &Value) {
        match json {
            Value::String(s) => {
                self.secret(s);
            }
            Value::Number(n) => {
                self.secret(n.to_string());
            }
            Value::Array(items) => items.iter().for_each(|v| self.secrets_anywhere(v)),
            Value::Object(map) => map.values().for_each(|v| self.secrets_anywhere(v)),
            _ => {}
        }
    }

    /// `text` with every known secret replaced by [`REDACTED`], control characters escaped
    /// (`\n`, `\u{1b}`) and at most [`MAX_FIELD_CHARS`] characters kept.
    pub fn text(&self, text: &str) -> String {
        self.text_capped(text, MAX_FIELD_CHARS)
    }

    /// [`text`](Self::text) with another cap.
    pub fn text_capped(&self, text: &str, max_chars: usize) -> String {
        // Cut before replacing so the work is bounded by the cap, but keep enough to see a
        // secret that straddles the cut whole.
        let longest = self.secrets.first().map_or(0, String::len);
        let window_end = char_boundary(text, max_chars.saturating_mul(4) + longest);
        let mut kept = text[..window_end].to_owned();
        for s in &self.secrets {
            if kept.contains(s.as_str()) {
                kept = kept.replace(s.as_str(), REDACTED);
            }
        }
        let mut out = String::with_capacity(kept.len().min(max_chars * 2));
        let mut cut_at = None;
        for (n, (i, c)) in kept.char_indices().enumerate() {
            if n >= max_chars {
                cut_at = Some(i);
                break;
            }
            escape_into(&mut out, c);
        }
        let dropped = match cut_at {
            Some(i) => (kept.len() - i) + (text.len() - window_end),
            None => text.len() - window_end,
        };
        // Escaping can spell a secret that the raw text did not hold whole (`\n` + text):
        // look once more.
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), REDACTED);
            }
        }
        if dropped > 0 {
            out.push_str(&format!("…({dropped} more bytes)"));
        }
        out
    }

    /// A copy of `json` safe to keep in an error: secrets redacted by field name and by
    /// value, every string through [`text`](Self::text), arrays and objects cut to a few
    /// dozen items and a bounded depth.
    pub fn json(&self, json: &Value) -> Value {
        let mut v = self.json_at(json, 0);
        redact_json(&mut v);
        v
    }

    fn json_at(&self, json: &Value, depth: usize) -> Value {
        if depth >= MAX_JSON_DEPTH {
            return Value::String("…".into());
        }
        match json {
            Value::String(s) => Value::String(self.text(s)),
            Value::Number(n) => {
                let text = n.to_string();
                if self.secrets.contains(&text) {
                    Value::String(REDACTED.into())
                } else {
                    json.clone()
                }
            }
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .take(MAX_JSON_ITEMS)
                    .map(|v| self.json_at(v, depth + 1))
                    .collect(),
            ),
            Value::Object(map) => Value::Object(
                map.iter()
                    .take(MAX_JSON_ITEMS)
                    .map(|(k, v)| (self.text_capped(k, 64), self.json_at(v, depth + 1)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

fn char_boundary(s: &str, at: usize) -> usize {
    if at >= s.len() {
        return s.len();
    }
    let mut i = at;
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn escape_into(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if needs_escape(c) => {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        }
        c => out.push(c),
    }
}

/// True for a character that must not reach a terminal as it is: the C0 controls (ESC, BEL,
/// CR, LF, …), DEL, the C1 controls U+0080–U+009F (U+009B is a one-character CSI) and the
/// Unicode controls that reorder text (used to disguise what a line says). The one rule of
/// this module, [`escape`] and [`sanitize`] for what to escape.
pub fn needs_escape(c: char) -> bool {
    c.is_control() || is_bidi_control(c)
}

/// Unicode controls that reorder text on a terminal (used to disguise what a line says).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

/// Untrusted text made safe for one line of a terminal, nothing cut: every character of
/// [`needs_escape`] written as a visible escape (`\n`, `\r`, `\t`, `\u{1b}`, `\u{9b}`). The
/// result holds no control character, so escaping it again changes nothing. Borrowed when
/// there is nothing to escape.
pub fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    text.chars().for_each(|c| escape_into(&mut out, c));
    std::borrow::Cow::Owned(out)
}

/// Escapes ([`escape`]) and caps untrusted text that carries no secret (see
/// [`Scrubber::text`]).
pub fn sanitize(text: &str) -> String {
    Scrubber::new().text(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scrubber_replaces_secrets_by_value_escapes_and_caps() {
        let mut s = Scrubber::new();
        s.secret("SENTINEL-CERT-0001").secret("abc");
        let out = s.text("echo: Authorization: agora token=SENTINEL-CERT-0001\r\n\u{1b}]0;x\u{7}");
        assert!(!out.contains("SENTINEL"), "{out}");
        assert!(
            !out.contains('\u{1b}') && !out.contains('\n') && !out.contains('\r'),
            "{out}"
        );
        assert!(out.contains(REDACTED) && out.contains("\\u{1b}"), "{out}");
        let big = "x".repeat(6 * 1024 * 1024);
        let out = s.text(&big);
        assert!(out.len() < 700, "{}", out.len());
        assert!(
            out.ends_with(&format!("…({} more bytes)", big.len() - MAX_FIELD_CHARS)),
            "{}",
            &out[500..]
        );
        // A secret right at the cut is still found.
        let mut t = "y".repeat(MAX_FIELD_CHARS - 3);
        t.push_str("SENTINEL-CERT-0001");
        assert!(!s.text(&t).contains("SENT"));
        // An escape must not spell a secret either (found by fuzzing).
        let mut n = Scrubber::new();
        n.secret("nSENTINEL-2");
        assert!(!n.text("x\nSENTINEL-2").contains("nSENTINEL-2"));
        // Multi-byte text is cut on a character boundary.
        let out = s.text(&"é".repeat(2000));
        assert!(out.starts_with("éé"));
    }

    #[test]
    fn escape_leaves_no_control_and_is_idempotent() {
        let hostile = "a\u{1b}[31mb\u{1b}]0;title\u{7}\r\n\u{9b}2J\u{7f}\u{202e}z é";
        let once = escape(hostile);
        assert!(!once.chars().any(needs_escape), "{once}");
        assert_eq!(
            once,
            "a\\u{1b}[31mb\\u{1b}]0;title\\u{7}\\r\\n\\u{9b}2J\\u{7f}\\u{202e}z é"
        );
        assert_eq!(escape(&once), once);
        assert!(matches!(escape("plain é"), std::borrow::Cow::Borrowed(_)));
        assert_eq!(sanitize(hostile), once);
    }

    #[test]
    fn scrubber_json_bounds_and_redacts() {
        let mut s = Scrubber::new();
        s.secrets_in_json(
            &json!({"llm": {"api_key": "SENTINEL-LLM-KEY"}, "token": "007eJxSENTINEL"}),
        );
        let body = json!({
            "detail": "you sent SENTINEL-LLM-KEY and 007eJxSENTINEL",
            "echo": {"headers": {"authorization": "Basic xyz"}},
            "list": (0..1000).collect::<Vec<_>>(),
        });
        let v = s.json(&body);
        let text = v.to_string();
        assert!(
            !text.contains("SENTINEL") && !text.contains("Basic xyz"),
            "{text}"
        );
        assert_eq!(v["list"].as_array().map(Vec::len), Some(MAX_JSON_ITEMS));
    }

    #[test]
    fn secret_fields_are_redacted_at_any_depth() {
        let mut v = json!({
            "llm": {"api_key": "S1", "params": {"max_tokens": 10, "model": "m"}},
            "tts": {"params": {"key": "S2", "secret_id": "S3", "secret_key": "S4", "voice_id": "v"}},
            "asr": {"params": {"access_key_id": "S5", "access_key_secret": "S6", "api_secret": "S7"}},
            "avatar": {"params": {"agora_token": "S8", "app_key": "S9", "agora_uid": "1"}},
            "rtc": {"encryption_key": "S10", "encryption_salt": "S11"},
            "token": "S12",
            "list": [{"token": "S13"}],
            "none": {"api_key": null}
        });
        redact_json(&mut v);
        let text = v.to_string();
        for i in 1..=13 {
            assert!(!text.contains(&format!("\"S{i}\"")), "S{i} left in {text}");
        }
        assert_eq!(v["llm"]["params"]["max_tokens"], 10);
        assert_eq!(v["tts"]["params"]["voice_id"], "v");
        assert_eq!(v["avatar"]["params"]["agora_uid"], "1");
        assert_eq!(v["none"]["api_key"], Value::Null);
        assert_eq!(v["token"], REDACTED);
    }
}
