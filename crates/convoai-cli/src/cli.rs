//! Command-line definition (clap derive). Nouns first, as `gh` and `kubectl` do:
//! `convoai agents start`, `convoai calls list`, `convoai token rtc`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use convoai_emulator::cli::ServerArgs;

/// Shengwang ConvoAI from the command line: agents, calls, phone numbers, tokens and a local
/// emulator of the service.
#[derive(Parser)]
#[command(
    name = "convoai",
    version,
    propagate_version = true,
    after_help = "Example:\n  convoai emulator --port 8080   # then, in another terminal:\n  convoai agents list --base-url http://127.0.0.1:8080/cn/api/conversational-ai-agent"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes, anywhere on the line. Secrets never appear in `--help`.
#[derive(Args, Clone, Default)]
#[command(next_help_heading = "Global options")]
pub struct Global {
    /// Service area: cn (default), us, eu or ap.
    #[arg(long, global = true, env = "SHENGWANG_AREA", value_name = "AREA")]
    pub area: Option<String>,
    /// Send requests here instead of the area's hosts (an emulator or a proxy).
    #[arg(long, global = true, env = "SHENGWANG_BASE_URL", value_name = "URL")]
    pub base_url: Option<String>,
    /// App ID (32 hex characters).
    #[arg(long, global = true, env = "SHENGWANG_APP_ID", value_name = "ID")]
    pub app_id: Option<String>,
    /// App certificate (32 hex characters); signs tokens. Never printed.
    #[arg(
        long,
        global = true,
        env = "SHENGWANG_APP_CERTIFICATE",
        hide_env_values = true,
        value_name = "CERT"
    )]
    pub app_certificate: Option<String>,
    /// Customer ID: with --customer-secret, requests use Basic auth instead of tokens.
    #[arg(long, global = true, env = "SHENGWANG_CUSTOMER_ID", value_name = "ID")]
    pub customer_id: Option<String>,
    /// Customer secret. Never printed.
    #[arg(
        long,
        global = true,
        env = "SHENGWANG_CUSTOMER_SECRET",
        hide_env_values = true,
        value_name = "SECRET"
    )]
    pub customer_secret: Option<String>,
    /// Print JSON (one object per line for lists) instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Log to stderr: -v each request, -vv everything the SDK traces (never a secret).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Deadline of each API call in seconds, retries and waits included (default 30).
    #[arg(long, global = true, value_name = "SECS")]
    pub timeout: Option<f64>,
    /// Also trust the CA certificate(s) in this PEM file for HTTPS (a proxy's private CA, or
    /// the one "convoai emulator --tls" prints).
    #[arg(long, global = true, env = "SHENGWANG_CA_CERT", value_name = "FILE")]
    pub ca_cert: Option<std::path::PathBuf>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Start, inspect, talk to and stop agents.
    #[command(subcommand)]
    Agents(AgentsCommand),
    /// Outbound telephone calls.
    #[command(subcommand)]
    Calls(CallsCommand),
    /// Phone numbers of the account.
    #[command(subcommand)]
    Numbers(NumbersCommand),
    /// Build, decode and verify AccessToken2 tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Write and check agent config files.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Receive notification callbacks locally and check their signatures.
    #[command(subcommand)]
    Webhooks(crate::commands::webhooks::WebhooksCommand),
    /// Check credentials, area, base URL, TLS and tokens; with --live also the service's
    /// clock, authentication and the behaviour the SDK relies on.
    #[command(
        after_help = "Exit status 0 when every check passed or only warned, 1 when one failed. --live starts and stops short-lived probe agents.\n\nExample:\n  convoai doctor\n  convoai doctor --live --json > doctor.json"
    )]
    Doctor(crate::commands::doctor::DoctorArgs),
    /// Serve the agent of a config file over HTTP: one agent per channel, end-user tokens.
    #[command(
        after_help = "Callers send Authorization: Bearer <key>, a key of CONVOAI_SERVE_API_KEY (comma-separated). SIGTERM or Ctrl-C stops every agent this process started and exits.\n\nExample:\n  convoai serve --config agent.toml --listen 127.0.0.1:8080   # CONVOAI_SERVE_API_KEY set"
    )]
    Serve(crate::commands::serve::ServeArgs),
    /// Run the local ConvoAI emulator until Ctrl-C.
    #[command(
        after_help = "Without --app-id/--app-certificate it uses development credentials and prints them as shell exports.\n\nExample:\n  convoai emulator --port 8080 --fault-rate 0.1"
    )]
    Emulator(ServerArgs),
    /// Print a shell completion script.
    #[command(
        after_help = "Example:\n  convoai completions bash > /etc/bash_completion.d/convoai"
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// What an agent is started as; flags override the config file's `[session]` table.
#[derive(Args, Clone, Default)]
pub struct SessionFlags {
    /// RTC channel the agent joins.
    #[arg(long)]
    pub channel: Option<String>,
    /// The agent's uid in the channel (default 0: the service picks one).
    #[arg(long, value_name = "UID")]
    pub agent_uid: Option<String>,
    /// A user the agent listens to (repeat for several; default "*": everyone).
    #[arg(long = "remote-uid", value_name = "UID")]
    pub remote_uids: Vec<String>,
    /// Agent name (unique among running agents; default: generated).
    #[arg(long)]
    pub name: Option<String>,
    /// Seconds the agent stays after the last user left (0: never leaves by itself).
    #[arg(long, value_name = "SECS")]
    pub idle_timeout: Option<u32>,
    /// Lifetime of the agent's channel token in seconds (1 to 86400).
    #[arg(long, value_name = "SECS")]
    pub expires_in: Option<u32>,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum StateArg {
    Idle,
    Starting,
    Running,
    Stopping,
    Stopped,
    Recovering,
    Failed,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum PriorityArg {
    /// Cut in now.
    Interrupt,
    /// After what the agent is saying.
    Append,
    /// Only if the agent is silent.
    Ignore,
}

#[derive(Subcommand)]
pub enum AgentsCommand {
    /// Start an agent described by a config file.
    #[command(
        after_help = "Example:\n  convoai agents start --config agent.toml --channel room-42 --remote-uid 2002 --wait"
    )]
    Start {
        /// Agent config file (.toml, .json or .yaml); "convoai config init" writes one.
        #[arg(long, short = 'c', value_name = "FILE")]
        config: PathBuf,
        #[command(flatten)]
        session: SessionFlags,
        /// Stay in the foreground printing state changes; Ctrl-C stops the agent.
        #[arg(long)]
        wait: bool,
    },
    /// List agents (a page, or every page with --all).
    #[command(after_help = "Example:\n  convoai agents list --channel room-42 --state running")]
    List {
        /// Only agents of this channel.
        #[arg(long)]
        channel: Option<String>,
        /// Only agents in this state.
        #[arg(long, value_enum)]
        state: Option<StateArg>,
        /// At most this many agents (default 20).
        #[arg(long, value_name = "N", conflicts_with = "all", value_parser = clap::value_parser!(u32).range(1..=1000))]
        limit: Option<u32>,
        /// Every agent, following the pages.
        #[arg(long)]
        all: bool,
    },
    /// Show one agent's status.
    #[command(after_help = "Example:\n  convoai agents get 1NT29X10YHxxxxxWJOXLYHNYB")]
    Get {
        /// Agent id.
        id: String,
    },
    /// Show what was said in an agent's conversation.
    #[command(after_help = "Example:\n  convoai agents history 1NT29X10YHxxxxxWJOXLYHNYB --json")]
    History {
        /// Agent id.
        id: String,
    },
    /// Show an agent's turns: how each started and ended, and how fast it was answered.
    #[command(
        after_help = "Turns stay readable for 7 days after the agent stopped.\n\nExample:\n  convoai agents turns 1NT29X10YHxxxxxWJOXLYHNYB\n  convoai agents turns 1NT29X10YHxxxxxWJOXLYHNYB --all --json"
    )]
    Turns {
        /// Agent id.
        id: String,
        /// Every turn, following the pages.
        #[arg(long)]
        all: bool,
        /// Which page (from 1).
        #[arg(long, value_name = "N", conflicts_with = "all", value_parser = clap::value_parser!(u64).range(1..))]
        page: Option<u64>,
        /// Turns per page.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
        page_size: Option<u32>,
    },
    /// Make an agent say something.
    #[command(
        after_help = "Example:\n  convoai agents say 1NT29X10YHxxxxxWJOXLYHNYB \"Welcome back!\" --priority append"
    )]
    Say {
        /// Agent id.
        id: String,
        /// What to say (1 to 512 bytes).
        text: String,
        /// What to do if the agent is busy.
        #[arg(long, value_enum)]
        priority: Option<PriorityArg>,
        /// The user's voice cannot cut it short.
        #[arg(long)]
        no_interrupt: bool,
    },
    /// Interrupt what an agent is saying or thinking.
    #[command(after_help = "Example:\n  convoai agents interrupt 1NT29X10YHxxxxxWJOXLYHNYB")]
    Interrupt {
        /// Agent id.
        id: String,
    },
    /// Hand an agent text as if the user had said it.
    #[command(
        after_help = "Example:\n  convoai agents think 1NT29X10YHxxxxxWJOXLYHNYB \"What's the weather?\""
    )]
    Think {
        /// Agent id.
        id: String,
        /// The text.
        text: String,
    },
    /// Replace a running agent's prompt and LLM parameters with those of a config file.
    #[command(
        after_help = "Only the LLM's system messages and params (or the MLLM's params) can change while an agent runs.\n\nThis replaces, it does not merge: the service swaps the agent's params for the file's params as a whole, and a param the file leaves out is gone (the CLI cannot know what the agent started with). Put every param the agent needs in the file, e.g. the start config with your changes. (The SDK's Session::update merges instead.)\n\nExample:\n  convoai agents update 1NT29X10YHxxxxxWJOXLYHNYB --config agent.toml"
    )]
    Update {
        /// Agent id.
        id: String,
        /// Agent config file with the new instructions and the complete LLM params (they
        /// replace the agent's).
        #[arg(long, short = 'c', value_name = "FILE")]
        config: PathBuf,
    },
    /// Stop agents by id, or every running agent of a channel.
    #[command(
        after_help = "Example:\n  convoai agents stop 1NT29X10YHxxxxxWJOXLYHNYB\n  convoai agents stop --all --channel room-42 --yes"
    )]
    Stop {
        /// Agent ids.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        ids: Vec<String>,
        /// Every running agent of --channel.
        #[arg(long, requires = "channel")]
        all: bool,
        /// The channel for --all.
        #[arg(long)]
        channel: Option<String>,
        /// Do not ask before stopping several agents.
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum CallTypeArg {
    Inbound,
    Outbound,
}

#[derive(Subcommand)]
pub enum CallsCommand {
    /// List calls.
    #[command(after_help = "Example:\n  convoai calls list --number +8613800138000")]
    List {
        /// Calls from or to this number.
        #[arg(long)]
        number: Option<String>,
        /// Only this direction.
        #[arg(long = "type", value_enum)]
        kind: Option<CallTypeArg>,
        /// At most this many calls (default 20).
        #[arg(long, value_name = "N", conflicts_with = "all", value_parser = clap::value_parser!(u32).range(1..=1000))]
        limit: Option<u32>,
        /// Every call, following the pages.
        #[arg(long)]
        all: bool,
    },
    /// Show one call.
    #[command(after_help = "Example:\n  convoai calls get 1NT29X10YHxxxxxWJOXLYHNYB")]
    Get {
        /// Call id.
        id: String,
    },
    /// Call a number and put an agent on the line.
    #[command(
        after_help = "Example:\n  convoai calls create --to +8613800138000 --from +861080000000 --channel call-1 --config agent.toml"
    )]
    Create(CreateCall),
    /// Hang up a call.
    #[command(after_help = "Example:\n  convoai calls hangup 1NT29X10YHxxxxxWJOXLYHNYB")]
    Hangup {
        /// Call id.
        id: String,
    },
}

/// `convoai calls create`.
#[derive(Args)]
pub struct CreateCall {
    /// The number to call (E.164).
    #[arg(long)]
    pub to: String,
    /// The caller id (E.164).
    #[arg(long)]
    pub from: String,
    /// Agent config file (not needed with --pipeline-id).
    #[arg(
        long,
        short = 'c',
        value_name = "FILE",
        required_unless_present = "pipeline_id"
    )]
    pub config: Option<PathBuf>,
    /// A published AI Studio pipeline to run instead of a config file.
    #[arg(long, value_name = "ID")]
    pub pipeline_id: Option<String>,
    /// The SIP gateway's uid in the channel.
    #[arg(long, value_name = "UID", default_value = "3003")]
    pub sip_uid: String,
    #[command(flatten)]
    pub session: SessionFlags,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ProviderArg {
    Byo,
    Twilio,
}

#[derive(Subcommand)]
pub enum NumbersCommand {
    /// List the account's numbers.
    #[command(after_help = "Example:\n  convoai numbers list --json")]
    List,
    /// Configure a number.
    #[command(
        after_help = "Example:\n  convoai numbers add +8613800138000 --provider byo --label support --outbound --sip-address sip.example.com"
    )]
    Add {
        /// The number (E.164).
        number: String,
        /// Who provides it.
        #[arg(long, value_enum)]
        provider: ProviderArg,
        /// A label.
        #[arg(long)]
        label: String,
        /// It takes incoming calls.
        #[arg(long)]
        inbound: bool,
        /// It places outgoing calls.
        #[arg(long)]
        outbound: bool,
        /// An address (CIDR) allowed to send incoming calls (repeatable).
        #[arg(long = "allowed-address", value_name = "CIDR")]
        allowed_addresses: Vec<String>,
        /// The SIP trunk address for outgoing calls.
        #[arg(long, value_name = "HOST")]
        sip_address: Option<String>,
        /// The SIP transport (udp, tcp, tls).
        #[arg(long, value_name = "T")]
        sip_transport: Option<String>,
        /// A dial prefix for outgoing calls.
        #[arg(long, value_name = "P")]
        sip_prefix: Option<String>,
    },
    /// Show one number.
    #[command(after_help = "Example:\n  convoai numbers get +8613800138000")]
    Get {
        /// The number (E.164).
        number: String,
    },
    /// Attach or detach pipelines.
    #[command(
        after_help = "Example:\n  convoai numbers update +8613800138000 --inbound-pipeline p-123 --clear-outbound"
    )]
    Update {
        /// The number (E.164).
        number: String,
        /// Pipeline for incoming calls.
        #[arg(long, value_name = "ID", conflicts_with = "clear_inbound")]
        inbound_pipeline: Option<String>,
        /// Remove the incoming pipeline.
        #[arg(long)]
        clear_inbound: bool,
        /// Pipeline for outgoing calls.
        #[arg(long, value_name = "ID", conflicts_with = "clear_outbound")]
        outbound_pipeline: Option<String>,
        /// Remove the outgoing pipeline.
        #[arg(long)]
        clear_outbound: bool,
    },
    /// Remove a number's configuration (the number stays with its carrier).
    #[command(after_help = "Example:\n  convoai numbers delete +8613800138000")]
    Delete {
        /// The number (E.164).
        number: String,
    },
}

#[derive(Subcommand)]
pub enum ConfigCommand {
    /// Write a commented sample agent config showing every vendor and option.
    #[command(after_help = "Example:\n  convoai config init            # writes ./agent.toml")]
    Init {
        /// Where to write it ("-" for stdout).
        #[arg(default_value = "agent.toml")]
        path: PathBuf,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Check a config file as "agents start" would and print the JSON it would send
    /// (secrets redacted).
    #[command(after_help = "Example:\n  convoai config check agent.toml --channel room-42")]
    Check {
        /// The config file.
        path: PathBuf,
        #[command(flatten)]
        session: SessionFlags,
    },
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
        /// The token ("007…").
        token: String,
    },
    /// Check a token's signature, app id, expiry and (optionally) channel and uid.
    #[command(
        after_help = "Exit status 0 when valid, 1 with the reason when not.\n\nExample:\n  convoai token verify 007eJx... --app-id $APP_ID --app-certificate $CERT --channel demo --uid 1001"
    )]
    Verify {
        /// The token ("007…").
        token: String,
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
