//! A running emulator: [`EmulatorHandle`], what it tells and what it controls.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

use crate::calls::{self, CallEnd, InboundCall};
use crate::clock::Clock;
use crate::error::EmulatorError;
use crate::fault::FaultRule;
use crate::notify::{CallbackFaultRule, CallbackRecord, WebhookConfig};
use crate::readiness;
use crate::shared::Shared;
use crate::state::{AgentRecord, LoggedRequest, RequestCount};
use crate::stats::ServerStats;
use crate::tls;

pub(crate) enum Running {
    Task(tokio::task::JoinHandle<()>),
    Thread(Option<std::thread::JoinHandle<()>>),
}

/// A running emulator. Dropping it shuts the server down and closes its connections.
pub struct EmulatorHandle {
    pub(crate) addr: SocketAddr,
    pub(crate) shared: Arc<Shared>,
    pub(crate) credentials: [String; 4],
    pub(crate) tls: Option<tls::Tls>,
    pub(crate) shutdown: Option<oneshot::Sender<()>>,
    pub(crate) running: Running,
}

impl std::fmt::Debug for EmulatorHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorHandle")
            .field("addr", &self.addr)
            .field("app_id", &self.credentials[0])
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

impl EmulatorHandle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// `http://HOST:PORT`, or `https://HOST:PORT` in TLS mode.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }
    /// The CA certificate (PEM) that signed the server certificate, in TLS mode; pass it to
    /// `ClientBuilder::add_root_certificate`.
    pub fn ca_pem(&self) -> Option<&str> {
        self.tls.as_ref().map(|t| t.ca_pem.as_str())
    }
    /// A file holding [`ca_pem`](Self::ca_pem), in TLS mode (for `convoai --ca-cert`,
    /// `SSL_CERT_FILE` and the like); removed when the emulator stops.
    pub fn ca_path(&self) -> Option<&std::path::Path> {
        self.tls.as_ref().map(|t| t.ca_file.path())
    }
    /// Connections accepted, TLS handshakes completed and requests per HTTP version since
    /// start (or the last [`reset`](Self::reset)).
    pub fn stats(&self) -> ServerStats {
        self.shared.counters.snapshot()
    }
    /// The global-area base URL: `http://HOST:PORT/api/conversational-ai-agent`.
    pub fn base_url(&self) -> String {
        format!("{}/api/conversational-ai-agent", self.url())
    }
    /// The CN base URL: `http://HOST:PORT/cn/api/conversational-ai-agent`.
    pub fn cn_base_url(&self) -> String {
        format!("{}/cn/api/conversational-ai-agent", self.url())
    }
    /// The web dashboard: `http://HOST:PORT/_emulator/ui`.
    pub fn ui_url(&self) -> String {
        format!("{}/_emulator/ui", self.url())
    }
    /// The configured app id.
    pub fn app_id(&self) -> &str {
        &self.credentials[0]
    }
    /// The configured app certificate.
    pub fn app_certificate(&self) -> &str {
        &self.credentials[1]
    }
    /// The configured customer id.
    pub fn customer_id(&self) -> &str {
        &self.credentials[2]
    }
    /// The configured customer secret.
    pub fn customer_secret(&self) -> &str {
        &self.credentials[3]
    }
    /// The emulator's clock.
    pub fn clock(&self) -> &Clock {
        &self.shared.clock
    }

    /// Every agent created since start (or the last reset), in creation order.
    pub fn agents(&self) -> Vec<AgentRecord> {
        self.shared.agent_records()
    }

    /// Requests answered per route template and status, sorted.
    pub fn request_counts(&self) -> Vec<RequestCount> {
        self.shared.request_counts()
    }

    /// The most recent API requests (up to 500), oldest first.
    pub fn recent_requests(&self) -> Vec<LoggedRequest> {
        self.shared.locked().log.iter().cloned().collect()
    }

    /// Sets the probability of a random fault.
    pub fn set_fault_rate(&self, rate: f64) {
        self.shared.faults().rate = rate.clamp(0.0, 1.0);
    }
    /// Sets the latency added to every API request.
    pub fn set_latency(&self, latency: Duration) {
        self.shared.set_latency(latency);
    }
    /// Queues a scripted fault; rules apply in order, before random faults.
    pub fn push_fault(&self, rule: FaultRule) {
        self.shared.faults().rules.push_back(rule);
    }
    /// Every notification callback sent (or being sent) since start or the last reset, oldest
    /// first; the last 1000 are kept.
    pub fn callbacks(&self) -> Vec<CallbackRecord> {
        self.shared.notifier.records()
    }
    /// Sends callbacks to `url` signed with `secret` from now on; `None` stops sending.
    pub fn set_webhook(&self, target: Option<(String, String)>) {
        let mut c = self.shared.notifier.config();
        match target {
            Some((url, secret)) => {
                c.url = Some(url);
                c.secret = secret;
            }
            None => c.url = None,
        }
        self.shared.notifier.set_config(c);
    }
    /// Replaces the whole callback configuration (target, secret, timeout, resend gaps).
    pub fn set_webhook_config(&self, config: WebhookConfig) {
        self.shared.notifier.set_config(config);
    }
    /// Queues a scripted callback fault.
    pub fn push_callback_fault(&self, rule: CallbackFaultRule) {
        self.shared.notifier.push_fault(rule);
    }
    /// Makes a running agent report a module error (an agent-error callback). False if no
    /// such agent runs.
    pub fn inject_agent_error(
        &self,
        agent_id: &str,
        module: &str,
        code: i64,
        message: &str,
    ) -> bool {
        self.shared.agent_error(agent_id, module, code, message)
    }
    /// Makes a running agent fail with `message` (e.g. `RTC connection error`): it stops as
    /// `FAILED` and the agent-left callback carries the message. False if no such agent runs.
    pub fn fail_agent(&self, agent_id: &str, message: &str) -> bool {
        self.shared.fail_agent(agent_id, message)
    }
    /// Sends a token-expiry warning for a running agent. False if no such agent runs.
    pub fn expire_token(&self, agent_id: &str) -> bool {
        self.shared.token_expiring(agent_id)
    }

    /// A phone call from `from_number` arrives at `to_number` (both E.164), a number
    /// imported with `inbound: true`: a new agent answers it (from the number's inbound
    /// pipeline, if set) and the `201` callbacks `START` and `ANSWERED` are sent; the call is
    /// listed as `inbound`. `labels` are echoed in its callbacks. Refused (404, 409, 422)
    /// for a number that is not imported or takes no inbound calls, or at the agent limit.
    /// Also `POST /_emulator/inbound-calls`.
    pub fn inbound_call(
        &self,
        to_number: &str,
        from_number: &str,
        labels: impl IntoIterator<Item = (String, String)>,
    ) -> Result<InboundCall, EmulatorError> {
        let labels: serde_json::Map<String, serde_json::Value> = labels
            .into_iter()
            .map(|(k, v)| (k, serde_json::Value::String(v)))
            .collect();
        Ok(calls::receive(
            &self.shared,
            to_number,
            from_number,
            Some(labels),
        )?)
    }
    /// The caller of a live inbound call hangs up: `201 HANGUP`, and its agent leaves.
    /// False if no such call is live. Also `POST /_emulator/inbound-calls/{id}/hangup`.
    pub fn hang_up_inbound_call(&self, agent_id: &str) -> bool {
        calls::end(&self.shared, agent_id, CallEnd::HangUp).is_ok()
    }
    /// A live inbound call is handed to a human: `201 TRANSFERED`, and its agent leaves.
    /// False if no such call is live. Also `POST /_emulator/inbound-calls/{id}/transfer`.
    pub fn transfer_inbound_call(&self, agent_id: &str) -> bool {
        calls::end(&self.shared, agent_id, CallEnd::Transfer).is_ok()
    }

    /// Holds new agents in `STARTING` for `hold` from now on; see
    /// [`EmulatorBuilder::starting_time`](crate::EmulatorBuilder::starting_time).
    pub fn set_starting_time(&self, hold: Duration) {
        self.shared.faults().starting = hold;
    }
    /// Moves a `STARTING` or `RUNNING` agent to `RECOVERING`, as when the service restores
    /// it. False if it is in neither. Also `POST /_emulator/agents/{id}/recovering`.
    pub fn set_recovering(&self, agent_id: &str) -> bool {
        readiness::recovering(&self.shared, agent_id)
    }
    /// Moves a `RECOVERING` agent back to `RUNNING` and sends `101` (it is in its channel
    /// again). False if it is not recovering. Also `POST /_emulator/agents/{id}/recover`.
    pub fn recover(&self, agent_id: &str) -> bool {
        readiness::recover(&self.shared, agent_id)
    }

    /// Forgets every agent, call, number, count, connection counter and fault setting.
    pub fn reset(&self) {
        self.shared.reset();
    }

    /// Stops serving and waits for the server to finish.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match &mut self.running {
            Running::Task(task) => {
                let _ = task.await;
            }
            Running::Thread(thread) => {
                if let Some(t) = thread.take() {
                    let _ = tokio::task::spawn_blocking(move || t.join()).await;
                }
            }
        }
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match &mut self.running {
            Running::Task(task) => task.abort(),
            Running::Thread(thread) => {
                if let Some(t) = thread.take() {
                    let _ = t.join();
                }
            }
        }
    }
}
