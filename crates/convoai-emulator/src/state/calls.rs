//! Calls in the store: outbound calls placed by the REST API and inbound calls answered by
//! an agent.

use serde_json::{Map, Value};

use crate::notice::Notice;

/// Which way a call goes: its REST `type` and its callback's event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallKind {
    /// Placed by the REST call API; `202` callbacks.
    Outbound,
    /// Received on an imported number (admin API); `201` callbacks. Its agent has the
    /// call's id.
    Inbound,
}

impl CallKind {
    pub fn name(self) -> &'static str {
        match self {
            CallKind::Outbound => "outbound",
            CallKind::Inbound => "inbound",
        }
    }
    fn event_type(self) -> u32 {
        match self {
            CallKind::Outbound => 202,
            CallKind::Inbound => 201,
        }
    }
}

pub(crate) struct Call {
    pub id: String,
    pub kind: CallKind,
    pub name: String,
    pub channel: String,
    pub to_number: String,
    pub from_number: String,
    pub pipeline_id: Option<String>,
    pub state: &'static str,
    pub reason: Option<&'static str>,
    pub create_ts: u64,
    pub stop_ts: Option<u64>,
    /// `properties.labels` of the call request, echoed in callbacks.
    pub labels: Option<Map<String, Value>>,
    /// `report_ms` of its latest callback (0: none yet): later ones are later, even within
    /// one millisecond.
    pub last_report_ms: u64,
}

impl Call {
    /// Its call-state callback (`201` inbound, `202` outbound).
    pub fn notice(&mut self, state: &str, now_ms: u64) -> Notice {
        // Strictly increasing per call, so a receiver can order its states by `report_ms`
        // even when several changes happen in the same millisecond.
        let now_ms = if self.last_report_ms == 0 {
            now_ms
        } else {
            now_ms.max(self.last_report_ms + 1)
        };
        self.last_report_ms = now_ms;
        let mut p = Map::new();
        p.insert("agent_id".into(), Value::from(self.id.as_str()));
        p.insert("name".into(), Value::from(self.name.as_str()));
        p.insert("channel".into(), Value::from(self.channel.as_str()));
        p.insert("state".into(), Value::from(state));
        p.insert("report_ms".into(), Value::from(now_ms));
        if let Some(l) = &self.labels {
            p.insert("labels".into(), Value::Object(l.clone()));
        }
        Notice {
            event_type: self.kind.event_type(),
            payload: Value::Object(p),
        }
    }

    pub fn to_json(&self, with_reason: bool) -> Value {
        let mut v = serde_json::json!({
            "agent_id": self.id, "channel": self.channel, "to_number": self.to_number,
            "from_number": self.from_number, "type": self.kind.name(), "state": self.state,
            "create_ts": self.create_ts, "stop_ts": self.stop_ts.unwrap_or(0),
        });
        if let (Some(p), Some(obj)) = (&self.pipeline_id, v.as_object_mut()) {
            obj.insert("pipeline_id".into(), Value::String(p.clone()));
        }
        if with_reason {
            if let (Some(r), Some(obj)) = (self.reason, v.as_object_mut()) {
                obj.insert("reason".into(), Value::String(r.into()));
            }
        }
        v
    }
}
