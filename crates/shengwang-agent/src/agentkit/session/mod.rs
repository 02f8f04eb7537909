//! Sessions, in one place: a `Session` is one agent run (and its restarts) driven by one
//! state table, never losing track of an agent that may be running; the [`SessionHub`] a
//! client holds owns its live sessions.
//!
//! - [`builder`]: `SessionFactory`, `Agent::create_session`, `SessionBuilder`, resume;
//! - `handle`: the public API of a session (accessors, events, say/think/update, reads);
//! - `lifecycle`: start, stop, the cancellation guard and stop-on-drop;
//! - `table`: the state table every transition goes through;
//! - `facts`: what the service reported (notices) applied to a session through the table;
//! - `registry`: the client's table of live sessions and its cleanup runtime;
//! - `hub`: [`SessionHub`], the one entry point for notices, the live list and shutdown;
//! - `store`: [`SessionStore`], the record of each live session (in memory by default);
//! - `ready`, `renew`, `update`, `turns`: readiness, token renewal, safe update, turns.

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use super::events::Events;
use super::SessionEvent;
use crate::{Error, Result};

pub(crate) mod builder;
mod facts;
mod handle;
pub(crate) mod hub;
mod lifecycle;
pub(super) mod ready;
pub(crate) mod registry;
mod renew;
pub(crate) mod store;
pub(crate) mod table;
mod turns;
mod update;
pub(crate) mod vocab;

#[cfg(feature = "blocking")]
pub(crate) use builder::Sealed;
pub use builder::{SessionBuilder, SessionFactory};
pub use hub::{Applied, LiveInfo, SessionHub};
pub use registry::{LeftRunning, ShutdownReport};
pub use store::{MemorySessionStore, SessionRecord, SessionStore, StoreFuture, SCHEMA_VERSION};
use table::{Answer, Input, Refusal};
pub use table::{Operation, SessionState};

/// An agent the session may have running: its id when known, and since when.
#[derive(Debug, Clone)]
struct Live {
    id: Option<String>,
    /// Unix seconds before the first request that may have created it.
    since: u64,
}

struct Core {
    state: SessionState,
    /// The current run's agent id, for reads (`info`, `history`).
    agent_id: Option<String>,
    /// Set from the moment a start may create an agent until a stop is confirmed.
    live: Option<Live>,
    /// A session revived by a drop to stop its agent: never revived again.
    revived: bool,
    /// A start attempt ended without an answer (cancelled, timed out, cut off): the service
    /// may still carry it out until about then, so "no agent found" is not final before it.
    settle_until: Option<tokio::time::Instant>,
    /// A token renewal after an expiry notice is under way: later notices join it.
    renewing: bool,
    /// When the current run's start began, for how long until the agent was ready.
    started_at: Option<tokio::time::Instant>,
}

/// How long after an unanswered start a request may still reach the service.
const SETTLE: Duration = Duration::from_secs(2);

fn settle_deadline() -> Option<tokio::time::Instant> {
    Some(tokio::time::Instant::now() + SETTLE)
}

struct Config {
    b: SessionBuilder,
    name: String,
}

struct Inner {
    cfg: Arc<Config>,
    core: Mutex<Core>,
    events: Events,
    key: u64,
    applied: update::Applied,
    /// Another owner took the agent over (a fleet handover or takeover): dropping the
    /// session neither stops the agent nor warns that it may still run.
    handed_off: std::sync::atomic::AtomicBool,
}

impl Inner {
    fn core(&self) -> std::sync::MutexGuard<'_, Core> {
        self.core.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies `input` through the state table: the only way a session's state changes. A
    /// move emits its StateChanged event under the lock (so events come in the order of the
    /// changes) and updates the session's record in the hub's store.
    fn apply(&self, core: &mut Core, input: Input) -> Answer {
        let has_id = match input {
            Input::Ask(Operation::Stop) => core.live.is_some(),
            _ => core.agent_id.is_some(),
        };
        let answer = table::table(core.state, input, has_id);
        if let Answer::Enter(to) = answer {
            let from = core.state;
            if from != to {
                core.state = to;
                // The one place states change, so `convoai.sessions.live` stays balanced.
                self.hub().telemetry().session_state(Some(from), Some(to));
                self.events.emit(SessionEvent::StateChanged { from, to });
                self.record(core);
            }
        }
        answer
    }

    /// Applies a caller's `op`: `Ok` when it may go on, else the refusal as an error.
    fn ask(&self, core: &mut Core, op: Operation) -> Result<()> {
        let state = core.state;
        match self.apply(core, Input::Ask(op)) {
            Answer::Refuse(Refusal::State) => Err(Error::State {
                operation: op,
                state,
            }),
            Answer::Refuse(Refusal::NoAgentId) => Err(Error::NoAgentId { operation: op }),
            _ => Ok(()),
        }
    }

    /// The hub this session is registered with.
    fn hub(&self) -> &SessionHub {
        self.cfg.b.client.sessions()
    }

    /// Writes this session's record to the hub's store: kept while the session may have an
    /// agent, removed once it cannot.
    fn record(&self, core: &Core) {
        let hub = self.hub();
        if !hub.records() {
            return;
        }
        match self.to_record(core) {
            Some(record) => hub.keep_record(record),
            None => hub.forget_record(&self.cfg.name),
        }
    }

    /// This session's record, while it may have an agent.
    fn to_record(&self, core: &Core) -> Option<SessionRecord> {
        let live = core.live.as_ref()?;
        let b = &self.cfg.b;
        let mut record = SessionRecord::new(&self.cfg.name, &self.cfg.name, &b.channel);
        record.uid = b.agent_uid.as_str().to_owned();
        record.agent_id = live.id.clone();
        record.status = core.state;
        record.labels = b.agent.labels().cloned().unwrap_or_default();
        record.labels.extend(b.labels.clone());
        Some(record)
    }

    fn warn_left_running(&self, live: &Live, why: &str) {
        let c = &self.cfg;
        match &live.id {
            Some(id) => {
                tracing::warn!(agent_id = %crate::redact::escape(id), name = %c.name, channel = %c.b.channel, "{why}; the agent may still run")
            }
            None => {
                tracing::warn!(name = %c.name, channel = %c.b.channel, "{why}; an agent with this name may still run")
            }
        }
    }
}

/// An agent session: start it, talk to it, stop it, restart it. `Send + Sync`; share it
/// with `Arc` or clone it (clones are the same session).
///
/// Operations follow one state table ([`SessionState`]); refused ones send nothing and
/// return [`Error::State`] or [`Error::NoAgentId`]. A session never forgets an agent it may
/// have started: after an unclear failure or a cancellation, the next `stop`, `start` or
/// drop finds it and stops or adopts it (see `docs/reliability.md`).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use shengwang_agent::agentkit::{Agent, AgentUid, RemoteUid, SessionState};
/// use shengwang_agent::types::agents::Priority;
/// use shengwang_agent::vendors::{Llm, StepFunTts};
/// # let emu = convoai_emulator::Emulator::builder().spawn().await?;
/// # let client = shengwang_agent::Client::builder()
/// #     .app_id(emu.app_id()).app_certificate(emu.app_certificate())
/// #     .base_url(emu.base_url()).build()?;
/// let agent = Agent::new()
///     .with_llm(Llm::custom("https://llm.example/v1"))?
///     .with_tts(StepFunTts::new("key", "step-tts-mini", "voice"))?;
/// let session = agent
///     .create_session(&client, "room-42", AgentUid::from(1001), [RemoteUid::from(2002)])
///     .build();
/// session.start().await?;
/// session.say("Hello!").priority(Priority::Append).send().await?;
/// session.stop().await?;
/// assert_eq!(session.status(), SessionState::Stopped);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Session {
    inner: Arc<Inner>,
}

/// A handle that does not keep its session alive, for event handlers that need their
/// session: a handler holding a [`Session`] would keep it (and its agent) alive forever.
#[derive(Clone)]
pub struct WeakSession(Weak<Inner>);

impl WeakSession {
    /// The session, if a handle to it still exists.
    pub fn upgrade(&self) -> Option<Session> {
        self.0.upgrade().map(|inner| Session { inner })
    }
}

impl std::fmt::Debug for WeakSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WeakSession")
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let core = self.inner.core();
        f.debug_struct("Session")
            .field("name", &self.inner.cfg.name)
            .field("channel", &self.inner.cfg.b.channel)
            .field("agent_uid", &self.inner.cfg.b.agent_uid)
            .field("state", &core.state)
            .field("agent_id", &core.agent_id)
            .field("may_have_agent", &core.live.is_some())
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Marks the agent as owned elsewhere from now on (a fleet handed it over or lost it):
    /// dropping this session leaves the agent alone, quietly.
    pub(crate) fn hand_off(&self) {
        self.inner
            .handed_off
            .store(true, std::sync::atomic::Ordering::Release);
    }

    fn from_parts(cfg: Arc<Config>, core: Core) -> Session {
        let live = cfg.b.client.sessions().registry().clone();
        let inner = Arc::new_cyclic(|weak: &Weak<Inner>| {
            let erased: Weak<dyn registry::LiveSession> = weak.clone();
            Inner {
                key: live.insert(erased),
                cfg,
                applied: update::Applied::new(core.agent_id.as_deref()),
                core: Mutex::new(core),
                events: Events::default(),
                handed_off: std::sync::atomic::AtomicBool::new(false),
            }
        });
        {
            let core = inner.core();
            inner
                .hub()
                .telemetry()
                .session_state(None, Some(core.state));
            if core.live.is_some() {
                inner.record(&core);
            }
        }
        Session { inner }
    }

    /// The span of one session operation (`convoai.session`), a child of the caller's current
    /// span; the REST calls it makes nest under it. See [`session_span`].
    pub(super) fn span(&self, operation: &'static str) -> tracing::Span {
        let span = session_span(self.client(), operation, None, self.channel());
        // Nothing read or copied when no subscriber wants the span.
        if !span.is_disabled() {
            if let Some(id) = self.inner.core().agent_id.as_deref() {
                span.record(
                    "convoai.agent_id",
                    tracing::field::display(crate::redact::escape(id)),
                );
            }
        }
        span
    }
}

/// A `convoai.session` span: `convoai.operation`, `convoai.agent_id` when known, and
/// `convoai.channel` only when the client was built with `trace_channels(true)`;
/// `error.type` is recorded when the operation fails ([`traced`]).
pub(super) fn session_span(
    client: &crate::Client,
    operation: &'static str,
    agent_id: Option<&str>,
    channel: &str,
) -> tracing::Span {
    let span = tracing::info_span!(
        "convoai.session",
        otel.name = %format_args!("session.{operation}"),
        convoai.operation = operation,
        convoai.agent_id = tracing::field::Empty,
        convoai.channel = tracing::field::Empty,
        error.type = tracing::field::Empty,
    );
    if span.is_disabled() {
        return span;
    }
    if let Some(id) = agent_id {
        span.record(
            "convoai.agent_id",
            tracing::field::display(crate::redact::escape(id)),
        );
    }
    if client.telemetry().trace_channels() {
        span.record(
            "convoai.channel",
            tracing::field::display(crate::redact::escape(channel)),
        );
    }
    span
}

/// Runs `op` inside `span`, recording `error.type` on it when it fails.
pub(super) async fn traced<T>(
    span: tracing::Span,
    op: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    use tracing::Instrument;
    // Without a subscriber the span is disabled: no wrapper (and no move into it) at all.
    let result = if span.is_disabled() {
        op.await
    } else {
        op.instrument(span.clone()).await
    };
    if let Err(e) = &result {
        span.record("error.type", crate::transport::error_type(e).as_ref());
    }
    result
}
