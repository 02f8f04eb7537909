//! Wire types of the ConvoAI REST API. Requests leave unset options out (nothing is sent as
//! `null` unless asked); responses keep fields this version does not know in `extra`.

pub mod agents;
pub mod blocks;
pub mod config;
pub(crate) mod ids;
pub mod llm;
pub mod phone_numbers;
pub mod telephony;
pub mod turns;
// The typed uids' one public path is `agentkit` (`agentkit::AgentUid`, `agentkit::RemoteUid`).
pub(crate) mod uid;

/// Defines a string enum that keeps values it does not know (`Other`), so a new value from the
/// service never fails a response or a notification. The one such macro of the crate: the
/// REST types and the webhook payloads both use it.
///
/// Matching is exact. A variant may list other spellings it also accepts when parsing
/// (`Answered => "ANSWERED" | "answered"`); the first one is the one it prints and serializes
/// (and the one in `NAMES`).
macro_rules! open_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $wire:literal $(| $alt:literal)*),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value this version does not know, kept as sent.
            Other(String),
        }

        impl $name {
            /// The values this version knows, as the wire spells them.
            pub const NAMES: &'static [&'static str] = &[$($wire),+];

            /// The wire string.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)+
                    Self::Other(s) => s,
                }
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                match s {
                    $($wire $(| $alt)* => Self::$variant,)+
                    other => Self::Other(other.to_owned()),
                }
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                match s.as_str() {
                    $($wire $(| $alt)* => Self::$variant,)+
                    _ => Self::Other(s),
                }
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                match v {
                    $name::Other(s) => s,
                    other => other.as_str().to_owned(),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Ok(Self::from(s.as_ref()))
            }
        }
    };
}
pub(crate) use open_enum;

pub(crate) mod lenient;

/// Unknown response fields, kept for forward compatibility.
pub type Extra = serde_json::Map<String, serde_json::Value>;

/// List metadata: the cursor of the next page (`""` on the last one) and the total.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ListMeta {
    /// Cursor for the next page; empty on the last page.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Matches in total.
    #[serde(default)]
    pub total: Option<u64>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One page of a list and the cursor that follows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// Items of this page.
    pub items: Vec<T>,
    /// Cursor of the next page; `None` on the last page.
    pub next_cursor: Option<String>,
    /// Matches in total, when the service says.
    pub total: Option<u64>,
}
