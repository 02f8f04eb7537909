//! The `Agent` builder: immutability, the properties it produces, and the checks it makes.

use std::time::Duration;

use serde_json::{json, Value};
use shengwang_agent::agentkit::{Agent, AgentUid, RemoteUid, TokenSource};
use shengwang_agent::token::{self, ServiceType, TokenBuilder};
use shengwang_agent::types::config::AdvancedFeatures;
use shengwang_agent::vendors::*;
use shengwang_agent::Error;

const APP_ID: &str = "970CA35de60c44645bbae8a215061b33";
const CERT: &str = "5CFd2fd1755d40ecb72977518be15d3b";

fn sign(expires: u64) -> TokenSource {
    TokenSource::Sign {
        builder: TokenBuilder::new(APP_ID, CERT).unwrap(),
        expires_in: Duration::from_secs(expires),
    }
}

fn seed_agent() -> Agent {
    Agent::new()
        .with_name("seed-agent")
        .with_instructions("You are helpful.")
        .with_greeting("Hi!")
        .with_failure_message("Sorry.")
        .with_max_history(10)
        .with_llm(
            Llm::aliyun("https://llm.example/v1/chat/completions")
                .api_key("sk-x")
                .model("qwen-max")
                .temperature(0.7),
        )
        .unwrap()
        .with_tts(MiniMaxTts::new(
            "mm-key",
            "speech-02-turbo",
            "female-shaonv",
        ))
        .unwrap()
        .with_stt(FengmingStt::new())
        .unwrap()
}

#[test]
fn seed_example_properties_match_what_the_python_sdk_sends() {
    // Captured from agent-server-sdk 1.0.3 starting the same agent (fixtures/python_seed_start.json).
    let python: Value =
        serde_json::from_str(include_str!("fixtures/python_seed_start.json")).unwrap();
    let mut props = seed_agent()
        .to_properties(
            "room-42",
            &AgentUid::from(1001),
            &[RemoteUid::from(2002)],
            &sign(86_400),
        )
        .unwrap();
    props.idle_timeout = Some(30);
    let mut ours = serde_json::to_value(&props).unwrap();
    let mut theirs = python["properties"].clone();
    // Tokens differ in issue time, salt and signature only: compare what they grant.
    let decode = |t: &Value| {
        let mut c = token::decode(t.as_str().unwrap()).unwrap().content;
        (c.issue_ts, c.salt) = (0, 0);
        c
    };
    assert_eq!(decode(&ours["token"]), decode(&theirs["token"]));
    ours["token"] = Value::Null;
    theirs["token"] = Value::Null;
    assert_eq!(ours, theirs);
    assert_eq!(python["name"], "seed-agent");
}

#[test]
fn with_returns_a_new_agent_and_leaves_the_original() {
    let base = seed_agent();
    let changed = base.with_instructions("Be terse.").with_greeting("");
    assert_eq!(base.instructions(), Some("You are helpful."));
    assert_eq!(changed.instructions(), Some("Be terse."));
    let p = changed
        .to_properties(
            "c",
            &AgentUid::from(1),
            &[RemoteUid::from(2)],
            &TokenSource::Given("t".into()),
        )
        .unwrap();
    let llm = serde_json::to_value(p.llm.unwrap()).unwrap();
    assert_eq!(
        llm["system_messages"],
        json!([{"role": "system", "content": "Be terse."}])
    );
    assert!(
        llm.get("greeting_message").is_none(),
        "an empty greeting clears it"
    );
    // Without instructions the LLM's own system messages stay.
    let own = Agent::new()
        .with_llm(
            Llm::custom("https://llm.example/v1")
                .system_messages(vec![json!({"role": "system", "content": "vendor"})]),
        )
        .unwrap()
        .with_tts(StepFunTts::new("k", "m", "v"))
        .unwrap();
    let p = own
        .with_instructions("")
        .to_properties(
            "c",
            &AgentUid::from(1),
            &[RemoteUid::from(2)],
            &TokenSource::Given("t".into()),
        )
        .unwrap();
    assert_eq!(
        serde_json::to_value(p.llm.unwrap()).unwrap()["system_messages"][0]["content"],
        "vendor"
    );
}

#[test]
fn avatar_and_tts_sample_rates_are_checked_whichever_comes_second() {
    let ms24 = || MicrosoftTts::new("k", "r", "v").with_sample_rate(MicrosoftSampleRate::Hz24000);
    let avatar = || SensetimeAvatar::new("t", "1", "a", "k", vec![]);
    let err = Agent::new()
        .with_tts(ms24())
        .unwrap()
        .with_avatar(avatar())
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("16000") && msg.contains("24000"), "{msg}");
    // The TTS after the avatar is checked too, with the same error.
    let err2 = Agent::new()
        .with_avatar(avatar())
        .unwrap()
        .with_tts(ms24())
        .unwrap_err();
    assert_eq!(err2.to_string(), msg);
    let ok = Agent::new()
        .with_avatar(avatar())
        .unwrap()
        .with_tts(MicrosoftTts::new("k", "r", "v").with_sample_rate(MicrosoftSampleRate::Hz16000))
        .unwrap();
    assert!(ok.check().is_ok());
    // Unknown rate: accepted.
    assert!(Agent::new()
        .with_avatar(avatar())
        .unwrap()
        .with_tts(StepFunTts::new("k", "m", "v"))
        .is_ok());
}

#[test]
fn cascade_needs_tts_then_llm_and_mllm_mode_refuses_what_it_would_drop() {
    let given = TokenSource::Given("t".into());
    let field = |r: shengwang_agent::Result<_>| match r {
        Err(Error::InvalidInput { field, .. }) => field,
        Ok(_) => panic!("expected an error"),
        Err(e) => panic!("{e}"),
    };
    assert_eq!(
        field(Agent::new().to_properties("c", &AgentUid::from(1), &[RemoteUid::from(2)], &given)),
        "tts"
    );
    let tts_only = Agent::new()
        .with_tts(StepFunTts::new("k", "m", "v"))
        .unwrap();
    assert_eq!(
        field(tts_only.to_properties("c", &AgentUid::from(1), &[RemoteUid::from(2)], &given)),
        "llm"
    );

    let mllm_on = AdvancedFeatures {
        enable_mllm: Some(true),
        ..Default::default()
    };
    let mllm = Agent::new().with_advanced_features(mllm_on.clone());
    assert_eq!(
        field(mllm.to_properties("c", &AgentUid::from(1), &[RemoteUid::from(2)], &given)),
        "mllm"
    );
    let m = mllm.with_mllm(Mllm::new("wss://rt", "openai")).unwrap();
    let p = m
        .to_properties("c", &AgentUid::from(1), &[RemoteUid::from(2)], &given)
        .unwrap();
    assert_eq!(
        serde_json::to_value(p.mllm.unwrap()).unwrap()["vendor"],
        "openai"
    );
    assert!(p.llm.is_none() && p.tts.is_none());
    assert_eq!(
        field(m.with_instructions("x").to_properties(
            "c",
            &AgentUid::from(1),
            &[RemoteUid::from(2)],
            &given
        )),
        "instructions"
    );
    assert_eq!(
        field(
            m.with_llm(Llm::custom("https://llm.example/v1"))
                .unwrap()
                .to_properties("c", &AgentUid::from(1), &[RemoteUid::from(2)], &given)
        ),
        "llm"
    );
}

#[test]
fn signed_tokens_follow_expires_in_and_uid_zero_means_any_uid() {
    let agent = seed_agent();
    let p = agent
        .to_properties(
            "room",
            &AgentUid::from(1001),
            &[RemoteUid::from(2)],
            &sign(600),
        )
        .unwrap();
    let t = token::decode(&p.token).unwrap().content;
    assert_eq!(t.expire, 600);
    assert!(t.service(ServiceType::Rtm).is_some());
    let any = agent
        .to_properties(
            "room",
            &AgentUid::from(0),
            &[RemoteUid::from(2)],
            &sign(600),
        )
        .unwrap();
    match &token::decode(&any.token).unwrap().content.services[0].body {
        token::ServiceBody::Rtc { uid, .. } => assert_eq!(uid, "", "a token for any uid"),
        other => panic!("{other:?}"),
    }
    for bad in [0, 86_401] {
        match agent.to_properties(
            "room",
            &AgentUid::from(1),
            &[RemoteUid::from(2)],
            &sign(bad),
        ) {
            Err(Error::InvalidInput { field, .. }) => assert_eq!(field, "expires_in"),
            other => panic!("{other:?}"),
        }
    }
    let sub_second = TokenSource::Sign {
        builder: TokenBuilder::new(APP_ID, CERT).unwrap(),
        expires_in: Duration::from_millis(500),
    };
    assert!(
        agent
            .to_properties(
                "room",
                &AgentUid::from(1),
                &[RemoteUid::from(2)],
                &sub_second
            )
            .is_err(),
        "no 0-second token"
    );
}

#[test]
fn an_invalid_llm_is_refused_when_added() {
    assert!(Agent::new()
        .with_llm(Llm::aliyun("https://llm.example/v1").temperature(3.0))
        .is_err());
}
