//! Vendor tables (`[llm]`, `[tts]`, `[stt]`, `[avatar]`, `[mllm]`) → the SDK's vendor types.
//!
//! The option names, their types, which are required and which rules apply all belong to the
//! SDK's vendor types, which deserialize themselves; this module only picks the type from
//! `vendor` and deserializes it with the path-tracking deserializer, so errors name the
//! dotted path and never a value. Setting the result on the agent runs the SDK's checks.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use shengwang_agent::agentkit::Agent;
use shengwang_agent::types::blocks::{AsrVendor, AvatarVendor, LlmVendor, TtsVendor};
use shengwang_agent::vendors::*;

use super::de::{from_value, Seg};

type Table = Map<String, Value>;

/// `vendor` values of `[llm]`, `[tts]`, `[stt]` and `[avatar]`: the SDK's.
pub(super) const LLM_VENDORS: &[&str] = LlmVendor::NAMES;
pub(super) const TTS_VENDORS: &[&str] = TtsVendor::NAMES;
pub(super) const STT_VENDORS: &[&str] = AsrVendor::NAMES;
pub(super) const AVATAR_VENDORS: &[&str] = AvatarVendor::NAMES;

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

/// Applies `[llm]`; the SDK's `Llm` reads `vendor` itself, so it goes back in first.
pub(super) fn llm(agent: &Agent, mut table: Table) -> Result<Agent, String> {
    let vendor = take_vendor("llm", &mut table, LLM_VENDORS)?;
    let who = format!("the {vendor} LLM");
    let mut with_vendor = Table::new();
    with_vendor.insert("vendor".into(), Value::String(vendor));
    with_vendor.extend(table);
    let llm: Llm = opts("llm", with_vendor, &who)?;
    agent.with_llm(llm).map_err(sdk)
}

/// Applies `[tts]`.
pub(super) fn tts(agent: &Agent, mut table: Table) -> Result<Agent, String> {
    let vendor = take_vendor("tts", &mut table, TTS_VENDORS)?;
    let who = format!("the {vendor} TTS");
    let set = |tts: Result<Agent, shengwang_agent::Error>| tts.map_err(sdk);
    match TtsVendor::from(vendor.as_str()) {
        TtsVendor::MiniMax => set(agent.with_tts(opts::<MiniMaxTts>("tts", table, &who)?)),
        TtsVendor::Tencent => set(agent.with_tts(opts::<TencentTts>("tts", table, &who)?)),
        TtsVendor::Bytedance => set(agent.with_tts(opts::<BytedanceTts>("tts", table, &who)?)),
        TtsVendor::Microsoft => set(agent.with_tts(opts::<MicrosoftTts>("tts", table, &who)?)),
        TtsVendor::CosyVoice => set(agent.with_tts(opts::<CosyVoiceTts>("tts", table, &who)?)),
        TtsVendor::BytedanceDuplex => {
            set(agent.with_tts(opts::<BytedanceDuplexTts>("tts", table, &who)?))
        }
        _ => set(agent.with_tts(opts::<StepFunTts>("tts", table, &who)?)),
    }
}

/// Applies `[stt]`, or `[asr]` (its alias): `section` is the name the file used.
pub(super) fn stt(agent: &Agent, section: &str, mut table: Table) -> Result<Agent, String> {
    let vendor = take_vendor(section, &mut table, STT_VENDORS)?;
    let who = format!("the {vendor} STT");
    let s = section;
    let r = match AsrVendor::from(vendor.as_str()) {
        AsrVendor::Fengming => agent.with_stt(opts::<FengmingStt>(s, table, &who)?),
        AsrVendor::Tencent => agent.with_stt(opts::<TencentStt>(s, table, &who)?),
        AsrVendor::Microsoft => agent.with_stt(opts::<MicrosoftStt>(s, table, &who)?),
        AsrVendor::Xfyun => agent.with_stt(opts::<XfyunStt>(s, table, &who)?),
        AsrVendor::XfyunBigModel => agent.with_stt(opts::<XfyunBigModelStt>(s, table, &who)?),
        _ => agent.with_stt(opts::<XfyunDialectStt>(s, table, &who)?),
    };
    r.map_err(sdk)
}

/// Applies `[avatar]`; call it after the TTS so the SDK's sample-rate check sees both.
pub(super) fn avatar(agent: &Agent, mut table: Table) -> Result<Agent, String> {
    let vendor = take_vendor("avatar", &mut table, AVATAR_VENDORS)?;
    let who = format!("the {vendor} avatar");
    let r = match AvatarVendor::from(vendor.as_str()) {
        AvatarVendor::Spatius => agent.with_avatar(opts::<SpatiusAvatar>("avatar", table, &who)?),
        _ => agent.with_avatar(opts::<SensetimeAvatar>("avatar", table, &who)?),
    };
    r.map_err(sdk)
}

/// `[mllm]`'s `vendor` with options of its own; any other vendor takes the generic ones.
const QWEN_OMNI: &str = "qwen_omni";

/// Applies `[mllm]`: `vendor = "qwen_omni"` reads the SDK's `QwenOmni` options; any other
/// vendor (`openai`, `vertexai`, …) the generic MLLM's.
pub(super) fn mllm(agent: &Agent, mut table: Table) -> Result<Agent, String> {
    if table.get("vendor").and_then(Value::as_str) == Some(QWEN_OMNI) {
        table.remove("vendor");
        let m: QwenOmni = opts("mllm", table, "the qwen_omni MLLM")?;
        return agent.with_mllm(m).map_err(sdk);
    }
    let m: Mllm = opts("mllm", table, "the MLLM")?;
    agent.with_mllm(m).map_err(sdk)
}
