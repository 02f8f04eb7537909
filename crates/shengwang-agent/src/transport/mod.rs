//! The one place requests are sent: base URL with failover, `Authorization`, JSON, the retry
//! engine, one deadline per call, bounded reads, no redirects, and errors and traces with
//! every secret removed.
//!
//! # Which requests are sent again
//! Every call has an idempotency class, and one engine decides each attempt from it:
//!
//! | class | endpoints | re-sent after |
//! |---|---|---|
//! | idempotent | every `GET`, `leave`, `interrupt`, `update`, `hangup`, number update and delete | timeouts, connection failures, 408, 429, 5xx |
//! | create | outbound call, `speak`, `think`, number add | only a failure to connect (the request never left) and 429; any other failure after sending is [`Error::OutcomeUnknown`] |
//! | join | `join` | as idempotent: the agent name is unique while it runs, so a re-sent join cannot start a second agent. A 409 on the re-send, or running out of attempts after an ambiguous one, is [`Error::OutcomeUnknown`]: the agent may be running under that name |
//!
//! Waits honour `Retry-After`/`retry-after-ms` (bounded), and nothing waits past the call's
//! deadline ([`ClientBuilder::timeout`](crate::ClientBuilder::timeout)).

mod auth;
mod pool;
mod retry;
mod trace;

/// Seconds since the Unix epoch, by this machine's clock (0 before 1970).
pub(crate) use auth::unix_now;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{
    HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, LOCATION,
};
use reqwest::Method;
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use tracing::Instrument;

pub(crate) use auth::Auth;
pub use auth::{HEADER_TOKEN_LIFETIME_SECS, HEADER_TOKEN_MARGIN_SECS};
pub(crate) use pool::Pool;
pub use pool::{Resolver, SystemResolver, DOMAIN_CACHE};
use retry::{classify, outcome_unknown};
pub use retry::{retry_after, RetryPolicy};
pub(crate) use trace::error_type;
use trace::{attempt_span, operation_of, operation_span, server_of};

use crate::error::ErrorReason;
pub(crate) use crate::identity::Identity;
use crate::redact::Scrubber;
use crate::telemetry::Telemetry;
use crate::{Error, Result};

/// Largest response body read; larger bodies are a decode error, not an allocation.
pub const MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;

/// Where requests go: fixed base URLs (an override, tried in order) or the area's pool.
/// Requests always read the current one, so a failover moves every later request (no
/// pool/client drift).
pub(crate) enum Endpoints {
    Fixed {
        urls: Vec<String>,
        current: AtomicUsize,
    },
    Area(Pool),
}

impl Endpoints {
    pub fn fixed(urls: Vec<String>) -> Self {
        Endpoints::Fixed {
            urls,
            current: AtomicUsize::new(0),
        }
    }

    pub fn current(&self) -> String {
        match self {
            Endpoints::Fixed { urls, current } => {
                let i = current.load(Ordering::Relaxed) % urls.len().max(1);
                urls.get(i).cloned().unwrap_or_default()
            }
            Endpoints::Area(pool) => pool.current_url(),
        }
    }

    /// Moves on from `failed` (next URL; in an area the next domain, then the next region),
    /// unless another request already did.
    pub fn failed(&self, failed: &str) {
        match self {
            Endpoints::Fixed { urls, current } => {
                if let Some(i) = urls.iter().position(|u| u == failed) {
                    let next = (i + 1) % urls.len();
                    let _ = current.compare_exchange(i, next, Ordering::Relaxed, Ordering::Relaxed);
                }
            }
            Endpoints::Area(pool) => pool.failed(failed),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Endpoints::Fixed { urls, .. } => urls.join(", "),
            Endpoints::Area(pool) => pool.current_url(),
        }
    }
}

/// How safe a request is to send again; decides every retry (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Idempotency {
    /// Repeating it has no further effect.
    Idempotent,
    /// Each delivery may create something (a call, an utterance, a number).
    Create,
    /// The join: unique by agent name while the agent runs.
    Join,
}

/// One API call, described; the transport sends it.
#[derive(Debug)]
pub(crate) struct Call {
    pub method: Method,
    /// Relative to the base URL; every caller-supplied part is a checked, encoded segment.
    pub path: String,
    pub query: Vec<(&'static str, String)>,
    pub body: Option<Bytes>,
    pub identity: Option<Identity>,
    pub retry: Option<RetryPolicy>,
    pub idempotency: Idempotency,
}

impl Call {
    /// A call that is safe to repeat.
    pub fn idempotent(method: Method, path: String) -> Self {
        Call {
            method,
            path,
            query: Vec::new(),
            body: None,
            identity: None,
            retry: None,
            idempotency: Idempotency::Idempotent,
        }
    }
    /// A `GET`.
    pub fn get(path: String) -> Self {
        Self::idempotent(Method::GET, path)
    }
    /// A `POST` that creates something each time it is carried out.
    pub fn create(path: String) -> Self {
        Call {
            idempotency: Idempotency::Create,
            ..Self::idempotent(Method::POST, path)
        }
    }
    /// The join.
    pub fn join(path: String) -> Self {
        Call {
            idempotency: Idempotency::Join,
            ..Self::idempotent(Method::POST, path)
        }
    }
    pub fn json(mut self, body: &impl serde::Serialize) -> Result<Self> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| Error::invalid("body", format!("cannot serialize: {e}")))?;
        self.body = Some(bytes.into());
        Ok(self)
    }
    pub fn query(mut self, key: &'static str, value: Option<impl ToString>) -> Self {
        if let Some(v) = value {
            self.query.push((key, v.to_string()));
        }
        self
    }
}

/// A response with its status and headers; derefs to the parsed body.
#[derive(Debug, Clone)]
pub struct Response<T> {
    /// HTTP status.
    pub http_status: u16,
    /// Response headers.
    pub http_headers: HeaderMap,
    /// The parsed body (also reachable through `Deref`: `resp.agent_id`).
    pub body: T,
}

impl<T> Response<T> {
    /// The `X-Request-Id` the service assigned.
    pub fn request_id(&self) -> Option<&str> {
        self.http_headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
    }
    /// The parsed body.
    pub fn into_inner(self) -> T {
        self.body
    }
}

impl<T> std::ops::Deref for Response<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.body
    }
}

pub(crate) struct Transport {
    pub http: reqwest::Client,
    pub endpoints: Endpoints,
    pub auth: Auth,
    pub retry: RetryPolicy,
    /// The whole call: every attempt, backoff and server-requested wait.
    pub timeout: Duration,
    /// One attempt: connecting, sending and reading the whole response.
    pub attempt_timeout: Duration,
    /// The client's own secrets (certificate, customer secret, given token), for removing
    /// them by value from anything a server sends back.
    pub secrets: Scrubber,
    /// The client's instruments (no-ops without the `otel` feature).
    pub telemetry: std::sync::Arc<Telemetry>,
}

/// Why one attempt failed.
enum Failure {
    /// The server answered with a status other than 2xx.
    Status(Error, HeaderMap),
    /// No usable answer. `sent`: the request may have reached the server.
    Transport { error: Error, sent: bool },
}

/// One call's way through the retry engine: what it may do and how far it got.
struct Engine<'a> {
    call: &'a Call,
    /// The call's fixed operation name, for metrics.
    operation: &'static str,
    telemetry: &'a Telemetry,
    policy: &'a RetryPolicy,
    /// Nothing waits past it.
    deadline: Instant,
    /// An earlier attempt may have reached the server and been carried out.
    ambiguous: bool,
    /// The attempt under way, from 0.
    attempt: u32,
}

impl Engine<'_> {
    /// The decision after a failed attempt: the wait before the next one, or the final error.
    /// A retry is an event on the operation's span (the current one).
    fn after_failure(&mut self, failure: Failure, span: &tracing::Span) -> Result<Duration> {
        let idempotency = self.call.idempotency;
        let (error, retry, headers) = classify(idempotency, failure, &mut self.ambiguous);
        let ambiguous = self.ambiguous;
        let error = match (idempotency, error) {
            // A conflict on our own name after an attempt that may have started the agent.
            (Idempotency::Join, e @ Error::Api { status: 409, .. }) if ambiguous => {
                return Err(outcome_unknown(e))
            }
            (_, e) => e,
        };
        let give_up = |e: Error| match idempotency {
            Idempotency::Join if ambiguous => outcome_unknown(e),
            _ => e,
        };
        if !retry || self.attempt >= self.policy.max_retries {
            tracing::debug!(parent: span, %error, "request failed");
            return Err(give_up(error));
        }
        let wait = self.policy.delay(self.attempt, headers.as_ref());
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        if wait >= remaining {
            tracing::debug!(parent: span, %error, "no time left for another attempt");
            return Err(give_up(error));
        }
        tracing::debug!(parent: span, %error, wait_ms = wait.as_millis() as u64, "retrying");
        self.telemetry.retry(self.operation, &error);
        tracing::info!(
            convoai.event = "retry",
            convoai.delay_ms = wait.as_millis() as u64,
            error.type = %error_type(&error),
            http.request.resend_count = self.attempt + 1,
            "retry"
        );
        Ok(wait)
    }
}

impl Transport {
    /// Sends `call` under the retry engine; returns the 2xx response or the final error.
    /// Traced as one operation span (a child of the caller's current span) with one child
    /// span per attempt; see [`operation_span`] and [`attempt_span`].
    pub async fn send(&self, call: &Call) -> Result<Response<Bytes>> {
        let operation = operation_of(&call.method, &call.path);
        let span = operation_span(call, operation, &self.endpoints);
        let result = if span.is_disabled() {
            self.send_traced(call, operation).await
        } else {
            self.send_traced(call, operation)
                .instrument(span.clone())
                .await
        };
        if let Err(error) = &result {
            span.record("error.type", error_type(error).as_ref());
            self.telemetry.error(operation, error);
        }
        result
    }

    /// [`send`](Self::send) inside the operation's span.
    async fn send_traced(&self, call: &Call, operation: &'static str) -> Result<Response<Bytes>> {
        let identity = call.identity.clone().unwrap_or_else(Identity::service);
        let mut engine = Engine {
            call,
            operation,
            telemetry: &self.telemetry,
            policy: call.retry.as_ref().unwrap_or(&self.retry),
            deadline: Instant::now() + self.timeout,
            ambiguous: false,
            attempt: 0,
        };
        loop {
            let base = self.endpoints.current();
            let remaining = engine.deadline.saturating_duration_since(Instant::now());
            let per_attempt = self.attempt_timeout.min(remaining);
            let span = attempt_span(call, engine.attempt, &base);
            let header = self.auth.header(&identity)?;
            let started = Instant::now();
            let outcome = self
                .timed_attempt(&base, call, header.clone(), per_attempt, &span)
                .await;
            let judged = self.judge(call, &base, &header, outcome, &span);
            self.measure(call, operation, &judged, started.elapsed());
            let failure = match judged {
                std::ops::ControlFlow::Break(result) => return result,
                std::ops::ControlFlow::Continue(failure) => failure,
            };
            let wait = engine.after_failure(failure, &span)?;
            tokio::time::sleep(wait).await;
            engine.attempt += 1;
        }
    }

    /// One attempt within `budget`, its latency recorded on `span`.
    async fn timed_attempt(
        &self,
        base: &str,
        call: &Call,
        header: HeaderValue,
        budget: Duration,
        span: &tracing::Span,
    ) -> std::result::Result<Response<Bytes>, Failure> {
        let started = Instant::now();
        let attempt = self.attempt(base, call, header);
        let timed = if span.is_disabled() {
            tokio::time::timeout(budget, attempt).await
        } else {
            tokio::time::timeout(budget, attempt.instrument(span.clone())).await
        };
        let outcome = match timed {
            Ok(outcome) => outcome,
            Err(_) => Err(Failure::Transport {
                error: Error::timeout(format!("no complete response within {}", secs(budget))),
                sent: true,
            }),
        };
        span.record("latency_ms", started.elapsed().as_millis() as u64);
        outcome
    }

    /// What an attempt's outcome means: the end of the call (a 2xx, or a 3xx, which is not
    /// followed), or a failure for the engine to decide on, scrubbed of this call's secrets.
    /// A transport failure moves the endpoints on from `base`.
    fn judge(
        &self,
        call: &Call,
        base: &str,
        header: &HeaderValue,
        outcome: std::result::Result<Response<Bytes>, Failure>,
        span: &tracing::Span,
    ) -> std::ops::ControlFlow<Result<Response<Bytes>>, Failure> {
        use std::ops::ControlFlow::{Break, Continue};
        match outcome {
            Ok(res) => {
                span.record("http.response.status_code", res.http_status);
                match res.http_status {
                    200..=299 => Break(Ok(res)),
                    300..=399 => {
                        let error = redirect_error(&res);
                        span.record("error.type", error_type(&error).as_ref());
                        tracing::debug!(parent: span, %error, "not following");
                        Break(Err(error))
                    }
                    _ => {
                        let headers = res.http_headers.clone();
                        let error = api_error(res, &self.scrubber(call, header));
                        span.record("error.type", error_type(&error).as_ref());
                        Continue(Failure::Status(error, headers))
                    }
                }
            }
            Err(Failure::Transport { error, sent }) => {
                span.record("error.type", error_type(&error).as_ref());
                self.endpoints.failed(base);
                let next = self.endpoints.current();
                if next != base {
                    self.telemetry.failover(match &self.endpoints {
                        Endpoints::Area(pool) => Some(pool.area()),
                        Endpoints::Fixed { .. } => None,
                    });
                    // On the operation's span: the current one (`send` instruments it).
                    tracing::info!(
                        convoai.event = "failover",
                        error.type = %error_type(&error),
                        convoai.from = %server_of(base).0,
                        convoai.to = %server_of(&next).0,
                        "failover"
                    );
                }
                Continue(Failure::Transport {
                    error: scrub_error(error, &self.scrubber(call, header)),
                    sent,
                })
            }
            Err(other) => Continue(other),
        }
    }

    /// Records one attempt's duration with its status or failure
    /// (`http.client.request.duration`).
    fn measure(
        &self,
        call: &Call,
        operation: &'static str,
        judged: &std::ops::ControlFlow<Result<Response<Bytes>>, Failure>,
        elapsed: Duration,
    ) {
        use std::ops::ControlFlow::{Break, Continue};
        let (status, error) = match judged {
            Break(Ok(res)) => (Some(res.http_status), None),
            Break(Err(e)) | Continue(Failure::Status(e, _)) => (e.status(), Some(e)),
            Continue(Failure::Transport { error, .. }) => (None, Some(error)),
        };
        self.telemetry
            .request(operation, &call.method, status, error, elapsed);
    }

    /// Sends and decodes a JSON body.
    pub async fn json<T: DeserializeOwned>(&self, call: &Call) -> Result<Response<T>> {
        let res = self.send(call).await?;
        decode(res).map_err(|e| {
            let identity = call.identity.clone().unwrap_or_else(Identity::service);
            let header = self
                .auth
                .header(&identity)
                .unwrap_or_else(|_| HeaderValue::from_static(""));
            scrub_error(e, &self.scrubber(call, &header))
        })
    }

    /// Everything secret this call carries: the client's secrets, the header it sent and
    /// every secret-named value of its body (vendor keys, the channel token).
    fn scrubber(&self, call: &Call, header: &HeaderValue) -> Scrubber {
        let mut s = self.secrets.clone();
        if let Ok(h) = header.to_str() {
            let value = h
                .strip_prefix("agora token=")
                .or_else(|| h.strip_prefix("Basic "))
                .unwrap_or(h);
            s.secret(value);
        }
        if let Some(body) = &call.body {
            if let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) {
                s.secrets_in_json(&json);
            }
        }
        s
    }

    async fn attempt(
        &self,
        base: &str,
        call: &Call,
        header: HeaderValue,
    ) -> std::result::Result<Response<Bytes>, Failure> {
        // The line `-v` shows: method and whole URL (no credentials: they go in headers).
        tracing::debug!(
            "{} {}",
            call.method,
            self.secrets.text(&full_url(base, call))
        );
        let mut req = self
            .http
            .request(call.method.clone(), format!("{base}/{}", call.path))
            .header(AUTHORIZATION, header);
        if !call.query.is_empty() {
            req = req.query(&call.query);
        }
        req = match &call.body {
            Some(body) => req
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone()),
            // Front ends may answer 411 to a body-less POST without a length.
            None if call.method != Method::GET && call.method != Method::DELETE => {
                req.header(CONTENT_LENGTH, "0").body(Bytes::new())
            }
            None => req,
        };
        let mut res = req.send().await.map_err(|e| Failure::Transport {
            sent: !e.is_connect() && !e.is_builder(),
            error: transport_error(e),
        })?;
        let status = res.status().as_u16();
        let headers = std::mem::take(res.headers_mut());
        // Most answers arrive in one chunk, which is kept as it is. A body in several chunks
        // is copied into one buffer as it arrives, never kept as a list of chunks: a server
        // sending tiny frames would otherwise make us hold a handle (and the buffer behind
        // it) per byte of body.
        let (mut first, mut rest, mut len) = (None::<Bytes>, Vec::<u8>::new(), 0usize);
        loop {
            let chunk = res.chunk().await.map_err(|e| Failure::Transport {
                error: transport_error(e),
                sent: true,
            })?;
            let Some(chunk) = chunk else { break };
            len += chunk.len();
            if len > MAX_RESPONSE_BYTES {
                return Err(Failure::Transport {
                    error: Error::Decode {
                        status,
                        message: format!("response body larger than {MAX_RESPONSE_BYTES} bytes"),
                        body: String::new(),
                    },
                    sent: true,
                });
            }
            match first.take() {
                None if rest.is_empty() => first = Some(chunk),
                earlier => {
                    if let Some(earlier) = earlier {
                        rest.extend_from_slice(&earlier);
                    }
                    rest.extend_from_slice(&chunk);
                }
            }
        }
        let body = first.unwrap_or_else(|| Bytes::from(rest));
        Ok(Response {
            http_status: status,
            http_headers: headers,
            body,
        })
    }
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

fn redirect_error(res: &Response<Bytes>) -> Error {
    let location_host = res
        .http_headers
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|l| url::Url::parse(l).ok())
        .and_then(|u| u.host_str().map(crate::redact::sanitize));
    Error::Redirect {
        status: res.http_status,
        location_host,
    }
}

/// Applies `scrubber` to the text of an error built from server or transport output.
fn scrub_error(e: Error, scrubber: &Scrubber) -> Error {
    match e {
        Error::Timeout { message, source } => Error::Timeout {
            message: scrubber.text(&message),
            source,
        },
        Error::Connect { message, source } => Error::Connect {
            message: scrubber.text(&message),
            source,
        },
        Error::Tls { message, source } => Error::Tls {
            message: scrubber.text(&message),
            source,
        },
        Error::Decode {
            status,
            message,
            body,
        } => Error::Decode {
            status,
            message: scrubber.text(&message),
            body: scrubber.text(&body),
        },
        Error::OutcomeUnknown { source } => outcome_unknown(scrub_error(*source, scrubber)),
        other => other,
    }
}

/// The URL a call goes to, query included, as the request line has it.
fn full_url(base: &str, call: &Call) -> String {
    let mut url = format!("{base}/{}", call.path);
    if !call.query.is_empty() {
        url.push('?');
        url.push_str(
            &url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&call.query)
                .finish(),
        );
    }
    url
}

fn transport_error(e: reqwest::Error) -> Error {
    // The URL holds the app id only; reqwest errors never carry headers.
    let text = std::error::Error::source(&e)
        .map(|s| format!("{e}: {s}"))
        .unwrap_or_else(|| e.to_string());
    if e.is_timeout() {
        return Error::Timeout {
            message: text,
            source: Some(Box::new(e.without_url())),
        };
    }
    // TLS failures arrive as connect errors whose cause chain ends in the TLS library's error
    // (rustls or native-tls); its text is the one line a user needs ("invalid peer
    // certificate: UnknownIssuer"), so report that and where, not the whole chain.
    let mut cause: &dyn std::error::Error = &e;
    let mut tls = false;
    while let Some(next) = cause.source() {
        cause = next;
        let lower = cause.to_string().to_ascii_lowercase();
        // Refusals by the TLS library, not a connection that broke mid-handshake (that stays a
        // connect error and may be retried).
        tls |= [
            "certificate",
            "ssl",
            "corrupt message",
            "fatal alert",
            "peer is incompatible",
            "peer misbehaved",
            "known protocol",
        ]
        .iter()
        .any(|k| lower.contains(k));
    }
    if e.is_connect() && tls {
        let origin = e
            .url()
            .map(|u| format!(" ({})", u.origin().ascii_serialization()))
            .unwrap_or_default();
        let message = format!("{cause}{origin}");
        Error::Tls {
            message,
            source: Some(Box::new(e.without_url())),
        }
    } else {
        Error::Connect {
            message: text,
            source: Some(Box::new(e.without_url())),
        }
    }
}

pub(crate) fn decode<T: DeserializeOwned>(res: Response<Bytes>) -> Result<Response<T>> {
    let body = serde_json::from_slice(&res.body).map_err(|e| Error::Decode {
        status: res.http_status,
        message: e.to_string(),
        body: String::from_utf8_lossy(&res.body[..res.body.len().min(4096)]).into_owned(),
    })?;
    Ok(Response {
        http_status: res.http_status,
        http_headers: res.http_headers,
        body,
    })
}

fn api_error(res: Response<Bytes>, scrubber: &Scrubber) -> Error {
    let raw: serde_json::Value = serde_json::from_slice(&res.body).unwrap_or_else(|_| {
        serde_json::Value::String(
            String::from_utf8_lossy(&res.body[..res.body.len().min(4096)]).into_owned(),
        )
    });
    let body = scrubber.json(&raw);
    let field = |k: &str| body.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    let request_id = res
        .http_headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(|id| scrubber.text_capped(id, 128))
        .or_else(|| field("request_id").map(|id| scrubber.text_capped(&id, 128)));
    Error::Api {
        status: res.http_status,
        reason: field("reason")
            .map(|r| ErrorReason::parse(&scrubber.text_capped(&r, 64)))
            .unwrap_or(ErrorReason::Unknown),
        detail: field("detail"),
        request_id,
        body: Box::new(body),
    }
}

/// Default deadline of a whole call.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default bound of one attempt.
pub(crate) const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default bound of connecting (TCP and TLS).
pub(crate) const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest timeout a builder accepts.
pub(crate) const MAX_TIMEOUT: Duration = Duration::from_secs(3600);
