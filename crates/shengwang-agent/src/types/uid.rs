//! Typed RTC uids, so the agent's uid and the users' uids cannot be swapped by accident.

use std::fmt;

macro_rules! uid {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// A string account (needs `enable_string_uid(true)` on the session).
            pub fn account(account: impl Into<String>) -> Self {
                $name(account.into())
            }
            /// The uid as the wire carries it: digits, or an account in string-uid mode
            /// (e.g. read from a configuration file).
            pub fn new(text: impl Into<String>) -> Self {
                $name(text.into())
            }
            /// The uid as sent on the wire.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<u32> for $name {
            fn from(uid: u32) -> Self {
                $name(uid.to_string())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }
    };
}

uid!(
    /// The uid the agent joins the channel as: `AgentUid::from(1001)`, or
    /// `AgentUid::account("bot")` in string-uid mode. `AgentUid::from(0)` lets the service
    /// pick one.
    AgentUid
);
uid!(
    /// A user the agent listens to: `RemoteUid::from(2002)`, `RemoteUid::account("alice")`,
    /// or [`RemoteUid::any`] for everyone in the channel.
    RemoteUid
);

impl RemoteUid {
    /// Every user in the channel (`"*"`).
    pub fn any() -> Self {
        RemoteUid("*".to_owned())
    }
}
