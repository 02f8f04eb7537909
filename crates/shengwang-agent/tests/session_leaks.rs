//! One deterministic regression test per way a session used to leave an agent running that
//! nothing could name or stop (each comment names the cause it pins down; each failed on the
//! session code before the fix, or did not compile because the API to do it right was
//! missing).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use convoai_emulator::{AgentStatus as EmuStatus, Emulator, EmulatorHandle, Fault, FaultRule};
use futures::StreamExt;
use shengwang_agent::agentkit::{
    Agent, AgentUid, EventKind, RemoteUid, SessionEvent, SessionState,
};
use shengwang_agent::vendors::{Llm, StepFunTts};
use shengwang_agent::{Client, Error, RetryPolicy};

fn agent() -> Agent {
    Agent::new()
        .with_llm(Llm::custom("https://llm.example/v1"))
        .unwrap()
        .with_tts(StepFunTts::new("k", "m", "v"))
        .unwrap()
}

fn client(emu: &EmulatorHandle, retries: u32) -> Client {
    Client::builder()
        .app_id(emu.app_id())
        .app_certificate(emu.app_certificate())
        .base_url(emu.base_url())
        .retry(
            RetryPolicy::none()
                .max_retries(retries)
                .base_delay(Duration::from_millis(2))
                .max_retry_after(Duration::from_millis(20)),
        )
        .build()
        .unwrap()
}

fn running(emu: &EmulatorHandle) -> Vec<String> {
    emu.agents()
        .into_iter()
        .filter(|a| a.status == EmuStatus::Running)
        .map(|a| a.agent_id)
        .collect()
}

fn uids() -> (AgentUid, [RemoteUid; 1]) {
    (AgentUid::from(1001), [RemoteUid::from(2002)])
}

/// Waits (bounded) until `done` holds.
async fn eventually(what: &str, done: impl Fn() -> bool) {
    for _ in 0..300 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("not reached within 3 s: {what}");
}

fn join_fault(fault: Fault) -> FaultRule {
    FaultRule::new(fault).path_contains("/join")
}

// Cause 1: an ambiguous start that runs out of retries (a 503 after the service created the
// agent, then a 504) left the session in `error` without an id; stop() was refused and the
// agent ran on.
#[tokio::test]
async fn an_ambiguous_start_out_of_retries_can_still_be_stopped() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let c = client(&emu, 1);
    emu.push_fault(join_fault(Fault::StatusAfterStateChange { status: 503 }));
    emu.push_fault(join_fault(Fault::status(504)));
    let (a, r) = uids();
    let s = agent().create_session(&c, "room", a, r).build();
    assert!(s.start().await.is_err());
    assert_eq!(s.status(), SessionState::Error);
    assert!(
        s.may_have_agent(),
        "the session must remember the agent may exist"
    );
    assert_eq!(running(&emu).len(), 1);
    s.stop().await.unwrap();
    assert_eq!(running(&emu), Vec::<String>::new());
    assert_eq!(s.status(), SessionState::Stopped);
}

// Cause 1, second half: after such a start, start() again got 409 on its own name forever.
// Now the 409 is the evidence, and the session adopts the one agent that is its own.
#[tokio::test]
async fn a_restart_after_an_ambiguous_start_adopts_the_agent_it_created() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let c = client(&emu, 0);
    emu.push_fault(join_fault(Fault::DropAfterStateChange));
    let (a, r) = uids();
    let s = agent().create_session(&c, "room", a, r).build();
    assert!(s.start().await.is_err());
    let created = running(&emu);
    assert_eq!(created.len(), 1);
    let id = s.start().await.unwrap();
    assert_eq!(
        vec![id],
        created,
        "adopted the agent the first start created"
    );
    assert_eq!(emu.agents().len(), 1, "no second agent");
}

// Cause 1, cancellation: a start cancelled after the service created the agent.
#[tokio::test]
async fn a_start_cancelled_after_the_agent_was_created_is_cleaned_up() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let c = client(&emu, 0);
    emu.push_fault(join_fault(Fault::DelayAfterStateChange(
        Duration::from_millis(500),
    )));
    let (a, r) = uids();
    let s = agent().create_session(&c, "room", a, r).build();
    let cancelled = tokio::time::timeout(Duration::from_millis(150), s.start()).await;
    assert!(cancelled.is_err(), "the start was cancelled");
    assert_eq!(s.status(), SessionState::Error);
    assert!(s.may_have_agent());
    assert_eq!(running(&emu).len(), 1);
    s.stop().await.unwrap();
    assert!(running(&emu).is_empty());
}

// Cause 2: a restart after a failed stop cleared the id and got 409: the old agent was
// orphaned.
#[tokio::test]
async fn a_restart_after_a_failed_stop_stops_the_old_agent_first() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let c = client(&emu, 0);
    let (a, r) = uids();
    let s = agent().create_session(&c, "room", a, r).build();
    let old = s.start().await.unwrap();
    emu.push_fault(FaultRule::new(Fault::status(503)).path_contains("/leave"));
    assert!(s.stop().await.is_err());
    assert_eq!(s.status(), SessionState::Error);
    let new = s.start().await.unwrap();
    assert_ne!(old, new);
    assert_eq!(running(&emu), vec![new]);
}

// Cause 3: cancelling while a StateChanged handler was awaited left the session in
// `starting` forever. Handlers no longer hold up the session, and a cancelled operation
// never leaves it in a transitional state.
#[tokio::test]
async fn a_handler_that_never_returns_does_not_wedge_the_session() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let c = client(&emu, 0);
    let (a, r) = uids();
    let s = agent().create_session(&c, "room", a, r).build();
    s.on(EventKind::StateChanged, |_| std::future::pending::<()>());
    let started = tokio::time::timeout(Duration::from_secs(2), s.start()).await;
    assert!(matches!(started, Ok(Ok(_))), "start finished");
    assert_eq!(s.status(), SessionState::Running);
    emu.set_latency(Duration::from_millis(300));
    let _ = tokio::time::timeout(Duration::from_millis(50), s.stop()).await;
    assert_eq!(s.status(), SessionState::Error, "never left in stopping");
    emu.set_latency(Duration::ZERO);
    s.stop().await.unwrap();
    assert!(running(&emu).is_empty());
}

// Cause 4: the lookup after an ambiguous start ignored the name; another agent started in the
// same channel made it fail with 409 and orphan its agent. Agents of the client's other
// sessions are now excluded, so the session finds its own.
#[tokio::test]
async fn an_ambiguous_start_next_to_another_session_finds_its_own_agent() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let c = client(&emu, 1);
    let (a, r) = uids();
    let neighbour = agent()
        .create_session(&c, "room", a.clone(), r.clone())
        .build();
    let theirs = neighbour.start().await.unwrap();
    emu.push_fault(join_fault(Fault::StatusAfterStateChange { status: 503 }));
    let s = agent().create_session(&c, "room", a, r).build();
    let ours = s.start().await.unwrap();
    assert_ne!(ours, theirs, "never adopts the neighbour's agent");
    let record = emu
        .agents()
        .into_iter()
        .find(|x| x.agent_id == ours)
        .unwrap();
    assert_eq!(record.name, s.name());
    s.stop().await.unwrap();
    assert_eq!(running(&emu), vec![theirs]);
}

// Cause 4, second half: with an agent the client knows nothing about in the channel, the old
// lookup guessed. Now the session refuses to guess and names both candidates.
#[tokio::test]
async fn an_unprovable_agent_is_reported_with_its_candidates_not_adopted() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let c = client(&emu, 1);
    let (a, r) = uids();
    let stranger = agent()
        .create_session(&client(&emu, 0), "room", a.clone(), r.clone())
        .build();
    let foreign = stranger.start().await.unwrap();
    // The stranger's client is another process as far as `c` knows.
    emu.push_fault(join_fault(Fault::StatusAfterStateChange { status: 503 }));
    let s = agent().create_session(&c, "room", a, r).build();
    let err = s.start().await.unwrap_err();
    let Error::AgentUnresolved { candidates, .. } = &err else {
        panic!("expected AgentUnresolved, got {err}");
    };
    assert_eq!(candidates.len(), 2);
    assert!(candidates.contains(&foreign));
    assert!(s.may_have_agent());
    assert!(s.id().is_none(), "nothing adopted");
    assert!(err.to_string().contains(&foreign));
}

// Cause 5: stop_on_drop spawned on the current runtime, so the stop was discarded when that
// runtime ended; and it acted only in `running`.
#[test]
fn stop_on_drop_survives_the_runtime_ending() {
    let emu = Emulator::builder().start().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let c = rt.block_on(async { client(&emu, 0) });
    let (a, r) = uids();
    rt.block_on(async {
        let s = agent()
            .create_session(&c, "room", a, r)
            .stop_on_drop(true)
            .build();
        s.start().await.unwrap();
        // dropped here, and the runtime right after
    });
    drop(rt);
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    while !running(&emu).is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(running(&emu).is_empty(), "the agent was stopped");
}

// Cause 5: a session in `error` with an agent id (its stop failed) was not stopped on drop.
#[tokio::test]
async fn stop_on_drop_also_stops_an_agent_whose_stop_failed() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let c = client(&emu, 0);
    let (a, r) = uids();
    let s = agent()
        .create_session(&c, "room", a, r)
        .stop_on_drop(true)
        .build();
    s.start().await.unwrap();
    emu.push_fault(FaultRule::new(Fault::status(503)).path_contains("/leave"));
    assert!(s.stop().await.is_err());
    drop(s);
    eventually("agent stopped", || running(&emu).is_empty()).await;
}

// Cause 5: the last client handle dropped right after its sessions (the end of `main`) waits
// for their stops, so the process exiting does not cut them off.
#[test]
fn dropping_the_last_client_waits_for_stops_of_dropped_sessions() {
    let emu = Emulator::builder().start().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    emu.set_latency(Duration::from_millis(100));
    rt.block_on(async {
        let c = client(&emu, 0);
        let (a, r) = uids();
        let s = agent()
            .create_session(&c, "room", a, r)
            .stop_on_drop(true)
            .build();
        s.start().await.unwrap();
        drop(s);
        drop(c);
        // No waiting here: the drop of `c` did it.
        assert!(
            running(&emu).is_empty(),
            "stopped before the client drop returned"
        );
    });
}

// Cause 5: the blocking session had no stop_on_drop; now it stops synchronously.
#[test]
fn a_blocking_session_stops_on_drop_synchronously() {
    let emu = Emulator::builder().start().unwrap();
    let c = shengwang_agent::blocking::Client::builder()
        .app_id(emu.app_id())
        .app_certificate(emu.app_certificate())
        .base_url(emu.base_url())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let (a, r) = uids();
    let s = agent()
        .create_session(&c, "room", a, r)
        .stop_on_drop(true)
        .build();
    s.start().unwrap();
    assert_eq!(running(&emu).len(), 1);
    drop(s);
    assert!(running(&emu).is_empty(), "stopped when drop returned");
}

// Cause 6: a handler that needed its session held a strong clone: a cycle, so the session
// was never freed and its stop_on_drop never ran. A weak handle breaks the cycle.
#[tokio::test]
async fn a_handler_holding_a_weak_handle_does_not_keep_its_session_alive() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let c = client(&emu, 0);
    let (a, r) = uids();
    let s = agent()
        .create_session(&c, "room", a, r)
        .stop_on_drop(true)
        .build();
    let weak = s.downgrade();
    let seen = Arc::new(AtomicUsize::new(0));
    let n = seen.clone();
    s.on(EventKind::Started, move |_| {
        let weak = weak.clone();
        let n = n.clone();
        async move {
            if let Some(s) = weak.upgrade() {
                assert_eq!(s.status(), SessionState::Running);
                n.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    s.start().await.unwrap();
    eventually("handler ran", || seen.load(Ordering::SeqCst) == 1).await;
    let probe = s.downgrade();
    drop(s);
    assert!(probe.upgrade().is_none(), "the session was freed");
    eventually("agent stopped", || running(&emu).is_empty()).await;
}

// Cause 7: handlers were awaited inline, so an Error handler that retried stop() nested one
// level per failure; 2 000 failures overflowed the stack. Now they queue, never nest.
#[tokio::test]
async fn an_error_handler_retrying_stop_two_thousand_times_does_not_nest() {
    const FAILURES: u32 = 2_000;
    let emu = Emulator::builder().spawn().await.unwrap();
    let c = client(&emu, 0);
    let (a, r) = uids();
    let s = agent().create_session(&c, "room", a, r).build();
    s.start().await.unwrap();
    emu.push_fault(
        FaultRule::new(Fault::status(400))
            .path_contains("/leave")
            .times(FAILURES),
    );
    let weak = s.downgrade();
    let errors = Arc::new(AtomicUsize::new(0));
    let n = errors.clone();
    s.on(EventKind::Error, move |_| {
        let weak = weak.clone();
        let n = n.clone();
        async move {
            n.fetch_add(1, Ordering::SeqCst);
            if let Some(s) = weak.upgrade() {
                let _ = s.stop().await;
            }
        }
    });
    assert!(s.stop().await.is_err());
    for _ in 0..1_000 {
        if s.status() == SessionState::Stopped {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(s.status(), SessionState::Stopped);
    assert_eq!(errors.load(Ordering::SeqCst), FAILURES as usize);
    assert!(running(&emu).is_empty());
}

// Cause 8: a cancelled operation moved to `error` without a StateChanged event, so events
// disagreed with status().
#[tokio::test]
async fn a_cancelled_operation_emits_its_state_change() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let c = client(&emu, 0);
    let (a, r) = uids();
    let s = agent().create_session(&c, "room", a, r).build();
    let mut events = s.subscribe();
    s.start().await.unwrap();
    emu.set_latency(Duration::from_millis(300));
    assert!(tokio::time::timeout(Duration::from_millis(50), s.stop())
        .await
        .is_err());
    emu.set_latency(Duration::ZERO);
    let mut last = None;
    while let Ok(Some(e)) = tokio::time::timeout(Duration::from_millis(100), events.next()).await {
        if let SessionEvent::StateChanged { to, .. } = e {
            last = Some(to);
        }
    }
    assert_eq!(last, Some(SessionState::Error));
    assert_eq!(s.status(), SessionState::Error);
}

// Cause 10: resume accepted anything: "" or an unknown id became a running session, and a
// stopped agent resumed as running.
#[tokio::test]
async fn resume_checks_the_agent_and_the_unchecked_variant_does_not() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let c = client(&emu, 0);
    let (a, r) = uids();
    let b = || agent().create_session(&c, "room", a.clone(), r.clone());
    assert!(matches!(
        b().resume("").await,
        Err(Error::InvalidInput { .. })
    ));
    assert!(matches!(
        b().resume("NO_SUCH_AGENT").await,
        Err(Error::NotResumable { .. })
    ));
    let s = b().build();
    let id = s.start().await.unwrap();
    let resumed = b().resume(&id).await.unwrap();
    assert_eq!(resumed.status(), SessionState::Running);
    s.stop().await.unwrap();
    let err = b().resume(&id).await.unwrap_err();
    assert!(matches!(err, Error::NotResumable { .. }), "{err}");
    assert!(err.to_string().contains("STOPPED"), "{err}");
    let unchecked = b().resume_unchecked("anything");
    assert_eq!(unchecked.status(), SessionState::Running);
}

// The session registry: shutdown stops every live session's agent, the way a server does on
// SIGTERM, and reports none left.
#[tokio::test]
async fn shutdown_stops_every_live_session() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let c = client(&emu, 0);
    let (a, r) = uids();
    let sessions: Vec<_> = (0..20)
        .map(|i| {
            agent()
                .create_session(&c, format!("room-{i}"), a.clone(), r.clone())
                .build()
        })
        .collect();
    for s in &sessions {
        s.start().await.unwrap();
    }
    // One whose start was unclear: shutdown resolves it too.
    emu.push_fault(join_fault(Fault::DropAfterStateChange));
    let unclear = agent().create_session(&c, "room-x", a, r).build();
    assert!(unclear.start().await.is_err());
    assert_eq!(running(&emu).len(), 21);
    let report = c.sessions().shutdown(Duration::from_secs(5)).await;
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.stopped, 21);
    assert!(running(&emu).is_empty());
    assert!(sessions.iter().all(|s| s.status() == SessionState::Stopped));
}

// Events of a session are delivered in the order of its state changes.
#[tokio::test]
async fn handlers_see_state_changes_in_order() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let c = client(&emu, 0);
    let (a, r) = uids();
    let s = agent().create_session(&c, "room", a, r).build();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    s.on(EventKind::StateChanged, move |e| {
        let log = log.clone();
        async move {
            if let SessionEvent::StateChanged { to, .. } = e {
                tokio::time::sleep(Duration::from_millis(1)).await;
                log.lock().unwrap().push(to);
            }
        }
    });
    for _ in 0..5 {
        s.start().await.unwrap();
        s.stop().await.unwrap();
    }
    eventually("20 events", || seen.lock().unwrap().len() == 20).await;
    use SessionState::*;
    let expected: Vec<_> = [Starting, Running, Stopping, Stopped]
        .into_iter()
        .cycle()
        .take(20)
        .collect();
    assert_eq!(*seen.lock().unwrap(), expected);
}
