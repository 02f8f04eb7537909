//! Server-side SDK for the Shengwang Conversational AI Engine ("ConvoAI").
//!
//! Layers, bottom up:
//! - [`token`]: AccessToken2 ("007…") builders, byte-exact with Agora's reference builders,
//!   plus parsing and verification.
//! - transport, the REST API and the agentkit build on it (see the README).
#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod error;
pub mod token;
pub mod vendors;

pub use error::{Error, Result, TokenError};
