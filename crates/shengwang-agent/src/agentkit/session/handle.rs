//! A session's public API: what it is (name, channel, state, agent), its events, and the
//! operations that talk to a running agent or read what it did.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use super::{Session, WeakSession};
use crate::agentkit::uid::AgentUid;
use crate::agentkit::{Agent, EventKind, HandlerId, Operation, SessionEvent, SessionState};
use crate::api::Agents;
use crate::transport::Response;
use crate::types::agents::*;
use crate::{Client, Result};

impl Session {
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
        let registry = self.client().sessions().registry().clone();
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

    /// Asks the table whether `op` may run now; the current run's agent id when it may.
    pub(super) fn admit(&self, op: Operation) -> Result<String> {
        let mut core = self.inner.core();
        self.inner.ask(&mut core, op)?;
        Ok(core.agent_id.clone().unwrap_or_default())
    }

    /// Runs an operation that does not change the state; a failure emits an error event.
    pub(crate) async fn send<'s, T, F, Fut>(&'s self, op: Operation, call: F) -> Result<T>
    where
        F: FnOnce(Agents<'s>, String) -> Fut,
        Fut: Future<Output = Result<T>> + 's,
    {
        super::traced(self.span(op.as_str()), async move {
            let id = self.admit(op)?;
            let result = call(self.agents(), id).await;
            if let Err(e) = &result {
                self.failed(op, e);
            }
            result
        })
        .await
    }

    /// Makes the agent speak `text` (1 to 512 bytes): set options, then
    /// [`send`](crate::agentkit::Say::send) (or `.await` it).
    pub fn say(&self, text: impl Into<String>) -> crate::agentkit::Say<'_> {
        crate::agentkit::Say::new(self, text.into())
    }

    /// Injects `text` as if the user had said it: set options, then
    /// [`send`](crate::agentkit::Think::send).
    pub fn think(&self, text: impl Into<String>) -> crate::agentkit::Think<'_> {
        crate::agentkit::Think::new(self, text.into())
    }

    /// Updates the running agent: set what changes, then [`send`](crate::agentkit::Update::send).
    pub fn update(&self) -> crate::agentkit::Update<'_> {
        crate::agentkit::Update::new(self)
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
