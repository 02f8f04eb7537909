//! The fleet's public value types.

use std::sync::Arc;
use std::time::Duration;

use super::key::FleetKey;
use super::record::FleetEventRecord;
use crate::agentkit::session::{SessionBuilder, SessionRecord, SessionState};
use crate::Result;

/// Builds the session of an [`AgentSpec`]: the agent's configuration (vendor keys included)
/// lives in the factory, never in the fleet's records.
pub type SessionFactoryFn = Arc<dyn Fn(&AgentSpec) -> Result<SessionBuilder> + Send + Sync>;

/// What a caller asks a fleet to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartSpec {
    /// One agent per key, fleet-wide.
    pub key: FleetKey,
    /// The channel the agent joins (usually the key).
    pub channel: String,
    /// The uid the agent joins as.
    pub agent_uid: String,
    /// The users the agent listens to.
    pub remote_uids: Vec<String>,
}

impl StartSpec {
    /// A spec whose channel is the key.
    pub fn new(
        key: FleetKey,
        agent_uid: impl Into<String>,
        remote_uids: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        StartSpec {
            channel: key.as_str().to_owned(),
            key,
            agent_uid: agent_uid.into(),
            remote_uids: remote_uids.into_iter().map(Into::into).collect(),
        }
    }
}

/// What the session factory builds a session for: a [`StartSpec`] and the derived agent
/// name. Free of secrets; stored in the record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AgentSpec {
    /// The fleet key.
    pub key: FleetKey,
    /// The agent name, derived from the key ([`agent_name`](super::agent_name)).
    pub name: String,
    /// The channel.
    pub channel: String,
    /// The uid the agent joins as.
    pub agent_uid: String,
    /// The users the agent listens to.
    pub remote_uids: Vec<String>,
}

impl AgentSpec {
    pub(crate) fn of_record(r: &SessionRecord) -> Result<Self> {
        Ok(AgentSpec {
            key: FleetKey::new(r.key.clone())?,
            name: r.name.clone(),
            channel: r.channel.clone(),
            agent_uid: r.uid.clone(),
            remote_uids: r.remote_uids.clone(),
        })
    }
}

/// What a process taking over a crashed process's session does with its agent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum OnOrphan {
    /// Resume it (after asking the service that it runs): the conversation goes on.
    #[default]
    Adopt,
    /// Stop it.
    Stop,
}

/// What [`Fleet::drain`](super::Fleet::drain) does with this process's sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Drain {
    /// Release them so that another process adopts them at once; the agents keep running.
    Handover,
    /// Stop their agents.
    Stop,
}

/// What a drain did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DrainReport {
    /// Keys released for another process to adopt.
    pub handed_over: Vec<String>,
    /// Keys whose agent was stopped.
    pub stopped: Vec<String>,
    /// Keys that could be neither released nor stopped (their agents may still run).
    pub failed: Vec<String>,
    /// The deadline passed before every session was handled.
    pub timed_out: bool,
}

/// A fleet's agent, as every process reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FleetAgent {
    /// The agent id (empty while the first start is under way).
    pub agent_id: String,
    /// The fleet key.
    pub key: String,
    /// The channel.
    pub channel: String,
    /// The uid the agent joins as.
    pub agent_uid: String,
    /// The users it listens to.
    pub remote_uids: Vec<String>,
    /// The agent's state (`running`, or how it ended).
    pub state: SessionState,
    /// The process owning it (empty while released for handover).
    pub owner: String,
    /// Ownership epoch: raised by every takeover.
    pub epoch: u64,
    /// Recent events, oldest first (at most [`MAX_EVENTS`](super::MAX_EVENTS)).
    pub events: Vec<FleetEventRecord>,
}

impl FleetAgent {
    pub(crate) fn of(r: SessionRecord, events: Vec<FleetEventRecord>) -> Self {
        FleetAgent {
            agent_id: r.agent_id.unwrap_or_default(),
            key: r.key,
            channel: r.channel,
            agent_uid: r.uid,
            remote_uids: r.remote_uids,
            state: r.status,
            owner: r.owner,
            epoch: r.epoch,
            events,
        }
    }
}

/// What happened to a fleet's sessions, from this process's point of view.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FleetEvent {
    /// This process took `key` over from `from` (empty: a released session).
    TakenOver {
        /// The fleet key.
        key: String,
        /// The previous owner.
        from: String,
        /// The new epoch.
        epoch: u64,
    },
    /// The taken-over agent runs on, now held by this process.
    Adopted {
        /// The fleet key.
        key: String,
        /// The agent.
        agent_id: String,
    },
    /// The taken-over agent was stopped (policy [`OnOrphan::Stop`]), or was found ended.
    OrphanStopped {
        /// The fleet key.
        key: String,
        /// The agent, when known.
        agent_id: Option<String>,
    },
    /// Another process holds `key` now: this process dropped its session without stopping
    /// the agent.
    OwnershipLost {
        /// The fleet key.
        key: String,
        /// The new owner (empty when unknown).
        owner: String,
    },
    /// The lease was not renewed in time: this process stopped acting as owner.
    Fenced {
        /// Time since the last successful renewal.
        since_renewal: Duration,
    },
    /// The store answered again and the sessions this process holds were checked (and
    /// written again if the store had lost them).
    Reestablished {
        /// Sessions kept.
        kept: usize,
        /// Sessions lost to another owner.
        lost: usize,
    },
    /// This process released `key` for another to adopt.
    HandedOver {
        /// The fleet key.
        key: String,
    },
}
