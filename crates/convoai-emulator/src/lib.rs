//! A local, stateful emulator of the ConvoAI REST API.
//!
//! It serves every endpoint of the service under `/api/conversational-ai-agent` and
//! `/cn/api/conversational-ai-agent`, authenticates requests for real (Basic customer
//! credentials or AccessToken2 tokens verified with `shengwang_agent::token`), validates bodies
//! the way the service documents, keeps agents, calls and phone numbers in memory, and injects
//! faults on demand. With [`EmulatorBuilder::tls`] it serves HTTPS (HTTP/2 and HTTP/1.1) with a
//! certificate authority made at start. Tests start it in-process on an ephemeral loopback port:
//!
//! ```no_run
//! # async fn demo() -> Result<(), convoai_emulator::EmulatorError> {
//! let emu = convoai_emulator::Emulator::builder().spawn().await?;
//! println!("ConvoAI API at {}", emu.base_url());
//! println!("dashboard at {}", emu.ui_url());
//! # Ok(()) }
//! ```
//!
//! A web dashboard at `/_emulator/ui` shows the agents, what they said, the requests that came
//! in (bodies with secrets redacted) and the fault settings, live. It is built only on the
//! loopback-only admin API under `/_emulator/`, so a script can do whatever the page does.
#![warn(missing_docs)]

mod admin;
mod api;
mod app;
mod builder;
mod calls;
pub mod cli;
mod clock;
mod dispatch;
mod error;
mod fault;
mod handle;
mod notice;
mod notify;
mod readiness;
mod reqlog;
mod server;
mod shared;
mod state;
mod stats;
mod tls;
mod turns;
mod ui;
mod validate;
mod verified;

pub use builder::{
    Emulator, EmulatorBuilder, DEV_APP_CERTIFICATE, DEV_APP_ID, DEV_CUSTOMER_ID,
    DEV_CUSTOMER_SECRET,
};
pub use calls::InboundCall;
pub use clock::Clock;
pub use error::EmulatorError;
pub use fault::{Fault, FaultRule};
pub use handle::EmulatorHandle;
pub use notify::{
    CallbackFault, CallbackFaultRule, CallbackRecord, DeliveryAttempt, DeliveryState, WebhookConfig,
};
pub use state::{AgentRecord, AgentStatus, LoggedRequest, RequestCount, SecondStats};
pub use stats::ServerStats;
