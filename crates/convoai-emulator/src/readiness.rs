//! Agents that take time to be ready: the `STARTING` hold before `RUNNING` (with the
//! agent-joined callback `101` at that moment), and the admin moves to `RECOVERING` and back.
//!
//! With no hold (the default) a joined agent is `RUNNING` at once and its `101` is sent at
//! join, as before.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::error::ApiError;
use crate::state::{AgentStatus, State};
use crate::{EmulatorBuilder, EmulatorHandle, Shared};

impl EmulatorBuilder {
    /// Holds every new agent in `STARTING` for `hold` after its join was accepted; then it
    /// turns `RUNNING` and the agent-joined callback (`101`) is sent, as the service does once
    /// the agent is in its channel. Default 0: `RUNNING` at once, `101` at join. Also
    /// `--starting-ms` and `POST /_emulator/faults {"starting_ms": …}`.
    pub fn starting_time(mut self, hold: Duration) -> Self {
        self.starting = hold;
        self
    }
}

impl EmulatorHandle {
    /// Holds new agents in `STARTING` for `hold` from now on; see
    /// [`EmulatorBuilder::starting_time`].
    pub fn set_starting_time(&self, hold: Duration) {
        self.shared.faults().starting = hold;
    }
    /// Moves a `STARTING` or `RUNNING` agent to `RECOVERING`, as when the service restores
    /// it. False if it is in neither. Also `POST /_emulator/agents/{id}/recovering`.
    pub fn set_recovering(&self, agent_id: &str) -> bool {
        recovering(&self.shared, agent_id)
    }
    /// Moves a `RECOVERING` agent back to `RUNNING` and sends `101` (it is in its channel
    /// again). False if it is not recovering. Also `POST /_emulator/agents/{id}/recover`.
    pub fn recover(&self, agent_id: &str) -> bool {
        recover(&self.shared, agent_id)
    }
}

/// A just-joined agent: `RUNNING` with its `101` now, or `STARTING` until the hold is over.
/// Returns the status the join answers with.
pub(crate) fn joined(s: &Arc<Shared>, st: &mut State, id: &str) -> &'static str {
    let hold = s.faults().starting;
    let Some(agent) = st.agents.get_mut(id) else {
        return AgentStatus::Running.name();
    };
    if hold.is_zero() {
        let payload = agent.payload();
        st.outbox.emit(101, Value::Object(payload));
        return AgentStatus::Running.name();
    }
    agent.record.status = AgentStatus::Starting;
    let (shared, id) = (s.clone(), id.to_owned());
    tokio::spawn(async move {
        tokio::time::sleep(hold).await;
        let mut st = shared.state.lock().unwrap_or_else(|p| p.into_inner());
        // Stopped, failed or recovering meanwhile: that move decides.
        to_running(&mut st, &id, AgentStatus::Starting);
    });
    AgentStatus::Starting.name()
}

/// `from` → `RUNNING`, with the `101`; false if the agent is not in `from`.
fn to_running(st: &mut State, id: &str, from: AgentStatus) -> bool {
    let Some(agent) = st.agents.get_mut(id).filter(|a| a.record.status == from) else {
        return false;
    };
    agent.record.status = AgentStatus::Running;
    let payload = agent.payload();
    st.outbox.emit(101, Value::Object(payload));
    true
}

/// True for the statuses of an agent that may still join or run: it can be stopped.
pub(crate) fn is_alive(status: AgentStatus) -> bool {
    matches!(
        status,
        AgentStatus::Starting | AgentStatus::Running | AgentStatus::Recovering
    )
}

/// The agent `id`, if it can be stopped (starting, running or recovering); the leave route's
/// check.
pub(crate) fn alive(st: &State, id: &str) -> Result<(), ApiError> {
    match st.agents.get(id) {
        Some(a) if is_alive(a.record.status) => Ok(()),
        Some(_) => Err(ApiError::not_found(format!("agent {id} is not running"))),
        None => Err(ApiError::not_found(format!("agent {id} not found"))),
    }
}

fn locked(s: &Shared) -> std::sync::MutexGuard<'_, State> {
    let mut st = s.state.lock().unwrap_or_else(|p| p.into_inner());
    st.expire_idle(s.clock.now());
    st
}

/// `STARTING`/`RUNNING` → `RECOVERING`; false otherwise.
pub(crate) fn recovering(s: &Shared, id: &str) -> bool {
    let mut st = locked(s);
    match st.agents.get_mut(id) {
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

/// `RECOVERING` → `RUNNING`, with a `101`; false otherwise.
pub(crate) fn recover(s: &Shared, id: &str) -> bool {
    to_running(&mut locked(s), id, AgentStatus::Recovering)
}
