//! Command-line definition (clap derive). Nouns first: `convoai token …`, later `agents`,
//! `calls`, `numbers`, `emulator`, `config`.

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Shengwang ConvoAI from the command line.
#[derive(Debug, Parser)]
#[command(name = "convoai", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build, decode and verify AccessToken2 tokens.
    #[command(subcommand)]
    Token(TokenCommand),
}

/// App credentials for signing; from the flags or `SHENGWANG_APP_ID` / `SHENGWANG_APP_CERTIFICATE`.
#[derive(Debug, Args)]
pub struct AppCredentials {
    /// App ID (32 hex characters).
    #[arg(long, env = "SHENGWANG_APP_ID")]
    pub app_id: String,
    /// App certificate (32 hex characters). Never printed.
    #[arg(long, env = "SHENGWANG_APP_CERTIFICATE", hide_env_values = true)]
    pub app_certificate: String,
}

/// Fixed issue time and salt, for reproducible tokens.
#[derive(Debug, Args)]
pub struct Reproducible {
    /// Issue time (Unix seconds) instead of now.
    #[arg(long, value_name = "TS")]
    pub issue_ts: Option<u32>,
    /// Salt instead of a random one.
    #[arg(long, value_name = "N")]
    pub salt: Option<u32>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Role {
    /// Join and publish audio, video and data.
    Publisher,
    /// Join only.
    Subscriber,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Build an RTC token for a numeric uid or a string account.
    #[command(
        after_help = "Example:\n  convoai token rtc --app-id $APP_ID --app-certificate $CERT --channel demo --uid 1001 --role subscriber"
    )]
    Rtc {
        #[command(flatten)]
        credentials: AppCredentials,
        /// Channel name.
        #[arg(long)]
        channel: String,
        /// Numeric uid (0 = any uid).
        #[arg(long, conflicts_with = "account", required_unless_present = "account")]
        uid: Option<u32>,
        /// String account.
        #[arg(long)]
        account: Option<String>,
        /// Role.
        #[arg(long, value_enum, default_value_t = Role::Publisher)]
        role: Role,
        /// Token lifetime in seconds (1..=86400).
        #[arg(long, value_name = "SECS", default_value_t = 86_400)]
        expire: u32,
        /// Privilege lifetime in seconds (default: the token lifetime).
        #[arg(long, value_name = "SECS")]
        privilege_expire: Option<u32>,
        #[command(flatten)]
        fixed: Reproducible,
    },
    /// Build the ConvoAI agent token (RTC + RTM for the agent's account), as the SDK does.
    #[command(
        after_help = "Example:\n  convoai token convoai --app-id $APP_ID --app-certificate $CERT --channel demo --account 1001"
    )]
    Convoai {
        #[command(flatten)]
        credentials: AppCredentials,
        /// Channel name.
        #[arg(long)]
        channel: String,
        /// The agent's account (its uid as a string).
        #[arg(long)]
        account: String,
        /// Token lifetime in seconds (1..=86400).
        #[arg(long, value_name = "SECS", default_value_t = 86_400)]
        expire: u32,
        /// RTC privilege lifetime in seconds; 0 = the token lifetime.
        #[arg(long, value_name = "SECS", default_value_t = 0)]
        privilege_expire: u32,
        /// Also carry the ConvoAI service (type 9), like the newest AgoraIO/Tools builder.
        #[arg(long)]
        with_convoai_service: bool,
        #[command(flatten)]
        fixed: Reproducible,
    },
    /// Build an RTM (signaling) login token.
    #[command(
        after_help = "Example:\n  convoai token rtm --app-id $APP_ID --app-certificate $CERT --user-id alice"
    )]
    Rtm {
        #[command(flatten)]
        credentials: AppCredentials,
        /// RTM user id.
        #[arg(long)]
        user_id: String,
        /// Token lifetime in seconds (1..=86400).
        #[arg(long, value_name = "SECS", default_value_t = 86_400)]
        expire: u32,
        #[command(flatten)]
        fixed: Reproducible,
    },
    /// Show what a token contains (no signature check).
    #[command(after_help = "Example:\n  convoai token decode 007eJx... --json")]
    Decode {
        /// The token (`007…`).
        token: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Check a token's signature, app id, expiry and (optionally) channel and uid.
    #[command(
        after_help = "Exit status 0 when valid, 1 with the reason when not.\n\nExample:\n  convoai token verify 007eJx... --app-id $APP_ID --app-certificate $CERT --channel demo --uid 1001"
    )]
    Verify {
        /// The token (`007…`).
        token: String,
        #[command(flatten)]
        credentials: AppCredentials,
        /// Require an RTC join privilege for this channel.
        #[arg(long)]
        channel: Option<String>,
        /// Require the RTC service to be for this uid (with --channel).
        #[arg(long, requires = "channel")]
        uid: Option<String>,
        /// Judge expiry at this Unix time instead of now.
        #[arg(long, value_name = "TS")]
        at: Option<u64>,
    },
}
