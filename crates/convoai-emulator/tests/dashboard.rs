//! The web dashboard in headless Chromium, driven through chromedriver: what a person sees
//! after an SDK call, and what the page's controls do to the SDK's next call.
//!
//! Needs `chromium` and `chromedriver` (Debian's `chromium`, `chromium-driver`; found on
//! `PATH`, or where `$CHROMIUM` and `$CHROMEDRIVER` say). When they are missing or do not start
//! the test is reported as ignored with the reason; in CI it fails instead (see
//! `support/harness.rs`). Screenshots of each view go to `target/dashboard-screenshots/`.

mod support {
    pub mod harness;
}

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use convoai_emulator::{Emulator, EmulatorHandle};
use fantoccini::{Client as Browser, ClientBuilder, Locator};
use serde_json::{json, Value};
use shengwang_agent::token::TokenBuilder;
use shengwang_agent::transport::RetryPolicy;
use shengwang_agent::types::agents::{
    AgentStatus, SpeakRequest, StartAgentRequest, StartProperties,
};
use shengwang_agent::Client;
use support::harness::{self, needs, Missing};

const SENTINEL: &str = "SENTINEL-VENDOR-KEY-7f3a";
const TAB: &str = "\u{E004}";
const ENTER: &str = "\u{E007}";

/// chromedriver, ended when the test ends (it is our own child process).
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn main() {
    harness::run(vec![
        harness::ci_definition(),
        needs("the_dashboard_shows_and_controls_what_the_sdk_does", || {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap()
                .block_on(the_dashboard_shows_and_controls_what_the_sdk_does())
        }),
    ])
}

const INSTALL: &str = "apt-get install chromium chromium-driver";

async fn start_browser() -> Result<(Driver, Browser), Missing> {
    let chromium = harness::program("CHROMIUM", &["chromium", "chromium-browser"], INSTALL)?;
    let chromedriver = harness::program("CHROMEDRIVER", &["chromedriver"], INSTALL)?;
    let port = match TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()) {
        Ok(a) => a.port(),
        Err(e) => return Err(Missing(format!("no free loopback port: {e}"))),
    };
    let child = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let driver = match child {
        Ok(c) => Driver(c),
        Err(e) => return Err(Missing(format!("chromedriver does not start: {e}"))),
    };
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1000,720", "--force-device-scale-factor=1",
                     "--no-first-run", "--disable-extensions"],
        },
    });
    let Value::Object(caps) = caps else {
        unreachable!()
    };
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(browser) => return Ok((driver, browser)),
            Err(e) if Instant::now() > deadline => {
                return Err(Missing(format!("chromium does not start: {e}")))
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Polls `script` (a JS function body returning a value) until `ok` accepts its value.
async fn until(
    b: &Browser,
    what: &str,
    within: Duration,
    script: &str,
    ok: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let v = b.execute(script, vec![]).await.unwrap_or(Value::Null);
        if ok(&v) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not seen within {within:?}; last value: {v}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn text_of(selector: &str) -> String {
    format!("const n = document.querySelector({selector:?}); return n ? n.innerText : null;")
}

async fn screenshot(b: &Browser, name: &str) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/dashboard-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = b.screenshot().await.unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

fn sdk(emu: &EmulatorHandle) -> Client {
    Client::builder()
        .app_id(emu.app_id())
        .app_certificate(emu.app_certificate())
        .base_url(emu.base_url())
        // One attempt per call, so a fault set on the page is what the call sees.
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

fn start_request(emu: &EmulatorHandle, name: &str, channel: &str) -> StartAgentRequest {
    let token = TokenBuilder::new(emu.app_id(), emu.app_certificate())
        .unwrap()
        .convo_ai(channel, "1001")
        .build()
        .unwrap();
    // The typed blocks, read from the JSON the service documents.
    fn obj<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
        serde_json::from_value(v).unwrap()
    }
    StartAgentRequest {
        name: name.into(),
        properties: StartProperties {
            channel: channel.into(),
            token,
            agent_rtc_uid: "1001".into(),
            remote_rtc_uids: vec!["2002".into()],
            idle_timeout: Some(120),
            llm: Some(obj(
                json!({"url": "https://llm.example/v1", "api_key": SENTINEL}),
            )),
            tts: Some(obj(
                json!({"vendor": "cosyvoice", "params": {"api_key": SENTINEL, "model": "m", "voice": "v"}}),
            )),
            ..Default::default()
        },
        ..Default::default()
    }
}

async fn page_has_no_secret(b: &Browser, view: &str) {
    let html = b.source().await.unwrap();
    assert!(!html.contains(SENTINEL), "{view} shows a vendor key");
    assert!(
        !html.contains("dev-secret"),
        "{view} shows the customer secret"
    );
}

async fn the_dashboard_shows_and_controls_what_the_sdk_does() -> Result<(), Missing> {
    let (_driver, b) = start_browser().await?;
    let emu = Emulator::builder().spawn().await.unwrap();
    let client = sdk(&emu);
    let agents = client.agents();
    b.goto(&emu.ui_url()).await.unwrap();
    until(
        &b,
        "empty agents view",
        Duration::from_secs(5),
        &text_of("#agents"),
        |v| v.as_str().is_some_and(|t| t.contains("No agents yet")),
    )
    .await;

    // An agent started through the SDK is listed as RUNNING within 2 s.
    let id = agents
        .start(&start_request(&emu, "support-bot", "lobby"))
        .await
        .unwrap()
        .agent_id
        .clone();
    let started = Instant::now();
    let row = format!(
        "const a = document.querySelector('a[href=\"#/agents/{id}\"]'); return a ? a.closest('tr').innerText : null;"
    );
    let seen = until(&b, "the started agent", Duration::from_secs(2), &row, |v| {
        v.as_str().is_some_and(|t| t.contains("RUNNING"))
    })
    .await;
    let listed_after = started.elapsed();
    eprintln!("agent listed as RUNNING {listed_after:?} after the SDK's start returned");
    let seen = seen.as_str().unwrap();
    assert!(
        seen.contains("support-bot") && seen.contains("lobby") && seen.contains("120 s"),
        "{seen}"
    );

    // A second agent on another channel; the filters narrow the list.
    let other = agents
        .start(&start_request(&emu, "sales-bot", "sales"))
        .await
        .unwrap()
        .agent_id
        .clone();
    let other_row = format!("return !!document.querySelector('a[href=\"#/agents/{other}\"]');");
    until(
        &b,
        "second agent",
        Duration::from_secs(5),
        &other_row,
        |v| v == &json!(true),
    )
    .await;
    // The page's own requests (its script, style, polling; no favicon fetch) are not traffic.
    assert_eq!(
        emu.recent_requests().len(),
        2,
        "{:?}",
        emu.recent_requests()
    );
    b.find(Locator::Id("filter-channel"))
        .await
        .unwrap()
        .send_keys("lobby")
        .await
        .unwrap();
    until(
        &b,
        "channel filter",
        Duration::from_secs(5),
        &other_row,
        |v| v == &json!(false),
    )
    .await;
    // Cleared the way a user does it, so the page hears about it.
    let channel = b.find(Locator::Id("filter-channel")).await.unwrap();
    channel.send_keys(&"\u{E003}".repeat(5)).await.unwrap();
    until(
        &b,
        "channel filter cleared",
        Duration::from_secs(5),
        &other_row,
        |v| v == &json!(true),
    )
    .await;
    b.execute(
        "const s = document.getElementById('filter-status'); s.value = 'STOPPED'; s.dispatchEvent(new Event('change'));",
        vec![],
    )
    .await
    .unwrap();
    until(
        &b,
        "status filter",
        Duration::from_secs(5),
        &text_of("#agents"),
        |v| v.as_str().is_some_and(|t| t.contains("No agent matches")),
    )
    .await;
    b.execute(
        "const s = document.getElementById('filter-status'); s.value = ''; s.dispatchEvent(new Event('change'));",
        vec![],
    )
    .await
    .unwrap();
    page_has_no_secret(&b, "agents view").await;

    // Its history shows what the SDK had it speak; markup in it stays text.
    agents
        .speak(&id, &SpeakRequest::new("Hello from the SDK"))
        .await
        .unwrap();
    agents
        .speak(&id, &SpeakRequest::new("<img id=\"pwned\" src=\"x\">"))
        .await
        .unwrap();
    b.set_window_size(1000, 900).await.unwrap();
    b.find(Locator::Css(&format!("a[href=\"#/agents/{id}\"]")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let history = until(
        &b,
        "history",
        Duration::from_secs(3),
        &text_of("#history"),
        |v| v.as_str().is_some_and(|t| t.contains("Hello from the SDK")),
    )
    .await;
    assert!(
        history.as_str().unwrap().contains("<img id=\"pwned\""),
        "{history}"
    );
    let injected = b
        .execute("return !!document.getElementById('pwned');", vec![])
        .await
        .unwrap();
    assert_eq!(injected, json!(false), "text from a request became markup");
    let props = until(
        &b,
        "properties",
        Duration::from_secs(5),
        &text_of("#properties"),
        |v| v.as_str().is_some_and(|t| t.contains("[redacted]")),
    )
    .await;
    assert!(!props.as_str().unwrap().contains(SENTINEL));
    until(
        &b,
        "turns",
        Duration::from_secs(5),
        "return document.body.innerText;",
        |v| v.as_str().is_some_and(|t| t.contains("api_speak")),
    )
    .await;
    // The turns table shows the latencies the emulator reports for each turn, in milliseconds.
    let reported = agents.turns(&id).page_size(100).all().await.unwrap().turns;
    assert!(!reported.is_empty());
    let mut expected = Vec::new();
    for t in &reported {
        let m = t.metrics.as_ref().expect("each turn has metrics");
        expected.push(format!(
            "{} ms",
            m.e2e_latency_ms.expect("end-to-end latency")
        ));
        for seg in &m.segmented_latency_ms {
            let name = serde_json::to_value(&seg.name).unwrap();
            expected.push(format!("{} {} ms", name.as_str().unwrap(), seg.latency));
        }
    }
    let turns_table =
        "const h = [...document.querySelectorAll('h3')].find((h) => h.innerText === 'Turns'); \
                       const n = h && h.nextElementSibling; return n ? n.innerText : null;";
    let shown = until(
        &b,
        "turn latencies",
        Duration::from_secs(5),
        turns_table,
        |v| {
            v.as_str()
                .is_some_and(|t| expected.iter().all(|e| t.contains(e.as_str())))
        },
    )
    .await;
    let shown = shown.as_str().unwrap();
    assert!(
        !shown.contains("undefined") && !shown.contains("NaN"),
        "{shown}"
    );
    page_has_no_secret(&b, "agent view").await;

    // Speak from the page: the SDK reads it back in the history.
    b.find(Locator::Id("speak-text"))
        .await
        .unwrap()
        .send_keys("Spoken from the page")
        .await
        .unwrap();
    b.find(Locator::Css("button[data-action=\"Speak\"]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until(
        &b,
        "speak notice",
        Duration::from_secs(5),
        "return document.querySelector('.notice').innerText;",
        |v| v.as_str().is_some_and(|t| t.contains("spoke")),
    )
    .await;
    let said = agents.history(&id).await.unwrap();
    assert!(
        said.contents
            .iter()
            .any(|e| e.content == "Spoken from the page"),
        "{:?}",
        said.contents
    );
    screenshot(&b, "agent").await;

    // Stop from the page: the SDK's get says STOPPED.
    b.find(Locator::Css("button[data-action=\"Stop\"]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until(
        &b,
        "stopped badge",
        Duration::from_secs(5),
        &text_of("h2"),
        |v| v.as_str().is_some_and(|t| t.contains("STOPPED")),
    )
    .await;
    assert_eq!(agents.get(&id).await.unwrap().status, AgentStatus::Stopped);

    // Inject an error into the other agent: the SDK sees FAILED.
    b.goto(&format!("{}#/agents/{other}", emu.ui_url()))
        .await
        .unwrap();
    until(
        &b,
        "second agent view",
        Duration::from_secs(5),
        &text_of("h2"),
        |v| {
            v.as_str()
                .is_some_and(|t| t.contains("sales-bot") && t.contains("RUNNING"))
        },
    )
    .await;
    b.find(Locator::Css("button[data-action=\"Inject error\"]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until(
        &b,
        "failed badge",
        Duration::from_secs(5),
        &text_of("h2"),
        |v| v.as_str().is_some_and(|t| t.contains("FAILED")),
    )
    .await;
    assert_eq!(
        agents.get(&other).await.unwrap().status,
        AgentStatus::Failed
    );

    // The Requests view lists the SDK's calls; a body opens on click, secrets redacted.
    b.goto(&format!("{}#/requests", emu.ui_url()))
        .await
        .unwrap();
    let join = until(
        &b,
        "join request",
        Duration::from_secs(5),
        "const rows = [...document.querySelectorAll('#requests tbody tr')].filter(r => r.querySelector('td[title$=\"/join\"]')); \
         return rows.length ? rows[rows.length - 1].innerText : null;",
        |v| v.is_string(),
    )
    .await;
    let join = join.as_str().unwrap();
    assert!(
        join.contains("POST") && join.contains("200") && join.contains("agora token"),
        "{join}"
    );
    b.execute(
        "const rows = [...document.querySelectorAll('#requests tbody tr')].filter(r => r.querySelector('td[title$=\"/join\"]')); \
         rows[rows.length - 1].querySelector('button').click();",
        vec![],
    )
    .await
    .unwrap();
    let body = until(
        &b,
        "request body",
        Duration::from_secs(5),
        &text_of("#request-body pre"),
        |v| v.is_string(),
    )
    .await;
    let body = body.as_str().unwrap();
    assert!(
        body.contains("support-bot") && body.contains("[redacted]"),
        "{body}"
    );
    assert!(!body.contains(SENTINEL), "{body}");
    page_has_no_secret(&b, "requests view").await;
    screenshot(&b, "requests").await;

    // A fault set on the page makes the next SDK call fail as configured.
    b.goto(&format!("{}#/faults", emu.ui_url())).await.unwrap();
    let form = b
        .wait()
        .at_most(Duration::from_secs(3))
        .for_element(Locator::Id("rule-status"))
        .await
        .unwrap();
    form.clear().await.unwrap();
    form.send_keys("418").await.unwrap();
    b.execute(
        "document.getElementById('rule-method').value = 'GET';",
        vec![],
    )
    .await
    .unwrap();
    b.find(Locator::Id("rule-path"))
        .await
        .unwrap()
        .send_keys("/agents/")
        .await
        .unwrap();
    b.find(Locator::Css("#fault-rule button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until(
        &b,
        "rule listed",
        Duration::from_secs(5),
        &text_of("#faults-current"),
        |v| {
            v.as_str()
                .is_some_and(|t| t.contains("status 418") && t.contains("/agents/"))
        },
    )
    .await;
    let err = agents.get(&id).await.unwrap_err();
    assert_eq!(err.status(), Some(418), "{err}");
    assert_eq!(
        agents.get(&id).await.unwrap().status,
        AgentStatus::Stopped,
        "the rule applies once"
    );
    // The page shows the rule used up (and its layout settles before the next click).
    until(
        &b,
        "rule used up",
        Duration::from_secs(5),
        &text_of("#faults-current"),
        |v| v.as_str().is_some_and(|t| t.contains("No scripted rules")),
    )
    .await;
    // Latency from the page applies to the next call.
    let latency = b.find(Locator::Id("fault-latency")).await.unwrap();
    latency.clear().await.unwrap();
    latency.send_keys("300").await.unwrap();
    b.find(Locator::Css("#fault-settings button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until(
        &b,
        "latency shown",
        Duration::from_secs(5),
        &text_of("#current-latency"),
        |v| v == &json!("300 ms"),
    )
    .await;
    let t = Instant::now();
    agents.get(&id).await.unwrap();
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );
    screenshot(&b, "faults").await;
    emu.set_latency(Duration::ZERO);

    // Callbacks: a table once webhooks exist, a plain statement until then.
    b.goto(&format!("{}#/callbacks", emu.ui_url()))
        .await
        .unwrap();
    let webhooks = reqwest::get(format!("{}/_emulator/callbacks", emu.url()))
        .await
        .unwrap()
        .status();
    let shown = until(
        &b,
        "callbacks view",
        Duration::from_secs(5),
        &text_of("#callbacks"),
        |v| v.as_str().is_some_and(|t| !t.is_empty()),
    )
    .await;
    if webhooks == reqwest::StatusCode::NOT_FOUND {
        assert_eq!(shown, json!("no callbacks (webhooks not configured)"));
    } else {
        assert_ne!(shown, json!("no callbacks (webhooks not configured)"));
    }
    screenshot(&b, "callbacks").await;
    // The view reads the documented `GET /_emulator/callbacks` shape (served here by a stand-in
    // in the page, so this holds with or without webhooks on this build); markup stays text.
    let fake = json!([
        {"notice_id": "n-1", "event_type": 101, "product_id": 17, "agent_id": id, "channel": "lobby",
         "target": "http://127.0.0.1:9/hook", "state": "delivered",
         "attempts": [{"at_ms": 1, "status": 200, "error": null, "latency_ms": 12}],
         "body": {"eventType": 101, "payload": {"agent_id": id}}, "future_field": true},
        {"notice_id": "n-2", "event_type": 110, "product_id": 17, "agent_id": other, "channel": null,
         "target": "http://127.0.0.1:9/<b id=\"pwned-cb\">x</b>", "state": "failed",
         "attempts": [{"at_ms": 1, "status": 503, "error": null, "latency_ms": 5},
                      {"at_ms": 2, "status": null, "error": "connection refused", "latency_ms": 1}],
         "body": {"eventType": 110}},
    ]);
    b.execute(
        "const fake = arguments[0]; const real = window.fetch; \
         window.fetch = (url, opts) => String(url).startsWith('/_emulator/callbacks') \
           ? Promise.resolve(new Response(JSON.stringify(fake), {status: 200, headers: {'content-type': 'application/json'}})) \
           : real(url, opts);",
        vec![fake],
    )
    .await
    .unwrap();
    let table = until(
        &b,
        "callbacks table",
        Duration::from_secs(5),
        &text_of("#callbacks"),
        |v| v.as_str().is_some_and(|t| t.contains("n-2")),
    )
    .await;
    let table = table.as_str().unwrap();
    for seen in [
        "101 agent joined",
        "110 agent error",
        "delivered",
        "failed",
        "HTTP 200 in 12 ms",
        "error: connection refused",
    ] {
        assert!(table.contains(seen), "{seen:?} not in {table}");
    }
    assert_eq!(
        b.execute("return !!document.getElementById('pwned-cb');", vec![])
            .await
            .unwrap(),
        json!(false)
    );
    screenshot(&b, "callbacks-delivered").await;
    // The agent's own view lists its callbacks only (same page, so the stand-in stays).
    b.goto(&format!("{}#/agents/{id}", emu.ui_url()))
        .await
        .unwrap();
    let body = until(
        &b,
        "agent callbacks",
        Duration::from_secs(5),
        "return document.body.innerText;",
        |v| v.as_str().is_some_and(|t| t.contains("n-1")),
    )
    .await;
    assert!(
        !body.as_str().unwrap().contains("n-2"),
        "another agent's callback is listed"
    );
    b.goto(&format!("{}#/callbacks", emu.ui_url()))
        .await
        .unwrap();

    // The agents view with one agent of each outcome (the README's picture).
    let third = agents
        .start(&start_request(&emu, "triage-bot", "lobby"))
        .await
        .unwrap()
        .agent_id
        .clone();
    b.set_window_size(960, 600).await.unwrap();
    b.goto(&format!("{}#/agents", emu.ui_url())).await.unwrap();
    let third_row = format!("return !!document.querySelector('a[href=\"#/agents/{third}\"]');");
    until(&b, "third agent", Duration::from_secs(5), &third_row, |v| {
        v == &json!(true)
    })
    .await;
    // The chart counts the 418 above as a failure (it is redrawn every 2 s).
    until(
        &b,
        "chart summary",
        Duration::from_secs(3),
        &text_of("#chart-summary"),
        |v| v.as_str().is_some_and(|t| t.contains(" 1 failed")),
    )
    .await;
    screenshot(&b, "agents").await;

    // Keyboard only: from a freshly loaded page, Tab reaches the agent's link and Enter opens it.
    b.goto(&format!("{}#/agents", emu.ui_url())).await.unwrap();
    b.refresh().await.unwrap();
    until(&b, "agents again", Duration::from_secs(5), &row, |v| {
        v.is_string()
    })
    .await;
    let mut reached = false;
    for _ in 0..40 {
        b.active_element()
            .await
            .unwrap()
            .send_keys(TAB)
            .await
            .unwrap();
        let href = b
            .execute(
                "return document.activeElement.getAttribute('href');",
                vec![],
            )
            .await
            .unwrap();
        if href == json!(format!("#/agents/{id}")) {
            reached = true;
            break;
        }
    }
    assert!(reached, "Tab never reached the agent's link");
    b.active_element()
        .await
        .unwrap()
        .send_keys(ENTER)
        .await
        .unwrap();
    until(
        &b,
        "agent opened by keyboard",
        Duration::from_secs(5),
        &text_of("h2"),
        |v| v.as_str().is_some_and(|t| t.contains("support-bot")),
    )
    .await;
    let focused = b
        .execute("return document.activeElement.tagName;", vec![])
        .await
        .unwrap();
    assert_eq!(focused, json!("H2"), "focus moves to the opened view");

    // A narrow window: nothing sticks out of the page sideways, the list still reads.
    b.set_window_size(400, 800).await.unwrap();
    b.goto(&format!("{}#/agents", emu.ui_url())).await.unwrap();
    until(
        &b,
        "narrow agents view",
        Duration::from_secs(5),
        &row,
        |v| v.is_string(),
    )
    .await;
    let overflow = b
        .execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        overflow.as_i64().is_some_and(|o| o <= 0),
        "page wider than the window by {overflow}px"
    );
    screenshot(&b, "agents-narrow").await;

    b.close().await.unwrap();
    Ok(())
}
