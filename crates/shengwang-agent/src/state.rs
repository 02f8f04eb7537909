//! The session state machine (agentkit spec §6.2), as one `match` on (state, operation).
//!
//! Differences from the Python SDK, on purpose:
//! - `stop` is allowed in `error` when an agent id is known, so a failed stop can be
//!   retried;
//! - `start` forgets the previous run's agent id, so `history`/`info` never reach a stale agent
//!   after a failed restart;
//! - `think` and `renew_token` follow the same rule as `say`.

use std::fmt;

/// Where a session is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionState {
    /// Created, never started.
    Idle,
    /// A start request is in flight.
    Starting,
    /// The agent is running.
    Running,
    /// A stop request is in flight.
    Stopping,
    /// The agent has stopped (or was already gone).
    Stopped,
    /// The last start or stop failed.
    Error,
}

impl SessionState {
    /// Lower-case name, as in the Python SDK (`idle`, `starting`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Starting => "starting",
            Self::Running => "running",
            Self::Stopping => "stopping",
            Self::Stopped => "stopped",
            Self::Error => "error",
        }
    }
}

impl fmt::Display for SessionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a caller asks a session to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// Start (or restart) the agent.
    Start,
    /// Stop the agent.
    Stop,
    /// Speak a text.
    Say,
    /// Interrupt speaking/thinking.
    Interrupt,
    /// Update the agent's properties.
    Update,
    /// Inject text as if the user had said it.
    Think,
    /// Replace the agent's channel token.
    RenewToken,
    /// Read the conversation history.
    History,
    /// Read the agent's status.
    Info,
    /// Read the session's turns.
    Turns,
}

impl Operation {
    /// Lower-case name used in error messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Stop => "stop",
            Self::Say => "say",
            Self::Interrupt => "interrupt",
            Self::Update => "update",
            Self::Think => "think",
            Self::RenewToken => "renew_token",
            Self::History => "history",
            Self::Info => "info",
            Self::Turns => "turns",
        }
    }

    /// Every operation, for exhaustive tests and docs.
    pub const ALL: [Operation; 10] = [
        Self::Start,
        Self::Stop,
        Self::Say,
        Self::Interrupt,
        Self::Update,
        Self::Think,
        Self::RenewToken,
        Self::History,
        Self::Info,
        Self::Turns,
    ];
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the session does when an operation is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Enter this transitional state, send the request, then settle.
    Enter(SessionState),
    /// Send the request; the state does not change.
    Send,
}

/// Why an operation was refused; nothing was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Not allowed in this state.
    State,
    /// Allowed in this state, but the session knows no agent id for the current run.
    NoAgentId,
}

/// The whole rule set: may `op` run in `state`, given whether the current run has an agent id?
pub(crate) fn check(state: SessionState, op: Operation, has_id: bool) -> Result<Step, Refusal> {
    use Operation as O;
    use SessionState as S;
    let needs_id = |step| {
        if has_id {
            Ok(step)
        } else {
            Err(Refusal::NoAgentId)
        }
    };
    match (state, op) {
        (S::Idle | S::Stopped | S::Error, O::Start) => Ok(Step::Enter(S::Starting)),
        (S::Running, O::Stop) => needs_id(Step::Enter(S::Stopping)),
        (S::Error, O::Stop) if has_id => Ok(Step::Enter(S::Stopping)),
        (S::Running, O::Say | O::Interrupt | O::Update | O::Think | O::RenewToken) => {
            needs_id(Step::Send)
        }
        (S::Idle, O::History | O::Info | O::Turns) => Err(Refusal::NoAgentId),
        (_, O::History | O::Info | O::Turns) => needs_id(Step::Send),
        _ => Err(Refusal::State),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SessionState as S;

    const STATES: [SessionState; 6] = [
        S::Idle,
        S::Starting,
        S::Running,
        S::Stopping,
        S::Stopped,
        S::Error,
    ];

    /// The documented state table, plus the one change (a failed stop may be retried),
    /// written out cell by cell.
    fn expected(state: SessionState, op: Operation, has_id: bool) -> Result<Step, Refusal> {
        use Operation as O;
        let talk = matches!(
            op,
            O::Say | O::Interrupt | O::Update | O::Think | O::RenewToken
        );
        let read = matches!(op, O::History | O::Info | O::Turns);
        let id_or = |s| {
            if has_id {
                Ok(s)
            } else {
                Err(Refusal::NoAgentId)
            }
        };
        if op == O::Start {
            return match state {
                S::Idle | S::Stopped | S::Error => Ok(Step::Enter(S::Starting)),
                _ => Err(Refusal::State),
            };
        }
        if read {
            return if state == S::Idle {
                Err(Refusal::NoAgentId)
            } else {
                id_or(Step::Send)
            };
        }
        match (state, op) {
            (S::Running, O::Stop) => id_or(Step::Enter(S::Stopping)),
            (S::Error, O::Stop) if has_id => Ok(Step::Enter(S::Stopping)),
            (S::Running, _) if talk => id_or(Step::Send),
            _ => Err(Refusal::State),
        }
    }

    #[test]
    fn every_state_operation_pair_matches_the_table() {
        for state in STATES {
            for op in Operation::ALL {
                for has_id in [false, true] {
                    assert_eq!(
                        check(state, op, has_id),
                        expected(state, op, has_id),
                        "{state} × {op} (id: {has_id})"
                    );
                }
            }
        }
    }

    #[test]
    fn transitional_states_refuse_every_change() {
        for state in [S::Starting, S::Stopping] {
            for op in [Operation::Start, Operation::Stop, Operation::Say] {
                assert_eq!(check(state, op, true), Err(Refusal::State));
            }
        }
    }

    #[test]
    fn a_failed_stop_can_be_retried_but_a_failed_start_cannot_be_stopped() {
        assert_eq!(
            check(S::Error, Operation::Stop, true),
            Ok(Step::Enter(S::Stopping))
        );
        assert_eq!(check(S::Error, Operation::Stop, false), Err(Refusal::State));
    }
}
