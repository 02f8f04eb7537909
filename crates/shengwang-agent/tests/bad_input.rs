//! Bad input, one table: every case names the exact error kind it must produce.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use convoai_emulator::{Emulator, EmulatorHandle, Fault, FaultRule};
use shengwang_agent::agentkit::Agent;
use shengwang_agent::agentkit::{AgentUid, RemoteUid};
use shengwang_agent::token::{self, TokenBuilder};
use shengwang_agent::types::agents::{AgentStatus, SpeakRequest, StartAgentRequest};
use shengwang_agent::types::phone_numbers::{AddPhoneNumber, Provider};
use shengwang_agent::vendors::{Llm, StepFunTts};
use shengwang_agent::{Client, Error, RetryPolicy, TokenError};

type Case<'a> = (
    &'static str,
    Pin<Box<dyn Future<Output = String> + 'a>>,
    &'static str,
);

/// A short, exact name for an outcome.
fn kind<T>(r: shengwang_agent::Result<T>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(Error::InvalidInput { field, .. }) => format!("InvalidInput({field})"),
        Err(Error::Config(_)) => "Config".into(),
        Err(Error::Token(e)) => format!("Token({})", token_kind(&e)),
        Err(Error::Api { status, .. }) => format!("Api({status})"),
        Err(Error::Decode { status, .. }) => format!("Decode({status})"),
        Err(Error::Timeout { .. }) => "Timeout".into(),
        Err(Error::Connect { .. }) => "Connect".into(),
        Err(e) => format!("other: {e:?}"),
    }
}

fn token_kind(e: &TokenError) -> &'static str {
    match e {
        TokenError::WrongPrefix => "WrongPrefix",
        TokenError::Base64 => "Base64",
        TokenError::Inflate => "Inflate",
        TokenError::TooLarge { .. } => "TooLarge",
        TokenError::Truncated { .. } => "Truncated",
        TokenError::UnknownService(_) => "UnknownService",
        _ => "other",
    }
}

fn start_request(emu: &EmulatorHandle) -> StartAgentRequest {
    let t = TokenBuilder::new(emu.app_id(), emu.app_certificate())
        .unwrap()
        .convo_ai("room", "1")
        .build()
        .unwrap();
    // The plain constructor takes what the service needs: an LLM and a TTS.
    use shengwang_agent::types::agents::StartProperties;
    use shengwang_agent::types::blocks::LlmBlock;
    use shengwang_agent::vendors::TtsConfig;
    StartAgentRequest::new(
        "bad",
        StartProperties::new(
            "room",
            t,
            AgentUid::from(1),
            [RemoteUid::from(2)],
            LlmBlock::new("u"),
            StepFunTts::new("k", "m", "v").to_block(),
        ),
    )
}

async fn emulator_status(
    emu: &EmulatorHandle,
    method: &str,
    path: String,
    body: impl Into<String>,
    auth: bool,
) -> String {
    let http = reqwest::Client::new();
    let mut req = http
        .request(method.parse().unwrap(), format!("{}{path}", emu.base_url()))
        .body(body.into());
    if auth {
        use base64::Engine as _;
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            emu.customer_id(),
            emu.customer_secret()
        ));
        req = req.header("authorization", format!("Basic {basic}"));
    }
    let status = req.send().await.unwrap().status().as_u16();
    format!("Status({status})")
}

#[tokio::test]
async fn every_bad_input_gets_its_exact_error() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let client = Client::builder()
        .app_id(emu.app_id())
        .app_certificate(emu.app_certificate())
        .base_url(emu.base_url())
        .timeout(Duration::from_millis(300))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let builder = || {
        Client::builder()
            .app_id(emu.app_id())
            .app_certificate(emu.app_certificate())
    };
    let good = start_request(&emu);
    let with = |f: &dyn Fn(&mut StartAgentRequest)| {
        let mut r = good.clone();
        f(&mut r);
        r
    };
    let valid = TokenBuilder::new(emu.app_id(), emu.app_certificate())
        .unwrap()
        .convo_ai("c", "1")
        .build()
        .unwrap();
    let agent = Agent::new()
        .with_llm(Llm::custom("https://llm.example/v1"))
        .unwrap()
        .with_tts(StepFunTts::new("k", "m", "v"))
        .unwrap();
    let expiring = |secs: u64| {
        let a = agent.clone();
        let c = client.clone();
        async move {
            kind(
                a.create_session(&c, "room", AgentUid::from(1), [RemoteUid::from(2)])
                    .expires_in(Duration::from_secs(secs))
                    .build()
                    .start()
                    .await,
            )
        }
    };
    let respond = |body: &str| {
        emu.push_fault(
            FaultRule::new(Fault::Respond {
                status: 200,
                body: body.to_owned(),
            })
            .method("GET"),
        );
    };
    let p = emu.project_path();

    let mut cases: Vec<Case<'_>> = vec![
        (
            "malformed app id",
            Box::pin(async {
                kind(
                    Client::builder()
                        .app_id("xyz")
                        .app_certificate(emu.app_certificate())
                        .build(),
                )
            }),
            "InvalidInput(app_id)",
        ),
        (
            "malformed certificate",
            Box::pin(async { kind(builder().app_certificate("0123").build()) }),
            "InvalidInput(app_certificate)",
        ),
        (
            "invalid base URL",
            Box::pin(async { kind(builder().base_url("127.0.0.1:8080").build()) }),
            "InvalidInput(base_url)",
        ),
        (
            "base URL with a query",
            Box::pin(async { kind(builder().base_url("http://h/?x=1").build()) }),
            "InvalidInput(base_url)",
        ),
        (
            "two auth modes",
            Box::pin(async { kind(builder().basic("a", "b").token("t").build()) }),
            "Config",
        ),
        (
            "empty channel",
            Box::pin(async {
                kind(
                    client
                        .agents()
                        .start(&with(&|r| r.properties.channel.clear()))
                        .await,
                )
            }),
            "InvalidInput(properties.channel)",
        ),
        (
            "channel with '/'",
            Box::pin(async {
                kind(
                    client
                        .agents()
                        .start(&with(&|r| r.properties.channel = "a/b".into()))
                        .await,
                )
            }),
            "InvalidInput(properties.channel)",
        ),
        (
            "channel over 64 bytes",
            Box::pin(async {
                kind(
                    client
                        .agents()
                        .start(&with(&|r| r.properties.channel = "c".repeat(65)))
                        .await,
                )
            }),
            "InvalidInput(properties.channel)",
        ),
        (
            "uid out of range",
            Box::pin(async {
                kind(
                    client
                        .agents()
                        .start(&with(&|r| r.properties.agent_rtc_uid = "4294967296".into()))
                        .await,
                )
            }),
            "InvalidInput(properties.agent_rtc_uid)",
        ),
        (
            "non-numeric remote uid",
            Box::pin(async {
                kind(
                    client
                        .agents()
                        .start(&with(&|r| {
                            r.properties.remote_rtc_uids = vec!["bob".into()]
                        }))
                        .await,
                )
            }),
            "InvalidInput(properties.remote_rtc_uids[0])",
        ),
        (
            "empty remote uids",
            Box::pin(async {
                kind(
                    client
                        .agents()
                        .start(&with(&|r| r.properties.remote_rtc_uids.clear()))
                        .await,
                )
            }),
            "InvalidInput(properties.remote_rtc_uids)",
        ),
        (
            "speak text empty",
            Box::pin(async { kind(client.agents().speak("A", &SpeakRequest::new("")).await) }),
            "InvalidInput(text)",
        ),
        (
            "speak text over 512 bytes",
            Box::pin(async {
                kind(
                    client
                        .agents()
                        .speak("A", &SpeakRequest::new("é".repeat(257)))
                        .await,
                )
            }),
            "InvalidInput(text)",
        ),
        (
            "expires_in 0",
            Box::pin(expiring(0)),
            "InvalidInput(expires_in)",
        ),
        (
            "expires_in over 24 h",
            Box::pin(expiring(86_401)),
            "InvalidInput(expires_in)",
        ),
        (
            "invalid E.164 number",
            Box::pin(async {
                kind(
                    client
                        .phone_numbers()
                        .add(&AddPhoneNumber {
                            provider: Provider::Byo,
                            phone_number: "0086123".into(),
                            label: "x".into(),
                            inbound: None,
                            outbound: None,
                            inbound_config: serde_json::json!({}),
                            outbound_config: serde_json::json!({}),
                        })
                        .await,
                )
            }),
            "InvalidInput(phone_number)",
        ),
        (
            "agent id that changes the path",
            Box::pin(async { kind(client.agents().get("../../v2/phone-numbers").await) }),
            "InvalidInput(agent_id)",
        ),
        (
            "non-JSON 2xx body",
            Box::pin(async {
                respond("OK");
                kind(client.agents().get("A").await)
            }),
            "Decode(200)",
        ),
        (
            "truncated JSON",
            Box::pin(async {
                respond("{\"agent_id\": \"A\"");
                kind(client.agents().get("A").await)
            }),
            "Decode(200)",
        ),
        (
            "response with wrong types",
            Box::pin(async {
                respond("{\"agent_id\": [], \"status\": 7}");
                kind(client.agents().get("A").await)
            }),
            "Decode(200)",
        ),
        (
            "huge response body",
            Box::pin(async {
                respond(&"x".repeat(9 << 20));
                kind(client.agents().get("A").await)
            }),
            "Decode(200)",
        ),
        (
            "unknown enum value is kept",
            Box::pin(async {
                respond("{\"agent_id\": \"A\", \"status\": \"HIBERNATING\"}");
                let info = client.agents().get("A").await.unwrap();
                if info.status == AgentStatus::Other("HIBERNATING".into()) {
                    "Other".to_string()
                } else {
                    format!("{:?}", info.status)
                }
            }),
            "Other",
        ),
        (
            "slow-loris server",
            Box::pin(async {
                emu.push_fault(FaultRule::new(Fault::Delay(Duration::from_secs(3))).method("GET"));
                kind(client.agents().get("A").await)
            }),
            "Timeout",
        ),
        (
            "token: every truncation",
            Box::pin(async {
                let bad = (0..valid.len())
                    .filter(|n| token::decode(&valid[..*n]).is_ok())
                    .count();
                format!("accepted {bad}")
            }),
            "accepted 0",
        ),
        (
            "token: random bytes",
            Box::pin(async { kind(token::decode("007\u{0}\u{1}\u{2}garbage")) }),
            "Token(Base64)",
        ),
        (
            "token: wrong prefix",
            Box::pin(async { kind(token::decode(&valid.replacen("007", "006", 1))) }),
            "Token(WrongPrefix)",
        ),
        (
            "token: bad base64",
            Box::pin(async { kind(token::decode(&valid.replace('+', " ").replace('e', "*"))) }),
            "Token(Base64)",
        ),
        (
            "token: zlib bomb",
            Box::pin(async {
                use std::io::Write;
                let mut z =
                    flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
                z.write_all(&vec![0u8; 2 << 20]).unwrap();
                use base64::Engine as _;
                kind(token::decode(&format!(
                    "007{}",
                    base64::engine::general_purpose::STANDARD.encode(z.finish().unwrap())
                )))
            }),
            "Token(TooLarge)",
        ),
        (
            "emulator: malformed JSON on join",
            Box::pin(emulator_status(
                &emu,
                "POST",
                format!("{p}/join"),
                "{nope",
                true,
            )),
            "Status(400)",
        ),
        (
            "emulator: wrong types on join",
            Box::pin(emulator_status(
                &emu,
                "POST",
                format!("{p}/join"),
                "{\"name\": 1, \"properties\": []}",
                true,
            )),
            "Status(400)",
        ),
        (
            "emulator: malformed JSON on speak",
            Box::pin(emulator_status(
                &emu,
                "POST",
                format!("{p}/agents/A/speak"),
                "[",
                true,
            )),
            "Status(400)",
        ),
        (
            "emulator: oversize body",
            Box::pin(emulator_status(
                &emu,
                "POST",
                format!("{p}/join"),
                "x".repeat(1 << 21),
                true,
            )),
            "Status(413)",
        ),
        (
            "emulator: missing auth",
            Box::pin(emulator_status(
                &emu,
                "GET",
                format!("{p}/agents"),
                "",
                false,
            )),
            "Status(401)",
        ),
        (
            "emulator: wrong app id",
            Box::pin(emulator_status(
                &emu,
                "GET",
                "/v2/projects/00000000000000000000000000000000/agents".into(),
                "",
                true,
            )),
            "Status(403)",
        ),
        (
            "emulator: phone number with wrong types",
            Box::pin(emulator_status(
                &emu,
                "POST",
                "/v2/phone-numbers".into(),
                "{\"provider\": 5}",
                true,
            )),
            "Status(400)",
        ),
    ];
    assert!(cases.len() >= 30, "{} cases", cases.len());
    let mut failures = Vec::new();
    for (name, case, expected) in cases.drain(..) {
        let got = case.await;
        if got != expected {
            failures.push(format!("{name}: expected {expected}, got {got}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        emu.request_counts().iter().all(|c| c.status < 500),
        "the emulator never answers 500"
    );
}

trait ProjectPath {
    fn project_path(&self) -> String;
}
impl ProjectPath for EmulatorHandle {
    fn project_path(&self) -> String {
        format!("/v2/projects/{}", self.app_id())
    }
}
