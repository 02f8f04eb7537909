//! One handle per API resource; each method describes its call and the transport sends it.
//! Every id that goes into a path passes [`crate::validate`] first.

pub(crate) mod agents;
mod phone_numbers;
mod telephony;

pub use agents::{Agents, ListAgents, ListTurns, MAX_TURN_PAGES, MAX_TURN_PAGE_SIZE};
pub use phone_numbers::PhoneNumbers;
pub use telephony::{ListCalls, Telephony};
