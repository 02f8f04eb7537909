//! Blocking [`api::ListTurns`]: `client.agents().turns(id)`.

use futures::stream::BoxStream;
use futures::StreamExt;

use super::{Agents, Client};
use crate::api;
use crate::transport::Response;
use crate::types::turns::{AgentTurns, Turn};
use crate::Result;

impl<'c> Agents<'c> {
    /// See [`api::Agents::turns`].
    pub fn turns(&self, agent_id: impl Into<String>) -> ListTurns<'c> {
        ListTurns {
            client: self.client,
            inner: self.inner.turns(agent_id),
        }
    }
}

/// Blocking [`api::ListTurns`].
#[derive(Debug, Clone)]
#[must_use]
pub struct ListTurns<'c> {
    pub(super) client: &'c Client,
    pub(super) inner: api::ListTurns<'c>,
}

impl<'c> ListTurns<'c> {
    /// See [`api::ListTurns::page_size`].
    pub fn page_size(self, size: u32) -> Self {
        ListTurns {
            client: self.client,
            inner: self.inner.page_size(size),
        }
    }
    /// See [`api::ListTurns::page_with_response`].
    pub fn page_with_response(&self, page_index: u64) -> Result<Response<AgentTurns>> {
        self.client
            .block_on(self.inner.page_with_response(page_index))
    }
    /// See [`api::ListTurns::page`].
    pub fn page(&self, page_index: u64) -> Result<AgentTurns> {
        self.client.block_on(self.inner.page(page_index))
    }
    /// See [`api::ListTurns::all`].
    pub fn all(&self) -> Result<AgentTurns> {
        self.client.block_on(self.inner.all())
    }
    /// Every turn, fetched page by page as the iterator is read (see
    /// [`api::ListTurns::stream`]).
    pub fn iter(self) -> TurnIter<'c> {
        TurnIter {
            client: self.client,
            stream: self.inner.stream().boxed(),
            done: false,
        }
    }
}

/// Iterator over every turn; from [`ListTurns::iter`]. Ends after the first error.
pub struct TurnIter<'c> {
    client: &'c Client,
    stream: BoxStream<'c, Result<Turn>>,
    done: bool,
}

impl std::fmt::Debug for TurnIter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnIter")
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl Iterator for TurnIter<'_> {
    type Item = Result<Turn>;
    fn next(&mut self) -> Option<Result<Turn>> {
        if self.done {
            return None;
        }
        let stream = &mut self.stream;
        let item = match self.client.block_on(async { Ok(stream.next().await) }) {
            Ok(item) => item,
            Err(e) => Some(Err(e)),
        };
        if !matches!(item, Some(Ok(_))) {
            self.done = true;
        }
        item
    }
}
