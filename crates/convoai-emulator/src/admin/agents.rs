//! `/_emulator/agents/{id}…`: one agent's details and the dashboard's buttons. Speak,
//! interrupt, stop and the turns view are the store operations the REST routes use, with the
//! same rules and the same answers, so the page never holds a credential. They are the
//! emulator's own traffic, not the user's: they are neither counted per route nor logged
//! among the requests.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::error::ApiError;
use crate::reqlog::plausible_id;
use crate::shared::Shared;
use crate::validate;

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
    let st = s.store();
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
    let now_ms = s.clock.now_ms();
    let page = s.store().turns_page(&id, 1, 100, now_ms)?;
    Ok(Json(page).into_response())
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
    // The REST body, checked by the REST rule.
    let mut v = Map::new();
    v.insert("text".into(), Value::String(b.text));
    if let Some(p) = b.priority {
        v.insert("priority".into(), Value::String(p));
    }
    if let Some(i) = b.interruptable {
        v.insert("interruptable".into(), Value::Bool(i));
    }
    let speak = validate::speak_body(&v)?;
    let now_ms = s.clock.now_ms();
    let ack = s.store().speak(&id, &speak, now_ms)?;
    Ok(Json(ack).into_response())
}

async fn interrupt(
    State(s): Shr,
    Path(id): Path<String>,
    body: JsonObject,
) -> Result<Response, ApiError> {
    checked(&id)?;
    object(body)?;
    let now_ms = s.clock.now_ms();
    let ack = s.store().interrupt(&id, now_ms)?;
    Ok(Json(ack).into_response())
}

async fn stop(
    State(s): Shr,
    Path(id): Path<String>,
    body: JsonObject,
) -> Result<Response, ApiError> {
    checked(&id)?;
    object(body)?;
    let now_ms = s.clock.now_ms();
    let mut st = s.store();
    let notices = st.leave(&id, now_ms)?;
    st.send(notices);
    Ok(StatusCode::OK.into_response())
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
