//! Agents that take time to be ready, over real HTTP: the `STARTING` hold (builder option and
//! `starting_ms` fault setting) with the agent-joined callback `101` sent when it ends, and
//! the admin routes that move an agent to `RECOVERING`, back to `RUNNING`, or to `FAILED`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use convoai_emulator::{AgentStatus, Emulator, EmulatorHandle};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use shengwang_agent::token::TokenBuilder;

struct Emu {
    emu: EmulatorHandle,
    http: reqwest::Client,
}

impl Emu {
    async fn join(&self, name: &str) -> (String, Value) {
        let token = TokenBuilder::new(self.emu.app_id(), self.emu.app_certificate())
            .unwrap()
            .convo_ai("ch", "1001")
            .build()
            .unwrap();
        let body = json!({"name": name, "properties": {
            "channel": "ch", "token": token, "agent_rtc_uid": "1001", "remote_rtc_uids": ["2002"],
            "llm": {"url": "https://llm.example/v1", "api_key": "k"},
            "tts": {"vendor": "cosyvoice", "params": {"api_key": "k", "model": "m", "voice": "v"}},
        }});
        let url = format!(
            "{}/v2/projects/{}/join",
            self.emu.base_url(),
            self.emu.app_id()
        );
        let res = self
            .http
            .post(url)
            .basic_auth(self.emu.customer_id(), Some(self.emu.customer_secret()))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let v: Value = res.json().await.unwrap();
        (v["agent_id"].as_str().unwrap().to_owned(), v)
    }

    async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.emu.url()));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    fn status(&self, id: &str) -> AgentStatus {
        let agents = self.emu.agents();
        agents.iter().find(|a| a.agent_id == id).unwrap().status
    }
}

/// A receiver that records (event type, agent id, arrival) of every callback.
type Seen = Arc<Mutex<Vec<(u64, String, Instant)>>>;

async fn receiver() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: Bytes| {
            let log = log.clone();
            async move {
                let v: Value = serde_json::from_slice(&body).unwrap_or_default();
                let id = v["payload"]["agent_id"].as_str().unwrap_or("").to_owned();
                let kind = v["eventType"].as_u64().unwrap_or(0);
                log.lock().unwrap().push((kind, id, Instant::now()));
                "{}"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, seen)
}

fn joined_at(seen: &Seen, id: &str) -> Vec<Instant> {
    let seen = seen.lock().unwrap();
    seen.iter()
        .filter(|(kind, agent, _)| *kind == 101 && agent == id)
        .map(|(_, _, at)| *at)
        .collect()
}

async fn until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn by_default_an_agent_runs_at_once_and_101_is_sent_at_join() {
    let e = Emu {
        emu: Emulator::builder().spawn().await.unwrap(),
        http: reqwest::Client::new(),
    };
    let (url, seen) = receiver().await;
    e.emu.set_webhook(Some((url, "s".into())));
    let (id, answer) = e.join("at-once").await;
    assert_eq!(answer["status"], "RUNNING");
    assert_eq!(e.status(&id), AgentStatus::Running);
    until("the 101", || joined_at(&seen, &id).len() == 1).await;
    let (status, faults) = e.admin(Method::GET, "/_emulator/faults", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(faults["starting_ms"], 0);
}

#[tokio::test]
async fn a_held_agent_starts_then_runs_with_its_101_at_that_moment() {
    let hold = Duration::from_millis(300);
    let e = Emu {
        emu: Emulator::builder()
            .starting_time(hold)
            .spawn()
            .await
            .unwrap(),
        http: reqwest::Client::new(),
    };
    let (url, seen) = receiver().await;
    e.emu.set_webhook(Some((url, "s".into())));
    let (_, faults) = e.admin(Method::GET, "/_emulator/faults", None).await;
    assert_eq!(faults["starting_ms"], 300);
    let began = Instant::now();
    let (id, answer) = e.join("held").await;
    assert_eq!(answer["status"], "STARTING");
    assert_eq!(e.status(&id), AgentStatus::Starting);
    until("RUNNING", || e.status(&id) == AgentStatus::Running).await;
    assert!(began.elapsed() >= hold - Duration::from_millis(20));
    until("the 101", || joined_at(&seen, &id).len() == 1).await;
    let at = joined_at(&seen, &id)[0];
    assert!(at.duration_since(began) >= hold - Duration::from_millis(20));
    // The setting can be changed at run time: 0 is "at once" again.
    let (status, _) = e
        .admin(
            Method::POST,
            "/_emulator/faults",
            Some(json!({"starting_ms": 0})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (quick, answer) = e.join("quick").await;
    assert_eq!(answer["status"], "RUNNING");
    assert_eq!(e.status(&quick), AgentStatus::Running);
}

#[tokio::test]
async fn recovering_and_back_and_failing_from_the_admin_api() {
    let e = Emu {
        emu: Emulator::builder().spawn().await.unwrap(),
        http: reqwest::Client::new(),
    };
    let (url, seen) = receiver().await;
    e.emu.set_webhook(Some((url, "s".into())));
    let (id, _) = e.join("recovers").await;
    let path = |what: &str| format!("/_emulator/agents/{id}/{what}");
    // Back to running is refused while it runs.
    let (status, _) = e
        .admin(Method::POST, &path("recover"), Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, v) = e
        .admin(Method::POST, &path("recovering"), Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{v}");
    assert_eq!(e.status(&id), AgentStatus::Recovering);
    let (_, detail) = e
        .admin(Method::GET, &format!("/_emulator/agents/{id}"), None)
        .await;
    assert_eq!(detail["status"], "RECOVERING");
    // Without a JSON object body (a cross-site form), nothing happens.
    let res = e
        .http
        .post(format!("{}{}", e.emu.url(), path("recover")))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error());
    assert_eq!(e.status(&id), AgentStatus::Recovering);
    let (status, _) = e
        .admin(Method::POST, &path("recover"), Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(e.status(&id), AgentStatus::Running);
    // In the channel again: a second 101.
    until("the second 101", || joined_at(&seen, &id).len() == 2).await;
    // A recovering agent can fail.
    assert!(e.emu.set_recovering(&id));
    let (status, _) = e
        .admin(
            Method::POST,
            &path("fail"),
            Some(json!({"reason": "gave up"})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(e.status(&id), AgentStatus::Failed);
    let (status, _) = e
        .admin(Method::POST, &path("recovering"), Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!e.emu.recover(&id));
}

#[tokio::test]
async fn a_starting_agent_can_fail_or_be_stopped_and_never_runs() {
    let e = Emu {
        emu: Emulator::builder()
            .starting_time(Duration::from_secs(30))
            .spawn()
            .await
            .unwrap(),
        http: reqwest::Client::new(),
    };
    let (failed, _) = e.join("fails-starting").await;
    assert!(e.emu.fail_agent(&failed, "RTC connection error"));
    assert_eq!(e.status(&failed), AgentStatus::Failed);
    let (stopped, _) = e.join("stopped-starting").await;
    let (status, _) = e
        .admin(
            Method::POST,
            &format!("/_emulator/agents/{stopped}/stop"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(e.status(&stopped), AgentStatus::Stopped);
    // A starting agent may go recovering too; the hold's end then changes nothing.
    e.emu.set_starting_time(Duration::from_millis(100));
    let (id, _) = e.join("recovers-starting").await;
    assert!(e.emu.set_recovering(&id));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(e.status(&id), AgentStatus::Recovering);
    assert!(e.emu.recover(&id));
    assert_eq!(e.status(&id), AgentStatus::Running);
}
