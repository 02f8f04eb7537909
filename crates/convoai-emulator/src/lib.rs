//! A local, stateful emulator of the ConvoAI REST API.
//!
//! It serves every endpoint of the service under `/api/conversational-ai-agent` and
//! `/cn/api/conversational-ai-agent`, authenticates requests for real (Basic customer
//! credentials or AccessToken2 tokens verified with `shengwang_agent::token`), validates bodies
//! the way the service documents, keeps agents, calls and phone numbers in memory, and injects
//! faults on demand. With [`EmulatorBuilder::tls`] it serves HTTPS (HTTP/2 and HTTP/1.1) with a
//! certificate authority made at start. Tests start it in-process on an ephemeral loopback port:
//!
//! ```no_run
//! # async fn demo() -> Result<(), convoai_emulator::EmulatorError> {
//! let emu = convoai_emulator::Emulator::builder().spawn().await?;
//! println!("ConvoAI API at {}", emu.base_url());
//! println!("dashboard at {}", emu.ui_url());
//! # Ok(()) }
//! ```
//!
//! A web dashboard at `/_emulator/ui` shows the agents, what they said, the requests that came
//! in (bodies with secrets redacted) and the fault settings, live. It is built only on the
//! loopback-only admin API under `/_emulator/`, so a script can do whatever the page does.
#![warn(missing_docs)]

mod admin;
mod api;
mod calls;
pub mod cli;
mod clock;
mod error;
mod fault;
mod notify;
mod readiness;
mod reqlog;
mod state;
mod stats;
mod tls;
mod turns;
mod ui;
mod validate;
mod verified;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use shengwang_agent::token::Validation;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tower::ServiceExt;

pub use calls::InboundCall;
pub use clock::Clock;
pub use fault::{Fault, FaultRule};
pub use notify::{
    CallbackFault, CallbackFaultRule, CallbackRecord, DeliveryAttempt, DeliveryState, WebhookConfig,
};
pub use state::{AgentRecord, AgentStatus, LoggedRequest, RequestCount, SecondStats};
pub use stats::ServerStats;

use crate::error::ApiError;
use crate::fault::Faults;
use crate::state::State;

/// Development app id, used when none is configured.
pub const DEV_APP_ID: &str = "0123456789abcdef0123456789abcdef";
/// Development app certificate, used when none is configured.
pub const DEV_APP_CERTIFICATE: &str = "fedcba9876543210fedcba9876543210";
/// Development customer id for Basic auth.
pub const DEV_CUSTOMER_ID: &str = "dev-customer";
/// Development customer secret for Basic auth.
pub const DEV_CUSTOMER_SECRET: &str = "dev-secret";

/// Why the emulator could not start, or refused what a handle method asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmulatorError {
    /// A handle method was refused, with the status and detail the admin API would answer.
    #[error("refused ({status}): {message}")]
    Refused {
        /// The HTTP status the admin API answers with.
        status: u16,
        /// Why.
        message: String,
    },
    /// The app id or certificate is not 32 hexadecimal characters, or another setting is off.
    #[error("invalid emulator configuration: {0}")]
    Config(String),
    /// The address could not be bound: the port is taken, or the address is not local.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why binding failed (e.g. "address already in use").
        source: std::io::Error,
    },
    /// Building the runtime or reading the bound address failed.
    #[error("cannot start the emulator: {0}")]
    Io(#[from] std::io::Error),
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, EmulatorError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| EmulatorError::Bind { addr, source })
}

pub(crate) struct Shared {
    pub app_id: String,
    pub tokens: Validation,
    pub basic_credentials: Vec<u8>,
    pub clock: Clock,
    pub state: Mutex<State>,
    faults: Mutex<Faults>,
    latency_ms: AtomicU64,
    max_agents: AtomicUsize,
    pub counters: stats::Counters,
    pub notifier: Arc<notify::Notifier>,
    /// Header tokens that verified already.
    pub verified: verified::VerifiedTokens,
}

impl Shared {
    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(|p| p.into_inner())
    }
    pub fn set_latency(&self, latency: Duration) {
        self.latency_ms
            .store(latency.as_millis() as u64, Ordering::Relaxed);
    }
    pub fn max_agents(&self) -> usize {
        self.max_agents.load(Ordering::Relaxed)
    }
    pub fn count(&self, endpoint: String, status: u16) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        *st.counts.entry((endpoint, status)).or_default() += 1;
    }
    /// Running → FAILED with `reason` as its message, as when the agent hits an error.
    /// Returns false when it was not running.
    pub fn fail_agent(&self, id: &str, reason: &str) -> bool {
        let now_ms = self.clock.now_ms();
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        st.expire_idle(now_ms / 1000);
        st.fail(id, now_ms, reason)
    }

    pub fn reset(&self) {
        {
            let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
            // The log's sequence goes on, so a page reading "entries after N" is not confused.
            let last_seq = st.last_seq;
            let outbox = st.outbox.clone();
            *st = State {
                outbox,
                last_seq,
                ..State::default()
            };
        }
        self.notifier.clear();
        let mut f = self.faults();
        f.rules.clear();
        f.rate = 0.0;
        self.latency_ms.store(0, Ordering::Relaxed);
        self.counters.reset();
    }
}

/// Entry point: `Emulator::builder()`.
#[derive(Debug)]
pub struct Emulator;

impl Emulator {
    /// A builder with development defaults, listening on 127.0.0.1 at an ephemeral port.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }
}

/// Configures and starts an emulator.
#[must_use]
#[derive(Clone)]
pub struct EmulatorBuilder {
    host: IpAddr,
    port: u16,
    app_id: String,
    app_certificate: String,
    customer_id: String,
    customer_secret: String,
    fault_rate: f64,
    seed: u64,
    latency: Duration,
    fault_delay: Duration,
    idle_tick: Duration,
    max_agents: usize,
    clock: Clock,
    tls: bool,
    webhook: WebhookConfig,
    starting: Duration,
}

impl std::fmt::Debug for EmulatorBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorBuilder")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("app_id", &self.app_id)
            .field("app_certificate", &"[redacted]")
            .field("customer_id", &self.customer_id)
            .field("customer_secret", &"[redacted]")
            .field("fault_rate", &self.fault_rate)
            .field("tls", &self.tls)
            .field("webhook", &self.webhook)
            .finish_non_exhaustive()
    }
}

impl Default for EmulatorBuilder {
    fn default() -> Self {
        EmulatorBuilder {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            app_id: DEV_APP_ID.into(),
            app_certificate: DEV_APP_CERTIFICATE.into(),
            customer_id: DEV_CUSTOMER_ID.into(),
            customer_secret: DEV_CUSTOMER_SECRET.into(),
            fault_rate: 0.0,
            seed: 0,
            latency: Duration::ZERO,
            fault_delay: Duration::from_millis(20),
            idle_tick: Duration::from_secs(1),
            max_agents: 100_000,
            clock: Clock::system(),
            tls: false,
            webhook: WebhookConfig::default(),
            starting: Duration::ZERO,
        }
    }
}

impl EmulatorBuilder {
    /// Address to listen on (default 127.0.0.1).
    pub fn host(mut self, host: IpAddr) -> Self {
        self.host = host;
        self
    }
    /// Port to listen on (default 0: ephemeral).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }
    /// The project's app id (32 hex).
    pub fn app_id(mut self, app_id: impl Into<String>) -> Self {
        self.app_id = app_id.into();
        self
    }
    /// The app certificate tokens must be signed with (32 hex).
    pub fn app_certificate(mut self, certificate: impl Into<String>) -> Self {
        self.app_certificate = certificate.into();
        self
    }
    /// Customer id and secret accepted in `Basic` auth.
    pub fn customer(mut self, id: impl Into<String>, secret: impl Into<String>) -> Self {
        self.customer_id = id.into();
        self.customer_secret = secret.into();
        self
    }
    /// Probability (0..=1) that a request gets a random fault.
    pub fn fault_rate(mut self, rate: f64) -> Self {
        self.fault_rate = rate;
        self
    }
    /// Seed of the random fault sequence.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Added to every API request.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }
    /// Length of a random `Delay` fault (default 20 ms).
    pub fn fault_delay(mut self, delay: Duration) -> Self {
        self.fault_delay = delay;
        self
    }
    /// How often idle timeouts are checked in the background (they are also checked on every
    /// request).
    pub fn idle_tick(mut self, tick: Duration) -> Self {
        self.idle_tick = tick;
        self
    }
    /// Most agents that may run at once (422 `ConcurrencyLimitExceeded` beyond).
    pub fn max_agents(mut self, max: usize) -> Self {
        self.max_agents = max;
        self
    }
    /// The clock (default: system); use [`Clock::manual`] to move time in tests.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }
    /// Serve HTTPS instead of plain HTTP (default off). A certificate authority and a server
    /// certificate for `localhost`, `127.0.0.1` and `::1` are made at start; clients trust
    /// [`EmulatorHandle::ca_pem`] (or the file at [`EmulatorHandle::ca_path`]). ALPN offers
    /// HTTP/2 and HTTP/1.1. Plain HTTP serves HTTP/1.1 and HTTP/2 with prior knowledge.
    pub fn tls(mut self, enabled: bool) -> Self {
        self.tls = enabled;
        self
    }

    /// Sends notification callbacks to `url`, signed with `secret` (both signature headers).
    pub fn webhook(mut self, url: impl Into<String>, secret: impl Into<String>) -> Self {
        self.webhook.url = Some(url.into());
        self.webhook.secret = secret.into();
        self
    }
    /// How long a callback waits for the receiver's 200 before it is resent (default 10 s,
    /// as the service).
    pub fn webhook_timeout(mut self, timeout: Duration) -> Self {
        self.webhook.timeout = timeout;
        self
    }
    /// Growth of the gaps between resends (default 1 s; the first resend goes at once).
    pub fn webhook_retry_delay(mut self, delay: Duration) -> Self {
        self.webhook.retry_delay = delay;
        self
    }

    fn shared(&self) -> Result<Arc<Shared>, EmulatorError> {
        if !(0.0..=1.0).contains(&self.fault_rate) {
            return Err(EmulatorError::Config(
                "fault rate must be between 0 and 1".into(),
            ));
        }
        let tokens = Validation::new(&self.app_id, &self.app_certificate)
            .map_err(|e| EmulatorError::Config(e.to_string()))?;
        let mut faults = Faults::new(self.fault_rate, self.seed);
        faults.delay = self.fault_delay;
        faults.starting = self.starting;
        if let Some(url) = &self.webhook.url {
            notify::check_url(url).map_err(EmulatorError::Config)?;
        }
        let notifier = Arc::new(notify::Notifier::new(
            self.webhook.clone(),
            self.clock.clone(),
        ));
        let state = State {
            outbox: notifier.outbox(),
            ..State::default()
        };
        Ok(Arc::new(Shared {
            app_id: self.app_id.clone(),
            tokens,
            basic_credentials: format!("{}:{}", self.customer_id, self.customer_secret)
                .into_bytes(),
            clock: self.clock.clone(),
            state: Mutex::new(state),
            faults: Mutex::new(faults),
            latency_ms: AtomicU64::new(self.latency.as_millis() as u64),
            max_agents: AtomicUsize::new(self.max_agents),
            counters: stats::Counters::default(),
            notifier,
            verified: Default::default(),
        }))
    }

    /// The emulator's routes as an axum `Router`, without a listener: for driving it through
    /// `tower::ServiceExt::oneshot` in tests and fuzzers. Faults and latency apply only when
    /// serving; the admin API is loopback-only, so it needs a `ConnectInfo` on the request.
    pub fn router(self) -> Result<axum::Router, EmulatorError> {
        Ok(api::router(self.shared()?))
    }

    /// Starts serving on the current tokio runtime.
    pub async fn spawn(self) -> Result<EmulatorHandle, EmulatorError> {
        let shared = self.shared()?;
        let tls = self.make_tls()?;
        let listener = bind(SocketAddr::new(self.host, self.port)).await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = oneshot::channel();
        shared.notifier.set_running(true);
        let acceptor = tls.as_ref().map(|t| t.acceptor.clone());
        let task = tokio::spawn(serve(
            listener,
            acceptor,
            shared.clone(),
            rx,
            self.idle_tick,
        ));
        Ok(EmulatorHandle {
            addr,
            shared,
            credentials: self.credentials(),
            tls,
            shutdown: Some(tx),
            running: Running::Task(task),
        })
    }

    /// Starts serving on a runtime of its own, on a background thread; for synchronous
    /// tests, blocking clients and the CLI. Dropping the handle stops it.
    pub fn start(self) -> Result<EmulatorHandle, EmulatorError> {
        let shared = self.shared()?;
        let tls = self.make_tls()?;
        let acceptor = tls.as_ref().map(|t| t.acceptor.clone());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("convoai-emulator")
            .enable_all()
            .build()?;
        let listener = runtime.block_on(bind(SocketAddr::new(self.host, self.port)))?;
        let addr = listener.local_addr()?;
        let (tx, rx) = oneshot::channel();
        let serving = shared.clone();
        shared.notifier.set_running(true);
        let tick = self.idle_tick;
        let thread = std::thread::Builder::new()
            .name("convoai-emulator".into())
            .spawn(move || runtime.block_on(serve(listener, acceptor, serving, rx, tick)))?;
        Ok(EmulatorHandle {
            addr,
            shared,
            credentials: self.credentials(),
            tls,
            shutdown: Some(tx),
            running: Running::Thread(Some(thread)),
        })
    }

    fn make_tls(&self) -> Result<Option<tls::Tls>, EmulatorError> {
        self.tls.then(|| tls::generate(self.host)).transpose()
    }

    fn credentials(&self) -> [String; 4] {
        [
            self.app_id.clone(),
            self.app_certificate.clone(),
            self.customer_id.clone(),
            self.customer_secret.clone(),
        ]
    }
}

enum Running {
    Task(tokio::task::JoinHandle<()>),
    Thread(Option<std::thread::JoinHandle<()>>),
}

/// A running emulator. Dropping it shuts the server down and closes its connections.
pub struct EmulatorHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    credentials: [String; 4],
    tls: Option<tls::Tls>,
    shutdown: Option<oneshot::Sender<()>>,
    running: Running,
}

impl std::fmt::Debug for EmulatorHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorHandle")
            .field("addr", &self.addr)
            .field("app_id", &self.credentials[0])
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

impl EmulatorHandle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// `http://HOST:PORT`, or `https://HOST:PORT` in TLS mode.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }
    /// The CA certificate (PEM) that signed the server certificate, in TLS mode; pass it to
    /// `ClientBuilder::add_root_certificate`.
    pub fn ca_pem(&self) -> Option<&str> {
        self.tls.as_ref().map(|t| t.ca_pem.as_str())
    }
    /// A file holding [`ca_pem`](Self::ca_pem), in TLS mode (for `convoai --ca-cert`,
    /// `SSL_CERT_FILE` and the like); removed when the emulator stops.
    pub fn ca_path(&self) -> Option<&std::path::Path> {
        self.tls.as_ref().map(|t| t.ca_file.path())
    }
    /// Connections accepted, TLS handshakes completed and requests per HTTP version since
    /// start (or the last [`reset`](Self::reset)).
    pub fn stats(&self) -> ServerStats {
        self.shared.counters.snapshot()
    }
    /// The global-area base URL: `http://HOST:PORT/api/conversational-ai-agent`.
    pub fn base_url(&self) -> String {
        format!("{}/api/conversational-ai-agent", self.url())
    }
    /// The CN base URL: `http://HOST:PORT/cn/api/conversational-ai-agent`.
    pub fn cn_base_url(&self) -> String {
        format!("{}/cn/api/conversational-ai-agent", self.url())
    }
    /// The web dashboard: `http://HOST:PORT/_emulator/ui`.
    pub fn ui_url(&self) -> String {
        format!("{}/_emulator/ui", self.url())
    }
    /// The configured app id.
    pub fn app_id(&self) -> &str {
        &self.credentials[0]
    }
    /// The configured app certificate.
    pub fn app_certificate(&self) -> &str {
        &self.credentials[1]
    }
    /// The configured customer id.
    pub fn customer_id(&self) -> &str {
        &self.credentials[2]
    }
    /// The configured customer secret.
    pub fn customer_secret(&self) -> &str {
        &self.credentials[3]
    }
    /// The emulator's clock.
    pub fn clock(&self) -> &Clock {
        &self.shared.clock
    }

    /// Every agent created since start (or the last reset), in creation order.
    pub fn agents(&self) -> Vec<AgentRecord> {
        Self::agents_of(&self.shared)
    }

    pub(crate) fn agents_of(shared: &Shared) -> Vec<AgentRecord> {
        let mut st = shared.state.lock().unwrap_or_else(|p| p.into_inner());
        st.expire_idle(shared.clock.now());
        st.order
            .iter()
            .filter_map(|id| st.agents.get(id))
            .map(|a| a.record.clone())
            .collect()
    }

    /// Requests answered per route template and status, sorted.
    pub fn request_counts(&self) -> Vec<RequestCount> {
        Self::counts_of(&self.shared)
    }

    pub(crate) fn counts_of(shared: &Shared) -> Vec<RequestCount> {
        let st = shared.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut v: Vec<RequestCount> = st
            .counts
            .iter()
            .map(|((endpoint, status), count)| RequestCount {
                endpoint: endpoint.clone(),
                status: *status,
                count: *count,
            })
            .collect();
        v.sort_by(|a, b| (&a.endpoint, a.status).cmp(&(&b.endpoint, b.status)));
        v
    }

    /// The most recent API requests (up to 500), oldest first.
    pub fn recent_requests(&self) -> Vec<LoggedRequest> {
        let st = self.shared.state.lock().unwrap_or_else(|p| p.into_inner());
        st.log.iter().cloned().collect()
    }

    /// Sets the probability of a random fault.
    pub fn set_fault_rate(&self, rate: f64) {
        self.shared.faults().rate = rate.clamp(0.0, 1.0);
    }
    /// Sets the latency added to every API request.
    pub fn set_latency(&self, latency: Duration) {
        self.shared.set_latency(latency);
    }
    /// Queues a scripted fault; rules apply in order, before random faults.
    pub fn push_fault(&self, rule: FaultRule) {
        self.shared.faults().rules.push_back(rule);
    }
    /// Every notification callback sent (or being sent) since start or the last reset, oldest
    /// first; the last 1000 are kept.
    pub fn callbacks(&self) -> Vec<CallbackRecord> {
        self.shared.notifier.records()
    }
    /// Sends callbacks to `url` signed with `secret` from now on; `None` stops sending.
    pub fn set_webhook(&self, target: Option<(String, String)>) {
        let mut c = self.shared.notifier.config();
        match target {
            Some((url, secret)) => {
                c.url = Some(url);
                c.secret = secret;
            }
            None => c.url = None,
        }
        self.shared.notifier.set_config(c);
    }
    /// Replaces the whole callback configuration (target, secret, timeout, resend gaps).
    pub fn set_webhook_config(&self, config: WebhookConfig) {
        self.shared.notifier.set_config(config);
    }
    /// Queues a scripted callback fault.
    pub fn push_callback_fault(&self, rule: CallbackFaultRule) {
        self.shared.notifier.push_fault(rule);
    }
    /// Makes a running agent report a module error (an agent-error callback). False if no
    /// such agent runs.
    pub fn inject_agent_error(
        &self,
        agent_id: &str,
        module: &str,
        code: i64,
        message: &str,
    ) -> bool {
        admin::agent_error(&self.shared, agent_id, module, code, message)
    }
    /// Makes a running agent fail with `message` (e.g. `RTC connection error`): it stops as
    /// `FAILED` and the agent-left callback carries the message. False if no such agent runs.
    pub fn fail_agent(&self, agent_id: &str, message: &str) -> bool {
        admin::fail_agent(&self.shared, agent_id, message)
    }
    /// Sends a token-expiry warning for a running agent. False if no such agent runs.
    pub fn expire_token(&self, agent_id: &str) -> bool {
        admin::token_expiring(&self.shared, agent_id)
    }

    /// A phone call from `from_number` arrives at `to_number` (both E.164), a number
    /// imported with `inbound: true`: a new agent answers it (from the number's inbound
    /// pipeline, if set) and the `201` callbacks `START` and `ANSWERED` are sent; the call is
    /// listed as `inbound`. `labels` are echoed in its callbacks. Refused (404, 409, 422)
    /// for a number that is not imported or takes no inbound calls, or at the agent limit.
    /// Also `POST /_emulator/inbound-calls`.
    pub fn inbound_call(
        &self,
        to_number: &str,
        from_number: &str,
        labels: impl IntoIterator<Item = (String, String)>,
    ) -> Result<InboundCall, EmulatorError> {
        let labels: serde_json::Map<String, serde_json::Value> = labels
            .into_iter()
            .map(|(k, v)| (k, serde_json::Value::String(v)))
            .collect();
        calls::receive(&self.shared, to_number, from_number, Some(labels)).map_err(refused)
    }
    /// The caller of a live inbound call hangs up: `201 HANGUP`, and its agent leaves.
    /// False if no such call is live. Also `POST /_emulator/inbound-calls/{id}/hangup`.
    pub fn hang_up_inbound_call(&self, agent_id: &str) -> bool {
        calls::end(&self.shared, agent_id, calls::CallEnd::HangUp).is_ok()
    }
    /// A live inbound call is handed to a human: `201 TRANSFERED`, and its agent leaves.
    /// False if no such call is live. Also `POST /_emulator/inbound-calls/{id}/transfer`.
    pub fn transfer_inbound_call(&self, agent_id: &str) -> bool {
        calls::end(&self.shared, agent_id, calls::CallEnd::Transfer).is_ok()
    }

    /// Forgets every agent, call, number, count, connection counter and fault setting.
    pub fn reset(&self) {
        self.shared.reset();
    }

    /// Stops serving and waits for the server to finish.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match &mut self.running {
            Running::Task(task) => {
                let _ = task.await;
            }
            Running::Thread(thread) => {
                if let Some(t) = thread.take() {
                    let _ = tokio::task::spawn_blocking(move || t.join()).await;
                }
            }
        }
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match &mut self.running {
            Running::Task(task) => task.abort(),
            Running::Thread(thread) => {
                if let Some(t) = thread.take() {
                    let _ = t.join();
                }
            }
        }
    }
}

/// Closing the connection without an answer is how hyper is told to drop it.
#[derive(Debug)]
struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("fault injection: connection dropped")
    }
}

impl std::error::Error for DropConnection {}

async fn serve(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shared: Arc<Shared>,
    mut shutdown: oneshot::Receiver<()>,
    idle_tick: Duration,
) {
    let app = api::router(shared.clone());
    shared.notifier.set_running(true);
    let notifier = tokio::spawn(shared.notifier.clone().run());
    // Connections live in this set, so shutting down closes them all (a restart loses state
    // and connections, like a real server going away).
    let mut connections = tokio::task::JoinSet::new();
    let mut tick = tokio::time::interval(idle_tick.max(Duration::from_millis(10)));
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = tick.tick() => {
                let mut st = shared.state.lock().unwrap_or_else(|p| p.into_inner());
                st.expire_idle(shared.clock.now());
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                shared.counters.connection();
                let _ = stream.set_nodelay(true);
                let app = app.clone();
                let shared = shared.clone();
                let tls = tls.clone();
                connections.spawn(async move {
                    let svc = {
                        let shared = shared.clone();
                        hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                            req.extensions_mut().insert(ConnectInfo(peer));
                            handle(req, app.clone(), shared.clone())
                        })
                    };
                    // One builder for both protocols: ALPN picks over TLS; on plain HTTP an
                    // HTTP/2 preface (prior knowledge) is recognised.
                    let http = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                    match tls {
                        None => {
                            let _ = http.serve_connection(TokioIo::new(stream), svc).await;
                        }
                        Some(acceptor) => {
                            let handshake = tokio::time::timeout(tls::HANDSHAKE_TIMEOUT, acceptor.accept(stream));
                            let Ok(Ok(stream)) = handshake.await else { return };
                            shared.counters.handshake();
                            let _ = http.serve_connection(TokioIo::new(stream), svc).await;
                        }
                    }
                });
            }
        }
    }
    connections.shutdown().await;
    shared.notifier.set_running(false);
    notifier.abort();
}

async fn handle(
    req: hyper::Request<hyper::body::Incoming>,
    app: axum::Router,
    shared: Arc<Shared>,
) -> Result<Response, DropConnection> {
    let req = req.map(axum::body::Body::new);
    if req.uri().path().starts_with("/_emulator") {
        return Ok(app.oneshot(req).await.unwrap_or_else(|e| match e {}));
    }
    shared.counters.request(req.version());
    let (req, mut pending) = reqlog::arrive(req, &shared, api::MAX_BODY).await;
    let req = match req {
        Ok(req) => req,
        Err(e) => return Ok(pending.answered(render_error(e)).await),
    };
    let latency = shared.latency_ms.load(Ordering::Relaxed);
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    let fault = shared
        .faults()
        .pick(req.method().as_str(), req.uri().path());
    if let Some(f) = &fault {
        pending.fault(f);
    }
    let method = req.method().to_string();
    let injected = |shared: &Shared, status: u16| {
        shared.count(format!("{method} (fault)"), status);
    };
    let res = match fault {
        None => app.oneshot(req).await.unwrap_or_else(|e| match e {}),
        Some(Fault::Delay(d)) => {
            tokio::time::sleep(d).await;
            app.oneshot(req).await.unwrap_or_else(|e| match e {})
        }
        Some(Fault::Status {
            status,
            retry_after,
            retry_after_ms,
        }) => {
            injected(&shared, status);
            fault_response(status, retry_after, retry_after_ms)
        }
        Some(Fault::Drop) => {
            injected(&shared, 0);
            pending.dropped();
            return Err(DropConnection);
        }
        Some(Fault::StatusAfterStateChange { status }) => {
            let inner = app.oneshot(req).await.unwrap_or_else(|e| match e {});
            pending.inner(inner).await;
            injected(&shared, status);
            fault_response(status, None, None)
        }
        Some(Fault::Respond { status, body }) => {
            injected(&shared, status);
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            (status, body).into_response()
        }
        Some(Fault::DropAfterStateChange) => {
            let inner = app.oneshot(req).await.unwrap_or_else(|e| match e {});
            pending.inner(inner).await;
            injected(&shared, 0);
            pending.dropped();
            return Err(DropConnection);
        }
        Some(Fault::DelayAfterStateChange(d)) => {
            let inner = app.oneshot(req).await.unwrap_or_else(|e| match e {});
            tokio::time::sleep(d).await;
            inner
        }
    };
    Ok(pending.answered(res).await)
}

fn fault_response(
    status: u16,
    retry_after: Option<String>,
    retry_after_ms: Option<u64>,
) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let reason = match status.as_u16() {
        429 => "TooManyRequests",
        503 => "ServiceUnavailable",
        504 => "TaskOperationTimeout",
        _ => "InternalError",
    };
    let mut e = ApiError::new(status, reason, "injected fault");
    if let Some(secs) = retry_after {
        e.retry_after = Some((secs, retry_after_ms));
    } else if let Some(ms) = retry_after_ms {
        e.retry_after = Some(((ms / 1000).to_string(), Some(ms)));
    }
    render_error(e)
}

/// An error answered before the router: the JSON body and request id the router would add.
fn render_error(e: ApiError) -> Response {
    let id = format!("{:016x}", rand::random::<u64>());
    let mut res = (
        e.status,
        axum::Json(serde_json::json!({"detail": e.detail, "reason": e.reason, "request_id": id})),
    )
        .into_response();
    let mut headers_from = e.into_response();
    res.headers_mut()
        .extend(std::mem::take(headers_from.headers_mut()));
    if let Ok(v) = axum::http::HeaderValue::from_str(&id) {
        res.headers_mut().insert("x-request-id", v);
    }
    res
}

fn refused(e: ApiError) -> EmulatorError {
    EmulatorError::Refused {
        status: e.status.as_u16(),
        message: e.detail,
    }
}
