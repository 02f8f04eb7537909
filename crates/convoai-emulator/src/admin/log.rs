//! `/_emulator/log` and `/_emulator/stats`: the request log and per-second counts.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::shared::Shared;
use crate::state::{LoggedRequest, SecondStats, STATS_SECONDS};

type Shr = State<Arc<Shared>>;
type Q = Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>;

pub(super) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_emulator/log", get(log))
        .route("/_emulator/stats", get(stats))
}

fn uint(q: &HashMap<String, String>, key: &str) -> Result<Option<u64>, ApiError> {
    q.get(key)
        .map(|v| {
            v.parse::<u64>()
                .map_err(|_| ApiError::invalid(key, "must be a non-negative integer"))
        })
        .transpose()
}

fn query(q: Q) -> Result<HashMap<String, String>, ApiError> {
    q.map(|Query(q)| q)
        .map_err(|e| ApiError::body(format!("bad query string: {e}")))
}

fn entry_json(r: &LoggedRequest) -> Value {
    json!({
        "seq": r.seq, "at_ms": r.at_ms, "method": r.method, "path": r.path,
        "status": r.status, "latency_ms": r.latency_ms, "auth": r.auth_scheme,
        "fault": r.fault, "request_id": r.request_id, "agent_id": r.agent_id,
        "content_type": r.content_type, "user_agent": r.user_agent, "body": r.body,
    })
}

/// Entries after `after` (a `seq`), for `agent_id` if given, the newest `limit` of them
/// (default 200), oldest first; `last_seq` tells where the log stands.
async fn log(State(s): Shr, q: Q) -> Result<Json<Value>, ApiError> {
    let q = query(q)?;
    let after = uint(&q, "after")?.unwrap_or(0);
    let limit = uint(&q, "limit")?.unwrap_or(200).clamp(1, 1000) as usize;
    let agent = q.get("agent_id").filter(|a| !a.is_empty());
    let st = s.locked();
    let mut entries: Vec<Value> = st
        .log
        .iter()
        .rev()
        .filter(|r| r.seq > after)
        .filter(|r| agent.is_none_or(|a| r.agent_id.as_ref() == Some(a)))
        .take(limit)
        .map(entry_json)
        .collect();
    entries.reverse();
    Ok(Json(json!({"last_seq": st.last_seq, "entries": entries})))
}

/// The last `seconds` (default 300, at most 600) seconds, one entry each, zeros included.
async fn stats(State(s): Shr, q: Q) -> Result<Json<Value>, ApiError> {
    let q = query(q)?;
    let seconds = uint(&q, "seconds")?.unwrap_or(300).clamp(1, STATS_SECONDS);
    let now = s.clock.now();
    let st = s.locked();
    let by_second: HashMap<u64, SecondStats> = st.stats.iter().map(|b| (b.second, *b)).collect();
    let series: Vec<Value> = (0..seconds)
        .rev()
        .map(|ago| now.saturating_sub(ago))
        .map(|sec| {
            let b = by_second.get(&sec);
            json!({"second": sec, "requests": b.map_or(0, |b| b.requests),
                   "errors": b.map_or(0, |b| b.errors)})
        })
        .collect();
    Ok(Json(json!({"now": now, "seconds": series})))
}
