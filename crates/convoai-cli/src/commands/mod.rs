//! One module per noun; `run` dispatches.

mod token;

use std::io::Write;

use crate::cli::{Cli, Command};
use crate::error::CliError;

pub fn run(cli: Cli, out: &mut impl Write) -> Result<(), CliError> {
    match cli.command {
        Command::Token(cmd) => token::run(cmd, out),
    }
}
