//! `/_emulator/…`: observation and control for tests and soaks. No auth; loopback peers only.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::fault::{Fault, FaultRule};
use crate::notify::{CallbackFault, CallbackFaultRule};
use crate::shared::Shared;

mod agents;
mod calls;
mod log;
mod status;

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_emulator/agents", get(agents))
        .route("/_emulator/requests", get(requests))
        .route("/_emulator/connections", get(stats))
        .route("/_emulator/faults", post(set_faults).get(get_faults))
        .route(
            "/_emulator/faults/rules",
            post(push_rule).delete(clear_rules),
        )
        .route("/_emulator/reset", post(reset))
        .route("/_emulator/callbacks", get(callbacks))
        .route("/_emulator/webhook", post(set_webhook))
        .route("/_emulator/webhook/faults", post(push_callback_fault))
        .route("/_emulator/agents/:id/error", post(inject_error))
        .route("/_emulator/agents/:id/token-expiring", post(inject_expiry))
        .merge(agents::router())
        .merge(calls::router())
        .merge(status::router())
        .merge(log::router())
}

/// `routes` (the admin API's, the dashboard's) served to this machine only: loopback peers,
/// and no requests a browser sends on behalf of another site.
pub(crate) fn local_only(routes: Router<Arc<Shared>>) -> Router<Arc<Shared>> {
    routes
        .route_layer(middleware::from_fn(same_origin))
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

/// Refuses requests a browser sent on behalf of another site: a `Host` that is not this
/// machine's (DNS rebinding) or an `Origin` that is not the `Host` (cross-site requests).
/// Scripts send neither mismatch, so they are unaffected.
async fn same_origin(req: Request, next: Next) -> Response {
    if from_this_machine(req.headers()) {
        next.run(req).await
    } else {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "admin API: requests from other sites are refused",
        )
        .into_response()
    }
}

fn from_this_machine(headers: &axum::http::HeaderMap) -> bool {
    let header = |name| {
        headers
            .get(name)
            .map(|v: &axum::http::HeaderValue| v.to_str().unwrap_or("\u{fffd}"))
    };
    let host = header(axum::http::header::HOST);
    let local_host = host.is_none_or(is_local_host);
    let same = match (header(axum::http::header::ORIGIN), host) {
        (None, _) => true,
        (Some(origin), Some(host)) => origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .is_some_and(|o| o.eq_ignore_ascii_case(host)),
        (Some(_), None) => false,
    };
    local_host && same
}

/// `localhost` or an IP literal, with or without a port.
fn is_local_host(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !name.ends_with(':') => {
            name
        }
        _ => host,
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::IpAddr>().is_ok()
}

async fn agents(State(s): State<Arc<Shared>>) -> Json<Value> {
    let list: Vec<Value> = s
        .agent_records()
        .into_iter()
        .map(|a| {
            json!({"agent_id": a.agent_id, "name": a.name, "channel": a.channel,
                   "agent_rtc_uid": a.agent_rtc_uid, "status": a.status.name(),
                   "create_ts": a.create_ts, "stop_ts": a.stop_ts, "message": a.message,
                   "idle_timeout": a.idle_timeout, "token_expires_at": a.token_expires_at})
        })
        .collect();
    Json(Value::Array(list))
}

async fn requests(State(s): State<Arc<Shared>>) -> Json<Value> {
    let list: Vec<Value> = s
        .request_counts()
        .into_iter()
        .map(|c| json!({"endpoint": c.endpoint, "status": c.status, "count": c.count}))
        .collect();
    Json(Value::Array(list))
}

async fn get_faults(State(s): State<Arc<Shared>>) -> Json<Value> {
    let latency_ms = u64::try_from(s.latency().as_millis()).unwrap_or(u64::MAX);
    let f = s.faults();
    let rules: Vec<Value> = f
        .rules
        .iter()
        .map(|r| {
            json!({"method": r.method, "path_contains": r.path_contains, "times": r.times,
                   "fault": fault_json(&r.fault), "label": r.fault.to_string()})
        })
        .collect();
    Json(json!({
        "rate": f.rate, "latency_ms": latency_ms,
        "delay_ms": u64::try_from(f.delay.as_millis()).unwrap_or(u64::MAX),
        "starting_ms": u64::try_from(f.starting.as_millis()).unwrap_or(u64::MAX),
        "rules": rules,
    }))
}

/// A fault in the shape `POST /_emulator/faults/rules` takes, so what is read can be sent back.
fn fault_json(f: &Fault) -> Value {
    match f {
        Fault::Status {
            status,
            retry_after,
            retry_after_ms,
        } => json!({"kind": "status", "status": status, "retry_after": retry_after,
                     "retry_after_ms": retry_after_ms}),
        Fault::Drop => json!({"kind": "drop"}),
        Fault::Delay(d) => {
            json!({"kind": "delay", "ms": u64::try_from(d.as_millis()).unwrap_or(u64::MAX)})
        }
        Fault::StatusAfterStateChange { status } => {
            json!({"kind": "status_after_state_change", "status": status})
        }
        Fault::DropAfterStateChange => json!({"kind": "drop_after_state_change"}),
        Fault::DelayAfterStateChange(d) => json!({"kind": "delay_after_state_change",
            "ms": u64::try_from(d.as_millis()).unwrap_or(u64::MAX)}),
        // The body is the user's own text; it is shown back only to the loopback admin.
        Fault::Respond { status, body } => {
            json!({"kind": "respond", "status": status, "body": body})
        }
    }
}

async fn clear_rules(State(s): State<Arc<Shared>>) -> StatusCode {
    s.faults().rules.clear();
    StatusCode::NO_CONTENT
}

async fn stats(State(s): State<Arc<Shared>>) -> Json<crate::stats::ServerStats> {
    Json(s.counters.snapshot())
}

#[derive(Deserialize)]
struct FaultSettings {
    rate: Option<f64>,
    latency_ms: Option<u64>,
    delay_ms: Option<u64>,
    starting_ms: Option<u64>,
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
    if let Some(ms) = f.starting_ms {
        s.faults().starting = Duration::from_millis(ms);
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
    DelayAfterStateChange {
        ms: u64,
    },
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
        FaultSpec::DelayAfterStateChange { ms } => {
            Fault::DelayAfterStateChange(Duration::from_millis(ms))
        }
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

async fn callbacks(State(s): State<Arc<Shared>>) -> Json<Value> {
    Json(serde_json::to_value(s.notifier.records()).unwrap_or_default())
}

#[derive(Deserialize)]
struct WebhookSettings {
    /// Absent: unchanged; `null`: stop sending.
    #[serde(default, with = "double_option")]
    url: Option<Option<String>>,
    secret: Option<String>,
    timeout_ms: Option<u64>,
    retry_delay_ms: Option<u64>,
}

/// Tells an absent key from an explicit `null`.
mod double_option {
    use serde::{Deserialize, Deserializer};
    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<String>>, D::Error> {
        Option::<String>::deserialize(d).map(Some)
    }
}

async fn set_webhook(
    State(s): State<Arc<Shared>>,
    body: Result<Json<WebhookSettings>, axum::extract::rejection::JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let Json(w) = body.map_err(|e| ApiError::body(e.body_text()))?;
    let mut c = s.notifier.config();
    if let Some(url) = w.url {
        if let Some(u) = &url {
            crate::notify::check_url(u).map_err(|e| ApiError::invalid("url", e))?;
        }
        c.url = url;
    }
    if let Some(secret) = w.secret {
        c.secret = secret;
    }
    if let Some(ms) = w.timeout_ms {
        c.timeout = Duration::from_millis(ms.max(1));
    }
    if let Some(ms) = w.retry_delay_ms {
        c.retry_delay = Duration::from_millis(ms);
    }
    s.notifier.set_config(c);
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum CallbackFaultSpec {
    Duplicate,
    Reorder,
    Delay { ms: u64 },
    Drop,
    WrongSignature,
}

#[derive(Deserialize)]
struct CallbackRuleSpec {
    event_type: Option<u32>,
    times: Option<u32>,
    #[serde(flatten)]
    fault: CallbackFaultSpec,
}

async fn push_callback_fault(
    State(s): State<Arc<Shared>>,
    body: Result<Json<CallbackRuleSpec>, axum::extract::rejection::JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let Json(r) = body.map_err(|e| ApiError::body(e.body_text()))?;
    let fault = match r.fault {
        CallbackFaultSpec::Duplicate => CallbackFault::Duplicate,
        CallbackFaultSpec::Reorder => CallbackFault::Reorder,
        CallbackFaultSpec::Delay { ms } => CallbackFault::Delay(Duration::from_millis(ms)),
        CallbackFaultSpec::Drop => CallbackFault::Drop,
        CallbackFaultSpec::WrongSignature => CallbackFault::WrongSignature,
    };
    s.notifier.push_fault(CallbackFaultRule {
        fault,
        event_type: r.event_type,
        times: r.times.unwrap_or(1),
    });
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct ErrorSpec {
    module: Option<String>,
    code: Option<i64>,
    message: Option<String>,
}

async fn inject_error(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Result<Json<ErrorSpec>, axum::extract::rejection::JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let Json(e) = body.map_err(|e| ApiError::body(e.body_text()))?;
    let module = e.module.as_deref().unwrap_or("llm");
    let message = e.message.as_deref().unwrap_or("Insufficient balance.");
    if s.agent_error(&id, module, e.code.unwrap_or(503), message) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("agent {id} is not running")))
    }
}

async fn inject_expiry(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if s.token_expiring(&id) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("agent {id} is not running")))
    }
}
