//! The quickstart says where it talks to: with the emulator's exports set (the README's second
//! terminal) it must print the emulator's base URL, not claim to use the service.
//!
//! Runs the example binary that `cargo test` builds next to this test; a narrow run
//! (`--test quickstart_output` alone) does not build examples, and then this test says so and
//! passes without checking.

use std::path::PathBuf;
use std::process::Command;

use convoai_emulator::Emulator;

fn example(name: &str) -> Option<PathBuf> {
    // target/<profile>/deps/<this test> → target/<profile>/examples/<name>
    let exe = std::env::current_exe().ok()?;
    let path = exe
        .parent()?
        .parent()?
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    path.exists().then_some(path)
}

#[test]
fn quickstart_prints_the_base_url_it_talks_to() {
    let Some(bin) = example("quickstart") else {
        eprintln!("examples not built in this run: build them with `cargo test -p shengwang-agent` or `cargo build --examples`");
        return;
    };
    let emu = Emulator::builder().start().unwrap();
    let out = Command::new(bin)
        .env("SHENGWANG_APP_ID", emu.app_id())
        .env("SHENGWANG_APP_CERTIFICATE", emu.app_certificate())
        .env("SHENGWANG_BASE_URL", emu.base_url())
        .env_remove("SHENGWANG_CUSTOMER_ID")
        .env_remove("SHENGWANG_CUSTOMER_SECRET")
        .env_remove("SHENGWANG_AREA")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("talking to {}", emu.base_url())),
        "{stdout}"
    );
    assert!(!stdout.contains("using the ConvoAI service"), "{stdout}");
    // And it really did: the emulator saw the session's agent.
    assert_eq!(emu.agents().len(), 1);
}
