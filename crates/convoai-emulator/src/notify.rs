//! Notification callbacks: what the service's notification center does for a project with
//! a webhook configured. Each event is wrapped in the envelope (productId 17, a fresh
//! noticeId, notifyMs of the attempt), signed with both headers over the exact bytes sent,
//! and POSTed; anything but a 200 within the timeout is resent up to 3 times with the same
//! noticeId and a new notifyMs. Test faults duplicate, reorder, delay, drop or mis-sign
//! deliveries. Every delivery is logged (bounded) for `GET /_emulator/callbacks`.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{json, Map, Value};
use shengwang_agent::webhooks::{sign_v1, sign_v2, SIGNATURE_HEADER, SIGNATURE_V2_HEADER};
use tokio::sync::{mpsc, oneshot};

use crate::clock::Clock;
use crate::notice::{Notice, Notices};

/// `productId` the emulator sends: the Conversational AI Engine.
pub const PRODUCT_ID: u32 = 17;
/// Deliveries kept in the log.
pub const LOG_LEN: usize = 1000;
/// Resends after the first attempt.
pub const MAX_RESENDS: usize = 3;
/// How long a reordered delivery waits for a later one to overtake it.
const REORDER_WAIT: Duration = Duration::from_millis(500);

/// Where callbacks go and how they are resent.
#[derive(Clone)]
pub struct WebhookConfig {
    /// Receiver URL; `None` sends nothing.
    pub url: Option<String>,
    /// Signing secret.
    pub secret: String,
    /// How long to wait for the 200 (the service waits 10 s).
    pub timeout: Duration,
    /// Gap before the second resend; the first resend goes at once and the gaps grow by
    /// this much each time.
    pub retry_delay: Duration,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            url: None,
            secret: String::new(),
            timeout: Duration::from_secs(10),
            retry_delay: Duration::from_secs(1),
        }
    }
}

impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &self.url)
            .field("secret", &shengwang_agent::redact::REDACTED)
            .field("timeout", &self.timeout)
            .field("retry_delay", &self.retry_delay)
            .finish()
    }
}

/// A fault applied to a delivery, for tests of receivers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackFault {
    /// Deliver the notice twice (the second time with a new notifyMs), as the service's
    /// redundant deliveries do.
    Duplicate,
    /// Hold the notice until the next one has been delivered (or 500 ms passed).
    Reorder,
    /// Wait this long before the first attempt.
    Delay(Duration),
    /// Never send it (logged as `dropped`).
    Drop,
    /// Sign it with the wrong secret.
    WrongSignature,
}

/// A scripted callback fault: applies to the next `times` notices (of `event_type`, if set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackFaultRule {
    /// The fault.
    pub fault: CallbackFault,
    /// Only notices of this event type; `None`: any.
    pub event_type: Option<u32>,
    /// How many notices it applies to.
    pub times: u32,
}

/// How a logged delivery ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    /// Still being sent or resent.
    Pending,
    /// A 200 came back.
    Delivered,
    /// No 200 after every resend.
    Failed,
    /// Dropped by a fault, never sent.
    Dropped,
}

/// One HTTP attempt of a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryAttempt {
    /// When it was sent, Unix ms (its notifyMs).
    pub at_ms: u64,
    /// The receiver's status, if it answered.
    pub status: Option<u16>,
    /// Why there was no answer (timeout, connection error).
    pub error: Option<String>,
    /// Time to the answer or the error, ms.
    pub latency_ms: u64,
}

/// One notice in the delivery log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallbackRecord {
    /// `noticeId`.
    pub notice_id: String,
    /// `eventType`.
    pub event_type: u32,
    /// `productId` (17).
    pub product_id: u32,
    /// The payload's `agent_id`.
    pub agent_id: Option<String>,
    /// The payload's `channel`.
    pub channel: Option<String>,
    /// The receiver URL.
    pub target: String,
    /// How it ended so far.
    pub state: DeliveryState,
    /// Every attempt, oldest first (a duplicate's attempts follow the original's).
    pub attempts: Vec<DeliveryAttempt>,
    /// The body of the last attempt (the first attempt's, before one is made).
    pub body: Value,
}

/// Whether notices are wanted: a target is configured and the sender task runs (a bare
/// `router()` has no sender, so nothing piles up).
#[derive(Default)]
struct Live {
    target: AtomicBool,
    running: AtomicBool,
}

/// The sender: configuration, faults, the log and the queue of events.
pub(crate) struct Notifier {
    config: Mutex<WebhookConfig>,
    faults: Mutex<VecDeque<CallbackFaultRule>>,
    log: Mutex<VecDeque<(u64, CallbackRecord)>>,
    seq: AtomicU64,
    sid: String,
    clock: Clock,
    http: reqwest::Client,
    tx: mpsc::UnboundedSender<Notice>,
    rx: Mutex<Option<mpsc::UnboundedReceiver<Notice>>>,
    live: Live,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

struct Job {
    seq: u64,
    envelope: Map<String, Value>,
    target: String,
    config: WebhookConfig,
    wrong_signature: bool,
    delay: Duration,
    copies: usize,
}

impl Notifier {
    pub fn new(config: WebhookConfig, clock: Clock) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        let live = Live::default();
        live.target.store(config.url.is_some(), Ordering::Relaxed);
        Notifier {
            live,
            config: Mutex::new(config),
            faults: Mutex::new(VecDeque::new()),
            log: Mutex::new(VecDeque::new()),
            seq: AtomicU64::new(0),
            sid: crate::state::new_id()[..16].to_owned(),
            clock,
            http,
            tx,
            rx: Mutex::new(Some(rx)),
        }
    }

    /// Called before the sender task is spawned, so events of the first requests are kept.
    pub fn set_running(&self, running: bool) {
        self.live.running.store(running, Ordering::Relaxed);
    }

    /// Queues notices for sending, in order; never blocks, so it may be called under the
    /// store's lock (which keeps the order of notices the order of the changes).
    pub fn send(&self, notices: Notices) {
        if notices.is_empty()
            || !self.live.target.load(Ordering::Relaxed)
            || !self.live.running.load(Ordering::Relaxed)
        {
            return;
        }
        for n in notices {
            let _ = self.tx.send(n);
        }
    }

    pub fn config(&self) -> WebhookConfig {
        lock(&self.config).clone()
    }

    pub fn set_config(&self, config: WebhookConfig) {
        self.live
            .target
            .store(config.url.is_some(), Ordering::Relaxed);
        *lock(&self.config) = config;
    }

    pub fn push_fault(&self, rule: CallbackFaultRule) {
        lock(&self.faults).push_back(rule);
    }

    pub fn clear(&self) {
        lock(&self.faults).clear();
        lock(&self.log).clear();
    }

    pub fn records(&self) -> Vec<CallbackRecord> {
        lock(&self.log).iter().map(|(_, r)| r.clone()).collect()
    }

    fn update(&self, seq: u64, f: impl FnOnce(&mut CallbackRecord)) {
        let mut log = lock(&self.log);
        if let Some((_, r)) = log.iter_mut().rev().find(|(s, _)| *s == seq) {
            f(r);
        }
    }

    fn pick_fault(&self, event_type: u32) -> Option<CallbackFault> {
        let mut faults = lock(&self.faults);
        let i = faults
            .iter()
            .position(|r| r.times > 0 && r.event_type.is_none_or(|t| t == event_type))?;
        let rule = &mut faults[i];
        rule.times -= 1;
        let fault = rule.fault.clone();
        if rule.times == 0 {
            faults.remove(i);
        }
        Some(fault)
    }

    /// Wraps, logs and queues one event; `None` when no webhook is configured.
    fn job(&self, e: Notice) -> Option<(Job, Option<CallbackFault>)> {
        let config = self.config();
        let target = config.url.clone()?;
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let notice_id = format!(
            "{}:{}:{}",
            2_000_000_000u64 + seq,
            std::process::id() % 10_000,
            e.event_type
        );
        let str_of = |k: &str| e.payload.get(k).and_then(Value::as_str).map(str::to_owned);
        let (agent_id, channel) = (str_of("agent_id"), str_of("channel"));
        let mut envelope = Map::new();
        envelope.insert("noticeId".into(), json!(notice_id));
        envelope.insert("productId".into(), json!(PRODUCT_ID));
        envelope.insert("eventType".into(), json!(e.event_type));
        envelope.insert("notifyMs".into(), json!(self.clock.now_ms()));
        envelope.insert("sid".into(), json!(self.sid));
        envelope.insert("payload".into(), e.payload);
        let record = CallbackRecord {
            notice_id,
            event_type: e.event_type,
            product_id: PRODUCT_ID,
            agent_id,
            channel,
            target: target.clone(),
            state: DeliveryState::Pending,
            attempts: Vec::new(),
            body: Value::Object(envelope.clone()),
        };
        {
            let mut log = lock(&self.log);
            if log.len() >= LOG_LEN {
                log.pop_front();
            }
            log.push_back((seq, record));
        }
        let fault = self.pick_fault(e.event_type);
        let mut job = Job {
            seq,
            envelope,
            target,
            config,
            wrong_signature: false,
            delay: Duration::ZERO,
            copies: 1,
        };
        match &fault {
            Some(CallbackFault::Duplicate) => job.copies = 2,
            Some(CallbackFault::Delay(d)) => job.delay = *d,
            Some(CallbackFault::WrongSignature) => job.wrong_signature = true,
            _ => {}
        }
        Some((job, fault))
    }

    /// Consumes the queue until the emulator stops. Runs once per emulator.
    pub async fn run(self: Arc<Self>) {
        let Some(mut rx) = lock(&self.rx).take() else {
            return;
        };

        let mut held: Option<Job> = None;
        loop {
            let next = match &held {
                Some(_) => match tokio::time::timeout(REORDER_WAIT, rx.recv()).await {
                    Ok(n) => n,
                    Err(_) => {
                        if let Some(h) = held.take() {
                            tokio::spawn(self.clone().deliver(h, None));
                        }
                        continue;
                    }
                },
                None => rx.recv().await,
            };
            let Some(emit) = next else { break };
            let Some((job, fault)) = self.job(emit) else {
                continue;
            };
            match fault {
                Some(CallbackFault::Drop) => {
                    self.update(job.seq, |r| r.state = DeliveryState::Dropped);
                }
                Some(CallbackFault::Reorder) => {
                    if let Some(h) = held.replace(job) {
                        tokio::spawn(self.clone().deliver(h, None));
                    }
                }
                _ => match held.take() {
                    // The held notice goes once this one has had its first answer.
                    Some(h) => {
                        let (tx, rx) = oneshot::channel();
                        tokio::spawn(self.clone().deliver(job, Some(tx)));
                        let me = self.clone();
                        tokio::spawn(async move {
                            let _ = rx.await;
                            me.deliver(h, None).await;
                        });
                    }
                    None => {
                        tokio::spawn(self.clone().deliver(job, None));
                    }
                },
            }
        }
    }

    async fn deliver(self: Arc<Self>, mut job: Job, mut first_answer: Option<oneshot::Sender<()>>) {
        if !job.delay.is_zero() {
            tokio::time::sleep(job.delay).await;
        }
        let mut delivered = false;
        let mut last_ms = 0u64;
        for _copy in 0..job.copies {
            for attempt in 0..=MAX_RESENDS {
                if attempt >= 2 {
                    let gap = job.config.retry_delay.saturating_mul(attempt as u32 - 1);
                    tokio::time::sleep(gap).await;
                }
                // Strictly increasing, so every attempt has a notifyMs of its own.
                let at_ms = self.clock.now_ms().max(last_ms + 1);
                last_ms = at_ms;
                job.envelope.insert("notifyMs".into(), json!(at_ms));
                let body = Value::Object(job.envelope.clone());
                let bytes = serde_json::to_vec(&body).unwrap_or_default();
                let key: &[u8] = if job.wrong_signature {
                    b"not-the-webhook-secret"
                } else {
                    job.config.secret.as_bytes()
                };
                let started = Instant::now();
                let sent = self
                    .http
                    .post(&job.target)
                    .timeout(job.config.timeout)
                    .header("content-type", "application/json")
                    .header(SIGNATURE_HEADER, sign_v1(key, &bytes))
                    .header(SIGNATURE_V2_HEADER, sign_v2(key, &bytes))
                    .body(bytes)
                    .send()
                    .await;
                let latency_ms = started.elapsed().as_millis() as u64;
                let (status, error) = match sent {
                    Ok(res) => {
                        let status = res.status().as_u16();
                        // Read (bounded) and discard the answer, so the connection is reusable.
                        let _ = tokio::time::timeout(job.config.timeout, res.bytes()).await;
                        (Some(status), None)
                    }
                    Err(e) if e.is_timeout() => (None, Some("timeout".to_owned())),
                    Err(e) if e.is_connect() => (None, Some("connection failed".to_owned())),
                    Err(_) => (None, Some("request failed".to_owned())),
                };
                let ok = status == Some(200);
                self.update(job.seq, |r| {
                    r.attempts.push(DeliveryAttempt {
                        at_ms,
                        status,
                        error,
                        latency_ms,
                    });
                    r.body = body;
                });
                if let Some(tx) = first_answer.take() {
                    let _ = tx.send(());
                }
                if ok {
                    delivered = true;
                    break;
                }
            }
        }
        self.update(job.seq, |r| {
            r.state = if delivered {
                DeliveryState::Delivered
            } else {
                DeliveryState::Failed
            }
        });
    }
}

/// A webhook target must be an absolute `http://` or `https://` URL.
pub(crate) fn check_url(url: &str) -> Result<(), String> {
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(()),
        _ => Err("webhook url must be an absolute http:// or https:// URL".into()),
    }
}
