//! Turns: what started and ended each exchange of a session, and how long it took.
//!
//! Every field is optional and unknown fields are kept, because the service fills in only
//! what applies to the kind of turn (a greeting has no speech duration).

use serde::{Deserialize, Deserializer, Serialize};

use super::config::SilenceAction;
use super::ids::TurnId;
use super::{open_enum, Extra};

open_enum! {
    /// What started a turn.
    TurnStartKind {
        /// The user spoke.
        VoiceInput => "voice_input",
        /// The agent greeted a user who joined.
        Greeting => "greeting",
        /// The user stayed silent past `silence_config.timeout_ms`.
        SilenceTimeout => "silence_timeout",
        /// A `speak` request.
        ApiSpeak => "api_speak",
    }
}

open_enum! {
    /// How a turn ended.
    TurnEndKind {
        /// Normally.
        Ok => "ok",
        /// Cut short (see [`TurnEndMetadata::caused_by`]).
        Interrupted => "interrupted",
        /// Not answered (see [`TurnEndMetadata::caused_by`]).
        Ignored => "ignored",
        /// Failed (see [`TurnEndMetadata::reason`]).
        Error => "error",
    }
}

open_enum! {
    /// Why a turn was interrupted or ignored.
    TurnCause {
        /// Interrupted: the user started speaking.
        StartOfSpeech => "start_of_speech",
        /// Interrupted by a `speak` request.
        ApiSpeak => "api_speak",
        /// Interrupted by an `interrupt` request.
        ApiInterrupt => "api_interrupt",
        /// Interrupted because the agent left.
        ApiLeave => "api_leave",
        /// Ignored: semantic end-of-speech found nothing to answer.
        Semantic => "semantic",
        /// Ignored: the start keyword was not heard.
        Keywords => "keywords",
        /// Ignored: interruption is disabled for this turn.
        Disable => "disable",
    }
}

open_enum! {
    /// How a request that started or ended a turn arrived.
    TurnTransport {
        /// An HTTP request.
        Http => "http",
        /// Signaling (RTM).
        Rtm => "rtm",
    }
}

open_enum! {
    /// Why a turn failed.
    TurnErrorReason {
        /// The LLM request failed.
        LlmRequest => "LLM_REQUEST_ERR",
        /// The service failed.
        Internal => "INTERNAL_ERR",
    }
}

open_enum! {
    /// A stage of a turn's latency.
    LatencyStage {
        /// Algorithm processing.
        AlgorithmProcessing => "algorithm_processing",
        /// Speech recognition, end of speech to last word.
        AsrTtlw => "asr_ttlw",
        /// LLM, end of speech to first token (text models).
        LlmTtft => "llm_ttft",
        /// LLM, first token to first sentence (text models).
        LlmFtfs => "llm_ftfs",
        /// Speech synthesis, request to first audio byte (text models).
        TtsTtfb => "tts_ttfb",
        /// LLM, end of speech to first audio byte (audio models).
        LlmTtfa => "llm_ttfa",
        /// Network delivery (absent for Web SDK users).
        Transport => "transport",
    }
}

/// Details of a turn's start; which fields are present depends on [`TurnStart::kind`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TurnStartMetadata {
    /// Voice input: how long the user spoke (ms).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_u64"
    )]
    pub speech_duration_ms: Option<u64>,
    /// Voice input: the least speech that interrupts (ms).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_u64"
    )]
    pub interrupt_duration_ms: Option<u64>,
    /// Greeting: which greeting of the session this is (1-based).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_u64"
    )]
    pub greeting_nth: Option<u64>,
    /// Silence timeout: whether the reminder was spoken or given to the LLM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<SilenceAction>,
    /// `speak` request: how it arrived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<TurnTransport>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// How a turn started.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TurnStart {
    /// When (Unix milliseconds).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_u64"
    )]
    pub start_at: Option<u64>,
    /// What started it.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<TurnStartKind>,
    /// Details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<TurnStartMetadata>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Details of a turn's end; which fields are present depends on [`TurnEnd::kind`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TurnEndMetadata {
    /// Ended normally: how long the answer played (ms).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_u64"
    )]
    pub playback_duration_ms: Option<u64>,
    /// Interrupted or ignored: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caused_by: Option<TurnCause>,
    /// Interrupted by a request: how it arrived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<TurnTransport>,
    /// Failed: the kind of failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<TurnErrorReason>,
    /// Failed: the service's description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// How a turn ended.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TurnEnd {
    /// When (Unix milliseconds).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_u64"
    )]
    pub end_at: Option<u64>,
    /// How it ended.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<TurnEndKind>,
    /// Details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<TurnEndMetadata>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The latency of one stage of a turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageLatency {
    /// The stage.
    pub name: LatencyStage,
    /// Milliseconds.
    pub latency: f64,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// How fast a turn was answered: one type for the turns reply (`e2e_latency_ms`,
/// `segmented_latency_ms`) and the agent-metrics notice
/// ([`webhooks::AgentMetrics`](crate::webhooks::AgentMetrics): `turn_id` and the stage
/// latencies `asr_ttlw`, `llm_ttfb`, `llm_ttfs`, `tts_ttfb`). Each side fills only its own
/// fields; the others stay `None` or empty and are not written back.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TurnMetrics {
    /// The turn (agent-metrics notice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_id: Option<TurnId>,
    /// End of the user's speech to the start of the answer (ms; turns reply).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_u64"
    )]
    pub e2e_latency_ms: Option<u64>,
    /// The same, stage by stage (turns reply).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segmented_latency_ms: Vec<StageLatency>,
    /// User stops speaking → last ASR word, ms (agent-metrics notice).
    #[serde(
        default,
        deserialize_with = "super::lenient::opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub asr_ttlw: Option<u64>,
    /// LLM request → first byte, ms (agent-metrics notice).
    #[serde(
        default,
        deserialize_with = "super::lenient::opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub llm_ttfb: Option<u64>,
    /// LLM request → first full sentence, ms (agent-metrics notice).
    #[serde(
        default,
        deserialize_with = "super::lenient::opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub llm_ttfs: Option<u64>,
    /// TTS request → first byte, ms (agent-metrics notice).
    #[serde(
        default,
        deserialize_with = "super::lenient::opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub tts_ttfb: Option<u64>,
    /// Fields this version does not know (e.g. `total_delay`).
    #[serde(flatten)]
    pub extra: Extra,
}

impl TurnMetrics {
    /// The latency of `stage`, when the service measured it.
    pub fn stage(&self, stage: &LatencyStage) -> Option<f64> {
        self.segmented_latency_ms
            .iter()
            .find(|s| &s.name == stage)
            .map(|s| s.latency)
    }
}

/// One turn of a session.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    /// The agent's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// Its channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Position in the session (1-based).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_u64"
    )]
    pub turn_id: Option<u64>,
    /// How it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<TurnStart>,
    /// How it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<TurnEnd>,
    /// Latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<TurnMetrics>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Turn {
    /// What started it, when the service says.
    pub fn start_kind(&self) -> Option<&TurnStartKind> {
        self.start.as_ref()?.kind.as_ref()
    }
    /// How it ended, when the service says.
    pub fn end_kind(&self) -> Option<&TurnEndKind> {
        self.end.as_ref()?.kind.as_ref()
    }
    /// Start to end (ms), when both are known and in order.
    pub fn duration_ms(&self) -> Option<u64> {
        let start = self.start.as_ref()?.start_at?;
        self.end.as_ref()?.end_at?.checked_sub(start)
    }
    /// End-to-end latency (ms), when measured.
    pub fn e2e_latency_ms(&self) -> Option<u64> {
        self.metrics.as_ref()?.e2e_latency_ms
    }
}

/// Where a page of turns sits among all pages.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TurnsPagination {
    /// This page (1-based).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_u64"
    )]
    pub page_index: Option<u64>,
    /// Pages in total.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_u64"
    )]
    pub total_pages: Option<u64>,
    /// True on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_last_page: Option<bool>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Answer to turns: one page, or (from `all`) every page's turns in one list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentTurns {
    /// The agent's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// The agent's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Turns in the session.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_u64"
    )]
    pub total_turn_count: Option<u64>,
    /// Page position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pagination: Option<TurnsPagination>,
    /// The turns, oldest first.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub turns: Vec<Turn>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Counts and milliseconds arrive as integers, but the service's model types them as numbers:
/// accept a non-negative whole float too (`3.0`), never a negative or fractional one.
fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    use serde::de::Error;
    let Some(n) = Option::<serde_json::Number>::deserialize(d)? else {
        return Ok(None);
    };
    if let Some(u) = n.as_u64() {
        return Ok(Some(u));
    }
    match n.as_f64() {
        Some(f) if f >= 0.0 && f.fract() == 0.0 && f < u64::MAX as f64 => Ok(Some(f as u64)),
        _ => Err(D::Error::custom(
            "expected a non-negative whole number of milliseconds or a count",
        )),
    }
}

fn null_as_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Turn>, D::Error> {
    Ok(Option::<Vec<Turn>>::deserialize(d)?.unwrap_or_default())
}
