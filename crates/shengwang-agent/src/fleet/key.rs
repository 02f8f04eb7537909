//! Fleet keys, the agent names derived from them, and the names of the Redis keys the fleet
//! writes. Every variable part of a Redis key name (fleet key, agent id, instance) is
//! hex-encoded, so a crafted id cannot inject a separator or a hash tag; the `{...}` hash tag
//! puts every key one operation touches in one Redis Cluster slot.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// Default prefix of the fleet's Redis keys and of its agent names' hash.
pub const DEFAULT_PREFIX: &str = "convoai";

/// The key a fleet keeps one agent per (the channel is the natural key): 1 to 64 bytes of
/// the channel-name characters ([`validate_channel`](crate::validate::validate_channel)).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FleetKey(String);

impl FleetKey {
    /// Checks `key` against the channel-name rule.
    pub fn new(key: impl Into<String>) -> Result<Self> {
        let key = key.into();
        crate::validate::validate_channel(&key).map_err(|e| e.renamed("key"))?;
        Ok(FleetKey(key))
    }
    /// The key as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FleetKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for FleetKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FleetKey({:?})", self.0)
    }
}

impl AsRef<str> for FleetKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl TryFrom<&str> for FleetKey {
    type Error = Error;
    fn try_from(s: &str) -> Result<Self> {
        FleetKey::new(s)
    }
}

/// The agent name of `key`'s agent: `fleet-` and the first 32 hex digits of
/// SHA-256(prefix, NUL, key). Deterministic, so every process derives the same name and the
/// service's 409 on it proves that the key's agent is running.
pub fn agent_name(prefix: &str, key: &FleetKey) -> String {
    let mut h = Sha256::new();
    h.update(prefix.as_bytes());
    h.update([0u8]);
    h.update(key.as_str().as_bytes());
    let digest = hex::encode(h.finalize());
    format!("fleet-{}", &digest[..32])
}

/// Checks a key prefix: 1 to 64 printable ASCII characters, no braces (they would form
/// another hash tag) and no whitespace.
pub(crate) fn check_prefix(prefix: &str) -> Result<()> {
    let ok = !prefix.is_empty()
        && prefix.len() <= 64
        && prefix
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'{' && b != b'}');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "prefix",
            "must be 1 to 64 printable ASCII characters without braces or spaces",
        ))
    }
}

/// The names of the Redis keys under one prefix.
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    prefix: String,
}

impl Keys {
    pub(crate) fn new(prefix: &str) -> Self {
        Keys {
            prefix: prefix.to_owned(),
        }
    }
    fn session(&self, key: &str, what: &str) -> String {
        format!("{}:{{s:{}}}:{what}", self.prefix, hex::encode(key))
    }
    /// The record hash of a fleet key.
    pub(crate) fn rec(&self, key: &str) -> String {
        self.session(key, "rec")
    }
    /// The event list of a fleet key.
    pub(crate) fn events(&self, key: &str) -> String {
        self.session(key, "events")
    }
    /// The set of notice ids applied to a fleet key's session.
    pub(crate) fn seen(&self, key: &str) -> String {
        self.session(key, "seen")
    }
    /// The answer of one routed request about a fleet key.
    pub(crate) fn reply(&self, key: &str, nonce: &str) -> String {
        self.session(key, &format!("reply:{}", hex::encode(nonce)))
    }
    /// Agent id -> fleet key.
    pub(crate) fn agent(&self, agent_id: &str) -> String {
        format!("{}:{{a:{}}}", self.prefix, hex::encode(agent_id))
    }
    fn process(&self, instance: &str, what: &str) -> String {
        format!("{}:{{p:{}}}:{what}", self.prefix, hex::encode(instance))
    }
    /// A process's heartbeat.
    pub(crate) fn hb(&self, instance: &str) -> String {
        self.process(instance, "hb")
    }
    /// The set of fleet keys a process owns.
    pub(crate) fn owns(&self, instance: &str) -> String {
        self.process(instance, "owns")
    }
    /// A process's inbox stream.
    pub(crate) fn inbox(&self, instance: &str) -> String {
        self.process(instance, "inbox")
    }
    /// Every process, by its last beat.
    pub(crate) fn procs(&self) -> String {
        format!("{}:{{fleet}}:procs", self.prefix)
    }
    /// Keys released by draining processes.
    pub(crate) fn released(&self) -> String {
        format!("{}:{{fleet}}:released", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_derived_and_key_names_hex_encoded() {
        let k = FleetKey::new("room {1}").unwrap();
        let name = agent_name("convoai", &k);
        assert_eq!(name.len(), "fleet-".len() + 32);
        assert_eq!(name, agent_name("convoai", &k));
        assert_ne!(name, agent_name("other", &k));
        let keys = Keys::new("p");
        assert_eq!(keys.rec("room {1}"), "p:{s:726f6f6d207b317d}:rec");
        assert!(FleetKey::new("").is_err());
        assert!(FleetKey::new("a\nb").is_err());
        assert!(check_prefix("a{b").is_err());
        assert!(check_prefix("convoai-test").is_ok());
    }
}
