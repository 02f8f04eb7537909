//! A session's lifecycle: start (with adoption of an agent an unclear start created), stop
//! (finding it first when its id is unknown), the guard that settles a cancelled start or
//! stop, and the stop of a dropped session's agent.

use std::time::Duration;

use super::table::Input;
use super::{settle_deadline, Core, Inner, Live, Session, SessionState};
use crate::agentkit::resolve::{self, unix_now};
use crate::agentkit::{Operation, SessionEvent, TokenSource};
use crate::api::Agents;
use crate::identity::Identity;
use crate::telemetry::{Orphan, StartOutcome};
use crate::types::agents::*;
use crate::{Error, Result};

/// How long the stop of a dropped session's agent keeps retrying.
const DROP_STOP_PATIENCE: Duration = Duration::from_secs(30);

impl Drop for Inner {
    fn drop(&mut self) {
        let registry = self.cfg.b.client.sessions().registry().clone();
        registry.remove(self.key);
        let core = self.core.get_mut().unwrap_or_else(|p| p.into_inner());
        // The session's state ends with it (a revived one enters it again).
        let telemetry = self.cfg.b.client.sessions().telemetry();
        telemetry.session_state(Some(core.state), None);
        let Some(live) = core.live.clone() else {
            return;
        };
        if self.handed_off.load(std::sync::atomic::Ordering::Acquire) {
            return;
        }
        // An agent whose id the user never saw cannot be stopped by them: always clean it.
        let stop = self.cfg.b.stop_on_drop || live.id.is_none();
        if core.revived || !stop {
            let why = if core.revived {
                "stopping a dropped session's agent failed"
            } else {
                "session dropped while its agent runs (stop_on_drop is off)"
            };
            self.warn_left_running(&live, why);
            return;
        }
        let revived = Core {
            state: core.state,
            agent_id: core.agent_id.clone(),
            live: Some(live.clone()),
            revived: true,
            settle_until: core.settle_until,
            renewing: false,
            started_at: None,
        };
        let session = Session::from_parts(self.cfg.clone(), revived);
        let queued = registry.spawn_cleanup(async move {
            // Nobody is left to retry: keep at it for a while, unless retrying cannot help.
            let mut pause = Duration::from_millis(50);
            let give_up = tokio::time::Instant::now() + DROP_STOP_PATIENCE;
            loop {
                match session.stop().await {
                    Ok(()) => return,
                    // Stopped meanwhile by someone else (a shutdown): nothing left to do.
                    Err(_) if !session.may_have_agent() => return,
                    Err(e @ Error::AgentUnresolved { .. }) => {
                        tracing::warn!(name = %session.name(), channel = %session.channel(), error = %e, "stop on drop failed");
                        return;
                    }
                    Err(e) if tokio::time::Instant::now() + pause > give_up => {
                        tracing::warn!(name = %session.name(), channel = %session.channel(), error = %e, "stop on drop failed");
                        return;
                    }
                    Err(_) => {
                        tokio::time::sleep(pause).await;
                        pause = (pause * 2).min(Duration::from_secs(2));
                    }
                }
            }
        });
        if !queued {
            self.warn_left_running(&live, "session dropped and no runtime to stop its agent on");
        }
    }
}

/// Puts a session whose start or stop was cancelled (its future dropped) into `error`, with
/// its event, so it is never stuck in `starting`/`stopping`. What the session may have
/// running stays recorded, so the next stop, start or drop resolves it.
struct InFlight<'a> {
    inner: &'a Inner,
    armed: bool,
    /// For a start: when it began (`convoai.session.start.duration`, outcome `cancelled`).
    start_began: Option<tokio::time::Instant>,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let mut core = self.inner.core();
        if matches!(core.state, SessionState::Starting | SessionState::Stopping) {
            tracing::warn!(name = %self.inner.cfg.name, state = %core.state, "session operation cancelled; session set to error");
            if core.live.as_ref().is_some_and(|l| l.id.is_none()) {
                core.settle_until = settle_deadline();
            }
            self.inner.apply(&mut core, Input::Cancelled);
        }
        drop(core);
        if let Some(began) = self.start_began {
            self.inner
                .hub()
                .telemetry()
                .session_start(began.elapsed(), StartOutcome::Cancelled);
        }
    }
}

impl Session {
    pub(super) fn agents(&self) -> Agents<'_> {
        let b = &self.inner.cfg.b;
        b.client.agents().as_agent(&b.channel, b.agent_uid.as_str())
    }

    /// Whom this session's header tokens are signed for.
    fn header_identity(&self) -> Identity {
        let b = &self.inner.cfg.b;
        Identity::session(&b.channel, b.agent_uid.as_str())
    }

    /// The join token this session signed is for its channel and agent uid, the identity of
    /// its header token too: the header reuses it, so a session signs one token, not two.
    fn adopt_join_token(&self, request: &StartAgentRequest, signed_at: u64) {
        let b = &self.inner.cfg.b;
        let header = self.header_identity();
        if b.token.is_some() || header != Identity::participant(&b.channel, b.agent_uid.as_str()) {
            return;
        }
        if let Ok(lifetime) = crate::token::expires_in(b.expires_in) {
            b.client
                .adopt_header_token(&header, &request.properties.token, signed_at, lifetime);
        }
    }

    fn others(&self) -> Vec<String> {
        self.client()
            .sessions()
            .registry()
            .ids_except(self.inner.key)
    }

    pub(super) fn failed(&self, op: Operation, e: &Error) {
        self.inner.events.emit(SessionEvent::Error {
            operation: op,
            message: e.to_string(),
        });
    }

    /// Starts (or restarts) the agent; returns its id. Exactly one of several concurrent
    /// starts is sent; the others get [`Error::State`].
    ///
    /// A restart first settles what the previous run left: an agent whose stop failed is
    /// stopped, an agent of an unclear start is adopted if it is proven to be this session's
    /// (else [`Error::AgentUnresolved`] names the candidates).
    pub async fn start(&self) -> Result<String> {
        let span = self.span(Operation::Start.as_str());
        let result = super::traced(span.clone(), self.run_traced_start()).await;
        if let Ok(id) = &result {
            span.record(
                "convoai.agent_id",
                tracing::field::display(crate::redact::escape(id)),
            );
        }
        result
    }

    /// [`start`](Self::start) inside its span.
    async fn run_traced_start(&self) -> Result<String> {
        // The avatar/TTS check refuses before anything changes, like the Python SDK.
        self.inner.cfg.b.agent.check()?;
        let began = tokio::time::Instant::now();
        let (previous, fresh) = {
            let mut core = self.inner.core();
            self.inner.ask(&mut core, Operation::Start)?;
            core.started_at = Some(began);
            // Reads never reach the previous run's agent, unless it still runs (its stop
            // failed): until it is stopped it stays this session's agent.
            core.agent_id = core.live.as_ref().and_then(|l| l.id.clone());
            let fresh = core.live.is_none();
            let live = core.live.get_or_insert(Live {
                id: None,
                since: unix_now(),
            });
            (live.clone(), fresh)
        };
        let mut guard = InFlight {
            inner: &self.inner,
            armed: true,
            start_began: Some(began),
        };
        let result = self.run_start(previous).await;
        guard.armed = false;
        let telemetry = self.inner.hub().telemetry();
        let outcome = match &result {
            Ok(_) => StartOutcome::Ok,
            Err(_) => StartOutcome::Error,
        };
        telemetry.session_start(began.elapsed(), outcome);
        let mut core = self.inner.core();
        match result {
            Ok(id) => {
                core.agent_id = Some(id.clone());
                let since = core.live.as_ref().map_or_else(unix_now, |l| l.since);
                core.live = Some(Live {
                    id: Some(id.clone()),
                    since,
                });
                self.inner
                    .apply(&mut core, Input::Succeeded(Operation::Start));
                self.inner.events.emit(SessionEvent::Started {
                    agent_id: id.clone(),
                });
                Ok(id)
            }
            Err(e) => {
                if fresh && resolve::nothing_created(&e) {
                    core.live = None;
                } else if e.status().is_none() {
                    // No answer at all: the request may still be on its way.
                    core.settle_until = settle_deadline();
                }
                if let Some(live) = &core.live {
                    self.inner.warn_left_running(live, "start failed unclearly");
                }
                self.inner.apply(&mut core, Input::Failed(Operation::Start));
                self.failed(Operation::Start, &e);
                Err(e)
            }
        }
    }

    async fn run_start(&self, previous: Live) -> Result<String> {
        let mut since = previous.since;
        if let Some(id) = &previous.id {
            // A run whose stop failed: stop it before starting the next.
            self.client().stop_agent(id).await?;
            since = unix_now();
            let mut core = self.inner.core();
            core.live = Some(Live { id: None, since });
            core.agent_id = None;
        }
        let signed_at = unix_now();
        let request = self.start_request()?;
        self.adopt_join_token(&request, signed_at);
        match self.agents().start(&request).await {
            Ok(created) => Ok(created.into_inner().agent_id),
            // The name is taken: an earlier attempt of this session created the agent.
            Err(e) if resolve::is_name_conflict(&e) => {
                let adopted = resolve::adopt(
                    &self.agents(),
                    self.name(),
                    self.channel(),
                    since,
                    &self.others(),
                )
                .await;
                self.count_orphan(&adopted, Orphan::Adopted);
                adopted
            }
            Err(e) => Err(e),
        }
    }

    /// The join request [`start`](Self::start) would send now, with a freshly signed token
    /// (or the one given to the builder). Sends nothing: for dry runs and for showing a
    /// configuration (its `Debug` redacts the token and vendor keys).
    pub fn start_request(&self) -> Result<StartAgentRequest> {
        let b = &self.inner.cfg.b;
        let source = match &b.token {
            Some(t) => TokenSource::Given(t.clone()),
            None => TokenSource::Sign {
                builder: b.client.signer().clone(),
                expires_in: b.expires_in,
            },
        };
        let mut properties =
            b.agent
                .to_properties(&b.channel, &b.agent_uid, &b.remote_uids, &source)?;
        properties.idle_timeout = b.idle_timeout;
        properties.enable_string_uid = b.enable_string_uid;
        if !b.labels.is_empty() {
            properties.labels = Some(self.labels());
        }
        Ok(b.agent
            .to_start_request(self.inner.cfg.name.clone(), properties))
    }

    /// Stops the agent. An agent the service no longer knows (404) counts as stopped. After
    /// a failed or cancelled start, `stop` finds the agent the start may have created and
    /// stops it. After a failed stop the session is in `error` and `stop` can be called
    /// again.
    pub async fn stop(&self) -> Result<()> {
        super::traced(self.span(Operation::Stop.as_str()), self.run_traced_stop()).await
    }

    /// Counts an agent a session had to find: `found` (adopted or, on the stop path,
    /// stopped), or unresolved when the session could not tell which agent is its own.
    fn count_orphan<T>(&self, result: &Result<T>, found: Orphan) {
        let outcome = match result {
            Ok(_) => found,
            Err(Error::AgentUnresolved { .. }) => Orphan::Unresolved,
            Err(_) => return,
        };
        self.inner.hub().telemetry().orphan(outcome);
    }

    /// [`stop`](Self::stop) inside its span.
    async fn run_traced_stop(&self) -> Result<()> {
        let live = {
            let mut core = self.inner.core();
            self.inner.ask(&mut core, Operation::Stop)?;
            core.live.clone()
        };
        let mut guard = InFlight {
            inner: &self.inner,
            armed: true,
            start_began: None,
        };
        let result = match live {
            Some(live) => self.run_stop(live).await,
            None => Ok(None),
        };
        guard.armed = false;
        let mut core = self.inner.core();
        match result {
            Ok(stopped) => {
                core.live = None;
                self.inner
                    .apply(&mut core, Input::Succeeded(Operation::Stop));
                self.client().forget_header_token(&self.header_identity());
                if let Some(id) = stopped {
                    self.inner
                        .events
                        .emit(SessionEvent::Stopped { agent_id: id });
                }
                Ok(())
            }
            Err(e) => {
                if let Some(live) = &core.live {
                    self.inner.warn_left_running(live, "stop failed");
                }
                self.inner.apply(&mut core, Input::Failed(Operation::Stop));
                self.failed(Operation::Stop, &e);
                Err(e)
            }
        }
    }

    /// Stops `live`, finding it first when its id is unknown; the id stopped, if any.
    async fn run_stop(&self, live: Live) -> Result<Option<String>> {
        let id = match live.id {
            Some(id) => id,
            None => match self.find_own(live.since).await? {
                Some((id, adopted)) => {
                    if let Some(l) = self.inner.core().live.as_mut() {
                        l.id = Some(id.clone());
                    }
                    let stopped = self.client().stop_agent(&id).await;
                    if adopted {
                        self.count_orphan(&stopped, Orphan::Stopped);
                    }
                    stopped?;
                    return Ok(Some(id));
                }
                None => return Ok(None),
            },
        };
        self.client().stop_agent(&id).await?;
        Ok(Some(id))
    }

    /// The session's own agent, when its id is unknown: `None` when no alive agent in the
    /// channel can be it. Otherwise the service is asked whether the name is taken, with the
    /// session's own join: a 409 proves the agent runs, a success means it did not (and the
    /// caller stops the new one at once). The name is unique, so there is never a second.
    /// The id comes with `true` when it was found after a 409 (an orphan), `false` when the
    /// join created it just now.
    async fn find_own(&self, since: u64) -> Result<Option<(String, bool)>> {
        let agents = self.agents();
        let others = self.others();
        let mut found = resolve::candidates(&agents, self.channel(), since, &others).await?;
        let settle = self.inner.core().settle_until;
        if found.is_empty() {
            if let Some(until) = settle.filter(|u| *u > tokio::time::Instant::now()) {
                // A start that got no answer may still be carried out: look again after.
                tokio::time::sleep_until(until).await;
                found = resolve::candidates(&agents, self.channel(), since, &others).await?;
            }
        }
        if found.is_empty() {
            return Ok(None);
        }
        let signed_at = unix_now();
        let request = self.start_request()?;
        self.adopt_join_token(&request, signed_at);
        match agents.start(&request).await {
            Ok(created) => Ok(Some((created.into_inner().agent_id, false))),
            Err(e) if resolve::is_name_conflict(&e) => {
                let found =
                    resolve::adopt(&agents, self.name(), self.channel(), since, &others).await;
                if found.is_err() {
                    self.count_orphan(&found, Orphan::Stopped);
                }
                found.map(|id| Some((id, true)))
            }
            Err(e) => Err(e),
        }
    }
}
