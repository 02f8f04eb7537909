//! `Session`: one agent run (and its restarts) driven by the state machine.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;

use super::events::Events;
use super::{Agent, EventKind, HandlerId, Operation, SessionEvent, SessionState, TokenSource};
use crate::api::Agents;
use crate::state::{check, Refusal, Step};
use crate::token::DEFAULT_EXPIRE_SECS;
use crate::transport::Response;
use crate::types::agents::*;
use crate::{Client, Error, Result};

/// Configures a session; from [`Agent::create_session`].
#[must_use]
pub struct SessionBuilder {
    client: Client,
    agent: Agent,
    channel: String,
    agent_uid: String,
    remote_uids: Vec<String>,
    name: Option<String>,
    token: Option<String>,
    idle_timeout: Option<u32>,
    enable_string_uid: Option<bool>,
    expires_in: Duration,
    stop_on_drop: bool,
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
            .finish()
    }
}

impl Agent {
    /// A session of this agent in `channel` as `agent_uid`, listening to `remote_uids`.
    pub fn create_session(
        &self,
        client: &Client,
        channel: impl Into<String>,
        agent_uid: impl Into<String>,
        remote_uids: impl IntoIterator<Item = impl Into<String>>,
    ) -> SessionBuilder {
        SessionBuilder {
            client: client.clone(),
            agent: self.clone(),
            channel: channel.into(),
            agent_uid: agent_uid.into(),
            remote_uids: remote_uids.into_iter().map(Into::into).collect(),
            name: None,
            token: None,
            idle_timeout: None,
            enable_string_uid: None,
            expires_in: Duration::from_secs(u64::from(DEFAULT_EXPIRE_SECS)),
            stop_on_drop: false,
        }
    }
}

impl SessionBuilder {
    /// Agent name (must be unique among running agents). Default: the agent's name, or
    /// `agent`, plus the time and a random suffix, so many sessions per second never collide.
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
    /// Stop the agent when the last handle to a running session is dropped (default: only
    /// a warning is logged, and the agent runs on until its idle timeout).
    pub fn stop_on_drop(mut self, on: bool) -> Self {
        self.stop_on_drop = on;
        self
    }

    /// The session, idle.
    pub fn build(self) -> Session {
        self.into_session(SessionState::Idle, None)
    }

    /// A session for an agent that is already running (e.g. started by another process):
    /// `stop`, `say` and the rest work on `agent_id` right away.
    pub fn resume(self, agent_id: impl Into<String>) -> Session {
        self.into_session(SessionState::Running, Some(agent_id.into()))
    }

    fn into_session(self, state: SessionState, agent_id: Option<String>) -> Session {
        let name = self.name.clone().unwrap_or_else(|| {
            let base = self.agent.name().unwrap_or("agent");
            let secs = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            format!("{base}-{secs}-{:08x}", rand::thread_rng().gen::<u32>())
        });
        Session {
            inner: Arc::new(Inner {
                b: self,
                name,
                core: Mutex::new(Core { state, agent_id }),
                events: Events::default(),
            }),
        }
    }
}

struct Core {
    state: SessionState,
    agent_id: Option<String>,
}

struct Inner {
    b: SessionBuilder,
    name: String,
    core: Mutex<Core>,
    events: Events,
}

impl Inner {
    fn core(&self) -> std::sync::MutexGuard<'_, Core> {
        self.core.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let core = self.core.get_mut().unwrap_or_else(|p| p.into_inner());
        let (SessionState::Running, Some(id)) = (core.state, core.agent_id.clone()) else {
            return;
        };
        if !self.b.stop_on_drop {
            tracing::warn!(agent_id = %id, "session dropped while its agent runs; it stops at its idle timeout or with stop_agent()");
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                let client = self.b.client.clone();
                handle.spawn(async move {
                    if let Err(e) = client.stop_agent(&id).await {
                        tracing::warn!(agent_id = %id, error = %e, "stop on drop failed");
                    }
                });
            }
            Err(_) => {
                tracing::warn!(agent_id = %id, "stop_on_drop needs a tokio runtime; agent left running")
            }
        }
    }
}

/// Puts a session whose start or stop was cancelled (its future dropped) into `error`, so it
/// is never stuck in `starting`/`stopping`.
struct InFlight<'a> {
    inner: &'a Inner,
    armed: bool,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if self.armed {
            let mut core = self.inner.core();
            if matches!(core.state, SessionState::Starting | SessionState::Stopping) {
                tracing::warn!(state = %core.state, "session operation cancelled; session set to error");
                core.state = SessionState::Error;
            }
        }
    }
}

/// An agent session: start it, talk to it, stop it, restart it. `Send + Sync`; share it
/// with `Arc` or clone it (clones are the same session).
///
/// Operations follow one state table ([`SessionState`]); refused ones send nothing and
/// return [`Error::State`] or [`Error::NoAgentId`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use shengwang_agent::agentkit::{Agent, SessionState};
/// use shengwang_agent::vendors::{Llm, StepFunTts};
/// # let emu = convoai_emulator::Emulator::builder().spawn().await?;
/// # let client = shengwang_agent::Client::builder()
/// #     .app_id(emu.app_id()).app_certificate(emu.app_certificate())
/// #     .base_url(emu.base_url()).build()?;
/// let agent = Agent::new()
///     .with_llm(Llm::custom("https://llm.example/v1"))?
///     .with_tts(StepFunTts::new("key", "step-tts-mini", "voice"))?;
/// let session = agent.create_session(&client, "room-42", "1001", ["2002"]).build();
/// session.start().await?;
/// session.say("Hello!", None, None).await?;
/// session.stop().await?;
/// assert_eq!(session.status(), SessionState::Stopped);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Session {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let core = self.inner.core();
        f.debug_struct("Session")
            .field("name", &self.inner.name)
            .field("channel", &self.inner.b.channel)
            .field("agent_uid", &self.inner.b.agent_uid)
            .field("state", &core.state)
            .field("agent_id", &core.agent_id)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// The agent id of the current run (none before a start succeeds, or after a failed
    /// restart).
    pub fn id(&self) -> Option<String> {
        self.inner.core().agent_id.clone()
    }
    /// The current state.
    pub fn status(&self) -> SessionState {
        self.inner.core().state
    }
    /// The agent this session runs.
    pub fn agent(&self) -> &Agent {
        &self.inner.b.agent
    }
    /// The agent name used when starting.
    pub fn name(&self) -> &str {
        &self.inner.name
    }
    /// The project's app id.
    pub fn app_id(&self) -> &str {
        self.inner.b.client.app_id()
    }
    /// The client, for endpoints the session does not wrap.
    pub fn client(&self) -> &Client {
        &self.inner.b.client
    }

    /// Registers an async handler for one kind of event; handlers run in registration order
    /// and are awaited.
    pub fn on<F, Fut>(&self, kind: EventKind, handler: F) -> HandlerId
    where
        F: Fn(SessionEvent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.inner.events.on(kind, handler)
    }
    /// Removes a handler; false if it was not registered.
    pub fn off(&self, id: HandlerId) -> bool {
        self.inner.events.off(id)
    }
    /// Every event from now on, as a stream.
    pub fn subscribe(&self) -> futures::stream::BoxStream<'static, SessionEvent> {
        self.inner.events.subscribe()
    }

    fn agents(&self) -> Agents<'_> {
        self.inner
            .b
            .client
            .agents()
            .as_agent(&self.inner.b.channel, &self.inner.b.agent_uid)
    }

    /// Applies the state table; on a transition returns the previous state.
    fn begin(&self, op: Operation) -> Result<(Step, SessionState, Option<String>)> {
        let mut core = self.inner.core();
        let from = core.state;
        match check(from, op, core.agent_id.is_some()) {
            Ok(Step::Enter(to)) => {
                core.state = to;
                if op == Operation::Start {
                    core.agent_id = None;
                }
                Ok((Step::Enter(to), from, core.agent_id.clone()))
            }
            Ok(Step::Send) => Ok((Step::Send, from, core.agent_id.clone())),
            Err(Refusal::State) => Err(Error::State {
                operation: op,
                state: from,
            }),
            Err(Refusal::NoAgentId) => Err(Error::NoAgentId { operation: op }),
        }
    }

    async fn settle(&self, to: SessionState, agent_id: Option<String>) {
        let from = {
            let mut core = self.inner.core();
            let from = core.state;
            core.state = to;
            if agent_id.is_some() {
                core.agent_id = agent_id;
            }
            from
        };
        self.inner
            .events
            .emit(SessionEvent::StateChanged { from, to })
            .await;
    }

    async fn failed(&self, op: Operation, e: &Error) {
        self.inner
            .events
            .emit(SessionEvent::Error {
                operation: op,
                message: e.to_string(),
            })
            .await;
    }

    /// Starts (or restarts) the agent; returns its id. Exactly one of several concurrent
    /// starts is sent; the others get [`Error::State`].
    pub async fn start(&self) -> Result<String> {
        // The avatar/TTS check refuses before anything changes, like the Python SDK.
        self.inner.b.agent.check()?;
        let (_, from, _) = self.begin(Operation::Start)?;
        self.inner
            .events
            .emit(SessionEvent::StateChanged {
                from,
                to: SessionState::Starting,
            })
            .await;
        let mut guard = InFlight {
            inner: &self.inner,
            armed: true,
        };
        let result = self.send_start().await;
        guard.armed = false;
        match result {
            Ok(id) => {
                self.settle(SessionState::Running, Some(id.clone())).await;
                self.inner
                    .events
                    .emit(SessionEvent::Started {
                        agent_id: id.clone(),
                    })
                    .await;
                Ok(id)
            }
            Err(e) => {
                self.settle(SessionState::Error, None).await;
                self.failed(Operation::Start, &e).await;
                Err(e)
            }
        }
    }

    async fn send_start(&self) -> Result<String> {
        let request = self.start_request()?;
        Ok(self.agents().start(&request).await?.into_inner().agent_id)
    }

    /// The join request [`start`](Self::start) would send now, with a freshly signed token
    /// (or the one given to the builder). Sends nothing: for dry runs and for showing a
    /// configuration (its `Debug` redacts the token and vendor keys).
    pub fn start_request(&self) -> Result<StartAgentRequest> {
        let b = &self.inner.b;
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
        Ok(StartAgentRequest {
            name: self.inner.name.clone(),
            properties,
        })
    }

    /// Stops the agent. An agent the service no longer knows (404) counts as stopped. After
    /// a failed stop the session is in `error` and `stop` can be called again.
    pub async fn stop(&self) -> Result<()> {
        let (_, from, id) = self.begin(Operation::Stop)?;
        let id = id.unwrap_or_default();
        self.inner
            .events
            .emit(SessionEvent::StateChanged {
                from,
                to: SessionState::Stopping,
            })
            .await;
        let mut guard = InFlight {
            inner: &self.inner,
            armed: true,
        };
        let result = self.agents().stop(&id).await;
        guard.armed = false;
        match result {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => {
                self.settle(SessionState::Error, None).await;
                self.failed(Operation::Stop, &e).await;
                return Err(e);
            }
        }
        self.settle(SessionState::Stopped, None).await;
        self.inner
            .events
            .emit(SessionEvent::Stopped { agent_id: id })
            .await;
        Ok(())
    }

    /// Runs an operation that does not change the state; a failure emits an error event.
    async fn send<'s, T, F, Fut>(&'s self, op: Operation, call: F) -> Result<T>
    where
        F: FnOnce(Agents<'s>, String) -> Fut,
        Fut: Future<Output = Result<T>> + 's,
    {
        let (_, _, id) = self.begin(op)?;
        let result = call(self.agents(), id.unwrap_or_default()).await;
        if let Err(e) = &result {
            self.failed(op, e).await;
        }
        result
    }

    /// Makes the agent speak `text` (1 to 512 bytes).
    pub async fn say(
        &self,
        text: impl Into<String>,
        priority: Option<Priority>,
        interruptable: Option<bool>,
    ) -> Result<()> {
        let request = SpeakRequest {
            text: text.into(),
            priority,
            interruptable,
        };
        self.send(Operation::Say, |a, id| async move {
            a.speak(&id, &request).await.map(|_| ())
        })
        .await
    }

    /// Interrupts the agent's speaking or thinking.
    pub async fn interrupt(&self) -> Result<()> {
        self.send(Operation::Interrupt, |a, id| async move {
            a.interrupt(&id).await.map(|_| ())
        })
        .await
    }

    /// Updates the running agent.
    pub async fn update(&self, properties: UpdateAgentRequest) -> Result<()> {
        self.send(Operation::Update, |a, id| async move {
            a.update(&id, &properties).await.map(|_| ())
        })
        .await
    }

    /// Injects `request.text` as if the user had said it.
    pub async fn think(&self, request: ThinkRequest) -> Result<()> {
        self.send(Operation::Think, |a, id| async move {
            a.think(&id, &request).await.map(|_| ())
        })
        .await
    }

    /// Gives the running agent a fresh channel token valid for `expires_in`.
    pub async fn renew_token(&self, expires_in: Duration) -> Result<()> {
        let b = &self.inner.b;
        // Same identity rule as the start token ("0": any uid).
        let account = if b.agent_uid == "0" {
            ""
        } else {
            b.agent_uid.as_str()
        };
        let token = b.client.signer().convo_ai(&b.channel, account);
        self.send(Operation::RenewToken, |a, id| async move {
            let fresh = token
                .expire(crate::token::expires_in(expires_in)?)
                .build()?;
            let request = UpdateAgentRequest {
                token: Some(fresh),
                ..Default::default()
            };
            a.update(&id, &request).await.map(|_| ())
        })
        .await
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
