//! Blocking `Session`: the async session driven on the blocking client's runtime.

use std::time::Duration;

mod turns;

use super::Client;
use crate::agentkit::{Agent, EventKind, HandlerId, SessionEvent, SessionState};
use crate::transport::Response;
use crate::types::agents::*;
use crate::Result;

/// Configures a blocking session; from [`Agent::create_blocking_session`].
#[derive(Debug)]
#[must_use]
pub struct SessionBuilder {
    client: Client,
    inner: crate::SessionBuilder,
}

impl Agent {
    /// A blocking session of this agent; see [`Agent::create_session`].
    pub fn create_blocking_session(
        &self,
        client: &Client,
        channel: impl Into<String>,
        agent_uid: impl Into<String>,
        remote_uids: impl IntoIterator<Item = impl Into<String>>,
    ) -> SessionBuilder {
        SessionBuilder {
            client: client.clone(),
            inner: self.create_session(client.as_async(), channel, agent_uid, remote_uids),
        }
    }
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
    /// The session, idle.
    pub fn build(self) -> Session {
        Session {
            client: self.client,
            inner: self.inner.build(),
        }
    }
    /// See [`crate::SessionBuilder::resume`].
    pub fn resume(self, agent_id: impl Into<String>) -> Session {
        Session {
            client: self.client,
            inner: self.inner.resume(agent_id),
        }
    }
}

/// The blocking twin of [`crate::Session`]: same methods, same rules.
#[derive(Debug, Clone)]
pub struct Session {
    client: Client,
    inner: crate::Session,
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
    /// See [`crate::Session::agent`].
    pub fn agent(&self) -> &Agent {
        self.inner.agent()
    }
    /// See [`crate::Session::name`].
    pub fn name(&self) -> &str {
        self.inner.name()
    }
    /// See [`crate::Session::app_id`].
    pub fn app_id(&self) -> &str {
        self.inner.app_id()
    }
    /// The async session underneath.
    pub fn as_async(&self) -> &crate::Session {
        &self.inner
    }
    /// Registers a plain function as a handler; see [`crate::Session::on`].
    pub fn on(
        &self,
        kind: EventKind,
        handler: impl Fn(SessionEvent) + Send + Sync + 'static,
    ) -> HandlerId {
        let handler = std::sync::Arc::new(handler);
        self.inner.on(kind, move |e| {
            let h = handler.clone();
            async move { h(e) }
        })
    }
    /// See [`crate::Session::off`].
    pub fn off(&self, id: HandlerId) -> bool {
        self.inner.off(id)
    }
    /// See [`crate::Session::start`].
    pub fn start(&self) -> Result<String> {
        self.client.block_on(self.inner.start())
    }
    /// The join request `start` would send now (see
    /// [`crate::Session::start_request`]).
    pub fn start_request(&self) -> Result<crate::types::agents::StartAgentRequest> {
        self.inner.start_request()
    }
    /// See [`crate::Session::stop`].
    pub fn stop(&self) -> Result<()> {
        self.client.block_on(self.inner.stop())
    }
    /// See [`crate::Session::say`].
    pub fn say(
        &self,
        text: impl Into<String>,
        priority: Option<Priority>,
        interruptable: Option<bool>,
    ) -> Result<()> {
        self.client
            .block_on(self.inner.say(text, priority, interruptable))
    }
    /// See [`crate::Session::interrupt`].
    pub fn interrupt(&self) -> Result<()> {
        self.client.block_on(self.inner.interrupt())
    }
    /// See [`crate::Session::update`].
    pub fn update(&self, properties: UpdateAgentRequest) -> Result<()> {
        self.client.block_on(self.inner.update(properties))
    }
    /// See [`crate::Session::think`].
    pub fn think(&self, request: ThinkRequest) -> Result<()> {
        self.client.block_on(self.inner.think(request))
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
