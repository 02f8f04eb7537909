//! Webhooks: signature vectors, tampering, hostile input, typed events and the axum endpoint.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use shengwang_agent::webhooks::{
    self, parse, sign_v1, sign_v2, CallState, DedupeStore, Event, LeaveReason, LeftStatus,
    MemoryStore, Notification, Product, Received, Receiver, SignatureKind, Signatures, TurnId,
    Verifier, WebhookError,
};

const SECRET: &str = "test-secret";
// webhooks.md §9: the main vector (102, idle timeout), 368 bytes.
const LEFT: &str = r#"{"noticeId":"2000001428:4331:102","productId":17,"eventType":102,"notifyMs":1737111755480,"sid":"C866467GVJJ54687","payload":{"agent_id":"1NT29X10YH4Q8ZRWJOXLYHNYB","name":"support-bot-42","start_ts":1737111452,"stop_ts":1737111755,"channel":"room-8841","status":"STOPPED","message":"Idle for too long","labels":{"campaign_id":"test_campaign","customer_group":"vip"}}}"#;
const LEFT_V2: &str = "80287bc4e9259c2d6ddf3f771c81788edd4af7cb898cbffdd8c232e5a0f83c8a";
const LEFT_V1: &str = "bd83383058e0401833bc0eee537013b48a8fb715";
const JOINED: &str = r#"{"noticeId":"2000001428:4330:101","productId":17,"eventType":101,"notifyMs":1737111452210,"sid":"C866467GVJJ54687","payload":{"agent_id":"1NT29X10YH4Q8ZRWJOXLYHNYB","name":"support-bot-42","start_ts":1737111452,"channel":"room-8841","labels":{"campaign_id":"test_campaign","customer_group":"vip"}}}"#;
const ERROR: &str = r#"{"noticeId":"2000001428:4332:110","productId":17,"eventType":110,"notifyMs":1737111630995,"sid":"C866467GVJJ54687","payload":{"agent_id":"1NT29X10YH4Q8ZRWJOXLYHNYB","name":"support-bot-42","start_ts":1737111452,"channel":"room-8841","turn_id":2,"errors":[{"module":"llm","turn_id":2,"code":503,"message":"Insufficient balance."}],"labels":{"campaign_id":"test_campaign","customer_group":"vip"}}}"#;

fn v2(sig: &str) -> Signatures<'_> {
    Signatures {
        v2: Some(sig),
        v1: None,
    }
}
fn v1(sig: &str) -> Signatures<'_> {
    Signatures {
        v2: None,
        v1: Some(sig),
    }
}

#[test]
fn spec_vectors_verify_with_both_headers() {
    assert_eq!(LEFT.len(), 368);
    let v = Verifier::new(SECRET);
    assert_eq!(
        v.verify(v2(LEFT_V2), LEFT.as_bytes()).unwrap(),
        SignatureKind::V2Sha256
    );
    assert_eq!(
        v.verify(v1(LEFT_V1), LEFT.as_bytes()).unwrap(),
        SignatureKind::V1Sha1
    );
    assert_eq!(sign_v2(SECRET.as_bytes(), LEFT.as_bytes()), LEFT_V2);
    assert_eq!(sign_v1(SECRET.as_bytes(), LEFT.as_bytes()), LEFT_V1);
    // §9's other bodies, and §3.1's generic vectors (secret "secret").
    assert_eq!(
        sign_v2(SECRET.as_bytes(), JOINED.as_bytes()),
        "a35f1720a9a0060fe4bc3baaa051a5b89cadfd666f172d200316d5278a989c9e"
    );
    assert_eq!(
        sign_v1(SECRET.as_bytes(), ERROR.as_bytes()),
        "2c799c765bd3f258228eea480740ca93291b7979"
    );
    let g = r#"{"eventType":10,"noticeId":"4eb720f0-8da7-11e9-a43e-53f411c2761f","notifyMs":1560408533119,"payload":{"a":"1","b":2},"productId":1}"#;
    assert_eq!(
        sign_v2(b"secret", g.as_bytes()),
        "de96da5acf03b0021ac3b4fa2225e7ae6f3533a30d50bb02c08ea4fa748bda24"
    );
    assert_eq!(
        sign_v1(b"secret", g.as_bytes()),
        "5a3bb6a6d9fad2ea9ae3fb707a14c9d7f3136df1"
    );
    // Upper-case hex is the same digest.
    v.verify(v2(&LEFT_V2.to_ascii_uppercase()), LEFT.as_bytes())
        .unwrap();
}

#[test]
fn a_retry_and_a_reserialised_body_have_other_signatures() {
    let retry = LEFT.replace("1737111755480", "1737111757512");
    assert_eq!(
        sign_v2(SECRET.as_bytes(), retry.as_bytes()),
        "5d6eea256e9e7ab474c9abe00e419b60a079062805301cd36c002528e465d11e"
    );
    let v = Verifier::new(SECRET);
    assert!(matches!(
        v.verify(v2(LEFT_V2), retry.as_bytes()),
        Err(WebhookError::InvalidSignature(_))
    ));
    let pretty =
        serde_json::to_vec_pretty(&serde_json::from_str::<serde_json::Value>(LEFT).unwrap())
            .unwrap();
    assert!(v.verify(v2(LEFT_V2), &pretty).is_err());
    // Same notice id on the retry: it dedupes with the first delivery.
    assert_eq!(
        parse(retry.as_bytes()).unwrap().dedupe_key(),
        parse(LEFT.as_bytes()).unwrap().dedupe_key()
    );
}

#[test]
fn flipping_any_byte_of_body_or_signature_fails() {
    let v = Verifier::new(SECRET);
    let body = LEFT.as_bytes();
    for i in 0..body.len() {
        let mut b = body.to_vec();
        b[i] ^= 0x01;
        assert!(v.verify(v2(LEFT_V2), &b).is_err(), "body byte {i}");
        assert!(v.verify(v1(LEFT_V1), &b).is_err(), "body byte {i} (v1)");
    }
    for (sig, v1_header) in [(LEFT_V2, false), (LEFT_V1, true)] {
        for i in 0..sig.len() {
            let mut s = sig.as_bytes().to_vec();
            // Keep it hex, so the digest check (not the hex check) is what fails.
            s[i] = if s[i] == b'0' { b'1' } else { b'0' };
            let s = String::from_utf8(s).unwrap();
            let sigs = if v1_header { v1(&s) } else { v2(&s) };
            assert!(
                matches!(v.verify(sigs, body), Err(WebhookError::InvalidSignature(_))),
                "sig char {i}"
            );
        }
    }
}

#[test]
fn missing_malformed_and_wrong_signatures_are_typed_errors() {
    let v = Verifier::new(SECRET);
    let body = LEFT.as_bytes();
    assert!(matches!(
        v.verify(Signatures::default(), body),
        Err(WebhookError::MissingSignature(_))
    ));
    for bad in [
        "",
        "zz",
        &LEFT_V2[..63],
        &format!("{LEFT_V2}0"),
        &"g".repeat(64),
        "é",
    ] {
        let e = v.verify(v2(bad), body).unwrap_err();
        assert!(
            matches!(e, WebhookError::MalformedSignature { .. }),
            "{bad:?}: {e}"
        );
        assert!(e.is_signature());
        // Never echoes what was sent.
        assert!(bad.len() < 3 || !e.to_string().contains(bad));
    }
    assert!(matches!(
        v.verify(v1(&LEFT_V2[..40].to_string().replace('8', "9")), body),
        Err(WebhookError::InvalidSignature(_))
    ));
    assert!(matches!(
        Verifier::new("other").verify(v2(LEFT_V2), body),
        Err(WebhookError::InvalidSignature(_))
    ));
    // A wrong V2 is not rescued by a right V1: no fallback to the weaker digest.
    let both = Signatures {
        v2: Some(&LEFT_V2.replace('8', "9")),
        v1: Some(LEFT_V1),
    };
    assert!(v.verify(both, body).is_err());
    // V2 required: a V1-only request is missing its signature.
    assert!(matches!(
        v.clone().require_v2(true).verify(v1(LEFT_V1), body),
        Err(WebhookError::MissingSignature(_))
    ));
    // An empty secret is a configuration error, not "accept everything".
    assert!(matches!(
        Verifier::new("").verify(v2(LEFT_V2), body),
        Err(WebhookError::Config(_))
    ));
}

#[test]
fn rotation_accepts_any_configured_secret() {
    let v = Verifier::new("new-secret").with_secret(SECRET);
    v.verify(v2(LEFT_V2), LEFT.as_bytes()).unwrap();
    v.verify(v1(LEFT_V1), LEFT.as_bytes()).unwrap();
    let sig = sign_v2(b"new-secret", LEFT.as_bytes());
    v.verify(v2(&sig), LEFT.as_bytes()).unwrap();
}

#[test]
fn oversized_body_is_rejected_before_hashing() {
    let v = Verifier::new(SECRET).max_body(100);
    let e = v.verify(v2(LEFT_V2), LEFT.as_bytes()).unwrap_err();
    assert!(
        matches!(e, WebhookError::BodyTooLarge { limit: 100 }),
        "{e}"
    );
}

#[test]
fn secrets_stay_out_of_debug() {
    let v = Verifier::new("SENTINEL-SECRET-1").with_secret("SENTINEL-SECRET-2");
    let r = Receiver::new(v.clone());
    let text = format!("{v:?} {r:?}");
    assert!(!text.contains("SENTINEL"), "{text}");
}

#[test]
fn typed_events_and_accessors() {
    let n = parse(LEFT.as_bytes()).unwrap();
    assert_eq!(n.notice_id.as_str(), "2000001428:4331:102");
    assert_eq!(
        (n.product(), n.event_type, n.notify_ms),
        (Product::ConvoAi, 102, 1737111755480)
    );
    assert_eq!(n.sid.as_deref(), Some("C866467GVJJ54687"));
    assert_eq!(n.agent_id().unwrap().as_str(), "1NT29X10YH4Q8ZRWJOXLYHNYB");
    assert_eq!(n.channel(), Some("room-8841"));
    assert_eq!(
        n.labels().unwrap().get("campaign_id"),
        Some("test_campaign")
    );
    let Event::AgentLeft(left) = &n.event else {
        panic!("{:?}", n.event)
    };
    assert_eq!(left.status, LeftStatus::Stopped);
    assert_eq!(left.reason(), LeaveReason::IdleTimeout);
    assert!(!left.reason().is_failure());
    assert_eq!(left.stop_ts, Some(1737111755));

    let n = parse(ERROR.as_bytes()).unwrap();
    let Event::AgentError(err) = &n.event else {
        panic!()
    };
    assert_eq!(err.turn_id, Some(TurnId::Number(2)));
    assert_eq!(err.errors[0].module.as_str(), "llm");
    assert_eq!(err.errors[0].code, Some(503));
    assert!(matches!(
        parse(JOINED.as_bytes()).unwrap().event,
        Event::AgentJoined(_)
    ));

    let failed = LEFT.replace(
        r#""STOPPED","message":"Idle for too long""#,
        r#""FAILED","message":"RTC connection error""#,
    );
    let Event::AgentLeft(left) = parse(failed.as_bytes()).unwrap().event else {
        panic!()
    };
    assert_eq!(left.reason(), LeaveReason::RtcConnectionError);
    assert!(left.reason().is_failure());
    let novel = LEFT.replace("Idle for too long", "Moon phase");
    let Event::AgentLeft(left) = parse(novel.as_bytes()).unwrap().event else {
        panic!()
    };
    assert_eq!(
        left.reason(),
        LeaveReason::Other {
            status: LeftStatus::Stopped,
            message: "Moon phase".into()
        }
    );
}

fn envelope(product: u32, event_type: u32, payload: &str) -> String {
    format!(
        r#"{{"noticeId":"n-1","productId":{product},"eventType":{event_type},"notifyMs":1,"payload":{payload},"newKey":[1]}}"#
    )
}

#[test]
fn every_documented_type_parses_and_open_sets_stay_open() {
    let common = r#""agent_id":"A","channel":"c","name":"n","start_ts":1,"labels":{"k":"v"}"#;
    let cases = [
        (103, format!(r#"{{{common},"stop_ts":2,"contents":[{{"role":"user","content":"","speech_start_ms":5}},{{"role":"narrator","content":"x"}}]}}"#), "agent_history"),
        (104, r#"{"agent_id":"A","channel":"c","start_ts":1,"message":"Task exceeded maximum lifetime"}"#.to_owned(), "token_expiring"),
        (111, format!(r#"{{{common},"stop_ts":2,"metrics":[{{"turn_id":"1","tts_ttfb":300}},{{"turn_id":2,"asr_ttlw":10,"total_delay":9}}]}}"#), "agent_metrics"),
        (112, format!(r#"{{{common},"stop_ts":1715000000000.0,"total_turn_count":300,"is_truncated":true,"turns":[{{"turn_id":1,"start":{{"start_at":1,"type":"greeting","metadata":{{}}}},"end":{{"end_at":2,"type":"ok","metadata":{{}}}},"metrics":{{"e2e_latency_ms":1.5,"segmented_latency_ms":[]}}}}]}}"#), "turns_finished"),
        (201, format!(r#"{{{common},"state":"TRANSFERED","report_ms":7}}"#), "inbound_call"),
        (202, format!(r#"{{{common},"state":"VOICEMAIL","report_ms":7}}"#), "outbound_call"),
    ];
    for (t, payload, kind) in cases {
        let n = parse(envelope(17, t, &payload).as_bytes()).unwrap();
        assert_eq!(n.event.kind(), kind, "{t}: {:?}", n.event);
        assert_eq!(n.agent_id().map(|a| a.as_str()), Some("A"));
        assert_eq!(n.extra["newKey"], serde_json::json!([1]));
        match n.event {
            Event::AgentHistory(h) => assert_eq!(h.contents[1].role.as_str(), "narrator"),
            Event::AgentMetrics(m) => {
                assert_eq!(m.metrics[0].turn_id, Some(TurnId::Text("1".into())));
                assert_eq!(m.metrics[1].extra["total_delay"], 9);
            }
            Event::TurnsFinished(t) => {
                assert!(t.is_truncated);
                assert_eq!(t.stop_ts, Some(1715000000000));
                assert_eq!(t.turns[0].start.as_ref().unwrap().kind, "greeting");
            }
            Event::InboundCall(c) => assert_eq!(c.state, CallState::Transferred),
            Event::OutboundCall(c) => assert_eq!(c.state, CallState::Other("VOICEMAIL".into())),
            _ => {}
        }
    }
}

#[test]
fn unknown_types_other_products_and_odd_payloads_are_kept() {
    let n = parse(envelope(17, 999, r#"{"agent_id":"A","x":1}"#).as_bytes()).unwrap();
    let Event::Other(o) = &n.event else { panic!() };
    assert_eq!(
        (
            o.event_type,
            o.payload["x"].as_i64(),
            o.parse_error.as_deref()
        ),
        (999, Some(1), None)
    );
    // RTC reuses the codes 101–112 with other meanings: never typed as ConvoAI.
    let n = parse(envelope(1, 102, r#"{"channelName":"c"}"#).as_bytes()).unwrap();
    assert_eq!(n.product(), Product::Rtc);
    assert!(!n.is_convoai());
    assert!(matches!(&n.event, Event::Other(o) if o.product_id == 1));
    // A known type with the wrong shape is kept raw, with a reason.
    let n = parse(envelope(17, 102, r#"{"agent_id":5}"#).as_bytes()).unwrap();
    let Event::Other(o) = &n.event else { panic!() };
    assert!(o.parse_error.is_some());
    // Unknown payload keys are kept.
    let n = parse(envelope(17, 101, r#"{"agent_id":"A","channel":"c","future":true}"#).as_bytes())
        .unwrap();
    let Event::AgentJoined(j) = &n.event else {
        panic!()
    };
    assert_eq!(j.extra["future"], true);
    assert!(j.labels.is_none());
}

#[test]
fn malformed_envelopes_are_errors_that_do_not_echo_input() {
    for body in [
        "",
        "{",
        "[]",
        "null",
        r#"{"noticeId":"SENTINEL-VALUE"}"#,
        r#"{"noticeId":"x","productId":"SENTINEL-VALUE","eventType":1}"#,
        "\u{0}\u{ff}",
    ] {
        let e = parse(body.as_bytes()).unwrap_err();
        assert!(matches!(e, WebhookError::Body(_)), "{body:?}");
        assert!(!e.to_string().contains("SENTINEL"), "{e}");
    }
    let deep = "[".repeat(100_000);
    assert!(parse(deep.as_bytes()).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn signed_bodies_verify_and_tampered_ones_do_not(body in proptest::collection::vec(any::<u8>(), 0..512), secret in "[ -~]{1,40}", flip in any::<prop::sample::Index>()) {
        let v = Verifier::new(secret.as_str());
        let s2 = sign_v2(secret.as_bytes(), &body);
        let s1 = sign_v1(secret.as_bytes(), &body);
        prop_assert!(v.verify(v2(&s2), &body).is_ok());
        prop_assert!(v.verify(v1(&s1), &body).is_ok());
        if !body.is_empty() {
            let mut b = body.clone();
            b[flip.index(body.len())] ^= 0x80;
            prop_assert!(v.verify(v2(&s2), &b).is_err());
            prop_assert!(v.verify(v1(&s1), &b).is_err());
        }
    }

    #[test]
    fn arbitrary_input_never_panics(body in proptest::collection::vec(any::<u8>(), 0..256), sig in "\\PC{0,80}") {
        let v = Verifier::new("s");
        let _ = v.verify(Signatures { v2: Some(&sig), v1: Some(&sig) }, &body);
        let _ = parse(&body);
    }

    #[test]
    fn any_notice_round_trips(id in "\\PC{1,40}", product in 0u32..300, event_type in 0u32..300) {
        let body = serde_json::json!({"noticeId": id, "productId": product, "eventType": event_type, "notifyMs": 5, "payload": {}}).to_string();
        let n = parse(body.as_bytes()).unwrap();
        prop_assert_eq!(n.notice_id.as_str(), id.as_str());
        prop_assert_eq!(n.product_id, product);
    }
}

#[tokio::test]
async fn receiver_handles_each_notice_once_across_resends() {
    let r = Receiver::new(Verifier::new(SECRET));
    assert!(matches!(
        r.receive(v2(LEFT_V2), LEFT.as_bytes()).await.unwrap(),
        Received::New(_)
    ));
    let retry = LEFT.replace("1737111755480", "1737111757512");
    let sig = sign_v2(SECRET.as_bytes(), retry.as_bytes());
    assert!(r
        .receive(v2(&sig), retry.as_bytes())
        .await
        .unwrap()
        .is_duplicate());
    // Released after a failed handling: the next resend is new again.
    let n = parse(LEFT.as_bytes()).unwrap();
    r.release(&n).await.unwrap();
    assert!(!r
        .receive(v1(LEFT_V1), LEFT.as_bytes())
        .await
        .unwrap()
        .is_duplicate());
    // A bad signature never claims the id.
    let r2 = Receiver::new(Verifier::new(SECRET));
    assert!(r2
        .receive(v2(&LEFT_V2.replace('8', "7")), LEFT.as_bytes())
        .await
        .is_err());
    assert!(!r2
        .receive(v2(LEFT_V2), LEFT.as_bytes())
        .await
        .unwrap()
        .is_duplicate());
}

#[tokio::test]
async fn memory_store_is_bounded_and_expires() {
    let s = MemoryStore::new(3);
    for k in ["a", "b", "c", "d"] {
        assert!(s.claim(k, Duration::from_secs(60)).await.unwrap());
    }
    assert_eq!(s.len(), 3);
    // "a" was the oldest and was forgotten; the others are still claimed.
    assert!(!s.claim("d", Duration::from_secs(60)).await.unwrap());
    assert!(s.claim("a", Duration::from_secs(60)).await.unwrap());
    assert!(s.claim("x", Duration::from_millis(20)).await.unwrap());
    assert!(!s.claim("x", Duration::from_millis(20)).await.unwrap());
    tokio::time::sleep(Duration::from_millis(40)).await;
    assert!(s.claim("x", Duration::from_millis(20)).await.unwrap());
    // Many releases and re-claims keep it bounded.
    for i in 0..10_000 {
        let k = format!("k{}", i % 7);
        s.claim(&k, Duration::from_secs(60)).await.unwrap();
        s.release(&k).await.unwrap();
    }
    assert!(s.len() <= 3);
}

#[tokio::test]
async fn memory_store_claims_exactly_once_under_contention() {
    let s = Arc::new(MemoryStore::default());
    let wins = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (s, wins) = (s.clone(), wins.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..500 {
                if s.claim(&format!("id-{i}"), Duration::from_secs(60))
                    .await
                    .unwrap()
                {
                    wins.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(wins.load(Ordering::Relaxed), 500);
}

// ---- the axum endpoint ----

struct Server {
    url: String,
    handled: Arc<std::sync::Mutex<Vec<Notification>>>,
    _task: tokio::task::JoinHandle<()>,
}

async fn server(verifier: Verifier, fail_first: usize, slow: Option<Duration>) -> Server {
    let handled = Arc::new(std::sync::Mutex::new(Vec::new()));
    let failures = Arc::new(AtomicUsize::new(fail_first));
    let h = handled.clone();
    let route = webhooks::axum::post_with_timeout(
        Receiver::new(verifier),
        Duration::from_millis(300),
        move |n: Notification| {
            let (h, failures) = (h.clone(), failures.clone());
            async move {
                if let Some(d) = slow {
                    tokio::time::sleep(d).await;
                }
                if failures
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |f| f.checked_sub(1))
                    .is_ok()
                {
                    return Err("database down");
                }
                h.lock().unwrap().push(n);
                Ok(())
            }
        },
    );
    let app = axum::Router::new().route("/hook", route);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Server {
        url,
        handled,
        _task: task,
    }
}

async fn post(url: &str, body: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut req = reqwest::Client::new()
        .post(url)
        .body(body.to_owned())
        .header("content-type", "application/json");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

#[tokio::test]
async fn axum_endpoint_answers_as_the_service_expects() {
    let s = server(Verifier::new(SECRET).max_body(1000), 0, None).await;
    let (status, body) = post(&s.url, LEFT, &[("Agora-Signature-V2", LEFT_V2)]).await;
    assert_eq!(status, 200);
    serde_json::from_str::<serde_json::Value>(&body).unwrap();
    // Duplicate (here the V1 header, lower-case name): 200, not handled again.
    assert_eq!(
        post(&s.url, LEFT, &[("agora-signature", LEFT_V1)]).await.0,
        200
    );
    let (status, body) = post(
        &s.url,
        LEFT,
        &[("Agora-Signature-V2", &LEFT_V2.replace('8', "9"))],
    )
    .await;
    assert_eq!(status, 401);
    assert!(body.contains("invalid signature"));
    assert_eq!(post(&s.url, LEFT, &[]).await.0, 401);
    assert_eq!(
        post(
            &s.url,
            &"x".repeat(5000),
            &[("Agora-Signature-V2", LEFT_V2)]
        )
        .await
        .0,
        413
    );
    let junk = "not json";
    let sig = sign_v2(SECRET.as_bytes(), junk.as_bytes());
    assert_eq!(
        post(&s.url, junk, &[("Agora-Signature-V2", &sig)]).await.0,
        400
    );
    let handled = s.handled.lock().unwrap();
    assert_eq!(handled.len(), 1);
    assert_eq!(handled[0].notice_id.as_str(), "2000001428:4331:102");
}

#[tokio::test]
async fn a_failed_or_slow_handler_gets_a_non_200_and_the_resend_is_handled() {
    let s = server(Verifier::new(SECRET), 1, None).await;
    assert_eq!(
        post(&s.url, LEFT, &[("Agora-Signature-V2", LEFT_V2)])
            .await
            .0,
        500
    );
    assert_eq!(
        post(&s.url, LEFT, &[("Agora-Signature-V2", LEFT_V2)])
            .await
            .0,
        200
    );
    assert_eq!(
        post(&s.url, LEFT, &[("Agora-Signature-V2", LEFT_V2)])
            .await
            .0,
        200
    );
    assert_eq!(s.handled.lock().unwrap().len(), 1);

    let slow = server(Verifier::new(SECRET), 0, Some(Duration::from_secs(5))).await;
    let t = std::time::Instant::now();
    assert_eq!(
        post(&slow.url, LEFT, &[("Agora-Signature-V2", LEFT_V2)])
            .await
            .0,
        503
    );
    assert!(t.elapsed() < Duration::from_secs(3));
    assert!(slow.handled.lock().unwrap().is_empty());
}

#[tokio::test]
async fn concurrent_duplicates_are_handled_once() {
    let s = server(Verifier::new(SECRET), 0, None).await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let url = s.url.clone();
        tasks.push(tokio::spawn(async move {
            let body = LEFT.replace("1737111755480", &format!("17371117555{i:02}"));
            let sig = sign_v2(SECRET.as_bytes(), body.as_bytes());
            post(&url, &body, &[("Agora-Signature-V2", &sig)]).await.0
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    assert_eq!(s.handled.lock().unwrap().len(), 1);
}
