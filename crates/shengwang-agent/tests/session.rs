//! `Session` against the emulator: lifecycle, state rules, concurrency,
//! cancellation, recovery and events.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use convoai_emulator::{AgentStatus as EmuStatus, Emulator, EmulatorHandle, Fault, FaultRule};
use futures::StreamExt;
use shengwang_agent::agentkit::{Agent, EventKind, Operation, SessionEvent, SessionState};
use shengwang_agent::agentkit::{AgentUid, RemoteUid};
use shengwang_agent::types::agents::{Priority, Role, UpdateAgentRequest};
use shengwang_agent::vendors::{FengmingStt, Llm, MiniMaxTts};
use shengwang_agent::{Client, Error, RetryPolicy};

fn agent() -> Agent {
    Agent::new()
        .with_instructions("You are helpful.")
        .with_llm(Llm::aliyun("https://llm.example/v1").api_key("sk"))
        .unwrap()
        .with_tts(MiniMaxTts::new("k", "speech-02-turbo", "female-shaonv"))
        .unwrap()
        .with_stt(FengmingStt::new())
        .unwrap()
}

fn client(emu: &EmulatorHandle, retry: RetryPolicy) -> Client {
    Client::builder()
        .app_id(emu.app_id())
        .app_certificate(emu.app_certificate())
        .base_url(emu.cn_base_url())
        .retry(
            retry
                .base_delay(Duration::from_millis(2))
                .max_retry_after(Duration::from_millis(20)),
        )
        .build()
        .unwrap()
}

fn joins(emu: &EmulatorHandle) -> u64 {
    emu.request_counts()
        .iter()
        .filter(|c| c.endpoint.ends_with("/join"))
        .map(|c| c.count)
        .sum()
}

#[tokio::test]
async fn a_whole_session_and_its_events_in_order() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let c = client(&emu, RetryPolicy::standard());
    let session = agent()
        .create_session(&c, "room-1", AgentUid::from(1001), [RemoteUid::from(2002)])
        .idle_timeout(30)
        .build();
    let mut events = session.subscribe();
    assert_eq!(session.status(), SessionState::Idle);
    let id = session.start().await.unwrap();
    assert_eq!(session.id().as_deref(), Some(id.as_str()));
    assert_eq!(session.status(), SessionState::Running);
    session
        .say("Hello!")
        .priority(Priority::Append)
        .interruptable(false)
        .send()
        .await
        .unwrap();
    session.interrupt().await.unwrap();
    session.think("user wants tea").send().await.unwrap();
    session
        .update()
        .properties(UpdateAgentRequest::default())
        .send()
        .await
        .unwrap();
    let history = session.history().await.unwrap();
    assert_eq!(history.contents[0].role, Role::Assistant);
    assert_eq!(history.contents[0].content, "Hello!");
    assert_eq!(session.info().await.unwrap().status.to_string(), "RUNNING");
    session.stop().await.unwrap();
    assert_eq!(session.status(), SessionState::Stopped);
    assert_eq!(emu.agents()[0].status, EmuStatus::Stopped);
    // The old run's id still answers info after a stop.
    assert_eq!(session.info().await.unwrap().status.to_string(), "STOPPED");

    let mut seen = Vec::new();
    for _ in 0..6 {
        seen.push(events.next().await.unwrap());
    }
    use SessionState::*;
    assert_eq!(
        seen,
        [
            SessionEvent::StateChanged {
                from: Idle,
                to: Starting
            },
            SessionEvent::StateChanged {
                from: Starting,
                to: Running
            },
            SessionEvent::Started {
                agent_id: id.clone()
            },
            SessionEvent::StateChanged {
                from: Running,
                to: Stopping
            },
            SessionEvent::StateChanged {
                from: Stopping,
                to: Stopped
            },
            SessionEvent::Stopped {
                agent_id: id.clone()
            },
        ]
    );
}

#[tokio::test]
async fn refused_operations_send_nothing() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let c = client(&emu, RetryPolicy::standard());
    let s = agent()
        .create_session(&c, "room", AgentUid::from(1), [RemoteUid::from(2)])
        .build();
    for r in [s.stop().await, s.say("x").send().await, s.interrupt().await] {
        assert!(
            matches!(
                r,
                Err(Error::State {
                    state: SessionState::Idle,
                    ..
                })
            ),
            "{r:?}"
        );
    }
    assert!(matches!(
        s.history().await,
        Err(Error::NoAgentId {
            operation: Operation::History
        })
    ));
    assert!(emu.request_counts().is_empty());
    s.start().await.unwrap();
    assert!(matches!(
        s.start().await,
        Err(Error::State {
            state: SessionState::Running,
            ..
        })
    ));
    let err = s.say("").send().await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }));
}

#[tokio::test]
async fn concurrent_starts_send_exactly_one_join() {
    let emu = Emulator::builder()
        .latency(Duration::from_millis(50))
        .spawn()
        .await
        .unwrap();
    let c = client(&emu, RetryPolicy::standard());
    let s = Arc::new(
        agent()
            .create_session(&c, "room", AgentUid::from(1), [RemoteUid::from(2)])
            .build(),
    );
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.start().await })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(Error::State { state, .. }) => assert!(matches!(
                state,
                SessionState::Starting | SessionState::Running
            )),
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(joins(&emu), 1);
}

#[tokio::test]
async fn a_cancelled_start_never_leaves_the_session_starting() {
    let emu = Emulator::builder()
        .latency(Duration::from_millis(300))
        .spawn()
        .await
        .unwrap();
    let c = client(&emu, RetryPolicy::standard());
    let s = agent()
        .create_session(&c, "room", AgentUid::from(1), [RemoteUid::from(2)])
        .build();
    assert!(tokio::time::timeout(Duration::from_millis(50), s.start())
        .await
        .is_err());
    assert_eq!(s.status(), SessionState::Error);
    emu.set_latency(Duration::ZERO);
    tokio::time::sleep(Duration::from_millis(350)).await;
    // Retry after the cancel: the name is taken by the agent the cancelled request created,
    // and the REST layer's lookup returns that agent instead of failing.
    s.start().await.unwrap();
    assert_eq!(s.status(), SessionState::Running);
    let running = emu
        .agents()
        .into_iter()
        .filter(|a| a.status == EmuStatus::Running)
        .count();
    assert_eq!(running, 1, "no second agent");
}

#[tokio::test]
async fn a_failed_stop_can_be_retried() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let c = client(&emu, RetryPolicy::none());
    let s = agent()
        .create_session(&c, "room", AgentUid::from(1), [RemoteUid::from(2)])
        .build();
    s.start().await.unwrap();
    emu.push_fault(FaultRule::new(Fault::status(500)).path_contains("/leave"));
    assert_eq!(s.stop().await.unwrap_err().status(), Some(500));
    assert_eq!(s.status(), SessionState::Error);
    s.stop().await.unwrap();
    assert_eq!(s.status(), SessionState::Stopped);
    assert_eq!(emu.agents()[0].status, EmuStatus::Stopped);
}

#[tokio::test]
async fn an_ambiguous_start_knows_its_agent_and_resume_takes_over_an_agent() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let c = client(&emu, RetryPolicy::standard());
    emu.push_fault(FaultRule::new(Fault::DropAfterStateChange).path_contains("/join"));
    let s = agent()
        .create_session(&c, "room", AgentUid::from(1), [RemoteUid::from(2)])
        .build();
    let id = s.start().await.unwrap();
    assert_eq!(emu.agents().len(), 1);
    assert_eq!(emu.agents()[0].agent_id, id);

    let other = agent()
        .create_session(&c, "room", AgentUid::from(1), [RemoteUid::from(2)])
        .resume(&id)
        .await
        .unwrap();
    other.say("from another handle").send().await.unwrap();
    other.stop().await.unwrap();
    assert_eq!(emu.agents()[0].status, EmuStatus::Stopped);
}

#[tokio::test]
async fn after_a_failed_restart_the_old_id_is_not_used() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let c = client(&emu, RetryPolicy::none());
    let s = agent()
        .create_session(&c, "room", AgentUid::from(1), [RemoteUid::from(2)])
        .build();
    s.start().await.unwrap();
    s.stop().await.unwrap();
    emu.push_fault(FaultRule::new(Fault::status(400)).path_contains("/join"));
    assert!(s.start().await.is_err());
    assert_eq!((s.status(), s.id()), (SessionState::Error, None));
    assert!(matches!(s.history().await, Err(Error::NoAgentId { .. })));
    assert!(matches!(s.info().await, Err(Error::NoAgentId { .. })));
}

#[tokio::test]
async fn handlers_run_in_order_isolated_and_removable() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let c = client(&emu, RetryPolicy::none());
    let s = agent()
        .create_session(&c, "room", AgentUid::from(1), [RemoteUid::from(2)])
        .build();
    let started = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(AtomicUsize::new(0));
    s.on(EventKind::Started, |_| async { panic!("a broken handler") });
    let n = started.clone();
    let id = s.on(EventKind::Started, move |_| {
        let n = n.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            n.fetch_add(1, Ordering::SeqCst);
        }
    });
    let e = errors.clone();
    s.on(EventKind::Error, move |ev| {
        let e = e.clone();
        async move {
            if let SessionEvent::Error {
                operation: Operation::Say,
                ..
            } = ev
            {
                e.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    s.start().await.unwrap();
    // Handlers run on their own queue: the session does not wait for them.
    eventually(|| started.load(Ordering::SeqCst) == 1).await;
    assert_eq!(s.status(), SessionState::Running);
    // say fails (the agent was stopped behind the session's back): an error event.
    c.stop_agent(&s.id().unwrap()).await.unwrap();
    assert!(s.say("hi").send().await.is_err());
    eventually(|| errors.load(Ordering::SeqCst) == 1).await;
    assert!(s.off(id));
    assert!(!s.off(id));
    s.stop().await.unwrap(); // 404: already gone counts as stopped
    s.start().await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        started.load(Ordering::SeqCst),
        1,
        "removed handler not called"
    );
}

/// Waits (bounded) until `done` holds.
async fn eventually(done: impl Fn() -> bool) {
    for _ in 0..200 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("condition not reached within 2 s");
}

#[tokio::test]
async fn renew_token_sends_a_token_the_service_accepts() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let c = client(&emu, RetryPolicy::none());
    let s = agent()
        .create_session(&c, "room", AgentUid::from(1), [RemoteUid::from(2)])
        .expires_in(Duration::from_secs(60))
        .build();
    s.start().await.unwrap();
    s.renew_token(Duration::from_secs(3600)).await.unwrap();
    assert!(matches!(
        s.renew_token(Duration::from_secs(0)).await,
        Err(Error::InvalidInput { .. })
    ));
}

#[tokio::test]
async fn dropping_a_running_session_stops_it_only_when_asked() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let c = client(&emu, RetryPolicy::none());
    let kept = agent()
        .create_session(&c, "a", AgentUid::from(1), [RemoteUid::from(2)])
        .build();
    kept.start().await.unwrap();
    drop(kept);
    let stopped = agent()
        .create_session(&c, "b", AgentUid::from(1), [RemoteUid::from(2)])
        .stop_on_drop(true)
        .build();
    let id = stopped.start().await.unwrap();
    drop(stopped);
    for _ in 0..100 {
        if emu
            .agents()
            .iter()
            .any(|a| a.agent_id == id && a.status == EmuStatus::Stopped)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let by_channel = |ch: &str| {
        emu.agents()
            .into_iter()
            .find(|a| a.channel == ch)
            .unwrap()
            .status
    };
    assert_eq!(by_channel("a"), EmuStatus::Running);
    assert_eq!(by_channel("b"), EmuStatus::Stopped);
}

#[tokio::test]
async fn unnamed_sessions_of_one_agent_never_collide() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let c = client(&emu, RetryPolicy::none());
    let a = agent().with_name("support-bot");
    let sessions: Vec<_> = (0..20)
        .map(|i| {
            a.create_session(&c, format!("r{i}"), AgentUid::from(1), [RemoteUid::from(2)])
                .build()
        })
        .collect();
    let starts = futures::future::join_all(sessions.iter().map(|s| s.start())).await;
    assert!(starts.iter().all(|r| r.is_ok()), "{starts:?}");
    assert!(sessions
        .iter()
        .all(|s| s.name().starts_with("support-bot-")));
    assert_eq!(emu.agents().len(), 20);
}

/// `start_request` is the join `start` sends: same name, placement and settings, a token the
/// service accepts, and nothing sent to build it.
#[tokio::test]
async fn start_request_is_what_start_sends() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let c = client(&emu, RetryPolicy::none());
    let session = agent()
        .create_session(&c, "dry-run", AgentUid::from(1001), [RemoteUid::from(2002)])
        .idle_timeout(45)
        .enable_string_uid(false)
        .build();
    let request = session.start_request().unwrap();
    assert_eq!(joins(&emu), 0, "nothing sent");
    request.validate().unwrap();
    assert_eq!(request.name, session.name());
    let p = &request.properties;
    assert_eq!(
        (p.channel.as_str(), p.agent_rtc_uid.as_str()),
        ("dry-run", "1001")
    );
    assert_eq!(p.remote_rtc_uids, ["2002"]);
    assert_eq!(
        (p.idle_timeout, p.enable_string_uid),
        (Some(45), Some(false))
    );
    assert_eq!(
        serde_json::to_value(p.llm.as_ref().unwrap()).unwrap()["system_messages"][0]["content"],
        "You are helpful."
    );
    shengwang_agent::token::verify(
        &p.token,
        &shengwang_agent::token::Validation::new(emu.app_id(), emu.app_certificate())
            .unwrap()
            .require_rtc_join("dry-run", "1001"),
    )
    .unwrap();
    // The request the service then receives is accepted as built.
    let created = c.agents().start(&request).await.unwrap();
    assert_eq!(
        emu.agents()
            .iter()
            .find(|a| a.agent_id == created.agent_id)
            .unwrap()
            .name,
        session.name()
    );
}
