//! `convoai` over HTTPS: `--ca-cert` / `SHENGWANG_CA_CERT` against the emulator's TLS mode,
//! the errors for an untrusted server and a bad or hostile CA file, and `emulator --tls`.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use convoai_emulator::{AgentStatus, Emulator, EmulatorHandle};
use support::*;

fn tls_emulator() -> EmulatorHandle {
    Emulator::builder()
        .tls(true)
        .start()
        .expect("emulator starts")
}

#[test]
fn a_whole_agent_lifecycle_over_https_with_ca_cert() {
    let emu = tls_emulator();
    assert!(emu.base_url().starts_with("https://"));
    let ca = emu.ca_path().unwrap().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "agent.toml", &agent_toml("K"));
    let id = ok(convoai(&emu)
        .env("K", "vendor-key")
        .env("TEST_MODEL", "m1")
        .arg("--ca-cert")
        .arg(&ca)
        .args(["agents", "start", "--channel", "tls-room", "--config"])
        .arg(&cfg));
    let id = id.trim().to_owned();
    ok(convoai(&emu)
        .env("SHENGWANG_CA_CERT", &ca)
        .args(["agents", "say", &id, "hello over TLS"]));
    let history = ok(convoai(&emu)
        .env("SHENGWANG_CA_CERT", &ca)
        .args(["agents", "history", &id, "--json"]));
    assert!(history.contains("hello over TLS"), "{history}");
    ok(convoai(&emu)
        .args(["agents", "stop", &id, "--ca-cert"])
        .arg(&ca));
    let record = emu.agents().into_iter().find(|a| a.agent_id == id).unwrap();
    assert_eq!(record.status, AgentStatus::Stopped);
    assert!(emu.stats().tls_handshakes >= 4);
}

#[test]
fn an_untrusted_server_is_one_line_and_exit_1() {
    let emu = tls_emulator();
    let started = Instant::now();
    let err = fails(convoai(&emu).args(["agents", "get", "some-agent"]), 1);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("TLS error") && err.contains("certificate"),
        "{err}"
    );
    assert!(!err.contains(emu.app_certificate()), "{err}");
    assert_eq!(emu.stats().tls_handshakes, 0, "no handshake completed");
    assert!(emu.recent_requests().is_empty(), "nothing reached the API");
}

#[test]
fn a_missing_or_bad_ca_file_is_exit_2_naming_no_content() {
    let emu = tls_emulator();
    let dir = tempfile::tempdir().unwrap();
    let sentinel = "SENTINEL-PRIVATE-KEY-42";
    let key = write(
        dir.path(),
        "key.pem",
        &format!("-----BEGIN PRIVATE KEY-----\n{sentinel}\n-----END PRIVATE KEY-----\n"),
    );
    let big = dir.path().join("big.pem");
    std::fs::write(&big, vec![b'A'; 2 * 1024 * 1024]).unwrap();
    let missing = dir.path().join("missing.pem");
    for path in [key.as_path(), big.as_path(), missing.as_path(), dir.path()] {
        let err = fails(
            convoai(&emu)
                .arg("--ca-cert")
                .arg(path)
                .args(["agents", "get", "x"]),
            2,
        );
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains("ca"), "{err}");
        assert!(!err.contains(sentinel), "{err}");
    }
    assert!(emu.recent_requests().is_empty());
}

#[cfg(unix)]
#[test]
fn a_fifo_or_device_as_ca_file_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.pem");
    let made = StdCommand::new("mkfifo").arg(&fifo).status();
    let emu = tls_emulator();
    let mut paths = vec![std::path::PathBuf::from("/dev/zero")];
    if made.is_ok_and(|s| s.success()) {
        paths.push(fifo);
    }
    for path in paths {
        let started = Instant::now();
        let err = fails(
            convoai(&emu)
                .env("SHENGWANG_CA_CERT", &path)
                .args(["agents", "get", "x"]),
            2,
        );
        assert!(started.elapsed() < Duration::from_secs(5), "{path:?}");
        assert!(err.contains("not a regular file"), "{err}");
    }
}

#[test]
fn emulator_tls_prints_an_https_url_and_a_ca_file_the_cli_trusts() {
    let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("convoai"))
        .args(["emulator", "--tls", "--port", "0"])
        .env_remove("SHENGWANG_APP_ID")
        .env_remove("SHENGWANG_APP_CERTIFICATE")
        .env_remove("SHENGWANG_CUSTOMER_ID")
        .env_remove("SHENGWANG_CUSTOMER_SECRET")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut text = String::new();
    while !text.contains("export SHENGWANG_CA_CERT=") {
        let mut line = String::new();
        if stdout.read_line(&mut line).unwrap() == 0 {
            panic!("stdout ended: {text}");
        }
        text.push_str(&line);
    }
    assert!(text.contains("listening on https://127.0.0.1:"), "{text}");
    assert!(text.contains("-----BEGIN CERTIFICATE-----"), "{text}");
    let var = |name: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(&format!("export {name}=")))
            .unwrap()
            .to_owned()
    };
    let ca = var("SHENGWANG_CA_CERT");
    assert!(std::path::Path::new(&ca).is_file());
    let listed = ok(bare()
        .env("SHENGWANG_APP_ID", var("SHENGWANG_APP_ID"))
        .env(
            "SHENGWANG_APP_CERTIFICATE",
            var("SHENGWANG_APP_CERTIFICATE"),
        )
        .env("SHENGWANG_BASE_URL", var("SHENGWANG_BASE_URL"))
        .env("SHENGWANG_CA_CERT", &ca)
        .args(["agents", "list"]));
    assert!(listed.starts_with("AGENT ID"), "{listed}");
    StdCommand::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "convoai did not exit");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !std::path::Path::new(&ca).exists(),
        "the CA file is removed on exit"
    );
}
