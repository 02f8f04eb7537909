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
mod listen;
mod logging;
mod output;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return error::report_clap(e),
    };
    // Before the runtime: `serve`'s OpenTelemetry exporters run on threads of their own.
    let telemetry = match &cli.command {
        cli::Command::Serve(args) => Some(commands::serve::telemetry::init(
            cli.global.verbose,
            args.log_format,
        )),
        _ => {
            logging::init_cli(cli.global.verbose);
            None
        }
    };
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
    let result = runtime.block_on(commands::run(cli, &mut stdout));
    drop(runtime);
    // Outside the runtime: the last OTLP export blocks until it is sent (bounded).
    if let Some(telemetry) = telemetry {
        telemetry.shutdown();
    }
    match result {
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
