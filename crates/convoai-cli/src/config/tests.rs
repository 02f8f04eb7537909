use std::collections::BTreeSet;

use serde_json::{json, Value};
use shengwang_agent::agentkit::{AgentUid, RemoteUid, TokenSource};

use super::tree::{self, Format};
use super::vendors::{AVATAR_VENDORS, LLM_VENDORS, STT_VENDORS, TTS_VENDORS};
use super::*;

/// Placed in files and in the environment of the error cases: it must never be echoed.
const SECRET: &str = "SENTINEL-s3cr3t-7f3a";

fn sample_env(var: &str) -> Option<String> {
    match var {
        "LLM_URL" => Some("https://llm.example/v1/chat/completions".into()),
        "LLM_API_KEY" => Some("sk-llm-from-env".into()),
        "MINIMAX_KEY" => Some("mm-key-from-env".into()),
        _ => None,
    }
}

/// Every variable is set, to a value that names it (a URL for `…_URL`).
fn any_env(var: &str) -> Option<String> {
    if var.ends_with("_URL") {
        return Some(format!(
            "https://value-of-{}.example",
            var.to_ascii_lowercase()
        ));
    }
    Some(format!("value-of-{var}"))
}

/// Every variable but `MISSING_VAR` holds the secret.
fn secret_env(var: &str) -> Option<String> {
    (var != "MISSING_VAR").then(|| SECRET.to_owned())
}

fn no_env(_: &str) -> Option<String> {
    None
}

fn properties(file: &AgentFile) -> Value {
    let p = file
        .agent
        .to_properties(
            "room",
            &AgentUid::from(1001),
            &[RemoteUid::from(2002)],
            &TokenSource::Given("t".into()),
        )
        .expect("properties");
    serde_json::to_value(p).expect("properties as JSON")
}

fn ok(name: &str, text: &str, env: &dyn Fn(&str) -> Option<String>) -> AgentFile {
    match parse(name, text, env) {
        Ok(f) => f,
        Err(e) => panic!("{name} should parse: {e}\n---\n{text}"),
    }
}

fn err(name: &str, text: &str, env: &dyn Fn(&str) -> Option<String>) -> String {
    match parse(name, text, env) {
        Ok(_) => panic!("{name} should fail to parse:\n{text}"),
        Err(CliError::Invalid(m)) => m,
        Err(other) => panic!("{name}: not an Invalid error: {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// The sample's structure: its commented-out example blocks and commented options.

/// A commented-out example of the sample: `# [table]` and the `# ` lines after it, uncommented.
struct Block {
    table: String,
    lines: Vec<String>,
}

impl Block {
    /// The block's `vendor = "…"` value.
    fn vendor(&self) -> Option<String> {
        self.lines.iter().find_map(|l| {
            let v = l.strip_prefix("vendor = \"")?;
            Some(v[..v.find('"')?].to_owned())
        })
    }
}

/// `# [name]` with a plain top-level table name starts a block.
fn block_start(line: &str) -> Option<String> {
    let rest = line.strip_prefix("# [")?;
    let name = &rest[..rest.find(']')?];
    (!name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        .then(|| name.to_owned())
}

fn sample_blocks() -> Vec<Block> {
    let lines: Vec<&str> = SAMPLE_TOML.lines().collect();
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if let Some(table) = block_start(lines[i]) {
            let mut body = Vec::new();
            while i < lines.len() && lines[i].starts_with("# ") {
                body.push(lines[i][2..].to_owned());
                i += 1;
            }
            blocks.push(Block { table, lines: body });
        } else {
            i += 1;
        }
    }
    blocks
}

/// The sample with `block` uncommented in place of the active table of its name, or appended
/// when there is none.
fn sample_with(text: &str, block: &Block) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let header = format!("[{}]", block.table);
    let mut out: Vec<String> = Vec::new();
    let mut replaced = false;
    let mut i = 0;
    while i < lines.len() {
        if lines[i] == header {
            out.extend(block.lines.iter().cloned());
            while i < lines.len() && !lines[i].is_empty() {
                i += 1;
            }
            replaced = true;
        } else {
            out.push(lines[i].to_owned());
            i += 1;
        }
    }
    if !replaced {
        out.push(String::new());
        out.extend(block.lines.iter().cloned());
    }
    out.join("\n") + "\n"
}

/// `key = …` after `# `, outside any example block: an optional setting of an active table.
fn commented_option(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("# ")?;
    let (key, _) = rest.split_once(" = ")?;
    (!key.is_empty() && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')).then_some(rest)
}

/// The sample with every commented option of the active tables uncommented.
fn sample_with_active_options() -> String {
    let mut out = String::new();
    let mut in_block = false;
    for line in SAMPLE_TOML.lines() {
        if block_start(line).is_some() {
            in_block = true;
        } else if line.is_empty() {
            in_block = false;
        }
        match commented_option(line) {
            Some(option) if !in_block => out.push_str(option),
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

const SETTING_TABLES: &[&str] = &[
    "turn_detection",
    "sal",
    "advanced_features",
    "parameters",
    "geofence",
    "labels",
    "rtc",
    "filler_words",
];

/// The sample with everything that can be on at once: the active options, every setting
/// block and the avatar.
fn sample_everything() -> String {
    let mut text = sample_with_active_options();
    for b in sample_blocks() {
        if SETTING_TABLES.contains(&b.table.as_str()) || b.table == "avatar" {
            text = sample_with(&text, &b);
        }
    }
    text
}

// ---------------------------------------------------------------------------------------------
// The sample.

#[test]
fn sample_parses_to_a_working_agent() {
    let file = ok("agent.toml", SAMPLE_TOML, &sample_env);
    let p = properties(&file);
    assert_eq!(p["llm"]["vendor"], "aliyun");
    assert_eq!(p["llm"]["url"], "https://llm.example/v1/chat/completions");
    assert_eq!(p["llm"]["api_key"], "sk-llm-from-env");
    assert_eq!(p["llm"]["params"]["model"], "qwen-max");
    assert_eq!(
        p["llm"]["greeting_message"],
        "Hi! How can I help you today?"
    );
    assert_eq!(p["llm"]["system_messages"][0]["role"], "system");
    assert_eq!(p["tts"]["vendor"], "minimax");
    assert_eq!(p["tts"]["params"]["key"], "mm-key-from-env");
    assert_eq!(p["tts"]["params"]["model"], "speech-02-turbo");
    assert_eq!(
        p["tts"]["params"]["voice_setting"]["voice_id"],
        "female-shaonv"
    );
    assert_eq!(p["asr"]["vendor"], "fengming");
    assert!(p.get("avatar").is_none() && p.get("mllm").is_none());

    let s = &file.session;
    assert_eq!(s.agent_uid.as_deref(), Some("1001"));
    assert_eq!(s.remote_uids, Some(vec!["2002".to_owned()]));
    assert_eq!(s.idle_timeout, Some(30));
    assert_eq!(s.channel, None);
}

#[test]
fn sample_needs_its_three_variables() {
    for var in ["LLM_URL", "LLM_API_KEY", "MINIMAX_KEY"] {
        let env = |v: &str| if v == var { None } else { sample_env(v) };
        let m = err("agent.toml", SAMPLE_TOML, &env);
        assert!(
            m.contains(&format!("environment variable {var} is not set")),
            "{m}"
        );
    }
}

#[test]
fn every_sample_vendor_block_parses_in_place_of_the_active_one() {
    let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
    for block in sample_blocks() {
        let Some(vendor) = block.vendor() else {
            continue;
        };
        let text = sample_with(SAMPLE_TOML, &block);
        let file = ok("agent.toml", &text, &any_env);
        let p = properties(&file);
        let key = if block.table == "stt" {
            "asr"
        } else {
            block.table.as_str()
        };
        assert_eq!(p[key]["vendor"], vendor.as_str(), "block [{}]", block.table);
        let rendered = p.to_string();
        assert!(
            !rendered.contains("${"),
            "uninterpolated value in {rendered}"
        );
        seen.insert((block.table.clone(), vendor));
    }
    let of = |table: &str| -> BTreeSet<String> {
        seen.iter()
            .filter(|(t, _)| t == table)
            .map(|(_, v)| v.clone())
            .collect()
    };
    let all = |list: &[&str]| {
        list.iter()
            .map(|v| (*v).to_owned())
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(of("tts"), all(TTS_VENDORS), "a TTS vendor has no example");
    assert_eq!(of("stt"), all(STT_VENDORS), "an STT vendor has no example");
    assert_eq!(of("avatar"), all(AVATAR_VENDORS));
    assert_eq!(of("llm").len(), 1);
    assert!(LLM_VENDORS.contains(&of("llm").iter().next().map_or("", |s| s.as_str())));
    assert_eq!(of("mllm"), all(&["openai", "qwen_omni"]));
}

#[test]
fn every_llm_vendor_name_works() {
    for vendor in LLM_VENDORS {
        let text = SAMPLE_TOML.replace("vendor = \"aliyun\"", &format!("vendor = \"{vendor}\""));
        let p = properties(&ok("agent.toml", &text, &sample_env));
        assert_eq!(p["llm"]["vendor"], *vendor);
    }
}

#[test]
fn sample_settings_and_commented_options_parse() {
    let file = ok("agent.toml", &sample_everything(), &any_env);
    let p = properties(&file);
    for table in SETTING_TABLES {
        assert!(p.get(*table).is_some(), "[{table}] not sent: {p}");
    }
    assert_eq!(p["avatar"]["vendor"], "sensetime");
    assert_eq!(p["avatar"]["params"]["appId"], "value-of-SENSETIME_APP_ID");
    assert_eq!(
        p["turn_detection"]["config"]["end_of_speech"]["mode"],
        "semantic"
    );
    assert_eq!(p["rtc"]["encryption_mode"], 7);
    assert_eq!(p["rtc"]["encryption_key"], "value-of-RTC_ENCRYPTION_KEY");
    assert_eq!(p["geofence"]["area"], "GLOBAL");
    assert_eq!(p["labels"]["team"], "support");
    assert_eq!(p["llm"]["max_history"], 32);
    assert_eq!(
        p["llm"]["failure_message"],
        "Sorry, something went wrong. Please try again."
    );
    assert_eq!(p["asr"]["language"], "zh-CN");
    assert_eq!(file.agent.name(), Some("support-bot"));

    let s = &file.session;
    assert_eq!(s.channel.as_deref(), Some("room-1"));
    assert_eq!(s.name.as_deref(), Some("support-bot-room-1"));
    assert_eq!(s.expires_in, Some(3600));
    assert_eq!(s.enable_string_uid, Some(false));
}

/// The options a table accepts, read from the error an unknown option gets.
fn accepted_options(text: &str) -> Vec<String> {
    let m = err("agent.toml", text, &any_env);
    let list = m
        .split("(expected one of ")
        .nth(1)
        .and_then(|s| s.strip_suffix(')'))
        .unwrap_or_else(|| panic!("no option list in: {m}"));
    list.split(", ").map(str::to_owned).collect()
}

/// Option names a block shows: `key = …` lines and `[table.key]` headers.
fn shown_options(lines: &[String]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for l in lines {
        if let Some((key, _)) = l.split_once(" = ") {
            out.insert(key.to_owned());
        } else if l.starts_with('[') {
            let name = l.trim_start_matches('[');
            let name = &name[..name.find(']').unwrap_or(name.len())];
            if let Some(last) = name.split('.').nth(1) {
                out.insert(last.to_owned());
            }
        }
    }
    out
}

#[test]
fn sample_shows_every_option() {
    // What every vendor of a kind takes may be shown in one example of that kind.
    let common = ["skip_patterns", "extra", "language", "additional_params"];
    let blocks = sample_blocks();
    for block in blocks.iter().filter(|b| b.vendor().is_some()) {
        // The bogus option goes right after the table header, before any sub-table.
        let mut lines = block.lines.clone();
        lines.insert(1, "zz_not_an_option = 1".to_owned());
        let text = lines.join("\n");
        let shown = shown_options(&block.lines);
        let same_kind: BTreeSet<String> = blocks
            .iter()
            .filter(|b| b.table == block.table)
            .flat_map(|b| shown_options(&b.lines))
            .collect();
        for option in accepted_options(&text) {
            let visible = shown.contains(&option)
                || (common.contains(&option.as_str()) && same_kind.contains(&option));
            assert!(
                visible,
                "[{}] vendor {:?}: option {option} is not in the sample",
                block.table,
                block.vendor()
            );
        }
    }
    // The top level and [session]: shown active or commented.
    let everything = sample_everything();
    let mut shown_anywhere = BTreeSet::new();
    for l in SAMPLE_TOML.lines() {
        let l = l.strip_prefix("# ").unwrap_or(l);
        shown_anywhere.extend(shown_options(&[l.to_owned()]));
        if let Some(t) = block_start(&format!("# {l}")) {
            shown_anywhere.insert(t);
        }
    }
    for option in accepted_options(&format!("zz_not_an_option = 1\n{everything}")) {
        // `asr` is an alias, named in the STT comment.
        assert!(
            shown_anywhere.contains(&option) || SAMPLE_TOML.contains(&format!("[{option}]")),
            "top-level {option} is not in the sample"
        );
    }
    let session = everything.replace("[session]\n", "[session]\nzz_not_an_option = 1\n");
    for option in accepted_options(&session) {
        assert!(
            shown_anywhere.contains(&option),
            "session.{option} is not in the sample"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Formats.

#[test]
fn toml_json_and_yaml_give_the_same_agent() {
    let toml_text = sample_everything();
    let root = tree::parse("agent.toml", &toml_text, Format::Toml).expect("tree");
    let json_text = serde_json::to_string_pretty(&root).expect("json");
    let yaml_text = serde_yaml::to_string(&root).expect("yaml");
    let from_toml = ok("agent.toml", &toml_text, &any_env);
    let from_json = ok("agent.json", &json_text, &any_env);
    let from_yaml = ok("agent.yaml", &yaml_text, &any_env);
    let from_yml = ok("agent.yml", &yaml_text, &any_env);
    let expected = properties(&from_toml);
    assert_eq!(properties(&from_json), expected);
    assert_eq!(properties(&from_yaml), expected);
    assert_eq!(properties(&from_yml), expected);
    let session = format!("{:?}", from_toml.session);
    assert_eq!(format!("{:?}", from_json.session), session);
    assert_eq!(format!("{:?}", from_yaml.session), session);
}

const HAND_TOML: &str = r#"
instructions = "Be brief."
max_history = 10

[session]
channel = "room-9"
remote_uids = ["7"]

[llm]
vendor = "deepseek"
url = "https://llm.example/v1"
api_key = "${KEY}"
temperature = 1
max_tokens = 200

[[llm.mcp_servers]]
name = "weather"
endpoint = "https://mcp.example/w"
headers = { Authorization = "Bearer ${KEY}" }

[tts]
vendor = "microsoft"
key = "${KEY}"
region = "chinaeast2"
voice_name = "zh-CN-XiaoxiaoNeural"
sample_rate = 16000
skip_patterns = [1, 2]

[asr]
vendor = "xfyun_bigmodel"
api_key = "${KEY}"
app_id = "app"
api_secret = "${KEY}"
additional_params = { dwa = "wpgs" }

[geofence]
area = "GLOBAL"
exclude_area = "EUROPE"
"#;

const HAND_JSON: &str = r#"{
  "instructions": "Be brief.",
  "max_history": 10,
  "session": {"channel": "room-9", "remote_uids": ["7"]},
  "llm": {
    "vendor": "deepseek", "url": "https://llm.example/v1", "api_key": "${KEY}",
    "temperature": 1, "max_tokens": 200,
    "mcp_servers": [{"name": "weather", "endpoint": "https://mcp.example/w",
                     "headers": {"Authorization": "Bearer ${KEY}"}}]
  },
  "tts": {"vendor": "microsoft", "key": "${KEY}", "region": "chinaeast2",
          "voice_name": "zh-CN-XiaoxiaoNeural", "sample_rate": 16000, "skip_patterns": [1, 2]},
  "asr": {"vendor": "xfyun_bigmodel", "api_key": "${KEY}", "app_id": "app",
          "api_secret": "${KEY}", "additional_params": {"dwa": "wpgs"}},
  "geofence": {"area": "GLOBAL", "exclude_area": "EUROPE"}
}"#;

const HAND_YAML: &str = r#"
instructions: Be brief.
max_history: 10
session:
  channel: room-9
  remote_uids: ["7"]
llm:
  vendor: deepseek
  url: https://llm.example/v1
  api_key: ${KEY}
  temperature: 1
  max_tokens: 200
  mcp_servers:
    - name: weather
      endpoint: https://mcp.example/w
      headers:
        Authorization: Bearer ${KEY}
tts:
  vendor: microsoft
  key: ${KEY}
  region: chinaeast2
  voice_name: zh-CN-XiaoxiaoNeural
  sample_rate: 16000
  skip_patterns: [1, 2]
asr:
  vendor: xfyun_bigmodel
  api_key: ${KEY}
  app_id: app
  api_secret: ${KEY}
  additional_params: {dwa: wpgs}
geofence:
  area: GLOBAL
  exclude_area: EUROPE
"#;

#[test]
fn hand_written_toml_json_and_yaml_agree() {
    let env = |v: &str| (v == "KEY").then(|| "k-1".to_owned());
    let t = ok("a.toml", HAND_TOML, &env);
    let j = ok("a.json", HAND_JSON, &env);
    let y = ok("a.yaml", HAND_YAML, &env);
    let p = properties(&t);
    assert_eq!(properties(&j), p);
    assert_eq!(properties(&y), p);
    assert_eq!(p["llm"]["params"]["temperature"], 1.0);
    assert_eq!(
        p["llm"]["mcp_servers"][0],
        json!({"name": "weather", "endpoint": "https://mcp.example/w",
               "transport": "streamable_http", "headers": {"Authorization": "Bearer k-1"}})
    );
    assert_eq!(p["tts"]["params"]["sample_rate"], 16000);
    assert_eq!(p["tts"]["skip_patterns"], json!([1, 2]));
    assert_eq!(p["asr"]["params"]["dwa"], "wpgs");
    assert_eq!(p["llm"]["max_history"], 10);
    assert_eq!(y.session.channel.as_deref(), Some("room-9"));
    assert_eq!(format!("{:?}", j.session), format!("{:?}", t.session));
}

#[test]
fn yaml_merge_keys_and_empty_files() {
    let text = "common: &c\n  vendor: fengming\n";
    // `common` is no option: anchors need a home, and it is reported like any unknown key.
    assert!(err("a.yaml", text, &no_env).contains("common: unknown table or option"));
    let merged = "stt:\n  <<: {vendor: fengming, language: en-US}\n";
    let f = ok("a.yaml", merged, &no_env);
    assert!(f.agent.llm().is_none());
    for (name, text) in [("e.toml", ""), ("e.yaml", ""), ("e.json", "{}")] {
        let f = ok(name, text, &no_env);
        assert!(f.agent.llm().is_none() && f.session.channel.is_none());
    }
    let m = err("e.json", "[1]", &no_env);
    assert_eq!(
        m,
        "e.json: the top level must be a table (an object of options)"
    );
}

#[test]
fn file_order_is_kept() {
    let text = "[llm]\nvendor = \"custom\"\nurl = \"${FIRST_URL}\"\napi_key = \"${SECOND}\"\n\
                [llm.extra]\nzeta = 1\nalpha = 2\nmid = 3\n";
    // Errors come in reading order: `url` before `api_key`, though `a` sorts first.
    let m = err("a.toml", text, &no_env);
    assert!(m.contains("llm.url: environment variable FIRST"), "{m}");
    let file = ok("a.toml", text, &any_env);
    let llm = file.agent.llm().map(|b| serde_json::to_value(b).unwrap());
    let keys: Vec<&str> = llm
        .as_ref()
        .and_then(Value::as_object)
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    assert_eq!(keys, ["url", "api_key", "vendor", "zeta", "alpha", "mid"]);
}

#[test]
fn toml_special_values() {
    let m = err("a.toml", "[session]\nidle_timeout = nan\n", &no_env);
    assert!(m.starts_with("a.toml:2:"), "{m}");
    assert!(m.contains("not a finite number"), "{m}");
    let m = err("a.yaml", "session:\n  idle_timeout: .inf\n", &no_env);
    assert_eq!(m, "a.yaml: session.idle_timeout: not a finite number");
    // A datetime is read as its text.
    let f = ok("a.toml", "name = 1979-05-27T07:32:00Z\n", &no_env);
    assert_eq!(f.agent.name(), Some("1979-05-27T07:32:00Z"));
}

#[test]
fn format_comes_from_the_extension() {
    let m = err("agent.txt", "", &no_env);
    assert!(
        m.starts_with("agent.txt: unknown config file format"),
        "{m}"
    );
    assert!(parse("AGENT.TOML", "", &no_env).is_ok());
    assert!(parse("dir.v2/agent.YML", "", &no_env).is_ok());
}

#[test]
fn load_reads_a_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("agent.yaml");
    std::fs::write(&path, "name: bot\nstt:\n  vendor: fengming\n").expect("write");
    let file = load(&path).expect("load");
    assert_eq!(file.agent.name(), Some("bot"));
    let missing = dir.path().join("nope.toml");
    let Err(CliError::Invalid(m)) = load(&missing) else {
        panic!("a missing file must be an Invalid error");
    };
    assert!(
        m.starts_with(&format!("{}: cannot read", missing.display())),
        "{m}"
    );
}

// ---------------------------------------------------------------------------------------------
// Interpolation.

#[test]
fn missing_variable_names_the_variable_and_the_path() {
    let env = |v: &str| (v != "MINIMAX_KEY").then(|| SECRET.to_owned());
    let m = err("agent.toml", SAMPLE_TOML, &env);
    assert_eq!(
        m,
        "agent.toml: tts.key: environment variable MINIMAX_KEY is not set"
    );
    let m = err(
        "a.toml",
        "[session]\nremote_uids = [\"1\", \"${UID}\"]\n",
        &no_env,
    );
    assert_eq!(
        m,
        "a.toml: session.remote_uids[1]: environment variable UID is not set"
    );
}

#[test]
fn interpolation_replaces_every_reference_and_keeps_escapes() {
    let env = |v: &str| match v {
        "WHO" => Some("you".to_owned()),
        "A" => Some("x\"y".to_owned()),
        _ => None,
    };
    let text = r#"
instructions = "Pay $${PRICE} for ${WHO}; $5, $$ and $ {stay}; ${A}${A}-${WHO}"
[stt]
vendor = "fengming"
"#;
    let f = ok("a.toml", text, &env);
    assert_eq!(
        f.agent.instructions(),
        Some("Pay ${PRICE} for you; $5, $$ and $ {stay}; x\"yx\"y-you")
    );
}

#[test]
fn interpolation_rejects_broken_references() {
    let m = err("a.toml", "name = \"${OPEN\"\n", &any_env);
    assert!(m.starts_with("a.toml: name: unterminated ${…}"), "{m}");
    let m = err("a.toml", &format!("name = \"${{{SECRET}}}\"\n"), &any_env);
    assert!(m.starts_with("a.toml: name: invalid ${…} reference"), "{m}");
    assert!(!m.contains(SECRET), "{m}");
}

#[test]
fn values_are_not_interpolated_twice_or_as_structure() {
    // A variable's value is data: its own ${…} is not expanded again.
    let env = |v: &str| (v == "X").then(|| "${Y}".to_owned());
    let f = ok("a.json", r#"{"name": "${X}"}"#, &env);
    assert_eq!(f.agent.name(), Some("${Y}"));
}

// ---------------------------------------------------------------------------------------------
// Errors.

#[test]
fn syntax_errors_name_file_line_and_column_on_one_line() {
    let toml_text = format!("name = \"a\"\n[llm]\napi_key = \"{SECRET}\nvendor = \"aliyun\"\n");
    let m = err("agent.toml", &toml_text, &no_env);
    assert!(m.starts_with("agent.toml:3:"), "{m}");
    assert!(m.contains("syntax error"), "{m}");

    let toml_text = "name = \"a\"\nname = \"b\"\n";
    let m = err("agent.toml", toml_text, &no_env);
    assert!(m.starts_with("agent.toml:2:1: syntax error:"), "{m}");

    let yaml_text = format!("name: a\nllm:\n  vendor: aliyun\n  url: \"{SECRET}\"\n bad: x\n");
    let m = err("agent.yaml", &yaml_text, &no_env);
    assert!(m.starts_with("agent.yaml:5:"), "{m}");
    assert!(m.contains("syntax error"), "{m}");
    assert!(!m.contains(" at line "), "{m}");

    let json_text = format!("{{\n  \"llm\": {{\n    \"api_key\": \"{SECRET}\" \"x\"\n  }}\n}}\n");
    let m = err("agent.json", &json_text, &no_env);
    assert!(m.starts_with("agent.json:3:"), "{m}");
    assert!(m.contains("syntax error: expected `,` or `}`"), "{m}");
    assert!(!m.contains(" at line "), "{m}");
}

#[test]
fn uids_may_be_written_as_integers() {
    let text = "[session]\nagent_uid = 1001\nremote_uids = [2002, \"3003\"]\n";
    let f = ok("a.toml", text, &no_env);
    assert_eq!(f.session.agent_uid.as_deref(), Some("1001"));
    assert_eq!(
        f.session.remote_uids,
        Some(vec!["2002".to_owned(), "3003".to_owned()])
    );
    let f = ok("a.yaml", "session:\n  agent_uid: null\n", &no_env);
    assert_eq!(f.session.agent_uid, None);
    let avatar = AVATAR.replace("agora_uid = \"3000\"", "agora_uid = 3000");
    let f = ok("a.toml", &avatar, &any_env);
    assert_eq!(
        f.agent
            .avatar()
            .map(|a| a.params.as_ref().unwrap()["agora_uid"].clone()),
        Some(json!("3000"))
    );
    let m = err("a.toml", "[session]\nagent_uid = -1\n", &no_env);
    assert_eq!(
        m,
        "a.toml: session.agent_uid: invalid value (expected a uid (a string, or a non-negative integer))"
    );
    let m = err("a.toml", "[session]\nremote_uids = [true]\n", &no_env);
    assert_eq!(
        m,
        "a.toml: session.remote_uids[0]: expected a uid (a string, or a non-negative integer), found a boolean"
    );
}

#[test]
fn unknown_and_missing_vendors_are_named() {
    let m = err("agent.toml", "[tts]\nvendor = \"foo\"\n", &no_env);
    assert_eq!(
        m,
        "agent.toml: tts.vendor: unknown vendor \"foo\" (expected one of minimax, tencent, \
         bytedance, microsoft, cosyvoice, bytedance_duplex, stepfun)"
    );
    let m = err("agent.toml", "[llm]\nurl = \"u\"\n", &no_env);
    assert!(
        m.starts_with("agent.toml: llm.vendor: missing (expected one of aliyun,"),
        "{m}"
    );
    let m = err("agent.toml", "[asr]\nvendor = 3\n", &no_env);
    assert!(
        m.starts_with("agent.toml: asr.vendor: expected a string"),
        "{m}"
    );
}

#[test]
fn missing_required_options_are_named_with_their_path() {
    let m = err(
        "agent.toml",
        "[tts]\nvendor = \"minimax\"\nmodel = \"m\"\nvoice_id = \"v\"\n",
        &no_env,
    );
    assert_eq!(
        m,
        "agent.toml: tts.key: missing (required by the minimax TTS)"
    );
    let m = err(
        "agent.toml",
        "[asr]\nvendor = \"tencent\"\nkey = \"k\"\napp_id = \"a\"\n",
        &no_env,
    );
    assert_eq!(
        m,
        "agent.toml: asr.secret: missing (required by the tencent STT)"
    );
    let m = err(
        "agent.toml",
        "[[llm.mcp_servers]]\nname = \"w\"\n[llm]\nvendor = \"custom\"\nurl = \"u\"\n",
        &no_env,
    );
    // TOML allows the sub-table first; the path still names the server.
    assert_eq!(
        m,
        "agent.toml: llm.mcp_servers[0].endpoint: missing (required by the custom LLM)"
    );
    let m = err(
        "agent.toml",
        "[geofence]\nexclude_area = \"EUROPE\"\n",
        &no_env,
    );
    assert_eq!(m, "agent.toml: geofence.area: missing (required)");
}

#[test]
fn unknown_options_are_errors() {
    let m = err(
        "agent.toml",
        "[tts]\nvendor = \"microsoft\"\nkey = \"k\"\nregion = \"r\"\nvoice_name = \"v\"\nspeeed = 1.0\n",
        &no_env,
    );
    assert!(
        m.starts_with("agent.toml: tts.speeed: unknown option (expected one of key, region,"),
        "{m}"
    );
    let m = err("agent.toml", "[foo]\nx = 1\n", &no_env);
    assert!(
        m.starts_with("agent.toml: foo: unknown table or option (expected one of name,"),
        "{m}"
    );
    let m = err("agent.toml", "[session]\nchanel = \"c\"\n", &no_env);
    assert!(
        m.starts_with("agent.toml: session.chanel: unknown option"),
        "{m}"
    );
    let m = err(
        "agent.yaml",
        "llm:\n  vendor: aliyun\n  url: u\n  mcp_servers:\n    - name: w\n      endpoint: e\n      timeout: 5\n",
        &no_env,
    );
    assert!(
        m.starts_with("agent.yaml: llm.mcp_servers[0].timeout: unknown option"),
        "{m}"
    );
}

#[test]
fn wrong_types_name_the_path_and_the_expected_type() {
    let tencent = format!(
        "[tts]\nvendor = \"tencent\"\napp_id = \"a\"\nsecret_id = \"s\"\nsecret_key = \"k\"\nvoice_type = \"{SECRET}\"\n"
    );
    let m = err("agent.toml", &tencent, &no_env);
    assert_eq!(
        m,
        "agent.toml: tts.voice_type: expected an integer, found a string"
    );
    let m = err("agent.toml", "[session]\nidle_timeout = -1\n", &no_env);
    assert_eq!(
        m,
        "agent.toml: session.idle_timeout: invalid value (expected an integer from 0 to 4294967295)"
    );
    let m = err("agent.toml", "[session]\nremote_uids = \"2002\"\n", &no_env);
    assert_eq!(
        m,
        "agent.toml: session.remote_uids: expected an array, found a string"
    );
    let m = err(
        "agent.json",
        r#"{"llm": {"vendor": "aliyun", "url": "u", "temperature": "hot"}}"#,
        &no_env,
    );
    assert_eq!(
        m,
        "agent.json: llm.temperature: expected a number, found a string"
    );
    let m = err("agent.toml", "tts = \"minimax\"\n", &no_env);
    assert_eq!(m, "agent.toml: tts: expected a table, found a string");
    let m = err("agent.toml", "[labels]\nteam = 1\n", &no_env);
    assert_eq!(
        m,
        "agent.toml: labels.team: expected a string, found an integer"
    );
}

#[test]
fn sdk_checks_run() {
    let llm = "[llm]\nvendor = \"aliyun\"\nurl = \"https://llm.example\"\ntemperature = 3\n";
    let m = err("agent.toml", llm, &no_env);
    assert_eq!(
        m,
        "agent.toml: invalid llm.temperature: must be between 0 and 2 (got 3)"
    );
    let mcp = "[llm]\nvendor = \"aliyun\"\nurl = \"https://llm.example\"\n[[llm.mcp_servers]]\nname = \"no spaces\"\nendpoint = \"e\"\n";
    assert!(err("agent.toml", mcp, &no_env).contains("invalid llm.mcp_servers.name"));
}

const AVATAR: &str = "[avatar]\nvendor = \"sensetime\"\nagora_token = \"${T}\"\nagora_uid = \"3000\"\napp_id = \"a\"\napp_key = \"${T}\"\nscene_list = []\n";

#[test]
fn avatar_needs_a_matching_tts_sample_rate() {
    let tts = |rate: u32| {
        format!("[tts]\nvendor = \"cosyvoice\"\napi_key = \"${{T}}\"\nmodel = \"m\"\nvoice = \"v\"\nsample_rate = {rate}\n")
    };
    let env = |_: &str| Some(SECRET.to_owned());
    let m = err("agent.toml", &format!("{}{AVATAR}", tts(24000)), &env);
    assert!(
        m.starts_with("agent.toml: invalid tts: the avatar needs TTS audio at 16000 Hz"),
        "{m}"
    );
    assert!(m.contains("24000"), "{m}");
    // Either order in the file: the tables are applied TTS first.
    let m2 = err("agent.toml", &format!("{AVATAR}{}", tts(24000)), &env);
    assert_eq!(m, m2);
    let f = ok("agent.toml", &format!("{}{AVATAR}", tts(16000)), &env);
    assert_eq!(
        f.agent.avatar().map(|a| json!(a.vendor)),
        Some(json!("sensetime"))
    );
    // MiniMax states its rate through sample_rate or audio_setting.
    let minimax = "[tts]\nvendor = \"minimax\"\nkey = \"k\"\nmodel = \"m\"\nvoice_id = \"v\"\n";
    let m = err(
        "agent.toml",
        &format!("{minimax}sample_rate = 24000\n{AVATAR}"),
        &env,
    );
    assert!(m.contains("16000"), "{m}");
    let m = err(
        "agent.toml",
        &format!("{minimax}audio_setting = {{ sample_rate = 24000 }}\n{AVATAR}"),
        &env,
    );
    assert!(m.contains("16000"), "{m}");
    let both = format!("{minimax}sample_rate = 16000\naudio_setting = {{ sample_rate = 16000 }}\n");
    assert!(err("agent.toml", &both, &env).starts_with("agent.toml: tts.sample_rate: also set"));
}

#[test]
fn microsoft_sample_rate_must_be_one_it_supports() {
    let text = "[tts]\nvendor = \"microsoft\"\nkey = \"k\"\nregion = \"r\"\nvoice_name = \"v\"\nsample_rate = 22050\n";
    let m = err("agent.toml", text, &no_env);
    assert_eq!(
        m,
        "agent.toml: tts.sample_rate: must be 8000, 16000, 24000 or 48000 for the microsoft TTS"
    );
    let ok_text = text.replace("22050", "48000");
    let f = ok("agent.toml", &ok_text, &no_env);
    assert_eq!(f.agent.tts_sample_rate(), Some(48000));
}

#[test]
fn stt_and_asr_are_one_table() {
    let text = "[stt]\nvendor = \"fengming\"\n[asr]\nvendor = \"fengming\"\n";
    let m = err("agent.toml", text, &no_env);
    assert!(m.starts_with("agent.toml: stt, asr: both are set"), "{m}");
}

#[test]
fn extras_and_params_pass_through() {
    let text = r#"
[llm]
vendor = "custom"
url = "https://llm.example/v1"
model = "m"
params = { model = "override", stream = true }
extra = { style = "dify" }
[tts]
vendor = "stepfun"
api_key = "k"
model = "m"
voice_id = "v"
extra = { speed = 1.2 }
[stt]
vendor = "microsoft"
key = "k"
region = "r"
additional_params = { a = 1, b = 1 }
extra = { b = 2 }
[mllm]
vendor = "openai"
url = "wss://x"
params = { voice = "alloy" }
extra = { something = [1] }
"#;
    let p = properties(&ok("agent.toml", text, &no_env));
    assert_eq!(
        p["llm"]["params"],
        json!({"model": "override", "stream": true})
    );
    assert_eq!(p["llm"]["style"], "dify");
    assert_eq!(p["tts"]["params"]["speed"], 1.2);
    assert_eq!(p["asr"]["params"]["a"], 1);
    assert_eq!(p["asr"]["params"]["b"], 2);
    assert_eq!(p["mllm"]["params"]["voice"], "alloy");
    assert_eq!(p["mllm"]["something"], json!([1]));
}

#[test]
fn qwen_omni_reads_its_own_options() {
    let text = r#"
[advanced_features]
enable_mllm = true
[mllm]
vendor = "qwen_omni"
api_key = "sk-q"
url = "wss://dashscope.example/realtime"
model = "qwen-omni-turbo-realtime"
voice = "Chelsie"
instructions = "Be brief."
greeting_message = "Hello"
params = { voice = "ignored", temperature = 0.5 }
extra = { top = true }
"#;
    let file = ok("agent.toml", text, &no_env);
    let p = properties(&file);
    let m = &p["mllm"];
    assert_eq!(m["vendor"], "qwen_omni");
    assert_eq!(m["api_key"], "sk-q");
    assert_eq!(m["url"], "wss://dashscope.example/realtime");
    assert_eq!(
        m["params"],
        json!({"model": "qwen-omni-turbo-realtime", "voice": "Chelsie",
               "instructions": "Be brief.", "temperature": 0.5})
    );
    assert_eq!(m["greeting_message"], "Hello");
    assert_eq!(m["top"], true);

    // Its options are its own: the generic MLLM's `style` is refused, by name, and so is a
    // missing key; neither message echoes a value.
    let refused = err(
        "agent.toml",
        &text.replace("voice = \"Chelsie\"", &format!("style = \"{SECRET}\"")),
        &no_env,
    );
    assert!(refused.contains("mllm.style"), "{refused}");
    assert!(!refused.contains(SECRET), "{refused}");
    let missing = err(
        "agent.toml",
        &text.replace("api_key = \"sk-q\"\n", ""),
        &no_env,
    );
    assert!(missing.contains("api_key"), "{missing}");
    assert!(!missing.contains("sk-q"), "{missing}");

    // The SDK's checks run: an MCP server name the service would refuse.
    let bad_mcp = format!(
        "{text}mcp_servers = [{{ name = \"not ok!\", endpoint = \"https://mcp.example\" }}]\n"
    );
    let m = err("agent.toml", &bad_mcp, &no_env);
    assert!(m.contains("mllm.mcp_servers.name"), "{m}");
}

/// Every failing case with the secret in the file and in every variable: the message is one
/// line, names the file, and never holds the secret.
#[test]
fn no_error_message_holds_a_value() {
    let llm = format!("[llm]\nvendor = \"aliyun\"\nurl = \"{SECRET}\"\napi_key = \"${{K}}\"\n");
    let cases: Vec<(&str, String)> = vec![
        ("agent.toml", format!("{llm}temperature = 3\n")),
        ("agent.toml", format!("{llm}top_p = \"{SECRET}\"\n")),
        ("agent.toml", format!("{llm}max_tokens = -5\n")),
        ("agent.toml", format!("{llm}extra_typo = \"{SECRET}\"\n")),
        ("agent.toml", format!("{llm}model = \"${{MISSING_VAR}}\"\n")),
        ("agent.toml", format!("{llm}model = \"${{{SECRET}}}\"\n")),
        ("agent.toml", format!("{llm}model = \"${{K\"\n")),
        ("agent.toml", format!("{llm}[tts]\nvendor = \"{SECRET}\"\n")),
        ("agent.toml", format!("{llm}[tts]\nvendor = \"x{SECRET}\"\n")),
        ("agent.toml", format!("{llm}[tts]\nvendor = \"minimax\"\nkey = \"{SECRET}\"\n")),
        ("agent.toml", format!("{llm}[tts]\nvendor = \"tencent\"\napp_id = \"{SECRET}\"\nsecret_id = \"${{K}}\"\nsecret_key = \"k\"\nvoice_type = \"{SECRET}\"\n")),
        ("agent.toml", format!("{llm}[tts]\nvendor = \"microsoft\"\nkey = \"{SECRET}\"\nregion = \"r\"\nvoice_name = \"v\"\nsample_rate = 1\n")),
        ("agent.toml", format!("{llm}[tts]\nvendor = \"cosyvoice\"\napi_key = \"{SECRET}\"\nmodel = \"m\"\nvoice = \"v\"\nsample_rate = 24000\n{AVATAR}")),
        ("agent.toml", format!("{llm}[session]\nagent_uid = true\nchannel = \"{SECRET}\"\n")),
        ("agent.toml", format!("{llm}[rtc]\nencryption_key = \"{SECRET}\"\nencryption_mode = \"{SECRET}\"\n")),
        ("agent.toml", format!("{llm}[unknown]\nkey = \"{SECRET}\"\n")),
        ("agent.toml", format!("{llm}api_key = \"{SECRET}\"\n")),
        ("agent.toml", format!("name = \"{SECRET}\n")),
        ("agent.toml", format!("name = {SECRET}\n")),
        ("agent.json", format!("{{\"llm\": {{\"url\": \"{SECRET}\" \"x\"}}}}")),
        ("agent.json", format!("{{\"llm\": {{\"vendor\": \"aliyun\", \"url\": \"{SECRET}\", \"max_history\": \"{SECRET}\"}}}}")),
        ("agent.json", format!("{{\"name\": \"{SECRET}")),
        ("agent.yaml", format!("llm:\n  url: \"{SECRET}\n")),
        ("agent.yaml", format!("llm:\n  url: {SECRET}\n  vendor: [{SECRET}\n")),
        ("agent.yaml", format!("llm:\n  vendor: aliyun\n  url: !tag {SECRET}\n")),
        ("agent.yaml", format!("session:\n  idle_timeout: {SECRET}\n")),
        ("agent.yaml", format!("labels:\n  a: {SECRET}\n  a: {SECRET}\n")),
    ];
    for (name, text) in cases {
        let m = err(name, &text, &secret_env);
        assert!(!m.contains(SECRET), "the secret leaked: {m}");
        assert!(!m.contains('\n'), "not one line: {m}");
        assert!(m.starts_with(&format!("{name}:")), "no file name: {m}");
    }
}

#[test]
fn path_rendering() {
    use super::de::{path_string, Seg};
    let p = [
        Seg::Key("llm".into()),
        Seg::Key("mcp_servers".into()),
        Seg::Index(2),
        Seg::Key("headers".into()),
    ];
    assert_eq!(path_string(&p), "llm.mcp_servers[2].headers");
}

/// The nearest char boundary at or before `i`.
fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

// 256 cases each by default; `PROPTEST_CASES=100000` for a long run.
proptest::proptest! {
    /// Any text, in any format: an agent or a one-line error that starts with the file name.
    #[test]
    fn arbitrary_text_never_panics(text in "(?s).{0,300}", format in 0usize..3) {
        let name = ["agent.toml", "agent.json", "agent.yaml"][format];
        if let Err(e) = parse(name, &text, &any_env) {
            let m = e.to_string();
            proptest::prop_assert!(!m.contains('\n') && m.starts_with(name), "{m}");
        }
    }

    /// The sample with a stretch replaced by junk (near-valid files reach the deeper checks).
    #[test]
    fn mutated_sample_never_panics(at in 0usize..SAMPLE_TOML.len(), len in 0usize..60,
                                   junk in "(?s).{0,12}") {
        let start = floor_boundary(SAMPLE_TOML, at);
        let end = floor_boundary(SAMPLE_TOML, start + len);
        let text = format!("{}{junk}{}", &SAMPLE_TOML[..start], &SAMPLE_TOML[end..]);
        if let Err(e) = parse("agent.toml", &text, &sample_env) {
            let m = e.to_string();
            proptest::prop_assert!(!m.contains('\n') && m.starts_with("agent.toml"), "{m}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Pipelines, presets and the newer typed blocks.

#[test]
fn a_pipeline_or_presets_make_the_vendor_tables_optional() {
    let f = ok(
        "p.toml",
        "pipeline_id = \"pipe-123\"\ninstructions = \"Be brief.\"\n",
        &no_env,
    );
    assert_eq!(f.agent.pipeline_id(), Some("pipe-123"));
    let p = properties(&f);
    assert!(p.get("tts").is_none(), "{p}");
    assert_eq!(p["llm"]["system_messages"][0]["content"], "Be brief.");
    let req = f
        .agent
        .to_start_request("n", serde_json::from_value(p).unwrap());
    let wire = serde_json::to_value(&req).unwrap();
    assert_eq!(wire["pipeline_id"], "pipe-123");

    let f = ok(
        "p.yaml",
        "preset: [openai_gpt_4o_mini, minimax_speech_2_6_turbo]\n",
        &no_env,
    );
    let req = f.agent.to_start_request(
        "n",
        f.agent
            .to_properties(
                "room",
                &AgentUid::from(1001),
                &[RemoteUid::from(2002)],
                &TokenSource::Given("t".into()),
            )
            .unwrap(),
    );
    let wire = serde_json::to_value(&req).unwrap();
    assert_eq!(
        wire["preset"],
        "openai_gpt_4o_mini,minimax_speech_2_6_turbo"
    );
    // Without a pipeline or an LLM preset, the LLM is still required.
    let f = ok(
        "p.toml",
        "preset = [\"minimax_speech_2_6_turbo\"]\n",
        &no_env,
    );
    let e = f
        .agent
        .to_properties(
            "room",
            &AgentUid::from(1001),
            &[RemoteUid::from(2002)],
            &TokenSource::Given("t".into()),
        )
        .unwrap_err();
    assert!(e.to_string().contains("llm"), "{e}");
}

#[test]
fn interruption_and_new_parameters_are_typed_and_checked_without_quoting_values() {
    let f = ok(
        "i.toml",
        r#"
pipeline_id = "p"
[interruption]
enable = true
mode = "keywords"
keywords_config = { trigger_keywords = ["stop", "wait"] }
[parameters]
audio_scenario = "chorus"
opt_out = true
"#,
        &no_env,
    );
    let p = properties(&f);
    assert_eq!(
        p["interruption"],
        json!({"enable": true, "mode": "keywords", "keywords_config": {"trigger_keywords": ["stop", "wait"]}})
    );
    assert_eq!(
        p["parameters"],
        json!({"audio_scenario": "chorus", "opt_out": true})
    );

    let many: Vec<String> = (0..129).map(|i| format!("\"k{i}\"")).collect();
    let text = format!(
        "pipeline_id = \"p\"\n[interruption]\nkeywords_config = {{ trigger_keywords = [{}] }}\n",
        many.join(", ")
    );
    let e = err("i.toml", &text, &no_env);
    assert!(
        e.contains("interruption.keywords_config.trigger_keywords"),
        "{e}"
    );

    let e = err(
        "i.toml",
        &format!("[parameters]\nopt_out = \"{SECRET}\"\n"),
        &no_env,
    );
    assert!(e.contains("parameters.opt_out"), "{e}");
    assert!(!e.contains(SECRET), "{e}");
}

/// A misspelled option in each vendor table is an error naming its dotted path, and the
/// message never quotes the secret the file holds.
#[test]
fn a_misspelled_option_in_each_block_is_named() {
    let cases = [
        ("llm", "vendor = \"aliyun\"\nurl = \"u\"\n"),
        ("tts", "vendor = \"stepfun\"\napi_key = \"k\"\nmodel = \"m\"\nvoice_id = \"v\"\n"),
        ("stt", "vendor = \"fengming\"\n"),
        ("avatar", "vendor = \"spatius\"\napi_key = \"k\"\napp_id = \"a\"\navatar_id = \"v\"\nagora_uid = 3000\n"),
        ("mllm", "vendor = \"openai\"\nurl = \"wss://x\"\n"),
    ];
    for (table, body) in cases {
        let text = format!("[{table}]\n{body}temperatur = \"{SECRET}\"\n");
        let m = err("agent.toml", &text, &no_env);
        assert!(
            m.starts_with(&format!("agent.toml: {table}.temperatur: unknown option")),
            "{m}"
        );
        assert!(!m.contains(SECRET), "{m}");
    }
}

/// The CLI accepts every option the SDK's vendor type accepts, without a list of its own:
/// the options named by the SDK type's own error are all taken by the file.
#[test]
fn every_option_of_the_sdk_type_is_accepted() {
    let sdk: Result<shengwang_agent::vendors::TencentTts, _> =
        serde_json::from_value(json!({"nope": 1}));
    let m = sdk.unwrap_err().to_string();
    let list = m.split("expected one of ").nth(1).unwrap();
    let options: Vec<&str> = list
        .split(", ")
        .map(|o| o.trim_matches(|c: char| c == '`' || !c.is_ascii() || c.is_whitespace()))
        .map(|o| o.split('`').next().unwrap_or(o))
        .collect();
    let base = "[tts]\nvendor = \"tencent\"\napp_id = \"a\"\nsecret_id = \"s\"\nsecret_key = \"k\"\nvoice_type = 1\n";
    let cli = accepted_options(&format!("{base}zz_not_an_option = 1\n"));
    assert_eq!(cli, options, "{m}");
}
