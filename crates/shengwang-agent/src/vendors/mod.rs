//! Vendor configurations for the agentkit: LLM, TTS, STT, avatar and MLLM.
//!
//! Each vendor type produces exactly the JSON object the Python SDK's vendor class sends,
//! with two deliberate differences: a config the service would reject cannot
//! be built (MiniMax takes its voice id as a required argument), and the Sensetime avatar
//! sends `"enable": true`, which the service needs to use an avatar (the Python SDK omits it). Secret options (keys, tokens) are [`Secret`]s: `Debug` never shows them.
//!
//! Implement the traits to configure a vendor this module does not have.

mod avatar;
mod llm;
mod stt;
mod tts;

use std::fmt;

use serde_json::{Map, Value};

pub use avatar::{SensetimeAvatar, SpatiusAvatar};
pub use llm::{Llm, LlmVendor, McpServer, Mllm, QwenOmni};
pub use stt::{FengmingStt, MicrosoftStt, TencentStt, XfyunBigModelStt, XfyunDialectStt, XfyunStt};
pub use tts::{
    BytedanceDuplexTts, BytedanceTts, CosyVoiceTts, MicrosoftSampleRate, MicrosoftTts, MiniMaxTts,
    StepFunTts, TencentTts, MINIMAX_DEFAULT_URL,
};

/// A JSON object, as vendor configs are sent.
pub type Config = Map<String, Value>;

/// A secret string: serialized as is, shown as `[redacted]` by `Debug`.
#[derive(Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl<T: Into<String>> From<T> for Secret {
    fn from(s: T) -> Self {
        Secret(s.into())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Options this crate does not model, passed through as given. `Debug` shows only the keys,
/// since an unknown option may be a secret.
#[derive(Clone, Default, PartialEq)]
pub struct Extras(pub(crate) Config);

impl fmt::Debug for Extras {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl Extras {
    pub(crate) fn insert(&mut self, key: impl Into<String>, value: impl Into<Value>) {
        self.0.insert(key.into(), value.into());
    }
    pub(crate) fn append_to(&self, map: &mut Config) {
        for (k, v) in &self.0 {
            map.insert(k.clone(), v.clone());
        }
    }
}

/// A language model (`properties.llm`).
pub trait LlmConfig: Send + Sync + fmt::Debug {
    /// The JSON object sent as `properties.llm`.
    fn to_config(&self) -> Config;
    /// Checks option ranges; the agent calls it in `with_llm`.
    fn validate(&self) -> crate::Result<()> {
        Ok(())
    }
}

/// Speech synthesis (`properties.tts`).
pub trait TtsConfig: Send + Sync + fmt::Debug {
    /// The JSON object sent as `properties.tts`.
    fn to_config(&self) -> Config;
    /// The audio sample rate, when the configuration states it (drives the avatar check).
    fn sample_rate(&self) -> Option<u32>;
}

/// Speech recognition (`properties.asr`).
pub trait SttConfig: Send + Sync + fmt::Debug {
    /// The JSON object sent as `properties.asr`.
    fn to_config(&self) -> Config;
}

/// A digital human (`properties.avatar`).
pub trait AvatarConfig: Send + Sync + fmt::Debug {
    /// The JSON object sent as `properties.avatar`.
    fn to_config(&self) -> Config;
    /// The TTS sample rate the avatar needs; 0 when it takes any.
    fn required_sample_rate(&self) -> u32;
}

/// A multimodal model (`properties.mllm`), used instead of STT + LLM + TTS.
pub trait MllmConfig: Send + Sync + fmt::Debug {
    /// The JSON object sent as `properties.mllm`.
    fn to_config(&self) -> Config;
}

/// Builds a JSON object from (key, optional value) pairs in order, skipping `None`.
pub(crate) fn object<const N: usize>(pairs: [(&str, Option<Value>); N]) -> Config {
    let mut m = Config::new();
    for (k, v) in pairs {
        if let Some(v) = v {
            m.insert(k.to_owned(), v);
        }
    }
    m
}

pub(crate) fn secret(s: &Secret) -> Option<Value> {
    Some(Value::String(s.0.clone()))
}

pub(crate) fn text(s: &str) -> Option<Value> {
    Some(Value::String(s.to_owned()))
}
