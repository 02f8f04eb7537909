//! Real processes for the fleet tests: a redis-server (no persistence) that can be killed and
//! restarted on its port, an emulator child (`convoai emulator`), and `convoai serve` replicas
//! sharing both. Every wait is bounded; every child is killed when its owner is dropped, and
//! the replicas' logs are printed when a test fails.
#![allow(dead_code)] // each test uses a different subset

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::{self, Missing};

/// The bearer key the replicas accept.
pub const API_KEY: &str = "fleet-test-key";
/// The secret notices are signed with.
pub const WEBHOOK_SECRET: &str = "fleet-webhook-secret";
/// Time a child gets to print its address.
const BOOT: Duration = Duration::from_secs(30);

/// `convoai`, as built for these tests.
pub fn convoai_bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("convoai")
}

/// A free loopback port (free when asked; good enough for children started right after).
pub fn free_port() -> Result<u16, Missing> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| Missing::new(format_args!("no free loopback port: {e}")))
}

/// Sends `sig` (`KILL`, `STOP`, `CONT`, `TERM`) to `pid` with kill(1).
pub fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([format!("-{sig}"), pid.to_string()])
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "kill -{sig} {pid} failed");
}

/// Polls `check` every 50 ms until it answers `Some`, for at most `bound`.
pub fn wait_for<T>(bound: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + bound;
    loop {
        if let Some(v) = check() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ---------------------------------------------------------------------------------------------
// redis-server

/// A redis-server on a fixed loopback port, without persistence: a restart comes back empty.
pub struct Redis {
    bin: PathBuf,
    pub port: u16,
    child: Option<Child>,
}

impl Redis {
    /// Starts one, or says why it cannot (no redis-server on this machine).
    pub fn start() -> Result<Redis, Missing> {
        let bin = harness::program(
            "REDIS_SERVER",
            &["redis-server"],
            "apt-get install redis-server",
        )?;
        let mut r = Redis {
            bin,
            port: free_port()?,
            child: None,
        };
        r.spawn()?;
        Ok(r)
    }

    fn spawn(&mut self) -> Result<(), Missing> {
        let child = Command::new(&self.bin)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(["--protected-mode", "yes", "--daemonize", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| Missing::new(format_args!("cannot run {}: {e}", self.bin.display())))?;
        self.child = Some(child);
        let port = self.port;
        wait_for(Duration::from_secs(10), || {
            TcpStream::connect(("127.0.0.1", port)).ok()
        })
        .map(|_| ())
        .ok_or_else(|| Missing::new(format_args!("redis-server did not listen on {port}")))
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// SIGKILL: everything it held is gone.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// A new, empty redis-server on the same port.
    pub fn restart(&mut self) {
        self.kill();
        // The port may linger a moment after the kill.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.spawn() {
                Ok(()) => return,
                Err(e) if Instant::now() > deadline => panic!("redis restart: {}", e.0),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// Number of keys in db 0 (through redis-cli when present; `None` otherwise).
    pub fn dbsize(&self) -> Option<u64> {
        let out = Command::new("redis-cli")
            .args(["-p", &self.port.to_string(), "dbsize"])
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP

/// One HTTP/1.1 request on its own connection: (status, body), or why there was no answer.
pub fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
    timeout: Duration,
) -> Result<(u16, String), String> {
    let sock: std::net::SocketAddr = addr.parse().map_err(|e| format!("{addr}: {e}"))?;
    let mut s = TcpStream::connect_timeout(&sock, timeout).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).map_err(|e| e.to_string())?;
    s.write_all(body.as_bytes()).map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("no status line in {text:?}"))?;
    let mut body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    if text
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = unchunk(&body);
    }
    Ok((status, body))
}

fn unchunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || tail.len() < n {
            break;
        }
        out.push_str(&tail[..n]);
        rest = tail[n..].trim_start_matches("\r\n");
    }
    out
}

/// The body as JSON (`Null` when it is not JSON).
pub fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or(Value::Null)
}

// ---------------------------------------------------------------------------------------------
// emulator

/// `convoai emulator` on an ephemeral port, with development credentials.
pub struct Emulator {
    child: Child,
    /// `127.0.0.1:PORT`
    pub addr: String,
    pub app_id: String,
    pub app_certificate: String,
    pub customer_id: String,
    pub customer_secret: String,
}

impl Emulator {
    pub fn start() -> Emulator {
        let mut cmd = Command::new(convoai_bin());
        for (var, _) in std::env::vars() {
            if var.starts_with("SHENGWANG_") {
                cmd.env_remove(var);
            }
        }
        let mut child = cmd
            .args(["emulator", "--port", "0", "--idle-tick-ms", "1000"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("convoai emulator starts");
        let lines = read_lines_until(&mut child, "export SHENGWANG_BASE_URL=");
        let find = |prefix: &str| {
            lines
                .iter()
                .find_map(|l| l.trim().strip_prefix(prefix).map(str::to_owned))
                .unwrap_or_else(|| panic!("emulator did not print {prefix}: {lines:?}"))
        };
        let url = find("listening on ");
        Emulator {
            addr: url.trim_start_matches("http://").to_owned(),
            app_id: find("export SHENGWANG_APP_ID="),
            app_certificate: find("export SHENGWANG_APP_CERTIFICATE="),
            customer_id: find("export SHENGWANG_CUSTOMER_ID="),
            customer_secret: find("export SHENGWANG_CUSTOMER_SECRET="),
            child,
        }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}/api/conversational-ai-agent", self.addr)
    }

    fn admin(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        http(&self.addr, method, path, &[], body, Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("emulator {method} {path}: {e}"))
    }

    /// Every agent the emulator knows.
    pub fn agents(&self) -> Vec<Value> {
        let (status, body) = self.admin("GET", "/_emulator/agents", "");
        assert_eq!(status, 200, "{body}");
        match json(&body) {
            Value::Array(list) => list,
            other => panic!("agents: {other}"),
        }
    }

    /// Ids of the agents running (or starting) in `channel`.
    pub fn running_in(&self, channel: &str) -> Vec<String> {
        running_by_channel(&self.agents())
            .remove(channel)
            .unwrap_or_default()
    }

    /// The request log after `after`: (last seq, entries oldest first).
    pub fn log(&self, after: u64, agent_id: Option<&str>) -> (u64, Vec<Value>) {
        let path = match agent_id {
            Some(a) => format!("/_emulator/log?after={after}&limit=1000&agent_id={a}"),
            None => format!("/_emulator/log?after={after}&limit=1000"),
        };
        let (status, body) = self.admin("GET", &path, "");
        assert_eq!(status, 200, "{body}");
        let v = json(&body);
        let entries = v["entries"].as_array().cloned().unwrap_or_default();
        (v["last_seq"].as_u64().unwrap_or(0), entries)
    }

    /// Adds a fault rule (`POST /_emulator/faults/rules`).
    pub fn push_rule(&self, rule: Value) {
        let (status, body) = self.admin("POST", "/_emulator/faults/rules", &rule.to_string());
        assert_eq!(status, 204, "{body}");
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Running (or starting) agent ids per channel.
pub fn running_by_channel(agents: &[Value]) -> std::collections::HashMap<String, Vec<String>> {
    let mut map: std::collections::HashMap<String, Vec<String>> = Default::default();
    for a in agents {
        let status = a["status"].as_str().unwrap_or_default();
        if matches!(status, "RUNNING" | "STARTING" | "RECOVERING") {
            map.entry(a["channel"].as_str().unwrap_or_default().to_owned())
                .or_default()
                .push(a["agent_id"].as_str().unwrap_or_default().to_owned());
        }
    }
    map
}

/// Reads `child`'s stdout up to the line starting with `last` (bounded), then keeps draining
/// it on a thread so the child never blocks on a full pipe.
fn read_lines_until(child: &mut Child, last: &str) -> Vec<String> {
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    let last = last.to_owned();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut seen = Vec::new();
        let mut line = String::new();
        let mut sent = false;
        while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
            if !sent {
                seen.push(line.trim_end().to_owned());
                if line.trim_start().starts_with(&last) {
                    let _ = tx.send(std::mem::take(&mut seen));
                    sent = true;
                }
            }
            line.clear();
        }
        if !sent {
            let _ = tx.send(seen);
        }
    });
    rx.recv_timeout(BOOT).expect("child printed its address")
}

// ---------------------------------------------------------------------------------------------
// serve replicas

/// How the replicas are started.
#[derive(Clone)]
pub struct ServeOpts {
    /// `--lease` (seconds).
    pub lease: String,
    /// `--on-orphan`.
    pub on_orphan: &'static str,
    /// More flags for every replica.
    pub extra: Vec<String>,
}

impl Default for ServeOpts {
    fn default() -> Self {
        ServeOpts {
            lease: "2".into(),
            on_orphan: "adopt",
            extra: Vec::new(),
        }
    }
}

/// One `convoai serve` process.
pub struct Replica {
    pub name: String,
    child: Option<Child>,
    /// `127.0.0.1:PORT`
    pub addr: String,
    log: PathBuf,
}

impl Replica {
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).expect("replica runs")
    }

    pub fn signal(&self, sig: &str) {
        signal(self.pid(), sig);
    }

    /// SIGKILL, reaped.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Waits at most `bound` for the process to exit.
    pub fn wait_exit(&mut self, bound: Duration) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        let status = wait_for(bound, || child.try_wait().ok().flatten());
        if status.is_some() {
            self.child = None;
        }
        status
    }

    /// A request with the bearer key.
    pub fn call(&self, method: &str, path: &str, body: &str) -> Result<(u16, Value), String> {
        let auth = format!("Bearer {API_KEY}");
        http(
            &self.addr,
            method,
            path,
            &[("Authorization", &auth)],
            body,
            Duration::from_secs(60),
        )
        .map(|(s, b)| (s, json(&b)))
    }

    /// `POST /v1/channels/{channel}/agent`.
    pub fn start(&self, channel: &str) -> Result<(u16, Value), String> {
        let path = format!("/v1/channels/{channel}/agent");
        self.call("POST", &path, r#"{"remote_uids": ["2002"]}"#)
    }

    /// `GET /v1/channels/{channel}/agent`.
    pub fn get(&self, channel: &str) -> Result<(u16, Value), String> {
        self.call("GET", &format!("/v1/channels/{channel}/agent"), "")
    }

    /// `POST /webhooks` with `body` signed with the fleet's secret: the status.
    pub fn notice(&self, body: &str) -> Result<u16, String> {
        let sig = shengwang_agent::webhooks::sign_v2(WEBHOOK_SECRET.as_bytes(), body.as_bytes());
        http(
            &self.addr,
            "POST",
            "/webhooks",
            &[("Agora-Signature-V2", &sig)],
            body,
            Duration::from_secs(30),
        )
        .map(|(s, _)| s)
    }

    /// The status of an unauthenticated GET (`/healthz`, `/livez`).
    pub fn probe(&self, path: &str) -> Result<(u16, Value), String> {
        http(&self.addr, "GET", path, &[], "", Duration::from_secs(10)).map(|(s, b)| (s, json(&b)))
    }

    /// What the process wrote on stderr so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_ref() {
            // A stopped process does not die of SIGKILL until it is continued on some kernels.
            let _ = Command::new("kill")
                .args(["-CONT", &c.id().to_string()])
                .stderr(Stdio::null())
                .status();
        }
        self.kill();
    }
}

/// A fleet: one Redis, one emulator, and replicas of `convoai serve` on both.
pub struct Fleet {
    pub dir: tempfile::TempDir,
    pub redis: Redis,
    pub emu: Emulator,
    pub opts: ServeOpts,
    pub replicas: Vec<Replica>,
    config: PathBuf,
    spawned: usize,
}

impl Fleet {
    /// Redis, an emulator and `n` replicas named r1…rn.
    pub fn start(n: usize, opts: ServeOpts) -> Result<Fleet, Missing> {
        let redis = Redis::start()?;
        let emu = Emulator::start();
        let dir = tempfile::tempdir().expect("tempdir");
        // Agents that outlive the test by far: only the fleet may stop them.
        let toml = crate::support::agent_toml("TEST_VENDOR_KEY")
            .replace("idle_timeout = 30", "idle_timeout = 86400");
        let config = crate::support::write(dir.path(), "agent.toml", &toml);
        let mut fleet = Fleet {
            dir,
            redis,
            emu,
            opts,
            replicas: Vec::new(),
            config,
            spawned: 0,
        };
        for _ in 0..n {
            let r = fleet.spawn(&[]);
            fleet.replicas.push(r);
        }
        Ok(fleet)
    }

    /// A new replica (named r<k>, k counting every replica started) with `env` added.
    pub fn spawn(&mut self, env: &[(&str, &str)]) -> Replica {
        self.spawned += 1;
        let name = format!("r{}", self.spawned);
        self.spawn_named(&name, env)
    }

    pub fn spawn_named(&mut self, name: &str, env: &[(&str, &str)]) -> Replica {
        let log = self.dir.path().join(format!("{name}.log"));
        let stderr = std::fs::File::create(&log).expect("log file");
        let mut cmd = Command::new(convoai_bin());
        for (var, _) in std::env::vars() {
            if var.starts_with("SHENGWANG_") || var.starts_with("CONVOAI_") || var == "RUST_LOG" {
                cmd.env_remove(var);
            }
        }
        cmd.env("SHENGWANG_APP_ID", &self.emu.app_id)
            .env("SHENGWANG_APP_CERTIFICATE", &self.emu.app_certificate)
            .env("SHENGWANG_BASE_URL", self.emu.base_url())
            .env("SHENGWANG_WEBHOOK_SECRET", WEBHOOK_SECRET)
            .env("CONVOAI_SERVE_API_KEY", API_KEY)
            .env("TEST_VENDOR_KEY", "vendor-key")
            .env("TEST_MODEL", "m1")
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .args(["serve", "--listen", "127.0.0.1:0", "--instance", name])
            .arg("--config")
            .arg(&self.config)
            .args(["--redis", &self.redis.url(), "--lease", &self.opts.lease])
            .args(["--on-orphan", self.opts.on_orphan])
            .args(&self.opts.extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr);
        let mut child = cmd.spawn().expect("convoai serve starts");
        let lines = read_lines_until(&mut child, "listening on http://");
        let addr = lines
            .iter()
            .find_map(|l| l.trim().strip_prefix("listening on http://"))
            .map(str::to_owned);
        let Some(addr) = addr else {
            let _ = child.kill();
            let logs = std::fs::read_to_string(&log).unwrap_or_default();
            panic!("replica {name} printed no address: {lines:?}\n{logs}");
        };
        Replica {
            name: name.to_owned(),
            child: Some(child),
            addr,
            log,
        }
    }

    /// The replica called `name`.
    pub fn by_name(&self, name: &str) -> Option<&Replica> {
        self.replicas.iter().find(|r| r.name == name)
    }

    /// The replicas other than `name` that run.
    pub fn others(&self, name: &str) -> Vec<&Replica> {
        self.replicas.iter().filter(|r| r.name != name).collect()
    }

    /// Starts the channel's agent through replica `i`: its JSON answer.
    pub fn start_on(&self, i: usize, channel: &str) -> Value {
        let (status, v) = self.replicas[i].start(channel).expect("replica answers");
        assert_eq!(
            status, 200,
            "start {channel} on {}: {v}",
            self.replicas[i].name
        );
        v
    }

    /// Every replica's log, for a failing test's output.
    pub fn dump_logs(&self) {
        for r in &self.replicas {
            eprintln!("----- {} -----\n{}", r.name, tail(&r.logs(), 60));
        }
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.dump_logs();
        }
    }
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A signed-notice body: `event` (102 agent left, 110 agent error …) for `agent_id`.
pub fn notice_body(notice_id: &str, event: u32, agent_id: &str, channel: &str) -> String {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default();
    let payload = match event {
        102 => json!({"agent_id": agent_id, "name": "fleet", "start_ts": now_ms / 1000 - 5,
                      "stop_ts": now_ms / 1000, "channel": channel, "status": "STOPPED",
                      "message": "OK"}),
        _ => json!({"agent_id": agent_id, "name": "fleet", "start_ts": now_ms / 1000 - 5,
                    "channel": channel, "turn_id": 1,
                    "errors": [{"module": "llm", "turn_id": 1, "code": 503,
                                "message": "test error"}]}),
    };
    json!({"noticeId": notice_id, "productId": 17, "eventType": event, "notifyMs": now_ms,
           "payload": payload})
    .to_string()
}

/// Where `p` (a file) lives, for messages.
pub fn show(p: &Path) -> String {
    p.display().to_string()
}
