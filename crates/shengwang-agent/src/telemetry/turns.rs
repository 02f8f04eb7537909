//! `convoai.turn.latency`: each turn's stages recorded once, whether the turn arrives by the
//! agent-metrics notice (111), the turns-finished notice (112) or `/turns`.
//!
//! The service names stages differently in each (`llm_ttfb` in 111, `llm_ttft` in 112 and
//! `/turns`, `llm_ttfa` for audio models); they map to a closed set: `asr` (`asr_ttlw`),
//! `llm` (`llm_ttfb`, `llm_ttft`, `llm_ttfa`), `tts` (`tts_ttfb`), `end_to_end`
//! (`e2e_latency_ms`) and `other` (`algorithm_processing`, `transport` and names this SDK does
//! not know). Sub-stages that overlap one of those (`llm_ftfs`, `llm_ttfs`) are not recorded.
//! The first value of a stage seen for a turn counts; later ones are dropped.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::sync::Mutex;

use opentelemetry::KeyValue;
use serde_json::{Map, Value};

use super::otel::Instruments;
use crate::types::ids::TurnId;
use crate::types::turns::{Turn, TurnMetrics};
use crate::webhooks::Event;

/// How many turns are remembered per client (oldest forgotten first): far more than arrive
/// while one turn's reports (notices, then a `/turns` read) are on their way.
pub(super) const REMEMBERED: usize = 16_384;

/// A stage of `convoai.turn.latency`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Asr = 0,
    Llm = 1,
    Tts = 2,
    EndToEnd = 3,
    Other = 4,
}

impl Stage {
    fn name(self) -> &'static str {
        match self {
            Stage::Asr => "asr",
            Stage::Llm => "llm",
            Stage::Tts => "tts",
            Stage::EndToEnd => "end_to_end",
            Stage::Other => "other",
        }
    }

    /// The stage a service segment name belongs to; `None` for overlapping sub-stages.
    fn of(segment: &str) -> Option<Stage> {
        Some(match segment {
            "asr_ttlw" => Stage::Asr,
            "llm_ttfb" | "llm_ttft" | "llm_ttfa" => Stage::Llm,
            "tts_ttfb" => Stage::Tts,
            "e2e_latency_ms" | "e2e" => Stage::EndToEnd,
            "llm_ftfs" | "llm_ttfs" => return None,
            _ => Stage::Other,
        })
    }
}

/// Turns already recorded: a hash of (agent id, turn id) and the stages recorded for it.
#[derive(Default)]
pub(super) struct TurnMemory {
    inner: Mutex<Seen>,
    hasher: RandomState,
}

#[derive(Default)]
struct Seen {
    stages: HashMap<u64, u8>,
    order: VecDeque<u64>,
}

/// A turn id as a key: numbers and numeric strings alike (`/turns` sends numbers, notices
/// either); `None` when the turn has no usable id (it cannot be told apart, so not counted).
fn turn_key(id: &TurnId) -> Option<Result<i64, &str>> {
    match id {
        TurnId::Number(n) => Some(Ok(*n)),
        TurnId::Text(t) if t.is_empty() => None,
        TurnId::Text(t) => Some(t.trim().parse::<i64>().map_err(|_| t.as_str())),
    }
}

impl TurnMemory {
    /// True the first time `stage` of the turn is seen (and remembers it).
    fn first(&self, agent_id: &str, turn: Result<i64, &str>, stage: Stage) -> bool {
        let key = self.hasher.hash_one((agent_id, turn));
        let bit = 1u8 << (stage as u8);
        let mut seen = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let Seen { stages, order } = &mut *seen;
        let mask = stages.entry(key).or_insert_with(|| {
            order.push_back(key);
            0
        });
        if *mask & bit != 0 {
            return false;
        }
        *mask |= bit;
        if order.len() > REMEMBERED {
            if let Some(old) = order.pop_front() {
                stages.remove(&old);
            }
        }
        true
    }
}

/// Records one stage's latency (ms) of a turn, unless already recorded.
fn record(i: &Instruments, agent_id: &str, turn: Result<i64, &str>, stage: Stage, ms: f64) {
    if !ms.is_finite() || ms < 0.0 || !i.turns.first(agent_id, turn, stage) {
        return;
    }
    i.turn_latency
        .record(ms / 1000.0, &[KeyValue::new("stage", stage.name())]);
}

/// The stages of a [`TurnMetrics`] (111 and `/turns`).
fn metrics(i: &Instruments, agent_id: &str, turn: Result<i64, &str>, m: &TurnMetrics) {
    let flat = [
        ("asr_ttlw", m.asr_ttlw),
        ("llm_ttfb", m.llm_ttfb),
        ("tts_ttfb", m.tts_ttfb),
        ("e2e_latency_ms", m.e2e_latency_ms),
    ];
    for (name, ms) in flat {
        if let (Some(stage), Some(ms)) = (Stage::of(name), ms) {
            record(i, agent_id, turn, stage, ms as f64);
        }
    }
    for s in &m.segmented_latency_ms {
        if let Some(stage) = Stage::of(s.name.as_str()) {
            record(i, agent_id, turn, stage, s.latency);
        }
    }
}

/// The stages of a 112 turn's `metrics` object: `e2e_latency_ms`, and `segmented_latency_ms`
/// as an object keyed by stage or an array of `{name, latency}`.
fn finished(i: &Instruments, agent_id: &str, turn: Result<i64, &str>, m: &Map<String, Value>) {
    if let Some(ms) = m.get("e2e_latency_ms").and_then(Value::as_f64) {
        record(i, agent_id, turn, Stage::EndToEnd, ms);
    }
    let pairs: Vec<(&str, f64)> = match m.get("segmented_latency_ms") {
        Some(Value::Object(o)) => o
            .iter()
            .filter_map(|(k, v)| Some((k.as_str(), v.as_f64()?)))
            .collect(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|s| Some((s.get("name")?.as_str()?, s.get("latency")?.as_f64()?)))
            .collect(),
        _ => Vec::new(),
    };
    for (name, ms) in pairs {
        if let Some(stage) = Stage::of(name) {
            record(i, agent_id, turn, stage, ms);
        }
    }
}

/// The turns a notification reports (111, 112); other events have none.
pub(super) fn notice(i: &Instruments, event: &Event) {
    match event {
        Event::AgentMetrics(n) => {
            for m in &n.metrics {
                if let Some(turn) = m.turn_id.as_ref().and_then(turn_key) {
                    metrics(i, n.agent_id.as_str(), turn, m);
                }
            }
        }
        Event::TurnsFinished(n) => {
            for t in &n.turns {
                if let Some(turn) = t.turn_id.as_ref().and_then(turn_key) {
                    finished(i, n.agent_id.as_str(), turn, &t.metrics);
                }
            }
        }
        _ => {}
    }
}

/// The turns of a `/turns` page of `agent_id`.
pub(super) fn listed(i: &Instruments, agent_id: &str, turns: &[Turn]) {
    for t in turns {
        let (Some(id), Some(m)) = (t.turn_id, &t.metrics) else {
            continue;
        };
        let Ok(id) = i64::try_from(id) else {
            continue;
        };
        metrics(i, t.agent_id.as_deref().unwrap_or(agent_id), Ok(id), m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_turn_stage_is_new_once_and_memory_is_bounded() {
        let memory = TurnMemory::default();
        assert!(memory.first("A", Ok(1), Stage::Asr));
        assert!(!memory.first("A", Ok(1), Stage::Asr));
        assert!(memory.first("A", Ok(1), Stage::Llm));
        assert!(memory.first("B", Ok(1), Stage::Asr));
        assert!(memory.first("A", Err("x"), Stage::Asr));
        for n in 2..(REMEMBERED as i64 + 10) {
            memory.first("A", Ok(n), Stage::Tts);
        }
        let seen = memory.inner.lock().unwrap();
        assert!(seen.stages.len() <= REMEMBERED && seen.order.len() <= REMEMBERED);
        drop(seen);
        // Forgotten, oldest first.
        assert!(memory.first("A", Ok(1), Stage::Asr));
    }

    #[test]
    fn stage_names_map_to_a_closed_set() {
        assert_eq!(Stage::of("asr_ttlw"), Some(Stage::Asr));
        assert_eq!(Stage::of("llm_ttft"), Some(Stage::Llm));
        assert_eq!(Stage::of("llm_ttfb"), Some(Stage::Llm));
        assert_eq!(Stage::of("llm_ftfs"), None);
        assert_eq!(Stage::of("tts_ttfb"), Some(Stage::Tts));
        assert_eq!(Stage::of("secret-looking-name"), Some(Stage::Other));
    }
}
