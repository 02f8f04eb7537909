//! Phone numbers (account level, no project id).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{open_enum, Extra};

open_enum! {
    /// Who provides the number.
    Provider {
        /// Bring your own carrier.
        Byo => "byo",
        /// Twilio.
        Twilio => "twilio",
    }
}

/// A configured number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhoneNumber {
    /// E.164 number (the key).
    pub phone_number: String,
    /// Provider.
    #[serde(default)]
    pub provider: Option<Provider>,
    /// Label.
    #[serde(default)]
    pub label: Option<String>,
    /// Takes incoming calls.
    #[serde(default)]
    pub inbound: Option<bool>,
    /// Places outgoing calls.
    #[serde(default)]
    pub outbound: Option<bool>,
    /// `{pipeline_id, pipeline_name}` or null.
    #[serde(default)]
    pub associated_pipeline: Option<Value>,
    /// Inbound configuration or null.
    #[serde(default)]
    pub inbound_config: Option<Value>,
    /// Outbound configuration or null.
    #[serde(default)]
    pub outbound_config: Option<Value>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `POST v2/phone-numbers`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddPhoneNumber {
    /// Provider.
    pub provider: Provider,
    /// E.164 number (checked before sending).
    pub phone_number: String,
    /// Label.
    pub label: String,
    /// Takes incoming calls.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inbound: Option<bool>,
    /// Places outgoing calls.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outbound: Option<bool>,
    /// `{allowed_addresses: [CIDR…]}`.
    pub inbound_config: Value,
    /// `{address, transport, prefix}`.
    pub outbound_config: Value,
}

/// A PATCH field: leave it, clear it (JSON `null`), or set it.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Patch<T> {
    /// Not sent.
    #[default]
    Keep,
    /// Sent as `null`.
    Clear,
    /// Sent as the value.
    Set(T),
}

impl<T> Patch<T> {
    fn is_keep(&self) -> bool {
        matches!(self, Patch::Keep)
    }
}

impl<T: Serialize> Serialize for Patch<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Patch::Set(v) => v.serialize(s),
            _ => s.serialize_none(),
        }
    }
}

/// `PATCH v2/phone-numbers/{number}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UpdatePhoneNumber {
    /// `{pipeline_id}`, or clear.
    #[serde(skip_serializing_if = "Patch::is_keep")]
    pub inbound_config: Patch<Value>,
    /// `{pipeline_id}`, or clear.
    #[serde(skip_serializing_if = "Patch::is_keep")]
    pub outbound_config: Patch<Value>,
}

/// Answer to add.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhoneNumberCreated {
    /// The number.
    pub phone_number: String,
    /// Fields beyond the number, as sent.
    #[serde(flatten)]
    pub extra: Extra,
}
