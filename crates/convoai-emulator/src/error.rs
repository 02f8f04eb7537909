//! API errors as the service renders them (`{"detail", "reason", "request_id"}`), and the
//! emulator's own [`EmulatorError`].

use std::net::SocketAddr;

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// An error response. The request id is added by the middleware that assigns it.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub reason: &'static str,
    pub detail: String,
    pub retry_after: Option<(String, Option<u64>)>,
}

/// Carried in the response extensions so the request-id middleware can render the body.
#[derive(Debug, Clone)]
pub(crate) struct ErrorBody {
    pub reason: &'static str,
    pub detail: String,
}

impl ApiError {
    pub fn new(status: StatusCode, reason: &'static str, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            reason,
            detail: detail.into(),
            retry_after: None,
        }
    }
    pub fn missing(field: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "MissingRequiredField",
            format!("{field}: is required"),
        )
    }
    pub fn invalid(field: &str, why: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidFieldValue",
            format!("{field}: {why}"),
        )
    }
    pub fn body(why: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidRequestBody",
            format!("invalid request body: {why}"),
        )
    }
    pub fn not_found(what: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::NOT_FOUND, "TaskNotFound", what.to_string())
    }
    pub fn conflict(what: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::CONFLICT, "TaskConflict", what.to_string())
    }
    pub fn unauthorized(why: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "AuthenticationFailed",
            format!("authentication failed: {why}"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = self.status.into_response();
        if let Some((secs, ms)) = &self.retry_after {
            if let Ok(v) = HeaderValue::from_str(secs) {
                res.headers_mut().insert("retry-after", v);
            }
            if let Some(ms) = ms {
                res.headers_mut()
                    .insert("retry-after-ms", HeaderValue::from(*ms));
            }
        }
        res.extensions_mut().insert(ErrorBody {
            reason: self.reason,
            detail: self.detail,
        });
        res
    }
}

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

impl From<ApiError> for EmulatorError {
    /// A refusal with the status and detail the admin API would answer.
    fn from(e: ApiError) -> Self {
        EmulatorError::Refused {
            status: e.status.as_u16(),
            message: e.detail,
        }
    }
}
