//! The admin API the dashboard is built on, over real HTTP on loopback: the request log,
//! per-second stats, agent actions, fault settings, the page's assets, and refusal of
//! requests other sites make through a browser.

use convoai_emulator::{AgentStatus, Emulator, EmulatorHandle, Fault, FaultRule};
use reqwest::StatusCode;
use serde_json::{json, Value};
use shengwang_agent::token::TokenBuilder;

const SENTINEL: &str = "SENTINEL-ADMIN-KEY-91c2";

struct Emu {
    emu: EmulatorHandle,
    http: reqwest::Client,
}

impl Emu {
    async fn new() -> Emu {
        Emu {
            emu: Emulator::builder().spawn().await.unwrap(),
            http: reqwest::Client::new(),
        }
    }

    fn api(&self, rest: &str) -> String {
        format!(
            "{}/v2/projects/{}/{rest}",
            self.emu.base_url(),
            self.emu.app_id()
        )
    }

    async fn rest(
        &self,
        method: reqwest::Method,
        rest: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut req = self
            .http
            .request(method, self.api(rest))
            .basic_auth(self.emu.customer_id(), Some(self.emu.customer_secret()));
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.unwrap()
    }

    async fn join(&self, name: &str) -> String {
        let token = TokenBuilder::new(self.emu.app_id(), self.emu.app_certificate())
            .unwrap()
            .convo_ai("ch", "1001")
            .build()
            .unwrap();
        let body = json!({"name": name, "properties": {
            "channel": "ch", "token": token, "agent_rtc_uid": "1001", "remote_rtc_uids": ["2002"],
            "llm": {"url": "https://llm.example/v1", "api_key": SENTINEL},
            "tts": {"vendor": "cosyvoice", "params": {"api_key": SENTINEL, "model": "m", "voice": "v"}},
        }});
        let res = self.rest(reqwest::Method::POST, "join", Some(body)).await;
        let status = res.status();
        let v: Value = res.json().await.unwrap();
        assert_eq!(status, StatusCode::OK, "{v}");
        v["agent_id"].as_str().unwrap().to_owned()
    }

    async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
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

    async fn log(&self, query: &str) -> Value {
        let (status, v) = self
            .admin(
                reqwest::Method::GET,
                &format!("/_emulator/log{query}"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{v}");
        v
    }
}

#[tokio::test]
async fn the_request_log_records_outcome_fault_request_id_and_a_redacted_body() {
    let e = Emu::new().await;
    let id = e.join("logged").await;
    let spoke = e
        .rest(
            reqwest::Method::POST,
            &format!("agents/{id}/speak"),
            Some(json!({"text": "hi"})),
        )
        .await;
    let spoke_id = spoke.headers()["x-request-id"].to_str().unwrap().to_owned();
    e.emu
        .push_fault(FaultRule::new(Fault::status(503)).method("GET"));
    let faulted = e
        .rest(reqwest::Method::GET, &format!("agents/{id}"), None)
        .await;
    assert_eq!(faulted.status(), StatusCode::SERVICE_UNAVAILABLE);
    e.emu.push_fault(FaultRule::new(Fault::Drop));
    let dropped = e
        .http
        .get(e.api("agents"))
        .basic_auth(e.emu.customer_id(), Some(e.emu.customer_secret()))
        .send()
        .await;
    assert!(dropped.is_err());
    let unauthenticated = e.http.get(e.api("agents")).send().await.unwrap();
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);

    let log = e.log("").await;
    let text = log.to_string();
    assert!(
        !text.contains(SENTINEL),
        "a vendor key reached the log: {text}"
    );
    assert!(!text.contains(e.emu.customer_secret()));
    let entries = log["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 5, "{log:#}");
    let [join, speak, get, drop, anon] = &entries[..] else {
        unreachable!()
    };
    assert_eq!(
        join["agent_id"],
        json!(id),
        "the join's agent comes from its answer"
    );
    assert_eq!(join["status"], 200);
    assert_eq!(join["auth"], "Basic");
    let body: Value = serde_json::from_str(join["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["properties"]["llm"]["api_key"], "[redacted]");
    assert_eq!(body["properties"]["token"], "[redacted]");
    assert_eq!(body["properties"]["llm"]["url"], "https://llm.example/v1");
    assert_eq!(speak["request_id"], json!(spoke_id));
    assert_eq!(speak["agent_id"], json!(id));
    assert_eq!(speak["fault"], Value::Null);
    assert_eq!(get["status"], 503);
    assert_eq!(get["fault"], "status 503");
    assert!(get["request_id"].is_string());
    assert_eq!(drop["status"], Value::Null, "dropped: no status");
    assert_eq!(drop["fault"], "drop");
    assert_eq!(anon["status"], 401);
    assert_eq!(anon["auth"], "");
    let seqs: Vec<u64> = entries.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5]);

    // Incremental reads and the agent filter.
    let after = e.log("?after=3").await;
    assert_eq!(after["entries"].as_array().unwrap().len(), 2);
    assert_eq!(after["last_seq"], 5);
    let mine = e.log(&format!("?agent_id={id}")).await;
    assert_eq!(mine["entries"].as_array().unwrap().len(), 3);
    let newest = e.log("?limit=1").await;
    assert_eq!(newest["entries"][0]["seq"], 5);
    let (status, _) = e
        .admin(reqwest::Method::GET, "/_emulator/log?after=-1", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // A reset empties the log but its numbering goes on.
    e.emu.reset();
    e.rest(reqwest::Method::GET, "agents", None).await;
    let fresh = e.log("").await;
    assert_eq!(fresh["entries"][0]["seq"], 6);
    assert_eq!(e.emu.recent_requests().len(), 1);
}

#[tokio::test]
async fn an_oversized_or_non_json_body_is_logged_by_size_only() {
    let e = Emu::new().await;
    let raw = e
        .http
        .post(e.api("join"))
        .basic_auth(e.emu.customer_id(), Some(e.emu.customer_secret()))
        .header("content-type", "application/json")
        .body(format!("api_key={SENTINEL}"))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), StatusCode::BAD_REQUEST);
    let big = e
        .http
        .post(e.api("join"))
        .basic_auth(e.emu.customer_id(), Some(e.emu.customer_secret()))
        .body(vec![b'x'; 2 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(big.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let v: Value = big.json().await.unwrap();
    assert_eq!(v["reason"], "InvalidRequestBody");
    assert!(v["request_id"].is_string());
    let log = e.log("").await;
    assert!(!log.to_string().contains(SENTINEL));
    let described = format!("[{} bytes, not JSON: not shown]", 8 + SENTINEL.len());
    assert_eq!(log["entries"][0]["body"], json!(described));
    assert_eq!(log["entries"][1]["status"], 413);
    assert_eq!(log["entries"][1]["body"], Value::Null);
}

#[tokio::test]
async fn the_log_keeps_the_latest_500_and_reads_stay_bounded() {
    let e = Emu::new().await;
    for _ in 0..520 {
        e.http.get(e.api("agents")).send().await.unwrap();
    }
    let all = e.log("?limit=100000").await;
    let entries = all["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 500);
    assert_eq!(entries[0]["seq"], 21);
    assert_eq!(all["last_seq"], 520);
    assert_eq!(
        e.log("").await["entries"].as_array().unwrap().len(),
        200,
        "default page"
    );
    assert_eq!(e.emu.recent_requests().len(), 500);
}

#[tokio::test]
async fn a_request_the_client_gave_up_on_is_still_logged() {
    let e = Emu::new().await;
    e.emu.set_latency(std::time::Duration::from_millis(400));
    let impatient = e
        .http
        .get(e.api("agents?limit=3"))
        .timeout(std::time::Duration::from_millis(50))
        .send()
        .await;
    assert!(impatient.is_err());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    loop {
        let log = e.log("").await;
        if let Some(entry) = log["entries"].as_array().unwrap().first() {
            assert!(
                entry["path"].as_str().unwrap().ends_with("agents?limit=3"),
                "{entry}"
            );
            assert_eq!(entry["status"], Value::Null, "{entry}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never logged");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn stats_count_requests_and_failures_per_second() {
    let e = Emu::new().await;
    for _ in 0..3 {
        e.rest(reqwest::Method::GET, "agents", None).await;
    }
    e.http.get(e.api("agents")).send().await.unwrap();
    let (status, v) = e
        .admin(reqwest::Method::GET, "/_emulator/stats?seconds=60", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let series = v["seconds"].as_array().unwrap();
    assert_eq!(series.len(), 60);
    let total: u64 = series.iter().map(|s| s["requests"].as_u64().unwrap()).sum();
    let errors: u64 = series.iter().map(|s| s["errors"].as_u64().unwrap()).sum();
    assert_eq!((total, errors), (4, 1));
    assert_eq!(series.last().unwrap()["second"], v["now"]);
    let (_, capped) = e
        .admin(
            reqwest::Method::GET,
            "/_emulator/stats?seconds=100000",
            None,
        )
        .await;
    assert_eq!(capped["seconds"].as_array().unwrap().len(), 600);
}

#[tokio::test]
async fn agent_actions_from_the_admin_api_act_like_the_rest_calls() {
    let e = Emu::new().await;
    let id = e.join("acted").await;
    let other = e.join("other").await;
    let counts_before = e.emu.request_counts();

    let (status, detail) = e
        .admin(
            reqwest::Method::GET,
            &format!("/_emulator/agents/{id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        detail["properties"]["tts"]["params"]["api_key"],
        "[redacted]"
    );
    assert!(!detail.to_string().contains(SENTINEL));

    let (status, _) = e
        .admin(
            reqwest::Method::POST,
            &format!("/_emulator/agents/{id}/speak"),
            Some(json!({"text": "from admin"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let history: Value = e
        .rest(reqwest::Method::GET, &format!("agents/{id}/history"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(history["contents"][0]["content"], "from admin");
    // The REST rules apply: too long a text is refused the same way.
    let (status, v) = e
        .admin(
            reqwest::Method::POST,
            &format!("/_emulator/agents/{id}/speak"),
            Some(json!({"text": "x".repeat(600)})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    let (status, turns) = e
        .admin(
            reqwest::Method::GET,
            &format!("/_emulator/agents/{id}/turns"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(turns["turns"].as_array().unwrap().len(), 1);
    let (status, _) = e
        .admin(
            reqwest::Method::POST,
            &format!("/_emulator/agents/{id}/interrupt"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, _) = e
        .admin(
            reqwest::Method::POST,
            &format!("/_emulator/agents/{id}/stop"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let got: Value = e
        .rest(reqwest::Method::GET, &format!("agents/{id}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got["status"], "STOPPED");
    let (status, _) = e
        .admin(
            reqwest::Method::POST,
            &format!("/_emulator/agents/{id}/stop"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, _) = e
        .admin(
            reqwest::Method::POST,
            &format!("/_emulator/agents/{other}/fail"),
            Some(json!({"reason": "LLM unreachable"})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let got: Value = e
        .rest(reqwest::Method::GET, &format!("agents/{other}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got["status"], "FAILED");
    assert_eq!(got["message"], "LLM unreachable");
    let failed = e
        .emu
        .agents()
        .into_iter()
        .find(|a| a.agent_id == other)
        .unwrap();
    assert_eq!(failed.status, AgentStatus::Failed);
    let (status, _) = e
        .admin(
            reqwest::Method::POST,
            &format!("/_emulator/agents/{other}/fail"),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "only a running agent can fail"
    );
    // The name is free again once the agent failed.
    e.join("other").await;

    // The emulator's own calls are not counted as the user's traffic.
    let joins = |c: &[convoai_emulator::RequestCount]| {
        c.iter()
            .filter(|c| !c.endpoint.contains("/join"))
            .map(|c| c.count)
            .sum::<u64>()
    };
    assert_eq!(
        joins(&e.emu.request_counts()) - joins(&counts_before),
        3,
        "only the test's own GETs"
    );

    // Hostile input is refused cleanly.
    for (path, body) in [
        ("/_emulator/agents/..%2F..%2Freset/stop", json!({})),
        ("/_emulator/agents/NOPE/stop", json!({})),
        ("/_emulator/agents/NOPE/fail", json!({})),
    ] {
        let (status, _) = e.admin(reqwest::Method::POST, path, Some(body)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    let (status, _) = e
        .admin(
            reqwest::Method::POST,
            &format!("/_emulator/agents/{other}/fail"),
            Some(json!({"reason": 7})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let form = e
        .http
        .post(format!("{}/_emulator/agents/{other}/stop", e.emu.url()))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert!(
        form.status().is_client_error(),
        "a body a cross-site form could send is refused"
    );
}

#[tokio::test]
async fn requests_another_site_makes_through_a_browser_are_refused() {
    let e = Emu::new().await;
    let post = |origin: Option<&str>, host: Option<&str>| {
        let mut req = e.http.post(format!("{}/_emulator/reset", e.emu.url()));
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        if let Some(h) = host {
            req = req.header("host", h);
        }
        req.send()
    };
    let url = e.emu.url();
    let own = url.strip_prefix("http://").unwrap();
    assert_eq!(
        post(Some("http://evil.example"), None)
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(Some("null"), None).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(Some("http://evil.example"), Some("evil.example"))
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN,
        "DNS rebinding"
    );
    assert_eq!(
        post(Some(&url), None).await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        post(None, Some(&format!("localhost:{}", e.emu.addr().port())))
            .await
            .unwrap()
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        post(None, Some(own)).await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    let page = e
        .http
        .get(e.emu.ui_url())
        .header("host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn fault_settings_can_be_read_back_and_rules_cleared() {
    let e = Emu::new().await;
    let (status, _) = e
        .admin(
            reqwest::Method::POST,
            "/_emulator/faults",
            Some(json!({"rate": 0.25, "latency_ms": 40})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let rule = json!({"method": "POST", "path_contains": "/join", "times": 2,
                      "fault": {"kind": "status", "status": 429, "retry_after": "1", "retry_after_ms": null}});
    let (status, _) = e
        .admin(
            reqwest::Method::POST,
            "/_emulator/faults/rules",
            Some(rule.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, f) = e
        .admin(reqwest::Method::GET, "/_emulator/faults", None)
        .await;
    assert_eq!(f["rate"], 0.25);
    assert_eq!(f["latency_ms"], 40);
    assert_eq!(f["rules"][0]["label"], "status 429");
    assert_eq!(f["rules"][0]["times"], 2);
    // What is read back can be sent back as is.
    let mut again = f["rules"][0].clone();
    again.as_object_mut().unwrap().remove("label");
    assert_eq!(again, rule);
    let (status, _) = e
        .admin(reqwest::Method::DELETE, "/_emulator/faults/rules", None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, f) = e
        .admin(reqwest::Method::GET, "/_emulator/faults", None)
        .await;
    assert_eq!(f["rules"], json!([]));
}

#[tokio::test]
async fn the_page_ships_inside_the_binary_and_loads_nothing_from_elsewhere() {
    let e = Emu::new().await;
    let page = e.http.get(e.emu.ui_url()).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("connect-src 'self'"),
        "{csp}"
    );
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = page.text().await.unwrap();
    assert!(html.contains("/_emulator/ui/app.js"));
    for asset in ["/_emulator/ui/app.js", "/_emulator/ui/app.css"] {
        let res = e
            .http
            .get(format!("{}{asset}", e.emu.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{asset}");
        let text = res.text().await.unwrap();
        for (i, _) in text.match_indices("http") {
            let rest = &text[i..];
            assert!(
                !rest.starts_with("https://")
                    && (!rest.starts_with("http://")
                        || rest.starts_with("http://www.w3.org/2000/svg")),
                "{asset} refers to another site: {}",
                &rest[..rest.len().min(60)]
            );
        }
    }
    // Page requests are not the user's API traffic.
    assert!(e.emu.recent_requests().is_empty());
}

#[tokio::test]
async fn an_update_token_is_verified_like_the_joins_and_its_expiry_recorded() {
    let e = Emu::new().await;
    let id = e.join("renewed").await;
    let expiry = |v: &Value| v["token_expires_at"].as_u64().unwrap();
    let (_, before) = e
        .admin(
            reqwest::Method::GET,
            &format!("/_emulator/agents/{id}"),
            None,
        )
        .await;
    let joined = expiry(&before);
    assert!(joined > 1_700_000_000, "{before}");
    let signer = TokenBuilder::new(e.emu.app_id(), e.emu.app_certificate()).unwrap();
    let other = TokenBuilder::new(e.emu.app_id(), "00000000000000000000000000000001").unwrap();
    let update = |token: String| json!({"properties": {"token": token}});
    for (why, token) in [
        ("another uid", signer.convo_ai("ch", "42").build().unwrap()),
        (
            "another channel",
            signer.convo_ai("elsewhere", "1001").build().unwrap(),
        ),
        (
            "another certificate",
            other.convo_ai("ch", "1001").build().unwrap(),
        ),
        (
            "expired",
            signer
                .clone()
                .issue_ts(1_000_000)
                .convo_ai("ch", "1001")
                .expire(60)
                .build()
                .unwrap(),
        ),
        ("not a token", "007garbage".to_owned()),
    ] {
        let res = e
            .rest(
                reqwest::Method::POST,
                &format!("agents/{id}/update"),
                Some(update(token)),
            )
            .await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{why}");
        let body: Value = res.json().await.unwrap();
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .contains("properties.token"),
            "{why}: {body}"
        );
    }
    let (_, unchanged) = e
        .admin(
            reqwest::Method::GET,
            &format!("/_emulator/agents/{id}"),
            None,
        )
        .await;
    assert_eq!(
        expiry(&unchanged),
        joined,
        "a refused token changes nothing"
    );
    let fresh = signer.convo_ai("ch", "1001").expire(7200).build().unwrap();
    let res = e
        .rest(
            reqwest::Method::POST,
            &format!("agents/{id}/update"),
            Some(update(fresh)),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let (_, after) = e
        .admin(reqwest::Method::GET, "/_emulator/agents", None)
        .await;
    let listed = after
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["agent_id"] == id.as_str())
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(expiry(listed).abs_diff(now + 7200) <= 2, "{listed}");
}

#[tokio::test]
async fn inbound_calls_arrive_only_at_numbers_that_take_them() {
    let e = Emu::new().await;
    let post = |path: &str, body: Option<Value>| {
        let path = path.to_owned();
        let e = &e;
        async move { e.admin(reqwest::Method::POST, &path, body).await }
    };
    let call = |to: &str| json!({"to_number": to, "from_number": "+15550009999"});
    let (status, v) = post("/_emulator/inbound-calls", Some(call("+15550000001"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{v}");
    assert!(
        v["detail"].as_str().unwrap().contains("not imported"),
        "{v}"
    );
    let numbers = format!("{}/v2/phone-numbers", e.emu.base_url());
    for (number, inbound) in [("+15550000001", false), ("+15550000002", true)] {
        let res = e
            .http
            .post(&numbers)
            .basic_auth(e.emu.customer_id(), Some(e.emu.customer_secret()))
            .json(
                &json!({"provider": "byo", "phone_number": number, "label": "desk",
                          "inbound": inbound, "inbound_config": {}, "outbound_config": {}}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    let (status, v) = post("/_emulator/inbound-calls", Some(call("+15550000001"))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("inbound"), "{v}");
    for bad in [
        json!({"to_number": "5550000002", "from_number": "+15550009999"}),
        json!({"to_number": "+15550000002"}),
        json!({"to_number": "+15550000002", "from_number": "+15550009999", "labels": {"k": 1}}),
        json!("not an object"),
    ] {
        let (status, v) = post("/_emulator/inbound-calls", Some(bad.clone())).await;
        assert!(status.is_client_error(), "{bad}: {status} {v}");
    }
    assert!(
        e.emu.agents().is_empty(),
        "no refused call started an agent"
    );

    let (status, v) = post("/_emulator/inbound-calls", Some(call("+15550000002"))).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let id = v["agent_id"].as_str().unwrap().to_owned();
    assert_eq!(v["pipeline_id"], Value::Null);
    let agents = e.emu.agents();
    assert_eq!(agents.len(), 1);
    assert_eq!(
        (agents[0].agent_id.as_str(), agents[0].status),
        (id.as_str(), AgentStatus::Running)
    );
    let listed: Value = e
        .rest(reqwest::Method::GET, "call?type=inbound", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["data"]["list"][0]["agent_id"], id.as_str());
    assert_eq!(listed["data"]["list"][0]["type"], "inbound");
    assert_eq!(listed["data"]["list"][0]["state"], "answered");
    let outbound: Value = e
        .rest(reqwest::Method::GET, "call?type=outbound", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(outbound["data"]["count"], 0);

    let transfer = format!("/_emulator/inbound-calls/{id}/transfer");
    assert_eq!(post(&transfer, None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(post(&transfer, None).await.0, StatusCode::CONFLICT);
    let hangup = format!("/_emulator/inbound-calls/{id}/hangup");
    assert_eq!(post(&hangup, None).await.0, StatusCode::CONFLICT);
    let unknown = post("/_emulator/inbound-calls/NOSUCHCALL/hangup", None).await;
    assert_eq!(unknown.0, StatusCode::NOT_FOUND);
    let hostile = post("/_emulator/inbound-calls/..%2F..%2Fetc/hangup", None).await;
    assert_eq!(hostile.0, StatusCode::NOT_FOUND);
    assert_eq!(e.emu.agents()[0].status, AgentStatus::Stopped);
    let info: Value = e
        .rest(reqwest::Method::GET, &format!("calls/{id}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (&info["state"], &info["reason"]),
        (&json!("hangup"), &json!("transferred"))
    );
}
