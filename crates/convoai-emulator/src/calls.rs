//! Inbound calls: a phone call arriving at an imported number, simulated through the admin
//! API (the emulator has no SIP side).
//!
//! What the service does here is not documented in detail; the emulator does what a user
//! of it would expect:
//! - only a number imported with `inbound: true` takes calls (404 for a number that is not
//!   imported, 409 for one that does not take inbound calls);
//! - the call is answered at once by a new agent whose id is also the call's id (as for
//!   outbound calls), in channel `inbound-<id>`, started from the number's inbound pipeline
//!   (`inbound_config.pipeline_id`, set with the phone-number update) when there is one,
//!   else from a default configuration; it counts against the agent limit (422);
//! - callbacks: `201 START`, the agent's `101`, `201 ANSWERED`; the call ends with its agent:
//!   `201 HANGUP` when the caller hangs up, the call is hung up by API or the agent stops
//!   (leave, idle timeout, failure), or `201 TRANSFERED` when it is handed to a human; the
//!   agent's after-stop callbacks follow;
//! - the call is listed with `type: inbound`; after it ends its REST `state` is `hangup`
//!   with `reason` `hangup` (the caller), `request` (the API), `failed`, or `transferred`.

use axum::http::StatusCode;
use serde_json::{json, Map, Value};

use crate::error::ApiError;
use crate::notice::Notices;
use crate::shared::Shared;
use crate::state::{new_id, Agent, AgentRecord, AgentStatus, Call, CallKind, State, StopReason};
use crate::turns::TurnLog;
use crate::validate::check_e164;

/// Lifetime of the token the service gives an inbound call's agent.
const AGENT_TOKEN_SECS: u64 = 86_400;
/// Labels kept per call, and their sizes: the admin API is for tests, not for storage.
const MAX_LABELS: usize = 32;
const MAX_LABEL_LEN: usize = 256;

/// An answered inbound call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundCall {
    /// The call's (and its agent's) id.
    pub agent_id: String,
    /// The agent's channel.
    pub channel: String,
    /// The pipeline the agent was started from, if the number has one.
    pub pipeline_id: Option<String>,
}

/// How an inbound call ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallEnd {
    /// The caller hung up.
    HangUp,
    /// Handed to a human.
    Transfer,
}

fn check_labels(labels: &Map<String, Value>) -> Result<(), ApiError> {
    if labels.len() > MAX_LABELS {
        return Err(ApiError::invalid(
            "labels",
            format!("at most {MAX_LABELS} labels"),
        ));
    }
    for (k, v) in labels {
        let ok = v
            .as_str()
            .is_some_and(|v| v.len() <= MAX_LABEL_LEN && k.len() <= MAX_LABEL_LEN);
        if !ok {
            return Err(ApiError::invalid(
                "labels",
                format!("keys and values must be strings of at most {MAX_LABEL_LEN} bytes"),
            ));
        }
    }
    Ok(())
}

/// A call from `from` arrives at `to`: answered by a new agent, or refused.
pub(crate) fn receive(
    s: &Shared,
    to: &str,
    from: &str,
    labels: Option<Map<String, Value>>,
) -> Result<InboundCall, ApiError> {
    check_e164(to, "to_number")?;
    check_e164(from, "from_number")?;
    if let Some(l) = &labels {
        check_labels(l)?;
    }
    let labels = labels.filter(|l| !l.is_empty());
    let now_ms = s.clock.now_ms();
    let mut st = s.store();
    let pipeline_id = inbound_pipeline(&st, to)?;
    if st.running() >= s.max_agents() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "ConcurrencyLimitExceeded",
            format!("at most {} agents may run at once", s.max_agents()),
        ));
    }
    let id = new_id();
    let channel = format!("inbound-{}", id.to_ascii_lowercase());
    let answered = Answered {
        id: &id,
        channel: &channel,
        to,
        from,
        pipeline_id: pipeline_id.as_deref(),
        labels,
    };
    let notices = answer(&mut st, &answered, now_ms);
    st.send(notices);
    Ok(InboundCall {
        agent_id: id,
        channel,
        pipeline_id,
    })
}

/// The pipeline of the imported number `to` that takes inbound calls; 404 for a number that
/// is not imported, 409 for one that takes no inbound calls.
fn inbound_pipeline(st: &State, to: &str) -> Result<Option<String>, ApiError> {
    let number = st.numbers.get(to).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("phone number {to} is not imported"),
        )
    })?;
    if number.get("inbound") != Some(&Value::Bool(true)) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "InboundDisabled",
            format!("phone number {to} does not take inbound calls (inbound is false)"),
        ));
    }
    Ok(number
        .get("inbound_config")
        .and_then(|c| c.get("pipeline_id"))
        .and_then(Value::as_str)
        .map(str::to_owned))
}

/// An inbound call being answered, and the agent that answers it.
struct Answered<'a> {
    id: &'a str,
    channel: &'a str,
    to: &'a str,
    from: &'a str,
    pipeline_id: Option<&'a str>,
    labels: Option<Map<String, Value>>,
}

/// Stores the call and its agent: `201 START`, the agent's `101`, `201 ANSWERED`.
fn answer(st: &mut State, c: &Answered<'_>, now_ms: u64) -> Notices {
    let now = now_ms / 1000;
    let (id, channel) = (c.id.to_owned(), c.channel.to_owned());
    let mut call = Call {
        id: id.clone(),
        kind: CallKind::Inbound,
        name: channel.clone(),
        channel: channel.clone(),
        to_number: c.to.to_owned(),
        from_number: c.from.to_owned(),
        pipeline_id: c.pipeline_id.map(str::to_owned),
        state: "answered",
        reason: None,
        create_ts: now,
        stop_ts: None,
        labels: c.labels.clone(),
        last_report_ms: 0,
    };
    let mut notices = Notices::new();
    notices.push_notice(call.notice("START", now_ms));
    let agent = Agent {
        record: AgentRecord {
            agent_id: id.clone(),
            name: channel.clone(),
            channel: channel.clone(),
            agent_rtc_uid: "0".into(),
            status: AgentStatus::Running,
            create_ts: now,
            stop_ts: None,
            message: String::new(),
            idle_timeout: None,
            token_expires_at: now.saturating_add(AGENT_TOKEN_SECS),
        },
        labels: c.labels.clone(),
        mllm: false,
        rtm: false,
        max_history: 32,
        history: Default::default(),
        turns: TurnLog::new(now_ms, false, None),
        properties: json!({
            "channel": channel, "pipeline_id": c.pipeline_id, "labels": c.labels,
            "sip": {"from_number": c.from, "to_number": c.to},
        }),
    };
    notices.push(101, agent.payload());
    st.agents.insert(id.clone(), agent);
    st.order.push(id.clone());
    st.names.insert(channel, id.clone());
    notices.push_notice(call.notice("ANSWERED", now_ms));
    st.calls.insert(id.clone(), call);
    st.call_order.push(id);
    notices
}

/// Ends the live inbound call `id` as `how` says; its agent leaves.
pub(crate) fn end(s: &Shared, id: &str, how: CallEnd) -> Result<(), ApiError> {
    let now_ms = s.clock.now_ms();
    let mut st = s.store();
    match st.calls.get(id) {
        Some(c) if c.kind == CallKind::Inbound && c.state == "answered" => {}
        Some(c) if c.kind == CallKind::Inbound => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "CallEnded",
                format!("call {id} has already ended"),
            ))
        }
        _ => return Err(ApiError::not_found(format!("no inbound call {id}"))),
    }
    let reason = match how {
        CallEnd::HangUp => StopReason::CallerHungUp,
        CallEnd::Transfer => StopReason::Transferred,
    };
    if let Some(n) = st.stop(id, now_ms, reason) {
        st.send(n);
    }
    Ok(())
}
