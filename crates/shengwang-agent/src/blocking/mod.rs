//! Blocking flavour: the async client driven on a runtime this client owns, for code that is
//! not async. Same names and the same methods as the async API, no logic of its own
//! (`page()`/`iter()` where the async lists have `page()`/`stream()`).
//!
//! It works from any plain thread and from `tokio::task::spawn_blocking`. On a thread that runs
//! async tasks (a runtime's worker, or the thread of a current-thread runtime) every call
//! returns [`Error::BlockingInAsync`] without sending anything, because waiting there would
//! stall that runtime; use [`crate::Client`] there. (Called directly in the body of a
//! multi-thread runtime's `block_on`, such as `#[tokio::main]`'s `main`, a call works but holds
//! that thread until it returns; the runtime's workers carry on.)

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Wake, Waker};
use std::time::Duration;

use futures::{Stream, StreamExt};

mod session;
mod turns;

pub use session::ready::WaitReady;
pub use session::{Say, Session, SessionBuilder, Subscription, Think, Update, WeakSession};
pub use turns::{ListTurns, TurnIter};

use crate::api;
use crate::transport::{Resolver, Response, RetryPolicy};
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
/// for agent in client.agents().list().channel("room-42").iter() {
///     println!("{}", agent?.agent_id);
/// }
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

/// Whether this thread runs a Tokio scheduler: a multi-thread runtime's worker, or the thread
/// inside a current-thread runtime's `block_on`. Threads of `spawn_blocking`, plain threads and
/// `block_in_place` sections run none, and may block.
///
/// Tokio has no public query for this, but `yield_now` shows it: off a scheduler it wakes its
/// waker at once, on one it hands the waker to the scheduler for later.
/// `tests/blocking_threads.rs` pins this for every kind of thread.
fn on_scheduler_thread() -> bool {
    struct Woken(AtomicBool);
    impl Wake for Woken {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    if tokio::runtime::Handle::try_current().is_err() {
        return false;
    }
    let woken = Arc::new(Woken(AtomicBool::new(false)));
    let waker = Waker::from(Arc::clone(&woken));
    let mut probe = pin!(tokio::task::yield_now());
    if probe
        .as_mut()
        .poll(&mut Context::from_waker(&waker))
        .is_ready()
    {
        return false;
    }
    !woken.0.load(Ordering::SeqCst)
}

fn may_block() -> Result<()> {
    if on_scheduler_thread() {
        return Err(Error::BlockingInAsync);
    }
    Ok(())
}

/// Configures a [`Client`]: the same options as [`crate::ClientBuilder`].
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct ClientBuilder(crate::ClientBuilder);

impl ClientBuilder {
    /// Reads the `SHENGWANG_*` variables, like [`crate::ClientBuilder::from_env`].
    pub fn from_env() -> Result<Self> {
        crate::ClientBuilder::from_env().map(ClientBuilder)
    }
    /// Applies any [`crate::ClientBuilder`] setting: `.configure(|b| b.timeout(d))`.
    pub fn configure(self, f: impl FnOnce(crate::ClientBuilder) -> crate::ClientBuilder) -> Self {
        ClientBuilder(f(self.0))
    }
    /// See [`crate::ClientBuilder::area`].
    pub fn area(self, area: crate::Area) -> Self {
        self.configure(|b| b.area(area))
    }
    /// See [`crate::ClientBuilder::app_id`].
    pub fn app_id(self, app_id: impl Into<String>) -> Self {
        self.configure(|b| b.app_id(app_id))
    }
    /// See [`crate::ClientBuilder::app_certificate`].
    pub fn app_certificate(self, certificate: impl Into<String>) -> Self {
        self.configure(|b| b.app_certificate(certificate))
    }
    /// See [`crate::ClientBuilder::basic`].
    pub fn basic(self, customer_id: impl Into<String>, customer_secret: impl Into<String>) -> Self {
        self.configure(|b| b.basic(customer_id, customer_secret))
    }
    /// See [`crate::ClientBuilder::token`].
    pub fn token(self, token: impl Into<String>) -> Self {
        self.configure(|b| b.token(token))
    }
    /// See [`crate::ClientBuilder::base_url`].
    pub fn base_url(self, url: impl Into<String>) -> Self {
        self.configure(|b| b.base_url(url))
    }
    /// See [`crate::ClientBuilder::timeout`].
    pub fn timeout(self, timeout: Duration) -> Self {
        self.configure(|b| b.timeout(timeout))
    }
    /// See [`crate::ClientBuilder::attempt_timeout`].
    pub fn attempt_timeout(self, timeout: Duration) -> Self {
        self.configure(|b| b.attempt_timeout(timeout))
    }
    /// See [`crate::ClientBuilder::connect_timeout`].
    pub fn connect_timeout(self, timeout: Duration) -> Self {
        self.configure(|b| b.connect_timeout(timeout))
    }
    /// See [`crate::ClientBuilder::retry`].
    pub fn retry(self, policy: RetryPolicy) -> Self {
        self.configure(|b| b.retry(policy))
    }
    /// See [`crate::ClientBuilder::header`].
    pub fn header(self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.configure(|b| b.header(name, value))
    }
    /// See [`crate::ClientBuilder::user_agent_suffix`].
    pub fn user_agent_suffix(self, suffix: impl Into<String>) -> Self {
        self.configure(|b| b.user_agent_suffix(suffix))
    }
    /// See [`crate::ClientBuilder::resolver`].
    pub fn resolver(self, resolver: Arc<dyn Resolver>) -> Self {
        self.configure(|b| b.resolver(resolver))
    }
    /// See [`crate::ClientBuilder::http_client`]: an async `reqwest::Client`, driven on this
    /// client's runtime.
    pub fn http_client(self, client: reqwest::Client) -> Self {
        self.configure(|b| b.http_client(client))
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
        may_block()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("shengwang-agent-blocking")
            .enable_all()
            .build()
            .map_err(|e| Error::Config(format!("cannot start the client runtime: {e}")))?;
        // reqwest's client must be created inside the runtime that drives it.
        let inner = {
            let _entered = runtime.enter();
            self.0.build()?
        };
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
        ClientBuilder::from_env()?.build()
    }

    /// Runs `fut` to completion on the calling thread, with this client's runtime driving its
    /// I/O and timers. Not `Runtime::block_on`: that panics on any thread that has entered a
    /// runtime, `spawn_blocking` threads of a `#[tokio::main]` program included.
    pub(crate) fn block_on<T>(&self, fut: impl Future<Output = Result<T>>) -> Result<T> {
        may_block()?;
        match &self.runtime.0 {
            Some(rt) => {
                let _entered = rt.enter();
                futures::executor::block_on(fut)
            }
            None => Err(Error::Config("the client runtime has shut down".into())),
        }
    }

    /// The async client underneath (same pool, same configuration).
    pub fn as_async(&self) -> &crate::Client {
        &self.inner
    }

    /// See [`crate::Client::app_id`].
    pub fn app_id(&self) -> &str {
        self.inner.app_id()
    }

    /// See [`crate::Client::auth_mode`].
    pub fn auth_mode(&self) -> &'static str {
        self.inner.auth_mode()
    }

    /// See [`crate::Client::current_base_url`].
    pub fn current_base_url(&self) -> String {
        self.inner.current_base_url()
    }

    /// See [`crate::Client::next_region`].
    pub fn next_region(&self) {
        self.inner.next_region()
    }

    /// See [`crate::Client::select_best_domain`]; `Ok(None)` as there, and
    /// [`Error::BlockingInAsync`] on an async runtime's thread.
    pub fn select_best_domain(&self) -> Result<Option<&'static str>> {
        self.block_on(async { Ok(self.inner.select_best_domain().await) })
    }

    /// See [`crate::Client::shutdown`]: stops the agent of every live session of this
    /// client within `deadline`, blocking; call it before the process exits.
    pub fn shutdown(
        &self,
        deadline: std::time::Duration,
    ) -> Result<crate::agentkit::ShutdownReport> {
        self.block_on(async { Ok(self.inner.shutdown(deadline).await) })
    }

    /// See [`crate::Client::agents`].
    pub fn agents(&self) -> Agents<'_> {
        Agents {
            client: self,
            inner: self.inner.agents(),
        }
    }

    /// See [`crate::Client::telephony`].
    pub fn telephony(&self) -> Telephony<'_> {
        Telephony {
            client: self,
            inner: self.inner.telephony(),
        }
    }

    /// See [`crate::Client::phone_numbers`].
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

/// The items of a list, page by page as the iteration reaches them; from `list().iter()`.
/// A failed page is one `Err` item, and the iteration ends after it.
#[must_use = "iterators do nothing unless iterated"]
pub struct Iter<'c, T> {
    client: &'c Client,
    stream: Pin<Box<dyn Stream<Item = Result<T>> + Send + 'c>>,
    failed: bool,
}

impl<T> std::fmt::Debug for Iter<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Iter").finish_non_exhaustive()
    }
}

impl<T> Iterator for Iter<'_, T> {
    type Item = Result<T>;
    fn next(&mut self) -> Option<Result<T>> {
        if self.failed {
            return None;
        }
        let item = match self.client.block_on(async { Ok(self.stream.next().await) }) {
            Ok(item) => item,
            Err(e) => Some(Err(e)),
        };
        self.failed = matches!(item, Some(Err(_)));
        item
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
    /// See [`api::Agents::retry`].
    #[must_use]
    pub fn retry(self, policy: RetryPolicy) -> Self {
        Agents {
            client: self.client,
            inner: self.inner.retry(policy),
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
    /// See [`api::Agents::list`]; ends in [`ListAgents::page`] or [`ListAgents::iter`].
    pub fn list(&self) -> ListAgents<'c> {
        ListAgents {
            client: self.client,
            inner: self.inner.list(),
        }
    }
}

/// Blocking [`api::ListAgents`].
#[derive(Debug, Clone)]
#[must_use]
pub struct ListAgents<'c> {
    client: &'c Client,
    inner: api::ListAgents<'c>,
}

impl<'c> ListAgents<'c> {
    fn map(self, f: impl FnOnce(api::ListAgents<'c>) -> api::ListAgents<'c>) -> Self {
        ListAgents {
            client: self.client,
            inner: f(self.inner),
        }
    }
    /// See [`api::ListAgents::channel`].
    pub fn channel(self, channel: impl Into<String>) -> Self {
        self.map(|l| l.channel(channel))
    }
    /// See [`api::ListAgents::state`].
    pub fn state(self, state: AgentStatus) -> Self {
        self.map(|l| l.state(state))
    }
    /// See [`api::ListAgents::from_time`].
    pub fn from_time(self, secs: f64) -> Self {
        self.map(|l| l.from_time(secs))
    }
    /// See [`api::ListAgents::to_time`].
    pub fn to_time(self, secs: f64) -> Self {
        self.map(|l| l.to_time(secs))
    }
    /// See [`api::ListAgents::limit`].
    pub fn limit(self, limit: u32) -> Self {
        self.map(|l| l.limit(limit))
    }
    /// See [`api::ListAgents::cursor`].
    pub fn cursor(self, cursor: impl Into<String>) -> Self {
        self.map(|l| l.cursor(cursor))
    }
    /// See [`api::ListAgents::page_with_response`].
    pub fn page_with_response(&self) -> Result<Response<Page<AgentSummary>>> {
        self.client.block_on(self.inner.page_with_response())
    }
    /// See [`api::ListAgents::page`].
    pub fn page(&self) -> Result<Page<AgentSummary>> {
        self.client.block_on(self.inner.page())
    }
    /// Every matching agent, fetching pages as the iteration reaches them (the blocking
    /// [`api::ListAgents::stream`]).
    pub fn iter(self) -> Iter<'c, AgentSummary> {
        Iter {
            client: self.client,
            stream: Box::pin(self.inner.stream()),
            failed: false,
        }
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
    /// See [`api::Telephony::list`]; ends in [`ListCalls::page`] or [`ListCalls::iter`].
    pub fn list(&self) -> ListCalls<'c> {
        ListCalls {
            client: self.client,
            inner: self.inner.list(),
        }
    }
}

/// Blocking [`api::ListCalls`].
#[derive(Debug, Clone)]
#[must_use]
pub struct ListCalls<'c> {
    client: &'c Client,
    inner: api::ListCalls<'c>,
}

impl<'c> ListCalls<'c> {
    fn map(self, f: impl FnOnce(api::ListCalls<'c>) -> api::ListCalls<'c>) -> Self {
        ListCalls {
            client: self.client,
            inner: f(self.inner),
        }
    }
    /// See [`api::ListCalls::number`].
    pub fn number(self, number: impl Into<String>) -> Self {
        self.map(|l| l.number(number))
    }
    /// See [`api::ListCalls::kind`].
    pub fn kind(self, kind: CallType) -> Self {
        self.map(|l| l.kind(kind))
    }
    /// See [`api::ListCalls::from_time`].
    pub fn from_time(self, secs: u64) -> Self {
        self.map(|l| l.from_time(secs))
    }
    /// See [`api::ListCalls::to_time`].
    pub fn to_time(self, secs: u64) -> Self {
        self.map(|l| l.to_time(secs))
    }
    /// See [`api::ListCalls::limit`].
    pub fn limit(self, limit: u32) -> Self {
        self.map(|l| l.limit(limit))
    }
    /// See [`api::ListCalls::cursor`].
    pub fn cursor(self, cursor: impl Into<String>) -> Self {
        self.map(|l| l.cursor(cursor))
    }
    /// See [`api::ListCalls::page`].
    pub fn page(&self) -> Result<Page<CallInfo>> {
        self.client.block_on(self.inner.page())
    }
    /// Every matching call, fetching pages as the iteration reaches them (the blocking
    /// [`api::ListCalls::stream`]).
    pub fn iter(self) -> Iter<'c, CallInfo> {
        Iter {
            client: self.client,
            stream: Box::pin(self.inner.stream()),
            failed: false,
        }
    }
}

/// Blocking [`api::PhoneNumbers`].
#[derive(Debug, Clone)]
pub struct PhoneNumbers<'c> {
    client: &'c Client,
    inner: api::PhoneNumbers<'c>,
}

impl<'c> PhoneNumbers<'c> {
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
