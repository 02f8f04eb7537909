//! Command-line flags of the emulator, shared by `convoai-emulator` and `convoai emulator`.

use std::net::IpAddr;
use std::time::Duration;

use crate::builder::{
    Emulator, EmulatorBuilder, DEV_APP_CERTIFICATE, DEV_APP_ID, DEV_CUSTOMER_ID,
    DEV_CUSTOMER_SECRET,
};
use crate::error::EmulatorError;

/// Flags and `SHENGWANG_*` environment variables of the emulator.
#[derive(Debug, Clone, clap::Args)]
pub struct EmulatorArgs {
    /// The credentials the emulated project accepts.
    #[command(flatten)]
    pub credentials: CredentialArgs,
    /// Where it listens and how it misbehaves.
    #[command(flatten)]
    pub server: ServerArgs,
}

/// The emulated project's credentials (development defaults when none is given). Separate
/// from [`ServerArgs`] because `convoai emulator` takes them from its global flags.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CredentialArgs {
    /// App id of the emulated project (32 hex).
    #[arg(long, env = "SHENGWANG_APP_ID")]
    pub app_id: Option<String>,
    /// App certificate tokens must be signed with (32 hex).
    #[arg(long, env = "SHENGWANG_APP_CERTIFICATE", hide_env_values = true)]
    pub app_certificate: Option<String>,
    /// Customer id for Basic auth.
    #[arg(long, env = "SHENGWANG_CUSTOMER_ID")]
    pub customer_id: Option<String>,
    /// Customer secret for Basic auth.
    #[arg(long, env = "SHENGWANG_CUSTOMER_SECRET", hide_env_values = true)]
    pub customer_secret: Option<String>,
}

/// Listening address, faults and limits of the emulator.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Port to listen on (0 = ephemeral; the bound port is printed).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Probability (0..=1) of a random fault per request.
    #[arg(long, default_value_t = 0.0)]
    pub fault_rate: f64,
    /// Seed of the random fault sequence.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Latency added to every API request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// How often idle timeouts are checked, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub idle_tick_ms: u64,
    /// Most agents that may run at once.
    #[arg(long, default_value_t = 100_000)]
    pub max_agents: usize,
    /// Serve HTTPS (HTTP/2 and HTTP/1.1) with a certificate made at start; the file holding
    /// the CA certificate clients must trust is printed.
    #[arg(long)]
    pub tls: bool,
    /// Send notification callbacks (agent joined, left, history, errors, metrics, token
    /// expiry, inbound and outbound call states) to this URL.
    #[arg(long, requires = "webhook_secret")]
    pub webhook_url: Option<String>,
    /// Secret the callbacks are signed with (both signature headers).
    #[arg(long, env = "SHENGWANG_WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: Option<String>,
    /// How long a callback waits for the receiver's 200 before it is resent, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    pub webhook_timeout_ms: u64,
    /// How long new agents stay STARTING before they turn RUNNING and the agent-joined
    /// callback is sent, in milliseconds (0 = RUNNING at once).
    #[arg(long, default_value_t = 0)]
    pub starting_ms: u64,
}

impl EmulatorArgs {
    /// True when no credential was given, so development defaults are used and printed.
    pub fn uses_dev_credentials(&self) -> bool {
        let c = &self.credentials;
        c.app_id.is_none()
            && c.app_certificate.is_none()
            && c.customer_id.is_none()
            && c.customer_secret.is_none()
    }

    /// The builder these flags describe.
    pub fn builder(&self) -> EmulatorBuilder {
        let (c, s) = (&self.credentials, &self.server);
        let builder = Emulator::builder()
            .host(s.host)
            .port(s.port)
            .app_id(c.app_id.clone().unwrap_or_else(|| DEV_APP_ID.into()))
            .app_certificate(
                c.app_certificate
                    .clone()
                    .unwrap_or_else(|| DEV_APP_CERTIFICATE.into()),
            )
            .customer(
                c.customer_id
                    .clone()
                    .unwrap_or_else(|| DEV_CUSTOMER_ID.into()),
                c.customer_secret
                    .clone()
                    .unwrap_or_else(|| DEV_CUSTOMER_SECRET.into()),
            )
            .fault_rate(s.fault_rate)
            .seed(s.seed)
            .latency(Duration::from_millis(s.latency_ms))
            .idle_tick(Duration::from_millis(s.idle_tick_ms))
            .max_agents(s.max_agents)
            .starting_time(Duration::from_millis(s.starting_ms))
            .tls(s.tls);
        let builder = builder.webhook_timeout(Duration::from_millis(s.webhook_timeout_ms.max(1)));
        match (&s.webhook_url, &s.webhook_secret) {
            (Some(url), secret) => builder.webhook(url.clone(), secret.clone().unwrap_or_default()),
            (None, _) => builder,
        }
    }

    /// Runs the emulator these flags describe until Ctrl-C (or SIGTERM), after printing
    /// where it listens and, with development credentials, the variables a client needs.
    pub async fn serve(&self) -> Result<(), EmulatorError> {
        let mut shutdown = Shutdown::listen()?;
        // Through a handle, errors ignored: a reader that goes away (`convoai emulator | head
        // -1`) must not end the server, as a panicking `println!` would.
        macro_rules! say {
            ($($arg:tt)*) => {{
                use std::io::Write as _;
                let _ = writeln!(std::io::stdout(), $($arg)*);
            }};
        }
        let emu = self.builder().spawn().await?;
        say!("listening on {}", emu.url());
        say!("base url (CN):     {}", emu.cn_base_url());
        say!("base url (global): {}", emu.base_url());
        if let (Some(path), Some(pem)) = (emu.ca_path(), emu.ca_pem()) {
            // The PEM too, so a client on another machine or in a container can copy it.
            say!("CA certificate: {}", path.display());
            say!("{}", pem.trim_end());
        }
        say!("dashboard:         {}", emu.ui_url());
        if let Some(url) = &self.server.webhook_url {
            say!("callbacks to:      {url}");
        }
        if self.uses_dev_credentials() {
            // Printed as shell exports so a user can paste them into another terminal.
            say!("development credentials (no SHENGWANG_* settings were given):");
            say!("  export SHENGWANG_APP_ID={}", emu.app_id());
            say!(
                "  export SHENGWANG_APP_CERTIFICATE={}",
                emu.app_certificate()
            );
            say!("  export SHENGWANG_CUSTOMER_ID={}", emu.customer_id());
            say!(
                "  export SHENGWANG_CUSTOMER_SECRET={}",
                emu.customer_secret()
            );
            say!("  export SHENGWANG_BASE_URL={}", emu.cn_base_url());
            if let Some(path) = emu.ca_path() {
                say!("  export SHENGWANG_CA_CERT={}", path.display());
            }
        }
        shutdown.wait().await;
        emu.shutdown().await;
        Ok(())
    }
}

/// Ctrl-C, or SIGTERM where there is one: both mean "clean up and leave". Listens from the
/// moment it is created, so a signal that arrives before the first `wait` is not lost to the
/// default handler (which would end the process without cleaning up).
pub struct Shutdown {
    #[cfg(unix)]
    signals: (tokio::signal::unix::Signal, tokio::signal::unix::Signal),
}

impl Shutdown {
    /// Starts listening; needs a tokio runtime.
    pub fn listen() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Shutdown {
                signals: (
                    signal(SignalKind::interrupt())?,
                    signal(SignalKind::terminate())?,
                ),
            })
        }
        #[cfg(not(unix))]
        Ok(Shutdown {})
    }

    /// Resolves at the next Ctrl-C or SIGTERM (or one that came since `listen`).
    pub async fn wait(&mut self) {
        #[cfg(unix)]
        {
            let (int, term) = &mut self.signals;
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
