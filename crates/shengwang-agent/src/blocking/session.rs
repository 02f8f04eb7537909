//! Blocking `Session`: the async session driven on the blocking client's runtime. Every
//! method and setter of [`crate::Session`] and [`crate::SessionBuilder`] is here under the
//! same name (a test checks that the two lists match).

use std::collections::BTreeMap;
use std::time::Duration;

pub(super) mod ready;
mod turns;

use futures::StreamExt;
use serde_json::Value;

use super::Client;
use crate::agentkit::{
    Agent, AgentUid, EventKind, HandlerId, RemoteUid, SessionEvent, SessionFactory, SessionState,
};
use crate::transport::Response;
use crate::types::agents::*;
use crate::Result;

impl crate::agentkit::Sealed for Client {}

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
            client: self.clone(),
            inner: self
                .as_async()
                .session_builder(agent, channel, agent_uid, remote_uids),
        }
    }
}

/// Configures a blocking session; from [`Agent::create_session`] with a blocking
/// [`Client`].
#[derive(Debug)]
#[must_use]
pub struct SessionBuilder {
    client: Client,
    inner: crate::SessionBuilder,
}

impl SessionBuilder {
    fn map(self, f: impl FnOnce(crate::SessionBuilder) -> crate::SessionBuilder) -> Self {
        SessionBuilder {
            client: self.client,
            inner: f(self.inner),
        }
    }
    /// See [`crate::SessionBuilder::name`].
    pub fn name(self, name: impl Into<String>) -> Self {
        self.map(|b| b.name(name))
    }
    /// See [`crate::SessionBuilder::token`].
    pub fn token(self, token: impl Into<String>) -> Self {
        self.map(|b| b.token(token))
    }
    /// See [`crate::SessionBuilder::idle_timeout`].
    pub fn idle_timeout(self, secs: u32) -> Self {
        self.map(|b| b.idle_timeout(secs))
    }
    /// See [`crate::SessionBuilder::enable_string_uid`].
    pub fn enable_string_uid(self, on: bool) -> Self {
        self.map(|b| b.enable_string_uid(on))
    }
    /// See [`crate::SessionBuilder::expires_in`].
    pub fn expires_in(self, lifetime: Duration) -> Self {
        self.map(|b| b.expires_in(lifetime))
    }
    /// See [`crate::SessionBuilder::stop_on_drop`]; a blocking session stops its agent
    /// synchronously when its last handle is dropped outside an async runtime.
    pub fn stop_on_drop(self, on: bool) -> Self {
        self.map(|b| b.stop_on_drop(on))
    }
    /// See [`crate::SessionBuilder::label`].
    pub fn label(self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.map(|b| b.label(key, value))
    }
    /// See [`crate::SessionBuilder::renew_token_on_expiry`]; the renewal runs on the
    /// client's own runtime, so the thread that applies the notice never waits for it.
    pub fn renew_token_on_expiry(self, on: bool) -> Self {
        self.map(|b| b.renew_token_on_expiry(on))
    }
    /// The session, idle.
    pub fn build(self) -> Session {
        let inner = self.inner.build();
        Session {
            client: self.client,
            inner,
        }
    }
    /// See [`crate::SessionBuilder::resume`].
    pub fn resume(self, agent_id: impl Into<String>) -> Result<Session> {
        let SessionBuilder { client, inner } = self;
        let session = client.block_on(inner.resume(agent_id))?;
        Ok(Session {
            client,
            inner: session,
        })
    }
    /// See [`crate::SessionBuilder::resume_unchecked`].
    pub fn resume_unchecked(self, agent_id: impl Into<String>) -> Session {
        let inner = self.inner.resume_unchecked(agent_id);
        Session {
            client: self.client,
            inner,
        }
    }
}

/// The blocking twin of [`crate::Session`]: same methods, same rules.
#[derive(Debug, Clone)]
pub struct Session {
    client: Client,
    inner: crate::Session,
}

/// A blocking session's handle that does not keep it alive; see
/// [`crate::agentkit::WeakSession`].
#[derive(Debug, Clone)]
pub struct WeakSession {
    client: Client,
    inner: crate::agentkit::WeakSession,
}

impl WeakSession {
    /// The session, if a handle to it still exists.
    pub fn upgrade(&self) -> Option<Session> {
        self.inner.upgrade().map(|inner| Session {
            client: self.client.clone(),
            inner,
        })
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // The last handle: stop here and now rather than on the cleanup runtime, so a plain
        // program that returns from `main` does not leave the agent running. Inside an async
        // runtime this cannot block; the async session's drop takes over.
        if self.inner.is_last_handle()
            && self.inner.stops_on_drop()
            && tokio::runtime::Handle::try_current().is_err()
        {
            if let Err(e) = self.client.block_on(self.inner.stop()) {
                tracing::warn!(name = %self.inner.name(), channel = %self.inner.channel(), error = %e, "stop on drop failed");
            }
        }
    }
}

/// Events of a blocking session, one by one; from [`Session::subscribe`].
pub struct Subscription {
    client: Client,
    stream: futures::stream::BoxStream<'static, SessionEvent>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Subscription")
    }
}

impl Subscription {
    /// The next event, waiting at most `limit`; `None` on timeout or when the session is
    /// gone.
    pub fn recv_timeout(&mut self, limit: Duration) -> Option<SessionEvent> {
        let next = self.stream.next();
        self.client
            .block_on(async { Ok(tokio::time::timeout(limit, next).await.ok().flatten()) })
            .ok()
            .flatten()
    }
}

impl Iterator for Subscription {
    type Item = SessionEvent;
    /// Waits for the next event; `None` when the session is gone.
    fn next(&mut self) -> Option<SessionEvent> {
        let next = self.stream.next();
        self.client
            .block_on(async { Ok(next.await) })
            .ok()
            .flatten()
    }
}

impl Session {
    /// See [`crate::Session::id`].
    pub fn id(&self) -> Option<String> {
        self.inner.id()
    }
    /// See [`crate::Session::status`].
    pub fn status(&self) -> SessionState {
        self.inner.status()
    }
    /// See [`crate::Session::may_have_agent`].
    pub fn may_have_agent(&self) -> bool {
        self.inner.may_have_agent()
    }
    /// See [`crate::Session::agent`].
    pub fn agent(&self) -> &Agent {
        self.inner.agent()
    }
    /// See [`crate::Session::name`].
    pub fn name(&self) -> &str {
        self.inner.name()
    }
    /// See [`crate::Session::channel`].
    pub fn channel(&self) -> &str {
        self.inner.channel()
    }
    /// See [`crate::Session::agent_uid`].
    pub fn agent_uid(&self) -> &AgentUid {
        self.inner.agent_uid()
    }
    /// See [`crate::Session::labels`].
    pub fn labels(&self) -> BTreeMap<String, String> {
        self.inner.labels()
    }
    /// See [`crate::Session::app_id`].
    pub fn app_id(&self) -> &str {
        self.inner.app_id()
    }
    /// The blocking client, for endpoints the session does not wrap.
    pub fn client(&self) -> &Client {
        &self.client
    }
    /// See [`crate::Session::downgrade`].
    pub fn downgrade(&self) -> WeakSession {
        WeakSession {
            client: self.client.clone(),
            inner: self.inner.downgrade(),
        }
    }
    /// The async session underneath.
    pub fn as_async(&self) -> &crate::Session {
        &self.inner
    }
    /// Registers a plain function as a handler; see [`crate::Session::on`]. It runs on a
    /// blocking-friendly thread, so it may call this session's blocking methods (through
    /// [`downgrade`](Self::downgrade)).
    pub fn on(
        &self,
        kind: EventKind,
        handler: impl Fn(SessionEvent) + Send + Sync + 'static,
    ) -> HandlerId {
        let handler = std::sync::Arc::new(handler);
        self.inner.on(kind, move |e| {
            let h = handler.clone();
            async move {
                if let Err(e) = tokio::task::spawn_blocking(move || h(e)).await {
                    if e.is_panic() {
                        tracing::warn!("a session event handler panicked; the session goes on");
                    }
                }
            }
        })
    }
    /// See [`crate::Session::off`].
    pub fn off(&self, id: HandlerId) -> bool {
        self.inner.off(id)
    }
    /// See [`crate::Session::subscribe`]: the events as a blocking iterator.
    pub fn subscribe(&self) -> Subscription {
        Subscription {
            client: self.client.clone(),
            stream: self.inner.subscribe(),
        }
    }
    /// See [`crate::Session::start`].
    pub fn start(&self) -> Result<String> {
        self.client.block_on(self.inner.start())
    }
    /// See [`crate::Session::start_request`].
    pub fn start_request(&self) -> Result<StartAgentRequest> {
        self.inner.start_request()
    }
    /// See [`crate::Session::stop`].
    pub fn stop(&self) -> Result<()> {
        self.client.block_on(self.inner.stop())
    }
    /// See [`crate::Session::say`]; `.send()` sends it.
    pub fn say(&self, text: impl Into<String>) -> Say<'_> {
        Say {
            client: &self.client,
            inner: self.inner.say(text),
        }
    }
    /// See [`crate::Session::think`]; `.send()` sends it.
    pub fn think(&self, text: impl Into<String>) -> Think<'_> {
        Think {
            client: &self.client,
            inner: self.inner.think(text),
        }
    }
    /// See [`crate::Session::update`]; `.send()` sends it.
    pub fn update(&self) -> Update<'_> {
        Update {
            client: &self.client,
            inner: self.inner.update(),
        }
    }
    /// See [`crate::Session::interrupt`].
    pub fn interrupt(&self) -> Result<()> {
        self.client.block_on(self.inner.interrupt())
    }
    /// See [`crate::Session::renew_token`].
    pub fn renew_token(&self, expires_in: Duration) -> Result<()> {
        self.client.block_on(self.inner.renew_token(expires_in))
    }
    /// See [`crate::Session::history`].
    pub fn history(&self) -> Result<Response<AgentHistory>> {
        self.client.block_on(self.inner.history())
    }
    /// See [`crate::Session::info`].
    pub fn info(&self) -> Result<Response<AgentInfo>> {
        self.client.block_on(self.inner.info())
    }
}

macro_rules! forward {
    ($(#[$m:meta])* $name:ident($($arg:ident: $ty:ty),*)) => {
        $(#[$m])*
        pub fn $name(self, $($arg: $ty),*) -> Self {
            Self { client: self.client, inner: self.inner.$name($($arg),*) }
        }
    };
}

/// The blocking [`crate::agentkit::Say`]; `.send()` sends it.
#[derive(Debug)]
#[must_use = "nothing is sent until .send()"]
pub struct Say<'s> {
    client: &'s Client,
    inner: crate::agentkit::Say<'s>,
}

impl Say<'_> {
    forward!(/// See [`crate::agentkit::Say::priority`].
        priority(priority: Priority));
    forward!(/// See [`crate::agentkit::Say::interruptable`].
        interruptable(on: bool));
    /// See [`crate::agentkit::Say::request`].
    pub fn request(&self) -> &SpeakRequest {
        self.inner.request()
    }
    /// Sends it.
    pub fn send(self) -> Result<()> {
        self.client.block_on(self.inner.send())
    }
}

/// The blocking [`crate::agentkit::Think`]; `.send()` sends it.
#[derive(Debug)]
#[must_use = "nothing is sent until .send()"]
pub struct Think<'s> {
    client: &'s Client,
    inner: crate::agentkit::Think<'s>,
}

impl Think<'_> {
    forward!(/// See [`crate::agentkit::Think::on_listening`].
        on_listening(action: ListeningAction));
    forward!(/// See [`crate::agentkit::Think::on_thinking`].
        on_thinking(action: BusyAction));
    forward!(/// See [`crate::agentkit::Think::on_speaking`].
        on_speaking(action: BusyAction));
    forward!(/// See [`crate::agentkit::Think::interruptable`].
        interruptable(on: bool));
    /// See [`crate::agentkit::Think::metadata`].
    pub fn metadata(self, key: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            client: self.client,
            inner: self.inner.metadata(key, value),
        }
    }
    /// See [`crate::agentkit::Think::request`].
    pub fn request(&self) -> &ThinkRequest {
        self.inner.request()
    }
    /// Sends it.
    pub fn send(self) -> Result<()> {
        self.client.block_on(self.inner.send())
    }
}

/// The blocking [`crate::agentkit::Update`]: params merge the same way, and the updates of
/// a session go one at a time; `.send()` sends it.
#[derive(Debug)]
#[must_use = "nothing is sent until .send()"]
pub struct Update<'s> {
    client: &'s Client,
    inner: crate::agentkit::Update<'s>,
}

impl Update<'_> {
    /// See [`crate::agentkit::Update::token`].
    pub fn token(self, token: impl Into<String>) -> Self {
        Self {
            client: self.client,
            inner: self.inner.token(token),
        }
    }
    forward!(/// See [`crate::agentkit::Update::llm`].
        llm(llm: Value));
    forward!(/// See [`crate::agentkit::Update::mllm`].
        mllm(mllm: Value));
    forward!(/// See [`crate::agentkit::Update::llm_params`].
        llm_params(params: Value));
    forward!(/// See [`crate::agentkit::Update::mllm_params`].
        mllm_params(params: Value));
    forward!(/// See [`crate::agentkit::Update::replace_params`].
        replace_params());
    forward!(/// See [`crate::agentkit::Update::properties`].
        properties(request: UpdateAgentRequest));
    /// See [`crate::agentkit::Update::request`].
    pub fn request(&self) -> &UpdateAgentRequest {
        self.inner.request()
    }
    /// Sends it.
    pub fn send(self) -> Result<()> {
        self.client.block_on(self.inner.send())
    }
}
