//! The `convoai-emulator` binary as a new user starts it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn first_line_says_where_it_listens_then_dev_credentials_follow() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_convoai-emulator"))
        .args(["--port", "0"])
        .env_remove("SHENGWANG_APP_ID")
        .env_remove("SHENGWANG_APP_CERTIFICATE")
        .env_remove("SHENGWANG_CUSTOMER_ID")
        .env_remove("SHENGWANG_CUSTOMER_SECRET")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first
        .strip_prefix("listening on http://127.0.0.1:")
        .unwrap();
    assert!(url.parse::<u16>().unwrap() > 0, "{first}");
    let rest: Vec<String> = lines.by_ref().take(8).map(|l| l.unwrap()).collect();
    let text = rest.join("\n");
    assert!(
        text.contains(&format!(
            "dashboard:         http://127.0.0.1:{url}/_emulator/ui"
        )),
        "the dashboard's address is printed next to the API's: {text}"
    );
    assert!(
        text.contains(&format!(
            "SHENGWANG_APP_ID={}",
            convoai_emulator::DEV_APP_ID
        )),
        "{text}"
    );
    assert!(text.contains(&format!(
        "SHENGWANG_CUSTOMER_SECRET={}",
        convoai_emulator::DEV_CUSTOMER_SECRET
    )));
    // It serves.
    let addr = format!("127.0.0.1:{url}");
    assert!(std::net::TcpStream::connect(addr).is_ok());
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn bad_credentials_are_refused_at_start_without_echoing_the_certificate() {
    let out = Command::new(env!("CARGO_BIN_EXE_convoai-emulator"))
        .args([
            "--port",
            "0",
            "--app-id",
            "0123456789abcdef0123456789abcdef",
        ])
        .args(["--app-certificate", "secret-but-not-hex-secret-not-hex"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("app_certificate"), "{stderr}");
    assert!(!stderr.contains("secret-but-not-hex"), "{stderr}");
}

#[test]
fn webhook_flags_are_checked_and_announced() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_convoai-emulator"))
            .args(["--port", "0"])
            .args(args)
            .env_remove("SHENGWANG_WEBHOOK_SECRET")
            .output()
            .unwrap()
    };
    // A URL without a secret, or a URL that is not http(s): usage errors, exit 2.
    let out = run(&["--webhook-url", "http://127.0.0.1:9/hook"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&[
        "--webhook-url",
        "ftp://127.0.0.1/hook",
        "--webhook-secret",
        "SENTINEL-S",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("webhook url"), "{stderr}");
    assert!(!stderr.contains("SENTINEL-S"), "{stderr}");

    let mut child = Command::new(env!("CARGO_BIN_EXE_convoai-emulator"))
        .args(["--port", "0", "--webhook-url", "http://127.0.0.1:9/hook"])
        .args(["--webhook-secret", "SENTINEL-S"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines: Vec<String> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .take(5)
        .map(|l| l.unwrap())
        .collect();
    child.kill().unwrap();
    child.wait().unwrap();
    let text = lines.join("\n");
    assert!(
        text.contains("callbacks to:      http://127.0.0.1:9/hook"),
        "{text}"
    );
    assert!(!text.contains("SENTINEL-S"));
}
