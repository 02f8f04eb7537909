//! The seam between the fleet's engine and where its records live: one trait, two backends
//! (memory for one process, Redis for a fleet), so the engine has one code path. Every
//! state-changing call checks ownership atomically in the backend (owner and epoch).

use futures::future::BoxFuture;

use super::record::FleetEventRecord;
use crate::agentkit::session::{SessionRecord, SessionState};
use crate::Result;

/// A record and its events, oldest first.
pub(crate) type Found = (SessionRecord, Vec<FleetEventRecord>);

/// What a claim found.
pub(crate) enum Claimed {
    /// The key had no live agent: the record is now this process's (owner, new epoch,
    /// state `starting`).
    Mine(SessionRecord),
    /// A live record exists (whoever owns it).
    Existing(SessionRecord),
}

/// What re-establishing a record found.
pub(crate) enum Reestablished {
    /// The record was there and still this process's.
    Kept,
    /// The record was gone (the store lost it), or described no live agent, and was written
    /// again, at `epoch`.
    Recreated {
        /// The epoch the process holds the record at now.
        epoch: u64,
    },
    /// A start elsewhere is under way for the key (after the store lost its data): ask
    /// again later.
    Contested,
    /// Another owner (or a newer epoch) holds it: this process lost it.
    Lost {
        /// The current owner.
        owner: String,
    },
}

/// A message for the owner of a session, delivered through its inbox.
#[derive(Debug, Clone)]
pub(crate) enum Entry {
    /// A verified notice (its raw body) about the session of `key`.
    Notice { key: String, body: Vec<u8> },
    /// Make the agent speak; the answer goes to the reply slot `nonce`.
    Speak {
        key: String,
        text: String,
        priority: Option<String>,
        nonce: String,
        /// Unix ms when it was asked: a request older than the asker's wait is dropped.
        at_ms: u64,
    },
    /// A user stopped the agent through another process: stop holding it.
    Stopped { key: String, agent_id: String },
}

impl Entry {
    pub(crate) fn key(&self) -> &str {
        match self {
            Entry::Notice { key, .. } | Entry::Speak { key, .. } | Entry::Stopped { key, .. } => {
                key
            }
        }
    }
}

/// Where records live. Owned arguments keep the futures `'static`-friendly and simple.
pub(crate) trait Backend: Send + Sync {
    /// True when ownership is leased (a heartbeat must renew it): fencing applies.
    fn leased(&self) -> bool;
    /// Claims `proposal.key` for `proposal.owner` unless a live record exists.
    fn claim(&self, proposal: SessionRecord) -> BoxFuture<'_, Result<Claimed>>;
    /// The start succeeded: state `running` with `agent_id`, if still owner at `epoch`.
    fn commit(
        &self,
        key: String,
        owner: String,
        epoch: u64,
        agent_id: String,
    ) -> BoxFuture<'_, Result<bool>>;
    /// The start failed: state `error`, if still owner at `epoch`.
    fn abort(&self, key: String, owner: String, epoch: u64) -> BoxFuture<'_, Result<bool>>;
    /// Takes a live record over from `expected` (or from nobody, after a release):
    /// owner = `me`, epoch + 1. `None` when it is not live or someone else holds it.
    fn takeover(
        &self,
        key: String,
        expected: String,
        me: String,
    ) -> BoxFuture<'_, Result<Option<SessionRecord>>>;
    /// Gives the record up for handover (owner empty), if still owner at `epoch`.
    fn release(&self, key: String, owner: String, epoch: u64) -> BoxFuture<'_, Result<bool>>;
    /// The agent `agent_id` ended (a user's stop): state `state`, whoever owns it.
    fn finish(
        &self,
        key: String,
        agent_id: String,
        state: SessionState,
    ) -> BoxFuture<'_, Result<bool>>;
    /// True while `owner` holds the live record at `epoch`.
    fn check(&self, key: String, owner: String, epoch: u64) -> BoxFuture<'_, Result<bool>>;
    /// Appends `event` (once per `notice_id` when given); when the event ends agent
    /// `agent_id`, the record's state becomes `state`. False for a duplicate notice.
    fn note_event(
        &self,
        key: String,
        notice_id: Option<String>,
        event: FleetEventRecord,
        end: Option<(String, SessionState)>,
    ) -> BoxFuture<'_, Result<bool>>;
    /// The record of `key` and its events, oldest first.
    fn get(&self, key: String) -> BoxFuture<'_, Result<Option<Found>>>;
    /// The fleet key of an agent the fleet started.
    fn key_of_agent(&self, agent_id: String) -> BoxFuture<'_, Result<Option<String>>>;
    /// Queues `entry` in `owner`'s inbox; false when the backend has no inboxes (memory):
    /// the caller applies it at once.
    fn enqueue(&self, owner: String, entry: Entry) -> BoxFuture<'_, Result<bool>>;
    /// Writes the answer of routed request `nonce`.
    fn put_reply(&self, key: String, nonce: String, answer: String) -> BoxFuture<'_, Result<()>>;
    /// Takes the answer of routed request `nonce`, if it has come.
    fn take_reply(&self, key: String, nonce: String) -> BoxFuture<'_, Result<Option<String>>>;
    /// True while `owner`'s heartbeat is alive.
    fn owner_alive(&self, owner: String) -> BoxFuture<'_, Result<bool>>;
    /// Writes `record` again if the store lost it, or says who holds it now.
    fn reestablish(&self, record: SessionRecord) -> BoxFuture<'_, Result<Reestablished>>;
    /// Forgets that `owner` owns `key` (its owned-set entry).
    fn disown(&self, key: String, owner: String) -> BoxFuture<'_, Result<()>>;
    /// Announces a released key to the other processes (a no-op without them).
    fn announce_release(&self, key: String) -> BoxFuture<'_, Result<()>>;
    /// Leaves the fleet: the heartbeat is deleted so the reaper of another process handles
    /// what is left at once.
    fn retire(&self, me: String) -> BoxFuture<'_, Result<()>>;
    /// Every entry still in `instance`'s inbox, with its id.
    fn inbox_entries(&self, instance: String) -> BoxFuture<'_, Result<Vec<(String, Entry)>>>;
    /// Deletes entries from `instance`'s inbox.
    fn inbox_delete(&self, instance: String, ids: Vec<String>) -> BoxFuture<'_, Result<()>>;
}
