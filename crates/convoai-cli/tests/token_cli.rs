//! `convoai token …` as a user runs it: stdout, stderr and exit status.

use assert_cmd::Command;
use predicates::prelude::*;

const APP_ID: &str = "970CA35de60c44645bbae8a215061b33";
const CERT: &str = "5CFd2fd1755d40ecb72977518be15d3b";
const CHANNEL: &str = "7d72365eb983485397e3e3f9d460bdda";
const SPEC_TOKEN: &str = "007eJxTYHjNyj415sLf281TT2jd52gMyguwUBKaOPHnh33f9599e2+6AoOluYGzo7FpSqqZQbKJiZmJaVJSYqpFopGhqYGZYZKxsfsXAYYIJgYGRgYGBiYgyQLEID4TmGQGkyxgUoHBPMXcyNjMNDXJ0sLYxMLU2NI81TjVOM0yxcTMICklJZGLwcjCwsjYxNDI3BhkFsQkZFEAssUrFg==";
const TOOLS_RTC_SUBSCRIBER: &str = "007eJxTYBBbsMMnKq7p9Hf/HcIX5kce9b518kCiQgSr5Zrp4X1Tu6UUGCzNDZwdjU1TUs0Mkk1MzExMk5ISUy0SjQxNDcwMk4yN3b8IMEQwMTAwMoAwBIL4CgzmKeZGxmamqUmWFsYmFqbGluapxqnGaZYpJmYGSSkpiVwMRhYWRsYmhkbmxgDCaiTj";

fn convoai() -> Command {
    let mut c = Command::cargo_bin("convoai").unwrap();
    c.env_remove("SHENGWANG_APP_ID")
        .env_remove("SHENGWANG_APP_CERTIFICATE");
    c
}

fn stdout_of(c: &mut Command) -> String {
    let out = c.assert().success().get_output().stdout.clone();
    String::from_utf8(out).unwrap()
}

#[test]
fn convoai_token_reproduces_the_python_sdk_vector() {
    let out = stdout_of(convoai().args([
        "token",
        "convoai",
        "--app-id",
        APP_ID,
        "--app-certificate",
        CERT,
        "--channel",
        CHANNEL,
        "--account",
        "2882341273",
        "--expire",
        "600",
        "--issue-ts",
        "1111111",
        "--salt",
        "1",
    ]));
    assert_eq!(out, format!("{SPEC_TOKEN}\n"));
}

#[test]
fn rtc_subscriber_token_reproduces_the_tools_vector() {
    let out = stdout_of(convoai().args([
        "token",
        "rtc",
        "--app-id",
        APP_ID,
        "--app-certificate",
        CERT,
        "--channel",
        CHANNEL,
        "--uid",
        "2882341273",
        "--role",
        "subscriber",
        "--expire",
        "600",
        "--issue-ts",
        "1111111",
        "--salt",
        "1",
    ]));
    assert_eq!(out.trim_end(), TOOLS_RTC_SUBSCRIBER);
}

#[test]
fn credentials_come_from_the_environment_when_flags_are_absent() {
    let out = stdout_of(
        convoai()
            .env("SHENGWANG_APP_ID", APP_ID)
            .env("SHENGWANG_APP_CERTIFICATE", CERT)
            .args([
                "token",
                "convoai",
                "--channel",
                CHANNEL,
                "--account",
                "2882341273",
                "--expire",
                "600",
                "--issue-ts",
                "1111111",
                "--salt",
                "1",
            ]),
    );
    assert_eq!(out.trim_end(), SPEC_TOKEN);
    // --help never shows the certificate taken from the environment.
    convoai()
        .env("SHENGWANG_APP_CERTIFICATE", CERT)
        .args(["token", "rtc", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Example:").and(predicate::str::contains(CERT).not()));
}

#[test]
fn rtm_and_convoai_service_variants_decode_to_their_services() {
    let rtm = stdout_of(convoai().args([
        "token",
        "rtm",
        "--app-id",
        APP_ID,
        "--app-certificate",
        CERT,
        "--user-id",
        "alice",
    ]));
    let json = stdout_of(convoai().args(["token", "decode", "--json", rtm.trim()]));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["services"][0]["name"], "rtm");
    assert_eq!(v["services"][0]["user_id"], "alice");
    assert_eq!(v["expire"], 86_400);

    let with9 = stdout_of(convoai().args([
        "token",
        "convoai",
        "--app-id",
        APP_ID,
        "--app-certificate",
        CERT,
        "--channel",
        "demo",
        "--account",
        "1001",
        "--with-convoai-service",
    ]));
    let json = stdout_of(convoai().args(["token", "decode", "--json", with9.trim()]));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let names: Vec<_> = v["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["rtc", "rtm", "convoai"]);
}

#[test]
fn decode_prints_every_field_as_text_and_json() {
    let text = stdout_of(convoai().args(["token", "decode", SPEC_TOKEN]));
    for needle in [
        APP_ID,
        "issue_ts: 1111111",
        "expire:   600 s",
        "salt:     1",
        "rtc (1)",
        "uid=\"2882341273\"",
        "join_channel (1): 600 s",
        "rtm (2) user_id=\"2882341273\"",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    let json = stdout_of(convoai().args(["token", "decode", "--json", SPEC_TOKEN]));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["app_id"], APP_ID);
    assert_eq!(v["issue_ts"], 1_111_111);
    assert_eq!(v["expire"], 600);
    assert_eq!(v["salt"], 1);
    assert_eq!(v["services"][0]["type"], 1);
    assert_eq!(v["services"][0]["channel"], CHANNEL);
    assert_eq!(v["services"][0]["uid"], "2882341273");
    assert_eq!(v["services"][0]["privileges"].as_array().unwrap().len(), 4);
    assert_eq!(v["services"][1]["type"], 2);
    assert_eq!(v["services"][1]["user_id"], "2882341273");
}

#[test]
fn verify_accepts_a_valid_token_and_explains_a_rejection() {
    let fresh = stdout_of(convoai().args([
        "token",
        "convoai",
        "--app-id",
        APP_ID,
        "--app-certificate",
        CERT,
        "--channel",
        "demo",
        "--account",
        "1001",
    ]));
    let fresh = fresh.trim();
    convoai()
        .args([
            "token",
            "verify",
            fresh,
            "--app-id",
            APP_ID,
            "--app-certificate",
            CERT,
        ])
        .args(["--channel", "demo", "--uid", "1001"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("valid"));
    let other_cert = "0123456789abcdef0123456789abcdef";
    let cases: [(&[&str], &str); 4] = [
        (&["--app-certificate", other_cert], "signature mismatch"),
        (
            &["--app-certificate", CERT, "--channel", "other"],
            "another channel",
        ),
        (
            &["--app-certificate", CERT, "--channel", "demo", "--uid", "7"],
            "another uid",
        ),
        (
            &["--app-certificate", CERT, "--at", "4102444800"],
            "expired",
        ),
    ];
    for (extra, reason) in cases {
        convoai()
            .args(["token", "verify", fresh, "--app-id", APP_ID])
            .args(extra)
            .assert()
            .code(1)
            .stdout("")
            .stderr(predicate::str::contains(reason).and(predicate::str::contains(CERT).not()));
    }
    // The spec vector was issued in 1970 with a 600 s lifetime.
    convoai()
        .args([
            "token",
            "verify",
            SPEC_TOKEN,
            "--app-id",
            APP_ID,
            "--app-certificate",
            CERT,
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("expired"));
    convoai()
        .args([
            "token",
            "verify",
            SPEC_TOKEN,
            "--app-id",
            APP_ID,
            "--app-certificate",
            CERT,
        ])
        .args(["--at", "1111200"])
        .assert()
        .success();
}

#[test]
fn bad_input_is_one_line_on_stderr_with_status_2_and_no_secret() {
    let short_cert = "5CFd2fd1755d40ecb72977518be15d3";
    let cases: Vec<Vec<&str>> = vec![
        // wrong-length certificate
        vec![
            "token",
            "convoai",
            "--app-id",
            APP_ID,
            "--app-certificate",
            short_cert,
            "--channel",
            "demo",
            "--account",
            "1",
        ],
        // non-hex app id
        vec![
            "token",
            "rtc",
            "--app-id",
            "970CA35de60c44645bbae8a215061bZZ",
            "--app-certificate",
            CERT,
            "--channel",
            "demo",
            "--uid",
            "1",
        ],
        // missing channel
        vec![
            "token",
            "rtc",
            "--app-id",
            APP_ID,
            "--app-certificate",
            CERT,
            "--uid",
            "1",
        ],
        // negative expire
        vec![
            "token",
            "rtc",
            "--app-id",
            APP_ID,
            "--app-certificate",
            CERT,
            "--channel",
            "demo",
            "--uid",
            "1",
            "--expire",
            "-5",
        ],
        // expire out of range
        vec![
            "token",
            "rtm",
            "--app-id",
            APP_ID,
            "--app-certificate",
            CERT,
            "--user-id",
            "a",
            "--expire",
            "0",
        ],
        // channel with a forbidden character
        vec![
            "token",
            "rtc",
            "--app-id",
            APP_ID,
            "--app-certificate",
            CERT,
            "--channel",
            "a/b",
            "--uid",
            "1",
        ],
        // garbage token
        vec!["token", "decode", "not-a-token"],
        vec!["token", "decode", "007%%%"],
        // no credentials at all
        vec!["token", "rtm", "--user-id", "a"],
    ];
    for args in cases {
        let out = convoai().args(&args).assert().code(2).get_output().clone();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(out.stdout.is_empty(), "{args:?} printed to stdout");
        // Our own errors are one line; clap's usage errors keep their usage line and hint.
        let lines = stderr.trim_end().lines().count();
        let clap_shape = stderr.contains("\nUsage: convoai token ")
            && stderr
                .trim_end()
                .ends_with("For more information, try '--help'.");
        assert!(lines == 1 || clap_shape, "{args:?}: {stderr}");
        assert!(stderr.starts_with("error"), "{args:?}: {stderr}");
        assert!(
            !stderr.contains(CERT) && !stderr.contains(short_cert),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn usage_errors_keep_clap_lines_usage_and_hint() {
    let out = convoai()
        .args(["token", "rtc", "--app-id", APP_ID, "--bogus-flag"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines[0].starts_with("error: unexpected argument '--bogus-flag'"),
        "{stderr}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Usage: convoai token rtc")),
        "usage line: {stderr}"
    );
    assert_eq!(
        lines.last().copied(),
        Some("For more information, try '--help'."),
        "{stderr}"
    );
    // A missing subcommand prints the help, still on stderr with exit 2.
    let out = convoai().arg("token").assert().code(2).get_output().clone();
    assert!(String::from_utf8_lossy(&out.stderr).contains("Usage: convoai token"));
}

#[test]
fn help_shows_no_markdown_backticks() {
    for args in [vec!["--help"], vec!["-h"], vec!["token", "--help"]] {
        let out = convoai()
            .args(&args)
            .assert()
            .success()
            .get_output()
            .clone();
        let help = String::from_utf8(out.stdout).unwrap();
        assert!(help.contains("Usage: convoai"), "{args:?}: {help}");
        assert!(!help.contains('`'), "{args:?}: {help}");
    }
}
