//! The client's table of live sessions and its cleanup worker.
//!
//! Sessions register here (weakly, so the table never keeps one alive) and the client uses
//! the table for `shutdown`, to tell a session's own agent from other sessions' agents, and
//! to hand an outside fact (a notification that an agent left) to the one session it is
//! about. Stops that outlive their session (stop on drop) run on a small runtime the client
//! owns, so they finish even when the caller's runtime is ending.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};
use std::time::Duration;

use super::facts::Fact;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// What the table needs from a session, type-erased so this module imports nothing above it.
pub(crate) trait LiveSession: Send + Sync {
    /// The agent the session may have running, if it knows its id.
    fn live_agent_id(&self) -> Option<String>;
    /// True while the session may have an agent running (id known or not).
    fn may_have_agent(&self) -> bool;
    /// The session's agent name.
    fn session_name(&self) -> &str;
    /// The session's channel.
    fn session_channel(&self) -> &str;
    /// What the hub's live list shows of the session.
    fn live_info(&self) -> super::LiveInfo;
    /// The session's record, while it may have an agent.
    fn session_record(&self) -> Option<super::SessionRecord>;
    /// Stops the session's agent (resolving it first when its id is unknown).
    fn stop_live(self: Arc<Self>) -> BoxFuture<crate::Result<()>>;
    /// Applies an outside fact about `agent_id`; true if this session took it (exactly once).
    /// Must not wait: work a fact calls for (a token renewal) is spawned.
    fn take_fact(self: Arc<Self>, agent_id: &str, fact: &Fact) -> bool;
    /// `agent_id` is in its channel: records how long after the start (once per agent).
    fn measure_ready(&self, agent_id: &str);
}

/// A session the SDK could not stop: the warn-level log names the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftRunning {
    /// The session's agent name.
    pub name: String,
    /// The session's channel.
    pub channel: String,
    /// The agent id, when the session knew it.
    pub agent_id: Option<String>,
    /// Why it could not be stopped.
    pub reason: String,
    /// When the session could not tell which agent is its own: the agents it may be.
    pub candidates: Vec<String>,
}

/// What [`SessionHub::shutdown`](super::SessionHub::shutdown) did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Sessions whose agent was stopped (or found gone).
    pub stopped: usize,
    /// Sessions whose agent may still run, with what is known of it.
    pub left_running: Vec<LeftRunning>,
    /// Stops of dropped sessions still running when the deadline passed.
    pub cleanup_pending: usize,
}

impl ShutdownReport {
    /// True when every agent the client's sessions may have had running is stopped.
    pub fn is_clean(&self) -> bool {
        self.left_running.is_empty() && self.cleanup_pending == 0
    }
}

#[derive(Default)]
pub(crate) struct Registry {
    entries: Mutex<HashMap<u64, Weak<dyn LiveSession>>>,
    next: AtomicU64,
    pending: AtomicUsize,
    idle: tokio::sync::Notify,
    /// The same signal for threads that cannot await.
    idle_sync: (Mutex<()>, Condvar),
    worker: OnceLock<Option<Worker>>,
    /// Which agents the service said joined their channel, per session.
    joins: Joins,
}

/// Per session key: the agent an agent-joined notice (`101`) named, and the agent a
/// `Ready` event was emitted for; waiters are woken on every change.
#[derive(Default)]
struct Joins {
    marks: Mutex<Marks>,
    changed: tokio::sync::Notify,
}

/// Session key → (joined agent, announced agent, agent whose readiness was measured).
type Marks = HashMap<u64, (Option<String>, Option<String>, Option<String>)>;

/// The cleanup runtime's threads are named so, and never wait for themselves.
const WORKER_THREAD: &str = "shengwang-agent-cleanup";

struct Worker(Option<tokio::runtime::Runtime>);

impl Drop for Worker {
    fn drop(&mut self) {
        // Never blocks, so the last client may be dropped anywhere, even on this runtime.
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

struct PendingGuard<'a>(&'a Registry);

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        if self.0.pending.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
            let _lock = self.0.idle_sync.0.lock();
            self.0.idle_sync.1.notify_all();
        }
    }
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Weak<dyn LiveSession>>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a session; the key removes it.
    pub fn insert(&self, session: Weak<dyn LiveSession>) -> u64 {
        let key = self.next.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(key, session);
        key
    }

    pub fn remove(&self, key: u64) {
        self.lock().remove(&key);
        self.marks().remove(&key);
    }

    fn marks(&self) -> std::sync::MutexGuard<'_, Marks> {
        self.joins.marks.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records that `agent_id` joined its channel for the live session running it: by id, or,
    /// while a session's start has not told it the id yet, by `name` and `channel` (names
    /// are unique among running agents). True if a session runs it.
    pub fn note_joined(&self, agent_id: &str, name: Option<&str>, channel: &str) -> bool {
        let weak: Vec<_> = self.lock().iter().map(|(k, w)| (*k, w.clone())).collect();
        let owner = weak.into_iter().find_map(|(key, w)| {
            let s = w.upgrade()?;
            let session = s.clone();
            let ours = match s.live_agent_id() {
                Some(id) => id == agent_id,
                None => {
                    s.may_have_agent()
                        && name == Some(s.session_name())
                        && s.session_channel() == channel
                }
            };
            ours.then_some((key, session))
        });
        let Some((key, session)) = owner else {
            return false;
        };
        self.marks().entry(key).or_default().0 = Some(agent_id.to_owned());
        self.joins.changed.notify_waiters();
        session.measure_ready(agent_id);
        true
    }

    /// Marks `agent_id`'s readiness as measured for session `key`; false if it already was.
    pub fn first_measure(&self, key: u64, agent_id: &str) -> bool {
        let mut marks = self.marks();
        let mark = &mut marks.entry(key).or_default().2;
        if mark.as_deref() == Some(agent_id) {
            return false;
        }
        *mark = Some(agent_id.to_owned());
        true
    }

    /// True when the session `key` was told that `agent_id` joined its channel.
    pub fn has_joined(&self, key: u64, agent_id: &str) -> bool {
        self.marks()
            .get(&key)
            .is_some_and(|m| m.0.as_deref() == Some(agent_id))
    }

    /// Marks `agent_id` as announced ready for session `key`; false if it already was.
    pub fn announce_ready(&self, key: u64, agent_id: &str) -> bool {
        let mut marks = self.marks();
        let mark = &mut marks.entry(key).or_default().1;
        if mark.as_deref() == Some(agent_id) {
            return false;
        }
        *mark = Some(agent_id.to_owned());
        true
    }

    /// Resolves at the next [`note_joined`](Self::note_joined) after it is enabled.
    pub fn joined_changed(&self) -> tokio::sync::futures::Notified<'_> {
        self.joins.changed.notified()
    }

    /// Every live session. Upgraded outside the lock's scope of use: dropping the last handle
    /// of one of them unregisters it, which takes the lock again.
    pub fn sessions(&self) -> Vec<Arc<dyn LiveSession>> {
        let weak: Vec<_> = self.lock().values().cloned().collect();
        weak.iter().filter_map(Weak::upgrade).collect()
    }

    /// Agent ids known to belong to live sessions other than `except`.
    pub fn ids_except(&self, except: u64) -> Vec<String> {
        let weak: Vec<_> = self
            .lock()
            .iter()
            .filter(|(k, _)| **k != except)
            .map(|(_, w)| w.clone())
            .collect();
        let live: Vec<_> = weak.iter().filter_map(Weak::upgrade).collect();
        live.iter().filter_map(|s| s.live_agent_id()).collect()
    }

    /// Hands `fact` about `agent_id` to the live session running it; true if one took it.
    /// A second delivery of the same fact is refused by the session (its agent is gone).
    pub fn deliver(&self, agent_id: &str, fact: &Fact) -> bool {
        self.sessions()
            .into_iter()
            .any(|s| s.take_fact(agent_id, fact))
    }

    /// The runtime stops of dropped sessions run on, started on first use.
    pub fn handle(&self) -> Option<tokio::runtime::Handle> {
        self.worker
            .get_or_init(|| {
                match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .thread_name(WORKER_THREAD)
                    .enable_all()
                    .build()
                {
                    Ok(rt) => Some(Worker(Some(rt))),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot start the session cleanup runtime");
                        None
                    }
                }
            })
            .as_ref()
            .and_then(|w| w.0.as_ref().map(|rt| rt.handle().clone()))
    }

    /// Runs `job` on the cleanup runtime; `shutdown` waits for it. False if there is no
    /// runtime to run it on (the job is dropped).
    pub fn spawn_cleanup(self: &Arc<Self>, job: impl Future<Output = ()> + Send + 'static) -> bool {
        let Some(handle) = self.handle() else {
            return false;
        };
        self.pending.fetch_add(1, Ordering::SeqCst);
        let me = self.clone();
        handle.spawn(async move {
            let _done = PendingGuard(&me);
            job.await;
        });
        true
    }

    /// Cleanup jobs not finished yet.
    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::SeqCst)
    }

    /// Blocks this thread until no cleanup job runs, or `limit` passes; for the drop of the
    /// last client handle, so a program ending right after dropping its sessions still stops
    /// their agents. Returns at once on the cleanup runtime itself.
    pub fn wait_idle_blocking(&self, limit: Duration) -> bool {
        if self.pending() == 0 {
            return true;
        }
        if std::thread::current().name() == Some(WORKER_THREAD) {
            return false;
        }
        let deadline = std::time::Instant::now() + limit;
        let mut lock = self.idle_sync.0.lock().unwrap_or_else(|p| p.into_inner());
        while self.pending() > 0 {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return false;
            }
            lock = match self.idle_sync.1.wait_timeout(lock, left) {
                Ok((l, _)) => l,
                Err(p) => p.into_inner().0,
            };
        }
        true
    }

    /// Waits until no cleanup job runs, or `limit` passes.
    pub async fn wait_idle(&self, limit: Duration) -> bool {
        let wait = async {
            loop {
                let idle = self.idle.notified();
                if self.pending() == 0 {
                    return;
                }
                idle.await;
            }
        };
        tokio::time::timeout(limit, wait).await.is_ok()
    }
}
