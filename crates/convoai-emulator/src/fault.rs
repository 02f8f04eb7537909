//! Fault injection: scripted rules first, then random faults drawn from a seeded RNG.

use std::collections::VecDeque;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// What goes wrong with one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status and a JSON error body before doing anything; 429 and 503 may
    /// carry `Retry-After` / `retry-after-ms`.
    Status {
        /// HTTP status.
        status: u16,
        /// `Retry-After` value (seconds or an HTTP date).
        retry_after: Option<String>,
        /// `retry-after-ms` value.
        retry_after_ms: Option<u64>,
    },
    /// Close the connection without answering, before doing anything.
    Drop,
    /// Wait, then handle the request normally.
    Delay(Duration),
    /// Handle the request (its effect happens), then answer with this status instead.
    StatusAfterStateChange {
        /// HTTP status.
        status: u16,
    },
    /// Handle the request (its effect happens), then close the connection without answering.
    DropAfterStateChange,
    /// Handle the request (its effect happens), then wait before answering normally: a
    /// client that gives up meanwhile has had its request carried out.
    DelayAfterStateChange(Duration),
    /// Answer with this status and this raw body (e.g. a non-JSON 200), before doing anything.
    Respond {
        /// HTTP status.
        status: u16,
        /// The body, sent as is.
        body: String,
    },
}

impl Fault {
    /// Shorthand for [`Fault::Status`] without retry hints.
    pub fn status(status: u16) -> Self {
        Fault::Status {
            status,
            retry_after: None,
            retry_after_ms: None,
        }
    }
}

/// A short label, as the request log and the dashboard show it: `status 503`, `drop`,
/// `delay 20 ms`, `status 503 after state change`, `drop after state change`, `respond 200`.
impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::Status { status, .. } => write!(f, "status {status}"),
            Fault::Drop => f.write_str("drop"),
            Fault::Delay(d) => write!(f, "delay {} ms", d.as_millis()),
            Fault::StatusAfterStateChange { status } => {
                write!(f, "status {status} after state change")
            }
            Fault::DropAfterStateChange => f.write_str("drop after state change"),
            Fault::DelayAfterStateChange(d) => {
                write!(f, "delay {} ms after state change", d.as_millis())
            }
            Fault::Respond { status, .. } => write!(f, "respond {status}"),
        }
    }
}

/// A scripted fault for the next `times` requests that match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRule {
    /// Only requests with this method (e.g. `"POST"`), if set.
    pub method: Option<String>,
    /// Only requests whose path contains this, if set.
    pub path_contains: Option<String>,
    /// What happens.
    pub fault: Fault,
    /// How many matching requests it applies to.
    pub times: u32,
}

impl FaultRule {
    /// A rule that applies once to any request.
    pub fn new(fault: Fault) -> Self {
        FaultRule {
            method: None,
            path_contains: None,
            fault,
            times: 1,
        }
    }
    /// Restrict to one method.
    #[must_use]
    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.method = Some(method.into());
        self
    }
    /// Restrict to paths containing `part` (e.g. `"/join"`).
    #[must_use]
    pub fn path_contains(mut self, part: impl Into<String>) -> Self {
        self.path_contains = Some(part.into());
        self
    }
    /// Apply to this many matching requests.
    #[must_use]
    pub fn times(mut self, times: u32) -> Self {
        self.times = times;
        self
    }
}

pub(crate) struct Faults {
    pub rules: VecDeque<FaultRule>,
    pub rate: f64,
    pub delay: Duration,
    /// How long new agents stay `STARTING` (0: `RUNNING` at once).
    pub starting: Duration,
    rng: StdRng,
}

impl Faults {
    pub fn new(rate: f64, seed: u64) -> Self {
        Faults {
            rules: VecDeque::new(),
            rate,
            delay: Duration::from_millis(20),
            starting: Duration::ZERO,
            rng: StdRng::seed_from_u64(seed),
        }
    }

    pub fn pick(&mut self, method: &str, path: &str) -> Option<Fault> {
        if let Some(i) = self.rules.iter().position(|r| {
            r.method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
                && r.path_contains.as_deref().is_none_or(|p| path.contains(p))
        }) {
            let rule = &mut self.rules[i];
            let fault = rule.fault.clone();
            rule.times = rule.times.saturating_sub(1);
            if rule.times == 0 {
                self.rules.remove(i);
            }
            return Some(fault);
        }
        if self.rate <= 0.0 || !self.rng.gen_bool(self.rate.min(1.0)) {
            return None;
        }
        let hint = |status| Fault::Status {
            status,
            retry_after: Some("1".into()),
            retry_after_ms: Some(50),
        };
        Some(match self.rng.gen_range(0..9) {
            0 => Fault::status(500),
            1 => Fault::status(502),
            2 => hint(503),
            3 => Fault::status(504),
            4 => hint(429),
            5 => Fault::Drop,
            6 => Fault::Delay(self.delay),
            7 => Fault::StatusAfterStateChange { status: 503 },
            _ => Fault::DropAfterStateChange,
        })
    }
}
