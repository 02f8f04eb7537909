//! `Session`: one agent run (and its restarts) driven by the state machine, never losing
//! track of an agent that may be running.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use rand::Rng;

use super::events::Events;
use super::resolve::{self, unix_now};
use super::uid::{AgentUid, RemoteUid};
use super::{Agent, EventKind, HandlerId, Operation, SessionEvent, SessionState, TokenSource};
use crate::api::Agents;
use crate::identity::Identity;
use crate::live::{Fact, LiveSession};
use crate::state::{check, Refusal};
use crate::token::DEFAULT_EXPIRE_SECS;
use crate::transport::Response;
use crate::types::agents::*;
use crate::{Client, Error, Result};

pub(super) mod ready;
mod renew;
mod update;

mod sealed {
    pub trait Sealed {}
}
pub(crate) use sealed::Sealed;

/// A client sessions can be created with: [`Client`] gives a [`SessionBuilder`],
/// [`blocking::Client`](crate::blocking::Client) a blocking one. See
/// [`Agent::create_session`].
pub trait SessionFactory: Sealed {
    /// The builder this client gives.
    type Builder;
    /// A builder for a session of `agent`; use [`Agent::create_session`].
    fn session_builder(
        &self,
        agent: &Agent,
        channel: String,
        agent_uid: AgentUid,
        remote_uids: Vec<RemoteUid>,
    ) -> Self::Builder;
}

impl Sealed for Client {}

impl SessionFactory for Client {
    type Builder = SessionBuilder;
    fn session_builder(
        &self,
        agent: &Agent,
        channel: String,
        agent_uid: AgentUid,
        remote_uids: Vec<RemoteUid>,
    ) -> SessionBuilder {
        SessionBuilder {
            client: self.internal(),
            agent: agent.clone(),
            channel,
            agent_uid,
            remote_uids,
            name: None,
            token: None,
            idle_timeout: None,
            enable_string_uid: None,
            expires_in: Duration::from_secs(u64::from(DEFAULT_EXPIRE_SECS)),
            stop_on_drop: false,
            renew_token_on_expiry: false,
            labels: BTreeMap::new(),
        }
    }
}

impl Agent {
    /// A session of this agent in `channel` as `agent_uid`, listening to `remote_uids`;
    /// `client` is a [`Client`] or a [`blocking::Client`](crate::blocking::Client), and the
    /// session is async or blocking to match.
    ///
    /// ```
    /// # fn demo(client: &shengwang_agent::Client, agent: &shengwang_agent::agentkit::Agent) {
    /// use shengwang_agent::agentkit::{AgentUid, RemoteUid};
    /// let session = agent
    ///     .create_session(client, "room-42", AgentUid::from(1001), [RemoteUid::from(2002)])
    ///     .stop_on_drop(true)
    ///     .build();
    /// # }
    /// ```
    pub fn create_session<C: SessionFactory>(
        &self,
        client: &C,
        channel: impl Into<String>,
        agent_uid: AgentUid,
        remote_uids: impl IntoIterator<Item = RemoteUid>,
    ) -> C::Builder {
        client.session_builder(
            self,
            channel.into(),
            agent_uid,
            remote_uids.into_iter().collect(),
        )
    }
}

/// Configures a session; from [`Agent::create_session`].
#[must_use]
pub struct SessionBuilder {
    client: Client,
    agent: Agent,
    channel: String,
    agent_uid: AgentUid,
    remote_uids: Vec<RemoteUid>,
    name: Option<String>,
    token: Option<String>,
    idle_timeout: Option<u32>,
    enable_string_uid: Option<bool>,
    expires_in: Duration,
    stop_on_drop: bool,
    renew_token_on_expiry: bool,
    labels: BTreeMap<String, String>,
}

impl std::fmt::Debug for SessionBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionBuilder")
            .field("client", &self.client)
            .field("agent", &self.agent)
            .field("channel", &self.channel)
            .field("agent_uid", &self.agent_uid)
            .field("remote_uids", &self.remote_uids)
            .field("name", &self.name)
            .field(
                "token",
                &self.token.as_ref().map(|_| crate::redact::REDACTED),
            )
            .field("idle_timeout", &self.idle_timeout)
            .field("enable_string_uid", &self.enable_string_uid)
            .field("expires_in", &self.expires_in)
            .field("stop_on_drop", &self.stop_on_drop)
            .field("renew_token_on_expiry", &self.renew_token_on_expiry)
            .field("labels", &self.labels)
            .finish()
    }
}

impl SessionBuilder {
    /// Agent name. It is how the session proves which agent is its own after a failure
    /// (the service refuses a second running agent with the same name), so it must not be
    /// used by any other running agent. Default: the agent's name, or `agent`, plus the time
    /// and a random suffix.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into()).filter(|n| !n.is_empty());
        self
    }
    /// A ready channel token for the agent, instead of signing one.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into()).filter(|t| !t.is_empty());
        self
    }
    /// Seconds to stay after the remote users left (0: never leave by itself).
    pub fn idle_timeout(mut self, secs: u32) -> Self {
        self.idle_timeout = Some(secs);
        self
    }
    /// Uids are string accounts.
    pub fn enable_string_uid(mut self, on: bool) -> Self {
        self.enable_string_uid = Some(on);
        self
    }
    /// Lifetime of the signed channel token (1 s to 24 h, checked at start; default 24 h).
    pub fn expires_in(mut self, lifetime: Duration) -> Self {
        self.expires_in = lifetime;
        self
    }
    /// Stop the agent when the last handle to the session is dropped, on a runtime the
    /// client owns (so it also happens while the caller's runtime shuts down). Default: a
    /// warning names the agent, which runs on until its idle timeout. An agent whose id the
    /// session never learned (a failed or cancelled start) is cleaned up either way.
    pub fn stop_on_drop(mut self, on: bool) -> Self {
        self.stop_on_drop = on;
        self
    }
    /// Adds a label (`properties.labels`, on top of the agent's). The service echoes labels
    /// in notification callbacks, not in its list or status answers.
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }
    /// Renew the agent's channel token when the service warns that it is about to expire
    /// (a token-expiry notification handed to
    /// [`Client::apply_notification`](crate::Client::apply_notification)): the session signs
    /// a fresh token for the same channel and uid with the same lifetime
    /// ([`expires_in`](Self::expires_in)) and sends it with a REST update, in the background,
    /// once per notice. Events: `TokenExpiring`, then `TokenRenewed` or `TokenRenewFailed`.
    ///
    /// Without it, or with a [`token`](Self::token) given by you (the session cannot sign its
    /// successor), the session only emits `TokenExpiring`. The update API takes no avatar
    /// token, so an avatar's token is not renewed: give the avatar a lifetime that covers
    /// the session. Default: off.
    pub fn renew_token_on_expiry(mut self, on: bool) -> Self {
        self.renew_token_on_expiry = on;
        self
    }

    /// The session, idle.
    pub fn build(self) -> Session {
        self.into_session(SessionState::Idle, None)
    }

    /// A session for an agent that is already running (e.g. started by another process),
    /// after asking the service: an empty or unknown id, or an agent that is not running, is
    /// refused with [`Error::NotResumable`] (or [`Error::InvalidInput`]).
    pub async fn resume(self, agent_id: impl Into<String>) -> Result<Session> {
        let id = agent_id.into();
        crate::validate::id_segment("agent_id", &id)?;
        let agents = self
            .client
            .agents()
            .as_agent(&self.channel, self.agent_uid.as_str());
        let reason = match agents.get(&id).await {
            Ok(info) if resolve::is_alive(&info.body.status) => {
                return Ok(self.into_session(SessionState::Running, Some(id)))
            }
            Ok(info) => format!("it is {}", info.body.status),
            Err(e) if e.is_not_found() => "the service does not know it".to_owned(),
            Err(e) => return Err(e),
        };
        Err(Error::NotResumable {
            agent_id: id,
            reason,
        })
    }

    /// [`resume`](Self::resume) without asking the service: the session is `running` on
    /// `agent_id` whatever it is. For callers that know the agent runs.
    pub fn resume_unchecked(self, agent_id: impl Into<String>) -> Session {
        self.into_session(SessionState::Running, Some(agent_id.into()))
    }

    fn into_session(self, state: SessionState, agent_id: Option<String>) -> Session {
        let name = self.name.clone().unwrap_or_else(|| {
            let base = self.agent.name().unwrap_or("agent");
            format!(
                "{base}-{}-{:08x}",
                unix_now(),
                rand::thread_rng().gen::<u32>()
            )
        });
        let live = agent_id.clone().map(|id| Live {
            id: Some(id),
            since: unix_now(),
        });
        let core = Core {
            state,
            agent_id,
            live,
            revived: false,
            settle_until: None,
            renewing: false,
        };
        Session::from_parts(Arc::new(Config { b: self, name }), core)
    }
}

/// How long the stop of a dropped session's agent keeps retrying.
const DROP_STOP_PATIENCE: Duration = Duration::from_secs(30);

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
}

impl Inner {
    fn core(&self) -> std::sync::MutexGuard<'_, Core> {
        self.core.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Moves to `to`, with its StateChanged event (emitted under the lock, so events come
    /// in the order of the changes).
    fn set_state(&self, core: &mut Core, to: SessionState) {
        let from = core.state;
        if from != to {
            core.state = to;
            self.events.emit(SessionEvent::StateChanged { from, to });
        }
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

impl Drop for Inner {
    fn drop(&mut self) {
        let registry = self.cfg.b.client.sessions().clone();
        registry.remove(self.key);
        let core = self.core.get_mut().unwrap_or_else(|p| p.into_inner());
        let Some(live) = core.live.clone() else {
            return;
        };
        // An agent whose id the user never saw cannot be stopped by them: always clean it.
        let stop = self.cfg.b.stop_on_drop || live.id.is_none();
        if core.revived || !stop {
            let why = if core.revived {
                "stopping a dropped session's agent failed"
            } else {
                "session dropped while its agent runs (stop_on_drop is off)"
            };
            self.warn_left_running(&live, why);
            return;
        }
        let revived = Core {
            state: core.state,
            agent_id: core.agent_id.clone(),
            live: Some(live.clone()),
            revived: true,
            settle_until: core.settle_until,
            renewing: false,
        };
        let session = Session::from_parts(self.cfg.clone(), revived);
        let queued = registry.spawn_cleanup(async move {
            // Nobody is left to retry: keep at it for a while, unless retrying cannot help.
            let mut pause = Duration::from_millis(50);
            let give_up = tokio::time::Instant::now() + DROP_STOP_PATIENCE;
            loop {
                match session.stop().await {
                    Ok(()) => return,
                    Err(e @ Error::AgentUnresolved { .. }) => {
                        tracing::warn!(name = %session.name(), channel = %session.channel(), error = %e, "stop on drop failed");
                        return;
                    }
                    Err(e) if tokio::time::Instant::now() + pause > give_up => {
                        tracing::warn!(name = %session.name(), channel = %session.channel(), error = %e, "stop on drop failed");
                        return;
                    }
                    Err(_) => {
                        tokio::time::sleep(pause).await;
                        pause = (pause * 2).min(Duration::from_secs(2));
                    }
                }
            }
        });
        if !queued {
            self.warn_left_running(&live, "session dropped and no runtime to stop its agent on");
        }
    }
}

impl LiveSession for Inner {
    fn live_agent_id(&self) -> Option<String> {
        self.core().live.as_ref().and_then(|l| l.id.clone())
    }
    fn may_have_agent(&self) -> bool {
        self.core().live.is_some()
    }
    fn session_name(&self) -> &str {
        &self.cfg.name
    }
    fn session_channel(&self) -> &str {
        &self.cfg.b.channel
    }
    fn stop_live(self: Arc<Self>) -> Pin<Box<dyn Future<Output = Result<()>> + Send>> {
        let session = Session { inner: self };
        Box::pin(async move {
            loop {
                match session.stop().await {
                    Ok(()) => return Ok(()),
                    // Another call is starting or stopping it: wait for it to settle.
                    Err(Error::State {
                        state: SessionState::Starting | SessionState::Stopping,
                        ..
                    }) => tokio::time::sleep(Duration::from_millis(20)).await,
                    Err(Error::State { .. }) if !session.inner.may_have_agent() => return Ok(()),
                    Err(e) => return Err(e),
                }
            }
        })
    }
    fn take_fact(self: Arc<Self>, agent_id: &str, fact: &Fact) -> bool {
        let mut core = self.core();
        let ours = core.live.as_ref().and_then(|l| l.id.as_deref()) == Some(agent_id);
        if !ours || !matches!(core.state, SessionState::Running | SessionState::Error) {
            return false;
        }
        let (to, reason) = match fact {
            Fact::Left { reason } => (SessionState::Stopped, reason.clone()),
            Fact::Failed { message } => (SessionState::Error, message.clone()),
            Fact::Error { message } => {
                self.events.emit(SessionEvent::AgentError {
                    agent_id: agent_id.to_owned(),
                    message: message.clone(),
                });
                return true;
            }
            Fact::TokenExpiring => {
                let renew = self.cfg.b.renew_token_on_expiry
                    && self.cfg.b.token.is_none()
                    && core.state == SessionState::Running;
                self.events.emit(SessionEvent::TokenExpiring {
                    agent_id: agent_id.to_owned(),
                    renewing: renew,
                });
                // A renewal under way already gives the agent a token as fresh as this
                // notice asks for.
                if renew && !core.renewing {
                    core.renewing = true;
                    drop(core);
                    renew::spawn(&self, agent_id);
                }
                return true;
            }
        };
        core.live = None;
        self.set_state(&mut core, to);
        self.events.emit(SessionEvent::AgentLeft {
            agent_id: agent_id.to_owned(),
            reason,
        });
        if to == SessionState::Stopped {
            self.events.emit(SessionEvent::Stopped {
                agent_id: agent_id.to_owned(),
            });
        }
        true
    }
}

/// Puts a session whose start or stop was cancelled (its future dropped) into `error`, with
/// its event, so it is never stuck in `starting`/`stopping`. What the session may have
/// running stays recorded, so the next stop, start or drop resolves it.
struct InFlight<'a> {
    inner: &'a Inner,
    armed: bool,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let mut core = self.inner.core();
        if matches!(core.state, SessionState::Starting | SessionState::Stopping) {
            tracing::warn!(name = %self.inner.cfg.name, state = %core.state, "session operation cancelled; session set to error");
            if core.live.as_ref().is_some_and(|l| l.id.is_none()) {
                core.settle_until = settle_deadline();
            }
            self.inner.set_state(&mut core, SessionState::Error);
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
    fn from_parts(cfg: Arc<Config>, core: Core) -> Session {
        let registry = cfg.b.client.sessions().clone();
        let inner = Arc::new_cyclic(|weak: &Weak<Inner>| {
            let erased: Weak<dyn LiveSession> = weak.clone();
            Inner {
                key: registry.insert(erased),
                cfg,
                applied: update::Applied::new(core.agent_id.as_deref()),
                core: Mutex::new(core),
                events: Events::default(),
            }
        });
        Session { inner }
    }

    /// The agent id of the current run: none before a start succeeds, or after a failed
    /// restart (unless the previous run's agent could not be stopped: then it is that one's).
    pub fn id(&self) -> Option<String> {
        self.inner.core().agent_id.clone()
    }
    /// The current state.
    pub fn status(&self) -> SessionState {
        self.inner.core().state
    }
    /// True while the session may have an agent running: from the start request until a
    /// stop is confirmed, including after a failure that left it unclear.
    pub fn may_have_agent(&self) -> bool {
        self.inner.core().live.is_some()
    }
    /// The agent this session runs.
    pub fn agent(&self) -> &Agent {
        &self.inner.cfg.b.agent
    }
    /// The agent name used when starting.
    pub fn name(&self) -> &str {
        &self.inner.cfg.name
    }
    /// The channel.
    pub fn channel(&self) -> &str {
        &self.inner.cfg.b.channel
    }
    /// The uid the agent joins as.
    pub fn agent_uid(&self) -> &AgentUid {
        &self.inner.cfg.b.agent_uid
    }
    /// The labels sent at start: the agent's, then the session's.
    pub fn labels(&self) -> BTreeMap<String, String> {
        let b = &self.inner.cfg.b;
        let mut labels = b.agent.labels().cloned().unwrap_or_default();
        labels.extend(b.labels.clone());
        labels
    }
    /// The project's app id.
    pub fn app_id(&self) -> &str {
        self.inner.cfg.b.client.app_id()
    }
    /// The client, for endpoints the session does not wrap.
    pub fn client(&self) -> &Client {
        &self.inner.cfg.b.client
    }
    /// A handle that does not keep the session alive (for handlers).
    pub fn downgrade(&self) -> WeakSession {
        WeakSession(Arc::downgrade(&self.inner))
    }
    /// True when this is the only handle (blocking sessions stop synchronously on drop).
    #[cfg_attr(not(feature = "blocking"), allow(dead_code))] // used by blocking sessions
    pub(crate) fn is_last_handle(&self) -> bool {
        Arc::strong_count(&self.inner) == 1
    }
    /// True when dropping the last handle would stop an agent.
    #[cfg_attr(not(feature = "blocking"), allow(dead_code))] // used by blocking sessions
    pub(crate) fn stops_on_drop(&self) -> bool {
        let core = self.inner.core();
        core.live
            .as_ref()
            .is_some_and(|l| self.inner.cfg.b.stop_on_drop || l.id.is_none())
    }

    /// Registers an async handler for one kind of event.
    ///
    /// Handlers run one at a time, in event order, on a task of their own (on the current
    /// runtime, or the client's outside one); the session never waits for them, so a handler
    /// may call back into its session (through [`downgrade`](Self::downgrade)). A handler
    /// that panics is logged and skipped. A handler that blocks its thread or never returns
    /// delays the handlers after it, not the session.
    pub fn on<F, Fut>(&self, kind: EventKind, handler: F) -> HandlerId
    where
        F: Fn(SessionEvent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let registry = self.client().sessions().clone();
        self.inner
            .events
            .on(kind, handler, move || registry.handle())
    }
    /// Removes a handler; false if it was not registered.
    pub fn off(&self, id: HandlerId) -> bool {
        self.inner.events.off(id)
    }
    /// Every event from now on, as a stream (events are sent as they happen; a subscriber
    /// more than 64 events behind misses the oldest).
    pub fn subscribe(&self) -> futures::stream::BoxStream<'static, SessionEvent> {
        self.inner.events.subscribe()
    }

    fn agents(&self) -> Agents<'_> {
        let b = &self.inner.cfg.b;
        b.client.agents().as_agent(&b.channel, b.agent_uid.as_str())
    }

    /// Whom this session's header tokens are signed for.
    fn header_identity(&self) -> Identity {
        let b = &self.inner.cfg.b;
        Identity::session(&b.channel, b.agent_uid.as_str())
    }

    /// The join token this session signed is for its channel and agent uid, the identity of
    /// its header token too: the header reuses it, so a session signs one token, not two.
    fn adopt_join_token(&self, request: &StartAgentRequest, signed_at: u64) {
        let b = &self.inner.cfg.b;
        let header = self.header_identity();
        if b.token.is_some() || header != Identity::participant(&b.channel, b.agent_uid.as_str()) {
            return;
        }
        if let Ok(lifetime) = crate::token::expires_in(b.expires_in) {
            b.client
                .adopt_header_token(&header, &request.properties.token, signed_at, lifetime);
        }
    }

    fn others(&self) -> Vec<String> {
        self.client().sessions().ids_except(self.inner.key)
    }

    fn refusal(op: Operation, state: SessionState, r: Refusal) -> Error {
        match r {
            Refusal::State => Error::State {
                operation: op,
                state,
            },
            Refusal::NoAgentId => Error::NoAgentId { operation: op },
        }
    }

    fn failed(&self, op: Operation, e: &Error) {
        self.inner.events.emit(SessionEvent::Error {
            operation: op,
            message: e.to_string(),
        });
    }

    /// Starts (or restarts) the agent; returns its id. Exactly one of several concurrent
    /// starts is sent; the others get [`Error::State`].
    ///
    /// A restart first settles what the previous run left: an agent whose stop failed is
    /// stopped, an agent of an unclear start is adopted if it is proven to be this session's
    /// (else [`Error::AgentUnresolved`] names the candidates).
    pub async fn start(&self) -> Result<String> {
        // The avatar/TTS check refuses before anything changes, like the Python SDK.
        self.inner.cfg.b.agent.check()?;
        let (previous, fresh) = {
            let mut core = self.inner.core();
            let from = core.state;
            check(from, Operation::Start, true)
                .map_err(|r| Self::refusal(Operation::Start, from, r))?;
            self.inner.set_state(&mut core, SessionState::Starting);
            // Reads never reach the previous run's agent, unless it still runs (its stop
            // failed): until it is stopped it stays this session's agent.
            core.agent_id = core.live.as_ref().and_then(|l| l.id.clone());
            let fresh = core.live.is_none();
            let live = core.live.get_or_insert(Live {
                id: None,
                since: unix_now(),
            });
            (live.clone(), fresh)
        };
        let mut guard = InFlight {
            inner: &self.inner,
            armed: true,
        };
        let result = self.run_start(previous).await;
        guard.armed = false;
        let mut core = self.inner.core();
        match result {
            Ok(id) => {
                core.agent_id = Some(id.clone());
                let since = core.live.as_ref().map_or_else(unix_now, |l| l.since);
                core.live = Some(Live {
                    id: Some(id.clone()),
                    since,
                });
                self.inner.set_state(&mut core, SessionState::Running);
                self.inner.events.emit(SessionEvent::Started {
                    agent_id: id.clone(),
                });
                Ok(id)
            }
            Err(e) => {
                if fresh && resolve::nothing_created(&e) {
                    core.live = None;
                } else if e.status().is_none() {
                    // No answer at all: the request may still be on its way.
                    core.settle_until = settle_deadline();
                }
                if let Some(live) = &core.live {
                    self.inner.warn_left_running(live, "start failed unclearly");
                }
                self.inner.set_state(&mut core, SessionState::Error);
                self.failed(Operation::Start, &e);
                Err(e)
            }
        }
    }

    async fn run_start(&self, previous: Live) -> Result<String> {
        let mut since = previous.since;
        if let Some(id) = &previous.id {
            // A run whose stop failed: stop it before starting the next.
            self.client().stop_agent(id).await?;
            since = unix_now();
            let mut core = self.inner.core();
            core.live = Some(Live { id: None, since });
            core.agent_id = None;
        }
        let signed_at = unix_now();
        let request = self.start_request()?;
        self.adopt_join_token(&request, signed_at);
        match self.agents().start(&request).await {
            Ok(created) => Ok(created.into_inner().agent_id),
            // The name is taken: an earlier attempt of this session created the agent.
            Err(e) if resolve::is_name_conflict(&e) => {
                resolve::adopt(
                    &self.agents(),
                    self.name(),
                    self.channel(),
                    since,
                    &self.others(),
                )
                .await
            }
            Err(e) => Err(e),
        }
    }

    /// The join request [`start`](Self::start) would send now, with a freshly signed token
    /// (or the one given to the builder). Sends nothing: for dry runs and for showing a
    /// configuration (its `Debug` redacts the token and vendor keys).
    pub fn start_request(&self) -> Result<StartAgentRequest> {
        let b = &self.inner.cfg.b;
        let source = match &b.token {
            Some(t) => TokenSource::Given(t.clone()),
            None => TokenSource::Sign {
                builder: b.client.signer().clone(),
                expires_in: b.expires_in,
            },
        };
        let mut properties =
            b.agent
                .to_properties(&b.channel, &b.agent_uid, &b.remote_uids, &source)?;
        properties.idle_timeout = b.idle_timeout;
        properties.enable_string_uid = b.enable_string_uid;
        if !b.labels.is_empty() {
            properties.labels = Some(self.labels());
        }
        Ok(b.agent
            .to_start_request(self.inner.cfg.name.clone(), properties))
    }

    /// Stops the agent. An agent the service no longer knows (404) counts as stopped. After
    /// a failed or cancelled start, `stop` finds the agent the start may have created and
    /// stops it. After a failed stop the session is in `error` and `stop` can be called
    /// again.
    pub async fn stop(&self) -> Result<()> {
        let live = {
            let mut core = self.inner.core();
            let from = core.state;
            check(from, Operation::Stop, core.live.is_some())
                .map_err(|r| Self::refusal(Operation::Stop, from, r))?;
            self.inner.set_state(&mut core, SessionState::Stopping);
            core.live.clone()
        };
        let mut guard = InFlight {
            inner: &self.inner,
            armed: true,
        };
        let result = match live {
            Some(live) => self.run_stop(live).await,
            None => Ok(None),
        };
        guard.armed = false;
        let mut core = self.inner.core();
        match result {
            Ok(stopped) => {
                core.live = None;
                self.inner.set_state(&mut core, SessionState::Stopped);
                self.client().forget_header_token(&self.header_identity());
                if let Some(id) = stopped {
                    self.inner
                        .events
                        .emit(SessionEvent::Stopped { agent_id: id });
                }
                Ok(())
            }
            Err(e) => {
                if let Some(live) = &core.live {
                    self.inner.warn_left_running(live, "stop failed");
                }
                self.inner.set_state(&mut core, SessionState::Error);
                self.failed(Operation::Stop, &e);
                Err(e)
            }
        }
    }

    /// Stops `live`, finding it first when its id is unknown; the id stopped, if any.
    async fn run_stop(&self, live: Live) -> Result<Option<String>> {
        let id = match live.id {
            Some(id) => id,
            None => match self.find_own(live.since).await? {
                Some(id) => {
                    if let Some(l) = self.inner.core().live.as_mut() {
                        l.id = Some(id.clone());
                    }
                    id
                }
                None => return Ok(None),
            },
        };
        self.client().stop_agent(&id).await?;
        Ok(Some(id))
    }

    /// The session's own agent, when its id is unknown: `None` when no alive agent in the
    /// channel can be it. Otherwise the service is asked whether the name is taken, with the
    /// session's own join: a 409 proves the agent runs, a success means it did not (and the
    /// caller stops the new one at once). The name is unique, so there is never a second.
    async fn find_own(&self, since: u64) -> Result<Option<String>> {
        let agents = self.agents();
        let others = self.others();
        let mut found = resolve::candidates(&agents, self.channel(), since, &others).await?;
        let settle = self.inner.core().settle_until;
        if found.is_empty() {
            if let Some(until) = settle.filter(|u| *u > tokio::time::Instant::now()) {
                // A start that got no answer may still be carried out: look again after.
                tokio::time::sleep_until(until).await;
                found = resolve::candidates(&agents, self.channel(), since, &others).await?;
            }
        }
        if found.is_empty() {
            return Ok(None);
        }
        let signed_at = unix_now();
        let request = self.start_request()?;
        self.adopt_join_token(&request, signed_at);
        match agents.start(&request).await {
            Ok(created) => Ok(Some(created.into_inner().agent_id)),
            Err(e) if resolve::is_name_conflict(&e) => {
                resolve::adopt(&agents, self.name(), self.channel(), since, &others)
                    .await
                    .map(Some)
            }
            Err(e) => Err(e),
        }
    }

    /// Runs an operation that does not change the state; a failure emits an error event.
    pub(crate) async fn send<'s, T, F, Fut>(&'s self, op: Operation, call: F) -> Result<T>
    where
        F: FnOnce(Agents<'s>, String) -> Fut,
        Fut: Future<Output = Result<T>> + 's,
    {
        let id = {
            let core = self.inner.core();
            check(core.state, op, core.agent_id.is_some())
                .map_err(|r| Self::refusal(op, core.state, r))?;
            core.agent_id.clone().unwrap_or_default()
        };
        let result = call(self.agents(), id).await;
        if let Err(e) = &result {
            self.failed(op, e);
        }
        result
    }

    /// Makes the agent speak `text` (1 to 512 bytes): set options, then
    /// [`send`](super::Say::send) (or `.await` it).
    pub fn say(&self, text: impl Into<String>) -> super::Say<'_> {
        super::Say::new(self, text.into())
    }

    /// Injects `text` as if the user had said it: set options, then
    /// [`send`](super::Think::send).
    pub fn think(&self, text: impl Into<String>) -> super::Think<'_> {
        super::Think::new(self, text.into())
    }

    /// Updates the running agent: set what changes, then [`send`](super::Update::send).
    pub fn update(&self) -> super::Update<'_> {
        super::Update::new(self)
    }

    /// Interrupts the agent's speaking or thinking.
    pub async fn interrupt(&self) -> Result<()> {
        self.send(Operation::Interrupt, |a, id| async move {
            a.interrupt(&id).await.map(|_| ())
        })
        .await
    }

    /// Gives the running agent a fresh channel token valid for `expires_in`, signed the way
    /// the start's token is (same channel and uid).
    pub async fn renew_token(&self, expires_in: Duration) -> Result<()> {
        self.send_token(self.agent_token(expires_in))
            .await
            .map(|_| ())
    }

    /// The conversation history of the current run.
    pub async fn history(&self) -> Result<Response<AgentHistory>> {
        self.send(
            Operation::History,
            |a, id| async move { a.history(&id).await },
        )
        .await
    }

    /// The agent's status as the service reports it.
    pub async fn info(&self) -> Result<Response<AgentInfo>> {
        self.send(Operation::Info, |a, id| async move { a.get(&id).await })
            .await
    }
}
