//! `convoai-emulator`: run the local ConvoAI REST API emulator until Ctrl-C.

use std::process::ExitCode;

use clap::Parser;
use convoai_emulator::cli::EmulatorArgs;

/// A local, stateful emulator of the ConvoAI REST API.
#[derive(Parser)]
#[command(
    name = "convoai-emulator",
    version,
    about,
    after_help = "Admin API (loopback only) under /_emulator/, for tests and the dashboard at /_emulator/ui:\n  \
    POST /_emulator/agents/{id}/token-expiring    send a token-expiry notice (104)\n  \
    POST /_emulator/agents/{id}/error | /fail     a module error (110) | a failure (102)\n  \
    POST /_emulator/inbound-calls                 a call arrives: {\"to_number\", \"from_number\", \"labels\"}\n  \
    POST /_emulator/inbound-calls/{id}/hangup     the caller hangs up (201 HANGUP)\n  \
    POST /_emulator/inbound-calls/{id}/transfer   handed to a human (201 TRANSFERED)\n  \
    POST /_emulator/webhook, /_emulator/webhook/faults, GET /_emulator/callbacks\n\n\
Example:\n  convoai-emulator --port 8080 --webhook-url http://127.0.0.1:8787/hook --webhook-secret s"
)]
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
