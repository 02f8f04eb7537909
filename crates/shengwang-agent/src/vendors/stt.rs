//! STT (ASR) vendors. Output: `{"vendor", "language", "params": {…}}`; `language` is always
//! present, and some vendors repeat it inside `params`.

use serde_json::{json, Value};

use super::{from_object, AsrBlock, Config, Extras, Secret, SttConfig};

/// What every STT vendor shares: language, `additional_params` and extras.
#[derive(Debug, Clone, PartialEq)]
struct Common {
    language: String,
    additional: Extras,
    extras: Extras,
}

impl Common {
    fn new(language: &str) -> Self {
        Common {
            language: language.into(),
            additional: Extras::default(),
            extras: Extras::default(),
        }
    }

    /// `params` = known (in order), then `additional_params`, then extras (which win).
    fn finish(&self, vendor: &str, known: Vec<(&str, Value)>) -> Config {
        let mut params = Config::new();
        for (k, v) in known {
            params.insert(k.into(), v);
        }
        self.additional.append_to(&mut params);
        self.extras.append_to(&mut params);
        let mut m = Config::new();
        m.insert("vendor".into(), json!(vendor));
        m.insert("language".into(), json!(self.language));
        m.insert("params".into(), Value::Object(params));
        m
    }
}

macro_rules! common_setters {
    () => {
        /// Main language (also sent inside `params` by the vendors that expect it there).
        pub fn language(mut self, language: impl Into<String>) -> Self {
            self.common.language = language.into();
            self
        }
        /// One `additional_params` entry, merged into `params` after the known keys.
        pub fn additional_param(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
            self.common.additional.insert(key, value);
            self
        }
        /// An option this crate does not model, sent inside `params` last.
        pub fn extra(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
            self.common.extras.insert(key, value);
            self
        }
    };
}

/// Fengming, the default ASR (no credentials).
///
/// ```
/// use shengwang_agent::vendors::{FengmingStt, SttConfig};
/// assert_eq!(FengmingStt::new().to_config()["language"], "zh-CN");
/// ```
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(from = "super::options::FengmingOptions")]
#[must_use]
pub struct FengmingStt {
    common: Common,
}

impl Default for FengmingStt {
    fn default() -> Self {
        Self::new()
    }
}

impl FengmingStt {
    /// Language `zh-CN`.
    pub fn new() -> Self {
        FengmingStt {
            common: Common::new("zh-CN"),
        }
    }
    common_setters!();
}

impl SttConfig for FengmingStt {
    fn to_block(&self) -> AsrBlock {
        from_object(self.common.finish("fengming", Vec::new()))
    }
}

/// Tencent Cloud ASR.
///
/// ```
/// use shengwang_agent::vendors::{SttConfig, TencentStt};
/// let stt = TencentStt::new("key", "app", "secret").engine_model_type("16k_zh");
/// assert_eq!(stt.to_config()["params"]["engine_model_type"], "16k_zh");
/// ```
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(from = "super::options::TencentSttOptions")]
#[must_use]
pub struct TencentStt {
    key: Secret,
    app_id: String,
    secret: Secret,
    engine_model_type: Option<String>,
    voice_id: Option<String>,
    common: Common,
}

impl TencentStt {
    /// Key, app id and secret are required; language `zh-CN`.
    pub fn new(
        key: impl Into<Secret>,
        app_id: impl Into<String>,
        secret: impl Into<Secret>,
    ) -> Self {
        TencentStt {
            key: key.into(),
            app_id: app_id.into(),
            secret: secret.into(),
            engine_model_type: None,
            voice_id: None,
            common: Common::new("zh-CN"),
        }
    }
    /// Engine model, e.g. `16k_zh`.
    pub fn engine_model_type(mut self, v: impl Into<String>) -> Self {
        self.engine_model_type = Some(v.into());
        self
    }
    /// Voice id.
    pub fn voice_id(mut self, v: impl Into<String>) -> Self {
        self.voice_id = Some(v.into());
        self
    }
    common_setters!();
}

impl SttConfig for TencentStt {
    fn to_block(&self) -> AsrBlock {
        from_object({
            let mut known = vec![
                ("key", json!(self.key.expose())),
                ("app_id", json!(self.app_id)),
                ("secret", json!(self.secret.expose())),
            ];
            known.extend(
                self.engine_model_type
                    .as_ref()
                    .map(|v| ("engine_model_type", json!(v))),
            );
            known.extend(self.voice_id.as_ref().map(|v| ("voice_id", json!(v))));
            self.common.finish("tencent", known)
        })
    }
}

/// Microsoft Azure ASR.
///
/// ```
/// use shengwang_agent::vendors::{MicrosoftStt, SttConfig};
/// let c = MicrosoftStt::new("key", "chinaeast2").to_config();
/// assert_eq!(c["params"]["language"], "zh-CN");
/// ```
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(from = "super::options::MicrosoftSttOptions")]
#[must_use]
pub struct MicrosoftStt {
    key: Secret,
    region: String,
    phrase_list: Option<Vec<String>>,
    common: Common,
}

impl MicrosoftStt {
    /// Key and region are required; language `zh-CN`.
    pub fn new(key: impl Into<Secret>, region: impl Into<String>) -> Self {
        MicrosoftStt {
            key: key.into(),
            region: region.into(),
            phrase_list: None,
            common: Common::new("zh-CN"),
        }
    }
    /// Phrases to favour.
    pub fn phrase_list(mut self, phrases: Vec<String>) -> Self {
        self.phrase_list = Some(phrases);
        self
    }
    common_setters!();
}

impl SttConfig for MicrosoftStt {
    fn to_block(&self) -> AsrBlock {
        from_object({
            let mut known = vec![
                ("key", json!(self.key.expose())),
                ("region", json!(self.region)),
                ("language", json!(self.common.language)),
            ];
            known.extend(self.phrase_list.as_ref().map(|p| ("phrase_list", json!(p))));
            self.common.finish("microsoft", known)
        })
    }
}

/// iFlytek ASR.
///
/// ```
/// use shengwang_agent::vendors::{SttConfig, XfyunStt};
/// assert_eq!(XfyunStt::new("k", "app", "s").to_config()["language"], "zh_cn");
/// ```
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(from = "super::options::XfyunOptions")]
#[must_use]
pub struct XfyunStt {
    api_key: Secret,
    app_id: String,
    api_secret: Secret,
    common: Common,
}

impl XfyunStt {
    /// Key, app id and secret are required; language `zh_cn`.
    pub fn new(
        api_key: impl Into<Secret>,
        app_id: impl Into<String>,
        api_secret: impl Into<Secret>,
    ) -> Self {
        XfyunStt {
            api_key: api_key.into(),
            app_id: app_id.into(),
            api_secret: api_secret.into(),
            common: Common::new("zh_cn"),
        }
    }
    common_setters!();
}

impl SttConfig for XfyunStt {
    fn to_block(&self) -> AsrBlock {
        from_object({
            self.common.finish(
                "xfyun",
                vec![
                    ("api_key", json!(self.api_key.expose())),
                    ("app_id", json!(self.app_id)),
                    ("api_secret", json!(self.api_secret.expose())),
                    ("language", json!(self.common.language)),
                ],
            )
        })
    }
}

/// iFlytek large-model ASR.
///
/// ```
/// use shengwang_agent::vendors::{SttConfig, XfyunBigModelStt};
/// let c = XfyunBigModelStt::new("k", "app", "s").to_config();
/// assert_eq!((c["language"].as_str(), c["params"]["language_name"].as_str()), (Some("mix"), Some("cn")));
/// ```
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(from = "super::options::XfyunBigModelOptions")]
#[must_use]
pub struct XfyunBigModelStt {
    api_key: Secret,
    app_id: String,
    api_secret: Secret,
    language_name: String,
    common: Common,
}

impl XfyunBigModelStt {
    /// Key, app id and secret are required; language `mix`, language name `cn`.
    pub fn new(
        api_key: impl Into<Secret>,
        app_id: impl Into<String>,
        api_secret: impl Into<Secret>,
    ) -> Self {
        XfyunBigModelStt {
            api_key: api_key.into(),
            app_id: app_id.into(),
            api_secret: api_secret.into(),
            language_name: "cn".into(),
            common: Common::new("mix"),
        }
    }
    /// Language name (default `cn`).
    pub fn language_name(mut self, v: impl Into<String>) -> Self {
        self.language_name = v.into();
        self
    }
    common_setters!();
}

impl SttConfig for XfyunBigModelStt {
    fn to_block(&self) -> AsrBlock {
        from_object({
            self.common.finish(
                "xfyun_bigmodel",
                vec![
                    ("api_key", json!(self.api_key.expose())),
                    ("app_id", json!(self.app_id)),
                    ("api_secret", json!(self.api_secret.expose())),
                    ("language_name", json!(self.language_name)),
                    ("language", json!(self.common.language)),
                ],
            )
        })
    }
}

/// iFlytek dialect ASR.
///
/// ```
/// use shengwang_agent::vendors::{SttConfig, XfyunDialectStt};
/// assert_eq!(XfyunDialectStt::new("app", "id", "secret").to_config()["vendor"], "xfyun_dialect");
/// ```
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(from = "super::options::XfyunDialectOptions")]
#[must_use]
pub struct XfyunDialectStt {
    app_id: String,
    access_key_id: Secret,
    access_key_secret: Secret,
    common: Common,
}

impl XfyunDialectStt {
    /// App id, access key id and secret are required; language `zh-CN`.
    pub fn new(
        app_id: impl Into<String>,
        access_key_id: impl Into<Secret>,
        access_key_secret: impl Into<Secret>,
    ) -> Self {
        XfyunDialectStt {
            app_id: app_id.into(),
            access_key_id: access_key_id.into(),
            access_key_secret: access_key_secret.into(),
            common: Common::new("zh-CN"),
        }
    }
    common_setters!();
}

impl SttConfig for XfyunDialectStt {
    fn to_block(&self) -> AsrBlock {
        from_object({
            self.common.finish(
                "xfyun_dialect",
                vec![
                    ("app_id", json!(self.app_id)),
                    ("access_key_id", json!(self.access_key_id.expose())),
                    ("access_key_secret", json!(self.access_key_secret.expose())),
                    ("language", json!(self.common.language)),
                ],
            )
        })
    }
}
