//! A session's turns: `session.turns(page)`, `session.all_turns()`, `session.turn_stream()`.
//!
//! Turns stay readable after the agent stopped (the service keeps them for 7 days), so the
//! reads follow the same state rule as `history` and `info`.

use futures::{Stream, StreamExt};

use super::Session;
use crate::agentkit::Operation;
use crate::api::ListTurns;
use crate::types::turns::{AgentTurns, Turn};
use crate::Result;

impl Session {
    /// The turns list of the current run, for the session's channel and agent uid (the
    /// identity its calls are signed for). Signs nothing and re-runs no agent check.
    fn turn_list(&self) -> Result<(ListTurns<'_>, String)> {
        let id = self.admit(Operation::Turns)?;
        Ok((self.agents().turns(id.clone()), id))
    }

    /// Counts the turns' latencies (`convoai.turn.latency`, once per turn and stage).
    fn count(&self, agent_id: &str, turns: &Result<AgentTurns>) {
        if let Ok(t) = turns {
            self.client().telemetry().listed_turns(agent_id, &t.turns);
        }
    }

    /// One page of the current run's turns (`page_index` starts at 1; the service's page
    /// size).
    pub async fn turns(&self, page_index: u64) -> Result<AgentTurns> {
        let (list, id) = self.turn_list()?;
        let turns = list.page(page_index).await;
        self.count(&id, &turns);
        turns
    }

    /// Every turn of the current run, across pages (see [`ListTurns::all`]).
    pub async fn all_turns(&self) -> Result<AgentTurns> {
        let (list, id) = self.turn_list()?;
        let turns = list.all().await;
        self.count(&id, &turns);
        turns
    }

    /// Every turn of the current run as a stream, fetched page by page as it is read.
    pub fn turn_stream(&self) -> impl Stream<Item = Result<Turn>> + '_ {
        match self.turn_list() {
            Ok((list, id)) => list
                .stream()
                .inspect(move |turn| {
                    if let Ok(turn) = turn {
                        let turns = std::slice::from_ref(turn);
                        self.client().telemetry().listed_turns(&id, turns);
                    }
                })
                .left_stream(),
            Err(e) => futures::stream::once(async move { Err(e) }).right_stream(),
        }
    }
}
