//! One module per noun; `run` dispatches. Every remote call goes through the SDK's client.

mod agents;
mod calls;
mod config;
pub(crate) mod doctor;
mod numbers;
pub(crate) mod serve;
mod token;
pub(crate) mod webhooks;

use std::io::Write;
use std::time::Duration;

use clap::CommandFactory;
use shengwang_agent::{Area, Client, ClientBuilder};

use crate::cli::{Cli, Command, Global};
use crate::error::CliError;
use crate::output::Output;

/// What every command gets: the global flags and the output settings.
pub struct Ctx {
    pub global: Global,
    pub out: Output,
}

impl Ctx {
    /// App id and certificate, or a usage error naming the flag and the variable (and, with
    /// customer credentials given, why they do not replace the certificate).
    pub fn app_credentials(&self) -> Result<(&str, &str), CliError> {
        let g = &self.global;
        let app_id = required(&g.app_id, "--app-id", "SHENGWANG_APP_ID")?;
        let cert = required(
            &g.app_certificate,
            "--app-certificate",
            "SHENGWANG_APP_CERTIFICATE",
        )
        .map_err(|e| match (&g.customer_id, &g.customer_secret) {
            (Some(_), Some(_)) => {
                let why = format!(
                    "{e}: the customer ID and secret only authenticate the requests (Basic \
                     auth); the CLI still signs the token the agent joins its channel with, \
                     and that takes the app certificate"
                );
                e.with_message(why)
            }
            _ => e,
        })?;
        Ok((app_id, cert))
    }

    /// The SDK client the flags describe: Basic auth when customer credentials are given,
    /// otherwise a fresh token per request.
    pub fn client(&self) -> Result<Client, CliError> {
        Ok(self.client_builder()?.build()?)
    }

    /// The builder of [`Ctx::client`], for a command that adds to it (`serve`: its meter).
    pub fn client_builder(&self) -> Result<ClientBuilder, CliError> {
        let (app_id, cert) = self.app_credentials()?;
        let g = &self.global;
        let mut b = Client::builder()
            .app_id(app_id)
            .app_certificate(cert)
            .user_agent_suffix(concat!("convoai-cli/", env!("CARGO_PKG_VERSION")));
        match (&g.customer_id, &g.customer_secret) {
            (Some(id), Some(secret)) => b = b.basic(id, secret),
            (None, None) => {}
            _ => {
                return Err(CliError::Invalid(
                    "--customer-id and --customer-secret go together".into(),
                ))
            }
        }
        if let Some(area) = &g.area {
            b = b.area(area.parse::<Area>()?);
        }
        if let Some(url) = &g.base_url {
            b = b.base_url(url);
        }
        if let Some(secs) = g.timeout {
            let timeout = Duration::try_from_secs_f64(secs)
                .ok()
                .filter(|d| !d.is_zero() && *d <= Duration::from_secs(3600))
                .ok_or_else(|| {
                    CliError::Invalid(
                        "--timeout must be more than 0 and at most 3600 seconds".into(),
                    )
                })?;
            b = b.timeout(timeout);
        }
        if let Some(path) = &g.ca_cert {
            let pem = crate::files::read_bounded(path)
                .map_err(|e| CliError::Invalid(format!("--ca-cert: {e}")))?;
            b = b.add_root_certificate(pem);
        }
        Ok(b)
    }
}

fn required<'a>(value: &'a Option<String>, flag: &str, var: &str) -> Result<&'a str, CliError> {
    value
        .as_deref()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| CliError::Invalid(format!("missing {flag} (or set {var})")))
}

pub async fn run(cli: Cli, out: &mut dyn Write) -> Result<(), CliError> {
    let ctx = Ctx {
        out: Output::detect(cli.global.json),
        global: cli.global,
    };
    match cli.command {
        Command::Agents(cmd) => agents::run(&ctx, cmd, out).await,
        Command::Calls(cmd) => calls::run(&ctx, cmd, out).await,
        Command::Numbers(cmd) => numbers::run(&ctx, cmd, out).await,
        Command::Token(cmd) => token::run(&ctx, cmd, out),
        Command::Config(cmd) => config::run(&ctx, cmd, out),
        Command::Webhooks(cmd) => webhooks::run(&ctx, cmd, out).await,
        Command::Doctor(args) => doctor::run(&ctx, args, out).await,
        Command::Serve(args) => serve::run(&ctx, args, out).await,
        Command::Emulator(server) => {
            let g = &ctx.global;
            let args = convoai_emulator::cli::EmulatorArgs {
                credentials: convoai_emulator::cli::CredentialArgs {
                    app_id: g.app_id.clone(),
                    app_certificate: g.app_certificate.clone(),
                    customer_id: g.customer_id.clone(),
                    customer_secret: g.customer_secret.clone(),
                },
                server,
            };
            args.serve()
                .await
                .map_err(|e| CliError::Invalid(e.to_string()))
        }
        Command::Completions { shell } => {
            // Into memory first: clap_complete panics when a write fails (`| head`).
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "convoai", &mut script);
            out.write_all(&script)?;
            Ok(())
        }
    }
}
