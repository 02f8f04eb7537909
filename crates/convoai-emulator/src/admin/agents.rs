//! `/_emulator/agents/{id}…`: one agent's details and the dashboard's buttons. Speak,
//! interrupt and stop are the REST calls, made by the emulator on the caller's behalf with
//! the project's own credentials, so the page never holds a credential and the rules of
//! those calls live in one place.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tower::ServiceExt;

use crate::api::Internal;
use crate::error::ApiError;
use crate::reqlog::plausible_id;
use crate::Shared;

type Shr = State<Arc<Shared>>;
type JsonObject = Result<Json<Map<String, Value>>, axum::extract::rejection::JsonRejection>;

pub(super) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_emulator/agents/:id", get(agent))
        .route("/_emulator/agents/:id/turns", get(turns))
        .route("/_emulator/agents/:id/speak", post(speak))
        .route("/_emulator/agents/:id/interrupt", post(interrupt))
        .route("/_emulator/agents/:id/stop", post(stop))
        .route("/_emulator/agents/:id/fail", post(fail))
}

fn checked(id: &str) -> Result<(), ApiError> {
    if plausible_id(id) {
        Ok(())
    } else {
        Err(ApiError::not_found("no such agent"))
    }
}

/// Requires a JSON object body: a cross-site form cannot send one without the browser
/// asking first, so these routes cannot be triggered from another site.
fn object(body: JsonObject) -> Result<Map<String, Value>, ApiError> {
    body.map(|Json(m)| m)
        .map_err(|e| ApiError::body(e.body_text()))
}

async fn agent(State(s): Shr, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    checked(&id)?;
    let mut st = s.state.lock().unwrap_or_else(|p| p.into_inner());
    st.expire_idle(s.clock.now());
    let a = st
        .agents
        .get(&id)
        .ok_or_else(|| ApiError::not_found(format!("agent {id} not found")))?;
    let r = &a.record;
    let history: Vec<Value> = a
        .history
        .iter()
        .map(|(role, content)| json!({"role": role, "content": content}))
        .collect();
    Ok(Json(json!({
        "agent_id": r.agent_id, "name": r.name, "channel": r.channel,
        "agent_rtc_uid": r.agent_rtc_uid, "status": r.status.name(),
        "create_ts": r.create_ts, "stop_ts": r.stop_ts, "message": r.message,
        "idle_timeout": r.idle_timeout, "token_expires_at": r.token_expires_at, "mllm": a.mllm,
        "properties": a.properties, "history": history,
    })))
}

async fn turns(State(s): Shr, Path(id): Path<String>) -> Result<Response, ApiError> {
    checked(&id)?;
    Ok(forward(&s, Method::GET, &format!("{id}/turns?page_size=100"), None).await)
}

#[derive(Deserialize)]
struct Speak {
    text: String,
    priority: Option<String>,
    interruptable: Option<bool>,
}

async fn speak(
    State(s): Shr,
    Path(id): Path<String>,
    body: Result<Json<Speak>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    checked(&id)?;
    let Json(b) = body.map_err(|e| ApiError::body(e.body_text()))?;
    let mut v = json!({"text": b.text});
    if let Some(obj) = v.as_object_mut() {
        if let Some(p) = b.priority {
            obj.insert("priority".into(), Value::String(p));
        }
        if let Some(i) = b.interruptable {
            obj.insert("interruptable".into(), Value::Bool(i));
        }
    }
    Ok(forward(&s, Method::POST, &format!("{id}/speak"), Some(v)).await)
}

async fn interrupt(
    State(s): Shr,
    Path(id): Path<String>,
    body: JsonObject,
) -> Result<Response, ApiError> {
    checked(&id)?;
    object(body)?;
    Ok(forward(&s, Method::POST, &format!("{id}/interrupt"), None).await)
}

async fn stop(
    State(s): Shr,
    Path(id): Path<String>,
    body: JsonObject,
) -> Result<Response, ApiError> {
    checked(&id)?;
    object(body)?;
    Ok(forward(&s, Method::POST, &format!("{id}/leave"), None).await)
}

/// Longest failure reason kept.
const REASON_MAX: usize = 256;

async fn fail(
    State(s): Shr,
    Path(id): Path<String>,
    body: JsonObject,
) -> Result<StatusCode, ApiError> {
    checked(&id)?;
    let body = object(body)?;
    // `message` is the callback's word for it; either is taken.
    let reason = match body.get("reason").or_else(|| body.get("message")) {
        None | Some(Value::Null) => "agent error injected from the emulator",
        Some(Value::String(r)) if !r.is_empty() && r.len() <= REASON_MAX => r.as_str(),
        Some(_) => {
            return Err(ApiError::invalid(
                "reason",
                format!("must be a non-empty string of at most {REASON_MAX} bytes"),
            ))
        }
    };
    if s.fail_agent(&id, reason) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("agent {id} is not running")))
    }
}

/// Sends `METHOD …/agents/{rest}` through the REST routes with the project's credentials,
/// marked internal so it counts as the emulator's own call, not the user's traffic.
async fn forward(s: &Arc<Shared>, method: Method, rest: &str, body: Option<Value>) -> Response {
    let uri = format!(
        "/api/conversational-ai-agent/v2/projects/{}/agents/{rest}",
        s.app_id
    );
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(&s.basic_credentials)
    );
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, auth);
    let body = match body {
        Some(v) => {
            req = req.header(header::CONTENT_TYPE, "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    let mut req = match req.body(body) {
        Ok(r) => r,
        Err(_) => {
            return ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "cannot build the request",
            )
            .into_response()
        }
    };
    req.extensions_mut().insert(Internal);
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))));
    crate::api::router(s.clone())
        .oneshot(req)
        .await
        .unwrap_or_else(|e| match e {})
}
