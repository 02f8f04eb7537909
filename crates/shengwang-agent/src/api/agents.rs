//! `client.agents()`.

use futures::Stream;
use reqwest::Method;

use crate::client::Client;
use crate::identity::Identity;
use crate::transport::{Call, Response, RetryPolicy};
use crate::types::agents::*;
use crate::types::Page;
use crate::validate::id_segment;
use crate::{Error, Result};

mod turns;
pub use turns::{ListTurns, MAX_TURN_PAGES, MAX_TURN_PAGE_SIZE};

/// Agents of the project: `client.agents()`.
#[derive(Debug, Clone)]
pub struct Agents<'c> {
    client: &'c Client,
    identity: Option<Identity>,
    retry: Option<RetryPolicy>,
}

impl<'c> Agents<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Agents {
            client,
            identity: None,
            retry: None,
        }
    }

    /// Signs app-credentials tokens of these calls for a channel and account (sessions use
    /// their own channel and agent uid). No effect in Basic or token mode.
    #[must_use]
    pub fn as_agent(self, channel: impl Into<String>, account: impl Into<String>) -> Self {
        self.with_identity(Identity::session(&channel.into(), &account.into()))
    }

    pub(crate) fn with_identity(mut self, identity: Identity) -> Self {
        self.identity = Some(identity);
        self
    }

    /// Overrides the client's retry policy for these calls.
    #[must_use]
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    fn path(&self, rest: &str) -> String {
        format!("v2/projects/{}/{rest}", self.client.app_id())
    }

    /// The handle's identity and retry override, on a call.
    fn with(&self, mut call: Call) -> Call {
        call.identity = self.identity.clone();
        call.retry = self.retry.clone();
        call
    }

    fn agent_path(&self, agent_id: &str, rest: &str) -> Result<String> {
        let id = id_segment("agent_id", agent_id)?;
        Ok(self.path(&format!("agents/{id}{rest}")))
    }

    fn transport(&self) -> &crate::transport::Transport {
        self.client.transport()
    }

    /// Starts an agent (`join`).
    ///
    /// Safe to retry: the name is unique while the agent runs, so a re-sent join cannot start
    /// a second agent. When an attempt fails in a way that may have started the agent (a
    /// timeout or a dropped connection after sending, a 5xx) and the call still ends in an
    /// error, that error is [`Error::OutcomeUnknown`] (`is_ambiguous()`): an agent may be
    /// running under the request's name, for instance when the re-send was refused with 409.
    /// Sessions resolve this themselves; direct callers should stop or adopt that agent.
    pub async fn start(&self, request: &StartAgentRequest) -> Result<Response<AgentCreated>> {
        request.validate()?;
        self.transport()
            .json(&self.with(Call::join(self.path("join"))).json(request)?)
            .await
    }

    /// Lists agents; filter, then take one [`page`](ListAgents::page) or
    /// [`stream`](ListAgents::stream) them all.
    pub fn list(&self) -> ListAgents<'c> {
        ListAgents {
            agents: self.clone(),
            channel: None,
            state: None,
            from_time: None,
            to_time: None,
            limit: None,
            cursor: None,
        }
    }

    /// Status of one agent.
    pub async fn get(&self, agent_id: &str) -> Result<Response<AgentInfo>> {
        let call = self.with(Call::get(self.agent_path(agent_id, "")?));
        self.transport().json(&call).await
    }

    /// Conversation history of a running agent.
    pub async fn history(&self, agent_id: &str) -> Result<Response<AgentHistory>> {
        let call = self.with(Call::get(self.agent_path(agent_id, "/history")?));
        self.transport().json(&call).await
    }

    /// Stops an agent (`leave`). A 404 is returned as an error; [`Client::stop_agent`]
    /// treats it as done.
    pub async fn stop(&self, agent_id: &str) -> Result<()> {
        let call = self.with(Call::idempotent(
            Method::POST,
            self.agent_path(agent_id, "/leave")?,
        ));
        self.transport().send(&call).await.map(|_| ())
    }

    /// Updates a running agent.
    pub async fn update(
        &self,
        agent_id: &str,
        properties: &UpdateAgentRequest,
    ) -> Result<Response<AgentAck>> {
        let body = serde_json::json!({ "properties": properties });
        let call = self
            .with(Call::idempotent(
                Method::POST,
                self.agent_path(agent_id, "/update")?,
            ))
            .json(&body)?;
        self.transport().json(&call).await
    }

    /// Makes the agent say `request.text` (1 to 512 bytes). Never sent twice: an unclear
    /// outcome is [`Error::OutcomeUnknown`] (the agent may say it).
    pub async fn speak(
        &self,
        agent_id: &str,
        request: &SpeakRequest,
    ) -> Result<Response<AgentAck>> {
        let path = self.agent_path(agent_id, "/speak")?;
        if request.text.trim().is_empty() {
            return Err(Error::invalid("text", "must not be empty"));
        }
        if request.text.len() > 512 {
            return Err(Error::invalid(
                "text",
                format!("must be at most 512 bytes (got {})", request.text.len()),
            ));
        }
        let call = self.with(Call::create(path)).json(request)?;
        self.transport().json(&call).await
    }

    /// Interrupts the agent's speaking or thinking. Sends `{}` as the body, as Agora's
    /// official clients do.
    pub async fn interrupt(&self, agent_id: &str) -> Result<Response<AgentAck>> {
        let call = self
            .with(Call::idempotent(
                Method::POST,
                self.agent_path(agent_id, "/interrupt")?,
            ))
            .json(&serde_json::json!({}))?;
        self.transport().json(&call).await
    }

    /// Injects text into the pipeline as if the user had said it. Never sent twice: an
    /// unclear outcome is [`Error::OutcomeUnknown`].
    pub async fn think(
        &self,
        agent_id: &str,
        request: &ThinkRequest,
    ) -> Result<Response<AgentAck>> {
        let path = self.agent_path(agent_id, "/think")?;
        if request.text.trim().is_empty() {
            return Err(Error::invalid("text", "must not be empty"));
        }
        let call = self.with(Call::create(path)).json(request)?;
        self.transport().json(&call).await
    }
}

/// Filters of an agent list; ends in [`page`](Self::page) or [`stream`](Self::stream).
#[derive(Debug, Clone)]
#[must_use]
pub struct ListAgents<'c> {
    agents: Agents<'c>,
    channel: Option<String>,
    state: Option<AgentStatus>,
    from_time: Option<f64>,
    to_time: Option<f64>,
    limit: Option<u32>,
    cursor: Option<String>,
}

impl<'c> ListAgents<'c> {
    /// Only this channel.
    pub fn channel(mut self, channel: impl Into<String>) -> Self {
        self.channel = Some(channel.into());
        self
    }
    /// Only agents in this state.
    pub fn state(mut self, state: AgentStatus) -> Self {
        self.state = Some(state);
        self
    }
    /// Started at or after (Unix seconds; the service's default is two hours ago).
    pub fn from_time(mut self, secs: f64) -> Self {
        self.from_time = Some(secs);
        self
    }
    /// Started at or before.
    pub fn to_time(mut self, secs: f64) -> Self {
        self.to_time = Some(secs);
        self
    }
    /// Page size.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }
    /// Start after this cursor (from a previous page).
    pub fn cursor(mut self, cursor: impl Into<String>) -> Self {
        self.cursor = Some(cursor.into());
        self
    }

    fn call(&self, cursor: Option<&str>) -> Result<Call> {
        let state = match &self.state {
            None => None,
            Some(s) => Some(
                s.code()
                    .ok_or_else(|| Error::invalid("state", "not a state the list filter knows"))?,
            ),
        };
        let float = |v: Option<f64>| v.map(|f| format!("{f:?}"));
        Ok(self
            .agents
            .with(Call::get(self.agents.path("agents")))
            .query("channel", self.channel.as_deref())
            .query("from_time", float(self.from_time))
            .query("to_time", float(self.to_time))
            .query("state", state)
            .query("limit", self.limit)
            .query("cursor", cursor.filter(|c| !c.is_empty())))
    }

    /// One page, with status and headers.
    pub async fn page_with_response(&self) -> Result<Response<Page<AgentSummary>>> {
        let res: Response<AgentList> = self
            .agents
            .transport()
            .json(&self.call(self.cursor.as_deref())?)
            .await?;
        let meta = res.body.meta.clone().unwrap_or_default();
        Ok(Response {
            http_status: res.http_status,
            http_headers: res.http_headers,
            body: Page {
                items: res.body.data.list,
                next_cursor: meta.cursor.filter(|c| !c.is_empty()),
                total: meta.total,
            },
        })
    }

    /// One page.
    pub async fn page(&self) -> Result<Page<AgentSummary>> {
        Ok(self.page_with_response().await?.into_inner())
    }

    /// Every matching agent, page after page, until the cursor ends or a page is empty.
    pub fn stream(self) -> impl Stream<Item = Result<AgentSummary>> + 'c {
        super::every_item(
            self,
            |list: ListAgents<'c>| async move { list.page().await },
            |list, cursor| list.cursor = cursor,
        )
    }
}
