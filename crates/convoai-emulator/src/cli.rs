//! Command-line flags of the emulator, shared by `convoai-emulator` and `convoai emulator`.

use std::net::IpAddr;
use std::time::Duration;

use crate::{
    EmulatorBuilder, DEV_APP_CERTIFICATE, DEV_APP_ID, DEV_CUSTOMER_ID, DEV_CUSTOMER_SECRET,
};

/// Flags and `SHENGWANG_*` environment variables of the emulator.
#[derive(Debug, Clone, clap::Args)]
pub struct EmulatorArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Port to listen on (0 = ephemeral; the bound port is printed).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
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
}

impl EmulatorArgs {
    /// True when no credential was given, so development defaults are used and printed.
    pub fn uses_dev_credentials(&self) -> bool {
        self.app_id.is_none()
            && self.app_certificate.is_none()
            && self.customer_id.is_none()
            && self.customer_secret.is_none()
    }

    /// The builder these flags describe.
    pub fn builder(&self) -> EmulatorBuilder {
        crate::Emulator::builder()
            .host(self.host)
            .port(self.port)
            .app_id(self.app_id.clone().unwrap_or_else(|| DEV_APP_ID.into()))
            .app_certificate(
                self.app_certificate
                    .clone()
                    .unwrap_or_else(|| DEV_APP_CERTIFICATE.into()),
            )
            .customer(
                self.customer_id
                    .clone()
                    .unwrap_or_else(|| DEV_CUSTOMER_ID.into()),
                self.customer_secret
                    .clone()
                    .unwrap_or_else(|| DEV_CUSTOMER_SECRET.into()),
            )
            .fault_rate(self.fault_rate)
            .seed(self.seed)
            .latency(Duration::from_millis(self.latency_ms))
            .idle_tick(Duration::from_millis(self.idle_tick_ms))
            .max_agents(self.max_agents)
    }
}
