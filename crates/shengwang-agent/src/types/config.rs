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
                &self
                    .encryption_key
                    .as_ref()
                    .map(|_| crate::redact::REDACTED),
            )
            .field(
                "encryption_salt",
                &self
                    .encryption_salt
                    .as_ref()
                    .map(|_| crate::redact::REDACTED),
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

open_enum! {
    /// Audio processing profile (`parameters.audio_scenario`).
    AudioScenario {
        /// The service's default (the same as `aiserver`).
        Default => "default",
        /// Tuned for several people speaking at once.
        Chorus => "chorus",
        /// Tuned for an AI agent.
        AiServer => "aiserver",
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
    /// Audio processing profile of the agent's channel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio_scenario: Option<AudioScenario>,
    /// True: the service keeps no data of this session once it ends.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opt_out: Option<bool>,
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

open_enum! {
    /// When filler words play.
    FillerTriggerMode {
        /// After the LLM has not answered for `response_wait_ms`.
        FixedTime => "fixed_time",
    }
}

/// `filler_words.trigger.fixed_time_config`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FixedTimeTrigger {
    /// How long to wait for the LLM before a filler plays (ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_wait_ms: Option<u32>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// When filler words play.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FillerTrigger {
    /// Mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<FillerTriggerMode>,
    /// Settings of the `fixed_time` mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed_time_config: Option<FixedTimeTrigger>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

open_enum! {
    /// Where filler words come from.
    FillerContentMode {
        /// A fixed list of phrases.
        Static => "static",
        /// Written by an LLM from the conversation.
        Generated => "generated",
    }
}

open_enum! {
    /// Which static phrase plays next.
    FillerSelection {
        /// At random.
        Shuffle => "shuffle",
        /// In turn.
        RoundRobin => "round_robin",
    }
}

/// Static filler phrases.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StaticFillers {
    /// The phrases (required by the service when this block is sent).
    pub phrases: Vec<String>,
    /// Which plays next.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selection_rule: Option<FillerSelection>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The LLM that writes generated filler words. Its key is a secret: `Debug` hides it.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FillerLlmProvider {
    /// Chat-completions endpoint.
    pub url: String,
    /// Key for it.
    pub api_key: super::blocks::Secret,
    /// Extra request fields (`model`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub params: Option<Extra>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

impl std::fmt::Debug for FillerLlmProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::redact::debug_json("FillerLlmProvider", self, f)
    }
}

open_enum! {
    /// What plays when generating a filler fails.
    FillerFallback {
        /// The static phrases.
        Static => "static",
    }
}

/// Filler words written by an LLM.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GeneratedFillers {
    /// The LLM that writes them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm_provider: Option<FillerLlmProvider>,
    /// Instructions for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// What plays when it fails.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback_strategy: Option<FillerFallback>,
    /// Conversation messages it sees.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context_message_limit: Option<u32>,
    /// Characters of history it sees.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history_character_limit: Option<u32>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// What filler words say.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FillerContent {
    /// Static or generated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<FillerContentMode>,
    /// Settings of the `static` mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub static_config: Option<StaticFillers>,
    /// Settings of the `generated` mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generated_config: Option<GeneratedFillers>,
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
    /// When they play.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trigger: Option<FillerTrigger>,
    /// What they say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<FillerContent>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

open_enum! {
    /// What interrupts the agent while it speaks.
    InterruptionMode {
        /// Any speech from the user.
        StartOfSpeech => "start_of_speech",
        /// Only the trigger keywords.
        Keywords => "keywords",
    }
}

/// `interruption.keywords_config`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InterruptionKeywords {
    /// Words that interrupt (at most 128).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trigger_keywords: Option<Vec<String>>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

open_enum! {
    /// What happens to the user's speech while interruption is disabled.
    DisabledStrategy {
        /// Answered after the agent finishes.
        Append => "append",
        /// Dropped.
        Ignore => "ignore",
    }
}

/// `interruption.disabled_config`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InterruptionDisabled {
    /// Append or ignore.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strategy: Option<DisabledStrategy>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Whether and how the user can interrupt the agent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Interruption {
    /// Interruption on or off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable: Option<bool>,
    /// What interrupts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<InterruptionMode>,
    /// Settings of the `keywords` mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keywords_config: Option<InterruptionKeywords>,
    /// What happens while interruption is off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled_config: Option<InterruptionDisabled>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Interruption {
    /// Checks what the service documents: at most 128 trigger keywords.
    pub fn validate(&self) -> crate::Result<()> {
        let n = self
            .keywords_config
            .as_ref()
            .and_then(|k| k.trigger_keywords.as_ref())
            .map_or(0, Vec::len);
        if n > 128 {
            return Err(crate::Error::invalid(
                "interruption.keywords_config.trigger_keywords",
                format!("at most 128 keywords (got {n})"),
            ));
        }
        Ok(())
    }
}
