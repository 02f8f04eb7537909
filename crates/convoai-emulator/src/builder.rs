//! Configuring and starting an emulator: [`Emulator::builder`] and [`EmulatorBuilder`].

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use shengwang_agent::token::Validation;
use tokio::sync::oneshot;

use crate::app;
use crate::clock::Clock;
use crate::error::EmulatorError;
use crate::fault::Faults;
use crate::handle::{EmulatorHandle, Running};
use crate::notify::{self, Notifier, WebhookConfig};
use crate::server;
use crate::shared::{Settings, Shared};
use crate::tls;

/// Development app id, used when none is configured.
pub const DEV_APP_ID: &str = "0123456789abcdef0123456789abcdef";
/// Development app certificate, used when none is configured.
pub const DEV_APP_CERTIFICATE: &str = "fedcba9876543210fedcba9876543210";
/// Development customer id for Basic auth.
pub const DEV_CUSTOMER_ID: &str = "dev-customer";
/// Development customer secret for Basic auth.
pub const DEV_CUSTOMER_SECRET: &str = "dev-secret";

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
            .field("app_certificate", &shengwang_agent::redact::REDACTED)
            .field("customer_id", &self.customer_id)
            .field("customer_secret", &shengwang_agent::redact::REDACTED)
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
    /// The clock (default: system); use [`Clock::manual`](crate::Clock::manual) to move time in tests.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }
    /// Serve HTTPS instead of plain HTTP (default off). A certificate authority and a server
    /// certificate for `localhost`, `127.0.0.1` and `::1` are made at start; clients trust
    /// [`EmulatorHandle::ca_pem`](crate::EmulatorHandle::ca_pem) (or the file at [`EmulatorHandle::ca_path`](crate::EmulatorHandle::ca_path)). ALPN offers
    /// HTTP/2 and HTTP/1.1. Plain HTTP serves HTTP/1.1 and HTTP/2 with prior knowledge.
    pub fn tls(mut self, enabled: bool) -> Self {
        self.tls = enabled;
        self
    }

    /// Holds every new agent in `STARTING` for `hold` after its join was accepted; then it
    /// turns `RUNNING` and the agent-joined callback (`101`) is sent, as the service does once
    /// the agent is in its channel. Default 0: `RUNNING` at once, `101` at join. Also
    /// `--starting-ms` and `POST /_emulator/faults {"starting_ms": …}`.
    pub fn starting_time(mut self, hold: Duration) -> Self {
        self.starting = hold;
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
        let notifier = Notifier::new(self.webhook.clone(), self.clock.clone());
        Ok(Arc::new(Shared::new(Settings {
            app_id: self.app_id.clone(),
            tokens,
            basic_credentials: format!("{}:{}", self.customer_id, self.customer_secret)
                .into_bytes(),
            clock: self.clock.clone(),
            faults,
            latency: self.latency,
            max_agents: self.max_agents,
            notifier: Arc::new(notifier),
        })))
    }

    /// The emulator's routes as an axum `Router`, without a listener: for driving it through
    /// `tower::ServiceExt::oneshot` in tests and fuzzers. Faults and latency apply only when
    /// serving; the admin API is loopback-only, so it needs a `ConnectInfo` on the request.
    pub fn router(self) -> Result<axum::Router, EmulatorError> {
        Ok(app::app(self.shared()?))
    }

    /// Starts serving on the current tokio runtime.
    pub async fn spawn(self) -> Result<EmulatorHandle, EmulatorError> {
        let shared = self.shared()?;
        let tls = self.make_tls()?;
        let listener = server::bind(SocketAddr::new(self.host, self.port)).await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = oneshot::channel();
        shared.notifier.set_running(true);
        let acceptor = tls.as_ref().map(|t| t.acceptor.clone());
        let task = tokio::spawn(server::serve(
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
        let listener = runtime.block_on(server::bind(SocketAddr::new(self.host, self.port)))?;
        let addr = listener.local_addr()?;
        let (tx, rx) = oneshot::channel();
        let serving = shared.clone();
        shared.notifier.set_running(true);
        let tick = self.idle_tick;
        let thread = std::thread::Builder::new()
            .name("convoai-emulator".into())
            .spawn(move || {
                runtime.block_on(server::serve(listener, acceptor, serving, rx, tick))
            })?;
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
