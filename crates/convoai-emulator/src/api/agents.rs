//! `/v2/projects/{appid}/join` and `/agents…`: agents start, are listed and read, change
//! their configuration and leave.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use super::common::{json, labels_of, paginate, window, ApiResult, Shr};
use super::extract::{Body, Params};
use crate::error::ApiError;
use crate::shared::Shared;
use crate::state::{new_id, Agent, AgentRecord, AgentStatus};
use crate::turns::TurnLog;
use crate::validate::{self, opt, opt_obj, opt_str, req_str, Obj};

pub(super) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/v2/projects/:appid/join", post(join))
        .route("/v2/projects/:appid/agents", get(list_agents))
        .route("/v2/projects/:appid/agents/:id", get(get_agent))
        .route("/v2/projects/:appid/agents/:id/history", get(history))
        .route("/v2/projects/:appid/agents/:id/leave", post(leave))
        .route("/v2/projects/:appid/agents/:id/update", post(update))
}

async fn join(State(s): Shr, Path(appid): Path<String>, Body(body): Body) -> ApiResult {
    s.project(&appid)?;
    let body = validate::parse_object(&body, false)?;
    let tokens = s.tokens.clone().at(s.clock.now());
    let j = validate::join_body(&body, &tokens, &s.verified)?;
    let (now, now_ms) = (s.clock.now(), s.clock.now_ms());
    let mut st = s.store();
    // The real service documents only `detail` and `reason` here: the detail must not name
    // the running agent's id, or SDK code could come to rely on it.
    if st.names.contains_key(j.name) {
        return Err(ApiError::conflict(format!("name {:?} is in use", j.name)));
    }
    if st.running() >= s.max_agents() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "ConcurrencyLimitExceeded",
            format!("at most {} agents may run at once", s.max_agents()),
        ));
    }
    let id = new_id();
    let labels = labels_of(&body);
    st.agents.insert(
        id.clone(),
        Agent {
            labels,
            record: AgentRecord {
                agent_id: id.clone(),
                name: j.name.to_owned(),
                channel: j.channel.to_owned(),
                agent_rtc_uid: j.agent_uid.to_owned(),
                status: AgentStatus::Running,
                create_ts: now,
                stop_ts: None,
                message: String::new(),
                idle_timeout: j.idle_timeout,
                token_expires_at: j.token_expires_at,
            },
            mllm: j.mllm,
            rtm: j.rtm,
            max_history: j.max_history,
            history: Default::default(),
            turns: {
                let mut log = TurnLog::new(now_ms, j.mllm, j.silence.clone());
                if let Some(text) = j.greeting {
                    log.greeting(text, now_ms);
                }
                log
            },
            properties: redacted_properties(&body),
        },
    );
    st.order.push(id.clone());
    st.names.insert(j.name.to_owned(), id.clone());
    let status = crate::readiness::joined(&s, &mut st, &id);
    if let Some(t) = j.idle_timeout.filter(|t| *t > 0) {
        st.deadlines
            .push(std::cmp::Reverse((now.saturating_add(t), id.clone())));
    }
    json(json!({"agent_id": id, "create_ts": now, "status": status}))
}

/// The join `properties` with every secret field replaced, kept for the dashboard.
fn redacted_properties(body: &Obj) -> Value {
    let mut p = body.get("properties").cloned().unwrap_or(Value::Null);
    shengwang_agent::redact::redact_json(&mut p);
    p
}

async fn list_agents(State(s): Shr, Path(appid): Path<String>, q: Params) -> ApiResult {
    s.project(&appid)?;
    let state = match q.0.get("state") {
        None => None,
        Some(v) => match v.parse::<u8>() {
            Ok(code) if code <= 6 => Some(code),
            _ => return Err(ApiError::invalid("state", "must be one of \"0\" to \"6\"")),
        },
    };
    let (from, to) = window(&q, s.clock.now(), 2 * 3600)?;
    let channel = q.0.get("channel");
    let st = s.store();
    let matching: Vec<&str> = st
        .order
        .iter()
        .filter_map(|id| st.agents.get(id))
        .filter(|a| channel.is_none_or(|c| &a.record.channel == c))
        .filter(|a| state.is_none_or(|code| a.record.status.code() == code))
        .filter(|a| (from..=to).contains(&(a.record.create_ts as f64)))
        .map(|a| a.record.agent_id.as_str())
        .collect();
    let total = matching.len();
    let (page, cursor) = paginate(matching, q.0.get("cursor"), q.uint("limit")?)?;
    let list: Vec<Value> = page
        .iter()
        .filter_map(|id| st.agents.get(*id))
        .map(|a| {
            json!({"agent_id": a.record.agent_id, "start_ts": a.record.create_ts,
                   "status": a.record.status.name()})
        })
        .collect();
    json(json!({
        "data": {"count": list.len(), "list": list},
        "meta": {"cursor": cursor, "total": total},
        "status": "ok",
    }))
}

async fn get_agent(State(s): Shr, Path((appid, id)): Path<(String, String)>) -> ApiResult {
    s.project(&appid)?;
    let st = s.store();
    let a = st
        .agents
        .get(&id)
        .ok_or_else(|| ApiError::not_found(format!("agent {id} not found")))?;
    json(json!({
        "agent_id": a.record.agent_id, "status": a.record.status.name(),
        "start_ts": a.record.create_ts, "stop_ts": a.record.stop_ts.unwrap_or(0),
        "message": a.record.message,
    }))
}

async fn history(State(s): Shr, Path((appid, id)): Path<(String, String)>) -> ApiResult {
    s.project(&appid)?;
    let mut st = s.store();
    let a = st.running_agent(&id)?;
    let contents: Vec<Value> = a
        .history
        .iter()
        .map(|(role, content)| json!({"role": role, "content": content}))
        .collect();
    json(
        json!({"agent_id": id, "start_ts": a.record.create_ts, "status": "RUNNING",
                "contents": contents}),
    )
}

async fn leave(State(s): Shr, Path((appid, id)): Path<(String, String)>) -> ApiResult {
    s.project(&appid)?;
    let now_ms = s.clock.now_ms();
    let mut st = s.store();
    let notices = st.leave(&id, now_ms)?;
    st.send(notices);
    Ok(StatusCode::OK.into_response())
}

async fn update(
    State(s): Shr,
    Path((appid, id)): Path<(String, String)>,
    Body(body): Body,
) -> ApiResult {
    s.project(&appid)?;
    let body = validate::parse_object(&body, true)?;
    let empty = Obj::new();
    let props = opt_obj(&body, "properties", "")?.unwrap_or(&empty);
    let (channel, uid, rtm) = {
        let mut st = s.store();
        let a = st.running_agent(&id)?;
        (
            a.record.channel.clone(),
            a.record.agent_rtc_uid.clone(),
            a.rtm,
        )
    };
    // The agent rejoins with a new token: the same checks as at join.
    let new_expiry = match opt_str(props, "token", "properties")? {
        Some(t) => {
            let tokens = s.tokens.clone().at(s.clock.now());
            Some(validate::agent_token(
                t,
                &tokens,
                &s.verified,
                &channel,
                &uid,
                rtm,
            )?)
        }
        None => None,
    };
    let mut system = Vec::new();
    if let Some(llm) = opt_obj(props, "llm", "properties")? {
        if let Some(msgs) = opt(llm, "system_messages") {
            let msgs = msgs.as_array().ok_or_else(|| {
                ApiError::invalid("properties.llm.system_messages", "must be an array")
            })?;
            for m in msgs {
                let m = m.as_object().ok_or_else(|| {
                    ApiError::invalid("properties.llm.system_messages", "items must be objects")
                })?;
                system.push(req_str(m, "content", "properties.llm.system_messages[]")?.to_owned());
            }
        }
        opt_obj(llm, "params", "properties.llm")?;
    }
    if let Some(m) = opt_obj(props, "mllm", "properties")? {
        opt_obj(m, "params", "properties.mllm")?;
    }
    let mut st = s.store();
    if let Some(at) = new_expiry {
        st.running_agent(&id)?.record.token_expires_at = at;
    }
    st.running_agent(&id)?;
    for content in &system {
        st.push_history(&id, "system", content);
    }
    let a = st.running_agent(&id)?;
    json(json!({"agent_id": id, "create_ts": a.record.create_ts, "status": "RUNNING"}))
}
