//! Token renewal: signing the agent's next channel token the way its start does, and the
//! background renewal a token-expiry notice starts for sessions that opted in.

use std::sync::{Arc, Weak};
use std::time::Duration;

use super::{Inner, Session};
use crate::agentkit::{Operation, SessionEvent};
use crate::identity::{sign_channel_token, Identity, SignedToken};
use crate::types::agents::UpdateAgentRequest;
use crate::{Error, Result};

/// Clears the session's "renewing" mark however the renewal ends (also when its runtime
/// shuts down and drops it), so a later notice can start the next one.
struct Renewing(Weak<Inner>);

impl Drop for Renewing {
    fn drop(&mut self) {
        if let Some(inner) = self.0.upgrade() {
            inner.core().renewing = false;
        }
    }
}

/// Starts the renewal of `inner`'s token for `agent_id` on the client's cleanup runtime;
/// the caller has set `renewing`. Never waits.
pub(super) fn spawn(inner: &Arc<Inner>, agent_id: &str) {
    let weak = Arc::downgrade(inner);
    let guard = Renewing(weak.clone());
    let id = agent_id.to_owned();
    let registry = inner.cfg.b.client.sessions().registry().clone();
    let queued = registry.spawn_cleanup(async move {
        let _guard = guard;
        // A session dropped meanwhile has nobody left to renew for.
        let Some(inner) = weak.upgrade() else { return };
        Session { inner }.renew_after_notice(&id).await;
    });
    if !queued {
        inner.events.emit(SessionEvent::TokenRenewFailed {
            agent_id: agent_id.to_owned(),
            error: "no runtime to renew the token on".into(),
        });
    }
}

impl Session {
    /// The agent's channel token for a lifetime of `lifetime`, signed for the identity the
    /// start's join token is signed for (same channel and uid), by the one signing function.
    pub(super) fn agent_token(&self, lifetime: Duration) -> Result<SignedToken> {
        let b = &self.inner.cfg.b;
        let who = Identity::participant(&b.channel, b.agent_uid.as_str());
        sign_channel_token(b.client.signer(), &who, lifetime)
    }

    /// Sends `token` as the running agent's new channel token; when it expires.
    pub(super) async fn send_token(&self, token: Result<SignedToken>) -> Result<u64> {
        self.send(Operation::RenewToken, |a, id| async move {
            let signed = token?;
            let request = UpdateAgentRequest {
                token: Some(signed.token),
                ..Default::default()
            };
            a.update(&id, &request).await?;
            Ok(signed.expires_at)
        })
        .await
    }

    /// The renewal an expiry notice about `agent_id` asks for: nothing when the session has
    /// moved on (stopped, stopping, restarted with another agent), else one update.
    async fn renew_after_notice(&self, agent_id: &str) {
        if self.id().as_deref() != Some(agent_id) {
            return;
        }
        let lifetime = self.inner.cfg.b.expires_in;
        match self.send_token(self.agent_token(lifetime)).await {
            Ok(expires_at) => self.inner.events.emit(SessionEvent::TokenRenewed {
                agent_id: agent_id.to_owned(),
                expires_at,
            }),
            // Refused before anything was sent: the session stopped or is stopping.
            Err(Error::State { .. } | Error::NoAgentId { .. }) => {}
            Err(e) => {
                let error = crate::redact::sanitize(&e.to_string());
                tracing::warn!(agent_id = %agent_id, name = %self.name(), error = %error, "token renewal after an expiry notice failed");
                self.inner.events.emit(SessionEvent::TokenRenewFailed {
                    agent_id: agent_id.to_owned(),
                    error,
                });
            }
        }
    }
}
