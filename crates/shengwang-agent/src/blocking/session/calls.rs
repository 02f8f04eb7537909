//! The blocking request builders of a session: `say`, `think`, `update` and `wait_ready`,
//! each `.send()` blocking until the async one would resolve.

use serde_json::Value;

use super::super::mirror::mirror;
use crate::agentkit::Ready;
use crate::blocking::Client;
use crate::types::agents::*;
use crate::Result;

/// The blocking [`crate::agentkit::Say`]; `.send()` sends it.
#[derive(Debug)]
#[must_use = "nothing is sent until .send()"]
pub struct Say<'s> {
    pub(super) client: &'s Client,
    pub(super) inner: crate::agentkit::Say<'s>,
}

mirror! {
    impl[] Say<'_> {
        block_on: self.client,
        lend: self.client;
        /// See [`crate::agentkit::Say::priority`].
        chain fn priority(self, priority: Priority) -> Self;
        /// See [`crate::agentkit::Say::interruptable`].
        chain fn interruptable(self, on: bool) -> Self;
        /// See [`crate::agentkit::Say::request`].
        get fn request(&self) -> &SpeakRequest;
        /// Sends it.
        block fn send(self) -> Result<()>;
    }
}

/// The blocking [`crate::agentkit::Think`]; `.send()` sends it.
#[derive(Debug)]
#[must_use = "nothing is sent until .send()"]
pub struct Think<'s> {
    pub(super) client: &'s Client,
    pub(super) inner: crate::agentkit::Think<'s>,
}

mirror! {
    impl[] Think<'_> {
        block_on: self.client,
        lend: self.client;
        /// See [`crate::agentkit::Think::on_listening`].
        chain fn on_listening(self, action: ListeningAction) -> Self;
        /// See [`crate::agentkit::Think::on_thinking`].
        chain fn on_thinking(self, action: BusyAction) -> Self;
        /// See [`crate::agentkit::Think::on_speaking`].
        chain fn on_speaking(self, action: BusyAction) -> Self;
        /// See [`crate::agentkit::Think::interruptable`].
        chain fn interruptable(self, on: bool) -> Self;
        /// See [`crate::agentkit::Think::metadata`].
        chain fn metadata(self, key: impl Into<String>, value: impl Into<String>) -> Self;
        /// See [`crate::agentkit::Think::request`].
        get fn request(&self) -> &ThinkRequest;
        /// Sends it.
        block fn send(self) -> Result<()>;
    }
}

/// The blocking [`crate::agentkit::Update`]: params merge the same way, and the updates of
/// a session go one at a time; `.send()` sends it.
#[derive(Debug)]
#[must_use = "nothing is sent until .send()"]
pub struct Update<'s> {
    pub(super) client: &'s Client,
    pub(super) inner: crate::agentkit::Update<'s>,
}

mirror! {
    impl[] Update<'_> {
        block_on: self.client,
        lend: self.client;
        /// See [`crate::agentkit::Update::token`].
        chain fn token(self, token: impl Into<String>) -> Self;
        /// See [`crate::agentkit::Update::llm`].
        chain fn llm(self, llm: Value) -> Self;
        /// See [`crate::agentkit::Update::mllm`].
        chain fn mllm(self, mllm: Value) -> Self;
        /// See [`crate::agentkit::Update::llm_params`].
        chain fn llm_params(self, params: Value) -> Self;
        /// See [`crate::agentkit::Update::mllm_params`].
        chain fn mllm_params(self, params: Value) -> Self;
        /// See [`crate::agentkit::Update::replace_params`].
        chain fn replace_params(self) -> Self;
        /// See [`crate::agentkit::Update::properties`].
        chain fn properties(self, request: UpdateAgentRequest) -> Self;
        /// See [`crate::agentkit::Update::request`].
        get fn request(&self) -> &UpdateAgentRequest;
        /// Sends it.
        block fn send(self) -> Result<()>;
    }
}

/// The blocking [`crate::agentkit::WaitReady`]; `.send()` waits.
#[derive(Debug)]
#[must_use = "nothing is awaited until .send()"]
pub struct WaitReady<'s> {
    pub(super) client: &'s Client,
    pub(super) inner: crate::agentkit::WaitReady<'s>,
}

mirror! {
    impl[] WaitReady<'_> {
        block_on: self.client,
        lend: self.client;
        /// See [`crate::agentkit::WaitReady::notices`].
        chain fn notices(self, on: bool) -> Self;
        /// Waits, blocking this thread; see [`crate::Session::wait_ready`].
        block fn send(self) -> Result<Ready>;
    }
}
