//! `Agent`: an immutable description of an agent, from which many sessions start.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::token::TokenBuilder;
use crate::types::agents::{Preset, PresetBlock, StartAgentRequest, StartProperties};
use crate::types::blocks::{AsrBlock, AvatarBlock, LlmBlock, MllmBlock, TtsBlock};
use crate::types::config::*;
use crate::types::uid::{AgentUid, RemoteUid};
use crate::vendors::{AvatarConfig, LlmConfig, MllmConfig, SttConfig, TtsConfig};
use crate::{Error, Result};

/// What an agent is: its vendors, prompt and configuration blocks.
///
/// Immutable: every `with_*` returns a new `Agent` and leaves the receiver as it was; cloning
/// is cheap and clones share nothing mutable. Vendor configurations are serialized when
/// they are added.
///
/// ```
/// use shengwang_agent::agentkit::Agent;
/// use shengwang_agent::vendors::{FengmingStt, Llm, MiniMaxTts};
///
/// let agent = Agent::new()
///     .with_instructions("You are a helpful assistant.")
///     .with_greeting("Hi! How can I help?")
///     .with_llm(Llm::aliyun("https://llm.example/v1/chat/completions").api_key("sk").model("qwen-max"))?
///     .with_tts(MiniMaxTts::new("mm-key", "speech-02-turbo", "female-shaonv"))?
///     .with_stt(FengmingStt::new())?;
/// use shengwang_agent::agentkit::{AgentUid, RemoteUid, TokenSource};
/// let props = agent.to_properties(
///     "room-42",
///     &AgentUid::from(1001),
///     &[RemoteUid::from(2002)],
///     &TokenSource::Given("007…".into()),
/// )?;
/// let llm = props.llm.unwrap();
/// assert_eq!(llm.system_messages.unwrap()[0]["content"], "You are a helpful assistant.");
/// # Ok::<(), shengwang_agent::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct Agent {
    inner: Arc<Inner>,
}

/// Vendor blocks hold keys: `Debug` shows them with every secret field redacted.
impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let i = &*self.inner;
        f.debug_struct("Agent")
            .field("name", &i.name)
            .field("instructions", &i.instructions)
            .field("greeting", &i.greeting)
            .field("failure_message", &i.failure_message)
            .field("max_history", &i.max_history)
            .field("llm", &i.llm)
            .field("tts", &i.tts.as_ref().map(|t| &t.0))
            .field("stt", &i.stt)
            .field("mllm", &i.mllm)
            .field("avatar", &i.avatar.as_ref().map(|a| &a.0))
            .field("turn_detection", &i.turn_detection)
            .field("interruption", &i.interruption)
            .field("pipeline_id", &i.pipeline_id)
            .field("presets", &i.presets)
            .field("sal", &i.sal)
            .field("advanced_features", &i.advanced_features)
            .field("parameters", &i.parameters)
            .field("geofence", &i.geofence)
            .field("labels", &i.labels)
            .field("rtc", &i.rtc)
            .field("filler_words", &i.filler_words)
            .finish()
    }
}

#[derive(Clone, Default)]
struct Inner {
    name: Option<String>,
    instructions: Option<String>,
    greeting: Option<String>,
    failure_message: Option<String>,
    max_history: Option<u32>,
    llm: Option<LlmBlock>,
    tts: Option<(TtsBlock, Option<u32>)>,
    stt: Option<AsrBlock>,
    mllm: Option<MllmBlock>,
    avatar: Option<(AvatarBlock, u32)>,
    turn_detection: Option<TurnDetection>,
    interruption: Option<Interruption>,
    pipeline_id: Option<String>,
    presets: Vec<Preset>,
    sal: Option<Sal>,
    advanced_features: Option<AdvancedFeatures>,
    parameters: Option<Parameters>,
    geofence: Option<Geofence>,
    labels: Option<BTreeMap<String, String>>,
    rtc: Option<RtcEncryption>,
    filler_words: Option<FillerWords>,
}

/// Where the agent's channel token comes from.
#[derive(Clone)]
pub enum TokenSource {
    /// Use this token as is.
    Given(String),
    /// Sign a ConvoAI token with the app credentials, valid for this long (1 s to 24 h).
    Sign {
        /// Signs the token.
        builder: TokenBuilder,
        /// Lifetime.
        expires_in: Duration,
    },
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenSource::Given(_) => f.write_str("Given([redacted])"),
            TokenSource::Sign {
                builder,
                expires_in,
            } => f
                .debug_struct("Sign")
                .field("builder", builder)
                .field("expires_in", expires_in)
                .finish(),
        }
    }
}

fn non_empty(s: impl Into<String>) -> Option<String> {
    Some(s.into()).filter(|s| !s.is_empty())
}

fn avatar_mismatch(required: u32, configured: u32) -> Error {
    Error::invalid(
        "tts",
        format!(
            "the avatar needs TTS audio at {required} Hz but the TTS is configured for {configured} Hz; \
             set the TTS sample rate to {required}"
        ),
    )
}

macro_rules! with {
    ($(#[$m:meta])* $name:ident, $field:ident: $ty:ty) => {
        $(#[$m])*
        #[must_use]
        pub fn $name(&self, value: $ty) -> Agent {
            self.map(|i| i.$field = Some(value))
        }
    };
}

impl Agent {
    /// An agent with nothing configured.
    pub fn new() -> Self {
        Self::default()
    }

    fn map(&self, f: impl FnOnce(&mut Inner)) -> Agent {
        let mut inner = (*self.inner).clone();
        f(&mut inner);
        Agent {
            inner: Arc::new(inner),
        }
    }

    /// Sets the LLM, after checking its option ranges.
    ///
    /// Every vendor setter (`with_llm`, `with_tts`, `with_stt`, `with_mllm`, `with_avatar`)
    /// checks the vendor's options and returns a `Result`, so a mistake fails where it is made.
    pub fn with_llm(&self, llm: impl LlmConfig) -> Result<Agent> {
        llm.validate()?;
        let config = llm.to_block();
        Ok(self.map(|i| i.llm = Some(config)))
    }

    /// Sets the TTS. Fails if an avatar is set and needs another sample rate.
    pub fn with_tts(&self, tts: impl TtsConfig) -> Result<Agent> {
        tts.validate()?;
        let rate = tts.sample_rate();
        if let (Some((_, required)), Some(rate)) = (&self.inner.avatar, rate) {
            if *required != 0 && *required != rate {
                return Err(avatar_mismatch(*required, rate));
            }
        }
        let config = tts.to_block();
        Ok(self.map(|i| i.tts = Some((config, rate))))
    }

    /// Sets the speech recognizer (sent as `asr`), after checking its options.
    pub fn with_stt(&self, stt: impl SttConfig) -> Result<Agent> {
        stt.validate()?;
        let config = stt.to_block();
        Ok(self.map(|i| i.stt = Some(config)))
    }

    /// Sets the multimodal model (used when `advanced_features.enable_mllm` is true), after
    /// checking its options.
    pub fn with_mllm(&self, mllm: impl MllmConfig) -> Result<Agent> {
        mllm.validate()?;
        let config = mllm.to_block();
        Ok(self.map(|i| i.mllm = Some(config)))
    }

    /// Sets the avatar. Fails if the TTS is set to another sample rate than it needs.
    pub fn with_avatar(&self, avatar: impl AvatarConfig) -> Result<Agent> {
        avatar.validate()?;
        let required = avatar.required_sample_rate();
        if let Some((_, Some(rate))) = &self.inner.tts {
            if required != 0 && *rate != required {
                return Err(avatar_mismatch(required, *rate));
            }
        }
        let config = avatar.to_block();
        Ok(self.map(|i| i.avatar = Some((config, required))))
    }

    /// Default session name. Empty clears it.
    #[must_use]
    pub fn with_name(&self, name: impl Into<String>) -> Agent {
        let v = non_empty(name);
        self.map(|i| i.name = v)
    }

    /// System prompt: replaces the LLM's `system_messages` with one system message. Empty
    /// clears it, so the LLM's own `system_messages` are sent.
    #[must_use]
    pub fn with_instructions(&self, instructions: impl Into<String>) -> Agent {
        let v = non_empty(instructions);
        self.map(|i| i.instructions = v)
    }

    /// Greeting (`llm.greeting_message`); wins over the LLM's. Empty clears it.
    #[must_use]
    pub fn with_greeting(&self, greeting: impl Into<String>) -> Agent {
        let v = non_empty(greeting);
        self.map(|i| i.greeting = v)
    }

    /// Said when the LLM fails (`llm.failure_message`); wins over the LLM's. Empty clears it.
    #[must_use]
    pub fn with_failure_message(&self, message: impl Into<String>) -> Agent {
        let v = non_empty(message);
        self.map(|i| i.failure_message = v)
    }

    with!(/// History messages kept (`llm.max_history`); wins over the LLM's.
        with_max_history, max_history: u32);
    with!(/// Turn detection.
        with_turn_detection, turn_detection: TurnDetection);
    with!(/// Selective attention locking.
        with_sal, sal: Sal);

    /// Whether and how the user can interrupt the agent; checks the keyword limit.
    pub fn with_interruption(&self, interruption: Interruption) -> Result<Agent> {
        interruption.validate()?;
        Ok(self.map(|i| i.interruption = Some(interruption)))
    }

    /// Starts from a published agent (pipeline): its saved configuration is the base, what
    /// this agent sets overrides it, and the LLM and TTS become optional. Empty clears it.
    #[must_use]
    pub fn with_pipeline(&self, pipeline_id: impl Into<String>) -> Agent {
        let v = non_empty(pipeline_id);
        self.map(|i| i.pipeline_id = v)
    }

    /// Adds a managed configuration for the ASR, LLM or TTS: the service supplies that
    /// vendor's endpoint, key and model, so the block becomes optional (a block given anyway
    /// only adds settings). A second preset for the same block replaces the first.
    #[must_use]
    pub fn with_preset(&self, preset: Preset) -> Agent {
        self.map(|i| {
            if let Some(block) = preset.block() {
                i.presets.retain(|p| p.block() != Some(block));
            } else {
                i.presets.retain(|p| p != &preset);
            }
            i.presets.push(preset);
        })
    }

    /// The published agent this one starts from.
    pub fn pipeline_id(&self) -> Option<&str> {
        self.inner.pipeline_id.as_deref()
    }
    /// The presets, in the order they were added.
    pub fn presets(&self) -> &[Preset] {
        &self.inner.presets
    }

    /// True when a pipeline or a preset supplies `block`, so this agent need not.
    fn supplied(&self, block: PresetBlock) -> bool {
        self.inner.pipeline_id.is_some()
            || self.inner.presets.iter().any(|p| p.block() == Some(block))
    }

    /// The join request for `properties` (from [`to_properties`](Self::to_properties)) under
    /// `name`, with this agent's pipeline and presets.
    pub fn to_start_request(
        &self,
        name: impl Into<String>,
        properties: StartProperties,
    ) -> StartAgentRequest {
        StartAgentRequest {
            name: name.into(),
            preset: self.inner.presets.clone(),
            pipeline_id: self.inner.pipeline_id.clone(),
            properties,
        }
    }
    with!(/// Feature switches; `enable_mllm` selects MLLM mode.
        with_advanced_features, advanced_features: AdvancedFeatures);
    with!(/// Session parameters.
        with_parameters, parameters: Parameters);
    with!(/// Server regions.
        with_geofence, geofence: Geofence);
    with!(/// Media encryption.
        with_rtc, rtc: RtcEncryption);
    with!(/// Filler words.
        with_filler_words, filler_words: FillerWords);
    with!(/// Labels echoed in callbacks.
        with_labels, labels: BTreeMap<String, String>);

    /// Default session name.
    pub fn name(&self) -> Option<&str> {
        self.inner.name.as_deref()
    }
    /// Labels sent at start.
    pub fn labels(&self) -> Option<&BTreeMap<String, String>> {
        self.inner.labels.as_ref()
    }
    /// System prompt.
    pub fn instructions(&self) -> Option<&str> {
        self.inner.instructions.as_deref()
    }
    /// The LLM's block, as it will be sent before the agent-level merge.
    pub fn llm(&self) -> Option<&LlmBlock> {
        self.inner.llm.as_ref()
    }
    /// The TTS block.
    pub fn tts(&self) -> Option<&TtsBlock> {
        self.inner.tts.as_ref().map(|t| &t.0)
    }
    /// The TTS sample rate, when known.
    pub fn tts_sample_rate(&self) -> Option<u32> {
        self.inner.tts.as_ref().and_then(|t| t.1)
    }
    /// The avatar block.
    pub fn avatar(&self) -> Option<&AvatarBlock> {
        self.inner.avatar.as_ref().map(|a| &a.0)
    }
    /// True when `advanced_features.enable_mllm` is set.
    pub fn is_mllm(&self) -> bool {
        self.inner
            .advanced_features
            .as_ref()
            .is_some_and(|f| f.enable_mllm == Some(true))
    }

    /// Checks what `start` checks before anything is sent: avatar vs TTS sample rate.
    pub fn check(&self) -> Result<()> {
        if let (Some((_, required)), Some((_, Some(rate)))) = (&self.inner.avatar, &self.inner.tts)
        {
            if *required != 0 && required != rate {
                return Err(avatar_mismatch(*required, *rate));
            }
        }
        Ok(())
    }

    /// The `properties` of a join request for this agent in `channel` as `agent_uid`.
    ///
    /// Cascade mode needs a TTS and an LLM; MLLM mode needs an MLLM and refuses a configured
    /// LLM, TTS, STT or prompt instead of dropping it silently.
    pub fn to_properties(
        &self,
        channel: &str,
        agent_uid: &AgentUid,
        remote_uids: &[RemoteUid],
        token: &TokenSource,
    ) -> Result<StartProperties> {
        let agent_uid = agent_uid.as_str();
        self.check()?;
        let i = &*self.inner;
        // Signs a channel token for the participant joining as `uid`, when the credentials
        // allow.
        let sign = |uid: &str| -> Result<Option<String>> {
            match token {
                TokenSource::Given(_) => Ok(None),
                TokenSource::Sign {
                    builder,
                    expires_in,
                } => {
                    let who = crate::identity::Identity::participant(channel, uid);
                    crate::identity::sign_channel_token(builder, &who, *expires_in)
                        .map(|signed| Some(signed.token))
                }
            }
        };
        let token = match token {
            TokenSource::Given(t) => t.clone(),
            TokenSource::Sign { .. } => sign(agent_uid)?.unwrap_or_default(),
        };
        let avatar = match &i.avatar {
            Some((config, _)) => Some(avatar_for_session(config.clone(), agent_uid, &sign)?),
            None => None,
        };
        let mut p = StartProperties {
            channel: channel.to_owned(),
            token,
            agent_rtc_uid: agent_uid.to_owned(),
            remote_rtc_uids: remote_uids.iter().map(|u| u.as_str().to_owned()).collect(),
            turn_detection: i.turn_detection.clone(),
            interruption: i.interruption.clone(),
            sal: i.sal.clone(),
            avatar,
            advanced_features: i.advanced_features.clone(),
            parameters: i.parameters.clone(),
            geofence: i.geofence.clone(),
            labels: i.labels.clone(),
            rtc: i.rtc.clone(),
            filler_words: i.filler_words.clone(),
            ..Default::default()
        };
        if self.is_mllm() {
            p.mllm = Some(self.mllm_only()?);
            return Ok(p);
        }
        self.cascade(&mut p)?;
        Ok(p)
    }

    /// The MLLM block of MLLM mode, refusing cascade settings that it would drop.
    fn mllm_only(&self) -> Result<MllmBlock> {
        let i = &*self.inner;
        let dropped = [
            ("llm", i.llm.is_some()),
            ("tts", i.tts.is_some()),
            ("stt", i.stt.is_some()),
            ("instructions", i.instructions.is_some()),
            ("greeting", i.greeting.is_some()),
            ("failure_message", i.failure_message.is_some()),
            ("max_history", i.max_history.is_some()),
        ];
        if let Some((field, _)) = dropped.iter().find(|(_, set)| *set) {
            return Err(Error::invalid(
                *field,
                "is not used in MLLM mode (advanced_features.enable_mllm); remove it or turn MLLM mode off",
            ));
        }
        i.mllm
            .clone()
            .ok_or_else(|| Error::invalid("mllm", "MLLM mode needs with_mllm(…)"))
    }

    /// The cascade blocks (LLM with the prompt settings, TTS, STT) of `p`.
    fn cascade(&self, p: &mut StartProperties) -> Result<()> {
        let i = &*self.inner;
        if i.tts.is_none() && !self.supplied(PresetBlock::Tts) {
            return Err(Error::invalid(
                "tts",
                "a TTS is required: call with_tts(…), or use a TTS preset or a pipeline",
            ));
        }
        let mut llm = match (&i.llm, self.supplied(PresetBlock::Llm)) {
            (Some(llm), _) => llm.clone(),
            (None, true) => LlmBlock::default(),
            (None, false) => {
                return Err(Error::invalid(
                    "llm",
                    "an LLM is required: call with_llm(…), or use an LLM preset or a pipeline",
                ))
            }
        };
        if let Some(text) = &i.instructions {
            llm.system_messages = Some(vec![json!({"role": "system", "content": text})]);
        }
        if let Some(g) = &i.greeting {
            llm.greeting_message = Some(g.clone());
        }
        if let Some(f) = &i.failure_message {
            llm.failure_message = Some(f.clone());
        }
        if let Some(n) = i.max_history {
            llm.max_history = Some(n);
        }
        p.llm = (llm != LlmBlock::default()).then_some(llm);
        p.tts = i.tts.as_ref().map(|t| t.0.clone());
        p.asr = i.stt.clone();
        p.mllm = i.mllm.clone();
        Ok(())
    }
}

/// The avatar block as a session sends it: an avatar that publishes as its own uid gets a
/// channel token signed for that uid unless one was given, and may not share the agent's uid
/// (two publishers with one uid knock each other out of the channel).
fn avatar_for_session(
    mut config: AvatarBlock,
    agent_uid: &str,
    sign: &dyn Fn(&str) -> Result<Option<String>>,
) -> Result<AvatarBlock> {
    if config.enable == Some(false) {
        return Ok(config);
    }
    let Some(params) = config.params.as_mut() else {
        return Ok(config);
    };
    let uid = match params.get("agora_uid") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Ok(config),
    };
    if uid == agent_uid {
        return Err(Error::invalid(
            "avatar.params.agora_uid",
            "must differ from the agent's uid: the avatar publishes its video as its own user",
        ));
    }
    let has_token = matches!(params.get("agora_token"), Some(Value::String(t)) if !t.is_empty());
    if !has_token {
        let token = sign(&uid)?.ok_or_else(|| {
            Error::invalid(
                "avatar.params.agora_token",
                "is required when the session's token is given: set the avatar's own token, \
                 or let the session sign tokens with the app certificate",
            )
        })?;
        params.insert("agora_token".into(), Value::String(token));
    }
    Ok(config)
}
