//! `/v2/projects/{appid}/call` and `/calls…`: outbound calls are placed, listed, read and
//! hung up.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use super::common::{json, labels_of, paginate, window, ApiResult, Shr};
use super::extract::{Body, Params};
use crate::error::ApiError;
use crate::notice::Notices;
use crate::shared::Shared;
use crate::state::{new_id, Call, CallKind, StopReason};
use crate::validate::{self, opt_str, req_obj, req_str};

pub(super) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/v2/projects/:appid/call",
            get(list_calls).post(create_call),
        )
        .route("/v2/projects/:appid/calls/:id", get(get_call))
        .route("/v2/projects/:appid/calls/:id/hangup", post(hangup))
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
    if let Some(c) = st.calls.get_mut(&id) {
        let mut notices = Notices::new();
        for state in ["START", "CALLING", "RINGING", "ANSWERED"] {
            notices.push_notice(c.notice(state, now_ms));
        }
        st.send(notices);
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
    match st.calls.get_mut(&id) {
        // An inbound call's agent ends the call by leaving: the call ends with it.
        Some(c) if c.state == "answered" && c.kind == CallKind::Inbound => {
            if let Some(n) = st.stop(&id, now_ms, StopReason::Leave) {
                st.send(n);
            }
            json(json!({}))
        }
        Some(c) if c.state == "answered" => {
            c.state = "hangup";
            c.reason = Some("request");
            c.stop_ts = Some(now);
            let notice = c.notice("HANGUP", now_ms);
            let mut notices = Notices::new();
            notices.push_notice(notice);
            st.send(notices);
            json(json!({}))
        }
        Some(_) => Err(ApiError::not_found(format!("call {id} has already ended"))),
        None => Err(ApiError::not_found(format!("call {id} not found"))),
    }
}
