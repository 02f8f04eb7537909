//! What `convoai serve` tells operators: log lines, `GET /metrics` in the Prometheus text
//! format, and OTLP export of metrics and traces when the standard `OTEL_EXPORTER_OTLP_*`
//! variables are set.
//!
//! One OpenTelemetry (0.33) meter provider holds every instrument of the SDK's client and
//! webhook receiver. Its readers: OpenTelemetry's own Prometheus exporter
//! (`opentelemetry-prometheus`, rendered on each scrape; un-deprecated by the OpenTelemetry
//! Rust project in 0.32 and free of `protobuf` since 0.31) and, with OTLP configured, a periodic
//! OTLP/HTTP exporter. Spans go to OTLP through `tracing-opentelemetry`. Everything is built
//! before the async runtime starts: the exporters run on threads of their own, with a blocking
//! HTTP client.

use std::sync::OnceLock;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use opentelemetry::metrics::{Meter, MeterProvider as _};
use opentelemetry::propagation::Extractor;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use prometheus::{Encoder, TextEncoder};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::Layer;

use crate::logging::{self, ExtraLayer, LogFormat};

/// The instrumentation scope of serve's meter and tracer.
const SCOPE: &str = "convoai-serve";

/// How long the exit waits for the last OTLP export.
const SHUTDOWN_WAIT: std::time::Duration = std::time::Duration::from_millis(1500);

/// The providers of this process; cheap to clone (shared inside).
#[derive(Clone)]
pub struct Telemetry {
    meters: SdkMeterProvider,
    tracer: Option<SdkTracerProvider>,
    registry: prometheus::Registry,
}

/// The providers `init` built, for the client's meter and for `/metrics`.
static INSTALLED: OnceLock<Telemetry> = OnceLock::new();

/// Which OTLP signals the environment asks for. OpenTelemetry's own variables: an endpoint
/// (shared or per signal) turns a signal on, `OTEL_{METRICS,TRACES}_EXPORTER=none` off.
#[derive(Debug, Default, PartialEq)]
struct Otlp {
    metrics: bool,
    traces: bool,
}

impl Otlp {
    fn from(var: impl Fn(&str) -> Option<String>) -> Self {
        let set = |name: &str| var(name).is_some_and(|v| !v.trim().is_empty());
        let off = |name: &str| var(name).is_some_and(|v| v.trim().eq_ignore_ascii_case("none"));
        let shared = set("OTEL_EXPORTER_OTLP_ENDPOINT");
        Otlp {
            metrics: (shared || set("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"))
                && !off("OTEL_METRICS_EXPORTER"),
            traces: (shared || set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
                && !off("OTEL_TRACES_EXPORTER"),
        }
    }
}

/// Builds the providers, installs the log subscriber (with span export when OTLP traces are
/// configured) and remembers the providers for [`meter`] and [`metrics`]. Call once, before
/// the async runtime exists.
pub fn init(verbose: u8, format: LogFormat) -> Telemetry {
    let otlp = Otlp::from(|name| std::env::var(name).ok());
    let mut notes = Vec::new();
    let resource = resource();
    let registry = prometheus::Registry::new();
    let mut meters = SdkMeterProvider::builder().with_resource(resource.clone());
    match opentelemetry_prometheus::exporter()
        .with_registry(registry.clone())
        .scope_info_enabled(false)
        .build()
    {
        Ok(reader) => meters = meters.with_reader(reader),
        Err(e) => notes.push(format!("/metrics is off: {e}")),
    }
    if otlp.metrics {
        match opentelemetry_otlp::MetricExporter::builder()
            .with_http()
            .build()
        {
            Ok(exporter) => meters = meters.with_periodic_exporter(exporter),
            Err(e) => notes.push(format!("OTLP metrics are off: {e}")),
        }
    }
    let tracer = if otlp.traces {
        match opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .build()
        {
            Ok(exporter) => Some(
                SdkTracerProvider::builder()
                    .with_resource(resource)
                    .with_batch_exporter(exporter)
                    .build(),
            ),
            Err(e) => {
                notes.push(format!("OTLP traces are off: {e}"));
                None
            }
        }
    } else {
        None
    };
    if tracer.is_some() {
        // A caller's `traceparent` makes serve's spans part of the caller's trace.
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    }
    // Spans, and the SDK's events (retries, failovers); not serve's own log lines, which
    // name channels: exported traces carry a channel only when the SDK is asked to.
    let spans: Option<ExtraLayer> = tracer.as_ref().map(|provider| {
        let exported =
            |m: &tracing::Metadata<'_>| m.is_span() || m.target().starts_with("shengwang_agent");
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer(SCOPE))
            .with_filter(tracing_subscriber::filter::filter_fn(exported))
            .boxed()
    });
    logging::init_service(verbose, format, spans);
    for note in notes {
        // Exporter errors name endpoints, never credentials (headers are not in them).
        tracing::warn!(note = %crate::output::clean(&note), "telemetry");
    }
    tracing::debug!(
        otlp_metrics = otlp.metrics,
        otlp_traces = otlp.traces,
        "telemetry ready"
    );
    let telemetry = Telemetry {
        meters: meters.build(),
        tracer,
        registry,
    };
    let _ = INSTALLED.set(telemetry.clone());
    telemetry
}

/// `service.name` is `convoai-serve` unless `OTEL_SERVICE_NAME` says otherwise (the resource
/// builder reads it and `OTEL_RESOURCE_ATTRIBUTES`).
fn resource() -> Resource {
    let named = std::env::var("OTEL_SERVICE_NAME").is_ok_and(|v| !v.trim().is_empty());
    let builder = Resource::builder();
    if named {
        builder.build()
    } else {
        builder.with_service_name(SCOPE).build()
    }
}

impl Telemetry {
    /// Sends what is left and stops the exporters, waiting at most [`SHUTDOWN_WAIT`] (an
    /// unreachable collector must not hold up the exit that SIGTERM asked for). Call outside
    /// the async runtime.
    pub fn shutdown(self) {
        let (done, wait) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            if let Err(e) = self.meters.shutdown() {
                tracing::debug!(error = %e, "meter provider shutdown");
            }
            if let Some(tracer) = self.tracer {
                if let Err(e) = tracer.shutdown_with_timeout(SHUTDOWN_WAIT) {
                    tracing::debug!(error = %e, "tracer provider shutdown");
                }
            }
            let _ = done.send(());
        });
        if wait.recv_timeout(SHUTDOWN_WAIT).is_err() {
            tracing::warn!("the last telemetry export did not finish in time; exiting without it");
        }
    }
}

/// The meter the SDK's client and receiver record through (`None` before [`init`]).
pub fn meter() -> Option<Meter> {
    INSTALLED.get().map(|t| t.meters.meter(SCOPE))
}

/// `GET /metrics`: every instrument in the Prometheus text format. No bearer key: the route is
/// only on the private listener (`--listen`), as Prometheus scrapes it, and it carries no
/// secret and no identifier (attributes are closed sets).
pub async fn metrics() -> Response {
    let Some(t) = INSTALLED.get() else {
        return (StatusCode::NOT_FOUND, "metrics are off\n").into_response();
    };
    let encoder = TextEncoder::new();
    let mut text = Vec::new();
    if let Err(e) = encoder.encode(&t.registry.gather(), &mut text) {
        tracing::warn!(error = %e, "cannot render /metrics");
        return (StatusCode::INTERNAL_SERVER_ERROR, "cannot render metrics\n").into_response();
    }
    let kind = encoder.format_type().to_owned();
    ([(header::CONTENT_TYPE, kind)], text).into_response()
}

/// The span of one request to serve, after the OpenTelemetry HTTP server conventions:
/// `http.request.method`, `http.route` (a template: never a channel) and, once answered,
/// `http.response.status_code`. The SDK's spans of the request are its children; with OTLP
/// traces on, a `traceparent` header makes it a child of the caller's span.
pub fn request_span(req: &axum::http::Request<hyper::body::Incoming>) -> tracing::Span {
    let route = route_of(req.uri().path());
    let span = tracing::info_span!(
        "convoai.serve.request",
        otel.name = format!("{} {route}", req.method()),
        otel.kind = "server",
        http.request.method = %req.method(),
        http.route = route,
        http.response.status_code = tracing::field::Empty,
    );
    if req.headers().contains_key("traceparent") {
        let parent =
            opentelemetry::global::get_text_map_propagator(|p| p.extract(&Headers(req.headers())));
        let _ = span.set_parent(parent);
    }
    span
}

/// The route template of `path`: a closed set, so spans never carry a caller's channel.
fn route_of(path: &str) -> &'static str {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        ["v1", "channels", _, "agent"] => "/v1/channels/{channel}/agent",
        ["v1", "channels", _, "agent", "speak"] => "/v1/channels/{channel}/agent/speak",
        ["v1", "channels", _, "token"] => "/v1/channels/{channel}/token",
        ["webhooks"] => "/webhooks",
        ["metrics"] => "/metrics",
        ["livez"] => "/livez",
        ["healthz"] => "/healthz",
        _ => "other",
    }
}

/// Request headers as an OpenTelemetry propagation carrier.
struct Headers<'a>(&'a axum::http::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_templates_without_channels() {
        assert_eq!(
            route_of("/v1/channels/secret-room/agent"),
            "/v1/channels/{channel}/agent"
        );
        assert_eq!(
            route_of("/v1/channels/r/agent/speak"),
            "/v1/channels/{channel}/agent/speak"
        );
        assert_eq!(
            route_of("/v1/channels/r/token"),
            "/v1/channels/{channel}/token"
        );
        assert_eq!(route_of("/webhooks"), "/webhooks");
        assert_eq!(route_of("/v1/channels/r/x/y/z"), "other");
    }

    fn otlp(vars: &[(&str, &str)]) -> Otlp {
        Otlp::from(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn otlp_signals_follow_the_standard_variables() {
        assert_eq!(otlp(&[]), Otlp::default());
        let both = otlp(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")]);
        assert!(both.metrics && both.traces);
        let metrics = otlp(&[("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://c/v1/metrics")]);
        assert!(metrics.metrics && !metrics.traces);
        let off = otlp(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c"),
            ("OTEL_TRACES_EXPORTER", "none"),
        ]);
        assert!(off.metrics && !off.traces);
        assert_eq!(
            otlp(&[("OTEL_EXPORTER_OTLP_ENDPOINT", " ")]),
            Otlp::default()
        );
    }
}
