//! One API request through the emulator: logged, delayed by the latency setting, and given
//! the fault the fault settings pick before (or after) the routes answer it. Admin and UI
//! requests go straight to the routes.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;

use crate::api::extract::MAX_BODY;
use crate::app;
use crate::error::ApiError;
use crate::fault::Fault;
use crate::reqlog;
use crate::shared::Shared;

/// Closing the connection without an answer is how hyper is told to drop it.
#[derive(Debug)]
pub(crate) struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("fault injection: connection dropped")
    }
}

impl std::error::Error for DropConnection {}

pub(crate) async fn handle(
    req: hyper::Request<hyper::body::Incoming>,
    app: axum::Router,
    shared: Arc<Shared>,
) -> Result<Response, DropConnection> {
    let req = req.map(axum::body::Body::new);
    if req.uri().path().starts_with("/_emulator") {
        return Ok(app.oneshot(req).await.unwrap_or_else(|e| match e {}));
    }
    shared.counters.request(req.version());
    let (req, mut pending) = reqlog::arrive(req, &shared, MAX_BODY).await;
    let req = match req {
        Ok(req) => req,
        Err(e) => return Ok(pending.answered(app::stamp(e.into_response())).await),
    };
    let latency = shared.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let fault = shared
        .faults()
        .pick(req.method().as_str(), req.uri().path());
    if let Some(f) = &fault {
        pending.fault(f);
    }
    let method = req.method().to_string();
    let injected = |shared: &Shared, status: u16| {
        shared.count(format!("{method} (fault)"), status);
    };
    let res = match fault {
        None => app.oneshot(req).await.unwrap_or_else(|e| match e {}),
        Some(Fault::Delay(d)) => {
            tokio::time::sleep(d).await;
            app.oneshot(req).await.unwrap_or_else(|e| match e {})
        }
        Some(Fault::Status {
            status,
            retry_after,
            retry_after_ms,
        }) => {
            injected(&shared, status);
            fault_response(status, retry_after, retry_after_ms)
        }
        Some(Fault::Drop) => {
            injected(&shared, 0);
            pending.dropped();
            return Err(DropConnection);
        }
        Some(Fault::StatusAfterStateChange { status }) => {
            let inner = app.oneshot(req).await.unwrap_or_else(|e| match e {});
            pending.inner(inner).await;
            injected(&shared, status);
            fault_response(status, None, None)
        }
        Some(Fault::Respond { status, body }) => {
            injected(&shared, status);
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            (status, body).into_response()
        }
        Some(Fault::DropAfterStateChange) => {
            let inner = app.oneshot(req).await.unwrap_or_else(|e| match e {});
            pending.inner(inner).await;
            injected(&shared, 0);
            pending.dropped();
            return Err(DropConnection);
        }
        Some(Fault::DelayAfterStateChange(d)) => {
            let inner = app.oneshot(req).await.unwrap_or_else(|e| match e {});
            tokio::time::sleep(d).await;
            inner
        }
    };
    Ok(pending.answered(res).await)
}

fn fault_response(
    status: u16,
    retry_after: Option<String>,
    retry_after_ms: Option<u64>,
) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let reason = match status.as_u16() {
        429 => "TooManyRequests",
        503 => "ServiceUnavailable",
        504 => "TaskOperationTimeout",
        _ => "InternalError",
    };
    let mut e = ApiError::new(status, reason, "injected fault");
    if let Some(secs) = retry_after {
        e.retry_after = Some((secs, retry_after_ms));
    } else if let Some(ms) = retry_after_ms {
        e.retry_after = Some(((ms / 1000).to_string(), Some(ms)));
    }
    app::stamp(e.into_response())
}
