//! Agents: start (join), list, get, history, stop (leave), update, speak, interrupt, think,
//! turns.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::blocks::{AsrBlock, AvatarBlock, LlmBlock, MllmBlock, TtsBlock};
use super::config::*;
use super::ids::{AgentId, Labels};
use super::uid::{AgentUid, RemoteUid};
use super::{open_enum, Extra, ListMeta};

open_enum! {
    /// Agent status. Responses carry the name; the list filter the code.
    AgentStatus {
        /// 0
        Idle => "IDLE",
        /// 1
        Starting => "STARTING",
        /// 2
        Running => "RUNNING",
        /// 3
        Stopping => "STOPPING",
        /// 4
        Stopped => "STOPPED",
        /// 5
        Recovering => "RECOVERING",
        /// 6
        Failed => "FAILED",
    }
}

impl AgentStatus {
    /// The numeric code the list filter takes, for known statuses.
    pub fn code(&self) -> Option<u8> {
        Some(match self {
            Self::Idle => 0,
            Self::Starting => 1,
            Self::Running => 2,
            Self::Stopping => 3,
            Self::Stopped => 4,
            Self::Recovering => 5,
            Self::Failed => 6,
            Self::Other(_) => return None,
        })
    }
}

open_enum! {
    /// How `speak` treats what the agent is doing.
    Priority {
        /// Stop the current interaction and speak now.
        Interrupt => "INTERRUPT",
        /// Speak after the current interaction.
        Append => "APPEND",
        /// Speak only if the agent is idle.
        Ignore => "IGNORE",
    }
}

open_enum! {
    /// Who said a history entry.
    Role {
        /// The user.
        User => "user",
        /// The agent.
        Assistant => "assistant",
        /// A system message.
        System => "system",
    }
}

open_enum! {
    /// A managed configuration for one block (`asr`, `llm` or `tts`): the service supplies
    /// the vendor's endpoint, key and model, and the block (if given) only adds settings.
    Preset {
        /// Deepgram Nova 2 speech recognition.
        DeepgramNova2 => "deepgram_nova_2",
        /// Deepgram Nova 3 speech recognition.
        DeepgramNova3 => "deepgram_nova_3",
        /// OpenAI GPT-4o mini.
        OpenAiGpt4oMini => "openai_gpt_4o_mini",
        /// OpenAI GPT-4.1 mini.
        OpenAiGpt41Mini => "openai_gpt_4_1_mini",
        /// OpenAI GPT-5 nano.
        OpenAiGpt5Nano => "openai_gpt_5_nano",
        /// OpenAI GPT-5 mini.
        OpenAiGpt5Mini => "openai_gpt_5_mini",
        /// MiniMax speech-2.6-turbo.
        MiniMaxSpeech26Turbo => "minimax_speech_2_6_turbo",
        /// MiniMax speech-2.8-turbo.
        MiniMaxSpeech28Turbo => "minimax_speech_2_8_turbo",
        /// OpenAI tts-1.
        OpenAiTts1 => "openai_tts_1",
    }
}

/// The block of the join request a preset stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PresetBlock {
    /// Speech recognition (`asr`).
    Asr,
    /// The language model (`llm`).
    Llm,
    /// Speech synthesis (`tts`).
    Tts,
}

impl Preset {
    /// The block this preset supplies; `None` for a preset this version does not know.
    pub fn block(&self) -> Option<PresetBlock> {
        Some(match self {
            Self::DeepgramNova2 | Self::DeepgramNova3 => PresetBlock::Asr,
            Self::OpenAiGpt4oMini
            | Self::OpenAiGpt41Mini
            | Self::OpenAiGpt5Nano
            | Self::OpenAiGpt5Mini => PresetBlock::Llm,
            Self::MiniMaxSpeech26Turbo | Self::MiniMaxSpeech28Turbo | Self::OpenAiTts1 => {
                PresetBlock::Tts
            }
            Self::Other(_) => return None,
        })
    }
}

/// `POST …/join`.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StartAgentRequest {
    /// Unique agent name; a running agent with the same name makes the service answer 409.
    pub name: String,
    /// Managed configurations, sent as one comma-separated `preset` string.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "presets::serialize",
        deserialize_with = "presets::deserialize"
    )]
    pub preset: Vec<Preset>,
    /// A published agent (pipeline) whose saved configuration is the base; `properties`
    /// override it, and the `asr`, `llm` and `tts` blocks become optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_id: Option<String>,
    /// What the agent is.
    pub properties: StartProperties,
}

mod presets {
    use super::Preset;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(p: &[Preset], s: S) -> Result<S::Ok, S::Error> {
        let names: Vec<&str> = p.iter().map(Preset::as_str).collect();
        s.serialize_str(&names.join(","))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Preset>, D::Error> {
        let s = Option::<String>::deserialize(d)?.unwrap_or_default();
        Ok(s.split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(Preset::from)
            .collect())
    }
}

/// `properties` of the join request. Every block is typed; the vendor blocks (`llm`, `tts`,
/// `asr`, `mllm`, `avatar`) keep their vendor-specific `params` as JSON objects, as the
/// vendor types of [`vendors`](crate::vendors) build them.
///
/// [`StartProperties::new`] takes what a plain join needs (an LLM and a TTS);
/// [`StartProperties::without_vendors`] is for a pipeline, presets or MLLM mode, where the
/// blocks are optional. The uids are typed, so the agent's and the users' cannot be swapped:
///
/// ```compile_fail
/// use shengwang_agent::types::agents::StartProperties;
/// use shengwang_agent::types::blocks::{LlmBlock, TtsBlock};
/// use shengwang_agent::agentkit::{AgentUid, RemoteUid};
/// let agent = AgentUid::from(1001);
/// let user = RemoteUid::from(2002);
/// // The remote uid where the agent's belongs: does not compile.
/// let _ = StartProperties::new("room", "007…", user, [agent], LlmBlock::new("u"), TtsBlock::default());
/// ```
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StartProperties {
    /// RTC channel the agent joins.
    pub channel: String,
    /// Token the agent joins with.
    pub token: String,
    /// The agent's uid (`"0"`: the service picks one).
    pub agent_rtc_uid: String,
    /// Users the agent listens to.
    pub remote_rtc_uids: Vec<String>,
    /// Uids are string accounts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_string_uid: Option<bool>,
    /// Seconds to stay after every remote user left; 0 = never leave by itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_timeout: Option<u32>,
    /// Allowed server regions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub geofence: Option<Geofence>,
    /// Feature switches (`enable_mllm`, `enable_rtm`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advanced_features: Option<AdvancedFeatures>,
    /// Speech recognition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asr: Option<AsrBlock>,
    /// Speech synthesis.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tts: Option<TtsBlock>,
    /// Language model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm: Option<LlmBlock>,
    /// Multimodal model (instead of asr + llm + tts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mllm: Option<MllmBlock>,
    /// Digital human.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avatar: Option<AvatarBlock>,
    /// Turn detection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub turn_detection: Option<TurnDetection>,
    /// Whether and how the user can interrupt the agent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interruption: Option<Interruption>,
    /// Selective attention locking.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sal: Option<Sal>,
    /// Custom labels echoed in callbacks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<std::collections::BTreeMap<String, String>>,
    /// Media encryption.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rtc: Option<RtcEncryption>,
    /// Filler words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filler_words: Option<FillerWords>,
    /// Session parameters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Parameters>,
    /// Fields this version does not model, sent as given.
    #[serde(flatten)]
    pub extra: Extra,
}

impl StartProperties {
    /// What a plain join needs: the channel, its token, the agent's uid, the users it
    /// listens to, an LLM and a TTS. Set the other blocks on the result.
    ///
    /// ```
    /// use shengwang_agent::agentkit::{AgentUid, RemoteUid};
    /// use shengwang_agent::types::agents::{StartAgentRequest, StartProperties};
    /// use shengwang_agent::vendors::{FengmingStt, Llm, LlmConfig, StepFunTts, SttConfig, TtsConfig};
    ///
    /// let mut properties = StartProperties::new(
    ///     "room-42",
    ///     "007…",
    ///     AgentUid::from(1001),
    ///     [RemoteUid::from(2002)],
    ///     Llm::custom("https://llm.example/v1/chat/completions").to_block(),
    ///     StepFunTts::new("key", "step-tts-mini", "cixingnansheng").to_block(),
    /// );
    /// properties.asr = Some(FengmingStt::new().to_block());
    /// let request = StartAgentRequest::new("support-bot", properties);
    /// assert_eq!(request.properties.agent_rtc_uid, "1001");
    /// ```
    pub fn new(
        channel: impl Into<String>,
        token: impl Into<String>,
        agent_uid: AgentUid,
        remote_uids: impl IntoIterator<Item = RemoteUid>,
        llm: LlmBlock,
        tts: TtsBlock,
    ) -> Self {
        StartProperties {
            llm: Some(llm),
            tts: Some(tts),
            ..Self::without_vendors(channel, token, agent_uid, remote_uids)
        }
    }

    /// The same without vendor blocks, for a join whose pipeline or presets supply them, or
    /// for MLLM mode (set `mllm` and `advanced_features.enable_mllm`).
    pub fn without_vendors(
        channel: impl Into<String>,
        token: impl Into<String>,
        agent_uid: AgentUid,
        remote_uids: impl IntoIterator<Item = RemoteUid>,
    ) -> Self {
        StartProperties {
            channel: channel.into(),
            token: token.into(),
            agent_rtc_uid: agent_uid.as_str().to_owned(),
            remote_rtc_uids: remote_uids
                .into_iter()
                .map(|u| u.as_str().to_owned())
                .collect(),
            ..Default::default()
        }
    }
}

impl StartAgentRequest {
    /// A request to start `properties` as the agent `name`.
    pub fn new(name: impl Into<String>, properties: StartProperties) -> Self {
        StartAgentRequest {
            name: name.into(),
            preset: Vec::new(),
            pipeline_id: None,
            properties,
        }
    }

    /// Starts from the published agent (pipeline) `pipeline_id`: its saved configuration is
    /// the base and `properties` override it.
    #[must_use]
    pub fn pipeline(mut self, pipeline_id: impl Into<String>) -> Self {
        self.pipeline_id = Some(pipeline_id.into());
        self
    }

    /// Adds a managed configuration (sent in the comma-separated `preset`).
    #[must_use]
    pub fn preset(mut self, preset: Preset) -> Self {
        self.preset.push(preset);
        self
    }

    /// The checks [`start`](crate::api::Agents::start) makes before sending: name, channel,
    /// token, uids (each error names its field).
    pub fn validate(&self) -> crate::Result<()> {
        use crate::validate::{validate_account, validate_channel, validate_int_uid};
        use crate::Error;
        if self.name.trim().is_empty() {
            return Err(Error::invalid("name", "must not be empty"));
        }
        let p = &self.properties;
        validate_channel(&p.channel).map_err(|e| e.renamed("properties.channel"))?;
        if p.token.is_empty() {
            return Err(Error::invalid("properties.token", "must not be empty"));
        }
        if p.remote_rtc_uids.is_empty() {
            return Err(Error::invalid(
                "properties.remote_rtc_uids",
                "must not be empty",
            ));
        }
        let string_uids = p.enable_string_uid.unwrap_or(false);
        let uids = std::iter::once(("properties.agent_rtc_uid".to_owned(), &p.agent_rtc_uid))
            .chain(
                p.remote_rtc_uids
                    .iter()
                    .enumerate()
                    .filter(|(_, u)| u.as_str() != "*")
                    .map(|(i, u)| (format!("properties.remote_rtc_uids[{i}]"), u)),
            );
        for (field, uid) in uids {
            if string_uids {
                if uid.is_empty() {
                    return Err(Error::invalid(field, "must not be empty"));
                }
                validate_account(&field, uid)?;
            } else {
                validate_int_uid(&field, uid)?;
            }
        }
        Ok(())
    }
}

/// Answer to join and update.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentCreated {
    /// The agent's id.
    pub agent_id: String,
    /// Creation time (Unix seconds).
    #[serde(default)]
    pub create_ts: Option<u64>,
    /// Status.
    #[serde(default)]
    pub status: Option<AgentStatus>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One agent in a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentSummary {
    /// The agent's id.
    pub agent_id: String,
    /// Start time.
    #[serde(default)]
    pub start_ts: Option<u64>,
    /// Status.
    #[serde(default)]
    pub status: Option<AgentStatus>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `data` of a list answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentListData {
    /// Items in this page.
    #[serde(default)]
    pub count: Option<u64>,
    /// The agents.
    pub list: Vec<AgentSummary>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Answer to list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentList {
    /// The page.
    pub data: AgentListData,
    /// Cursor and total.
    #[serde(default)]
    pub meta: Option<ListMeta>,
    /// `"ok"`.
    #[serde(default)]
    pub status: Option<String>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Answer to get.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentInfo {
    /// The agent's id.
    pub agent_id: String,
    /// Status.
    pub status: AgentStatus,
    /// Start time.
    #[serde(default)]
    pub start_ts: Option<u64>,
    /// Stop time (0 while running).
    #[serde(default)]
    pub stop_ts: Option<u64>,
    /// E.g. why a failed agent exited.
    #[serde(default)]
    pub message: Option<String>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One entry of an agent's short-term memory ([`AgentHistory`]: the history reply and the
/// agent-history notification).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct HistoryEntry {
    /// Who said it.
    pub role: Role,
    /// What was said (may be empty).
    #[serde(default)]
    pub content: String,
    /// Speech start, Unix ms (custom LLM only).
    #[serde(
        default,
        deserialize_with = "super::lenient::opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub speech_start_ms: Option<u64>,
    /// Speech end, Unix ms (custom LLM only).
    #[serde(
        default,
        deserialize_with = "super::lenient::opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub speech_end_ms: Option<u64>,
    /// Processing delay of the user's voice, ms.
    #[serde(
        default,
        deserialize_with = "super::lenient::opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub speech_algorithmic_delay: Option<u64>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An agent's short-term memory: the history reply and the agent-history notice (`103`,
/// [`webhooks::Event::AgentHistory`](crate::webhooks::Event::AgentHistory), sent after the
/// agent stopped) are one type. Fields only one side sends are optional: `status` comes
/// with the reply; `name`, `channel`, `stop_ts` and `labels` with the notice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AgentHistory {
    /// The agent.
    pub agent_id: AgentId,
    /// Name given at start (notice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// RTC channel (notice); empty in the history reply, which does not carry it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub channel: String,
    /// Creation time, Unix seconds.
    #[serde(default, deserialize_with = "super::lenient::opt_u64")]
    pub start_ts: Option<u64>,
    /// Stop time, Unix seconds (notice).
    #[serde(
        default,
        deserialize_with = "super::lenient::opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub stop_ts: Option<u64>,
    /// The agent's status (reply).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<AgentStatus>,
    /// Entries, oldest first.
    #[serde(default)]
    pub contents: Vec<HistoryEntry>,
    /// Labels given at start (notice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `POST …/speak`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpeakRequest {
    /// Text to speak: 1 to 512 bytes (checked before sending).
    pub text: String,
    /// What to do if the agent is busy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// May the user's voice cut it short.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interruptable: Option<bool>,
}

impl SpeakRequest {
    /// Speak `text` with the service's defaults.
    pub fn new(text: impl Into<String>) -> Self {
        SpeakRequest {
            text: text.into(),
            priority: None,
            interruptable: None,
        }
    }
    /// Sets the priority.
    #[must_use]
    pub fn priority(mut self, p: Priority) -> Self {
        self.priority = Some(p);
        self
    }
    /// Sets whether user speech may interrupt it.
    #[must_use]
    pub fn interruptable(mut self, yes: bool) -> Self {
        self.interruptable = Some(yes);
        self
    }
}

/// Answer to speak, interrupt, think and update (every field optional: the service may
/// answer `{}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentAck {
    /// The agent's id.
    #[serde(default)]
    pub agent_id: Option<String>,
    /// Its channel.
    #[serde(default)]
    pub channel: Option<String>,
    /// When the action started.
    #[serde(default)]
    pub start_ts: Option<u64>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `POST …/update`: only what is set is sent.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UpdateAgentRequest {
    /// Replacement channel token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// `{system_messages, params}`; `params` replaces the start-time params wholesale.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm: Option<Value>,
    /// `{params}` for MLLM agents.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mllm: Option<Value>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

open_enum! {
    /// What `think` does while the user is speaking.
    ListeningAction {
        /// Add to the current turn.
        Inject => "inject",
        /// Start a new turn now.
        Interrupt => "interrupt",
        /// Drop it.
        Ignore => "ignore",
        /// After the user's turn and its reply.
        Append => "append",
    }
}

open_enum! {
    /// What `think` does while the agent thinks or speaks.
    BusyAction {
        /// Cut in now.
        Interrupt => "interrupt",
        /// Drop it.
        Ignore => "ignore",
        /// After the current output.
        Append => "append",
    }
}

/// `POST …/think`: inject text as if the user had said it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThinkRequest {
    /// The text.
    pub text: String,
    /// While the user speaks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_listening_action: Option<ListeningAction>,
    /// While the agent thinks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_thinking_action: Option<BusyAction>,
    /// While the agent speaks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_speaking_action: Option<BusyAction>,
    /// May user speech interrupt the answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interruptable: Option<bool>,
    /// Business key/values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<std::collections::BTreeMap<String, String>>,
}

impl ThinkRequest {
    /// Think `text` with the service's defaults.
    pub fn new(text: impl Into<String>) -> Self {
        ThinkRequest {
            text: text.into(),
            on_listening_action: None,
            on_thinking_action: None,
            on_speaking_action: None,
            interruptable: None,
            metadata: None,
        }
    }
}

impl std::fmt::Debug for StartAgentRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::redact::debug_json("StartAgentRequest", self, f)
    }
}

impl std::fmt::Debug for StartProperties {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::redact::debug_json("StartProperties", self, f)
    }
}

impl std::fmt::Debug for UpdateAgentRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::redact::debug_json("UpdateAgentRequest", self, f)
    }
}
