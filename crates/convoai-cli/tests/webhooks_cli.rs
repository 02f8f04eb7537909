//! `convoai webhooks verify` exit codes and `convoai webhooks listen` behaviour: each notice
//! printed once, 401 with a stderr line on a bad signature, `--forward-to` passing the raw
//! request on unchanged.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command as StdCommand, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::HeaderMap;

const SECRET: &str = "test-secret";
const LEFT: &str = r#"{"noticeId":"2000001428:4331:102","productId":17,"eventType":102,"notifyMs":1737111755480,"sid":"C866467GVJJ54687","payload":{"agent_id":"1NT29X10YH4Q8ZRWJOXLYHNYB","name":"support-bot-42","start_ts":1737111452,"stop_ts":1737111755,"channel":"room-8841","status":"STOPPED","message":"Idle for too long","labels":{"campaign_id":"test_campaign","customer_group":"vip"}}}"#;
const LEFT_V2: &str = "80287bc4e9259c2d6ddf3f771c81788edd4af7cb898cbffdd8c232e5a0f83c8a";
const LEFT_V1: &str = "bd83383058e0401833bc0eee537013b48a8fb715";
const RETRY: &str = r#"{"noticeId":"2000001428:4331:102","productId":17,"eventType":102,"notifyMs":1737111757512,"sid":"C866467GVJJ54687","payload":{"agent_id":"1NT29X10YH4Q8ZRWJOXLYHNYB","name":"support-bot-42","start_ts":1737111452,"stop_ts":1737111755,"channel":"room-8841","status":"STOPPED","message":"Idle for too long","labels":{"campaign_id":"test_campaign","customer_group":"vip"}}}"#;
const RETRY_V2: &str = "5d6eea256e9e7ab474c9abe00e419b60a079062805301cd36c002528e465d11e";

fn body_file() -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(LEFT.as_bytes()).unwrap();
    f
}

#[test]
fn verify_exit_codes() {
    let f = body_file();
    let path = f.path().to_str().unwrap();
    let out = support::ok(support::bare().args([
        "webhooks",
        "verify",
        "--secret",
        SECRET,
        "--signature-v2",
        LEFT_V2,
        path,
    ]));
    assert!(out.contains("ok"), "{out}");
    support::ok(support::bare().args([
        "webhooks",
        "verify",
        "--secret",
        SECRET,
        "--signature",
        LEFT_V1,
        path,
    ]));
    support::ok(
        support::bare()
            .args([
                "webhooks",
                "verify",
                "--secret",
                SECRET,
                "--signature-v2",
                LEFT_V2,
                "-",
            ])
            .write_stdin(LEFT),
    );
    support::ok(
        support::bare()
            .args([
                "webhooks",
                "verify",
                "--secret",
                SECRET,
                "--signature-v2",
                LEFT_V2,
            ])
            .write_stdin(LEFT),
    );
    // A changed body (a trailing newline) or another secret: mismatch, exit 1.
    support::fails(
        support::bare()
            .args([
                "webhooks",
                "verify",
                "--secret",
                SECRET,
                "--signature-v2",
                LEFT_V2,
            ])
            .write_stdin(format!("{LEFT}\n")),
        1,
    );
    let err = support::fails(
        support::bare().args([
            "webhooks",
            "verify",
            "--secret",
            "SENTINEL-WRONG",
            "--signature-v2",
            LEFT_V2,
            path,
        ]),
        1,
    );
    assert!(!err.contains("SENTINEL"), "{err}");
    // Usage errors: no signature, both, malformed hex, unreadable file.
    support::fails(
        support::bare().args(["webhooks", "verify", "--secret", SECRET, path]),
        2,
    );
    support::fails(
        support::bare().args([
            "webhooks",
            "verify",
            "--secret",
            SECRET,
            "--signature-v2",
            LEFT_V2,
            "--signature",
            LEFT_V1,
            path,
        ]),
        2,
    );
    support::fails(
        support::bare().args([
            "webhooks",
            "verify",
            "--secret",
            SECRET,
            "--signature-v2",
            "xyz",
            path,
        ]),
        2,
    );
    support::fails(
        support::bare().args([
            "webhooks",
            "verify",
            "--secret",
            SECRET,
            "--signature-v2",
            LEFT_V2,
            "/nonexistent/body.json",
        ]),
        2,
    );
}

struct Listening {
    child: Child,
    url: String,
    stdout: mpsc::Receiver<String>,
    stderr: mpsc::Receiver<String>,
}

impl Drop for Listening {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn lines(r: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn listen(extra: &[&str]) -> Listening {
    let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("convoai"))
        .args(["webhooks", "listen", "--port", "0", "--secret", SECRET])
        .args(extra)
        .env_remove("SHENGWANG_WEBHOOK_SECRET")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = lines(child.stdout.take().unwrap());
    let stderr = lines(child.stderr.take().unwrap());
    let first = stderr
        .recv_timeout(Duration::from_secs(30))
        .expect("listen prints its address");
    let addr = first
        .strip_prefix("listening on ")
        .and_then(|s| s.split_whitespace().next())
        .expect(&first)
        .to_owned();
    Listening {
        child,
        url: format!("{addr}/callbacks"),
        stdout,
        stderr,
    }
}

async fn post(url: &str, body: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut req = reqwest::Client::new().post(url).body(body.to_owned());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

fn drain(rx: &mpsc::Receiver<String>, wait: Duration) -> Vec<String> {
    let mut out = Vec::new();
    while let Ok(l) = rx.recv_timeout(wait) {
        out.push(l);
    }
    out
}

#[tokio::test]
async fn listen_prints_each_notice_once_and_rejects_bad_signatures() {
    let l = listen(&[]);
    assert_eq!(
        post(&l.url, LEFT, &[("Agora-Signature-V2", LEFT_V2)])
            .await
            .0,
        200
    );
    assert_eq!(
        post(&l.url, LEFT, &[("Agora-Signature", LEFT_V1)]).await.0,
        200
    );
    assert_eq!(
        post(&l.url, RETRY, &[("Agora-Signature-V2", RETRY_V2)])
            .await
            .0,
        200
    );
    let (status, body) = post(&l.url, LEFT, &[("Agora-Signature-V2", RETRY_V2)]).await;
    assert_eq!(status, 401);
    assert!(body.contains("invalid signature"));
    assert_eq!(post(&l.url, LEFT, &[]).await.0, 401);
    let out = drain(&l.stdout, Duration::from_millis(500));
    assert_eq!(out.len(), 1, "{out:?}");
    assert!(
        out[0].starts_with("2000001428:4331:102 102 agent_left"),
        "{out:?}"
    );
    assert!(out[0].contains("Idle for too long"));
    let err = drain(&l.stderr, Duration::from_millis(200));
    assert_eq!(
        err.iter().filter(|l| l.contains("401")).count(),
        2,
        "{err:?}"
    );
}

#[tokio::test]
async fn listen_json_prints_the_body_as_received() {
    let l = listen(&["--json"]);
    assert_eq!(
        post(&l.url, LEFT, &[("Agora-Signature-V2", LEFT_V2)])
            .await
            .0,
        200
    );
    // A pretty-printed (multi-line) body still makes one line.
    let pretty = serde_json::to_string_pretty(&serde_json::json!({"noticeId": "n-2", "productId": 17, "eventType": 999, "notifyMs": 1, "payload": {}})).unwrap();
    let sig = shengwang_agent::webhooks::sign_v2(SECRET.as_bytes(), pretty.as_bytes());
    assert_eq!(
        post(&l.url, &pretty, &[("Agora-Signature-V2", &sig)])
            .await
            .0,
        200
    );
    let out = drain(&l.stdout, Duration::from_millis(500));
    assert_eq!(out.len(), 2, "{out:?}");
    assert_eq!(out[0], LEFT);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out[1]).unwrap()["noticeId"],
        "n-2"
    );
}

#[tokio::test]
async fn forward_to_passes_the_raw_request_on_and_relays_the_answer() {
    type Got = Arc<Mutex<Vec<(String, HeaderMap, Bytes)>>>;
    let got: Got = Arc::default();
    let g = got.clone();
    let app = axum::Router::new().route(
        "/downstream",
        axum::routing::post(
            move |uri: axum::http::Uri, headers: HeaderMap, body: Bytes| {
                let g = g.clone();
                async move {
                    let n = {
                        let mut v = g.lock().unwrap();
                        v.push((uri.to_string(), headers, body));
                        v.len()
                    };
                    if n == 2 {
                        (
                            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                            "down".to_owned(),
                        )
                    } else {
                        (axum::http::StatusCode::OK, format!("{{\"seen\":{n}}}"))
                    }
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = format!("http://{}/downstream", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let l = listen(&["--forward-to", &target]);
    let headers = [
        ("Agora-Signature-V2", LEFT_V2),
        ("Agora-Signature", LEFT_V1),
        ("Content-Type", "Application/json"),
        ("X-Trace", "t-1"),
    ];
    assert_eq!(
        post(&format!("{}?q=1", l.url), LEFT, &headers).await,
        (200, "{\"seen\":1}".to_owned())
    );
    // The downstream failure is what the sender sees (so it resends).
    assert_eq!(post(&l.url, LEFT, &headers).await.0, 500);
    // A bad signature is not forwarded.
    assert_eq!(
        post(&l.url, LEFT, &[("Agora-Signature-V2", RETRY_V2)])
            .await
            .0,
        401
    );
    let got = got.lock().unwrap();
    assert_eq!(got.len(), 2);
    let (uri, h, body) = &got[0];
    assert_eq!(uri, "/downstream?q=1");
    assert_eq!(&body[..], LEFT.as_bytes());
    assert_eq!(h["agora-signature-v2"], LEFT_V2);
    assert_eq!(h["agora-signature"], LEFT_V1);
    assert_eq!(h["content-type"], "Application/json");
    assert_eq!(h["x-trace"], "t-1");
    // Printed once even though forwarded twice.
    assert_eq!(drain(&l.stdout, Duration::from_millis(300)).len(), 1);
}

/// `webhooks listen` used to keep every half-open connection open indefinitely: now silent and
/// half-open clients are closed (the idle ones make room), and a real delivery is answered.
#[tokio::test]
async fn silent_clients_neither_block_deliveries_nor_pin_descriptors() {
    let l = listen(&[]);
    let addr = l
        .url
        .trim_start_matches("http://")
        .trim_end_matches("/callbacks")
        .to_owned();
    let silent: Vec<std::net::TcpStream> = (0..1500)
        .filter_map(|i| {
            let mut s = std::net::TcpStream::connect(&addr).ok()?;
            if i % 2 == 0 {
                let _ = s.write_all(b"POST /callbacks HTTP/1.1\r\nHost: x\r\n");
            }
            Some(s)
        })
        .collect();
    assert!(silent.len() > 1000, "opened only {}", silent.len());
    let began = std::time::Instant::now();
    let (status, _) = post(&l.url, "{}", &[]).await;
    assert_eq!(status, 401, "an unsigned delivery is answered");
    assert!(
        began.elapsed() < Duration::from_secs(2),
        "{:?}",
        began.elapsed()
    );
    let fds = std::fs::read_dir(format!("/proc/{}/fd", l.child.id()))
        .map(|d| d.count())
        .unwrap_or(0);
    assert!(fds < 512 + 64, "{fds} descriptors open");
}
