//! The callback envelope and the typed payload of each ConvoAI event type.
//!
//! Every payload keeps the keys it does not know in `extra`, every string set the service
//! documents is an open enum (`Other(..)` keeps new values), and an event type this SDK does
//! not know, or one from another product, arrives as [`Event::Other`] with its raw payload.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::error::WebhookError;
use crate::types::agents::AgentHistory;
pub use crate::types::ids::{AgentId, Labels, TurnId};
pub use crate::types::telephony::CallState;
use crate::types::turns::TurnMetrics;
use crate::types::{lenient, open_enum};

mod extra;

/// `productId` of the Conversational AI Engine.
pub const CONVOAI_PRODUCT_ID: u32 = 17;

/// Id of one notification; the same on every resend of it, so it is the de-duplication key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct NoticeId(String);

impl NoticeId {
    /// Wraps an id.
    pub fn new(id: impl Into<String>) -> Self {
        NoticeId(id.into())
    }
    /// The id as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for NoticeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for NoticeId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Documented as a string; a number is taken too rather than losing the event.
        match Value::deserialize(d)? {
            Value::String(s) => Ok(NoticeId(s)),
            Value::Number(n) => Ok(NoticeId(n.to_string())),
            _ => Err(serde::de::Error::custom("noticeId must be a string")),
        }
    }
}

/// The product a notification comes from: one receiver URL may serve several.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Product {
    /// 17: Conversational AI Engine.
    ConvoAi,
    /// 1: RTC channel events.
    Rtc,
    /// 3: Cloud Recording.
    CloudRecording,
    /// 4: Media Pull.
    MediaPull,
    /// 5: Media Push.
    MediaPush,
    /// Any other `productId`.
    Other(u32),
}

impl From<u32> for Product {
    fn from(id: u32) -> Self {
        match id {
            CONVOAI_PRODUCT_ID => Product::ConvoAi,
            1 => Product::Rtc,
            3 => Product::CloudRecording,
            4 => Product::MediaPull,
            5 => Product::MediaPush,
            other => Product::Other(other),
        }
    }
}

open_enum! {
    /// `status` of an agent-left event.
    LeftStatus {
        /// The agent stopped normally (leave request, idle timeout, lifetime limit).
        Stopped => "STOPPED",
        /// The agent failed.
        Failed => "FAILED",
    }
}

open_enum! {
    /// The module that reported an agent error.
    ErrorModule {
        /// The LLM vendor.
        Llm => "llm",
        /// The TTS vendor.
        Tts => "tts",
        /// The ASR vendor.
        Asr => "asr",
        /// Telephony.
        Sip => "sip",
        /// The agent itself (e.g. a greeting audio that could not be played).
        Agent => "agent",
    }
}

/// Why an agent left, from the `status` and `message` of an agent-left event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LeaveReason {
    /// Stopped through the leave request (`STOPPED` / `OK`).
    Stopped,
    /// No one was in the channel for the idle timeout (`STOPPED` / `Idle for too long`).
    IdleTimeout,
    /// The session reached its lifetime limit (`STOPPED` / `Task lifetime limit exceeded`).
    LifetimeExceeded,
    /// The agent could not connect (`FAILED` / `Connecting for too long`).
    ConnectTimeout,
    /// The RTC connection failed (`FAILED` / `RTC connection error`).
    RtcConnectionError,
    /// A pair this SDK does not know.
    Other {
        /// `status` as sent.
        status: LeftStatus,
        /// `message` as sent.
        message: String,
    },
}

impl LeaveReason {
    /// True when the agent failed rather than stopped.
    pub fn is_failure(&self) -> bool {
        match self {
            Self::ConnectTimeout | Self::RtcConnectionError => true,
            Self::Other { status, .. } => *status == LeftStatus::Failed,
            _ => false,
        }
    }
}

/// `101`: the agent joined its channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AgentJoined {
    /// The agent.
    pub agent_id: AgentId,
    /// Name given at start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// RTC channel.
    pub channel: String,
    /// Creation time, Unix seconds.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub start_ts: Option<u64>,
    /// Labels given at start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
    /// Keys this SDK does not know (filled by [`parse`]).
    #[serde(flatten, skip_deserializing)]
    pub extra: Map<String, Value>,
}

/// `102`: the agent left its channel, for the reason in [`AgentLeft::reason`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AgentLeft {
    /// The agent.
    pub agent_id: AgentId,
    /// Name given at start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// RTC channel.
    pub channel: String,
    /// Creation time, Unix seconds.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub start_ts: Option<u64>,
    /// Time it left, Unix seconds.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub stop_ts: Option<u64>,
    /// `STOPPED` or `FAILED`.
    pub status: LeftStatus,
    /// The leave reason as text (`OK`, `Idle for too long`, …).
    #[serde(default)]
    pub message: String,
    /// Labels given at start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
    /// Keys this SDK does not know (filled by [`parse`]).
    #[serde(flatten, skip_deserializing)]
    pub extra: Map<String, Value>,
}

impl AgentLeft {
    /// Why the agent left, classified by the exact documented (`status`, `message`) pairs.
    pub fn reason(&self) -> LeaveReason {
        match (&self.status, self.message.as_str()) {
            (LeftStatus::Stopped, "OK") => LeaveReason::Stopped,
            (LeftStatus::Stopped, "Idle for too long") => LeaveReason::IdleTimeout,
            (LeftStatus::Stopped, "Task lifetime limit exceeded") => LeaveReason::LifetimeExceeded,
            (LeftStatus::Failed, "Connecting for too long") => LeaveReason::ConnectTimeout,
            (LeftStatus::Failed, "RTC connection error") => LeaveReason::RtcConnectionError,
            (status, message) => LeaveReason::Other {
                status: status.clone(),
                message: message.to_owned(),
            },
        }
    }
}

/// `104`: the agent's RTC token is about to expire. A warning: the agent keeps running;
/// renew it with a REST update carrying a fresh token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TokenExpiring {
    /// The agent.
    pub agent_id: AgentId,
    /// Name given at start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// RTC channel.
    pub channel: String,
    /// Creation time, Unix seconds.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub start_ts: Option<u64>,
    /// The service's fixed text.
    #[serde(default)]
    pub message: String,
    /// Labels, if the service sends them (not documented for this event).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
    /// Keys this SDK does not know (filled by [`parse`]).
    #[serde(flatten, skip_deserializing)]
    pub extra: Map<String, Value>,
}

/// One error a module reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ModuleError {
    /// The module (`llm`, `tts`, `sip`, `agent`, …).
    pub module: ErrorModule,
    /// The turn it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_id: Option<TurnId>,
    /// The failing vendor's own code.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub code: Option<i64>,
    /// The vendor's message.
    #[serde(default)]
    pub message: String,
    /// Keys this SDK does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `110`: a module of the agent reported an error. It does not by itself mean the agent
/// stopped; an agent-left event says that.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AgentError {
    /// The agent.
    pub agent_id: AgentId,
    /// Name given at start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// RTC channel.
    pub channel: String,
    /// Creation time, Unix seconds.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub start_ts: Option<u64>,
    /// The turn it happened in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_id: Option<TurnId>,
    /// The errors.
    #[serde(default)]
    pub errors: Vec<ModuleError>,
    /// Labels given at start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
    /// Keys this SDK does not know (filled by [`parse`]).
    #[serde(flatten, skip_deserializing)]
    pub extra: Map<String, Value>,
}

/// `111`: latency metrics per turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AgentMetrics {
    /// The agent.
    pub agent_id: AgentId,
    /// Name given at start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// RTC channel.
    pub channel: String,
    /// Creation time, Unix seconds.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub start_ts: Option<u64>,
    /// Stop time, Unix seconds.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub stop_ts: Option<u64>,
    /// One entry per turn.
    #[serde(default)]
    pub metrics: Vec<TurnMetrics>,
    /// Labels given at start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
    /// Keys this SDK does not know (filled by [`parse`]).
    #[serde(flatten, skip_deserializing)]
    pub extra: Map<String, Value>,
}

/// How a turn started or ended: a time, a kind and free-form metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TurnEdge {
    /// `start_at` / `end_at`, Unix ms.
    #[serde(
        default,
        alias = "start_at",
        alias = "end_at",
        deserialize_with = "lenient::opt_u64"
    )]
    pub at_ms: Option<u64>,
    /// `voice_input`, `greeting`, … at the start; `ok`, `interrupted`, … at the end.
    #[serde(default, rename = "type")]
    pub kind: String,
    /// Metadata as sent.
    #[serde(default)]
    pub metadata: Map<String, Value>,
    /// Keys this SDK does not know.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One turn of a turns-finished batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FinishedTurn {
    /// 1-based turn number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_id: Option<TurnId>,
    /// How it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<TurnEdge>,
    /// How it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<TurnEdge>,
    /// Latencies: `e2e_latency_ms` and `segmented_latency_ms` (an object per segment, or
    /// an array of `{name, latency}` as in the REST turns API), as sent.
    #[serde(default)]
    pub metrics: Map<String, Value>,
    /// Keys this SDK does not know (`agent_id`, `channel`, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `112`: every turn of the finished session, in one batch (at most 200; see
/// `is_truncated`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TurnsFinished {
    /// The agent.
    pub agent_id: AgentId,
    /// Name given at start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// RTC channel.
    pub channel: String,
    /// Creation time (the documented example uses ms here, not seconds).
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub start_ts: Option<u64>,
    /// Stop time (same unit as `start_ts`).
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub stop_ts: Option<u64>,
    /// Turns in the session, including any cut from `turns`.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub total_turn_count: Option<u64>,
    /// True when `turns` was cut.
    #[serde(default)]
    pub is_truncated: bool,
    /// The turns.
    #[serde(default)]
    pub turns: Vec<FinishedTurn>,
    /// Labels given at start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
    /// Keys this SDK does not know (filled by [`parse`]).
    #[serde(flatten, skip_deserializing)]
    pub extra: Map<String, Value>,
}

/// `201` / `202`: a phone call changed state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CallStateChanged {
    /// The agent handling the call.
    pub agent_id: AgentId,
    /// Name given at start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// RTC channel.
    pub channel: String,
    /// The new state.
    pub state: CallState,
    /// Time of the change, Unix ms.
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    pub report_ms: Option<u64>,
    /// Labels given with the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
    /// Keys this SDK does not know (filled by [`parse`]).
    #[serde(flatten, skip_deserializing)]
    pub extra: Map<String, Value>,
}

/// An event this SDK has no type for: another product's, an unknown event type, or a known
/// type whose payload did not have the documented shape.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct OtherEvent {
    /// `productId`.
    pub product_id: u32,
    /// `eventType`.
    pub event_type: u32,
    /// The payload as sent.
    pub payload: Value,
    /// For a known type: why its payload did not parse (positions only, never values).
    pub parse_error: Option<String>,
}

/// The typed payload of a notification.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// `101`.
    AgentJoined(AgentJoined),
    /// `102`.
    AgentLeft(AgentLeft),
    /// `103`.
    AgentHistory(AgentHistory),
    /// `104`.
    TokenExpiring(TokenExpiring),
    /// `110`.
    AgentError(AgentError),
    /// `111`.
    AgentMetrics(AgentMetrics),
    /// `112`.
    TurnsFinished(TurnsFinished),
    /// `201`.
    InboundCall(CallStateChanged),
    /// `202`.
    OutboundCall(CallStateChanged),
    /// Anything else, kept raw.
    Other(OtherEvent),
}

macro_rules! each_typed {
    ($self:expr, $p:ident => $e:expr, $other:ident => $o:expr) => {
        match $self {
            Event::AgentJoined($p) => $e,
            Event::AgentLeft($p) => $e,
            Event::AgentHistory($p) => $e,
            Event::TokenExpiring($p) => $e,
            Event::AgentError($p) => $e,
            Event::AgentMetrics($p) => $e,
            Event::TurnsFinished($p) => $e,
            Event::InboundCall($p) => $e,
            Event::OutboundCall($p) => $e,
            Event::Other($other) => $o,
        }
    };
}

impl Event {
    /// The agent the event is about (`None` for [`Event::Other`]).
    pub fn agent_id(&self) -> Option<&AgentId> {
        each_typed!(self, p => Some(&p.agent_id), _o => None)
    }
    /// The agent's RTC channel; for [`Event::Other`], the payload's `channel` string if any.
    pub fn channel(&self) -> Option<&str> {
        each_typed!(self, p => Some(p.channel.as_str()),
            o => o.payload.get("channel").and_then(Value::as_str))
    }
    /// The agent's name, if sent.
    pub fn name(&self) -> Option<&str> {
        each_typed!(self, p => p.name.as_deref(),
            o => o.payload.get("name").and_then(Value::as_str))
    }
    /// The labels set at start, if sent (`None` for [`Event::Other`]).
    pub fn labels(&self) -> Option<&Labels> {
        each_typed!(self, p => p.labels.as_ref(), _o => None)
    }
    /// A short name of the event kind, for logs: `agent_joined`, `agent_left`, …, `other`.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::AgentJoined(_) => "agent_joined",
            Event::AgentLeft(_) => "agent_left",
            Event::AgentHistory(_) => "agent_history",
            Event::TokenExpiring(_) => "token_expiring",
            Event::AgentError(_) => "agent_error",
            Event::AgentMetrics(_) => "agent_metrics",
            Event::TurnsFinished(_) => "turns_finished",
            Event::InboundCall(_) => "inbound_call",
            Event::OutboundCall(_) => "outbound_call",
            Event::Other(_) => "other",
        }
    }
}

/// One verified callback: the envelope and its typed event.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Notification {
    /// `noticeId`: the same on every resend.
    pub notice_id: NoticeId,
    /// `productId` (17 for ConvoAI; see [`Notification::product`]).
    pub product_id: u32,
    /// `eventType`.
    pub event_type: u32,
    /// `notifyMs`: when this attempt was sent, Unix ms. A resend carries a newer one, so do
    /// not order events by it; use the payload times.
    pub notify_ms: u64,
    /// `sid`, whose meaning the service does not document: store it, do not key on it.
    pub sid: Option<String>,
    /// The typed payload.
    pub event: Event,
    /// Envelope keys this SDK does not know.
    pub extra: Map<String, Value>,
}

impl Notification {
    /// The product that sent it. Anything but [`Product::ConvoAi`] arrives as
    /// [`Event::Other`].
    pub fn product(&self) -> Product {
        Product::from(self.product_id)
    }
    /// True for a ConvoAI notification.
    pub fn is_convoai(&self) -> bool {
        self.product_id == CONVOAI_PRODUCT_ID
    }
    /// `noticeId`.
    pub fn notice_id(&self) -> &NoticeId {
        &self.notice_id
    }
    /// The agent the event is about.
    pub fn agent_id(&self) -> Option<&AgentId> {
        self.event.agent_id()
    }
    /// The agent's channel.
    pub fn channel(&self) -> Option<&str> {
        self.event.channel()
    }
    /// The labels set at start.
    pub fn labels(&self) -> Option<&Labels> {
        self.event.labels()
    }
    /// The key a de-duplication store keeps: `productId:noticeId` (ids are only known to be
    /// unique within one product).
    pub fn dedupe_key(&self) -> String {
        format!("{}:{}", self.product_id, self.notice_id)
    }
}

/// The envelope, read in one pass: the payload stays raw text until its type is known, so it
/// is parsed once, straight into its typed struct.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "noticeId")]
    notice_id: NoticeId,
    #[serde(rename = "productId")]
    product_id: u32,
    #[serde(rename = "eventType")]
    event_type: u32,
    #[serde(rename = "notifyMs", default, deserialize_with = "lenient::opt_u64")]
    notify_ms: Option<u64>,
    #[serde(default)]
    sid: Option<Value>,
    #[serde(default, borrow)]
    payload: Option<&'a serde_json::value::RawValue>,
    /// Filled by [`extra::from_slice`].
    #[serde(skip)]
    extra: Map<String, Value>,
}

/// A serde error without the input it quotes: the category and the position only.
fn describe(e: &serde_json::Error) -> String {
    let what = match e.classify() {
        serde_json::error::Category::Io => "read error",
        serde_json::error::Category::Syntax => "invalid JSON",
        serde_json::error::Category::Data => "unexpected shape",
        serde_json::error::Category::Eof => "truncated JSON",
    };
    format!("{what} at line {} column {}", e.line(), e.column())
}

/// Parses a callback body (after [`Verifier::verify`](super::Verifier::verify)).
///
/// Fails only when the envelope itself is not there (`noticeId`, `productId`, `eventType`);
/// a payload of unexpected shape becomes [`Event::Other`] so the event is not lost.
pub fn parse(body: &[u8]) -> Result<Notification, WebhookError> {
    let env: Envelope<'_> =
        extra::from_slice(body).map_err(|e| WebhookError::Body(describe(&e)))?;
    let sid = match env.sid {
        Some(Value::String(s)) => Some(s),
        Some(Value::Null) | None => None,
        Some(other) => Some(other.to_string()),
    };
    let event = typed(env.product_id, env.event_type, env.payload.map(|p| p.get()));
    Ok(Notification {
        notice_id: env.notice_id,
        product_id: env.product_id,
        event_type: env.event_type,
        notify_ms: env.notify_ms.unwrap_or(0),
        sid,
        event,
        extra: env.extra,
    })
}

/// The typed event of `payload` (raw JSON text; `None` when the envelope had none).
fn typed(product_id: u32, event_type: u32, payload: Option<&str>) -> Event {
    fn de<T: for<'de> Deserialize<'de> + extra::Extra>(
        payload: &str,
        wrap: fn(T) -> Event,
    ) -> Result<Event, String> {
        extra::from_slice::<T>(payload.as_bytes())
            .map(wrap)
            .map_err(|e| {
                // Keep only the category-like text without echoing values: the field names in a
                // "missing field" message come from this SDK's types.
                let text = e.to_string();
                match text.split_once(" at line ") {
                    Some((missing, _)) if missing.starts_with("missing field") => {
                        missing.to_owned()
                    }
                    _ => "unexpected shape".to_owned(),
                }
            })
    }
    let other = |parse_error| {
        Event::Other(OtherEvent {
            product_id,
            event_type,
            payload: payload
                .and_then(|p| serde_json::from_str(p).ok())
                .unwrap_or(Value::Null),
            parse_error,
        })
    };
    if product_id != CONVOAI_PRODUCT_ID {
        return other(None);
    }
    // An absent payload parses as `null`, which every typed payload rejects.
    let text = payload.unwrap_or("null");
    let parsed = match event_type {
        101 => de(text, Event::AgentJoined),
        102 => de(text, Event::AgentLeft),
        103 => de(text, Event::AgentHistory),
        104 => de(text, Event::TokenExpiring),
        110 => de(text, Event::AgentError),
        111 => de(text, Event::AgentMetrics),
        112 => de(text, Event::TurnsFinished),
        201 => de(text, Event::InboundCall),
        202 => de(text, Event::OutboundCall),
        _ => return other(None),
    };
    parsed.unwrap_or_else(|reason| other(Some(reason)))
}

impl extra::Extra for Envelope<'_> {
    fn set_extra(&mut self, extra: Map<String, Value>) {
        self.extra = extra;
    }
}

extra::keeps_extra!(
    AgentJoined,
    AgentLeft,
    AgentHistory,
    TokenExpiring,
    AgentError,
    AgentMetrics,
    TurnsFinished,
    CallStateChanged,
);
