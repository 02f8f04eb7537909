//! Helpers of the `convoai serve` observability tests (webhooks, logs, /metrics): a serve
//! child process, raw HTTP/1.1 requests with headers, and signed notices (signed with the
//! SDK's own `sign_v2`). Included by path, next to `support`.
#![allow(dead_code)] // each test binary uses a different subset

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use convoai_emulator::EmulatorHandle;
use serde_json::{json, Value};
use shengwang_agent::webhooks::{sign_v2, SIGNATURE_V2_HEADER};

use crate::support::{agent_toml, emulator_env, write};

/// The bearer key the helpers send.
pub const API_KEY: &str = "observe-api-key-sentinel";
/// The vendor key of the agent file: a secret that must never be logged.
pub const VENDOR_KEY: &str = "observe-vendor-key-sentinel";
pub const WAIT: Duration = Duration::from_secs(30);

/// A running `convoai serve`, killed when dropped; stderr kept when asked.
pub struct Serve {
    pub child: Child,
    pub addr: String,
    pub hooks: Option<String>,
    pub stderr: Arc<Mutex<String>>,
    _dir: tempfile::TempDir,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Serve {
    /// SIGTERM, then the exit status (bounded).
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        crate::support::wait_exit(&mut self.child)
    }

    /// Everything written on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

/// Starts `convoai serve` on 127.0.0.1:0 against `emu` with `env` and `extra` flags, and reads
/// the addresses it prints (`webhooks on` too with `--webhook-listen`).
pub fn serve(emu: &EmulatorHandle, env: &[(&str, &str)], extra: &[&str]) -> Serve {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write(dir.path(), "agent.toml", &agent_toml("TEST_VENDOR_KEY"));
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("convoai"));
    for var in [
        "SHENGWANG_CUSTOMER_ID",
        "SHENGWANG_CUSTOMER_SECRET",
        "SHENGWANG_WEBHOOK_SECRET",
        "RUST_LOG",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(emulator_env(emu))
        .env("TEST_VENDOR_KEY", VENDOR_KEY)
        .env("TEST_MODEL", "m1")
        .env("CONVOAI_SERVE_API_KEY", API_KEY)
        .envs(env.iter().copied())
        .args(["serve", "--listen", "127.0.0.1:0", "--instance", "obs-1"])
        .arg("--config")
        .arg(&cfg)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("convoai serve starts");
    let stderr = Arc::new(Mutex::new(String::new()));
    let mut pipe = child.stderr.take().expect("stderr");
    let sink = stderr.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            eprint!("{text}");
            sink.lock().unwrap().push_str(&text);
        }
    });
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        while let Some(Ok(line)) = lines.next() {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let line = rx.recv_timeout(WAIT).expect("serve prints its address");
    let addr = line
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    let hooks = extra.contains(&"--webhook-listen").then(|| {
        let line = rx
            .recv_timeout(WAIT)
            .expect("serve prints its webhook address");
        line.strip_prefix("webhooks on http://")
            .unwrap_or_else(|| panic!("unexpected second line {line:?}"))
            .to_owned()
    });
    Serve {
        child,
        addr,
        hooks,
        stderr,
        _dir: dir,
    }
}

/// One HTTP/1.1 request on its own connection: (status, body).
pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.set_write_timeout(Some(WAIT)).unwrap();
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{extra}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).expect("write head");
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, body.to_owned())
}

/// A `/v1` request with the bearer key.
pub fn api(addr: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    let auth = format!("Bearer {API_KEY}");
    request(
        addr,
        method,
        path,
        &[("Authorization", &auth)],
        body.as_bytes(),
    )
}

/// Starts the agent of `channel` through serve; its id.
pub fn start_agent(addr: &str, channel: &str) -> String {
    let path = format!("/v1/channels/{channel}/agent");
    let (status, body) = api(addr, "POST", &path, r#"{"remote_uids": ["2002"]}"#);
    assert_eq!(status, 200, "{body}");
    parse(&body)["agent_id"]
        .as_str()
        .expect("agent_id")
        .to_owned()
}

pub fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// A compact ConvoAI notice envelope.
pub fn notice(event_type: u32, notice_id: &str, payload: Value) -> Vec<u8> {
    let v = json!({
        "noticeId": notice_id,
        "productId": 17,
        "eventType": event_type,
        "notifyMs": 1_737_111_755_480u64,
        "payload": payload,
    });
    serde_json::to_vec(&v).expect("json")
}

/// A 102 (agent left, stopped by idle timeout) for `agent_id` in `channel`.
pub fn agent_left(notice_id: &str, agent_id: &str, channel: &str) -> Vec<u8> {
    notice(
        102,
        notice_id,
        json!({"agent_id": agent_id, "name": "n", "start_ts": 1_737_111_452, "stop_ts": 1_737_111_755,
               "channel": channel, "status": "STOPPED", "message": "Idle for too long"}),
    )
}

/// A 111 (agent metrics) with one turn's latencies for `agent_id`.
pub fn agent_metrics(notice_id: &str, agent_id: &str, channel: &str) -> Vec<u8> {
    notice(
        111,
        notice_id,
        json!({"agent_id": agent_id, "name": "n", "start_ts": 1_737_111_452, "stop_ts": 1_737_111_755,
               "channel": channel,
               "metrics": [{"turn_id": 1, "asr_ttlw": 180, "llm_ttfb": 420, "tts_ttfb": 150}]}),
    )
}

/// POSTs `body` to `/webhooks` on `addr`, signed with `secret` (none when `None`).
pub fn deliver(addr: &str, secret: Option<&str>, body: &[u8]) -> (u16, String) {
    let sig = secret.map(|s| sign_v2(s.as_bytes(), body));
    let headers: Vec<(&str, &str)> = sig
        .as_deref()
        .map(|sig| vec![(SIGNATURE_V2_HEADER, sig)])
        .unwrap_or_default();
    request(addr, "POST", "/webhooks", &headers, body)
}
