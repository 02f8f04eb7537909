//! AccessToken2 (`007…`): build, parse and verify.
//!
//! - [`TokenBuilder`] signs RTC, RTM and ConvoAI agent tokens byte for byte like the Python
//!   SDK and the AgoraIO/Tools reference builders (classic zlib at the default level).
//! - [`decode`] parses untrusted token strings (bounded, never panics).
//! - [`verify`] checks app id, signature (constant time), expiry and required services.
//! - [`expires_in`] validates a session token lifetime; the input rules (32-hex app id and
//!   certificate, channel names, uids, lifetimes) are in [`validate`](crate::validate).

mod builder;
mod content;
mod expires;
// Kept for the emulator, which checks tokens with the same rules; every rule is documented
// in `crate::validate`, the one public path.
#[doc(hidden)]
pub mod rules;
mod verify;
mod wire;

pub use builder::{ConvoAiToken, RtcRole, RtcToken, RtcUid, RtmToken, TokenBuilder};
pub use content::{
    decode, AccessToken, DecodedToken, RtcPrivilege, Service, ServiceBody, ServiceType,
    MAX_CONTENT_LEN, MAX_TOKEN_LEN, RTM_LOGIN, VERSION,
};
pub use expires::expires_in;
pub(crate) use expires::unix_now;
pub use verify::{verify, Validation};
