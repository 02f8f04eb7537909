//! `convoai calls …`: outbound calls with an agent on the line.

use std::io::Write;

use serde_json::json;
use shengwang_agent::api::ListCalls;
use shengwang_agent::token::{RtcUid, TokenBuilder};
use shengwang_agent::types::telephony::{CallInfo, CallRequest, CallType, Sip};
use shengwang_agent::Client;

use super::agents::build_session;
use super::Ctx;
use crate::cli::{CallTypeArg, CallsCommand, CreateCall};
use crate::config;
use crate::error::CliError;
use crate::output;

pub async fn run(ctx: &Ctx, cmd: CallsCommand, out: &mut dyn Write) -> Result<(), CliError> {
    let client = ctx.client()?;
    let telephony = client.telephony();
    match cmd {
        CallsCommand::List {
            number,
            kind,
            limit,
            all,
        } => {
            let calls = fetch(list_query(&client, number, kind), limit, all).await?;
            print_list(ctx, &calls, out)
        }
        CallsCommand::Get { id } => {
            let call = telephony.get(&id).await?.into_inner();
            if ctx.out.json {
                return ctx.out.json_line(out, &call);
            }
            ctx.out.fields(out, &fields(&call))
        }
        CallsCommand::Create(args) => create(ctx, &client, args, out).await,
        CallsCommand::Hangup { id } => {
            telephony.hangup(&id).await?;
            if ctx.out.json {
                ctx.out
                    .json_line(out, &json!({"call_id": id, "state": "hangup"}))
            } else {
                ctx.out.note(&format!("{id} hung up"));
                Ok(())
            }
        }
    }
}

/// The `calls list` query: the number and type filters, when given.
fn list_query(client: &Client, number: Option<String>, kind: Option<CallTypeArg>) -> ListCalls<'_> {
    let mut q = client.telephony().list();
    if let Some(n) = number {
        q = q.number(n);
    }
    if let Some(k) = kind {
        q = q.kind(match k {
            CallTypeArg::Inbound => CallType::Inbound,
            CallTypeArg::Outbound => CallType::Outbound,
        });
    }
    q
}

/// The calls `q` finds: `limit` of them (20 unless given), or `all`, following the cursors.
async fn fetch(q: ListCalls<'_>, limit: Option<u32>, all: bool) -> Result<Vec<CallInfo>, CliError> {
    let mut calls = Vec::new();
    if all {
        let mut cursor = None;
        loop {
            let mut page_q = q.clone();
            if let Some(c) = cursor.take() {
                page_q = page_q.cursor(c);
            }
            let page = page_q.page().await?;
            calls.extend(page.items);
            match page.next_cursor {
                Some(c) if !c.is_empty() => cursor = Some(c),
                _ => break,
            }
        }
    } else {
        let limit = limit.unwrap_or(20);
        calls = q.limit(limit).page().await?.items;
        calls.truncate(limit as usize);
    }
    Ok(calls)
}

/// `calls list` output: JSON lines or a table.
fn print_list(ctx: &Ctx, calls: &[CallInfo], out: &mut dyn Write) -> Result<(), CliError> {
    if ctx.out.json {
        for c in calls {
            ctx.out.json_line(out, c)?;
        }
        return Ok(());
    }
    let rows: Vec<Vec<String>> = calls
        .iter()
        .map(|c| fields(c).into_iter().take(LISTED).map(|f| f.1).collect())
        .collect();
    ctx.out.table(
        out,
        &["CALL ID", "STATE", "TYPE", "TO", "FROM", "STARTED"],
        &rows,
    )
}

/// `calls create`: places the call; prints its id.
async fn create(
    ctx: &Ctx,
    client: &Client,
    args: CreateCall,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let request = call_request(ctx, client, args)?;
    let bar = ctx
        .out
        .spinner(&format!("calling {}", request.sip.to_number));
    let created = client.telephony().call_out(&request).await;
    output::finish(bar);
    let created = created?.into_inner();
    if ctx.out.json {
        ctx.out.json_line(out, &created)
    } else {
        ctx.out.line(out, &created.agent_id)
    }
}

/// Columns of `calls list`: the first fields of [`fields`].
const LISTED: usize = 6;

/// A call's fields as (label, text), in the order `get` prints them.
fn fields(c: &CallInfo) -> Vec<(&'static str, String)> {
    let text = |v: Option<&str>| v.unwrap_or("-").to_owned();
    vec![
        ("call id", c.agent_id.clone()),
        ("state", text(c.state.as_ref().map(|s| s.as_rest_str()))),
        ("type", text(c.kind.as_ref().map(|k| k.as_str()))),
        ("to", text(c.to_number.as_deref())),
        ("from", text(c.from_number.as_deref())),
        ("started", output::time(c.create_ts)),
        ("ended", output::time(c.stop_ts)),
        ("channel", text(c.channel.as_deref())),
        ("reason", text(c.reason.as_ref().map(|r| r.as_str()))),
    ]
}

/// The call: the agent side from the config file (as `agents start` would send it) or just
/// the channel placement for a pipeline; the SIP side gets its own channel token.
fn call_request(ctx: &Ctx, client: &Client, args: CreateCall) -> Result<CallRequest, CliError> {
    let CreateCall {
        to,
        from,
        config,
        pipeline_id,
        sip_uid,
        session: mut flags,
    } = args;
    let (app_id, cert) = ctx.app_credentials()?;
    let signer = TokenBuilder::new(app_id, cert)?;
    let (name, properties, channel) = match config {
        Some(path) => {
            let file = config::load(&path)?;
            if flags.remote_uids.is_empty() && file.session.remote_uids.is_none() {
                // On a call the agent listens to the person on the phone.
                flags.remote_uids = vec![sip_uid.clone()];
            }
            let request = build_session(client, &file, &flags, None)?
                .build()
                .start_request()?;
            let channel = request.properties.channel.clone();
            let properties = serde_json::to_value(&request.properties)
                .map_err(|e| CliError::Failed(format!("cannot encode the agent: {e}")))?;
            (request.name, properties, channel)
        }
        None => {
            let channel = flags.channel.clone().ok_or_else(|| {
                CliError::Invalid("missing --channel (needed with --pipeline-id)".into())
            })?;
            let agent_uid = flags.agent_uid.clone().unwrap_or_else(|| "0".into());
            let account = if agent_uid == "0" {
                ""
            } else {
                agent_uid.as_str()
            };
            let token = signer.convo_ai(&channel, account).build()?;
            let remote = if flags.remote_uids.is_empty() {
                vec![sip_uid.clone()]
            } else {
                flags.remote_uids.clone()
            };
            let name = flags
                .name
                .clone()
                .unwrap_or_else(|| format!("call-{channel}"));
            let properties = json!({"channel": channel, "token": token,
                "agent_rtc_uid": agent_uid, "remote_rtc_uids": remote});
            (name, properties, channel)
        }
    };
    let sip_identity = match sip_uid.parse::<u32>() {
        Ok(n) => RtcUid::Uid(n),
        Err(_) => RtcUid::Account(sip_uid.clone()),
    };
    let rtc_token = signer.rtc(&channel, sip_identity).build()?;
    Ok(CallRequest {
        name,
        sip: Sip {
            to_number: to,
            from_number: from,
            rtc_uid: sip_uid,
            rtc_token,
        },
        pipeline_id,
        properties,
    })
}
