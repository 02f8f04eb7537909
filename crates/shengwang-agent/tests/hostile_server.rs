//! A server that misbehaves on purpose: stalls, trickles, lies about lengths, echoes
//! secrets, redirects, sends escapes and huge fields, drops the connection after reading.
//! Each case asserts what a user would see: refused locally or failed within the deadline,
//! one clear line, no secret, no panic, nothing sent to another host.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use shengwang_agent::types::agents::{SpeakRequest, StartAgentRequest};
use shengwang_agent::{Client, Error, RetryPolicy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const APP_ID: &str = "0123456789abcdef0123456789abcdef";
/// Sentinels: none of these may ever appear in an error's Display or Debug.
const CERT: &str = "5e571e1c0de5e571e1c0de5e571e1c0d";
const CUSTOMER_ID: &str = "customer-id-1";
const CUSTOMER_SECRET: &str = "SENTINEL-CUSTOMER-SECRET-7f3a";
const VENDOR_KEY: &str = "SENTINEL-VENDOR-KEY-91b2";

/// What the server does with one request (given its raw head and body).
#[derive(Clone)]
enum Act {
    /// Answer these raw bytes, then close.
    Raw(Vec<u8>),
    /// Read the request, then never answer (keep the connection open).
    Silent,
    /// Read the request, then close without a word.
    Drop,
    /// Send these bytes one at a time with a pause between.
    Trickle(Vec<u8>, Duration),
}

struct Hostile {
    addr: std::net::SocketAddr,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Hostile {
    async fn spawn(act: impl Fn(&str) -> Act + Send + Sync + 'static) -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = requests.clone();
        let act = Arc::new(act);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let log = log.clone();
                let act = act.clone();
                tokio::spawn(async move { serve(stream, log, act).await });
            }
        });
        Hostile { addr, requests }
    }

    fn base(&self) -> String {
        format!("http://{}/api/conversational-ai-agent", self.addr)
    }

    fn hits(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    fn last(&self) -> String {
        self.requests
            .lock()
            .unwrap()
            .last()
            .cloned()
            .unwrap_or_default()
    }
}

/// One request per connection: every answer closes it.
async fn serve(
    mut stream: TcpStream,
    log: Arc<Mutex<Vec<String>>>,
    act: Arc<dyn Fn(&str) -> Act + Send + Sync>,
) {
    let Some(request) = read_request(&mut stream).await else {
        return;
    };
    log.lock().unwrap().push(request.clone());
    match act(&request) {
        Act::Raw(bytes) => {
            let _ = stream.write_all(&bytes).await;
            let _ = stream.shutdown().await;
        }
        Act::Silent => tokio::time::sleep(Duration::from_secs(60)).await,
        Act::Drop => {}
        Act::Trickle(bytes, pause) => {
            for b in bytes {
                if stream.write_all(&[b]).await.is_err() {
                    return;
                }
                tokio::time::sleep(pause).await;
            }
        }
    }
}

/// Head and body of one request, bounded.
async fn read_request(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let len = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let n = stream.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Some(String::from_utf8_lossy(&buf[..end + 4 + len]).to_string());
        }
        if buf.len() > 1 << 20 {
            return None;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn http(status: &str, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\n", body.len());
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("connection: close\r\n\r\n");
    out.push_str(body);
    out.into_bytes()
}

/// A JSON answer that repeats the request it got, head and body, in its fields.
fn echo(status: &str, request: &str) -> Act {
    let body = json!({
        "detail": format!("you sent: {request}"),
        "reason": "InvalidRequestBody",
        "echo": request,
    })
    .to_string();
    Act::Raw(http(status, &[("content-type", "application/json")], &body))
}

fn fast() -> RetryPolicy {
    RetryPolicy::standard()
        .max_retries(3)
        .base_delay(Duration::from_millis(5))
        .max_delay(Duration::from_millis(20))
}

fn app_client(base: &str) -> Client {
    Client::builder()
        .app_id(APP_ID)
        .app_certificate(CERT)
        .base_url(base)
        .retry(fast())
        .timeout(Duration::from_secs(2))
        .attempt_timeout(Duration::from_millis(700))
        .build()
        .unwrap()
}

fn basic_client(base: &str) -> Client {
    Client::builder()
        .app_id(APP_ID)
        .app_certificate(CERT)
        .basic(CUSTOMER_ID, CUSTOMER_SECRET)
        .base_url(base)
        .retry(fast())
        .timeout(Duration::from_secs(2))
        .attempt_timeout(Duration::from_millis(700))
        .build()
        .unwrap()
}

fn join_request() -> StartAgentRequest {
    let token = shengwang_agent::token::TokenBuilder::new(APP_ID, CERT)
        .unwrap()
        .convo_ai("room", "1001")
        .build()
        .unwrap();
    serde_json::from_value(json!({
        "name": "hostile-1",
        "properties": {
            "channel": "room",
            "token": token,
            "agent_rtc_uid": "1001",
            "remote_rtc_uids": ["2002"],
            "llm": {"url": "https://llm.example/v1", "api_key": VENDOR_KEY},
            "tts": {"vendor": "cosyvoice", "params": {"api_key": VENDOR_KEY, "model": "m", "voice": "v"}}
        }
    }))
    .unwrap()
}

/// Asserts the error is one safe line: no secret of any kind, no control character, bounded.
fn assert_safe(e: &Error, request_seen: &str) {
    let display = e.to_string();
    let debug = format!("{e:?}");
    for text in [&display, &debug] {
        for secret in [CERT, CUSTOMER_SECRET, VENDOR_KEY] {
            assert!(!text.contains(secret), "secret in {text}");
        }
        assert!(!text.contains("007eJx"), "a token in {text}");
        // The Basic credentials as sent on the wire.
        if let Some(b) = request_seen
            .lines()
            .find_map(|l| l.strip_prefix("authorization: Basic "))
        {
            assert!(!text.contains(b.trim()), "basic credentials in {text}");
        }
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "control character in {text:?}"
        );
    }
    assert!(!display.contains('\n'), "one line: {display}");
    assert!(display.len() < 2048, "bounded: {} bytes", display.len());
}

#[tokio::test]
async fn errors_that_echo_the_request_hide_every_secret() {
    for status in ["400 Bad Request", "500 Internal Server Error", "200 OK"] {
        let server = Hostile::spawn(move |req| {
            if status.starts_with("200") {
                // A 2xx with the wrong types, whose decode error would quote values.
                let body = json!({"agent_id": 17, "create_ts": req, "status": req}).to_string();
                Act::Raw(http(status, &[("content-type", "application/json")], &body))
            } else {
                echo(status, req)
            }
        })
        .await;
        for client in [app_client(&server.base()), basic_client(&server.base())] {
            let err = client.agents().start(&join_request()).await.unwrap_err();
            let seen = server.last();
            assert!(seen.contains(VENDOR_KEY), "the server did get the keys");
            assert_safe(&err, &seen);
            let err = client.agents().get("AGENT1").await.unwrap_err();
            assert_safe(&err, &server.last());
            if let Error::Api { body, .. } = &err {
                let text = body.to_string();
                assert!(!text.contains(CERT) && !text.contains("007eJx"), "{text}");
            }
        }
    }
}

#[tokio::test]
async fn escapes_and_huge_fields_are_neutralised() {
    let server = Hostile::spawn(|_| {
        let detail = format!(
            "bad\r\nX-Injected: 1\u{1b}]0;owned\u{7}\u{1b}[31m{}",
            "A".repeat(6 * 1024 * 1024)
        );
        let body = json!({"detail": detail, "reason": "Weird\u{1b}[2J"}).to_string();
        Act::Raw(http(
            "400 Bad Request",
            &[
                ("content-type", "application/json"),
                ("x-request-id", "rid-1"),
            ],
            &body,
        ))
    })
    .await;
    // A 6 MiB body takes a while to produce on a busy machine: give it time.
    let client = Client::builder()
        .app_id(APP_ID)
        .app_certificate(CERT)
        .base_url(server.base())
        .retry(RetryPolicy::none())
        .timeout(Duration::from_secs(30))
        .attempt_timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let err = client.agents().get("AGENT1").await.unwrap_err();
    let line = err.to_string();
    assert!(!line.contains('\u{1b}') && !line.contains('\r'), "{line:?}");
    assert!(
        line.contains("\\u{1b}"),
        "escapes are shown, not obeyed: {line}"
    );
    assert!(
        line.contains("more bytes)"),
        "{}",
        &line[..200.min(line.len())]
    );
    assert!(line.len() < 2048, "{} bytes", line.len());
}

#[tokio::test]
async fn hostile_retry_hints_neither_panic_nor_stretch_the_deadline() {
    for (name, value) in [
        ("retry-after", "1e20"),
        ("retry-after", "inf"),
        ("retry-after", "-5"),
        ("retry-after-ms", "1e30"),
        ("retry-after-ms", "NaN"),
        ("retry-after", "99999999999999999999999"),
        ("retry-after", "Wed, 21 Oct 2099 07:28:00 GMT"),
    ] {
        let server = Hostile::spawn(move |_| {
            Act::Raw(http("503 Service Unavailable", &[(name, value)], "{}"))
        })
        .await;
        let client = app_client(&server.base());
        let t = Instant::now();
        let err = client.agents().get("AGENT1").await.unwrap_err();
        assert_eq!(err.status(), Some(503), "{name}: {value}: {err}");
        assert!(
            t.elapsed() < Duration::from_millis(2500),
            "{name}: {value}: took {:?}",
            t.elapsed()
        );
    }
}

#[tokio::test]
async fn a_long_retry_after_ends_the_call_at_its_deadline_not_later() {
    let server = Hostile::spawn(|_| {
        Act::Raw(http(
            "429 Too Many Requests",
            &[("retry-after", "30")],
            "{}",
        ))
    })
    .await;
    let client = app_client(&server.base());
    let t = Instant::now();
    let err = client.agents().get("AGENT1").await.unwrap_err();
    assert_eq!(err.status(), Some(429));
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    assert_eq!(
        server.hits(),
        1,
        "no retry when the hint is past the deadline"
    );
}

#[tokio::test]
async fn redirects_are_never_followed() {
    let elsewhere = Hostile::spawn(|req| echo("200 OK", req)).await;
    for status in [
        "301 Moved Permanently",
        "302 Found",
        "303 See Other",
        "307 Temporary Redirect",
        "308 Permanent Redirect",
    ] {
        let target = format!("{}/v2/projects/{APP_ID}/agents/X/leave", elsewhere.base());
        let server =
            Hostile::spawn(move |_| Act::Raw(http(status, &[("location", &target)], ""))).await;
        let client = app_client(&server.base());
        let err = client.agents().stop("AGENT1").await.unwrap_err();
        assert!(
            matches!(err, Error::Redirect { location_host: Some(ref h), .. } if h == "127.0.0.1"),
            "{status}: {err:?}"
        );
        assert!(err.to_string().contains(&status[..3]), "{err}");
        let err = client.agents().start(&join_request()).await.unwrap_err();
        assert!(matches!(err, Error::Redirect { .. }), "{err}");
        assert!(
            client.stop_agent("AGENT1").await.is_err(),
            "a redirected stop is not a stop"
        );
    }
    assert_eq!(elsewhere.hits(), 0, "nothing reached the other host");
}

#[tokio::test]
async fn a_silent_server_fails_within_the_deadline() {
    let server = Hostile::spawn(|_| Act::Silent).await;
    let client = app_client(&server.base());
    let t = Instant::now();
    let err = client.agents().get("AGENT1").await.unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    let took = t.elapsed();
    assert!(
        took < Duration::from_millis(2300),
        "{took:?} for a 2 s deadline"
    );
    assert!(server.hits() >= 2, "a read is retried within the deadline");
}

#[tokio::test]
async fn a_trickling_or_lying_server_is_bounded() {
    let trickle = Hostile::spawn(|_| {
        Act::Trickle(
            http(
                "200 OK",
                &[("content-type", "application/json")],
                "{\"agent_id\":\"A\"}",
            ),
            Duration::from_millis(50),
        )
    })
    .await;
    let t = Instant::now();
    let err = app_client(&trickle.base())
        .agents()
        .get("AGENT1")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    assert!(
        t.elapsed() < Duration::from_millis(2300),
        "{:?}",
        t.elapsed()
    );

    // Says 1000 bytes, sends 10, closes.
    let liar = Hostile::spawn(|_| {
        Act::Raw(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n{\"agent_id".to_vec())
    })
    .await;
    let t = Instant::now();
    let err = app_client(&liar.base())
        .agents()
        .get("AGENT1")
        .await
        .unwrap_err();
    assert!(
        t.elapsed() < Duration::from_millis(2300),
        "{:?}",
        t.elapsed()
    );
    assert_safe(&err, "");
}

#[tokio::test]
async fn creates_are_not_sent_twice_after_an_ambiguous_failure() {
    // The connection drops after the request was read: the service may have acted.
    let server = Hostile::spawn(|_| Act::Drop).await;
    let client = app_client(&server.base());
    let err = client
        .agents()
        .speak("AGENT1", &SpeakRequest::new("hi"))
        .await
        .unwrap_err();
    assert!(err.is_ambiguous(), "{err}");
    assert_eq!(server.hits(), 1, "speak sent once");

    let silent = Hostile::spawn(|_| Act::Silent).await;
    let err = app_client(&silent.base())
        .agents()
        .speak("AGENT1", &SpeakRequest::new("hi"))
        .await
        .unwrap_err();
    assert!(err.is_ambiguous(), "{err}");
    assert_eq!(silent.hits(), 1, "speak sent once after a timeout");

    let failing = Hostile::spawn(|_| Act::Raw(http("502 Bad Gateway", &[], "{}"))).await;
    let err = app_client(&failing.base())
        .agents()
        .speak("AGENT1", &SpeakRequest::new("hi"))
        .await
        .unwrap_err();
    assert!(err.is_ambiguous(), "{err}");
    assert_eq!(failing.hits(), 1, "speak sent once after a 5xx");

    // 429 says it was not carried out: sent again.
    let limited = Hostile::spawn(|_| {
        Act::Raw(http(
            "429 Too Many Requests",
            &[("retry-after-ms", "1")],
            "{}",
        ))
    })
    .await;
    let err = app_client(&limited.base())
        .agents()
        .speak("AGENT1", &SpeakRequest::new("hi"))
        .await
        .unwrap_err();
    assert!(!err.is_ambiguous(), "{err}");
    assert_eq!(limited.hits(), 4, "429 retried");

    // An idempotent request is retried after the same drop.
    let err = client.agents().stop("AGENT1").await.unwrap_err();
    assert!(!err.is_ambiguous(), "{err}");
    assert_eq!(server.hits(), 1 + 4, "leave retried");
}

#[tokio::test]
async fn crafted_ids_never_leave_the_client() {
    let server = Hostile::spawn(|req| echo("200 OK", req)).await;
    let client = basic_client(&server.base());
    for id in [
        "..\\..\\..\\..\\internal\\metrics",
        "..",
        ".",
        "",
        "../admin",
        "a/b",
        "x?y=1",
        "x#frag",
        "%2e%2e",
        "id\r\nHost: evil",
        "id with space",
    ] {
        for result in [
            client.agents().get(id).await.map(|_| ()),
            client.agents().stop(id).await,
            client.agents().history(id).await.map(|_| ()),
            client.stop_agent(id).await,
            client.telephony().get(id).await.map(|_| ()),
            client.telephony().hangup(id).await,
        ] {
            let err = result.unwrap_err();
            assert!(matches!(err, Error::InvalidInput { .. }), "{id:?}: {err}");
            assert!(!err.to_string().contains("internal"), "{err}");
        }
        assert!(client.phone_numbers().get(id).await.is_err());
    }
    assert_eq!(server.hits(), 0, "nothing was sent");
    // A safe id with reserved characters stays one segment.
    let _ = client.agents().get("a:b@c").await;
    let line = server.last();
    assert!(
        line.starts_with(&format!(
            "GET /api/conversational-ai-agent/v2/projects/{APP_ID}/agents/a%3Ab%40c HTTP/1.1"
        )),
        "{}",
        line.lines().next().unwrap_or("")
    );
}

#[test]
fn base_urls_with_credentials_or_odd_parts_are_refused_without_echo() {
    for url in [
        "http://admin:SENTINEL-PASS-55@127.0.0.1:1/api",
        "http://SENTINEL-PASS-55@127.0.0.1:1/api",
        "https://127.0.0.1/api?x=SENTINEL-PASS-55",
        "https://127.0.0.1/api#SENTINEL-PASS-55",
        "ftp://127.0.0.1/api",
        "file:///etc/passwd",
        "not a url SENTINEL-PASS-55",
    ] {
        let err = Client::builder()
            .app_id(APP_ID)
            .app_certificate(CERT)
            .base_url(url)
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::InvalidInput { .. }), "{url}: {err}");
        assert!(!err.to_string().contains("SENTINEL"), "{err}");
    }
}

#[test]
fn timeouts_are_checked_at_build() {
    for (t, a) in [
        (Duration::ZERO, Duration::from_secs(1)),
        (Duration::from_secs(1), Duration::ZERO),
        (Duration::from_secs(10_000), Duration::from_secs(1)),
        (Duration::MAX, Duration::from_secs(1)),
    ] {
        let err = Client::builder()
            .app_id(APP_ID)
            .app_certificate(CERT)
            .timeout(t)
            .attempt_timeout(a)
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::InvalidInput { .. }), "{err}");
    }
}

/// The ambiguous-join rule: a re-send that meets the name in use is an unknown outcome,
/// never a second agent and never a silent success.
#[tokio::test]
async fn a_join_whose_answer_was_lost_reports_an_unknown_outcome() {
    let n = Arc::new(AtomicUsize::new(0));
    let count = n.clone();
    let server = Hostile::spawn(move |_| {
        if count.fetch_add(1, Ordering::SeqCst) == 0 {
            Act::Drop
        } else {
            Act::Raw(http(
                "409 Conflict",
                &[("content-type", "application/json")],
                "{\"reason\":\"TaskConflict\",\"detail\":\"name in use\"}",
            ))
        }
    })
    .await;
    let err = app_client(&server.base())
        .agents()
        .start(&join_request())
        .await
        .unwrap_err();
    assert!(err.is_ambiguous(), "{err}");
    assert!(matches!(&err, Error::OutcomeUnknown { source } if source.status() == Some(409)));
    assert_eq!(server.hits(), 2);
}

mod path_property {
    use super::*;
    use proptest::prelude::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// For any string: a local refusal, or a request whose path has exactly the expected
        /// segments, the id being one of them and decoding back to itself.
        #[test]
        fn any_id_is_refused_or_exactly_one_segment(id in prop_oneof![
            any::<String>(),
            "[./\\\\%?#a-zA-Z0-9 :@+=-]{0,12}",
            Just("..".to_owned()),
        ]) {
            let rt = runtime();
            rt.block_on(async {
                let server = Hostile::spawn(|req| echo("200 OK", req)).await;
                let client = app_client(&server.base());
                let prefix = format!("/api/conversational-ai-agent/v2/projects/{APP_ID}/agents");
                for suffix in ["", "/leave"] {
                    let result = match suffix {
                        "" => client.agents().get(&id).await.map(|_| ()),
                        _ => client.agents().stop(&id).await,
                    };
                    match result {
                        Err(Error::InvalidInput { .. }) => {
                            prop_assert_eq!(server.hits(), 0);
                        }
                        _ => {
                            let line = server.last();
                            let path = line.split(' ').nth(1).unwrap_or("").to_owned();
                            let rest = path.strip_prefix(&prefix).unwrap_or("");
                            let rest = rest.strip_suffix(suffix).unwrap_or("");
                            let seg = rest.strip_prefix('/').unwrap_or("");
                            prop_assert!(!seg.is_empty() && !seg.contains('/'), "{path}");
                            let decoded = percent_encoding::percent_decode_str(seg)
                                .decode_utf8()
                                .unwrap()
                                .to_string();
                            prop_assert_eq!(&decoded, &id);
                            prop_assert!(!path.contains('?') && !path.contains('#'));
                            server.requests.lock().unwrap().clear();
                        }
                    }
                }
                Ok(())
            })?;
        }
    }
}

/// A chunked answer: every chunk-encoding frame as given, then the terminator.
fn chunked(frames: &[&[u8]]) -> Vec<u8> {
    let mut out =
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
            .to_vec();
    for f in frames {
        out.extend_from_slice(format!("{:x}\r\n", f.len()).as_bytes());
        out.extend_from_slice(f);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

#[tokio::test]
async fn an_answer_in_many_chunks_is_read_whole_and_still_bounded() {
    // The JSON split at awkward places, one frame per piece, with the middle of a string
    // in its own frame: the answer decodes exactly as if it came in one piece.
    let body = br#"{"agent_id":"AGENT1","status":"RUNNING","start_ts":1,"stop_ts":0,"message":"split here"}"#;
    let cuts = [1, 7, 8, 30, 31, 60, body.len()];
    let mut frames = Vec::new();
    let mut at = 0;
    for c in cuts {
        frames.push(body[at..c].to_vec());
        at = c;
    }
    let bytes = chunked(&frames.iter().map(Vec::as_slice).collect::<Vec<_>>());
    let server = Hostile::spawn(move |_| Act::Raw(bytes.clone())).await;
    let info = app_client(&server.base())
        .agents()
        .get("AGENT1")
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.agent_id, "AGENT1");
    assert_eq!(info.message.as_deref(), Some("split here"));

    // Many chunks that add up to more than the bound: refused once the bound is passed, with
    // nothing of the body in the error.
    let piece = vec![b'x'; 1 << 20];
    let many: Vec<&[u8]> = std::iter::repeat_n(piece.as_slice(), 9).collect();
    let huge = chunked(&many);
    let server = Hostile::spawn(move |_| Act::Raw(huge.clone())).await;
    let err = app_client(&server.base())
        .agents()
        .get("AGENT1")
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("larger than"), "{text}");
    assert!(!text.contains("xxxx"), "{text}");
}
