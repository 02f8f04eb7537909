//! Every vendor's JSON, key by key and in order, as vendors.md gives it.

use serde_json::{json, Value};
use shengwang_agent::types::blocks::{AsrVendor, LlmBlock, LlmVendor, Secret, TtsBlock, TtsVendor};
use shengwang_agent::types::llm::McpServer;
use shengwang_agent::vendors::*;

/// Equal as values and, serialized, in the same key order.
fn golden(actual: Config, expected: Value) {
    let actual = Value::Object(actual);
    assert_eq!(actual, expected);
    assert_eq!(
        serde_json::to_string(&actual).unwrap(),
        serde_json::to_string(&expected).unwrap(),
        "key order"
    );
}

#[test]
fn llm_vendors_and_params_assembly() {
    for (llm, vendor) in [
        (Llm::aliyun("u"), "aliyun"),
        (Llm::bytedance("u"), "bytedance"),
        (Llm::deepseek("u"), "deepseek"),
        (Llm::tencent("u"), "tencent"),
        (Llm::custom("u"), "custom"),
    ] {
        golden(llm.to_config(), json!({"url": "u", "vendor": vendor}));
    }
    // vendors.md §1 example.
    let llm = Llm::deepseek("https://llm.example/v1/chat/completions")
        .api_key("sk-demo")
        .model("deepseek-chat")
        .max_tokens(256)
        .temperature(0.3)
        .mcp_servers(vec![McpServer::new(
            "weather",
            "https://mcp.example/weather",
        )]);
    golden(
        llm.to_config(),
        json!({"url": "https://llm.example/v1/chat/completions", "api_key": "sk-demo",
               "params": {"model": "deepseek-chat", "max_tokens": 256, "temperature": 0.3},
               "vendor": "deepseek",
               "mcp_servers": [{"name": "weather", "endpoint": "https://mcp.example/weather", "transport": "streamable_http"}]}),
    );
    // model → params (params.model wins) → max_tokens → temperature → top_p; extras after vendor.
    let full = Llm::aliyun("u")
        .model("m1")
        .param("model", "m2")
        .param("stream", true)
        .top_p(0.9)
        .system_messages(vec![json!({"role": "system", "content": "s"})])
        .greeting_message("hi")
        .failure_message("sorry")
        .max_history(10)
        .input_modalities(vec!["text".into()])
        .output_modalities(vec!["text".into()])
        .greeting_configs(serde_json::from_value(json!({"mode": "single_first"})).unwrap())
        .template_variables([("name".to_string(), "Ann".to_string())].into())
        .extra("style", "openai")
        .extra("vendor", "custom");
    golden(
        full.to_config(),
        json!({"url": "u", "params": {"model": "m2", "stream": true, "top_p": 0.9}, "vendor": "custom",
               "system_messages": [{"role": "system", "content": "s"}], "greeting_message": "hi",
               "failure_message": "sorry", "max_history": 10, "input_modalities": ["text"],
               "output_modalities": ["text"], "greeting_configs": {"mode": "single_first"},
               "template_variables": {"name": "Ann"}, "style": "openai"}),
    );
}

#[test]
fn llm_ranges_are_validated() {
    let u = "https://llm.example/v1/chat/completions";
    assert!(Llm::aliyun(u)
        .temperature(2.0)
        .top_p(1.0)
        .max_tokens(1)
        .validate()
        .is_ok());
    for (llm, field) in [
        (Llm::aliyun(u).temperature(2.1), "llm.temperature"),
        (Llm::aliyun(u).temperature(-0.1), "llm.temperature"),
        (Llm::aliyun(u).top_p(1.5), "llm.top_p"),
        (Llm::aliyun(u).max_tokens(0), "llm.max_tokens"),
        (Llm::aliyun(" "), "llm.url"),
        (
            Llm::aliyun(u).mcp_servers(vec![McpServer::new("bad name!", "e")]),
            "llm.mcp_servers.name",
        ),
    ] {
        match llm.validate() {
            Err(shengwang_agent::Error::InvalidInput { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
}

/// `LLM_URL=llm.example` used to pass every check and reach the service: each URL option
/// needs its scheme and a host, and the error names the option, never the value.
#[test]
fn vendor_urls_without_a_scheme_are_refused_naming_the_option() {
    use shengwang_agent::agentkit::Agent;
    use shengwang_agent::types::llm::{LlmTool, ToolMethod};
    let u = "https://llm.example/v1/chat/completions";
    let tool = |url: &str| LlmTool::new("w", Default::default(), ToolMethod::Get, url);
    let llms = [
        (Llm::custom("llm.example"), "llm.url"),
        (Llm::aliyun("ftp://llm.example/v1"), "llm.url"),
        (
            Llm::deepseek(u).greeting_audio_url("cdn.example/hi.wav"),
            "llm.greeting_audio_url",
        ),
        (
            Llm::tencent(u).mcp_servers(vec![McpServer::new("kb", "mcp.example")]),
            "llm.mcp_servers.endpoint",
        ),
        (
            Llm::bytedance(u).tools(vec![tool("tools.example/w")]),
            "llm.tools.server.url",
        ),
    ];
    for (llm, field) in llms {
        let e = Agent::new().with_llm(llm).unwrap_err();
        assert!(
            matches!(&e, shengwang_agent::Error::InvalidInput { field: f, .. } if f == field),
            "{field}: {e}"
        );
        let text = e.to_string();
        assert!(
            text.contains("http://") && !text.contains(".example"),
            "{text}"
        );
    }
    let m = Agent::new().with_mllm(Mllm::new("realtime.example/v1", "openai"));
    assert!(m.unwrap_err().to_string().starts_with("invalid mllm.url: "));
    let q = Agent::new().with_mllm(QwenOmni::new("k", "dashscope.example/realtime"));
    assert!(q.unwrap_err().to_string().starts_with("invalid mllm.url: "));
    let mm = MiniMaxTts::new("k", "m", "v").url("api.minimax.chat/ws");
    assert!(Agent::new()
        .with_tts(mm)
        .unwrap_err()
        .to_string()
        .starts_with("invalid tts.url: "));
    // What the URLs look like in practice passes.
    Agent::new()
        .with_llm(
            Llm::custom(u)
                .greeting_audio_url("https://cdn.example/hi.wav")
                .mcp_servers(vec![McpServer::new("kb", "http://127.0.0.1:9000/mcp")])
                .tools(vec![tool("https://tools.example/w")]),
        )
        .unwrap()
        .with_tts(MiniMaxTts::new("k", "m", "v"))
        .unwrap();
    Agent::new()
        .with_mllm(Mllm::new("wss://rt.example/v1", "openai"))
        .unwrap();
}

#[test]
fn tts_vendors() {
    let mm = MiniMaxTts::new("mm-key", "speech-02-turbo", "female-shaonv");
    golden(
        mm.to_config(),
        json!({"vendor": "minimax", "params": {"key": "mm-key", "model": "speech-02-turbo",
               "voice_setting": {"voice_id": "female-shaonv"}, "url": "wss://api.minimax.chat/ws/v1/t2a_v2"}}),
    );
    assert_eq!(mm.sample_rate(), None);
    let mm = MiniMaxTts::new("k", "m", "v")
        .voice_setting("speed", 1.2)
        .url("wss://other")
        .group_id("g")
        .with_sample_rate(16000)
        .pronunciation_dict(json!({"tone": []}))
        .language_boost("Chinese")
        .extra("extra_key", 1)
        .skip_patterns(vec![2]);
    golden(
        mm.to_config(),
        json!({"vendor": "minimax", "params": {"key": "k", "model": "m",
               "voice_setting": {"voice_id": "v", "speed": 1.2}, "url": "wss://other", "group_id": "g",
               "audio_setting": {"sample_rate": 16000}, "pronunciation_dict": {"tone": []},
               "language_boost": "Chinese", "extra_key": 1}, "skip_patterns": [2]}),
    );
    assert_eq!(mm.sample_rate(), Some(16000));

    let t = TencentTts::new("app", "sid", "skey", 101001)
        .volume(5)
        .speed(1)
        .emotion_category("happy")
        .emotion_intensity(100);
    golden(
        t.to_config(),
        json!({"vendor": "tencent", "params": {"app_id": "app", "secret_id": "sid",
        "secret_key": "skey", "voice_type": 101001, "volume": 5, "speed": 1, "emotion_category": "happy",
        "emotion_intensity": 100}}),
    );
    assert_eq!(t.clone().extra("sample_rate", 16000).sample_rate(), None);

    let b = BytedanceTts::new("tok", "app", "BV001")
        .cluster("c")
        .speed_ratio(1.0)
        .volume_ratio(1.1)
        .pitch_ratio(0.9)
        .emotion("e");
    golden(
        b.to_config(),
        json!({"vendor": "bytedance", "params": {"token": "tok", "app_id": "app",
        "voice_type": "BV001", "cluster": "c", "speed_ratio": 1.0, "volume_ratio": 1.1, "pitch_ratio": 0.9, "emotion": "e"}}),
    );
    assert_eq!(b.sample_rate(), None);

    // vendors.md §2 example.
    let ms = MicrosoftTts::new("az-demo", "chinaeast2", "zh-CN-XiaoxiaoNeural")
        .with_sample_rate(MicrosoftSampleRate::Hz16000)
        .skip_patterns(vec![2, 3]);
    golden(
        ms.to_config(),
        json!({"vendor": "microsoft",
        "params": {"key": "az-demo", "region": "chinaeast2", "voice_name": "zh-CN-XiaoxiaoNeural", "sample_rate": 16000},
        "skip_patterns": [2, 3]}),
    );
    assert_eq!(ms.sample_rate(), Some(16000));
    assert_eq!(
        MicrosoftTts::new("k", "r", "v")
            .speed(1.5)
            .volume(50.0)
            .with_sample_rate(MicrosoftSampleRate::Hz48000)
            .to_config()["params"],
        json!({"key": "k", "region": "r", "voice_name": "v", "speed": 1.5, "volume": 50.0, "sample_rate": 48000})
    );

    let c = CosyVoiceTts::new("key", "cosyvoice-v1", "longxiaochun");
    golden(
        c.to_config(),
        json!({"vendor": "cosyvoice", "params": {"api_key": "key", "model": "cosyvoice-v1", "voice": "longxiaochun"}}),
    );
    assert_eq!(c.sample_rate(), None);
    assert_eq!(c.with_sample_rate(22050).sample_rate(), Some(22050));

    let d = BytedanceDuplexTts::new("app", "tok", "spk");
    golden(
        d.to_config(),
        json!({"vendor": "bytedance_duplex", "params": {"app_id": "app", "token": "tok", "speaker": "spk"}}),
    );
    let s = StepFunTts::new("key", "step-tts-mini", "voice").extra("speed", 1);
    golden(
        s.to_config(),
        json!({"vendor": "stepfun", "params": {"api_key": "key", "model": "step-tts-mini", "voice_id": "voice", "speed": 1}}),
    );
    assert_eq!((d.sample_rate(), s.sample_rate()), (None, None));
}

#[test]
fn stt_vendors() {
    golden(
        FengmingStt::new().to_config(),
        json!({"vendor": "fengming", "language": "zh-CN", "params": {}}),
    );
    golden(
        TencentStt::new("k", "app", "sec")
            .engine_model_type("16k_zh")
            .voice_id("v")
            .to_config(),
        json!({"vendor": "tencent", "language": "zh-CN", "params": {"key": "k", "app_id": "app", "secret": "sec",
               "engine_model_type": "16k_zh", "voice_id": "v"}}),
    );
    golden(
        MicrosoftStt::new("k", "r")
            .phrase_list(vec!["Shengwang".into()])
            .language("en-US")
            .to_config(),
        json!({"vendor": "microsoft", "language": "en-US", "params": {"key": "k", "region": "r", "language": "en-US",
               "phrase_list": ["Shengwang"]}}),
    );
    golden(
        XfyunStt::new("k", "app", "s").to_config(),
        json!({"vendor": "xfyun", "language": "zh_cn", "params": {"api_key": "k", "app_id": "app", "api_secret": "s", "language": "zh_cn"}}),
    );
    // vendors.md §3 example.
    golden(
        XfyunBigModelStt::new("xf-key", "xf-app", "xf-secret").to_config(),
        json!({"vendor": "xfyun_bigmodel", "language": "mix",
               "params": {"api_key": "xf-key", "app_id": "xf-app", "api_secret": "xf-secret", "language_name": "cn", "language": "mix"}}),
    );
    golden(
        XfyunDialectStt::new("app", "id", "sec").to_config(),
        json!({"vendor": "xfyun_dialect", "language": "zh-CN", "params": {"app_id": "app", "access_key_id": "id",
               "access_key_secret": "sec", "language": "zh-CN"}}),
    );
    // additional_params after the known keys, extras after those (and they win).
    golden(
        FengmingStt::new()
            .additional_param("a", 1)
            .additional_param("b", 2)
            .extra("b", 3)
            .to_config(),
        json!({"vendor": "fengming", "language": "zh-CN", "params": {"a": 1, "b": 3}}),
    );
}

#[test]
fn avatar_and_mllm() {
    let a = SensetimeAvatar::new(
        "tok",
        "3000",
        "st-app",
        "st-key",
        vec![json!({"digital_role": {"id": 1}})],
    )
    .extra("x", 1);
    golden(
        a.to_config(),
        json!({"enable": true, "vendor": "sensetime", "params": {"agora_token": "tok", "agora_uid": "3000",
        "appId": "st-app", "app_key": "st-key", "sceneList": [{"digital_role": {"id": 1}}], "x": 1}}),
    );
    assert_eq!(a.required_sample_rate(), 16000);
    let m = Mllm::new("wss://rt", "openai")
        .api_key("k")
        .input_modalities(vec!["audio".into()])
        .output_modalities(vec!["text".into(), "audio".into()])
        .greeting_message("hi")
        .style("openai")
        .param("voice", "alloy");
    golden(
        m.to_config(),
        json!({"url": "wss://rt", "api_key": "k", "params": {"voice": "alloy"},
        "input_modalities": ["audio"], "output_modalities": ["text", "audio"], "greeting_message": "hi",
        "vendor": "openai", "style": "openai"}),
    );
}

#[test]
fn debug_output_never_shows_a_vendor_secret() {
    const S: &str = "SENTINEL-VENDOR-SECRET";
    let shown = format!(
        "{:?}{:?}{:?}{:?}{:?}{:?}{:?}{:?}{:?}{:?}{:?}{:?}{:?}{:?}{:?}",
        Llm::aliyun("u").api_key(S).extra("other_key", S),
        MiniMaxTts::new(S, "m", "v"),
        TencentTts::new("a", S, S, 1),
        BytedanceTts::new(S, "a", "v"),
        MicrosoftTts::new(S, "r", "v"),
        CosyVoiceTts::new(S, "m", "v"),
        BytedanceDuplexTts::new("a", S, "s"),
        StepFunTts::new(S, "m", "v"),
        TencentStt::new(S, "a", S),
        MicrosoftStt::new(S, "r"),
        XfyunStt::new(S, "a", S),
        XfyunBigModelStt::new(S, "a", S),
        XfyunDialectStt::new("a", S, S),
        SensetimeAvatar::new(S, "1", "a", S, vec![]),
        Mllm::new("u", "openai").api_key(S),
    );
    assert!(!shown.contains(S), "{shown}");
    assert!(shown.contains("[redacted]"));
}

/// The blocks the Python SDK sends (fixtures/python_seed_start.json) deserialize into the typed
/// blocks and serialize back to the same JSON; our own output round-trips byte for byte.
#[test]
fn typed_blocks_round_trip() {
    use shengwang_agent::types::agents::StartProperties;
    let python: Value =
        serde_json::from_str(include_str!("fixtures/python_seed_start.json")).unwrap();
    let props: StartProperties = serde_json::from_value(python["properties"].clone()).unwrap();
    let llm = props.llm.as_ref().unwrap();
    assert_eq!(llm.vendor, Some(LlmVendor::Aliyun));
    assert_eq!(llm.api_key.as_ref().map(Secret::expose), Some("sk-x"));
    assert_eq!(props.tts.as_ref().unwrap().vendor, Some(TtsVendor::MiniMax));
    assert_eq!(
        props.asr.as_ref().unwrap().vendor,
        Some(AsrVendor::Fengming)
    );
    for block in ["llm", "tts", "asr"] {
        assert_eq!(
            serde_json::to_value(&props).unwrap()[block],
            python["properties"][block],
            "{block}"
        );
    }
    // Ours, byte for byte, including an unknown top-level field kept in `extra`.
    let ours = Llm::deepseek("u")
        .api_key("k")
        .model("m")
        .max_history(3)
        .extra("future", json!({"x": 1}))
        .to_config();
    let text = serde_json::to_string(&ours).unwrap();
    let block: LlmBlock = serde_json::from_str(&text).unwrap();
    assert_eq!(block.extra["future"], json!({"x": 1}));
    assert_eq!(serde_json::to_string(&block).unwrap(), text);
    let tts = MiniMaxTts::new("k", "m", "v")
        .skip_patterns(vec![1])
        .to_config();
    let text = serde_json::to_string(&tts).unwrap();
    let block: TtsBlock = serde_json::from_str(&text).unwrap();
    assert_eq!(serde_json::to_string(&block).unwrap(), text);
}

/// A sentinel key never shows in `Debug` of a block or of the request carrying it.
#[test]
fn debug_of_blocks_and_request_redacts_vendor_keys() {
    use shengwang_agent::agentkit::{AgentUid, RemoteUid};
    use shengwang_agent::types::agents::{StartAgentRequest, StartProperties};
    const S: &str = "SENTINEL-BLOCK-KEY-77";
    let llm = Llm::custom("u").api_key(S).to_block();
    let tts = MiniMaxTts::new(S, "m", "v").to_block();
    let asr = XfyunDialectStt::new("a", S, S).to_block();
    let shown = format!("{llm:?} {tts:?} {asr:?}");
    assert!(!shown.contains(S), "{shown}");
    let req = StartAgentRequest::new(
        "n",
        StartProperties::new("c", S, AgentUid::from(1), [RemoteUid::from(2)], llm, tts),
    );
    let shown = format!("{req:?}");
    assert!(!shown.contains(S), "{shown}");
    assert!(shown.contains("[redacted]"));
}

/// The vendor types deserialize from the option names config files use, through their
/// constructors: the result equals the built one, a typo and a missing option are refused,
/// and the rules between options hold.
#[test]
fn vendor_types_deserialize_through_their_constructors() {
    let mm: MiniMaxTts = serde_json::from_value(json!({
        "key": "k", "model": "m", "voice_id": "v", "sample_rate": 16000,
        "voice_setting": {"speed": 1.0}, "extra": {"english_normalization": true}
    }))
    .unwrap();
    let built = MiniMaxTts::new("k", "m", "v")
        .voice_setting("speed", 1.0)
        .with_sample_rate(16000)
        .extra("english_normalization", true);
    assert_eq!(mm, built);
    assert_eq!(mm.sample_rate(), Some(16000));

    let typo = serde_json::from_value::<MiniMaxTts>(
        json!({"key": "k", "model": "m", "voice_id": "v", "modle": 1}),
    );
    assert!(typo.unwrap_err().to_string().contains("modle"));
    let missing = serde_json::from_value::<MiniMaxTts>(json!({"key": "k", "model": "m"}));
    assert!(missing.unwrap_err().to_string().contains("voice_id"));
    let both = serde_json::from_value::<MiniMaxTts>(
        json!({"key": "k", "model": "m", "voice_id": "v", "sample_rate": 1, "audio_setting": {"sample_rate": 1}}),
    );
    assert!(both
        .unwrap_err()
        .to_string()
        .starts_with("option `sample_rate`"));
    let ms = serde_json::from_value::<MicrosoftTts>(
        json!({"key": "k", "region": "r", "voice_name": "v", "sample_rate": 22050}),
    );
    assert!(ms
        .unwrap_err()
        .to_string()
        .contains("8000, 16000, 24000 or 48000"));

    let llm: Llm = serde_json::from_value(json!({
        "vendor": "deepseek", "url": "u", "api_key": "SENTINEL-DE-KEY", "temperature": 0.3,
        "mcp_servers": [{"name": "w", "endpoint": "e"}]
    }))
    .unwrap();
    assert_eq!(llm.vendor(), &LlmVendor::DeepSeek);
    assert!(!format!("{llm:?}").contains("SENTINEL-DE-KEY"));
    let bad_mcp = serde_json::from_value::<Llm>(
        json!({"vendor": "aliyun", "url": "u", "mcp_servers": [{"name": "w", "endpoint": "e", "timeout": 1}]}),
    );
    assert!(bad_mcp.unwrap_err().to_string().contains("timeout"));
    // Range checks stay where they were: in the agent's setter.
    let hot: Llm =
        serde_json::from_value(json!({"vendor": "aliyun", "url": "u", "temperature": 3.0}))
            .unwrap();
    assert!(shengwang_agent::agentkit::Agent::new()
        .with_llm(hot)
        .is_err());

    let st: SensetimeAvatar = serde_json::from_value(
        json!({"agora_uid": 3000, "app_id": "a", "app_key": "k", "scene_list": []}),
    )
    .unwrap();
    assert_eq!(st, SensetimeAvatar::for_uid("3000", "a", "k", vec![]));
}
