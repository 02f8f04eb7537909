//! Webhooks: receive the ConvoAI notification callbacks with the SDK's axum endpoint —
//! verified, typed and handled once each — while the local emulator sends them.
//!
//! `cargo run -p shengwang-agent --example webhooks`
//!
//! The emulator plays the service: it signs every callback with the webhook secret, and this
//! run asks it to deliver one callback twice and to resend one after a failure, to show that
//! each notice is still handled once.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use convoai_emulator::{CallbackFault, CallbackFaultRule, Emulator};
use serde_json::json;
use shengwang_agent::token::TokenBuilder;
use shengwang_agent::types::agents::{StartAgentRequest, StartProperties};
use shengwang_agent::webhooks::{self, Event, Notification, Receiver, Verifier};
use shengwang_agent::Client;

const SECRET: &str = "example-webhook-secret";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. The receiver: what a backend mounts at its callback URL.
    let handled = Arc::new(Mutex::new(Vec::<Notification>::new()));
    let sink = handled.clone();
    let receiver = Receiver::new(Verifier::new(SECRET));
    let app = axum::Router::new().route(
        "/convoai/callbacks",
        webhooks::axum::post(receiver, move |n: Notification| {
            let sink = sink.clone();
            async move {
                match &n.event {
                    Event::AgentJoined(j) => println!("  joined  {} in {}", j.agent_id, j.channel),
                    Event::AgentLeft(l) => println!("  left    {} ({})", l.agent_id, l.message),
                    Event::AgentHistory(h) => println!("  history {} entries", h.contents.len()),
                    Event::AgentError(e) => {
                        for x in &e.errors {
                            println!("  error   {}: {}", x.module, x.message);
                        }
                    }
                    other => println!("  {}", other.kind()),
                }
                if let Some(session) = n.labels().and_then(|l| l.get("session")) {
                    println!("          (labels: session={session})");
                }
                sink.lock().map_err(|_| "poisoned")?.push(n);
                Ok::<(), &str>(())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/convoai/callbacks", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    println!("receiver at {url}");

    // 2. The emulator, configured to call it (as the console's webhook setting does).
    let emu = Emulator::builder()
        .webhook(&url, SECRET)
        .webhook_retry_delay(Duration::from_millis(50))
        .spawn()
        .await?;
    emu.push_callback_fault(CallbackFaultRule {
        fault: CallbackFault::Duplicate,
        event_type: Some(101),
        times: 1,
    });

    // 3. Start an agent with a label, make it report an error, stop it.
    let client = Client::builder()
        .app_id(emu.app_id())
        .app_certificate(emu.app_certificate())
        .base_url(emu.cn_base_url())
        .build()?;
    let token = TokenBuilder::new(emu.app_id(), emu.app_certificate())?
        .convo_ai("webhook-room", "1001")
        .build()?;
    fn obj<T: serde::de::DeserializeOwned + Default>(v: serde_json::Value) -> T {
        serde_json::from_value(v).unwrap_or_default()
    }
    let request = StartAgentRequest {
        name: "webhooks-example".into(),
        properties: StartProperties {
            channel: "webhook-room".into(),
            token,
            agent_rtc_uid: "1001".into(),
            remote_rtc_uids: vec!["2002".into()],
            labels: Some([("session".to_owned(), "checkout-42".to_owned())].into()),
            llm: Some(obj(
                json!({"url": "https://llm.example/v1", "api_key": "demo"}),
            )),
            tts: Some(obj(
                json!({"vendor": "cosyvoice", "params": {"api_key": "demo", "model": "m", "voice": "v"}}),
            )),
            ..Default::default()
        },
        ..Default::default()
    };
    let agent_id = client.agents().start(&request).await?.body.agent_id;
    emu.inject_agent_error(&agent_id, "llm", 503, "Insufficient balance.");
    client.agents().stop(&agent_id).await?;

    // 4. Wait (bounded) for joined, error, left, history, metrics and turns.
    let deadline = Instant::now() + Duration::from_secs(5);
    while handled.lock().map(|h| h.len()).unwrap_or(0) < 6 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let delivered: usize = emu.callbacks().iter().map(|r| r.attempts.len()).sum();
    println!(
        "{} deliveries, {} notices handled (each once)",
        delivered,
        handled.lock().map(|h| h.len()).unwrap_or(0)
    );
    Ok(())
}
