//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test binary uses a different subset

use convoai_emulator::EmulatorHandle;
use serde_json::{json, Value};
use shengwang_agent::agentkit::{Agent, AgentUid, RemoteUid};
use shengwang_agent::token::TokenBuilder;
use shengwang_agent::types::agents::{StartAgentRequest, StartProperties};
use shengwang_agent::types::blocks::{LlmBlock, TtsBlock, TtsVendor};
use shengwang_agent::{Client, RetryPolicy};

/// An app-credentials client for the emulator's global base URL.
pub fn client(emu: &EmulatorHandle, retry: RetryPolicy) -> Client {
    Client::builder()
        .app_id(emu.app_id())
        .app_certificate(emu.app_certificate())
        .base_url(emu.base_url())
        .retry(retry)
        .build()
        .unwrap()
}

/// The smallest cascade agent the service accepts.
pub fn minimal_agent() -> Agent {
    Agent::new()
        .with_llm(shengwang_agent::vendors::Llm::custom(
            "https://llm.example/v1",
        ))
        .unwrap()
        .with_tts(shengwang_agent::vendors::StepFunTts::new("k", "m", "v"))
        .unwrap()
}

/// A valid start request in channel "wire" whose vendor keys are `vendor_key`.
pub fn start_request(emu: &EmulatorHandle, name: &str, vendor_key: &str) -> StartAgentRequest {
    let token = TokenBuilder::new(emu.app_id(), emu.app_certificate())
        .unwrap()
        .convo_ai("wire", "1001")
        .build()
        .unwrap();
    let obj = |v: Value| v.as_object().unwrap().clone();
    let llm = LlmBlock {
        api_key: Some(vendor_key.into()),
        ..LlmBlock::new("https://llm.example/v1")
    };
    let tts = TtsBlock::new(
        TtsVendor::CosyVoice,
        obj(json!({"api_key": vendor_key, "model": "m", "voice": "v"})),
    );
    StartAgentRequest::new(
        name,
        StartProperties::new(
            "wire",
            token,
            AgentUid::from(1001),
            [RemoteUid::from(2002)],
            llm,
            tts,
        ),
    )
}
