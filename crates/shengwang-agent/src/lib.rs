//! Server-side SDK for the Shengwang Conversational AI Engine ("ConvoAI").
//!
//! Layers, bottom up:
//! - [`token`]: AccessToken2 ("007…") builders, byte-exact with Agora's reference builders,
//!   plus parsing and verification.
//! - [`transport`]: the one place requests are sent (auth, failover, retries, tracing).
//! - [`Client`] with [`api`] handles per resource and [`types`] for the wire.
//! - [`agentkit`] and [`vendors`]: the agent/session layer (in progress).
//! - [`webhooks`]: verify, parse and handle notification callbacks exactly once.
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod agentkit;
pub mod api;
mod area;
pub mod blocking;
mod client;
mod error;
pub mod redact;
pub(crate) mod state;
pub mod token;
pub mod transport;
pub mod types;
pub mod vendors;
pub mod webhooks;

pub use agentkit::{Session, SessionBuilder};
pub use area::Area;
pub use client::{Client, ClientBuilder};
pub use error::{Error, ErrorReason, Result, TokenError};
pub use transport::{Response, RetryPolicy};
