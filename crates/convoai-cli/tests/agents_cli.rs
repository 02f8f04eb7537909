//! `convoai agents …`, `calls …`, `numbers …`, `config …`, `emulator` and `completions`
//! against an emulator the test starts on port 0.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command as StdCommand, Stdio};

use convoai_emulator::AgentStatus;
use serde_json::Value;
use support::*;

#[test]
fn start_list_say_history_stop_get() {
    let emu = emulator();
    let dir = tempfile::tempdir().unwrap();
    let id = started_agent(&emu, dir.path(), "room-1");
    assert!(
        !id.is_empty() && !id.contains(char::is_whitespace),
        "{id:?}"
    );
    let record = emu.agents().into_iter().find(|a| a.agent_id == id).unwrap();
    assert_eq!(record.channel, "room-1");
    assert_eq!(record.agent_rtc_uid, "1001", "[session] table applied");
    assert_eq!(record.status, AgentStatus::Running);

    let lines = ok(convoai(&emu).args(["agents", "list", "--json", "--channel", "room-1"]));
    let listed: Vec<Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["agent_id"], id.as_str());
    assert_eq!(listed[0]["status"], "RUNNING");
    let table = ok(convoai(&emu).args(["agents", "list"]));
    assert!(table.starts_with("AGENT ID"), "{table}");
    assert!(table.contains(&id) && table.contains("RUNNING"), "{table}");
    assert!(!table.contains('\x1b'), "no colour when piped: {table:?}");

    ok(convoai(&emu).args([
        "agents",
        "say",
        &id,
        "The CLI says hello",
        "--priority",
        "append",
    ]));
    let history = ok(convoai(&emu).args(["agents", "history", &id]));
    assert!(
        history.contains("assistant: The CLI says hello"),
        "{history}"
    );
    ok(convoai(&emu).args(["agents", "interrupt", &id]));
    ok(convoai(&emu).args(["agents", "think", &id, "what time is it?"]));

    let stopped = ok(convoai(&emu).args(["agents", "stop", &id]));
    assert_eq!(stopped.trim(), id);
    let got = ok(convoai(&emu).args(["agents", "get", &id]));
    assert!(got.contains("status:   STOPPED"), "{got}");
    let json: Value =
        serde_json::from_str(&ok(convoai(&emu).args(["agents", "get", &id, "--json"]))).unwrap();
    assert_eq!(json["status"], "STOPPED");
    // Stopping again is not an error: the agent exists and is stopped.
    ok(convoai(&emu).args(["agents", "stop", &id]));
}

#[test]
fn start_with_basic_auth_and_json_output() {
    let emu = emulator();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "agent.toml", &agent_toml("K"));
    let out = ok(convoai(&emu)
        .env("K", KEY)
        .env("TEST_MODEL", "m")
        .args(["--customer-id", emu.customer_id()])
        .args(["--customer-secret", emu.customer_secret()])
        .args(["agents", "start", "--json", "--name", "basic-1", "--config"])
        .arg(&cfg)
        .args([
            "--channel",
            "room-b",
            "--remote-uid",
            "7",
            "--remote-uid",
            "8",
        ]));
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["status"], "RUNNING");
    let record = emu.agents().into_iter().next().unwrap();
    assert_eq!(v["agent_id"], record.agent_id.as_str());
    assert_eq!(record.name, "basic-1");
}

#[test]
fn config_errors_are_usage_errors_naming_the_problem() {
    let emu = emulator();
    let dir = tempfile::tempdir().unwrap();
    let start = |path: &std::path::Path| {
        let mut c = convoai(&emu);
        c.env("K", KEY)
            .env("TEST_MODEL", "m")
            .args(["agents", "start", "--channel", "c", "--config"])
            .arg(path);
        c
    };
    let syntax = write(
        dir.path(),
        "syntax.toml",
        "instructions = \"ok\"\n[llm]\nvendor = \"custom\"\nurl = \n",
    );
    let err = fails(&mut start(&syntax), 2);
    assert!(err.contains("syntax.toml:4"), "line number: {err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");

    let unknown = write(
        dir.path(),
        "unknown.toml",
        &agent_toml("K").replace("vendor = \"stepfun\"", "vendor = \"nosuchvoice\""),
    );
    let err = fails(&mut start(&unknown), 2);
    assert!(
        err.contains("tts.vendor") && err.contains("stepfun"),
        "names the choices: {err}"
    );

    let missing = write(
        dir.path(),
        "missing.toml",
        &agent_toml("K").replace("voice_id = \"cixingnansheng\"", ""),
    );
    let err = fails(&mut start(&missing), 2);
    assert!(err.contains("tts.voice_id"), "{err}");

    let no_env = write(dir.path(), "noenv.toml", &agent_toml("NOT_SET_ANYWHERE"));
    let err = fails(&mut start(&no_env), 2);
    assert!(err.contains("NOT_SET_ANYWHERE"), "{err}");

    let err = fails(
        convoai(&emu).args([
            "agents",
            "start",
            "--config",
            "/nonexistent/agent.toml",
            "--channel",
            "c",
        ]),
        2,
    );
    assert!(err.contains("/nonexistent/agent.toml"), "{err}");
    assert!(emu.agents().is_empty(), "nothing was started");
}

#[test]
fn unknown_ids_exit_3_and_usage_errors_exit_2() {
    let emu = emulator();
    for cmd in [
        vec!["agents", "get", "NOSUCHAGENT"],
        vec!["agents", "history", "NOSUCHAGENT"],
        vec!["agents", "stop", "NOSUCHAGENT"],
        vec!["agents", "say", "NOSUCHAGENT", "hi"],
        vec!["calls", "get", "NOSUCHCALL"],
        vec!["numbers", "get", "+8613800000000"],
    ] {
        let err = fails(convoai(&emu).args(&cmd), 3);
        assert!(err.contains("404"), "{cmd:?}: {err}");
    }
    // clap's own errors and our validation.
    fails(convoai(&emu).args(["agents", "say", "ID"]), 2);
    fails(
        convoai(&emu).args(["agents", "list", "--state", "sleeping"]),
        2,
    );
    let err = fails(convoai(&emu).args(["agents", "say", "ID", ""]), 2);
    assert!(err.contains("text"), "{err}");
    let err = fails(bare().args(["agents", "list"]), 2);
    assert!(
        err.contains("--app-id") && err.contains("SHENGWANG_APP_ID"),
        "{err}"
    );
}

#[test]
fn api_errors_exit_1_naming_status_and_request_id_without_secrets() {
    let emu = emulator();
    let wrong_cert = "0123456789abcdef0123456789abcdef";
    let err = fails(
        convoai(&emu).args(["agents", "list", "--app-certificate", wrong_cert]),
        1,
    );
    assert!(err.contains("401"), "{err}");
    assert!(err.contains("request id"), "{err}");
    assert!(!err.contains(wrong_cert), "{err}");
    let secret = "NOT-THE-CUSTOMER-SECRET";
    let err = fails(
        convoai(&emu).args([
            "agents",
            "list",
            "--customer-id",
            emu.customer_id(),
            "--customer-secret",
            secret,
        ]),
        1,
    );
    assert!(err.contains("401"), "{err}");
    assert!(!err.contains(secret), "{err}");
    // Nothing listens here: a network error, exit 1, after the retries.
    let err = fails(
        convoai(&emu).args([
            "agents",
            "list",
            "--base-url",
            "http://127.0.0.1:9/api/conversational-ai-agent",
            "--timeout",
            "2",
        ]),
        1,
    );
    assert!(err.contains("connection"), "{err}");
}

#[test]
fn stop_all_in_a_channel_asks_unless_yes() {
    let emu = emulator();
    let dir = tempfile::tempdir().unwrap();
    let a = started_agent(&emu, dir.path(), "room-all");
    let b = started_agent(&emu, dir.path(), "room-all");
    let other = started_agent(&emu, dir.path(), "room-other");
    let err = fails(
        convoai(&emu).args(["agents", "stop", "--all", "--channel", "room-all"]),
        2,
    );
    assert!(err.contains("--yes"), "{err}");
    assert_eq!(
        emu.agents()
            .iter()
            .filter(|r| r.status == AgentStatus::Running)
            .count(),
        3,
        "nothing stopped without confirmation"
    );
    let out = ok(convoai(&emu).args(["agents", "stop", "--all", "--channel", "room-all", "--yes"]));
    let mut stopped: Vec<&str> = out.lines().collect();
    stopped.sort();
    let mut expected = vec![a.as_str(), b.as_str()];
    expected.sort();
    assert_eq!(stopped, expected);
    for r in emu.agents() {
        let want = if r.agent_id == other {
            AgentStatus::Running
        } else {
            AgentStatus::Stopped
        };
        assert_eq!(r.status, want, "{}", r.agent_id);
    }
    fails(convoai(&emu).args(["agents", "stop", "--all"]), 2);
}

#[test]
fn update_sends_the_new_prompt() {
    let emu = emulator();
    let dir = tempfile::tempdir().unwrap();
    let id = started_agent(&emu, dir.path(), "room-u");
    let cfg = write(
        dir.path(),
        "new.toml",
        &agent_toml("K").replace("You are a test agent.", "You are updated."),
    );
    let out = ok(convoai(&emu)
        .env("K", KEY)
        .env("TEST_MODEL", "m2")
        .args(["agents", "update", &id, "--json", "--config"])
        .arg(&cfg));
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["agent_id"], id.as_str());
    assert!(emu
        .recent_requests()
        .iter()
        .any(|r| r.method == "POST" && r.path.ends_with(&format!("agents/{id}/update"))));
}

/// `agents start --wait` in the background, read up to the agent's start; returns the
/// process, its stdout and stderr readers and the agent id, the first line of stdout. State
/// lines go to stderr.
fn spawn_wait(
    emu: &convoai_emulator::EmulatorHandle,
    cfg: &std::path::Path,
) -> (
    std::process::Child,
    BufReader<std::process::ChildStdout>,
    BufReader<std::process::ChildStderr>,
    String,
) {
    let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("convoai"))
        .env_remove("NO_COLOR")
        .envs(emulator_env(emu))
        .env("K", KEY)
        .env("TEST_MODEL", "m")
        .args([
            "agents",
            "start",
            "--wait",
            "--channel",
            "room-w",
            "--config",
        ])
        .arg(cfg)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut id = String::new();
    stdout.read_line(&mut id).unwrap();
    let id = id.trim().to_owned();
    assert!(
        !id.is_empty() && !id.contains(' '),
        "first stdout line: {id:?}"
    );
    read_until(&mut stderr, "state: starting -> running");
    (child, stdout, stderr, id)
}

fn read_until(reader: &mut impl BufRead, needle: &str) -> String {
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 {
            panic!("output ended before {needle:?}: {seen}");
        }
        seen.push_str(&line);
        if line.contains(needle) {
            return seen;
        }
    }
}

#[test]
fn wait_stops_the_agent_on_ctrl_c() {
    let emu = emulator();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "agent.toml", &agent_toml("K"));
    let (mut child, mut stdout, mut stderr, id) = spawn_wait(&emu, &cfg);
    assert_eq!(emu.agents()[0].status, AgentStatus::Running);
    let kill = StdCommand::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let rest = read_until(&mut stderr, "state: stopping -> stopped");
    assert!(rest.contains("state: running -> stopping"), "{rest}");
    assert!(wait_exit(&mut child).success());
    // `id=$(convoai agents start --wait …)` captures the id and nothing else.
    let mut after = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut after).unwrap();
    assert_eq!(after, "", "stdout after the id");
    let record = emu.agents().into_iter().find(|a| a.agent_id == id).unwrap();
    assert_eq!(record.status, AgentStatus::Stopped);
}

#[test]
fn wait_ends_when_the_agent_stops_elsewhere() {
    let emu = emulator();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "agent.toml", &agent_toml("K"));
    let (mut child, _stdout, mut stderr, id) = spawn_wait(&emu, &cfg);
    ok(convoai(&emu).args(["agents", "stop", &id]));
    let rest = read_until(&mut stderr, "RUNNING -> STOPPED");
    assert!(rest.contains(&id), "{rest}");
    assert!(wait_exit(&mut child).success());
}

#[test]
fn calls_create_list_get_hangup() {
    let emu = emulator();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "agent.toml", &agent_toml("K"));
    let id = ok(convoai(&emu)
        .env("K", KEY)
        .env("TEST_MODEL", "m")
        .args([
            "calls",
            "create",
            "--to",
            "+8613800138000",
            "--from",
            "+861080000000",
        ])
        .args(["--channel", "call-1", "--config"])
        .arg(&cfg))
    .trim()
    .to_owned();
    let listed = ok(convoai(&emu).args(["calls", "list", "--json"]));
    let v: Value = serde_json::from_str(listed.lines().next().unwrap()).unwrap();
    assert_eq!(v["agent_id"], id.as_str());
    let table = ok(convoai(&emu).args(["calls", "list", "--all"]));
    assert!(
        table.contains(&id) && table.contains("+8613800138000"),
        "{table}"
    );
    let got = ok(convoai(&emu).args(["calls", "get", &id]));
    assert!(got.contains("answered"), "{got}");
    ok(convoai(&emu).args(["calls", "hangup", &id]));
    let got = ok(convoai(&emu).args(["calls", "get", &id, "--json"]));
    let v: Value = serde_json::from_str(got.trim()).unwrap();
    assert_eq!(v["state"], "hangup");
    // A pipeline call needs no config file; a bad number is refused before sending.
    ok(convoai(&emu)
        .args([
            "calls",
            "create",
            "--to",
            "+8613800138001",
            "--from",
            "+861080000000",
        ])
        .args(["--channel", "call-2", "--pipeline-id", "p-1"]));
    let err = fails(
        convoai(&emu).args([
            "calls",
            "create",
            "--to",
            "12345",
            "--from",
            "+861080000000",
            "--channel",
            "c",
            "--pipeline-id",
            "p",
        ]),
        2,
    );
    assert!(err.contains("to_number"), "{err}");
}

#[test]
fn numbers_add_list_get_update_delete() {
    let emu = emulator();
    let number = "+8613800138000";
    let out = ok(convoai(&emu)
        .args([
            "numbers",
            "add",
            number,
            "--provider",
            "byo",
            "--label",
            "support",
        ])
        .args([
            "--outbound",
            "--sip-address",
            "sip.example.com",
            "--allowed-address",
            "127.0.0.0/8",
        ]));
    assert_eq!(out.trim(), number);
    let table = ok(convoai(&emu).args(["numbers", "list"]));
    assert!(
        table.contains(number) && table.contains("support"),
        "{table}"
    );
    ok(convoai(&emu).args(["numbers", "update", number, "--inbound-pipeline", "p-9"]));
    let v: Value =
        serde_json::from_str(&ok(convoai(&emu).args(["numbers", "get", number, "--json"])))
            .unwrap();
    assert_eq!(v["associated_pipeline"]["pipeline_id"], "p-9");
    assert_eq!(v["outbound_config"]["address"], "sip.example.com");
    ok(convoai(&emu).args(["numbers", "update", number, "--clear-inbound"]));
    let v: Value =
        serde_json::from_str(&ok(convoai(&emu).args(["numbers", "get", number, "--json"])))
            .unwrap();
    assert_eq!(v["associated_pipeline"], Value::Null);
    fails(convoai(&emu).args(["numbers", "update", number]), 2);
    ok(convoai(&emu).args(["numbers", "delete", number]));
    fails(convoai(&emu).args(["numbers", "get", number]), 3);
}

#[test]
fn config_init_then_check_prints_the_request_with_secrets_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent.toml");
    ok(bare().current_dir(dir.path()).args(["config", "init"]));
    let sample = std::fs::read_to_string(&path).unwrap();
    assert!(sample.contains("[llm]") && sample.contains("# [avatar]") || sample.contains("avatar"));
    let err = fails(bare().current_dir(dir.path()).args(["config", "init"]), 2);
    assert!(err.contains("--force"), "{err}");
    ok(bare()
        .current_dir(dir.path())
        .args(["config", "init", "--force"]));

    let secret = "SENTINEL-LLM-KEY-0451";
    let out = ok(bare()
        .env("LLM_URL", "https://llm.example/v1")
        .env("LLM_API_KEY", secret)
        .env("MINIMAX_KEY", "SENTINEL-MINIMAX-KEY")
        .args(["config", "check"])
        .arg(&path)
        .args(["--channel", "room-c"]));
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["properties"]["channel"], "room-c");
    assert_eq!(v["properties"]["llm"]["vendor"], "aliyun");
    assert_eq!(v["properties"]["llm"]["url"], "https://llm.example/v1");
    assert_eq!(v["properties"]["llm"]["api_key"], "[redacted]");
    assert_eq!(v["properties"]["tts"]["vendor"], "minimax");
    assert_eq!(v["properties"]["tts"]["params"]["key"], "[redacted]");
    assert_eq!(v["properties"]["token"], "[redacted]");
    assert!(!out.contains(secret) && !out.contains("SENTINEL-MINIMAX-KEY"));
    // The sample's placeholders are required: without them the check names the variable.
    let err = fails(bare().args(["config", "check"]).arg(&path), 2);
    assert!(
        err.contains("LLM_URL") || err.contains("LLM_API_KEY") || err.contains("MINIMAX_KEY"),
        "{err}"
    );
    let stdout = ok(bare().args(["config", "init", "-"]));
    assert_eq!(stdout, sample);
}

#[test]
fn emulator_subcommand_serves_the_api() {
    let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("convoai"))
        .args(["emulator", "--port", "0"])
        .env_remove("SHENGWANG_APP_ID")
        .env_remove("SHENGWANG_APP_CERTIFICATE")
        .env_remove("SHENGWANG_CUSTOMER_ID")
        .env_remove("SHENGWANG_CUSTOMER_SECRET")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let text = read_until(&mut stdout, "export SHENGWANG_BASE_URL=");
    let var = |name: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(&format!("export {name}=")))
            .unwrap()
            .to_owned()
    };
    let listed = ok(bare()
        .env("SHENGWANG_APP_ID", var("SHENGWANG_APP_ID"))
        .env(
            "SHENGWANG_APP_CERTIFICATE",
            var("SHENGWANG_APP_CERTIFICATE"),
        )
        .env("SHENGWANG_BASE_URL", var("SHENGWANG_BASE_URL"))
        .args(["agents", "list"]));
    assert!(listed.starts_with("AGENT ID"), "{listed}");
    StdCommand::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(wait_exit(&mut child).success());
}

#[test]
fn completions_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let script = ok(bare().args(["completions", shell]));
        assert!(
            script.contains("convoai") && script.contains("agents"),
            "{shell}"
        );
    }
    fails(bare().args(["completions", "tcsh"]), 2);
}

#[test]
fn list_pages_limits_and_filters() {
    let emu = emulator();
    let dir = tempfile::tempdir().unwrap();
    let ids: Vec<String> = (0..25)
        .map(|_| started_agent(&emu, dir.path(), "room-p"))
        .collect();
    ok(convoai(&emu).args(["agents", "stop", &ids[0]]));
    let count = |args: &[&str]| ok(convoai(&emu).args(args).arg("--json")).lines().count();
    assert_eq!(count(&["agents", "list"]), 20, "one page by default");
    assert_eq!(count(&["agents", "list", "--limit", "5"]), 5);
    assert_eq!(count(&["agents", "list", "--all"]), 25, "every page");
    assert_eq!(
        count(&["agents", "list", "--all", "--state", "running"]),
        24
    );
    assert_eq!(count(&["agents", "list", "--all", "--state", "stopped"]), 1);
    assert_eq!(
        count(&["agents", "list", "--all", "--channel", "elsewhere"]),
        0
    );
    fails(
        convoai(&emu).args(["agents", "list", "--all", "--limit", "3"]),
        2,
    );
}

#[test]
fn json_and_yaml_config_files_start_the_same_agent() {
    let emu = emulator();
    let dir = tempfile::tempdir().unwrap();
    let json = r#"{"instructions": "JSON agent", "session": {"agent_uid": "11", "remote_uids": ["22"]},
        "llm": {"vendor": "deepseek", "url": "https://llm.example", "api_key": "${K}"},
        "tts": {"vendor": "cosyvoice", "api_key": "${K}", "model": "m", "voice": "v"}}"#;
    let yaml = "instructions: YAML agent\nsession:\n  agent_uid: \"12\"\n  remote_uids: [\"22\"]\nllm:\n  vendor: tencent\n  url: https://llm.example\ntts:\n  vendor: microsoft\n  key: ${K}\n  region: chinaeast2\n  voice_name: zh-CN-XiaoxiaoNeural\n";
    for (name, text, uid) in [("a.json", json, "11"), ("a.yaml", yaml, "12")] {
        let path = write(dir.path(), name, text);
        let id = ok(convoai(&emu)
            .env("K", KEY)
            .args(["agents", "start", "--channel", "fmt", "--config"])
            .arg(&path));
        let record = emu
            .agents()
            .into_iter()
            .find(|a| a.agent_id == id.trim())
            .unwrap();
        assert_eq!(record.agent_rtc_uid, uid, "{name}");
    }
}
