//! [`SessionHub`]: the one owner of a client's live sessions. It holds the live registry,
//! the memory of applied notices, the session store, and the cleanup runtime (through the
//! registry); a `Client` holds one and shows it as [`Client::sessions`](crate::Client::sessions).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;

use super::facts::Fact;
use super::registry::{LeftRunning, Registry, ShutdownReport};
#[cfg(doc)]
use super::store::MemorySessionStore;
use super::store::{SessionRecord, SessionStore, StoreFuture};
use super::SessionState;
use crate::telemetry::{NoticeOutcome, Telemetry};
use crate::webhooks::{Event, MemoryStore, Notification, DEFAULT_TTL};
use crate::{Error, Result};

/// How many applied notices are remembered; the service resends within minutes, so this
/// covers every resend of a busy receiver. The memory is the webhook receiver's own
/// de-duplication store (one rule for "seen before"), keyed the same way.
const REMEMBERED: usize = 16_384;

/// What [`SessionHub::apply_notification`] did with a notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Applied {
    /// A live session took it: its state changed or it emitted the notice's event.
    Taken,
    /// An agent-joined notice (`101`) was recorded for the session running its agent
    /// ([`Session::wait_ready`](super::Session::wait_ready) reads it); no state changes.
    Joined,
    /// The same notice (same `noticeId`) was applied before: nothing changed.
    Duplicate,
    /// No live session runs the agent, or its session already learned the same thing (a
    /// late or reordered notice): nothing changed.
    NoSession,
    /// Not a ConvoAI notice about an agent's run (other products, other events).
    Ignored,
}

impl Applied {
    /// True when a session took the notice ([`Applied::Taken`]).
    pub fn is_taken(self) -> bool {
        self == Applied::Taken
    }
}

/// One live session, as [`SessionHub::live`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LiveInfo {
    /// The agent name.
    pub name: String,
    /// The channel.
    pub channel: String,
    /// The agent id, when the session knows it.
    pub agent_id: Option<String>,
    /// The session's state.
    pub state: SessionState,
    /// True while the session may have an agent running.
    pub may_have_agent: bool,
}

/// The owner of a client's live sessions: apply notification callbacks to them, list them,
/// stop them all at shutdown. From [`Client::sessions`](crate::Client::sessions) (or
/// [`blocking::Client::sessions`](crate::blocking::Client::sessions)).
pub struct SessionHub {
    registry: Arc<Registry>,
    applied: MemoryStore,
    /// A store set on the client builder; without one, records are read from the live
    /// sessions themselves (`view`), so a session costs no second copy of what it holds.
    store: Option<Arc<dyn SessionStore>>,
    view: LiveRecords,
    /// The client's instruments (shared with its transport).
    telemetry: Arc<Telemetry>,
}

impl Default for SessionHub {
    fn default() -> Self {
        SessionHub::new(None, Arc::new(Telemetry::new(&Default::default())))
    }
}

/// The default store: the records of this process's live sessions, read from the sessions
/// themselves (in memory, lost with the process). It cannot be written: a session's record
/// is what the session is. For a store that keeps what is put, see [`MemorySessionStore`].
#[derive(Clone)]
struct LiveRecords(Arc<Registry>);

impl fmt::Debug for LiveRecords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LiveRecords")
    }
}

impl LiveRecords {
    fn all(&self) -> Vec<SessionRecord> {
        let mut all: Vec<_> = self
            .0
            .sessions()
            .iter()
            .filter_map(|s| s.session_record())
            .collect();
        all.sort_by(|a, b| a.key.cmp(&b.key));
        all
    }
}

impl SessionStore for LiveRecords {
    fn put(&self, record: SessionRecord) -> StoreFuture<'_, ()> {
        let result = record.check_schema().and_then(|()| {
            Err(Error::Config(
                "the default session store shows the live sessions and cannot be written: \
                 set a store with ClientBuilder::session_store"
                    .into(),
            ))
        });
        Box::pin(std::future::ready(result))
    }
    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<SessionRecord>> {
        let found = self.all().into_iter().find(|r| r.key == key);
        Box::pin(std::future::ready(Ok(found)))
    }
    fn remove<'a>(&'a self, _key: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(std::future::ready(Ok(())))
    }
    fn list(&self) -> StoreFuture<'_, Vec<SessionRecord>> {
        Box::pin(std::future::ready(Ok(self.all())))
    }
}

impl fmt::Debug for SessionHub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionHub")
            .field("live", &self.registry.sessions().len())
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl SessionHub {
    /// A hub keeping its records in `store`.
    pub(crate) fn new(store: Option<Arc<dyn SessionStore>>, telemetry: Arc<Telemetry>) -> Self {
        let registry: Arc<Registry> = Arc::default();
        SessionHub {
            view: LiveRecords(registry.clone()),
            registry,
            applied: MemoryStore::new(REMEMBERED),
            store,
            telemetry,
        }
    }

    /// The client's instruments.
    pub(crate) fn telemetry(&self) -> &Telemetry {
        &self.telemetry
    }

    /// True when session records are written to a store (one set on the client builder).
    pub(crate) fn records(&self) -> bool {
        self.store.is_some()
    }

    /// The live registry and cleanup runtime.
    pub(crate) fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// The store holding a record of each session that may have an agent: the one set with
    /// [`ClientBuilder::session_store`](crate::ClientBuilder::session_store), or by default
    /// a read-only view of this process's live sessions (no second copy of them).
    pub fn store(&self) -> &dyn SessionStore {
        match &self.store {
            Some(store) => &**store,
            None => &self.view,
        }
    }

    /// Applies a verified notification callback to the live session that runs its agent,
    /// through the session's state table. Idempotent: a resent or duplicated notice (same
    /// `noticeId`) is [`Applied::Duplicate`]; an event for an agent no live session runs, or
    /// one that arrives after the session already learned the same thing (reordered
    /// deliveries), is [`Applied::NoSession`]; either way nothing changes.
    ///
    /// - agent left (`102`): the session becomes `stopped` (or `error` when the agent
    ///   failed), with a [`SessionEvent::AgentLeft`](crate::agentkit::SessionEvent::AgentLeft)
    ///   carrying the reason, and a `Stopped` event;
    /// - agent error (`110`): an [`AgentError`](crate::agentkit::SessionEvent::AgentError)
    ///   event; the agent still runs;
    /// - token expiring (`104`): a
    ///   [`TokenExpiring`](crate::agentkit::SessionEvent::TokenExpiring) event; a session
    ///   built with
    ///   [`renew_token_on_expiry`](crate::agentkit::SessionBuilder::renew_token_on_expiry)
    ///   that signs its own token then renews it in the background and reports
    ///   [`TokenRenewed`](crate::agentkit::SessionEvent::TokenRenewed) or
    ///   [`TokenRenewFailed`](crate::agentkit::SessionEvent::TokenRenewFailed);
    /// - agent joined (`101`): [`Applied::Joined`]; the session's agent is in its channel,
    ///   which [`Session::wait_ready`](crate::agentkit::Session::wait_ready) waits for (also
    ///   when it comes before the session's start returned).
    ///
    /// It never waits for the network with the in-memory store, so it can be awaited inside
    /// the webhook handler before answering the service; a renewal runs on a runtime the
    /// client owns. Errors come from the session store only (never from the memory store).
    /// Call it after verifying the signature (see [`webhooks`](crate::webhooks)).
    pub async fn apply_notification(&self, notification: &Notification) -> Result<Applied> {
        let applied = self.apply(notification);
        let outcome = match &applied {
            Ok(Applied::Duplicate) => NoticeOutcome::Duplicate,
            Ok(_) => NoticeOutcome::Handled,
            Err(_) => NoticeOutcome::Failed,
        };
        self.telemetry
            .notification(notification.event.kind(), outcome);
        applied
    }

    /// [`apply_notification`](Self::apply_notification), before it is counted.
    fn apply(&self, notification: &Notification) -> Result<Applied> {
        if notification.is_convoai() {
            // Counted once per turn and stage, whatever delivers it (resends included).
            self.telemetry.notice_turns(&notification.event);
        }
        if !notification.is_convoai() {
            return Ok(Applied::Ignored);
        }
        if let Event::AgentJoined(j) = &notification.event {
            if !self
                .applied
                .claim_now(&notification.dedupe_key(), DEFAULT_TTL)
            {
                return Ok(Applied::Duplicate);
            }
            let ours =
                self.registry
                    .note_joined(j.agent_id.as_str(), j.name.as_deref(), &j.channel);
            return Ok(if ours {
                Applied::Joined
            } else {
                Applied::NoSession
            });
        }
        let Some((agent_id, fact)) = Fact::of(notification) else {
            return Ok(Applied::Ignored);
        };
        if !self
            .applied
            .claim_now(&notification.dedupe_key(), DEFAULT_TTL)
        {
            return Ok(Applied::Duplicate);
        }
        Ok(if self.registry.deliver(agent_id, &fact) {
            Applied::Taken
        } else {
            Applied::NoSession
        })
    }

    /// Every live session of the client (a session is live while a handle to it exists).
    pub fn live(&self) -> Vec<LiveInfo> {
        self.registry
            .sessions()
            .iter()
            .map(|s| s.live_info())
            .collect()
    }

    /// Stops the agent of every live session (and waits for the stops of dropped sessions),
    /// within `deadline`: what a server calls on SIGTERM, before its runtime ends. Sessions
    /// whose agent could not be stopped are in the report, and a warning names each.
    pub async fn shutdown(&self, deadline: Duration) -> ShutdownReport {
        let started = tokio::time::Instant::now();
        let sessions: Vec<_> = self
            .registry
            .sessions()
            .into_iter()
            .filter(|s| s.may_have_agent())
            .collect();
        let stops = sessions.iter().map(|s| {
            let s = s.clone();
            async move {
                let result = tokio::time::timeout(deadline, s.clone().stop_live()).await;
                (s, result)
            }
        });
        let mut report = ShutdownReport::default();
        for (s, result) in futures::future::join_all(stops).await {
            let (reason, candidates) = match result {
                Ok(Ok(())) => {
                    report.stopped += 1;
                    continue;
                }
                Ok(Err(Error::AgentUnresolved { candidates, .. })) => (
                    "it cannot tell which agent is its own".to_owned(),
                    candidates,
                ),
                Ok(Err(e)) => (e.to_string(), Vec::new()),
                Err(_) => ("the shutdown deadline passed".to_owned(), Vec::new()),
            };
            let left = LeftRunning {
                name: s.session_name().to_owned(),
                channel: s.session_channel().to_owned(),
                agent_id: s.live_agent_id(),
                reason,
                candidates,
            };
            tracing::warn!(name = %left.name, channel = %left.channel, agent_id = ?left.agent_id, reason = %left.reason, "shutdown could not stop a session's agent");
            report.left_running.push(left);
        }
        let rest = deadline.saturating_sub(started.elapsed());
        if !self.registry.wait_idle(rest).await {
            report.cleanup_pending = self.registry.pending();
            tracing::warn!(
                pending = report.cleanup_pending,
                "shutdown deadline passed with stops of dropped sessions still running"
            );
        }
        report
    }

    /// Writes `record` to the store (see [`SessionStore`] on when it completes).
    pub(crate) fn keep_record(&self, record: SessionRecord) {
        let Some(store) = self.store.clone() else {
            return;
        };
        self.finish(async move { store.put(record).await });
    }

    /// Removes the record under `key` from the store.
    pub(crate) fn forget_record(&self, key: &str) {
        let Some(store) = self.store.clone() else {
            return;
        };
        let key = key.to_owned();
        self.finish(async move { store.remove(&key).await });
    }

    /// Runs a store call: at once when the store answers at once, else on the cleanup
    /// runtime. A failure is logged (a store write never fails a session's operation).
    fn finish(&self, call: impl std::future::Future<Output = Result<()>> + Send + 'static) {
        let mut job = Box::pin(async move {
            if let Err(e) = call.await {
                tracing::warn!(error = %e, "session store write failed");
            }
        });
        if (&mut job).now_or_never().is_none() && !self.registry.spawn_cleanup(job) {
            tracing::warn!("session store write dropped: no runtime to finish it on");
        }
    }
}
