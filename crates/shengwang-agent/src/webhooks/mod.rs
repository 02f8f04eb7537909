//! Notification callbacks ("webhooks"): verify, parse and handle each ConvoAI event once.
//!
//! The service POSTs one JSON envelope per event to the URL configured in the console, with
//! two signatures of the raw body: `Agora-Signature-V2` (hex HMAC-SHA256) and
//! `Agora-Signature` (hex HMAC-SHA1), keyed by the console secret. It may deliver an event
//! more than once and in any order, and resends it (same `noticeId`, new `notifyMs`) until it
//! gets a 200 within 10 s.
//!
//! - [`Verifier`] checks signatures on the raw bytes, constant-time, with several secrets for
//!   rotation and a body limit; [`parse`] turns the body into a [`Notification`] with a typed
//!   [`Event`]. Together they work with any framework (actix, hyper, lambda).
//! - [`Receiver`] adds exactly-once handling through a [`DedupeStore`]: [`MemoryStore`]
//!   (bounded, in process) by default, `RedisStore` (feature `redis`) for a fleet.
//! - `webhooks::axum` (feature `axum`) is a ready-made endpoint.
//! - [`client.sessions().apply_notification`](crate::agentkit::SessionHub::apply_notification) hands a verified
//!   notification to the live session running its agent: agent left, agent error, and the
//!   token-expiry warning, on which a session built with
//!   [`renew_token_on_expiry`](crate::SessionBuilder::renew_token_on_expiry) renews its
//!   agent's token by itself (in the background, once per notice).
//!
//! ```
//! use shengwang_agent::webhooks::{parse, Event, Signatures, Verifier};
//! # fn demo(v2_header: Option<&str>, v1_header: Option<&str>, body: &[u8]) -> Result<(), shengwang_agent::webhooks::WebhookError> {
//! let verifier = Verifier::new("console-secret").with_secret("previous-secret");
//! verifier.verify(Signatures { v2: v2_header, v1: v1_header }, body)?;
//! let n = parse(body)?;
//! if let Event::AgentLeft(left) = &n.event {
//!     println!("agent {} left: {:?}", left.agent_id, left.reason());
//! }
//! # Ok(()) }
//! ```
//!
//! Choices where the service's documentation is silent:
//! - De-duplication is keyed by (`productId`, `noticeId`), never by `notifyMs` or the
//!   signatures, which change on every resend.
//! - The V2 header is checked when present, otherwise V1; a wrong V2 is rejected even if a
//!   V1 would match, so a forged request cannot fall back to the weaker digest.
//! - A payload that does not have its type's documented shape, an unknown event type and
//!   another product's event all arrive as [`Event::Other`] with the raw payload rather
//!   than as an error: answering non-200 would only make the service resend the same bytes.
//! - Timestamps are kept as sent (`start_ts`/`stop_ts` are seconds except in the turn batch,
//!   where the documentation shows milliseconds); `turn_id` may be a number or a string.
//! - No freshness window on `notifyMs` is applied: the resend schedule is not published.

mod dedupe;
mod error;
mod event;
mod receiver;
mod verify;

#[cfg(feature = "axum")]
pub mod axum;
#[cfg(feature = "redis")]
mod redis;

pub use dedupe::{DedupeStore, MemoryStore, DEFAULT_CAPACITY, DEFAULT_TTL};
pub use error::WebhookError;
pub use event::{
    parse, AgentError, AgentId, AgentJoined, AgentLeft, AgentMetrics, CallState, CallStateChanged,
    ErrorModule, Event, FinishedTurn, Labels, LeaveReason, LeftStatus, ModuleError, NoticeId,
    Notification, OtherEvent, Product, TokenExpiring, TurnEdge, TurnId, TurnsFinished,
    CONVOAI_PRODUCT_ID,
};
pub use receiver::{Received, Receiver};
#[cfg(feature = "redis")]
pub use redis::{RedisStore, DEFAULT_PREFIX};
pub use verify::{
    sign_v1, sign_v2, SignatureKind, Signatures, Verifier, DEFAULT_MAX_BODY, SIGNATURE_HEADER,
    SIGNATURE_V2_HEADER,
};

/// Verifies `body` against `signatures` with one `secret` and parses it: the shortest path for
/// a framework-free receiver. Use a [`Verifier`] for rotation or options, and a [`Receiver`]
/// for de-duplication.
pub fn verify_and_parse(
    secret: &str,
    signatures: Signatures<'_>,
    body: &[u8],
) -> Result<Notification, WebhookError> {
    Verifier::new(secret).verify(signatures, body)?;
    parse(body)
}
