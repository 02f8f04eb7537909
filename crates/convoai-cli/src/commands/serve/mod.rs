//! `convoai serve`: the agent of a config file as an HTTP service in front of any frontend.
//!
//! One agent per channel through the SDK's fleet: this process alone (in memory), or one
//! replica of many sharing Redis (`--redis`), where any replica answers for any channel, a
//! crashed replica's agents are taken over after its lease, and SIGTERM hands this
//! replica's agents over to the others (or stops them: `--drain stop`). Also end-user RTC
//! tokens, bearer keys compared in constant time, and bounded connections, headers and bodies.

mod notices;
mod routes;
mod state;
pub(crate) mod telemetry;
mod webhooks;

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use axum::routing::get;
use clap::Args;
use shengwang_agent::token::TokenBuilder;
use tokio::net::TcpListener;

use super::Ctx;
use crate::cli::SessionFlags;
use crate::config;
use crate::error::CliError;
use crate::listen::{self, Limits};
use crate::logging::LogFormat;
use convoai_emulator::cli::Shutdown;
use shengwang_agent::fleet::{Drain, OnOrphan};
use state::{AppState, FleetSettings, Settings};

/// Time a client has to send a request's headers (also bounds idle keep-alive connections).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Time one request may take from its headers to its answer, body read included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Time the drain gives the stops of this process's agents (the whole exit stays under 10 s).
const DRAIN_DEADLINE: Duration = Duration::from_secs(8);
/// Variable holding the callers' bearer keys, comma-separated.
const API_KEY_VAR: &str = "CONVOAI_SERVE_API_KEY";

/// Flags of convoai serve.
#[derive(Args)]
pub struct ServeArgs {
    /// Agent config file (.toml, .json or .yaml), as for "convoai agents start".
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: PathBuf,
    /// Address to listen on (port 0: any free port; the bound address is printed).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Name of this process in answers (default: hostname-pid-random).
    #[arg(long, value_name = "NAME")]
    pub instance: Option<String>,
    /// Connections open at once; at the cap, the connection idle the longest is closed to
    /// make room for a new one.
    #[arg(long, value_name = "N", default_value_t = 1024,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_connections: u32,
    /// Live agents this process runs at once (429 beyond).
    #[arg(long, value_name = "N", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_agents: u32,
    /// Serve POST /webhooks on this address instead of --listen (the one the service must
    /// reach), so that /v1 and /metrics stay on the private --listen.
    #[arg(long, value_name = "ADDR")]
    pub webhook_listen: Option<SocketAddr>,
    /// Log lines as text or as JSON objects, one per line (on stderr).
    #[arg(long, value_name = "FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Redis shared by the replicas (redis://HOST:PORT/DB, or redis://:PASSWORD@HOST:PORT/DB); the variable keeps a
    /// password out of the process list. Without it this process is on its own.
    #[arg(
        long,
        value_name = "URL",
        env = "CONVOAI_REDIS_URL",
        hide_env_values = true
    )]
    pub redis: Option<String>,
    /// Lease of this replica in seconds (at least 1): how soon after a crash another replica
    /// takes its agents over (plus one reaper interval, a third of the lease at most 5 s).
    #[arg(long, value_name = "SECS", default_value = "15", value_parser = parse_lease)]
    pub lease: Duration,
    /// Prefix of the Redis keys and of the agents' derived names: replicas with different
    /// prefixes share nothing.
    #[arg(long, value_name = "PREFIX", default_value = shengwang_agent::fleet::DEFAULT_PREFIX)]
    pub redis_prefix: String,
    /// What a replica taking over a crashed one's agent does: adopt it or stop it.
    #[arg(long, value_name = "POLICY", value_enum, default_value_t = OrphanArg::Adopt)]
    pub on_orphan: OrphanArg,
    /// What SIGTERM does with this replica's agents: hand them over to the other replicas
    /// (default with --redis) or stop them (default without).
    #[arg(long, value_name = "MODE", value_enum)]
    pub drain: Option<DrainArg>,
}

/// `--on-orphan`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum OrphanArg {
    /// Resume the agent (after checking that it runs): the conversation goes on.
    Adopt,
    /// Stop the agent.
    Stop,
}

/// `--drain`.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DrainArg {
    /// Release the agents so that another replica adopts them at once.
    Handover,
    /// Stop the agents.
    Stop,
}

/// A lease in seconds, fractions allowed: 1 to 3600.
fn parse_lease(s: &str) -> Result<Duration, String> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| (1.0..=3600.0).contains(v))
        .map(Duration::from_secs_f64)
        .ok_or_else(|| "must be a number of seconds from 1 to 3600".to_owned())
}

/// The fleet settings of the flags; `--drain handover` needs Redis (another replica).
fn fleet_settings(args: &ServeArgs) -> Result<FleetSettings, CliError> {
    let redis = args.redis.clone().filter(|u| !u.trim().is_empty());
    let drain = match (args.drain, redis.is_some()) {
        (Some(DrainArg::Handover), false) => {
            return Err(CliError::Invalid(
                "--drain handover needs --redis (another replica to hand over to)".into(),
            ))
        }
        (Some(DrainArg::Handover), true) | (None, true) => Drain::Handover,
        (Some(DrainArg::Stop), _) | (None, false) => Drain::Stop,
    };
    Ok(FleetSettings {
        redis,
        lease: args.lease,
        on_orphan: match args.on_orphan {
            OrphanArg::Adopt => OnOrphan::Adopt,
            OrphanArg::Stop => OnOrphan::Stop,
        },
        drain,
        prefix: args.redis_prefix.clone(),
    })
}

pub async fn run(ctx: &Ctx, args: ServeArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let keys = api_keys(std::env::var(API_KEY_VAR).ok())?;
    let mut client = ctx.client_builder()?;
    if let Some(meter) = telemetry::meter() {
        client = client.meter(meter);
    }
    let client = client.build()?;
    let receiver = webhooks::receiver(std::env::var(webhooks::SECRET_VAR).ok());
    if receiver.is_none() {
        tracing::warn!(
            "{} is not set: POST /webhooks answers 404 and no notice reaches the agents",
            webhooks::SECRET_VAR
        );
    }
    let (app_id, cert) = ctx.app_credentials()?;
    let token = TokenBuilder::new(app_id, cert)?;
    let file = config::load(&args.config)?;
    // The file is checked once now (as `config check` does), not at the first caller's start.
    let probe = SessionFlags::default();
    super::agents::build_session(&client, &file, &probe, Some("convoai-serve-check"))?
        .build()
        .start_request()?;
    let fleet = fleet_settings(&args)?;
    let state = AppState::build(Settings {
        client,
        file,
        token,
        instance: args.instance.clone().unwrap_or_else(default_instance),
        max_agents: args.max_agents as usize,
        keys,
        fleet,
    })
    .await?;
    // Signals are caught before the address is printed: from then on SIGTERM means a drain.
    let mut shutdown = Shutdown::listen()
        .map_err(|e| CliError::Failed(format!("cannot listen for signals: {e}")))?;
    let listener = bind(args.listen).await?;
    let hooks_listener = match args.webhook_listen {
        Some(addr) => Some(bind(addr).await?),
        None => None,
    };
    writeln!(out, "listening on http://{}", listener.local_addr()?)?;
    if let Some(l) = &hooks_listener {
        writeln!(out, "webhooks on http://{}", l.local_addr()?)?;
    }
    out.flush()?;
    serve_until_signal(
        &args,
        &state,
        receiver,
        listener,
        hooks_listener,
        &mut shutdown,
    )
    .await;
    drain(&state).await;
    Ok(())
}

/// Serves `/v1`, `/metrics`, health and `/webhooks` (on its own listener when given) until
/// the first Ctrl-C or SIGTERM.
async fn serve_until_signal(
    args: &ServeArgs,
    state: &AppState,
    receiver: Option<shengwang_agent::webhooks::Receiver>,
    listener: TcpListener,
    hooks_listener: Option<TcpListener>,
    shutdown: &mut Shutdown,
) {
    let hooks = webhooks::router(state.clone(), receiver);
    let mut router = routes::router(state.clone()).route("/metrics", get(telemetry::metrics));
    if hooks_listener.is_none() {
        router = router.merge(hooks.clone());
    }
    let limits = Limits {
        max_connections: args.max_connections as usize,
        header_read: HEADER_READ_TIMEOUT,
        request: REQUEST_TIMEOUT,
        timed_out: routes::timed_out,
        span: telemetry::request_span,
    };
    // Each listener has its own connection cap: slow clients of the public webhook listener
    // cannot starve the private one.
    let hooks_loop = async move {
        match hooks_listener {
            Some(l) => listen::serve(l, hooks, limits, std::future::pending()).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = shutdown.wait() => {}
        _ = listen::serve(listener, router, limits, std::future::pending()) => {}
        _ = hooks_loop => {}
    }
}

/// Hands this replica's agents over or stops them (`--drain`), within the deadline.
async fn drain(state: &AppState) {
    state.begin_drain("shutting down");
    let report = state.drain(DRAIN_DEADLINE).await;
    let (handed_over, stopped) = (report.handed_over.len(), report.stopped.len());
    tracing::info!(
        handed_over,
        stopped,
        failed = report.failed.len(),
        "drained"
    );
    if !report.failed.is_empty() || report.timed_out {
        crate::output::stderr_line(&format!(
            "warning: {} agent(s) could be neither handed over nor stopped before the deadline",
            report.failed.len()
        ));
    }
}

/// The values of a comma-separated variable (keys, secrets: several for rotation), trimmed,
/// empty ones skipped.
fn comma_list(var: Option<&str>) -> impl Iterator<Item = &str> {
    var.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The bearer keys of `CONVOAI_SERVE_API_KEY`: at least one, comma-separated.
fn api_keys(var: Option<String>) -> Result<Vec<Vec<u8>>, CliError> {
    let keys: Vec<Vec<u8>> = comma_list(var.as_deref())
        .map(|k| k.as_bytes().to_vec())
        .collect();
    if keys.is_empty() {
        return Err(CliError::Invalid(format!(
            "missing {API_KEY_VAR}: the bearer key(s) callers must send, comma-separated"
        )));
    }
    Ok(keys)
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, CliError> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| CliError::Failed(format!("cannot listen on {addr}: {e}")))
}

/// hostname-pid-random: unique per process.
fn default_instance() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "convoai".into());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let random = std::collections::hash_map::RandomState::new();
    let mix = std::hash::BuildHasher::hash_one(&random, nanos) as u32;
    format!("{host}-{}-{mix:08x}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_split_trimmed_and_required() {
        assert!(api_keys(None).is_err());
        assert!(api_keys(Some(" , ".into())).is_err());
        let keys = api_keys(Some("a, b,,c".into())).unwrap();
        assert_eq!(keys, vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
    }

    #[test]
    fn instances_differ() {
        assert_ne!(default_instance(), default_instance());
    }

    #[test]
    fn leases_take_fractions_from_1_to_3600_seconds() {
        assert_eq!(parse_lease("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_lease("15"), Ok(Duration::from_secs(15)));
        for bad in ["0.5", "0", "-3", "3601", "NaN", "inf", "x", ""] {
            assert!(parse_lease(bad).is_err(), "{bad}");
        }
    }
}
