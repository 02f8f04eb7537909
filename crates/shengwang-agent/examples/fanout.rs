//! 100 concurrent sessions from one agent: start them all, make each speak, stop them all.
//!
//! `cargo run --release -p shengwang-agent --example fanout -- [SESSIONS]` (against the
//! in-process emulator).

use std::time::Instant;

use futures::future::try_join_all;
use shengwang_agent::agentkit::Agent;
use shengwang_agent::agentkit::{AgentUid, RemoteUid};
use shengwang_agent::vendors::{Llm, StepFunTts};
use shengwang_agent::Client;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100);
    let emu = convoai_emulator::Emulator::builder().spawn().await?;
    let client = Client::builder()
        .app_id(emu.app_id())
        .app_certificate(emu.app_certificate())
        .base_url(emu.cn_base_url())
        .build()?;
    let agent = Agent::new()
        .with_name("fanout")
        .with_llm(Llm::deepseek("https://llm.example/v1"))?
        .with_tts(StepFunTts::new("key", "step-tts-mini", "voice"))?;
    let sessions: Vec<_> = (0..n)
        .map(|i| {
            agent
                .create_session(
                    &client,
                    format!("room-{i}"),
                    AgentUid::from(1),
                    [RemoteUid::from(1000 + i as u32)],
                )
                .build()
        })
        .collect();
    let t = Instant::now();
    try_join_all(sessions.iter().map(|s| s.start())).await?;
    let started = t.elapsed();
    try_join_all(sessions.iter().map(|s| s.say("Hello, everyone!").send())).await?;
    try_join_all(sessions.iter().map(|s| s.stop())).await?;
    let total = t.elapsed();
    let stopped = emu
        .agents()
        .iter()
        .filter(|a| a.status == convoai_emulator::AgentStatus::Stopped)
        .count();
    println!("{n} sessions: started in {started:?}, started+spoke+stopped in {total:?}; {stopped} agents stopped");
    Ok(())
}
