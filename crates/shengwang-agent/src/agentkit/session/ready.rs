//! Readiness: `session.wait_ready(deadline)` waits until the agent is really in its channel.
//!
//! A start is answered as soon as the service accepted it; the agent joins its channel later
//! (the agent-joined notice, `101`) and may go `RECOVERING` or `FAILED` on the way. The wait
//! listens for the notice (handed to `client.sessions().apply_notification`) and reads the agent's
//! status with backoff at the same time; the first conclusive answer wins.

use std::future::{poll_fn, Future, IntoFuture};
use std::pin::{pin, Pin};
use std::task::Poll;
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use tokio::time::Instant;

use super::registry::LiveSession as _;
pub use super::vocab::NotReadyCause;
use super::Session;
use crate::agentkit::SessionEvent;
use crate::agentkit::{Operation, SessionState};
use crate::transport::Response;
use crate::types::agents::{AgentInfo, AgentStatus};
use crate::{Error, Result};

/// First pause between two status reads; it doubles up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(100);
/// Longest pause between two status reads.
const MAX_PAUSE: Duration = Duration::from_secs(1);

/// What told [`Session::wait_ready`] that the agent is in its channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReadyVia {
    /// The agent-joined notice (`101`), handed to
    /// [`SessionHub::apply_notification`](crate::agentkit::SessionHub::apply_notification).
    Notice,
    /// Its status `RUNNING`, read with the query-status API; conclusive only when the wait
    /// expects no notice ([`WaitReady::notices`] off).
    Status,
}

/// The agent is in its channel; from [`Session::wait_ready`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Ready {
    /// The agent.
    pub agent_id: String,
    /// What told.
    pub via: ReadyVia,
    /// How long the wait took.
    pub waited: Duration,
}

type Wait<'s> = Pin<Box<dyn Future<Output = Result<Ready>> + Send + 's>>;

/// What [`Session::wait_ready`] waits for: set options, then `.await` it (or
/// [`send`](Self::send)).
#[derive(Debug)]
#[must_use = "nothing is awaited until .await (or .send())"]
pub struct WaitReady<'s> {
    session: &'s Session,
    deadline: Duration,
    notices: bool,
}

impl<'s> WaitReady<'s> {
    /// Whether agent-joined notices can arrive: the service sends notification callbacks to
    /// a receiver that hands them to
    /// [`SessionHub::apply_notification`](crate::agentkit::SessionHub::apply_notification). On, only the
    /// notice (`101`) proves the agent is in its channel: status `RUNNING` alone is not
    /// conclusive, and the wait runs to its deadline if the notice never comes. Off (the
    /// default), status `RUNNING` is conclusive too; a notice that does come still wins.
    pub fn notices(mut self, on: bool) -> Self {
        self.notices = on;
        self
    }

    /// Waits; see [`Session::wait_ready`].
    pub async fn send(self) -> Result<Ready> {
        let s = self.session;
        let result = super::traced(s.span("wait_ready"), self.wait()).await;
        if let Err(e @ (Error::NotReady { .. } | Error::Timeout { .. })) = &result {
            if let Some(started) = s.inner.core().started_at {
                let telemetry = s.client().telemetry();
                telemetry.session_ready(started.elapsed(), Err(e));
            }
        }
        result
    }

    /// [`send`](Self::send) inside its span.
    async fn wait(self) -> Result<Ready> {
        let began = Instant::now();
        let s = self.session;
        let id = s.ready_target()?;
        let registry = s.client().sessions().registry().clone();
        let key = s.inner.key;
        let mut events = Some(s.subscribe());
        let mut watch = Watch::new(self.notices);
        let mut deadline = pin!(tokio::time::sleep_until(began + self.deadline));
        let mut status = Box::pin(status_after(s, &id, began));
        let mut pause = FIRST_PAUSE;
        loop {
            let mut joined = pin!(registry.joined_changed());
            joined.as_mut().enable();
            if registry.has_joined(key, &id) {
                return Ok(s.ready(&id, ReadyVia::Notice, began));
            }
            // Events already sent (an agent-left reason) before judging the session.
            while let Some(Some(event)) = events.as_mut().and_then(|e| e.next().now_or_never()) {
                watch.saw(&id, event);
            }
            if let Some(e) = s.moved_on(&id, &watch) {
                return Err(e);
            }
            let wake = poll_fn(|cx| {
                if deadline.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Wake::Deadline);
                }
                if joined.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Wake::Joined);
                }
                if let Some(Poll::Ready(e)) = events.as_mut().map(|e| e.poll_next_unpin(cx)) {
                    return Poll::Ready(Wake::Event(e));
                }
                status.as_mut().poll(cx).map(|r| Wake::Status(Box::new(r)))
            });
            match wake.await {
                Wake::Deadline => return Err(watch.timeout(&id, self.deadline)),
                Wake::Joined => {}
                // The session is gone only with this borrow: never, but do not spin on it.
                Wake::Event(None) => events = None,
                Wake::Event(Some(event)) => watch.saw(&id, event),
                Wake::Status(read) => {
                    if let Some(via) = watch.judge(s, &id, *read)? {
                        return Ok(s.ready(&id, via, began));
                    }
                    status = Box::pin(status_after(s, &id, Instant::now() + pause));
                    pause = (pause * 2).min(MAX_PAUSE);
                }
            }
        }
    }
}

/// What woke a wait.
enum Wake {
    Deadline,
    Joined,
    Event(Option<SessionEvent>),
    Status(Box<Result<Response<AgentInfo>>>),
}

impl<'s> IntoFuture for WaitReady<'s> {
    type Output = Result<Ready>;
    type IntoFuture = Wait<'s>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// The agent's status, read at `at`.
async fn status_after(s: &Session, id: &str, at: Instant) -> Result<Response<AgentInfo>> {
    tokio::time::sleep_until(at).await;
    s.agents().get(id).await
}

/// What one wait learned so far.
struct Watch {
    notices: bool,
    recovering: bool,
    /// The latest status read, for the timeout's message.
    last: Option<String>,
    /// The latest retryable failure of a status read, for the timeout's message.
    last_error: Option<String>,
    /// The reason an agent-left event gave, for the error's message.
    left: Option<String>,
}

impl Watch {
    fn new(notices: bool) -> Self {
        Watch {
            notices,
            recovering: false,
            last: None,
            last_error: None,
            left: None,
        }
    }

    fn saw(&mut self, id: &str, event: SessionEvent) {
        if let SessionEvent::AgentLeft { agent_id, reason } = event {
            if agent_id == id {
                self.left = Some(reason);
            }
        }
    }

    /// A status read: ready (by status), go on waiting, or the agent will not get ready.
    fn judge(
        &mut self,
        s: &Session,
        id: &str,
        status: Result<Response<AgentInfo>>,
    ) -> Result<Option<ReadyVia>> {
        let info = match status {
            Ok(info) => info.into_inner(),
            Err(e) if e.is_not_found() => {
                return Err(not_ready(id, NotReadyCause::Gone, &e.to_string()))
            }
            Err(e) if e.is_retryable() => {
                self.last_error = Some(crate::redact::sanitize(&e.to_string()));
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        self.last = Some(info.status.to_string());
        let message = info.message.as_deref().filter(|m| !m.is_empty());
        let said = |fallback: &str| message.unwrap_or(fallback).to_owned();
        match info.status {
            AgentStatus::Running => {
                self.recovering = false;
                return Ok((!self.notices).then_some(ReadyVia::Status));
            }
            AgentStatus::Recovering if !self.recovering => {
                self.recovering = true;
                s.inner.recovering(id);
            }
            AgentStatus::Failed => {
                // Through the table as a failure notice would: the session is `error` now.
                let message = said("status FAILED");
                s.inner.failed(id, &message);
                return Err(not_ready(id, NotReadyCause::Failed, &message));
            }
            AgentStatus::Stopped | AgentStatus::Stopping | AgentStatus::Idle => {
                let status = format!("status {}", info.status);
                return Err(not_ready(id, NotReadyCause::Left, &said(&status)));
            }
            _ => {}
        }
        Ok(None)
    }

    fn timeout(&self, id: &str, deadline: Duration) -> Error {
        let mut message = format!("agent {id} did not get ready within {deadline:?}");
        match (&self.last, &self.last_error) {
            (Some(status), _) if status == "RUNNING" && self.notices => message.push_str(
                " (status RUNNING, but no agent-joined notice came: are notices handed to sessions().apply_notification?)",
            ),
            (Some(status), _) => message.push_str(&format!(" (last status {status})")),
            (None, Some(e)) => message.push_str(&format!(" (status unknown: {e})")),
            (None, None) => {}
        }
        Error::Timeout {
            message,
            source: None,
        }
    }
}

fn not_ready(id: &str, cause: NotReadyCause, message: &str) -> Error {
    Error::NotReady {
        agent_id: id.to_owned(),
        cause,
        message: crate::redact::sanitize(message),
    }
}

impl Session {
    /// Waits until the agent of the current run is really in its channel, for at most
    /// `deadline`. A start returns when the service accepted it; the agent joins later.
    ///
    /// The wait listens for the agent-joined notice (`101`, handed to
    /// [`SessionHub::apply_notification`](crate::agentkit::SessionHub::apply_notification), also when it came
    /// before the wait began) and reads the agent's status with backoff (100 ms doubling to
    /// 1 s), together; the first conclusive answer wins: the notice, or status `RUNNING`
    /// when no notice can arrive (see [`WaitReady::notices`]; default: none can). Status
    /// `RECOVERING` emits [`SessionEvent::AgentRecovering`] and the wait goes on. On
    /// success it emits [`SessionEvent::Ready`] (once per agent).
    ///
    /// Errors: [`Error::NotReady`] when the agent failed (status `FAILED`, which moves the
    /// session to `error` with [`SessionEvent::AgentLeft`] as a failure notice does), left (an
    /// agent-left notice, even one before the agent-joined one, or the session stopped it)
    /// or is gone; [`Error::Timeout`] (see [`Error::is_timeout`]) at the deadline;
    /// [`Error::State`] / [`Error::NoAgentId`] when the session has no started agent
    /// (refused like [`info`](Self::info)); a status read that fails for another reason
    /// than a retryable one (e.g. 401).
    ///
    /// ```no_run
    /// # async fn demo(session: &shengwang_agent::Session) -> shengwang_agent::Result<()> {
    /// use std::time::Duration;
    /// session.start().await?;
    /// let ready = session.wait_ready(Duration::from_secs(10)).notices(true).await?;
    /// println!("agent {} joined after {:?}", ready.agent_id, ready.waited);
    /// # Ok(()) }
    /// ```
    pub fn wait_ready(&self, deadline: Duration) -> WaitReady<'_> {
        WaitReady {
            session: self,
            deadline,
            notices: false,
        }
    }

    /// The agent id a wait is about, or why there is none to wait for.
    fn ready_target(&self) -> Result<String> {
        let core = self.inner.core();
        match (&core.agent_id, core.state) {
            (None, _) => Err(Error::NoAgentId {
                operation: Operation::Info,
            }),
            (Some(_), state @ (SessionState::Idle | SessionState::Starting)) => Err(Error::State {
                operation: Operation::Info,
                state,
            }),
            (Some(id), _) => Ok(id.clone()),
        }
    }

    /// The session no longer runs `id` (an agent-left notice, a stop, a restart): why.
    fn moved_on(&self, id: &str, watch: &Watch) -> Option<Error> {
        let core = self.inner.core();
        let same = core.agent_id.as_deref() == Some(id);
        let cause = match core.state {
            SessionState::Running if same => return None,
            // An unclear stop: the agent may still run; the status reads tell.
            SessionState::Error if same && core.live.is_some() => return None,
            SessionState::Error if same => NotReadyCause::Failed,
            _ => NotReadyCause::Left,
        };
        let message = watch
            .left
            .clone()
            .unwrap_or_else(|| format!("the session is {}", core.state));
        Some(not_ready(id, cause, &message))
    }

    /// The wait's answer, with its `Ready` event (once per agent).
    fn ready(&self, id: &str, via: ReadyVia, began: Instant) -> Ready {
        let registry = self.client().sessions().registry();
        // `convoai.session.ready.duration`, once per agent (an agent-joined notice may have
        // measured it already).
        self.inner.measure_ready(id);
        if registry.announce_ready(self.inner.key, id) {
            self.inner.events.emit(SessionEvent::Ready {
                agent_id: id.to_owned(),
                via,
            });
        }
        Ready {
            agent_id: id.to_owned(),
            via,
            waited: began.elapsed(),
        }
    }
}
