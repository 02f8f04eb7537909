//! The REST routes' extractors: the raw body and the query, their failures answered as JSON.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;

use crate::error::ApiError;

/// Largest request body accepted.
pub(crate) const MAX_BODY: usize = 1024 * 1024;

/// The raw body, with the size limit answered as a JSON 413.
pub(crate) struct Body(pub Bytes);

#[axum::async_trait]
impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        Bytes::from_request(req, state)
            .await
            .map(Body)
            .map_err(|_| {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "InvalidRequestBody",
                    format!("request body larger than {MAX_BODY} bytes"),
                )
            })
    }
}

/// Query parameters, with a bad query string answered as a JSON 400.
pub(crate) struct Params(pub HashMap<String, String>);

#[axum::async_trait]
impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| Params(q))
            .map_err(|e| ApiError::body(format!("bad query string: {e}")))
    }
}

impl Params {
    pub fn float(&self, key: &str) -> Result<Option<f64>, ApiError> {
        self.0
            .get(key)
            .map(|v| {
                v.parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .ok_or_else(|| ApiError::invalid(key, "must be a number"))
            })
            .transpose()
    }
    pub fn uint(&self, key: &str) -> Result<Option<usize>, ApiError> {
        self.0
            .get(key)
            .map(|v| {
                v.parse::<usize>()
                    .map_err(|_| ApiError::invalid(key, "must be a non-negative integer"))
            })
            .transpose()
    }
}
