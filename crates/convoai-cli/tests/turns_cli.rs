//! `convoai agents turns`: a table, JSON lines, pages and `--all`, against an emulator.

mod support;

use serde_json::Value;
use support::*;

#[test]
fn turns_as_a_table_json_lines_pages_and_all() {
    let emu = emulator();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "agent.toml", &agent_toml("TEST_VENDOR_KEY"));
    let id = ok(convoai(&emu)
        .env("TEST_VENDOR_KEY", "k")
        .env("TEST_MODEL", "m1")
        .args(["agents", "start", "--config"])
        .arg(&cfg)
        .args(["--channel", "turns-1"]))
    .trim()
    .to_owned();
    for text in ["one", "two", "three"] {
        ok(convoai(&emu).args(["agents", "say", &id, text, "--priority", "append"]));
    }
    // greeting + three speaks
    let table = ok(convoai(&emu).args(["agents", "turns", &id]));
    let mut lines = table.lines();
    assert!(lines.next().unwrap().starts_with("TURN"), "{table}");
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 4, "{table}");
    assert!(
        rows[0].contains("greeting") && rows[0].contains("ok"),
        "{table}"
    );
    assert!(rows[1].contains("api_speak"), "{table}");

    let json = ok(convoai(&emu).args(["agents", "turns", &id, "--json", "--page-size", "3"]));
    let turns: Vec<Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(turns.len(), 3, "first page only");
    assert_eq!(turns[0]["start"]["type"], "greeting");
    assert!(turns[0]["metrics"]["e2e_latency_ms"].as_u64().unwrap() > 0);

    let page2 = ok(convoai(&emu).args([
        "agents",
        "turns",
        &id,
        "--json",
        "--page-size",
        "3",
        "--page",
        "2",
    ]));
    assert_eq!(page2.lines().count(), 1);
    let all = ok(convoai(&emu).args([
        "agents",
        "turns",
        &id,
        "--json",
        "--page-size",
        "3",
        "--all",
    ]));
    let ids: Vec<u64> = all
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["turn_id"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(ids, [1, 2, 3, 4]);

    // Bad arguments are refused before anything is sent.
    let err = fails(
        convoai(&emu).args(["agents", "turns", &id, "--page", "0"]),
        2,
    );
    assert!(err.contains("--page"), "{err}");
    let err = fails(
        convoai(&emu).args(["agents", "turns", &id, "--all", "--page", "2"]),
        2,
    );
    assert!(err.contains("--all") || err.contains("--page"), "{err}");
    // An unknown agent is the service's 404, named.
    let err = fails(convoai(&emu).args(["agents", "turns", "NOSUCHAGENT"]), 3);
    assert!(
        err.contains("404") || err.to_lowercase().contains("not found"),
        "{err}"
    );
}
