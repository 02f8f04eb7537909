//! `convoai agents …`: sessions from config files, and the low-level agent calls.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use futures::{FutureExt, StreamExt, TryStreamExt};
use serde_json::json;
use shengwang_agent::agentkit::{AgentUid, RemoteUid};
use shengwang_agent::agentkit::{Session, SessionBuilder, SessionEvent};
use shengwang_agent::api::ListAgents;
use shengwang_agent::types::agents::{
    AgentInfo, AgentStatus, Priority, SpeakRequest, ThinkRequest, UpdateAgentRequest,
};
use shengwang_agent::types::turns::{AgentTurns, Turn};
use shengwang_agent::Client;

use super::Ctx;
use crate::cli::{AgentsCommand, PriorityArg, SessionFlags, StateArg};
use crate::config::{self, AgentFile};
use crate::error::CliError;
use crate::output::{self, Output};

/// How often `start --wait` asks the service whether the agent still runs.
const WAIT_POLL: Duration = Duration::from_secs(1);
/// Agents stopped at once by `stop --all`.
const STOP_CONCURRENCY: usize = 8;

pub async fn run(ctx: &Ctx, cmd: AgentsCommand, out: &mut dyn Write) -> Result<(), CliError> {
    let client = ctx.client()?;
    let agents = client.agents();
    match cmd {
        AgentsCommand::Start {
            config,
            session,
            wait,
        } => {
            let file = config::load(&config)?;
            let session = build_session(&client, &file, &session, None)?.build();
            start(ctx, &client, session, wait, out).await
        }
        AgentsCommand::List {
            channel,
            state,
            limit,
            all,
        } => list(ctx, list_query(&client, channel, state), limit, all, out).await,
        AgentsCommand::Get { id } => get(ctx, &agents.get(&id).await?.into_inner(), out),
        AgentsCommand::History { id } => history(ctx, &client, &id, out).await,
        AgentsCommand::Turns {
            id,
            all,
            page,
            page_size,
        } => turns(ctx, &client, &id, all, page, page_size, out).await,
        AgentsCommand::Say {
            id,
            text,
            priority,
            no_interrupt,
        } => {
            let req = speak_request(text, priority, no_interrupt);
            let ack = agents.speak(&id, &req).await?.into_inner();
            acknowledge(&ctx.out, out, &ack, &format!("{id} is speaking"))
        }
        AgentsCommand::Interrupt { id } => {
            let ack = agents.interrupt(&id).await?.into_inner();
            acknowledge(&ctx.out, out, &ack, &format!("{id} interrupted"))
        }
        AgentsCommand::Think { id, text } => {
            let ack = agents
                .think(&id, &ThinkRequest::new(text))
                .await?
                .into_inner();
            acknowledge(&ctx.out, out, &ack, &format!("{id} is thinking"))
        }
        AgentsCommand::Update { id, config } => update(ctx, &client, &id, &config, out).await,
        AgentsCommand::Stop {
            ids,
            all,
            channel,
            yes,
        } => {
            let ids = match (all, channel) {
                (true, Some(channel)) => {
                    match running_to_stop(ctx, &client, &channel, yes).await? {
                        Some(ids) => ids,
                        None => return Ok(()),
                    }
                }
                _ => ids,
            };
            stop_all(ctx, &client, ids, out).await
        }
    }
}

/// The `agents list` query: the channel and state filters, when given.
fn list_query(client: &Client, channel: Option<String>, state: Option<StateArg>) -> ListAgents<'_> {
    let mut q = client.agents().list();
    if let Some(c) = channel {
        q = q.channel(c);
    }
    if let Some(s) = state {
        q = q.state(status(s));
    }
    q
}

/// `agents history`: JSON, or one `role: content` line per entry.
async fn history(
    ctx: &Ctx,
    client: &Client,
    id: &str,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let history = client.agents().history(id).await?.into_inner();
    if ctx.out.json {
        return ctx.out.json_line(out, &history);
    }
    for entry in &history.contents {
        let line = format!("{}: {}", entry.role.as_str(), entry.content);
        ctx.out.line(out, &line)?;
    }
    Ok(())
}

/// `agents turns`: one page (the first unless `page` says), or `all` of them.
async fn turns(
    ctx: &Ctx,
    client: &Client,
    id: &str,
    all: bool,
    page: Option<u64>,
    page_size: Option<u32>,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let mut list = client.agents().turns(id);
    if let Some(n) = page_size {
        list = list.page_size(n);
    }
    let answer = if all {
        list.all().await?
    } else {
        list.page(page.unwrap_or(1)).await?
    };
    print_turns(&ctx.out, out, &answer, all)
}

/// The `agents say` request.
fn speak_request(text: String, priority: Option<PriorityArg>, no_interrupt: bool) -> SpeakRequest {
    let mut req = SpeakRequest::new(text);
    if let Some(p) = priority {
        req = req.priority(match p {
            PriorityArg::Interrupt => Priority::Interrupt,
            PriorityArg::Append => Priority::Append,
            PriorityArg::Ignore => Priority::Ignore,
        });
    }
    if no_interrupt {
        req = req.interruptable(false);
    }
    req
}

/// `agents update`: what the config file says a running agent may change.
async fn update(
    ctx: &Ctx,
    client: &Client,
    id: &str,
    config: &std::path::Path,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let file = config::load(config)?;
    let request = update_request(client, &file)?;
    let updated = client.agents().update(id, &request).await?.into_inner();
    acknowledge(&ctx.out, out, &updated, &format!("{id} updated"))
}

/// `stop --all --channel`: the agents running in `channel`, once confirmed; `None` when
/// none runs there (said on stderr).
async fn running_to_stop(
    ctx: &Ctx,
    client: &Client,
    channel: &str,
    yes: bool,
) -> Result<Option<Vec<String>>, CliError> {
    let ids = running_in(client, channel).await?;
    if ids.is_empty() {
        ctx.out
            .note(&format!("no running agents in channel {channel}"));
        return Ok(None);
    }
    if !yes {
        confirm(&format!(
            "Stop {} running agent(s) in channel {channel}?",
            ids.len()
        ))?;
    }
    Ok(Some(ids))
}

/// `agents list`: one page (or `--all` of them) as JSON lines or a table.
async fn list(
    ctx: &Ctx,
    q: ListAgents<'_>,
    limit: Option<u32>,
    all: bool,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let items = if all {
        q.stream().try_collect::<Vec<_>>().await?
    } else {
        let limit = limit.unwrap_or(20);
        let mut items = q.limit(limit).page().await?.items;
        items.truncate(limit as usize);
        items
    };
    if ctx.out.json {
        for a in &items {
            ctx.out.json_line(out, a)?;
        }
        return Ok(());
    }
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|a| {
            let status = a.status.as_ref().map_or("-", AgentStatus::as_str);
            vec![
                a.agent_id.clone(),
                status.to_owned(),
                output::time(a.start_ts),
            ]
        })
        .collect();
    ctx.out
        .table(out, &["AGENT ID", "STATUS", "STARTED"], &rows)
}

/// `agents get`: JSON, or one `label: value` line per field.
fn get(ctx: &Ctx, info: &AgentInfo, out: &mut dyn Write) -> Result<(), CliError> {
    if ctx.out.json {
        return ctx.out.json_line(out, info);
    }
    let mut fields = vec![
        ("agent id", info.agent_id.clone()),
        ("status", info.status.as_str().to_owned()),
        ("started", output::time(info.start_ts)),
        ("stopped", output::time(info.stop_ts)),
    ];
    if let Some(m) = info.message.as_ref().filter(|m| !m.is_empty()) {
        fields.push(("message", m.clone()));
    }
    ctx.out.fields(out, &fields)
}

/// A session of the file's agent: flags win over the file's `[session]` table.
/// `default_channel` stands in when neither names a channel (for `config check`).
pub(super) fn build_session(
    client: &Client,
    file: &AgentFile,
    flags: &SessionFlags,
    default_channel: Option<&str>,
) -> Result<SessionBuilder, CliError> {
    let d = &file.session;
    let channel = flags
        .channel
        .clone()
        .or_else(|| d.channel.clone())
        .or_else(|| default_channel.map(str::to_owned))
        .ok_or_else(|| {
            CliError::Invalid(
                "missing --channel (or `channel` in the config file's [session] table)".into(),
            )
        })?;
    let agent_uid = flags
        .agent_uid
        .clone()
        .or_else(|| d.agent_uid.clone())
        .unwrap_or_else(|| "0".into());
    let remote_uids = if flags.remote_uids.is_empty() {
        d.remote_uids.clone().unwrap_or_else(|| vec!["*".into()])
    } else {
        flags.remote_uids.clone()
    };
    let mut b = file.agent.create_session(
        client,
        channel,
        AgentUid::new(agent_uid),
        remote_uids.into_iter().map(RemoteUid::new),
    );
    if let Some(name) = flags.name.clone().or_else(|| d.name.clone()) {
        b = b.name(name);
    }
    if let Some(secs) = flags.idle_timeout.or(d.idle_timeout) {
        b = b.idle_timeout(secs);
    }
    if let Some(secs) = flags.expires_in.or(d.expires_in) {
        // Checked here too, so `config check` refuses what `agents start` would.
        shengwang_agent::token::expires_in(Duration::from_secs(u64::from(secs)))?;
        b = b.expires_in(Duration::from_secs(u64::from(secs)));
    }
    if let Some(on) = d.enable_string_uid {
        b = b.enable_string_uid(on);
    }
    Ok(b)
}

async fn start(
    ctx: &Ctx,
    client: &Client,
    session: Session,
    wait: bool,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    // Listening before the start: a Ctrl-C from then on stops the agent instead of ending
    // the process with the agent left running.
    let mut shutdown = if wait {
        let listening = convoai_emulator::cli::Shutdown::listen();
        Some(listening.map_err(|e| CliError::Failed(format!("cannot listen for Ctrl-C: {e}")))?)
    } else {
        None
    };
    let mut events = session.subscribe();
    let bar = ctx
        .out
        .spinner(&format!("starting agent {}", session.name()));
    let started = session.start().await;
    output::finish(bar);
    let id = started?;
    if ctx.out.json {
        ctx.out.json_line(
            out,
            &json!({"agent_id": id, "name": session.name(), "status": "RUNNING"}),
        )?;
    } else {
        ctx.out.line(out, &id)?;
    }
    let Some(shutdown) = shutdown.as_mut() else {
        return Ok(());
    };
    out.flush()?;
    // From here on stdout stays as it is (the id alone, so `id=$(convoai agents start --wait …)`
    // works): state lines go to stderr with the other messages.
    let mut err = std::io::stderr();
    print_events(ctx, &mut events, &mut err)?;
    ctx.out.note("waiting; Ctrl-C stops the agent and exits");
    let mut last = AgentStatus::Running;
    let mut poll = tokio::time::interval(WAIT_POLL);
    let interrupted = shutdown.wait();
    tokio::pin!(interrupted);
    loop {
        tokio::select! {
            _ = &mut interrupted => break,
            _ = poll.tick() => {
                let info = match client.agents().get(&id).await {
                    Ok(info) => info.into_inner(),
                    Err(e) if e.is_not_found() => {
                        return Err(CliError::NotFound(format!("agent {id} is gone: {e}")))
                    }
                    // A failed poll is not the agent's end: say so and keep watching.
                    Err(e) => {
                        ctx.out.note(&format!("status check failed ({e}); still watching"));
                        continue;
                    }
                };
                if info.status != last {
                    report(ctx, &mut err, &json!({"agent_id": id, "status": info.status.as_str()}),
                        &format!("agent {id}: {} -> {}", last.as_str(), info.status.as_str()))?;
                    last = info.status.clone();
                }
                match info.status {
                    AgentStatus::Stopped => return Ok(()),
                    AgentStatus::Failed => {
                        return Err(CliError::Failed(format!(
                            "agent {id} failed: {}",
                            output::clean(info.message.as_deref().unwrap_or("no reason given"))
                        )))
                    }
                    _ => {}
                }
            }
        }
    }
    let bar = ctx.out.spinner(&format!("stopping agent {id}"));
    let stopped = session.stop().await;
    output::finish(bar);
    print_events(ctx, &mut events, &mut err)?;
    stopped?;
    Ok(())
}

/// Prints the session events that are ready, without waiting for more.
fn print_events(
    ctx: &Ctx,
    events: &mut futures::stream::BoxStream<'static, SessionEvent>,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    while let Some(Some(event)) = events.next().now_or_never() {
        if let SessionEvent::StateChanged { from, to } = event {
            report(
                ctx,
                out,
                &json!({"state": to.as_str(), "from": from.as_str()}),
                &format!("state: {from} -> {to}"),
            )?;
        }
    }
    out.flush()?;
    Ok(())
}

/// A line of a watched command: JSON with `--json`, else text.
fn report(
    ctx: &Ctx,
    out: &mut dyn Write,
    value: &serde_json::Value,
    text: &str,
) -> Result<(), CliError> {
    if ctx.out.json {
        ctx.out.json_line(out, value)?;
    } else {
        ctx.out.line(out, text)?;
    }
    out.flush()?;
    Ok(())
}

fn acknowledge(
    o: &Output,
    out: &mut dyn Write,
    body: &impl serde::Serialize,
    text: &str,
) -> Result<(), CliError> {
    if o.json {
        o.json_line(out, body)
    } else {
        o.note(text);
        Ok(())
    }
}

fn status(s: StateArg) -> AgentStatus {
    match s {
        StateArg::Idle => AgentStatus::Idle,
        StateArg::Starting => AgentStatus::Starting,
        StateArg::Running => AgentStatus::Running,
        StateArg::Stopping => AgentStatus::Stopping,
        StateArg::Stopped => AgentStatus::Stopped,
        StateArg::Recovering => AgentStatus::Recovering,
        StateArg::Failed => AgentStatus::Failed,
    }
}

/// What `update` may change on a running agent: the LLM's system messages and params, or
/// the MLLM's params, taken from the join request the file describes. Sent as they are: the
/// service replaces the agent's params with them (the CLI cannot know what the agent started
/// with, so it cannot merge as a `Session` does).
fn update_request(client: &Client, file: &AgentFile) -> Result<UpdateAgentRequest, CliError> {
    let session = build_session(client, file, &SessionFlags::default(), Some("update"))?;
    let props = session.build().start_request()?.properties;
    let pick = |block: Option<serde_json::Value>, keys: &[&str]| {
        block.map(|b| {
            serde_json::Value::Object(
                keys.iter()
                    .filter_map(|k| b.get(*k).map(|v| ((*k).to_owned(), v.clone())))
                    .collect(),
            )
        })
    };
    Ok(UpdateAgentRequest {
        llm: pick(
            props
                .llm
                .as_ref()
                .and_then(|b| serde_json::to_value(b).ok()),
            &["system_messages", "params"],
        ),
        mllm: pick(
            props
                .mllm
                .as_ref()
                .and_then(|b| serde_json::to_value(b).ok()),
            &["params"],
        ),
        ..Default::default()
    })
}

async fn running_in(client: &Client, channel: &str) -> Result<Vec<String>, CliError> {
    let ids = client
        .agents()
        .list()
        .channel(channel)
        .state(AgentStatus::Running)
        .stream()
        .map_ok(|a| a.agent_id)
        .try_collect()
        .await?;
    Ok(ids)
}

/// Asks on the terminal; refuses rather than guesses when nobody can answer.
fn confirm(question: &str) -> Result<(), CliError> {
    if !std::io::stdin().is_terminal() {
        return Err(CliError::Invalid(format!(
            "{question} Refusing without --yes when not run from a terminal"
        )));
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
        Ok(())
    } else {
        Err(CliError::Invalid("cancelled".into()))
    }
}

/// Stops every id, a few at a time. An agent that exists but no longer runs counts as
/// stopped; an id the service never knew is "not found" (exit 3) after the others stopped.
async fn stop_all(
    ctx: &Ctx,
    client: &Client,
    ids: Vec<String>,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let bar = ctx.out.spinner(&format!("stopping {} agent(s)", ids.len()));
    let results: Vec<(String, Result<(), CliError>)> = futures::stream::iter(ids)
        .map(|id| async move {
            let r = stop_one(client, &id).await;
            (id, r)
        })
        .buffered(STOP_CONCURRENCY)
        .collect()
        .await;
    output::finish(bar);
    let total = results.len();
    let mut failures = Vec::new();
    for (id, r) in results {
        match r {
            Ok(()) => report(ctx, out, &json!({"agent_id": id, "status": "STOPPED"}), &id)?,
            Err(e) => failures.push((id, e)),
        }
    }
    // Each failure is printed once: the last one (or the only one) is the command's error,
    // which `main` prints; the others are printed here, before it.
    let Some((last_id, last)) = failures.pop() else {
        return Ok(());
    };
    for (id, e) in &failures {
        output::stderr_line(&format!("error: {id}: {e}"));
    }
    let summary = if failures.is_empty() {
        format!("{last_id}: {last}")
    } else {
        format!(
            "{last_id}: {last} ({} of {total} agents not stopped)",
            failures.len() + 1
        )
    };
    Err(last.with_message(summary))
}

async fn stop_one(client: &Client, id: &str) -> Result<(), CliError> {
    match client.agents().as_agent(id, "").stop(id).await {
        Ok(()) => Ok(()),
        Err(e) if e.is_not_found() => match client.agents().get(id).await {
            Ok(_) => Ok(()),
            Err(_) => Err(CliError::NotFound(e.to_string())),
        },
        Err(e) => Err(e.into()),
    }
}

/// Turns as JSON lines (one per turn) or a table; a footer on stderr says where the page
/// sits, so stdout stays the table.
fn print_turns(
    o: &Output,
    out: &mut dyn Write,
    answer: &AgentTurns,
    all: bool,
) -> Result<(), CliError> {
    if o.json {
        for t in &answer.turns {
            o.json_line(out, t)?;
        }
        return Ok(());
    }
    let rows: Vec<Vec<String>> = answer.turns.iter().map(turn_row).collect();
    o.table(
        out,
        &["TURN", "STARTED", "START", "END", "E2E MS", "LENGTH MS"],
        &rows,
    )?;
    if let (false, Some(p)) = (all, &answer.pagination) {
        if p.is_last_page == Some(false) {
            let (index, total) = (p.page_index.unwrap_or(1), p.total_pages);
            let of = total.map_or(String::new(), |t| format!(" of {t}"));
            o.note(&format!(
                "page {index}{of}; --all shows every turn, --page N another page"
            ));
        }
    }
    Ok(())
}

fn turn_row(t: &Turn) -> Vec<String> {
    let num = |v: Option<u64>| v.map_or("-".to_owned(), |n| n.to_string());
    let started = t
        .start
        .as_ref()
        .and_then(|s| s.start_at)
        .map_or("-".to_owned(), |ms| {
            humantime::format_rfc3339_millis(std::time::UNIX_EPOCH + Duration::from_millis(ms))
                .to_string()
        });
    let start = t
        .start_kind()
        .map_or("-".to_owned(), |k| k.as_str().to_owned());
    let cause = t
        .end
        .as_ref()
        .and_then(|e| e.metadata.as_ref())
        .and_then(|m| {
            m.caused_by
                .as_ref()
                .map(|c| c.as_str().to_owned())
                .or_else(|| m.reason.as_ref().map(|r| r.as_str().to_owned()))
        });
    let end = match (t.end_kind(), cause) {
        (None, _) => "-".to_owned(),
        (Some(k), None) => k.as_str().to_owned(),
        (Some(k), Some(c)) => format!("{} ({c})", k.as_str()),
    };
    vec![
        num(t.turn_id),
        started,
        start,
        end,
        num(t.e2e_latency_ms()),
        num(t.duration_ms()),
    ]
}
