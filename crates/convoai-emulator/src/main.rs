//! `convoai-emulator`: run the local ConvoAI REST API emulator until Ctrl-C.

use std::process::ExitCode;

use clap::Parser;
use convoai_emulator::cli::EmulatorArgs;

/// A local, stateful emulator of the ConvoAI REST API.
#[derive(Parser)]
#[command(name = "convoai-emulator", version, about)]
struct Cli {
    #[command(flatten)]
    args: EmulatorArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    match Cli::parse().args.serve().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
