//! Agent config files: TOML, JSON or YAML describing a voice agent, turned into the SDK's
//! [`Agent`] through its vendor constructors and builder methods, so every check the SDK does
//! runs on the file too.
//!
//! Reading goes: text → one JSON tree (whatever the format) → `${VAR}` interpolation on that
//! tree → typed options → SDK builders. Errors name the file, the dotted path of the option
//! and what is wrong; never a value, since any field may hold a key.

mod de;
mod interpolate;
mod tree;
mod vendors;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::{Map, Value};
use shengwang_agent::agentkit::Agent;
use shengwang_agent::types::agents::Preset;
use shengwang_agent::types::config::{
    AdvancedFeatures, FillerWords, Geofence, Interruption, Parameters, RtcEncryption, Sal,
    TurnDetection,
};

use crate::error::CliError;

/// The commented sample written by `convoai config init`.
pub const SAMPLE_TOML: &str = include_str!("sample.toml");

/// Everything an agent config file describes.
#[derive(Debug, Clone)]
pub struct AgentFile {
    /// The agent, built with the SDK's builders (all SDK checks already ran).
    pub agent: Agent,
    /// Session defaults from the file's optional `[session]` table; command-line flags
    /// override them.
    pub session: SessionDefaults,
}

/// The `[session]` table: defaults for starting the agent.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionDefaults {
    /// RTC channel to join.
    pub channel: Option<String>,
    /// The agent's uid (an integer in the file is read as its digits).
    #[serde(default, deserialize_with = "de::opt_uid")]
    pub agent_uid: Option<String>,
    /// Users the agent listens to (integers are read as their digits).
    #[serde(default, deserialize_with = "de::opt_uids")]
    pub remote_uids: Option<Vec<String>>,
    /// Session (agent instance) name.
    pub name: Option<String>,
    /// Seconds to stay after every remote user left.
    pub idle_timeout: Option<u32>,
    /// Lifetime of the signed token, in seconds.
    pub expires_in: Option<u32>,
    /// Uids are string accounts.
    pub enable_string_uid: Option<bool>,
}

/// The file's top level. Vendor tables stay raw here: their shape depends on `vendor`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    name: Option<String>,
    instructions: Option<String>,
    greeting: Option<String>,
    failure_message: Option<String>,
    max_history: Option<u32>,
    /// A published agent to start from.
    pipeline_id: Option<String>,
    /// Managed ASR/LLM/TTS configurations.
    preset: Option<Vec<Preset>>,
    session: Option<SessionDefaults>,
    llm: Option<Map<String, Value>>,
    tts: Option<Map<String, Value>>,
    stt: Option<Map<String, Value>>,
    asr: Option<Map<String, Value>>,
    avatar: Option<Map<String, Value>>,
    mllm: Option<Map<String, Value>>,
    turn_detection: Option<TurnDetection>,
    interruption: Option<Interruption>,
    sal: Option<Sal>,
    advanced_features: Option<AdvancedFeatures>,
    parameters: Option<Parameters>,
    geofence: Option<Geofence>,
    labels: Option<BTreeMap<String, String>>,
    rtc: Option<RtcEncryption>,
    filler_words: Option<FillerWords>,
}

/// Reads and parses `path`, interpolating `${VAR}` from the process environment.
pub fn load(path: &Path) -> Result<AgentFile, CliError> {
    let name = path.display().to_string();
    let text = crate::files::read_text(path)?;
    parse(&name, &text, &|var| std::env::var(var).ok())
}

/// The same from text already read; `name` is used in messages (the path as given), the
/// format comes from `name`'s extension, `env` looks variables up.
pub fn parse(
    name: &str,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<AgentFile, CliError> {
    let format = tree::format_of(name)?;
    let root = tree::parse(name, text, format)?;
    build(root, env).map_err(|msg| CliError::Invalid(format!("{name}: {msg}")))
}

/// Interpolates, checks and builds; the message it fails with lacks only the file name.
fn build(
    root: Map<String, Value>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<AgentFile, String> {
    let mut root = Value::Object(root);
    interpolate::interpolate(&mut root, env)?;
    let mut spec: FileSpec = de::from_value(root).map_err(|e| e.describe(&[], None))?;
    let agent = with_basics(Agent::new(), &mut spec);
    let agent = with_vendors(agent, &mut spec)?;
    let agent = with_features(agent, &mut spec)?;
    Ok(AgentFile {
        agent,
        session: spec.session.unwrap_or_default(),
    })
}

/// The top-level texts and numbers, the pipeline and the presets.
fn with_basics(mut agent: Agent, spec: &mut FileSpec) -> Agent {
    if let Some(v) = spec.name.take() {
        agent = agent.with_name(v);
    }
    if let Some(v) = spec.instructions.take() {
        agent = agent.with_instructions(v);
    }
    if let Some(v) = spec.greeting.take() {
        agent = agent.with_greeting(v);
    }
    if let Some(v) = spec.failure_message.take() {
        agent = agent.with_failure_message(v);
    }
    if let Some(v) = spec.max_history.take() {
        agent = agent.with_max_history(v);
    }
    if let Some(v) = spec.pipeline_id.take() {
        agent = agent.with_pipeline(v);
    }
    for p in spec.preset.take().into_iter().flatten() {
        agent = agent.with_preset(p);
    }
    agent
}

/// The vendor tables (`[llm]`, `[tts]`, `[stt]`/`[asr]`, `[avatar]`, `[mllm]`), in the
/// order their checks need.
fn with_vendors(mut agent: Agent, spec: &mut FileSpec) -> Result<Agent, String> {
    if let Some(t) = spec.llm.take() {
        agent = vendors::llm(&agent, t)?;
    }
    // The TTS before the avatar: `with_avatar` checks the TTS sample rate already set.
    if let Some(t) = spec.tts.take() {
        agent = vendors::tts(&agent, t)?;
    }
    match (spec.stt.take(), spec.asr.take()) {
        (Some(_), Some(_)) => {
            return Err(
                "stt, asr: both are set; use one ([asr] is another name for [stt])".to_owned(),
            )
        }
        (Some(t), None) => agent = vendors::stt(&agent, "stt", t)?,
        (None, Some(t)) => agent = vendors::stt(&agent, "asr", t)?,
        (None, None) => {}
    }
    if let Some(t) = spec.avatar.take() {
        agent = vendors::avatar(&agent, t)?;
    }
    if let Some(t) = spec.mllm.take() {
        agent = vendors::mllm(&agent, t)?;
    }
    Ok(agent)
}

/// The feature tables: turn detection, interruption, SAL, advanced features, parameters,
/// geofence, labels, RTC encryption and filler words.
fn with_features(mut agent: Agent, spec: &mut FileSpec) -> Result<Agent, String> {
    if let Some(v) = spec.turn_detection.take() {
        agent = agent.with_turn_detection(v);
    }
    if let Some(v) = spec.interruption.take() {
        agent = agent.with_interruption(v).map_err(|e| e.to_string())?;
    }
    if let Some(v) = spec.sal.take() {
        agent = agent.with_sal(v);
    }
    if let Some(v) = spec.advanced_features.take() {
        agent = agent.with_advanced_features(v);
    }
    if let Some(v) = spec.parameters.take() {
        agent = agent.with_parameters(v);
    }
    if let Some(v) = spec.geofence.take() {
        agent = agent.with_geofence(v);
    }
    if let Some(v) = spec.labels.take() {
        agent = agent.with_labels(v);
    }
    if let Some(v) = spec.rtc.take() {
        agent = agent.with_rtc(v);
    }
    if let Some(v) = spec.filler_words.take() {
        agent = agent.with_filler_words(v);
    }
    Ok(agent)
}
