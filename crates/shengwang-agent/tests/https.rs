//! HTTPS as production runs it: whole sessions against the emulator's TLS mode in both auth
//! modes, HTTP/2 negotiated by ALPN, and the ways TLS fails (an untrusted or wrong certificate,
//! a handshake that never finishes, a bad root certificate).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use convoai_emulator::{Emulator, EmulatorHandle};
use shengwang_agent::agentkit::{AgentUid, RemoteUid};
use shengwang_agent::types::agents::Role;
use shengwang_agent::{Client, ClientBuilder, Error, RetryPolicy};

mod support;

async fn tls_emulator() -> EmulatorHandle {
    Emulator::builder().tls(true).spawn().await.unwrap()
}

fn builder(emu: &EmulatorHandle) -> ClientBuilder {
    Client::builder()
        .app_id(emu.app_id())
        .app_certificate(emu.app_certificate())
        .base_url(emu.cn_base_url())
        .retry(RetryPolicy::standard().base_delay(Duration::from_millis(2)))
}

fn trusted(emu: &EmulatorHandle) -> ClientBuilder {
    builder(emu).add_root_certificate(emu.ca_pem().expect("TLS mode has a CA"))
}

async fn whole_session(client: &Client, channel: &str) {
    let session = support::minimal_agent()
        .create_session(
            client,
            channel,
            AgentUid::from(1001),
            [RemoteUid::from(2002)],
        )
        .build();
    session.start().await.unwrap();
    session.say("Hello over TLS").send().await.unwrap();
    let history = session.history().await.unwrap();
    assert_eq!(history.contents[0].role, Role::Assistant);
    assert_eq!(history.contents[0].content, "Hello over TLS");
    session.stop().await.unwrap();
}

#[tokio::test]
async fn a_whole_session_over_https_in_app_credentials_mode() {
    let emu = tls_emulator().await;
    assert!(emu.base_url().starts_with("https://127.0.0.1:"));
    let client = trusted(&emu).build().unwrap();
    assert_eq!(client.auth_mode(), "app-credentials");
    whole_session(&client, "tls-app").await;
    let log = emu.recent_requests();
    assert!(log.iter().all(|r| r.auth_scheme == "agora token"));
    let stats = emu.stats();
    assert!(stats.tls_handshakes >= 1);
    assert_eq!(stats.http2_requests, 0, "HTTP/2 is opt-in: {stats:?}");
    assert_eq!(
        stats.http1_requests, 4,
        "start, say, history, stop: {stats:?}"
    );
}

#[tokio::test]
async fn a_whole_session_over_https_in_basic_mode() {
    let emu = tls_emulator().await;
    let client = trusted(&emu)
        .basic(emu.customer_id(), emu.customer_secret())
        .build()
        .unwrap();
    whole_session(&client, "tls-basic").await;
    assert!(emu
        .recent_requests()
        .iter()
        .all(|r| r.auth_scheme == "Basic"));
}

#[tokio::test]
async fn sequential_calls_reuse_one_tls_connection() {
    let emu = tls_emulator().await;
    let client = trusted(&emu).build().unwrap();
    for i in 0..5 {
        whole_session(&client, &format!("reuse-{i}")).await;
    }
    let stats = emu.stats();
    assert_eq!(stats.connections, 1, "{stats:?}");
    assert_eq!(stats.tls_handshakes, 1, "{stats:?}");
}

#[tokio::test]
async fn http2_is_negotiated_by_alpn_and_multiplexes_concurrent_sessions() {
    let emu = tls_emulator().await;
    let client = trusted(&emu).http2(true).build().unwrap();
    // Warm the connection first so the concurrent sessions find it (otherwise each may race
    // to open its own before the first handshake finishes).
    whole_session(&client, "h2-warm").await;
    let runs = (0..16).map(|i| {
        let client = client.clone();
        async move { whole_session(&client, &format!("h2-{i}")).await }
    });
    futures::future::join_all(runs).await;
    let stats = emu.stats();
    assert_eq!(stats.http1_requests, 0, "{stats:?}");
    assert_eq!(stats.http2_requests, 17 * 4, "{stats:?}");
    assert_eq!(
        stats.tls_handshakes, 1,
        "one multiplexed connection: {stats:?}"
    );
}

#[tokio::test]
async fn an_untrusted_certificate_is_one_typed_tls_error_without_retries() {
    let emu = tls_emulator().await;
    // Trusting only the bundled roots, as a user who forgot add_root_certificate would.
    let client = builder(&emu).build().unwrap();
    let started = Instant::now();
    let err = client.agents().get("some-agent").await.unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
    let line = err.to_string();
    assert!(line.starts_with("TLS error: "), "{line}");
    assert!(line.contains("certificate"), "{line}");
    assert!(line.contains(&format!("https://{}", emu.addr())), "{line}");
    assert!(!line.contains('\n'), "{line}");
    assert!(!line.contains(emu.app_certificate()), "{line}");
    assert!(!err.is_retryable());
    // Not retried: one connection, no handshake completed, no request reached the API.
    let stats = emu.stats();
    assert_eq!(stats.connections, 1, "{stats:?}");
    assert_eq!(stats.tls_handshakes, 0, "{stats:?}");
    assert!(emu.recent_requests().is_empty());
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_a_tls_error() {
    let emu = tls_emulator().await;
    let other = tls_emulator().await;
    let client = builder(&emu)
        .add_root_certificate(other.ca_pem().unwrap())
        .build()
        .unwrap();
    let err = client.agents().get("some-agent").await.unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
    assert_eq!(emu.stats().connections, 1);
}

#[tokio::test]
async fn a_certificate_for_another_name_is_a_tls_error() {
    let emu = tls_emulator().await;
    // The certificate names localhost, 127.0.0.1 and ::1. 127.0.0.2 is loopback too (all of
    // 127/8), but not in the certificate: reach the same server through it.
    let forward = forwarder(emu.addr()).await;
    let client = Client::builder()
        .app_id(emu.app_id())
        .app_certificate(emu.app_certificate())
        .base_url(format!("https://{forward}/cn/api/conversational-ai-agent"))
        .add_root_certificate(emu.ca_pem().unwrap())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let err = client.agents().get("some-agent").await.unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
    assert!(err.to_string().contains("not valid for name"), "{err}");
    assert!(emu.recent_requests().is_empty());
}

/// Forwards TCP connections made to 127.0.0.2:PORT to `to`, byte for byte.
async fn forwarder(to: std::net::SocketAddr) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.2:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(to).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn a_stalled_handshake_fails_within_the_timeout() {
    // Accepts connections and never answers: the TLS ClientHello goes unanswered.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let held = accepted.clone();
    tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.fetch_add(1, Ordering::SeqCst);
            open.push(stream);
        }
    });
    let emu = tls_emulator().await;
    let client = Client::builder()
        .app_id(emu.app_id())
        .app_certificate(emu.app_certificate())
        .base_url(format!("https://{addr}/cn/api/conversational-ai-agent"))
        .add_root_certificate(emu.ca_pem().unwrap())
        // The whole call's deadline, retries included (the default policy retries a timeout).
        .timeout(Duration::from_millis(800))
        .build()
        .unwrap();
    let started = Instant::now();
    let outcome = tokio::time::timeout(Duration::from_secs(10), client.agents().get("x")).await;
    let elapsed = started.elapsed();
    let err = outcome.expect("the call hung").unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert!(!err.to_string().contains('\n'));
    assert!(elapsed >= Duration::from_millis(700), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(1500), "{elapsed:?}");
    assert!(accepted.load(Ordering::SeqCst) >= 1);
}

#[tokio::test]
async fn plain_http_to_a_tls_port_fails_fast_and_https_to_a_plain_port_is_a_tls_error() {
    let tls = tls_emulator().await;
    let plain = Emulator::builder().spawn().await.unwrap();
    let to_plain = Client::builder()
        .app_id(plain.app_id())
        .app_certificate(plain.app_certificate())
        .base_url(plain.cn_base_url().replace("http://", "https://"))
        .add_root_certificate(tls.ca_pem().unwrap())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let err = to_plain.agents().get("x").await.unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");

    let to_tls = Client::builder()
        .app_id(tls.app_id())
        .app_certificate(tls.app_certificate())
        .base_url(tls.cn_base_url().replace("https://", "http://"))
        .retry(RetryPolicy::none())
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = to_tls.agents().get("x").await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3), "{err:?}");
    assert!(!matches!(err, Error::Api { .. }), "{err:?}");
}

#[test]
fn a_bad_root_certificate_is_refused_at_build_without_echoing_it() {
    const SENTINEL: &str = "SENTINEL-KEY-0123456789";
    let b = || {
        Client::builder()
            .app_id("0123456789abcdef0123456789abcdef")
            .app_certificate("fedcba9876543210fedcba9876543210")
    };
    let cases: Vec<Vec<u8>> = vec![
        Vec::new(),
        format!("not a pem {SENTINEL}").into_bytes(),
        format!("-----BEGIN PRIVATE KEY-----\n{SENTINEL}\n-----END PRIVATE KEY-----\n").into_bytes(),
        format!("-----BEGIN CERTIFICATE-----\n{SENTINEL}!!\n-----END CERTIFICATE-----\n")
            .into_bytes(),
        // Valid base64, not a certificate inside.
        "-----BEGIN CERTIFICATE-----\nU0VOVElORUwtS0VZLTAxMjM0NTY3ODk=\n-----END CERTIFICATE-----\n"
            .into(),
        vec![0xff, 0x00, 0xfe],
    ];
    for pem in cases {
        let err = b().add_root_certificate(&pem).build().unwrap_err();
        assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains(SENTINEL), "{shown}");
        assert!(!shown.contains("U0VOVElO"), "{shown}");
        assert!(!shown.contains('\n'), "{shown}");
    }
}

#[tokio::test]
async fn root_certificates_accept_str_and_bytes_and_bundles() {
    let emu = tls_emulator().await;
    let other = tls_emulator().await;
    let bundle = format!("{}{}", other.ca_pem().unwrap(), emu.ca_pem().unwrap());
    let client = builder(&emu)
        .add_root_certificate(bundle.as_bytes())
        .build()
        .unwrap();
    client.agents().list().page().await.unwrap();
    let from_str = builder(&emu)
        .add_root_certificate(emu.ca_pem().unwrap())
        .build()
        .unwrap();
    from_str.agents().list().page().await.unwrap();
}

#[test]
fn roots_and_http2_cannot_be_set_on_a_client_given_by_the_user() {
    let b = Client::builder()
        .app_id("0123456789abcdef0123456789abcdef")
        .app_certificate("fedcba9876543210fedcba9876543210")
        .http_client(reqwest::Client::new());
    let err = b.clone().http2(true).build().unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    let err = b
        .add_root_certificate("-----BEGIN CERTIFICATE-----\n")
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
}

#[test]
fn the_blocking_client_takes_the_same_tls_settings() {
    let emu = Emulator::builder().tls(true).start().unwrap();
    let client = shengwang_agent::blocking::Client::builder()
        .app_id(emu.app_id())
        .app_certificate(emu.app_certificate())
        .base_url(emu.cn_base_url())
        .add_root_certificate(emu.ca_pem().unwrap())
        .http2(true)
        .build()
        .unwrap();
    client.agents().list().page().unwrap();
    let stats = emu.stats();
    assert_eq!(
        (stats.tls_handshakes, stats.http2_requests),
        (1, 1),
        "{stats:?}"
    );
}
