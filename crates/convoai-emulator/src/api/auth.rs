//! Who may call the REST routes: the project's customer credentials or its tokens.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use shengwang_agent::token::ServiceType;

use crate::error::ApiError;
use crate::shared::Shared;

/// `Basic` with the customer id/secret, or `agora token=` with an AccessToken2 of this app
/// that verifies, has not expired and holds an RTC service. Header tokens are not bound to
/// the agent's channel or uid: the Python SDK signs them for other identities (spec §3).
pub(super) async fn authenticate(
    State(s): State<Arc<Shared>>,
    req: Request,
    next: Next,
) -> Response {
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if let Err(e) = check_auth(&s, header) {
        return e.into_response();
    }
    next.run(req).await
}

fn check_auth(s: &Shared, header: &str) -> Result<(), ApiError> {
    if header.is_empty() {
        return Err(ApiError::unauthorized("missing Authorization header"));
    }
    if let Some(creds) = header.strip_prefix("Basic ") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(creds.trim())
            .map_err(|_| ApiError::unauthorized("malformed Basic credentials"))?;
        return if decoded == s.basic_credentials {
            Ok(())
        } else {
            Err(ApiError::unauthorized("wrong customer id or secret"))
        };
    }
    if let Some(t) = header.strip_prefix("agora token=") {
        let v = s
            .tokens
            .clone()
            .at(s.clock.now())
            .require_service(ServiceType::Rtc);
        s.verified
            .verify(t.trim(), &v)
            .map_err(ApiError::unauthorized)?;
        return Ok(());
    }
    Err(ApiError::unauthorized(
        "expected `Basic …` or `agora token=…`",
    ))
}
