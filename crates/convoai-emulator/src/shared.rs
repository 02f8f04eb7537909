//! What every route and the handle share: the configuration, the store behind its lock, the
//! fault settings, the counters and the notifier that sends what store operations return.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::http::StatusCode;
use shengwang_agent::token::Validation;

use crate::clock::Clock;
use crate::error::ApiError;
use crate::fault::Faults;
use crate::notice::Notices;
use crate::notify::Notifier;
use crate::state::{AgentRecord, RequestCount, State};
use crate::stats::Counters;
use crate::verified::VerifiedTokens;

pub(crate) struct Shared {
    pub app_id: String,
    pub tokens: Validation,
    pub basic_credentials: Vec<u8>,
    pub clock: Clock,
    state: Mutex<State>,
    faults: Mutex<Faults>,
    latency_ms: AtomicU64,
    max_agents: AtomicUsize,
    pub counters: Counters,
    pub notifier: Arc<Notifier>,
    /// Header tokens that verified already.
    pub verified: VerifiedTokens,
}

/// The store, locked, with the notifier its operations' notices go to. Notices are handed
/// on while the lock is held, so they leave in the order of the changes that made them.
pub(crate) struct Store<'a> {
    state: MutexGuard<'a, State>,
    notifier: &'a Notifier,
}

impl Store<'_> {
    /// Hands the notices of an operation to the notifier.
    pub fn send(&self, notices: Notices) {
        self.notifier.send(notices);
    }
}

impl Deref for Store<'_> {
    type Target = State;
    fn deref(&self) -> &State {
        &self.state
    }
}

impl DerefMut for Store<'_> {
    fn deref_mut(&mut self) -> &mut State {
        &mut self.state
    }
}

/// The settings [`Shared::new`] takes.
pub(crate) struct Settings {
    pub app_id: String,
    pub tokens: Validation,
    pub basic_credentials: Vec<u8>,
    pub clock: Clock,
    pub faults: Faults,
    pub latency: Duration,
    pub max_agents: usize,
    pub notifier: Arc<Notifier>,
}

impl Shared {
    pub fn new(s: Settings) -> Self {
        Shared {
            app_id: s.app_id,
            tokens: s.tokens,
            basic_credentials: s.basic_credentials,
            clock: s.clock,
            state: Mutex::new(State::default()),
            faults: Mutex::new(s.faults),
            latency_ms: AtomicU64::new(s.latency.as_millis() as u64),
            max_agents: AtomicUsize::new(s.max_agents),
            counters: Counters::default(),
            notifier: s.notifier,
            verified: Default::default(),
        }
    }

    /// The store as it is (idle agents not yet stopped).
    pub fn locked(&self) -> Store<'_> {
        Store {
            state: self.state.lock().unwrap_or_else(|p| p.into_inner()),
            notifier: &self.notifier,
        }
    }

    /// The store, with idle agents already stopped.
    pub fn store(&self) -> Store<'_> {
        let mut st = self.locked();
        let notices = st.expire_idle(self.clock.now());
        st.send(notices);
        st
    }

    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(|p| p.into_inner())
    }
    pub fn latency(&self) -> Duration {
        Duration::from_millis(self.latency_ms.load(Ordering::Relaxed))
    }
    pub fn set_latency(&self, latency: Duration) {
        self.latency_ms
            .store(latency.as_millis() as u64, Ordering::Relaxed);
    }
    pub fn max_agents(&self) -> usize {
        self.max_agents.load(Ordering::Relaxed)
    }
    /// Counts one answer of `endpoint` (`METHOD /route/{template}`).
    pub fn count(&self, endpoint: String, status: u16) {
        *self.locked().counts.entry((endpoint, status)).or_default() += 1;
    }

    /// 403 unless `appid` is this project's.
    pub fn project(&self, appid: &str) -> Result<(), ApiError> {
        if appid == self.app_id {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "InvalidPermission",
                "allocate failed: please check if the appid is valid",
            ))
        }
    }

    /// Every agent created since start (or the last reset), in creation order.
    pub fn agent_records(&self) -> Vec<AgentRecord> {
        let st = self.store();
        st.order
            .iter()
            .filter_map(|id| st.agents.get(id))
            .map(|a| a.record.clone())
            .collect()
    }

    /// Requests answered per route template and status, sorted.
    pub fn request_counts(&self) -> Vec<RequestCount> {
        let st = self.locked();
        let mut v: Vec<RequestCount> = st
            .counts
            .iter()
            .map(|((endpoint, status), count)| RequestCount {
                endpoint: endpoint.clone(),
                status: *status,
                count: *count,
            })
            .collect();
        v.sort_by(|a, b| (&a.endpoint, a.status).cmp(&(&b.endpoint, b.status)));
        v
    }

    /// Alive → FAILED with `reason` as its message, as when the agent hits an error.
    /// Returns false when it was not alive.
    pub fn fail_agent(&self, id: &str, reason: &str) -> bool {
        let now_ms = self.clock.now_ms();
        let mut st = self.store();
        let failed = st.fail(id, now_ms, reason);
        failed.map(|n| st.send(n)).is_some()
    }

    /// A running agent reports a module error (`110`). False if it is not running.
    pub fn agent_error(&self, id: &str, module: &str, code: i64, message: &str) -> bool {
        let st = self.store();
        let notices = st.agent_error(id, module, code, message);
        notices.map(|n| st.send(n)).is_some()
    }

    /// A running agent's token is about to expire (`104`). False if it is not running.
    pub fn token_expiring(&self, id: &str) -> bool {
        let st = self.store();
        let notices = st.token_expiring(id);
        notices.map(|n| st.send(n)).is_some()
    }

    pub fn reset(&self) {
        {
            let mut st = self.locked();
            // The log's sequence goes on, so a page reading "entries after N" is not confused.
            let last_seq = st.last_seq;
            *st = State {
                last_seq,
                ..State::default()
            };
        }
        self.notifier.clear();
        let mut f = self.faults();
        f.rules.clear();
        f.rate = 0.0;
        self.latency_ms.store(0, Ordering::Relaxed);
        self.counters.reset();
    }
}
