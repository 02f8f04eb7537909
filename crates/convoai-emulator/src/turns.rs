//! The turns an agent records: greeting, speak, think and silence reminders, with plausible
//! timings. The emulator has no media, so timings are derived from the text: a few hundred
//! milliseconds per pipeline stage (varying a little from turn to turn) and playback at a
//! speaking pace. Think turns start with `"api_think"`, a start type the service does not
//! document (it documents no type for think).

use std::collections::VecDeque;

use serde_json::{json, Value};

/// Turns kept per agent; older ones are dropped (their ids are not reused).
pub(crate) const MAX_TURNS: usize = 10_000;

/// Largest page size the turns route accepts.
pub(crate) const MAX_PAGE_SIZE: usize = 1_000;

/// What the user's silence triggers (`parameters.silence_config`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Silence {
    pub timeout_ms: u64,
    pub think: bool,
    pub content: String,
}

struct TurnRec {
    id: u64,
    start_at: u64,
    kind: &'static str,
    start_meta: Value,
    end_at: u64,
    end_kind: &'static str,
    end_meta: Value,
    segments: Vec<(&'static str, u64)>,
}

impl TurnRec {
    fn to_json(&self, agent_id: &str, channel: &str) -> Value {
        let e2e: u64 = self.segments.iter().map(|(_, ms)| ms).sum();
        let segments: Vec<Value> = self
            .segments
            .iter()
            .map(|(name, ms)| json!({"name": name, "latency": ms}))
            .collect();
        json!({
            "agent_id": agent_id, "channel": channel, "turn_id": self.id,
            "start": {"start_at": self.start_at, "type": self.kind, "metadata": self.start_meta},
            "end": {"end_at": self.end_at, "type": self.end_kind, "metadata": self.end_meta},
            "metrics": {"e2e_latency_ms": e2e, "segmented_latency_ms": segments},
        })
    }
}

/// How the agent answers: a cascade (LLM + TTS) or one audio model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    Tts,
    Llm,
    Mllm,
}

/// One agent's turns.
pub(crate) struct TurnLog {
    turns: VecDeque<TurnRec>,
    next_id: u64,
    mllm: bool,
    silence: Option<Silence>,
    /// When the user's silence started counting (the end of the last turn, or the join).
    quiet_since: u64,
    /// A reminder was already given for the current silence.
    reminded: bool,
    greetings: u64,
}

/// A little variation per turn, so the numbers do not look canned but stay reproducible.
fn jitter(id: u64, stage: u64) -> u64 {
    (id.wrapping_mul(2_654_435_761).wrapping_add(stage * 97)) % 61
}

fn playback_ms(text: &str) -> u64 {
    // Roughly 12 characters a second, at least a short beat.
    300 + (text.chars().count() as u64).min(10_000) * 80
}

impl TurnLog {
    pub fn new(now_ms: u64, mllm: bool, silence: Option<Silence>) -> Self {
        TurnLog {
            turns: VecDeque::new(),
            next_id: 1,
            mllm,
            silence,
            quiet_since: now_ms,
            reminded: false,
            greetings: 0,
        }
    }

    fn segments(&self, via: Via, id: u64) -> Vec<(&'static str, u64)> {
        let j = |stage| jitter(id, stage);
        match (via, self.mllm) {
            (_, true) | (Via::Mllm, _) => vec![
                ("algorithm_processing", 15 + j(1)),
                ("llm_ttfa", 420 + j(2)),
                ("transport", 35 + j(3)),
            ],
            (Via::Llm, false) => vec![
                ("algorithm_processing", 15 + j(1)),
                ("llm_ttft", 380 + j(2)),
                ("llm_ftfs", 110 + j(3)),
                ("tts_ttfb", 170 + j(4)),
                ("transport", 35 + j(5)),
            ],
            (Via::Tts, false) => vec![("tts_ttfb", 160 + j(4)), ("transport", 35 + j(5))],
        }
    }

    /// Index of the turn playing at `now_ms`, if any.
    fn playing(&self, now_ms: u64) -> Option<usize> {
        let i = self.turns.iter().rposition(|t| t.start_at <= now_ms)?;
        let t = &self.turns[i];
        (now_ms < t.end_at && t.end_kind == "ok").then_some(i)
    }

    /// Ends the playing turn early; turns queued behind it move up to start now.
    fn cut(&mut self, now_ms: u64, caused_by: &str, transport: bool) {
        let Some(i) = self.playing(now_ms) else {
            return;
        };
        let t = &mut self.turns[i];
        let saved = t.end_at - now_ms;
        t.end_at = now_ms;
        t.end_kind = "interrupted";
        t.end_meta = if transport {
            json!({"caused_by": caused_by, "transport": "http"})
        } else {
            json!({"caused_by": caused_by})
        };
        for queued in self.turns.iter_mut().skip(i + 1) {
            queued.start_at -= saved;
            queued.end_at -= saved;
        }
        if let Some(last) = self.turns.back() {
            self.quiet_since = last.end_at;
        }
    }

    fn drop_queued(&mut self, now_ms: u64) {
        while self.turns.back().is_some_and(|t| t.start_at > now_ms) {
            self.turns.pop_back();
        }
    }

    fn busy_until(&self) -> u64 {
        self.turns.back().map_or(0, |t| t.end_at)
    }

    fn push(&mut self, start_at: u64, kind: &'static str, start_meta: Value, via: Via, text: &str) {
        let id = self.next_id;
        self.next_id += 1;
        let segments = self.segments(via, id);
        let e2e: u64 = segments.iter().map(|(_, ms)| ms).sum();
        let playback = playback_ms(text);
        let end_at = start_at + e2e + playback;
        self.turns.push_back(TurnRec {
            id,
            start_at,
            kind,
            start_meta,
            end_at,
            end_kind: "ok",
            end_meta: json!({"playback_duration_ms": playback}),
            segments,
        });
        while self.turns.len() > MAX_TURNS {
            self.turns.pop_front();
        }
        self.quiet_since = end_at;
        self.reminded = false;
    }

    /// Records the silence reminder that fell due since the last turn, if any: one per
    /// silence, so an idle agent does not fill its log.
    pub fn catch_up(&mut self, now_ms: u64) {
        let Some(s) = self.silence.clone() else {
            return;
        };
        let due = self.quiet_since.saturating_add(s.timeout_ms);
        if self.reminded || now_ms < due {
            return;
        }
        let (action, via) = if s.think {
            ("think", Via::Llm)
        } else {
            ("speak", Via::Tts)
        };
        self.push(
            due,
            "silence_timeout",
            json!({"action": action}),
            via,
            &s.content,
        );
        self.reminded = true;
    }

    /// The greeting spoken to the first user when the agent joins.
    pub fn greeting(&mut self, text: &str, now_ms: u64) {
        self.greetings += 1;
        let nth = self.greetings;
        let via = if self.mllm { Via::Mllm } else { Via::Tts };
        self.push(now_ms, "greeting", json!({"greeting_nth": nth}), via, text);
    }

    /// A `speak` request. Returns false when it was dropped (`IGNORE` while busy).
    pub fn speak(&mut self, text: &str, priority: Option<&str>, now_ms: u64) -> bool {
        self.catch_up(now_ms);
        let busy = self.busy_until() > now_ms;
        let start = match priority.unwrap_or("INTERRUPT") {
            "IGNORE" if busy => return false,
            "APPEND" => self.busy_until().max(now_ms),
            _ => {
                self.drop_queued(now_ms);
                self.cut(now_ms, "api_speak", true);
                now_ms
            }
        };
        self.push(
            start,
            "api_speak",
            json!({"transport": "http"}),
            Via::Tts,
            text,
        );
        true
    }

    /// A `think` request: answered after the current turn; dropped when asked to ignore a
    /// busy agent.
    pub fn think(&mut self, text: &str, ignore_if_busy: bool, now_ms: u64) -> bool {
        self.catch_up(now_ms);
        let busy = self.busy_until() > now_ms;
        if busy && ignore_if_busy {
            return false;
        }
        let start = self.busy_until().max(now_ms);
        let via = if self.mllm { Via::Mllm } else { Via::Llm };
        self.push(start, "api_think", json!({"transport": "http"}), via, text);
        true
    }

    /// An `interrupt` request.
    pub fn interrupt(&mut self, now_ms: u64) {
        self.catch_up(now_ms);
        // Only what plays now stops; turns queued behind it still follow.
        self.cut(now_ms, "api_interrupt", true);
    }

    /// The agent leaves: what is playing stops, what is queued never starts.
    pub fn leave(&mut self, now_ms: u64) {
        self.catch_up(now_ms);
        self.drop_queued(now_ms);
        self.cut(now_ms, "api_leave", false);
        self.silence = None;
    }

    /// How many turns there are.
    pub fn len(&self) -> usize {
        self.turns.len()
    }

    /// Whether there is none yet.
    #[allow(dead_code)] // pairs with len
    pub fn is_empty(&self) -> bool {
        self.turns.is_empty()
    }

    /// One page (1-based) and the number of turns in total.
    pub fn page(
        &self,
        agent_id: &str,
        channel: &str,
        index: usize,
        size: usize,
    ) -> (Vec<Value>, usize) {
        let page = self
            .turns
            .iter()
            .skip(index.saturating_sub(1).saturating_mul(size))
            .take(size)
            .map(|t| t.to_json(agent_id, channel))
            .collect();
        (page, self.turns.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_700_000_000_000;

    fn kinds(log: &TurnLog) -> Vec<(String, String)> {
        log.page("a", "c", 1, 100)
            .0
            .iter()
            .map(|t| {
                (
                    t["start"]["type"].as_str().unwrap().to_owned(),
                    t["end"]["type"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn speak_interrupts_what_plays_and_append_waits() {
        let mut log = TurnLog::new(T0, false, None);
        log.greeting("hello", T0);
        assert!(log.speak("one", None, T0 + 100));
        let (page, _) = log.page("a", "c", 1, 10);
        assert_eq!(page[0]["end"]["metadata"]["caused_by"], "api_speak");
        assert_eq!(page[0]["end"]["end_at"], T0 + 100);
        assert!(log.speak("two", Some("APPEND"), T0 + 200));
        let (page, total) = log.page("a", "c", 1, 10);
        assert_eq!(total, 3);
        assert_eq!(page[2]["start"]["start_at"], page[1]["end"]["end_at"]);
        assert!(!log.speak("three", Some("IGNORE"), T0 + 300));
        assert_eq!(log.page("a", "c", 1, 10).1, 3);
    }

    #[test]
    fn metrics_add_up_and_name_the_cascade_stages() {
        let mut log = TurnLog::new(T0, false, None);
        log.think("what is the weather", false, T0);
        let t = &log.page("a", "c", 1, 1).0[0];
        let stages: Vec<&str> = t["metrics"]["segmented_latency_ms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            stages,
            [
                "algorithm_processing",
                "llm_ttft",
                "llm_ftfs",
                "tts_ttfb",
                "transport"
            ]
        );
        let sum: u64 = t["metrics"]["segmented_latency_ms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["latency"].as_u64().unwrap())
            .sum();
        assert_eq!(t["metrics"]["e2e_latency_ms"], sum);
        let mut mllm = TurnLog::new(T0, true, None);
        mllm.think("hi", false, T0);
        let t = &mllm.page("a", "c", 1, 1).0[0];
        assert_eq!(t["metrics"]["segmented_latency_ms"][1]["name"], "llm_ttfa");
    }

    #[test]
    fn one_silence_reminder_per_silence() {
        let silence = Silence {
            timeout_ms: 5_000,
            think: false,
            content: "still there?".into(),
        };
        let mut log = TurnLog::new(T0, false, Some(silence));
        log.catch_up(T0 + 4_999);
        assert_eq!(log.page("a", "c", 1, 10).1, 0);
        log.catch_up(T0 + 60_000);
        log.catch_up(T0 + 600_000);
        assert_eq!(kinds(&log), [("silence_timeout".into(), "ok".into())]);
        let t = &log.page("a", "c", 1, 1).0[0];
        assert_eq!(t["start"]["start_at"], T0 + 5_000);
        assert_eq!(t["start"]["metadata"]["action"], "speak");
        // Activity restarts the silence count.
        log.speak("hi", None, T0 + 700_000);
        log.catch_up(T0 + 800_000);
        assert_eq!(log.page("a", "c", 1, 10).1, 3);
    }

    #[test]
    fn an_interrupt_moves_queued_turns_up() {
        let mut log = TurnLog::new(T0, false, None);
        log.speak("a long answer to the question", None, T0);
        log.think("and then?", false, T0 + 10);
        log.interrupt(T0 + 50);
        let (page, _) = log.page("a", "c", 1, 10);
        assert_eq!(page[0]["end"]["type"], "interrupted");
        assert_eq!(page[0]["end"]["metadata"]["caused_by"], "api_interrupt");
        assert_eq!(page[1]["start"]["start_at"], T0 + 50);
        assert_eq!(page[1]["end"]["type"], "ok");
    }

    #[test]
    fn leave_cuts_the_playing_turn_and_drops_queued_ones() {
        let mut log = TurnLog::new(T0, false, None);
        log.speak("a long answer", None, T0);
        log.speak("queued", Some("APPEND"), T0 + 10);
        log.leave(T0 + 20);
        assert_eq!(kinds(&log), [("api_speak".into(), "interrupted".into())]);
        assert_eq!(
            log.page("a", "c", 1, 1).0[0]["end"]["metadata"]["caused_by"],
            "api_leave"
        );
    }
}
