//! In app-credentials mode a session signs one token: its join token, which is for the same
//! channel and uid as its header token, is also sent as that header (until the safety margin
//! before it expires). Checked on the wire through a recording proxy in front of the emulator.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::response::Response;
use convoai_emulator::Emulator;
use serde_json::Value;
use shengwang_agent::agentkit::{AgentUid, RemoteUid};
use shengwang_agent::Client;

/// (path, header token, body) of every request that went through.
type Seen = Arc<Mutex<Vec<(String, String, Option<Value>)>>>;

/// Forwards every request to `upstream` unchanged and records it.
async fn proxy(upstream: String) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let http = reqwest::Client::new();
    let app = axum::Router::new()
        .fallback(
            |State((http, upstream, seen)): State<(reqwest::Client, String, Seen)>,
             req: Request| async move {
                let (parts, body) = req.into_parts();
                let body = to_bytes(body, 1 << 20).await.unwrap();
                let path = parts.uri.path_and_query().unwrap().to_string();
                let auth = parts.headers["authorization"].to_str().unwrap().to_owned();
                seen.lock().unwrap().push((
                    path.clone(),
                    auth.trim_start_matches("agora token=").to_owned(),
                    serde_json::from_slice(&body).ok(),
                ));
                let res = http
                    .request(parts.method, format!("{upstream}{path}"))
                    .headers(parts.headers)
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                let mut out = Response::builder().status(res.status());
                for (k, v) in res.headers() {
                    out = out.header(k, v);
                }
                out.body(Body::from(res.bytes().await.unwrap())).unwrap()
            },
        )
        .with_state((http, upstream, seen.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), seen)
}

/// Runs one start → say → stop session as `agent_uid` with a token lifetime of `lifetime`,
/// and returns (the join's body token, the header tokens of the join and the say).
async fn session(agent_uid: u32, lifetime: Duration) -> (String, Vec<String>) {
    let emu = Emulator::builder().spawn().await.unwrap();
    let (proxied, seen) = proxy(emu.url()).await;
    let client = Client::builder()
        .app_id(emu.app_id())
        .app_certificate(emu.app_certificate())
        .base_url(format!("{proxied}/api/conversational-ai-agent"))
        .build()
        .unwrap();
    let s = support::minimal_agent()
        .create_session(
            &client,
            "tokens",
            AgentUid::from(agent_uid),
            [RemoteUid::from(2002)],
        )
        .expires_in(lifetime)
        .build();
    s.start().await.unwrap();
    s.say("hello").send().await.unwrap();
    s.stop().await.unwrap();
    let seen = seen.lock().unwrap().clone();
    let join = seen
        .iter()
        .find(|(p, _, _)| p.ends_with("/join"))
        .and_then(|(_, _, b)| b.as_ref())
        .map(|b| b["properties"]["token"].as_str().unwrap().to_owned())
        .expect("a join went through");
    // The stop is signed for the stateless-stop identity, as the official SDKs sign it.
    assert!(seen.last().is_some_and(|(p, _, _)| p.ends_with("/leave")));
    (
        join,
        seen.into_iter()
            .filter(|(p, _, _)| !p.ends_with("/leave"))
            .map(|(_, h, _)| h)
            .collect(),
    )
}

#[tokio::test]
async fn a_session_sends_its_join_token_as_its_header_token() {
    let (join, headers) = session(1001, Duration::from_secs(86_400)).await;
    assert_eq!(headers.len(), 2, "join, speak");
    assert!(
        headers.iter().all(|h| *h == join),
        "every request of the session carries the join token"
    );
}

#[tokio::test]
async fn a_join_token_too_short_for_the_margin_is_not_reused() {
    // 5 minutes is inside the 10-minute margin: the header is signed on its own, for an
    // hour, and reused across the session's requests.
    let (join, headers) = session(1001, Duration::from_secs(300)).await;
    assert!(headers.iter().all(|h| *h != join), "{headers:?}");
    assert!(headers.windows(2).all(|w| w[0] == w[1]), "one header token");
}

#[tokio::test]
async fn uid_zero_signs_the_header_for_its_own_identity() {
    // The join token of uid 0 is for "any uid", not for the account "0" the header is for.
    let (join, headers) = session(0, Duration::from_secs(86_400)).await;
    assert!(headers.iter().all(|h| *h != join));
}
