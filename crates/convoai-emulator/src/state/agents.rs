//! Operations on the store's agents: their lifecycle and what the REST API and the admin
//! API both do to them.

use serde_json::{json, Value};
use std::cmp::Reverse;

use crate::error::ApiError;
use crate::notice::{agent_payload, Notices};

use super::{Agent, AgentStatus, CallKind, SpeakRequest, State, StopReason};

impl State {
    pub fn running(&self) -> usize {
        self.names.len()
    }

    /// The agent `id` if it is running; 404 otherwise.
    pub fn running_agent(&mut self, id: &str) -> Result<&mut Agent, ApiError> {
        match self.agents.get_mut(id) {
            Some(a) if a.record.status == AgentStatus::Running => Ok(a),
            Some(_) => Err(ApiError::not_found(format!("agent {id} is not running"))),
            None => Err(ApiError::not_found(format!("agent {id} not found"))),
        }
    }

    /// Stops agents whose idle timeout has passed (every remote user counts as gone from the
    /// start: the emulator has no media).
    pub fn expire_idle(&mut self, now: u64) -> Notices {
        let mut notices = Notices::new();
        while let Some(Reverse((deadline, _))) = self.deadlines.peek() {
            if *deadline > now {
                break;
            }
            let Some(Reverse((deadline, id))) = self.deadlines.pop() else {
                break;
            };
            if let Some(n) = self.stop(&id, deadline.saturating_mul(1000), StopReason::Idle) {
                notices.append(n);
            }
        }
        notices
    }

    /// The leave request: a starting, running or recovering agent stops.
    pub fn leave(&mut self, id: &str, now_ms: u64) -> Result<Notices, ApiError> {
        match self.agents.get(id) {
            Some(a) if a.record.status.is_alive() => {}
            Some(_) => return Err(ApiError::not_found(format!("agent {id} is not running"))),
            None => return Err(ApiError::not_found(format!("agent {id} not found"))),
        }
        Ok(self.stop(id, now_ms, StopReason::Leave).unwrap_or_default())
    }

    /// The agent says `text`; answers the acknowledgement the speak route returns.
    pub fn speak(
        &mut self,
        id: &str,
        req: &SpeakRequest<'_>,
        now_ms: u64,
    ) -> Result<Value, ApiError> {
        let a = self.running_agent(id)?;
        if a.mllm {
            return Err(ApiError::body(
                "speak is not supported for agents running an MLLM",
            ));
        }
        if a.turns.speak(req.text, req.priority, now_ms) {
            self.push_history(id, "assistant", req.text);
        }
        Ok(ack(self.running_agent(id)?, now_ms / 1000))
    }

    /// The agent stops speaking; answers the acknowledgement the interrupt route returns.
    pub fn interrupt(&mut self, id: &str, now_ms: u64) -> Result<Value, ApiError> {
        let a = self.running_agent(id)?;
        a.turns.interrupt(now_ms);
        Ok(ack(a, now_ms / 1000))
    }

    /// The agent thinks about `text`; answers the acknowledgement the think route returns.
    pub fn think(
        &mut self,
        id: &str,
        text: &str,
        ignore: bool,
        now_ms: u64,
    ) -> Result<Value, ApiError> {
        if self.running_agent(id)?.turns.think(text, ignore, now_ms) {
            self.push_history(id, "user", text);
        }
        Ok(ack(self.running_agent(id)?, now_ms / 1000))
    }

    /// One page of the agent's turns, as the turns route answers it.
    pub fn turns_page(
        &mut self,
        id: &str,
        page_index: usize,
        page_size: usize,
        now_ms: u64,
    ) -> Result<Value, ApiError> {
        let a = self
            .agents
            .get_mut(id)
            .ok_or_else(|| ApiError::not_found(format!("agent {id} not found")))?;
        if a.record.status == AgentStatus::Running {
            a.turns.catch_up(now_ms);
        }
        let (page, total) = a.turns.page(id, &a.record.channel, page_index, page_size);
        let total_pages = total.div_ceil(page_size).max(1);
        Ok(json!({
            "agent_id": id, "name": a.record.name, "channel": a.record.channel,
            "total_turn_count": total,
            "pagination": {"page_index": page_index, "total_pages": total_pages,
                           "is_last_page": page_index >= total_pages},
            "turns": page,
        }))
    }

    /// A running agent reports a module error (`110`); `None` if it is not running.
    pub fn agent_error(&self, id: &str, module: &str, code: i64, message: &str) -> Option<Notices> {
        let a = self
            .agents
            .get(id)
            .filter(|a| a.record.status == AgentStatus::Running)?;
        let turn_id = a.turns.len();
        let mut p = a.payload();
        p.insert("turn_id".into(), json!(turn_id));
        p.insert(
            "errors".into(),
            json!([{"module": module, "turn_id": turn_id, "code": code, "message": message}]),
        );
        let mut n = Notices::new();
        n.push(110, p);
        Some(n)
    }

    /// A running agent's token is about to expire (`104`); `None` if it is not running.
    pub fn token_expiring(&self, id: &str) -> Option<Notices> {
        let a = self
            .agents
            .get(id)
            .filter(|a| a.record.status == AgentStatus::Running)?;
        let r = &a.record;
        // No labels on this event, as documented.
        let mut p = agent_payload(&r.agent_id, &r.name, &r.channel, r.create_ts, None);
        p.insert("message".into(), json!("Task exceeded maximum lifetime"));
        let mut n = Notices::new();
        n.push(104, p);
        Some(n)
    }

    /// `from` → `RUNNING`, with the agent-joined `101`; `None` if the agent is not in `from`.
    pub fn make_running(&mut self, id: &str, from: AgentStatus) -> Option<Notices> {
        let agent = self
            .agents
            .get_mut(id)
            .filter(|a| a.record.status == from)?;
        agent.record.status = AgentStatus::Running;
        let mut n = Notices::new();
        n.push(101, agent.payload());
        Some(n)
    }

    /// `STARTING`/`RUNNING` → `RECOVERING`; false otherwise.
    pub fn recovering(&mut self, id: &str) -> bool {
        match self.agents.get_mut(id) {
            Some(a)
                if matches!(
                    a.record.status,
                    AgentStatus::Starting | AgentStatus::Running
                ) =>
            {
                a.record.status = AgentStatus::Recovering;
                true
            }
            _ => false,
        }
    }

    /// Alive → failed at `now_ms`, with `reason` as its message; frees the name. `None` if
    /// the agent was not alive.
    pub fn fail(&mut self, id: &str, now_ms: u64, reason: &str) -> Option<Notices> {
        self.stop(id, now_ms, StopReason::Failed(reason))
    }

    /// Alive → stopped (or failed) at `now_ms`; frees the name and returns the after-stop
    /// callbacks (left, history, metrics, turns). `None` if the agent was not alive.
    ///
    /// However it stops, the agent leaves its turns at `now_ms`: what plays is cut there and
    /// what is queued never starts. Its `stop_ts` is the first whole second at or after
    /// `now_ms`, as its `create_ts` is the last one at or before its start, so every turn's
    /// times (milliseconds) lie within `create_ts..=stop_ts`.
    pub fn stop(&mut self, id: &str, now_ms: u64, reason: StopReason<'_>) -> Option<Notices> {
        let agent = self.agents.get_mut(id)?;
        if !agent.record.status.is_alive() {
            return None;
        }
        agent.turns.leave(now_ms);
        let now = now_ms.div_ceil(1000);
        let (status, message) = reason.rest();
        agent.record.status = status;
        agent.record.stop_ts = Some(now);
        agent.record.message = message.into();
        if self.names.get(&agent.record.name).map(String::as_str) == Some(id) {
            self.names.remove(&agent.record.name);
        }
        let mut notices = Notices::new();
        // The call ends with its agent, before the agent leaves the channel.
        if let Some(call) = self.calls.get_mut(id) {
            if call.kind == CallKind::Inbound && call.state == "answered" {
                let (state, why) = reason.call_end();
                call.state = "hangup";
                call.reason = Some(why);
                call.stop_ts = Some(now);
                notices.push_notice(call.notice(state, now_ms));
            }
        }
        after_stop(&self.agents[id], now, reason, &mut notices);
        Some(notices)
    }

    pub fn push_history(&mut self, id: &str, role: &str, content: &str) {
        if let Some(agent) = self.agents.get_mut(id) {
            agent.history.push_back((role.into(), content.into()));
            while agent.history.len() > agent.max_history {
                agent.history.pop_front();
            }
        }
    }
}

/// What speak, interrupt and think answer.
fn ack(a: &Agent, now: u64) -> Value {
    json!({"agent_id": a.record.agent_id, "channel": a.record.channel, "start_ts": now})
}

/// The callbacks of an agent that just stopped: left (`102`), history (`103`), metrics
/// (`111`) and turns (`112`).
fn after_stop(a: &Agent, now: u64, reason: StopReason<'_>, notices: &mut Notices) {
    let base = || {
        let mut p = a.payload();
        p.insert("stop_ts".into(), Value::from(now));
        p
    };
    let (cb_status, cb_message) = reason.callback();
    let mut left = base();
    left.insert("status".into(), Value::from(cb_status));
    left.insert("message".into(), Value::from(cb_message));
    notices.push(102, left);
    let mut history = base();
    let contents: Vec<Value> = a
        .history
        .iter()
        .map(|(role, content)| json!({"role": role, "content": content}))
        .collect();
    history.insert("contents".into(), Value::Array(contents));
    notices.push(103, history);
    let mut metrics = base();
    let per_turn: Vec<Value> = (1..=a.turns.len())
        .map(|t| json!({"turn_id": t, "asr_ttlw": 0, "llm_ttfb": 0, "llm_ttfs": 0, "tts_ttfb": 0}))
        .collect();
    metrics.insert("metrics".into(), Value::Array(per_turn));
    notices.push(111, metrics);
    let mut turns = base();
    turns.insert("total_turn_count".into(), Value::from(a.turns.len()));
    turns.insert("is_truncated".into(), Value::from(a.turns.len() > 200));
    let page = a
        .turns
        .page(&a.record.agent_id, &a.record.channel, 1, 200)
        .0;
    turns.insert("turns".into(), Value::Array(page));
    notices.push(112, turns);
}
