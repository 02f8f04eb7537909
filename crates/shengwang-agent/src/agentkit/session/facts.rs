//! What the service reported about an agent (notification callbacks), as facts a session
//! applies through its state table.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use super::registry::LiveSession;
use super::table::{Answer, Input};
use super::{renew, Inner, LiveInfo, Session, SessionState};
use crate::agentkit::SessionEvent;
use crate::webhooks::{Event, Notification};
use crate::{Error, Result};

/// Something the service said about an agent outside a session's own calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fact {
    /// The agent left the channel (or was stopped by someone else).
    Left {
        /// Why, as the service put it.
        reason: String,
    },
    /// The agent failed.
    Failed {
        /// What the service said.
        message: String,
    },
    /// A module of the running agent (LLM, TTS, …) reported an error; it still runs.
    Error {
        /// What the service said.
        message: String,
    },
    /// The agent's channel token is about to expire; it still runs.
    TokenExpiring,
}

impl Fact {
    /// The table's input for this fact.
    fn input(&self) -> Input {
        match self {
            Fact::Left { .. } => Input::AgentLeft,
            Fact::Failed { .. } => Input::AgentFailed,
            Fact::Error { .. } => Input::AgentError,
            Fact::TokenExpiring => Input::TokenExpiring,
        }
    }

    /// The agent a ConvoAI notice is about and the fact it reports; `None` for notices that
    /// report none (agent joined, other products' events).
    pub(crate) fn of(notification: &Notification) -> Option<(&str, Fact)> {
        match &notification.event {
            Event::AgentLeft(left) => {
                let reason = left.reason();
                let message = if left.message.is_empty() {
                    format!("{reason:?}")
                } else {
                    crate::redact::sanitize(&left.message)
                };
                let fact = if reason.is_failure() {
                    Fact::Failed { message }
                } else {
                    Fact::Left { reason: message }
                };
                Some((left.agent_id.as_str(), fact))
            }
            Event::AgentError(e) => {
                let message = e
                    .errors
                    .iter()
                    .map(|m| match m.code {
                        Some(code) => format!("{}: {} ({code})", m.module.as_str(), m.message),
                        None => format!("{}: {}", m.module.as_str(), m.message),
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                let message = crate::redact::sanitize(&message);
                Some((e.agent_id.as_str(), Fact::Error { message }))
            }
            Event::TokenExpiring(t) => Some((t.agent_id.as_str(), Fact::TokenExpiring)),
            _ => None,
        }
    }
}

impl LiveSession for Inner {
    fn live_agent_id(&self) -> Option<String> {
        self.core().live.as_ref().and_then(|l| l.id.clone())
    }
    fn may_have_agent(&self) -> bool {
        self.core().live.is_some()
    }
    fn session_name(&self) -> &str {
        &self.cfg.name
    }
    fn session_channel(&self) -> &str {
        &self.cfg.b.channel
    }
    fn session_record(&self) -> Option<super::SessionRecord> {
        self.to_record(&self.core())
    }
    fn live_info(&self) -> LiveInfo {
        let core = self.core();
        LiveInfo {
            name: self.cfg.name.clone(),
            channel: self.cfg.b.channel.clone(),
            agent_id: core.agent_id.clone(),
            state: core.state,
            may_have_agent: core.live.is_some(),
        }
    }
    fn stop_live(self: Arc<Self>) -> Pin<Box<dyn Future<Output = Result<()>> + Send>> {
        let session = Session { inner: self };
        Box::pin(async move {
            loop {
                match session.stop().await {
                    Ok(()) => return Ok(()),
                    // Another call is starting or stopping it: wait for it to settle.
                    Err(Error::State {
                        state: SessionState::Starting | SessionState::Stopping,
                        ..
                    }) => tokio::time::sleep(Duration::from_millis(20)).await,
                    Err(Error::State { .. }) if !session.inner.may_have_agent() => return Ok(()),
                    Err(e) => return Err(e),
                }
            }
        })
    }
    fn measure_ready(&self, agent_id: &str) {
        let Some(started) = self.core().started_at else {
            return;
        };
        if self.hub().registry().first_measure(self.key, agent_id) {
            let telemetry = self.hub().telemetry();
            telemetry.session_ready(started.elapsed(), Ok(()));
        }
    }
    fn take_fact(self: Arc<Self>, agent_id: &str, fact: &Fact) -> bool {
        let mut core = self.core();
        let ours = core.live.as_ref().and_then(|l| l.id.as_deref()) == Some(agent_id);
        if !ours {
            return false;
        }
        let reason = match fact {
            Fact::Left { reason } => reason.clone(),
            Fact::Failed { message } => message.clone(),
            Fact::Error { message } => {
                if self.apply(&mut core, fact.input()) == Answer::Ignore {
                    return false;
                }
                self.events.emit(SessionEvent::AgentError {
                    agent_id: agent_id.to_owned(),
                    message: message.clone(),
                });
                return true;
            }
            Fact::TokenExpiring => return self.token_expiring(core, agent_id),
        };
        self.agent_gone(core, agent_id, fact.input(), reason)
    }
}

impl Inner {
    /// The service reports the agent `FAILED` (a status read): the same move and events as
    /// a failure notice, when the agent is the one the session may have running.
    pub(super) fn failed(&self, agent_id: &str, message: &str) -> bool {
        let core = self.core();
        if core.live.as_ref().and_then(|l| l.id.as_deref()) != Some(agent_id) {
            return false;
        }
        let message = crate::redact::sanitize(message);
        self.agent_gone(core, agent_id, Input::AgentFailed, message)
    }

    /// The agent left or failed (`input`): the session no longer has one. The table decides
    /// whether the report applies; if not, nothing changes.
    fn agent_gone(
        &self,
        mut core: std::sync::MutexGuard<'_, super::Core>,
        agent_id: &str,
        input: Input,
        reason: String,
    ) -> bool {
        let live = core.live.take();
        let to = match self.apply(&mut core, input) {
            Answer::Enter(to) => to,
            _ => {
                core.live = live;
                return false;
            }
        };
        self.record(&core);
        self.events.emit(SessionEvent::AgentLeft {
            agent_id: agent_id.to_owned(),
            reason,
        });
        if to == SessionState::Stopped {
            self.events.emit(SessionEvent::Stopped {
                agent_id: agent_id.to_owned(),
            });
        }
        true
    }

    /// The service reports the agent `RECOVERING` (a status read): its event, when the agent
    /// is this session's and the table takes the report.
    pub(super) fn recovering(&self, agent_id: &str) {
        let mut core = self.core();
        if core.agent_id.as_deref() != Some(agent_id)
            || self.apply(&mut core, Input::AgentRecovering) == Answer::Ignore
        {
            return;
        }
        self.events.emit(SessionEvent::AgentRecovering {
            agent_id: agent_id.to_owned(),
        });
    }

    /// A token-expiry fact about the session's agent: its event, and a renewal when the
    /// session signs its own token and opted in.
    fn token_expiring(
        self: &Arc<Self>,
        mut core: std::sync::MutexGuard<'_, super::Core>,
        agent_id: &str,
    ) -> bool {
        if self.apply(&mut core, Input::TokenExpiring) == Answer::Ignore {
            return false;
        }
        let renew = self.cfg.b.renew_token_on_expiry
            && self.cfg.b.token.is_none()
            && core.state == SessionState::Running;
        self.events.emit(SessionEvent::TokenExpiring {
            agent_id: agent_id.to_owned(),
            renewing: renew,
        });
        // A renewal under way already gives the agent a token as fresh as this notice asks
        // for.
        if renew && !core.renewing {
            core.renewing = true;
            drop(core);
            renew::spawn(self, agent_id);
        }
        true
    }
}
