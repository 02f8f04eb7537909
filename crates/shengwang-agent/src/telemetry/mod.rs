//! Telemetry: OpenTelemetry metrics (feature `otel`) and the options of the SDK's `tracing`
//! spans.
//!
//! # Metrics (feature `otel`)
//! The feature follows **OpenTelemetry 0.33** (the `opentelemetry` API crate, 0.33.x). The
//! SDK records through the OpenTelemetry *API* only and installs no provider: give it your
//! meter with `ClientBuilder::meter` (and `Receiver::meter` for a webhook receiver; both exist
//! with the feature only), or it uses
//! `opentelemetry::global::meter` with the scope [`METER_NAME`] as it is when the client is
//! built (install your global provider before building the client). Without the feature the
//! SDK has no OpenTelemetry dependency and every recording compiles to nothing.
//!
//! | instrument | kind, unit | attributes |
//! |---|---|---|
//! | `http.client.request.duration` | histogram, s, one point per HTTP attempt | `http.request.method`, `http.response.status_code` (when answered), `error.type` (on failure), `convoai.operation` |
//! | `convoai.session.start.duration` | histogram, s, one point per `Session::start` | `outcome` (`ok`, `error`, `cancelled`) |
//! | `convoai.session.ready.duration` | histogram, s: start until the agent is in its channel, once per agent, when an agent-joined notice (101) reaches `apply_notification` or `wait_ready` learns it | `outcome` (`ok`, `failed`, `left`, `gone`, `timeout`, `error`) |
//! | `convoai.sessions.live` | up-down counter: sessions per state, `idle` and `stopped` ones not counted | `state` (`starting`, `running`, `stopping`, `error`) |
//! | `convoai.client.retries` | counter | `convoai.operation`, `reason` (the failure's `error.type`) |
//! | `convoai.client.failovers` | counter | `convoai.area` (`cn`, …, or `base_url` for base-URL overrides) |
//! | `convoai.client.errors` | counter: calls that failed after every attempt | `convoai.operation`, `error.type` |
//! | `convoai.agents.orphans` | counter: agents a session had to find after a 409 or an unclear start | `outcome` (`adopted`, `stopped`, `unresolved`) |
//! | `convoai.webhook.notifications` | counter | `convoai.event` (an [`Event::kind`](crate::webhooks::Event::kind) name, `unknown` for a body rejected before it was read), `outcome` (`handled`, `duplicate`, `rejected`, `failed`) |
//! | `convoai.turn.latency` | histogram, s, from notices 111 and 112 and `/turns`, once per turn and stage | `stage` (`asr`, `llm`, `tts`, `end_to_end`, `other`) |
//! | `convoai.fleet.takeovers` | counter | `reason` (`lease_lapsed`, `handover`), `outcome` (`adopted`, `stopped`, `gone`) |
//!
//! `convoai.operation` is a fixed name (`agents.start`, `agents.speak`, …); `error.type` is
//! the service's `reason` when the SDK knows it, `other` for any other reason, the status code
//! when the answer had none, or the kind of transport failure (`timeout`, `connect`, `tls`,
//! `decode`, `outcome_unknown`). No attribute ever carries an agent id, a channel, a uid, a
//! name, a token or a key.
//!
//! Where the webhook outcomes are counted: `rejected` and `duplicate` by
//! [`Receiver::receive`](crate::webhooks::Receiver::receive), `failed` by
//! [`Receiver::release`](crate::webhooks::Receiver::release) (a handler failed), and `handled`,
//! `duplicate` and `failed` by
//! [`SessionHub::apply_notification`](crate::agentkit::SessionHub::apply_notification) (with the
//! client's meter).
//!
//! # Spans
//! Every REST call is a `convoai.request` span with a `convoai.attempt` child per HTTP attempt
//! (OpenTelemetry's HTTP client conventions: `http.request.method`, `server.address`,
//! `http.response.status_code`, `error.type`, `http.request.resend_count`; retries and
//! failovers are events on the `convoai.request` span); every session operation is a
//! `convoai.session` span (`convoai.operation`, `convoai.agent_id`, and `convoai.channel` only
//! with
//! [`ClientBuilder::trace_channels`](crate::ClientBuilder::trace_channels)) around them; a
//! receiver's `receive` is a `convoai.webhook.receive` span. All are children of the caller's
//! current span; export them with `tracing-opentelemetry`.

use std::time::Duration;

use reqwest::Method;

use crate::agentkit::SessionState;
use crate::Error;

#[cfg(feature = "otel")]
mod otel;
#[cfg(feature = "otel")]
mod turns;

/// The instrumentation scope of the SDK's meter when none is given.
pub const METER_NAME: &str = "shengwang-agent";

/// How telemetry is set up, from the client builder.
#[derive(Clone, Default)]
pub(crate) struct Options {
    /// Put the channel on session spans.
    pub trace_channels: bool,
    /// The application's meter; the global one when `None`.
    #[cfg(feature = "otel")]
    pub meter: Option<opentelemetry::metrics::Meter>,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("Telemetry");
        d.field("trace_channels", &self.trace_channels);
        #[cfg(feature = "otel")]
        d.field("meter", &self.meter.as_ref().map(|_| "given"));
        d.finish()
    }
}

/// Every instrument of one client (or receiver), created once; each recording function is
/// a no-op without the `otel` feature, so call sites need no `cfg`.
pub(crate) struct Telemetry {
    trace_channels: bool,
    #[cfg(feature = "otel")]
    otel: otel::Instruments,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry").finish_non_exhaustive()
    }
}

/// What a session start came to, for `convoai.session.start.duration`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StartOutcome {
    Ok,
    Error,
    Cancelled,
}

/// What an agent a session had to find came to, for `convoai.agents.orphans`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Orphan {
    Adopted,
    Stopped,
    Unresolved,
}

/// What became of a notification, for `convoai.webhook.notifications`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoticeOutcome {
    Handled,
    Duplicate,
    Rejected,
    Failed,
}

// Not every build records every kind (the fleet records takeovers).
#[allow(unused_variables, dead_code)]
impl Telemetry {
    /// The instruments `options` asks for.
    pub fn new(options: &Options) -> Self {
        Telemetry {
            trace_channels: options.trace_channels,
            #[cfg(feature = "otel")]
            otel: otel::Instruments::new(options.meter.clone()),
        }
    }

    /// True when session spans carry the channel.
    pub fn trace_channels(&self) -> bool {
        self.trace_channels
    }

    /// One HTTP attempt of `operation`: answered with `status`, or failed with `error`.
    #[inline]
    pub fn request(
        &self,
        operation: &'static str,
        method: &Method,
        status: Option<u16>,
        error: Option<&Error>,
        elapsed: Duration,
    ) {
        #[cfg(feature = "otel")]
        self.otel.request(operation, method, status, error, elapsed);
    }

    /// `operation` is sent again after `error`.
    #[inline]
    pub fn retry(&self, operation: &'static str, error: &Error) {
        #[cfg(feature = "otel")]
        self.otel.retry(operation, error);
    }

    /// Requests moved on to the next host; `area` is `None` for base-URL overrides.
    #[inline]
    pub fn failover(&self, area: Option<crate::Area>) {
        #[cfg(feature = "otel")]
        self.otel.failover(area);
    }

    /// `operation` failed after every attempt.
    #[inline]
    pub fn error(&self, operation: &'static str, error: &Error) {
        #[cfg(feature = "otel")]
        self.otel.error(operation, error);
    }

    /// A session start took `elapsed` and came to `outcome`.
    #[inline]
    pub fn session_start(&self, elapsed: Duration, outcome: StartOutcome) {
        #[cfg(feature = "otel")]
        self.otel.session_start(elapsed, outcome);
    }

    /// From a start until the agent was in its channel (`Ok`), or why it will not be.
    #[inline]
    pub fn session_ready(&self, elapsed: Duration, outcome: Result<(), &Error>) {
        #[cfg(feature = "otel")]
        self.otel.session_ready(elapsed, outcome);
    }

    /// A session left state `from` and entered `to` (`None`: it came into being, or ended).
    #[inline]
    pub fn session_state(&self, from: Option<SessionState>, to: Option<SessionState>) {
        #[cfg(feature = "otel")]
        self.otel.session_state(from, to);
    }

    /// An agent a session had to find (a 409 on its own name, an unclear start).
    #[inline]
    pub fn orphan(&self, outcome: Orphan) {
        #[cfg(feature = "otel")]
        self.otel.orphan(outcome);
    }

    /// A notification of kind `event` (an `Event::kind` name) came to `outcome`.
    #[inline]
    pub fn notification(&self, event: &'static str, outcome: NoticeOutcome) {
        #[cfg(feature = "otel")]
        self.otel.notification(event, outcome);
    }

    /// The turn latencies of a notification (111 or 112), each turn and stage once.
    #[inline]
    pub fn notice_turns(&self, event: &crate::webhooks::Event) {
        #[cfg(feature = "otel")]
        turns::notice(&self.otel, event);
    }

    /// The turn latencies of a page of `/turns` of `agent_id`, each turn and stage once.
    #[inline]
    pub fn listed_turns(&self, agent_id: &str, turns: &[crate::types::turns::Turn]) {
        #[cfg(feature = "otel")]
        turns::listed(&self.otel, agent_id, turns);
    }

    /// A fleet node took over an agent: `reason` `lease_lapsed` or `handover`, `outcome`
    /// `adopted`, `stopped` or `gone` (anything else is recorded as `other`).
    #[inline]
    pub fn fleet_takeover(&self, reason: &str, outcome: &str) {
        #[cfg(feature = "otel")]
        self.otel.takeover(reason, outcome);
    }
}

/// Records a fleet takeover (`convoai.fleet.takeovers`) on `client`'s meter: `reason`
/// `lease_lapsed` or `handover`; `outcome` `adopted`, `stopped` or `gone`. Other values are
/// recorded as `other`.
#[allow(dead_code)] // called by the fleet
pub(crate) fn fleet_takeover(client: &crate::Client, reason: &str, outcome: &str) {
    client.telemetry().fleet_takeover(reason, outcome);
}
