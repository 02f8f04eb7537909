//! Vendor configurations for the agentkit: LLM, TTS, STT, avatar and MLLM.
//!
//! Each vendor type builds the typed block of the join request ([`LlmBlock`], [`TtsBlock`], …,
//! all in [`types::blocks`](crate::types::blocks)) whose JSON is what the Python SDK's vendor
//! class sends, with two deliberate differences: a config the service would reject cannot be
//! built (MiniMax takes its voice id as a required argument), and the SenseTime avatar sends `"enable": true`, which the service
//! needs to use an avatar (the Python SDK omits it). Secret options (keys, tokens) are
//! [`Secret`]s: `Debug` never shows them.
//!
//! Every vendor type also implements `serde::Deserialize` from the option names a
//! configuration file uses (the `convoai` CLI reads its `[llm]`, `[tts]`, … tables this way):
//! unknown options are refused, required ones required, and the value goes through the
//! constructor and setters.
//!
//! ```
//! use shengwang_agent::vendors::{TencentTts, TtsConfig};
//! let tts: TencentTts = serde_json::from_value(serde_json::json!({
//!     "app_id": "app", "secret_id": "sid", "secret_key": "skey", "voice_type": 101001
//! }))?;
//! assert_eq!(tts, TencentTts::new("app", "sid", "skey", 101001));
//! assert!(serde_json::from_value::<TencentTts>(serde_json::json!({"voice_typ": 1})).is_err());
//! # Ok::<(), serde_json::Error>(())
//! ```
//!
//! Implement the traits to configure a vendor this module does not have: build its block
//! (e.g. [`TtsBlock::new`] with the vendor's `params`).

mod avatar;
mod llm;
mod options;
mod stt;
mod tts;

use std::fmt;

use serde_json::{Map, Value};

// The blocks, the vendor names and `Secret` have one public path, `types::blocks` (and
// `McpServer` `types::llm`); the vendor modules use them from here.
use crate::types::blocks::{
    AsrBlock, AvatarBlock, LlmBlock, LlmVendor, MllmBlock, Secret, TtsBlock,
};
use crate::types::llm::McpServer;

pub use avatar::{SensetimeAvatar, SpatiusAvatar};
pub use llm::{Llm, Mllm, QwenOmni};
pub use options::OptionError;
pub use stt::{FengmingStt, MicrosoftStt, TencentStt, XfyunBigModelStt, XfyunDialectStt, XfyunStt};
pub use tts::{
    BytedanceDuplexTts, BytedanceTts, CosyVoiceTts, MicrosoftSampleRate, MicrosoftTts, MiniMaxTts,
    StepFunTts, TencentTts, MINIMAX_DEFAULT_URL,
};

/// A JSON object, as vendor configs are sent.
pub type Config = Map<String, Value>;

/// Options this crate does not model, passed through as given. `Debug` shows only the keys,
/// since an unknown option may be a secret.
#[derive(Clone, Default, PartialEq, serde::Deserialize)]
#[serde(transparent)]
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
    /// The block sent as `properties.llm`.
    fn to_block(&self) -> LlmBlock;
    /// Checks option ranges; the agent calls it in `with_llm`.
    fn validate(&self) -> crate::Result<()> {
        Ok(())
    }
    /// The block as the JSON object sent.
    fn to_config(&self) -> Config {
        to_object(&self.to_block())
    }
}

/// Speech synthesis (`properties.tts`).
pub trait TtsConfig: Send + Sync + fmt::Debug {
    /// The block sent as `properties.tts`.
    fn to_block(&self) -> TtsBlock;
    /// The audio sample rate, when the configuration states it (drives the avatar check).
    fn sample_rate(&self) -> Option<u32>;
    /// Checks option ranges; the agent calls it in `with_tts`.
    fn validate(&self) -> crate::Result<()> {
        Ok(())
    }
    /// The block as the JSON object sent.
    fn to_config(&self) -> Config {
        to_object(&self.to_block())
    }
}

/// Speech recognition (`properties.asr`).
pub trait SttConfig: Send + Sync + fmt::Debug {
    /// The block sent as `properties.asr`.
    fn to_block(&self) -> AsrBlock;
    /// Checks option ranges; the agent calls it in `with_stt`.
    fn validate(&self) -> crate::Result<()> {
        Ok(())
    }
    /// The block as the JSON object sent.
    fn to_config(&self) -> Config {
        to_object(&self.to_block())
    }
}

/// A digital human (`properties.avatar`).
pub trait AvatarConfig: Send + Sync + fmt::Debug {
    /// The block sent as `properties.avatar`.
    fn to_block(&self) -> AvatarBlock;
    /// The TTS sample rate the avatar needs; 0 when it takes any.
    fn required_sample_rate(&self) -> u32;
    /// Checks option ranges; the agent calls it in `with_avatar`.
    fn validate(&self) -> crate::Result<()> {
        Ok(())
    }
    /// The block as the JSON object sent.
    fn to_config(&self) -> Config {
        to_object(&self.to_block())
    }
}

/// A multimodal model (`properties.mllm`), used instead of STT + LLM + TTS.
pub trait MllmConfig: Send + Sync + fmt::Debug {
    /// The block sent as `properties.mllm`.
    fn to_block(&self) -> MllmBlock;
    /// Checks option ranges; the agent calls it in `with_mllm`.
    fn validate(&self) -> crate::Result<()> {
        Ok(())
    }
    /// The block as the JSON object sent.
    fn to_config(&self) -> Config {
        to_object(&self.to_block())
    }
}

/// A block as a JSON object (blocks always serialize to one).
fn to_object(block: &impl serde::Serialize) -> Config {
    match serde_json::to_value(block) {
        Ok(Value::Object(m)) => m,
        _ => Config::new(),
    }
}

/// The typed block for a JSON object the vendor types assembled in wire order.
pub(crate) trait FromObject {
    fn from_object(map: Config) -> Self;
}

macro_rules! from_object {
    ($($block:ident),+) => {$(
        impl FromObject for $block {
            fn from_object(map: Config) -> Self {
                crate::types::blocks::from_object(map, |extra| $block { extra, ..Default::default() })
            }
        }
    )+};
}
from_object!(AsrBlock, TtsBlock, LlmBlock, MllmBlock, AvatarBlock);

pub(crate) fn from_object<T: FromObject>(map: Config) -> T {
    T::from_object(map)
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
    Some(Value::String(s.expose().to_owned()))
}

pub(crate) fn text(s: &str) -> Option<Value> {
    Some(Value::String(s.to_owned()))
}
