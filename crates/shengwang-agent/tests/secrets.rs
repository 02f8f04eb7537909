//! No secret reaches logs (tracing at TRACE), errors or `Debug` output. Alone in its test
//! binary: a thread-scoped tracing subscriber races with tests on other threads otherwise.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use convoai_emulator::Emulator;
use serde_json::json;
use shengwang_agent::agentkit::{AgentUid, RemoteUid};
use shengwang_agent::types::agents::*;
use shengwang_agent::Client;

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
        Client::builder()
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
        let req = support::start_request(&emu, &format!("secret-{i}"), VENDOR_KEY);
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
        bad.properties.tts = Some(shengwang_agent::types::blocks::TtsBlock::new(
            "nope".into(),
            json!({"api_key": VENDOR_KEY}).as_object().unwrap().clone(),
        ));
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

/// Every configuration value that can hold a secret, formatted with `{:?}`: the agent with
/// every vendor keyed, session builders with a given token, and the wire requests.
#[test]
fn debug_of_every_config_hides_secrets() {
    use shengwang_agent::agentkit::{Agent, TokenSource};
    use shengwang_agent::types::config::RtcEncryption;
    use shengwang_agent::types::telephony::{CallRequest, Sip};
    use shengwang_agent::vendors::*;

    const KEY: &str = "SENTINEL-KEY";
    const TOKEN: &str = "007SENTINEL-TOKEN";
    let agent = Agent::new()
        .with_llm(Llm::custom("https://llm.example").api_key(KEY))
        .unwrap()
        .with_tts(MiniMaxTts::new(KEY, "m", "v"))
        .unwrap()
        .with_stt(XfyunDialectStt::new("app", KEY, KEY))
        .unwrap()
        .with_mllm(Mllm::new("wss://m.example", "openai").api_key(KEY))
        .unwrap()
        // The avatar publishes as its own uid, never the agent's.
        .with_avatar(SensetimeAvatar::new(KEY, "9", "app", KEY, vec![]))
        .unwrap()
        .with_rtc(
            serde_json::from_value::<RtcEncryption>(
                json!({"encryption_key": KEY, "encryption_salt": KEY, "encryption_mode": 7}),
            )
            .unwrap(),
        );
    let client = Client::builder()
        .app_id("0123456789abcdef0123456789abcdef")
        .app_certificate("5e9715e95e9715e95e9715e95e9715e9")
        .token(TOKEN)
        .build()
        .unwrap();
    let builder = agent
        .create_session(&client, "c", AgentUid::from(1), [RemoteUid::from(2)])
        .token(TOKEN);
    let session = agent
        .create_session(&client, "c", AgentUid::from(1), [RemoteUid::from(2)])
        .token(TOKEN)
        .build();
    let request = session.start_request().unwrap();
    let call = CallRequest {
        name: "n".into(),
        sip: Sip {
            to_number: "+8613800138000".into(),
            from_number: "+8613800138001".into(),
            rtc_uid: "3".into(),
            rtc_token: TOKEN.into(),
        },
        pipeline_id: None,
        properties: serde_json::to_value(&request.properties).unwrap(),
    };
    let update = UpdateAgentRequest {
        token: Some(TOKEN.into()),
        ..Default::default()
    };
    let shown = format!(
        "{agent:?}\n{builder:?}\n{session:?}\n{request:?}\n{:?}\n{call:?}\n{update:?}\n{:?}",
        request.properties,
        TokenSource::Given(TOKEN.into())
    );
    assert!(shown.contains("[redacted]"), "{shown}");
    assert!(
        shown.contains("https://llm.example"),
        "non-secrets stay visible: {shown}"
    );
    for sentinel in [KEY, TOKEN, "5e9715e9"] {
        assert!(!shown.contains(sentinel), "{sentinel} in:\n{shown}");
    }
}
