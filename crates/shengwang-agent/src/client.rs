//! `Client`: configuration, and the handles for each API resource.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::agentkit::SessionHub;
use crate::api::{Agents, PhoneNumbers, Telephony};
use crate::area::Area;
use crate::identity::Identity;
use crate::redact::Scrubber;
use crate::tls;
use crate::token::TokenBuilder;
use crate::transport::{
    self, Auth, Endpoints, Pool, Resolver, RetryPolicy, SystemResolver, Transport,
};
use crate::{Error, Result};

/// The async ConvoAI REST client. Cheap to clone (an `Arc` inside); all clones share one
/// connection pool.
///
/// ```no_run
/// # async fn demo() -> shengwang_agent::Result<()> {
/// use shengwang_agent::Client;
/// let client = Client::builder()
///     .app_id("0123456789abcdef0123456789abcdef")
///     .app_certificate("fedcba9876543210fedcba9876543210")
///     .build()?;
/// let page = client.agents().list().channel("room-42").page().await?;
/// println!("{} agents", page.items.len());
/// # Ok(()) }
/// ```
pub struct Client {
    inner: Arc<Inner>,
    /// Handles the user holds count in `Inner::users`; the copies sessions hold do not.
    user: bool,
}

/// How long dropping the last client handle waits for the stops of dropped sessions.
const DROP_GRACE: Duration = Duration::from_secs(5);

impl Clone for Client {
    fn clone(&self) -> Self {
        if self.user {
            self.inner.users.fetch_add(1, Ordering::SeqCst);
        }
        Client {
            inner: self.inner.clone(),
            user: self.user,
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        // The last handle of the user: the program may be about to exit, which would kill
        // the cleanup runtime with stops of dropped sessions still in flight.
        if self.user
            && self.inner.users.fetch_sub(1, Ordering::SeqCst) == 1
            && self.inner.sessions.registry().pending() > 0
            && !self
                .inner
                .sessions
                .registry()
                .wait_idle_blocking(DROP_GRACE)
        {
            tracing::warn!(
                pending = self.inner.sessions.registry().pending(),
                "client dropped with stops of dropped sessions still running; call sessions().shutdown() first"
            );
        }
    }
}

struct Inner {
    app_id: String,
    /// Signs body tokens for sessions whatever the auth mode, and header tokens in
    /// app-credentials mode: the one holder of the certificate.
    signer: Arc<TokenBuilder>,
    area: Area,
    transport: Transport,
    /// Live sessions, applied notices, the session store and the runtime that stops the
    /// agents of dropped sessions.
    sessions: SessionHub,
    /// Client handles the user holds.
    users: AtomicUsize,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("app_id", &self.inner.app_id)
            .field("area", &self.inner.area)
            .field("auth", &self.inner.transport.auth.mode())
            .field("endpoints", &self.inner.transport.endpoints.describe())
            .finish()
    }
}

impl Client {
    /// A builder; `app_id` and `app_certificate` are required.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from `SHENGWANG_APP_ID`, `SHENGWANG_APP_CERTIFICATE`,
    /// `SHENGWANG_CUSTOMER_ID`, `SHENGWANG_CUSTOMER_SECRET`, `SHENGWANG_BASE_URL` and
    /// `SHENGWANG_AREA`. The first two are required; every error names the variable at fault.
    pub fn from_env() -> Result<Self> {
        let builder = ClientBuilder::from_env()?;
        for (var, value) in [
            (ENV_APP_ID, &builder.app_id),
            (ENV_APP_CERTIFICATE, &builder.app_certificate),
        ] {
            if value.is_none() {
                return Err(Error::invalid(var, "is not set"));
            }
        }
        builder.build()
    }

    /// The project's app id.
    pub fn app_id(&self) -> &str {
        &self.inner.app_id
    }

    /// `"basic"`, `"token"` or `"app-credentials"`.
    pub fn auth_mode(&self) -> &'static str {
        self.inner.transport.auth.mode()
    }

    /// The base URL requests go to now (after any failover).
    pub fn current_base_url(&self) -> String {
        self.inner.transport.endpoints.current()
    }

    /// Moves requests to the area's next region (no effect with a `base_url` override or in
    /// CN, which has one region). Failover on connection errors happens without this.
    pub fn next_region(&self) {
        if let Endpoints::Area(pool) = &self.inner.transport.endpoints {
            pool.next_region();
        }
    }

    /// Races a DNS lookup of the current region on every domain and sends later requests to
    /// the first that resolves; a choice stands for 30 s. Returns the domain in use, or `None`
    /// with a `base_url` override or when nothing resolved.
    pub async fn select_best_domain(&self) -> Option<&'static str> {
        match &self.inner.transport.endpoints {
            Endpoints::Area(pool) => pool.select_best_domain().await,
            Endpoints::Fixed { .. } => None,
        }
    }

    /// The one path every request of this client takes.
    pub(crate) fn transport(&self) -> &Transport {
        &self.inner.transport
    }

    /// Uses `token` (signed for `identity`) as that identity's header token while it lasts;
    /// see `transport::auth::Auth::adopt`.
    pub(crate) fn adopt_header_token(
        &self,
        identity: &crate::identity::Identity,
        token: &str,
        signed_at: u64,
        lifetime: u32,
    ) {
        self.inner
            .transport
            .auth
            .adopt(identity, token, signed_at, lifetime);
    }

    /// Drops the header token kept for `identity` (its session ended).
    pub(crate) fn forget_header_token(&self, identity: &crate::identity::Identity) {
        self.inner.transport.auth.forget(identity);
    }

    /// The client's instruments and span options.
    pub(crate) fn telemetry(&self) -> &crate::telemetry::Telemetry {
        &self.inner.transport.telemetry
    }

    /// Signs the tokens of this client's app.
    pub(crate) fn signer(&self) -> &TokenBuilder {
        &self.inner.signer
    }

    /// Agents of the project.
    pub fn agents(&self) -> Agents<'_> {
        Agents::new(self)
    }

    /// Telephony calls of the project.
    pub fn telephony(&self) -> Telephony<'_> {
        Telephony::new(self)
    }

    /// Phone numbers of the account.
    pub fn phone_numbers(&self) -> PhoneNumbers<'_> {
        PhoneNumbers::new(self)
    }

    /// Stops an agent by id, for servers that did not keep the session; an agent that is
    /// already gone (404) counts as stopped.
    ///
    /// In app-credentials mode the request's token is signed for channel `"stop"` and
    /// account `"0"`, as Agora's official SDKs do for a stop without a session.
    pub async fn stop_agent(&self, agent_id: &str) -> Result<()> {
        match self
            .agents()
            .with_identity(Identity::stateless_stop())
            .stop(agent_id)
            .await
        {
            Err(e) if e.is_not_found() => Ok(()),
            other => other,
        }
    }
}

impl Client {
    /// The client's sessions: apply notification callbacks to them
    /// ([`apply_notification`](SessionHub::apply_notification)), list them
    /// ([`live`](SessionHub::live)), stop them all on shutdown
    /// ([`shutdown`](SessionHub::shutdown)).
    pub fn sessions(&self) -> &SessionHub {
        &self.inner.sessions
    }

    /// A handle for the SDK's own use (sessions): it does not count as the user's, so
    /// dropping the user's last handle can wait for cleanup even while sessions hold one.
    pub(crate) fn internal(&self) -> Client {
        Client {
            inner: self.inner.clone(),
            user: false,
        }
    }
}

const ENV_APP_ID: &str = "SHENGWANG_APP_ID";
const ENV_APP_CERTIFICATE: &str = "SHENGWANG_APP_CERTIFICATE";
const ENV_CUSTOMER_ID: &str = "SHENGWANG_CUSTOMER_ID";
const ENV_CUSTOMER_SECRET: &str = "SHENGWANG_CUSTOMER_SECRET";
const ENV_BASE_URL: &str = "SHENGWANG_BASE_URL";
const ENV_AREA: &str = "SHENGWANG_AREA";

/// Configures an [`Client`]. Setters never fail; `build()` validates.
#[derive(Default, Clone)]
#[must_use]
pub struct ClientBuilder {
    area: Area,
    app_id: Option<String>,
    app_certificate: Option<String>,
    basic: Option<(String, String)>,
    token: Option<String>,
    base_urls: Vec<String>,
    timeout: Option<Duration>,
    attempt_timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    retry: RetryPolicy,
    headers: Vec<(String, String)>,
    user_agent_suffix: Option<String>,
    http: Option<reqwest::Client>,
    resolver: Option<Arc<dyn Resolver>>,
    root_certificates: Vec<Vec<u8>>,
    http2: bool,
    session_store: Option<Arc<dyn crate::agentkit::SessionStore>>,
    telemetry: crate::telemetry::Options,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("area", &self.area)
            .field("app_id", &self.app_id)
            .field(
                "app_certificate",
                &self
                    .app_certificate
                    .as_ref()
                    .map(|_| crate::redact::REDACTED),
            )
            .field("customer_id", &self.basic.as_ref().map(|b| &b.0))
            .field(
                "customer_secret",
                &self.basic.as_ref().map(|_| crate::redact::REDACTED),
            )
            .field(
                "token",
                &self.token.as_ref().map(|_| crate::redact::REDACTED),
            )
            .field("base_urls", &self.base_urls)
            .field("retry", &self.retry)
            .field("root_certificates", &self.root_certificates.len())
            .field("http2", &self.http2)
            .field("telemetry", &self.telemetry)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Reads the `SHENGWANG_*` variables (see [`Client::from_env`]); unset or empty ones are
    /// left for the setters. A value that is set but wrong is an error naming its variable
    /// (never quoting the value).
    pub fn from_env() -> Result<Self> {
        let var = |k| std::env::var(k).ok().filter(|v: &String| !v.is_empty());
        let named = |var: &str, checked: Result<()>| {
            checked.map_err(|e| match e {
                Error::InvalidInput { reason, .. } => Error::invalid(var, reason),
                other => other,
            })
        };
        let mut b = ClientBuilder::default();
        if let Some(id) = var(ENV_APP_ID) {
            named(ENV_APP_ID, crate::validate::validate_app_id(&id))?;
            b = b.app_id(id);
        }
        if let Some(certificate) = var(ENV_APP_CERTIFICATE) {
            named(
                ENV_APP_CERTIFICATE,
                crate::validate::validate_app_certificate(&certificate),
            )?;
            b = b.app_certificate(certificate);
        }
        match (var(ENV_CUSTOMER_ID), var(ENV_CUSTOMER_SECRET)) {
            (Some(id), Some(secret)) => b = b.basic(id, secret),
            (None, None) => {}
            (Some(_), None) => {
                return Err(Error::invalid(
                    ENV_CUSTOMER_SECRET,
                    format!("is not set, but {ENV_CUSTOMER_ID} is"),
                ))
            }
            (None, Some(_)) => {
                return Err(Error::invalid(
                    ENV_CUSTOMER_ID,
                    format!("is not set, but {ENV_CUSTOMER_SECRET} is"),
                ))
            }
        }
        if let Some(area) = var(ENV_AREA) {
            let area = area.parse().map_err(|e| match e {
                Error::InvalidInput { reason, .. } => Error::invalid(ENV_AREA, reason),
                other => other,
            })?;
            b = b.area(area);
        }
        if let Some(url) = var(ENV_BASE_URL) {
            named(
                ENV_BASE_URL,
                crate::validate::base_url(&url, b.area).map(drop),
            )?;
            b = b.base_url(url);
        }
        Ok(b)
    }

    /// Service area (default CN).
    pub fn area(mut self, area: Area) -> Self {
        self.area = area;
        self
    }
    /// App id (32 hex).
    pub fn app_id(mut self, app_id: impl Into<String>) -> Self {
        self.app_id = Some(app_id.into());
        self
    }
    /// App certificate (32 hex); signs tokens.
    pub fn app_certificate(mut self, certificate: impl Into<String>) -> Self {
        self.app_certificate = Some(certificate.into());
        self
    }
    /// Authenticate with customer id and secret (`Basic`).
    pub fn basic(
        mut self,
        customer_id: impl Into<String>,
        customer_secret: impl Into<String>,
    ) -> Self {
        self.basic = Some((customer_id.into(), customer_secret.into()));
        self
    }
    /// Authenticate with a pre-built token (`agora token=…`).
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }
    /// Send every request to this base URL (an emulator or a proxy) instead of the area's
    /// hosts. Call again to add failover URLs, tried in order.
    ///
    /// Give the host alone (`http://127.0.0.1:8080`: the area's API path is appended, e.g.
    /// `/cn/api/conversational-ai-agent` in CN) or the host with an API path
    /// (`/cn/api/conversational-ai-agent` or `/api/conversational-ai-agent`, used as they
    /// are). Any other path, a user name or password, a query or a fragment fails
    /// [`build`](Self::build). An `https://` URL needs a TLS feature (see
    /// [`build`](Self::build)).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_urls.push(url.into());
        self
    }
    /// Deadline of a whole call (default 30 s): every attempt, backoff and server-requested
    /// wait together. A call never takes longer, whatever the server does. At most one hour.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
    /// Bound of one attempt (default 10 s, and never more than what is left of
    /// [`timeout`](Self::timeout)): connecting, sending and reading the whole response.
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = Some(timeout);
        self
    }
    /// Connect timeout (default 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }
    /// Where the client's sessions keep their records
    /// ([`SessionHub::store`](crate::agentkit::SessionHub::store)): written on every state
    /// change of a session that may have an agent, removed once it cannot. Default: none
    /// written; the hub's store is a read-only view of the live sessions.
    pub fn session_store(mut self, store: Arc<dyn crate::agentkit::SessionStore>) -> Self {
        self.session_store = Some(store);
        self
    }
    /// Retry policy (default [`RetryPolicy::standard`]).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }
    /// A header added to every request.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
    /// Appended to the `User-Agent` (`shengwang-agent-rust/<version> <suffix>`).
    pub fn user_agent_suffix(mut self, suffix: impl Into<String>) -> Self {
        self.user_agent_suffix = Some(suffix.into());
        self
    }
    /// Resolver for [`Client::select_best_domain`] (default: the system's).
    pub fn resolver(mut self, resolver: Arc<dyn Resolver>) -> Self {
        self.resolver = Some(resolver);
        self
    }
    /// Trusts this certificate authority for HTTPS, on top of the TLS backend's roots: for a
    /// proxy with a private CA, or the emulator's TLS mode (`EmulatorHandle::ca_pem`). Takes
    /// PEM text (`&str` or bytes) with one or more `BEGIN CERTIFICATE` blocks; call again to
    /// add more. A PEM that holds no valid certificate is an error at [`build`](Self::build).
    pub fn add_root_certificate(mut self, pem: impl AsRef<[u8]>) -> Self {
        self.root_certificates.push(pem.as_ref().to_vec());
        self
    }
    /// Allow HTTP/2 (default off: HTTP/1.1 only). Over HTTPS, HTTP/2 is used when the server
    /// offers it in the TLS handshake (ALPN), else HTTP/1.1; all concurrent requests to a host
    /// then share one connection. Plain `http://` URLs stay on HTTP/1.1. HTTPS needs the
    /// `rustls`, `rustls-native-roots` or `native-tls` feature (see [`build`](Self::build)).
    pub fn http2(mut self, enabled: bool) -> Self {
        self.http2 = enabled;
        self
    }
    /// Use this reqwest client (its own headers apply; the call deadline and attempt
    /// timeout still do). Build it with `redirect(reqwest::redirect::Policy::none())`: the
    /// SDK refuses redirects it sees, but cannot stop a client that follows them itself.
    /// Its TLS support is reqwest's, which `build` does not check.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Record metrics with this meter (feature `otel`, OpenTelemetry 0.33): the
    /// application's, from the provider it set up with its exporters. Without it the client
    /// uses `opentelemetry::global::meter` as it is at [`build`](Self::build). The SDK never
    /// installs a provider. The instruments are listed in [`telemetry`](crate::telemetry).
    #[cfg(feature = "otel")]
    pub fn meter(mut self, meter: opentelemetry::metrics::Meter) -> Self {
        self.telemetry.meter = Some(meter);
        self
    }
    /// Put the channel on the `convoai.session` spans of this client's sessions (field
    /// `convoai.channel`; default off: a channel name may be personal data). Metrics never
    /// carry it.
    pub fn trace_channels(mut self, on: bool) -> Self {
        self.telemetry.trace_channels = on;
        self
    }

    /// Validates and builds.
    ///
    /// Fails with [`Error::Config`] when requests would go over HTTPS (an `https://` base
    /// URL, or no base URL: the service's hosts are HTTPS only) and this build of the SDK
    /// has no TLS feature (`rustls`, `rustls-native-roots` or `native-tls`), unless the
    /// reqwest client comes from [`http_client`](Self::http_client).
    pub fn build(mut self) -> Result<Client> {
        let app_id = self
            .app_id
            .take()
            .ok_or_else(|| Error::invalid("app_id", "is required"))?;
        let certificate = self
            .app_certificate
            .take()
            .ok_or_else(|| Error::invalid("app_certificate", "is required"))?;
        // Checks both values, once.
        let signer = Arc::new(TokenBuilder::new(&app_id, &certificate)?);
        let timeout = check_timeout("timeout", self.timeout, transport::DEFAULT_TIMEOUT)?;
        let attempt_timeout = check_timeout(
            "attempt_timeout",
            self.attempt_timeout,
            transport::DEFAULT_ATTEMPT_TIMEOUT,
        )?
        .min(timeout);
        let connect_timeout = check_timeout(
            "connect_timeout",
            self.connect_timeout,
            transport::DEFAULT_CONNECT_TIMEOUT,
        )?;
        let mut secrets = Scrubber::new();
        secrets.secret(&certificate);
        let auth = self.auth(&signer, &mut secrets)?;
        let endpoints = self.endpoints()?;
        let http = self.http(connect_timeout.min(attempt_timeout))?;
        let telemetry = Arc::new(crate::telemetry::Telemetry::new(&self.telemetry));
        Ok(Client {
            inner: Arc::new(Inner {
                app_id,
                signer,
                area: self.area,
                transport: Transport {
                    http,
                    endpoints,
                    auth,
                    retry: self.retry,
                    timeout,
                    attempt_timeout,
                    secrets,
                    telemetry: telemetry.clone(),
                },
                sessions: SessionHub::new(self.session_store.clone(), telemetry),
                users: AtomicUsize::new(1),
            }),
            user: true,
        })
    }

    /// The auth mode the builder names; adds its secrets to `secrets`.
    fn auth(&mut self, signer: &Arc<TokenBuilder>, secrets: &mut Scrubber) -> Result<Auth> {
        Ok(match (self.basic.take(), self.token.take()) {
            (Some(_), Some(_)) => {
                return Err(Error::Config(
                    "choose one auth mode: basic(…) or token(…), not both".into(),
                ))
            }
            (Some((id, secret)), None) => {
                if id.is_empty() || secret.is_empty() {
                    return Err(Error::invalid(
                        "customer_id",
                        "customer id and secret must not be empty",
                    ));
                }
                let encoded =
                    base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
                secrets.secret(&secret).secret(&encoded);
                Auth::Basic(sensitive(&format!("Basic {encoded}"), "customer_secret")?)
            }
            (None, Some(token)) => {
                secrets.secret(token.trim());
                Auth::Token(sensitive(
                    &format!("agora token={}", token.trim()),
                    "token",
                )?)
            }
            (None, None) => Auth::app(signer.clone()),
        })
    }

    /// The base URLs checked (see [`base_url`](Self::base_url)), or the area's pool; refuses
    /// HTTPS without a TLS feature when the SDK builds the HTTP client.
    fn endpoints(&mut self) -> Result<Endpoints> {
        let urls = self
            .base_urls
            .iter()
            .map(|u| crate::validate::base_url(u, self.area))
            .collect::<Result<Vec<_>>>()?;
        if self.http.is_none() {
            tls::require_for(&urls)?;
        }
        Ok(if urls.is_empty() {
            let resolver = self
                .resolver
                .take()
                .unwrap_or_else(|| Arc::new(SystemResolver));
            Endpoints::Area(Pool::new(self.area, resolver))
        } else {
            Endpoints::fixed(urls)
        })
    }

    /// The reqwest client given, or the SDK's own: no redirects, the headers and user agent
    /// set, HTTP/1.1 unless HTTP/2 is allowed, the extra roots trusted.
    fn http(&mut self, connect_timeout: Duration) -> Result<reqwest::Client> {
        match self.http.take() {
            Some(_) if !self.root_certificates.is_empty() || self.http2 => Err(Error::Config(
                "add_root_certificate and http2 configure the SDK's own HTTP client; \
                 set them on the reqwest client given to http_client instead"
                    .into(),
            )),
            Some(h) => Ok(h),
            None => {
                let mut headers = HeaderMap::new();
                for (k, v) in &self.headers {
                    let name = HeaderName::from_bytes(k.as_bytes()).map_err(|_| {
                        Error::invalid("header", format!("{k:?} is not a header name"))
                    })?;
                    let value = HeaderValue::from_str(v).map_err(|_| {
                        Error::invalid("header", format!("value of {k} is not a header value"))
                    })?;
                    headers.insert(name, value);
                }
                let mut ua = format!("shengwang-agent-rust/{}", env!("CARGO_PKG_VERSION"));
                if let Some(s) = &self.user_agent_suffix {
                    ua.push(' ');
                    ua.push_str(s);
                }
                let mut http = reqwest::Client::builder()
                    .user_agent(ua)
                    .default_headers(headers)
                    // The API never redirects; following one could carry credentials or a
                    // join body (vendor keys, channel token) to another host.
                    .redirect(reqwest::redirect::Policy::none())
                    .connect_timeout(connect_timeout);
                if !self.http2 {
                    http = http.http1_only();
                }
                tls::add_roots(http, &self.root_certificates)?
                    .build()
                    .map_err(|e| tls::build_error(&e, &self.root_certificates))
            }
        }
    }
}

fn sensitive(value: &str, field: &str) -> Result<HeaderValue> {
    let mut v = HeaderValue::from_str(value)
        .map_err(|_| Error::invalid(field, "contains characters not allowed in a header"))?;
    v.set_sensitive(true);
    Ok(v)
}

fn check_timeout(field: &str, value: Option<Duration>, default: Duration) -> Result<Duration> {
    let d = value.unwrap_or(default);
    if d.is_zero() || d > transport::MAX_TIMEOUT {
        return Err(Error::invalid(
            field,
            format!(
                "must be more than 0 and at most {} seconds",
                transport::MAX_TIMEOUT.as_secs()
            ),
        ));
    }
    Ok(d)
}
