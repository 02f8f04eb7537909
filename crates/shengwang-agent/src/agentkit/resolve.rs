//! Finding the agent a session may have started, using only what the API documents.
//!
//! The evidence is: a 409 on the session's own name (the name is unique while an agent runs,
//! so an agent of this session is running), and the channel's agent list (id, start time,
//! status; nothing else). An agent is adopted only when it is the single running agent of
//! the channel in the session's time window that no other live session of the client owns,
//! *and* the service said the name is taken. Otherwise the caller gets
//! [`Error::AgentUnresolved`] naming the candidates.

use crate::api::Agents;
pub(crate) use crate::transport::unix_now;
use crate::types::agents::AgentStatus;
use crate::{Error, Result};

/// How far the service's clock may be behind ours, in seconds; widens the window.
pub(crate) const CLOCK_SKEW_SECS: u64 = 60;
/// Pages of the channel's agent list read at most (100 agents each).
const MAX_PAGES: usize = 20;

/// A 409 on the join: the session's name is in use by a running agent.
pub(crate) fn is_name_conflict(e: &Error) -> bool {
    match e {
        Error::Api { status: 409, .. } => true,
        Error::OutcomeUnknown { source } => is_name_conflict(source),
        _ => false,
    }
}

/// True when a failed start certainly created nothing: it was refused before sending, or the
/// service rejected the request itself (an identical request is rejected on every attempt).
pub(crate) fn nothing_created(e: &Error) -> bool {
    match e {
        Error::InvalidInput { .. }
        | Error::Config(_)
        | Error::Token(_)
        | Error::State { .. }
        | Error::NoAgentId { .. } => true,
        Error::Api { status, .. } => matches!(status, 400 | 401 | 403),
        _ => false,
    }
}

/// What an agent's status says about it.
pub(crate) fn is_alive(status: &AgentStatus) -> bool {
    matches!(
        status,
        AgentStatus::Starting | AgentStatus::Running | AgentStatus::Recovering
    )
}

/// Agents alive in `channel` that started at or after `since` (less the clock skew) and are
/// not in `exclude`. Bounded: at most `MAX_PAGES` pages are read.
pub(crate) async fn candidates(
    agents: &Agents<'_>,
    channel: &str,
    since: u64,
    exclude: &[String],
) -> Result<Vec<String>> {
    let from = since.saturating_sub(CLOCK_SKEW_SECS);
    let mut list = agents
        .list()
        .channel(channel)
        .from_time(from as f64)
        .limit(100);
    let mut found = Vec::new();
    for _ in 0..MAX_PAGES {
        let page = list.page().await?;
        let empty = page.items.is_empty();
        found.extend(
            page.items
                .into_iter()
                .filter(|a| a.status.as_ref().is_none_or(is_alive))
                .filter(|a| a.start_ts.is_none_or(|t| t >= from))
                .map(|a| a.agent_id)
                .filter(|id| !exclude.contains(id)),
        );
        match page.next_cursor {
            Some(c) if !empty => list = list.cursor(c),
            _ => break,
        }
    }
    found.sort();
    found.dedup();
    Ok(found)
}

/// After a 409 on the session's own name: the one agent that must be the session's, or a
/// typed error naming every candidate.
pub(crate) async fn adopt(
    agents: &Agents<'_>,
    name: &str,
    channel: &str,
    since: u64,
    exclude: &[String],
) -> Result<String> {
    let mut found = candidates(agents, channel, since, exclude).await?;
    if found.len() == 1 {
        return Ok(found.remove(0));
    }
    Err(Error::AgentUnresolved {
        name: name.to_owned(),
        channel: channel.to_owned(),
        candidates: found,
    })
}
