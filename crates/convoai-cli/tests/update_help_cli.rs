//! `convoai agents update --help` says that it replaces the agent's params (the CLI cannot
//! know what an agent started with, so it cannot merge).

mod support;

use support::*;

#[test]
fn agents_update_help_says_it_replaces() {
    let help = ok(bare().args(["agents", "update", "--help"]));
    let text = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(text.contains("This replaces, it does not merge"), "{help}");
    assert!(
        text.contains("a param the file leaves out is gone"),
        "{help}"
    );
    let short = ok(bare().args(["agents", "--help"]));
    assert!(
        short.contains("Replace a running agent's prompt"),
        "{short}"
    );
}
