//! `convoai`: tokens, agent operations and the local emulator, from a shell.
//!
//! Data goes to stdout, messages to stderr. Exit codes: 0 ok, 1 API, network or verification
//! failure, 2 usage or invalid input, 3 not found.

mod cli;
mod commands;
mod error;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return error::report_clap(e),
    };
    let mut stdout = std::io::stdout().lock();
    match commands::run(cli, &mut stdout) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = stdout.flush();
            eprintln!("error: {e}");
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
}
