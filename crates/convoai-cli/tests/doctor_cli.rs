//! `convoai doctor`: offline checks of the configuration, and `--live` against the emulator
//! (authentication in each mode, the 409 probe, every probe agent stopped), without ever
//! printing a secret.

mod support;

use convoai_emulator::{AgentStatus, Emulator, EmulatorHandle};
use serde_json::Value;
use support::*;

/// A certificate and customer secret nobody else uses, to look for in the output.
const CERT: &str = "5e9715e95e9715e95e9715e95e9715e9";
const SECRET: &str = "SENTINEL-DOCTOR-SECRET";
const CUSTOMER: &str = "doctor-customer";

fn emulator_with_sentinels() -> EmulatorHandle {
    Emulator::builder()
        .app_certificate(CERT)
        .customer(CUSTOMER, SECRET)
        .start()
        .expect("emulator starts")
}

/// Stdout, stderr and the exit code.
fn run(cmd: &mut assert_cmd::Command) -> (Option<i32>, String, String) {
    let out = cmd.output().expect("runs");
    (
        out.status.code(),
        String::from_utf8(out.stdout).expect("utf-8"),
        String::from_utf8(out.stderr).expect("utf-8"),
    )
}

/// The report's line for `check`: its first word is the verdict.
fn line<'a>(stdout: &'a str, check: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(check))
        .unwrap_or_else(|| panic!("no {check} line in:\n{stdout}"))
}

fn verdict<'a>(stdout: &'a str, check: &str) -> &'a str {
    line(stdout, check).split_whitespace().next().unwrap_or("")
}

/// The JSON report's entry for `check`.
fn json_check<'a>(report: &'a Value, check: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["name"] == check)
        .unwrap_or_else(|| panic!("no {check} in {report}"))
}

fn running(emu: &EmulatorHandle) -> Vec<String> {
    emu.agents()
        .into_iter()
        .filter(|a| a.status != AgentStatus::Stopped)
        .map(|a| format!("{} {:?}", a.agent_id, a.status))
        .collect()
}

#[test]
fn offline_with_good_credentials_passes() {
    let emu = emulator_with_sentinels();
    let out = ok(bare()
        .args(["doctor", "--app-id", emu.app_id()])
        .env("SHENGWANG_APP_CERTIFICATE", CERT));
    for check in [
        "app_id",
        "app_certificate",
        "customer",
        "area",
        "base_url",
        "tls",
        "token",
    ] {
        assert_eq!(verdict(&out, check), "ok", "{out}");
    }
    assert!(line(&out, "app_id").contains(emu.app_id()));
    assert!(line(&out, "base_url").contains("https://api.agora.io/cn/api/conversational-ai-agent"));
    assert!(line(&out, "tls").contains("rustls"), "{out}");
    let token = line(&out, "token");
    assert!(
        token.contains("rtc") && token.contains("expires"),
        "{token}"
    );
    assert!(!out.contains("007eJ") && !out.contains(CERT), "{out}");
    // Nothing was sent.
    assert!(emu.recent_requests().is_empty());
}

#[test]
fn malformed_certificate_fails_without_showing_it() {
    let bad = "SENTINEL-not-a-certificate-xyz12";
    for json in [false, true] {
        let mut cmd = bare();
        cmd.args(["doctor", "--app-id", "0123456789abcdef0123456789abcdef"])
            .env("SHENGWANG_APP_CERTIFICATE", bad);
        if json {
            cmd.arg("--json");
        }
        let (code, stdout, stderr) = run(&mut cmd);
        assert_eq!(code, Some(1), "{stdout}{stderr}");
        assert!(!stdout.contains(bad) && !stderr.contains(bad));
        assert!(stderr.contains("doctor checks failed"), "{stderr}");
        if json {
            let report: Value = serde_json::from_str(stdout.trim()).expect("one JSON report");
            assert_eq!(report["result"], "fail");
            let cert = json_check(&report, "app_certificate");
            assert_eq!(cert["status"], "fail");
            assert!(cert["reason"]
                .as_str()
                .unwrap_or("")
                .contains("32 hexadecimal"));
            assert_eq!(json_check(&report, "token")["status"], "skip");
        } else {
            assert_eq!(verdict(&stdout, "app_certificate"), "fail");
            assert!(line(&stdout, "app_certificate").contains("32 hexadecimal"));
            assert_eq!(verdict(&stdout, "app_id"), "ok");
        }
    }
}

#[test]
fn half_a_customer_pair_and_a_bad_area_fail() {
    let (code, stdout, _) = run(bare().args([
        "doctor",
        "--app-id",
        "0123456789abcdef0123456789abcdef",
        "--app-certificate",
        CERT,
        "--customer-id",
        "someone",
        "--area",
        "mars",
    ]));
    assert_eq!(code, Some(1), "{stdout}");
    assert_eq!(verdict(&stdout, "customer"), "fail");
    assert!(line(&stdout, "customer").contains("--customer-secret"));
    assert_eq!(verdict(&stdout, "area"), "fail");
    assert_eq!(verdict(&stdout, "token"), "ok");
}

#[test]
fn live_in_app_credentials_mode_probes_and_stops_every_agent() {
    let emu = emulator_with_sentinels();
    let (code, stdout, stderr) = run(convoai(&emu).args(["doctor", "--live"]));
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert_eq!(verdict(&stdout, "auth_token"), "ok", "{stdout}");
    assert_eq!(verdict(&stdout, "auth_basic"), "skip");
    assert_eq!(verdict(&stdout, "clock"), "ok", "{stdout}");
    assert_eq!(verdict(&stdout, "probe_conflict"), "ok", "{stdout}");
    assert!(line(&stdout, "probe_conflict").contains("409"));
    assert_eq!(verdict(&stdout, "probe_name_reuse"), "ok", "{stdout}");
    assert!(
        line(&stdout, "probe_fields").contains("agent_id"),
        "{stdout}"
    );
    assert_eq!(verdict(&stdout, "probe_cleanup"), "ok");
    // The first agent and the one started again after the stop; none still runs.
    assert!(emu.agents().len() >= 2, "{:?}", emu.agents().len());
    assert!(
        running(&emu).is_empty(),
        "left running: {:?}",
        running(&emu)
    );
    for text in [&stdout, &stderr] {
        assert!(!text.contains(CERT) && !text.contains("007eJ"));
    }
}

#[test]
fn live_in_basic_mode_checks_both_modes_and_prints_no_secret() {
    let emu = emulator_with_sentinels();
    for json in [false, true] {
        let mut cmd = convoai(&emu);
        cmd.args(["doctor", "--live", "-vv"])
            .env("SHENGWANG_CUSTOMER_ID", CUSTOMER)
            .env("SHENGWANG_CUSTOMER_SECRET", SECRET);
        if json {
            cmd.arg("--json");
        }
        let (code, stdout, stderr) = run(&mut cmd);
        assert_eq!(code, Some(0), "{stdout}{stderr}");
        for text in [&stdout, &stderr] {
            assert!(!text.contains(SECRET), "secret printed: {text}");
            assert!(!text.contains(CERT), "certificate printed: {text}");
            assert!(!text.contains("007eJ"), "token printed: {text}");
        }
        if json {
            let report: Value = serde_json::from_str(stdout.trim()).expect("one JSON report");
            assert_eq!(report["live"], true);
            assert_eq!(report["app_id"], emu.app_id());
            for check in [
                "auth_token",
                "auth_basic",
                "probe_conflict",
                "probe_cleanup",
            ] {
                assert_eq!(json_check(&report, check)["status"], "ok", "{report}");
            }
            let fields = &json_check(&report, "probe_fields")["detail"];
            assert!(fields["get"].as_array().is_some_and(|f| !f.is_empty()));
            assert!(fields["conflict"].as_array().is_some_and(|f| !f.is_empty()));
            let skew = &json_check(&report, "clock")["detail"]["skew_seconds"];
            assert!(skew.as_i64().is_some_and(|s| s.abs() <= 2), "{report}");
        } else {
            assert_eq!(verdict(&stdout, "auth_basic"), "ok", "{stdout}");
            assert_eq!(verdict(&stdout, "auth_token"), "ok", "{stdout}");
            assert!(line(&stdout, "probe_conflict").contains("409"));
        }
        assert!(
            running(&emu).is_empty(),
            "left running: {:?}",
            running(&emu)
        );
    }
}

#[test]
fn live_with_a_certificate_the_service_does_not_know_fails() {
    let emu = emulator_with_sentinels();
    let other = "0000ffff0000ffff0000ffff0000ffff";
    let (code, stdout, stderr) = run(convoai(&emu)
        .args(["doctor", "--live"])
        .env("SHENGWANG_APP_CERTIFICATE", other));
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert_eq!(verdict(&stdout, "token"), "ok");
    assert_eq!(verdict(&stdout, "auth_token"), "fail", "{stdout}");
    assert_eq!(verdict(&stdout, "probe"), "skip");
    assert!(emu.agents().is_empty());
    assert!(!stdout.contains(other) && !stderr.contains(other));
}

#[test]
fn an_agent_that_cannot_be_stopped_is_named_with_its_id() {
    use convoai_emulator::{Fault, FaultRule};
    let emu = emulator_with_sentinels();
    emu.push_fault(
        FaultRule::new(Fault::status(403))
            .path_contains("/leave")
            .times(100),
    );
    let (code, stdout, stderr) = run(convoai(&emu).args(["doctor", "--live"]));
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert_eq!(verdict(&stdout, "probe_conflict"), "ok", "{stdout}");
    assert_eq!(verdict(&stdout, "probe_stop"), "fail", "{stdout}");
    let left = running(&emu);
    assert_eq!(left.len(), 1, "{left:?}");
    let id = emu.agents()[0].agent_id.clone();
    let cleanup = line(&stdout, "probe_cleanup");
    assert!(cleanup.starts_with("fail"), "{cleanup}");
    assert!(
        cleanup.contains(&format!("convoai agents stop {id}")),
        "{cleanup}"
    );
}
