//! Notification callbacks applied to the live sessions that own their agents.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

use crate::live::Fact;
use crate::webhooks::{Event, Notification};
use crate::Client;

/// How many applied notices are remembered; the service resends within minutes, so this
/// covers every resend of a busy receiver.
const REMEMBERED: usize = 16_384;

/// Notice keys already applied, bounded (oldest forgotten first).
#[derive(Default)]
pub(crate) struct AppliedNotices {
    inner: Mutex<(HashSet<String>, VecDeque<String>)>,
}

impl AppliedNotices {
    /// True the first time `key` is seen.
    fn first(&self, key: String) -> bool {
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let (set, order) = &mut *guard;
        if !set.insert(key.clone()) {
            return false;
        }
        order.push_back(key);
        if order.len() > REMEMBERED {
            if let Some(old) = order.pop_front() {
                set.remove(&old);
            }
        }
        true
    }
}

impl Client {
    /// Applies a verified notification callback to the live session of this client that
    /// runs its agent, exactly once: a resent or duplicated notice (same `noticeId`), an
    /// event for an agent no live session runs, or one that arrives after the session already
    /// learned the same thing (reordered deliveries) changes nothing. Returns true when a
    /// session took it.
    ///
    /// - agent left (`102`): the session becomes `stopped` (or `error` when the agent
    ///   failed), with a [`SessionEvent::AgentLeft`](crate::agentkit::SessionEvent::AgentLeft)
    ///   carrying the reason, and a `Stopped` event;
    /// - agent error (`110`): an [`AgentError`](crate::agentkit::SessionEvent::AgentError)
    ///   event; the agent still runs;
    /// - token expiring (`104`): a
    ///   [`TokenExpiring`](crate::agentkit::SessionEvent::TokenExpiring) event; a session
    ///   built with
    ///   [`renew_token_on_expiry`](crate::agentkit::SessionBuilder::renew_token_on_expiry)
    ///   that signs its own token then renews it in the background (a REST update with a
    ///   fresh token for the same channel, uid and lifetime) and reports
    ///   [`TokenRenewed`](crate::agentkit::SessionEvent::TokenRenewed) or
    ///   [`TokenRenewFailed`](crate::agentkit::SessionEvent::TokenRenewFailed);
    /// - agent joined (`101`): the session's agent is in its channel, which
    ///   [`Session::wait_ready`](crate::agentkit::Session::wait_ready) waits for (also when
    ///   it comes before the session's start returned). It changes no state, so the answer
    ///   for it is false.
    ///
    /// It never waits for the network, so it can be called inside the handler before
    /// answering the service; the renewal runs on a runtime the client owns, bounded by
    /// the client's timeouts, and never after the session stopped.
    ///
    /// Call it from the webhook handler after verifying the signature (see
    /// [`webhooks`](crate::webhooks)); events of other products are ignored.
    pub fn apply_notification(&self, notification: &Notification) -> bool {
        if !notification.is_convoai() {
            return false;
        }
        let (agent_id, fact) = match &notification.event {
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
                (left.agent_id.as_str(), fact)
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
                (e.agent_id.as_str(), Fact::Error { message })
            }
            Event::TokenExpiring(t) => (t.agent_id.as_str(), Fact::TokenExpiring),
            Event::AgentJoined(j) => {
                if self.applied().first(notification.dedupe_key()) {
                    let agent_id = j.agent_id.as_str();
                    self.sessions()
                        .note_joined(agent_id, j.name.as_deref(), &j.channel);
                }
                return false;
            }
            _ => return false,
        };
        if !self.applied().first(notification.dedupe_key()) {
            return false;
        }
        self.deliver_fact(agent_id, &fact)
    }
}
