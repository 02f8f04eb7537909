//! Typed configuration blocks of the join request. Each keeps fields this
//! version does not model in `extra`, and sends only what is set.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{open_enum, Extra};

/// Feature switches.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AdvancedFeatures {
    /// Intelligent interruption (deprecated: use semantic end of speech).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_aivad: Option<bool>,
    /// Multimodal model instead of ASR + LLM + TTS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_mllm: Option<bool>,
    /// Signaling (RTM); the token must then carry RTM too.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_rtm: Option<bool>,
    /// Selective attention locking (configure `sal`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_sal: Option<bool>,
    /// Tool calls through MCP servers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_tools: Option<bool>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

open_enum! {
    /// Server regions a geofence allows.
    GeofenceArea {
        /// Everywhere.
        Global => "GLOBAL",
        /// North America.
        NorthAmerica => "NORTH_AMERICA",
        /// Europe.
        Europe => "EUROPE",
        /// Asia.
        Asia => "ASIA",
        /// India.
        India => "INDIA",
        /// Japan.
        Japan => "JAPAN",
    }
}

/// Which server regions may be used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Geofence {
    /// Allowed area.
    pub area: GeofenceArea,
    /// Excluded area (only meaningful with `GLOBAL`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclude_area: Option<GeofenceArea>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Media encryption cipher (the `encryption_mode` number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum EncryptionMode {
    /// 1
    Aes128Xts,
    /// 2
    Aes128Ecb,
    /// 3
    Aes256Xts,
    /// 4
    Sm4128Ecb,
    /// 5
    Aes128Gcm,
    /// 6
    Aes256Gcm,
    /// 7 (needs a salt)
    Aes128Gcm2,
    /// 8 (needs a salt)
    Aes256Gcm2,
}

impl From<EncryptionMode> for u8 {
    fn from(m: EncryptionMode) -> u8 {
        m as u8 + 1
    }
}

impl TryFrom<u8> for EncryptionMode {
    type Error = String;
    fn try_from(v: u8) -> Result<Self, String> {
        use EncryptionMode::*;
        [
            Aes128Xts, Aes128Ecb, Aes256Xts, Sm4128Ecb, Aes128Gcm, Aes256Gcm, Aes128Gcm2,
            Aes256Gcm2,
        ]
        .get(usize::from(v).wrapping_sub(1))
        .copied()
        .ok_or_else(|| format!("encryption_mode {v} is not 1 to 8"))
    }
}

/// Built-in media encryption. The key and salt are secrets: `Debug` hides them.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RtcEncryption {
    /// Encryption key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_key: Option<String>,
    /// Base64 of 32 bytes; needed for modes 7 and 8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_salt: Option<String>,
    /// Cipher.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_mode: Option<EncryptionMode>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

impl std::fmt::Debug for RtcEncryption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RtcEncryption")
            .field(
                "encryption_key",
                &self.encryption_key.as_ref().map(|_| "[redacted]"),
            )
            .field(
                "encryption_salt",
                &self.encryption_salt.as_ref().map(|_| "[redacted]"),
            )
            .field("encryption_mode", &self.encryption_mode)
            .finish_non_exhaustive()
    }
}

open_enum! {
    /// What the agent does when the user stays silent.
    SilenceAction {
        /// Speak `content`.
        Speak => "speak",
        /// Give `content` to the LLM.
        Think => "think",
    }
}

/// Reminder when the user is silent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SilenceConfig {
    /// 0 disables; 1..=60 000 ms enables (then `content` is required).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u32>,
    /// Speak or think.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<SilenceAction>,
    /// What to say or think.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Graceful leaving.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FarewellConfig {
    /// Wait for the agent to finish before leaving.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub graceful_enabled: Option<bool>,
    /// Longest wait.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub graceful_timeout_seconds: Option<u32>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

open_enum! {
    /// Transport for agent messages.
    DataChannel {
        /// Signaling (needs `enable_rtm`).
        Rtm => "rtm",
        /// RTC data stream.
        Datastream => "datastream",
    }
}

/// Session parameters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Parameters {
    /// Silence reminder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub silence_config: Option<SilenceConfig>,
    /// Graceful leaving.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub farewell_config: Option<FarewellConfig>,
    /// Message transport.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_channel: Option<DataChannel>,
    /// Deliver performance data (needs `enable_rtm`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_metrics: Option<bool>,
    /// Deliver error events (needs `enable_rtm`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_error_message: Option<bool>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

open_enum! {
    /// How the start of the user's speech is detected.
    StartOfSpeechMode {
        /// Voice activity.
        Vad => "vad",
        /// Keywords (beta).
        Keywords => "keywords",
        /// Never interrupt.
        Disabled => "disabled",
    }
}

open_enum! {
    /// How the end of the user's speech is detected.
    EndOfSpeechMode {
        /// Silence.
        Vad => "vad",
        /// Meaning.
        Semantic => "semantic",
    }
}

/// Start-of-speech detection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartOfSpeech {
    /// Mode.
    pub mode: StartOfSpeechMode,
    /// `{interrupt_duration_ms, speaking_interrupt_duration_ms, prefix_padding_ms}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vad_config: Option<Extra>,
    /// `{interrupt_duration_ms, prefix_padding_ms, triggered_keywords}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keywords_config: Option<Extra>,
    /// `{strategy: "append" | "ignored"}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled_config: Option<Extra>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// End-of-speech detection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndOfSpeech {
    /// Mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<EndOfSpeechMode>,
    /// `{silence_duration_ms}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vad_config: Option<Extra>,
    /// `{silence_duration_ms, max_wait_ms}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub semantic_config: Option<Extra>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `turn_detection.config`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TurnConfig {
    /// Lower is more sensitive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speech_threshold: Option<f64>,
    /// Start of speech.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_of_speech: Option<StartOfSpeech>,
    /// End of speech.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_of_speech: Option<EndOfSpeech>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Turn detection. The deprecated flat fields (`type`, `interrupt_mode`, …) go in `extra`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TurnDetection {
    /// `"default"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Detailed settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<TurnConfig>,
    /// Fields this version does not model (including the deprecated ones).
    #[serde(flatten)]
    pub extra: Extra,
}

open_enum! {
    /// Selective attention locking mode.
    SalMode {
        /// Lock onto one speaker.
        Locking => "locking",
        /// Identify speakers, suppress others.
        Recognition => "recognition",
    }
}

/// Selective attention locking.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sal {
    /// Mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sal_mode: Option<SalMode>,
    /// Voiceprint name → download URL (one entry; `unknown` is reserved).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample_urls: Option<BTreeMap<String, String>>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Filler words played while waiting for the LLM.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FillerWords {
    /// On or off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable: Option<bool>,
    /// `{mode: "fixed_time", fixed_time_config: {response_wait_ms}}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trigger: Option<Extra>,
    /// `{mode: "static", static_config: {phrases, selection_rule}}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<Extra>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}
