//! Sessions learn from notification callbacks: the emulator sends them (duplicated), an
//! in-process receiver verifies and hands each to `client.sessions().apply_notification`, and the live
//! session running the agent changes exactly once.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::HeaderMap;
use convoai_emulator::{CallbackFault, CallbackFaultRule, Emulator, EmulatorHandle};
use shengwang_agent::agentkit::{AgentUid, RemoteUid, SessionEvent, SessionState};
use shengwang_agent::webhooks::{self, Signatures};
use shengwang_agent::{Client, RetryPolicy};

const SECRET: &str = "sessions-webhook-secret";

/// A receiver without its own de-duplication, so every duplicate reaches the client.
async fn receiver(client: Client) -> (String, Arc<Mutex<Vec<bool>>>) {
    let applied = Arc::new(Mutex::new(Vec::new()));
    let log = applied.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let (client, log) = (client.clone(), log.clone());
            async move {
                match webhooks::verify_and_parse(SECRET, Signatures::from_headers(&headers), &body)
                {
                    Ok(n) => {
                        let took = client
                            .sessions()
                            .apply_notification(&n)
                            .await
                            .unwrap()
                            .is_taken();
                        log.lock().unwrap().push(took);
                        (axum::http::StatusCode::OK, "{}")
                    }
                    Err(_) => (axum::http::StatusCode::UNAUTHORIZED, "{}"),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, applied)
}

async fn until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every event of `session` from now on.
fn record(session: &shengwang_agent::Session) -> Arc<Mutex<Vec<SessionEvent>>> {
    let events = Arc::new(Mutex::new(Vec::new()));
    let mut stream = session.subscribe();
    let seen = events.clone();
    tokio::spawn(async move {
        use futures::StreamExt;
        while let Some(e) = stream.next().await {
            seen.lock().unwrap().push(e);
        }
    });
    events
}

async fn setup() -> (EmulatorHandle, Client, Arc<Mutex<Vec<bool>>>) {
    // The emulator needs the receiver's URL and the receiver needs the client: bind the
    // emulator first without a target, then point it at the receiver.
    let emu = Emulator::builder()
        .webhook_retry_delay(Duration::from_millis(10))
        .spawn()
        .await
        .unwrap();
    let client = support::client(&emu, RetryPolicy::none());
    let (url, applied) = receiver(client.clone()).await;
    emu.set_webhook(Some((url, SECRET.to_owned())));
    emu.push_callback_fault(CallbackFaultRule {
        fault: CallbackFault::Duplicate,
        event_type: None,
        times: 100,
    });
    (emu, client, applied)
}

#[tokio::test]
async fn an_agent_stopped_elsewhere_stops_its_session_once() {
    let (emu, client, applied) = setup().await;
    let session = support::minimal_agent()
        .create_session(&client, "hooked", AgentUid::from(1), [RemoteUid::from(2)])
        .build();
    let events = record(&session);
    let id = session.start().await.unwrap();
    // Someone else stops it: only the callback can tell the session.
    let other = support::client(&emu, RetryPolicy::none());
    other.stop_agent(&id).await.unwrap();
    until("the session to learn it stopped", || {
        session.status() == SessionState::Stopped
    })
    .await;
    // Let every duplicate arrive.
    until("duplicates", || applied.lock().unwrap().len() >= 8).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let taken = applied.lock().unwrap().iter().filter(|t| **t).count();
    assert_eq!(
        taken,
        1,
        "one callback changed the session: {:?}",
        applied.lock().unwrap()
    );
    let events = events.lock().unwrap().clone();
    let count = |f: fn(&SessionEvent) -> bool| events.iter().filter(|e| f(e)).count();
    assert_eq!(
        count(|e| matches!(e, SessionEvent::AgentLeft { .. })),
        1,
        "{events:?}"
    );
    assert_eq!(
        count(|e| matches!(e, SessionEvent::Stopped { .. })),
        1,
        "{events:?}"
    );
    assert!(!session.may_have_agent());
    // Its own stop now has nothing left to do.
    assert!(session.stop().await.is_err() || session.status() == SessionState::Stopped);
}

#[tokio::test]
async fn a_failed_agent_and_module_errors_reach_the_session_once_each() {
    let (emu, client, applied) = setup().await;
    let session = support::minimal_agent()
        .create_session(&client, "hooked-2", AgentUid::from(1), [RemoteUid::from(2)])
        .build();
    let events = record(&session);
    let id = session.start().await.unwrap();
    assert!(emu.inject_agent_error(&id, "llm", 503, "Insufficient balance."));
    until("the agent error", || {
        events
            .lock()
            .unwrap()
            .iter()
            .any(|e| matches!(e, SessionEvent::AgentError { .. }))
    })
    .await;
    assert_eq!(
        session.status(),
        SessionState::Running,
        "an error does not stop it"
    );
    assert!(emu.fail_agent(&id, "RTC connection error"));
    until("the failure", || session.status() == SessionState::Error).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let events = events.lock().unwrap();
    let errors = events
        .iter()
        .filter(|e| matches!(e, SessionEvent::AgentError { message, .. } if message.contains("Insufficient balance")))
        .count();
    let left = events
        .iter()
        .filter(|e| matches!(e, SessionEvent::AgentLeft { reason, .. } if reason.contains("RTC connection error")))
        .count();
    assert_eq!((errors, left), (1, 1), "{events:?}");
    assert_eq!(applied.lock().unwrap().iter().filter(|t| **t).count(), 2);
}

#[tokio::test]
async fn events_for_agents_no_session_runs_change_nothing() {
    let (emu, client, applied) = setup().await;
    // Started through the REST layer: no session owns it.
    let other = support::client(&emu, RetryPolicy::none());
    let req = support::start_request(&emu, "orphan-hook", "k");
    let id = other.agents().start(&req).await.unwrap().body.agent_id;
    other.stop_agent(&id).await.unwrap();
    until("callbacks", || applied.lock().unwrap().len() >= 4).await;
    assert!(applied.lock().unwrap().iter().all(|t| !t));
    drop(client);
}
