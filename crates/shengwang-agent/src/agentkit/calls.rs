//! Request builders of a running session: `say`, `think`, `update`. Each sets options by
//! name and sends with `.send()` (or `.await`).

use std::collections::BTreeMap;
use std::future::{Future, IntoFuture};
use std::pin::Pin;

use serde_json::Value;

use super::{Operation, Session};
use crate::types::agents::*;
use crate::Result;

type Send<'s> = Pin<Box<dyn Future<Output = Result<()>> + std::marker::Send + 's>>;

/// What [`Session::say`] sends; `.send().await` (or `.await`) sends it.
#[derive(Debug)]
#[must_use = "nothing is sent until .send() (or .await)"]
pub struct Say<'s> {
    session: &'s Session,
    request: SpeakRequest,
}

impl<'s> Say<'s> {
    pub(crate) fn new(session: &'s Session, text: String) -> Self {
        Say {
            session,
            request: SpeakRequest::new(text),
        }
    }
    /// What to do if the agent is busy.
    pub fn priority(mut self, priority: Priority) -> Self {
        self.request.priority = Some(priority);
        self
    }
    /// May the user's voice cut it short.
    pub fn interruptable(mut self, on: bool) -> Self {
        self.request.interruptable = Some(on);
        self
    }
    /// The request as it will be sent.
    pub fn request(&self) -> &SpeakRequest {
        &self.request
    }
    /// Sends it.
    pub async fn send(self) -> Result<()> {
        let request = self.request;
        self.session
            .send(Operation::Say, |a, id| async move {
                a.speak(&id, &request).await.map(|_| ())
            })
            .await
    }
}

impl<'s> IntoFuture for Say<'s> {
    type Output = Result<()>;
    type IntoFuture = Send<'s>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// What [`Session::think`] sends; `.send().await` (or `.await`) sends it.
#[derive(Debug)]
#[must_use = "nothing is sent until .send() (or .await)"]
pub struct Think<'s> {
    session: &'s Session,
    request: ThinkRequest,
}

impl<'s> Think<'s> {
    pub(crate) fn new(session: &'s Session, text: String) -> Self {
        Think {
            session,
            request: ThinkRequest::new(text),
        }
    }
    /// What to do while the user speaks.
    pub fn on_listening(mut self, action: ListeningAction) -> Self {
        self.request.on_listening_action = Some(action);
        self
    }
    /// What to do while the agent thinks.
    pub fn on_thinking(mut self, action: BusyAction) -> Self {
        self.request.on_thinking_action = Some(action);
        self
    }
    /// What to do while the agent speaks.
    pub fn on_speaking(mut self, action: BusyAction) -> Self {
        self.request.on_speaking_action = Some(action);
        self
    }
    /// May user speech interrupt the answer.
    pub fn interruptable(mut self, on: bool) -> Self {
        self.request.interruptable = Some(on);
        self
    }
    /// Adds a business key/value.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.request
            .metadata
            .get_or_insert_with(BTreeMap::new)
            .insert(key.into(), value.into());
        self
    }
    /// The request as it will be sent.
    pub fn request(&self) -> &ThinkRequest {
        &self.request
    }
    /// Sends it.
    pub async fn send(self) -> Result<()> {
        let request = self.request;
        self.session
            .send(Operation::Think, |a, id| async move {
                a.think(&id, &request).await.map(|_| ())
            })
            .await
    }
}

impl<'s> IntoFuture for Think<'s> {
    type Output = Result<()>;
    type IntoFuture = Send<'s>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// What [`Session::update`] sends (only what is set); `.send().await` sends it.
#[derive(Debug)]
#[must_use = "nothing is sent until .send() (or .await)"]
pub struct Update<'s> {
    session: &'s Session,
    request: UpdateAgentRequest,
}

impl<'s> Update<'s> {
    pub(crate) fn new(session: &'s Session) -> Self {
        Update {
            session,
            request: UpdateAgentRequest::default(),
        }
    }
    /// A replacement channel token (see also [`Session::renew_token`]).
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.request.token = Some(token.into());
        self
    }
    /// `{system_messages, params}` of the LLM; `params` replaces the start-time ones.
    pub fn llm(mut self, llm: Value) -> Self {
        self.request.llm = Some(llm);
        self
    }
    /// `{params}` of an MLLM agent.
    pub fn mllm(mut self, mllm: Value) -> Self {
        self.request.mllm = Some(mllm);
        self
    }
    /// Replaces the whole request (for fields this version does not model).
    pub fn properties(mut self, request: UpdateAgentRequest) -> Self {
        self.request = request;
        self
    }
    /// The request as it will be sent.
    pub fn request(&self) -> &UpdateAgentRequest {
        &self.request
    }
    /// Sends it.
    pub async fn send(self) -> Result<()> {
        let request = self.request;
        self.session
            .send(Operation::Update, |a, id| async move {
                a.update(&id, &request).await.map(|_| ())
            })
            .await
    }
}

impl<'s> IntoFuture for Update<'s> {
    type Output = Result<()>;
    type IntoFuture = Send<'s>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}
