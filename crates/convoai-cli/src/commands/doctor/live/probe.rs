//! The conformance probe: what the SDK relies on but the public docs leave open. A probe agent
//! with a unique name is started; a second start with the same name must be refused with 409;
//! after a stop, is the name free again at once? Which fields do list, get and the 409 body
//! carry? Every agent it starts is stopped, on every path.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use shengwang_agent::agentkit::{Agent, AgentUid, RemoteUid};
use shengwang_agent::api::Agents;
use shengwang_agent::types::agents::StartAgentRequest;
use shengwang_agent::vendors::{Llm, MiniMaxTts};
use shengwang_agent::{Client, Error};

use super::super::{Report, Status};

/// The probe agent's uid in its channel.
const PROBE_UID: &str = "1001";
/// Seconds without a user before the service stops a probe agent by itself, should every
/// stop fail.
const PROBE_IDLE_TIMEOUT: u32 = 30;
/// How long to wait before asking once more whether a stopped agent's name is free.
const NAME_RETRY: Duration = Duration::from_secs(2);

/// Ids of the probe agents that may be running. Dropped with ids left (a panic, or a probe
/// cut short), it says on stderr which agents to stop.
struct Started {
    ids: Vec<String>,
}

impl Started {
    fn add(&mut self, id: &str) {
        self.ids.push(id.to_owned());
    }

    fn stopped(&mut self, id: &str) {
        self.ids.retain(|i| i != id);
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        for id in &self.ids {
            // The id comes from the service: printed through the CLI's neutralising.
            crate::output::stderr_line(&format!(
                "warning: probe agent {id} may still be running; stop it with: convoai agents stop {id}"
            ));
        }
    }
}

/// The top-level fields each answer carried (null ones left out).
#[derive(Default)]
struct Fields {
    list: Option<Vec<String>>,
    get: Option<Vec<String>>,
    conflict: Option<Vec<String>>,
}

/// Runs the probe with the configured client and reports each step.
pub async fn run(client: &Client, report: &mut Report) {
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let channel = format!("convoai-doctor-{stamp}");
    let name = format!("convoai-doctor-{stamp}-{}", std::process::id());
    let request = match probe_request(client, &channel, &name) {
        Ok(r) => r,
        Err(e) => {
            report.push("probe_start", Status::Fail, e.to_string());
            return;
        }
    };
    let agents = client.agents().as_agent(&channel, PROBE_UID);
    let mut started = Started { ids: Vec::new() };
    let mut fields = Fields::default();
    steps(&agents, &request, &mut started, &mut fields, report).await;
    if fields.list.is_some() || fields.get.is_some() || fields.conflict.is_some() {
        report_fields(report, &fields);
    }
    cleanup(&agents, &mut started, report).await;
}

/// A minimal valid join: a custom LLM and a MiniMax TTS with placeholder keys (the agent is
/// stopped long before it would call them).
fn probe_request(
    client: &Client,
    channel: &str,
    name: &str,
) -> shengwang_agent::Result<StartAgentRequest> {
    let agent = Agent::new()
        .with_instructions("convoai doctor probe agent")
        .with_llm(Llm::custom("https://llm.example/v1/chat/completions").api_key("doctor-probe"))?
        .with_tts(MiniMaxTts::new(
            "doctor-probe",
            "speech-02-turbo",
            "female-shaonv",
        ))?;
    agent
        .create_session(
            client,
            channel,
            AgentUid::new(PROBE_UID),
            [RemoteUid::new("*")],
        )
        .name(name)
        .idle_timeout(PROBE_IDLE_TIMEOUT)
        .build()
        .start_request()
}

/// Start, inspect, start again (409), stop, start once more. Returns at the first step that
/// leaves nothing more to learn; `cleanup` stops whatever is still running.
async fn steps(
    agents: &Agents<'_>,
    request: &StartAgentRequest,
    started: &mut Started,
    fields: &mut Fields,
    report: &mut Report,
) {
    let id = match agents.start(request).await {
        Ok(created) => created.into_inner().agent_id,
        Err(e) => {
            report.push("probe_start", Status::Fail, format!("cannot start: {e}"));
            return;
        }
    };
    started.add(&id);
    report.push_detail(
        "probe_start",
        Status::Ok,
        format!("probe agent {id} started as {}", request.name),
        json!({"agent_id": id, "name": request.name}),
    );
    inspect(agents, &request.properties.channel, &id, fields, report).await;
    conflict(agents, request, started, fields, report).await;
    match agents.stop(&id).await {
        Ok(()) => {
            started.stopped(&id);
            report.push(
                "probe_stop",
                Status::Ok,
                format!("probe agent {id} stopped"),
            );
        }
        Err(e) => {
            report.push("probe_stop", Status::Fail, format!("stopping {id}: {e}"));
            return;
        }
    }
    name_free_after_stop(agents, request, started, report).await;
}

/// Get and list of the running probe agent: which fields they carry.
async fn inspect(
    agents: &Agents<'_>,
    channel: &str,
    id: &str,
    fields: &mut Fields,
    report: &mut Report,
) {
    match agents.get(id).await {
        Ok(info) => fields.get = Some(keys(&serde_json::to_value(info.into_inner()).ok())),
        Err(e) => report.push("probe_get", Status::Fail, format!("get {id}: {e}")),
    }
    match agents.list().channel(channel).page().await {
        Ok(page) => match page.items.into_iter().find(|a| a.agent_id == id) {
            Some(item) => fields.list = Some(keys(&serde_json::to_value(item).ok())),
            None => report.push(
                "probe_list",
                Status::Warn,
                format!("the running probe agent {id} is not on the first page of the list"),
            ),
        },
        Err(e) => report.push("probe_list", Status::Fail, format!("list: {e}")),
    }
}

/// A second start with the same name while the first agent runs: must be refused with 409.
async fn conflict(
    agents: &Agents<'_>,
    request: &StartAgentRequest,
    started: &mut Started,
    fields: &mut Fields,
    report: &mut Report,
) {
    match agents.start(request).await {
        Err(Error::Api {
            status: 409,
            reason,
            body,
            ..
        }) => {
            fields.conflict = Some(keys(&Some(*body)));
            report.push(
                "probe_conflict",
                Status::Ok,
                format!("a second start with the same name was refused with 409 {reason}"),
            );
        }
        Err(e) => report.push(
            "probe_conflict",
            Status::Fail,
            format!("a second start with the same name should be refused with 409, got: {e}"),
        ),
        Ok(created) => {
            let second = created.into_inner().agent_id;
            started.add(&second);
            report.push(
                "probe_conflict",
                Status::Fail,
                format!("a second agent {second} started with the same name (expected 409)"),
            );
        }
    }
}

/// Right after a stop, can the name be used again? Asks once more after a short wait.
async fn name_free_after_stop(
    agents: &Agents<'_>,
    request: &StartAgentRequest,
    started: &mut Started,
    report: &mut Report,
) {
    for (attempt, reason) in [
        (0, "the name is free again right after a stop"),
        (
            1,
            "the name was still taken right after a stop, free again after a short wait",
        ),
    ] {
        if attempt > 0 {
            tokio::time::sleep(NAME_RETRY).await;
        }
        match agents.start(request).await {
            Ok(created) => {
                let id = created.into_inner().agent_id;
                started.add(&id);
                let status = if attempt == 0 {
                    Status::Ok
                } else {
                    Status::Warn
                };
                report.push_detail(
                    "probe_name_reuse",
                    status,
                    reason,
                    json!({"agent_id": id, "retried_after_seconds": attempt * NAME_RETRY.as_secs()}),
                );
                return;
            }
            Err(e) if e.status() == Some(409) && attempt == 0 => continue,
            Err(e) if e.status() == Some(409) => {
                let wait = NAME_RETRY.as_secs();
                report.push(
                    "probe_name_reuse",
                    Status::Warn,
                    format!("the name is still taken {wait}s after a stop (409): reuse names only after the agent is gone"),
                );
                return;
            }
            Err(e) => {
                report.push(
                    "probe_name_reuse",
                    Status::Fail,
                    format!("starting again after the stop: {e}"),
                );
                return;
            }
        }
    }
}

/// Stops every probe agent still running; names any that could not be stopped.
async fn cleanup(agents: &Agents<'_>, started: &mut Started, report: &mut Report) {
    let mut failed = Vec::new();
    for id in started.ids.clone() {
        match agents.stop(&id).await {
            Ok(()) => started.stopped(&id),
            // The service no longer knows it: nothing runs.
            Err(e) if e.is_not_found() => started.stopped(&id),
            Err(e) => failed.push(format!("{id} ({e})")),
        }
    }
    if failed.is_empty() {
        report.push("probe_cleanup", Status::Ok, "no probe agent left running");
        return;
    }
    let ids = started.ids.join(" ");
    report.push_detail(
        "probe_cleanup",
        Status::Fail,
        format!(
            "probe agent(s) left running, stop with: convoai agents stop {ids} (stopping failed: {})",
            failed.join(", ")
        ),
        json!({"left_running": started.ids}),
    );
    // Said in the report: the guard need not repeat it.
    started.ids.clear();
}

fn report_fields(report: &mut Report, fields: &Fields) {
    let show = |f: &Option<Vec<String>>| f.as_ref().map_or("-".to_owned(), |k| k.join(","));
    report.push_detail(
        "probe_fields",
        Status::Ok,
        format!(
            "list: {}; get: {}; 409 body: {}",
            show(&fields.list),
            show(&fields.get),
            show(&fields.conflict)
        ),
        json!({"list": fields.list, "get": fields.get, "conflict": fields.conflict}),
    );
}

/// The names of a JSON object's non-null members.
fn keys(value: &Option<Value>) -> Vec<String> {
    match value {
        Some(Value::Object(map)) => map
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, _)| k.clone())
            .collect(),
        _ => Vec::new(),
    }
}
