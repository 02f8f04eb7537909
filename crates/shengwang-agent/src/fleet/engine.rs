//! The fleet's engine: start (one agent per key), get, stop, speak, and the local sessions
//! this process owns. One code path for both backends; fencing is checked before every
//! action on an agent (lease on the monotonic clock, then owner and epoch in the store).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::broadcast;
use tokio::time::Instant;

use super::backend::{Backend, Claimed, Entry};
use super::fence::Lease;
use super::key::{agent_name, FleetKey};
use super::record::{is_live, now_ms, FleetEventRecord};
use super::types::{AgentSpec, FleetAgent, FleetEvent, OnOrphan, SessionFactoryFn, StartSpec};
use super::FleetBuilder;
use crate::agentkit::session::{SessionRecord, SessionState, SCHEMA_VERSION};
use crate::agentkit::Operation;
use crate::types::agents::Priority;
use crate::{Client, Error, Result, Session};

/// How long a start waits for another caller's start of the same key.
pub(crate) const JOIN_WAIT: Duration = Duration::from_secs(35);
/// How long a routed request waits for the owner's answer.
pub(crate) const REPLY_WAIT: Duration = Duration::from_secs(10);

/// A session this process owns, and the record it holds it under.
#[derive(Clone)]
pub(crate) struct Local {
    pub(crate) session: Session,
    pub(crate) record: SessionRecord,
}

/// Everything one fleet process knows and does.
pub(crate) struct Engine {
    pub(crate) client: Client,
    factory: SessionFactoryFn,
    pub(crate) backend: Arc<dyn Backend>,
    pub(crate) instance: String,
    pub(crate) prefix: String,
    pub(crate) on_orphan: OnOrphan,
    pub(crate) lease: Lease,
    local: Mutex<HashMap<String, Local>>,
    events: broadcast::Sender<FleetEvent>,
    pub(crate) draining: AtomicBool,
    pub(crate) crashed: AtomicBool,
}

impl Engine {
    pub(crate) fn new(b: &FleetBuilder, backend: Arc<dyn Backend>, instance: String) -> Arc<Self> {
        Arc::new(Engine {
            client: b.client.clone(),
            factory: b.factory.clone(),
            lease: Lease::new(backend.leased(), b.lease),
            backend,
            instance,
            prefix: b.prefix.clone(),
            on_orphan: b.on_orphan,
            local: Mutex::new(HashMap::new()),
            events: broadcast::channel(256).0,
            draining: AtomicBool::new(false),
            crashed: AtomicBool::new(false),
        })
    }

    fn locals(&self) -> std::sync::MutexGuard<'_, HashMap<String, Local>> {
        self.local.lock().unwrap_or_else(|p| p.into_inner())
    }
    pub(crate) fn local(&self, key: &str) -> Option<Local> {
        self.locals().get(key).cloned()
    }
    pub(crate) fn all_local(&self) -> Vec<Local> {
        self.locals().values().cloned().collect()
    }
    pub(crate) fn keep_local(&self, local: Local) {
        self.locals().insert(local.record.key.clone(), local);
    }
    /// Forgets the local session of `key` (held at `epoch`, if given) without stopping it.
    pub(crate) fn forget_local(&self, key: &str, epoch: Option<u64>) -> Option<Local> {
        let mut locals = self.locals();
        match locals.get(key) {
            Some(l) if epoch.is_none_or(|e| l.record.epoch == e) => locals.remove(key),
            _ => None,
        }
    }
    pub(crate) fn owned_keys(&self) -> Vec<FleetKey> {
        let mut keys: Vec<_> = self
            .locals()
            .keys()
            .filter_map(|k| FleetKey::new(k.clone()).ok())
            .collect();
        keys.sort();
        keys
    }
    pub(crate) fn emit(&self, event: FleetEvent) {
        let _ = self.events.send(event);
    }
    pub(crate) fn subscribe(&self) -> crate::BoxStream<'static, FleetEvent> {
        let rx = self.events.subscribe();
        Box::pin(futures::stream::unfold(rx, |mut rx| async move {
            loop {
                match rx.recv().await {
                    Ok(e) => return Some((e, rx)),
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        }))
    }
    pub(crate) fn is_ready(&self) -> Result<()> {
        if self.crashed.load(Ordering::SeqCst) {
            return Err(unavailable("the fleet stopped"));
        }
        if self.lease.acting() {
            return Ok(());
        }
        Err(unavailable(&format!(
            "the fleet store has not answered the heartbeat for {} ms",
            self.lease.since_renewal().as_millis()
        )))
    }
    pub(crate) fn crash(&self) {
        self.crashed.store(true, Ordering::SeqCst);
        self.draining.store(true, Ordering::SeqCst);
        let all: Vec<Local> = self.locals().drain().map(|(_, l)| l).collect();
        // Like a crash: nothing is stopped or released (the sessions never stop on drop).
        drop(all);
    }
    fn live(&self) -> Result<()> {
        if self.crashed.load(Ordering::SeqCst) {
            return Err(unavailable("the fleet stopped"));
        }
        Ok(())
    }

    /// The spec of a start: validated, with the derived name.
    fn spec(&self, s: StartSpec) -> Result<AgentSpec> {
        crate::validate::validate_channel(&s.channel)?;
        crate::validate::validate_account("agent_uid", &s.agent_uid)?;
        for uid in &s.remote_uids {
            crate::validate::validate_account("remote_uids", uid)?;
        }
        Ok(AgentSpec {
            name: agent_name(&self.prefix, &s.key),
            key: s.key,
            channel: s.channel,
            agent_uid: s.agent_uid,
            remote_uids: s.remote_uids,
        })
    }

    fn proposal(&self, spec: &AgentSpec) -> SessionRecord {
        let mut r = SessionRecord::new(spec.key.as_str(), &spec.name, &spec.channel);
        r.schema_version = SCHEMA_VERSION;
        r.owner = self.instance.clone();
        r.uid = spec.agent_uid.clone();
        r.remote_uids = spec.remote_uids.clone();
        r.status = SessionState::Starting;
        r.updated_ms = now_ms();
        r
    }

    /// A session for `spec` from the factory, with the fleet's settings.
    pub(crate) fn builder(&self, spec: &AgentSpec) -> Result<crate::SessionBuilder> {
        Ok((self.factory)(spec)?
            .name(spec.name.clone())
            .stop_on_drop(false)
            .renew_token_on_expiry(false))
    }

    /// Checks that a built session is for the spec's channel and uid.
    pub(crate) fn checked(spec: &AgentSpec, session: Session) -> Result<Session> {
        if session.channel() != spec.channel || session.agent_uid().as_str() != spec.agent_uid {
            return Err(Error::Config(
                "the fleet's session factory built a session for another channel or agent uid"
                    .into(),
            ));
        }
        Ok(session)
    }

    pub(crate) async fn start(&self, s: StartSpec) -> Result<FleetAgent> {
        self.live()?;
        if !self.lease.acting() {
            return Err(unavailable(
                "this process could not renew its lease in time",
            ));
        }
        let spec = self.spec(s)?;
        let key = spec.key.as_str().to_owned();
        let mut deadline = Instant::now() + JOIN_WAIT;
        let mut repaired = false;
        loop {
            let rec = match self.backend.claim(self.proposal(&spec)).await? {
                Claimed::Mine(rec) => match self.run_start(&spec, rec).await {
                    // The name is taken by an agent the session cannot place: the key's
                    // agent runs, held by a process that has not re-established its record
                    // yet (the store lost its data). It will, and then this joins it.
                    Err(Error::AgentUnresolved { .. }) if Instant::now() < deadline => {
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        continue;
                    }
                    other => return other,
                },
                Claimed::Existing(rec) => rec,
            };
            if let Some(difference) = difference(&spec, &rec) {
                return Err(Error::FleetConflict { key, difference });
            }
            if rec.agent_id.is_some() && rec.status == SessionState::Running {
                if self.still_runs(&rec).await? {
                    return self.agent_of(rec).await;
                }
                continue;
            }
            let orphaned = !rec.owner.is_empty()
                && rec.owner != self.instance
                && !self.backend.owner_alive(rec.owner.clone()).await?;
            if orphaned {
                self.take_over(&key, &rec.owner, OnOrphan::Adopt).await?;
                continue;
            }
            if Instant::now() >= deadline {
                // A claim of this process that no local start holds (its answer was lost
                // to a timeout): still `starting` after the wait, so it is stale; take it
                // over from ourselves (epoch + 1) and start under the same name.
                let stale = rec.owner == self.instance && self.local(&key).is_none();
                if !stale || repaired {
                    return Err(Error::timeout(
                        "the key's agent did not finish starting within 35 s",
                    ));
                }
                repaired = true;
                deadline = Instant::now() + JOIN_WAIT;
                self.take_over(&key, &self.instance, OnOrphan::Adopt)
                    .await?;
                continue;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Whether a running record's agent still runs. A record written in the last minute is
    /// trusted; an older one is checked with the service, since an agent can end without a
    /// notice reaching the fleet (no callback configured). One that ended is recorded as
    /// stopped (and its owner told), so the caller's next claim starts a new agent.
    async fn still_runs(&self, rec: &SessionRecord) -> Result<bool> {
        let Some(id) = rec.agent_id.clone() else {
            return Ok(true);
        };
        if now_ms().saturating_sub(rec.updated_ms) < 60_000 {
            return Ok(true);
        }
        let agents = self.client.agents().as_agent(&rec.channel, &rec.uid);
        let alive = match agents.get(&id).await {
            Ok(info) => {
                use crate::types::agents::AgentStatus;
                matches!(
                    info.body.status,
                    AgentStatus::Starting | AgentStatus::Running | AgentStatus::Recovering
                )
            }
            Err(e) if e.is_not_found() => false,
            // The service could not say: the record stands.
            Err(_) => return Ok(true),
        };
        if alive {
            return Ok(true);
        }
        self.backend
            .finish(rec.key.clone(), id.clone(), SessionState::Stopped)
            .await?;
        if !rec.owner.is_empty() {
            let entry = Entry::Stopped {
                key: rec.key.clone(),
                agent_id: id.clone(),
            };
            if rec.owner == self.instance
                || !self
                    .backend
                    .enqueue(rec.owner.clone(), entry.clone())
                    .await?
            {
                self.apply_entry(entry).await?;
            }
        }
        self.note(&rec.key, "ended", serde_json::json!({ "agent_id": id }))
            .await;
        Ok(false)
    }

    async fn agent_of(&self, rec: SessionRecord) -> Result<FleetAgent> {
        let events = match self.backend.get(rec.key.clone()).await? {
            Some((_, events)) => events,
            None => Vec::new(),
        };
        Ok(FleetAgent::of(rec, events))
    }

    /// Starts the agent of a record this process just claimed (or took over while it was
    /// starting): the derived name makes a second start join the running agent (409).
    pub(crate) async fn run_start(
        &self,
        spec: &AgentSpec,
        rec: SessionRecord,
    ) -> Result<FleetAgent> {
        let (key, epoch) = (rec.key.clone(), rec.epoch);
        let session = match self
            .builder(spec)
            .map(|b| b.build())
            .and_then(|s| Self::checked(spec, s))
        {
            Ok(s) => s,
            Err(e) => {
                let _ = self.backend.abort(key, self.instance.clone(), epoch).await;
                return Err(e);
            }
        };
        self.keep_local(Local {
            session: session.clone(),
            record: rec.clone(),
        });
        let id = match session.start().await {
            Ok(id) => id,
            Err(e) => {
                if session.may_have_agent() {
                    // An unclear start: stop what it may have created while the record is
                    // still held, so no later start of the key (same name) can be hit by it.
                    let _ = session.stop().await;
                }
                self.forget_local(&key, Some(epoch));
                let _ = self.backend.abort(key, self.instance.clone(), epoch).await;
                return Err(e);
            }
        };
        let mut rec = rec;
        rec.agent_id = Some(id.clone());
        rec.status = SessionState::Running;
        self.keep_local(Local {
            session,
            record: rec.clone(),
        });
        // A store that fails here is repaired by the next re-establishing pass, which
        // writes the local record; losing the record to a takeover is not.
        // The event is true whoever owns the key afterwards: recorded alongside the commit.
        let (committed, ()) = futures::join!(
            self.backend
                .commit(key.clone(), self.instance.clone(), epoch, id.clone()),
            self.note(
                &key,
                "started",
                serde_json::json!({ "agent_id": id, "owner": self.instance }),
            )
        );
        if let Ok(false) = committed {
            self.lost(&key, "").await;
            return Err(not_owner(
                &key,
                "another process took the key over during the start",
            ));
        }
        Ok(FleetAgent::of(rec, Vec::new()))
    }

    /// Adds a fleet event to the key's record (best effort: the store may be down).
    pub(crate) async fn note(&self, key: &str, kind: &str, detail: serde_json::Value) {
        let event = FleetEventRecord::new(kind, detail);
        if let Err(e) = self
            .backend
            .note_event(key.to_owned(), None, event, None)
            .await
        {
            tracing::debug!(error = %e, "fleet event not recorded");
        }
    }

    /// Another process holds `key`: the local session is dropped without stopping its agent.
    pub(crate) async fn lost(&self, key: &str, owner: &str) {
        if let Some(l) = self.forget_local(key, None) {
            l.session.hand_off();
            tracing::warn!(key = %key, owner = %crate::redact::escape(owner), "fleet: lost ownership of a session; it is no longer acted on here");
            self.emit(FleetEvent::OwnershipLost {
                key: key.to_owned(),
                owner: owner.to_owned(),
            });
        }
    }

    pub(crate) async fn get(&self, key: &FleetKey) -> Result<Option<FleetAgent>> {
        self.live()?;
        let found = self.backend.get(key.as_str().to_owned()).await?;
        Ok(found.map(|(rec, events)| FleetAgent::of(rec, events)))
    }

    /// Checks that this process may act on `key`'s agent now: lease fresh, then owner and
    /// epoch in the store (the last step before the request).
    pub(crate) async fn acting_on(&self, key: &str, local: &Local) -> Result<()> {
        if !self.lease.acting() {
            return Err(not_owner(
                key,
                "this process could not renew its lease in time (fenced)",
            ));
        }
        let ok = self
            .backend
            .check(key.to_owned(), self.instance.clone(), local.record.epoch)
            .await?;
        if !ok {
            self.lost(key, "").await;
            return Err(not_owner(key, "another process owns it now"));
        }
        Ok(())
    }

    pub(crate) async fn speak(
        &self,
        key: &FleetKey,
        text: &str,
        priority: Option<Priority>,
    ) -> Result<()> {
        self.live()?;
        let k = key.as_str();
        if let Some(local) = self.local(k) {
            self.acting_on(k, &local).await?;
            let mut say = local.session.say(text);
            if let Some(p) = priority {
                say = say.priority(p);
            }
            return say.send().await;
        }
        self.route_speak(k, text, priority).await
    }

    /// Sends a speak request to the owning process and waits for its answer.
    async fn route_speak(&self, key: &str, text: &str, priority: Option<Priority>) -> Result<()> {
        let deadline = Instant::now() + REPLY_WAIT;
        let owner = loop {
            let rec = self.backend.get(key.to_owned()).await?.map(|(r, _)| r);
            let rec = match rec {
                Some(r) if is_live(r.status) => r,
                other => {
                    let state = other.map_or(SessionState::Idle, |r| r.status);
                    return Err(Error::State {
                        operation: Operation::Say,
                        state,
                    });
                }
            };
            if !rec.owner.is_empty() && rec.owner != self.instance {
                break rec.owner;
            }
            if Instant::now() >= deadline {
                return Err(not_owner(key, "no process owns the agent now"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let nonce = format!("{:032x}", rand::random::<u128>());
        let entry = Entry::Speak {
            key: key.to_owned(),
            text: text.to_owned(),
            priority: priority.map(|p| p.as_str().to_owned()),
            nonce: nonce.clone(),
            at_ms: now_ms(),
        };
        if !self.backend.enqueue(owner, entry).await? {
            return Err(not_owner(key, "no process owns the agent now"));
        }
        while Instant::now() < deadline {
            if let Some(answer) = self
                .backend
                .take_reply(key.to_owned(), nonce.clone())
                .await?
            {
                return super::notices::reply_result(key, &answer);
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        Err(Error::timeout(
            "the owning process did not answer within 10 s",
        ))
    }
}

/// What differs between a start and the live agent of its key, if anything.
fn difference(spec: &AgentSpec, rec: &SessionRecord) -> Option<String> {
    if spec.agent_uid != rec.uid {
        return Some(format!("agent_uid ({}, asked {})", rec.uid, spec.agent_uid));
    }
    let (mut a, mut b) = (spec.remote_uids.clone(), rec.remote_uids.clone());
    a.sort();
    b.sort();
    if a != b {
        return Some(format!(
            "remote_uids ([{}], asked [{}])",
            b.join(", "),
            a.join(", ")
        ));
    }
    if spec.channel != rec.channel {
        return Some(format!("channel ({}, asked {})", rec.channel, spec.channel));
    }
    None
}

pub(crate) fn unavailable(reason: &str) -> Error {
    Error::FleetUnavailable {
        reason: reason.to_owned(),
    }
}

pub(crate) fn not_owner(key: &str, reason: &str) -> Error {
    Error::NotOwner {
        key: key.to_owned(),
        reason: reason.to_owned(),
    }
}
