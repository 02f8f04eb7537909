//! The first hour of a new user (issue #26): a base URL given as the emulator prints it
//! (`http://HOST:PORT`), `-v` showing where each request goes, and an LLM URL without its
//! scheme caught by `config check`.

mod support;

use support::*;

#[test]
fn a_host_only_base_url_reaches_the_api() {
    let emu = emulator();
    let listed = ok(convoai(&emu)
        .env("SHENGWANG_BASE_URL", emu.url())
        .args(["agents", "list"]));
    assert!(listed.starts_with("AGENT ID"), "{listed}");
    // A trailing slash is the same URL.
    let listed = ok(convoai(&emu)
        .env("SHENGWANG_BASE_URL", format!("{}/", emu.url()))
        .args(["agents", "list"]));
    assert!(listed.starts_with("AGENT ID"), "{listed}");
}

#[test]
fn a_base_url_with_another_path_fails_with_the_expected_shape() {
    let emu = emulator();
    let url = emu.url();
    let err = fails(
        convoai(&emu)
            .env("SHENGWANG_BASE_URL", format!("{url}/foo"))
            .args(["agents", "list"]),
        2,
    );
    let expected = format!(
        "path `/foo` is not the API path; use `{url}` or `{url}/cn/api/conversational-ai-agent`"
    );
    assert!(err.contains(&expected), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    // The same rule for the flag, and credentials in the URL are never echoed.
    let err = fails(
        convoai(&emu)
            .args(["--base-url", "http://me:SENTINEL-PASS@127.0.0.1:9/foo"])
            .args(["agents", "list"]),
        2,
    );
    assert!(
        err.contains("base_url") && !err.contains("SENTINEL"),
        "{err}"
    );
}

#[test]
fn verbose_shows_each_request_with_its_full_url() {
    let emu = emulator();
    let out = convoai(&emu)
        .env("SHENGWANG_BASE_URL", emu.url())
        .args(["-v", "agents", "list", "--channel", "room-42"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    let expected = format!(
        "GET {}/cn/api/conversational-ai-agent/v2/projects/{}/agents?",
        emu.url(),
        emu.app_id()
    );
    let line = stderr
        .lines()
        .find(|l| l.contains(&expected))
        .unwrap_or_else(|| panic!("no request line {expected:?} in:\n{stderr}"));
    assert!(line.contains("channel=room-42"), "{line}");
    assert!(!stderr.contains(emu.app_certificate()), "{stderr}");
    // Without -v no request is logged.
    let quiet = convoai(&emu)
        .env("SHENGWANG_BASE_URL", emu.url())
        .args(["agents", "list"])
        .output()
        .unwrap();
    let quiet = String::from_utf8(quiet.stderr).unwrap();
    assert!(!quiet.contains("GET http"), "{quiet}");
}

#[test]
fn config_check_refuses_an_llm_url_without_its_scheme() {
    let dir = tempfile::tempdir().unwrap();
    let good = agent_toml("LLM_KEY");
    let bad = good.replace(
        "url = \"https://llm.example/v1/chat/completions\"",
        "url = \"${LLM_URL}\"",
    );
    assert_ne!(good, bad, "the support config changed");
    let path = write(dir.path(), "agent.toml", &bad);
    let check = |url: &str| {
        let mut c = bare();
        c.env("LLM_KEY", "sk-SENTINEL")
            .env("TEST_MODEL", "m")
            .env("LLM_URL", url)
            .args(["config", "check"])
            .arg(&path);
        c
    };
    let err = fails(&mut check("llm.example/v1/chat/completions"), 2);
    assert!(err.contains("llm.url"), "{err}");
    assert!(err.contains("https://"), "{err}");
    assert!(
        !err.contains("llm.example") && !err.contains("SENTINEL"),
        "{err}"
    );
    ok(&mut check("https://llm.example/v1/chat/completions"));
}
