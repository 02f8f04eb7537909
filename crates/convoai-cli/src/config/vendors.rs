//! Vendor tables (`[llm]`, `[tts]`, `[stt]`, `[avatar]`, `[mllm]`) → the SDK's vendor types.
//!
//! Each vendor's options are a struct with `deny_unknown_fields`, so a typo is an error rather
//! than an option silently dropped; options the SDK does not model go through `extra`. The
//! values then go through the SDK's constructors and setters, so its rules apply unchanged.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value};
use shengwang_agent::agentkit::Agent;
use shengwang_agent::vendors::{
    BytedanceDuplexTts, BytedanceTts, CosyVoiceTts, FengmingStt, Llm, McpServer,
    MicrosoftSampleRate, MicrosoftStt, MicrosoftTts, MiniMaxTts, Mllm, SensetimeAvatar, StepFunTts,
    TencentStt, TencentTts, XfyunBigModelStt, XfyunDialectStt, XfyunStt,
};

use super::de::{from_value, Seg};

type Table = Map<String, Value>;

/// `vendor` values of `[llm]`.
pub(super) const LLM_VENDORS: &[&str] = &["aliyun", "bytedance", "deepseek", "tencent", "custom"];
/// `vendor` values of `[tts]`.
pub(super) const TTS_VENDORS: &[&str] = &[
    "minimax",
    "tencent",
    "bytedance",
    "microsoft",
    "cosyvoice",
    "bytedance_duplex",
    "stepfun",
];
/// `vendor` values of `[stt]`.
pub(super) const STT_VENDORS: &[&str] = &[
    "fengming",
    "tencent",
    "microsoft",
    "xfyun",
    "xfyun_bigmodel",
    "xfyun_dialect",
];
/// `vendor` values of `[avatar]`.
pub(super) const AVATAR_VENDORS: &[&str] = &["sensetime"];

/// Deserializes a vendor's options; errors name `section.option` and `who` needs it.
fn opts<T: DeserializeOwned>(section: &str, table: Table, who: &str) -> Result<T, String> {
    from_value(Value::Object(table))
        .map_err(|e| e.describe(&[Seg::Key(section.to_owned())], Some(who)))
}

/// Removes and checks `vendor`.
fn take_vendor(section: &str, table: &mut Table, known: &[&str]) -> Result<String, String> {
    let expected = known.join(", ");
    match table.remove("vendor") {
        None => Err(format!(
            "{section}.vendor: missing (expected one of {expected})"
        )),
        Some(Value::String(v)) if known.contains(&v.as_str()) => Ok(v),
        Some(Value::String(v)) => {
            // Named only when it looks like a vendor name (short, lower case): a key pasted
            // into the wrong field must not be echoed, and keys are long or mixed case.
            let looks_like_name = (1..=20).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            Err(if looks_like_name {
                format!("{section}.vendor: unknown vendor \"{v}\" (expected one of {expected})")
            } else {
                format!("{section}.vendor: unknown vendor (expected one of {expected})")
            })
        }
        Some(_) => Err(format!(
            "{section}.vendor: expected a string, one of {expected}"
        )),
    }
}

fn sdk(e: shengwang_agent::Error) -> String {
    e.to_string()
}

// ---------------------------------------------------------------------------------------------
// LLM

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LlmOpts {
    url: String,
    api_key: Option<String>,
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
    greeting_configs: Option<shengwang_agent::types::llm::GreetingConfigs>,
    template_variables: Option<BTreeMap<String, String>>,
    mcp_servers: Option<Vec<McpServerOpts>>,
    params: Option<Table>,
    extra: Option<Table>,
}

/// The SDK's `McpServer` accepts unknown fields; this one catches typos.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct McpServerOpts {
    name: String,
    endpoint: String,
    transport: Option<String>,
    headers: Option<BTreeMap<String, String>>,
    allowed_tools: Option<Vec<String>>,
    timeout_ms: Option<u32>,
}

/// Applies `[llm]` (section `llm`).
pub(super) fn llm(agent: &Agent, mut table: Table) -> Result<Agent, String> {
    let vendor = take_vendor("llm", &mut table, LLM_VENDORS)?;
    let who = format!("the {vendor} LLM");
    let o: LlmOpts = opts("llm", table, &who)?;
    let mut llm = match vendor.as_str() {
        "aliyun" => Llm::aliyun(o.url),
        "bytedance" => Llm::bytedance(o.url),
        "deepseek" => Llm::deepseek(o.url),
        "tencent" => Llm::tencent(o.url),
        _ => Llm::custom(o.url),
    };
    if let Some(v) = o.api_key {
        llm = llm.api_key(v);
    }
    if let Some(v) = o.model {
        llm = llm.model(v);
    }
    if let Some(v) = o.max_tokens {
        llm = llm.max_tokens(v);
    }
    if let Some(v) = o.temperature {
        llm = llm.temperature(v);
    }
    if let Some(v) = o.top_p {
        llm = llm.top_p(v);
    }
    if let Some(v) = o.system_messages {
        llm = llm.system_messages(v);
    }
    if let Some(v) = o.greeting_message {
        llm = llm.greeting_message(v);
    }
    if let Some(v) = o.failure_message {
        llm = llm.failure_message(v);
    }
    if let Some(v) = o.max_history {
        llm = llm.max_history(v);
    }
    if let Some(v) = o.input_modalities {
        llm = llm.input_modalities(v);
    }
    if let Some(v) = o.output_modalities {
        llm = llm.output_modalities(v);
    }
    if let Some(v) = o.greeting_configs {
        llm = llm.greeting_configs(v);
    }
    if let Some(v) = o.template_variables {
        llm = llm.template_variables(v);
    }
    if let Some(servers) = o.mcp_servers {
        llm = llm.mcp_servers(
            servers
                .into_iter()
                .map(|s| {
                    let mut m = McpServer::new(s.name, s.endpoint);
                    m.transport = s.transport;
                    m.headers = s.headers;
                    m.allowed_tools = s.allowed_tools;
                    m.timeout_ms = s.timeout_ms;
                    m
                })
                .collect(),
        );
    }
    for (k, v) in o.params.unwrap_or_default() {
        llm = llm.param(k, v);
    }
    for (k, v) in o.extra.unwrap_or_default() {
        llm = llm.extra(k, v);
    }
    agent.with_llm(llm).map_err(sdk)
}

// ---------------------------------------------------------------------------------------------
// TTS

/// A TTS vendor's options: its own, then `skip_patterns` and `extra`, which every TTS takes.
macro_rules! tts_opts {
    ($name:ident { $($field:ident: $ty:ty,)* }) => {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct $name {
            $($field: $ty,)*
            skip_patterns: Option<Vec<i64>>,
            extra: Option<Table>,
        }
    };
}

tts_opts!(MiniMaxOpts {
    key: String,
    model: String,
    voice_id: String,
    url: Option<String>,
    group_id: Option<String>,
    voice_setting: Option<Table>,
    audio_setting: Option<Table>,
    sample_rate: Option<u32>,
    pronunciation_dict: Option<Value>,
    language_boost: Option<String>,
});
tts_opts!(TencentTtsOpts {
    app_id: String,
    secret_id: String,
    secret_key: String,
    voice_type: i64,
    volume: Option<i64>,
    speed: Option<i64>,
    emotion_category: Option<String>,
    emotion_intensity: Option<i64>,
});
tts_opts!(BytedanceTtsOpts {
    token: String,
    app_id: String,
    voice_type: String,
    cluster: Option<String>,
    speed_ratio: Option<f64>,
    volume_ratio: Option<f64>,
    pitch_ratio: Option<f64>,
    emotion: Option<String>,
});
tts_opts!(MicrosoftTtsOpts {
    key: String,
    region: String,
    voice_name: String,
    speed: Option<f64>,
    volume: Option<f64>,
    sample_rate: Option<u32>,
});
tts_opts!(CosyVoiceOpts {
    api_key: String,
    model: String,
    voice: String,
    sample_rate: Option<u32>,
});
tts_opts!(BytedanceDuplexOpts {
    app_id: String,
    token: String,
    speaker: String,
});
tts_opts!(StepFunOpts {
    api_key: String,
    model: String,
    voice_id: String,
});

/// Applies the options every TTS vendor shares, then sets the TTS on the agent.
macro_rules! finish_tts {
    ($agent:expr, $tts:expr, $o:expr) => {{
        let mut tts = $tts;
        if let Some(p) = $o.skip_patterns {
            tts = tts.skip_patterns(p);
        }
        for (k, v) in $o.extra.unwrap_or_default() {
            tts = tts.extra(k, v);
        }
        $agent.with_tts(tts).map_err(sdk)
    }};
}

/// Applies `[tts]`.
pub(super) fn tts(agent: &Agent, mut table: Table) -> Result<Agent, String> {
    let vendor = take_vendor("tts", &mut table, TTS_VENDORS)?;
    let who = format!("the {vendor} TTS");
    match vendor.as_str() {
        "minimax" => {
            let o: MiniMaxOpts = opts("tts", table, &who)?;
            if o.sample_rate.is_some()
                && o.audio_setting
                    .as_ref()
                    .is_some_and(|a| a.contains_key("sample_rate"))
            {
                return Err(
                    "tts.sample_rate: also set as tts.audio_setting.sample_rate; set one of them"
                        .to_owned(),
                );
            }
            let mut t = MiniMaxTts::new(o.key, o.model, o.voice_id);
            if let Some(v) = o.url {
                t = t.url(v);
            }
            if let Some(v) = o.group_id {
                t = t.group_id(v);
            }
            for (k, v) in o.voice_setting.into_iter().flatten() {
                t = t.voice_setting(k, v);
            }
            for (k, v) in o.audio_setting.into_iter().flatten() {
                t = t.audio_setting(k, v);
            }
            if let Some(hz) = o.sample_rate {
                t = t.with_sample_rate(hz);
            }
            if let Some(v) = o.pronunciation_dict {
                t = t.pronunciation_dict(v);
            }
            if let Some(v) = o.language_boost {
                t = t.language_boost(v);
            }
            finish_tts!(agent, t, o)
        }
        "tencent" => {
            let o: TencentTtsOpts = opts("tts", table, &who)?;
            let mut t = TencentTts::new(o.app_id, o.secret_id, o.secret_key, o.voice_type);
            if let Some(v) = o.volume {
                t = t.volume(v);
            }
            if let Some(v) = o.speed {
                t = t.speed(v);
            }
            if let Some(v) = o.emotion_category {
                t = t.emotion_category(v);
            }
            if let Some(v) = o.emotion_intensity {
                t = t.emotion_intensity(v);
            }
            finish_tts!(agent, t, o)
        }
        "bytedance" => {
            let o: BytedanceTtsOpts = opts("tts", table, &who)?;
            let mut t = BytedanceTts::new(o.token, o.app_id, o.voice_type);
            if let Some(v) = o.cluster {
                t = t.cluster(v);
            }
            if let Some(v) = o.speed_ratio {
                t = t.speed_ratio(v);
            }
            if let Some(v) = o.volume_ratio {
                t = t.volume_ratio(v);
            }
            if let Some(v) = o.pitch_ratio {
                t = t.pitch_ratio(v);
            }
            if let Some(v) = o.emotion {
                t = t.emotion(v);
            }
            finish_tts!(agent, t, o)
        }
        "microsoft" => {
            let o: MicrosoftTtsOpts = opts("tts", table, &who)?;
            let mut t = MicrosoftTts::new(o.key, o.region, o.voice_name);
            if let Some(v) = o.speed {
                t = t.speed(v);
            }
            if let Some(v) = o.volume {
                t = t.volume(v);
            }
            if let Some(hz) = o.sample_rate {
                let rate = match hz {
                    8000 => MicrosoftSampleRate::Hz8000,
                    16000 => MicrosoftSampleRate::Hz16000,
                    24000 => MicrosoftSampleRate::Hz24000,
                    48000 => MicrosoftSampleRate::Hz48000,
                    _ => {
                        return Err("tts.sample_rate: must be 8000, 16000, 24000 or 48000 for the microsoft TTS"
                            .to_owned())
                    }
                };
                t = t.with_sample_rate(rate);
            }
            finish_tts!(agent, t, o)
        }
        "cosyvoice" => {
            let o: CosyVoiceOpts = opts("tts", table, &who)?;
            let mut t = CosyVoiceTts::new(o.api_key, o.model, o.voice);
            if let Some(hz) = o.sample_rate {
                t = t.with_sample_rate(hz);
            }
            finish_tts!(agent, t, o)
        }
        "bytedance_duplex" => {
            let o: BytedanceDuplexOpts = opts("tts", table, &who)?;
            finish_tts!(
                agent,
                BytedanceDuplexTts::new(o.app_id, o.token, o.speaker),
                o
            )
        }
        _ => {
            let o: StepFunOpts = opts("tts", table, &who)?;
            finish_tts!(agent, StepFunTts::new(o.api_key, o.model, o.voice_id), o)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// STT

/// An STT vendor's options: its own, then `language`, `additional_params` and `extra`, which
/// every STT takes.
macro_rules! stt_opts {
    ($name:ident { $($field:ident: $ty:ty,)* }) => {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct $name {
            $($field: $ty,)*
            language: Option<String>,
            additional_params: Option<Table>,
            extra: Option<Table>,
        }
    };
}

stt_opts!(FengmingOpts {});
stt_opts!(TencentSttOpts {
    key: String,
    app_id: String,
    secret: String,
    engine_model_type: Option<String>,
    voice_id: Option<String>,
});
stt_opts!(MicrosoftSttOpts {
    key: String,
    region: String,
    phrase_list: Option<Vec<String>>,
});
stt_opts!(XfyunOpts {
    api_key: String,
    app_id: String,
    api_secret: String,
});
stt_opts!(XfyunBigModelOpts {
    api_key: String,
    app_id: String,
    api_secret: String,
    language_name: Option<String>,
});
stt_opts!(XfyunDialectOpts {
    app_id: String,
    access_key_id: String,
    access_key_secret: String,
});

/// Applies the options every STT vendor shares, then sets the STT on the agent.
macro_rules! finish_stt {
    ($agent:expr, $stt:expr, $o:expr) => {{
        let mut stt = $stt;
        if let Some(l) = $o.language {
            stt = stt.language(l);
        }
        for (k, v) in $o.additional_params.unwrap_or_default() {
            stt = stt.additional_param(k, v);
        }
        for (k, v) in $o.extra.unwrap_or_default() {
            stt = stt.extra(k, v);
        }
        Ok($agent.with_stt(stt))
    }};
}

/// Applies `[stt]`, or `[asr]` (its alias): `section` is the name the file used.
pub(super) fn stt(agent: &Agent, section: &str, mut table: Table) -> Result<Agent, String> {
    let vendor = take_vendor(section, &mut table, STT_VENDORS)?;
    let who = format!("the {vendor} STT");
    match vendor.as_str() {
        "fengming" => {
            let o: FengmingOpts = opts(section, table, &who)?;
            finish_stt!(agent, FengmingStt::new(), o)
        }
        "tencent" => {
            let o: TencentSttOpts = opts(section, table, &who)?;
            let mut s = TencentStt::new(o.key, o.app_id, o.secret);
            if let Some(v) = o.engine_model_type {
                s = s.engine_model_type(v);
            }
            if let Some(v) = o.voice_id {
                s = s.voice_id(v);
            }
            finish_stt!(agent, s, o)
        }
        "microsoft" => {
            let o: MicrosoftSttOpts = opts(section, table, &who)?;
            let mut s = MicrosoftStt::new(o.key, o.region);
            if let Some(v) = o.phrase_list {
                s = s.phrase_list(v);
            }
            finish_stt!(agent, s, o)
        }
        "xfyun" => {
            let o: XfyunOpts = opts(section, table, &who)?;
            finish_stt!(agent, XfyunStt::new(o.api_key, o.app_id, o.api_secret), o)
        }
        "xfyun_bigmodel" => {
            let o: XfyunBigModelOpts = opts(section, table, &who)?;
            let mut s = XfyunBigModelStt::new(o.api_key, o.app_id, o.api_secret);
            if let Some(v) = o.language_name {
                s = s.language_name(v);
            }
            finish_stt!(agent, s, o)
        }
        _ => {
            let o: XfyunDialectOpts = opts(section, table, &who)?;
            finish_stt!(
                agent,
                XfyunDialectStt::new(o.app_id, o.access_key_id, o.access_key_secret),
                o
            )
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Avatar and MLLM

/// The constructor's argument names; the SDK sends `app_id` as `appId` and `scene_list` as
/// `sceneList`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SensetimeOpts {
    agora_token: String,
    #[serde(deserialize_with = "super::de::uid")]
    agora_uid: String,
    app_id: String,
    app_key: String,
    scene_list: Vec<Value>,
    extra: Option<Table>,
}

/// Applies `[avatar]`; call it after the TTS so the SDK's sample-rate check sees both.
pub(super) fn avatar(agent: &Agent, mut table: Table) -> Result<Agent, String> {
    let vendor = take_vendor("avatar", &mut table, AVATAR_VENDORS)?;
    let o: SensetimeOpts = opts("avatar", table, &format!("the {vendor} avatar"))?;
    let mut a = SensetimeAvatar::new(
        o.agora_token,
        o.agora_uid,
        o.app_id,
        o.app_key,
        o.scene_list,
    );
    for (k, v) in o.extra.unwrap_or_default() {
        a = a.extra(k, v);
    }
    agent.with_avatar(a).map_err(sdk)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MllmOpts {
    url: String,
    vendor: String,
    api_key: Option<String>,
    input_modalities: Option<Vec<String>>,
    output_modalities: Option<Vec<String>>,
    messages: Option<Vec<Value>>,
    greeting_message: Option<String>,
    style: Option<String>,
    params: Option<Table>,
    extra: Option<Table>,
}

/// Applies `[mllm]`; its `vendor` is free (`openai`, `vertexai`, …).
pub(super) fn mllm(agent: &Agent, table: Table) -> Result<Agent, String> {
    let o: MllmOpts = opts("mllm", table, "the MLLM")?;
    let mut m = Mllm::new(o.url, o.vendor);
    if let Some(v) = o.api_key {
        m = m.api_key(v);
    }
    if let Some(v) = o.input_modalities {
        m = m.input_modalities(v);
    }
    if let Some(v) = o.output_modalities {
        m = m.output_modalities(v);
    }
    if let Some(v) = o.messages {
        m = m.messages(v);
    }
    if let Some(v) = o.greeting_message {
        m = m.greeting_message(v);
    }
    if let Some(v) = o.style {
        m = m.style(v);
    }
    for (k, v) in o.params.unwrap_or_default() {
        m = m.param(k, v);
    }
    for (k, v) in o.extra.unwrap_or_default() {
        m = m.extra(k, v);
    }
    Ok(agent.with_mllm(m))
}
