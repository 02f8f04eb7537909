//! The one application: the REST routes, the admin API and the dashboard, composed under
//! one request-id layer, with JSON answers for unknown routes and methods.

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use rand::Rng;
use serde_json::json;

use crate::api::extract::MAX_BODY;
use crate::error::{ApiError, ErrorBody};
use crate::shared::Shared;

/// Every route of the emulator.
pub(crate) fn app(shared: Arc<Shared>) -> Router {
    let local = crate::admin::router().merge(crate::ui::router());
    crate::api::router(shared.clone())
        .merge(crate::admin::local_only(local))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "NotFound", "no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                "method not allowed on this route",
            )
        })
        .layer(middleware::from_fn_with_state(shared.clone(), request_id))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(shared)
}

/// Stamps the request id on every answer and counts the REST ones per route.
async fn request_id(State(s): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let endpoint = endpoint_name(&req);
    let res = stamp(next.run(req).await);
    if let Some(endpoint) = endpoint {
        s.count(endpoint, res.status().as_u16());
    }
    res
}

/// The one request-id path: assigns an id, renders an error's body with it
/// (`{"detail", "reason", "request_id"}`) and sets `X-Request-Id`. Answers made before the
/// routes (an injected fault, a body too large) come through here too.
pub(crate) fn stamp(mut res: Response) -> Response {
    let id = format!("{:016x}", rand::thread_rng().gen::<u64>());
    if let Some(err) = res.extensions_mut().remove::<ErrorBody>() {
        let status = res.status();
        let headers = std::mem::take(res.headers_mut());
        res = (
            status,
            Json(json!({"detail": err.detail, "reason": err.reason, "request_id": id})),
        )
            .into_response();
        res.headers_mut().extend(headers);
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert("x-request-id", v);
    }
    res
}

/// `METHOD /route/{template}` of a REST request; `None` for the admin API and the dashboard.
fn endpoint_name(req: &Request) -> Option<String> {
    let path = req.extensions().get::<MatchedPath>()?.as_str();
    let path = crate::api::PREFIXES
        .iter()
        .find_map(|p| path.strip_prefix(p))
        .unwrap_or(path);
    if path.starts_with("/_emulator") {
        return None;
    }
    let template: Vec<String> = path
        .split('/')
        .map(|seg| match seg.strip_prefix(':') {
            Some(name) => format!("{{{name}}}"),
            None => seg.to_owned(),
        })
        .collect();
    Some(format!("{} {}", req.method(), template.join("/")))
}
