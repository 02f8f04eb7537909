//! Token renewal on a token-expiry notice: the emulator sends `104` callbacks (duplicated,
//! resent, reordered) to an in-process receiver that hands each to
//! `client.sessions().apply_notification`; a session that opted in sends exactly one update with a
//! fresh token the emulator verifies, and reports it.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::HeaderMap;
use convoai_emulator::{
    CallbackFault, CallbackFaultRule, Emulator, EmulatorHandle, Fault, FaultRule,
};
use shengwang_agent::agentkit::{AgentUid, EventKind, RemoteUid, SessionEvent, SessionState};
use shengwang_agent::webhooks::{self, Notification, Signatures};
use shengwang_agent::{Client, RetryPolicy, Session};

const SECRET: &str = "renewal-webhook-secret";
/// A sentinel certificate: it must never show up in an event or a `Debug` output.
const CERT: &str = "5e9715e95e9715e95e9715e95e9715e9";
const LIFETIME: Duration = Duration::from_secs(600);

/// Every notification the receiver applied, with whether `apply_notification` said a session took it.
type Applied = Arc<Mutex<Vec<(Notification, bool)>>>;

/// A receiver without de-duplication of its own: every copy reaches the client.
async fn receiver(client: Client) -> (String, Applied) {
    let applied: Applied = Arc::default();
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
                        log.lock().unwrap().push((n, took));
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

async fn emulator() -> EmulatorHandle {
    Emulator::builder()
        .app_certificate(CERT)
        .webhook_retry_delay(Duration::from_millis(10))
        .spawn()
        .await
        .unwrap()
}

fn client(emu: &EmulatorHandle) -> Client {
    Client::builder()
        .app_id(emu.app_id())
        .app_certificate(CERT)
        .base_url(emu.base_url())
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

/// An emulator sending to a receiver that applies to `client`; every 104 is delivered twice.
async fn setup() -> (EmulatorHandle, Client, Applied) {
    let emu = emulator().await;
    let client = client(&emu);
    let (url, applied) = receiver(client.clone()).await;
    emu.set_webhook(Some((url, SECRET.to_owned())));
    emu.push_callback_fault(CallbackFaultRule {
        fault: CallbackFault::Duplicate,
        event_type: Some(104),
        times: 100,
    });
    (emu, client, applied)
}

async fn until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

type Events = Arc<Mutex<Vec<SessionEvent>>>;

fn record(session: &Session) -> Events {
    let events: Events = Arc::default();
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

fn count(events: &Events, kind: EventKind) -> usize {
    events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.kind() == kind)
        .count()
}

/// The answers to every update request the emulator received (faults included), in order.
fn updates(emu: &EmulatorHandle) -> Vec<Option<u16>> {
    emu.recent_requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/update"))
        .map(|r| r.status)
        .collect()
}

fn token_expiry(emu: &EmulatorHandle, id: &str) -> u64 {
    emu.agents()
        .into_iter()
        .find(|a| a.agent_id == id)
        .map(|a| a.token_expires_at)
        .unwrap()
}

/// A 104 for `agent_id` with a notice id of its own, as the service would send later.
fn late_notice(agent_id: &str, notice: &str) -> Notification {
    let body = serde_json::json!({
        "noticeId": notice, "productId": 17, "eventType": 104, "notifyMs": 1,
        "payload": {"agent_id": agent_id, "channel": "c", "start_ts": 1,
                    "message": "Task exceeded maximum lifetime"},
    });
    webhooks::parse(body.to_string().as_bytes()).unwrap()
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn an_opted_in_session_renews_once_despite_duplicate_and_reordered_notices() {
    let (emu, client, applied) = setup().await;
    let session = support::minimal_agent()
        .create_session(&client, "renew-1", AgentUid::from(7), [RemoteUid::from(8)])
        .expires_in(LIFETIME)
        .renew_token_on_expiry(true)
        .build();
    let events = record(&session);
    let id = session.start().await.unwrap();
    let first = token_expiry(&emu, &id);
    // Tokens are stamped in whole seconds: let the next one be visibly later.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // The emulator sends the 104 twice (same notice id).
    assert!(emu.expire_token(&id));
    until("the renewal", || {
        count(&events, EventKind::TokenRenewed) == 1
    })
    .await;
    // Every copy arrives; then they are delivered again, late and newest first.
    until("both copies", || {
        applied
            .lock()
            .unwrap()
            .iter()
            .filter(|(n, _)| n.event_type == 104)
            .count()
            >= 2
    })
    .await;
    let copies: Vec<Notification> = applied
        .lock()
        .unwrap()
        .iter()
        .filter(|(n, _)| n.event_type == 104)
        .map(|(n, _)| n.clone())
        .collect();
    for n in copies.iter().rev() {
        assert!(
            !client
                .sessions()
                .apply_notification(n)
                .await
                .unwrap()
                .is_taken(),
            "a replay changes nothing"
        );
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(updates(&emu), [Some(200)], "exactly one update was sent");
    let taken = applied
        .lock()
        .unwrap()
        .iter()
        .filter(|(n, t)| n.event_type == 104 && *t)
        .count();
    assert_eq!(taken, 1);
    // The emulator verified the new token for the agent's channel and uid and holds it now.
    let renewed = token_expiry(&emu, &id);
    assert!(renewed > first, "{renewed} > {first}");
    assert!(renewed.abs_diff(unix_now() + LIFETIME.as_secs()) <= 2);
    let events = events.lock().unwrap().clone();
    let renewed_event = events.iter().find_map(|e| match e {
        SessionEvent::TokenRenewed {
            agent_id,
            expires_at,
        } => Some((agent_id.clone(), *expires_at)),
        _ => None,
    });
    assert_eq!(renewed_event, Some((id.clone(), renewed)));
    let expiring: Vec<_> = events
        .iter()
        .filter(|e| matches!(e, SessionEvent::TokenExpiring { renewing: true, .. }))
        .collect();
    assert_eq!(expiring.len(), 1, "{events:?}");
    assert_eq!(session.status(), SessionState::Running);
    assert!(!events
        .iter()
        .any(|e| matches!(e, SessionEvent::TokenRenewFailed { .. })));
    session.stop().await.unwrap();
}

#[tokio::test]
async fn without_the_opt_in_or_with_a_given_token_only_the_event_is_emitted() {
    let (emu, client, applied) = setup().await;
    let plain = support::minimal_agent()
        .create_session(&client, "renew-2", AgentUid::from(7), [RemoteUid::from(8)])
        .build();
    // A token of the user's own: the session cannot sign its successor.
    let given = shengwang_agent::token::TokenBuilder::new(emu.app_id(), CERT)
        .unwrap()
        .convo_ai("renew-3", "7")
        .build()
        .unwrap();
    let own = support::minimal_agent()
        .create_session(&client, "renew-3", AgentUid::from(7), [RemoteUid::from(8)])
        .token(given)
        .renew_token_on_expiry(true)
        .build();
    let (e1, e2) = (record(&plain), record(&own));
    let (a, b) = (plain.start().await.unwrap(), own.start().await.unwrap());
    assert!(emu.expire_token(&a));
    assert!(emu.expire_token(&b));
    until("both warnings", || {
        count(&e1, EventKind::TokenExpiring) == 1 && count(&e2, EventKind::TokenExpiring) == 1
    })
    .await;
    until("every copy", || applied.lock().unwrap().len() >= 6).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    for events in [&e1, &e2] {
        let events = events.lock().unwrap();
        assert!(
            events.iter().any(|e| matches!(
                e,
                SessionEvent::TokenExpiring {
                    renewing: false,
                    ..
                }
            )),
            "{events:?}"
        );
        assert!(!events.iter().any(|e| matches!(
            e,
            SessionEvent::TokenRenewed { .. } | SessionEvent::TokenRenewFailed { .. }
        )));
    }
    assert!(updates(&emu).is_empty(), "no update was sent");
    assert_eq!(count(&e1, EventKind::TokenExpiring), 1, "once per notice");
}

#[tokio::test]
async fn a_stopped_session_renews_nothing() {
    let (emu, client, applied) = setup().await;
    let session = support::minimal_agent()
        .create_session(&client, "renew-4", AgentUid::from(7), [RemoteUid::from(8)])
        .renew_token_on_expiry(true)
        .build();
    let events = record(&session);
    let id = session.start().await.unwrap();
    session.stop().await.unwrap();
    // A warning sent before the stop, delivered after it.
    assert!(!client
        .sessions()
        .apply_notification(&late_notice(&id, "late-1"))
        .await
        .unwrap()
        .is_taken());
    // The emulator sends none for an agent that is gone.
    assert!(!emu.expire_token(&id));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(updates(&emu).is_empty());
    assert_eq!(count(&events, EventKind::TokenExpiring), 0);
    assert!(applied
        .lock()
        .unwrap()
        .iter()
        .all(|(n, _)| n.event_type != 104));
    // A dropped session is not renewed either.
    let dropped = support::minimal_agent()
        .create_session(&client, "renew-5", AgentUid::from(7), [RemoteUid::from(8)])
        .renew_token_on_expiry(true)
        .build();
    let id = dropped.start().await.unwrap();
    drop(dropped);
    assert!(!client
        .sessions()
        .apply_notification(&late_notice(&id, "late-2"))
        .await
        .unwrap()
        .is_taken());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(updates(&emu).is_empty());
}

#[tokio::test]
async fn a_failed_renewal_is_reported_and_the_session_keeps_running() {
    let (emu, client, _applied) = setup().await;
    let session = support::minimal_agent()
        .create_session(&client, "renew-6", AgentUid::from(7), [RemoteUid::from(8)])
        .renew_token_on_expiry(true)
        .build();
    let events = record(&session);
    let id = session.start().await.unwrap();
    // The service fails the update, echoing the certificate (a hostile or buggy answer).
    emu.push_fault(FaultRule {
        method: Some("POST".into()),
        path_contains: Some("/update".into()),
        fault: Fault::Respond {
            status: 500,
            body: format!(r#"{{"detail":"internal error for {CERT}","reason":"InternalError"}}"#),
        },
        times: 1,
    });
    assert!(emu.expire_token(&id));
    until("the failure", || {
        count(&events, EventKind::TokenRenewFailed) == 1
    })
    .await;
    assert_eq!(session.status(), SessionState::Running);
    let failure = events
        .lock()
        .unwrap()
        .iter()
        .find_map(|e| match e {
            SessionEvent::TokenRenewFailed { agent_id, error } => {
                Some((agent_id.clone(), error.clone()))
            }
            _ => None,
        })
        .unwrap();
    assert_eq!(failure.0, id);
    assert!(failure.1.contains("500"), "{}", failure.1);
    assert!(
        !failure.1.contains(CERT),
        "the certificate leaked: {}",
        failure.1
    );
    assert_eq!(updates(&emu), [Some(500)]);
    // The next warning renews: a failure does not leave the session stuck. The update is
    // slow now, and applying the notice still returns at once.
    emu.push_fault(FaultRule {
        method: Some("POST".into()),
        path_contains: Some("/update".into()),
        fault: Fault::Delay(Duration::from_millis(800)),
        times: 1,
    });
    let started = Instant::now();
    assert!(client
        .sessions()
        .apply_notification(&late_notice(&id, "second-warning"))
        .await
        .unwrap()
        .is_taken());
    // A second warning while that renewal runs joins it rather than sending another.
    assert!(client
        .sessions()
        .apply_notification(&late_notice(&id, "third-warning"))
        .await
        .unwrap()
        .is_taken());
    assert!(
        started.elapsed() < Duration::from_millis(100),
        "apply_notification waited for the renewal: {:?}",
        started.elapsed()
    );
    until("the renewal", || {
        count(&events, EventKind::TokenRenewed) == 1
    })
    .await;
    assert_eq!(updates(&emu), [Some(500), Some(200)]);
    // Nothing any event or Debug output shows holds the certificate or a token.
    let shown = format!(
        "{:?} {session:?} {client:?} {:?}",
        events.lock().unwrap(),
        support::minimal_agent()
            .create_session(&client, "x", AgentUid::from(7), [RemoteUid::from(8)])
            .renew_token_on_expiry(true)
    );
    assert!(!shown.contains(CERT), "{shown}");
    assert!(!shown.contains("007eJ"), "a token leaked: {shown}");
    session.stop().await.unwrap();
}

#[test]
fn a_blocking_session_renews_too() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (emu, blocking, applied) = rt.block_on(async {
        let emu = emulator().await;
        let blocking = shengwang_agent::blocking::Client::builder()
            .app_id(emu.app_id())
            .app_certificate(CERT)
            .base_url(emu.base_url())
            .build()
            .unwrap();
        let (url, applied) = receiver(blocking.as_async().clone()).await;
        emu.set_webhook(Some((url, SECRET.to_owned())));
        (emu, blocking, applied)
    });
    let session = support::minimal_agent()
        .create_session(
            &blocking,
            "renew-7",
            AgentUid::from(7),
            [RemoteUid::from(8)],
        )
        .expires_in(LIFETIME)
        .renew_token_on_expiry(true)
        .build();
    let renewed = Arc::new(Mutex::new(Vec::new()));
    let seen = renewed.clone();
    session.on(EventKind::TokenRenewed, move |e| {
        seen.lock().unwrap().push(e)
    });
    let id = session.start().unwrap();
    assert!(emu.expire_token(&id));
    let deadline = Instant::now() + Duration::from_secs(10);
    while renewed.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "no renewal");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(updates(&emu), [Some(200)]);
    assert_eq!(session.status(), SessionState::Running);
    assert_eq!(
        applied.lock().unwrap().iter().filter(|(_, t)| *t).count(),
        1
    );
    session.stop().unwrap();
    drop(session);
    drop(blocking);
    drop(emu);
    drop(rt);
}
