//! The instruments (feature `otel`), created once per client from one meter.

use std::time::Duration;

use opentelemetry::metrics::{Counter, Histogram, Meter, UpDownCounter};
use opentelemetry::{InstrumentationScope, KeyValue};
use reqwest::Method;

use super::turns::TurnMemory;
use super::{NoticeOutcome, Orphan, StartOutcome, METER_NAME};
use crate::agentkit::SessionState;
use crate::transport::error_type;
use crate::Error;

/// Buckets of `http.client.request.duration`: OpenTelemetry's advice for HTTP durations.
const HTTP_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];
/// Buckets of a session start (a join, and any resolution after a 409).
const START_BUCKETS: [f64; 13] = [
    0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0,
];
/// Buckets of start-to-ready: joining a channel takes seconds.
const READY_BUCKETS: [f64; 12] = [
    0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0, 30.0, 60.0,
];
/// Buckets of a turn's stage latencies: hundreds of milliseconds.
const TURN_BUCKETS: [f64; 14] = [
    0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 7.5, 10.0,
];

pub(super) struct Instruments {
    request_duration: Histogram<f64>,
    start_duration: Histogram<f64>,
    ready_duration: Histogram<f64>,
    live: UpDownCounter<i64>,
    retries: Counter<u64>,
    failovers: Counter<u64>,
    errors: Counter<u64>,
    orphans: Counter<u64>,
    notifications: Counter<u64>,
    pub(super) turn_latency: Histogram<f64>,
    takeovers: Counter<u64>,
    /// Which (agent, turn, stage) were recorded, so a turn counts once whatever reports it.
    pub(super) turns: TurnMemory,
}

fn seconds(
    meter: &Meter,
    name: &'static str,
    about: &'static str,
    buckets: &[f64],
) -> Histogram<f64> {
    meter
        .f64_histogram(name)
        .with_unit("s")
        .with_description(about)
        .with_boundaries(buckets.to_vec())
        .build()
}

fn counter(meter: &Meter, name: &'static str, about: &'static str) -> Counter<u64> {
    meter.u64_counter(name).with_description(about).build()
}

impl Instruments {
    pub fn new(meter: Option<Meter>) -> Self {
        let meter = meter.unwrap_or_else(|| {
            opentelemetry::global::meter_with_scope(
                InstrumentationScope::builder(METER_NAME)
                    .with_version(env!("CARGO_PKG_VERSION"))
                    .build(),
            )
        });
        let m = &meter;
        Instruments {
            request_duration: seconds(
                m,
                "http.client.request.duration",
                "Duration of HTTP client requests (one per attempt).",
                &HTTP_BUCKETS,
            ),
            start_duration: seconds(
                m,
                "convoai.session.start.duration",
                "Duration of session starts.",
                &START_BUCKETS,
            ),
            ready_duration: seconds(
                m,
                "convoai.session.ready.duration",
                "From a session's start until its agent is in the channel.",
                &READY_BUCKETS,
            ),
            live: m
                .i64_up_down_counter("convoai.sessions.live")
                .with_description("Sessions per state (idle and stopped ones not counted).")
                .build(),
            retries: counter(
                m,
                "convoai.client.retries",
                "Requests sent again after a failed attempt.",
            ),
            failovers: counter(
                m,
                "convoai.client.failovers",
                "Moves to the next host or region.",
            ),
            errors: counter(
                m,
                "convoai.client.errors",
                "Calls that failed after every attempt.",
            ),
            orphans: counter(
                m,
                "convoai.agents.orphans",
                "Agents a session had to find after a 409 or an unclear start.",
            ),
            notifications: counter(
                m,
                "convoai.webhook.notifications",
                "Notification callbacks by event and outcome.",
            ),
            turn_latency: seconds(
                m,
                "convoai.turn.latency",
                "Turn latency per stage, as the service reports it.",
                &TURN_BUCKETS,
            ),
            takeovers: counter(
                m,
                "convoai.fleet.takeovers",
                "Agents a fleet node took over.",
            ),
            turns: TurnMemory::default(),
        }
    }

    pub fn request(
        &self,
        operation: &'static str,
        method: &Method,
        status: Option<u16>,
        error: Option<&Error>,
        elapsed: Duration,
    ) {
        // On the stack: no allocation per request.
        let method = KeyValue::new("http.request.method", method_name(method));
        let operation = KeyValue::new("convoai.operation", operation);
        let status = status.map(|s| KeyValue::new("http.response.status_code", i64::from(s)));
        let error = error.map(|e| KeyValue::new("error.type", error_type(e)));
        let seconds = elapsed.as_secs_f64();
        let h = &self.request_duration;
        match (status, error) {
            (Some(s), None) => h.record(seconds, &[method, operation, s]),
            (Some(s), Some(e)) => h.record(seconds, &[method, operation, s, e]),
            (None, Some(e)) => h.record(seconds, &[method, operation, e]),
            (None, None) => h.record(seconds, &[method, operation]),
        }
    }

    pub fn retry(&self, operation: &'static str, error: &Error) {
        self.retries.add(
            1,
            &[
                KeyValue::new("convoai.operation", operation),
                KeyValue::new("reason", error_type(error)),
            ],
        );
    }

    pub fn failover(&self, area: Option<crate::Area>) {
        let area = area.map_or("base_url".to_owned(), |a| a.to_string());
        self.failovers
            .add(1, &[KeyValue::new("convoai.area", area)]);
    }

    pub fn error(&self, operation: &'static str, error: &Error) {
        self.errors.add(
            1,
            &[
                KeyValue::new("convoai.operation", operation),
                KeyValue::new("error.type", error_type(error)),
            ],
        );
    }

    pub fn session_start(&self, elapsed: Duration, outcome: StartOutcome) {
        let outcome = match outcome {
            StartOutcome::Ok => "ok",
            StartOutcome::Error => "error",
            StartOutcome::Cancelled => "cancelled",
        };
        self.start_duration
            .record(elapsed.as_secs_f64(), &[KeyValue::new("outcome", outcome)]);
    }

    pub fn session_ready(&self, elapsed: Duration, outcome: Result<(), &Error>) {
        use crate::agentkit::NotReadyCause;
        let outcome = match outcome {
            Ok(()) => "ok",
            Err(Error::NotReady { cause, .. }) => match cause {
                NotReadyCause::Failed => "failed",
                NotReadyCause::Left => "left",
                NotReadyCause::Gone => "gone",
            },
            Err(e) if e.is_timeout() => "timeout",
            Err(_) => "error",
        };
        self.ready_duration
            .record(elapsed.as_secs_f64(), &[KeyValue::new("outcome", outcome)]);
    }

    pub fn session_state(&self, from: Option<SessionState>, to: Option<SessionState>) {
        for (state, delta) in [(from, -1), (to, 1)] {
            if let Some(state) = state.filter(|s| counted(*s)) {
                self.live
                    .add(delta, &[KeyValue::new("state", state.as_str())]);
            }
        }
    }

    pub fn orphan(&self, outcome: Orphan) {
        let outcome = match outcome {
            Orphan::Adopted => "adopted",
            Orphan::Stopped => "stopped",
            Orphan::Unresolved => "unresolved",
        };
        self.orphans.add(1, &[KeyValue::new("outcome", outcome)]);
    }

    pub fn notification(&self, event: &'static str, outcome: NoticeOutcome) {
        let outcome = match outcome {
            NoticeOutcome::Handled => "handled",
            NoticeOutcome::Duplicate => "duplicate",
            NoticeOutcome::Rejected => "rejected",
            NoticeOutcome::Failed => "failed",
        };
        self.notifications.add(
            1,
            &[
                KeyValue::new("convoai.event", event),
                KeyValue::new("outcome", outcome),
            ],
        );
    }

    pub fn takeover(&self, reason: &str, outcome: &str) {
        let reason = match reason {
            "lease_lapsed" => "lease_lapsed",
            "handover" => "handover",
            _ => "other",
        };
        let outcome = match outcome {
            "adopted" => "adopted",
            "stopped" => "stopped",
            "gone" => "gone",
            _ => "other",
        };
        self.takeovers.add(
            1,
            &[
                KeyValue::new("reason", reason),
                KeyValue::new("outcome", outcome),
            ],
        );
    }
}

/// States `convoai.sessions.live` counts: those of a session at work on an agent.
fn counted(state: SessionState) -> bool {
    !matches!(state, SessionState::Idle | SessionState::Stopped)
}

/// The method as OpenTelemetry names it: the known methods, `_OTHER` for any other.
fn method_name(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "_OTHER",
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::metrics::MeterProvider as _;
    use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
    use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};

    use super::*;

    #[test]
    fn takeovers_map_to_a_closed_set() {
        let exporter = InMemoryMetricExporter::default();
        let reader = PeriodicReader::builder(exporter.clone()).build();
        let provider = SdkMeterProvider::builder().with_reader(reader).build();
        let i = Instruments::new(Some(provider.meter("test")));
        i.takeover("lease_lapsed", "adopted");
        i.takeover("handover", "gone");
        i.takeover("AGENT-ID-LIKE", "CHANNEL-LIKE");
        provider.force_flush().unwrap();
        let all = exporter.get_finished_metrics().unwrap();
        let text = format!("{:?}", all.last().unwrap());
        assert!(!text.contains("AGENT-ID-LIKE") && !text.contains("CHANNEL-LIKE"));
        let mut seen = Vec::new();
        for scope in all.last().unwrap().scope_metrics() {
            for m in scope
                .metrics()
                .filter(|m| m.name() == "convoai.fleet.takeovers")
            {
                let AggregatedMetrics::U64(MetricData::Sum(sum)) = m.data() else {
                    panic!("a u64 counter")
                };
                for p in sum.data_points() {
                    let mut attrs: Vec<String> = p
                        .attributes()
                        .map(|kv| format!("{}={}", kv.key, kv.value))
                        .collect();
                    attrs.sort();
                    seen.push((attrs.join(","), p.value()));
                }
            }
        }
        seen.sort();
        assert_eq!(
            seen,
            [
                ("outcome=adopted,reason=lease_lapsed".to_owned(), 1),
                ("outcome=gone,reason=handover".to_owned(), 1),
                ("outcome=other,reason=other".to_owned(), 1),
            ]
        );
    }
}
