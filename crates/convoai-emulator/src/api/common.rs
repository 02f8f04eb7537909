//! What the REST route modules share: the handler types and the answers for lists.

use std::sync::Arc;

use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::shared::Shared;

use super::extract::Params;

pub(super) type Shr = axum::extract::State<Arc<Shared>>;
pub(super) type ApiResult = Result<Response, ApiError>;

/// `properties.labels` of a join or call body (already validated as string values).
pub(super) fn labels_of(body: &Map<String, Value>) -> Option<Map<String, Value>> {
    body.get("properties")?.get("labels")?.as_object().cloned()
}

pub(super) fn json(v: Value) -> ApiResult {
    Ok(Json(v).into_response())
}

pub(super) fn window(q: &Params, now: u64, default_span: u64) -> Result<(f64, f64), ApiError> {
    let from = q
        .float("from_time")?
        .unwrap_or(now.saturating_sub(default_span) as f64);
    let to = q.float("to_time")?.unwrap_or(f64::INFINITY);
    Ok((from, to))
}

/// One page of `items` after `cursor` (an id from the previous page), as `(page, next cursor)`.
pub(super) fn paginate<'a>(
    items: Vec<&'a str>,
    cursor: Option<&String>,
    limit: Option<usize>,
) -> Result<(Vec<&'a str>, String), ApiError> {
    let start = match cursor.filter(|c| !c.is_empty()) {
        None => 0,
        Some(c) => items
            .iter()
            .position(|id| *id == c.as_str())
            .map(|i| i + 1)
            .ok_or_else(|| ApiError::invalid("cursor", "unknown cursor"))?,
    };
    let limit = limit.filter(|l| *l > 0).unwrap_or(20).min(1000);
    let end = (start + limit).min(items.len());
    let next = if end < items.len() {
        items[end - 1].to_owned()
    } else {
        String::new()
    };
    Ok((items[start..end].to_vec(), next))
}
