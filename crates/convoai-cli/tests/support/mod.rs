//! Helpers for the CLI tests: an in-process emulator on port 0 and `convoai` pointed at it.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use convoai_emulator::{Emulator, EmulatorHandle};

/// An emulator on an ephemeral loopback port, with its own runtime.
pub fn emulator() -> EmulatorHandle {
    Emulator::builder().start().expect("emulator starts")
}

/// `convoai` with no `SHENGWANG_*` or colour settings inherited from the machine.
pub fn bare() -> Command {
    let mut c = Command::cargo_bin("convoai").expect("binary built");
    for var in [
        "SHENGWANG_APP_ID",
        "SHENGWANG_APP_CERTIFICATE",
        "SHENGWANG_CUSTOMER_ID",
        "SHENGWANG_CUSTOMER_SECRET",
        "SHENGWANG_BASE_URL",
        "SHENGWANG_AREA",
        "SHENGWANG_CA_CERT",
        "RUST_LOG",
        "NO_COLOR",
    ] {
        c.env_remove(var);
    }
    c.timeout(std::time::Duration::from_secs(60));
    c
}

/// The variables that point `convoai` at `emu` with its app credentials.
pub fn emulator_env(emu: &EmulatorHandle) -> [(&'static str, String); 3] {
    [
        ("SHENGWANG_APP_ID", emu.app_id().to_owned()),
        (
            "SHENGWANG_APP_CERTIFICATE",
            emu.app_certificate().to_owned(),
        ),
        ("SHENGWANG_BASE_URL", emu.base_url()),
    ]
}

/// `convoai` with the emulator's app credentials and base URL in the environment.
pub fn convoai(emu: &EmulatorHandle) -> Command {
    let mut c = bare();
    c.envs(emulator_env(emu));
    c
}

/// Runs the command, asserts exit 0 and returns stdout.
pub fn ok(cmd: &mut Command) -> String {
    let out = cmd.output().expect("runs");
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Runs the command, asserts the exit code and returns stderr.
pub fn fails(cmd: &mut Command, code: i32) -> String {
    let out = cmd.output().expect("runs");
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stderr).expect("utf-8")
}

/// A cascade agent config (StepFun TTS, custom LLM) whose LLM key comes from `${key_var}`.
pub fn agent_toml(key_var: &str) -> String {
    format!(
        r#"
instructions = "You are a test agent."
greeting = "Hello from the CLI test"

[session]
agent_uid = "1001"
remote_uids = ["2002"]
idle_timeout = 30

[llm]
vendor = "custom"
url = "https://llm.example/v1/chat/completions"
api_key = "${{{key_var}}}"
model = "${{TEST_MODEL}}"

[tts]
vendor = "stepfun"
api_key = "${{{key_var}}}"
model = "step-tts-mini"
voice_id = "cixingnansheng"

[stt]
vendor = "fengming"
"#
    )
}

/// Writes `text` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write config");
    path
}

/// The vendor key the tests' agent files read from the environment.
pub const KEY: &str = "vendor-key-from-env";

/// Starts an agent in `channel` with `convoai agents start` and returns its id.
pub fn started_agent(emu: &EmulatorHandle, dir: &Path, channel: &str) -> String {
    let cfg = write(dir, "agent.toml", &agent_toml("TEST_VENDOR_KEY"));
    let out = ok(convoai(emu)
        .env("TEST_VENDOR_KEY", KEY)
        .env("TEST_MODEL", "m1")
        .args(["agents", "start", "--config"])
        .arg(&cfg)
        .args(["--channel", channel]));
    out.trim().to_owned()
}

/// Waits (at most 30 s) for `child` to exit.
pub fn wait_exit(child: &mut std::process::Child) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(std::time::Instant::now() < deadline, "convoai did not exit");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
