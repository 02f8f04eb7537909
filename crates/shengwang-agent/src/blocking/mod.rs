//! Blocking flavour: the async client driven on a runtime this client owns, for code that is
//! not async. Same names and the same methods as the async API, no logic of its own
//! (`page()`/`iter()` where the async lists have `page()`/`stream()`, and `turn_iter()` where
//! the async session has `turn_stream()`).
//!
//! It works from any plain thread and from `tokio::task::spawn_blocking`. On a thread that runs
//! async tasks (a runtime's worker, or the thread of a current-thread runtime) every call
//! returns [`Error::BlockingInAsync`] without sending anything, because waiting there would
//! stall that runtime; use [`crate::Client`] there. (Called directly in the body of a
//! multi-thread runtime's `block_on`, such as `#[tokio::main]`'s `main`, a call works but holds
//! that thread until it returns; the runtime's workers carry on.)
//!
//! Every method that only forwards is generated from a list of signatures by one macro
//! (`mirror.rs`); `tests/blocking_mirror.rs` checks, on the public API as rustdoc sees it,
//! that each async method has its blocking twin.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Wake, Waker};
use std::time::Duration;

mod hub;
mod mirror;
mod rest;
mod session;

pub use hub::SessionHub;
pub use mirror::Iter;
pub use rest::{Agents, ListAgents, ListCalls, ListTurns, PhoneNumbers, Telephony, TurnIter};
pub use session::{
    Say, Session, SessionBuilder, Subscription, Think, Update, WaitReady, WeakSession,
};

use crate::transport::{Resolver, RetryPolicy};
use crate::{Error, Result};
use mirror::mirror;

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
pub struct ClientBuilder {
    inner: crate::ClientBuilder,
}

mirror! {
    impl[] ClientBuilder {
        block_on: (),
        lend: ();
        /// See [`crate::ClientBuilder::area`].
        chain fn area(self, area: crate::Area) -> Self;
        /// See [`crate::ClientBuilder::app_id`].
        chain fn app_id(self, app_id: impl Into<String>) -> Self;
        /// See [`crate::ClientBuilder::app_certificate`].
        chain fn app_certificate(self, certificate: impl Into<String>) -> Self;
        /// See [`crate::ClientBuilder::basic`].
        chain fn basic(self, customer_id: impl Into<String>, customer_secret: impl Into<String>)
            -> Self;
        /// See [`crate::ClientBuilder::token`].
        chain fn token(self, token: impl Into<String>) -> Self;
        /// See [`crate::ClientBuilder::base_url`].
        chain fn base_url(self, url: impl Into<String>) -> Self;
        /// See [`crate::ClientBuilder::timeout`].
        chain fn timeout(self, timeout: Duration) -> Self;
        /// See [`crate::ClientBuilder::attempt_timeout`].
        chain fn attempt_timeout(self, timeout: Duration) -> Self;
        /// See [`crate::ClientBuilder::connect_timeout`].
        chain fn connect_timeout(self, timeout: Duration) -> Self;
        /// See [`crate::ClientBuilder::retry`].
        chain fn retry(self, policy: RetryPolicy) -> Self;
        /// See [`crate::ClientBuilder::header`].
        chain fn header(self, name: impl Into<String>, value: impl Into<String>) -> Self;
        /// See [`crate::ClientBuilder::user_agent_suffix`].
        chain fn user_agent_suffix(self, suffix: impl Into<String>) -> Self;
        /// See [`crate::ClientBuilder::resolver`].
        chain fn resolver(self, resolver: Arc<dyn Resolver>) -> Self;
        /// See [`crate::ClientBuilder::http_client`]: an async `reqwest::Client`, driven on
        /// this client's runtime.
        chain fn http_client(self, client: reqwest::Client) -> Self;
        /// See [`crate::ClientBuilder::add_root_certificate`].
        chain fn add_root_certificate(self, pem: impl AsRef<[u8]>) -> Self;
        /// See [`crate::ClientBuilder::session_store`].
        chain fn session_store(self, store: Arc<dyn crate::agentkit::SessionStore>) -> Self;
        /// See [`crate::ClientBuilder::http2`].
        chain fn http2(self, enabled: bool) -> Self;
        /// See [`crate::ClientBuilder::trace_channels`].
        chain fn trace_channels(self, on: bool) -> Self;
        /// See [`crate::ClientBuilder::meter`] (feature `otel`).
        #[cfg(feature = "otel")]
        chain fn meter(self, meter: opentelemetry::metrics::Meter) -> Self;
    }
}

impl ClientBuilder {
    /// Reads the `SHENGWANG_*` variables, like [`crate::ClientBuilder::from_env`].
    pub fn from_env() -> Result<Self> {
        crate::ClientBuilder::from_env().map(|inner| ClientBuilder { inner })
    }
    /// Applies any [`crate::ClientBuilder`] setting: `.configure(|b| b.timeout(d))`.
    pub fn configure(self, f: impl FnOnce(crate::ClientBuilder) -> crate::ClientBuilder) -> Self {
        ClientBuilder {
            inner: f(self.inner),
        }
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
            self.inner.build()?
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
}

mirror! {
    impl[] Client {
        block_on: self,
        lend: self;
        /// See [`crate::Client::app_id`].
        get fn app_id(&self) -> &str;
        /// See [`crate::Client::auth_mode`].
        get fn auth_mode(&self) -> &'static str;
        /// See [`crate::Client::current_base_url`].
        get fn current_base_url(&self) -> String;
        /// See [`crate::Client::next_region`].
        get fn next_region(&self);
        /// See [`crate::Client::select_best_domain`]; `Ok(None)` as there, and
        /// [`Error::BlockingInAsync`] on an async runtime's thread.
        block_ok fn select_best_domain(&self) -> Result<Option<&'static str>>;
        /// See [`crate::Client::agents`].
        wrap fn agents(&self) -> Agents<'_>;
        /// See [`crate::Client::telephony`].
        wrap fn telephony(&self) -> Telephony<'_>;
        /// See [`crate::Client::phone_numbers`].
        wrap fn phone_numbers(&self) -> PhoneNumbers<'_>;
        /// See [`crate::Client::stop_agent`].
        block fn stop_agent(&self, agent_id: &str) -> Result<()>;
    }
}
