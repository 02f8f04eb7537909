//! Fleets: one agent per key across every process of a deployment, ownership with leases
//! and fencing, handover on deploy, takeover after a crash, and notices that reach the
//! process owning their session.
//!
//! A [`Fleet`] wraps a [`Client`] and a factory that builds a [`SessionBuilder`] for an
//! [`AgentSpec`]. [`Fleet::start`] is idempotent per [`FleetKey`] (the channel is the
//! natural key): any number of concurrent starts on any number of processes create one
//! agent, named from the key ([`agent_name`]), and every caller gets its id. A start for a
//! key whose live agent has another agent uid or other remote uids is refused with
//! [`Error::FleetConflict`].
//!
//! Without a store the fleet is this process alone (memory backend, no leases). With the
//! `redis` feature, [`FleetBuilder::redis`] shares it through Redis:
//!
//! - every process keeps **one heartbeat** (its lease, default 15 s); a process that could not
//!   renew for lease − margin (a fifth of the lease, at least 300 ms) on its monotonic clock is
//!   **fenced**: it no longer speaks, renews tokens or stops through the agents it held,
//!   emits [`FleetEvent::Fenced`] and logs a warning. A user's explicit [`Fleet::stop`] stays
//!   allowed (any process may stop any agent);
//! - a **reaper** in every process takes over the sessions of a process whose heartbeat is
//!   gone within lease + one reaper interval, raising each session's epoch, and adopts the
//!   agent (a checked resume) or stops it ([`OnOrphan`]);
//! - [`Fleet::drain`] with [`Drain::Handover`] releases every session so another process
//!   adopts it at once (same agent id, the conversation goes on);
//! - [`Fleet::record_notice`] writes a verified notice durably into the owner's inbox (a Redis
//!   stream) before the receiver answers 200; the owner applies it to its session (once: a
//!   second delivery is a no-op), and the inbox of a dead process is recovered by the reaper.
//!
//! The service takes no fencing token: between the owner's check in Redis and its HTTP
//! request a pause (GC, SIGSTOP) can still let a fenced process's request through. Each
//! action checks the lease on the monotonic clock and the epoch in Redis immediately before
//! the request, so the window is one Redis round trip plus the time to send.
//!
//! Keys in Redis (prefix `P`, default `convoai`; every variable part hex-encoded; the
//! `{...}` hash tag keeps each operation's keys in one Redis Cluster slot). Every key has a
//! TTL or is deleted by the protocol:
//!
//! | key | what | TTL |
//! |---|---|---|
//! | `P:{s:<key>}:rec`, `:events`, `:seen` | a key's record (hash), its last 50 events, the notices applied | 24 h while live (refreshed hourly by the owner), 1 h after the end |
//! | `P:{s:<key>}:reply:<nonce>` | the answer of a routed speak | 30 s |
//! | `P:{a:<agent id>}` | agent id → key | as the record |
//! | `P:{p:<instance>}:hb`, `:owns`, `:inbox` | a process's heartbeat (its lease), the keys it owns, its inbox stream | the lease; 24 h, refreshed per beat |
//! | `P:{fleet}:procs`, `P:{fleet}:released` | the processes, the keys released on drain | 24 h, refreshed per beat; 1 h |
//!
//! Nothing secret is written: records hold the key, agent name and id, channel, uids, owner,
//! epoch and state; the inbox holds the notices' bodies as the service signed them. Vendor
//! keys stay in the session factory.
//!
//! Use [`Fleet::stop`] and [`Fleet::drain`] rather than the sessions' own `stop` or the
//! client's `sessions().shutdown()`: those do not update the fleet's records and do not check
//! ownership. Dropping the last `Fleet` without a drain behaves like a crash (the other
//! processes take the sessions over once the lease lapses).
//!
//! Upgrade order for records ([`SCHEMA_VERSION`](crate::agentkit::session::SCHEMA_VERSION)):
//! a process meeting a record of a newer schema refuses it with
//! [`Error::RecordTooNew`]; roll a new schema out to every
//! process before any process writes it.

// Without `redis` only the memory backend exists: the lease, key names and record encoding
// are the Redis backend's.
#![cfg_attr(not(feature = "redis"), allow(dead_code))]

mod backend;
mod engine;
mod fence;
mod key;
mod memory;
mod notices;
mod record;
#[cfg(feature = "redis")]
mod redis;
mod takeover;
mod types;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use engine::Engine;
pub use key::{agent_name, FleetKey, DEFAULT_PREFIX};
pub use record::{FleetEventRecord, MAX_EVENTS};
#[cfg(feature = "redis")]
pub use redis::RedisFleet;
pub use types::{
    AgentSpec, Drain, DrainReport, FleetAgent, FleetEvent, OnOrphan, SessionFactoryFn, StartSpec,
};

use crate::agentkit::session::SessionBuilder;
use crate::types::agents::Priority;
use crate::webhooks::Notification;
use crate::{Client, Error, Result, Session};

/// The default lease of a process.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(15);

/// Configures a [`Fleet`]; from [`Fleet::builder`].
#[must_use]
pub struct FleetBuilder {
    client: Client,
    factory: SessionFactoryFn,
    instance: Option<String>,
    lease: Duration,
    on_orphan: OnOrphan,
    prefix: String,
    #[cfg(feature = "redis")]
    redis: Option<RedisFleet>,
}

impl std::fmt::Debug for FleetBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("FleetBuilder");
        d.field("instance", &self.instance)
            .field("lease", &self.lease)
            .field("on_orphan", &self.on_orphan)
            .field("prefix", &self.prefix);
        #[cfg(feature = "redis")]
        d.field("redis", &self.redis);
        d.finish_non_exhaustive()
    }
}

impl FleetBuilder {
    /// Shares the fleet through Redis (leases, takeover, handover, inboxes).
    #[cfg(feature = "redis")]
    pub fn redis(mut self, redis: RedisFleet) -> Self {
        self.redis = Some(redis);
        self
    }
    /// This process's name in the fleet (default: unique per process). Two live processes
    /// must never share one.
    pub fn instance(mut self, instance: impl Into<String>) -> Self {
        self.instance = Some(instance.into());
        self
    }
    /// The lease of this process (default 15 s, at least 1 s): how long after a crash
    /// another process may take its sessions over (plus one reaper interval).
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }
    /// What a process taking a session over after a crash does with its agent.
    pub fn on_orphan(mut self, policy: OnOrphan) -> Self {
        self.on_orphan = policy;
        self
    }
    /// Prefix of the Redis keys and of the hash of the agent names (default
    /// [`DEFAULT_PREFIX`]): fleets with different prefixes share nothing.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The fleet; with Redis, after its first heartbeat (a Redis that cannot be reached is
    /// [`Error::FleetUnavailable`]), with its heartbeat, reaper and inbox tasks running on
    /// the current Tokio runtime.
    pub async fn build(self) -> Result<Fleet> {
        key::check_prefix(&self.prefix)?;
        if self.lease < Duration::from_secs(1) {
            return Err(Error::invalid("lease", "must be at least 1 s"));
        }
        let instance = self.instance.clone().unwrap_or_else(default_instance);
        if instance.is_empty() || instance.len() > 128 || instance.chars().any(char::is_control) {
            return Err(Error::invalid(
                "instance",
                "must be 1 to 128 characters, no control characters",
            ));
        }
        #[cfg(feature = "redis")]
        if let Some(redis) = self.redis.clone() {
            return redis::build(self, redis, instance).await;
        }
        let backend = Arc::new(memory::MemoryBackend::default());
        let engine = Engine::new(&self, backend, instance);
        Ok(Fleet::from_engine(engine, Vec::new()))
    }
}

fn default_instance() -> String {
    format!("{}-{:08x}", std::process::id(), rand::random::<u32>())
}

/// Agents that survive deploys and crashes: one per key, fleet-wide. `Clone` (clones are the
/// same fleet); its background tasks stop when the last clone is dropped.
#[derive(Clone)]
pub struct Fleet {
    inner: Arc<FleetInner>,
}

struct FleetInner {
    engine: Arc<Engine>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl FleetInner {
    fn stop_tasks(&self) {
        for t in self
            .tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
        {
            t.abort();
        }
    }
}

impl Drop for FleetInner {
    fn drop(&mut self) {
        self.stop_tasks();
    }
}

impl std::fmt::Debug for Fleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fleet")
            .field("instance", &self.inner.engine.instance)
            .field("prefix", &self.inner.engine.prefix)
            .field("lease", &self.inner.engine.lease.lease)
            .finish_non_exhaustive()
    }
}

impl Fleet {
    /// A builder: sessions come from `factory` (which must build them for the spec's channel
    /// and agent uid; the fleet sets the name, and turns stop-on-drop and token renewal off:
    /// it stops and renews itself, only while it owns the session).
    pub fn builder<F>(client: Client, factory: F) -> FleetBuilder
    where
        F: Fn(&AgentSpec) -> Result<SessionBuilder> + Send + Sync + 'static,
    {
        FleetBuilder {
            client,
            factory: Arc::new(factory),
            instance: None,
            lease: DEFAULT_LEASE,
            on_orphan: OnOrphan::default(),
            prefix: DEFAULT_PREFIX.to_owned(),
            #[cfg(feature = "redis")]
            redis: None,
        }
    }

    fn from_engine(engine: Arc<Engine>, tasks: Vec<tokio::task::JoinHandle<()>>) -> Fleet {
        Fleet {
            inner: Arc::new(FleetInner {
                engine,
                tasks: Mutex::new(tasks),
            }),
        }
    }

    /// Starts the key's agent, or joins the live one: exactly one agent per key fleet-wide,
    /// and every caller gets its id. Another agent uid or other remote uids than the live
    /// agent's is [`Error::FleetConflict`]; Redis unreachable is
    /// [`Error::FleetUnavailable`], before any agent is created.
    pub async fn start(&self, spec: StartSpec) -> Result<FleetAgent> {
        self.inner.engine.start(spec).await
    }
    /// The key's latest agent (running or not) and its recent events, from any process;
    /// `None` when the key never had one or its record expired.
    pub async fn get(&self, key: &FleetKey) -> Result<Option<FleetAgent>> {
        self.inner.engine.get(key).await
    }
    /// Stops the key's live agent, from any process (a user's request, allowed even while
    /// fenced); `None` when it has no live agent.
    pub async fn stop(&self, key: &FleetKey) -> Result<Option<FleetAgent>> {
        self.inner.engine.stop(key).await
    }
    /// Makes the key's agent speak, through whichever process owns it. A fenced or
    /// superseded owner refuses with [`Error::NotOwner`].
    pub async fn speak(
        &self,
        key: &FleetKey,
        text: &str,
        priority: Option<Priority>,
    ) -> Result<()> {
        self.inner.engine.speak(key, text, priority).await
    }
    /// Records a verified notice (its raw `body` and parsed form) for the process owning its
    /// session. With Redis it is durable when this returns `Ok` (answer 200 only then), and
    /// applied at least once, a second time being a no-op; an error means it was not
    /// recorded (answer non-200 so that the service resends it).
    pub async fn record_notice(&self, body: &[u8], notification: &Notification) -> Result<()> {
        self.inner.engine.record_notice(body, notification).await
    }
    /// Hands every session over (releases it so that another process adopts it at once) or
    /// stops every agent, within `deadline`; then leaves the fleet (stops its tasks).
    pub async fn drain(&self, mode: Drain, deadline: Duration) -> DrainReport {
        let report = match tokio::time::timeout(deadline, self.inner.engine.drain(mode)).await {
            Ok(r) => r,
            Err(_) => DrainReport {
                timed_out: true,
                ..DrainReport::default()
            },
        };
        self.inner.engine.retire().await;
        self.inner.stop_tasks();
        report
    }
    /// What happens to the fleet's sessions (takeovers, fencing, losses), as a stream; a
    /// subscriber more than 256 events behind misses the oldest.
    pub fn events(&self) -> crate::BoxStream<'static, FleetEvent> {
        self.inner.engine.subscribe()
    }
    /// This process's name in the fleet.
    pub fn instance(&self) -> &str {
        &self.inner.engine.instance
    }
    /// `Ok` when the fleet can serve (Redis answered recently), else the reason.
    pub fn is_ready(&self) -> Result<()> {
        self.inner.engine.is_ready()
    }
    /// The local session of `key`, while this process owns it.
    pub fn session(&self, key: &FleetKey) -> Option<Session> {
        self.inner.engine.local(key.as_str()).map(|l| l.session)
    }
    /// The keys this process owns.
    pub fn owned(&self) -> Vec<FleetKey> {
        self.inner.engine.owned_keys()
    }
    /// Test hook: behaves like a crash: the background tasks stop and the local sessions
    /// are forgotten without stopping or releasing anything.
    #[doc(hidden)]
    pub fn crash_for_test(&self) {
        self.inner.stop_tasks();
        self.inner.engine.crash();
    }
}
