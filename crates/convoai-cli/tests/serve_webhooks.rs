//! `convoai serve`'s `POST /webhooks`, `--webhook-listen` and `--log-format json`, as a child
//! process on 127.0.0.1:0 against an in-process emulator. Notices are signed with the SDK's
//! `sign_v2`. Every wait is bounded.

#[path = "support/observe.rs"]
mod observe;
mod support;

use std::time::{Duration, Instant};

use observe::*;

const SECRET: &str = "hook-secret-sentinel";

/// The state GET answers for `channel`.
fn state_of(addr: &str, channel: &str) -> String {
    let (status, body) = api(addr, "GET", &format!("/v1/channels/{channel}/agent"), "");
    assert_eq!(status, 200, "{body}");
    parse(&body)["state"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn a_signed_notice_is_applied_and_a_bad_one_is_401() {
    let emu = support::emulator();
    let srv = serve(&emu, &[("SHENGWANG_WEBHOOK_SECRET", SECRET)], &[]);
    let id = start_agent(&srv.addr, "hooks-1");
    assert_eq!(state_of(&srv.addr, "hooks-1"), "running");
    let left = agent_left("n-1:102", &id, "hooks-1");
    // Unsigned, wrongly signed, and signed over other bytes: 401, nothing applied.
    assert_eq!(deliver(&srv.addr, None, &left).0, 401);
    assert_eq!(deliver(&srv.addr, Some("not-the-secret"), &left).0, 401);
    let mut tampered = left.clone();
    tampered.push(b' ');
    let sig = shengwang_agent::webhooks::sign_v2(SECRET.as_bytes(), &left);
    let header = [(shengwang_agent::webhooks::SIGNATURE_V2_HEADER, sig.as_str())];
    assert_eq!(
        request(&srv.addr, "POST", "/webhooks", &header, &tampered).0,
        401
    );
    let (status, body) = request(
        &srv.addr,
        "POST",
        "/webhooks",
        &[("Agora-Signature-V2", "zz")],
        &left,
    );
    assert_eq!(status, 401, "{body}");
    assert_eq!(state_of(&srv.addr, "hooks-1"), "running");
    // Signed: 200, and the session learns that its agent left.
    let (status, body) = deliver(&srv.addr, Some(SECRET), &left);
    assert_eq!(
        (status, parse(&body)["code"].as_u64()),
        (200, Some(0)),
        "{body}"
    );
    assert_eq!(state_of(&srv.addr, "hooks-1"), "stopped");
    // The service's resend of the same notice: 200 again, nothing more happens.
    assert_eq!(deliver(&srv.addr, Some(SECRET), &left).0, 200);
    // A signed body that is not a notice: 400. Over 64 KiB: 413.
    assert_eq!(deliver(&srv.addr, Some(SECRET), b"[1,2]").0, 400);
    let big = vec![b' '; 65 * 1024];
    assert_eq!(deliver(&srv.addr, Some(SECRET), &big).0, 413);
    let log = srv.stderr();
    assert!(!log.contains(SECRET), "{log}");
}

#[test]
fn rotated_secrets_are_each_accepted() {
    let emu = support::emulator();
    let secrets = "old-hook-sentinel, new-hook-sentinel";
    let srv = serve(&emu, &[("SHENGWANG_WEBHOOK_SECRET", secrets)], &[]);
    for (i, secret) in ["old-hook-sentinel", "new-hook-sentinel"]
        .iter()
        .enumerate()
    {
        let channel = format!("rot-{i}");
        let id = start_agent(&srv.addr, &channel);
        let left = agent_left(&format!("rot:{i}"), &id, &channel);
        assert_eq!(deliver(&srv.addr, Some(secret), &left).0, 200, "{secret}");
        assert_eq!(state_of(&srv.addr, &channel), "stopped");
    }
    let other = agent_left("rot:x", "some-agent", "rot-x");
    assert_eq!(deliver(&srv.addr, Some("third-secret"), &other).0, 401);
}

#[test]
fn without_a_secret_webhooks_are_404_and_serve_says_so() {
    let emu = support::emulator();
    let srv = serve(&emu, &[], &[]);
    let left = agent_left("x:1", "a", "c");
    let (status, body) = deliver(&srv.addr, Some("anything"), &left);
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("SHENGWANG_WEBHOOK_SECRET"), "{body}");
    let deadline = Instant::now() + WAIT;
    while !srv.stderr().contains("SHENGWANG_WEBHOOK_SECRET is not set") {
        assert!(Instant::now() < deadline, "no warning: {}", srv.stderr());
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn webhook_listener_is_separate_from_the_private_one() {
    let emu = support::emulator();
    let env = [("SHENGWANG_WEBHOOK_SECRET", SECRET)];
    let srv = serve(&emu, &env, &["--webhook-listen", "127.0.0.1:0"]);
    let hooks = srv.hooks.clone().expect("webhook address");
    assert_ne!(hooks, srv.addr);
    let id = start_agent(&srv.addr, "sep-1");
    let left = agent_left("sep:1", &id, "sep-1");
    // Not on the private listener.
    assert_eq!(deliver(&srv.addr, Some(SECRET), &left).0, 404);
    assert_eq!(state_of(&srv.addr, "sep-1"), "running");
    // Neither /v1 nor /metrics nor health on the webhook listener.
    let auth = format!("Bearer {API_KEY}");
    let headers = [("Authorization", auth.as_str())];
    assert_eq!(
        request(&hooks, "GET", "/v1/channels/sep-1/agent", &headers, b"").0,
        404
    );
    assert_eq!(request(&hooks, "GET", "/metrics", &[], b"").0, 404);
    // /metrics is on the private listener, without a key.
    let (status, text) = request(&srv.addr, "GET", "/metrics", &[], b"");
    assert_eq!(status, 200, "{text}");
    // Notices are on the webhook listener.
    assert_eq!(deliver(&hooks, Some(SECRET), &left).0, 200);
    assert_eq!(state_of(&srv.addr, "sep-1"), "stopped");
}

#[test]
fn json_logs_are_json_lines_without_secrets() {
    let emu = support::emulator();
    let env = [("SHENGWANG_WEBHOOK_SECRET", SECRET)];
    let mut srv = serve(&emu, &env, &["--log-format", "json"]);
    let id = start_agent(&srv.addr, "logs-1");
    // A notice id with terminal controls: whatever of it reaches a line stays escaped.
    let left = agent_left("esc\u{1b}[31m\u{9b}:1", &id, "logs-1");
    assert_eq!(deliver(&srv.addr, Some(SECRET), &left).0, 200);
    assert_eq!(deliver(&srv.addr, Some("wrong"), &left).0, 401);
    let status = srv.terminate();
    assert!(status.success(), "{status:?}");
    let log = srv.stderr();
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() >= 3, "{log}");
    for line in &lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(
            v["level"].is_string() && v["timestamp"].is_string(),
            "{line}"
        );
        assert!(
            !line.contains('\u{1b}') && !line.contains('\u{9b}'),
            "{line:?}"
        );
    }
    assert!(log.contains(r#""level":"INFO""#), "{log}");
    assert!(log.contains("webhook rejected"), "{log}");
    for secret in [SECRET, API_KEY, VENDOR_KEY, emu.app_certificate()] {
        assert!(!log.contains(secret), "a secret in the logs: {log}");
    }
}
