//! `POST /webhooks`: the service's notices, checked with the SDK's receiver and handed to
//! [`AppState::accept_notice`].
//!
//! | outcome | status |
//! |---|---|
//! | new notice accepted, or a duplicate | 200 `{"code":0,"msg":"ok"}` |
//! | missing, malformed or wrong signature | 401 |
//! | body over 64 KiB | 413 |
//! | signed body that is not a notice envelope | 400 |
//! | the notice could not be accepted (in time) | 503: the service resends it |
//! | `SHENGWANG_WEBHOOK_SECRET` unset | 404 |
//!
//! `SHENGWANG_WEBHOOK_SECRET` may hold several secrets, comma-separated (rotation without
//! downtime): a notice signed with any of them is accepted, the SDK's verifier trying every
//! one in constant time.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use shengwang_agent::webhooks::{Received, Receiver, Signatures, Verifier, WebhookError};

use super::routes::MAX_BODY;
use super::state::AppState;

/// Variable holding the webhook secret(s), comma-separated.
pub const SECRET_VAR: &str = "SHENGWANG_WEBHOOK_SECRET";
/// Time a notice's acceptance may take: the service waits 10 s for its 200.
const ACCEPT_TIMEOUT: Duration = Duration::from_secs(8);

/// The receiver for the secrets of `var` (trimmed, empty ones skipped); `None` without any.
pub fn receiver(var: Option<String>) -> Option<Receiver> {
    let mut secrets = super::comma_list(var.as_deref()).map(str::to_owned);
    let mut verifier = Verifier::new(secrets.next()?).max_body(MAX_BODY);
    for secret in secrets {
        verifier = verifier.with_secret(secret);
    }
    let receiver = Receiver::new(verifier);
    Some(match super::telemetry::meter() {
        Some(meter) => receiver.meter(meter),
        None => receiver,
    })
}

/// The `/webhooks` route: the receiver's, or a 404 naming the variable when there is none.
pub fn router(state: AppState, receiver: Option<Receiver>) -> Router {
    let route = match receiver {
        Some(receiver) => post(move |state: State<AppState>, headers, body| {
            receive(state, receiver.clone(), headers, body)
        }),
        None => post(|| async {
            let msg = format!("webhooks are off: {SECRET_VAR} is not set");
            answer(StatusCode::NOT_FOUND, 1, &msg)
        }),
    };
    Router::new()
        .route("/webhooks", route)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

/// The answer the service reads: `{"code": 0|1, "msg": text}`.
fn answer(status: StatusCode, code: u8, msg: &str) -> Response {
    let body = serde_json::json!({"code": code, "msg": msg});
    (status, axum::Json(body)).into_response()
}

async fn receive(
    State(state): State<AppState>,
    receiver: Receiver,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            let msg = format!("body larger than {MAX_BODY} bytes");
            return answer(StatusCode::PAYLOAD_TOO_LARGE, 1, &msg);
        }
        Err(_) => return answer(StatusCode::BAD_REQUEST, 1, "unreadable body"),
    };
    let n = match receiver
        .receive(Signatures::from_headers(&headers), &body)
        .await
    {
        Ok(Received::New(n)) => n,
        Ok(Received::Duplicate(_)) => return answer(StatusCode::OK, 0, "ok"),
        Err(e) => return rejected(&e, body.len()),
    };
    let accepted = tokio::time::timeout(ACCEPT_TIMEOUT, state.accept_notice(&body, &n)).await;
    let failure = match accepted {
        Ok(Ok(())) => return answer(StatusCode::OK, 0, "ok"),
        Ok(Err(e)) => format!("{e:?}"),
        Err(_) => "timed out".to_owned(),
    };
    // Forget the claim, so the service's resend is accepted.
    if let Err(e) = receiver.release(&n).await {
        tracing::warn!(error = %e, "webhook claim release failed");
    }
    tracing::warn!(
        event = n.event.kind(),
        notice_id = %shengwang_agent::redact::escape(n.notice_id.as_str()),
        reason = %crate::output::clean(&failure),
        "notice not accepted; answered 503 so the service resends it"
    );
    answer(StatusCode::SERVICE_UNAVAILABLE, 1, "notice not accepted")
}

/// The answer to a notice the receiver refused. The log names the kind of failure and the
/// length, never the body or a signature.
fn rejected(e: &WebhookError, len: usize) -> Response {
    match e {
        e if e.is_signature() => {
            tracing::warn!(error = %e, len, "webhook rejected");
            answer(StatusCode::UNAUTHORIZED, 1, "invalid signature")
        }
        WebhookError::BodyTooLarge { .. } => {
            let msg = format!("body larger than {MAX_BODY} bytes");
            answer(StatusCode::PAYLOAD_TOO_LARGE, 1, &msg)
        }
        WebhookError::Store(_) => {
            tracing::warn!(error = %e, "webhook store failed");
            answer(StatusCode::SERVICE_UNAVAILABLE, 1, "store unavailable")
        }
        _ => {
            tracing::warn!(error = %e, len, "webhook body not a notice");
            answer(StatusCode::BAD_REQUEST, 1, "malformed body")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_split_and_trimmed() {
        assert!(receiver(None).is_none());
        assert!(receiver(Some(" , ".into())).is_none());
        let r = receiver(Some("old, new".into())).expect("two secrets");
        let body = br#"{"noticeId":"1","productId":17,"eventType":101,"payload":{}}"#;
        for secret in ["old", "new"] {
            let sig = shengwang_agent::webhooks::sign_v2(secret.as_bytes(), body);
            let sigs = Signatures {
                v2: Some(&sig),
                v1: None,
            };
            assert!(r.verifier().verify(sigs, body).is_ok(), "{secret}");
        }
        let sig = shengwang_agent::webhooks::sign_v2(b"other", body);
        let sigs = Signatures {
            v2: Some(&sig),
            v1: None,
        };
        assert!(r.verifier().verify(sigs, body).is_err());
    }
}
