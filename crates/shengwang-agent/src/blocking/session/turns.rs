//! Blocking `session.turns(page)` and `session.all_turns()`.

use super::Session;
use crate::types::turns::AgentTurns;
use crate::Result;

impl Session {
    /// See [`crate::Session::turns`].
    pub fn turns(&self, page_index: u64) -> Result<AgentTurns> {
        self.client.block_on(self.inner.turns(page_index))
    }
    /// See [`crate::Session::all_turns`].
    pub fn all_turns(&self) -> Result<AgentTurns> {
        self.client.block_on(self.inner.all_turns())
    }
}
