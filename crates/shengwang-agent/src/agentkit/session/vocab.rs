//! The words a session's state is told in — its states, the operations a caller asks for, and
//! why an agent will not get ready — with no logic and no imports from the rest of the crate,
//! so that the error type can name them without depending on the session layer (the transport
//! and everything below it use the error type).

use std::fmt;

/// Where a session is in its lifecycle. Non-exhaustive: the fleet store of a later release
/// adds states (a session another process owns now); match with a `_` arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
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
    /// Every state, for exhaustive tests and docs.
    pub const ALL: [SessionState; 6] = [
        Self::Idle,
        Self::Starting,
        Self::Running,
        Self::Stopping,
        Self::Stopped,
        Self::Error,
    ];

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

/// Why the agent will not get ready; in [`Error::NotReady`](crate::Error::NotReady).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NotReadyCause {
    /// Its status is `FAILED`, or the agent-left notice says it failed.
    Failed,
    /// It left its channel or was stopped: an agent-left notice, a status `STOPPED`,
    /// `STOPPING` or `IDLE`, or the session stopped or restarted it meanwhile.
    Left,
    /// The service does not know it (404).
    Gone,
}

impl fmt::Display for NotReadyCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Failed => "it failed",
            Self::Left => "it left",
            Self::Gone => "it is gone",
        })
    }
}
