//! A small web backend, the typical integration: `POST /sessions` starts an agent for a
//! channel, `DELETE /sessions/{agent_id}` stops it; sessions live in shared state.
//!
//! `cargo run -p shengwang-agent --example axum_server` serves on 127.0.0.1:3000 (against the
//! in-process emulator unless `SHENGWANG_*` is set). `-- --demo` serves on an ephemeral port,
//! creates and deletes one session through its own HTTP API, checks that deleting an unknown
//! session is a 404, and exits.
//!
//! `DELETE` of an id this server does not hold stops that agent by id (it may have been
//! started before a restart); an id the service does not know either is a 404.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use shengwang_agent::agentkit::{Agent, Session};
use shengwang_agent::agentkit::{AgentUid, RemoteUid};
use shengwang_agent::vendors::{FengmingStt, Llm, MiniMaxTts};
use shengwang_agent::{Client, ClientBuilder};

#[derive(Clone)]
struct App {
    client: Client,
    agent: Agent,
    sessions: Arc<Mutex<HashMap<String, Session>>>,
}

#[derive(Deserialize)]
struct NewSession {
    channel: String,
    user_uid: String,
}

type Reply = (StatusCode, Json<Value>);

fn failure(e: shengwang_agent::Error) -> Reply {
    let status = match &e {
        shengwang_agent::Error::InvalidInput { .. } => StatusCode::BAD_REQUEST,
        e if e.is_not_found() => StatusCode::NOT_FOUND,
        _ => StatusCode::BAD_GATEWAY,
    };
    (status, Json(json!({"error": e.to_string()})))
}

async fn create(State(app): State<App>, Json(req): Json<NewSession>) -> Reply {
    let session = app
        .agent
        .create_session(
            &app.client,
            req.channel,
            AgentUid::from(1000),
            [RemoteUid::new(req.user_uid)],
        )
        .idle_timeout(120)
        .stop_on_drop(true)
        .build();
    match session.start().await {
        Ok(id) => {
            let mut sessions = app.sessions.lock().unwrap_or_else(|p| p.into_inner());
            sessions.insert(id.clone(), session);
            (StatusCode::CREATED, Json(json!({"agent_id": id})))
        }
        Err(e) => failure(e),
    }
}

async fn remove(State(app): State<App>, Path(id): Path<String>) -> Reply {
    let session = app
        .sessions
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&id);
    match session {
        Some(s) => match s.stop().await {
            Ok(()) => (StatusCode::OK, Json(json!({"stopped": id}))),
            Err(e) => failure(e),
        },
        // Not ours (e.g. after a restart of this server): stop it by id anyway. Unlike
        // `Client::stop_agent`, `agents().stop` reports an agent the service does not know
        // as not found, so a made-up id is a 404 rather than a success.
        None => match app.client.agents().stop(&id).await {
            Ok(()) => (StatusCode::OK, Json(json!({"stopped": id}))),
            Err(e) if e.is_not_found() => (
                StatusCode::NOT_FOUND,
                Json(json!({"error": "no such session"})),
            ),
            Err(e) => failure(e),
        },
    }
}

/// The backend's routes: `POST /sessions` and `DELETE /sessions/{agent_id}`, starting
/// sessions of `agent` with `client`.
pub(crate) fn router(client: Client, agent: Agent) -> Router {
    let app = App {
        client,
        agent,
        sessions: Arc::default(),
    };
    Router::new()
        .route("/sessions", post(create))
        .route("/sessions/:id", delete(remove))
        .with_state(app)
}

/// The agent every session runs.
pub(crate) fn support_agent() -> shengwang_agent::Result<Agent> {
    Agent::new()
        .with_name("support")
        .with_instructions("You are a support agent.")
        .with_llm(Llm::aliyun("https://llm.example/v1/chat/completions").api_key("sk-demo"))?
        .with_tts(MiniMaxTts::new(
            "mm-demo",
            "speech-02-turbo",
            "female-shaonv",
        ))?
        .with_stt(FengmingStt::new())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let demo = std::env::args().any(|a| a == "--demo");
    let (_emulator, builder) = match std::env::var("SHENGWANG_APP_ID") {
        Ok(_) => (None, ClientBuilder::from_env()?),
        Err(_) => {
            let emu = convoai_emulator::Emulator::builder().spawn().await?;
            println!("using the local emulator at {}", emu.url());
            let b = Client::builder()
                .app_id(emu.app_id())
                .app_certificate(emu.app_certificate())
                .base_url(emu.cn_base_url());
            (Some(emu), b)
        }
    };
    let router = router(builder.build()?, support_agent()?);
    let listener = tokio::net::TcpListener::bind(if demo {
        "127.0.0.1:0"
    } else {
        "127.0.0.1:3000"
    })
    .await?;
    let addr = listener.local_addr()?;
    println!("listening on http://{addr}");
    if !demo {
        axum::serve(listener, router).await?;
        return Ok(());
    }
    tokio::spawn(async move { axum::serve(listener, router).await });
    let http = reqwest::Client::new();
    let created: Value = http
        .post(format!("http://{addr}/sessions"))
        .json(&json!({"channel": "room-7", "user_uid": "4242"}))
        .send()
        .await?
        .json()
        .await?;
    println!("POST /sessions -> {created}");
    let id = created["agent_id"].as_str().unwrap_or_default();
    let deleted: Value = http
        .delete(format!("http://{addr}/sessions/{id}"))
        .send()
        .await?
        .json()
        .await?;
    println!("DELETE /sessions/{id} -> {deleted}");
    let unknown = http
        .delete(format!("http://{addr}/sessions/NOPE"))
        .send()
        .await?;
    println!("DELETE /sessions/NOPE -> {}", unknown.status());
    if unknown.status() != reqwest::StatusCode::NOT_FOUND {
        return Err(format!("an unknown session answered {}, not 404", unknown.status()).into());
    }
    Ok(())
}
