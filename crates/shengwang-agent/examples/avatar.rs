//! An agent with a digital human: the avatar needs 16 kHz TTS audio, and a mismatch is
//! refused when the agent is built, whichever of `with_tts`/`with_avatar` comes second.
//!
//! `cargo run -p shengwang-agent --example avatar` (against the in-process emulator).

use serde_json::json;
use shengwang_agent::agentkit::Agent;
use shengwang_agent::agentkit::{AgentUid, RemoteUid};
use shengwang_agent::vendors::{
    FengmingStt, Llm, MicrosoftSampleRate, MicrosoftTts, SensetimeAvatar,
};
use shengwang_agent::Client;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let emu = convoai_emulator::Emulator::builder().spawn().await?;
    let client = Client::builder()
        .app_id(emu.app_id())
        .app_certificate(emu.app_certificate())
        .base_url(emu.cn_base_url())
        .build()?;
    let avatar = || {
        SensetimeAvatar::new(
            "avatar-rtc-token",
            "3000",
            "sensetime-app-id",
            "sensetime-app-key",
            vec![json!({"digital_role": {"face_feature_id": "demo", "name": "Ava"}})],
        )
    };
    let tts = |rate| {
        MicrosoftTts::new("azure-key", "chinaeast2", "zh-CN-XiaoxiaoNeural").with_sample_rate(rate)
    };
    let base = Agent::new()
        .with_llm(Llm::aliyun("https://llm.example/v1/chat/completions").api_key("sk"))?
        .with_stt(FengmingStt::new())?;

    match base
        .with_avatar(avatar())?
        .with_tts(tts(MicrosoftSampleRate::Hz24000))
    {
        Err(e) => println!("refused as expected: {e}"),
        Ok(_) => println!("unexpectedly accepted a 24 kHz TTS"),
    }
    let agent = base
        .with_tts(tts(MicrosoftSampleRate::Hz16000))?
        .with_avatar(avatar())?;
    let session = agent
        .create_session(
            &client,
            "avatar-room",
            AgentUid::from(1001),
            [RemoteUid::from(2002)],
        )
        .build();
    let id = session.start().await?;
    println!("avatar agent {id} running");
    session
        .say("Hello, I am your digital assistant.")
        .send()
        .await?;
    session.stop().await?;
    println!("stopped");
    Ok(())
}
