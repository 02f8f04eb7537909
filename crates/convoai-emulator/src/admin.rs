//! `/_emulator/…`: observation and control for tests and soaks. No auth; loopback peers only.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::fault::{Fault, FaultRule};
use crate::Shared;

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_emulator/agents", get(agents))
        .route("/_emulator/requests", get(requests))
        .route("/_emulator/stats", get(stats))
        .route("/_emulator/faults", post(set_faults))
        .route("/_emulator/faults/rules", post(push_rule))
        .route("/_emulator/reset", post(reset))
        .route_layer(middleware::from_fn(loopback_only))
}

async fn loopback_only(req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if peer.is_some_and(|ip| ip.is_loopback()) {
        next.run(req).await
    } else {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "admin API is loopback only",
        )
        .into_response()
    }
}

async fn agents(State(s): State<Arc<Shared>>) -> Json<Value> {
    let list: Vec<Value> = crate::EmulatorHandle::agents_of(&s)
        .into_iter()
        .map(|a| {
            json!({"agent_id": a.agent_id, "name": a.name, "channel": a.channel,
                   "agent_rtc_uid": a.agent_rtc_uid, "status": a.status.name(),
                   "create_ts": a.create_ts, "stop_ts": a.stop_ts, "message": a.message})
        })
        .collect();
    Json(Value::Array(list))
}

async fn requests(State(s): State<Arc<Shared>>) -> Json<Value> {
    let list: Vec<Value> = crate::EmulatorHandle::counts_of(&s)
        .into_iter()
        .map(|c| json!({"endpoint": c.endpoint, "status": c.status, "count": c.count}))
        .collect();
    Json(Value::Array(list))
}

async fn stats(State(s): State<Arc<Shared>>) -> Json<crate::ServerStats> {
    Json(s.counters.snapshot())
}

#[derive(Deserialize)]
struct FaultSettings {
    rate: Option<f64>,
    latency_ms: Option<u64>,
    delay_ms: Option<u64>,
}

async fn set_faults(
    State(s): State<Arc<Shared>>,
    body: Result<Json<FaultSettings>, axum::extract::rejection::JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let Json(f) = body.map_err(|e| ApiError::body(e.body_text()))?;
    if let Some(rate) = f.rate {
        if !(0.0..=1.0).contains(&rate) {
            return Err(ApiError::invalid("rate", "must be between 0 and 1"));
        }
        s.faults().rate = rate;
    }
    if let Some(ms) = f.latency_ms {
        s.set_latency(Duration::from_millis(ms));
    }
    if let Some(ms) = f.delay_ms {
        s.faults().delay = Duration::from_millis(ms);
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum FaultSpec {
    Status {
        status: u16,
        retry_after: Option<String>,
        retry_after_ms: Option<u64>,
    },
    Drop,
    Delay {
        ms: u64,
    },
    StatusAfterStateChange {
        status: u16,
    },
    DropAfterStateChange,
    Respond {
        status: u16,
        body: String,
    },
}

#[derive(Deserialize)]
struct RuleSpec {
    method: Option<String>,
    path_contains: Option<String>,
    times: Option<u32>,
    fault: FaultSpec,
}

async fn push_rule(
    State(s): State<Arc<Shared>>,
    body: Result<Json<RuleSpec>, axum::extract::rejection::JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let Json(r) = body.map_err(|e| ApiError::body(e.body_text()))?;
    let fault = match r.fault {
        FaultSpec::Status {
            status,
            retry_after,
            retry_after_ms,
        } => Fault::Status {
            status,
            retry_after,
            retry_after_ms,
        },
        FaultSpec::Drop => Fault::Drop,
        FaultSpec::Delay { ms } => Fault::Delay(Duration::from_millis(ms)),
        FaultSpec::StatusAfterStateChange { status } => Fault::StatusAfterStateChange { status },
        FaultSpec::DropAfterStateChange => Fault::DropAfterStateChange,
        FaultSpec::Respond { status, body } => Fault::Respond { status, body },
    };
    s.faults().rules.push_back(FaultRule {
        method: r.method,
        path_contains: r.path_contains,
        fault,
        times: r.times.unwrap_or(1),
    });
    Ok(StatusCode::NO_CONTENT)
}

async fn reset(State(s): State<Arc<Shared>>) -> StatusCode {
    s.reset();
    StatusCode::NO_CONTENT
}
