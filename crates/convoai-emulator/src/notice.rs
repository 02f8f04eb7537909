//! Notices: the callbacks a change of the store asks for. Store operations return them and
//! never send anything; the layer holding the notifier hands them on (see `shared::Store`).

use serde_json::{Map, Value};

/// One event to send: its `eventType` and payload.
#[derive(Debug)]
pub(crate) struct Notice {
    pub event_type: u32,
    pub payload: Value,
}

/// The notices one store operation produced, in the order they are to be sent.
#[derive(Debug, Default)]
#[must_use = "notices are sent only when handed to the notifier"]
pub(crate) struct Notices(Vec<Notice>);

impl Notices {
    pub fn new() -> Self {
        Notices(Vec::new())
    }
    pub fn push(&mut self, event_type: u32, payload: Map<String, Value>) {
        self.0.push(Notice {
            event_type,
            payload: Value::Object(payload),
        });
    }
    pub fn push_notice(&mut self, notice: Notice) {
        self.0.push(notice);
    }
    pub fn append(&mut self, mut other: Notices) {
        self.0.append(&mut other.0);
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl IntoIterator for Notices {
    type Item = Notice;
    type IntoIter = std::vec::IntoIter<Notice>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// Common payload fields of an agent event.
pub(crate) fn agent_payload(
    agent_id: &str,
    name: &str,
    channel: &str,
    start_ts: u64,
    labels: Option<&Map<String, Value>>,
) -> Map<String, Value> {
    let mut p = Map::new();
    p.insert("agent_id".into(), Value::from(agent_id));
    p.insert("name".into(), Value::from(name));
    p.insert("start_ts".into(), Value::from(start_ts));
    p.insert("channel".into(), Value::from(channel));
    if let Some(l) = labels {
        p.insert("labels".into(), Value::Object(l.clone()));
    }
    p
}
