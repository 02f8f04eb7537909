//! A stopped agent's turns all fall within its life: no turn starts or ends before its
//! `start_ts` or after its `stop_ts`, whichever way it stopped (leave, an error, idle) and
//! whatever was still queued (`APPEND` speech, a `think` waiting its turn).

use std::time::Duration;

use convoai_emulator::{Clock, Emulator, EmulatorHandle};
use serde_json::json;
use shengwang_agent::token::TokenBuilder;
use shengwang_agent::types::agents::{
    AgentStatus, Priority, SpeakRequest, StartAgentRequest, StartProperties, ThinkRequest,
};
use shengwang_agent::{Client, RetryPolicy};

fn sdk(emu: &EmulatorHandle) -> Client {
    Client::builder()
        .app_id(emu.app_id())
        .app_certificate(emu.app_certificate())
        .base_url(emu.base_url())
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

fn start_request(emu: &EmulatorHandle, name: &str, idle_timeout: u32) -> StartAgentRequest {
    let token = TokenBuilder::new(emu.app_id(), emu.app_certificate())
        .unwrap()
        .convo_ai("times", "1001")
        .build()
        .unwrap();
    fn obj<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
        serde_json::from_value(v).unwrap()
    }
    StartAgentRequest {
        name: name.into(),
        properties: StartProperties {
            channel: "times".into(),
            token,
            agent_rtc_uid: "1001".into(),
            remote_rtc_uids: vec!["2002".into()],
            idle_timeout: Some(idle_timeout),
            llm: Some(obj(json!({"url": "https://llm.example/v1", "api_key": "k",
                                  "greeting_message": "Hello, how can I help?"}))),
            tts: Some(obj(
                json!({"vendor": "cosyvoice", "params": {"api_key": "k", "model": "m", "voice": "v"}}),
            )),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// Starts an agent and gives it a greeting, speech playing now and more queued behind it.
async fn busy_agent(client: &Client, emu: &EmulatorHandle, name: &str, idle: u32) -> String {
    let agents = client.agents();
    let id = agents
        .start(&start_request(emu, name, idle))
        .await
        .unwrap()
        .agent_id
        .clone();
    let long = "a long answer that takes several seconds to play back ".repeat(4);
    agents.speak(&id, &SpeakRequest::new(&long)).await.unwrap();
    for i in 0..3 {
        let queued = SpeakRequest::new(format!("{long} ({i})")).priority(Priority::Append);
        agents.speak(&id, &queued).await.unwrap();
    }
    agents
        .think(&id, &ThinkRequest::new("and after that?"))
        .await
        .unwrap();
    id
}

/// Every turn of the stopped agent `id` lies within `[start_ts, stop_ts]` (both in seconds).
async fn assert_turns_within_life(client: &Client, id: &str, how: &str) {
    let agents = client.agents();
    let info = agents.get(id).await.unwrap();
    assert_ne!(info.status, AgentStatus::Running, "{how}: still running");
    let start_ms = info.start_ts.unwrap() * 1000;
    let stop_ms = info.stop_ts.expect("a stopped agent has a stop_ts") * 1000;
    let turns = agents.turns(id).page_size(100).all().await.unwrap().turns;
    assert!(!turns.is_empty(), "{how}: no turns");
    for t in &turns {
        let start = t.start.as_ref().and_then(|s| s.start_at).unwrap();
        let end = t.end.as_ref().and_then(|e| e.end_at).unwrap();
        assert!(
            start_ms <= start && start <= end && end <= stop_ms,
            "{how}: turn {:?} runs {start}..{end} ms, outside the agent's life {start_ms}..{stop_ms} ms",
            t.turn_id
        );
    }
}

#[tokio::test]
async fn turns_end_by_the_stop_when_the_agent_leaves() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let client = sdk(&emu);
    let id = busy_agent(&client, &emu, "leaver", 120).await;
    tokio::time::sleep(Duration::from_millis(30)).await;
    client.agents().stop(&id).await.unwrap();
    assert_turns_within_life(&client, &id, "leave").await;
}

#[tokio::test]
async fn turns_end_by_the_stop_when_the_agent_fails() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let client = sdk(&emu);
    let id = busy_agent(&client, &emu, "failer", 120).await;
    assert!(emu.fail_agent(&id, "boom"));
    assert_turns_within_life(&client, &id, "error").await;
}

#[tokio::test]
async fn turns_end_by_the_stop_when_the_agent_idles_out() {
    // A manual clock part-way into a second, so whole-second stop times and millisecond turn
    // times do not line up by chance.
    let clock = Clock::manual(1_700_000_000);
    clock.advance(Duration::from_millis(400));
    let emu = Emulator::builder()
        .clock(clock.clone())
        .idle_tick(Duration::from_millis(10))
        .spawn()
        .await
        .unwrap();
    let client = sdk(&emu);
    let id = busy_agent(&client, &emu, "idler", 5).await;
    clock.advance(Duration::from_millis(5_300));
    let agents = client.agents();
    assert_eq!(agents.get(&id).await.unwrap().status, AgentStatus::Stopped);
    assert_turns_within_life(&client, &id, "idle").await;
}

#[tokio::test]
async fn turns_end_by_the_stop_on_a_clock_between_seconds() {
    let clock = Clock::manual(1_700_000_000);
    clock.advance(Duration::from_millis(250));
    let emu = Emulator::builder()
        .clock(clock.clone())
        .spawn()
        .await
        .unwrap();
    let client = sdk(&emu);
    let id = busy_agent(&client, &emu, "between", 120).await;
    clock.advance(Duration::from_millis(500));
    client.agents().stop(&id).await.unwrap();
    assert_turns_within_life(&client, &id, "leave between seconds").await;
}
