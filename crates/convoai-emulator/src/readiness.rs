//! Agents that take time to be ready: the `STARTING` hold before `RUNNING` (with the
//! agent-joined callback `101` at that moment), and the admin moves to `RECOVERING` and back.
//!
//! With no hold (the default) a joined agent is `RUNNING` at once and its `101` is sent at
//! join, as before.

use std::sync::Arc;

use crate::shared::{Shared, Store};
use crate::state::AgentStatus;

/// A just-joined agent: `RUNNING` with its `101` now, or `STARTING` until the hold is over.
/// Returns the status the join answers with.
pub(crate) fn joined(s: &Arc<Shared>, st: &mut Store<'_>, id: &str) -> &'static str {
    let hold = s.faults().starting;
    if hold.is_zero() {
        if let Some(n) = st.make_running(id, AgentStatus::Running) {
            st.send(n);
        }
        return AgentStatus::Running.name();
    }
    let Some(agent) = st.agents.get_mut(id) else {
        return AgentStatus::Running.name();
    };
    agent.record.status = AgentStatus::Starting;
    let (shared, id) = (s.clone(), id.to_owned());
    tokio::spawn(async move {
        tokio::time::sleep(hold).await;
        let mut st = shared.locked();
        // Stopped, failed or recovering meanwhile: that move decides.
        if let Some(n) = st.make_running(&id, AgentStatus::Starting) {
            st.send(n);
        }
    });
    AgentStatus::Starting.name()
}

/// `STARTING`/`RUNNING` → `RECOVERING`; false otherwise.
pub(crate) fn recovering(s: &Shared, id: &str) -> bool {
    s.store().recovering(id)
}

/// `RECOVERING` → `RUNNING`, with a `101`; false otherwise.
pub(crate) fn recover(s: &Shared, id: &str) -> bool {
    let mut st = s.store();
    let notices = st.make_running(id, AgentStatus::Recovering);
    notices.map(|n| st.send(n)).is_some()
}
