//! Blocking flavour: the async client driven on a runtime this client owns, for code that is
//! not async. Same names as the async API, no logic of its own.
//!
//! Calling it from inside an async runtime returns [`Error::Config`]
//! (blocking there would stall the runtime); use [`crate::Client`] there.

use std::future::Future;
use std::sync::Arc;

mod session;
mod turns;

pub use session::{Say, Session, SessionBuilder, Subscription, Think, Update, WeakSession};
pub use turns::{ListTurns, TurnIter};

use crate::api;
use crate::transport::Response;
use crate::types::agents::*;
use crate::types::phone_numbers::*;
use crate::types::telephony::*;
use crate::types::Page;
use crate::{Error, Result};

struct Runtime(Option<tokio::runtime::Runtime>);

impl Drop for Runtime {
    fn drop(&mut self) {
        // Never blocks, so dropping the client inside an async context is safe too.
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// The blocking ConvoAI REST client. Cheap to clone; clones share the runtime and pool.
///
/// ```no_run
/// use shengwang_agent::blocking::Client;
/// let client = Client::builder()
///     .app_id("0123456789abcdef0123456789abcdef")
///     .app_certificate("fedcba9876543210fedcba9876543210")
///     .build()?;
/// let info = client.agents().get("AGENT_ID")?;
/// println!("{}", info.status);
/// # Ok::<(), shengwang_agent::Error>(())
/// ```
#[derive(Clone)]
pub struct Client {
    inner: crate::Client,
    runtime: Arc<Runtime>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Client").field(&self.inner).finish()
    }
}

fn outside_runtime() -> Result<()> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(Error::Config(
            "the blocking Client cannot be used inside an async runtime; use crate::Client".into(),
        ));
    }
    Ok(())
}

/// Configures an [`Client`]: the same options as [`crate::ClientBuilder`].
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct ClientBuilder(crate::ClientBuilder);

impl ClientBuilder {
    /// Applies any [`crate::ClientBuilder`] setting: `.configure(|b| b.timeout(d))`.
    pub fn configure(self, f: impl FnOnce(crate::ClientBuilder) -> crate::ClientBuilder) -> Self {
        ClientBuilder(f(self.0))
    }
    /// See [`crate::ClientBuilder::app_id`].
    pub fn app_id(self, v: impl Into<String>) -> Self {
        self.configure(|b| b.app_id(v))
    }
    /// See [`crate::ClientBuilder::app_certificate`].
    pub fn app_certificate(self, v: impl Into<String>) -> Self {
        self.configure(|b| b.app_certificate(v))
    }
    /// See [`crate::ClientBuilder::basic`].
    pub fn basic(self, id: impl Into<String>, secret: impl Into<String>) -> Self {
        self.configure(|b| b.basic(id, secret))
    }
    /// See [`crate::ClientBuilder::token`].
    pub fn token(self, v: impl Into<String>) -> Self {
        self.configure(|b| b.token(v))
    }
    /// See [`crate::ClientBuilder::base_url`].
    pub fn base_url(self, v: impl Into<String>) -> Self {
        self.configure(|b| b.base_url(v))
    }
    /// See [`crate::ClientBuilder::area`].
    pub fn area(self, area: crate::Area) -> Self {
        self.configure(|b| b.area(area))
    }
    /// See [`crate::ClientBuilder::retry`].
    pub fn retry(self, policy: crate::RetryPolicy) -> Self {
        self.configure(|b| b.retry(policy))
    }
    /// See [`crate::ClientBuilder::add_root_certificate`].
    pub fn add_root_certificate(self, pem: impl AsRef<[u8]>) -> Self {
        let pem = pem.as_ref().to_vec();
        self.configure(|b| b.add_root_certificate(pem))
    }
    /// See [`crate::ClientBuilder::http2`].
    pub fn http2(self, enabled: bool) -> Self {
        self.configure(|b| b.http2(enabled))
    }

    /// Validates, starts the client's runtime and builds.
    pub fn build(self) -> Result<Client> {
        outside_runtime()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("shengwang-agent-blocking")
            .enable_all()
            .build()
            .map_err(|e| Error::Config(format!("cannot start the client runtime: {e}")))?;
        // reqwest's client must be created inside the runtime that drives it.
        let inner = runtime.block_on(async { self.0.build() })?;
        Ok(Client {
            inner,
            runtime: Arc::new(Runtime(Some(runtime))),
        })
    }
}

impl Client {
    /// A builder; `app_id` and `app_certificate` are required.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// Configured from the `SHENGWANG_*` variables, like [`crate::Client::from_env`].
    pub fn from_env() -> Result<Self> {
        ClientBuilder(crate::ClientBuilder::from_env()?).build()
    }

    pub(crate) fn block_on<T>(&self, fut: impl Future<Output = Result<T>>) -> Result<T> {
        outside_runtime()?;
        match &self.runtime.0 {
            Some(rt) => rt.block_on(fut),
            None => Err(Error::Config("the client runtime has shut down".into())),
        }
    }

    /// The async client underneath (same pool, same configuration).
    pub fn as_async(&self) -> &crate::Client {
        &self.inner
    }

    /// The project's app id.
    pub fn app_id(&self) -> &str {
        self.inner.app_id()
    }

    /// Agents of the project.
    pub fn agents(&self) -> Agents<'_> {
        Agents {
            client: self,
            inner: self.inner.agents(),
        }
    }

    /// Telephony calls of the project.
    pub fn telephony(&self) -> Telephony<'_> {
        Telephony {
            client: self,
            inner: self.inner.telephony(),
        }
    }

    /// Phone numbers of the account.
    pub fn phone_numbers(&self) -> PhoneNumbers<'_> {
        PhoneNumbers {
            client: self,
            inner: self.inner.phone_numbers(),
        }
    }

    /// See [`crate::Client::stop_agent`].
    pub fn stop_agent(&self, agent_id: &str) -> Result<()> {
        self.block_on(self.inner.stop_agent(agent_id))
    }
}

/// Blocking [`api::Agents`].
#[derive(Debug, Clone)]
pub struct Agents<'c> {
    client: &'c Client,
    inner: api::Agents<'c>,
}

impl<'c> Agents<'c> {
    /// See [`api::Agents::as_agent`].
    #[must_use]
    pub fn as_agent(self, channel: impl Into<String>, account: impl Into<String>) -> Self {
        Agents {
            client: self.client,
            inner: self.inner.as_agent(channel, account),
        }
    }
    /// See [`api::Agents::start`].
    pub fn start(&self, request: &StartAgentRequest) -> Result<Response<AgentCreated>> {
        self.client.block_on(self.inner.start(request))
    }
    /// See [`api::Agents::get`].
    pub fn get(&self, agent_id: &str) -> Result<Response<AgentInfo>> {
        self.client.block_on(self.inner.get(agent_id))
    }
    /// See [`api::Agents::history`].
    pub fn history(&self, agent_id: &str) -> Result<Response<AgentHistory>> {
        self.client.block_on(self.inner.history(agent_id))
    }
    /// See [`api::Agents::stop`].
    pub fn stop(&self, agent_id: &str) -> Result<()> {
        self.client.block_on(self.inner.stop(agent_id))
    }
    /// See [`api::Agents::update`].
    pub fn update(&self, agent_id: &str, r: &UpdateAgentRequest) -> Result<Response<AgentAck>> {
        self.client.block_on(self.inner.update(agent_id, r))
    }
    /// See [`api::Agents::speak`].
    pub fn speak(&self, agent_id: &str, r: &SpeakRequest) -> Result<Response<AgentAck>> {
        self.client.block_on(self.inner.speak(agent_id, r))
    }
    /// See [`api::Agents::interrupt`].
    pub fn interrupt(&self, agent_id: &str) -> Result<Response<AgentAck>> {
        self.client.block_on(self.inner.interrupt(agent_id))
    }
    /// See [`api::Agents::think`].
    pub fn think(&self, agent_id: &str, r: &ThinkRequest) -> Result<Response<AgentAck>> {
        self.client.block_on(self.inner.think(agent_id, r))
    }
    /// One page of agents; `filter` sets the list options.
    pub fn list_page(
        &self,
        filter: impl FnOnce(api::ListAgents<'c>) -> api::ListAgents<'c>,
    ) -> Result<Page<AgentSummary>> {
        let list = filter(self.inner.list());
        self.client.block_on(list.page())
    }
    /// Every matching agent across pages.
    pub fn list_all(
        &self,
        filter: impl FnOnce(api::ListAgents<'c>) -> api::ListAgents<'c>,
    ) -> Result<Vec<AgentSummary>> {
        use futures::TryStreamExt;
        let stream = filter(self.inner.list()).stream();
        self.client.block_on(stream.try_collect())
    }
}

/// Blocking [`api::Telephony`].
#[derive(Debug, Clone)]
pub struct Telephony<'c> {
    client: &'c Client,
    inner: api::Telephony<'c>,
}

impl<'c> Telephony<'c> {
    /// See [`api::Telephony::call_out`].
    pub fn call_out(&self, r: &CallRequest) -> Result<Response<CallCreated>> {
        self.client.block_on(self.inner.call_out(r))
    }
    /// See [`api::Telephony::get`].
    pub fn get(&self, call_id: &str) -> Result<Response<CallInfo>> {
        self.client.block_on(self.inner.get(call_id))
    }
    /// See [`api::Telephony::hangup`].
    pub fn hangup(&self, call_id: &str) -> Result<()> {
        self.client.block_on(self.inner.hangup(call_id))
    }
    /// One page of calls; `filter` sets the list options.
    pub fn list_page(
        &self,
        filter: impl FnOnce(api::ListCalls<'c>) -> api::ListCalls<'c>,
    ) -> Result<Page<CallInfo>> {
        let list = filter(self.inner.list());
        self.client.block_on(list.page())
    }
}

/// Blocking [`api::PhoneNumbers`].
#[derive(Debug, Clone)]
pub struct PhoneNumbers<'c> {
    client: &'c Client,
    inner: api::PhoneNumbers<'c>,
}

impl PhoneNumbers<'_> {
    /// See [`api::PhoneNumbers::list`].
    pub fn list(&self) -> Result<Response<Vec<PhoneNumber>>> {
        self.client.block_on(self.inner.list())
    }
    /// See [`api::PhoneNumbers::add`].
    pub fn add(&self, r: &AddPhoneNumber) -> Result<Response<PhoneNumberCreated>> {
        self.client.block_on(self.inner.add(r))
    }
    /// See [`api::PhoneNumbers::get`].
    pub fn get(&self, number: &str) -> Result<Response<PhoneNumber>> {
        self.client.block_on(self.inner.get(number))
    }
    /// See [`api::PhoneNumbers::update`].
    pub fn update(&self, number: &str, r: &UpdatePhoneNumber) -> Result<Response<PhoneNumber>> {
        self.client.block_on(self.inner.update(number, r))
    }
    /// See [`api::PhoneNumbers::delete`].
    pub fn delete(&self, number: &str) -> Result<()> {
        self.client.block_on(self.inner.delete(number))
    }
}
