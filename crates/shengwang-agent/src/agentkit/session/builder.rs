//! Creating sessions: the `SessionFactory` both clients implement, `Agent::create_session`,
//! and the `SessionBuilder` (new, resumed or adopted sessions).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;

use super::{Config, Core, Live, Session, SessionState};
use crate::agentkit::resolve::{self, unix_now};
use crate::agentkit::uid::{AgentUid, RemoteUid};
use crate::agentkit::Agent;
use crate::validate::MAX_EXPIRE_SECS;
use crate::{Client, Error, Result};

mod sealed {
    pub trait Sealed {}
}
pub(crate) use sealed::Sealed;

/// A client sessions can be created with: [`Client`] gives a [`SessionBuilder`],
/// [`blocking::Client`](crate::blocking::Client) a blocking one. See
/// [`Agent::create_session`].
pub trait SessionFactory: Sealed {
    /// The builder this client gives.
    type Builder;
    /// A builder for a session of `agent`; use [`Agent::create_session`].
    fn session_builder(
        &self,
        agent: &Agent,
        channel: String,
        agent_uid: AgentUid,
        remote_uids: Vec<RemoteUid>,
    ) -> Self::Builder;
}

impl Sealed for Client {}

impl SessionFactory for Client {
    type Builder = SessionBuilder;
    fn session_builder(
        &self,
        agent: &Agent,
        channel: String,
        agent_uid: AgentUid,
        remote_uids: Vec<RemoteUid>,
    ) -> SessionBuilder {
        SessionBuilder {
            client: self.internal(),
            agent: agent.clone(),
            channel,
            agent_uid,
            remote_uids,
            name: None,
            token: None,
            idle_timeout: None,
            enable_string_uid: None,
            expires_in: Duration::from_secs(u64::from(MAX_EXPIRE_SECS)),
            stop_on_drop: false,
            renew_token_on_expiry: false,
            labels: BTreeMap::new(),
        }
    }
}

impl Agent {
    /// A session of this agent in `channel` as `agent_uid`, listening to `remote_uids`;
    /// `client` is a [`Client`] or a [`blocking::Client`](crate::blocking::Client), and the
    /// session is async or blocking to match.
    ///
    /// ```
    /// # fn demo(client: &shengwang_agent::Client, agent: &shengwang_agent::agentkit::Agent) {
    /// use shengwang_agent::agentkit::{AgentUid, RemoteUid};
    /// let session = agent
    ///     .create_session(client, "room-42", AgentUid::from(1001), [RemoteUid::from(2002)])
    ///     .stop_on_drop(true)
    ///     .build();
    /// # }
    /// ```
    pub fn create_session<C: SessionFactory>(
        &self,
        client: &C,
        channel: impl Into<String>,
        agent_uid: AgentUid,
        remote_uids: impl IntoIterator<Item = RemoteUid>,
    ) -> C::Builder {
        client.session_builder(
            self,
            channel.into(),
            agent_uid,
            remote_uids.into_iter().collect(),
        )
    }
}

/// Configures a session; from [`Agent::create_session`].
#[must_use]
pub struct SessionBuilder {
    pub(super) client: Client,
    pub(super) agent: Agent,
    pub(super) channel: String,
    pub(super) agent_uid: AgentUid,
    pub(super) remote_uids: Vec<RemoteUid>,
    pub(super) name: Option<String>,
    pub(super) token: Option<String>,
    pub(super) idle_timeout: Option<u32>,
    pub(super) enable_string_uid: Option<bool>,
    pub(super) expires_in: Duration,
    pub(super) stop_on_drop: bool,
    pub(super) renew_token_on_expiry: bool,
    pub(super) labels: BTreeMap<String, String>,
}

impl std::fmt::Debug for SessionBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionBuilder")
            .field("client", &self.client)
            .field("agent", &self.agent)
            .field("channel", &self.channel)
            .field("agent_uid", &self.agent_uid)
            .field("remote_uids", &self.remote_uids)
            .field("name", &self.name)
            .field(
                "token",
                &self.token.as_ref().map(|_| crate::redact::REDACTED),
            )
            .field("idle_timeout", &self.idle_timeout)
            .field("enable_string_uid", &self.enable_string_uid)
            .field("expires_in", &self.expires_in)
            .field("stop_on_drop", &self.stop_on_drop)
            .field("renew_token_on_expiry", &self.renew_token_on_expiry)
            .field("labels", &self.labels)
            .finish()
    }
}

impl SessionBuilder {
    /// Agent name. It is how the session proves which agent is its own after a failure
    /// (the service refuses a second running agent with the same name), so it must not be
    /// used by any other running agent. Default: the agent's name, or `agent`, plus the time
    /// and a random suffix.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into()).filter(|n| !n.is_empty());
        self
    }
    /// A ready channel token for the agent, instead of signing one.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into()).filter(|t| !t.is_empty());
        self
    }
    /// Seconds to stay after the remote users left (0: never leave by itself).
    pub fn idle_timeout(mut self, secs: u32) -> Self {
        self.idle_timeout = Some(secs);
        self
    }
    /// Uids are string accounts.
    pub fn enable_string_uid(mut self, on: bool) -> Self {
        self.enable_string_uid = Some(on);
        self
    }
    /// Lifetime of the signed channel token (1 s to 24 h, checked at start; default 24 h).
    pub fn expires_in(mut self, lifetime: Duration) -> Self {
        self.expires_in = lifetime;
        self
    }
    /// Stop the agent when the last handle to the session is dropped, on a runtime the
    /// client owns (so it also happens while the caller's runtime shuts down). Default: a
    /// warning names the agent, which runs on until its idle timeout. An agent whose id the
    /// session never learned (a failed or cancelled start) is cleaned up either way.
    pub fn stop_on_drop(mut self, on: bool) -> Self {
        self.stop_on_drop = on;
        self
    }
    /// Adds a label (`properties.labels`, on top of the agent's). The service echoes labels
    /// in notification callbacks, not in its list or status answers.
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }
    /// Renew the agent's channel token when the service warns that it is about to expire
    /// (a token-expiry notification handed to
    /// [`SessionHub::apply_notification`](super::SessionHub::apply_notification)): the session signs
    /// a fresh token for the same channel and uid with the same lifetime
    /// ([`expires_in`](Self::expires_in)) and sends it with a REST update, in the background,
    /// once per notice. Events: `TokenExpiring`, then `TokenRenewed` or `TokenRenewFailed`.
    ///
    /// Without it, or with a [`token`](Self::token) given by you (the session cannot sign its
    /// successor), the session only emits `TokenExpiring`. The update API takes no avatar
    /// token, so an avatar's token is not renewed: give the avatar a lifetime that covers
    /// the session. Default: off.
    pub fn renew_token_on_expiry(mut self, on: bool) -> Self {
        self.renew_token_on_expiry = on;
        self
    }

    /// The session, idle.
    pub fn build(self) -> Session {
        self.into_session(SessionState::Idle, None)
    }

    /// A session for an agent that is already running (e.g. started by another process),
    /// after asking the service: an empty or unknown id, or an agent that is not running, is
    /// refused with [`Error::NotResumable`] (or [`Error::InvalidInput`]).
    pub async fn resume(self, agent_id: impl Into<String>) -> Result<Session> {
        let id = agent_id.into();
        let span = super::session_span(&self.client, "resume", Some(&id), &self.channel);
        super::traced(span, self.run_resume(id)).await
    }

    /// [`resume`](Self::resume) inside its span.
    async fn run_resume(self, id: String) -> Result<Session> {
        crate::validate::id_segment("agent_id", &id)?;
        let agents = self
            .client
            .agents()
            .as_agent(&self.channel, self.agent_uid.as_str());
        let reason = match agents.get(&id).await {
            Ok(info) if resolve::is_alive(&info.body.status) => {
                return Ok(self.into_session(SessionState::Running, Some(id)))
            }
            Ok(info) => format!("it is {}", info.body.status),
            Err(e) if e.is_not_found() => "the service does not know it".to_owned(),
            Err(e) => return Err(e),
        };
        Err(Error::NotResumable {
            agent_id: id,
            reason,
        })
    }

    /// [`resume`](Self::resume) without asking the service: the session is `running` on
    /// `agent_id` whatever it is. For callers that know the agent runs.
    pub fn resume_unchecked(self, agent_id: impl Into<String>) -> Session {
        self.into_session(SessionState::Running, Some(agent_id.into()))
    }

    fn into_session(self, state: SessionState, agent_id: Option<String>) -> Session {
        let name = self.name.clone().unwrap_or_else(|| {
            let base = self.agent.name().unwrap_or("agent");
            format!(
                "{base}-{}-{:08x}",
                unix_now(),
                rand::thread_rng().gen::<u32>()
            )
        });
        let live = agent_id.clone().map(|id| Live {
            id: Some(id),
            since: unix_now(),
        });
        let core = Core {
            state,
            agent_id,
            live,
            revived: false,
            settle_until: None,
            renewing: false,
            started_at: None,
        };
        Session::from_parts(Arc::new(Config { b: self, name }), core)
    }
}
