//! The CLI at the trust boundary: crafted ids, hostile timeouts, a silent server, odd files.

mod support;

use std::io::Read;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use support::bare;

const APP_ID: &str = "970CA35de60c44645bbae8a215061b33";
const CERT: &str = "5CFd2fd1755d40ecb72977518be15d3b";

/// A listener that accepts, reads and never answers. It counts requests.
fn silent_server() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            std::thread::spawn(move || {
                let mut s = stream;
                let mut buf = [0u8; 4096];
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                }
            });
        }
    });
    (format!("http://{addr}/api/conversational-ai-agent"), hits)
}

fn creds(c: &mut assert_cmd::Command, base: &str) {
    c.args([
        "--app-id",
        APP_ID,
        "--app-certificate",
        CERT,
        "--base-url",
        base,
    ]);
}

#[test]
fn timeout_bounds_the_whole_command_against_a_silent_server() {
    let (base, hits) = silent_server();
    let mut c = bare();
    creds(&mut c, &base);
    let t = Instant::now();
    let out = c
        .args(["--timeout", "2", "agents", "get", "AGENT1"])
        .output()
        .unwrap();
    let took = t.elapsed();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        took <= Duration::from_millis(2500),
        "took {took:?} with --timeout 2"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(hits.load(std::sync::atomic::Ordering::SeqCst) >= 1);
}

#[test]
fn hostile_timeouts_are_usage_errors_not_panics() {
    for t in ["1e20", "0", "-1", "nan", "inf", "3601"] {
        let mut c = bare();
        creds(&mut c, "http://127.0.0.1:9/api");
        let flag = format!("--timeout={t}");
        let out = c
            .args([flag.as_str(), "agents", "get", "A"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "--timeout {t}: {out:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("--timeout"));
    }
}

#[test]
fn crafted_ids_are_refused_before_anything_is_sent() {
    let (base, hits) = silent_server();
    for id in [
        "..\\..\\..\\..\\..\\..\\..\\internal\\metrics",
        "..",
        ".",
        "../admin",
        "a/b",
    ] {
        for args in [
            vec!["agents", "get", id],
            vec!["agents", "stop", id],
            vec!["agents", "history", id],
            vec!["calls", "get", id],
        ] {
            let mut c = bare();
            creds(&mut c, &base);
            let out = c.args(&args).output().unwrap();
            assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        }
    }
    // Basic mode too.
    let mut c = bare();
    creds(&mut c, &base);
    let out = c
        .args([
            "--customer-id",
            "cid",
            "--customer-secret",
            "SENTINEL-SECRET-1",
        ])
        .args(["agents", "stop", "..\\..\\..\\..\\..\\..\\admin\\x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("SENTINEL"));
    assert_eq!(
        hits.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "nothing sent"
    );
}

#[test]
fn base_url_credentials_are_refused_and_not_echoed() {
    let mut c = bare();
    c.args(["--app-id", APP_ID, "--app-certificate", CERT])
        .args([
            "--base-url",
            "http://u:SENTINEL-PASS-2@127.0.0.1:9/api",
            "-vv",
        ])
        .args(["agents", "list"]);
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains("SENTINEL"), "{all}");
}

#[test]
fn config_files_that_are_not_regular_files_fail_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let zero = dir.path().join("agent.toml");
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    let fifo = dir.path().join("fifo.toml");
    let made_fifo = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    let mut paths = vec![zero, dir.path().join("")];
    if made_fifo {
        paths.push(fifo);
    }
    for path in paths {
        let t = Instant::now();
        let out = bare()
            .args(["config", "check"])
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{path:?}: {out:?}");
        assert!(t.elapsed() < Duration::from_secs(1), "{path:?}");
    }
}
