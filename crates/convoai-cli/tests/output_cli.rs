//! What scripts rely on: `--json` on every command that prints, one JSON document per line,
//! each error printed once, and startup failures that name what failed.

mod support;

use serde_json::Value;
use support::*;

const APP_ID: &str = "970CA35de60c44645bbae8a215061b33";
const CERT: &str = "5CFd2fd1755d40ecb72977518be15d3b";

/// Every stdout line is one JSON object; returns them.
fn json_lines(stdout: &str) -> Vec<Value> {
    assert!(!stdout.is_empty(), "no output");
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect()
}

#[test]
fn token_commands_honour_json() {
    let creds = ["--app-id", APP_ID, "--app-certificate", CERT];
    let cases: [(&str, Vec<&str>); 3] = [
        (
            "rtc",
            vec!["token", "rtc", "--channel", "demo", "--uid", "7"],
        ),
        (
            "convoai",
            vec!["token", "convoai", "--channel", "demo", "--account", "1001"],
        ),
        ("rtm", vec!["token", "rtm", "--user-id", "u1"]),
    ];
    for (kind, args) in cases {
        let plain = ok(bare().args(&args).args(creds));
        assert!(
            plain.starts_with("007") && plain.lines().count() == 1,
            "{plain}"
        );
        let out = ok(bare().args(&args).args(creds).arg("--json"));
        let lines = json_lines(&out);
        assert_eq!(lines.len(), 1, "{out}");
        assert_eq!(lines[0]["type"], kind);
        let token = lines[0]["token"].as_str().unwrap();
        assert!(token.starts_with("007"), "{out}");

        // The JSON token is a real one: decode and verify take it, and answer in JSON too.
        let decoded = json_lines(&ok(bare().args(["token", "decode", token, "--json"])));
        assert_eq!(decoded.len(), 1);
        assert_eq!(decoded[0]["app_id"], APP_ID);
        if kind != "rtm" {
            let verified = json_lines(&ok(bare()
                .args(["token", "verify", token, "--json"])
                .args(creds)));
            assert_eq!(verified[0]["valid"], true, "{verified:?}");
            assert!(verified[0]["expires_at"].as_u64().unwrap() > 0);
        }
    }
}

#[test]
fn config_init_and_check_honour_json_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent.toml");
    let out = ok(bare()
        .current_dir(dir.path())
        .args(["config", "init", "--json"]));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1, "{out}");
    assert_eq!(lines[0]["written"], true);
    assert!(lines[0]["path"].as_str().unwrap().ends_with("agent.toml"));
    assert!(path.exists());

    let stdin_sample = json_lines(&ok(bare().args(["config", "init", "-", "--json"])));
    assert_eq!(
        stdin_sample[0]["config"].as_str().unwrap(),
        std::fs::read_to_string(&path).unwrap()
    );

    let check = |json: bool| {
        let mut c = bare();
        c.env("LLM_URL", "https://llm.example/v1")
            .env("LLM_API_KEY", "SENTINEL-LLM-KEY-7")
            .env("MINIMAX_KEY", "SENTINEL-MINIMAX-KEY-7")
            .args(["config", "check"])
            .arg(&path)
            .args(["--channel", "room-j"]);
        if json {
            c.arg("--json");
        }
        ok(&mut c)
    };
    let out = check(true);
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1, "config check --json is one line: {out}");
    assert_eq!(lines[0]["properties"]["channel"], "room-j");
    assert_eq!(lines[0]["properties"]["llm"]["api_key"], "[redacted]");
    assert!(!out.contains("SENTINEL"));
    // Without --json it stays readable (pretty) and parses to the same document.
    let pretty = check(false);
    assert!(pretty.lines().count() > 1);
    let mut pretty: Value = serde_json::from_str(&pretty).unwrap();
    let mut one = lines[0].clone();
    // Default names are unique per run.
    pretty.as_object_mut().unwrap().remove("name");
    one.as_object_mut().unwrap().remove("name");
    assert_eq!(pretty, one);
}

#[test]
fn stop_prints_each_error_once() {
    let emu = emulator();
    let out = convoai(&emu)
        .args(["agents", "stop", "NOSUCHAGENT1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let naming = |id: &str| stderr.lines().filter(|l| l.contains(id)).count();
    assert_eq!(naming("NOSUCHAGENT1"), 1, "{stderr}");
    assert_eq!(stderr.matches("404").count(), 1, "{stderr}");

    // Two failures: each named once, and the exit code is that of the errors.
    let out = convoai(&emu)
        .args(["agents", "stop", "NOSUCHAGENT1", "NOSUCHAGENT2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let naming = |id: &str| stderr.lines().filter(|l| l.contains(id)).count();
    assert_eq!(naming("NOSUCHAGENT1"), 1, "{stderr}");
    assert_eq!(naming("NOSUCHAGENT2"), 1, "{stderr}");
    assert_eq!(stderr.lines().count(), 2, "{stderr}");
    assert!(stderr.contains("2 of 2 agents not stopped"), "{stderr}");
}

#[test]
fn a_busy_emulator_port_names_the_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let err = fails(
        bare().args(["emulator", "--host", "127.0.0.1", "--port", &port]),
        2,
    );
    assert!(
        err.contains(&format!("127.0.0.1:{port}")),
        "names the address: {err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
}
