//! The blocking [`SessionHub`](crate::agentkit::SessionHub): the same entry point for a
//! client's sessions, each call run on the blocking client's runtime.

use std::time::Duration;

use super::Client;
use crate::agentkit::{Applied, LiveInfo, SessionStore, ShutdownReport};
use crate::webhooks::Notification;
use crate::Result;

/// The blocking client's sessions; from [`Client::sessions`]. See
/// [`crate::agentkit::SessionHub`].
#[derive(Debug, Clone, Copy)]
pub struct SessionHub<'c> {
    client: &'c Client,
}

impl Client {
    /// See [`crate::Client::sessions`].
    pub fn sessions(&self) -> SessionHub<'_> {
        SessionHub { client: self }
    }
}

impl SessionHub<'_> {
    /// The async hub underneath.
    pub fn as_async(&self) -> &crate::agentkit::SessionHub {
        self.client.as_async().sessions()
    }

    /// See [`crate::agentkit::SessionHub::apply_notification`].
    pub fn apply_notification(&self, notification: &Notification) -> Result<Applied> {
        self.client
            .block_on(self.as_async().apply_notification(notification))
    }

    /// See [`crate::agentkit::SessionHub::store`]; the store's calls are async (the list of
    /// live sessions is [`live`](Self::live)).
    pub fn store(&self) -> &dyn SessionStore {
        self.as_async().store()
    }

    /// See [`crate::agentkit::SessionHub::live`].
    pub fn live(&self) -> Vec<LiveInfo> {
        self.as_async().live()
    }

    /// See [`crate::agentkit::SessionHub::shutdown`]: stops the agent of every live session
    /// of this client within `deadline`, blocking; call it before the process exits.
    pub fn shutdown(&self, deadline: Duration) -> Result<ShutdownReport> {
        self.client
            .block_on(async { Ok(self.as_async().shutdown(deadline).await) })
    }
}
