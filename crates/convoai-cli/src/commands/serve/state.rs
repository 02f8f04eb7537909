//! The agents of `serve`: a thin layer over the SDK's [`Fleet`] — one process on its own
//! (memory store), or one replica of many sharing Redis (leases, takeover, handover, notices
//! routed to the owner). Nothing here is keyed by a caller's channel name: the fleet holds
//! the records (bounded by its TTLs), this layer holds only counters.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use shengwang_agent::agentkit::SessionState;
use shengwang_agent::fleet::{
    AgentSpec, Drain, DrainReport, Fleet, FleetAgent, FleetEventRecord, FleetKey, OnOrphan,
    StartSpec,
};
use shengwang_agent::token::TokenBuilder;
use shengwang_agent::types::agents::Priority;
use shengwang_agent::Client;

use super::routes::ApiError;
use crate::cli::SessionFlags;
use crate::config::AgentFile;
use crate::error::CliError;

/// Idle timeout of agents started by `serve` when the config file sets none: the last line of
/// defence when a process dies while Redis has lost its data.
pub const DEFAULT_IDLE_TIMEOUT_SECS: u32 = 600;

/// How the fleet is run.
pub struct FleetSettings {
    /// Redis URL (`--redis` or `CONVOAI_REDIS_URL`); `None`: this process alone.
    pub redis: Option<String>,
    /// Lease of this process.
    pub lease: Duration,
    /// What a process taking over a dead one's session does with its agent.
    pub on_orphan: OnOrphan,
    /// Prefix of the fleet's Redis keys and agent names.
    pub prefix: String,
    /// What SIGTERM does with this process's agents.
    pub drain: Drain,
}

/// What the process was started with.
pub struct Settings {
    pub client: Client,
    pub file: AgentFile,
    pub token: TokenBuilder,
    pub instance: String,
    pub max_agents: usize,
    pub keys: Vec<Vec<u8>>,
    pub fleet: FleetSettings,
}

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
    /// Recent events, oldest first.
    pub events: Vec<FleetEventRecord>,
}

impl AgentView {
    fn of(a: FleetAgent) -> Self {
        AgentView {
            agent_id: a.agent_id,
            channel: a.channel,
            state: a.state.as_str(),
            owner: a.owner,
            events: a.events,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    token: TokenBuilder,
    keys: Vec<Vec<u8>>,
    max_agents: usize,
    /// The config file's defaults for a start.
    agent_uid: String,
    remote_uids: Vec<String>,
    fleet: Fleet,
    drain: Drain,
    /// Starts under way that may create an agent here (counted against `max_agents`).
    starting: AtomicUsize,
    draining: Mutex<Option<String>>,
}

fn is_live(state: SessionState) -> bool {
    matches!(
        state,
        SessionState::Starting | SessionState::Running | SessionState::Stopping
    )
}

impl AppState {
    /// Builds the fleet (with Redis: after its first heartbeat) and the state over it.
    pub async fn build(s: Settings) -> Result<Self, CliError> {
        let agent_uid = s
            .file
            .session
            .agent_uid
            .clone()
            .unwrap_or_else(|| "0".into());
        let remote_uids = s
            .file
            .session
            .remote_uids
            .clone()
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| vec!["*".into()]);
        let file = Arc::new(s.file);
        let client = s.client.clone();
        let factory = move |spec: &AgentSpec| session_for(&client, &file, spec);
        let mut builder = Fleet::builder(s.client, factory)
            .instance(s.instance)
            .lease(s.fleet.lease)
            .on_orphan(s.fleet.on_orphan)
            .prefix(s.fleet.prefix.clone());
        if let Some(url) = &s.fleet.redis {
            builder = with_redis(builder, url).await?;
        }
        let fleet = builder
            .build()
            .await
            .map_err(|e| CliError::Failed(format!("cannot join the fleet: {e}")))?;
        Ok(AppState {
            inner: Arc::new(Inner {
                token: s.token,
                keys: s.keys,
                max_agents: s.max_agents,
                agent_uid,
                remote_uids,
                fleet,
                drain: s.fleet.drain,
                starting: AtomicUsize::new(0),
                draining: Mutex::new(None),
            }),
        })
    }

    pub fn token(&self) -> &TokenBuilder {
        &self.inner.token
    }

    /// The fleet this process is part of.
    pub fn fleet(&self) -> &Fleet {
        &self.inner.fleet
    }

    /// Whether `given` is one of the bearer keys. Every key is compared in full, in time that
    /// depends only on the lengths.
    pub fn key_matches(&self, given: &[u8]) -> bool {
        self.inner
            .keys
            .iter()
            .fold(false, |found, key| found | ct_eq(key, given))
    }

    /// Why the process is not ready, if it is not: draining, or the fleet's store unreachable.
    pub fn draining(&self) -> Option<String> {
        if let Some(reason) = lock(&self.inner.draining).clone() {
            return Some(reason);
        }
        self.inner
            .fleet
            .is_ready()
            .err()
            .map(|e| crate::output::clean(&e.to_string()).into_owned())
    }

    pub fn begin_drain(&self, reason: &str) {
        *lock(&self.inner.draining) = Some(reason.to_owned());
    }

    fn refuse_while_draining(&self) -> Result<(), ApiError> {
        match lock(&self.inner.draining).as_ref() {
            Some(reason) => Err(ApiError::unavailable(reason)),
            None => Ok(()),
        }
    }

    /// The channel's running agent, started first when there is none: one per channel
    /// fleet-wide, every caller gets the same agent.
    pub async fn ensure(&self, channel: &str, params: StartParams) -> Result<AgentView, ApiError> {
        self.refuse_while_draining()?;
        let key = FleetKey::new(channel).map_err(ApiError::sdk)?;
        let spec = StartSpec::new(
            key.clone(),
            params
                .agent_uid
                .unwrap_or_else(|| self.inner.agent_uid.clone()),
            if params.remote_uids.is_empty() {
                self.inner.remote_uids.clone()
            } else {
                params.remote_uids
            },
        );
        let _slot = self.reserve(&key).await?;
        let agent = self.inner.fleet.start(spec).await.map_err(ApiError::sdk)?;
        tracing::info!(channel, agent_id = %agent.agent_id, owner = %agent.owner, "agent ready");
        Ok(AgentView::of(agent))
    }

    /// Counts a start against `max_agents`, unless the channel's agent already runs (joining
    /// it creates nothing). The count covers this process's agents and its starts under way.
    async fn reserve(&self, key: &FleetKey) -> Result<Option<Reserved>, ApiError> {
        let max = self.inner.max_agents;
        let owned = self.inner.fleet.owned().len();
        let counted = self
            .inner
            .starting
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (owned + n < max).then_some(n + 1)
            });
        if counted.is_ok() {
            return Ok(Some(Reserved(self.inner.clone())));
        }
        match self.inner.fleet.get(key).await.map_err(ApiError::sdk)? {
            Some(a) if is_live(a.state) => Ok(None),
            _ => Err(ApiError::too_many(max)),
        }
    }

    /// The channel's latest agent, running or not; `None` when it never had one (or its
    /// record expired).
    pub async fn get(&self, channel: &str) -> Result<Option<AgentView>, ApiError> {
        let key = FleetKey::new(channel).map_err(ApiError::sdk)?;
        let agent = self.inner.fleet.get(&key).await.map_err(ApiError::sdk)?;
        Ok(agent.map(AgentView::of))
    }

    /// Stops the channel's running agent, whichever process owns it; its id, or 404 when
    /// there is none.
    pub async fn stop(&self, channel: &str) -> Result<String, ApiError> {
        let key = FleetKey::new(channel).map_err(ApiError::sdk)?;
        let stopped = self.inner.fleet.stop(&key).await.map_err(ApiError::sdk)?;
        let agent = stopped.ok_or_else(ApiError::no_agent)?;
        tracing::info!(channel, agent_id = %agent.agent_id, "agent stopped");
        Ok(agent.agent_id)
    }

    /// Makes the channel's agent speak, through the process that owns it.
    pub async fn speak(
        &self,
        channel: &str,
        text: &str,
        priority: Option<Priority>,
    ) -> Result<(), ApiError> {
        let key = FleetKey::new(channel).map_err(ApiError::sdk)?;
        self.inner
            .fleet
            .speak(&key, text, priority)
            .await
            .map_err(ApiError::sdk)
    }

    /// Hands this process's agents over (or stops them, per `--drain`) within `deadline`.
    pub async fn drain(&self, deadline: Duration) -> DrainReport {
        self.inner.fleet.drain(self.inner.drain, deadline).await
    }
}

/// The builder sharing its fleet through the Redis of `url`.
async fn with_redis(
    builder: shengwang_agent::fleet::FleetBuilder,
    url: &str,
) -> Result<shengwang_agent::fleet::FleetBuilder, CliError> {
    // The SDK's errors name the host, never the URL (nor so its password).
    let redis = shengwang_agent::fleet::RedisFleet::connect(url)
        .await
        .map_err(|e| CliError::Failed(format!("cannot use Redis: {e}")))?;
    Ok(builder.redis(redis))
}

/// A start counted against `max_agents` until dropped.
struct Reserved(Arc<Inner>);

impl Drop for Reserved {
    fn drop(&mut self) {
        let _ = self
            .0
            .starting
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
    }
}

/// The session of `spec` as the config file describes it: the fleet's channel, uids and name,
/// and an idle timeout unless the file sets its own.
fn session_for(
    client: &Client,
    file: &AgentFile,
    spec: &AgentSpec,
) -> shengwang_agent::Result<shengwang_agent::agentkit::SessionBuilder> {
    let explicit_idle = file.session.idle_timeout.is_some();
    let flags = SessionFlags {
        channel: Some(spec.channel.clone()),
        agent_uid: Some(spec.agent_uid.clone()),
        remote_uids: spec.remote_uids.clone(),
        name: Some(spec.name.clone()),
        idle_timeout: (!explicit_idle).then_some(DEFAULT_IDLE_TIMEOUT_SECS),
        ..SessionFlags::default()
    };
    super::super::agents::build_session(client, file, &flags, None)
        .map_err(|e| shengwang_agent::Error::Config(e.to_string()))
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
