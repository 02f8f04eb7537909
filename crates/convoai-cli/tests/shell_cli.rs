//! What a shell user sees: a reader that goes away early (`| head`), tables in a pipe, and
//! messages that say why a setting is needed.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command as StdCommand, Output, Stdio};

use support::*;

const APP_ID: &str = "970CA35de60c44645bbae8a215061b33";
const CERT: &str = "5CFd2fd1755d40ecb72977518be15d3b";

/// `convoai` as `std::process::Command` (to wire stdout and stderr by hand), with no
/// `SHENGWANG_*` setting of the machine, pointed at `emu` if given.
fn raw(emu: Option<&convoai_emulator::EmulatorHandle>) -> StdCommand {
    let mut c = StdCommand::new(assert_cmd::cargo::cargo_bin("convoai"));
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("SHENGWANG_") {
            c.env_remove(k);
        }
    }
    c.env_remove("RUST_LOG").stdin(Stdio::null());
    if let Some(emu) = emu {
        c.envs(emulator_env(emu));
    }
    c
}

/// Runs `c` with stdout (and, with `close_stderr`, stderr) going into a pipe whose reader is
/// already gone: every write fails with a broken pipe.
fn into_closed_pipe(mut c: StdCommand, close_stderr: bool) -> Output {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    if close_stderr {
        c.stderr(Stdio::from(writer.try_clone().expect("clone")));
    }
    c.stdout(Stdio::from(writer));
    c.output().expect("runs")
}

/// A quiet end: no panic (exit 101 and its message) and nothing else on stderr.
fn assert_quiet(what: &str, out: &Output, code: i32) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{what}: {stderr}");
    assert!(!stderr.contains("panicked"), "{what}: {stderr}");
    assert!(stderr.is_empty(), "{what}: nothing to say: {stderr}");
}

fn started_agent(emu: &convoai_emulator::EmulatorHandle, dir: &std::path::Path) -> String {
    let cfg = write(dir, "agent.toml", &agent_toml("TEST_VENDOR_KEY"));
    let out = ok(convoai(emu)
        .env("TEST_VENDOR_KEY", "SENTINEL-VENDOR-KEY-2")
        .env("TEST_MODEL", "m1")
        .args(["agents", "start", "--channel", "room-pipe", "--config"])
        .arg(&cfg));
    out.trim().to_owned()
}

#[test]
fn a_reader_that_goes_away_ends_every_command_quietly() {
    let mut c = raw(None);
    c.args(["completions", "bash"]);
    assert_quiet("completions bash", &into_closed_pipe(c, false), 0);

    // `| head -1`: one line read, then the reader is gone.
    let mut child = raw(None)
        .args(["completions", "zsh"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(!first.is_empty());
    assert_quiet(
        "completions zsh | head -1",
        &child.wait_with_output().unwrap(),
        0,
    );

    let token = ok(bare()
        .args(["token", "rtc", "--channel", "demo", "--uid", "7"])
        .args(["--app-id", APP_ID, "--app-certificate", CERT]));
    let mut c = raw(None);
    c.args(["token", "decode", token.trim()]);
    assert_quiet("token decode", &into_closed_pipe(c, false), 0);

    let emu = emulator();
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..3 {
        started_agent(&emu, dir.path());
    }
    for json in [false, true] {
        let mut c = raw(Some(&emu));
        c.args(["agents", "list"]);
        if json {
            c.arg("--json");
        }
        assert_quiet("agents list", &into_closed_pipe(c, false), 0);
    }

    // An error with stderr gone too: the exit code still says what happened.
    let mut c = raw(Some(&emu));
    c.args(["agents", "get", "NOSUCHAGENT"]);
    let out = into_closed_pipe(c, true);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
}

/// `convoai emulator | head -1`: the server keeps serving when its stdout reader is gone.
#[test]
fn the_emulator_outlives_its_stdout_reader() {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let mut child = raw(None)
        .args(["emulator", "--host", "127.0.0.1", "--port", "0"])
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(2));
    let running = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(running, "ended early: {:?} {stderr}", out.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_piped_agent_list_is_the_same_table_without_colour() {
    let emu = emulator();
    let dir = tempfile::tempdir().unwrap();
    let id = started_agent(&emu, dir.path());
    let table = ok(convoai(&emu).args(["agents", "list"]));
    assert!(
        !table.contains('\x1b'),
        "no colour codes in a pipe: {table:?}"
    );
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2, "{table}");
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["AGENT", "ID", "STATUS", "STARTED"],
        "{table}"
    );
    // Aligned columns, as on a terminal: `awk '{print $2}'` is the status.
    let column = lines[0].find("STATUS").unwrap();
    assert_eq!(&lines[1][..id.len()], id, "{table}");
    assert_eq!(
        &lines[1][column..column + "RUNNING".len()],
        "RUNNING",
        "{table}"
    );
    assert_eq!(
        lines[1].split_whitespace().nth(1),
        Some("RUNNING"),
        "{table}"
    );
}

#[test]
fn basic_credentials_without_a_certificate_say_why_it_is_needed() {
    let err = fails(
        bare().args(["agents", "list", "--app-id", APP_ID]).args([
            "--customer-id",
            "cust-1",
            "--customer-secret",
            "SENTINEL-CUSTOMER-SECRET",
        ]),
        2,
    );
    assert!(err.contains("missing --app-certificate"), "{err}");
    assert!(
        err.contains("Basic") && err.contains("signs the token"),
        "says why: {err}"
    );
    assert!(!err.contains("SENTINEL"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
}
