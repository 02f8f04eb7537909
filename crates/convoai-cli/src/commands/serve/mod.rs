//! `convoai serve`: the agent of a config file as an HTTP service in front of any frontend.
//!
//! This is the single-process skeleton: one agent per channel within this process (starts for
//! one channel are serialised), end-user RTC tokens, bearer keys compared in constant time,
//! bounded connections, headers and bodies, and a SIGTERM drain that stops every agent this
//! process started. The Redis fleet protocol is not here yet.

mod routes;
mod state;

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use clap::Args;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use shengwang_agent::token::TokenBuilder;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tower::ServiceExt;

use super::Ctx;
use crate::cli::SessionFlags;
use crate::config;
use crate::error::CliError;
use convoai_emulator::cli::Shutdown;
use state::{AppState, Settings};

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
    /// Connections served at once; more wait in the listen backlog.
    #[arg(long, value_name = "N", default_value_t = 1024,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_connections: u32,
    /// Live agents this process runs at once (429 beyond).
    #[arg(long, value_name = "N", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_agents: u32,
}

pub async fn run(ctx: &Ctx, args: ServeArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let keys = api_keys(std::env::var(API_KEY_VAR).ok())?;
    let client = ctx.client()?;
    let (app_id, cert) = ctx.app_credentials()?;
    let token = TokenBuilder::new(app_id, cert)?;
    let file = config::load(&args.config)?;
    // The file is checked once now (as `config check` does), not at the first caller's start.
    let probe = SessionFlags::default();
    super::agents::build_session(&client, &file, &probe, Some("convoai-serve-check"))?
        .build()
        .start_request()?;
    let state = AppState::new(Settings {
        client,
        file,
        token,
        instance: args.instance.unwrap_or_else(default_instance),
        max_agents: args.max_agents as usize,
        keys,
    });
    // Signals are caught before the address is printed: from then on SIGTERM means a drain.
    let mut shutdown = Shutdown::listen()
        .map_err(|e| CliError::Failed(format!("cannot listen for signals: {e}")))?;
    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|e| CliError::Failed(format!("cannot listen on {}: {e}", args.listen)))?;
    let addr = listener.local_addr()?;
    writeln!(out, "listening on http://{addr}")?;
    out.flush()?;
    let router = routes::router(state.clone());
    accept_loop(
        listener,
        router,
        args.max_connections as usize,
        &mut shutdown,
    )
    .await;
    state.begin_drain("shutting down");
    let (stopped, failed) = state.stop_all(DRAIN_DEADLINE).await;
    tracing::info!(stopped, failed, "drained");
    if failed > 0 {
        crate::output::stderr_line(&format!(
            "warning: {failed} agent(s) could not be stopped before the deadline"
        ));
    }
    Ok(())
}

/// The bearer keys of `CONVOAI_SERVE_API_KEY`: at least one, comma-separated.
fn api_keys(var: Option<String>) -> Result<Vec<Vec<u8>>, CliError> {
    let keys: Vec<Vec<u8>> = var
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(|k| k.as_bytes().to_vec())
        .collect();
    if keys.is_empty() {
        return Err(CliError::Invalid(format!(
            "missing {API_KEY_VAR}: the bearer key(s) callers must send, comma-separated"
        )));
    }
    Ok(keys)
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

/// Accepts until the first Ctrl-C or SIGTERM, at most `max` connections at once.
async fn accept_loop(listener: TcpListener, router: Router, max: usize, shutdown: &mut Shutdown) {
    let permits = Arc::new(Semaphore::new(max));
    let stop = shutdown.wait();
    tokio::pin!(stop);
    loop {
        let permit = tokio::select! {
            _ = &mut stop => return,
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
        };
        let stream = tokio::select! {
            _ = &mut stop => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let router = router.clone();
        tokio::spawn(async move {
            serve_connection(stream, router).await;
            drop(permit);
        });
    }
}

/// One HTTP/1 connection: headers bounded in time, each request bounded in time.
async fn serve_connection(stream: TcpStream, router: Router) {
    let svc = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let router = router.clone();
        async move {
            match tokio::time::timeout(REQUEST_TIMEOUT, router.oneshot(req)).await {
                Ok(answer) => answer,
                Err(_) => Ok(routes::timed_out()),
            }
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    if let Err(e) = builder.serve_connection(TokioIo::new(stream), svc).await {
        tracing::debug!(error = %e, "connection ended");
    }
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
}
