//! LLM vendors (one options model for all five) and MLLM.

use serde_json::{json, Value};

use std::collections::BTreeMap;

use super::{
    from_object, object, secret, text, Config, Extras, LlmBlock, LlmConfig, LlmVendor, McpServer,
    MllmBlock, MllmConfig, Secret,
};
use crate::types::llm::{GreetingConfigs, LlmStyle, LlmTool, MllmTurnDetection};
use crate::validate::{validate_http_url, validate_ws_url};
use crate::{Error, Result};

/// An OpenAI-compatible chat-completions LLM of one of the domestic vendors.
///
/// [`validate`](LlmConfig::validate) (which `Agent::with_llm` runs) checks the ranges of the
/// options and that `url`, `greeting_audio_url`, MCP endpoints and tool server URLs are
/// `http://` or `https://` URLs with a host.
///
/// ```
/// use shengwang_agent::vendors::{Llm, LlmConfig};
/// let llm = Llm::deepseek("https://llm.example/v1/chat/completions")
///     .api_key("sk-demo")
///     .model("deepseek-chat")
///     .temperature(0.3);
/// assert_eq!(llm.to_config()["params"]["model"], "deepseek-chat");
/// assert!(!format!("{llm:?}").contains("sk-demo"));
/// ```
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(from = "super::options::LlmOptions")]
#[must_use]
pub struct Llm {
    vendor: LlmVendor,
    url: String,
    api_key: Option<Secret>,
    model: Option<String>,
    max_tokens: Option<u32>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    params: Config,
    system_messages: Option<Vec<Value>>,
    greeting_message: Option<String>,
    failure_message: Option<String>,
    max_history: Option<u32>,
    input_modalities: Option<Vec<String>>,
    output_modalities: Option<Vec<String>>,
    greeting_configs: Option<GreetingConfigs>,
    template_variables: Option<std::collections::BTreeMap<String, String>>,
    mcp_servers: Option<Vec<McpServer>>,
    access_key: Option<Secret>,
    secret_key: Option<Secret>,
    region: Option<String>,
    model_name: Option<String>,
    greeting_audio_url: Option<String>,
    style: Option<LlmStyle>,
    ignore_empty: Option<bool>,
    tools: Option<Vec<LlmTool>>,
    headers: Option<BTreeMap<String, Secret>>,
    extras: Extras,
}

macro_rules! setter {
    ($(#[$m:meta])* $name:ident: $ty:ty => $field:ident $conv:expr) => {
        $(#[$m])*
        pub fn $name(mut self, v: $ty) -> Self {
            self.$field = Some($conv(v));
            self
        }
    };
}

impl Llm {
    fn new(vendor: LlmVendor, url: impl Into<String>) -> Self {
        Llm {
            vendor,
            url: url.into(),
            api_key: None,
            model: None,
            max_tokens: None,
            temperature: None,
            top_p: None,
            params: Config::new(),
            system_messages: None,
            greeting_message: None,
            failure_message: None,
            max_history: None,
            input_modalities: None,
            output_modalities: None,
            greeting_configs: None,
            template_variables: None,
            mcp_servers: None,
            access_key: None,
            secret_key: None,
            region: None,
            model_name: None,
            greeting_audio_url: None,
            style: None,
            ignore_empty: None,
            tools: None,
            headers: None,
            extras: Extras::default(),
        }
    }
    /// An LLM of `vendor` at `url` (for a vendor this version does not name,
    /// `LlmVendor::Other`).
    pub fn for_vendor(vendor: LlmVendor, url: impl Into<String>) -> Self {
        Self::new(vendor, url)
    }
    /// Aliyun (Qwen) at `url`.
    pub fn aliyun(url: impl Into<String>) -> Self {
        Self::new(LlmVendor::Aliyun, url)
    }
    /// Bytedance (Doubao) at `url`.
    pub fn bytedance(url: impl Into<String>) -> Self {
        Self::new(LlmVendor::Bytedance, url)
    }
    /// DeepSeek at `url`.
    pub fn deepseek(url: impl Into<String>) -> Self {
        Self::new(LlmVendor::DeepSeek, url)
    }
    /// Tencent (Hunyuan) at `url`.
    pub fn tencent(url: impl Into<String>) -> Self {
        Self::new(LlmVendor::Tencent, url)
    }
    /// Your own OpenAI-compatible endpoint at `url`.
    pub fn custom(url: impl Into<String>) -> Self {
        Self::new(LlmVendor::Custom, url)
    }

    /// The vendor.
    pub fn vendor(&self) -> &LlmVendor {
        &self.vendor
    }

    setter!(/// Key for the endpoint.
        api_key: impl Into<Secret> => api_key Into::into);
    setter!(/// `params.model`.
        model: impl Into<String> => model Into::into);
    setter!(/// `params.max_tokens` (> 0).
        max_tokens: u32 => max_tokens std::convert::identity);
    setter!(/// `params.temperature` (0 to 2).
        temperature: f64 => temperature std::convert::identity);
    setter!(/// `params.top_p` (0 to 1).
        top_p: f64 => top_p std::convert::identity);
    setter!(/// Messages prepended to every request (replaced by the agent's instructions).
        system_messages: Vec<Value> => system_messages std::convert::identity);
    setter!(/// Greeting (the agent's greeting wins).
        greeting_message: impl Into<String> => greeting_message Into::into);
    setter!(/// Said when the LLM fails (the agent's value wins).
        failure_message: impl Into<String> => failure_message Into::into);
    setter!(/// History messages kept (the agent's value wins).
        max_history: u32 => max_history std::convert::identity);
    setter!(/// `["text"]` or `["text", "image"]`.
        input_modalities: Vec<String> => input_modalities std::convert::identity);
    setter!(/// `["text"]`, `["audio"]` or `["text", "audio"]`.
        output_modalities: Vec<String> => output_modalities std::convert::identity);
    setter!(/// Whom to greet and how the greeting audio is handled.
        greeting_configs: GreetingConfigs => greeting_configs std::convert::identity);
    setter!(/// Access key of the endpoint's cloud account (Bedrock style).
        access_key: impl Into<Secret> => access_key Into::into);
    setter!(/// Secret key of the endpoint's cloud account (Bedrock style).
        secret_key: impl Into<Secret> => secret_key Into::into);
    setter!(/// Cloud region of the endpoint (Bedrock style).
        region: impl Into<String> => region Into::into);
    setter!(/// Top-level `model` (Bedrock style); [`model`](Self::model) sets `params.model`.
        model_name: impl Into<String> => model_name Into::into);
    setter!(/// Audio file played as the greeting instead of synthesizing it.
        greeting_audio_url: impl Into<String> => greeting_audio_url Into::into);
    setter!(/// Request dialect of the endpoint.
        style: LlmStyle => style std::convert::identity);
    setter!(/// Skip the LLM when the recognized text is empty.
        ignore_empty: bool => ignore_empty std::convert::identity);
    setter!(/// Function tools the service calls over HTTP.
        tools: Vec<LlmTool> => tools std::convert::identity);
    setter!(/// Extra HTTP headers sent to the endpoint (values are secrets: hidden by `Debug`).
        headers: BTreeMap<String, Secret> => headers std::convert::identity);
    setter!(/// `{{name}}` substitutions.
        template_variables: std::collections::BTreeMap<String, String> => template_variables std::convert::identity);
    setter!(/// Tool servers.
        mcp_servers: Vec<McpServer> => mcp_servers std::convert::identity);

    /// One entry of `params` (merged after `model`, so `params.model` wins over `model`).
    pub fn param(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.params.insert(key.into(), value.into());
        self
    }
    /// An option this crate does not model, sent at the top level of `llm` after `vendor`
    /// (so an extra named `vendor` replaces it, as in the Python SDK).
    pub fn extra(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extras.insert(key, value);
        self
    }
}

impl LlmConfig for Llm {
    fn to_block(&self) -> LlmBlock {
        from_object({
            let mut params = object([("model", self.model.as_deref().and_then(text))]);
            for (k, v) in &self.params {
                params.insert(k.clone(), v.clone());
            }
            for (k, v) in [
                ("max_tokens", self.max_tokens.map(Value::from)),
                ("temperature", self.temperature.map(Value::from)),
                ("top_p", self.top_p.map(Value::from)),
            ] {
                if let Some(v) = v {
                    params.insert(k.into(), v);
                }
            }
            let mcp = mcp_json(self.mcp_servers.as_deref());
            let mut m = object([
                ("url", text(&self.url)),
                ("api_key", self.api_key.as_ref().and_then(secret)),
                (
                    "params",
                    (!params.is_empty()).then_some(Value::Object(params)),
                ),
                ("vendor", text(self.vendor.as_str())),
                (
                    "system_messages",
                    self.system_messages.clone().map(Value::Array),
                ),
                (
                    "greeting_message",
                    self.greeting_message.as_deref().and_then(text),
                ),
                (
                    "failure_message",
                    self.failure_message.as_deref().and_then(text),
                ),
                ("max_history", self.max_history.map(Value::from)),
                (
                    "input_modalities",
                    self.input_modalities.as_ref().map(|v| json!(v)),
                ),
                (
                    "output_modalities",
                    self.output_modalities.as_ref().map(|v| json!(v)),
                ),
                (
                    "greeting_configs",
                    self.greeting_configs.as_ref().map(|v| json!(v)),
                ),
                (
                    "template_variables",
                    self.template_variables.as_ref().map(|v| json!(v)),
                ),
                ("mcp_servers", mcp),
                ("access_key", self.access_key.as_ref().and_then(secret)),
                ("secret_key", self.secret_key.as_ref().and_then(secret)),
                ("region", self.region.as_deref().and_then(text)),
                ("model", self.model_name.as_deref().and_then(text)),
                (
                    "greeting_audio_url",
                    self.greeting_audio_url.as_deref().and_then(text),
                ),
                ("style", self.style.as_ref().map(|v| json!(v))),
                ("ignore_empty", self.ignore_empty.map(Value::from)),
                ("tools", self.tools.as_ref().map(|v| json!(v))),
                ("headers", self.headers.as_ref().map(|v| json!(v))),
            ]);
            self.extras.append_to(&mut m);
            m
        })
    }

    fn validate(&self) -> Result<()> {
        validate_http_url("llm.url", &self.url)?;
        if let Some(url) = &self.greeting_audio_url {
            validate_http_url("llm.greeting_audio_url", url)?;
        }
        if self.max_tokens == Some(0) {
            return Err(Error::invalid("llm.max_tokens", "must be greater than 0"));
        }
        if let Some(t) = self.temperature.filter(|t| !(0.0..=2.0).contains(t)) {
            return Err(Error::invalid(
                "llm.temperature",
                format!("must be between 0 and 2 (got {t})"),
            ));
        }
        if let Some(p) = self.top_p.filter(|p| !(0.0..=1.0).contains(p)) {
            return Err(Error::invalid(
                "llm.top_p",
                format!("must be between 0 and 1 (got {p})"),
            ));
        }
        check_tools("llm", self.tools.as_deref())?;
        check_mcp("llm", self.mcp_servers.as_deref())
    }
}

/// MCP server names: 1 to 48 ASCII letters and digits; endpoints: `http(s)` URLs.
fn check_mcp(block: &str, servers: Option<&[McpServer]>) -> Result<()> {
    for s in servers.into_iter().flatten() {
        if s.name.is_empty()
            || s.name.len() > 48
            || !s.name.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(Error::invalid(
                format!("{block}.mcp_servers.name"),
                "must be 1 to 48 ASCII letters and digits",
            ));
        }
        validate_http_url(&format!("{block}.mcp_servers.endpoint"), &s.endpoint)?;
    }
    Ok(())
}

/// Tool servers: `http(s)` URLs.
fn check_tools(block: &str, tools: Option<&[LlmTool]>) -> Result<()> {
    for t in tools.into_iter().flatten() {
        validate_http_url(&format!("{block}.tools.server.url"), &t.server.url)?;
    }
    Ok(())
}

/// MCP servers as sent: the transport the service expects when none is given.
fn mcp_json(servers: Option<&[McpServer]>) -> Option<Value> {
    servers.map(|servers| {
        Value::Array(
            servers
                .iter()
                .map(|s| {
                    let mut v = json!(s);
                    if s.transport.is_none() {
                        v["transport"] = json!("streamable_http");
                    }
                    v
                })
                .collect(),
        )
    })
}

/// A multimodal (realtime) model. The domestic API defines no MLLM vendor yet; this carries
/// the API's fields so one can be configured. Its `url` must be a `ws://` or `wss://` URL.
///
/// ```
/// use shengwang_agent::vendors::{Mllm, MllmConfig};
/// let m = Mllm::new("wss://realtime.example/v1", "openai").api_key("sk-x");
/// assert_eq!(m.to_config()["vendor"], "openai");
/// ```
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(from = "super::options::MllmOptions")]
#[must_use]
pub struct Mllm {
    url: String,
    vendor: String,
    api_key: Option<Secret>,
    params: Config,
    input_modalities: Option<Vec<String>>,
    output_modalities: Option<Vec<String>>,
    messages: Option<Vec<Value>>,
    greeting_message: Option<String>,
    style: Option<String>,
    enable: Option<bool>,
    adc_credentials_string: Option<Secret>,
    project_id: Option<String>,
    location: Option<String>,
    max_history: Option<u32>,
    failure_message: Option<String>,
    tools: Option<Vec<LlmTool>>,
    mcp_servers: Option<Vec<McpServer>>,
    turn_detection: Option<MllmTurnDetection>,
    extras: Extras,
}

impl Mllm {
    /// A realtime WebSocket `url` of `vendor` (`openai`, `vertexai`, …).
    pub fn new(url: impl Into<String>, vendor: impl Into<String>) -> Self {
        Mllm {
            url: url.into(),
            vendor: vendor.into(),
            api_key: None,
            params: Config::new(),
            input_modalities: None,
            output_modalities: None,
            messages: None,
            greeting_message: None,
            style: None,
            enable: None,
            adc_credentials_string: None,
            project_id: None,
            location: None,
            max_history: None,
            failure_message: None,
            tools: None,
            mcp_servers: None,
            turn_detection: None,
            extras: Extras::default(),
        }
    }
    setter!(/// `mllm.enable` (the service also reads `advanced_features.enable_mllm`).
        enable: bool => enable std::convert::identity);
    setter!(/// Google service-account credentials JSON (Vertex AI).
        adc_credentials_string: impl Into<Secret> => adc_credentials_string Into::into);
    setter!(/// Google Cloud project (Vertex AI).
        project_id: impl Into<String> => project_id Into::into);
    setter!(/// Google Cloud location (Vertex AI).
        location: impl Into<String> => location Into::into);
    setter!(/// History messages kept.
        max_history: u32 => max_history std::convert::identity);
    setter!(/// Said when the model fails.
        failure_message: impl Into<String> => failure_message Into::into);
    setter!(/// Function tools.
        tools: Vec<LlmTool> => tools std::convert::identity);
    setter!(/// Tool servers.
        mcp_servers: Vec<McpServer> => mcp_servers std::convert::identity);
    setter!(/// Turn detection of the model.
        turn_detection: MllmTurnDetection => turn_detection std::convert::identity);
    setter!(/// Key.
        api_key: impl Into<Secret> => api_key Into::into);
    setter!(/// `["audio"]` or `["audio", "text"]`.
        input_modalities: Vec<String> => input_modalities std::convert::identity);
    setter!(/// `["text", "audio"]`.
        output_modalities: Vec<String> => output_modalities std::convert::identity);
    setter!(/// Short-term memory items.
        messages: Vec<Value> => messages std::convert::identity);
    setter!(/// Greeting.
        greeting_message: impl Into<String> => greeting_message Into::into);
    setter!(/// Request dialect (`openai`).
        style: impl Into<String> => style Into::into);
    /// One entry of `params`.
    pub fn param(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.params.insert(key.into(), value.into());
        self
    }
    /// An option this crate does not model (top level of `mllm`).
    pub fn extra(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extras.insert(key, value);
        self
    }
}

impl MllmConfig for Mllm {
    fn validate(&self) -> Result<()> {
        validate_ws_url("mllm.url", &self.url)?;
        check_tools("mllm", self.tools.as_deref())?;
        check_mcp("mllm", self.mcp_servers.as_deref())
    }

    fn to_block(&self) -> MllmBlock {
        from_object({
            let mut m = object([
                ("url", text(&self.url)),
                ("api_key", self.api_key.as_ref().and_then(secret)),
                ("messages", self.messages.clone().map(Value::Array)),
                (
                    "params",
                    (!self.params.is_empty()).then(|| Value::Object(self.params.clone())),
                ),
                (
                    "input_modalities",
                    self.input_modalities.as_ref().map(|v| json!(v)),
                ),
                (
                    "output_modalities",
                    self.output_modalities.as_ref().map(|v| json!(v)),
                ),
                (
                    "greeting_message",
                    self.greeting_message.as_deref().and_then(text),
                ),
                ("vendor", text(&self.vendor)),
                ("style", self.style.as_deref().and_then(text)),
                ("enable", self.enable.map(Value::from)),
                (
                    "adc_credentials_string",
                    self.adc_credentials_string.as_ref().and_then(secret),
                ),
                ("project_id", self.project_id.as_deref().and_then(text)),
                ("location", self.location.as_deref().and_then(text)),
                ("max_history", self.max_history.map(Value::from)),
                (
                    "failure_message",
                    self.failure_message.as_deref().and_then(text),
                ),
                ("tools", self.tools.as_ref().map(|v| json!(v))),
                ("mcp_servers", mcp_json(self.mcp_servers.as_deref())),
                (
                    "turn_detection",
                    self.turn_detection.as_ref().map(|v| json!(v)),
                ),
            ]);
            self.extras.append_to(&mut m);
            m
        })
    }
}

/// Alibaba Cloud Qwen Omni realtime model (`mllm.vendor` `qwen_omni`), for the CN area.
///
/// ```
/// use shengwang_agent::vendors::{MllmConfig, QwenOmni};
/// let q = QwenOmni::new("sk-x", "wss://dashscope.aliyuncs.com/api-ws/v1/realtime")
///     .model("qwen-omni-turbo-realtime")
///     .voice("Chelsie");
/// let c = q.to_config();
/// assert_eq!(c["vendor"], "qwen_omni");
/// assert_eq!(c["params"]["voice"], "Chelsie");
/// ```
///
/// A configuration file's `[mllm]` table with `vendor = "qwen_omni"` reads into this type
/// (the `vendor` key taken out first): `api_key` and `url` are required, the setters' names
/// are the options, and `params` and `extra` are tables.
///
/// ```
/// use shengwang_agent::vendors::{MllmConfig, QwenOmni};
/// let q: QwenOmni = serde_json::from_value(serde_json::json!({
///     "api_key": "sk-x", "url": "wss://dashscope.aliyuncs.com/api-ws/v1/realtime",
///     "voice": "Chelsie", "params": { "temperature": 0.7 }
/// }))?;
/// assert_eq!(q, QwenOmni::new("sk-x", "wss://dashscope.aliyuncs.com/api-ws/v1/realtime")
///     .voice("Chelsie").param("temperature", 0.7));
/// assert!(serde_json::from_value::<QwenOmni>(serde_json::json!({
///     "api_key": "sk-x", "url": "wss://x", "voise": "Chelsie"
/// })).is_err());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(from = "super::options::QwenOmniOptions")]
#[must_use]
pub struct QwenOmni {
    api_key: Secret,
    url: String,
    model: Option<String>,
    voice: Option<String>,
    instructions: Option<String>,
    input_audio_transcription: Option<Value>,
    params: Config,
    greeting_message: Option<String>,
    input_modalities: Option<Vec<String>>,
    output_modalities: Option<Vec<String>>,
    messages: Option<Vec<Value>>,
    failure_message: Option<String>,
    turn_detection: Option<MllmTurnDetection>,
    mcp_servers: Option<Vec<McpServer>>,
    tools: Option<Vec<LlmTool>>,
    extras: Extras,
}

impl QwenOmni {
    /// The Model Studio API key and the realtime WebSocket URL.
    pub fn new(api_key: impl Into<Secret>, url: impl Into<String>) -> Self {
        QwenOmni {
            api_key: api_key.into(),
            url: url.into(),
            model: None,
            voice: None,
            instructions: None,
            input_audio_transcription: None,
            params: Config::new(),
            greeting_message: None,
            input_modalities: None,
            output_modalities: None,
            messages: None,
            failure_message: None,
            turn_detection: None,
            mcp_servers: None,
            tools: None,
            extras: Extras::default(),
        }
    }
    setter!(/// `params.model`.
        model: impl Into<String> => model Into::into);
    setter!(/// `params.voice`.
        voice: impl Into<String> => voice Into::into);
    setter!(/// `params.instructions` (the system prompt).
        instructions: impl Into<String> => instructions Into::into);
    setter!(/// `params.input_audio_transcription`.
        input_audio_transcription: Value => input_audio_transcription std::convert::identity);
    setter!(/// Greeting.
        greeting_message: impl Into<String> => greeting_message Into::into);
    setter!(/// `["audio"]` or `["audio", "text"]`.
        input_modalities: Vec<String> => input_modalities std::convert::identity);
    setter!(/// `["text", "audio"]`.
        output_modalities: Vec<String> => output_modalities std::convert::identity);
    setter!(/// Short-term memory items.
        messages: Vec<Value> => messages std::convert::identity);
    setter!(/// Said when the model fails.
        failure_message: impl Into<String> => failure_message Into::into);
    setter!(/// Turn detection of the model.
        turn_detection: MllmTurnDetection => turn_detection std::convert::identity);
    setter!(/// Tool servers.
        mcp_servers: Vec<McpServer> => mcp_servers std::convert::identity);
    setter!(/// Function tools.
        tools: Vec<LlmTool> => tools std::convert::identity);
    /// One entry of `params` (the typed options win over it).
    pub fn param(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.params.insert(key.into(), value.into());
        self
    }
    /// An option this crate does not model (top level of `mllm`).
    pub fn extra(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extras.insert(key, value);
        self
    }
}

impl MllmConfig for QwenOmni {
    fn validate(&self) -> Result<()> {
        validate_ws_url("mllm.url", &self.url)?;
        check_tools("mllm", self.tools.as_deref())?;
        check_mcp("mllm", self.mcp_servers.as_deref())
    }

    fn to_block(&self) -> MllmBlock {
        from_object({
            let mut params = self.params.clone();
            for (k, v) in [
                ("model", self.model.as_deref().and_then(text)),
                ("voice", self.voice.as_deref().and_then(text)),
                ("instructions", self.instructions.as_deref().and_then(text)),
                (
                    "input_audio_transcription",
                    self.input_audio_transcription.clone(),
                ),
            ] {
                if let Some(v) = v {
                    params.insert(k.into(), v);
                }
            }
            let mut m = object([
                ("vendor", text("qwen_omni")),
                ("api_key", secret(&self.api_key)),
                ("url", text(&self.url)),
                (
                    "params",
                    (!params.is_empty()).then_some(Value::Object(params)),
                ),
                (
                    "greeting_message",
                    self.greeting_message.as_deref().and_then(text),
                ),
                (
                    "input_modalities",
                    self.input_modalities.as_ref().map(|v| json!(v)),
                ),
                (
                    "output_modalities",
                    self.output_modalities.as_ref().map(|v| json!(v)),
                ),
                ("messages", self.messages.clone().map(Value::Array)),
                (
                    "failure_message",
                    self.failure_message.as_deref().and_then(text),
                ),
                (
                    "turn_detection",
                    self.turn_detection.as_ref().map(|v| json!(v)),
                ),
                ("mcp_servers", mcp_json(self.mcp_servers.as_deref())),
                ("tools", self.tools.as_ref().map(|v| json!(v))),
            ]);
            self.extras.append_to(&mut m);
            m
        })
    }
}
