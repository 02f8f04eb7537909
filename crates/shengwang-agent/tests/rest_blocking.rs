//! The blocking client: the same calls from plain threads, and a clear refusal inside a
//! runtime.

use convoai_emulator::{Emulator, EmulatorHandle};
use serde_json::json;
use shengwang_agent::blocking::Client;
use shengwang_agent::token::TokenBuilder;
use shengwang_agent::types::agents::*;
use shengwang_agent::types::phone_numbers::*;
use shengwang_agent::types::telephony::*;
use shengwang_agent::Error;

fn start_request(emu: &EmulatorHandle, name: &str, channel: &str) -> StartAgentRequest {
    let token = TokenBuilder::new(emu.app_id(), emu.app_certificate())
        .unwrap()
        .convo_ai(channel, "7")
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
            agent_rtc_uid: "7".into(),
            remote_rtc_uids: vec!["8".into()],
            llm: Some(obj(json!({"url": "https://llm.example/v1"}))),
            tts: Some(obj(
                json!({"vendor": "stepfun", "params": {"api_key": "k", "model": "m", "voice_id": "v"}}),
            )),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn clients(emu: &EmulatorHandle) -> Vec<(&'static str, Client)> {
    let base = || {
        Client::builder()
            .app_id(emu.app_id())
            .app_certificate(emu.app_certificate())
            .base_url(emu.base_url())
    };
    let token = TokenBuilder::new(emu.app_id(), emu.app_certificate())
        .unwrap()
        .convo_ai("x", "")
        .build()
        .unwrap();
    vec![
        ("app", base().build().unwrap()),
        (
            "basic",
            base()
                .basic(emu.customer_id(), emu.customer_secret())
                .build()
                .unwrap(),
        ),
        ("token", base().token(token).build().unwrap()),
    ]
}

#[test]
fn every_endpoint_blocking_in_all_three_auth_modes() {
    let emu = Emulator::builder().start().unwrap();
    for (mode, client) in clients(&emu) {
        let agents = client.agents();
        let id = agents
            .start(&start_request(&emu, mode, mode))
            .unwrap()
            .agent_id
            .clone();
        assert_eq!(agents.get(&id).unwrap().status, AgentStatus::Running);
        agents
            .speak(&id, &SpeakRequest::new(format!("hi from {mode}")))
            .unwrap();
        agents.interrupt(&id).unwrap();
        agents.think(&id, &ThinkRequest::new("think")).unwrap();
        agents.update(&id, &UpdateAgentRequest::default()).unwrap();
        assert_eq!(
            agents.history(&id).unwrap().contents[0].content,
            format!("hi from {mode}")
        );
        assert_eq!(
            agents
                .turns(&id)
                .page_size(5)
                .page(1)
                .unwrap()
                .total_turn_count,
            Some(2)
        );
        let page = agents.list().channel(mode).page().unwrap();
        assert_eq!(page.items.len(), 1);
        // One page per agent: the iterator follows the cursor to the end.
        let all: Vec<_> = agents
            .list()
            .limit(1)
            .iter()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(all.len(), emu.agents().len());
        agents.stop(&id).unwrap();
        assert!(agents.stop(&id).unwrap_err().is_not_found());
        client.stop_agent(&id).unwrap();

        let call = CallRequest {
            name: format!("call-{mode}"),
            sip: Sip {
                to_number: "+14155550100".into(),
                from_number: "+14155550199".into(),
                rtc_uid: "1".into(),
                rtc_token: "t".into(),
            },
            pipeline_id: None,
            properties: json!({"channel": "c", "token": "t", "agent_rtc_uid": "2"}),
        };
        let call_id = client.telephony().call_out(&call).unwrap().agent_id.clone();
        client.telephony().hangup(&call_id).unwrap();
        assert_eq!(
            client.telephony().get(&call_id).unwrap().state,
            Some(CallState::Hangup)
        );
        assert!(!client.telephony().list().page().unwrap().items.is_empty());
        let calls: Vec<_> = client
            .telephony()
            .list()
            .limit(1)
            .iter()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(calls.iter().any(|c| c.agent_id == call_id), "{calls:?}");

        let number = format!("+1415555{:04}", mode.len());
        client
            .phone_numbers()
            .add(&AddPhoneNumber {
                provider: Provider::Twilio,
                phone_number: number.clone(),
                label: mode.into(),
                inbound: None,
                outbound: Some(true),
                inbound_config: json!({}),
                outbound_config: json!({}),
            })
            .unwrap();
        client
            .phone_numbers()
            .update(&number, &UpdatePhoneNumber::default())
            .unwrap();
        assert_eq!(
            client
                .phone_numbers()
                .get(&number)
                .unwrap()
                .label
                .as_deref(),
            Some(mode)
        );
        client.phone_numbers().delete(&number).unwrap();
        assert!(client.phone_numbers().list().unwrap().is_empty());
    }
}

#[test]
fn wrong_credentials_are_401_blocking() {
    let emu = Emulator::builder().start().unwrap();
    let client = Client::builder()
        .app_id(emu.app_id())
        .app_certificate("00000000000000000000000000000000")
        .base_url(emu.base_url())
        .build()
        .unwrap();
    assert_eq!(client.agents().get("X").unwrap_err().status(), Some(401));
}

#[test]
fn inside_a_runtime_it_refuses_with_a_clear_error_instead_of_panicking() {
    let emu = Emulator::builder().start().unwrap();
    let client = Client::builder()
        .app_id(emu.app_id())
        .app_certificate(emu.app_certificate())
        .base_url(emu.base_url())
        .build()
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        match client.agents().get("X") {
            Err(e @ Error::BlockingInAsync) => assert!(e.to_string().contains("spawn_blocking")),
            other => panic!("expected BlockingInAsync, got {other:?}"),
        }
        let built = Client::builder()
            .app_id(emu.app_id())
            .app_certificate(emu.app_certificate())
            .build();
        assert!(matches!(built, Err(Error::BlockingInAsync)));
        // Dropping a client inside async code must not panic either.
        drop(client);
    });
}
