//! The REST client against the emulator over loopback: every endpoint, three auth modes,
//! errors, local validation, retries, idempotent start and failover.

use std::time::Duration;

use convoai_emulator::{Emulator, EmulatorHandle, Fault, FaultRule};
use futures::TryStreamExt;
use serde_json::json;
use shengwang_agent::token::TokenBuilder;
use shengwang_agent::types::agents::*;
use shengwang_agent::types::phone_numbers::*;
use shengwang_agent::types::telephony::*;
use shengwang_agent::{Client, ClientBuilder, Error, ErrorReason, RetryPolicy};

fn fast_retries() -> RetryPolicy {
    RetryPolicy::standard()
        .base_delay(Duration::from_millis(5))
        .max_delay(Duration::from_millis(20))
        .max_retry_after(Duration::from_millis(50))
}

fn builder(emu: &EmulatorHandle) -> ClientBuilder {
    Client::builder()
        .app_id(emu.app_id())
        .app_certificate(emu.app_certificate())
        .base_url(emu.cn_base_url())
        .retry(fast_retries())
}

fn start_request(emu: &EmulatorHandle, name: &str, channel: &str) -> StartAgentRequest {
    let token = TokenBuilder::new(emu.app_id(), emu.app_certificate())
        .unwrap()
        .convo_ai(channel, "1001")
        .build()
        .unwrap();
    // The typed blocks, read from the JSON the service documents.
    fn obj<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
        serde_json::from_value(v).unwrap()
    }
    StartAgentRequest {
        name: name.into(),
        properties: StartProperties {
            channel: channel.into(),
            token,
            agent_rtc_uid: "1001".into(),
            remote_rtc_uids: vec!["2002".into()],
            idle_timeout: Some(120),
            llm: Some(obj(
                json!({"url": "https://llm.example/v1/chat/completions", "api_key": "sk"}),
            )),
            tts: Some(obj(
                json!({"vendor": "minimax", "params": {"key": "k", "model": "m",
                                 "voice_setting": {"voice_id": "v"}}}),
            )),
            ..Default::default()
        },
        ..Default::default()
    }
}

async fn lifecycle(client: &Client, emu: &EmulatorHandle, tag: &str) {
    let agents = client.agents();
    let created = agents
        .start(&start_request(
            emu,
            &format!("life-{tag}"),
            &format!("room-{tag}"),
        ))
        .await
        .unwrap();
    assert_eq!(created.status, Some(AgentStatus::Running));
    assert!(created.request_id().is_some());
    let id = created.agent_id.clone();

    assert_eq!(agents.get(&id).await.unwrap().status, AgentStatus::Running);
    let ack = agents
        .speak(
            &id,
            &SpeakRequest::new("hello")
                .priority(Priority::Append)
                .interruptable(false),
        )
        .await
        .unwrap();
    assert_eq!(ack.channel.as_deref(), Some(format!("room-{tag}").as_str()));
    agents.interrupt(&id).await.unwrap();
    agents
        .think(&id, &ThinkRequest::new("the user wants tea"))
        .await
        .unwrap();
    let update = UpdateAgentRequest {
        llm: Some(json!({"system_messages": [{"role": "system", "content": "be brief"}]})),
        ..Default::default()
    };
    agents.update(&id, &update).await.unwrap();
    let history = agents.history(&id).await.unwrap();
    let said: Vec<(Role, &str)> = history
        .contents
        .iter()
        .map(|c| (c.role.clone(), c.content.as_str()))
        .collect();
    assert_eq!(
        said,
        [
            (Role::Assistant, "hello"),
            (Role::User, "the user wants tea"),
            (Role::System, "be brief")
        ]
    );
    // speak and think are turns; an update is not.
    let turns = agents.turns(&id).page_size(10).page(1).await.unwrap();
    assert_eq!(turns.total_turn_count, Some(2));

    let page = agents
        .list()
        .channel(format!("room-{tag}"))
        .page()
        .await
        .unwrap();
    assert_eq!(
        page.items
            .iter()
            .map(|a| a.agent_id.as_str())
            .collect::<Vec<_>>(),
        [id.as_str()]
    );

    agents.stop(&id).await.unwrap();
    assert_eq!(agents.get(&id).await.unwrap().status, AgentStatus::Stopped);
    match agents.stop(&id).await {
        Err(e @ Error::Api { status: 404, .. }) => {
            assert!(matches!(
                &e,
                Error::Api {
                    reason: ErrorReason::TaskNotFound,
                    ..
                }
            ));
            assert!(e.request_id().is_some());
            assert!(e.to_string().contains("404 TaskNotFound"), "{e}");
        }
        other => panic!("expected 404, got {other:?}"),
    }
    client.stop_agent(&id).await.unwrap();
}

#[tokio::test]
async fn every_agent_endpoint_in_all_three_auth_modes() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let app = builder(&emu).build().unwrap();
    assert_eq!(app.auth_mode(), "app-credentials");
    lifecycle(&app, &emu, "app").await;
    let basic = builder(&emu)
        .basic(emu.customer_id(), emu.customer_secret())
        .build()
        .unwrap();
    lifecycle(&basic, &emu, "basic").await;
    let prebuilt = TokenBuilder::new(emu.app_id(), emu.app_certificate())
        .unwrap()
        .convo_ai("any", "")
        .build()
        .unwrap();
    let token = builder(&emu).token(prebuilt).build().unwrap();
    lifecycle(&token, &emu, "token").await;
}

#[tokio::test]
async fn wrong_credentials_are_401_in_every_mode() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let clients = [
        builder(&emu)
            .app_certificate("00000000000000000000000000000000")
            .build()
            .unwrap(),
        builder(&emu)
            .basic(emu.customer_id(), "wrong-secret")
            .build()
            .unwrap(),
        builder(&emu).token("007eJxgarbage").build().unwrap(),
    ];
    for c in clients {
        let err = c.agents().list().page().await.unwrap_err();
        assert_eq!(err.status(), Some(401), "{err}");
        assert!(!err.is_retryable());
        assert!(!err.to_string().contains("wrong-secret"));
    }
}

#[tokio::test]
async fn list_streams_every_page() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let client = builder(&emu).build().unwrap();
    let mut ids = Vec::new();
    for i in 0..7 {
        ids.push(
            client
                .agents()
                .start(&start_request(&emu, &format!("s{i}"), "many"))
                .await
                .unwrap()
                .agent_id
                .clone(),
        );
    }
    let all: Vec<_> = client
        .agents()
        .list()
        .channel("many")
        .limit(3)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.into_iter().map(|a| a.agent_id).collect::<Vec<_>>(), ids);
    let first = client.agents().list().limit(3).page().await.unwrap();
    assert_eq!(first.total, Some(7));
    assert!(first.next_cursor.is_some());
    let running = client
        .agents()
        .list()
        .state(AgentStatus::Stopped)
        .page()
        .await
        .unwrap();
    assert!(running.items.is_empty());
}

#[tokio::test]
async fn invalid_input_is_refused_before_anything_is_sent() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let client = builder(&emu).build().unwrap();
    let agents = client.agents();
    let good = start_request(&emu, "v", "room");
    let mut cases: Vec<(StartAgentRequest, &str)> = Vec::new();
    let mut r = good.clone();
    r.properties.channel = String::new();
    cases.push((r, "properties.channel"));
    let mut r = good.clone();
    r.properties.remote_rtc_uids.clear();
    cases.push((r, "properties.remote_rtc_uids"));
    let mut r = good.clone();
    r.properties.agent_rtc_uid = "bot".into();
    cases.push((r, "properties.agent_rtc_uid"));
    let mut r = good.clone();
    r.name = " ".into();
    cases.push((r, "name"));
    for (req, field) in cases {
        match agents.start(&req).await {
            Err(Error::InvalidInput { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    for text in [String::new(), "x".repeat(513)] {
        assert!(matches!(
            agents.speak("A1", &SpeakRequest::new(text)).await,
            Err(Error::InvalidInput { .. })
        ));
    }
    assert!(matches!(
        agents.get("a/../b").await,
        Err(Error::InvalidInput { .. })
    ));
    assert!(matches!(
        client.phone_numbers().get("8613800000000").await,
        Err(Error::InvalidInput { .. })
    ));
    assert!(
        emu.request_counts().is_empty(),
        "{:?}",
        emu.request_counts()
    );
}

#[tokio::test]
async fn retries_follow_hints_but_never_retry_409() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let client = builder(&emu).build().unwrap();
    emu.push_fault(
        FaultRule::new(Fault::Status {
            status: 503,
            retry_after: Some("120".into()),
            retry_after_ms: Some(10),
        })
        .method("GET")
        .times(2),
    );
    let started = std::time::Instant::now();
    client.agents().list().page().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "retry-after-ms wins and is capped"
    );
    emu.push_fault(FaultRule::new(Fault::Drop).method("GET"));
    client.agents().list().page().await.unwrap();

    let none = builder(&emu).retry(RetryPolicy::none()).build().unwrap();
    emu.push_fault(FaultRule::new(Fault::status(502)).method("GET"));
    assert_eq!(
        none.agents().list().page().await.unwrap_err().status(),
        Some(502)
    );

    let req = start_request(&emu, "dup", "room");
    client.agents().start(&req).await.unwrap();
    let before: u64 = emu.request_counts().iter().map(|c| c.count).sum();
    let err = client.agents().start(&req).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Api {
                status: 409,
                reason: ErrorReason::TaskConflict,
                ..
            }
        ),
        "{err}"
    );
    let after: u64 = emu.request_counts().iter().map(|c| c.count).sum();
    assert_eq!(after - before, 1, "409 is not retried");
}

#[tokio::test]
async fn an_ambiguous_start_never_starts_two_agents_and_says_the_outcome_is_unknown() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let client = builder(&emu).build().unwrap();
    for (i, fault) in [
        Fault::DropAfterStateChange,
        Fault::StatusAfterStateChange { status: 503 },
    ]
    .into_iter()
    .enumerate()
    {
        emu.push_fault(FaultRule::new(fault).path_contains("/join"));
        let name = format!("ambiguous-{i}");
        // The first attempt started the agent but its answer was lost; the re-send met the
        // name in use. The REST layer does not guess which agent that is: it says so.
        let err = client
            .agents()
            .start(&start_request(&emu, &name, &format!("amb-{i}")))
            .await
            .unwrap_err();
        assert!(err.is_ambiguous(), "{err}");
        assert!(err.to_string().contains("409"), "{err}");
        let agents: Vec<_> = emu
            .agents()
            .into_iter()
            .filter(|a| a.name == name)
            .collect();
        assert_eq!(agents.len(), 1, "exactly one agent for {name}");
    }
}

#[tokio::test]
async fn a_dead_endpoint_fails_over_to_the_next() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let dead = format!(
        "http://127.0.0.2:{}/cn/api/conversational-ai-agent",
        emu.addr().port()
    );
    let client = Client::builder()
        .app_id(emu.app_id())
        .app_certificate(emu.app_certificate())
        .base_url(&dead)
        .base_url(emu.cn_base_url())
        .retry(fast_retries())
        .build()
        .unwrap();
    assert_eq!(client.current_base_url(), dead);
    client.agents().list().page().await.unwrap();
    assert_eq!(client.current_base_url(), emu.cn_base_url());
    // Later requests go straight to the healthy endpoint.
    client
        .agents()
        .start(&start_request(&emu, "after-failover", "fo"))
        .await
        .unwrap();
    assert_eq!(emu.agents().len(), 1);
}

#[tokio::test]
async fn telephony_and_phone_numbers() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let client = builder(&emu)
        .basic(emu.customer_id(), emu.customer_secret())
        .build()
        .unwrap();
    let call = CallRequest {
        name: "call-1".into(),
        sip: Sip {
            to_number: "+8613800000000".into(),
            from_number: "+8610000000".into(),
            rtc_uid: "100".into(),
            rtc_token: "t".into(),
        },
        pipeline_id: Some("41".into()),
        properties: json!({"channel": "pstn", "token": "t", "agent_rtc_uid": "200", "remote_rtc_uids": ["100"]}),
    };
    let id = client
        .telephony()
        .call_out(&call)
        .await
        .unwrap()
        .agent_id
        .clone();
    assert_eq!(
        client.telephony().get(&id).await.unwrap().state,
        Some(CallState::Answered)
    );
    client.telephony().hangup(&id).await.unwrap();
    let info = client.telephony().get(&id).await.unwrap();
    assert_eq!(
        (info.state.clone(), info.reason.clone()),
        (Some(CallState::Hangup), Some(CallReason::Request))
    );
    let page = client
        .telephony()
        .list()
        .number("+8613800000000")
        .kind(CallType::Outbound)
        .page()
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    let mut bad = call.clone();
    bad.sip.to_number = "13800000000".into();
    assert!(matches!(
        client.telephony().call_out(&bad).await,
        Err(Error::InvalidInput { .. })
    ));

    let numbers = client.phone_numbers();
    let add = AddPhoneNumber {
        provider: Provider::Byo,
        phone_number: "+8675500000000".into(),
        label: "front desk".into(),
        inbound: Some(true),
        outbound: None,
        inbound_config: json!({"allowed_addresses": ["203.0.113.0/28"]}),
        outbound_config: json!({"address": "sip.example.com", "transport": "tls"}),
    };
    let created = numbers.add(&add).await.unwrap();
    assert_eq!(created.http_status, 201);
    assert_eq!(numbers.add(&add).await.unwrap_err().status(), Some(409));
    let set = UpdatePhoneNumber {
        inbound_config: Patch::Set(json!({"pipeline_id": "p-1"})),
        ..Default::default()
    };
    let n = numbers.update("+8675500000000", &set).await.unwrap();
    assert_eq!(
        n.associated_pipeline.as_ref().unwrap()["pipeline_id"],
        "p-1"
    );
    let clear = UpdatePhoneNumber {
        inbound_config: Patch::Clear,
        ..Default::default()
    };
    let n = numbers.update("+8675500000000", &clear).await.unwrap();
    assert_eq!(n.inbound_config, None);
    numbers
        .update("+8675500000000", &UpdatePhoneNumber::default())
        .await
        .unwrap();
    assert_eq!(numbers.list().await.unwrap().len(), 1);
    numbers.delete("+8675500000000").await.unwrap();
    assert!(numbers
        .get("+8675500000000")
        .await
        .unwrap_err()
        .is_not_found());
}

#[test]
fn configuration_is_validated_and_never_shows_secrets() {
    let ok = || Client::builder().app_id("0123456789abcdef0123456789abcdef");
    let field = |r: shengwang_agent::Result<Client>| match r {
        Err(Error::InvalidInput { field, .. }) => field,
        other => panic!("{other:?}"),
    };
    assert_eq!(field(ok().build()), "app_certificate");
    assert_eq!(
        field(
            ok().app_certificate("SENTINEL-CERT-NOT-HEX-0000000000")
                .build()
        ),
        "app_certificate"
    );
    assert_eq!(
        field(
            Client::builder()
                .app_id("nope")
                .app_certificate("fedcba9876543210fedcba9876543210")
                .build()
        ),
        "app_id"
    );
    let cert = ok().app_certificate("fedcba9876543210fedcba9876543210");
    assert_eq!(
        field(cert.clone().base_url("ftp://example").build()),
        "base_url"
    );
    assert_eq!(
        field(cert.clone().base_url("not a url").build()),
        "base_url"
    );
    assert!(matches!(
        cert.clone().basic("id", "s").token("t").build(),
        Err(Error::Config(_))
    ));
    let b = cert.basic("customer", "SENTINEL-SECRET");
    let client = b.clone().build().unwrap();
    for text in [format!("{b:?}"), format!("{client:?}")] {
        assert!(
            !text.contains("SENTINEL-SECRET") && !text.contains("fedcba9876543210fedcba9876543210"),
            "{text}"
        );
    }
}

#[test]
fn unknown_response_fields_survive_a_round_trip() {
    let wire = json!({"agent_id": "A", "status": "HIBERNATING", "start_ts": 1, "stop_ts": 0,
                      "message": "", "region": "cn-east", "nested": {"x": [1, 2]}});
    let info: AgentInfo = serde_json::from_value(wire.clone()).unwrap();
    assert_eq!(info.status, AgentStatus::Other("HIBERNATING".into()));
    assert_eq!(serde_json::to_value(&info).unwrap(), wire);
}

/// Requests built only by the public constructors are accepted by the service: a plain join
/// (LLM + TTS + ASR from the vendor types), a join on a pipeline and one on presets without
/// vendor blocks. The plain request without a TTS is refused, naming the block.
#[tokio::test]
async fn requests_built_by_the_public_constructors_are_accepted() {
    use shengwang_agent::agentkit::{AgentUid, RemoteUid};
    use shengwang_agent::vendors::{FengmingStt, Llm, LlmConfig, MiniMaxTts, SttConfig, TtsConfig};
    let emu = Emulator::builder().spawn().await.unwrap();
    let client = builder(&emu).build().unwrap();
    let token = |channel: &str| {
        TokenBuilder::new(emu.app_id(), emu.app_certificate())
            .unwrap()
            .convo_ai(channel, "1001")
            .build()
            .unwrap()
    };
    let mut plain = StartProperties::new(
        "ctor-plain",
        token("ctor-plain"),
        AgentUid::from(1001),
        [RemoteUid::from(2002)],
        Llm::deepseek("https://llm.example/v1/chat/completions")
            .api_key("sk")
            .model("deepseek-chat")
            .to_block(),
        MiniMaxTts::new("mm", "speech-02-turbo", "female-shaonv").to_block(),
    );
    plain.asr = Some(FengmingStt::new().to_block());
    let created = client
        .agents()
        .start(&StartAgentRequest::new("ctor-plain", plain.clone()))
        .await
        .unwrap();
    client.stop_agent(&created.agent_id).await.unwrap();

    let bare = |channel: &str| {
        StartProperties::without_vendors(
            channel,
            token(channel),
            AgentUid::from(1001),
            [RemoteUid::from(2002)],
        )
    };
    let pipeline = StartAgentRequest::new("ctor-pipeline", bare("ctor-pipeline")).pipeline("p-1");
    let created = client.agents().start(&pipeline).await.unwrap();
    client.stop_agent(&created.agent_id).await.unwrap();
    let presets = StartAgentRequest::new("ctor-presets", bare("ctor-presets"))
        .preset(Preset::OpenAiGpt4oMini)
        .preset(Preset::MiniMaxSpeech26Turbo);
    let created = client.agents().start(&presets).await.unwrap();
    client.stop_agent(&created.agent_id).await.unwrap();

    // Without vendors and without a pipeline or preset, the service refuses the join.
    let err = client
        .agents()
        .start(&StartAgentRequest::new("ctor-bare", bare("ctor-bare")))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("tts") || err.to_string().contains("llm"),
        "{err}"
    );
}
