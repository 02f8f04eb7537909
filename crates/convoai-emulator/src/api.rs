//! The ConvoAI REST routes, their auth and the per-request bookkeeping.

use std::collections::HashMap;
use std::sync::{Arc, MutexGuard};

use axum::body::Bytes;
use axum::extract::{FromRequest, MatchedPath, Path, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use rand::Rng;
use serde_json::{json, Map, Value};
use shengwang_agent::token::ServiceType;

use crate::error::{ApiError, ErrorBody};
use crate::state::{
    new_id, Agent, AgentRecord, AgentStatus, Call, CallKind, State as Store, StopReason,
};
use crate::turns::{TurnLog, MAX_PAGE_SIZE};
use crate::validate::{self, opt, opt_bool, opt_obj, opt_str, req_obj, req_str, Obj};
use crate::Shared;

/// Largest request body accepted.
pub const MAX_BODY: usize = 1024 * 1024;
const PREFIXES: [&str; 2] = [
    "/api/conversational-ai-agent",
    "/cn/api/conversational-ai-agent",
];

type Shr = State<Arc<Shared>>;
type ApiResult = Result<Response, ApiError>;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let agents = Router::new()
        .route("/v2/projects/:appid/join", post(join))
        .route("/v2/projects/:appid/agents", get(list_agents))
        .route("/v2/projects/:appid/agents/:id", get(get_agent))
        .route("/v2/projects/:appid/agents/:id/history", get(history))
        .route("/v2/projects/:appid/agents/:id/leave", post(leave))
        .route("/v2/projects/:appid/agents/:id/update", post(update))
        .route("/v2/projects/:appid/agents/:id/speak", post(speak))
        .route("/v2/projects/:appid/agents/:id/interrupt", post(interrupt))
        .route("/v2/projects/:appid/agents/:id/think", post(think))
        .route("/v2/projects/:appid/agents/:id/turns", get(turns))
        .route(
            "/v2/projects/:appid/call",
            get(list_calls).post(create_call),
        )
        .route("/v2/projects/:appid/calls/:id", get(get_call))
        .route("/v2/projects/:appid/calls/:id/hangup", post(hangup))
        .route("/v2/phone-numbers", get(list_numbers).post(add_number))
        .route(
            "/v2/phone-numbers/:number",
            get(get_number).patch(update_number).delete(delete_number),
        )
        .route_layer(middleware::from_fn_with_state(shared.clone(), authenticate));
    let mut app = Router::new();
    for prefix in PREFIXES {
        app = app.nest(prefix, agents.clone());
    }
    app.merge(crate::admin::router())
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

/// Marks a request the emulator makes to itself on behalf of the admin API.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Internal;

/// Assigns the request id, renders error bodies with it, and counts the answer per route.
async fn request_id(State(s): Shr, req: Request, next: Next) -> Response {
    let id = format!("{:016x}", rand::thread_rng().gen::<u64>());
    // The dashboard's own calls (see `admin`) are not the user's traffic.
    let endpoint = endpoint_name(&req).filter(|_| req.extensions().get::<Internal>().is_none());
    let mut res = next.run(req).await;
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
    if let Some(endpoint) = endpoint {
        s.count(endpoint, res.status().as_u16());
    }
    res
}

fn endpoint_name(req: &Request) -> Option<String> {
    let path = req.extensions().get::<MatchedPath>()?.as_str();
    let path = PREFIXES
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

/// `Basic` with the customer id/secret, or `agora token=` with an AccessToken2 of this app
/// that verifies, has not expired and holds an RTC service. Header tokens are not bound to
/// the agent's channel or uid: the Python SDK signs them for other identities (spec §3).
async fn authenticate(State(s): Shr, req: Request, next: Next) -> Response {
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if let Err(e) = s.check_auth(header) {
        return e.into_response();
    }
    next.run(req).await
}

impl Shared {
    fn check_auth(&self, header: &str) -> Result<(), ApiError> {
        if header.is_empty() {
            return Err(ApiError::unauthorized("missing Authorization header"));
        }
        if let Some(creds) = header.strip_prefix("Basic ") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(creds.trim())
                .map_err(|_| ApiError::unauthorized("malformed Basic credentials"))?;
            return if decoded == self.basic_credentials {
                Ok(())
            } else {
                Err(ApiError::unauthorized("wrong customer id or secret"))
            };
        }
        if let Some(t) = header.strip_prefix("agora token=") {
            let v = self
                .tokens
                .clone()
                .at(self.clock.now())
                .require_service(ServiceType::Rtc);
            self.verified
                .verify(t.trim(), &v)
                .map_err(ApiError::unauthorized)?;
            return Ok(());
        }
        Err(ApiError::unauthorized(
            "expected `Basic …` or `agora token=…`",
        ))
    }

    fn project(&self, appid: &str) -> Result<(), ApiError> {
        if appid == self.app_id {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "InvalidPermission",
                "allocate failed: please check if the appid is valid",
            ))
        }
    }

    /// The store, with idle agents already stopped.
    fn store(&self) -> MutexGuard<'_, Store> {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        st.expire_idle(self.clock.now());
        st
    }
}

/// The raw body, with the size limit answered as a JSON 413.
struct Body(Bytes);

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
struct Params(HashMap<String, String>);

#[axum::async_trait]
impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Params {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| Params(q))
            .map_err(|e| ApiError::body(format!("bad query string: {e}")))
    }
}

impl Params {
    fn float(&self, key: &str) -> Result<Option<f64>, ApiError> {
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
    fn uint(&self, key: &str) -> Result<Option<usize>, ApiError> {
        self.0
            .get(key)
            .map(|v| {
                v.parse::<usize>()
                    .map_err(|_| ApiError::invalid(key, "must be a non-negative integer"))
            })
            .transpose()
    }
}

/// `properties.labels` of a join or call body (already validated as string values).
fn labels_of(body: &Map<String, Value>) -> Option<Map<String, Value>> {
    body.get("properties")?.get("labels")?.as_object().cloned()
}

fn json(v: Value) -> ApiResult {
    Ok(Json(v).into_response())
}

fn running<'a>(st: &'a mut Store, id: &str) -> Result<&'a mut Agent, ApiError> {
    match st.agents.get_mut(id) {
        Some(a) if a.record.status == AgentStatus::Running => Ok(a),
        Some(_) => Err(ApiError::not_found(format!("agent {id} is not running"))),
        None => Err(ApiError::not_found(format!("agent {id} not found"))),
    }
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

fn window(q: &Params, now: u64, default_span: u64) -> Result<(f64, f64), ApiError> {
    let from = q
        .float("from_time")?
        .unwrap_or(now.saturating_sub(default_span) as f64);
    let to = q.float("to_time")?.unwrap_or(f64::INFINITY);
    Ok((from, to))
}

/// One page of `items` after `cursor` (an id from the previous page), as `(page, next cursor)`.
fn paginate<'a>(
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
    let a = running(&mut st, &id)?;
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
    crate::readiness::alive(&st, &id)?;
    st.stop(&id, now_ms, StopReason::Leave);
    Ok(StatusCode::OK.into_response())
}

fn ack(a: &Agent, now: u64) -> ApiResult {
    json(json!({"agent_id": a.record.agent_id, "channel": a.record.channel, "start_ts": now}))
}

async fn speak(
    State(s): Shr,
    Path((appid, id)): Path<(String, String)>,
    Body(body): Body,
) -> ApiResult {
    s.project(&appid)?;
    let body = validate::parse_object(&body, false)?;
    let text = req_str(&body, "text", "")?;
    if text.len() > 512 {
        return Err(ApiError::invalid("text", "must be at most 512 bytes"));
    }
    let priority = opt_str(&body, "priority", "")?;
    if let Some(p) = priority {
        if !["INTERRUPT", "APPEND", "IGNORE"].contains(&p) {
            return Err(ApiError::invalid(
                "priority",
                "must be INTERRUPT, APPEND or IGNORE",
            ));
        }
    }
    opt_bool(&body, "interruptable", "")?;
    let (now, now_ms) = (s.clock.now(), s.clock.now_ms());
    let mut st = s.store();
    if running(&mut st, &id)?.mllm {
        return Err(ApiError::body(
            "speak is not supported for agents running an MLLM",
        ));
    }
    if running(&mut st, &id)?.turns.speak(text, priority, now_ms) {
        st.push_history(&id, "assistant", text);
    }
    ack(running(&mut st, &id)?, now)
}

async fn interrupt(State(s): Shr, Path((appid, id)): Path<(String, String)>) -> ApiResult {
    s.project(&appid)?;
    let (now, now_ms) = (s.clock.now(), s.clock.now_ms());
    let mut st = s.store();
    let a = running(&mut st, &id)?;
    a.turns.interrupt(now_ms);
    ack(a, now)
}

async fn think(
    State(s): Shr,
    Path((appid, id)): Path<(String, String)>,
    Body(body): Body,
) -> ApiResult {
    s.project(&appid)?;
    let body = validate::parse_object(&body, false)?;
    let text = req_str(&body, "text", "")?;
    for (key, allowed) in [
        (
            "on_listening_action",
            &["inject", "interrupt", "ignore", "append"][..],
        ),
        ("on_thinking_action", &["interrupt", "ignore", "append"][..]),
        ("on_speaking_action", &["interrupt", "ignore", "append"][..]),
    ] {
        if let Some(v) = opt_str(&body, key, "")? {
            if !allowed.contains(&v) {
                return Err(ApiError::invalid(
                    key,
                    format!("must be one of {allowed:?}"),
                ));
            }
        }
    }
    opt_bool(&body, "interruptable", "")?;
    opt_obj(&body, "metadata", "")?;
    let ignore = opt_str(&body, "on_speaking_action", "")? == Some("ignore");
    let (now, now_ms) = (s.clock.now(), s.clock.now_ms());
    let mut st = s.store();
    if running(&mut st, &id)?.turns.think(text, ignore, now_ms) {
        st.push_history(&id, "user", text);
    }
    ack(running(&mut st, &id)?, now)
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
        let a = running(&mut st, &id)?;
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
        running(&mut st, &id)?.record.token_expires_at = at;
    }
    running(&mut st, &id)?;
    for content in &system {
        st.push_history(&id, "system", content);
    }
    let a = running(&mut st, &id)?;
    json(json!({"agent_id": id, "create_ts": a.record.create_ts, "status": "RUNNING"}))
}

async fn turns(State(s): Shr, Path((appid, id)): Path<(String, String)>, q: Params) -> ApiResult {
    s.project(&appid)?;
    let page_index = match q.uint("page_index")? {
        None => 1,
        Some(0) => return Err(ApiError::invalid("page_index", "starts at 1")),
        Some(n) => n,
    };
    let page_size = match q.uint("page_size")? {
        None => 20,
        Some(n) if (1..=MAX_PAGE_SIZE).contains(&n) => n,
        Some(_) => {
            return Err(ApiError::invalid(
                "page_size",
                format!("must be 1 to {MAX_PAGE_SIZE}"),
            ))
        }
    };
    let now_ms = s.clock.now_ms();
    let mut st = s.store();
    let a = st
        .agents
        .get_mut(&id)
        .ok_or_else(|| ApiError::not_found(format!("agent {id} not found")))?;
    if a.record.status == AgentStatus::Running {
        a.turns.catch_up(now_ms);
    }
    let (page, total) = a.turns.page(&id, &a.record.channel, page_index, page_size);
    let total_pages = total.div_ceil(page_size).max(1);
    json(json!({
        "agent_id": id, "name": a.record.name, "channel": a.record.channel,
        "total_turn_count": total,
        "pagination": {"page_index": page_index, "total_pages": total_pages,
                       "is_last_page": page_index >= total_pages},
        "turns": page,
    }))
}

async fn create_call(State(s): Shr, Path(appid): Path<String>, Body(body): Body) -> ApiResult {
    s.project(&appid)?;
    let body = validate::parse_object(&body, false)?;
    let name = req_str(&body, "name", "")?;
    let sip = req_obj(&body, "sip", "")?;
    let to = req_str(sip, "to_number", "sip")?;
    let from = req_str(sip, "from_number", "sip")?;
    validate::check_e164(to, "sip.to_number")?;
    validate::check_e164(from, "sip.from_number")?;
    req_str(sip, "rtc_uid", "sip")?;
    req_str(sip, "rtc_token", "sip")?;
    let pipeline_id = opt_str(&body, "pipeline_id", "")?.map(str::to_owned);
    let p = req_obj(&body, "properties", "")?;
    let channel = req_str(p, "channel", "properties")?;
    req_str(p, "token", "properties")?;
    req_str(p, "agent_rtc_uid", "properties")?;
    let now = s.clock.now();
    let mut st = s.store();
    if st
        .calls
        .values()
        .any(|c| c.name == name && c.state == "answered")
    {
        return Err(ApiError::conflict(format!("call name {name:?} is in use")));
    }
    let id = new_id();
    st.calls.insert(
        id.clone(),
        Call {
            id: id.clone(),
            kind: CallKind::Outbound,
            name: name.to_owned(),
            channel: channel.to_owned(),
            to_number: to.to_owned(),
            from_number: from.to_owned(),
            pipeline_id,
            state: "answered",
            reason: None,
            create_ts: now,
            stop_ts: None,
            labels: labels_of(&body),
            last_report_ms: 0,
        },
    );
    st.call_order.push(id.clone());
    // The emulator answers at once: the whole dialling sequence is reported now.
    let now_ms = s.clock.now_ms();
    let st = &mut *st;
    if let Some(c) = st.calls.get_mut(&id) {
        for state in ["START", "CALLING", "RINGING", "ANSWERED"] {
            c.notify(&st.outbox, state, now_ms);
        }
    }
    json(json!({"agent_id": id}))
}

async fn list_calls(State(s): Shr, Path(appid): Path<String>, q: Params) -> ApiResult {
    s.project(&appid)?;
    let kind = q.0.get("type");
    if let Some(k) = kind {
        if k != "inbound" && k != "outbound" {
            return Err(ApiError::invalid("type", "must be inbound or outbound"));
        }
    }
    let (from, to) = window(&q, s.clock.now(), 60 * 86_400)?;
    let number = q.0.get("number");
    let st = s.store();
    let matching: Vec<&str> = st
        .call_order
        .iter()
        .filter_map(|id| st.calls.get(id))
        .filter(|c| kind.is_none_or(|k| k == c.kind.name()))
        .filter(|c| number.is_none_or(|n| &c.to_number == n || &c.from_number == n))
        .filter(|c| (from..=to).contains(&(c.create_ts as f64)))
        .map(|c| c.id.as_str())
        .collect();
    let total = matching.len();
    let (page, cursor) = paginate(matching, q.0.get("cursor"), q.uint("limit")?)?;
    let list: Vec<Value> = page
        .iter()
        .filter_map(|id| st.calls.get(*id))
        .map(|c| c.to_json(false))
        .collect();
    json(json!({"data": {"count": list.len(), "list": list},
                "meta": {"cursor": cursor, "total": total}, "status": "ok"}))
}

async fn get_call(State(s): Shr, Path((appid, id)): Path<(String, String)>) -> ApiResult {
    s.project(&appid)?;
    let st = s.store();
    let c = st
        .calls
        .get(&id)
        .ok_or_else(|| ApiError::not_found(format!("call {id} not found")))?;
    json(c.to_json(true))
}

async fn hangup(State(s): Shr, Path((appid, id)): Path<(String, String)>) -> ApiResult {
    s.project(&appid)?;
    let now_ms = s.clock.now_ms();
    let now = now_ms / 1000;
    let mut st = s.store();
    let outbox = st.outbox.clone();
    match st.calls.get_mut(&id) {
        // An inbound call's agent ends the call by leaving: the call ends with it.
        Some(c) if c.state == "answered" && c.kind == CallKind::Inbound => {
            st.stop(&id, now_ms, StopReason::Leave);
            json(json!({}))
        }
        Some(c) if c.state == "answered" => {
            c.state = "hangup";
            c.reason = Some("request");
            c.stop_ts = Some(now);
            c.notify(&outbox, "HANGUP", now_ms);
            json(json!({}))
        }
        Some(_) => Err(ApiError::not_found(format!("call {id} has already ended"))),
        None => Err(ApiError::not_found(format!("call {id} not found"))),
    }
}

async fn list_numbers(State(s): Shr) -> ApiResult {
    let st = s.store();
    json(Value::Array(
        st.numbers.values().cloned().map(Value::Object).collect(),
    ))
}

async fn add_number(State(s): Shr, Body(body): Body) -> ApiResult {
    let body = validate::parse_object(&body, false)?;
    let provider = req_str(&body, "provider", "")?;
    if provider != "byo" && provider != "twilio" {
        return Err(ApiError::invalid("provider", "must be byo or twilio"));
    }
    let number = req_str(&body, "phone_number", "")?;
    validate::check_e164(number, "phone_number")?;
    let label = req_str(&body, "label", "")?;
    let inbound = opt_bool(&body, "inbound", "")?.unwrap_or(false);
    let outbound = opt_bool(&body, "outbound", "")?.unwrap_or(false);
    let inbound_config = req_obj(&body, "inbound_config", "")?;
    if let Some(a) = opt(inbound_config, "allowed_addresses") {
        if !a.as_array().is_some_and(|a| a.iter().all(Value::is_string)) {
            return Err(ApiError::invalid(
                "inbound_config.allowed_addresses",
                "must be an array of strings",
            ));
        }
    }
    let outbound_config = req_obj(&body, "outbound_config", "")?;
    for key in ["address", "transport", "prefix"] {
        opt_str(outbound_config, key, "outbound_config")?;
    }
    let mut st = s.store();
    if st.numbers.contains_key(number) {
        return Err(ApiError::conflict(format!(
            "{number} is already configured"
        )));
    }
    let mut record = Map::new();
    for (k, v) in [
        ("provider", json!(provider)),
        ("phone_number", json!(number)),
        ("label", json!(label)),
        ("inbound", json!(inbound)),
        ("outbound", json!(outbound)),
        ("associated_pipeline", Value::Null),
        ("inbound_config", Value::Object(inbound_config.clone())),
        ("outbound_config", Value::Object(outbound_config.clone())),
    ] {
        record.insert(k.into(), v);
    }
    st.numbers.insert(number.to_owned(), record);
    let created = json!({"phone_number": number, "label": label, "provider": provider,
                         "inbound": inbound, "outbound": outbound, "associated_pipeline": null});
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

fn number_not_found(number: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "NotFound",
        format!("phone number {number} not found"),
    )
}

async fn get_number(State(s): Shr, Path(number): Path<String>) -> ApiResult {
    let st = s.store();
    let n = st
        .numbers
        .get(&number)
        .ok_or_else(|| number_not_found(&number))?;
    json(Value::Object(n.clone()))
}

async fn update_number(State(s): Shr, Path(number): Path<String>, Body(body): Body) -> ApiResult {
    let body = validate::parse_object(&body, true)?;
    let mut changes = Vec::new();
    for key in ["inbound_config", "outbound_config"] {
        match body.get(key) {
            None => {}
            Some(Value::Null) => changes.push((key, Value::Null)),
            Some(Value::Object(o)) => {
                opt_str(o, "pipeline_id", key)?;
                changes.push((key, Value::Object(o.clone())));
            }
            Some(_) => return Err(ApiError::invalid(key, "must be an object or null")),
        }
    }
    let mut st = s.store();
    let n = st
        .numbers
        .get_mut(&number)
        .ok_or_else(|| number_not_found(&number))?;
    for (key, value) in changes {
        let pipeline = value
            .get("pipeline_id")
            .and_then(Value::as_str)
            .map(str::to_owned);
        n.insert(key.into(), value);
        if let Some(p) = pipeline {
            n.insert(
                "associated_pipeline".into(),
                json!({"pipeline_id": p, "pipeline_name": format!("pipeline {p}")}),
            );
        }
    }
    let none_left = ["inbound_config", "outbound_config"]
        .iter()
        .all(|k| n.get(*k).is_none_or(|v| v.get("pipeline_id").is_none()));
    if none_left {
        n.insert("associated_pipeline".into(), Value::Null);
    }
    json(Value::Object(n.clone()))
}

async fn delete_number(State(s): Shr, Path(number): Path<String>) -> ApiResult {
    let mut st = s.store();
    st.numbers
        .remove(&number)
        .ok_or_else(|| number_not_found(&number))?;
    Ok(StatusCode::OK.into_response())
}
