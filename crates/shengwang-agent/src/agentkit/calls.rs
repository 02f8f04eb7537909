//! Request builders of a running session: `say`, `think`, `update`. Each sets options by
//! name and sends with `.send()` (or `.await`).

use std::collections::BTreeMap;
use std::future::{Future, IntoFuture};
use std::pin::Pin;

use serde_json::{Map, Value};

use super::{Operation, Session};
use crate::types::agents::*;
use crate::Result;

/// The future `.await` on a request builder runs: boxed, `Send`, borrowing the session.
type SendFuture<'s> = Pin<Box<dyn Future<Output = Result<()>> + Send + 's>>;

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
    type IntoFuture = SendFuture<'s>;
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
    type IntoFuture = SendFuture<'s>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// What [`Session::update`] sends (only what is set); `.send().await` sends it.
///
/// The service replaces the agent's `llm.params` (or `mllm.params`) wholesale on update, so
/// the params given here are a JSON Merge Patch (RFC 7396) onto the params the agent runs
/// with: the session's start configuration plus its earlier accepted updates. Objects merge
/// key by key, `null` deletes a key, arrays and scalars replace; the complete object is
/// sent. [`replace_params`](Self::replace_params) sends them as given instead.
///
/// ```
/// # async fn demo(session: &shengwang_agent::Session) -> shengwang_agent::Result<()> {
/// use serde_json::json;
/// // Started with {"model": "qwen-max", "temperature": 0.7}: sends both keys, temperature 0.2.
/// session.update().llm_params(json!({"temperature": 0.2})).send().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "nothing is sent until .send() (or .await)"]
pub struct Update<'s> {
    session: &'s Session,
    request: UpdateAgentRequest,
    replace: bool,
}

impl<'s> Update<'s> {
    pub(crate) fn new(session: &'s Session) -> Self {
        Update {
            session,
            request: UpdateAgentRequest::default(),
            replace: false,
        }
    }
    /// A replacement channel token (see also [`Session::renew_token`]).
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.request.token = Some(token.into());
        self
    }
    /// `{system_messages, params}` of the LLM; `params` is a merge patch (see [`Update`]).
    pub fn llm(mut self, llm: Value) -> Self {
        self.request.llm = Some(llm);
        self
    }
    /// `{params}` of an MLLM agent; `params` is a merge patch (see [`Update`]).
    pub fn mllm(mut self, mllm: Value) -> Self {
        self.request.mllm = Some(mllm);
        self
    }
    /// The LLM's `params` as a merge patch: `{"temperature": 0.2}` changes the temperature
    /// and keeps every other param; `{"stop": null}` removes `stop`. Sets `llm.params`,
    /// keeping what [`llm`](Self::llm) set besides.
    pub fn llm_params(mut self, params: Value) -> Self {
        set_params(&mut self.request.llm, params);
        self
    }
    /// The MLLM's `params` as a merge patch, like [`llm_params`](Self::llm_params).
    pub fn mllm_params(mut self, params: Value) -> Self {
        set_params(&mut self.request.mllm, params);
        self
    }
    /// Sends `llm.params` and `mllm.params` as given, not merged: the service replaces the
    /// agent's params with them (so they must be complete). For a session that does not
    /// know its agent's params (resumed from an agent id, where merging fails with
    /// [`Error::UnknownMergeBase`](crate::Error::UnknownMergeBase)); once the service
    /// accepts them the session knows them and merges again.
    pub fn replace_params(mut self) -> Self {
        self.replace = true;
        self
    }
    /// Replaces the whole request (for fields this version does not model); its params
    /// merge like the others unless [`replace_params`](Self::replace_params).
    pub fn properties(mut self, request: UpdateAgentRequest) -> Self {
        self.request = request;
        self
    }
    /// The request as set: `params` are the patch, not yet merged (that happens when it is
    /// sent, onto the params the agent has then).
    pub fn request(&self) -> &UpdateAgentRequest {
        &self.request
    }
    /// Sends it, once the session's earlier updates are answered: the updates of a session
    /// go one at a time, each merged onto the params the last accepted one left. A failed
    /// or unanswered update leaves those params as they were.
    ///
    /// Merging needs the agent's params: a session resumed from an agent id does not know
    /// them and refuses with [`Error::UnknownMergeBase`](crate::Error::UnknownMergeBase)
    /// (nothing sent); a params patch that is not a JSON object is
    /// [`Error::InvalidInput`](crate::Error::InvalidInput).
    pub async fn send(self) -> Result<()> {
        self.session.send_update(self.request, self.replace).await
    }
}

/// Sets `params` in `block`, an object (made one if it is not).
fn set_params(block: &mut Option<Value>, params: Value) {
    let block = block.get_or_insert_with(|| Value::Object(Map::new()));
    if !block.is_object() {
        *block = Value::Object(Map::new());
    }
    if let Value::Object(map) = block {
        map.insert("params".to_owned(), params);
    }
}

impl<'s> IntoFuture for Update<'s> {
    type Output = Result<()>;
    type IntoFuture = SendFuture<'s>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}
