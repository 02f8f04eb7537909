//! Safe update: the service replaces `llm.params` (and `mllm.params`) wholesale on update
//! (REST spec §5.6), so a session merges what the user changes onto the params its agent
//! runs with, with JSON Merge Patch (RFC 7396), and sends the complete object. Updates of one
//! session go one at a time, and the merged params are remembered only once the service
//! accepted them.
//!
//! The merge base holds vendor params, which may carry anything a vendor takes: it has no
//! `Debug` and is never logged.

use std::sync::OnceLock;

use serde_json::{Map, Value};

use super::Session;
use crate::agentkit::{Operation, TokenSource};
use crate::types::agents::UpdateAgentRequest;
use crate::{Error, Result};

/// A block's `params` object.
type Params = Map<String, Value>;

/// The params of one block (`llm` or `mllm`) the agent runs with, as far as the session knows.
#[derive(Clone)]
enum Known {
    /// Those of the session's own configuration, which started the agent.
    Start,
    /// The session was resumed from an agent id: it cannot know them.
    Unknown,
    /// Those the last update the service accepted sent.
    Sent(Params),
}

/// What the session knows of its agent's params, for one agent id.
struct Base {
    agent_id: String,
    llm: Known,
    mllm: Known,
}

/// The merge base behind the lock that sends a session's updates one at a time.
type Slot = tokio::sync::Mutex<Option<Base>>;

/// A session's merge base. Its lock is held across each update request, so the updates of a
/// session are sent one at a time and each merges onto the last accepted one. Created on the
/// first update (or at a resume), so a session never updated costs one word and a flag
/// rather than a lock and a base.
pub(super) struct Applied(OnceLock<Box<Slot>>);

impl Applied {
    /// The merge base of a new session (none yet), or of one resumed on `agent_id`, whose
    /// params it cannot know.
    pub(super) fn new(resumed: Option<&str>) -> Self {
        let slot = OnceLock::new();
        if let Some(id) = resumed {
            let base = Base {
                agent_id: id.to_owned(),
                llm: Known::Unknown,
                mllm: Known::Unknown,
            };
            let _ = slot.set(Box::new(Slot::new(Some(base))));
        }
        Applied(slot)
    }

    /// The lock and base, created on first use.
    fn slot(&self) -> &Slot {
        self.0.get_or_init(|| Box::new(Slot::new(None)))
    }
}

/// `patch` applied to `target` as RFC 7396 says: objects merge key by key, recursively; a
/// `null` member deletes the key; anything else (arrays, scalars, a non-object patch)
/// replaces. Written here rather than taken from `json-patch`, whose `merge` removes keys
/// with `Map::remove`, which reorders the remaining keys under serde_json's `preserve_order`
/// (this workspace's setting); key order is kept here.
pub(crate) fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(map) = target {
        for (key, value) in patch {
            if value.is_null() {
                map.retain(|k, _| k != key);
            } else {
                merge_patch(map.entry(key.as_str()).or_insert(Value::Null), value);
            }
        }
    }
}

/// Turns the `params` of `block` (the request's `llm` or `mllm`) into what is sent: merged
/// onto `known` (from `start` when it is the start configuration), or as given when
/// `replace`. Returns what the agent's params are once the service accepts it: `None` when
/// the update does not touch them.
fn prepare(
    block: &mut Option<Value>,
    field: &str,
    known: &Known,
    replace: bool,
    start: impl FnOnce() -> Result<Option<Params>>,
) -> Result<Option<Known>> {
    let Some(params) = block.as_mut().and_then(|b| b.get_mut("params")) else {
        return Ok(None);
    };
    if replace {
        return Ok(Some(match params {
            Value::Object(map) => Known::Sent(map.clone()),
            // What the service makes of a params that is not an object is not known.
            _ => Known::Unknown,
        }));
    }
    if !params.is_object() {
        return Err(Error::invalid(
            field,
            "a merge patch is a JSON object (a null member deletes its key); use replace_params() to send anything else as is",
        ));
    }
    let base = match known {
        Known::Sent(map) => map.clone(),
        Known::Start => start()?.unwrap_or_default(),
        Known::Unknown => {
            return Err(Error::UnknownMergeBase {
                field: field.to_owned(),
            })
        }
    };
    let mut merged = Value::Object(base);
    merge_patch(&mut merged, params);
    *params = merged.clone();
    Ok(Some(match merged {
        Value::Object(map) => Known::Sent(map),
        _ => Known::Unknown,
    }))
}

impl Session {
    /// Updates the running agent: `llm.params` and `mllm.params` merged onto the params
    /// it runs with (or sent as given when `replace`), one update of this session at a time.
    pub(crate) async fn send_update(
        &self,
        mut request: UpdateAgentRequest,
        replace: bool,
    ) -> Result<()> {
        // Held until the answer: the next update waits, then merges onto this one's result.
        let mut applied = self.inner.applied.slot().lock().await;
        self.send(Operation::Update, move |agents, id| async move {
            let base = match &mut *applied {
                Some(base) if base.agent_id == id => base,
                // Another run of the session: its agent started with the configuration.
                slot => slot.insert(Base {
                    agent_id: id.clone(),
                    llm: Known::Start,
                    mllm: Known::Start,
                }),
            };
            let llm = prepare(&mut request.llm, "llm.params", &base.llm, replace, || {
                Ok(self.start_params()?.0)
            })?;
            let mllm = prepare(
                &mut request.mllm,
                "mllm.params",
                &base.mllm,
                replace,
                || Ok(self.start_params()?.1),
            )?;
            agents.update(&id, &request).await?;
            // Accepted: these are the agent's params now. A failed or unanswered update
            // leaves the base as it was.
            if let Some(known) = llm {
                base.llm = known;
            }
            if let Some(known) = mllm {
                base.mllm = known;
            }
            Ok(())
        })
        .await
    }

    /// The LLM and MLLM params of the session's start configuration (no token is signed).
    fn start_params(&self) -> Result<(Option<Params>, Option<Params>)> {
        let b = &self.inner.cfg.b;
        let unsigned = TokenSource::Given(String::new());
        let p = b
            .agent
            .to_properties(&b.channel, &b.agent_uid, &b.remote_uids, &unsigned)?;
        Ok((p.llm.and_then(|l| l.params), p.mllm.and_then(|m| m.params)))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::merge_patch;

    #[test]
    fn the_examples_of_rfc_7396() {
        let cases = [
            (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
            (
                json!({"a": "b"}),
                json!({"b": "c"}),
                json!({"a": "b", "b": "c"}),
            ),
            (json!({"a": "b"}), json!({"a": null}), json!({})),
            (
                json!({"a": "b", "b": "c"}),
                json!({"a": null}),
                json!({"b": "c"}),
            ),
            (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "c"}), json!({"a": ["b"]}), json!({"a": ["b"]})),
            (
                json!({"a": {"b": "c"}}),
                json!({"a": {"b": "d", "c": null}}),
                json!({"a": {"b": "d"}}),
            ),
            (
                json!({"a": [{"b": "c"}]}),
                json!({"a": [1]}),
                json!({"a": [1]}),
            ),
            (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
            (json!({"a": "b"}), json!(["c"]), json!(["c"])),
            (json!({"a": "foo"}), json!(null), json!(null)),
            (json!({"a": "foo"}), json!("bar"), json!("bar")),
            (
                json!({"e": null}),
                json!({"a": 1}),
                json!({"e": null, "a": 1}),
            ),
            (
                json!([1, 2]),
                json!({"a": "b", "c": null}),
                json!({"a": "b"}),
            ),
            (
                json!({}),
                json!({"a": {"bb": {"ccc": null}}}),
                json!({"a": {"bb": {}}}),
            ),
        ];
        for (target, patch, want) in cases {
            let mut got = target.clone();
            merge_patch(&mut got, &patch);
            assert_eq!(got, want, "{target} + {patch}");
        }
    }

    #[test]
    fn key_order_is_kept_when_a_key_is_deleted() {
        let mut v = json!({"a": 1, "b": 2, "c": 3, "d": 4});
        merge_patch(&mut v, &json!({"b": null, "e": 5}));
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["a", "c", "d", "e"]);
    }
}
