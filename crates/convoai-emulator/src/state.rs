//! The emulator's memory: agents, calls, phone numbers and request counts.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};

use rand::distributions::{Alphanumeric, DistString};
use serde_json::{Map, Value};

use crate::notify::Outbox;

/// Agent status codes and names of rest-api.md §8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AgentStatus {
    /// 0
    Idle,
    /// 1
    Starting,
    /// 2
    Running,
    /// 3
    Stopping,
    /// 4
    Stopped,
    /// 5
    Recovering,
    /// 6
    Failed,
}

impl AgentStatus {
    /// Numeric code, as the list filter takes it.
    pub fn code(self) -> u8 {
        self as u8
    }
    /// Name, as responses carry it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Idle => "IDLE",
            Self::Starting => "STARTING",
            Self::Running => "RUNNING",
            Self::Stopping => "STOPPING",
            Self::Stopped => "STOPPED",
            Self::Recovering => "RECOVERING",
            Self::Failed => "FAILED",
        }
    }
}

/// One agent as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentRecord {
    /// Id returned by join.
    pub agent_id: String,
    /// Name it was created with.
    pub name: String,
    /// Channel.
    pub channel: String,
    /// Agent uid in the channel.
    pub agent_rtc_uid: String,
    /// Current status.
    pub status: AgentStatus,
    /// Creation time (Unix seconds).
    pub create_ts: u64,
    /// Stop time, once stopped.
    pub stop_ts: Option<u64>,
    /// Why it stopped, when it stopped by itself.
    pub message: String,
    /// Seconds without a remote user before it stops by itself, if set.
    pub idle_timeout: Option<u64>,
    /// When its current channel token expires, Unix seconds: the join's token, then the
    /// token of the latest update that replaced it.
    pub token_expires_at: u64,
}

/// One API request as it arrived and was answered: what the dashboard's Requests view and
/// wire tests read. Bodies are kept with their secrets redacted, never raw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoggedRequest {
    /// Position in the log since start, from 1; keeps growing across resets.
    pub seq: u64,
    /// When it arrived, in milliseconds since the Unix epoch (emulator clock).
    pub at_ms: u64,
    /// HTTP method.
    pub method: String,
    /// Path (with the query, if any).
    pub path: String,
    /// `Content-Type`, if sent.
    pub content_type: Option<String>,
    /// `Content-Length`, if sent.
    pub content_length: Option<u64>,
    /// `User-Agent`, if sent.
    pub user_agent: Option<String>,
    /// The `Authorization` scheme: `Basic`, `agora token`, other, or empty when absent.
    pub auth_scheme: String,
    /// Response status; `None` when the connection was dropped without an answer.
    pub status: Option<u16>,
    /// Time from arrival to answer (or drop), in milliseconds, injected latency included.
    pub latency_ms: u64,
    /// The fault injected into it, if any, e.g. `status 503` or `drop`.
    pub fault: Option<String>,
    /// The `X-Request-Id` it was answered with.
    pub request_id: Option<String>,
    /// The agent (or call) it addressed, or the one it created.
    pub agent_id: Option<String>,
    /// The body as JSON text with secret fields redacted, cut at 16 KiB; a body that is not
    /// JSON is described by its size only, since it cannot be redacted by field.
    pub body: Option<String>,
}

/// Requests and failures (status 400 and above, or dropped) answered in one second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecondStats {
    /// Unix second (emulator clock).
    pub second: u64,
    /// Requests answered.
    pub requests: u32,
    /// Of which failed.
    pub errors: u32,
}

/// How many requests one route answered with one status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestCount {
    /// `METHOD /route/{template}`.
    pub endpoint: String,
    /// Response status (0 for a dropped connection).
    pub status: u16,
    /// Requests.
    pub count: u64,
}

pub(crate) struct Agent {
    pub record: AgentRecord,
    /// `properties.labels` of the join, echoed in callbacks.
    pub labels: Option<Map<String, Value>>,
    pub mllm: bool,
    /// `advanced_features.enable_rtm`: its tokens must carry RTM.
    pub rtm: bool,
    pub max_history: usize,
    pub history: VecDeque<(String, String)>,
    pub turns: crate::turns::TurnLog,
    /// The join properties with secrets redacted, for the dashboard.
    pub properties: Value,
}

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
    /// Sends its call-state callback (`201` inbound, `202` outbound).
    pub fn notify(&mut self, outbox: &Outbox, state: &str, now_ms: u64) {
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
        outbox.emit(self.kind.event_type(), Value::Object(p));
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

#[derive(Default)]
pub(crate) struct State {
    pub agents: HashMap<String, Agent>,
    /// Creation order, for listing and cursors.
    pub order: Vec<String>,
    /// Name → id of the agent that holds the name while it runs.
    pub names: HashMap<String, String>,
    /// (idle deadline in seconds, agent id), soonest first.
    pub deadlines: BinaryHeap<Reverse<(u64, String)>>,
    pub calls: HashMap<String, Call>,
    pub call_order: Vec<String>,
    pub numbers: BTreeMap<String, Map<String, Value>>,
    pub counts: HashMap<(String, u16), u64>,
    /// The most recent requests, oldest first (bounded).
    pub log: VecDeque<LoggedRequest>,
    /// Per-second request and error counts, oldest first (bounded).
    pub stats: VecDeque<SecondStats>,
    /// `seq` of the last logged request.
    pub last_seq: u64,
    /// Where callbacks go; kept across resets.
    pub outbox: Outbox,
}

/// Why an agent stopped: its REST status and message, and the callback's `status`/`message`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum StopReason<'a> {
    /// The leave request.
    Leave,
    /// The idle timeout.
    Idle,
    /// A failure (admin API), with the callback's message.
    Failed(&'a str),
    /// The caller of an inbound call hung up (admin API).
    CallerHungUp,
    /// An inbound call was handed to a human (admin API): the agent leaves the call.
    Transferred,
}

impl StopReason<'_> {
    fn rest(&self) -> (AgentStatus, &str) {
        match self {
            StopReason::Leave => (AgentStatus::Stopped, "stopped by leave request"),
            StopReason::Idle => (
                AgentStatus::Stopped,
                "idle timeout: no remote user in the channel",
            ),
            StopReason::Failed(m) => (AgentStatus::Failed, m),
            StopReason::CallerHungUp => (AgentStatus::Stopped, "the caller hung up"),
            StopReason::Transferred => (AgentStatus::Stopped, "the call was transferred"),
        }
    }
    fn callback(&self) -> (&'static str, &str) {
        match self {
            StopReason::Leave => ("STOPPED", "OK"),
            StopReason::Idle => ("STOPPED", "Idle for too long"),
            StopReason::Failed(m) => ("FAILED", m),
            StopReason::CallerHungUp | StopReason::Transferred => ("STOPPED", "OK"),
        }
    }
    /// How the inbound call an agent answers ends with it: the callback state and the REST
    /// `reason` (`transferred` is not in the documented list, which is open).
    fn call_end(&self) -> (&'static str, &'static str) {
        match self {
            StopReason::Leave => ("HANGUP", "request"),
            StopReason::Idle | StopReason::CallerHungUp => ("HANGUP", "hangup"),
            StopReason::Failed(_) => ("HANGUP", "failed"),
            StopReason::Transferred => ("TRANSFERED", "transferred"),
        }
    }
}

/// Requests kept in the log.
pub(crate) const LOG_LEN: usize = 500;
/// Seconds of request statistics kept.
pub(crate) const STATS_SECONDS: u64 = 600;

/// 24 characters from a CSPRNG: unique and unguessable in practice.
pub(crate) fn new_id() -> String {
    Alphanumeric
        .sample_string(&mut rand::thread_rng(), 24)
        .to_ascii_uppercase()
}

impl Agent {
    /// The fields every agent callback carries.
    pub fn payload(&self) -> Map<String, Value> {
        let r = &self.record;
        crate::notify::agent_payload(
            &r.agent_id,
            &r.name,
            &r.channel,
            r.create_ts,
            self.labels.as_ref(),
        )
    }
}

impl State {
    pub fn running(&self) -> usize {
        self.names.len()
    }

    /// Stops agents whose idle timeout has passed (every remote user counts as gone from the
    /// start: the emulator has no media).
    pub fn expire_idle(&mut self, now: u64) {
        while let Some(Reverse((deadline, _))) = self.deadlines.peek() {
            if *deadline > now {
                break;
            }
            let Some(Reverse((deadline, id))) = self.deadlines.pop() else {
                break;
            };
            self.stop(&id, deadline.saturating_mul(1000), StopReason::Idle);
        }
    }

    /// Appends to the bounded request log and counts it in its second.
    pub fn record(&mut self, mut entry: LoggedRequest) {
        self.last_seq += 1;
        entry.seq = self.last_seq;
        let second = entry.at_ms / 1000;
        let failed = entry.status.is_none_or(|s| s >= 400);
        match self.stats.back_mut() {
            // The system clock may step back: such a request is counted in the latest second
            // rather than reordering the series.
            Some(last) if last.second >= second => {
                last.requests = last.requests.saturating_add(1);
                last.errors = last.errors.saturating_add(u32::from(failed));
            }
            _ => self.stats.push_back(SecondStats {
                second,
                requests: 1,
                errors: u32::from(failed),
            }),
        }
        while self
            .stats
            .front()
            .is_some_and(|f| f.second + STATS_SECONDS <= second)
        {
            self.stats.pop_front();
        }
        if self.log.len() >= LOG_LEN {
            self.log.pop_front();
        }
        self.log.push_back(entry);
    }

    /// Running → failed at `now_ms`, with `reason` as its message; frees the name. Returns
    /// false if the agent was not running.
    pub fn fail(&mut self, id: &str, now_ms: u64, reason: &str) -> bool {
        self.stop(id, now_ms, StopReason::Failed(reason))
    }

    /// Running → stopped (or failed) at `now_ms`; frees the name and sends the after-stop
    /// callbacks (left, history, metrics, turns). Returns false if the agent was not running.
    ///
    /// However it stops, the agent leaves its turns at `now_ms`: what plays is cut there and
    /// what is queued never starts. Its `stop_ts` is the first whole second at or after
    /// `now_ms`, as its `create_ts` is the last one at or before its start, so every turn's
    /// times (milliseconds) lie within `create_ts..=stop_ts`.
    pub fn stop(&mut self, id: &str, now_ms: u64, reason: StopReason<'_>) -> bool {
        let Some(agent) = self.agents.get_mut(id) else {
            return false;
        };
        if !crate::readiness::is_alive(agent.record.status) {
            return false;
        }
        agent.turns.leave(now_ms);
        let now = now_ms.div_ceil(1000);
        let (status, message) = reason.rest();
        agent.record.status = status;
        agent.record.stop_ts = Some(now);
        agent.record.message = message.into();
        if self.names.get(&agent.record.name).map(String::as_str) == Some(id) {
            self.names.remove(&agent.record.name);
        }
        let a = &*agent;
        // The call ends with its agent, before the agent leaves the channel.
        if let Some(call) = self.calls.get_mut(id) {
            if call.kind == CallKind::Inbound && call.state == "answered" {
                let (state, why) = reason.call_end();
                call.state = "hangup";
                call.reason = Some(why);
                call.stop_ts = Some(now);
                call.notify(&self.outbox, state, now_ms);
            }
        }
        let base = || a.payload();
        let (cb_status, cb_message) = reason.callback();
        let mut left = base();
        left.insert("stop_ts".into(), Value::from(now));
        left.insert("status".into(), Value::from(cb_status));
        left.insert("message".into(), Value::from(cb_message));
        self.outbox.emit(102, Value::Object(left));
        let mut history = base();
        history.insert("stop_ts".into(), Value::from(now));
        let contents: Vec<Value> = a
            .history
            .iter()
            .map(|(role, content)| serde_json::json!({"role": role, "content": content}))
            .collect();
        history.insert("contents".into(), Value::Array(contents));
        self.outbox.emit(103, Value::Object(history));
        let mut metrics = base();
        metrics.insert("stop_ts".into(), Value::from(now));
        let per_turn: Vec<Value> = (1..=a.turns.len())
            .map(|t| serde_json::json!({"turn_id": t, "asr_ttlw": 0, "llm_ttfb": 0, "llm_ttfs": 0, "tts_ttfb": 0}))
            .collect();
        metrics.insert("metrics".into(), Value::Array(per_turn));
        self.outbox.emit(111, Value::Object(metrics));
        let mut turns = base();
        turns.insert("stop_ts".into(), Value::from(now));
        turns.insert("total_turn_count".into(), Value::from(a.turns.len()));
        turns.insert("is_truncated".into(), Value::from(a.turns.len() > 200));
        turns.insert(
            "turns".into(),
            Value::Array(
                a.turns
                    .page(&a.record.agent_id, &a.record.channel, 1, 200)
                    .0,
            ),
        );
        self.outbox.emit(112, Value::Object(turns));
        true
    }

    pub fn push_history(&mut self, id: &str, role: &str, content: &str) {
        if let Some(agent) = self.agents.get_mut(id) {
            agent.history.push_back((role.into(), content.into()));
            while agent.history.len() > agent.max_history {
                agent.history.pop_front();
            }
        }
    }
}
