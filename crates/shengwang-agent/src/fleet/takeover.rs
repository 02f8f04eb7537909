//! Ownership changes: a user's stop from any process, takeover (adopt or stop the agent of a
//! dead or draining process), re-establishing records after the store lost them, and drain.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::backend::Reestablished;
use super::engine::{Engine, Local};
use super::key::FleetKey;
use super::record::is_live;
use super::types::{AgentSpec, Drain, DrainReport, FleetAgent, FleetEvent, OnOrphan};
use crate::agentkit::session::{SessionRecord, SessionState};
use crate::{Error, Result};

impl Engine {
    /// A user's stop: allowed from any process, and while fenced.
    pub(crate) async fn stop(&self, key: &FleetKey) -> Result<Option<FleetAgent>> {
        let k = key.as_str().to_owned();
        let found = match self.backend.get(k.clone()).await {
            Ok(found) => found,
            // The store is down: the agents held here can still be stopped.
            Err(e) => return self.stop_local_only(&k, e).await,
        };
        let Some((mut rec, events)) = found.filter(|(r, _)| is_live(r.status)) else {
            return Ok(None);
        };
        let rec_id = match rec.agent_id.clone() {
            Some(id) => id,
            None => match self.wait_agent_id(&k).await? {
                Some(r) => {
                    rec = r;
                    rec.agent_id.clone().unwrap_or_default()
                }
                None => return Ok(None),
            },
        };
        match self.local(&k) {
            Some(l) if l.session.id().as_deref() == Some(rec_id.as_str()) => {
                l.session.stop().await?;
                self.forget_local(&k, None);
            }
            _ => {
                self.client.stop_agent(&rec_id).await?;
                if !rec.owner.is_empty() && rec.owner != self.instance {
                    let entry = super::backend::Entry::Stopped {
                        key: k.clone(),
                        agent_id: rec_id.clone(),
                    };
                    let _ = self.backend.enqueue(rec.owner.clone(), entry).await;
                }
            }
        }
        // Three independent writes (two hash slots): one round trip.
        let (finished, disowned, ()) = futures::join!(
            self.backend
                .finish(k.clone(), rec_id.clone(), SessionState::Stopped),
            self.backend.disown(k.clone(), self.instance.clone()),
            self.note(
                &k,
                "stopped",
                serde_json::json!({ "agent_id": rec_id, "by": self.instance }),
            )
        );
        finished?;
        disowned?;
        rec.status = SessionState::Stopped;
        Ok(Some(FleetAgent::of(rec, events)))
    }

    async fn stop_local_only(&self, key: &str, e: Error) -> Result<Option<FleetAgent>> {
        let Some(l) = self.local(key) else {
            return Err(e);
        };
        l.session.stop().await?;
        self.forget_local(key, None);
        let mut rec = l.record;
        rec.status = SessionState::Stopped;
        Ok(Some(FleetAgent::of(rec, Vec::new())))
    }

    /// Waits until a starting record has its agent id; `None` when it ended without one.
    async fn wait_agent_id(&self, key: &str) -> Result<Option<SessionRecord>> {
        let deadline = tokio::time::Instant::now() + super::engine::JOIN_WAIT;
        while tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
            match self.backend.get(key.to_owned()).await?.map(|(r, _)| r) {
                Some(r) if r.agent_id.is_some() => return Ok(Some(r)),
                Some(r) if is_live(r.status) => continue,
                _ => return Ok(None),
            }
        }
        Err(Error::timeout(
            "the key's agent did not finish starting within 35 s",
        ))
    }

    /// Takes `key` over from `from` (a dead process, or "" for a released key) and adopts or
    /// stops its agent by `policy`. Nothing happens when another process was faster.
    pub(crate) async fn take_over(&self, key: &str, from: &str, policy: OnOrphan) -> Result<()> {
        let me = self.instance.clone();
        // A session its owner released for handover is adopted whatever the orphan policy
        // (the reaper may reach it before the released list does).
        let released = match self.backend.get(key.to_owned()).await? {
            Some((r, _)) => r.owner.is_empty(),
            None => return Ok(()),
        };
        let (from, policy) = if released {
            ("", OnOrphan::Adopt)
        } else {
            (from, policy)
        };
        let Some(rec) = self
            .backend
            .takeover(key.to_owned(), from.to_owned(), me)
            .await?
        else {
            return Ok(());
        };
        tracing::info!(key = %key, from = %crate::redact::escape(from), epoch = rec.epoch, "fleet: took a session over");
        self.emit(FleetEvent::TakenOver {
            key: key.to_owned(),
            from: from.to_owned(),
            epoch: rec.epoch,
        });
        self.note(
            key,
            "taken_over",
            serde_json::json!({ "from": from, "owner": self.instance, "epoch": rec.epoch }),
        )
        .await;
        if from != self.instance {
            // (A key of this name's earlier incarnation stays in this process's set.)
            let _ = self.backend.disown(key.to_owned(), from.to_owned()).await;
        }
        let outcome = match policy {
            OnOrphan::Adopt => self.adopt(rec).await,
            OnOrphan::Stop => match self.stop_orphan(rec.clone()).await {
                Ok(()) => Ok("stopped"),
                Err(e) => {
                    // Held rather than orphaned: a later stop (any process) can end it.
                    tracing::warn!(key = %key, error = %e, "fleet: stopping a taken-over agent failed; holding it instead");
                    self.adopt(rec).await
                }
            },
        };
        let reason = if from.is_empty() {
            "handover"
        } else {
            "lease_lapsed"
        };
        crate::telemetry::fleet_takeover(
            &self.client,
            reason,
            outcome.as_ref().map_or("other", |o| o),
        );
        outcome.map(|_| ())
    }

    /// Holds the agent of a taken-over record: a checked resume; a record that was still
    /// starting is started again under its name (the service's 409 makes it the same agent).
    async fn adopt(&self, rec: SessionRecord) -> Result<&'static str> {
        let spec = AgentSpec::of_record(&rec)?;
        let Some(id) = rec.agent_id.clone() else {
            return self.run_start(&spec, rec).await.map(|_| "adopted");
        };
        let session = match self.builder(&spec)?.resume(id.clone()).await {
            Ok(s) => Engine::checked(&spec, s)?,
            Err(Error::NotResumable { .. }) => {
                self.backend
                    .finish(rec.key.clone(), id.clone(), SessionState::Stopped)
                    .await?;
                self.note(&rec.key, "ended", serde_json::json!({ "agent_id": id }))
                    .await;
                self.emit(FleetEvent::OrphanStopped {
                    key: rec.key.clone(),
                    agent_id: Some(id),
                });
                return Ok("gone");
            }
            // The service could not say: the record says it runs, and it is ours now.
            Err(_) => Engine::checked(&spec, self.builder(&spec)?.resume_unchecked(id.clone()))?,
        };
        let key = rec.key.clone();
        self.keep_local(Local {
            session,
            record: rec,
        });
        self.note(
            &key,
            "adopted",
            serde_json::json!({ "agent_id": id, "owner": self.instance }),
        )
        .await;
        self.emit(FleetEvent::Adopted { key, agent_id: id });
        Ok("adopted")
    }

    /// Stops the agent of a taken-over record (policy [`OnOrphan::Stop`]).
    async fn stop_orphan(&self, rec: SessionRecord) -> Result<()> {
        let key = rec.key.clone();
        let id = match rec.agent_id.clone() {
            Some(id) => {
                self.client.stop_agent(&id).await?;
                id
            }
            None => {
                // Still starting when its owner died: find the agent by its name and stop it.
                let spec = AgentSpec::of_record(&rec)?;
                let session = Engine::checked(&spec, self.builder(&spec)?.build())?;
                let id = session.start().await?;
                session.stop().await?;
                let _ = self
                    .backend
                    .commit(key.clone(), self.instance.clone(), rec.epoch, id.clone())
                    .await;
                id
            }
        };
        self.backend
            .finish(key.clone(), id.clone(), SessionState::Stopped)
            .await?;
        let _ = self
            .backend
            .disown(key.clone(), self.instance.clone())
            .await;
        self.note(
            &key,
            "orphan_stopped",
            serde_json::json!({ "agent_id": id, "by": self.instance }),
        )
        .await;
        self.emit(FleetEvent::OrphanStopped {
            key,
            agent_id: Some(id),
        });
        Ok(())
    }

    /// After the store answered again (or lost this process's heartbeat): checks every held
    /// session's record, writing it again when the store lost it.
    /// False when some record is contested (a start elsewhere is under way): the caller
    /// asks again soon.
    pub(crate) async fn reestablish_all(&self) -> Result<bool> {
        let (mut kept, mut lost, mut settled) = (0, 0, true);
        for l in self.all_local() {
            let mut record = l.record.clone();
            record.status = l.session.status();
            record.agent_id = l.session.id().or(record.agent_id);
            if !is_live(record.status) {
                self.forget_local(&record.key, Some(record.epoch));
                continue;
            }
            match self.backend.reestablish(record.clone()).await? {
                Reestablished::Kept => kept += 1,
                Reestablished::Recreated { epoch } => {
                    kept += 1;
                    if epoch != record.epoch {
                        let mut l = l.clone();
                        l.record.epoch = epoch;
                        self.keep_local(l);
                    }
                }
                Reestablished::Contested => settled = false,
                Reestablished::Lost { owner } => {
                    lost += 1;
                    self.lost(&record.key, &owner).await;
                }
            }
        }
        self.emit(FleetEvent::Reestablished { kept, lost });
        Ok(settled)
    }

    /// Hands over or stops every session held here.
    pub(crate) async fn drain(&self, mode: Drain) -> DrainReport {
        self.draining.store(true, Ordering::SeqCst);
        let mut report = DrainReport::default();
        for l in self.all_local() {
            let key = l.record.key.clone();
            let done = match mode {
                Drain::Handover => self.hand_over(&l).await,
                Drain::Stop => self.stop_held(&l).await,
            };
            match (done, mode) {
                (Ok(()), Drain::Handover) => report.handed_over.push(key),
                (Ok(()), Drain::Stop) => report.stopped.push(key),
                (Err(e), _) => {
                    tracing::warn!(key = %key, error = %e, "fleet: drain could not hand over or stop a session");
                    report.failed.push(key);
                }
            }
        }
        report
    }

    async fn hand_over(&self, l: &Local) -> Result<()> {
        let key = l.record.key.clone();
        let released = self
            .backend
            .release(key.clone(), self.instance.clone(), l.record.epoch)
            .await?;
        // Whether released or already taken: another process owns the agent from now on.
        l.session.hand_off();
        self.forget_local(&key, Some(l.record.epoch));
        if !released {
            return Err(super::engine::not_owner(
                &key,
                "another process owns it now",
            ));
        }
        self.backend.announce_release(key.clone()).await?;
        self.note(
            &key,
            "handed_over",
            serde_json::json!({ "from": self.instance }),
        )
        .await;
        self.emit(FleetEvent::HandedOver { key });
        Ok(())
    }

    async fn stop_held(&self, l: &Local) -> Result<()> {
        let key = l.record.key.clone();
        // A shutdown is not a user's stop: a fenced or superseded process leaves the agent.
        self.acting_on(&key, l).await?;
        l.session.stop().await?;
        self.forget_local(&key, None);
        if let Some(id) = l.session.id() {
            let _ = self
                .backend
                .finish(key.clone(), id, SessionState::Stopped)
                .await;
        }
        let _ = self.backend.disown(key, self.instance.clone()).await;
        Ok(())
    }

    /// Leaves the fleet: the heartbeat goes, and entries left in this process's inbox are
    /// passed on to the current owners.
    pub(crate) async fn retire(&self) {
        if self.crashed.load(Ordering::SeqCst) {
            return;
        }
        self.draining.store(true, Ordering::SeqCst);
        if let Err(e) = self.backend.retire(self.instance.clone()).await {
            tracing::warn!(error = %e, "fleet: could not leave the fleet cleanly");
        }
        if let Err(e) = self.recover_inbox(&self.instance).await {
            tracing::warn!(error = %e, "fleet: could not pass on the inbox");
        }
    }
}
