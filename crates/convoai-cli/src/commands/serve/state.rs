//! The agents of this process: one session per channel, behind a per-channel lock.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use shengwang_agent::agentkit::SessionState;
use shengwang_agent::token::TokenBuilder;
use shengwang_agent::{Client, Session};

use super::routes::ApiError;
use crate::cli::SessionFlags;
use crate::config::AgentFile;

/// Idle timeout of agents started by `serve` when the config file sets none: the last line of
/// defence when a process dies without stopping its agents.
pub const DEFAULT_IDLE_TIMEOUT_SECS: u32 = 600;

/// What the process was started with.
pub struct Settings {
    pub client: Client,
    pub file: AgentFile,
    pub token: TokenBuilder,
    pub instance: String,
    pub max_agents: usize,
    pub keys: Vec<Vec<u8>>,
}

/// A started agent and what it was started with.
struct Entry {
    session: Session,
    agent_uid: String,
    remote_uids: Vec<String>,
}

type Slot = Arc<tokio::sync::Mutex<Option<Entry>>>;

/// What a caller asks to start.
pub struct StartParams {
    pub agent_uid: Option<String>,
    pub remote_uids: Vec<String>,
}

/// An agent as answered to callers.
pub struct AgentView {
    pub agent_id: String,
    pub channel: String,
    pub state: &'static str,
    pub owner: String,
}

#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    settings: Settings,
    slots: Mutex<HashMap<String, Slot>>,
    /// Agents counted against `max_agents` (reserved before a start, released after a stop).
    live: AtomicUsize,
    draining: Mutex<Option<String>>,
}

fn is_live(state: SessionState) -> bool {
    matches!(
        state,
        SessionState::Starting | SessionState::Running | SessionState::Stopping
    )
}

impl AppState {
    pub fn new(settings: Settings) -> Self {
        AppState {
            inner: Arc::new(Inner {
                settings,
                slots: Mutex::new(HashMap::new()),
                live: AtomicUsize::new(0),
                draining: Mutex::new(None),
            }),
        }
    }

    pub fn token(&self) -> &TokenBuilder {
        &self.inner.settings.token
    }

    /// Whether `given` is one of the bearer keys. Every key is compared in full, in time that
    /// depends only on the lengths.
    pub fn key_matches(&self, given: &[u8]) -> bool {
        self.inner
            .settings
            .keys
            .iter()
            .fold(false, |found, key| found | ct_eq(key, given))
    }

    /// Why the process is not ready, if it is not.
    pub fn draining(&self) -> Option<String> {
        lock(&self.inner.draining).clone()
    }

    pub fn begin_drain(&self, reason: &str) {
        *lock(&self.inner.draining) = Some(reason.to_owned());
    }

    fn slot(&self, channel: &str) -> Slot {
        let mut slots = lock(&self.inner.slots);
        slots.entry(channel.to_owned()).or_default().clone()
    }

    fn existing_slot(&self, channel: &str) -> Option<Slot> {
        lock(&self.inner.slots).get(channel).cloned()
    }

    /// Forgets the channel's slot when it is empty and nobody else holds it.
    fn tidy(&self, channel: &str, slot: Slot) {
        let mut slots = lock(&self.inner.slots);
        let unused =
            Arc::strong_count(&slot) == 2 && slot.try_lock().map(|g| g.is_none()).unwrap_or(false);
        if unused {
            slots.remove(channel);
        }
    }

    fn reserve(&self) -> Result<(), ApiError> {
        let max = self.inner.settings.max_agents;
        self.inner
            .live
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < max).then_some(n + 1)
            })
            .map(|_| ())
            .map_err(|_| ApiError::too_many(max))
    }

    fn release(&self) {
        let _ = self
            .inner
            .live
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
    }

    fn view(&self, channel: &str, entry: &Entry) -> AgentView {
        AgentView {
            agent_id: entry.session.id().unwrap_or_default(),
            channel: channel.to_owned(),
            state: entry.session.status().as_str(),
            owner: self.inner.settings.instance.clone(),
        }
    }

    /// The channel's running agent, started first when there is none. Callers for one channel
    /// wait for each other, so they all get the same agent.
    pub async fn ensure(&self, channel: &str, params: StartParams) -> Result<AgentView, ApiError> {
        let slot = self.slot(channel);
        let answer = self.ensure_in(channel, &slot, params).await;
        self.tidy(channel, slot);
        answer
    }

    async fn ensure_in(
        &self,
        channel: &str,
        slot: &Slot,
        params: StartParams,
    ) -> Result<AgentView, ApiError> {
        let mut guard = slot.lock().await;
        if let Some(reason) = self.draining() {
            return Err(ApiError::unavailable(&reason));
        }
        if let Some(entry) = guard.as_ref() {
            if is_live(entry.session.status()) {
                same_params(entry, &params)?;
                return Ok(self.view(channel, entry));
            }
            *guard = None;
            self.release();
        }
        self.reserve()?;
        let entry = match self.start(channel, params).await {
            Ok(entry) => entry,
            Err(e) => {
                self.release();
                return Err(e);
            }
        };
        let view = self.view(channel, &entry);
        *guard = Some(entry);
        Ok(view)
    }

    async fn start(&self, channel: &str, params: StartParams) -> Result<Entry, ApiError> {
        let s = &self.inner.settings;
        let explicit_idle = s.file.session.idle_timeout.is_some();
        let agent_uid = params
            .agent_uid
            .clone()
            .or_else(|| s.file.session.agent_uid.clone())
            .unwrap_or_else(|| "0".into());
        let flags = SessionFlags {
            channel: Some(channel.to_owned()),
            agent_uid: Some(agent_uid.clone()),
            remote_uids: params.remote_uids.clone(),
            idle_timeout: (!explicit_idle).then_some(DEFAULT_IDLE_TIMEOUT_SECS),
            ..SessionFlags::default()
        };
        let session = super::super::agents::build_session(&s.client, &s.file, &flags, None)
            .map_err(|e| ApiError::invalid(&e.to_string()))?
            .build();
        session.start().await.map_err(ApiError::sdk)?;
        tracing::info!(channel, agent_id = ?session.id(), "agent started");
        Ok(Entry {
            session,
            agent_uid,
            remote_uids: params.remote_uids,
        })
    }

    /// The channel's latest agent, running or not.
    pub async fn get(&self, channel: &str) -> Option<AgentView> {
        let slot = self.existing_slot(channel)?;
        let guard = slot.lock().await;
        guard.as_ref().map(|entry| self.view(channel, entry))
    }

    /// Stops the channel's running agent; its id, or 404 when there is none.
    pub async fn stop(&self, channel: &str) -> Result<String, ApiError> {
        let slot = self.existing_slot(channel).ok_or_else(ApiError::no_agent)?;
        let answer = self.stop_in(&slot).await;
        self.tidy(channel, slot);
        answer
    }

    async fn stop_in(&self, slot: &Slot) -> Result<String, ApiError> {
        let mut guard = slot.lock().await;
        let Some(entry) = guard.as_ref() else {
            return Err(ApiError::no_agent());
        };
        if !is_live(entry.session.status()) {
            *guard = None;
            self.release();
            return Err(ApiError::no_agent());
        }
        let id = entry.session.id().unwrap_or_default();
        entry.session.stop().await.map_err(ApiError::sdk)?;
        *guard = None;
        self.release();
        tracing::info!(agent_id = %id, "agent stopped");
        Ok(id)
    }

    /// Stops every agent of this process within `deadline`: (stopped, not stopped).
    pub async fn stop_all(&self, deadline: Duration) -> (usize, usize) {
        let slots: Vec<Slot> = lock(&self.inner.slots).values().cloned().collect();
        let stops = slots.iter().map(|slot| self.stop_in(slot));
        let answers = tokio::time::timeout(deadline, futures::future::join_all(stops)).await;
        match answers {
            Ok(answers) => {
                let stopped = answers.iter().filter(|a| a.is_ok()).count();
                let failed = answers
                    .iter()
                    .filter(|a| matches!(a, Err(e) if !e.is_not_found()))
                    .count();
                (stopped, failed)
            }
            Err(_) => (0, self.inner.live.load(Ordering::SeqCst)),
        }
    }
}

/// A second start for a running agent must ask for the same agent.
fn same_params(entry: &Entry, params: &StartParams) -> Result<(), ApiError> {
    if let Some(uid) = &params.agent_uid {
        if *uid != entry.agent_uid {
            return Err(ApiError::conflict(
                "the channel's agent runs with another agent_uid",
            ));
        }
    }
    if !params.remote_uids.is_empty() && params.remote_uids != entry.remote_uids {
        return Err(ApiError::conflict(
            "the channel's agent runs with other remote_uids",
        ));
    }
    Ok(())
}

/// Equal bytes, in time that depends only on the lengths.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::ct_eq;

    #[test]
    fn constant_time_equality() {
        assert!(ct_eq(b"secret", b"secret"));
        assert!(!ct_eq(b"secret", b"secreT"));
        assert!(!ct_eq(b"secret", b"secret2"));
        assert!(!ct_eq(b"", b"x"));
    }
}
