//! The high-level agent layer: the `Agent` builder, sessions and their events.

mod agent;

// The sessions that drive the state machine come next; its rules are tested already.
#[allow(dead_code)]
mod state;

pub use agent::{Agent, TokenSource};
pub use state::{Operation, SessionState};
