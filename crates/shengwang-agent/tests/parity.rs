//! Parity with agora-agents 2.12: the newer start fields (golden JSON per block, secrets
//! redacted, unknown fields kept), pipelines and presets, the CN vendors, and avatar tokens
//! signed for the avatar's own uid.

mod support;

use std::collections::BTreeMap;

use convoai_emulator::Emulator;
use serde_json::{json, Value};
use shengwang_agent::agentkit::{Agent, AgentUid, RemoteUid, TokenSource};
use shengwang_agent::token::{self, TokenBuilder, Validation};
use shengwang_agent::types::agents::{Preset, StartAgentRequest, StartProperties};
use shengwang_agent::types::config::*;
use shengwang_agent::types::llm::McpServer;
use shengwang_agent::types::llm::*;
use shengwang_agent::vendors::*;
use shengwang_agent::{Error, RetryPolicy};

const SENTINEL: &str = "SENTINEL-PARITY-9d2f";
const APP_ID: &str = "0123456789abcdef0123456789abcdef";
const CERT: &str = "fedcba9876543210fedcba9876543210";

/// Equal as values and, serialized, in the same key order.
fn golden(actual: impl serde::Serialize, expected: Value) {
    let actual = serde_json::to_value(actual).unwrap();
    assert_eq!(actual, expected);
    assert_eq!(
        serde_json::to_string(&actual).unwrap(),
        serde_json::to_string(&expected).unwrap(),
        "key order"
    );
}

/// Serializes, parses back and serializes again: nothing is lost, unknown fields included.
fn round_trip<T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug>(
    wire: Value,
) -> T {
    let typed: T = serde_json::from_value(wire.clone()).unwrap();
    assert_eq!(serde_json::to_value(&typed).unwrap(), wire);
    typed
}

#[test]
fn interruption_block() {
    let i = Interruption {
        enable: Some(true),
        mode: Some(InterruptionMode::Keywords),
        keywords_config: Some(InterruptionKeywords {
            trigger_keywords: Some(vec!["stop".into()]),
            ..Default::default()
        }),
        disabled_config: Some(InterruptionDisabled {
            strategy: Some(DisabledStrategy::Ignore),
            ..Default::default()
        }),
        ..Default::default()
    };
    golden(
        &i,
        json!({"enable": true, "mode": "keywords", "keywords_config": {"trigger_keywords": ["stop"]},
               "disabled_config": {"strategy": "ignore"}}),
    );
    let kept: Interruption = round_trip(json!({"mode": "future_mode", "new_field": 1}));
    assert_eq!(
        kept.mode,
        Some(InterruptionMode::Other("future_mode".into()))
    );
    let too_many = Interruption {
        keywords_config: Some(InterruptionKeywords {
            trigger_keywords: Some(vec!["k".into(); 129]),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert!(Agent::new().with_interruption(too_many).is_err());
}

#[test]
fn parameters_block() {
    let p = Parameters {
        audio_scenario: Some(AudioScenario::Chorus),
        opt_out: Some(true),
        ..Default::default()
    };
    golden(&p, json!({"audio_scenario": "chorus", "opt_out": true}));
    round_trip::<Parameters>(json!({"audio_scenario": "aiserver", "later": {"x": 1}}));
}

#[test]
fn generated_filler_words_block_hides_the_key() {
    let f = FillerWords {
        enable: Some(true),
        trigger: Some(FillerTrigger {
            mode: Some(FillerTriggerMode::FixedTime),
            fixed_time_config: Some(FixedTimeTrigger {
                response_wait_ms: Some(1500),
                ..Default::default()
            }),
            ..Default::default()
        }),
        content: Some(FillerContent {
            mode: Some(FillerContentMode::Generated),
            static_config: Some(StaticFillers {
                phrases: vec!["One moment.".into()],
                selection_rule: Some(FillerSelection::RoundRobin),
                ..Default::default()
            }),
            generated_config: Some(GeneratedFillers {
                llm_provider: Some(FillerLlmProvider {
                    url: "https://llm.example".into(),
                    api_key: SENTINEL.into(),
                    params: None,
                    extra: Default::default(),
                }),
                prompt: Some("Say a short filler.".into()),
                fallback_strategy: Some(FillerFallback::Static),
                context_message_limit: Some(4),
                history_character_limit: Some(500),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    golden(
        &f,
        json!({"enable": true,
               "trigger": {"mode": "fixed_time", "fixed_time_config": {"response_wait_ms": 1500}},
               "content": {"mode": "generated",
                           "static_config": {"phrases": ["One moment."], "selection_rule": "round_robin"},
                           "generated_config": {
                               "llm_provider": {"url": "https://llm.example", "api_key": SENTINEL},
                               "prompt": "Say a short filler.", "fallback_strategy": "static",
                               "context_message_limit": 4, "history_character_limit": 500}}}),
    );
    assert!(!format!("{f:?}").contains(SENTINEL), "{f:?}");
}

fn weather_tool() -> LlmTool {
    let mut t = LlmTool::new(
        "get_weather",
        json!({"city": {"type": "string"}})
            .as_object()
            .unwrap()
            .clone(),
        ToolMethod::Post,
        "https://tools.example/weather",
    );
    t.function.parameters.required = Some(vec!["city".into()]);
    t.server.headers = Some(BTreeMap::from([(
        "Authorization".into(),
        format!("Bearer {SENTINEL}"),
    )]));
    t.server.timeout_ms = Some(3000);
    t
}

#[test]
fn llm_additions() {
    let llm = Llm::custom("https://bedrock.example")
        .style(LlmStyle::Bedrock)
        .access_key(SENTINEL)
        .secret_key(SENTINEL)
        .region("us-east-1")
        .model_name("anthropic.claude-3")
        .greeting_audio_url("https://cdn.example/hi.pcm")
        .ignore_empty(true)
        .greeting_configs(GreetingConfigs {
            mode: Some(GreetingMode::SingleFirst),
            audio_download_timeout_ms: Some(2000),
            audio_pcm_sample_rate: Some(16000),
            uninterruptible_asr_policy: Some(UninterruptibleAsrPolicy::MergeReply),
            ..Default::default()
        })
        .tools(vec![weather_tool()])
        .headers(BTreeMap::from([("X-Api-Key".into(), SENTINEL.into())]));
    golden(
        llm.to_config(),
        json!({"url": "https://bedrock.example", "vendor": "custom",
               "greeting_configs": {"mode": "single_first", "audio_download_timeout_ms": 2000,
                                    "audio_pcm_sample_rate": 16000, "uninterruptible_asr_policy": "merge_reply"},
               "access_key": SENTINEL, "secret_key": SENTINEL, "region": "us-east-1",
               "model": "anthropic.claude-3", "greeting_audio_url": "https://cdn.example/hi.pcm",
               "style": "bedrock", "ignore_empty": true,
               "tools": [{"type": "function",
                          "function": {"name": "get_weather",
                                       "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                      "required": ["city"]}},
                          "server": {"method": "POST", "url": "https://tools.example/weather",
                                     "headers": {"Authorization": format!("Bearer {SENTINEL}")},
                                     "timeout_ms": 3000}}],
               "headers": {"X-Api-Key": SENTINEL}}),
    );
    assert!(!format!("{llm:?}").contains(SENTINEL), "{llm:?}");
    let agent = Agent::new()
        .with_llm(llm)
        .unwrap()
        .with_tts(StepFunTts::new("k", "m", "v"))
        .unwrap();
    assert!(!format!("{agent:?}").contains(SENTINEL), "{agent:?}");
    // A tool as the service may send it back, with fields this version does not know.
    let tool: LlmTool = round_trip(json!({"type": "function",
        "function": {"name": "f", "parameters": {"type": "object", "properties": {}}, "strict": true},
        "server": {"method": "GET", "url": "u"}, "retries": 2}));
    assert_eq!(tool.extra["retries"], 2);
}

#[test]
fn mllm_additions_and_qwen_omni() {
    let m = Mllm::new("wss://vertex.example", "vertexai")
        .enable(true)
        .adc_credentials_string(SENTINEL)
        .project_id("proj")
        .location("us-central1")
        .max_history(20)
        .failure_message("Sorry.")
        .tools(vec![weather_tool()])
        .mcp_servers(vec![McpServer::new("kb", "https://mcp.example")])
        .turn_detection(MllmTurnDetection {
            mode: Some(MllmTurnMode::SemanticVad),
            ..Default::default()
        });
    let c = Value::Object(m.to_config());
    assert_eq!(c["enable"], true);
    assert_eq!(c["adc_credentials_string"], SENTINEL);
    assert_eq!(c["project_id"], "proj");
    assert_eq!(c["location"], "us-central1");
    assert_eq!(c["max_history"], 20);
    assert_eq!(c["failure_message"], "Sorry.");
    assert_eq!(c["tools"][0]["function"]["name"], "get_weather");
    assert_eq!(c["mcp_servers"][0]["transport"], "streamable_http");
    assert_eq!(c["turn_detection"], json!({"mode": "semantic_vad"}));
    assert!(!format!("{m:?}").contains(SENTINEL), "{m:?}");

    let q = QwenOmni::new(SENTINEL, "wss://dashscope.example/realtime")
        .model("qwen-omni-turbo-realtime")
        .voice("Chelsie")
        .instructions("Be brief.")
        .param("temperature", 0.7)
        .greeting_message("你好")
        .input_modalities(vec!["audio".into()])
        .output_modalities(vec!["text".into(), "audio".into()])
        .failure_message("抱歉")
        .turn_detection(MllmTurnDetection {
            mode: Some(MllmTurnMode::ServerVad),
            ..Default::default()
        });
    golden(
        q.to_config(),
        // The same values in the mllm block's field order (one typed block for every MLLM).
        json!({"url": "wss://dashscope.example/realtime", "api_key": SENTINEL,
               "params": {"temperature": 0.7, "model": "qwen-omni-turbo-realtime", "voice": "Chelsie",
                          "instructions": "Be brief."},
               "input_modalities": ["audio"], "output_modalities": ["text", "audio"],
               "greeting_message": "你好", "vendor": "qwen_omni", "failure_message": "抱歉",
               "turn_detection": {"mode": "server_vad"}}),
    );
    assert!(!format!("{q:?}").contains(SENTINEL), "{q:?}");
}

#[test]
fn spatius_and_tokenless_sensetime_avatars() {
    let a = SpatiusAvatar::new(SENTINEL, "sp-app", "avatar-7", "3000")
        .region("cn-beijing")
        .sample_rate(16000)
        .session_expire_minutes(30);
    golden(
        a.to_config(),
        json!({"enable": true, "vendor": "spatius",
               "params": {"spatius_api_key": SENTINEL, "spatius_app_id": "sp-app",
                          "spatius_avatar_id": "avatar-7", "agora_uid": "3000",
                          "region": "cn-beijing", "sample_rate": 16000, "session_expire_minutes": 30}}),
    );
    assert!(!format!("{a:?}").contains(SENTINEL));
    // Its sample rate is checked against the TTS like SenseTime's.
    let tts = MicrosoftTts::new("k", "eastasia", "zh-CN-XiaoxiaoNeural")
        .with_sample_rate(MicrosoftSampleRate::Hz24000);
    assert!(Agent::new()
        .with_tts(tts.clone())
        .unwrap()
        .with_avatar(a)
        .is_err());
    let any_rate = SpatiusAvatar::new("k", "a", "v", "3000");
    assert!(Agent::new()
        .with_tts(tts)
        .unwrap()
        .with_avatar(any_rate)
        .is_ok());
    golden(
        SensetimeAvatar::for_uid("3000", "st-app", SENTINEL, vec![]).to_config(),
        json!({"enable": true, "vendor": "sensetime",
               "params": {"agora_uid": "3000", "appId": "st-app", "app_key": SENTINEL, "sceneList": []}}),
    );
}

fn sign() -> TokenSource {
    TokenSource::Sign {
        builder: TokenBuilder::new(APP_ID, CERT).unwrap(),
        expires_in: std::time::Duration::from_secs(600),
    }
}

fn cascade() -> Agent {
    support::minimal_agent()
}

#[test]
fn avatar_tokens_are_signed_for_the_avatars_uid() {
    let agent = cascade()
        .with_avatar(SpatiusAvatar::new("k", "a", "v", "3000"))
        .unwrap();
    let p = agent
        .to_properties(
            "room",
            &AgentUid::from(1001),
            &[RemoteUid::from(2002)],
            &sign(),
        )
        .unwrap();
    let params = &serde_json::to_value(p.avatar.as_ref().unwrap()).unwrap()["params"].clone();
    let avatar_token = params["agora_token"].as_str().unwrap();
    assert_ne!(avatar_token, p.token);
    let v = Validation::new(APP_ID, CERT).unwrap();
    token::verify(avatar_token, &v.clone().require_rtc_join("room", "3000")).unwrap();
    assert!(token::verify(avatar_token, &v.require_rtc_join("room", "1001")).is_err());

    // A token the user gave is kept as given.
    let given = cascade()
        .with_avatar(SpatiusAvatar::new("k", "a", "v", "3000").agora_token("007own"))
        .unwrap();
    let p = given
        .to_properties(
            "room",
            &AgentUid::from(1001),
            &[RemoteUid::from(2002)],
            &sign(),
        )
        .unwrap();
    assert_eq!(
        serde_json::to_value(p.avatar.unwrap()).unwrap()["params"]["agora_token"],
        "007own"
    );

    // Without credentials to sign with, a token-less avatar is refused, naming the field.
    let err = agent
        .to_properties(
            "room",
            &AgentUid::from(1001),
            &[RemoteUid::from(2002)],
            &TokenSource::Given("007t".into()),
        )
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput { field, .. } if field == "avatar.params.agora_token"),
        "{err}"
    );

    // The avatar may not publish as the agent.
    let err = cascade()
        .with_avatar(SensetimeAvatar::new("007t", "1001", "a", "k", vec![]))
        .unwrap()
        .to_properties(
            "room",
            &AgentUid::from(1001),
            &[RemoteUid::from(2002)],
            &sign(),
        )
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput { field, .. } if field == "avatar.params.agora_uid"),
        "{err}"
    );
}

#[test]
fn pipeline_and_presets_on_the_wire() {
    let agent = Agent::new()
        .with_preset(Preset::OpenAiGpt4oMini)
        .with_preset(Preset::MiniMaxSpeech26Turbo)
        // A second LLM preset replaces the first.
        .with_preset(Preset::OpenAiGpt5Mini)
        .with_instructions("Be brief.");
    let p = agent
        .to_properties(
            "room",
            &AgentUid::from(1001),
            &[RemoteUid::from(2002)],
            &TokenSource::Given("007t".into()),
        )
        .unwrap();
    let req = agent.to_start_request("n", p);
    let wire = serde_json::to_value(&req).unwrap();
    assert_eq!(wire["preset"], "minimax_speech_2_6_turbo,openai_gpt_5_mini");
    assert!(wire.get("pipeline_id").is_none());
    assert_eq!(
        wire["properties"]["llm"]["system_messages"][0]["content"],
        "Be brief."
    );
    assert!(wire["properties"].get("tts").is_none());
    let keys: Vec<&String> = wire.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["name", "preset", "properties"]);
    let back: StartAgentRequest = serde_json::from_value(wire).unwrap();
    assert_eq!(back.preset, req.preset);

    let piped = Agent::new().with_pipeline("pipe-1");
    let req = piped.to_start_request(
        "n",
        piped
            .to_properties(
                "room",
                &AgentUid::from(1001),
                &[RemoteUid::from(2002)],
                &TokenSource::Given("007t".into()),
            )
            .unwrap(),
    );
    golden(
        &req,
        json!({"name": "n", "pipeline_id": "pipe-1",
               "properties": {"channel": "room", "token": "007t", "agent_rtc_uid": "1001",
                              "remote_rtc_uids": ["2002"]}}),
    );
    // Neither: the LLM and TTS are still required.
    assert!(Agent::new()
        .to_properties(
            "room",
            &AgentUid::from(1001),
            &[RemoteUid::from(2002)],
            &TokenSource::Given("t".into())
        )
        .is_err());
}

#[tokio::test]
async fn the_emulator_takes_pipelines_presets_and_avatar_tokens_and_refuses_bad_ones() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let c = support::client(&emu, RetryPolicy::none());
    let start = |agent: Agent, channel: &'static str| {
        let c = c.clone();
        async move {
            let s = agent
                .create_session(
                    &c,
                    channel,
                    shengwang_agent::agentkit::AgentUid::from(1001),
                    [shengwang_agent::agentkit::RemoteUid::from(2002)],
                )
                .build();
            s.start().await
        }
    };
    start(Agent::new().with_pipeline("pipe-1"), "p1")
        .await
        .unwrap();
    start(
        Agent::new()
            .with_preset(Preset::OpenAiGpt4oMini)
            .with_preset(Preset::OpenAiTts1),
        "p2",
    )
    .await
    .unwrap();
    start(
        cascade()
            .with_avatar(SensetimeAvatar::for_uid("3000", "a", "k", vec![]))
            .unwrap(),
        "p3",
    )
    .await
    .unwrap();

    // What the SDK refuses locally, the emulator refuses too.
    let token = TokenBuilder::new(emu.app_id(), emu.app_certificate())
        .unwrap()
        .convo_ai("p4", "1001")
        .build()
        .unwrap();
    let base = |extra: Value| -> StartAgentRequest {
        let mut v = json!({"name": "x", "properties": {"channel": "p4", "token": token,
            "agent_rtc_uid": "1001", "remote_rtc_uids": ["2002"]}});
        for (k, val) in extra.as_object().unwrap() {
            if k == "properties" {
                for (pk, pv) in val.as_object().unwrap() {
                    v["properties"][pk] = pv.clone();
                }
            } else {
                v[k] = val.clone();
            }
        }
        serde_json::from_value(v).unwrap()
    };
    let agents = c.agents();
    let refused = |e: Error, field: &str| {
        assert_eq!(e.status(), Some(400), "{e}");
        assert!(e.to_string().contains(field), "{field}: {e}");
    };
    refused(
        agents
            .start(&base(json!({"preset": "no_such_preset"})))
            .await
            .unwrap_err(),
        "preset",
    );
    refused(
        agents
            .start(&base(
                json!({"preset": "openai_gpt_4o_mini,openai_gpt_5_mini,openai_tts_1"}),
            ))
            .await
            .unwrap_err(),
        "preset",
    );
    // A TTS preset alone leaves the LLM required.
    refused(
        agents
            .start(&base(json!({"preset": "openai_tts_1"})))
            .await
            .unwrap_err(),
        "properties.llm",
    );
    let avatar = |uid: &str, tok: &str| {
        json!({"pipeline_id": "p", "properties": {"avatar": {"enable": true, "vendor": "spatius",
            "params": {"agora_uid": uid, "agora_token": tok}}}})
    };
    // The agent's own token does not fit the avatar's uid.
    refused(
        agents
            .start(&base(avatar("3000", &token)))
            .await
            .unwrap_err(),
        "properties.avatar.params.agora_token",
    );
    refused(
        agents
            .start(&base(avatar("1001", &token)))
            .await
            .unwrap_err(),
        "properties.avatar.params.agora_uid",
    );
    refused(
        agents
            .start(&base(json!({"pipeline_id": "p",
                "properties": {"parameters": {"audio_scenario": "karaoke"}}})))
            .await
            .unwrap_err(),
        "properties.parameters.audio_scenario",
    );
    let _ = StartProperties::default();
}
