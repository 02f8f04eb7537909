//! With `-vv` (everything traced) no secret reaches the CLI's stdout or stderr: not the app
//! certificate, the customer secret, a vendor key from the config file, nor any token.

mod support;

use convoai_emulator::Emulator;
use support::*;

const CERT: &str = "5e9715e95e9715e95e9715e95e9715e9";
const SECRET: &str = "SENTINEL-CUSTOMER-SECRET";
const VENDOR_KEY: &str = "SENTINEL-VENDOR-KEY";

#[test]
fn no_secret_in_any_output_with_vv() {
    let emu = Emulator::builder()
        .app_certificate(CERT)
        .customer("cust", SECRET)
        .start()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "agent.toml", &agent_toml("K"));
    let mut seen = String::new();
    let cfg_s = cfg.to_str().unwrap();
    let run = |seen: &mut String, args: &[&str], basic: bool| -> (Option<i32>, String) {
        let mut c = convoai(&emu);
        c.env("K", VENDOR_KEY)
            .env("TEST_MODEL", "m")
            .arg("-vv")
            .args(args);
        if basic {
            c.args(["--customer-id", "cust", "--customer-secret", SECRET]);
        }
        let out = c.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        seen.push_str(&stdout);
        seen.push_str(&String::from_utf8_lossy(&out.stderr));
        (out.status.code(), stdout)
    };
    for basic in [false, true] {
        let (_, id) = run(
            &mut seen,
            &["agents", "start", "--config", cfg_s, "--channel", "sec"],
            basic,
        );
        let id = id.trim().to_owned();
        assert!(!id.is_empty(), "started: {seen}");
        for args in [
            vec!["agents", "say", &id, "hello"],
            vec!["agents", "history", &id, "--json"],
            vec!["agents", "update", &id, "--config", cfg_s],
            vec!["agents", "stop", &id],
            vec!["agents", "get", &id, "--json"],
            vec![
                "calls",
                "create",
                "--to",
                "+8613800138000",
                "--from",
                "+861080000000",
                "--channel",
                "sec-call",
                "--config",
                cfg_s,
            ],
        ] {
            assert_eq!(run(&mut seen, &args, basic).0, Some(0), "{args:?}: {seen}");
        }
        assert_eq!(
            run(&mut seen, &["agents", "get", "NOSUCH"], basic).0,
            Some(3)
        );
    }
    // Errors: wrong secret, wrong certificate, nothing listening; and the config check.
    let wrong = format!("{SECRET}-WRONG");
    let errors: [&[&str]; 3] = [
        &[
            "agents",
            "list",
            "--customer-id",
            "cust",
            "--customer-secret",
            &wrong,
        ],
        &[
            "agents",
            "list",
            "--app-certificate",
            "0123456789abcdef0123456789abcdef",
        ],
        &[
            "agents",
            "list",
            "--base-url",
            "http://127.0.0.1:9",
            "--timeout",
            "1",
        ],
    ];
    for args in errors {
        assert_eq!(run(&mut seen, args, false).0, Some(1), "{args:?}");
    }
    assert_eq!(
        run(&mut seen, &["config", "check", cfg_s], false).0,
        Some(0)
    );

    assert!(
        seen.contains("convoai.request"),
        "-vv traces requests: {seen}"
    );
    for sentinel in [CERT, SECRET, VENDOR_KEY, "007eJx"] {
        assert!(!seen.contains(sentinel), "{sentinel} printed:\n{seen}");
    }
}
