//! The emulator's memory: agents, calls, phone numbers and request counts, and the
//! operations on them. Operations do no I/O: those that change what callbacks report
//! return the [`Notices`](crate::notice::Notices) to send.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};

use rand::distributions::{Alphanumeric, DistString};
use serde_json::{Map, Value};

use crate::notice::agent_payload;

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
    /// True for the statuses of an agent that may still join or run: it can be stopped.
    pub(crate) fn is_alive(self) -> bool {
        matches!(self, Self::Starting | Self::Running | Self::Recovering)
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

mod agents;
mod calls;

pub(crate) use calls::{Call, CallKind};

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

impl Agent {
    /// The fields every agent callback carries.
    pub fn payload(&self) -> Map<String, Value> {
        let r = &self.record;
        agent_payload(
            &r.agent_id,
            &r.name,
            &r.channel,
            r.create_ts,
            self.labels.as_ref(),
        )
    }
}

/// A validated speak request (rest-api.md §5.7), from the REST route or the dashboard.
pub(crate) struct SpeakRequest<'a> {
    pub text: &'a str,
    pub priority: Option<&'a str>,
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

impl State {
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
}
