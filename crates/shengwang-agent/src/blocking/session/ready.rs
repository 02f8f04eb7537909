//! Blocking `session.wait_ready(deadline)`.

use std::time::Duration;

use super::Session;
use crate::agentkit::Ready;
use crate::blocking::Client;
use crate::Result;

impl Session {
    /// See [`crate::Session::wait_ready`]; `.send()` waits.
    pub fn wait_ready(&self, deadline: Duration) -> WaitReady<'_> {
        WaitReady {
            client: &self.client,
            inner: self.inner.wait_ready(deadline),
        }
    }
}

/// The blocking [`crate::agentkit::WaitReady`]; `.send()` waits.
#[derive(Debug)]
#[must_use = "nothing is awaited until .send()"]
pub struct WaitReady<'s> {
    client: &'s Client,
    inner: crate::agentkit::WaitReady<'s>,
}

impl WaitReady<'_> {
    /// See [`crate::agentkit::WaitReady::notices`].
    pub fn notices(self, on: bool) -> Self {
        Self {
            client: self.client,
            inner: self.inner.notices(on),
        }
    }
    /// Waits, blocking this thread; see [`crate::Session::wait_ready`].
    pub fn send(self) -> Result<Ready> {
        self.client.block_on(self.inner.send())
    }
}
