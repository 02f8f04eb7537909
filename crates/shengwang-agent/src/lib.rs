//! Server-side SDK for the Shengwang (Agora) Conversational AI Engine ("ConvoAI"): backends use
//! it to put voice AI agents (speech recognition, an LLM and speech synthesis, optionally an
//! avatar) into the real-time channels of their users.
//!
//! - [`token`]: AccessToken2 (`007…`) builders, byte-exact with Agora's reference builders,
//!   plus parsing and verification.
//! - [`Client`]: the typed REST client ([`api`] handles per resource, [`types`] for the wire),
//!   with retries, regional failover and secrets kept out of `Debug`, logs and errors.
//! - [`agentkit`] and [`vendors`]: agents (LLM, TTS, STT, avatar settings) and [`Session`]s
//!   that start, talk to and stop them.
//! - [`blocking`]: the same client and sessions for code that is not async.
//! - [`webhooks`]: verify, parse and handle the service's notification callbacks exactly once.
//!
//! # Getting started
//!
//! Add the SDK and an async runtime to `Cargo.toml` (Rust 1.88 or newer). The crate is not on
//! crates.io yet: depend on a clone of its repository by path (the README's "Add to Cargo.toml"
//! shows the layout); once published, the first line reads `shengwang-agent = "0.2"`.
//!
//! ```toml
//! [dependencies]
//! shengwang-agent = { path = "../shengwang-agent-rust/crates/shengwang-agent" }
//! tokio = { version = "1", features = ["macros", "rt-multi-thread"] }
//! ```
//!
//! Start an agent in a channel, make it speak, stop it. The client signs a fresh token for
//! every request (and the agent's channel token) with the app certificate, so the app id and
//! certificate are all the credentials needed:
//!
#![cfg_attr(shengwang_workspace, doc = "```")]
#![cfg_attr(not(shengwang_workspace), doc = "```ignore")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use shengwang_agent::agentkit::{Agent, AgentUid, RemoteUid};
//! use shengwang_agent::vendors::{Llm, MiniMaxTts};
//! use shengwang_agent::Client;
//!
//! // The credentials and where requests go. Here the in-process emulator (the
//! // `convoai-emulator` crate, a dev-dependency) plays the service; for a real project use
//! // the app id and app certificate from the Shengwang console, and no base URL.
//! let emulator = convoai_emulator::Emulator::builder().spawn().await?;
//! let app_id = emulator.app_id();
//! let app_certificate = emulator.app_certificate();
//! let base_url = emulator.url(); // http://127.0.0.1:PORT; the SDK adds the API path
//!
//! // Or `Client::from_env()?`, from SHENGWANG_APP_ID, SHENGWANG_APP_CERTIFICATE and
//! // (optionally) SHENGWANG_BASE_URL.
//! let client = Client::builder()
//!     .app_id(app_id)
//!     .app_certificate(app_certificate)
//!     .base_url(base_url) // leave it out for the real service
//!     .build()?;
//!
//! let agent = Agent::new()
//!     .with_instructions("You are a friendly voice assistant.")
//!     .with_llm(Llm::custom("https://llm.example/v1/chat/completions").api_key("sk-…"))?
//!     .with_tts(MiniMaxTts::new("minimax-key", "speech-02-turbo", "female-shaonv"))?;
//!
//! // The agent joins channel "room-42" as uid 1001 and listens to the user with uid 2002.
//! let session = agent
//!     .create_session(&client, "room-42", AgentUid::from(1001), [RemoteUid::from(2002)])
//!     .build();
//! let agent_id = session.start().await?;
//! session.say("Hello!").send().await?;
//! session.stop().await?;
//! # assert!(!agent_id.is_empty());
//! # Ok(()) }
//! ```
//!
//! The same steps as a program that prints what it does, against the emulator unless
//! `SHENGWANG_APP_ID` is set: `cargo run -p shengwang-agent --example quickstart` in a clone
//! of the repository.
//!
//! The README shows the REST client and tokens on their own; every one of its examples is
//! compiled and run as a test of this crate.
//!
//! # Trying it without an account
//!
//! The `convoai-emulator` crate (in the same repository) is a local, stateful
//! ConvoAI REST API (authentication, validation, agents, history, telephony, fault injection).
//! As a dev-dependency it lets tests run against it in-process:
//! `convoai_emulator::Emulator::builder().spawn().await?` gives its `base_url()` and
//! development credentials. The `convoai-cli` crate installs the `convoai` command
//! (`cargo install --locked --path crates/convoai-cli` in the clone): tokens, agents, calls and
//! phone numbers from a shell, `convoai doctor` to check a setup, and `convoai emulator` to run
//! the emulator on a port. In the clone, `cargo run -p shengwang-agent --example quickstart`
//! runs a whole session against the emulator, with no account.
//!
//! # Cargo features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `blocking` | yes | the [`blocking`] module: [`blocking::Client`] and [`blocking::Session`], each driven on a small runtime the client owns |
//! | `rustls` | yes | HTTPS with rustls and Mozilla's roots built in (see [TLS](#tls)) |
//! | `rustls-native-roots` | no | HTTPS with rustls and the operating system's trust store |
//! | `native-tls` | no | HTTPS with the operating system's TLS library and trust store |
//! | `axum` | no | `webhooks::axum`: a ready-made axum handler for the service's callbacks |
//! | `redis` | no | `webhooks::RedisStore`: callback de-duplication shared by a fleet through Redis |
//!
//! With `default-features = false` the crate is the async SDK alone, without TLS: add one of
//! the TLS features to reach the service (see [TLS](#tls)). It enables only the
//! tokio features it uses (`rt`, `time`, `sync`, `net`, and `rt-multi-thread` for
//! `blocking`); your application picks its own (`macros`, `signal`, …).
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
//! `shengwang-agent = { path = "…", default-features = false, features = ["native-tls"] }`
//! (with both on, `native-tls` is used). Without any of them only `http://` URLs work:
//! [`ClientBuilder::build`] refuses an `https://` base URL, or no base URL (the service's
//! hosts are HTTPS only), with an [`Error::Config`] naming the three features.
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
//!
//! # Errors, retries and secrets
//!
//! Every failure is one [`Error`] with a one-line `Display` that never contains a secret.
//! Timeouts, connection failures, 408, 429 and 5xx are retried with jittered backoff
//! ([`RetryPolicy`]) when the request is safe to repeat; a request that creates something
//! (a call, an utterance) is never sent twice, and a failure after it may have been carried
//! out is [`Error::OutcomeUnknown`]. A 409 is never retried. Sessions never lose an agent a
//! start may have created: they find it by its unique name and stop or adopt it.
//!
//! # Types of other crates
//!
//! The public API uses a few types of other crates; they are re-exported so that the versions
//! match: [`reqwest`] (for [`ClientBuilder::http_client`]), [`HeaderMap`] (of
//! [`Response::http_headers`]), [`serde_json`] (of [`types::Extra`] and the vendor
//! configurations) and [`Stream`]/[`BoxStream`] (list streams, [`Session::subscribe`]; read
//! them with `futures::StreamExt` or `TryStreamExt`).
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod agentkit;
pub mod api;
mod area;
#[cfg(feature = "blocking")]
pub mod blocking;
mod client;
mod error;
pub mod fleet;
pub(crate) mod identity;
// Public only for the sibling crates (the emulator logs requests and the CLI prints server
// text with these rules) and the fuzz targets; not part of the SDK's API.
#[doc(hidden)]
pub mod redact;
pub mod telemetry;
mod tls;
pub mod token;
// Public only for the emulator's tests and the fuzz targets (`retry_after`); users reach
// `Response` and `RetryPolicy` at the crate root.
#[doc(hidden)]
pub mod transport;
pub mod types;
pub mod validate;
pub mod vendors;
pub mod webhooks;

pub use agentkit::{Session, SessionBuilder, ShutdownReport};
pub use area::Area;
pub use client::{Client, ClientBuilder};
pub use error::{Error, ErrorReason, Result, TokenError};
pub use tls::tls_backend;
pub use transport::{Response, RetryPolicy};

pub use futures::stream::{BoxStream, Stream};
pub use reqwest;
pub use reqwest::header::HeaderMap;
pub use serde_json;

// Every Rust example of the README is compiled and run as a doctest, so it cannot rot. Only in
// this workspace: the examples use the emulator, a dev-dependency that is not published.
#[cfg(all(doctest, shengwang_workspace))]
#[doc = include_str!("../README.md")]
mod readme {}
