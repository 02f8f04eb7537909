//! Telephony: outbound calls, their status and hang-up.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{open_enum, Extra, ListMeta};

open_enum! {
    /// Direction of a call.
    CallType {
        /// Incoming.
        Inbound => "inbound",
        /// Outgoing.
        Outbound => "outbound",
    }
}

open_enum! {
    /// State of a phone call: the one type of the REST call status (`state`, lower case:
    /// `answered`, `hangup`) and of the webhook call notices (upper case: `ANSWERED`, …).
    /// Parsing accepts both spellings; it prints and serializes the webhook's (upper case);
    /// [`CallState::as_rest_str`] gives the REST one, which [`CallInfo`] serializes.
    CallState {
        /// The call was received or placed (webhook).
        Start => "START",
        /// Dialling (outbound; webhook).
        Calling => "CALLING",
        /// The callee's phone rings (outbound; webhook).
        Ringing => "RINGING",
        /// The call was answered; in progress.
        Answered => "ANSWERED" | "answered",
        /// Handed over to a human (inbound; webhook; the service spells it with one R).
        Transferred => "TRANSFERED",
        /// The call ended.
        Hangup => "HANGUP" | "hangup",
    }
}

impl CallState {
    /// The REST API's spelling (lower case: `answered`, `hangup`); an unknown value as sent.
    pub fn as_rest_str(&self) -> &str {
        match self {
            Self::Start => "start",
            Self::Calling => "calling",
            Self::Ringing => "ringing",
            Self::Answered => "answered",
            Self::Transferred => "transfered",
            Self::Hangup => "hangup",
            Self::Other(s) => s,
        }
    }
}

/// Serializes [`CallInfo::state`] as the REST API spells it.
fn rest_call_state<S: serde::Serializer>(v: &Option<CallState>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(state) => s.serialize_some(state.as_rest_str()),
        None => s.serialize_none(),
    }
}

open_enum! {
    /// Why a call ended.
    CallReason {
        /// Hung up through the API.
        Request => "request",
        /// The other party hung up.
        Hangup => "hangup",
        /// It failed.
        Failed => "failed",
    }
}

/// SIP side of an outbound call; numbers are E.164.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Sip {
    /// Callee.
    pub to_number: String,
    /// Caller id.
    pub from_number: String,
    /// The SIP gateway's uid in the channel.
    pub rtc_uid: String,
    /// The SIP gateway's token.
    pub rtc_token: String,
}

/// `POST …/call`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct CallRequest {
    /// Call session name.
    pub name: String,
    /// SIP side.
    pub sip: Sip,
    /// Published AI Studio pipeline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline_id: Option<String>,
    /// Agent side: `channel`, `token`, `agent_rtc_uid`, `remote_rtc_uids`, and without a
    /// pipeline a complete agent configuration.
    pub properties: Value,
}

/// Answer to a call request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallCreated {
    /// Id for get and hang-up.
    pub agent_id: String,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A call, as list and get return it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallInfo {
    /// Call id.
    pub agent_id: String,
    /// Channel.
    #[serde(default)]
    pub channel: Option<String>,
    /// Callee.
    #[serde(default)]
    pub to_number: Option<String>,
    /// Caller.
    #[serde(default)]
    pub from_number: Option<String>,
    /// Pipeline.
    #[serde(default)]
    pub pipeline_id: Option<String>,
    /// Direction.
    #[serde(default, rename = "type")]
    pub kind: Option<CallType>,
    /// State (serialized lower case, as the REST API sends it).
    #[serde(default, serialize_with = "rest_call_state")]
    pub state: Option<CallState>,
    /// Why it ended (get only).
    #[serde(default)]
    pub reason: Option<CallReason>,
    /// Start time.
    #[serde(default)]
    pub create_ts: Option<u64>,
    /// End time (0 or absent while live).
    #[serde(default)]
    pub stop_ts: Option<u64>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `data` of a call list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallListData {
    /// Items in this page.
    #[serde(default)]
    pub count: Option<u64>,
    /// The calls.
    pub list: Vec<CallInfo>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Answer to a call list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallList {
    /// The page.
    pub data: CallListData,
    /// Cursor and total.
    #[serde(default)]
    pub meta: Option<ListMeta>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

impl std::fmt::Debug for Sip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::redact::debug_json("Sip", self, f)
    }
}

impl std::fmt::Debug for CallRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::redact::debug_json("CallRequest", self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_state_reads_both_spellings_and_writes_each_side_its_own() {
        for (wire, state) in [
            ("answered", CallState::Answered),
            ("ANSWERED", CallState::Answered),
            ("hangup", CallState::Hangup),
            ("HANGUP", CallState::Hangup),
            ("TRANSFERED", CallState::Transferred),
            ("Answered", CallState::Other("Answered".into())),
        ] {
            assert_eq!(CallState::from(wire), state);
            assert_eq!(CallState::from(wire.to_owned()), state);
        }
        assert_eq!(CallState::Answered.to_string(), "ANSWERED");
        assert_eq!(CallState::Hangup.as_rest_str(), "hangup");
        assert_eq!(CallState::NAMES.len(), 6);

        let body = r#"{"agent_id":"a","state":"answered"}"#;
        let info: CallInfo = serde_json::from_str(body).unwrap();
        assert_eq!(info.state, Some(CallState::Answered));
        let back = serde_json::to_value(&info).unwrap();
        assert_eq!(back["state"], "answered");
        let none: CallInfo = serde_json::from_str(r#"{"agent_id":"a"}"#).unwrap();
        assert_eq!(serde_json::to_value(&none).unwrap()["state"], Value::Null);
    }
}
