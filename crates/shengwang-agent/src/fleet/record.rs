//! The fleet's record of a session is the SDK's one [`SessionRecord`] (schema
//! [`SCHEMA_VERSION`]), kept in Redis as a hash whose fields the scripts read (`owner`,
//! `epoch`, `state`) — and the events a session's record lists.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::agentkit::session::{SessionRecord, SessionState, SCHEMA_VERSION};
use crate::{Error, Result};

/// How many events a record keeps (the oldest go first).
pub const MAX_EVENTS: usize = 50;

/// One event in a fleet session's history, as every replica reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FleetEventRecord {
    /// What happened: a notice's kind (`agent_left`, `agent_error`, …) or a fleet step
    /// (`started`, `taken_over`, `adopted`, `orphan_stopped`, `handed_over`, `stopped`).
    pub kind: String,
    /// Unix milliseconds when it was recorded.
    pub at_ms: u64,
    /// Small details (a notice id, an owner, a reason); never a secret.
    #[serde(default)]
    pub detail: serde_json::Value,
}

impl FleetEventRecord {
    /// An event of `kind` now.
    pub fn new(kind: impl Into<String>, detail: serde_json::Value) -> Self {
        FleetEventRecord {
            kind: kind.into(),
            at_ms: now_ms(),
            detail,
        }
    }
    pub(crate) fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
    /// An event read back; one that does not parse is skipped by the caller.
    pub(crate) fn from_json(s: &str) -> Option<Self> {
        serde_json::from_str(s).ok()
    }
}

/// Unix milliseconds now.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// True while a record's agent may be running: a start for its key joins it.
pub(crate) fn is_live(state: SessionState) -> bool {
    matches!(
        state,
        SessionState::Starting | SessionState::Running | SessionState::Stopping
    )
}

fn parse_state(s: &str) -> Option<SessionState> {
    SessionState::ALL.into_iter().find(|st| st.as_str() == s)
}

/// The record's hash fields, as the scripts write them.
pub(crate) fn to_fields(r: &SessionRecord) -> Vec<(&'static str, String)> {
    vec![
        ("v", r.schema_version.to_string()),
        ("key", r.key.clone()),
        ("owner", r.owner.clone()),
        ("epoch", r.epoch.to_string()),
        ("state", r.status.as_str().to_owned()),
        ("agent_id", r.agent_id.clone().unwrap_or_default()),
        ("name", r.name.clone()),
        ("channel", r.channel.clone()),
        ("agent_uid", r.uid.clone()),
        (
            "remote_uids",
            serde_json::to_string(&r.remote_uids).unwrap_or_default(),
        ),
        ("updated_ms", r.updated_ms.to_string()),
    ]
}

/// A record read from its hash fields: `None` for an empty hash (no record), and a record of
/// a newer schema refused with [`Error::RecordTooNew`] before anything else is read.
pub(crate) fn from_fields(key: &str, f: &HashMap<String, String>) -> Result<Option<SessionRecord>> {
    if f.is_empty() {
        return Ok(None);
    }
    let bad = |what: &str| {
        Error::invalid(
            "fleet record",
            format!("field {what} is missing or malformed"),
        )
    };
    let v: u32 = f
        .get("v")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| bad("v"))?;
    if v > SCHEMA_VERSION {
        return Err(Error::RecordTooNew {
            key: key.to_owned(),
            found: v,
            known: SCHEMA_VERSION,
        });
    }
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    let mut r = SessionRecord::new(key, &get("name"), &get("channel"));
    r.owner = get("owner");
    r.epoch = get("epoch").parse().map_err(|_| bad("epoch"))?;
    r.status = parse_state(&get("state")).ok_or_else(|| bad("state"))?;
    r.agent_id = Some(get("agent_id")).filter(|a| !a.is_empty());
    r.uid = get("agent_uid");
    r.remote_uids = serde_json::from_str(&get("remote_uids")).unwrap_or_default();
    r.updated_ms = get("updated_ms").parse().unwrap_or(0);
    Ok(Some(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip_and_newer_schema_is_refused() {
        let mut r = SessionRecord::new("room", "fleet-x", "room");
        r.owner = "a".into();
        r.epoch = 3;
        r.status = SessionState::Running;
        r.agent_id = Some("A1".into());
        r.uid = "1001".into();
        r.remote_uids = vec!["2002".into()];
        r.updated_ms = 5;
        let map: HashMap<String, String> = to_fields(&r)
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        assert_eq!(from_fields("room", &map).unwrap(), Some(r));
        let mut newer = map.clone();
        newer.insert("v".into(), "99".into());
        assert!(matches!(
            from_fields("room", &newer),
            Err(Error::RecordTooNew { found: 99, .. })
        ));
        assert_eq!(from_fields("room", &HashMap::new()).unwrap(), None);
    }
}
