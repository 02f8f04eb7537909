//! A hostile (or broken) service: every string it answers holds terminal escapes, a bell,
//! CR/LF, a one-byte CSI (U+009B), DEL and a bidi override. Whatever `convoai` prints from it,
//! in tables, plain lines, `--json`, `-v` logs, `--wait` state lines and errors, must reach
//! the terminal inert: escaped where it is text, valid JSON where it is JSON.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use support::*;

/// What the server puts in every string field.
const H: &str = "X\u{1b}[31mred\u{1b}]0;title\u{7}\r\nnext\u{9b}2J\u{7f}\u{202e}end";
/// How `H` shows once escaped: visible, on one line.
const SHOWN: &str = "X\\u{1b}[31mred\\u{1b}]0;title\\u{7}\\r\\nnext\\u{9b}2J\\u{7f}\\u{202e}end";
const APP_ID: &str = "970CA35de60c44645bbae8a215061b33";
const CERT: &str = "5CFd2fd1755d40ecb72977518be15d3b";

fn agent_info(id: &str, status: &str) -> Value {
    json!({"agent_id": id, "status": status, "start_ts": 1766000000, "stop_ts": 0, "message": H})
}

fn turn() -> Value {
    json!({"agent_id": H, "channel": H, "turn_id": 1,
        "start": {"start_at": 1766000000000u64, "type": H},
        "end": {"end_at": 1766000001000u64, "type": H, "metadata": {"reason": H, "details": H}},
        "metrics": {"e2e_latency_ms": 900}})
}

fn call() -> Value {
    json!({"agent_id": H, "channel": H, "to_number": H, "from_number": H, "pipeline_id": H,
        "type": H, "state": H, "reason": H, "create_ts": 1766000000, "stop_ts": 0})
}

fn number() -> Value {
    json!({"provider": H, "phone_number": H, "label": H, "inbound": true, "outbound": false,
        "associated_pipeline": {"pipeline_id": H, "pipeline_name": H},
        "inbound_config": null, "outbound_config": null})
}

/// Answers by the end of the path, whatever the base URL's prefix.
async fn answer(polls: Arc<AtomicUsize>, uri: Uri) -> Response {
    let path = uri.path();
    let list = |items: Vec<Value>| {
        json!({"data": {"count": items.len(), "list": items},
        "meta": {"cursor": "", "total": items.len()}, "status": "ok"})
    };
    let body = if path.ends_with("/join") {
        json!({"agent_id": "AGWAIT1", "create_ts": 1766000000, "status": "RUNNING"})
    } else if path.ends_with("/agents/AGWAIT1") {
        // `start --wait`: first a status nobody knows, then a failure with a reason.
        match polls.fetch_add(1, Ordering::SeqCst) {
            0 => agent_info("AGWAIT1", H),
            _ => agent_info("AGWAIT1", "FAILED"),
        }
    } else if path.ends_with("/agents/BAD") {
        let err = json!({"detail": H, "reason": H, "request_id": H});
        return (StatusCode::BAD_REQUEST, Json(err)).into_response();
    } else if path.ends_with("/agents") {
        list(vec![
            json!({"agent_id": H, "start_ts": 1766000000, "status": H}),
            json!({"agent_id": "PLAIN", "start_ts": 1766000000, "status": "RUNNING"}),
        ])
    } else if path.ends_with("/history") {
        json!({"agent_id": H, "start_ts": 1766000000, "status": "RUNNING",
            "contents": [{"role": H, "content": H}, {"role": "assistant", "content": H}]})
    } else if path.ends_with("/turns") {
        json!({"agent_id": H, "name": H, "channel": H, "total_turn_count": 2,
            "pagination": {"page_index": 1, "total_pages": 2, "is_last_page": false},
            "turns": [turn(), turn()]})
    } else if path.contains("/agents/") {
        agent_info(H, H)
    } else if path.ends_with("/call") {
        list(vec![call(), call()])
    } else if path.contains("/calls/") {
        call()
    } else if path.ends_with("/phone-numbers") {
        json!([number(), number()])
    } else if path.contains("/phone-numbers/") {
        number()
    } else {
        return (StatusCode::NOT_FOUND, Json(json!({"detail": H}))).into_response();
    };
    Json(body).into_response()
}

/// The hostile service on an ephemeral loopback port; returns its base URL.
fn hostile_server() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("address");
    let polls = Arc::new(AtomicUsize::new(0));
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            let app = axum::Router::new().fallback(move |uri: Uri| answer(polls.clone(), uri));
            axum::serve(listener, app).await.expect("serve");
        });
    });
    format!("http://{addr}/cn/api/conversational-ai-agent")
}

fn hostile(base: &str) -> assert_cmd::Command {
    let mut c = bare();
    c.envs([
        ("SHENGWANG_APP_ID", APP_ID),
        ("SHENGWANG_APP_CERTIFICATE", CERT),
        ("SHENGWANG_BASE_URL", base),
    ]);
    c
}

/// Asserts that nothing a terminal acts on is in `bytes` (newlines end lines and may stay).
fn assert_inert(what: &str, bytes: &[u8]) {
    let text = std::str::from_utf8(bytes).unwrap_or_else(|e| panic!("{what}: not UTF-8: {e}"));
    for bad in ['\u{1b}', '\u{7}', '\u{9b}', '\r', '\u{7f}', '\u{202e}'] {
        assert!(!text.contains(bad), "{what}: raw {bad:?} in {text:?}");
    }
}

/// Runs `args` in table mode, with `--json`, with `-v` and with `-vv --json`; checks every
/// output is inert and returns (table stdout, JSON stdout).
fn run_all_modes(base: &str, args: &[&str], code: i32) -> (String, String) {
    let mut outputs = Vec::new();
    for extra in [&[][..], &["--json"], &["-v"], &["-vv", "--json"]] {
        let out = hostile(base).args(args).args(extra).output().expect("runs");
        let what = format!("convoai {} {}", args.join(" "), extra.join(" "));
        assert_eq!(out.status.code(), Some(code), "{what}: {out:?}");
        assert_inert(&format!("{what} (stdout)"), &out.stdout);
        assert_inert(&format!("{what} (stderr)"), &out.stderr);
        outputs.push(String::from_utf8(out.stdout).expect("UTF-8"));
    }
    (outputs.swap_remove(0), outputs.swap_remove(0))
}

/// Every `--json` line parses, and somewhere holds `H` unchanged: JSON escapes, it does not
/// lose data.
fn assert_json_keeps_data(what: &str, stdout: &str) {
    assert!(!stdout.is_empty(), "{what}: no output");
    let mut found = false;
    for line in stdout.lines() {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("{what}: not a JSON line ({e}): {line}"));
        found |= v.to_string().contains(&json!(H).to_string());
    }
    assert!(found, "{what}: the server's text is not in {stdout}");
}

#[test]
fn agent_tables_and_lines_escape_server_text() {
    let base = hostile_server();
    let (table, json) = run_all_modes(&base, &["agents", "list"], 0);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "header and one row per agent: {table}");
    assert!(lines[1].starts_with(SHOWN), "visible escapes: {table}");
    assert!(lines[2].starts_with("PLAIN"), "{table}");
    assert_json_keeps_data("agents list --json", &json);

    let (text, json) = run_all_modes(&base, &["agents", "get", "AG1"], 0);
    assert!(text.contains(&format!("agent id: {SHOWN}\n")), "{text}");
    assert!(text.contains(&format!("status:   {SHOWN}\n")), "{text}");
    assert!(text.contains(&format!("message:  {SHOWN}\n")), "{text}");
    assert_json_keeps_data("agents get --json", &json);

    let (text, json) = run_all_modes(&base, &["agents", "history", "AG1"], 0);
    assert_eq!(
        text,
        format!("{SHOWN}: {SHOWN}\nassistant: {SHOWN}\n"),
        "one line per entry"
    );
    assert_json_keeps_data("agents history --json", &json);

    let (table, json) = run_all_modes(&base, &["agents", "turns", "AG1"], 0);
    assert_eq!(table.lines().count(), 3, "{table}");
    assert!(table.contains(SHOWN), "{table}");
    assert_json_keeps_data("agents turns --json", &json);
}

#[test]
fn call_and_number_tables_escape_server_text() {
    let base = hostile_server();
    let (table, json) = run_all_modes(&base, &["calls", "list"], 0);
    assert_eq!(table.lines().count(), 3, "{table}");
    assert!(table.lines().nth(1).unwrap().starts_with(SHOWN), "{table}");
    assert_json_keeps_data("calls list --json", &json);

    let (text, json) = run_all_modes(&base, &["calls", "get", "CALL1"], 0);
    assert!(text.contains(&format!("state:    {SHOWN}\n")), "{text}");
    assert!(text.contains(&format!("reason:   {SHOWN}\n")), "{text}");
    assert_json_keeps_data("calls get --json", &json);

    let (table, json) = run_all_modes(&base, &["numbers", "list"], 0);
    assert_eq!(table.lines().count(), 3, "{table}");
    assert!(table.lines().nth(1).unwrap().starts_with(SHOWN), "{table}");
    assert_json_keeps_data("numbers list --json", &json);

    let (text, json) = run_all_modes(&base, &["numbers", "get", "+8610000000"], 0);
    assert!(text.contains(&format!("label:    {SHOWN}\n")), "{text}");
    assert_json_keeps_data("numbers get --json", &json);
}

#[test]
fn errors_and_wait_lines_escape_server_text() {
    let base = hostile_server();
    let out = hostile(&base)
        .args(["agents", "get", "BAD", "-v"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_inert("error (stdout)", &out.stdout);
    assert_inert("error (stderr)", &out.stderr);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("error: ") && stderr.contains("400"),
        "{stderr}"
    );

    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "agent.toml", &agent_toml("TEST_VENDOR_KEY"));
    for json in [false, true] {
        let base = hostile_server();
        let mut c = hostile(&base);
        c.env("TEST_VENDOR_KEY", "SENTINEL-VENDOR-KEY-1")
            .env("TEST_MODEL", "m1")
            .args([
                "agents",
                "start",
                "--wait",
                "--channel",
                "room-w",
                "--config",
            ])
            .arg(&cfg);
        if json {
            c.arg("--json");
        }
        let out = c.output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        assert_inert("start --wait (stdout)", &out.stdout);
        assert_inert("start --wait (stderr)", &out.stderr);
        let stderr = String::from_utf8(out.stderr).unwrap();
        if json {
            let state = stderr
                .lines()
                .find(|l| l.contains("\"status\""))
                .unwrap_or_else(|| panic!("a JSON state line: {stderr}"));
            let v: Value = serde_json::from_str(state).unwrap();
            assert_eq!(v["status"], H, "{stderr}");
        } else {
            assert!(
                stderr.contains(&format!("agent AGWAIT1: RUNNING -> {SHOWN}\n")),
                "the state line, escaped and whole: {stderr}"
            );
            assert!(
                stderr.contains(&format!("agent AGWAIT1 failed: {SHOWN}")),
                "{stderr}"
            );
        }
    }
}
