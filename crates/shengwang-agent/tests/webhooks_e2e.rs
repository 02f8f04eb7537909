//! End to end: the emulator sends notification callbacks to an in-process receiver (the
//! SDK's axum endpoint, or a raw recorder), with duplicate, reordered, failing and mis-signed
//! deliveries.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use convoai_emulator::{
    CallbackFault, CallbackFaultRule, CallbackRecord, Clock, DeliveryState, Emulator,
    EmulatorHandle,
};
use serde_json::Value;
use shengwang_agent::webhooks::{self, Event, LeaveReason, Notification, Receiver, Verifier};
use shengwang_agent::RetryPolicy;

const SECRET: &str = "e2e-webhook-secret";

/// What reached the receiver: every arrival (raw) and every handled notification.
#[derive(Default)]
struct Seen {
    arrivals: Mutex<Vec<(HeaderMap, Value)>>,
    handled: Mutex<Vec<Notification>>,
}

/// The SDK's endpoint at `/hook`, recording arrivals before it.
async fn sdk_receiver() -> (String, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let (s1, s2) = (seen.clone(), seen.clone());
    let app = axum::Router::new()
        .route(
            "/hook",
            webhooks::axum::post(
                Receiver::new(Verifier::new(SECRET)),
                move |n: Notification| {
                    let s = s2.clone();
                    async move { s.handled.lock().unwrap().push(n) }
                },
            ),
        )
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                let s = s1.clone();
                async move {
                    let (parts, body) = req.into_parts();
                    let bytes = axum::body::to_bytes(body, 1 << 20)
                        .await
                        .unwrap_or_default();
                    let v = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                    s.arrivals.lock().unwrap().push((parts.headers.clone(), v));
                    next.run(axum::extract::Request::from_parts(
                        parts,
                        axum::body::Body::from(bytes),
                    ))
                    .await
                }
            },
        ));
    (serve(app).await, seen)
}

/// A receiver that answers `statuses` in turn (then 200), after `delay`, recording each body.
async fn scripted_receiver(statuses: Vec<u16>, delay: Duration) -> (String, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let s = seen.clone();
    let script = Arc::new(Mutex::new(statuses.into_iter()));
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let (s, script) = (s.clone(), script.clone());
            async move {
                tokio::time::sleep(delay).await;
                let v = serde_json::from_slice(&body).unwrap_or(Value::Null);
                s.arrivals.lock().unwrap().push((headers, v));
                let status = script.lock().unwrap().next().unwrap_or(200);
                (StatusCode::from_u16(status).unwrap(), "{}")
            }
        }),
    );
    (serve(app).await, seen)
}

async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    url
}

async fn emulator(url: &str, clock: Clock) -> EmulatorHandle {
    Emulator::builder()
        .clock(clock)
        .webhook(url, SECRET)
        .webhook_timeout(Duration::from_millis(400))
        .webhook_retry_delay(Duration::from_millis(10))
        .spawn()
        .await
        .unwrap()
}

/// Starts an agent with labels through the SDK; returns its id.
async fn start(emu: &EmulatorHandle, name: &str, idle_timeout: Option<u32>) -> String {
    let client = support::client(emu, RetryPolicy::none());
    let mut req = support::start_request(emu, name, "vendor-key");
    req.properties.labels = Some([("session".to_owned(), format!("s-{name}"))].into());
    req.properties.idle_timeout = idle_timeout;
    client.agents().start(&req).await.unwrap().body.agent_id
}

async fn stop(emu: &EmulatorHandle, id: &str) {
    support::client(emu, RetryPolicy::none())
        .agents()
        .stop(id)
        .await
        .unwrap();
}

/// Waits (bounded) until every logged callback has settled and `n` were logged.
async fn settled(emu: &EmulatorHandle, n: usize) -> Vec<CallbackRecord> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = emu.callbacks();
        if log.len() >= n && log.iter().all(|r| r.state != DeliveryState::Pending) {
            return log;
        }
        assert!(
            Instant::now() < deadline,
            "callbacks did not settle: {log:#?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn types(notes: &[Notification]) -> Vec<u32> {
    let mut t: Vec<u32> = notes.iter().map(|n| n.event_type).collect();
    t.sort();
    t
}

#[tokio::test]
async fn lifecycle_callbacks_reach_the_sdk_endpoint_typed_and_signed() {
    let (url, seen) = sdk_receiver().await;
    let emu = emulator(&url, Clock::system()).await;
    let id = start(&emu, "life", None).await;
    stop(&emu, &id).await;
    let log = settled(&emu, 5).await;
    assert!(
        log.iter()
            .all(|r| r.state == DeliveryState::Delivered && r.product_id == 17),
        "{log:#?}"
    );
    assert!(log.iter().all(
        |r| r.agent_id.as_deref() == Some(id.as_str()) && r.channel.as_deref() == Some("wire")
    ));
    let handled = seen.handled.lock().unwrap();
    assert_eq!(types(&handled), vec![101, 102, 103, 111, 112]);
    for n in handled.iter() {
        assert_eq!(n.agent_id().map(|a| a.as_str()), Some(id.as_str()));
        assert_eq!(
            n.labels().and_then(|l| l.get("session")),
            Some("s-life"),
            "{:?}",
            n.event
        );
        assert!(!matches!(n.event, Event::Other(_)), "{:?}", n.event);
    }
    let left = handled.iter().find_map(|n| match &n.event {
        Event::AgentLeft(l) => Some(l.clone()),
        _ => None,
    });
    assert_eq!(left.unwrap().reason(), LeaveReason::Stopped);
    // Both signature headers on every arrival.
    for (h, _) in seen.arrivals.lock().unwrap().iter() {
        assert_eq!(h["agora-signature"].len(), 40);
        assert_eq!(h["agora-signature-v2"].len(), 64);
    }
}

#[tokio::test]
async fn duplicates_and_reordering_are_handled_once_each() {
    let (url, seen) = sdk_receiver().await;
    let emu = emulator(&url, Clock::system()).await;
    emu.push_callback_fault(CallbackFaultRule {
        fault: CallbackFault::Reorder,
        event_type: Some(101),
        times: 1,
    });
    emu.push_callback_fault(CallbackFaultRule {
        fault: CallbackFault::Duplicate,
        event_type: None,
        times: 10,
    });
    let a = start(&emu, "dup-a", None).await;
    let b = start(&emu, "dup-b", None).await;
    stop(&emu, &a).await;
    stop(&emu, &b).await;
    let log = settled(&emu, 10).await;
    let arrivals = seen.arrivals.lock().unwrap();
    let handled = seen.handled.lock().unwrap();
    // Every notice arrived at least twice (or was reordered), but was handled exactly once.
    assert!(arrivals.len() >= 19, "{} arrivals", arrivals.len());
    assert_eq!(handled.len(), 10);
    let mut ids: Vec<&str> = handled.iter().map(|n| n.notice_id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 10);
    // The held 101 of agent a arrived after the next notice (b's 101).
    let order: Vec<(u64, String)> = arrivals
        .iter()
        .map(|(_, v)| {
            (
                v["eventType"].as_u64().unwrap(),
                v["payload"]["agent_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let first_a_join = order
        .iter()
        .position(|(t, id)| *t == 101 && *id == a)
        .unwrap();
    let first_b_join = order
        .iter()
        .position(|(t, id)| *t == 101 && *id == b)
        .unwrap();
    assert!(first_b_join < first_a_join, "{order:?}");
    assert!(log.iter().any(|r| r.attempts.len() == 2));
}

#[tokio::test]
async fn a_non_200_is_resent_with_the_same_notice_id_and_a_new_notify_ms() {
    let (url, seen) = scripted_receiver(vec![500, 503, 404], Duration::ZERO).await;
    let emu = emulator(&url, Clock::manual(1_700_000_000)).await;
    let id = start(&emu, "resend", None).await;
    let log = settled(&emu, 1).await;
    let r = &log[0];
    assert_eq!(r.state, DeliveryState::Delivered);
    assert_eq!(
        r.attempts.iter().map(|a| a.status).collect::<Vec<_>>(),
        vec![Some(500), Some(503), Some(404), Some(200)]
    );
    let arrivals = seen.arrivals.lock().unwrap();
    assert_eq!(arrivals.len(), 4);
    let notice: Vec<&str> = arrivals
        .iter()
        .map(|(_, v)| v["noticeId"].as_str().unwrap())
        .collect();
    assert!(notice.iter().all(|n| *n == notice[0]));
    let ms: Vec<u64> = arrivals
        .iter()
        .map(|(_, v)| v["notifyMs"].as_u64().unwrap())
        .collect();
    assert!(ms.windows(2).all(|w| w[0] < w[1]), "{ms:?}");
    let sigs: Vec<&str> = arrivals
        .iter()
        .map(|(h, _)| h["agora-signature-v2"].to_str().unwrap())
        .collect();
    assert!(sigs.windows(2).all(|w| w[0] != w[1]));
    // Each attempt verifies on its own bytes, and the payload is unchanged.
    for (_, v) in arrivals.iter() {
        assert_eq!(v["payload"]["agent_id"], id.as_str());
        assert_eq!(v["productId"], 17);
    }
}

#[tokio::test]
async fn no_200_after_three_resends_is_failed_and_a_slow_receiver_times_out() {
    let (url, seen) = scripted_receiver(vec![500; 10], Duration::ZERO).await;
    let emu = emulator(&url, Clock::system()).await;
    start(&emu, "fail", None).await;
    let log = settled(&emu, 1).await;
    assert_eq!(log[0].state, DeliveryState::Failed);
    assert_eq!(log[0].attempts.len(), 4);
    assert_eq!(seen.arrivals.lock().unwrap().len(), 4);

    let (slow_url, _) = scripted_receiver(vec![], Duration::from_secs(2)).await;
    let emu = emulator(&slow_url, Clock::system()).await;
    start(&emu, "slow", None).await;
    let log = settled(&emu, 1).await;
    assert_eq!(log[0].state, DeliveryState::Failed);
    assert!(log[0]
        .attempts
        .iter()
        .all(|a| a.status.is_none() && a.error.as_deref() == Some("timeout")));
}

#[tokio::test]
async fn wrong_signature_gets_401_and_drop_sends_nothing() {
    let (url, seen) = sdk_receiver().await;
    let emu = emulator(&url, Clock::system()).await;
    emu.push_callback_fault(CallbackFaultRule {
        fault: CallbackFault::WrongSignature,
        event_type: None,
        times: 1,
    });
    emu.push_callback_fault(CallbackFaultRule {
        fault: CallbackFault::Drop,
        event_type: None,
        times: 1,
    });
    start(&emu, "sig", None).await;
    start(&emu, "drop", None).await;
    let log = settled(&emu, 2).await;
    assert_eq!(log[0].state, DeliveryState::Failed);
    assert!(log[0].attempts.iter().all(|a| a.status == Some(401)));
    assert_eq!(log[1].state, DeliveryState::Dropped);
    assert!(log[1].attempts.is_empty());
    assert!(seen.handled.lock().unwrap().is_empty());
    assert_eq!(seen.arrivals.lock().unwrap().len(), 4);
}

#[tokio::test]
async fn errors_failures_idle_timeouts_token_expiry_and_calls() {
    let (url, seen) = sdk_receiver().await;
    let clock = Clock::manual(1_700_000_000);
    let emu = emulator(&url, clock.clone()).await;
    let a = start(&emu, "err", None).await;
    assert!(emu.inject_agent_error(&a, "tts", 429, "rate limited"));
    assert!(emu.expire_token(&a));
    assert!(emu.fail_agent(&a, "RTC connection error"));
    assert!(!emu.fail_agent(&a, "again"), "a stopped agent cannot fail");
    let b = start(&emu, "idle", Some(30)).await;
    clock.advance(Duration::from_secs(31));
    emu.agents(); // the idle check runs on observation too
                  // An outbound call through the REST API, then its hangup.
    let http = reqwest::Client::new();
    let base = format!("{}/v2/projects/{}", emu.base_url(), emu.app_id());
    let call: Value = http
        .post(format!("{base}/call"))
        .basic_auth(emu.customer_id(), Some(emu.customer_secret()))
        .json(&serde_json::json!({"name": "call-1", "sip": {"to_number": "+15550001111", "from_number": "+15550002222", "rtc_uid": "9", "rtc_token": "t"},
            "properties": {"channel": "call-ch", "token": "t", "agent_rtc_uid": "8", "labels": {"campaign": "c1"}}}))
        .send().await.unwrap().json().await.unwrap();
    let call_id = call["agent_id"].as_str().unwrap().to_owned();
    let res = http
        .post(format!("{base}/calls/{call_id}/hangup"))
        .basic_auth(emu.customer_id(), Some(emu.customer_secret()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // a: 101 110 104 102 103 111 112; b: 101 102 103 111 112; call: 5 × 202.
    settled(&emu, 17).await;
    let handled = seen.handled.lock().unwrap();
    assert_eq!(handled.len(), 17);
    let of = |id: &str| {
        handled
            .iter()
            .filter(|n| n.agent_id().is_some_and(|x| x.as_str() == id))
            .collect::<Vec<_>>()
    };
    let ev_a = of(&a);
    let err = ev_a
        .iter()
        .find_map(|n| match &n.event {
            Event::AgentError(e) => Some(e),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        (err.errors[0].module.as_str(), err.errors[0].code),
        ("tts", Some(429))
    );
    let exp = ev_a
        .iter()
        .find_map(|n| match &n.event {
            Event::TokenExpiring(e) => Some(e),
            _ => None,
        })
        .unwrap();
    assert!(exp.labels.is_none());
    let left_a = ev_a
        .iter()
        .find_map(|n| match &n.event {
            Event::AgentLeft(l) => Some(l),
            _ => None,
        })
        .unwrap();
    assert_eq!(left_a.reason(), LeaveReason::RtcConnectionError);
    let ev_b = of(&b);
    let left_b = ev_b
        .iter()
        .find_map(|n| match &n.event {
            Event::AgentLeft(l) => Some(l),
            _ => None,
        })
        .unwrap();
    assert_eq!(left_b.reason(), LeaveReason::IdleTimeout);
    assert_eq!(left_b.stop_ts, Some(1_700_000_030));
    let states: Vec<String> = of(&call_id)
        .iter()
        .filter_map(|n| match &n.event {
            Event::OutboundCall(c) => Some(format!(
                "{}:{}",
                c.state,
                c.labels
                    .as_ref()
                    .and_then(|l| l.get("campaign"))
                    .unwrap_or("-")
            )),
            _ => None,
        })
        .collect();
    let mut expected = vec![
        "ANSWERED:c1",
        "CALLING:c1",
        "HANGUP:c1",
        "RINGING:c1",
        "START:c1",
    ];
    let mut got = states.clone();
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
}

#[tokio::test]
async fn the_delivery_log_is_served_to_the_dashboard() {
    let (url, _seen) = sdk_receiver().await;
    let emu = emulator(&url, Clock::system()).await;
    start(&emu, "log", None).await;
    settled(&emu, 1).await;
    let v: Value = reqwest::get(format!("{}/_emulator/callbacks", emu.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let e = &v.as_array().unwrap()[0];
    for key in [
        "notice_id",
        "event_type",
        "product_id",
        "agent_id",
        "channel",
        "target",
        "state",
        "attempts",
        "body",
    ] {
        assert!(e.get(key).is_some(), "{key} missing in {e}");
    }
    assert_eq!(e["state"], "delivered");
    assert_eq!(e["target"], url.as_str());
    assert_eq!(e["body"]["eventType"], 101);
    let at = &e["attempts"][0];
    assert_eq!(at["status"], 200);
    assert!(at["at_ms"].is_u64() && at["latency_ms"].is_u64() && at["error"].is_null());
    // The admin API switches the target off: nothing more is logged.
    let res = reqwest::Client::new()
        .post(format!("{}/_emulator/webhook", emu.url()))
        .json(&serde_json::json!({"url": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    start(&emu, "log-2", None).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(emu.callbacks().len(), 1);
    let res = reqwest::Client::new()
        .post(format!("{}/_emulator/webhook", emu.url()))
        .json(&serde_json::json!({"url": "ftp://x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

/// The `201` states of call `id` among `handled`, ordered by `report_ms` (arrival order is
/// not guaranteed), with the label `campaign` of each.
fn inbound_states(handled: &[Notification], id: &str) -> Vec<(String, Option<String>)> {
    let mut calls: Vec<_> = handled
        .iter()
        .filter_map(|n| match &n.event {
            Event::InboundCall(c) if c.agent_id.as_str() == id => Some(c.clone()),
            _ => None,
        })
        .collect();
    calls.sort_by_key(|c| c.report_ms);
    calls
        .iter()
        .map(|c| {
            let label = c
                .labels
                .as_ref()
                .and_then(|l| l.get("campaign"))
                .map(str::to_owned);
            (c.state.as_str().to_owned(), label)
        })
        .collect()
}

#[tokio::test]
async fn inbound_calls_report_201_states_in_order_and_are_listed_as_inbound() {
    use shengwang_agent::types::phone_numbers::{
        AddPhoneNumber, Patch, Provider, UpdatePhoneNumber,
    };
    use shengwang_agent::types::telephony::{CallReason, CallState, CallType};
    let (url, seen) = sdk_receiver().await;
    let emu = emulator(&url, Clock::system()).await;
    let client = support::client(&emu, RetryPolicy::none());
    let number = |n: &str, inbound: bool| AddPhoneNumber {
        provider: Provider::Byo,
        phone_number: n.into(),
        label: "front desk".into(),
        inbound: Some(inbound),
        outbound: Some(!inbound),
        inbound_config: serde_json::json!({"allowed_addresses": ["203.0.113.0/28"]}),
        outbound_config: serde_json::json!({}),
    };
    let (desk, dialer, caller) = ("+8675500000001", "+8675500000002", "+8613800000003");
    client
        .phone_numbers()
        .add(&number(desk, true))
        .await
        .unwrap();
    client
        .phone_numbers()
        .add(&number(dialer, false))
        .await
        .unwrap();
    let patch = UpdatePhoneNumber {
        inbound_config: Patch::Set(serde_json::json!({"pipeline_id": "p-17"})),
        ..Default::default()
    };
    client.phone_numbers().update(desk, &patch).await.unwrap();

    // Refused: a number that is not imported, one without inbound calls, a bad number.
    let refused = |r: Result<_, convoai_emulator::EmulatorError>| match r {
        Err(convoai_emulator::EmulatorError::Refused { status, message }) => (status, message),
        other => panic!("expected a refusal, got {other:?}"),
    };
    let (status, message) = refused(emu.inbound_call("+8675599999999", caller, []));
    assert_eq!(status, 404);
    assert!(message.contains("not imported"), "{message}");
    let (status, message) = refused(emu.inbound_call(dialer, caller, []));
    assert_eq!(status, 409);
    assert!(message.contains("inbound"), "{message}");
    assert_eq!(refused(emu.inbound_call(desk, "0123", [])).0, 400);
    assert!(emu.agents().is_empty(), "a refused call starts no agent");

    // One call the caller hangs up, one transferred, one whose agent is stopped.
    let labels = [("campaign".to_owned(), "spring".to_owned())];
    let hung = emu.inbound_call(desk, caller, labels.clone()).unwrap();
    assert_eq!(hung.pipeline_id.as_deref(), Some("p-17"));
    let moved = emu.inbound_call(desk, caller, []).unwrap();
    let stopped = emu.inbound_call(desk, caller, []).unwrap();
    assert!(emu.hang_up_inbound_call(&hung.agent_id));
    assert!(
        !emu.hang_up_inbound_call(&hung.agent_id),
        "an ended call ends once"
    );
    assert!(emu.transfer_inbound_call(&moved.agent_id));
    client.stop_agent(&stopped.agent_id).await.unwrap();
    assert!(!emu.transfer_inbound_call(&stopped.agent_id));

    // Per call: 3 × 201, and the agent's 101 102 103 111 112.
    settled(&emu, 24).await;
    let handled = seen.handled.lock().unwrap().clone();
    let spring = Some("spring".to_owned());
    assert_eq!(
        inbound_states(&handled, &hung.agent_id),
        [
            ("START".to_owned(), spring.clone()),
            ("ANSWERED".to_owned(), spring.clone()),
            ("HANGUP".to_owned(), spring)
        ]
    );
    let plain = |s: &[&str]| -> Vec<(String, Option<String>)> {
        s.iter().map(|s| (s.to_string(), None)).collect()
    };
    assert_eq!(
        inbound_states(&handled, &moved.agent_id),
        plain(&["START", "ANSWERED", "TRANSFERED"])
    );
    assert_eq!(
        inbound_states(&handled, &stopped.agent_id),
        plain(&["START", "ANSWERED", "HANGUP"])
    );
    let transferred = handled.iter().find_map(|n| match &n.event {
        Event::InboundCall(c) if c.agent_id.as_str() == moved.agent_id => Some(c.clone()),
        _ => None,
    });
    let transferred = transferred.unwrap();
    assert_eq!(transferred.channel, moved.channel);
    assert!(transferred
        .report_ms
        .is_some_and(|ms| ms > 1_700_000_000_000));
    assert!(
        handled.iter().all(|n| n.event_type != 202),
        "inbound calls are not reported as outbound"
    );

    // The SDK lists them as inbound, and none as outbound.
    let page = client
        .telephony()
        .list()
        .kind(CallType::Inbound)
        .page()
        .await
        .unwrap();
    let mut ids: Vec<_> = page.items.iter().map(|c| c.agent_id.clone()).collect();
    ids.sort();
    let mut want = vec![
        hung.agent_id.clone(),
        moved.agent_id.clone(),
        stopped.agent_id.clone(),
    ];
    want.sort();
    assert_eq!(ids, want);
    assert!(page
        .items
        .iter()
        .all(|c| c.kind == Some(CallType::Inbound) && c.state == Some(CallState::Hangup)));
    let outbound = client
        .telephony()
        .list()
        .kind(CallType::Outbound)
        .page()
        .await
        .unwrap();
    assert!(outbound.items.is_empty());
    let info = client
        .telephony()
        .get(&hung.agent_id)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (info.reason, info.pipeline_id.as_deref()),
        (Some(CallReason::Hangup), Some("p-17"))
    );
    let info = client
        .telephony()
        .get(&stopped.agent_id)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.reason, Some(CallReason::Request));
}
