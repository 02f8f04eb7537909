//! Hides secret values in JSON, by field name. Vendor blocks are free-form JSON once built,
//! so their keys (`api_key`, `secret_key`, `token`, …) are the only record of what is secret.

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

/// A copy of a vendor block with its secrets redacted, for `Debug` output.
pub(crate) fn redacted(map: &serde_json::Map<String, Value>) -> Value {
    let mut v = Value::Object(map.clone());
    redact_json(&mut v);
    v
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
