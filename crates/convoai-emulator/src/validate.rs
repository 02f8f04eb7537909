//! Request-body checks, with errors naming the JSON path at fault.

use serde_json::{Map, Value};
use shengwang_agent::token::{rules, ServiceType, Validation};

use crate::error::ApiError;
use crate::state::SpeakRequest;
use crate::turns::Silence;
use crate::verified::VerifiedTokens;

pub(crate) type Obj = Map<String, Value>;

pub(crate) fn parse_object(body: &[u8], allow_empty: bool) -> Result<Obj, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return if allow_empty {
            Ok(Obj::new())
        } else {
            Err(ApiError::body("empty body; a JSON object is required"))
        };
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(Value::Null) if allow_empty => Ok(Obj::new()),
        Ok(_) => Err(ApiError::body("expected a JSON object")),
        Err(e) => Err(ApiError::body(format!("malformed JSON ({e})"))),
    }
}

pub(crate) fn opt<'a>(m: &'a Obj, key: &str) -> Option<&'a Value> {
    m.get(key).filter(|v| !v.is_null())
}

pub(crate) fn req_str<'a>(m: &'a Obj, key: &str, path: &str) -> Result<&'a str, ApiError> {
    match opt(m, key) {
        None => Err(ApiError::missing(&join(path, key))),
        Some(Value::String(s)) if s.is_empty() => {
            Err(ApiError::invalid(&join(path, key), "must not be empty"))
        }
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(ApiError::invalid(&join(path, key), "must be a string")),
    }
}

pub(crate) fn opt_str<'a>(m: &'a Obj, key: &str, path: &str) -> Result<Option<&'a str>, ApiError> {
    match opt(m, key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::invalid(&join(path, key), "must be a string")),
    }
}

pub(crate) fn req_obj<'a>(m: &'a Obj, key: &str, path: &str) -> Result<&'a Obj, ApiError> {
    match opt(m, key) {
        None => Err(ApiError::missing(&join(path, key))),
        Some(v) => as_obj(v, &join(path, key)),
    }
}

pub(crate) fn opt_obj<'a>(m: &'a Obj, key: &str, path: &str) -> Result<Option<&'a Obj>, ApiError> {
    opt(m, key).map(|v| as_obj(v, &join(path, key))).transpose()
}

fn as_obj<'a>(v: &'a Value, path: &str) -> Result<&'a Obj, ApiError> {
    v.as_object()
        .ok_or_else(|| ApiError::invalid(path, "must be an object"))
}

pub(crate) fn opt_bool(m: &Obj, key: &str, path: &str) -> Result<Option<bool>, ApiError> {
    match opt(m, key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(ApiError::invalid(&join(path, key), "must be a boolean")),
    }
}

pub(crate) fn opt_uint(m: &Obj, key: &str, path: &str) -> Result<Option<u64>, ApiError> {
    match opt(m, key) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| ApiError::invalid(&join(path, key), "must be a non-negative integer")),
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Checks a uid: a 32-bit number as text, or any account when string uids are enabled.
fn check_uid(uid: &str, string_uids: bool, path: &str) -> Result<(), ApiError> {
    if string_uids {
        return rules::validate_account(path, uid).map_err(|e| ApiError::invalid(path, e));
    }
    if uid.parse::<u32>().is_ok() {
        Ok(())
    } else {
        Err(ApiError::invalid(
            path,
            "must be a 32-bit unsigned integer as a string (or set enable_string_uid)",
        ))
    }
}

/// Required `params` keys per TTS vendor (rest-api.md §5.1); `true` = integer, else string.
fn tts_required(vendor: &str) -> Option<&'static [(&'static str, bool)]> {
    Some(match vendor {
        "minimax" => &[("key", false), ("model", false)],
        "tencent" => &[
            ("app_id", false),
            ("secret_id", false),
            ("secret_key", false),
            ("voice_type", true),
        ],
        "bytedance" => &[("token", false), ("app_id", false), ("voice_type", false)],
        "microsoft" => &[("key", false), ("region", false), ("voice_name", false)],
        "cosyvoice" => &[("api_key", false), ("model", false), ("voice", false)],
        "bytedance_duplex" => &[("app_id", false), ("token", false), ("speaker", false)],
        "stepfun" => &[("api_key", false), ("model", false), ("voice_id", false)],
        _ => return None,
    })
}

/// Validates a TTS block and returns its sample rate when the config states one.
fn check_tts(tts: &Obj) -> Result<Option<u64>, ApiError> {
    let path = "properties.tts";
    let vendor = req_str(tts, "vendor", path)?;
    let required = tts_required(vendor).ok_or_else(|| {
        ApiError::invalid(
            "properties.tts.vendor",
            format!("unsupported vendor {vendor:?}"),
        )
    })?;
    let params = req_obj(tts, "params", path)?;
    let ppath = "properties.tts.params";
    for (key, int) in required {
        if *int {
            match opt(params, key) {
                None => return Err(ApiError::missing(&join(ppath, key))),
                Some(v) if v.is_i64() || v.is_u64() => {}
                Some(_) => return Err(ApiError::invalid(&join(ppath, key), "must be an integer")),
            }
        } else {
            req_str(params, key, ppath)?;
        }
    }
    if vendor == "minimax" {
        let voice = req_obj(params, "voice_setting", ppath)?;
        req_str(voice, "voice_id", "properties.tts.params.voice_setting")?;
    }
    if let Some(skip) = opt(tts, "skip_patterns") {
        let ok = skip.as_array().is_some_and(|a| a.iter().all(Value::is_i64));
        if !ok {
            return Err(ApiError::invalid(
                "properties.tts.skip_patterns",
                "must be an array of integers",
            ));
        }
    }
    let rate = match vendor {
        "minimax" => opt_obj(params, "audio_setting", ppath)?
            .and_then(|a| opt(a, "sample_rate"))
            .and_then(Value::as_u64),
        "microsoft" | "cosyvoice" => opt(params, "sample_rate").and_then(Value::as_u64),
        _ => None,
    };
    Ok(rate)
}

/// What the emulator keeps from a valid join.
pub(crate) struct Join<'a> {
    pub name: &'a str,
    pub channel: &'a str,
    pub agent_uid: &'a str,
    pub idle_timeout: Option<u64>,
    pub max_history: usize,
    pub mllm: bool,
    /// Spoken when the agent joins.
    pub greeting: Option<&'a str>,
    /// The silence reminder, when configured.
    pub silence: Option<Silence>,
    /// `advanced_features.enable_rtm`: the agent's tokens must carry an RTM service.
    pub rtm: bool,
    /// When the agent's channel token expires, Unix seconds.
    pub token_expires_at: u64,
}

/// Presets the service documents, by the block they stand for.
const PRESETS: [(&str, &[&str]); 3] = [
    ("asr", &["deepgram_nova_2", "deepgram_nova_3"]),
    (
        "llm",
        &[
            "openai_gpt_4o_mini",
            "openai_gpt_4_1_mini",
            "openai_gpt_5_nano",
            "openai_gpt_5_mini",
        ],
    ),
    (
        "tts",
        &[
            "minimax_speech_2_6_turbo",
            "minimax_speech_2_8_turbo",
            "openai_tts_1",
        ],
    ),
];

/// The blocks (`asr`, `llm`, `tts`) a comma-separated `preset` stands for; at most one preset
/// per block.
fn check_presets(preset: &str) -> Result<Vec<&'static str>, ApiError> {
    let mut covered = Vec::new();
    for name in preset.split(',').map(str::trim) {
        let block = PRESETS
            .iter()
            .find(|(_, names)| names.contains(&name))
            .map(|(block, _)| *block)
            .ok_or_else(|| ApiError::invalid("preset", "names an unknown preset"))?;
        if covered.contains(&block) {
            return Err(ApiError::invalid(
                "preset",
                format!("gives more than one {block} preset"),
            ));
        }
        covered.push(block);
    }
    Ok(covered)
}

fn check_interruption(p: &Obj) -> Result<(), ApiError> {
    let Some(i) = opt_obj(p, "interruption", "properties")? else {
        return Ok(());
    };
    let path = "properties.interruption";
    opt_bool(i, "enable", path)?;
    if let Some(m) = opt_str(i, "mode", path)? {
        if !["start_of_speech", "keywords"].contains(&m) {
            return Err(ApiError::invalid(
                "properties.interruption.mode",
                "must be start_of_speech or keywords",
            ));
        }
    }
    if let Some(k) = opt_obj(i, "keywords_config", path)? {
        let field = "properties.interruption.keywords_config.trigger_keywords";
        match opt(k, "trigger_keywords") {
            None => {}
            Some(Value::Array(words)) if words.len() > 128 => {
                return Err(ApiError::invalid(field, "at most 128 keywords"))
            }
            Some(Value::Array(words)) if words.iter().all(Value::is_string) => {}
            Some(_) => return Err(ApiError::invalid(field, "must be an array of strings")),
        }
    }
    if let Some(d) = opt_obj(i, "disabled_config", path)? {
        if let Some(st) = opt_str(d, "strategy", "properties.interruption.disabled_config")? {
            if !["append", "ignore"].contains(&st) {
                return Err(ApiError::invalid(
                    "properties.interruption.disabled_config.strategy",
                    "must be append or ignore",
                ));
            }
        }
    }
    Ok(())
}

fn check_silence(p: &Obj) -> Result<Option<Silence>, ApiError> {
    let Some(params) = opt_obj(p, "parameters", "properties")? else {
        return Ok(None);
    };
    let path = "properties.parameters";
    if let Some(a) = opt_str(params, "audio_scenario", path)? {
        if !["default", "chorus", "aiserver"].contains(&a) {
            return Err(ApiError::invalid(
                "properties.parameters.audio_scenario",
                "must be default, chorus or aiserver",
            ));
        }
    }
    opt_bool(params, "opt_out", path)?;
    let Some(sc) = opt_obj(params, "silence_config", path)? else {
        return Ok(None);
    };
    let path = "properties.parameters.silence_config";
    let timeout = opt_uint(sc, "timeout_ms", path)?.unwrap_or(0);
    if timeout > 60_000 {
        return Err(ApiError::invalid(
            "properties.parameters.silence_config.timeout_ms",
            "must be 0 to 60000",
        ));
    }
    let think = match opt_str(sc, "action", path)? {
        None | Some("speak") => false,
        Some("think") => true,
        Some(_) => {
            return Err(ApiError::invalid(
                "properties.parameters.silence_config.action",
                "must be speak or think",
            ))
        }
    };
    if timeout == 0 {
        return Ok(None);
    }
    let content = req_str(sc, "content", path)?;
    Ok(Some(Silence {
        timeout_ms: timeout,
        think,
        content: content.to_owned(),
    }))
}

/// Validates a join body the way the service documents it.
pub(crate) fn join_body<'a>(
    body: &'a Obj,
    tokens: &Validation,
    verified: &VerifiedTokens,
) -> Result<Join<'a>, ApiError> {
    let name = req_str(body, "name", "")?;
    let given = given_blocks(body)?;
    let p = req_obj(body, "properties", "")?;
    let path = "properties";
    let channel = req_str(p, "channel", path)?;
    rules::validate_channel(channel).map_err(|e| ApiError::invalid("properties.channel", e))?;
    let token_str = req_str(p, "token", path)?;
    let agent_uid = req_str(p, "agent_rtc_uid", path)?;
    let string_uids = opt_bool(p, "enable_string_uid", path)?.unwrap_or(false);
    check_uid(agent_uid, string_uids, "properties.agent_rtc_uid")?;
    check_remote_uids(p, string_uids)?;
    let idle_timeout = opt_uint(p, "idle_timeout", path)?;
    let features = opt_obj(p, "advanced_features", path)?;
    let flag = |k| -> Result<bool, ApiError> {
        Ok(match features {
            Some(f) => opt_bool(f, k, "properties.advanced_features")?.unwrap_or(false),
            None => false,
        })
    };
    let mllm = flag("enable_mllm")?;
    let rtm = flag("enable_rtm")?;

    let token_expires_at = agent_token(token_str, tokens, verified, channel, agent_uid, rtm)?;

    let model = if mllm {
        let m = req_obj(p, "mllm", path)?;
        opt_str(m, "url", "properties.mllm")?;
        Model {
            greeting: opt_str(m, "greeting_message", "properties.mllm")?,
            max_history: 32,
            tts_rate: None,
        }
    } else {
        check_pipeline_blocks(p, &given)?
    };
    let identity = (channel, agent_uid, tokens, verified);
    check_avatar(p, identity, model.tts_rate)?;
    check_other_blocks(p)?;
    Ok(Join {
        name,
        channel,
        agent_uid,
        idle_timeout,
        max_history: model.max_history,
        mllm,
        greeting: model.greeting.filter(|g| !g.is_empty()),
        silence: check_silence(p)?,
        rtm,
        token_expires_at,
    })
}

/// The vendor blocks (`asr`, `llm`, `tts`) a join need not give: all of them with a
/// pipeline (saved agent), those its presets name otherwise.
fn given_blocks(body: &Obj) -> Result<Vec<&'static str>, ApiError> {
    let pipeline = opt_str(body, "pipeline_id", "")?;
    if pipeline.is_some_and(|id| id.trim().is_empty()) {
        return Err(ApiError::invalid("pipeline_id", "must not be empty"));
    }
    let presets = match opt_str(body, "preset", "")? {
        Some(p) => check_presets(p)?,
        None => Vec::new(),
    };
    Ok(if pipeline.is_some() {
        vec!["asr", "llm", "tts"]
    } else {
        presets
    })
}

/// `properties.remote_rtc_uids`: a non-empty array of uids or `*`.
fn check_remote_uids(p: &Obj, string_uids: bool) -> Result<(), ApiError> {
    let remote = match opt(p, "remote_rtc_uids") {
        None => return Err(ApiError::missing("properties.remote_rtc_uids")),
        Some(Value::Array(a)) => a,
        Some(_) => {
            return Err(ApiError::invalid(
                "properties.remote_rtc_uids",
                "must be an array of strings",
            ))
        }
    };
    if remote.is_empty() {
        return Err(ApiError::invalid(
            "properties.remote_rtc_uids",
            "must not be empty",
        ));
    }
    for (i, uid) in remote.iter().enumerate() {
        let field = format!("properties.remote_rtc_uids[{i}]");
        match uid.as_str() {
            Some("*") => {}
            Some(u) => check_uid(u, string_uids, &field)?,
            None => return Err(ApiError::invalid(&field, "must be a string")),
        }
    }
    Ok(())
}

/// What the emulator keeps from the model blocks of a join.
struct Model<'a> {
    greeting: Option<&'a str>,
    max_history: usize,
    /// The TTS sample rate, when the TTS block states one.
    tts_rate: Option<u64>,
}

/// The `llm`, `tts` and `asr` blocks of an agent without an MLLM; `given` are the blocks a
/// pipeline or preset supplies.
fn check_pipeline_blocks<'a>(p: &'a Obj, given: &[&str]) -> Result<Model<'a>, ApiError> {
    let path = "properties";
    let given = |block: &str| given.contains(&block);
    static EMPTY: std::sync::OnceLock<Obj> = std::sync::OnceLock::new();
    let llm = match opt_obj(p, "llm", path)? {
        Some(llm) => llm,
        None if given("llm") => EMPTY.get_or_init(Obj::new),
        None => return Err(ApiError::missing("properties.llm")),
    };
    if !given("llm") {
        req_str(llm, "url", "properties.llm")?;
    }
    opt_str(llm, "url", "properties.llm")?;
    let greeting = opt_str(llm, "greeting_message", "properties.llm")?;
    opt_str(llm, "api_key", "properties.llm")?;
    if let Some(sm) = opt(llm, "system_messages") {
        if !sm
            .as_array()
            .is_some_and(|a| a.iter().all(Value::is_object))
        {
            return Err(ApiError::invalid(
                "properties.llm.system_messages",
                "must be an array of message objects",
            ));
        }
    }
    let mut max_history = 32;
    if let Some(n) = opt_uint(llm, "max_history", "properties.llm")? {
        if !(1..=1024).contains(&n) {
            return Err(ApiError::invalid(
                "properties.llm.max_history",
                "must be between 1 and 1024",
            ));
        }
        max_history = n as usize;
    }
    let mut tts_rate = None;
    match opt_obj(p, "tts", path)? {
        // A preset or pipeline voice: what is given only adds settings.
        Some(tts) if given("tts") => {
            opt_str(tts, "vendor", path)?;
            opt_obj(tts, "params", "properties.tts")?;
        }
        Some(tts) => tts_rate = check_tts(tts)?,
        None if given("tts") => {}
        None => return Err(ApiError::missing("properties.tts")),
    }
    if let Some(asr) = opt_obj(p, "asr", path)? {
        opt_str(asr, "vendor", "properties.asr")?;
        opt_str(asr, "language", "properties.asr")?;
        opt_obj(asr, "params", "properties.asr")?;
    }
    Ok(Model {
        greeting,
        max_history,
        tts_rate,
    })
}

/// The agent's channel, uid, and how tokens are checked: what an avatar's identity is
/// checked against.
type Identity<'a> = (&'a str, &'a str, &'a Validation, &'a VerifiedTokens);

/// `properties.avatar`: a known vendor, its own identity, and the TTS rate it needs.
fn check_avatar(p: &Obj, identity: Identity<'_>, tts_rate: Option<u64>) -> Result<(), ApiError> {
    let Some(avatar) = opt_obj(p, "avatar", "properties")? else {
        return Ok(());
    };
    let (channel, agent_uid, tokens, verified) = identity;
    let vendor = req_str(avatar, "vendor", "properties.avatar")?;
    let params = opt_obj(avatar, "params", "properties.avatar")?;
    let required = match vendor {
        "sensetime" => Some(16_000),
        "spatius" => params
            .and_then(|p| opt(p, "sample_rate"))
            .and_then(Value::as_u64),
        _ => None,
    };
    let enabled = opt_bool(avatar, "enable", "properties.avatar")?.unwrap_or(true);
    if let (true, Some(params)) = (enabled, params) {
        check_avatar_identity(params, channel, agent_uid, tokens, verified)?;
    }
    if let (Some(required), Some(rate)) = (required, tts_rate) {
        if rate != required {
            return Err(ApiError::invalid(
                "properties.avatar",
                format!("vendor {vendor} needs TTS audio at {required} Hz, the TTS is configured for {rate} Hz"),
            ));
        }
    }
    Ok(())
}

/// `labels`, `geofence`, the blocks that must be objects, and `interruption`.
fn check_other_blocks(p: &Obj) -> Result<(), ApiError> {
    let path = "properties";
    if let Some(labels) = opt_obj(p, "labels", path)? {
        if let Some((k, _)) = labels.iter().find(|(_, v)| !v.is_string()) {
            return Err(ApiError::invalid(
                &format!("properties.labels.{k}"),
                "must be a string",
            ));
        }
    }
    if let Some(g) = opt_obj(p, "geofence", path)? {
        let area = req_str(g, "area", "properties.geofence")?;
        const AREAS: [&str; 6] = [
            "GLOBAL",
            "NORTH_AMERICA",
            "EUROPE",
            "ASIA",
            "INDIA",
            "JAPAN",
        ];
        if !AREAS.contains(&area) {
            return Err(ApiError::invalid(
                "properties.geofence.area",
                format!("unknown area {area:?}"),
            ));
        }
    }
    for block in [
        "turn_detection",
        "sal",
        "rtc",
        "filler_words",
        "interruption",
    ] {
        opt_obj(p, block, path)?;
    }
    check_interruption(p)
}

/// Checks a channel token the agent joins with (at join, and when an update replaces it):
/// it must be ours, unexpired, for this channel and uid, and carry RTM when the agent uses
/// it. Returns when it expires, Unix seconds.
pub(crate) fn agent_token(
    token_str: &str,
    tokens: &Validation,
    verified: &VerifiedTokens,
    channel: &str,
    agent_uid: &str,
    rtm: bool,
) -> Result<u64, ApiError> {
    let mut v = tokens.clone().require_rtc_join(channel, agent_uid);
    if rtm {
        v = v.require_service(ServiceType::Rtm);
    }
    verified
        .verify(token_str, &v)
        .map(|content| content.expires_at())
        .map_err(|e| ApiError::invalid("properties.token", e))
}

/// An avatar publishes as its own user: its uid must differ from the agent's, and its token
/// (when given) must be ours, unexpired, and for the channel and that uid.
fn check_avatar_identity(
    params: &Obj,
    channel: &str,
    agent_uid: &str,
    tokens: &Validation,
    verified: &VerifiedTokens,
) -> Result<(), ApiError> {
    let uid = match opt(params, "agora_uid") {
        None => return Ok(()),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => {
            return Err(ApiError::invalid(
                "properties.avatar.params.agora_uid",
                "must be a string",
            ))
        }
    };
    if uid == agent_uid {
        return Err(ApiError::invalid(
            "properties.avatar.params.agora_uid",
            "must differ from properties.agent_rtc_uid",
        ));
    }
    if let Some(t) = opt_str(params, "agora_token", "properties.avatar.params")? {
        let v = tokens.clone().require_rtc_join(channel, uid.as_str());
        verified
            .verify(t, &v)
            .map_err(|e| ApiError::invalid("properties.avatar.params.agora_token", e))?;
    }
    Ok(())
}

/// E.164, by the SDK's rule (`shengwang_agent::validate::validate_e164`), answered as a 400
/// naming `path`.
pub(crate) fn check_e164(number: &str, path: &str) -> Result<(), ApiError> {
    shengwang_agent::validate::validate_e164(path, number).map_err(|e| match e {
        shengwang_agent::Error::InvalidInput { field, reason } => ApiError::invalid(&field, reason),
        other => ApiError::invalid(path, other),
    })
}

/// A speak body (rest-api.md §5.7): `text` of at most 512 bytes, a known `priority`.
pub(crate) fn speak_body(body: &Obj) -> Result<SpeakRequest<'_>, ApiError> {
    let text = req_str(body, "text", "")?;
    if text.len() > 512 {
        return Err(ApiError::invalid("text", "must be at most 512 bytes"));
    }
    let priority = opt_str(body, "priority", "")?;
    if let Some(p) = priority {
        if !["INTERRUPT", "APPEND", "IGNORE"].contains(&p) {
            return Err(ApiError::invalid(
                "priority",
                "must be INTERRUPT, APPEND or IGNORE",
            ));
        }
    }
    opt_bool(body, "interruptable", "")?;
    Ok(SpeakRequest { text, priority })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(v: Value) -> Obj {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn interruption_values_are_checked_by_path() {
        let ok = props(
            serde_json::json!({"interruption": {"enable": true, "mode": "keywords",
            "keywords_config": {"trigger_keywords": ["stop"]}, "disabled_config": {"strategy": "ignore"}}}),
        );
        check_interruption(&ok).unwrap();
        for (bad, field) in [
            (
                serde_json::json!({"mode": "shout"}),
                "properties.interruption.mode",
            ),
            (
                serde_json::json!({"keywords_config": {"trigger_keywords": vec!["k"; 129]}}),
                "properties.interruption.keywords_config.trigger_keywords",
            ),
            (
                serde_json::json!({"keywords_config": {"trigger_keywords": [1]}}),
                "properties.interruption.keywords_config.trigger_keywords",
            ),
            (
                serde_json::json!({"disabled_config": {"strategy": "drop"}}),
                "properties.interruption.disabled_config.strategy",
            ),
        ] {
            let e =
                check_interruption(&props(serde_json::json!({"interruption": bad}))).unwrap_err();
            assert!(format!("{e:?}").contains(field), "{field}: {e:?}");
        }
    }

    #[test]
    fn presets_name_known_blocks_once() {
        assert_eq!(
            check_presets("openai_gpt_4o_mini, openai_tts_1").unwrap(),
            ["llm", "tts"]
        );
        assert!(check_presets("openai_gpt_4o_mini,openai_gpt_5_mini").is_err());
        assert!(check_presets("nope").is_err());
        assert!(check_presets("").is_err());
    }
}
