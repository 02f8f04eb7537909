//! Server-side SDK for the Shengwang Conversational AI Engine ("ConvoAI").
//!
//! Layers, bottom up:
//! - [`token`]: AccessToken2 ("007…") builders, byte-exact with Agora's reference builders,
//!   plus parsing and verification.
//! - [`transport`]: the one place requests are sent (auth, failover, retries, tracing).
//! - [`Client`] with [`api`] handles per resource and [`types`] for the wire.
//! - [`agentkit`] and [`vendors`]: the agent/session layer (in progress).
//!
//! # TLS
//!
//! Requests go over HTTPS with the TLS stack chosen by a cargo feature:
//!
//! | feature | TLS library | roots trusted |
//! |---|---|---|
//! | `rustls` (default) | rustls | Mozilla's, built into the binary |
//! | `rustls-native-roots` | rustls | the operating system's trust store |
//! | `native-tls` | the operating system's (OpenSSL, Secure Transport, SChannel) | the operating system's |
//!
//! To use the OS library, turn the default off:
//! `shengwang-agent = { version = "0.1", default-features = false, features = ["native-tls"] }`
//! (with both on, `native-tls` is used). Without any of them only `http://` URLs work.
//!
//! A proxy or test server with a private certificate authority is trusted with
//! [`ClientBuilder::add_root_certificate`]; a PEM that holds no valid certificate fails at
//! `build()`. A certificate that is not trusted or names another host fails the call with
//! [`Error::Tls`], which is not retried. HTTP/1.1 is used unless
//! [`ClientBuilder::http2`] allows HTTP/2, negotiated with the server during the handshake.
//! The emulator serves HTTPS too (`EmulatorBuilder::tls(true)`, `convoai emulator --tls`)
//! with a certificate authority made at start.
//!
//! ```no_run
//! # fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let ca = std::fs::read("/path/to/ca.pem")?;
//! let client = shengwang_agent::Client::builder()
//!     .app_id("0123456789abcdef0123456789abcdef")
//!     .app_certificate("fedcba9876543210fedcba9876543210")
//!     .base_url("https://127.0.0.1:8443/cn/api/conversational-ai-agent")
//!     .add_root_certificate(ca)
//!     .http2(true)
//!     .build()?;
//! # let _ = client; Ok(()) }
//! ```
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod agentkit;
pub mod api;
mod area;
pub mod blocking;
mod client;
mod error;
pub(crate) mod identity;
mod live;
pub mod redact;
pub(crate) mod state;
mod tls;
pub mod token;
pub mod transport;
pub mod types;
pub mod validate;
pub mod vendors;

pub use agentkit::{Session, SessionBuilder, ShutdownReport};
pub use area::Area;
pub use client::{Client, ClientBuilder};
pub use error::{Error, ErrorReason, Result, TokenError};
pub use transport::{Response, RetryPolicy};
