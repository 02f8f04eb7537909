//! TTS vendors. Output: `{"vendor", "params": {…known, …extras}, "skip_patterns"?}`.

use serde_json::{json, Value};

use super::{from_object, object, secret, text, Config, Extras, Secret, TtsBlock, TtsConfig};

/// The MiniMax WebSocket endpoint sent when no URL is set.
pub const MINIMAX_DEFAULT_URL: &str = "wss://api.minimax.chat/ws/v1/t2a_v2";

/// Options every TTS vendor shares: `skip_patterns` and extras.
#[derive(Debug, Clone, Default, PartialEq)]
struct Common {
    skip_patterns: Option<Vec<i64>>,
    extras: Extras,
}

impl Common {
    fn finish(&self, vendor: &str, mut params: Config) -> Config {
        self.extras.append_to(&mut params);
        object([
            ("vendor", text(vendor)),
            ("params", Some(Value::Object(params))),
            (
                "skip_patterns",
                self.skip_patterns.as_ref().map(|p| json!(p)),
            ),
        ])
    }
}

macro_rules! common_setters {
    () => {
        /// Bracket patterns whose text is not spoken (`skip_patterns`).
        pub fn skip_patterns(mut self, patterns: Vec<i64>) -> Self {
            self.common.skip_patterns = Some(patterns);
            self
        }
        /// An option this crate does not model, sent inside `params`.
        pub fn extra(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
            self.common.extras.insert(key, value);
            self
        }
    };
}

/// MiniMax. The voice id is required (the API rejects a `voice_setting` without one).
///
/// ```
/// use shengwang_agent::vendors::{MiniMaxTts, TtsConfig};
/// let tts = MiniMaxTts::new("mm-key", "speech-02-turbo", "female-shaonv");
/// assert_eq!(tts.to_config()["params"]["url"], "wss://api.minimax.chat/ws/v1/t2a_v2");
/// assert_eq!(tts.sample_rate(), None);
/// ```
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(try_from = "super::options::MiniMaxOptions")]
#[must_use]
pub struct MiniMaxTts {
    key: Secret,
    model: String,
    voice_setting: Config,
    url: String,
    group_id: Option<String>,
    audio_setting: Option<Config>,
    pronunciation_dict: Option<Value>,
    language_boost: Option<String>,
    common: Common,
}

impl MiniMaxTts {
    /// Key, model and voice id are required.
    pub fn new(
        key: impl Into<Secret>,
        model: impl Into<String>,
        voice_id: impl Into<String>,
    ) -> Self {
        let mut voice_setting = Config::new();
        voice_setting.insert("voice_id".into(), Value::String(voice_id.into()));
        MiniMaxTts {
            key: key.into(),
            model: model.into(),
            voice_setting,
            url: MINIMAX_DEFAULT_URL.into(),
            group_id: None,
            audio_setting: None,
            pronunciation_dict: None,
            language_boost: None,
            common: Common::default(),
        }
    }
    /// Another `voice_setting` entry (speed, vol, pitch, emotion…).
    pub fn voice_setting(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.voice_setting.insert(key.into(), value.into());
        self
    }
    /// Endpoint, a `ws://` or `wss://` URL (default [`MINIMAX_DEFAULT_URL`]).
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = url.into();
        self
    }
    /// Group id.
    pub fn group_id(mut self, id: impl Into<String>) -> Self {
        self.group_id = Some(id.into());
        self
    }
    /// One `audio_setting` entry; `sample_rate` here is the TTS sample rate.
    pub fn audio_setting(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.audio_setting
            .get_or_insert_with(Config::new)
            .insert(key.into(), value.into());
        self
    }
    /// Sets `audio_setting.sample_rate`.
    pub fn with_sample_rate(self, hz: u32) -> Self {
        self.audio_setting("sample_rate", hz)
    }
    /// Pronunciation dictionary.
    pub fn pronunciation_dict(mut self, dict: Value) -> Self {
        self.pronunciation_dict = Some(dict);
        self
    }
    /// Language boost.
    pub fn language_boost(mut self, lang: impl Into<String>) -> Self {
        self.language_boost = Some(lang.into());
        self
    }
    common_setters!();
}

impl TtsConfig for MiniMaxTts {
    fn to_block(&self) -> TtsBlock {
        from_object({
            let params = object([
                ("key", secret(&self.key)),
                ("model", text(&self.model)),
                (
                    "voice_setting",
                    Some(Value::Object(self.voice_setting.clone())),
                ),
                ("url", text(&self.url)),
                ("group_id", self.group_id.as_deref().and_then(text)),
                (
                    "audio_setting",
                    self.audio_setting.clone().map(Value::Object),
                ),
                ("pronunciation_dict", self.pronunciation_dict.clone()),
                (
                    "language_boost",
                    self.language_boost.as_deref().and_then(text),
                ),
            ]);
            self.common.finish("minimax", params)
        })
    }
    fn sample_rate(&self) -> Option<u32> {
        self.audio_setting
            .as_ref()
            .and_then(|a| a.get("sample_rate"))
            .and_then(Value::as_u64)
            .and_then(|v| u32::try_from(v).ok())
    }
    fn validate(&self) -> crate::Result<()> {
        crate::validate::validate_ws_url("tts.url", &self.url)
    }
}

/// Tencent Cloud TTS.
///
/// ```
/// use shengwang_agent::vendors::{TencentTts, TtsConfig};
/// let tts = TencentTts::new("app", "sid", "skey", 101001).speed(1);
/// assert_eq!(tts.to_config()["params"]["voice_type"], 101001);
/// ```
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(from = "super::options::TencentTtsOptions")]
#[must_use]
pub struct TencentTts {
    app_id: String,
    secret_id: Secret,
    secret_key: Secret,
    voice_type: i64,
    volume: Option<i64>,
    speed: Option<i64>,
    emotion_category: Option<String>,
    emotion_intensity: Option<i64>,
    common: Common,
}

impl TencentTts {
    /// App id, secret id, secret key and the numeric voice type are required.
    pub fn new(
        app_id: impl Into<String>,
        secret_id: impl Into<Secret>,
        secret_key: impl Into<Secret>,
        voice_type: i64,
    ) -> Self {
        TencentTts {
            app_id: app_id.into(),
            secret_id: secret_id.into(),
            secret_key: secret_key.into(),
            voice_type,
            volume: None,
            speed: None,
            emotion_category: None,
            emotion_intensity: None,
            common: Common::default(),
        }
    }
    /// Volume.
    pub fn volume(mut self, v: i64) -> Self {
        self.volume = Some(v);
        self
    }
    /// Speed.
    pub fn speed(mut self, v: i64) -> Self {
        self.speed = Some(v);
        self
    }
    /// Emotion category.
    pub fn emotion_category(mut self, v: impl Into<String>) -> Self {
        self.emotion_category = Some(v.into());
        self
    }
    /// Emotion intensity.
    pub fn emotion_intensity(mut self, v: i64) -> Self {
        self.emotion_intensity = Some(v);
        self
    }
    common_setters!();
}

impl TtsConfig for TencentTts {
    fn to_block(&self) -> TtsBlock {
        from_object({
            let params = object([
                ("app_id", text(&self.app_id)),
                ("secret_id", secret(&self.secret_id)),
                ("secret_key", secret(&self.secret_key)),
                ("voice_type", Some(self.voice_type.into())),
                ("volume", self.volume.map(Value::from)),
                ("speed", self.speed.map(Value::from)),
                (
                    "emotion_category",
                    self.emotion_category.as_deref().and_then(text),
                ),
                ("emotion_intensity", self.emotion_intensity.map(Value::from)),
            ]);
            self.common.finish("tencent", params)
        })
    }
    fn sample_rate(&self) -> Option<u32> {
        None
    }
}

/// Bytedance (Volcengine) TTS.
///
/// ```
/// use shengwang_agent::vendors::{BytedanceTts, TtsConfig};
/// let tts = BytedanceTts::new("tok", "app", "BV001_streaming").cluster("volcano_tts");
/// assert_eq!(tts.to_config()["params"]["cluster"], "volcano_tts");
/// ```
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(from = "super::options::BytedanceTtsOptions")]
#[must_use]
pub struct BytedanceTts {
    token: Secret,
    app_id: String,
    voice_type: String,
    cluster: Option<String>,
    speed_ratio: Option<f64>,
    volume_ratio: Option<f64>,
    pitch_ratio: Option<f64>,
    emotion: Option<String>,
    common: Common,
}

impl BytedanceTts {
    /// Token, app id and voice type are required.
    pub fn new(
        token: impl Into<Secret>,
        app_id: impl Into<String>,
        voice_type: impl Into<String>,
    ) -> Self {
        BytedanceTts {
            token: token.into(),
            app_id: app_id.into(),
            voice_type: voice_type.into(),
            cluster: None,
            speed_ratio: None,
            volume_ratio: None,
            pitch_ratio: None,
            emotion: None,
            common: Common::default(),
        }
    }
    /// Cluster.
    pub fn cluster(mut self, v: impl Into<String>) -> Self {
        self.cluster = Some(v.into());
        self
    }
    /// Speed ratio.
    pub fn speed_ratio(mut self, v: f64) -> Self {
        self.speed_ratio = Some(v);
        self
    }
    /// Volume ratio.
    pub fn volume_ratio(mut self, v: f64) -> Self {
        self.volume_ratio = Some(v);
        self
    }
    /// Pitch ratio.
    pub fn pitch_ratio(mut self, v: f64) -> Self {
        self.pitch_ratio = Some(v);
        self
    }
    /// Emotion.
    pub fn emotion(mut self, v: impl Into<String>) -> Self {
        self.emotion = Some(v.into());
        self
    }
    common_setters!();
}

impl TtsConfig for BytedanceTts {
    fn to_block(&self) -> TtsBlock {
        from_object({
            let params = object([
                ("token", secret(&self.token)),
                ("app_id", text(&self.app_id)),
                ("voice_type", text(&self.voice_type)),
                ("cluster", self.cluster.as_deref().and_then(text)),
                ("speed_ratio", self.speed_ratio.map(Value::from)),
                ("volume_ratio", self.volume_ratio.map(Value::from)),
                ("pitch_ratio", self.pitch_ratio.map(Value::from)),
                ("emotion", self.emotion.as_deref().and_then(text)),
            ]);
            self.common.finish("bytedance", params)
        })
    }
    fn sample_rate(&self) -> Option<u32> {
        None
    }
}

/// Sample rates Microsoft TTS accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MicrosoftSampleRate {
    /// 8 kHz
    Hz8000,
    /// 16 kHz
    Hz16000,
    /// 24 kHz
    Hz24000,
    /// 48 kHz
    Hz48000,
}

impl MicrosoftSampleRate {
    /// In hertz.
    pub fn hz(self) -> u32 {
        match self {
            Self::Hz8000 => 8000,
            Self::Hz16000 => 16000,
            Self::Hz24000 => 24000,
            Self::Hz48000 => 48000,
        }
    }
}

/// Microsoft Azure TTS.
///
/// ```
/// use shengwang_agent::vendors::{MicrosoftSampleRate, MicrosoftTts, TtsConfig};
/// let tts = MicrosoftTts::new("az-key", "chinaeast2", "zh-CN-XiaoxiaoNeural")
///     .with_sample_rate(MicrosoftSampleRate::Hz16000);
/// assert_eq!(tts.sample_rate(), Some(16000));
/// ```
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(from = "super::options::MicrosoftTtsOptions")]
#[must_use]
pub struct MicrosoftTts {
    key: Secret,
    region: String,
    voice_name: String,
    speed: Option<f64>,
    volume: Option<f64>,
    sample_rate: Option<MicrosoftSampleRate>,
    common: Common,
}

impl MicrosoftTts {
    /// Key, region and voice name are required.
    pub fn new(
        key: impl Into<Secret>,
        region: impl Into<String>,
        voice_name: impl Into<String>,
    ) -> Self {
        MicrosoftTts {
            key: key.into(),
            region: region.into(),
            voice_name: voice_name.into(),
            speed: None,
            volume: None,
            sample_rate: None,
            common: Common::default(),
        }
    }
    /// Speed (0.5 to 2.0).
    pub fn speed(mut self, v: f64) -> Self {
        self.speed = Some(v);
        self
    }
    /// Volume (0 to 100).
    pub fn volume(mut self, v: f64) -> Self {
        self.volume = Some(v);
        self
    }
    /// Sample rate.
    pub fn with_sample_rate(mut self, rate: MicrosoftSampleRate) -> Self {
        self.sample_rate = Some(rate);
        self
    }
    common_setters!();
}

impl TtsConfig for MicrosoftTts {
    fn to_block(&self) -> TtsBlock {
        from_object({
            let params = object([
                ("key", secret(&self.key)),
                ("region", text(&self.region)),
                ("voice_name", text(&self.voice_name)),
                ("speed", self.speed.map(Value::from)),
                ("volume", self.volume.map(Value::from)),
                ("sample_rate", self.sample_rate.map(|r| r.hz().into())),
            ]);
            self.common.finish("microsoft", params)
        })
    }
    fn sample_rate(&self) -> Option<u32> {
        self.sample_rate.map(MicrosoftSampleRate::hz)
    }
}

/// Alibaba CosyVoice.
///
/// ```
/// use shengwang_agent::vendors::{CosyVoiceTts, TtsConfig};
/// let tts = CosyVoiceTts::new("key", "cosyvoice-v1", "longxiaochun").with_sample_rate(24000);
/// assert_eq!(tts.sample_rate(), Some(24000));
/// ```
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(from = "super::options::CosyVoiceOptions")]
#[must_use]
pub struct CosyVoiceTts {
    api_key: Secret,
    model: String,
    voice: String,
    sample_rate: Option<u32>,
    common: Common,
}

impl CosyVoiceTts {
    /// Key, model and voice are required.
    pub fn new(
        api_key: impl Into<Secret>,
        model: impl Into<String>,
        voice: impl Into<String>,
    ) -> Self {
        CosyVoiceTts {
            api_key: api_key.into(),
            model: model.into(),
            voice: voice.into(),
            sample_rate: None,
            common: Common::default(),
        }
    }
    /// Sample rate in hertz.
    pub fn with_sample_rate(mut self, hz: u32) -> Self {
        self.sample_rate = Some(hz);
        self
    }
    common_setters!();
}

impl TtsConfig for CosyVoiceTts {
    fn to_block(&self) -> TtsBlock {
        from_object({
            let params = object([
                ("api_key", secret(&self.api_key)),
                ("model", text(&self.model)),
                ("voice", text(&self.voice)),
                ("sample_rate", self.sample_rate.map(Value::from)),
            ]);
            self.common.finish("cosyvoice", params)
        })
    }
    fn sample_rate(&self) -> Option<u32> {
        self.sample_rate
    }
}

/// Defines a TTS vendor whose options are three required strings.
macro_rules! three_field_tts {
    ($(#[$m:meta])* $name:ident, $vendor:literal, $a:ident: $at:ty, $b:ident: $bt:ty, $c:ident: $ct:ty) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq)]
        #[must_use]
        pub struct $name {
            $a: $at,
            $b: $bt,
            $c: $ct,
            common: Common,
        }

        impl $name {
            /// Every option is required.
            pub fn new($a: impl Into<$at>, $b: impl Into<$bt>, $c: impl Into<$ct>) -> Self {
                $name { $a: $a.into(), $b: $b.into(), $c: $c.into(), common: Common::default() }
            }
            common_setters!();
        }

        impl TtsConfig for $name {
            fn to_block(&self) -> TtsBlock {
        from_object({
                let params = object([
                    (stringify!($a), Some(json!(field(&self.$a)))),
                    (stringify!($b), Some(json!(field(&self.$b)))),
                    (stringify!($c), Some(json!(field(&self.$c)))),
                ]);
                self.common.finish($vendor, params)
            })
    }
            fn sample_rate(&self) -> Option<u32> {
                None
            }
        }
    };
}

/// Plain and secret fields, as the wire sees them.
trait Field {
    fn wire(&self) -> &str;
}
impl Field for String {
    fn wire(&self) -> &str {
        self
    }
}
impl Field for Secret {
    fn wire(&self) -> &str {
        self.expose()
    }
}
fn field(f: &impl Field) -> &str {
    f.wire()
}

three_field_tts!(
    /// Bytedance duplex (streaming) TTS.
    ///
    /// ```
    /// use shengwang_agent::vendors::{BytedanceDuplexTts, TtsConfig};
    /// let tts = BytedanceDuplexTts::new("app", "tok", "zh_female");
    /// assert_eq!(tts.to_config()["vendor"], "bytedance_duplex");
    /// ```
    #[derive(serde::Deserialize)]
    #[serde(from = "super::options::BytedanceDuplexOptions")]
    BytedanceDuplexTts, "bytedance_duplex", app_id: String, token: Secret, speaker: String
);

three_field_tts!(
    /// StepFun TTS.
    ///
    /// ```
    /// use shengwang_agent::vendors::{StepFunTts, TtsConfig};
    /// let tts = StepFunTts::new("key", "step-tts-mini", "cixingnansheng");
    /// assert_eq!(tts.to_config()["params"]["voice_id"], "cixingnansheng");
    /// ```
    #[derive(serde::Deserialize)]
    #[serde(from = "super::options::StepFunOptions")]
    StepFunTts, "stepfun", api_key: Secret, model: String, voice_id: String
);
