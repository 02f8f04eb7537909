//! The typed uids live with the wire types (the join request takes them); sessions use them
//! from here.

pub use crate::types::uid::{AgentUid, RemoteUid};
