//! The high-level agent layer: the `Agent` builder, sessions and their events.

mod agent;
mod events;
mod session;
mod turns;

pub use crate::state::{Operation, SessionState};
pub use agent::{Agent, TokenSource};
pub use events::{EventKind, HandlerId, SessionEvent};
pub use session::{Session, SessionBuilder};
