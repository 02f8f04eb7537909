//! The memory backend: one process's records, with the Redis backend's semantics (one live
//! agent per key, owner and epoch checks, events, notices applied once) and no leases.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;

use super::backend::{Backend, Claimed, Entry, Found, Reestablished};
use super::record::{is_live, now_ms, FleetEventRecord, MAX_EVENTS};
use crate::agentkit::session::{SessionRecord, SessionState};
use crate::Result;

/// How long the record of an ended agent stays readable.
const ENDED_TTL: Duration = Duration::from_secs(3600);

struct Slot {
    rec: SessionRecord,
    events: VecDeque<FleetEventRecord>,
    seen: HashSet<String>,
    ended_at: Option<Instant>,
}

#[derive(Default)]
struct State {
    slots: HashMap<String, Slot>,
    agents: HashMap<String, String>,
}

impl State {
    /// Drops the records of agents that ended over an hour ago.
    fn prune(&mut self) {
        let now = Instant::now();
        let old: Vec<String> = self
            .slots
            .iter()
            .filter(|(_, s)| {
                s.ended_at
                    .is_some_and(|t| now.duration_since(t) > ENDED_TTL)
            })
            .map(|(k, _)| k.clone())
            .collect();
        for k in old {
            if let Some(s) = self.slots.remove(&k) {
                if let Some(id) = s.rec.agent_id {
                    self.agents.remove(&id);
                }
            }
        }
    }
    /// The slot of `key` while `owner` holds it live at `epoch`.
    fn owned(&mut self, key: &str, owner: &str, epoch: u64) -> Option<&mut Slot> {
        self.slots
            .get_mut(key)
            .filter(|s| s.rec.owner == owner && s.rec.epoch == epoch && is_live(s.rec.status))
    }
}

/// Records in this process's memory.
#[derive(Default)]
pub(crate) struct MemoryBackend {
    state: Mutex<State>,
}

fn ready<T: Send + 'static>(v: T) -> BoxFuture<'static, Result<T>> {
    Box::pin(std::future::ready(Ok(v)))
}

impl MemoryBackend {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
    fn end(slot: &mut Slot, state: SessionState) {
        slot.rec.status = state;
        slot.rec.updated_ms = now_ms();
        slot.ended_at = Some(Instant::now());
    }
}

impl Backend for MemoryBackend {
    fn leased(&self) -> bool {
        false
    }
    fn claim(&self, mut proposal: SessionRecord) -> BoxFuture<'_, Result<Claimed>> {
        let mut st = self.lock();
        st.prune();
        if let Some(s) = st
            .slots
            .get(&proposal.key)
            .filter(|s| is_live(s.rec.status))
        {
            return ready(Claimed::Existing(s.rec.clone()));
        }
        proposal.epoch = st.slots.get(&proposal.key).map_or(0, |s| s.rec.epoch) + 1;
        proposal.status = SessionState::Starting;
        proposal.agent_id = None;
        proposal.updated_ms = now_ms();
        let slot = Slot {
            rec: proposal.clone(),
            events: VecDeque::new(),
            seen: HashSet::new(),
            ended_at: None,
        };
        st.slots.insert(proposal.key.clone(), slot);
        ready(Claimed::Mine(proposal))
    }
    fn commit(
        &self,
        key: String,
        owner: String,
        epoch: u64,
        id: String,
    ) -> BoxFuture<'_, Result<bool>> {
        let mut st = self.lock();
        let Some(s) = st.owned(&key, &owner, epoch) else {
            return ready(false);
        };
        s.rec.status = SessionState::Running;
        s.rec.agent_id = Some(id.clone());
        s.rec.updated_ms = now_ms();
        st.agents.insert(id, key);
        ready(true)
    }
    fn abort(&self, key: String, owner: String, epoch: u64) -> BoxFuture<'_, Result<bool>> {
        let mut st = self.lock();
        let done = st
            .owned(&key, &owner, epoch)
            .map(|s| Self::end(s, SessionState::Error));
        ready(done.is_some())
    }
    fn takeover(
        &self,
        key: String,
        expected: String,
        me: String,
    ) -> BoxFuture<'_, Result<Option<SessionRecord>>> {
        let mut st = self.lock();
        let taken = st
            .slots
            .get_mut(&key)
            .filter(|s| {
                is_live(s.rec.status) && (s.rec.owner == expected || s.rec.owner.is_empty())
            })
            .map(|s| {
                s.rec.owner = me;
                s.rec.epoch += 1;
                s.rec.updated_ms = now_ms();
                s.rec.clone()
            });
        ready(taken)
    }
    fn release(&self, key: String, owner: String, epoch: u64) -> BoxFuture<'_, Result<bool>> {
        let mut st = self.lock();
        let done = st.owned(&key, &owner, epoch).map(|s| s.rec.owner.clear());
        ready(done.is_some())
    }
    fn finish(
        &self,
        key: String,
        agent_id: String,
        state: SessionState,
    ) -> BoxFuture<'_, Result<bool>> {
        let mut st = self.lock();
        let done = st
            .slots
            .get_mut(&key)
            .filter(|s| {
                is_live(s.rec.status) && s.rec.agent_id.as_deref() == Some(agent_id.as_str())
            })
            .map(|s| Self::end(s, state));
        ready(done.is_some())
    }
    fn check(&self, key: String, owner: String, epoch: u64) -> BoxFuture<'_, Result<bool>> {
        ready(self.lock().owned(&key, &owner, epoch).is_some())
    }
    fn note_event(
        &self,
        key: String,
        notice_id: Option<String>,
        event: FleetEventRecord,
        end: Option<(String, SessionState)>,
    ) -> BoxFuture<'_, Result<bool>> {
        let mut st = self.lock();
        let Some(s) = st.slots.get_mut(&key) else {
            return ready(false);
        };
        if let Some(id) = notice_id {
            if !s.seen.insert(id) {
                return ready(false);
            }
        }
        s.events.push_back(event);
        while s.events.len() > MAX_EVENTS {
            s.events.pop_front();
        }
        if let Some((agent_id, state)) = end {
            if is_live(s.rec.status) && s.rec.agent_id.as_deref() == Some(agent_id.as_str()) {
                Self::end(s, state);
            }
        }
        ready(true)
    }
    fn get(&self, key: String) -> BoxFuture<'_, Result<Option<Found>>> {
        let st = self.lock();
        let found = st
            .slots
            .get(&key)
            .map(|s| (s.rec.clone(), s.events.iter().cloned().collect()));
        ready(found)
    }
    fn key_of_agent(&self, agent_id: String) -> BoxFuture<'_, Result<Option<String>>> {
        ready(self.lock().agents.get(&agent_id).cloned())
    }
    fn enqueue(&self, _owner: String, _entry: Entry) -> BoxFuture<'_, Result<bool>> {
        ready(false)
    }
    fn put_reply(
        &self,
        _key: String,
        _nonce: String,
        _answer: String,
    ) -> BoxFuture<'_, Result<()>> {
        ready(())
    }
    fn take_reply(&self, _key: String, _nonce: String) -> BoxFuture<'_, Result<Option<String>>> {
        ready(None)
    }
    fn owner_alive(&self, _owner: String) -> BoxFuture<'_, Result<bool>> {
        ready(true)
    }
    fn reestablish(&self, record: SessionRecord) -> BoxFuture<'_, Result<Reestablished>> {
        let st = self.lock();
        let r = match st.slots.get(&record.key) {
            Some(s) if s.rec.owner == record.owner && s.rec.epoch == record.epoch => {
                Reestablished::Kept
            }
            Some(s) => Reestablished::Lost {
                owner: s.rec.owner.clone(),
            },
            None => Reestablished::Recreated {
                epoch: record.epoch,
            },
        };
        ready(r)
    }
    fn disown(&self, _key: String, _owner: String) -> BoxFuture<'_, Result<()>> {
        ready(())
    }
    fn announce_release(&self, _key: String) -> BoxFuture<'_, Result<()>> {
        ready(())
    }
    fn retire(&self, _me: String) -> BoxFuture<'_, Result<()>> {
        ready(())
    }
    fn inbox_entries(&self, _instance: String) -> BoxFuture<'_, Result<Vec<(String, Entry)>>> {
        ready(Vec::new())
    }
    fn inbox_delete(&self, _instance: String, _ids: Vec<String>) -> BoxFuture<'_, Result<()>> {
        ready(())
    }
}
