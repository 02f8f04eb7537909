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
    let cli = Cli::parse();
    let emu = match cli.args.builder().spawn().await {
        Ok(emu) => emu,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    println!("listening on {}", emu.url());
    println!("base url (CN):     {}", emu.cn_base_url());
    println!("base url (global): {}", emu.base_url());
    if cli.args.uses_dev_credentials() {
        println!("development credentials (no SHENGWANG_* settings were given):");
        println!("  SHENGWANG_APP_ID={}", emu.app_id());
        println!("  SHENGWANG_APP_CERTIFICATE={}", emu.app_certificate());
        println!("  SHENGWANG_CUSTOMER_ID={}", emu.customer_id());
        println!("  SHENGWANG_CUSTOMER_SECRET={}", emu.customer_secret());
    }
    let _ = tokio::signal::ctrl_c().await;
    emu.shutdown().await;
    ExitCode::SUCCESS
}
