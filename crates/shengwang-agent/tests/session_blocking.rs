//! The blocking `Session`: same behaviour as the async one, from plain threads.

use std::sync::{Arc, Mutex};

use convoai_emulator::{AgentStatus as EmuStatus, Emulator, Fault, FaultRule};
use shengwang_agent::agentkit::{Agent, EventKind, SessionEvent, SessionState};
use shengwang_agent::agentkit::{AgentUid, RemoteUid};
use shengwang_agent::blocking::Client;
use shengwang_agent::types::agents::Priority;
use shengwang_agent::vendors::{CosyVoiceTts, Llm, XfyunStt};
use shengwang_agent::RetryPolicy;

fn agent() -> Agent {
    Agent::new()
        .with_llm(Llm::deepseek("https://llm.example/v1"))
        .unwrap()
        .with_tts(CosyVoiceTts::new("k", "cosyvoice-v1", "longxiaochun"))
        .unwrap()
        .with_stt(XfyunStt::new("k", "app", "s"))
        .unwrap()
}

#[test]
fn a_blocking_session_lifecycle_with_events() {
    let emu = Emulator::builder().start().unwrap();
    let client = Client::builder()
        .app_id(emu.app_id())
        .app_certificate(emu.app_certificate())
        .base_url(emu.base_url())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let s = agent()
        .create_session(&client, "room", AgentUid::from(7), [RemoteUid::from(8)])
        .build();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    s.on(EventKind::StateChanged, move |e| {
        if let SessionEvent::StateChanged { to, .. } = e {
            log.lock().unwrap().push(to);
        }
    });
    assert!(matches!(
        s.say("x").send(),
        Err(shengwang_agent::Error::State { .. })
    ));
    let id = s.start().unwrap();
    s.say("hello").send().unwrap();
    s.interrupt().unwrap();
    s.think("t").send().unwrap();
    assert_eq!(s.history().unwrap().contents.len(), 2);
    assert_eq!(s.info().unwrap().agent_id, id);

    emu.push_fault(FaultRule::new(Fault::status(503)).path_contains("/leave"));
    assert!(s.stop().is_err());
    assert_eq!(s.status(), SessionState::Error);
    s.stop().unwrap();
    assert_eq!(emu.agents()[0].status, EmuStatus::Stopped);
    use SessionState::*;
    // Handlers run on their own queue; wait (bounded) for it to drain.
    for _ in 0..200 {
        if seen.lock().unwrap().len() >= 6 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(
        *seen.lock().unwrap(),
        [Starting, Running, Stopping, Error, Stopping, Stopped]
    );

    let resumed = agent()
        .create_session(&client, "room", AgentUid::from(7), [RemoteUid::from(8)])
        .resume(s.start().unwrap())
        .unwrap();
    resumed.stop().unwrap();
    assert_eq!(s.id(), resumed.id());
}

#[test]
fn a_blocking_session_iterates_its_turns() {
    // The blocking twin of `Session::turn_stream`: the same turns as `all_turns`, fetched as
    // the iteration reaches them; a refused read is one error, then the end.
    let emu = Emulator::builder().start().unwrap();
    let client = Client::builder()
        .app_id(emu.app_id())
        .app_certificate(emu.app_certificate())
        .base_url(emu.base_url())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let s = agent()
        .create_session(&client, "turns", AgentUid::from(7), [RemoteUid::from(8)])
        .build();
    let mut idle = s.turn_iter();
    assert!(matches!(
        idle.next(),
        Some(Err(shengwang_agent::Error::NoAgentId {
            operation: shengwang_agent::agentkit::Operation::Turns
        }))
    ));
    assert!(idle.next().is_none());
    s.start().unwrap();
    for text in ["one", "two", "three"] {
        s.say(text).priority(Priority::Append).send().unwrap();
    }
    let all = s.all_turns().unwrap().turns;
    assert_eq!(all.len(), 3);
    let iterated: Vec<_> = s.turn_iter().collect::<Result<_, _>>().unwrap();
    assert_eq!(iterated, all);
    s.stop().unwrap();
}
