//! The `axum_server` example's routes, against the emulator: a session made through
//! `POST /sessions` is stopped by `DELETE /sessions/{id}`, and deleting a session nobody
//! knows is a 404, not a success.
//!
//! The example's own file is compiled in as a module, so this tests the routes a reader
//! copies.

#[allow(dead_code)]
#[path = "../examples/axum_server.rs"]
mod axum_server;

use serde_json::{json, Value};
use shengwang_agent::reqwest::StatusCode;
use shengwang_agent::Client;

#[tokio::test]
async fn deleting_an_unknown_session_is_a_404() {
    let emu = convoai_emulator::Emulator::builder().spawn().await.unwrap();
    let client = Client::builder()
        .app_id(emu.app_id())
        .app_certificate(emu.app_certificate())
        .base_url(emu.url())
        .build()
        .unwrap();
    let router = axum_server::router(client, axum_server::support_agent().unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let http = shengwang_agent::reqwest::Client::new();

    let unknown = http
        .delete(format!("{base}/sessions/NOPE"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let body: Value = unknown.json().await.unwrap();
    assert_eq!(body, json!({"error": "no such session"}));

    let created = http
        .post(format!("{base}/sessions"))
        .json(&json!({"channel": "room-7", "user_uid": "4242"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    let id = created["agent_id"].as_str().unwrap().to_owned();
    let deleted = http
        .delete(format!("{base}/sessions/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::OK);
    assert_eq!(
        deleted.json::<Value>().await.unwrap(),
        json!({"stopped": id})
    );
    // Stopped and forgotten: the same id is now unknown too.
    let again = http
        .delete(format!("{base}/sessions/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
}
