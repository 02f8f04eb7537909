//! `convoai serve` as a child process on 127.0.0.1:0 against an emulator: bearer keys, tokens,
//! one agent per channel, limits, health and the SIGTERM drain. Every wait is bounded.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use convoai_emulator::{AgentStatus, EmulatorHandle};
use serde_json::Value;
use support::*;

const API_KEY: &str = "serve-test-key";
const WAIT: Duration = Duration::from_secs(30);

/// A running `convoai serve`, killed when dropped.
struct Server {
    child: Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(emu: &EmulatorHandle, extra: &[&str]) -> Server {
    serve_with(emu, &agent_toml("TEST_VENDOR_KEY"), extra)
}

fn serve_with(emu: &EmulatorHandle, config: &str, extra: &[&str]) -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write(dir.path(), "agent.toml", config);
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("convoai"));
    for var in [
        "SHENGWANG_CUSTOMER_ID",
        "SHENGWANG_CUSTOMER_SECRET",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(emulator_env(emu))
        .env("TEST_VENDOR_KEY", "vendor-key")
        .env("TEST_MODEL", "m1")
        .env("CONVOAI_SERVE_API_KEY", format!("other-key,{API_KEY}"))
        .args(["serve", "--listen", "127.0.0.1:0", "--instance", "test-1"])
        .arg("--config")
        .arg(&cfg)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = cmd.spawn().expect("convoai serve starts");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(WAIT).expect("serve prints its address");
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    Server {
        child,
        addr,
        _dir: dir,
    }
}

/// One HTTP/1.1 request on its own connection: (status, body).
fn http(addr: &str, method: &str, path: &str, key: Option<&str>, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.set_write_timeout(Some(WAIT)).unwrap();
    let auth = key
        .map(|k| format!("Authorization: Bearer {k}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{auth}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).expect("write head");
    let _ = s.write_all(body.as_bytes());
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    // A server that refuses a body early may reset the connection after its answer.
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, body.to_owned())
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

fn running_in(emu: &EmulatorHandle, channel: &str) -> usize {
    emu.agents()
        .iter()
        .filter(|a| a.channel == channel && a.status == AgentStatus::Running)
        .count()
}

#[test]
fn bearer_keys_and_health() {
    let emu = emulator();
    let srv = serve(&emu, &[]);
    let path = "/v1/channels/room-1/agent";
    assert_eq!(http(&srv.addr, "GET", path, None, "").0, 401);
    let (status, body) = http(&srv.addr, "GET", path, Some("wrong"), "");
    assert_eq!(status, 401);
    assert_eq!(json(&body)["error"], "unauthorized");
    assert_eq!(http(&srv.addr, "GET", "/v1/nowhere", None, "").0, 401);
    assert_eq!(http(&srv.addr, "GET", path, Some(API_KEY), "").0, 404);
    assert_eq!(http(&srv.addr, "GET", path, Some("other-key"), "").0, 404);
    assert_eq!(http(&srv.addr, "GET", "/livez", None, "").0, 200);
    let (status, body) = http(&srv.addr, "GET", "/healthz", None, "");
    assert_eq!(
        (status, json(&body)["status"].clone()),
        (200, "ready".into())
    );
}

#[test]
fn tokens_for_end_users() {
    let emu = emulator();
    let srv = serve(&emu, &[]);
    let (status, body) = http(
        &srv.addr,
        "POST",
        "/v1/channels/room-2/token",
        Some(API_KEY),
        r#"{"uid": "2002"}"#,
    );
    assert_eq!(status, 200, "{body}");
    let v = json(&body);
    assert!(v["token"].as_str().unwrap().starts_with("007"), "{body}");
    assert!(v["expires_at"].as_u64().unwrap() > 1_700_000_000);
    let bad = "/v1/channels/room%E2%9C%93leakme/token";
    let (status, body) = http(&srv.addr, "POST", bad, Some(API_KEY), r#"{"uid": "2002"}"#);
    assert_eq!(status, 400, "{body}");
    assert!(json(&body)["message"].as_str().unwrap().contains("channel"));
    assert!(!body.contains("leakme"), "{body}");
    let path = "/v1/channels/room-2/token";
    let (status, body) = http(&srv.addr, "POST", path, Some(API_KEY), r#"{"uid": 1.5e99}"#);
    assert_eq!(status, 400, "{body}");
    assert!(!body.contains("1.5e99"), "{body}");
}

#[test]
fn one_agent_per_channel_then_get_and_delete() {
    let emu = emulator();
    let srv = serve(&emu, &[]);
    let path = "/v1/channels/room-3/agent";
    let ids: Vec<Value> = std::thread::scope(|s| {
        let calls: Vec<_> = (0..3)
            .map(|_| {
                s.spawn(|| {
                    let body = r#"{"remote_uids": ["2002"]}"#;
                    let (status, body) = http(&srv.addr, "POST", path, Some(API_KEY), body);
                    assert_eq!(status, 200, "{body}");
                    json(&body)
                })
            })
            .collect();
        calls.into_iter().map(|c| c.join().unwrap()).collect()
    });
    assert!(
        ids.iter().all(|v| v["agent_id"] == ids[0]["agent_id"]),
        "{ids:?}"
    );
    assert_eq!(ids[0]["channel"], "room-3");
    assert_eq!(ids[0]["state"], "running");
    assert_eq!(ids[0]["owner"], "test-1");
    assert_eq!(running_in(&emu, "room-3"), 1);
    // The config file's own idle timeout is kept.
    assert!(emu.agents().iter().all(|a| a.idle_timeout == Some(30)));
    let (status, body) = http(&srv.addr, "GET", path, Some(API_KEY), "");
    assert_eq!(status, 200);
    assert_eq!(json(&body)["agent_id"], ids[0]["agent_id"]);
    let conflict = r#"{"remote_uids": ["3003"]}"#;
    assert_eq!(
        http(&srv.addr, "POST", path, Some(API_KEY), conflict).0,
        409
    );
    let (status, body) = http(&srv.addr, "DELETE", path, Some(API_KEY), "");
    assert_eq!(status, 200, "{body}");
    let v = json(&body);
    assert_eq!(
        (v["agent_id"].clone(), v["state"].clone()),
        (ids[0]["agent_id"].clone(), "stopped".into())
    );
    assert_eq!(running_in(&emu, "room-3"), 0);
    assert_eq!(http(&srv.addr, "DELETE", path, Some(API_KEY), "").0, 404);
    // The channel's latest agent stays readable, in its final state, with its events.
    let (status, body) = http(&srv.addr, "GET", path, Some(API_KEY), "");
    assert_eq!(status, 200, "{body}");
    let v = json(&body);
    assert_eq!(
        (v["agent_id"].clone(), v["state"].clone()),
        (ids[0]["agent_id"].clone(), "stopped".into())
    );
    let events = v["events"].as_array().expect("events");
    assert!(events.iter().all(|e| e["kind"].is_string()), "{body}");
    // A channel that never had an agent: 404.
    let never = "/v1/channels/room-never/agent";
    assert_eq!(http(&srv.addr, "GET", never, Some(API_KEY), "").0, 404);
}

#[test]
fn body_and_agent_limits() {
    let emu = emulator();
    let srv = serve(&emu, &["--max-agents", "1"]);
    let big = format!(r#"{{"uid": "{}"}}"#, "1".repeat(100 * 1024));
    let path = "/v1/channels/room-4/token";
    let (status, body) = http(&srv.addr, "POST", path, Some(API_KEY), &big);
    assert_eq!(status, 413, "{body}");
    let start = r#"{"remote_uids": ["2002"]}"#;
    let first = http(
        &srv.addr,
        "POST",
        "/v1/channels/room-4/agent",
        Some(API_KEY),
        start,
    );
    assert_eq!(first.0, 200, "{}", first.1);
    let second = http(
        &srv.addr,
        "POST",
        "/v1/channels/room-5/agent",
        Some(API_KEY),
        start,
    );
    assert_eq!(second.0, 429, "{}", second.1);
}

#[test]
fn sigterm_stops_every_agent_and_exits_0() {
    let emu = emulator();
    let mut srv = serve(&emu, &[]);
    let start = r#"{"remote_uids": ["2002"]}"#;
    for channel in ["room-6", "room-7"] {
        let path = format!("/v1/channels/{channel}/agent");
        let (status, body) = http(&srv.addr, "POST", &path, Some(API_KEY), start);
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(running_in(&emu, "room-6") + running_in(&emu, "room-7"), 2);
    let pid = srv.child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = srv.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "serve did not exit within 10 s");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
    assert_eq!(running_in(&emu, "room-6") + running_in(&emu, "room-7"), 0);
}

#[test]
fn agents_get_an_idle_timeout_unless_the_config_sets_one() {
    let emu = emulator();
    let config = agent_toml("TEST_VENDOR_KEY").replace("idle_timeout = 30\n", "");
    assert!(!config.contains("idle_timeout"));
    let srv = serve_with(&emu, &config, &[]);
    let path = "/v1/channels/room-8/agent";
    let (status, body) = http(&srv.addr, "POST", path, Some(API_KEY), "{}");
    assert_eq!(status, 200, "{body}");
    let agents = emu.agents();
    assert_eq!(agents.len(), 1);
    assert!(
        matches!(agents[0].idle_timeout, Some(t) if t > 0),
        "{:?}",
        agents[0].idle_timeout
    );
}

#[test]
fn a_config_that_opts_out_of_the_idle_timeout_is_obeyed() {
    let emu = emulator();
    let config = agent_toml("TEST_VENDOR_KEY").replace("idle_timeout = 30\n", "idle_timeout = 0\n");
    assert!(config.contains("idle_timeout = 0"));
    let srv = serve_with(&emu, &config, &[]);
    let path = "/v1/channels/room-10/agent";
    let (status, body) = http(&srv.addr, "POST", path, Some(API_KEY), "{}");
    assert_eq!(status, 200, "{body}");
    let agents = emu.agents();
    assert_eq!(agents.len(), 1);
    assert!(
        matches!(agents[0].idle_timeout, None | Some(0)),
        "{:?}",
        agents[0].idle_timeout
    );
}

#[test]
fn a_silent_connection_is_closed() {
    let emu = emulator();
    let srv = serve(&emu, &[]);
    let mut s = TcpStream::connect(&srv.addr).expect("connect");
    s.set_read_timeout(Some(WAIT)).unwrap();
    let began = Instant::now();
    let mut buf = [0u8; 1024];
    // Closed (0 bytes, or a 408 and then 0) by the header read timeout, not by our read timeout.
    let mut total = 0;
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => total += n,
            Err(e) => panic!("not closed after {:?}: {e}", began.elapsed()),
        }
    }
    assert!(began.elapsed() < Duration::from_secs(20), "{total} bytes");
    // Others are still answered.
    assert_eq!(http(&srv.addr, "GET", "/livez", None, "").0, 200);
}

/// One request on a kept-alive connection: (status, body).
fn keep_alive(s: &mut TcpStream, path: &str) -> (u16, String) {
    let head = format!("GET {path} HTTP/1.1\r\nHost: serve\r\n\r\n");
    s.write_all(head.as_bytes()).expect("write");
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = s.read(&mut buf).expect("read");
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&raw));
        raw.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&raw).into_owned();
        let Some((head, body)) = text.split_once("\r\n\r\n") else {
            continue;
        };
        let len: usize = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length: ")
                    .map(str::to_owned)
            })
            .and_then(|v| v.trim().parse().ok())
            .expect("content-length");
        if body.len() >= len {
            let status = head.split(' ').nth(1).unwrap().parse().unwrap();
            return (status, body.to_owned());
        }
    }
}

#[test]
fn a_draining_server_is_not_ready() {
    let emu = emulator();
    let mut srv = serve(&emu, &[]);
    let path = "/v1/channels/room-9/agent";
    let (status, body) = http(&srv.addr, "POST", path, Some(API_KEY), "{}");
    assert_eq!(status, 200, "{body}");
    let mut conn = TcpStream::connect(&srv.addr).expect("connect");
    conn.set_read_timeout(Some(WAIT)).unwrap();
    assert_eq!(keep_alive(&mut conn, "/healthz").0, 200);
    // The stop takes a while, so the drain is observable.
    emu.set_latency(Duration::from_millis(1500));
    let pid = srv.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    std::thread::sleep(Duration::from_millis(500));
    let (status, body) = keep_alive(&mut conn, "/healthz");
    assert_eq!(status, 503, "{body}");
    assert_eq!(json(&body)["reason"], "shutting down");
    assert_eq!(keep_alive(&mut conn, "/livez").0, 200);
    let deadline = Instant::now() + Duration::from_secs(10);
    while srv.child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "serve did not exit within 10 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(running_in(&emu, "room-9"), 0);
}

/// Open file descriptors of process `pid`.
fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// The soft limit on this process's open files (from /proc; 1024 when unreadable).
fn fd_soft_limit() -> usize {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|l| {
            l.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3)?.parse().ok())
        })
        .unwrap_or(1024)
}

/// Opens `n` connections to `addr` that never finish a request: every third sends half a
/// request head, the rest say nothing.
fn silent_clients(addr: &str, n: usize) -> Vec<TcpStream> {
    (0..n)
        .filter_map(|i| {
            let mut s = TcpStream::connect(addr).ok()?;
            if i % 3 == 0 {
                let _ = s.write_all(b"GET /livez HTTP/1.1\r\nHost: x\r\n");
            }
            Some(s)
        })
        .collect()
}

#[test]
fn thousands_of_silent_clients_neither_block_others_nor_pin_descriptors() {
    let emu = emulator();
    let srv = serve(&emu, &["--max-connections", "256"]);
    // A few thousand, within what this test process may open.
    let n = 3000.min(fd_soft_limit().saturating_sub(200));
    let silent = silent_clients(&srv.addr, n);
    assert!(silent.len() > 1000, "opened only {}", silent.len());
    for _ in 0..5 {
        let t = Instant::now();
        assert_eq!(http(&srv.addr, "GET", "/livez", None, "").0, 200);
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "a client waited {:?} behind {} silent ones",
            t.elapsed(),
            silent.len()
        );
    }
    let fds = open_fds(srv.child.id());
    assert!(
        fds < 256 + 64,
        "{fds} descriptors open with {} silent clients",
        silent.len()
    );
    let status = std::fs::read_to_string(format!("/proc/{}/status", srv.child.id())).unwrap();
    let rss_kib: u64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap();
    assert!(rss_kib < 200 * 1024, "resident {rss_kib} KiB");
}
