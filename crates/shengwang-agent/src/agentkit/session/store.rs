//! Where the record of each live session is kept: the seam a fleet of servers shares
//! sessions through ([`crate::fleet`] keeps the same records, with owner and epoch, in Redis
//! with leases and takeover). The hub
//! writes a session's record when its state changes while it may have an agent, and removes
//! it once it cannot; the default store keeps records in memory.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::SessionState;
use crate::{Error, Result};

/// The newest [`SessionRecord::schema_version`] this release reads and writes.
pub const SCHEMA_VERSION: u32 = 1;

/// What a [`SessionStore`] call returns: a boxed future, so the trait is object-safe.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// What a store knows of one live session. Serialisable (JSON through serde), and free of
/// secrets: no token, no vendor key, no params.
///
/// `merge_base` is the slot for the params a session merges updates onto (safe update). A
/// session's params may hold vendor keys, so this release leaves it `None`; a store that
/// fills it must remove secret-looking keys first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SessionRecord {
    /// The record format; a record newer than [`SCHEMA_VERSION`] is refused with
    /// [`Error::RecordTooNew`].
    pub schema_version: u32,
    /// The store's key for the session (today: its agent name, unique among running
    /// agents).
    pub key: String,
    /// The agent name.
    pub name: String,
    /// The agent id, once the session knows it.
    pub agent_id: Option<String>,
    /// The channel.
    pub channel: String,
    /// The uid the agent joins as.
    pub uid: String,
    /// The labels sent at start.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The session's state when the record was written.
    pub status: SessionState,
    /// Ownership epoch: which owner wrote the record. The in-memory store's owner is always
    /// 0; the fleet store increments it on every takeover, and a writer holding an older
    /// epoch is no longer the owner.
    #[serde(default)]
    pub epoch: u64,
    /// The params the session merges updates onto, secrets removed; `None` in this release.
    #[serde(default)]
    pub merge_base: Option<serde_json::Value>,
    /// The fleet instance that owns the session (empty outside a fleet, or while released
    /// for handover).
    #[serde(default)]
    pub owner: String,
    /// The remote uids the agent was started for (a fleet refuses a start for the same key
    /// with other ones).
    #[serde(default)]
    pub remote_uids: Vec<String>,
    /// Unix milliseconds of the last write.
    #[serde(default)]
    pub updated_ms: u64,
}

impl SessionRecord {
    /// A record of the current schema, state `idle`, epoch 0.
    pub fn new(key: &str, name: &str, channel: &str) -> Self {
        SessionRecord {
            schema_version: SCHEMA_VERSION,
            key: key.to_owned(),
            name: name.to_owned(),
            agent_id: None,
            channel: channel.to_owned(),
            uid: String::new(),
            labels: BTreeMap::new(),
            status: SessionState::Idle,
            epoch: 0,
            merge_base: None,
            owner: String::new(),
            remote_uids: Vec::new(),
            updated_ms: 0,
        }
    }

    /// Refuses a record written by a newer release ([`Error::RecordTooNew`]).
    pub fn check_schema(&self) -> Result<()> {
        if self.schema_version > SCHEMA_VERSION {
            return Err(Error::RecordTooNew {
                key: self.key.clone(),
                found: self.schema_version,
                known: SCHEMA_VERSION,
            });
        }
        Ok(())
    }

    /// The record as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// A record read from JSON; a newer schema is refused with [`Error::RecordTooNew`]
    /// before anything else is read.
    pub fn from_json(json: &str) -> Result<Self> {
        #[derive(Deserialize)]
        struct Version {
            schema_version: u32,
            #[serde(default)]
            key: String,
        }
        let invalid = |e: serde_json::Error| Error::invalid("session record", e.to_string());
        let v: Version = serde_json::from_str(json).map_err(invalid)?;
        if v.schema_version > SCHEMA_VERSION {
            return Err(Error::RecordTooNew {
                key: v.key,
                found: v.schema_version,
                known: SCHEMA_VERSION,
            });
        }
        serde_json::from_str(json).map_err(invalid)
    }
}

/// Keeps the records of live sessions. Object-safe: the hub holds an
/// `Arc<dyn SessionStore>`. Every call may fail (a remote store); a record with a newer
/// schema than [`SCHEMA_VERSION`] must be refused with [`Error::RecordTooNew`].
///
/// The hub calls `put` and `remove` from inside state changes and polls the future once: a
/// store that answers at once (the memory store) is applied in order; one that does not is
/// finished on the client's cleanup runtime (and [`SessionHub::shutdown`](super::SessionHub::shutdown)
/// waits for it).
pub trait SessionStore: Send + Sync + fmt::Debug {
    /// Creates or replaces the record under `record.key`.
    fn put(&self, record: SessionRecord) -> StoreFuture<'_, ()>;
    /// The record under `key`, if any.
    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<SessionRecord>>;
    /// Removes the record under `key` (nothing if there is none).
    fn remove<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()>;
    /// Every record, in key order.
    fn list(&self) -> StoreFuture<'_, Vec<SessionRecord>>;
}

/// The default store: records in this process's memory, lost with it.
#[derive(Debug, Default)]
pub struct MemorySessionStore {
    records: Mutex<HashMap<String, SessionRecord>>,
}

impl MemorySessionStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, SessionRecord>> {
        self.records.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl SessionStore for MemorySessionStore {
    fn put(&self, record: SessionRecord) -> StoreFuture<'_, ()> {
        let result = record.check_schema().map(|()| {
            self.lock().insert(record.key.clone(), record);
        });
        Box::pin(std::future::ready(result))
    }
    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<SessionRecord>> {
        let found = self.lock().get(key).cloned();
        Box::pin(std::future::ready(Ok(found)))
    }
    fn remove<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        self.lock().remove(key);
        Box::pin(std::future::ready(Ok(())))
    }
    fn list(&self) -> StoreFuture<'_, Vec<SessionRecord>> {
        let mut all: Vec<_> = self.lock().values().cloned().collect();
        all.sort_by(|a, b| a.key.cmp(&b.key));
        Box::pin(std::future::ready(Ok(all)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_round_trips_and_a_newer_schema_is_refused() {
        let mut record = SessionRecord::new("k", "agent-1", "room");
        record.agent_id = Some("A1".into());
        record.status = SessionState::Running;
        let json = record.to_json();
        assert_eq!(SessionRecord::from_json(&json).unwrap(), record);
        let newer = json.replace("\"schema_version\":1", "\"schema_version\":2");
        let err = SessionRecord::from_json(&newer).unwrap_err();
        assert!(
            matches!(
                err,
                Error::RecordTooNew {
                    found: 2,
                    known: 1,
                    ..
                }
            ),
            "{err}"
        );
        let store = MemorySessionStore::new();
        record.schema_version = 9;
        let put = futures::executor::block_on(store.put(record));
        assert!(matches!(put, Err(Error::RecordTooNew { .. })));
    }

    #[test]
    fn the_memory_store_keeps_one_record_per_key() {
        let store = MemorySessionStore::new();
        futures::executor::block_on(async {
            store.put(SessionRecord::new("b", "n", "c")).await.unwrap();
            store.put(SessionRecord::new("a", "n", "c")).await.unwrap();
            store.put(SessionRecord::new("a", "m", "c")).await.unwrap();
            let all = store.list().await.unwrap();
            assert_eq!(all.len(), 2);
            assert_eq!(all[0].name, "m");
            store.remove("a").await.unwrap();
            assert_eq!(store.get("a").await.unwrap(), None);
        });
    }
}
