//! `convoai`: agents, calls, phone numbers, tokens and the local emulator, from a shell.
//!
//! Data goes to stdout, messages to stderr, both through `output`, which neutralises server
//! text. Exit codes: 0 ok (also when the reader of stdout went away, as in `convoai … | head`),
//! 1 API, network or verification failure, 2 usage or invalid input, 3 not found.

mod cli;
mod commands;
mod config;
mod error;
mod files;
mod output;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return error::report_clap(e),
    };
    init_tracing(cli.global.verbose);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            output::stderr_line(&format!("error: cannot start the async runtime: {e}"));
            return ExitCode::from(1);
        }
    };
    let mut stdout = std::io::stdout().lock();
    match runtime.block_on(commands::run(cli, &mut stdout)) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`convoai … | head`): nothing more to say to anyone.
        Err(error::CliError::Closed) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = stdout.flush();
            output::stderr_line(&format!("error: {e}"));
            ExitCode::from(e.exit_code())
        }
    }
}

/// `-v`: each request of this tool and the SDK; `-vv`: everything they trace. Other crates stay
/// at `warn` even then: the SDK's tracing is tested to carry no secret, theirs is not ours to
/// promise. `RUST_LOG` overrides both.
fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => return,
        1 => "warn,shengwang_agent=debug,convoai=debug,convoai_emulator=info",
        _ => "warn,shengwang_agent=trace,convoai=trace,convoai_emulator=debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| output::LogWriter)
        .with_ansi(false)
        .init();
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        super::cli::Cli::command().debug_assert();
    }

    /// Every leaf command's `--help` ends with an example line.
    #[test]
    fn every_command_has_an_example() {
        fn walk(cmd: &clap::Command, path: String, missing: &mut Vec<String>) {
            let subs: Vec<_> = cmd
                .get_subcommands()
                .filter(|c| c.get_name() != "help")
                .collect();
            if subs.is_empty() {
                let after = cmd
                    .get_after_help()
                    .map(|h| h.to_string())
                    .unwrap_or_default();
                if !after.contains("Example:\n  convoai ") {
                    missing.push(path.clone());
                }
            }
            for sub in subs {
                walk(sub, format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&super::cli::Cli::command(), "convoai".into(), &mut missing);
        assert!(missing.is_empty(), "no example: {missing:?}");
    }

    /// Help is plain text: Markdown backticks from doc comments or the Cargo description
    /// would show literally.
    #[test]
    fn no_help_text_has_backticks() {
        fn walk(cmd: &mut clap::Command, path: String, found: &mut Vec<String>) {
            let help = cmd.render_long_help().to_string();
            if help.contains('`') {
                let lines: Vec<_> = help.lines().filter(|l| l.contains('`')).collect();
                found.push(format!("{path}: {lines:?}"));
            }
            let names: Vec<String> = cmd
                .get_subcommands()
                .map(|c| c.get_name().to_owned())
                .collect();
            for name in names {
                if let Some(sub) = cmd.find_subcommand_mut(&name) {
                    walk(sub, format!("{path} {name}"), found);
                }
            }
        }
        let mut found = Vec::new();
        let mut cmd = super::cli::Cli::command();
        cmd.build();
        walk(&mut cmd, "convoai".into(), &mut found);
        assert!(found.is_empty(), "{found:#?}");
    }
}
