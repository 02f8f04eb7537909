//! No secret reaches logs (tracing at TRACE), errors or `Debug` output. Alone in its test
//! binary: a thread-scoped tracing subscriber races with tests on other threads otherwise.

use std::io::Write;
use std::sync::{Arc, Mutex};

use convoai_emulator::{Emulator, EmulatorHandle};
use serde_json::{json, Value};
use shengwang_agent::token::TokenBuilder;
use shengwang_agent::types::agents::*;
use shengwang_agent::AsyncAgentClient;

fn start_request(emu: &EmulatorHandle, name: &str, llm_key: &str) -> StartAgentRequest {
    let token = TokenBuilder::new(emu.app_id(), emu.app_certificate())
        .unwrap()
        .convo_ai("wire", "1001")
        .build()
        .unwrap();
    let obj = |v: Value| v.as_object().unwrap().clone();
    StartAgentRequest {
        name: name.into(),
        properties: StartProperties {
            channel: "wire".into(),
            token,
            agent_rtc_uid: "1001".into(),
            remote_rtc_uids: vec!["2002".into()],
            llm: Some(obj(
                json!({"url": "https://llm.example/v1", "api_key": llm_key}),
            )),
            tts: Some(obj(
                json!({"vendor": "cosyvoice", "params": {"api_key": llm_key, "model": "m", "voice": "v"}}),
            )),
            ..Default::default()
        },
    }
}

/// Collects everything tracing writes.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

#[tokio::test]
async fn no_secret_reaches_logs_errors_or_debug_output() {
    const CERT: &str = "5e9715e95e9715e95e9715e95e9715e9";
    const SECRET: &str = "SENTINEL-CUSTOMER-SECRET";
    const AUTH_TOKEN: &str = "SENTINEL-AUTH-TOKEN";
    const VENDOR_KEY: &str = "SENTINEL-VENDOR-KEY";
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(capture.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let emu = Emulator::builder()
        .app_certificate(CERT)
        .customer("cust", SECRET)
        .spawn()
        .await
        .unwrap();
    let base = || {
        AsyncAgentClient::builder()
            .app_id(emu.app_id())
            .app_certificate(CERT)
            .base_url(emu.base_url())
            .retry(
                shengwang_agent::RetryPolicy::standard()
                    .base_delay(std::time::Duration::from_millis(1)),
            )
    };
    let clients = [
        base().build().unwrap(),
        base().basic("cust", SECRET).build().unwrap(),
        base().token(AUTH_TOKEN).build().unwrap(),
        base()
            .basic("cust", format!("{SECRET}-wrong"))
            .build()
            .unwrap(),
    ];
    let mut shown = String::new();
    for (i, c) in clients.iter().enumerate() {
        shown.push_str(&format!("{c:?}\n"));
        let req = start_request(&emu, &format!("secret-{i}"), VENDOR_KEY);
        let body_token = req.properties.token.clone();
        match c.agents().start(&req).await {
            Ok(created) => {
                let id = created.agent_id.clone();
                c.agents()
                    .speak(&id, &SpeakRequest::new("hello"))
                    .await
                    .unwrap();
                c.agents().stop(&id).await.unwrap();
                let err = c.agents().stop(&id).await.unwrap_err();
                shown.push_str(&format!("{err} {err:?}\n"));
            }
            Err(err) => shown.push_str(&format!("{err} {err:?}\n")),
        }
        // A rejected request body echoes nothing secret back either.
        let mut bad = req.clone();
        bad.properties.tts = Some(
            json!({"vendor": "nope", "params": {"api_key": VENDOR_KEY}})
                .as_object()
                .unwrap()
                .clone(),
        );
        if let Err(err) = c.agents().start(&bad).await {
            shown.push_str(&format!("{err} {err:?}\n"));
        }
        assert!(!shown.contains(&body_token));
    }
    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("convoai.request"),
        "tracing captured the requests"
    );
    for sentinel in [CERT, SECRET, AUTH_TOKEN, VENDOR_KEY] {
        assert!(!logs.contains(sentinel), "{sentinel} in logs");
        assert!(
            !shown.contains(sentinel),
            "{sentinel} in errors or Debug:\n{shown}"
        );
    }
    assert!(!logs.contains("007eJx"), "no token in logs");
}
