//! The session state machine (agentkit spec §6.2): one `match` on (state, input) that every
//! change of a session's state goes through. Inputs are what a caller asks for, the outcome
//! of a start or stop, a cancellation, and what the service reported about the agent
//! (notices and statuses: left, failed, recovering, module errors, token expiry). A session
//! changes its state only by applying the table's [`Answer`] (`Inner::apply`).
//!
//! Inputs the table ignores in a state (a late notice, a replayed one, an outcome of an
//! attempt that was cancelled meanwhile) change nothing, which is what makes notice delivery
//! "at least once" safe: applying an input twice changes what applying it once did, never
//! more (the unit tests check this for every pair).
//!
//! Differences from the Python SDK, on purpose:
//! - `stop` is allowed in `error` when an agent id is known, so a failed stop can be
//!   retried;
//! - `start` forgets the previous run's agent id, so `history`/`info` never reach a stale agent
//!   after a failed restart;
//! - `think` and `renew_token` follow the same rule as `say`.

pub use super::vocab::{Operation, SessionState};

/// What moves a session: one row of the table per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Input {
    /// A caller asks for an operation.
    Ask(Operation),
    /// The start or stop in flight succeeded.
    Succeeded(Operation),
    /// The start or stop in flight failed.
    Failed(Operation),
    /// The start or stop in flight was cancelled (its future dropped).
    Cancelled,
    /// The service said the agent left its channel or was stopped (notice `102`).
    AgentLeft,
    /// The service said the agent failed (notice `102` with a failure reason).
    AgentFailed,
    /// The service said a module of the agent reported an error (notice `110`); it runs on.
    AgentError,
    /// The service said the agent's token is about to expire (notice `104`).
    TokenExpiring,
    /// The service reports the agent `RECOVERING`; it runs on.
    AgentRecovering,
}

impl Input {
    /// Every input, for exhaustive tests.
    #[cfg(test)]
    pub(crate) fn all() -> Vec<Input> {
        let mut all = Vec::new();
        for op in Operation::ALL {
            all.extend([Input::Ask(op), Input::Succeeded(op), Input::Failed(op)]);
        }
        all.extend([
            Input::Cancelled,
            Input::AgentLeft,
            Input::AgentFailed,
            Input::AgentError,
            Input::TokenExpiring,
            Input::AgentRecovering,
        ]);
        all
    }

    /// Something the service reported (as opposed to the session's own calls).
    #[cfg(test)]
    pub(crate) fn is_report(self) -> bool {
        !matches!(
            self,
            Input::Ask(_) | Input::Succeeded(_) | Input::Failed(_) | Input::Cancelled
        )
    }
}

/// The table's answer for one (state, input).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// Move to this state (no move when it is the current one), then go on.
    Enter(SessionState),
    /// Go on; the state does not change.
    Stay,
    /// Refused: nothing is sent, nothing changes.
    Refuse(Refusal),
    /// Does not apply in this state (a late, replayed or reordered input): nothing changes.
    Ignore,
}

/// Why an operation was refused; nothing was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Not allowed in this state.
    State,
    /// Allowed in this state, but the session knows no agent id for the current run.
    NoAgentId,
}

/// The whole rule set: what `input` does in `state`, given whether the current run has an
/// agent id (for a stop: whether the session may have an agent at all).
pub(crate) fn table(state: SessionState, input: Input, has_id: bool) -> Answer {
    use Answer::{Enter, Ignore, Refuse, Stay};
    use Input as I;
    use Operation as O;
    use SessionState as S;
    let needs_id = |answer| {
        if has_id {
            answer
        } else {
            Refuse(Refusal::NoAgentId)
        }
    };
    match (state, input) {
        (S::Idle | S::Stopped | S::Error, I::Ask(O::Start)) => Enter(S::Starting),
        (S::Running, I::Ask(O::Stop)) => needs_id(Enter(S::Stopping)),
        (S::Error, I::Ask(O::Stop)) if has_id => Enter(S::Stopping),
        (S::Running, I::Ask(O::Say | O::Interrupt | O::Update | O::Think | O::RenewToken)) => {
            needs_id(Stay)
        }
        (S::Idle, I::Ask(O::History | O::Info | O::Turns)) => Refuse(Refusal::NoAgentId),
        (_, I::Ask(O::History | O::Info | O::Turns)) => needs_id(Stay),
        (_, I::Ask(_)) => Refuse(Refusal::State),
        (S::Starting, I::Succeeded(O::Start)) => Enter(S::Running),
        (S::Stopping, I::Succeeded(O::Stop)) => Enter(S::Stopped),
        (S::Starting, I::Failed(O::Start)) | (S::Stopping, I::Failed(O::Stop)) => Enter(S::Error),
        (S::Starting | S::Stopping, I::Cancelled) => Enter(S::Error),
        (S::Running | S::Error, I::AgentLeft) => Enter(S::Stopped),
        (S::Running | S::Error, I::AgentFailed) => Enter(S::Error),
        (S::Running | S::Error, I::AgentError | I::TokenExpiring | I::AgentRecovering) => Stay,
        _ => Ignore,
    }
}

#[cfg(test)]
mod tests {
    //! Properties every cell of the table must have, checked by reading the table itself.
    use super::*;
    use SessionState as S;

    fn cells() -> impl Iterator<Item = (SessionState, Input, bool, Answer)> {
        S::ALL.into_iter().flat_map(|s| {
            Input::all().into_iter().flat_map(move |i| {
                [false, true]
                    .into_iter()
                    .map(move |id| (s, i, id, table(s, i, id)))
            })
        })
    }

    fn transitional(s: SessionState) -> bool {
        matches!(s, S::Starting | S::Stopping)
    }

    #[test]
    fn asks_are_answered_and_outcomes_are_never_refused() {
        for (s, i, id, a) in cells() {
            match i {
                Input::Ask(_) => assert_ne!(a, Answer::Ignore, "{s} × {i:?} ({id})"),
                _ => assert!(!matches!(a, Answer::Refuse(_)), "{s} × {i:?} ({id})"),
            }
        }
    }

    #[test]
    fn only_a_start_or_stop_enters_a_transitional_state_and_only_its_end_leaves_it() {
        for (s, i, id, a) in cells() {
            if let Answer::Enter(to) = a {
                assert_eq!(
                    transitional(to),
                    matches!(i, Input::Ask(Operation::Start | Operation::Stop)),
                    "{s} × {i:?} ({id}) → {to}"
                );
            }
            if transitional(s) && matches!(a, Answer::Enter(_)) {
                assert!(
                    matches!(i, Input::Succeeded(_) | Input::Failed(_) | Input::Cancelled),
                    "{s} × {i:?} ({id}): only the outcome of the call in flight moves it"
                );
            }
        }
    }

    #[test]
    fn transitional_states_refuse_every_change() {
        for (s, i, id, a) in cells() {
            if transitional(s)
                && matches!(i, Input::Ask(op) if !matches!(op, Operation::History | Operation::Info | Operation::Turns))
            {
                assert_eq!(a, Answer::Refuse(Refusal::State), "{s} × {i:?} ({id})");
            }
        }
    }

    #[test]
    fn every_input_applied_twice_does_what_applying_it_once_did() {
        for (s, i, id, a) in cells() {
            if let Answer::Enter(to) = a {
                let again = table(to, i, id);
                let no_op = matches!(again, Answer::Ignore | Answer::Stay | Answer::Refuse(_))
                    || again == Answer::Enter(to);
                assert!(
                    no_op || !i.is_report(),
                    "{s} × {i:?} ({id}) → {to}, then {again:?}"
                );
            }
        }
    }

    #[test]
    fn reports_never_touch_a_session_without_an_agent() {
        for (s, i, id, a) in cells() {
            if i.is_report() && matches!(s, S::Idle | S::Starting | S::Stopping | S::Stopped) {
                assert_eq!(a, Answer::Ignore, "{s} × {i:?} ({id})");
            }
        }
    }

    #[test]
    fn every_state_is_reachable_from_idle() {
        let mut seen = vec![S::Idle];
        let mut i = 0;
        while i < seen.len() {
            let from = seen[i];
            for (_, _, _, a) in cells().filter(|c| c.0 == from) {
                if let Answer::Enter(to) = a {
                    if !seen.contains(&to) {
                        seen.push(to);
                    }
                }
            }
            i += 1;
        }
        for s in S::ALL {
            assert!(seen.contains(&s), "{s} unreachable");
        }
    }

    #[test]
    fn a_failed_stop_can_be_retried_but_a_failed_start_cannot_be_stopped() {
        let stop = Input::Ask(Operation::Stop);
        assert_eq!(table(S::Error, stop, true), Answer::Enter(S::Stopping));
        assert_eq!(table(S::Error, stop, false), Answer::Refuse(Refusal::State));
    }
}
