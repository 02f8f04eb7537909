//! A ready-made axum endpoint (feature `axum`): reads the raw body with a size limit,
//! verifies, de-duplicates and calls your async function once per notice.
//!
//! | outcome | status | body |
//! |---|---|---|
//! | handled, or a duplicate | 200 | `{"code":0,"msg":"ok"}` |
//! | missing, malformed or wrong signature | 401 | `{"code":1,"msg":"invalid signature"}` |
//! | body over the verifier's limit | 413 | JSON |
//! | signed body that is not a callback envelope | 400 | JSON |
//! | your function failed or took longer than the handler timeout, or the store failed | 500 / 503 | JSON; the notice is released so the service's resend is handled |
//!
//! The service waits at most 10 s for the 200, so keep the function quick: persist or
//! enqueue, and do slow work elsewhere.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;

use super::error::WebhookError;
use super::event::Notification;
use super::receiver::{Received, Receiver};
use super::verify::Signatures;

/// How long the body may take to arrive, and how long your function may run, by default:
/// both well inside the service's 10 s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(8);

/// What a handler function may return: `()` or `Result<(), E>` with a displayable `E`.
pub trait HandlerResult {
    /// `Err` with the failure's text when handling failed.
    fn into_result(self) -> Result<(), String>;
}

impl HandlerResult for () {
    fn into_result(self) -> Result<(), String> {
        Ok(())
    }
}

impl<E: std::fmt::Display> HandlerResult for Result<(), E> {
    fn into_result(self) -> Result<(), String> {
        self.map_err(|e| e.to_string())
    }
}

/// A `POST` endpoint to mount at your callback path:
///
/// ```no_run
/// use shengwang_agent::webhooks::{self, Notification, Receiver, Verifier};
/// let receiver = Receiver::new(Verifier::new("console-secret"));
/// let app: axum::Router = axum::Router::new().route(
///     "/convoai/callbacks",
///     webhooks::axum::post(receiver, |n: Notification| async move {
///         println!("{} {}", n.notice_id, n.event.kind());
///     }),
/// );
/// ```
pub fn post<S, F, Fut, R>(receiver: Receiver, handler: F) -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
    F: Fn(Notification) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R> + Send + 'static,
    R: HandlerResult + Send,
{
    post_with_timeout(receiver, DEFAULT_TIMEOUT, handler)
}

/// [`post`] with another timeout for reading the body and for running `handler`.
pub fn post_with_timeout<S, F, Fut, R>(
    receiver: Receiver,
    timeout: Duration,
    handler: F,
) -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
    F: Fn(Notification) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R> + Send + 'static,
    R: HandlerResult + Send,
{
    let limit = receiver.verifier().body_limit();
    let shared = Arc::new((receiver, handler));
    axum::routing::post(move |req: Request| {
        let shared = shared.clone();
        async move { handle(&shared.0, &shared.1, timeout, req).await }
    })
    .layer(DefaultBodyLimit::max(limit))
}

/// A router with [`post`] mounted at `path`.
pub fn router<F, Fut, R>(path: &str, receiver: Receiver, handler: F) -> axum::Router
where
    F: Fn(Notification) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R> + Send + 'static,
    R: HandlerResult + Send,
{
    axum::Router::new().route(path, post(receiver, handler))
}

fn answer(status: StatusCode, code: u8, msg: &'static str) -> Response {
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        format!("{{\"code\":{code},\"msg\":\"{msg}\"}}"),
    )
        .into_response()
}

async fn handle<F, Fut, R>(
    receiver: &Receiver,
    handler: &F,
    timeout: Duration,
    req: Request,
) -> Response
where
    F: Fn(Notification) -> Fut,
    Fut: Future<Output = R>,
    R: HandlerResult + Send,
{
    let headers = req.headers().clone();
    let bytes = match tokio::time::timeout(timeout, Bytes::from_request(req, &())).await {
        Err(_) => return answer(StatusCode::REQUEST_TIMEOUT, 1, "body timeout"),
        Ok(Err(rejection)) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return answer(StatusCode::PAYLOAD_TOO_LARGE, 1, "body too large")
        }
        Ok(Err(_)) => return answer(StatusCode::BAD_REQUEST, 1, "unreadable body"),
        Ok(Ok(b)) => b,
    };
    let signatures = Signatures::from_headers(&headers);
    let received = match receiver.receive(signatures, &bytes).await {
        Ok(r) => r,
        Err(e) if e.is_signature() => {
            tracing::warn!(error = %e, len = bytes.len(), "webhook rejected");
            return answer(StatusCode::UNAUTHORIZED, 1, "invalid signature");
        }
        Err(WebhookError::BodyTooLarge { .. }) => {
            return answer(StatusCode::PAYLOAD_TOO_LARGE, 1, "body too large")
        }
        Err(WebhookError::Store(e)) => {
            tracing::warn!(error = %e, "webhook dedupe store failed");
            return answer(StatusCode::SERVICE_UNAVAILABLE, 1, "store unavailable");
        }
        Err(e) => {
            tracing::warn!(error = %e, len = bytes.len(), "webhook body not handled");
            return answer(StatusCode::BAD_REQUEST, 1, "malformed body");
        }
    };
    let n = match received {
        Received::Duplicate(n) => {
            tracing::debug!(notice_id = %crate::redact::escape(n.notice_id.as_str()), "duplicate webhook acknowledged");
            return answer(StatusCode::OK, 0, "ok");
        }
        Received::New(n) => n,
    };
    if !n.is_convoai() {
        tracing::info!(
            product_id = n.product_id,
            event_type = n.event_type,
            "webhook from another product"
        );
    }
    // Server text, so escaped before it reaches a log line.
    let notice_id = crate::redact::escape(n.notice_id.as_str()).into_owned();
    let key = n.dedupe_key();
    let kind = n.event.kind();
    let outcome = tokio::time::timeout(timeout, handler(n)).await;
    let failed = match outcome {
        Ok(r) => match r.into_result() {
            Ok(()) => return answer(StatusCode::OK, 0, "ok"),
            Err(e) => {
                tracing::warn!(notice_id = %notice_id, error = %e, "webhook handler failed");
                answer(StatusCode::INTERNAL_SERVER_ERROR, 1, "handler failed")
            }
        },
        Err(_) => {
            tracing::warn!(notice_id = %notice_id, "webhook handler timed out");
            answer(StatusCode::SERVICE_UNAVAILABLE, 1, "handler timed out")
        }
    };
    // Forget the claim so the service's resend is handled.
    if let Err(e) = receiver.release_key(kind, &key).await {
        tracing::warn!(error = %e, "webhook dedupe release failed");
    }
    failed
}
