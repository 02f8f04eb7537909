//! Ids and labels that REST replies and notification callbacks share. Their public path is
//! `webhooks::{AgentId, Labels, TurnId}`; they live here, below both, so that `types` never
//! imports `webhooks`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Id of an agent instance, as returned by the REST join or call request.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AgentId(String);

impl AgentId {
    /// Wraps an id.
    pub fn new(id: impl Into<String>) -> Self {
        AgentId(id.into())
    }
    /// The id as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for AgentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Labels given at start (`properties.labels`) and echoed on every event. Values are strings
/// when set through the SDK; other JSON values are kept as they came.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Labels(pub Map<String, Value>);

impl Labels {
    /// The label `key`, if it is a string.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(Value::as_str)
    }
    /// Every label.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }
    /// True when no label is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A turn id: the service sends integers, strings and `""` for the same field.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TurnId {
    /// An integer id.
    Number(i64),
    /// A string id (possibly empty).
    Text(String),
}
