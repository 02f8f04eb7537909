//! The high-level agent layer: the `Agent` builder, sessions and their events.

mod agent;
mod calls;
mod events;
mod resolve;
pub(crate) mod session;
mod uid;

pub use agent::{Agent, TokenSource};
pub use calls::{Say, Think, Update};
pub use events::{EventKind, HandlerId, SessionEvent};
pub use session::ready::{NotReadyCause, Ready, ReadyVia, WaitReady};
#[cfg(feature = "blocking")]
pub(crate) use session::Sealed;
pub use session::{
    Applied, LeftRunning, LiveInfo, MemorySessionStore, Operation, SessionHub, SessionRecord,
    SessionState, SessionStore, ShutdownReport, StoreFuture, SCHEMA_VERSION,
};
pub use session::{Session, SessionBuilder, SessionFactory, WeakSession};
pub use uid::{AgentUid, RemoteUid};
