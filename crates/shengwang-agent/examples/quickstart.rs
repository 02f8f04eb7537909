//! Quickstart: build an agent (LLM + TTS + STT), start a session, make it speak, print the
//! history, stop, printing every state change.
//!
//! `cargo run -p shengwang-agent --example quickstart`
//!
//! Without `SHENGWANG_APP_ID` / `SHENGWANG_APP_CERTIFICATE` in the environment it runs against
//! the local emulator, started in-process. With them (plus optional `SHENGWANG_CUSTOMER_ID` /
//! `_SECRET`, `SHENGWANG_AREA`, `SHENGWANG_BASE_URL`) it talks to the real service; then set
//! `LLM_URL`, `LLM_API_KEY`, `MINIMAX_KEY` and `MINIMAX_VOICE_ID` for real vendors.

use futures::StreamExt;
use shengwang_agent::agentkit::{Agent, SessionEvent};
use shengwang_agent::agentkit::{AgentUid, RemoteUid};
use shengwang_agent::vendors::{FengmingStt, Llm, MiniMaxTts};
use shengwang_agent::{Client, ClientBuilder};

fn env_or(key: &str, default: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| default.to_owned())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (_emulator, builder) = match std::env::var("SHENGWANG_APP_ID") {
        Ok(_) => {
            // Where these credentials lead (the service, a proxy or an emulator's exports) is
            // printed below, from the client itself.
            println!("SHENGWANG_* credentials found");
            (None, ClientBuilder::from_env()?)
        }
        Err(_) => {
            let emu = convoai_emulator::Emulator::builder().spawn().await?;
            println!(
                "no SHENGWANG_* credentials: running against the local emulator at {}",
                emu.url()
            );
            let b = Client::builder()
                .app_id(emu.app_id())
                .app_certificate(emu.app_certificate())
                .base_url(emu.cn_base_url());
            (Some(emu), b)
        }
    };
    let client = builder.build()?;
    println!("talking to {}", client.current_base_url());

    let agent = Agent::new()
        .with_name("quickstart")
        .with_instructions("You are a friendly voice assistant. Keep answers short.")
        .with_greeting("Hi! How can I help you today?")
        .with_llm(
            Llm::aliyun(env_or("LLM_URL", "https://llm.example/v1/chat/completions"))
                .api_key(env_or("LLM_API_KEY", "sk-demo"))
                .model("qwen-max"),
        )?
        .with_tts(MiniMaxTts::new(
            env_or("MINIMAX_KEY", "minimax-demo-key"),
            "speech-02-turbo",
            env_or("MINIMAX_VOICE_ID", "female-shaonv"),
        ))?
        .with_stt(FengmingStt::new())?;

    let session = agent
        .create_session(
            &client,
            "quickstart-room",
            AgentUid::from(1001),
            [RemoteUid::from(2002)],
        )
        .idle_timeout(60)
        .build();
    let mut events = session.subscribe();
    let printer = tokio::spawn(async move {
        while let Some(event) = events.next().await {
            match event {
                SessionEvent::StateChanged { from, to } => println!("  state: {from} -> {to}"),
                SessionEvent::Started { agent_id } => println!("  started agent {agent_id}"),
                SessionEvent::Stopped { agent_id } => println!("  stopped agent {agent_id}"),
                SessionEvent::Error { operation, message } => {
                    println!("  {operation} failed: {message}")
                }
                other => println!("  {other:?}"),
            }
        }
    });

    println!("starting session {}", session.name());
    session.start().await?;
    session
        .say("Hello from the Rust quickstart!")
        .send()
        .await?;
    println!("history:");
    for entry in &session.history().await?.contents {
        println!("  {}: {}", entry.role, entry.content);
    }
    session.stop().await?;
    drop(session);
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), printer).await;
    println!("done");
    Ok(())
}
