//! The high-level agent layer: the `Agent` builder, sessions and their events.

mod agent;
mod calls;
mod events;
mod notices;
mod resolve;
mod session;
mod turns;
mod uid;

pub use crate::live::{LeftRunning, ShutdownReport};
pub use crate::state::{Operation, SessionState};
pub use agent::{Agent, TokenSource};
pub use calls::{Say, Think, Update};
pub use events::{EventKind, HandlerId, SessionEvent};
pub(crate) use notices::AppliedNotices;
pub use session::ready::{NotReadyCause, Ready, ReadyVia, WaitReady};
#[cfg(feature = "blocking")]
pub(crate) use session::Sealed;
pub use session::{Session, SessionBuilder, SessionFactory, WeakSession};
pub use uid::{AgentUid, RemoteUid};
