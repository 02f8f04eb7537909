//! Typed pieces of the `llm` and `mllm` blocks: function tools, greeting settings, request
//! styles and MLLM turn detection. Tool servers carry headers (often a bearer token), so the
//! types that hold them redact in `Debug`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{open_enum, Extra};

open_enum! {
    /// The request dialect of an LLM endpoint.
    LlmStyle {
        /// OpenAI chat completions.
        OpenAi => "openai",
        /// Google Gemini.
        Gemini => "gemini",
        /// Anthropic messages.
        Anthropic => "anthropic",
        /// Dify.
        Dify => "dify",
        /// Amazon Bedrock (with `access_key`, `secret_key`, `region`, `model`).
        Bedrock => "bedrock",
    }
}

open_enum! {
    /// Whom the greeting is spoken to.
    GreetingMode {
        /// Every user who joins.
        SingleEvery => "single_every",
        /// Only the first.
        SingleFirst => "single_first",
    }
}

open_enum! {
    /// What happens to the user's speech while the greeting cannot be interrupted.
    UninterruptibleAsrPolicy {
        /// Answered together with the reply to the greeting.
        MergeReply => "merge_reply",
        /// Kept as context only.
        Context => "context",
    }
}

/// `llm.greeting_configs`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GreetingConfigs {
    /// Whom to greet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<GreetingMode>,
    /// Longest wait for `greeting_audio_url` to download (ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio_download_timeout_ms: Option<u32>,
    /// Sample rate of a PCM greeting audio file (Hz).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio_pcm_sample_rate: Option<u32>,
    /// What happens to speech during the greeting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uninterruptible_asr_policy: Option<UninterruptibleAsrPolicy>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

open_enum! {
    /// HTTP method of a tool server.
    ToolMethod {
        /// GET.
        Get => "GET",
        /// POST.
        Post => "POST",
    }
}

/// Where the service sends a tool call.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolServer {
    /// Method.
    pub method: ToolMethod,
    /// URL.
    pub url: String,
    /// Headers sent with the call (secrets: hidden by `Debug`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
    /// Fixed body fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Extra>,
    /// How long to wait for it (ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u32>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

impl std::fmt::Debug for ToolServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolServer")
            .field("method", &self.method)
            .field("url", &self.url)
            .field(
                "headers",
                &self.headers.as_ref().map(|h| h.keys().collect::<Vec<_>>()),
            )
            .field(
                "body",
                &self.body.as_ref().map(|b| b.keys().collect::<Vec<_>>()),
            )
            .field("timeout_ms", &self.timeout_ms)
            .finish_non_exhaustive()
    }
}

/// JSON Schema of a tool's arguments (`type` is always `object`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolParameters {
    /// `"object"`.
    #[serde(rename = "type", default = "object")]
    pub kind: String,
    /// The arguments' schemas.
    pub properties: serde_json::Map<String, Value>,
    /// Required arguments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required: Option<Vec<String>>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

fn object() -> String {
    "object".into()
}

fn function() -> String {
    "function".into()
}

/// What the model sees of a tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolFunction {
    /// Name.
    pub name: String,
    /// What it does, for the model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Arguments.
    pub parameters: ToolParameters,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

open_enum! {
    /// How a tool call runs.
    ToolExecutionMode {
        /// The agent waits for the result.
        Sync => "sync",
    }
}

/// `tools[].execution`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolExecution {
    /// Mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<ToolExecutionMode>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A function tool the service calls over HTTP for the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlmTool {
    /// `"function"`.
    #[serde(rename = "type", default = "function")]
    pub kind: String,
    /// What the model sees.
    pub function: ToolFunction,
    /// How the call runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution: Option<ToolExecution>,
    /// Where the call goes.
    pub server: ToolServer,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

impl LlmTool {
    /// A function tool `name` with argument schemas `properties`, served at `method url`.
    pub fn new(
        name: impl Into<String>,
        properties: serde_json::Map<String, Value>,
        method: ToolMethod,
        url: impl Into<String>,
    ) -> Self {
        LlmTool {
            kind: function(),
            function: ToolFunction {
                name: name.into(),
                description: None,
                parameters: ToolParameters {
                    kind: object(),
                    properties,
                    required: None,
                    extra: Extra::new(),
                },
                extra: Extra::new(),
            },
            execution: None,
            server: ToolServer {
                method,
                url: url.into(),
                headers: None,
                body: None,
                timeout_ms: None,
                extra: Extra::new(),
            },
            extra: Extra::new(),
        }
    }
}

open_enum! {
    /// Turn detection of a multimodal model.
    MllmTurnMode {
        /// Agora's voice activity detection.
        AgoraVad => "agora_vad",
        /// The model vendor's voice activity detection.
        ServerVad => "server_vad",
        /// The model vendor's semantic detection.
        SemanticVad => "semantic_vad",
    }
}

/// `mllm.turn_detection`. The per-mode settings are kept as objects: vendors add their own.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MllmTurnDetection {
    /// Mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<MllmTurnMode>,
    /// Settings of `agora_vad`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agora_vad_config: Option<Extra>,
    /// Settings of `server_vad`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_vad_config: Option<Extra>,
    /// Settings of `semantic_vad`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub semantic_vad_config: Option<Extra>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An MCP tool server; `transport` defaults to `streamable_http` when unset. Unknown
/// fields are refused, so a misspelled option is an error rather than dropped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McpServer {
    /// Up to 48 ASCII letters and digits.
    pub name: String,
    /// Server URL.
    pub endpoint: String,
    /// Transport (default `streamable_http`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport: Option<String>,
    /// Headers sent to the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers: Option<std::collections::BTreeMap<String, String>>,
    /// Allowed tools (absent: all; `[]`: none; `["*"]`: all).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_tools: Option<Vec<String>>,
    /// Give up on the server after this long.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u32>,
}

impl McpServer {
    /// A server with its required fields.
    pub fn new(name: impl Into<String>, endpoint: impl Into<String>) -> Self {
        McpServer {
            name: name.into(),
            endpoint: endpoint.into(),
            transport: None,
            headers: None,
            allowed_tools: None,
            timeout_ms: None,
        }
    }
}
