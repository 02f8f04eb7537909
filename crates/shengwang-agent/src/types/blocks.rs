//! The vendor blocks of the join request (`asr`, `tts`, `llm`, `mllm`, `avatar`), typed.
//!
//! The fields every vendor shares are typed; what depends on the vendor (`params`) stays a
//! JSON object, and fields this version does not model are kept in `extra`, so a block the
//! service or another SDK produced survives a round trip. Fields serialize in declaration
//! order, then `extra`. Secrets are [`Secret`]s, and `Debug` of a block redacts every secret
//! inside `params` and `extra` by field name.
//!
//! Every field is optional on the wire because a pipeline or a preset may supply the rest;
//! the constructors take what a block needs on its own. The
//! [`vendors`](crate::vendors) types build complete blocks.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::llm::{GreetingConfigs, LlmStyle, LlmTool, McpServer, MllmTurnDetection};
use super::{open_enum, Extra};

/// A secret string: serialized as is, shown as `[redacted]` by `Debug`. The one secret type of
/// the SDK: vendor keys in the join request, and the webhook secrets a
/// [`Verifier`](crate::webhooks::Verifier) signs with (used as the HMAC key byte for byte).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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
        f.write_str(crate::redact::REDACTED)
    }
}

open_enum! {
    /// Speech recognition providers (`asr.vendor`).
    AsrVendor {
        /// Fengming, the default (no credentials).
        Fengming => "fengming",
        /// Tencent Cloud ASR.
        Tencent => "tencent",
        /// Microsoft Azure speech.
        Microsoft => "microsoft",
        /// iFlytek.
        Xfyun => "xfyun",
        /// iFlytek big model.
        XfyunBigModel => "xfyun_bigmodel",
        /// iFlytek dialects.
        XfyunDialect => "xfyun_dialect",
    }
}

open_enum! {
    /// Speech synthesis providers (`tts.vendor`).
    TtsVendor {
        /// MiniMax.
        MiniMax => "minimax",
        /// Tencent Cloud TTS.
        Tencent => "tencent",
        /// Bytedance (Volcengine).
        Bytedance => "bytedance",
        /// Microsoft Azure TTS.
        Microsoft => "microsoft",
        /// Alibaba CosyVoice.
        CosyVoice => "cosyvoice",
        /// Bytedance duplex (streaming).
        BytedanceDuplex => "bytedance_duplex",
        /// StepFun.
        StepFun => "stepfun",
    }
}

open_enum! {
    /// Language model providers (`llm.vendor`).
    LlmVendor {
        /// Aliyun (Qwen).
        Aliyun => "aliyun",
        /// Bytedance (Doubao).
        Bytedance => "bytedance",
        /// DeepSeek.
        DeepSeek => "deepseek",
        /// Tencent (Hunyuan).
        Tencent => "tencent",
        /// Your own endpoint: the service adds `turn_id` and `timestamp` to each message it
        /// sends you.
        Custom => "custom",
    }
}

open_enum! {
    /// Multimodal model providers (`mllm.vendor`).
    MllmVendor {
        /// OpenAI Realtime.
        OpenAi => "openai",
        /// Google Gemini Live on Vertex AI.
        VertexAi => "vertexai",
        /// Alibaba Cloud Qwen Omni.
        QwenOmni => "qwen_omni",
    }
}

open_enum! {
    /// Digital human providers (`avatar.vendor`).
    AvatarVendor {
        /// SenseTime.
        Sensetime => "sensetime",
        /// Spatius.
        Spatius => "spatius",
    }
}

/// `properties.asr`: speech recognition.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AsrBlock {
    /// Provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<AsrVendor>,
    /// Main language (BCP-47); a language inside `params` wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// The provider's parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Map<String, Value>>,
    /// Fields this version does not model, sent as given.
    #[serde(flatten)]
    pub extra: Extra,
}

impl AsrBlock {
    /// A block for `vendor` with no parameters.
    pub fn new(vendor: AsrVendor) -> Self {
        AsrBlock {
            vendor: Some(vendor),
            ..Default::default()
        }
    }
}

/// `properties.tts`: speech synthesis, `{vendor, params, skip_patterns?}`.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TtsBlock {
    /// Provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<TtsVendor>,
    /// The provider's parameters (keys, voice, model…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Map<String, Value>>,
    /// Bracket patterns whose text is not spoken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_patterns: Option<Vec<i64>>,
    /// Fields this version does not model, sent as given.
    #[serde(flatten)]
    pub extra: Extra,
}

impl TtsBlock {
    /// A block for `vendor` with its parameters.
    pub fn new(vendor: TtsVendor, params: Map<String, Value>) -> Self {
        TtsBlock {
            vendor: Some(vendor),
            params: Some(params),
            ..Default::default()
        }
    }
}

/// `properties.llm`: the language model.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LlmBlock {
    /// Chat-completions endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Key for the endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<Secret>,
    /// Extra request fields (`model`, `max_tokens`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Map<String, Value>>,
    /// Provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<LlmVendor>,
    /// Messages prepended to every request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_messages: Option<Vec<Value>>,
    /// Spoken to the first user who joins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub greeting_message: Option<String>,
    /// Spoken when the LLM call fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,
    /// History messages kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_history: Option<u32>,
    /// `["text"]` or `["text", "image"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_modalities: Option<Vec<String>>,
    /// `["text"]`, `["audio"]` or `["text", "audio"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_modalities: Option<Vec<String>>,
    /// Whom to greet and how.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub greeting_configs: Option<GreetingConfigs>,
    /// `{{name}}` substitutions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_variables: Option<BTreeMap<String, String>>,
    /// Tool servers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcp_servers: Option<Vec<McpServer>>,
    /// Access key of the endpoint's cloud account (Bedrock style).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key: Option<Secret>,
    /// Secret key of the endpoint's cloud account (Bedrock style).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key: Option<Secret>,
    /// Cloud region of the endpoint (Bedrock style).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Top-level model name (Bedrock style).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Audio played as the greeting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub greeting_audio_url: Option<String>,
    /// Request dialect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style: Option<LlmStyle>,
    /// Skip the LLM when the recognized text is empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_empty: Option<bool>,
    /// Function tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<LlmTool>>,
    /// Extra HTTP headers sent to the endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, Secret>>,
    /// Fields this version does not model, sent as given.
    #[serde(flatten)]
    pub extra: Extra,
}

impl LlmBlock {
    /// A block calling the chat-completions endpoint at `url`.
    pub fn new(url: impl Into<String>) -> Self {
        LlmBlock {
            url: Some(url.into()),
            ..Default::default()
        }
    }
}

/// `properties.mllm`: a multimodal (realtime) model instead of asr + llm + tts.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MllmBlock {
    /// Realtime WebSocket URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<Secret>,
    /// Short-term memory items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<Value>>,
    /// The provider's settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Map<String, Value>>,
    /// `["audio"]` or `["audio", "text"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_modalities: Option<Vec<String>>,
    /// `["text", "audio"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_modalities: Option<Vec<String>>,
    /// Greeting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub greeting_message: Option<String>,
    /// Provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<MllmVendor>,
    /// Request dialect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style: Option<String>,
    /// `mllm.enable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable: Option<bool>,
    /// Google service-account credentials JSON (Vertex AI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adc_credentials_string: Option<Secret>,
    /// Google Cloud project (Vertex AI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// Google Cloud location (Vertex AI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// History messages kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_history: Option<u32>,
    /// Said when the model fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,
    /// Function tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<LlmTool>>,
    /// Tool servers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcp_servers: Option<Vec<McpServer>>,
    /// Turn detection of the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_detection: Option<MllmTurnDetection>,
    /// Fields this version does not model, sent as given.
    #[serde(flatten)]
    pub extra: Extra,
}

impl MllmBlock {
    /// A block for the realtime model of `vendor` at `url`.
    pub fn new(url: impl Into<String>, vendor: MllmVendor) -> Self {
        MllmBlock {
            url: Some(url.into()),
            vendor: Some(vendor),
            ..Default::default()
        }
    }
}

/// `properties.avatar`: a digital human.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AvatarBlock {
    /// Must be true for the service to use the avatar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable: Option<bool>,
    /// Provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<AvatarVendor>,
    /// The provider's parameters (`agora_uid`, `agora_token`, keys…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Map<String, Value>>,
    /// Fields this version does not model, sent as given.
    #[serde(flatten)]
    pub extra: Extra,
}

impl AvatarBlock {
    /// An enabled avatar of `vendor` with its parameters.
    pub fn new(vendor: AvatarVendor, params: Map<String, Value>) -> Self {
        AvatarBlock {
            enable: Some(true),
            vendor: Some(vendor),
            params: Some(params),
            ..Default::default()
        }
    }
}

/// The block a JSON object describes, for the vendor types (which assemble their blocks as
/// JSON, in wire order). An object whose known fields have unexpected types (an `extra`
/// named like a typed field) is kept whole in `extra`, so it is still sent exactly as built.
pub(crate) fn from_object<T>(map: Map<String, Value>, with_extra: impl FnOnce(Extra) -> T) -> T
where
    T: serde::de::DeserializeOwned,
{
    match serde_json::from_value(Value::Object(map.clone())) {
        Ok(block) => block,
        Err(_) => with_extra(map),
    }
}

macro_rules! redacted_debug {
    ($($name:ident),+) => {$(
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                crate::redact::debug_json(stringify!($name), self, f)
            }
        }
    )+};
}

redacted_debug!(AsrBlock, TtsBlock, LlmBlock, MllmBlock, AvatarBlock);
