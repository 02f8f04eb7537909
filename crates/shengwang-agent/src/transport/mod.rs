//! The one place requests are sent: base URL with failover, `Authorization`, JSON, retries,
//! bounded reads, tracing without secrets.

mod pool;
mod retry;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use reqwest::Method;
use serde::de::DeserializeOwned;
use tracing::Instrument;

pub(crate) use pool::Pool;
pub use pool::{Resolver, SystemResolver, DOMAIN_CACHE};
pub use retry::RetryPolicy;

use crate::error::ErrorReason;
use crate::token::TokenBuilder;
use crate::{Error, Result};

/// Largest response body read; larger bodies are a decode error, not an allocation.
pub const MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;

/// How requests are authenticated.
#[derive(Clone)]
pub(crate) enum Auth {
    /// `Basic base64(customer_id:customer_secret)`.
    Basic(HeaderValue),
    /// `agora token=<given token>`.
    Token(HeaderValue),
    /// A fresh ConvoAI token per request, signed with the app credentials.
    App(TokenBuilder),
}

/// Whom a per-request token is signed for (app-credentials mode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity {
    pub channel: String,
    pub account: String,
}

impl Identity {
    /// Calls made outside a session: a fixed service channel and the "any uid" account.
    pub fn service() -> Self {
        Identity {
            channel: "convoai-rest-api".into(),
            account: String::new(),
        }
    }
}

impl Auth {
    fn header(&self, identity: &Identity) -> Result<HeaderValue> {
        let mut value = match self {
            Auth::Basic(v) | Auth::Token(v) => return Ok(v.clone()),
            Auth::App(builder) => {
                let token = builder
                    .convo_ai(&identity.channel, &identity.account)
                    .build()?;
                HeaderValue::from_str(&format!("agora token={token}"))
                    .map_err(|_| Error::Config("token is not a valid header value".into()))?
            }
        };
        value.set_sensitive(true);
        Ok(value)
    }

    pub fn mode(&self) -> &'static str {
        match self {
            Auth::Basic(_) => "basic",
            Auth::Token(_) => "token",
            Auth::App(_) => "app-credentials",
        }
    }
}

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

/// One API call, described; the transport sends it.
#[derive(Debug)]
pub(crate) struct Call {
    pub method: Method,
    pub path: String,
    pub query: Vec<(&'static str, String)>,
    pub body: Option<Bytes>,
    pub identity: Option<Identity>,
    pub retry: Option<RetryPolicy>,
}

impl Call {
    pub fn new(method: Method, path: String) -> Self {
        Call {
            method,
            path,
            query: Vec::new(),
            body: None,
            identity: None,
            retry: None,
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
}

impl Transport {
    /// Sends `call`, retrying per policy; returns the 2xx response or the last error.
    pub async fn send(&self, call: &Call) -> Result<Response<Bytes>> {
        let policy = call.retry.as_ref().unwrap_or(&self.retry);
        let identity = call.identity.clone().unwrap_or_else(Identity::service);
        let mut attempt = 0;
        loop {
            let base = self.endpoints.current();
            let base = base.as_str();
            let span = tracing::debug_span!(
                "convoai.request",
                method = %call.method,
                path = %call.path,
                attempt,
                endpoint = %host_of(base),
                status = tracing::field::Empty,
                latency_ms = tracing::field::Empty,
            );
            let started = Instant::now();
            let outcome = self
                .attempt(base, call, &identity)
                .instrument(span.clone())
                .await;
            span.record("latency_ms", started.elapsed().as_millis() as u64);
            if let Ok(res) = &outcome {
                span.record("status", res.http_status);
            }
            tracing::debug!(parent: &span, ok = outcome.is_ok(), "convoai response");
            let (error, headers) = match outcome {
                Ok(res) if (200..300).contains(&res.http_status) => return Ok(res),
                Ok(res) => {
                    let headers = res.http_headers.clone();
                    (api_error(res), Some(headers))
                }
                Err(e) => {
                    if matches!(e, Error::Connect(_) | Error::Timeout(_)) {
                        self.endpoints.failed(base);
                    }
                    (e, None)
                }
            };
            if !error.is_retryable() || attempt >= policy.max_retries {
                return Err(error);
            }
            let wait = policy.delay(attempt, headers.as_ref());
            tracing::debug!(parent: &span, %error, wait_ms = wait.as_millis() as u64, "retrying");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// Sends and decodes a JSON body.
    pub async fn json<T: DeserializeOwned>(&self, call: &Call) -> Result<Response<T>> {
        let res = self.send(call).await?;
        decode(res)
    }

    async fn attempt(
        &self,
        base: &str,
        call: &Call,
        identity: &Identity,
    ) -> Result<Response<Bytes>> {
        let mut req = self
            .http
            .request(call.method.clone(), format!("{base}/{}", call.path))
            .header(AUTHORIZATION, self.auth.header(identity)?);
        if !call.query.is_empty() {
            req = req.query(&call.query);
        }
        if let Some(body) = &call.body {
            req = req
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let mut res = req.send().await.map_err(transport_error)?;
        let status = res.status().as_u16();
        let headers = std::mem::take(res.headers_mut());
        let mut body = Vec::new();
        while let Some(chunk) = res.chunk().await.map_err(transport_error)? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(Error::Decode {
                    status,
                    message: format!("response body larger than {MAX_RESPONSE_BYTES} bytes"),
                    body: String::new(),
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            http_status: status,
            http_headers: headers,
            body: body.into(),
        })
    }
}

fn host_of(base: &str) -> &str {
    base.split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or(base)
}

fn transport_error(e: reqwest::Error) -> Error {
    // The URL holds the app id only; reqwest errors never carry headers.
    let text = std::error::Error::source(&e)
        .map(|s| format!("{e}: {s}"))
        .unwrap_or_else(|| e.to_string());
    if e.is_timeout() {
        Error::Timeout(text)
    } else {
        Error::Connect(text)
    }
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(512)]);
    text.into_owned()
}

pub(crate) fn decode<T: DeserializeOwned>(res: Response<Bytes>) -> Result<Response<T>> {
    let body = serde_json::from_slice(&res.body).map_err(|e| Error::Decode {
        status: res.http_status,
        message: e.to_string(),
        body: snippet(&res.body),
    })?;
    Ok(Response {
        http_status: res.http_status,
        http_headers: res.http_headers,
        body,
    })
}

fn api_error(res: Response<Bytes>) -> Error {
    let body: serde_json::Value = serde_json::from_slice(&res.body)
        .unwrap_or_else(|_| serde_json::Value::String(snippet(&res.body)));
    let field = |k: &str| body.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    let request_id = res
        .http_headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| field("request_id"));
    Error::Api {
        status: res.http_status,
        reason: field("reason")
            .map(|r| ErrorReason::parse(&r))
            .unwrap_or(ErrorReason::Unknown),
        detail: field("detail"),
        request_id,
        body: Box::new(body),
    }
}

pub(crate) fn default_timeout() -> Duration {
    Duration::from_secs(30)
}
