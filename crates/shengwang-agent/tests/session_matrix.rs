//! Every (state × operation) pair against the emulator, async and blocking: allowed ones
//! reach the service, refused ones send nothing and say why.

mod support;

use std::time::Duration;

use convoai_emulator::{Emulator, EmulatorHandle, Fault, FaultRule};
use shengwang_agent::agentkit::{AgentUid, RemoteUid};
use shengwang_agent::agentkit::{Operation, Session, SessionState};
use shengwang_agent::types::agents::UpdateAgentRequest;
use shengwang_agent::{Client, Error, RetryPolicy};

fn sent(emu: &EmulatorHandle) -> u64 {
    emu.request_counts().iter().map(|c| c.count).sum()
}

async fn call(s: &Session, op: Operation) -> shengwang_agent::Result<()> {
    match op {
        Operation::Start => s.start().await.map(|_| ()),
        Operation::Stop => s.stop().await,
        Operation::Say => s.say("hi").send().await,
        Operation::Interrupt => s.interrupt().await,
        Operation::Update => {
            s.update()
                .properties(UpdateAgentRequest::default())
                .send()
                .await
        }
        Operation::Think => s.think("t").send().await,
        Operation::RenewToken => s.renew_token(Duration::from_secs(600)).await,
        Operation::History => s.history().await.map(|_| ()),
        Operation::Info => s.info().await.map(|_| ()),
        Operation::Turns => s.turns(1).await.map(|_| ()),
    }
}

/// A session driven into `state` (starting/stopping are held open by latency).
async fn session_in(emu: &EmulatorHandle, c: &Client, state: SessionState) -> Session {
    emu.set_latency(Duration::ZERO);
    let s = support::minimal_agent()
        .create_session(c, "m", AgentUid::from(1), [RemoteUid::from(2)])
        .build();
    match state {
        SessionState::Idle => {}
        SessionState::Running => {
            s.start().await.unwrap();
        }
        SessionState::Stopped => {
            s.start().await.unwrap();
            s.stop().await.unwrap();
        }
        SessionState::Error => {
            emu.push_fault(FaultRule::new(Fault::status(400)).path_contains("/join"));
            s.start().await.unwrap_err();
        }
        SessionState::Starting | SessionState::Stopping => {
            if state == SessionState::Stopping {
                s.start().await.unwrap();
            }
            emu.set_latency(Duration::from_millis(300));
            let bg = s.clone();
            tokio::spawn(async move {
                let _ = if state == SessionState::Starting {
                    bg.start().await.map(|_| ())
                } else {
                    bg.stop().await
                };
            });
            while s.status() != state {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        other => unreachable!("no way to reach {other} in this test"),
    }
    assert_eq!(s.status(), state);
    s
}

/// Our table (agentkit spec §6.2, plus: a failed stop can be retried, a failed restart forgets the old id): which pairs may run, given the state.
fn allowed(state: SessionState, op: Operation) -> bool {
    use Operation as O;
    use SessionState as S;
    match (state, op) {
        (S::Idle | S::Stopped | S::Error, O::Start) => true,
        (S::Running, _) => op != O::Start,
        // Reads of the current run's agent: its id survives stopping and stopped; a failed
        // start (error) and a start in flight have none.
        (S::Stopping | S::Stopped, O::History | O::Info | O::Turns) => true,
        _ => false,
    }
}

#[tokio::test]
async fn every_state_and_operation_pair() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let c = support::client(&emu, RetryPolicy::none());
    let states = [
        SessionState::Idle,
        SessionState::Starting,
        SessionState::Running,
        SessionState::Stopping,
        SessionState::Stopped,
        SessionState::Error,
    ];
    let ops = [
        Operation::Start,
        Operation::Stop,
        Operation::Say,
        Operation::Interrupt,
        Operation::Update,
        Operation::Think,
        Operation::RenewToken,
        Operation::History,
        Operation::Info,
        Operation::Turns,
    ];
    for state in states {
        for op in ops {
            let s = session_in(&emu, &c, state).await;
            let before = sent(&emu);
            let result = call(&s, op).await;
            if allowed(state, op) {
                // History of a stopped (or stopping) agent is the service's 404; the rest succeeds.
                match (&result, state, op) {
                    (
                        Err(e),
                        SessionState::Stopped | SessionState::Stopping,
                        Operation::History,
                    ) => {
                        assert!(e.is_not_found())
                    }
                    (r, _, _) => assert!(r.is_ok(), "{state} × {op}: {r:?}"),
                }
            } else {
                match &result {
                    Err(Error::State {
                        operation,
                        state: st,
                    }) => assert_eq!((*operation, *st), (op, state)),
                    Err(Error::NoAgentId { operation }) => assert_eq!(*operation, op),
                    other => panic!("{state} × {op} should be refused: {other:?}"),
                }
                assert_eq!(sent(&emu), before, "{state} × {op} sent a request");
            }
        }
    }
}

#[test]
fn blocking_sessions_follow_the_same_table() {
    use shengwang_agent::blocking::Client;
    let emu = Emulator::builder().start().unwrap();
    let c = Client::builder()
        .app_id(emu.app_id())
        .app_certificate(emu.app_certificate())
        .base_url(emu.base_url())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let s = support::minimal_agent()
        .create_session(&c, "b", AgentUid::from(1), [RemoteUid::from(2)])
        .build();
    // idle
    assert!(matches!(s.stop(), Err(Error::State { .. })));
    assert!(matches!(s.say("x").send(), Err(Error::State { .. })));
    assert!(matches!(s.history(), Err(Error::NoAgentId { .. })));
    // running
    s.start().unwrap();
    assert!(matches!(s.start(), Err(Error::State { .. })));
    s.say("x").send().unwrap();
    s.interrupt().unwrap();
    s.update()
        .properties(UpdateAgentRequest::default())
        .send()
        .unwrap();
    s.think("t").send().unwrap();
    s.renew_token(Duration::from_secs(60)).unwrap();
    s.history().unwrap();
    s.info().unwrap();
    // stopped
    s.stop().unwrap();
    assert!(matches!(s.stop(), Err(Error::State { .. })));
    assert!(matches!(s.interrupt(), Err(Error::State { .. })));
    s.info().unwrap();
    // error after a failed restart
    emu.push_fault(FaultRule::new(Fault::status(400)).path_contains("/join"));
    assert!(s.start().is_err());
    assert!(matches!(s.info(), Err(Error::NoAgentId { .. })));
    s.start().unwrap();
    assert_eq!(s.status(), SessionState::Running);
}
