//! The emulator over real HTTP on loopback: every endpoint, its errors, auth and faults.

use std::time::Duration;

use convoai_emulator::{AgentStatus, Clock, Emulator, EmulatorHandle, Fault, FaultRule};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use shengwang_agent::token::TokenBuilder;

struct Api {
    emu: EmulatorHandle,
    http: reqwest::Client,
    auth: String,
}

struct Reply {
    status: StatusCode,
    body: Value,
    request_id: Option<String>,
    headers: reqwest::header::HeaderMap,
}

impl Api {
    async fn new() -> Api {
        Self::with(Emulator::builder()).await
    }

    async fn with(b: convoai_emulator::EmulatorBuilder) -> Api {
        let emu = b.spawn().await.unwrap();
        let auth = basic(emu.customer_id(), emu.customer_secret());
        Api {
            emu,
            http: reqwest::Client::new(),
            auth,
        }
    }

    fn project(&self, rest: &str) -> String {
        format!("/v2/projects/{}/{rest}", self.emu.app_id())
    }

    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.send_as(&self.auth, method, path, body).await
    }

    async fn send_as(&self, auth: &str, method: Method, path: &str, body: Option<Value>) -> Reply {
        let mut req = self
            .http
            .request(method, format!("{}{}", self.emu.base_url(), path));
        if !auth.is_empty() {
            req = req.header("authorization", auth);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let request_id = headers
            .get("x-request-id")
            .map(|v| v.to_str().unwrap().to_string());
        let text = res.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Reply {
            status,
            body,
            request_id,
            headers,
        }
    }

    fn token(&self, channel: &str, uid: &str) -> String {
        TokenBuilder::new(self.emu.app_id(), self.emu.app_certificate())
            .unwrap()
            .issue_ts(self.emu.clock().now() as u32)
            .convo_ai(channel, uid)
            .build()
            .unwrap()
    }

    fn join_body(&self, name: &str, channel: &str, uid: &str) -> Value {
        json!({
            "name": name,
            "properties": {
                "channel": channel,
                "token": self.token(channel, uid),
                "agent_rtc_uid": uid,
                "remote_rtc_uids": ["2002"],
                "idle_timeout": 0,
                "llm": {"url": "https://llm.example/v1/chat/completions", "api_key": "sk",
                        "max_history": 3},
                "tts": {"vendor": "minimax", "params": {"key": "k", "model": "speech-02-turbo",
                        "voice_setting": {"voice_id": "female-shaonv"}}},
                "asr": {"vendor": "fengming", "language": "zh-CN"},
            }
        })
    }

    async fn join(&self, name: &str, channel: &str) -> String {
        let r = self
            .send(
                Method::POST,
                &self.project("join"),
                Some(self.join_body(name, channel, "1001")),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.body["agent_id"].as_str().unwrap().to_string()
    }
}

fn basic(id: &str, secret: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

fn assert_error(r: &Reply, status: StatusCode, reason: &str, detail_has: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.body["reason"], reason, "{}", r.body);
    let detail = r.body["detail"].as_str().unwrap();
    assert!(
        detail.contains(detail_has),
        "detail {detail:?} lacks {detail_has:?}"
    );
    assert_eq!(r.body["request_id"].as_str(), r.request_id.as_deref());
}

#[tokio::test]
async fn a_whole_agent_lifecycle() {
    let api = Api::new().await;
    let id = api.join("demo-agent", "room-1").await;
    assert_eq!(id.len(), 24);
    assert!(id.chars().all(|c| c.is_ascii_alphanumeric()));

    let info = api
        .send(Method::GET, &api.project(&format!("agents/{id}")), None)
        .await;
    assert_eq!(info.body["status"], "RUNNING");
    assert_eq!(info.body["agent_id"], id.as_str());

    let spoke = api
        .send(
            Method::POST,
            &api.project(&format!("agents/{id}/speak")),
            Some(json!({"text": "hello there", "priority": "APPEND", "interruptable": false})),
        )
        .await;
    assert_eq!(spoke.status, StatusCode::OK);
    assert_eq!(spoke.body["channel"], "room-1");

    let thought = api
        .send(
            Method::POST,
            &api.project(&format!("agents/{id}/think")),
            Some(
                json!({"text": "the user asked for the weather", "on_listening_action": "inject"}),
            ),
        )
        .await;
    assert_eq!(thought.status, StatusCode::OK);

    let updated = api
        .send(Method::POST, &api.project(&format!("agents/{id}/update")),
              Some(json!({"properties": {"llm": {"system_messages": [{"role": "system", "content": "be brief"}],
                                                  "params": {"model": "x"}}}})))
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_eq!(updated.body["status"], "RUNNING");

    // Interrupt arrives with no body at all, as the Python SDK sends it.
    let interrupted = api
        .http
        .post(format!(
            "{}{}",
            api.emu.base_url(),
            api.project(&format!("agents/{id}/interrupt"))
        ))
        .header("authorization", &api.auth)
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(interrupted.status(), StatusCode::OK);
    assert!(interrupted.json::<Value>().await.unwrap()["agent_id"].is_string());

    let history = api
        .send(
            Method::GET,
            &api.project(&format!("agents/{id}/history")),
            None,
        )
        .await;
    let contents = history.body["contents"].as_array().unwrap();
    let pairs: Vec<(&str, &str)> = contents
        .iter()
        .map(|c| (c["role"].as_str().unwrap(), c["content"].as_str().unwrap()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("assistant", "hello there"),
            ("user", "the user asked for the weather"),
            ("system", "be brief")
        ]
    );
    // max_history 3: a fourth entry pushes out the first.
    api.send(
        Method::POST,
        &api.project(&format!("agents/{id}/speak")),
        Some(json!({"text": "four"})),
    )
    .await;
    let history = api
        .send(
            Method::GET,
            &api.project(&format!("agents/{id}/history")),
            None,
        )
        .await;
    assert_eq!(history.body["contents"].as_array().unwrap().len(), 3);
    assert_eq!(history.body["contents"][2]["content"], "four");

    let turns = api
        .send(
            Method::GET,
            &api.project(&format!("agents/{id}/turns?page_index=1&page_size=2")),
            None,
        )
        .await;
    // speak, think and speak make turns; update does not.
    assert_eq!(turns.body["total_turn_count"], 3);
    assert_eq!(turns.body["pagination"]["total_pages"], 2);
    assert_eq!(turns.body["pagination"]["is_last_page"], false);
    assert_eq!(turns.body["turns"][0]["start"]["type"], "api_speak");

    let left = api
        .send(
            Method::POST,
            &api.project(&format!("agents/{id}/leave")),
            None,
        )
        .await;
    assert_eq!(left.status, StatusCode::OK);
    let info = api
        .send(Method::GET, &api.project(&format!("agents/{id}")), None)
        .await;
    assert_eq!(info.body["status"], "STOPPED");
    assert!(info.body["stop_ts"].as_u64().unwrap() > 0);

    for (method, rest, body) in [
        (Method::POST, "leave", None),
        (Method::POST, "speak", Some(json!({"text": "x"}))),
        (Method::POST, "interrupt", None),
        (Method::POST, "update", Some(json!({"properties": {}}))),
        (Method::POST, "think", Some(json!({"text": "x"}))),
        (Method::GET, "history", None),
    ] {
        let r = api
            .send(method, &api.project(&format!("agents/{id}/{rest}")), body)
            .await;
        assert_error(&r, StatusCode::NOT_FOUND, "TaskNotFound", &id);
    }
    let r = api
        .send(Method::POST, &api.project("agents/NOSUCHAGENT/leave"), None)
        .await;
    assert_error(&r, StatusCode::NOT_FOUND, "TaskNotFound", "NOSUCHAGENT");
    // The name is free again once the agent stopped.
    api.join("demo-agent", "room-1").await;
}

#[tokio::test]
async fn the_cn_path_serves_the_same_api() {
    let api = Api::new().await;
    let res = api
        .http
        .post(format!(
            "{}/v2/projects/{}/join",
            api.emu.cn_base_url(),
            api.emu.app_id()
        ))
        .header("authorization", &api.auth)
        .json(&api.join_body("cn", "room", "7"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(api.emu.agents().len(), 1);
}

#[tokio::test]
async fn authentication_with_basic_and_tokens() {
    let api = Api::new().await;
    let list = api.project("agents");
    let none = api.send_as("", Method::GET, &list, None).await;
    assert_error(
        &none,
        StatusCode::UNAUTHORIZED,
        "AuthenticationFailed",
        "missing",
    );
    let wrong = basic(api.emu.customer_id(), "not-the-secret");
    assert_error(
        &api.send_as(&wrong, Method::GET, &list, None).await,
        StatusCode::UNAUTHORIZED,
        "AuthenticationFailed",
        "wrong customer",
    );
    let b = TokenBuilder::new(api.emu.app_id(), api.emu.app_certificate()).unwrap();
    // A header token for any channel/uid is accepted (the Python SDK signs "stop" + agent id).
    let good = format!(
        "agora token={}",
        b.convo_ai("stop", "SOMEAGENTID").build().unwrap()
    );
    assert_eq!(
        api.send_as(&good, Method::GET, &list, None).await.status,
        StatusCode::OK
    );
    let other_cert =
        TokenBuilder::new(api.emu.app_id(), "00000000000000000000000000000000").unwrap();
    let forged = format!(
        "agora token={}",
        other_cert.convo_ai("c", "1").build().unwrap()
    );
    assert_error(
        &api.send_as(&forged, Method::GET, &list, None).await,
        StatusCode::UNAUTHORIZED,
        "AuthenticationFailed",
        "signature mismatch",
    );
    let expired = b
        .clone()
        .issue_ts(1_600_000_000)
        .convo_ai("c", "1")
        .expire(60)
        .build()
        .unwrap();
    assert_error(
        &api.send_as(&format!("agora token={expired}"), Method::GET, &list, None)
            .await,
        StatusCode::UNAUTHORIZED,
        "AuthenticationFailed",
        "expired",
    );
    let rtm_only = b.rtm("u").build().unwrap();
    assert_error(
        &api.send_as(&format!("agora token={rtm_only}"), Method::GET, &list, None)
            .await,
        StatusCode::UNAUTHORIZED,
        "AuthenticationFailed",
        "no rtc service",
    );
    let garbage = api
        .send_as("agora token=garbage", Method::GET, &list, None)
        .await;
    assert_eq!(garbage.status, StatusCode::UNAUTHORIZED);
    // Right credentials, wrong project.
    let r = api
        .send(
            Method::GET,
            "/v2/projects/ffffffffffffffffffffffffffffffff/agents",
            None,
        )
        .await;
    assert_error(&r, StatusCode::FORBIDDEN, "InvalidPermission", "appid");
}

#[tokio::test]
async fn join_validation_names_the_field() {
    let api = Api::new().await;
    let join = api.project("join");
    let base = api.join_body("v", "room", "1001");
    let with = |f: &dyn Fn(&mut Value)| {
        let mut b = base.clone();
        f(&mut b);
        b
    };
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            with(&|b| {
                b.as_object_mut().unwrap().remove("name");
            }),
            "MissingRequiredField",
            "name",
        ),
        (
            with(&|b| {
                b["properties"].as_object_mut().unwrap().remove("channel");
            }),
            "MissingRequiredField",
            "properties.channel",
        ),
        (
            with(&|b| b["properties"]["channel"] = json!(5)),
            "InvalidFieldValue",
            "properties.channel",
        ),
        (
            with(&|b| b["properties"]["remote_rtc_uids"] = json!([])),
            "InvalidFieldValue",
            "properties.remote_rtc_uids",
        ),
        (
            with(&|b| b["properties"]["remote_rtc_uids"] = json!(["alice"])),
            "InvalidFieldValue",
            "properties.remote_rtc_uids[0]",
        ),
        (
            with(&|b| b["properties"]["agent_rtc_uid"] = json!("bot")),
            "InvalidFieldValue",
            "properties.agent_rtc_uid",
        ),
        (
            with(&|b| b["properties"]["token"] = json!(api.token("other-room", "1001"))),
            "InvalidFieldValue",
            "properties.token",
        ),
        (
            with(&|b| b["properties"]["token"] = json!("007garbage")),
            "InvalidFieldValue",
            "properties.token",
        ),
        (
            with(&|b| {
                b["properties"]["tts"]["params"]["voice_setting"]
                    .as_object_mut()
                    .unwrap()
                    .remove("voice_id");
            }),
            "MissingRequiredField",
            "properties.tts.params.voice_setting.voice_id",
        ),
        (
            with(
                &|b| b["properties"]["tts"] = json!({"vendor": "tencent", "params": {"app_id": "a", "secret_id": "b", "secret_key": "c", "voice_type": "101"}}),
            ),
            "InvalidFieldValue",
            "properties.tts.params.voice_type",
        ),
        (
            with(&|b| b["properties"]["tts"]["vendor"] = json!("nosuchvendor")),
            "InvalidFieldValue",
            "properties.tts.vendor",
        ),
        (
            with(&|b| {
                b["properties"].as_object_mut().unwrap().remove("llm");
            }),
            "MissingRequiredField",
            "properties.llm",
        ),
        (
            with(&|b| {
                b["properties"].as_object_mut().unwrap().remove("tts");
            }),
            "MissingRequiredField",
            "properties.tts",
        ),
        (
            with(&|b| b["properties"]["idle_timeout"] = json!(-1)),
            "InvalidFieldValue",
            "properties.idle_timeout",
        ),
        (
            with(&|b| {
                b["properties"]["tts"] = json!({"vendor": "microsoft", "params": {"key": "k", "region": "r", "voice_name": "v", "sample_rate": 24000}});
                b["properties"]["avatar"] = json!({"vendor": "sensetime", "params": {}});
            }),
            "InvalidFieldValue",
            "properties.avatar",
        ),
        (
            with(&|b| b["properties"]["advanced_features"] = json!({"enable_mllm": true})),
            "MissingRequiredField",
            "properties.mllm",
        ),
        (
            with(&|b| b["properties"]["labels"] = json!({"k": 1})),
            "InvalidFieldValue",
            "properties.labels.k",
        ),
    ];
    for (body, reason, field) in cases {
        let r = api.send(Method::POST, &join, Some(body)).await;
        assert_error(&r, StatusCode::BAD_REQUEST, reason, field);
    }
    // String uids when enabled; MLLM mode needs no llm/tts.
    let ok = with(&|b| {
        b["properties"]["enable_string_uid"] = json!(true);
        b["properties"]["agent_rtc_uid"] = json!("bot");
        b["properties"]["remote_rtc_uids"] = json!(["alice"]);
        b["properties"]["token"] = json!(api.token("room", "bot"));
    });
    assert_eq!(
        api.send(Method::POST, &join, Some(ok)).await.status,
        StatusCode::OK
    );
    let mllm = with(&|b| {
        b["name"] = json!("mllm");
        let p = b["properties"].as_object_mut().unwrap();
        p.remove("llm");
        p.remove("tts");
        p.insert("advanced_features".into(), json!({"enable_mllm": true}));
        p.insert(
            "mllm".into(),
            json!({"url": "wss://realtime.example", "vendor": "openai"}),
        );
    });
    assert_eq!(
        api.send(Method::POST, &join, Some(mllm)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn malformed_oversized_and_unknown_requests_are_json_errors() {
    let api = Api::new().await;
    let url = format!("{}{}", api.emu.base_url(), api.project("join"));
    for body in ["{not json", "[1,2]", "\"text\"", ""] {
        let r = api
            .http
            .post(&url)
            .header("authorization", &api.auth)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{body:?}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["reason"], "InvalidRequestBody");
    }
    let huge = format!("{{\"name\": \"{}\"}}", "x".repeat(1024 * 1024 + 10));
    let r = api
        .http
        .post(&url)
        .header("authorization", &api.auth)
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        r.json::<Value>().await.unwrap()["reason"],
        "InvalidRequestBody"
    );

    let r = api.send(Method::GET, "/v2/nothing/here", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body["detail"].is_string());
    let r = api.send(Method::DELETE, &api.project("join"), None).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(r.body["request_id"].is_string());
    // Speak text over 512 bytes, empty, or with an unknown priority.
    let id = api.join("a", "room").await;
    let speak = api.project(&format!("agents/{id}/speak"));
    for body in [
        json!({"text": "x".repeat(513)}),
        json!({"text": ""}),
        json!({"text": "hi", "priority": "LOUD"}),
    ] {
        assert_eq!(
            api.send(Method::POST, &speak, Some(body)).await.status,
            StatusCode::BAD_REQUEST
        );
    }
}

#[tokio::test]
async fn names_conflict_while_running_and_the_agent_limit_holds() {
    let api = Api::with(Emulator::builder().max_agents(2)).await;
    api.join("same", "room").await;
    let r = api
        .send(
            Method::POST,
            &api.project("join"),
            Some(api.join_body("same", "room", "1")),
        )
        .await;
    assert_error(&r, StatusCode::CONFLICT, "TaskConflict", "same");
    api.join("second", "room").await;
    let r = api
        .send(
            Method::POST,
            &api.project("join"),
            Some(api.join_body("third", "room", "1")),
        )
        .await;
    assert_error(
        &r,
        StatusCode::UNPROCESSABLE_ENTITY,
        "ConcurrencyLimitExceeded",
        "2",
    );
}

#[tokio::test]
async fn list_filters_and_paginates_to_an_empty_cursor() {
    let api = Api::new().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            api.join(&format!("a{i}"), if i < 3 { "red" } else { "blue" })
                .await,
        );
    }
    api.send(
        Method::POST,
        &api.project(&format!("agents/{}/leave", ids[0])),
        None,
    )
    .await;

    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let r = api
            .send(
                Method::GET,
                &api.project(&format!("agents?limit=2&cursor={cursor}&from_time=0.0")),
                None,
            )
            .await;
        assert_eq!(r.body["meta"]["total"], 5);
        for item in r.body["data"]["list"].as_array().unwrap() {
            seen.push(item["agent_id"].as_str().unwrap().to_string());
        }
        cursor = r.body["meta"]["cursor"].as_str().unwrap().to_string();
        if cursor.is_empty() {
            break;
        }
    }
    assert_eq!(seen, ids);
    let red = api
        .send(
            Method::GET,
            &api.project("agents?channel=red&state=2"),
            None,
        )
        .await;
    assert_eq!(red.body["data"]["count"], 2);
    assert!(red.body["data"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["status"] == "RUNNING"));
    let stopped = api
        .send(Method::GET, &api.project("agents?state=4"), None)
        .await;
    assert_eq!(stopped.body["data"]["list"][0]["agent_id"], ids[0].as_str());
    let future = api
        .send(
            Method::GET,
            &api.project("agents?from_time=99999999999.5"),
            None,
        )
        .await;
    assert_eq!(future.body["data"]["count"], 0);
    for bad in [
        "agents?state=7",
        "agents?state=RUNNING",
        "agents?from_time=abc",
        "agents?cursor=nope",
    ] {
        assert_eq!(
            api.send(Method::GET, &api.project(bad), None).await.status,
            StatusCode::BAD_REQUEST,
            "{bad}"
        );
    }
}

#[tokio::test]
async fn idle_agents_stop_by_themselves_on_the_emulator_clock() {
    let clock = Clock::manual(1_800_000_000);
    let api = Api::with(Emulator::builder().clock(clock.clone())).await;
    let mut body = api.join_body("idle", "room", "5");
    body["properties"]["idle_timeout"] = json!(30);
    let r = api
        .send(Method::POST, &api.project("join"), Some(body))
        .await;
    let id = r.body["agent_id"].as_str().unwrap().to_string();
    clock.advance(Duration::from_secs(29));
    assert_eq!(api.emu.agents()[0].status, AgentStatus::Running);
    clock.advance(Duration::from_secs(1));
    let info = api
        .send(Method::GET, &api.project(&format!("agents/{id}")), None)
        .await;
    assert_eq!(info.body["status"], "STOPPED");
    assert_eq!(info.body["stop_ts"], 1_800_000_030u64);
    assert!(info.body["message"].as_str().unwrap().contains("idle"));
}

#[tokio::test]
async fn telephony_calls_and_hangup() {
    let api = Api::new().await;
    let call = json!({
        "name": "call-1",
        "sip": {"to_number": "+8613800000000", "from_number": "+8610000000", "rtc_uid": "100", "rtc_token": "t"},
        "pipeline_id": "41",
        "properties": {"channel": "pstn-1", "token": "t", "agent_rtc_uid": "200", "remote_rtc_uids": ["100"]},
    });
    let r = api
        .send(Method::POST, &api.project("call"), Some(call.clone()))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let id = r.body["agent_id"].as_str().unwrap().to_string();
    let again = api
        .send(Method::POST, &api.project("call"), Some(call.clone()))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let info = api
        .send(Method::GET, &api.project(&format!("calls/{id}")), None)
        .await;
    assert_eq!(info.body["state"], "answered");
    assert_eq!(info.body["pipeline_id"], "41");
    let hung = api
        .send(
            Method::POST,
            &api.project(&format!("calls/{id}/hangup")),
            None,
        )
        .await;
    assert_eq!(
        (hung.status, hung.body.clone()),
        (StatusCode::OK, json!({}))
    );
    let info = api
        .send(Method::GET, &api.project(&format!("calls/{id}")), None)
        .await;
    assert_eq!(
        (info.body["state"].clone(), info.body["reason"].clone()),
        (json!("hangup"), json!("request"))
    );
    assert_eq!(
        api.send(
            Method::POST,
            &api.project(&format!("calls/{id}/hangup")),
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let list = api
        .send(
            Method::GET,
            &api.project("call?number=%2B8613800000000&type=outbound"),
            None,
        )
        .await;
    assert_eq!(list.body["data"]["count"], 1);
    assert_eq!(list.body["meta"]["cursor"], "");
    let mut bad = call;
    bad["sip"]["to_number"] = json!("13800000000");
    let r = api
        .send(Method::POST, &api.project("call"), Some(bad))
        .await;
    assert_error(
        &r,
        StatusCode::BAD_REQUEST,
        "InvalidFieldValue",
        "sip.to_number",
    );
}

#[tokio::test]
async fn phone_numbers_crud() {
    let api = Api::new().await;
    let number = json!({
        "provider": "byo", "phone_number": "+8675500000000", "label": "front desk",
        "inbound": true, "outbound": false,
        "inbound_config": {"allowed_addresses": ["203.0.113.0/28"]},
        "outbound_config": {"address": "user:pass@sip.example.com", "transport": "tls", "prefix": "6036"},
    });
    let r = api
        .send(Method::POST, "/v2/phone-numbers", Some(number.clone()))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body["associated_pipeline"], Value::Null);
    assert_eq!(
        api.send(Method::POST, "/v2/phone-numbers", Some(number))
            .await
            .status,
        StatusCode::CONFLICT
    );
    let path = "/v2/phone-numbers/+8675500000000";
    assert_eq!(
        api.send(Method::GET, path, None).await.body["label"],
        "front desk"
    );
    let set = api
        .send(
            Method::PATCH,
            path,
            Some(json!({"inbound_config": {"pipeline_id": "p-17"}})),
        )
        .await;
    assert_eq!(set.body["associated_pipeline"]["pipeline_id"], "p-17");
    let cleared = api
        .send(Method::PATCH, path, Some(json!({"inbound_config": null})))
        .await;
    assert_eq!(cleared.body["inbound_config"], Value::Null);
    assert_eq!(cleared.body["associated_pipeline"], Value::Null);
    // An empty PATCH (no body) changes nothing.
    let same = api.send(Method::PATCH, path, None).await;
    assert_eq!(same.status, StatusCode::OK);
    assert_eq!(
        api.send(Method::GET, "/v2/phone-numbers", None)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        api.send(Method::DELETE, path, None).await.status,
        StatusCode::OK
    );
    assert_eq!(
        api.send(Method::GET, path, None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        api.send(Method::DELETE, path, None).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn scripted_faults_happen_before_or_after_the_state_change() {
    let api = Api::new().await;
    let join = api.project("join");
    api.emu.push_fault(
        FaultRule::new(Fault::Status {
            status: 429,
            retry_after: Some("2".into()),
            retry_after_ms: Some(1500),
        })
        .path_contains("/join"),
    );
    let r = api
        .send(Method::POST, &join, Some(api.join_body("f1", "room", "1")))
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers["retry-after"], "2");
    assert_eq!(r.headers["retry-after-ms"], "1500");
    assert!(
        api.emu.agents().is_empty(),
        "a fault before the change creates nothing"
    );

    api.emu
        .push_fault(FaultRule::new(Fault::StatusAfterStateChange { status: 503 }).method("POST"));
    let r = api
        .send(Method::POST, &join, Some(api.join_body("f2", "room", "1")))
        .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        api.emu.agents().len(),
        1,
        "the agent exists although the reply said 503"
    );

    // A dropped connection: the client gets no response at all, but the agent was created.
    api.emu
        .push_fault(FaultRule::new(Fault::DropAfterStateChange).path_contains("/join"));
    let err = api
        .http
        .post(format!("{}{}", api.emu.base_url(), join))
        .header("authorization", &api.auth)
        .json(&api.join_body("f3", "room", "1"))
        .send()
        .await
        .unwrap_err();
    assert!(!err.is_status());
    let names: Vec<_> = api.emu.agents().into_iter().map(|a| a.name).collect();
    assert_eq!(names, ["f2", "f3"]);

    api.emu.push_fault(FaultRule::new(Fault::Drop).times(2));
    for _ in 0..2 {
        assert!(api
            .http
            .get(format!("{}{}", api.emu.base_url(), api.project("agents")))
            .header("authorization", &api.auth)
            .send()
            .await
            .is_err());
    }
    assert_eq!(
        api.send(Method::GET, &api.project("agents"), None)
            .await
            .status,
        StatusCode::OK
    );
    let counts = api.emu.request_counts();
    let dropped = counts
        .iter()
        .filter(|c| c.status == 0)
        .map(|c| c.count)
        .sum::<u64>();
    assert_eq!(dropped, 3);
    assert!(counts
        .iter()
        .any(|c| c.endpoint == "POST /v2/projects/{appid}/join" && c.status == 200));
}

#[tokio::test]
async fn random_faults_follow_the_seed() {
    async fn outcomes(seed: u64) -> Vec<u16> {
        let api = Api::with(
            Emulator::builder()
                .fault_rate(0.5)
                .seed(seed)
                .fault_delay(Duration::from_millis(1)),
        )
        .await;
        let mut v = Vec::new();
        for _ in 0..30 {
            let r = api
                .http
                .get(format!("{}{}", api.emu.base_url(), api.project("agents")))
                .header("authorization", &api.auth)
                .send()
                .await;
            v.push(r.map(|r| r.status().as_u16()).unwrap_or(0));
        }
        v
    }
    let a = outcomes(7).await;
    assert_eq!(a, outcomes(7).await);
    assert!(a.contains(&200) && a.iter().any(|s| *s != 200), "{a:?}");
}

#[tokio::test]
async fn admin_api_shows_agents_and_resets() {
    let api = Api::new().await;
    api.join("x", "room").await;
    let admin = |p: &str| format!("{}/_emulator/{p}", api.emu.url());
    let agents: Value = api
        .http
        .get(admin("agents"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(agents[0]["name"], "x");
    assert_eq!(agents[0]["status"], "RUNNING");
    let counts: Value = api
        .http
        .get(admin("requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(counts
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["endpoint"] == "POST /v2/projects/{appid}/join"));
    let r = api
        .http
        .post(admin("faults/rules"))
        .json(&json!({"path_contains": "/agents", "fault": {"kind": "status", "status": 502}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        api.send(Method::GET, &api.project("agents"), None)
            .await
            .status,
        StatusCode::BAD_GATEWAY
    );
    // Latency set at runtime applies to the next request.
    let r = api
        .http
        .post(admin("faults"))
        .json(&json!({"latency_ms": 150}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let t = std::time::Instant::now();
    api.send(Method::GET, &api.project("agents"), None).await;
    assert!(t.elapsed() >= Duration::from_millis(150));
    let r = api
        .http
        .post(admin("faults"))
        .json(&json!({"rate": 2.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    api.http.post(admin("reset")).send().await.unwrap();
    assert!(api.emu.agents().is_empty());
    let t = std::time::Instant::now();
    api.send(Method::GET, &api.project("agents"), None).await;
    assert!(
        t.elapsed() < Duration::from_millis(150),
        "reset clears the latency"
    );
}

#[test]
fn start_serves_without_a_caller_runtime_and_stops_on_drop() {
    let emu = Emulator::builder().start().unwrap();
    let addr = emu.addr();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status = rt.block_on(async {
        reqwest::get(format!("{}/_emulator/agents", emu.url()))
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, StatusCode::OK);
    drop(emu);
    assert!(std::net::TcpStream::connect(addr).is_err());
}

#[tokio::test]
async fn a_header_token_that_verified_once_is_still_refused_once_it_expires() {
    // The emulator remembers header tokens that verified; expiry is still checked each time.
    let clock = Clock::manual(1_800_000_000);
    let api = Api::with(Emulator::builder().clock(clock.clone())).await;
    let b = TokenBuilder::new(api.emu.app_id(), api.emu.app_certificate()).unwrap();
    let token = b
        .clone()
        .issue_ts(1_800_000_000)
        .convo_ai("c", "1")
        .expire(60)
        .build()
        .unwrap();
    let header = format!("agora token={token}");
    let list = api.project("agents");
    for _ in 0..2 {
        assert_eq!(
            api.send_as(&header, Method::GET, &list, None).await.status,
            StatusCode::OK
        );
    }
    // A forged token that differs by one character is checked on its own.
    let mut forged = token.clone();
    let last = forged.pop();
    forged.push(if last == Some('A') { 'B' } else { 'A' });
    assert_eq!(
        api.send_as(&format!("agora token={forged}"), Method::GET, &list, None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    clock.advance(Duration::from_secs(59));
    assert_eq!(
        api.send_as(&header, Method::GET, &list, None).await.status,
        StatusCode::OK
    );
    clock.advance(Duration::from_secs(1));
    assert_error(
        &api.send_as(&header, Method::GET, &list, None).await,
        StatusCode::UNAUTHORIZED,
        "AuthenticationFailed",
        "expired",
    );
}
