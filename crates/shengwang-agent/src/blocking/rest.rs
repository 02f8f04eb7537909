//! The blocking REST handles: `client.agents()`, `client.telephony()`,
//! `client.phone_numbers()` and their list builders, each generated from its list by
//! [`mirror!`](super::mirror::mirror).

use super::mirror::mirror;
use super::{Client, Iter};
use crate::api;
use crate::transport::{Response, RetryPolicy};
use crate::types::agents::*;
use crate::types::phone_numbers::*;
use crate::types::telephony::*;
use crate::types::turns::{AgentTurns, Turn};
use crate::types::Page;
use crate::Result;

/// Blocking [`api::Agents`].
#[derive(Debug, Clone)]
pub struct Agents<'c> {
    pub(super) client: &'c Client,
    pub(super) inner: api::Agents<'c>,
}

mirror! {
    impl['c] Agents<'c> {
        block_on: self.client,
        lend: self.client;
        /// See [`api::Agents::as_agent`].
        #[must_use]
        chain fn as_agent(self, channel: impl Into<String>, account: impl Into<String>) -> Self;
        /// See [`api::Agents::retry`].
        #[must_use]
        chain fn retry(self, policy: RetryPolicy) -> Self;
        /// See [`api::Agents::start`].
        block fn start(&self, request: &StartAgentRequest) -> Result<Response<AgentCreated>>;
        /// See [`api::Agents::get`].
        block fn get(&self, agent_id: &str) -> Result<Response<AgentInfo>>;
        /// See [`api::Agents::history`].
        block fn history(&self, agent_id: &str) -> Result<Response<AgentHistory>>;
        /// See [`api::Agents::stop`].
        block fn stop(&self, agent_id: &str) -> Result<()>;
        /// See [`api::Agents::update`].
        block fn update(&self, agent_id: &str, properties: &UpdateAgentRequest)
            -> Result<Response<AgentAck>>;
        /// See [`api::Agents::speak`].
        block fn speak(&self, agent_id: &str, request: &SpeakRequest) -> Result<Response<AgentAck>>;
        /// See [`api::Agents::interrupt`].
        block fn interrupt(&self, agent_id: &str) -> Result<Response<AgentAck>>;
        /// See [`api::Agents::think`].
        block fn think(&self, agent_id: &str, request: &ThinkRequest) -> Result<Response<AgentAck>>;
        /// See [`api::Agents::list`]; ends in [`ListAgents::page`] or [`ListAgents::iter`].
        wrap fn list(&self) -> ListAgents<'c>;
        /// See [`api::Agents::turns`]; ends in [`ListTurns::page`], [`ListTurns::all`] or
        /// [`ListTurns::iter`].
        wrap fn turns(&self, agent_id: impl Into<String>) -> ListTurns<'c>;
    }
}

/// Blocking [`api::ListAgents`].
#[derive(Debug, Clone)]
#[must_use]
pub struct ListAgents<'c> {
    client: &'c Client,
    inner: api::ListAgents<'c>,
}

mirror! {
    impl['c] ListAgents<'c> {
        block_on: self.client,
        lend: self.client;
        /// See [`api::ListAgents::channel`].
        chain fn channel(self, channel: impl Into<String>) -> Self;
        /// See [`api::ListAgents::state`].
        chain fn state(self, state: AgentStatus) -> Self;
        /// See [`api::ListAgents::from_time`].
        chain fn from_time(self, secs: f64) -> Self;
        /// See [`api::ListAgents::to_time`].
        chain fn to_time(self, secs: f64) -> Self;
        /// See [`api::ListAgents::limit`].
        chain fn limit(self, limit: u32) -> Self;
        /// See [`api::ListAgents::cursor`].
        chain fn cursor(self, cursor: impl Into<String>) -> Self;
        /// See [`api::ListAgents::page_with_response`].
        block fn page_with_response(&self) -> Result<Response<Page<AgentSummary>>>;
        /// See [`api::ListAgents::page`].
        block fn page(&self) -> Result<Page<AgentSummary>>;
        /// Every matching agent, fetching pages as the iteration reaches them (the blocking
        /// [`api::ListAgents::stream`]).
        iter fn iter(self) -> Iter<'c, AgentSummary> = stream;
    }
}

/// Blocking [`api::ListTurns`]: `client.agents().turns(id)`.
#[derive(Debug, Clone)]
#[must_use]
pub struct ListTurns<'c> {
    client: &'c Client,
    inner: api::ListTurns<'c>,
}

/// Every turn of an agent; from [`ListTurns::iter`]. Ends after the first error.
pub type TurnIter<'c> = Iter<'c, Turn>;

mirror! {
    impl['c] ListTurns<'c> {
        block_on: self.client,
        lend: self.client;
        /// See [`api::ListTurns::page_size`].
        chain fn page_size(self, size: u32) -> Self;
        /// See [`api::ListTurns::page_with_response`].
        block fn page_with_response(&self, page_index: u64) -> Result<Response<AgentTurns>>;
        /// See [`api::ListTurns::page`].
        block fn page(&self, page_index: u64) -> Result<AgentTurns>;
        /// See [`api::ListTurns::all`].
        block fn all(&self) -> Result<AgentTurns>;
        /// Every turn, fetched page by page as the iterator is read (the blocking
        /// [`api::ListTurns::stream`]).
        iter fn iter(self) -> TurnIter<'c> = stream;
    }
}

/// Blocking [`api::Telephony`].
#[derive(Debug, Clone)]
pub struct Telephony<'c> {
    pub(super) client: &'c Client,
    pub(super) inner: api::Telephony<'c>,
}

mirror! {
    impl['c] Telephony<'c> {
        block_on: self.client,
        lend: self.client;
        /// See [`api::Telephony::call_out`].
        block fn call_out(&self, request: &CallRequest) -> Result<Response<CallCreated>>;
        /// See [`api::Telephony::get`].
        block fn get(&self, call_id: &str) -> Result<Response<CallInfo>>;
        /// See [`api::Telephony::hangup`].
        block fn hangup(&self, call_id: &str) -> Result<()>;
        /// See [`api::Telephony::list`]; ends in [`ListCalls::page`] or [`ListCalls::iter`].
        wrap fn list(&self) -> ListCalls<'c>;
    }
}

/// Blocking [`api::ListCalls`].
#[derive(Debug, Clone)]
#[must_use]
pub struct ListCalls<'c> {
    client: &'c Client,
    inner: api::ListCalls<'c>,
}

mirror! {
    impl['c] ListCalls<'c> {
        block_on: self.client,
        lend: self.client;
        /// See [`api::ListCalls::number`].
        chain fn number(self, number: impl Into<String>) -> Self;
        /// See [`api::ListCalls::kind`].
        chain fn kind(self, kind: CallType) -> Self;
        /// See [`api::ListCalls::from_time`].
        chain fn from_time(self, secs: u64) -> Self;
        /// See [`api::ListCalls::to_time`].
        chain fn to_time(self, secs: u64) -> Self;
        /// See [`api::ListCalls::limit`].
        chain fn limit(self, limit: u32) -> Self;
        /// See [`api::ListCalls::cursor`].
        chain fn cursor(self, cursor: impl Into<String>) -> Self;
        /// See [`api::ListCalls::page`].
        block fn page(&self) -> Result<Page<CallInfo>>;
        /// Every matching call, fetching pages as the iteration reaches them (the blocking
        /// [`api::ListCalls::stream`]).
        iter fn iter(self) -> Iter<'c, CallInfo> = stream;
    }
}

/// Blocking [`api::PhoneNumbers`].
#[derive(Debug, Clone)]
pub struct PhoneNumbers<'c> {
    pub(super) client: &'c Client,
    pub(super) inner: api::PhoneNumbers<'c>,
}

mirror! {
    impl['c] PhoneNumbers<'c> {
        block_on: self.client,
        lend: self.client;
        /// See [`api::PhoneNumbers::list`].
        block fn list(&self) -> Result<Response<Vec<PhoneNumber>>>;
        /// See [`api::PhoneNumbers::add`].
        block fn add(&self, request: &AddPhoneNumber) -> Result<Response<PhoneNumberCreated>>;
        /// See [`api::PhoneNumbers::get`].
        block fn get(&self, number: &str) -> Result<Response<PhoneNumber>>;
        /// See [`api::PhoneNumbers::update`].
        block fn update(&self, number: &str, request: &UpdatePhoneNumber)
            -> Result<Response<PhoneNumber>>;
        /// See [`api::PhoneNumbers::delete`].
        block fn delete(&self, number: &str) -> Result<()>;
    }
}
