//! Safe update: a session's LLM params updates merge (RFC 7396) onto the params its agent
//! runs with and send the complete object; one update at a time; a failed update changes
//! nothing; a resumed session refuses to merge and can replace.

use std::time::Duration;

use convoai_emulator::{Emulator, EmulatorHandle, Fault, FaultRule};
use serde_json::{json, Value};
use shengwang_agent::agentkit::{Agent, AgentUid, RemoteUid, Session};
use shengwang_agent::vendors::{Llm, MiniMaxTts};
use shengwang_agent::{Client, Error, RetryPolicy};

fn agent() -> Agent {
    Agent::new()
        .with_llm(
            Llm::aliyun("https://llm.example/v1")
                .api_key("sk-merge-test-key")
                .model("qwen-max")
                .param("temperature", 0.7)
                .param("nested", json!({"a": 1, "b": {"c": 2}}))
                .param("stop", json!(["x", "y"])),
        )
        .unwrap()
        .with_tts(MiniMaxTts::new("k", "speech-02-turbo", "female-shaonv"))
        .unwrap()
}

fn client(emu: &EmulatorHandle) -> Client {
    Client::builder()
        .app_id(emu.app_id())
        .app_certificate(emu.app_certificate())
        .base_url(emu.base_url())
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

fn session(c: &Client, channel: &str) -> shengwang_agent::agentkit::SessionBuilder {
    agent().create_session(c, channel, AgentUid::from(1001), [RemoteUid::from(2002)])
}

/// `properties.llm.params` of every update the emulator answered with 200, oldest first.
fn accepted_params(emu: &EmulatorHandle) -> Vec<Value> {
    emu.recent_requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/update") && r.status == Some(200))
        .map(|r| {
            let body: Value = serde_json::from_str(r.body.as_deref().unwrap()).unwrap();
            body["properties"]["llm"]["params"].clone()
        })
        .collect()
}

fn last_params(emu: &EmulatorHandle) -> Value {
    accepted_params(emu).pop().expect("no accepted update")
}

fn updates_sent(emu: &EmulatorHandle) -> usize {
    emu.recent_requests()
        .iter()
        .filter(|r| r.path.ends_with("/update"))
        .count()
}

async fn started(emu: &EmulatorHandle, channel: &str) -> Session {
    let s = session(&client(emu), channel).build();
    s.start().await.unwrap();
    s
}

#[tokio::test]
async fn params_merge_onto_what_the_agent_started_with() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let s = started(&emu, "merge-1").await;
    s.update()
        .llm_params(json!({"temperature": 0.2}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        last_params(&emu),
        json!({"model": "qwen-max", "temperature": 0.2, "nested": {"a": 1, "b": {"c": 2}}, "stop": ["x", "y"]})
    );
    // Objects merge recursively, null deletes, arrays replace; onto the previous update.
    s.update()
        .llm_params(json!({"nested": {"a": null, "b": {"d": 3}}, "stop": ["z"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        last_params(&emu),
        json!({"model": "qwen-max", "temperature": 0.2, "nested": {"b": {"c": 2, "d": 3}}, "stop": ["z"]})
    );
    // `.llm({system_messages, params})` merges its params the same way.
    s.update()
        .llm(json!({"system_messages": [{"role": "system", "content": "Be brief."}], "params": {"temperature": null}}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        last_params(&emu),
        json!({"model": "qwen-max", "nested": {"b": {"c": 2, "d": 3}}, "stop": ["z"]})
    );
    // The key order of the start configuration is kept.
    let order: Vec<String> = last_params(&emu)
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(order, ["model", "nested", "stop"]);
    // An update without params leaves them alone, and the base too.
    s.update()
        .llm(json!({"system_messages": [{"role": "system", "content": "Be kind."}]}))
        .send()
        .await
        .unwrap();
    s.update()
        .llm_params(json!({"max_tokens": 100}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        last_params(&emu),
        json!({"model": "qwen-max", "nested": {"b": {"c": 2, "d": 3}}, "stop": ["z"], "max_tokens": 100})
    );
    // A patch that is not an object cannot merge: refused, nothing sent.
    let sent = updates_sent(&emu);
    let err = s.update().llm_params(json!([1])).send().await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err}");
    assert_eq!(updates_sent(&emu), sent);
}

#[tokio::test]
async fn a_failed_or_unanswered_update_leaves_the_base_unchanged() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let s = started(&emu, "merge-2").await;
    s.update()
        .llm_params(json!({"temperature": 0.2}))
        .send()
        .await
        .unwrap();
    for fault in [
        Fault::status(400),
        Fault::status(503),
        Fault::StatusAfterStateChange { status: 500 },
        Fault::DropAfterStateChange,
    ] {
        emu.push_fault(FaultRule::new(fault.clone()).path_contains("/update"));
        let err = s
            .update()
            .llm_params(json!({"temperature": 0.9, "model": null}))
            .send()
            .await
            .unwrap_err();
        assert!(err.status().is_some() || err.is_connect(), "{fault}: {err}");
        s.update()
            .llm_params(json!({"top_p": 0.5}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            last_params(&emu),
            json!({"model": "qwen-max", "temperature": 0.2, "nested": {"a": 1, "b": {"c": 2}}, "stop": ["x", "y"], "top_p": 0.5}),
            "after {fault}"
        );
    }
}

#[tokio::test]
async fn concurrent_updates_of_one_session_are_serialised() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let s = started(&emu, "merge-3").await;
    // The first update to arrive is held a while: unserialised, the second would merge onto
    // the start configuration and lose the first's change.
    emu.push_fault(
        FaultRule::new(Fault::Delay(Duration::from_millis(150))).path_contains("/update"),
    );
    let (a, b) = tokio::join!(
        s.update().llm_params(json!({"a": 1})).send(),
        s.update().llm_params(json!({"b": 2})).send(),
    );
    a.unwrap();
    b.unwrap();
    let params = accepted_params(&emu);
    assert_eq!(params.len(), 2);
    let last = &params[1];
    assert_eq!(last["a"], 1, "{last}");
    assert_eq!(last["b"], 2, "{last}");
    assert_eq!(last["model"], "qwen-max", "{last}");
    // And a clone of the session shares the same base and the same queue.
    let clone = s.clone();
    clone
        .update()
        .llm_params(json!({"c": 3}))
        .send()
        .await
        .unwrap();
    let last = last_params(&emu);
    assert_eq!(
        (last["a"].clone(), last["b"].clone(), last["c"].clone()),
        (json!(1), json!(2), json!(3))
    );
}

#[tokio::test]
async fn a_resumed_session_refuses_to_merge_and_can_replace() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let owner = started(&emu, "merge-4").await;
    let id = owner.id().unwrap();
    let c = client(&emu);
    let resumed = session(&c, "merge-4").resume(id.clone()).await.unwrap();
    let unchecked = session(&c, "merge-4").resume_unchecked(id.clone());
    let sent = updates_sent(&emu);
    for s in [&resumed, &unchecked] {
        let err = s
            .update()
            .llm_params(json!({"temperature": 0.2}))
            .send()
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::UnknownMergeBase { ref field } if field == "llm.params"),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(
            text.contains("replace_params()") && !text.contains('\n'),
            "{text}"
        );
    }
    assert_eq!(updates_sent(&emu), sent, "a refused merge sends nothing");
    // Updates without params need no base.
    resumed
        .update()
        .llm(json!({"system_messages": [{"role": "system", "content": "Hi."}]}))
        .send()
        .await
        .unwrap();
    // Replace sends the params as given, and then the session knows them.
    resumed
        .update()
        .llm_params(json!({"model": "qwen-plus", "temperature": 0.5}))
        .replace_params()
        .send()
        .await
        .unwrap();
    assert_eq!(
        last_params(&emu),
        json!({"model": "qwen-plus", "temperature": 0.5})
    );
    resumed
        .update()
        .llm_params(json!({"temperature": 0.1}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        last_params(&emu),
        json!({"model": "qwen-plus", "temperature": 0.1})
    );
    // The owner keeps its own base (its start configuration): sessions share nothing.
    owner
        .update()
        .llm_params(json!({"temperature": 0.3}))
        .send()
        .await
        .unwrap();
    assert_eq!(last_params(&emu)["model"], "qwen-max");
}

#[tokio::test]
async fn a_restarted_session_merges_onto_its_start_configuration_again() {
    let emu = Emulator::builder().spawn().await.unwrap();
    let s = started(&emu, "merge-5").await;
    s.update()
        .llm_params(json!({"temperature": 0.2}))
        .send()
        .await
        .unwrap();
    s.stop().await.unwrap();
    s.start().await.unwrap();
    s.update()
        .llm_params(json!({"top_p": 0.5}))
        .send()
        .await
        .unwrap();
    assert_eq!(last_params(&emu)["temperature"], 0.7);
}

#[cfg(feature = "blocking")]
#[test]
fn the_blocking_session_merges_too() {
    let emu = Emulator::builder().start().unwrap();
    let c = shengwang_agent::blocking::Client::builder()
        .app_id(emu.app_id())
        .app_certificate(emu.app_certificate())
        .base_url(emu.base_url())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let s = agent()
        .create_session(&c, "merge-6", AgentUid::from(7), [RemoteUid::from(8)])
        .build();
    let id = s.start().unwrap();
    s.update()
        .llm_params(json!({"temperature": 0.2}))
        .send()
        .unwrap();
    assert_eq!(last_params(&emu)["model"], "qwen-max");
    assert_eq!(last_params(&emu)["temperature"], 0.2);
    let resumed = agent()
        .create_session(&c, "merge-6", AgentUid::from(7), [RemoteUid::from(8)])
        .resume_unchecked(id);
    let err = resumed
        .update()
        .llm_params(json!({"temperature": 0.3}))
        .send()
        .unwrap_err();
    assert!(matches!(err, Error::UnknownMergeBase { .. }), "{err}");
    resumed
        .update()
        .llm_params(json!({"model": "m"}))
        .replace_params()
        .send()
        .unwrap();
    assert_eq!(last_params(&emu), json!({"model": "m"}));
}
