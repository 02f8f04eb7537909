//! The HTTP surface of `convoai serve`: bearer check, handlers and JSON errors.

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use shengwang_agent::validate::{validate_account, validate_channel};

use super::state::{AgentView, AppState, StartParams};

/// Largest request body accepted (413 beyond).
pub const MAX_BODY: usize = 64 * 1024;
/// Lifetime of the end-user RTC tokens.
const TOKEN_LIFETIME_SECS: u32 = 3600;

pub fn router(state: AppState) -> Router {
    let v1 = Router::new()
        .route("/channels/:channel/token", post(token))
        .route(
            "/channels/:channel/agent",
            post(start_agent).get(get_agent).delete(stop_agent),
        )
        .route("/channels/:channel/agent/speak", post(speak))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route") })
        .layer(middleware::from_fn_with_state(state.clone(), auth));
    Router::new()
        .route("/livez", get(|| async { Json(json!({"status": "live"})) }))
        .route("/healthz", get(healthz))
        .nest("/v1", v1)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

/// The answer to a request that took longer than its bound.
pub fn timed_out() -> Response {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "timeout",
        "the request took too long",
    )
    .into_response()
}

/// A JSON error: `{"error": code, "message": text}`. Messages never echo a caller's value.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: &str) -> Self {
        ApiError {
            status,
            code,
            message: message.to_owned(),
        }
    }

    pub fn invalid(message: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid", message)
    }

    pub fn too_many(max: usize) -> Self {
        let m = format!("this process already runs its maximum of {max} agents");
        Self::new(StatusCode::TOO_MANY_REQUESTS, "too_many_agents", &m)
    }

    pub fn unavailable(reason: &str) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", reason)
    }

    pub fn conflict(message: &str) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    pub fn no_agent() -> Self {
        let m = "the channel has no running agent";
        Self::new(StatusCode::NOT_FOUND, "not_found", m)
    }

    /// An SDK error: invalid input is the caller's (400); a start that differs from the
    /// channel's live agent is a conflict (409); the fleet's store unreachable, or this
    /// process no longer owning the agent, is worth a retry (503); a request for an agent that
    /// does not run is 404; the rest is the service's (502).
    pub fn sdk(e: shengwang_agent::Error) -> Self {
        use shengwang_agent::Error as E;
        let text = crate::output::clean(&e.to_string()).into_owned();
        match e {
            E::InvalidInput { .. } => Self::invalid(&text),
            E::FleetConflict { difference, .. } => {
                let m = format!("the channel's agent runs with another {difference}");
                Self::conflict(&crate::output::clean(&m))
            }
            E::FleetUnavailable { .. } => Self::unavailable(&text),
            E::NotOwner { reason, .. } => {
                let m = format!(
                    "this replica cannot act for the channel's agent now ({reason}); retry"
                );
                Self::unavailable(&crate::output::clean(&m))
            }
            E::State { .. } | E::NoAgentId { .. } => Self::no_agent(),
            _ => Self::new(StatusCode::BAD_GATEWAY, "upstream", &text),
        }
    }

    /// A body that is not the documented JSON; serde's text may quote the value, so it is not
    /// passed on.
    fn body(rejection: JsonRejection) -> Self {
        let status = rejection.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            let m = format!("the request body is larger than {MAX_BODY} bytes");
            return Self::new(status, "too_large", &m);
        }
        // Well-formed JSON of the wrong shape is as much the caller's mistake as bad JSON.
        let status = match status {
            StatusCode::UNPROCESSABLE_ENTITY => StatusCode::BAD_REQUEST,
            other => other,
        };
        Self::new(
            status,
            "invalid_body",
            "the request body must be JSON of the documented shape",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": self.code, "message": self.message});
        (self.status, Json(body)).into_response()
    }
}

async fn auth(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "));
    match given {
        Some(key) if state.key_matches(key) => next.run(req).await,
        _ => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send Authorization: Bearer <key> with a key of CONVOAI_SERVE_API_KEY",
        )
        .into_response(),
    }
}

async fn healthz(State(state): State<AppState>) -> Response {
    match state.draining() {
        None => Json(json!({"status": "ready"})).into_response(),
        Some(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable", "reason": reason})),
        )
            .into_response(),
    }
}

fn check_channel(channel: &str) -> Result<(), ApiError> {
    validate_channel(channel).map_err(ApiError::sdk)
}

/// A uid given as text: non-empty, within the string-account rules.
fn check_uid(field: &str, uid: &str) -> Result<(), ApiError> {
    if uid.is_empty() {
        return Err(ApiError::invalid(&format!(
            "invalid {field}: must not be empty"
        )));
    }
    validate_account(field, uid).map_err(ApiError::sdk)
}

/// A uid as JSON text or number.
#[derive(Deserialize)]
#[serde(untagged)]
enum Uid {
    Text(String),
    Number(u32),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    uid: Uid,
}

async fn token(
    State(state): State<AppState>,
    Path(channel): Path<String>,
    body: Result<Json<TokenBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(body) = body.map_err(ApiError::body)?;
    check_channel(&channel)?;
    let uid = match body.uid {
        Uid::Number(n) => shengwang_agent::token::RtcUid::Uid(n),
        Uid::Text(t) => {
            check_uid("uid", &t)?;
            match t.parse::<u32>() {
                Ok(n) => shengwang_agent::token::RtcUid::Uid(n),
                Err(_) => shengwang_agent::token::RtcUid::Account(t),
            }
        }
    };
    let token = state
        .token()
        .rtc(&channel, uid)
        .expire(TOKEN_LIFETIME_SECS)
        .build()
        .map_err(ApiError::sdk)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let expires_at = now + u64::from(TOKEN_LIFETIME_SECS);
    Ok(Json(json!({"token": token, "expires_at": expires_at})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StartBody {
    #[serde(default)]
    remote_uids: Vec<String>,
    #[serde(default)]
    agent_uid: Option<String>,
}

fn agent_json(v: &AgentView) -> Json<Value> {
    Json(json!({
        "agent_id": v.agent_id,
        "channel": v.channel,
        "state": v.state,
        "owner": v.owner,
    }))
}

/// The agent with its recent events (oldest first, so the newest is last).
fn agent_with_events(v: &AgentView) -> Json<Value> {
    let events: Vec<Value> = v
        .events
        .iter()
        .map(|e| json!({"kind": e.kind, "at_ms": e.at_ms, "detail": e.detail}))
        .collect();
    Json(json!({
        "agent_id": v.agent_id,
        "channel": v.channel,
        "state": v.state,
        "owner": v.owner,
        "events": events,
    }))
}

async fn start_agent(
    State(state): State<AppState>,
    Path(channel): Path<String>,
    body: Result<Json<StartBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(body) = body.map_err(ApiError::body)?;
    check_channel(&channel)?;
    for uid in body.remote_uids.iter().filter(|u| u.as_str() != "*") {
        check_uid("remote_uids", uid)?;
    }
    if let Some(uid) = &body.agent_uid {
        check_uid("agent_uid", uid)?;
    }
    let params = StartParams {
        agent_uid: body.agent_uid,
        remote_uids: body.remote_uids,
    };
    let view = state.ensure(&channel, params).await?;
    Ok(agent_json(&view))
}

async fn get_agent(
    State(state): State<AppState>,
    Path(channel): Path<String>,
) -> Result<Json<Value>, ApiError> {
    check_channel(&channel)?;
    let view = state.get(&channel).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "the channel has no agent",
        )
    })?;
    Ok(agent_with_events(&view))
}

async fn stop_agent(
    State(state): State<AppState>,
    Path(channel): Path<String>,
) -> Result<Json<Value>, ApiError> {
    check_channel(&channel)?;
    let id = state.stop(&channel).await?;
    Ok(Json(json!({"agent_id": id, "state": "stopped"})))
}

/// Longest text a caller may have the agent speak, in characters.
const MAX_SPEAK_CHARS: usize = 4096;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpeakBody {
    text: String,
    #[serde(default)]
    priority: Option<String>,
}

async fn speak(
    State(state): State<AppState>,
    Path(channel): Path<String>,
    body: Result<Json<SpeakBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(body) = body.map_err(ApiError::body)?;
    check_channel(&channel)?;
    if body.text.trim().is_empty() || body.text.chars().count() > MAX_SPEAK_CHARS {
        return Err(ApiError::invalid(&format!(
            "invalid text: must be 1 to {MAX_SPEAK_CHARS} characters"
        )));
    }
    use shengwang_agent::types::agents::Priority;
    let priority = match body.priority.as_deref().map(str::to_ascii_lowercase) {
        None => None,
        Some(p) if p == "interrupt" => Some(Priority::Interrupt),
        Some(p) if p == "append" => Some(Priority::Append),
        Some(p) if p == "ignore" => Some(Priority::Ignore),
        Some(_) => {
            return Err(ApiError::invalid(
                "invalid priority: must be interrupt, append or ignore",
            ))
        }
    };
    state.speak(&channel, &body.text, priority).await?;
    Ok(Json(json!({"channel": channel, "spoken": true})))
}
