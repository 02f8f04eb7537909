//! The emulator's TLS mode and protocols: a certificate clients can trust, ALPN h2 and
//! http/1.1, h2c with prior knowledge on plain HTTP, a stalled handshake that does not hold
//! the server, and the connection counters (handle and `GET /_emulator/stats`).

use std::time::Duration;

use convoai_emulator::{Emulator, EmulatorHandle};
use reqwest::Version;
use serde_json::Value;
use tokio::io::AsyncWriteExt;

fn trusting(emu: &EmulatorHandle) -> reqwest::ClientBuilder {
    let ca = reqwest::Certificate::from_pem(emu.ca_pem().unwrap().as_bytes()).unwrap();
    reqwest::Client::builder().add_root_certificate(ca)
}

async fn stats(http: &reqwest::Client, emu: &EmulatorHandle) -> Value {
    http.get(format!("{}/_emulator/stats", emu.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn list_url(emu: &EmulatorHandle) -> String {
    format!("{}/v2/projects/{}/agents", emu.cn_base_url(), emu.app_id())
}

#[tokio::test]
async fn tls_serves_h2_and_http1_by_alpn_and_counts_connections_and_handshakes() {
    let emu = Emulator::builder().tls(true).spawn().await.unwrap();
    assert!(emu.url().starts_with("https://127.0.0.1:"));
    let pem = emu.ca_pem().unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    assert_eq!(
        std::fs::read_to_string(emu.ca_path().unwrap()).unwrap(),
        pem
    );

    let h2 = trusting(&emu).build().unwrap();
    let h1 = trusting(&emu).http1_only().build().unwrap();
    for (client, version) in [(&h2, Version::HTTP_2), (&h1, Version::HTTP_11)] {
        for _ in 0..3 {
            let res = client
                .get(list_url(&emu))
                .basic_auth(emu.customer_id(), Some(emu.customer_secret()))
                .send()
                .await
                .unwrap();
            assert_eq!(res.version(), version);
            assert_eq!(res.status(), 200);
        }
    }
    let s = emu.stats();
    assert_eq!((s.connections, s.tls_handshakes), (2, 2), "{s:?}");
    assert_eq!((s.http1_requests, s.http2_requests), (3, 3), "{s:?}");
    let admin = stats(&h1, &emu).await;
    assert_eq!(admin["tls_handshakes"], 2);
    assert_eq!(admin["http2_requests"], 3);

    emu.reset();
    assert_eq!(emu.stats().tls_handshakes, 0);
}

#[tokio::test]
async fn the_ca_file_is_removed_when_the_emulator_stops() {
    let emu = Emulator::builder().tls(true).spawn().await.unwrap();
    let path = emu.ca_path().unwrap().to_owned();
    assert!(path.is_file());
    emu.shutdown().await;
    assert!(!path.exists());
}

#[tokio::test]
async fn plain_http_serves_h2_with_prior_knowledge_and_has_no_ca() {
    let emu = Emulator::builder().spawn().await.unwrap();
    assert!(emu.ca_pem().is_none() && emu.ca_path().is_none());
    let h2c = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let res = h2c
        .get(list_url(&emu))
        .basic_auth(emu.customer_id(), Some(emu.customer_secret()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.version(), Version::HTTP_2);
    assert_eq!(res.status(), 200);
    let s = emu.stats();
    assert_eq!(
        (s.connections, s.tls_handshakes, s.http2_requests),
        (1, 0, 1)
    );
}

#[tokio::test]
async fn clients_that_stall_or_send_garbage_do_not_block_others() {
    let emu = Emulator::builder().tls(true).spawn().await.unwrap();
    // One peer connects and says nothing; another sends bytes that are not TLS.
    let _silent = tokio::net::TcpStream::connect(emu.addr()).await.unwrap();
    let mut garbage = tokio::net::TcpStream::connect(emu.addr()).await.unwrap();
    garbage
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let http = trusting(&emu)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let res = http
        .get(list_url(&emu))
        .basic_auth(emu.customer_id(), Some(emu.customer_secret()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let s = emu.stats();
    assert_eq!(s.connections, 3, "{s:?}");
    assert_eq!(s.tls_handshakes, 1, "{s:?}");
}

#[tokio::test]
async fn each_start_makes_a_new_ca() {
    let a = Emulator::builder().tls(true).spawn().await.unwrap();
    let b = Emulator::builder().tls(true).spawn().await.unwrap();
    assert_ne!(a.ca_pem(), b.ca_pem());
    assert_ne!(a.ca_path(), b.ca_path());
    // b's CA does not vouch for a's server.
    let err = trusting(&b)
        .build()
        .unwrap()
        .get(list_url(&a))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{err:?}");
}
