//! Notices and routed requests: a verified notice is recorded for the owner of its session
//! (durably, in the owner's inbox, before the receiver answers 200) and applied there once;
//! a speak request reaches the owner the same way and its answer comes back through a reply
//! slot. The inbox of a process that died or left is passed on to the current owners.

use serde::{Deserialize, Serialize};

use super::backend::Entry;
use super::engine::{not_owner, Engine};
use super::record::{now_ms, FleetEventRecord};
use crate::agentkit::session::SessionState;
use crate::types::agents::Priority;
use crate::webhooks::{Event, LeftStatus, Notification};
use crate::{Error, Result};

/// The answer of a routed request, as the owner writes it.
#[derive(Serialize, Deserialize)]
struct Reply {
    ok: bool,
    #[serde(default)]
    not_owner: bool,
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    message: String,
}

/// The caller's result from a routed request's answer.
pub(crate) fn reply_result(key: &str, answer: &str) -> Result<()> {
    let Ok(r) = serde_json::from_str::<Reply>(answer) else {
        return Err(not_owner(key, "the owner's answer could not be read"));
    };
    match (r.ok, r.not_owner, r.status) {
        (true, _, _) => Ok(()),
        (false, true, _) => Err(not_owner(key, &r.message)),
        (false, false, Some(status)) => Err(Error::Api {
            status,
            reason: crate::ErrorReason::Unknown,
            detail: Some(r.message),
            request_id: None,
            body: Box::new(serde_json::Value::Null),
        }),
        (false, false, None) => Err(Error::Connect {
            message: format!("the owning process failed: {}", r.message),
            source: None,
        }),
    }
}

fn reply_of(result: &Result<()>) -> String {
    let r = match result {
        Ok(()) => Reply {
            ok: true,
            not_owner: false,
            status: None,
            message: String::new(),
        },
        Err(e) => Reply {
            ok: false,
            not_owner: matches!(e, Error::NotOwner { .. }),
            status: e.status(),
            message: e.to_string(),
        },
    };
    serde_json::to_string(&r).unwrap_or_default()
}

/// The state a notice ends its agent in, if it does.
fn end_of(n: &Notification) -> Option<(String, SessionState)> {
    match &n.event {
        Event::AgentLeft(left) => {
            let state = if left.status == LeftStatus::Failed {
                SessionState::Error
            } else {
                SessionState::Stopped
            };
            Some((left.agent_id.as_str().to_owned(), state))
        }
        _ => None,
    }
}

impl Engine {
    /// Records a verified notice for the owner of its session.
    pub(crate) async fn record_notice(&self, body: &[u8], n: &Notification) -> Result<()> {
        let key = match n.agent_id() {
            Some(id) => match self.backend.key_of_agent(id.as_str().to_owned()).await? {
                Some(key) => Some(key),
                None => self.starting_key(id.as_str(), n.channel()).await?,
            },
            None => None,
        };
        let Some(key) = key else {
            // Not a fleet agent's notice: the local sessions may still run it.
            self.client.sessions().apply_notification(n).await?;
            return Ok(());
        };
        let entry = Entry::Notice {
            key,
            body: body.to_vec(),
        };
        self.route_entry(entry).await
    }

    /// The key of an agent whose start has not been committed yet (an agent-joined notice
    /// can come before the start's answer): the channel as key, when its record is starting
    /// or already names the agent.
    async fn starting_key(&self, agent_id: &str, channel: Option<&str>) -> Result<Option<String>> {
        let Some(key) = channel.and_then(|c| super::key::FleetKey::new(c).ok()) else {
            return Ok(None);
        };
        let found = self.backend.get(key.as_str().to_owned()).await?;
        let ours = found.is_some_and(|(r, _)| match &r.agent_id {
            Some(id) => id == agent_id,
            None => super::record::is_live(r.status),
        });
        Ok(ours.then(|| key.as_str().to_owned()))
    }

    /// Sends `entry` to the live owner of its key, or applies it here (no owner, a dead
    /// owner, this process, or a backend without inboxes).
    pub(crate) async fn route_entry(&self, entry: Entry) -> Result<()> {
        let owner = self
            .backend
            .get(entry.key().to_owned())
            .await?
            .map(|(r, _)| r.owner)
            .filter(|o| !o.is_empty() && *o != self.instance);
        if let Some(owner) = owner {
            if self.backend.owner_alive(owner.clone()).await?
                && self.backend.enqueue(owner, entry.clone()).await?
            {
                return Ok(());
            }
        }
        self.apply_entry(entry).await
    }

    /// Applies one inbox entry here. An error leaves it in the inbox (tried again).
    pub(crate) async fn apply_entry(&self, entry: Entry) -> Result<()> {
        match entry {
            Entry::Notice { key, body } => self.apply_notice(&key, &body).await,
            Entry::Speak {
                key,
                text,
                priority,
                nonce,
                at_ms,
            } => {
                // The asker gave up on an old request (e.g. recovered from a dead process's
                // inbox): the agent must not say it late.
                let waited = now_ms().saturating_sub(at_ms);
                let result = if waited > super::engine::REPLY_WAIT.as_millis() as u64 {
                    Err(not_owner(
                        &key,
                        "the request expired before its owner got it",
                    ))
                } else {
                    self.speak_here(&key, &text, priority).await
                };
                self.backend.put_reply(key, nonce, reply_of(&result)).await
            }
            Entry::Stopped { key, agent_id } => {
                if let Some(l) = self
                    .local(&key)
                    .filter(|l| l.session.id().as_deref() == Some(agent_id.as_str()))
                {
                    self.forget_local(&key, Some(l.record.epoch));
                    // Stopped already: this settles the session's state (404 counts as stopped).
                    let _ = l.session.stop().await;
                }
                Ok(())
            }
        }
    }

    async fn speak_here(&self, key: &str, text: &str, priority: Option<String>) -> Result<()> {
        let Some(local) = self.local(key) else {
            return Err(not_owner(
                key,
                "the process the request reached does not hold the agent",
            ));
        };
        self.acting_on(key, &local).await?;
        let mut say = local.session.say(text);
        if let Some(p) = priority {
            say = say.priority(Priority::from(p));
        }
        say.send().await
    }

    /// Applies a notice once: the record's events and state first (a second delivery stops
    /// there), then the local session, if this process holds it.
    async fn apply_notice(&self, key: &str, body: &[u8]) -> Result<()> {
        let n = match crate::webhooks::parse(body) {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "fleet: dropped an inbox notice that does not parse");
                return Ok(());
            }
        };
        let end = end_of(&n);
        let mut detail =
            serde_json::json!({ "notice_id": n.notice_id.as_str(), "event_type": n.event_type });
        if let Some(id) = n.agent_id() {
            detail["agent_id"] = id.as_str().into();
        }
        let event = FleetEventRecord::new(n.event.kind(), detail);
        let fresh = self
            .backend
            .note_event(key.to_owned(), Some(n.dedupe_key()), event, end.clone())
            .await?;
        if !fresh {
            return Ok(());
        }
        self.client.sessions().apply_notification(&n).await?;
        if let Some((agent_id, _)) = end {
            if let Some(l) = self
                .local(key)
                .filter(|l| l.session.id().as_deref() == Some(agent_id.as_str()))
            {
                self.forget_local(key, Some(l.record.epoch));
                let _ = self
                    .backend
                    .disown(key.to_owned(), self.instance.clone())
                    .await;
            }
        }
        if let Event::TokenExpiring(_) = &n.event {
            self.renew_token(key).await;
        }
        Ok(())
    }

    /// Renews the agent's token after an expiry warning, only while this process owns it.
    async fn renew_token(&self, key: &str) {
        let Some(local) = self.local(key) else { return };
        if let Err(e) = self.acting_on(key, &local).await {
            tracing::warn!(key = %key, error = %e, "fleet: token not renewed");
            return;
        }
        let lifetime = std::time::Duration::from_secs(u64::from(crate::validate::MAX_EXPIRE_SECS));
        if let Err(e) = local.session.renew_token(lifetime).await {
            tracing::warn!(key = %key, error = %e, "fleet: token renewal failed");
        }
    }

    /// Passes the entries left in `instance`'s inbox on to the current owners (or applies
    /// them here), deleting each once handled. Applying twice is a no-op, so two processes
    /// recovering the same inbox do no harm.
    pub(crate) async fn recover_inbox(&self, instance: &str) -> Result<()> {
        let entries = self.backend.inbox_entries(instance.to_owned()).await?;
        for (id, entry) in entries {
            if let Err(e) = self.route_entry(entry).await {
                tracing::warn!(error = %e, "fleet: an inbox entry could not be passed on yet");
                continue;
            }
            self.backend
                .inbox_delete(instance.to_owned(), vec![id])
                .await?;
        }
        Ok(())
    }
}
