//! The options each vendor type deserializes from: the names a configuration file uses.
//!
//! Each vendor type deserializes through one of these structs and then its own constructor
//! and setters, so a rule lives in one place. Unknown options are refused (a misspelled option
//! is an error rather than silently dropped); `extra` passes options this crate does not
//! model, `params`/`additional_params` go where the vendor sends them. Range checks run where
//! they always do: in the agent's `with_*` setters.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde_json::Value;

use super::*;
use crate::types::llm::{GreetingConfigs, LlmStyle, LlmTool, MllmTurnDetection};

/// A rule two options break together; `Display` starts with the option it names:
/// ``option `sample_rate`: …``.
#[derive(Debug)]
pub struct OptionError {
    option: &'static str,
    message: &'static str,
}

impl fmt::Display for OptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "option `{}`: {}", self.option, self.message)
    }
}

impl std::error::Error for OptionError {}

/// Calls `$t = $t.name(v)` for every option that is set.
macro_rules! apply {
    ($t:ident, $o:ident; $($f:ident),* $(,)?) => {
        $(if let Some(v) = $o.$f {
            $t = $t.$f(v);
        })*
    };
}

/// Calls `$t = $t.$setter(k, v)` for every entry of an optional table.
macro_rules! each {
    ($t:ident, $table:expr, $setter:ident) => {
        for (k, v) in $table.unwrap_or_default() {
            $t = $t.$setter(k, v);
        }
    };
}

/// A uid: a string, or a non-negative integer read as its digits (YAML and TOML users write
/// `agora_uid: 3000`).
fn uid<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    struct V;
    impl serde::de::Visitor<'_> for V {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a uid (a string, or a non-negative integer)")
        }
        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<String, E> {
            Ok(s.to_owned())
        }
        fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<String, E> {
            Ok(n.to_string())
        }
        fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<String, E> {
            Err(E::invalid_value(serde::de::Unexpected::Signed(n), &self))
        }
    }
    d.deserialize_any(V)
}

// ---------------------------------------------------------------------------------------------
// LLM and MLLM

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LlmOptions {
    vendor: LlmVendor,
    url: String,
    api_key: Option<Secret>,
    model: Option<String>,
    max_tokens: Option<u32>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    system_messages: Option<Vec<Value>>,
    greeting_message: Option<String>,
    failure_message: Option<String>,
    max_history: Option<u32>,
    input_modalities: Option<Vec<String>>,
    output_modalities: Option<Vec<String>>,
    greeting_configs: Option<GreetingConfigs>,
    template_variables: Option<BTreeMap<String, String>>,
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
    params: Option<Config>,
    extra: Option<Config>,
}

impl From<LlmOptions> for Llm {
    fn from(o: LlmOptions) -> Llm {
        let mut t = Llm::for_vendor(o.vendor, o.url);
        apply!(t, o; api_key, model, max_tokens, temperature, top_p, system_messages,
            greeting_message, failure_message, max_history, input_modalities, output_modalities,
            greeting_configs, template_variables, mcp_servers, access_key, secret_key, region,
            model_name, greeting_audio_url, style, ignore_empty, tools, headers);
        each!(t, o.params, param);
        each!(t, o.extra, extra);
        t
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MllmOptions {
    url: String,
    vendor: String,
    api_key: Option<Secret>,
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
    params: Option<Config>,
    extra: Option<Config>,
}

impl From<MllmOptions> for Mllm {
    fn from(o: MllmOptions) -> Mllm {
        let mut t = Mllm::new(o.url, o.vendor);
        apply!(t, o; api_key, input_modalities, output_modalities, messages, greeting_message,
            style, enable, adc_credentials_string, project_id, location, max_history,
            failure_message, tools, mcp_servers, turn_detection);
        each!(t, o.params, param);
        each!(t, o.extra, extra);
        t
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct QwenOmniOptions {
    api_key: Secret,
    url: String,
    model: Option<String>,
    voice: Option<String>,
    instructions: Option<String>,
    input_audio_transcription: Option<Value>,
    greeting_message: Option<String>,
    input_modalities: Option<Vec<String>>,
    output_modalities: Option<Vec<String>>,
    messages: Option<Vec<Value>>,
    failure_message: Option<String>,
    turn_detection: Option<MllmTurnDetection>,
    mcp_servers: Option<Vec<McpServer>>,
    tools: Option<Vec<LlmTool>>,
    params: Option<Config>,
    extra: Option<Config>,
}

impl From<QwenOmniOptions> for QwenOmni {
    fn from(o: QwenOmniOptions) -> QwenOmni {
        let mut t = QwenOmni::new(o.api_key, o.url);
        apply!(t, o; model, voice, instructions, input_audio_transcription, greeting_message,
            input_modalities, output_modalities, messages, failure_message, turn_detection,
            mcp_servers, tools);
        each!(t, o.params, param);
        each!(t, o.extra, extra);
        t
    }
}

// ---------------------------------------------------------------------------------------------
// TTS

/// A TTS vendor's options: its own, then `skip_patterns` and `extra`, which every TTS takes.
macro_rules! tts_options {
    ($name:ident for $ty:ident { $($field:ident: $fty:ty,)* }) => {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(super) struct $name {
            $($field: $fty,)*
            skip_patterns: Option<Vec<i64>>,
            extra: Option<Config>,
        }
    };
}

/// Applies the options every TTS shares.
macro_rules! tts_common {
    ($t:ident, $o:ident) => {{
        apply!($t, $o; skip_patterns);
        each!($t, $o.extra, extra);
        $t
    }};
}

tts_options!(MiniMaxOptions for MiniMaxTts {
    key: Secret,
    model: String,
    voice_id: String,
    url: Option<String>,
    group_id: Option<String>,
    voice_setting: Option<Config>,
    audio_setting: Option<Config>,
    sample_rate: Option<u32>,
    pronunciation_dict: Option<Value>,
    language_boost: Option<String>,
});

impl TryFrom<MiniMaxOptions> for MiniMaxTts {
    type Error = OptionError;
    fn try_from(o: MiniMaxOptions) -> Result<Self, OptionError> {
        if o.sample_rate.is_some()
            && o.audio_setting
                .as_ref()
                .is_some_and(|a| a.contains_key("sample_rate"))
        {
            return Err(OptionError {
                option: "sample_rate",
                message: "also set as audio_setting.sample_rate; set one of them",
            });
        }
        let mut t = MiniMaxTts::new(o.key, o.model, o.voice_id);
        apply!(t, o; url, group_id);
        each!(t, o.voice_setting, voice_setting);
        each!(t, o.audio_setting, audio_setting);
        if let Some(hz) = o.sample_rate {
            t = t.with_sample_rate(hz);
        }
        apply!(t, o; pronunciation_dict, language_boost);
        Ok(tts_common!(t, o))
    }
}

tts_options!(TencentTtsOptions for TencentTts {
    app_id: String,
    secret_id: Secret,
    secret_key: Secret,
    voice_type: i64,
    volume: Option<i64>,
    speed: Option<i64>,
    emotion_category: Option<String>,
    emotion_intensity: Option<i64>,
});

impl From<TencentTtsOptions> for TencentTts {
    fn from(o: TencentTtsOptions) -> Self {
        let mut t = TencentTts::new(o.app_id, o.secret_id, o.secret_key, o.voice_type);
        apply!(t, o; volume, speed, emotion_category, emotion_intensity);
        tts_common!(t, o)
    }
}

tts_options!(BytedanceTtsOptions for BytedanceTts {
    token: Secret,
    app_id: String,
    voice_type: String,
    cluster: Option<String>,
    speed_ratio: Option<f64>,
    volume_ratio: Option<f64>,
    pitch_ratio: Option<f64>,
    emotion: Option<String>,
});

impl From<BytedanceTtsOptions> for BytedanceTts {
    fn from(o: BytedanceTtsOptions) -> Self {
        let mut t = BytedanceTts::new(o.token, o.app_id, o.voice_type);
        apply!(t, o; cluster, speed_ratio, volume_ratio, pitch_ratio, emotion);
        tts_common!(t, o)
    }
}

tts_options!(MicrosoftTtsOptions for MicrosoftTts {
    key: Secret,
    region: String,
    voice_name: String,
    speed: Option<f64>,
    volume: Option<f64>,
    sample_rate: Option<MicrosoftSampleRate>,
});

impl From<MicrosoftTtsOptions> for MicrosoftTts {
    fn from(o: MicrosoftTtsOptions) -> Self {
        let mut t = MicrosoftTts::new(o.key, o.region, o.voice_name);
        apply!(t, o; speed, volume);
        if let Some(rate) = o.sample_rate {
            t = t.with_sample_rate(rate);
        }
        tts_common!(t, o)
    }
}

impl<'de> Deserialize<'de> for MicrosoftSampleRate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match u32::deserialize(d)? {
            8000 => Self::Hz8000,
            16000 => Self::Hz16000,
            24000 => Self::Hz24000,
            48000 => Self::Hz48000,
            _ => {
                return Err(serde::de::Error::custom(
                    "must be 8000, 16000, 24000 or 48000 for the microsoft TTS",
                ))
            }
        })
    }
}

tts_options!(CosyVoiceOptions for CosyVoiceTts {
    api_key: Secret,
    model: String,
    voice: String,
    sample_rate: Option<u32>,
});

impl From<CosyVoiceOptions> for CosyVoiceTts {
    fn from(o: CosyVoiceOptions) -> Self {
        let mut t = CosyVoiceTts::new(o.api_key, o.model, o.voice);
        if let Some(hz) = o.sample_rate {
            t = t.with_sample_rate(hz);
        }
        tts_common!(t, o)
    }
}

tts_options!(BytedanceDuplexOptions for BytedanceDuplexTts {
    app_id: String,
    token: Secret,
    speaker: String,
});

impl From<BytedanceDuplexOptions> for BytedanceDuplexTts {
    fn from(o: BytedanceDuplexOptions) -> Self {
        let mut t = BytedanceDuplexTts::new(o.app_id, o.token, o.speaker);
        tts_common!(t, o)
    }
}

tts_options!(StepFunOptions for StepFunTts {
    api_key: Secret,
    model: String,
    voice_id: String,
});

impl From<StepFunOptions> for StepFunTts {
    fn from(o: StepFunOptions) -> Self {
        let mut t = StepFunTts::new(o.api_key, o.model, o.voice_id);
        tts_common!(t, o)
    }
}

// ---------------------------------------------------------------------------------------------
// STT

/// An STT vendor's options: its own, then `language`, `additional_params` and `extra`, which
/// every STT takes.
macro_rules! stt_options {
    ($name:ident { $($field:ident: $fty:ty,)* }) => {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(super) struct $name {
            $($field: $fty,)*
            language: Option<String>,
            additional_params: Option<Config>,
            extra: Option<Config>,
        }
    };
}

/// Applies the options every STT shares.
macro_rules! stt_common {
    ($t:ident, $o:ident) => {{
        apply!($t, $o; language);
        each!($t, $o.additional_params, additional_param);
        each!($t, $o.extra, extra);
        $t
    }};
}

stt_options!(FengmingOptions {});

impl From<FengmingOptions> for FengmingStt {
    fn from(o: FengmingOptions) -> Self {
        let mut t = FengmingStt::new();
        stt_common!(t, o)
    }
}

stt_options!(TencentSttOptions {
    key: Secret,
    app_id: String,
    secret: Secret,
    engine_model_type: Option<String>,
    voice_id: Option<String>,
});

impl From<TencentSttOptions> for TencentStt {
    fn from(o: TencentSttOptions) -> Self {
        let mut t = TencentStt::new(o.key, o.app_id, o.secret);
        apply!(t, o; engine_model_type, voice_id);
        stt_common!(t, o)
    }
}

stt_options!(MicrosoftSttOptions {
    key: Secret,
    region: String,
    phrase_list: Option<Vec<String>>,
});

impl From<MicrosoftSttOptions> for MicrosoftStt {
    fn from(o: MicrosoftSttOptions) -> Self {
        let mut t = MicrosoftStt::new(o.key, o.region);
        apply!(t, o; phrase_list);
        stt_common!(t, o)
    }
}

stt_options!(XfyunOptions {
    api_key: Secret,
    app_id: String,
    api_secret: Secret,
});

impl From<XfyunOptions> for XfyunStt {
    fn from(o: XfyunOptions) -> Self {
        let mut t = XfyunStt::new(o.api_key, o.app_id, o.api_secret);
        stt_common!(t, o)
    }
}

stt_options!(XfyunBigModelOptions {
    api_key: Secret,
    app_id: String,
    api_secret: Secret,
    language_name: Option<String>,
});

impl From<XfyunBigModelOptions> for XfyunBigModelStt {
    fn from(o: XfyunBigModelOptions) -> Self {
        let mut t = XfyunBigModelStt::new(o.api_key, o.app_id, o.api_secret);
        apply!(t, o; language_name);
        stt_common!(t, o)
    }
}

stt_options!(XfyunDialectOptions {
    app_id: String,
    access_key_id: Secret,
    access_key_secret: Secret,
});

impl From<XfyunDialectOptions> for XfyunDialectStt {
    fn from(o: XfyunDialectOptions) -> Self {
        let mut t = XfyunDialectStt::new(o.app_id, o.access_key_id, o.access_key_secret);
        stt_common!(t, o)
    }
}

// ---------------------------------------------------------------------------------------------
// Avatars

/// The constructor's argument names; the block sends `app_id` as `appId` and `scene_list` as
/// `sceneList`. Without `agora_token`, a session signs the avatar's token.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SensetimeOptions {
    agora_token: Option<Secret>,
    #[serde(deserialize_with = "uid")]
    agora_uid: String,
    app_id: String,
    app_key: Secret,
    scene_list: Vec<Value>,
    extra: Option<Config>,
}

impl From<SensetimeOptions> for SensetimeAvatar {
    fn from(o: SensetimeOptions) -> Self {
        let mut t = match o.agora_token {
            Some(token) => {
                SensetimeAvatar::new(token, o.agora_uid, o.app_id, o.app_key, o.scene_list)
            }
            None => SensetimeAvatar::for_uid(o.agora_uid, o.app_id, o.app_key, o.scene_list),
        };
        each!(t, o.extra, extra);
        t
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SpatiusOptions {
    api_key: Secret,
    app_id: String,
    avatar_id: String,
    #[serde(deserialize_with = "uid")]
    agora_uid: String,
    agora_token: Option<Secret>,
    region: Option<String>,
    sample_rate: Option<u32>,
    session_expire_minutes: Option<u32>,
    extra: Option<Config>,
}

impl From<SpatiusOptions> for SpatiusAvatar {
    fn from(o: SpatiusOptions) -> Self {
        let mut t = SpatiusAvatar::new(o.api_key, o.app_id, o.avatar_id, o.agora_uid);
        apply!(t, o; agora_token, region, sample_rate, session_expire_minutes);
        each!(t, o.extra, extra);
        t
    }
}
