//! The REST API without the agentkit: list, start, speak to and stop an agent.
//!
//! `cargo run -p shengwang-agent --example low_level`
//!
//! With `SHENGWANG_APP_ID` and `SHENGWANG_APP_CERTIFICATE` set (and optionally
//! `SHENGWANG_CUSTOMER_ID`/`_SECRET`, `SHENGWANG_BASE_URL`, `SHENGWANG_AREA`) it talks to the
//! real service; without them it starts the local emulator in-process and says so.

use serde_json::json;
use shengwang_agent::agentkit::{AgentUid, RemoteUid};
use shengwang_agent::token::TokenBuilder;
use shengwang_agent::types::agents::{SpeakRequest, StartAgentRequest, StartProperties};
use shengwang_agent::types::blocks::{LlmBlock, TtsBlock, TtsVendor};
use shengwang_agent::{Client, ClientBuilder};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (_emulator, builder) = match std::env::var("SHENGWANG_APP_ID") {
        Ok(_) => (None, ClientBuilder::from_env()?),
        Err(_) => {
            let emu = convoai_emulator::Emulator::builder().spawn().await?;
            println!(
                "no SHENGWANG_* credentials: using the local emulator at {}",
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
    let app_id = client.app_id().to_owned();
    let certificate = std::env::var("SHENGWANG_APP_CERTIFICATE")
        .unwrap_or_else(|_| convoai_emulator::DEV_APP_CERTIFICATE.to_owned());

    let running = client.agents().list().page().await?;
    println!("{} agents listed", running.items.len());

    let channel = "low-level-demo";
    let token = TokenBuilder::new(&app_id, &certificate)?
        .convo_ai(channel, "1001")
        .build()?;
    // A plain join needs an LLM and a TTS: the constructor takes both.
    let llm = LlmBlock {
        api_key: Some("sk-demo".into()),
        system_messages: Some(vec![
            json!({"role": "system", "content": "You are helpful."}),
        ]),
        ..LlmBlock::new("https://llm.example/v1/chat/completions")
    };
    let tts = TtsBlock::new(
        TtsVendor::MiniMax,
        json!({"key": "mm-demo", "model": "speech-02-turbo",
               "voice_setting": {"voice_id": "female-shaonv"}})
        .as_object()
        .cloned()
        .unwrap_or_default(),
    );
    let mut properties = StartProperties::new(
        channel,
        token,
        AgentUid::from(1001),
        [RemoteUid::from(2002)],
        llm,
        tts,
    );
    properties.idle_timeout = Some(60);
    let request = StartAgentRequest::new(format!("low-level-{}", std::process::id()), properties);
    let created = client.agents().start(&request).await?;
    println!(
        "started agent {} (request id {})",
        created.agent_id,
        created.request_id().unwrap_or("-")
    );
    client
        .agents()
        .speak(&created.agent_id, &SpeakRequest::new("Hello from Rust!"))
        .await?;
    for entry in &client.agents().history(&created.agent_id).await?.contents {
        println!("  {}: {}", entry.role, entry.content);
    }
    client.agents().stop(&created.agent_id).await?;
    let info = client.agents().get(&created.agent_id).await?;
    println!("agent {} is {}", info.agent_id, info.status);
    Ok(())
}
