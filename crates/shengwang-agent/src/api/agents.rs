//! `client.agents()`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::Stream;
use reqwest::Method;

use crate::client::Client;
use crate::error::ErrorReason;
use crate::token::rules;
use crate::transport::{Call, Identity, Response, RetryPolicy};
use crate::types::agents::*;
use crate::types::Page;
use crate::{Error, Result};

use super::path_param;

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
        self.with_identity(Identity {
            channel: channel.into(),
            account: account.into(),
        })
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

    fn call(&self, method: Method, rest: &str) -> Call {
        let mut c = Call::new(
            method,
            format!("v2/projects/{}/{rest}", self.client.app_id()),
        );
        c.identity = self.identity.clone();
        c.retry = self.retry.clone();
        c
    }

    fn transport(&self) -> &crate::transport::Transport {
        &self.client.inner.transport
    }

    /// Starts an agent (`join`).
    ///
    /// Safe to retry: if an attempt fails ambiguously (timeout, dropped connection, 5xx: the
    /// service may have created the agent) and the re-sent request is refused with 409
    /// because the name is now taken, the agent that attempt created is looked up in the
    /// channel's running agents and returned, instead of failing or creating a second one
    ///. Names must therefore be unique per session (the agentkit makes them so).
    pub async fn start(&self, request: &StartAgentRequest) -> Result<Response<AgentCreated>> {
        validate_start(request)?;
        let policy = self
            .retry
            .clone()
            .unwrap_or_else(|| self.transport().retry.clone());
        let single = self.clone().retry(RetryPolicy::none());
        let since = unix_now().saturating_sub(2);
        let mut ambiguous = false;
        let mut attempt = 0;
        loop {
            let call = single.call(Method::POST, "join").json(request)?;
            let err = match self.transport().json(&call).await {
                Ok(created) => return Ok(created),
                Err(e) => e,
            };
            if ambiguous
                && matches!(
                    &err,
                    Error::Api {
                        reason: ErrorReason::TaskConflict,
                        ..
                    } | Error::Api { status: 409, .. }
                )
            {
                if let Some(found) = self.find_started(request, since).await? {
                    return Ok(found);
                }
                return Err(err);
            }
            if !err.is_retryable() || attempt >= policy.max_retries {
                return Err(err);
            }
            ambiguous |= matches!(&err, Error::Timeout(_) | Error::Connect(_))
                || err.status().is_some_and(|s| s >= 500);
            let wait = match &err {
                Error::Api { .. } => policy.backoff(attempt),
                _ => policy.backoff(attempt).min(Duration::from_millis(200)),
            };
            tracing::debug!(%err, attempt, "start failed; retrying");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// The running agent of the request's channel that an earlier attempt created, if exactly
    /// one started since `since`.
    async fn find_started(
        &self,
        request: &StartAgentRequest,
        since: u64,
    ) -> Result<Option<Response<AgentCreated>>> {
        let page = self
            .list()
            .channel(&request.properties.channel)
            .state(AgentStatus::Running)
            .from_time(since as f64)
            .limit(100)
            .page_with_response()
            .await?;
        let candidates: Vec<_> = page
            .body
            .items
            .iter()
            .filter(|a| a.start_ts.is_none_or(|t| t >= since))
            .collect();
        let [only] = candidates.as_slice() else {
            return Ok(None);
        };
        Ok(Some(Response {
            http_status: page.http_status,
            http_headers: page.http_headers.clone(),
            body: AgentCreated {
                agent_id: only.agent_id.clone(),
                create_ts: only.start_ts,
                status: Some(AgentStatus::Running),
                extra: Default::default(),
            },
        }))
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
        path_param("agent_id", agent_id)?;
        self.transport()
            .json(&self.call(Method::GET, &format!("agents/{agent_id}")))
            .await
    }

    /// Conversation history of a running agent.
    pub async fn history(&self, agent_id: &str) -> Result<Response<AgentHistory>> {
        path_param("agent_id", agent_id)?;
        self.transport()
            .json(&self.call(Method::GET, &format!("agents/{agent_id}/history")))
            .await
    }

    /// Stops an agent (`leave`). A 404 is returned as an error; [`Client::stop_agent`]
    /// treats it as done.
    pub async fn stop(&self, agent_id: &str) -> Result<()> {
        path_param("agent_id", agent_id)?;
        self.transport()
            .send(&self.call(Method::POST, &format!("agents/{agent_id}/leave")))
            .await
            .map(|_| ())
    }

    /// Updates a running agent.
    pub async fn update(
        &self,
        agent_id: &str,
        properties: &UpdateAgentRequest,
    ) -> Result<Response<AgentCreated>> {
        path_param("agent_id", agent_id)?;
        let body = serde_json::json!({ "properties": properties });
        self.transport()
            .json(
                &self
                    .call(Method::POST, &format!("agents/{agent_id}/update"))
                    .json(&body)?,
            )
            .await
    }

    /// Makes the agent say `request.text` (1 to 512 bytes).
    pub async fn speak(
        &self,
        agent_id: &str,
        request: &SpeakRequest,
    ) -> Result<Response<AgentAck>> {
        path_param("agent_id", agent_id)?;
        if request.text.trim().is_empty() {
            return Err(Error::invalid("text", "must not be empty"));
        }
        if request.text.len() > 512 {
            return Err(Error::invalid(
                "text",
                format!("must be at most 512 bytes (got {})", request.text.len()),
            ));
        }
        self.transport()
            .json(
                &self
                    .call(Method::POST, &format!("agents/{agent_id}/speak"))
                    .json(request)?,
            )
            .await
    }

    /// Interrupts the agent's speaking or thinking. Sent without a body.
    pub async fn interrupt(&self, agent_id: &str) -> Result<Response<AgentAck>> {
        path_param("agent_id", agent_id)?;
        self.transport()
            .json(&self.call(Method::POST, &format!("agents/{agent_id}/interrupt")))
            .await
    }

    /// Injects text into the pipeline as if the user had said it.
    pub async fn think(
        &self,
        agent_id: &str,
        request: &ThinkRequest,
    ) -> Result<Response<AgentAck>> {
        path_param("agent_id", agent_id)?;
        if request.text.trim().is_empty() {
            return Err(Error::invalid("text", "must not be empty"));
        }
        self.transport()
            .json(
                &self
                    .call(Method::POST, &format!("agents/{agent_id}/think"))
                    .json(request)?,
            )
            .await
    }

    /// One page of the agent's turns (`page_index` starts at 1).
    pub async fn turns(
        &self,
        agent_id: &str,
        page_index: u32,
        page_size: u32,
    ) -> Result<Response<AgentTurns>> {
        path_param("agent_id", agent_id)?;
        let call = self
            .call(Method::GET, &format!("agents/{agent_id}/turns"))
            .query("page_index", Some(page_index.max(1)))
            .query("page_size", Some(page_size.max(1)));
        self.transport().json(&call).await
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Local checks before a join is sent, each naming the field.
pub(crate) fn validate_start(r: &StartAgentRequest) -> Result<()> {
    if r.name.trim().is_empty() {
        return Err(Error::invalid("name", "must not be empty"));
    }
    let p = &r.properties;
    rules::validate_channel(&p.channel).map_err(|e| rename(e, "properties.channel"))?;
    if p.token.is_empty() {
        return Err(Error::invalid("properties.token", "must not be empty"));
    }
    if p.remote_rtc_uids.is_empty() {
        return Err(Error::invalid(
            "properties.remote_rtc_uids",
            "must not be empty",
        ));
    }
    let string_uids = p.enable_string_uid.unwrap_or(false);
    let uids = std::iter::once(("properties.agent_rtc_uid".to_owned(), &p.agent_rtc_uid)).chain(
        p.remote_rtc_uids
            .iter()
            .enumerate()
            .filter(|(_, u)| u.as_str() != "*")
            .map(|(i, u)| (format!("properties.remote_rtc_uids[{i}]"), u)),
    );
    for (field, uid) in uids {
        if string_uids {
            if uid.is_empty() {
                return Err(Error::invalid(field, "must not be empty"));
            }
            rules::validate_account(&field, uid)?;
        } else if uid.parse::<u32>().is_err() {
            return Err(Error::invalid(
                field,
                "must be a 32-bit unsigned integer as text unless enable_string_uid is set",
            ));
        }
    }
    Ok(())
}

fn rename(e: Error, field: &str) -> Error {
    match e {
        Error::InvalidInput { reason, .. } => Error::invalid(field, reason),
        other => other,
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
            .call(Method::GET, "agents")
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
