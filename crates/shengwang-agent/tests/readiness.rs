//! `session.wait_ready(deadline)`: a started agent is in its channel only later. The emulator
//! holds new agents in `STARTING`; the wait learns the truth from status reads (with backoff)
//! and from agent-joined / agent-left notices applied through `client.sessions().apply_notification`,
//! whichever is conclusive first. Every wait here is bounded.

mod support;

use std::future::IntoFuture;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::HeaderMap;
use convoai_emulator::{AgentStatus as EmuStatus, Emulator, EmulatorHandle};
use shengwang_agent::agentkit::{
    AgentUid, NotReadyCause, ReadyVia, RemoteUid, SessionEvent, SessionState,
};
use shengwang_agent::webhooks::{self, Signatures};
use shengwang_agent::{Client, Error, RetryPolicy, Session};

const SECRET: &str = "readiness-webhook-secret";
const HOLD: Duration = Duration::from_millis(300);
/// Timer and scheduling slack on a busy 2-core machine.
const SLACK: Duration = Duration::from_millis(250);

async fn emulator(hold: Duration) -> (EmulatorHandle, Client) {
    let emu = Emulator::builder()
        .starting_time(hold)
        .webhook_retry_delay(Duration::from_millis(10))
        .spawn()
        .await
        .unwrap();
    let client = support::client(&emu, RetryPolicy::none());
    (emu, client)
}

/// Points the emulator's callbacks at an in-process receiver that verifies them and hands
/// them to `client`.
async fn wire_notices(emu: &EmulatorHandle, client: &Client) {
    let client = client.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let client = client.clone();
            async move {
                match webhooks::verify_and_parse(SECRET, Signatures::from_headers(&headers), &body)
                {
                    Ok(n) => {
                        let _ = client.sessions().apply_notification(&n).await;
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
    emu.set_webhook(Some((url, SECRET.to_owned())));
}

fn session(client: &Client, channel: &str) -> Session {
    support::minimal_agent()
        .create_session(client, channel, AgentUid::from(1), [RemoteUid::from(2)])
        .build()
}

/// Every event of `session` from now on.
fn record(session: &Session) -> Arc<Mutex<Vec<SessionEvent>>> {
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

fn status(emu: &EmulatorHandle, id: &str) -> EmuStatus {
    let agents = emu.agents();
    agents.iter().find(|a| a.agent_id == id).unwrap().status
}

async fn until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A signed-and-verified-looking agent-left notice, as a receiver would hand it on.
fn left_notice(session: &Session, agent_id: &str, notice: &str) -> webhooks::Notification {
    let body = serde_json::json!({
        "noticeId": notice, "productId": 17, "eventType": 102, "notifyMs": 1,
        "payload": {"agent_id": agent_id, "name": session.name(), "channel": session.channel(),
                    "start_ts": 1, "stop_ts": 2, "status": "STOPPED", "message": "OK"},
    });
    webhooks::parse(body.to_string().as_bytes()).unwrap()
}

#[tokio::test]
async fn polling_alone_answers_once_the_agent_runs_not_before() {
    let (emu, client) = emulator(HOLD).await;
    let s = session(&client, "poll");
    let events = record(&s);
    let began = Instant::now();
    let id = s.start().await.unwrap();
    assert_eq!(status(&emu, &id), EmuStatus::Starting);
    let ready = s.wait_ready(Duration::from_secs(5)).await.unwrap();
    assert_eq!(ready.agent_id, id);
    assert_eq!(ready.via, ReadyVia::Status);
    assert!(began.elapsed() >= HOLD, "returned before the hold ended");
    assert_eq!(status(&emu, &id), EmuStatus::Running);
    until("the Ready event", || {
        events.lock().unwrap().iter().any(
            |e| matches!(e, SessionEvent::Ready { agent_id, via: ReadyVia::Status } if *agent_id == id),
        )
    })
    .await;
    // Ready already: a second wait answers at once, without a second event.
    let again = s.wait_ready(Duration::from_secs(5)).await.unwrap();
    assert_eq!(again.via, ReadyVia::Status);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let readies = events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e, SessionEvent::Ready { .. }))
        .count();
    assert_eq!(readies, 1);
}

#[tokio::test]
async fn with_notices_wired_the_agent_joined_notice_makes_it_ready() {
    let (emu, client) = emulator(HOLD).await;
    wire_notices(&emu, &client).await;
    let s = session(&client, "notice");
    let began = Instant::now();
    let id = s.start().await.unwrap();
    let ready = s
        .wait_ready(Duration::from_secs(5))
        .notices(true)
        .await
        .unwrap();
    assert_eq!(
        (ready.agent_id.as_str(), ready.via),
        (id.as_str(), ReadyVia::Notice)
    );
    assert!(began.elapsed() >= HOLD);
    assert_eq!(status(&emu, &id), EmuStatus::Running);
}

#[tokio::test]
async fn expecting_notices_that_never_come_running_alone_is_not_enough() {
    let (_emu, client) = emulator(Duration::ZERO).await;
    let s = session(&client, "no-notice");
    s.start().await.unwrap();
    let deadline = Duration::from_millis(400);
    let began = Instant::now();
    let e = s.wait_ready(deadline).notices(true).await.unwrap_err();
    assert!(e.is_timeout(), "{e}");
    assert!(e.to_string().contains("no agent-joined notice"), "{e}");
    assert!(began.elapsed() >= deadline && began.elapsed() < deadline + SLACK);
}

#[tokio::test]
async fn an_agent_left_notice_before_the_joined_one_is_an_error() {
    let (_emu, client) = emulator(Duration::from_secs(30)).await;
    // The notice came before the wait began.
    let early = session(&client, "left-early");
    let id = early.start().await.unwrap();
    assert!(client
        .sessions()
        .apply_notification(&left_notice(&early, &id, "left-1"))
        .await
        .unwrap()
        .is_taken());
    let e = early
        .wait_ready(Duration::from_secs(5))
        .notices(true)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::NotReady { agent_id, cause: NotReadyCause::Left, .. } if *agent_id == id),
        "{e:?}"
    );
    // The notice comes during the wait.
    let late = session(&client, "left-late");
    let id = late.start().await.unwrap();
    let began = Instant::now();
    let notice = left_notice(&late, &id, "left-2");
    let (result, ()) = tokio::join!(
        late.wait_ready(Duration::from_secs(5))
            .notices(true)
            .into_future(),
        async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            assert!(client
                .sessions()
                .apply_notification(&notice)
                .await
                .unwrap()
                .is_taken());
        }
    );
    match result {
        Err(Error::NotReady {
            cause: NotReadyCause::Left,
            message,
            ..
        }) => assert_eq!(message, "OK"),
        other => panic!("{other:?}"),
    }
    assert!(began.elapsed() < Duration::from_secs(2));
    assert_eq!(late.status(), SessionState::Stopped);
}

#[tokio::test]
async fn an_agent_failing_during_the_wait_is_an_error() {
    let (emu, client) = emulator(Duration::from_secs(30)).await;
    let s = session(&client, "fails");
    let id = s.start().await.unwrap();
    let began = Instant::now();
    let (result, failed) =
        tokio::join!(s.wait_ready(Duration::from_secs(5)).into_future(), async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            emu.fail_agent(&id, "RTC connection error")
        });
    assert!(failed);
    match result {
        Err(Error::NotReady {
            cause: NotReadyCause::Failed,
            message,
            ..
        }) => assert!(message.contains("RTC connection error"), "{message}"),
        other => panic!("{other:?}"),
    }
    assert!(began.elapsed() < Duration::from_secs(3));
}

/// A `FAILED` status read (no notices) moves the session as a failure notice would: state
/// `error`, no agent left, and the same events.
#[tokio::test]
async fn a_failed_status_read_moves_the_session_to_error_like_the_notice() {
    let (emu, client) = emulator(Duration::from_secs(30)).await;
    let s = session(&client, "fails-polled");
    let id = s.start().await.unwrap();
    let events = record(&s);
    let (result, failed) =
        tokio::join!(s.wait_ready(Duration::from_secs(5)).into_future(), async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            emu.fail_agent(&id, "RTC connection error")
        });
    assert!(failed);
    assert!(
        matches!(
            result,
            Err(Error::NotReady {
                cause: NotReadyCause::Failed,
                ..
            })
        ),
        "{result:?}"
    );
    assert_eq!(s.status(), SessionState::Error);
    assert!(!s.may_have_agent());
    until("the agent-left event", || {
        events
            .lock()
            .unwrap()
            .iter()
            .any(|e| matches!(e, SessionEvent::AgentLeft { .. }))
    })
    .await;
    let seen = events.lock().unwrap().clone();
    assert_eq!(
        seen[0],
        SessionEvent::StateChanged {
            from: SessionState::Running,
            to: SessionState::Error
        }
    );
    assert!(
        matches!(&seen[1], SessionEvent::AgentLeft { agent_id, reason }
            if *agent_id == id && reason.contains("RTC connection error")),
        "{seen:?}"
    );
}

#[tokio::test]
async fn a_deadline_shorter_than_the_start_is_a_timeout_on_time() {
    let (_emu, client) = emulator(Duration::from_secs(2)).await;
    let s = session(&client, "slow");
    let id = s.start().await.unwrap();
    let deadline = Duration::from_millis(300);
    let began = Instant::now();
    let e = s.wait_ready(deadline).await.unwrap_err();
    let took = began.elapsed();
    assert!(e.is_timeout(), "{e:?}");
    assert!(e.to_string().contains("STARTING"), "{e}");
    assert!(e.to_string().contains(&id), "{e}");
    assert!(took >= deadline && took < deadline + SLACK, "{took:?}");
}

#[tokio::test]
async fn recovering_is_an_event_and_the_wait_ends_when_it_runs_again() {
    let (emu, client) = emulator(Duration::ZERO).await;
    let s = session(&client, "recovers");
    let events = record(&s);
    let id = s.start().await.unwrap();
    assert!(emu.set_recovering(&id));
    let recovered_at = Mutex::new(None);
    let (result, ()) =
        tokio::join!(s.wait_ready(Duration::from_secs(5)).into_future(), async {
            until("the recovering event", || {
                events.lock().unwrap().iter().any(
                    |e| matches!(e, SessionEvent::AgentRecovering { agent_id } if *agent_id == id),
                )
            })
            .await;
            tokio::time::sleep(Duration::from_millis(100)).await;
            *recovered_at.lock().unwrap() = Some(Instant::now());
            assert!(emu.recover(&id));
        });
    let ready = result.unwrap();
    assert_eq!(ready.via, ReadyVia::Status);
    let recovered_at = recovered_at.lock().unwrap().unwrap();
    assert!(Instant::now() >= recovered_at);
    until("the Ready event", || {
        events
            .lock()
            .unwrap()
            .iter()
            .any(|e| matches!(e, SessionEvent::Ready { .. }))
    })
    .await;
    let kinds: Vec<_> = events.lock().unwrap().iter().map(|e| e.kind()).collect();
    let recovering = kinds
        .iter()
        .position(|k| format!("{k:?}") == "AgentRecovering");
    let readied = kinds.iter().position(|k| format!("{k:?}") == "Ready");
    assert!(recovering < readied, "{kinds:?}");
}

#[tokio::test]
async fn a_session_without_a_started_agent_is_refused() {
    let (_emu, client) = emulator(Duration::ZERO).await;
    let s = session(&client, "idle");
    let e = s.wait_ready(Duration::from_secs(1)).await.unwrap_err();
    assert!(matches!(e, Error::NoAgentId { .. }), "{e:?}");
}

#[test]
fn the_blocking_session_waits_too() {
    let emu = Emulator::builder().starting_time(HOLD).start().unwrap();
    let client = shengwang_agent::blocking::Client::builder()
        .app_id(emu.app_id())
        .app_certificate(emu.app_certificate())
        .base_url(emu.base_url())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let s = support::minimal_agent()
        .create_session(&client, "blocking", AgentUid::from(1), [RemoteUid::from(2)])
        .build();
    let began = Instant::now();
    let id = s.start().unwrap();
    let ready = s.wait_ready(Duration::from_secs(5)).send().unwrap();
    assert_eq!(
        (ready.agent_id.as_str(), ready.via),
        (id.as_str(), ReadyVia::Status)
    );
    assert!(began.elapsed() >= HOLD);
    s.stop().unwrap();
}
