//! Avatar vendors.

use serde_json::{json, Value};

use super::{from_object, AvatarBlock, AvatarConfig, Config, Extras, Secret};

/// SenseTime digital human; needs TTS audio at 16 kHz.
///
/// Sends `"enable": true`, which the service needs to use an avatar (the Python SDK omits it).
///
/// ```
/// use shengwang_agent::vendors::{AvatarConfig, SensetimeAvatar};
/// let a = SensetimeAvatar::new("avatar-token", "3000", "st-app", "st-key", vec![]);
/// assert_eq!(a.required_sample_rate(), 16000);
/// assert_eq!(a.to_config()["enable"], true);
/// ```
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(from = "super::options::SensetimeOptions")]
#[must_use]
pub struct SensetimeAvatar {
    agora_token: Option<Secret>,
    agora_uid: String,
    app_id: String,
    app_key: Secret,
    scene_list: Vec<Value>,
    extras: Extras,
}

impl SensetimeAvatar {
    /// The avatar's RTC token and uid, the SenseTime app id and key, and the scene list.
    pub fn new(
        agora_token: impl Into<Secret>,
        agora_uid: impl Into<String>,
        app_id: impl Into<String>,
        app_key: impl Into<Secret>,
        scene_list: Vec<Value>,
    ) -> Self {
        SensetimeAvatar {
            agora_token: Some(agora_token.into()),
            agora_uid: agora_uid.into(),
            app_id: app_id.into(),
            app_key: app_key.into(),
            scene_list,
            extras: Extras::default(),
        }
    }
    /// The same without a token: a session signs the avatar's channel token for
    /// `agora_uid` with the app credentials (and refuses to start without them).
    pub fn for_uid(
        agora_uid: impl Into<String>,
        app_id: impl Into<String>,
        app_key: impl Into<Secret>,
        scene_list: Vec<Value>,
    ) -> Self {
        SensetimeAvatar {
            agora_token: None,
            agora_uid: agora_uid.into(),
            app_id: app_id.into(),
            app_key: app_key.into(),
            scene_list,
            extras: Extras::default(),
        }
    }
    /// An option this crate does not model, sent inside `params`.
    pub fn extra(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extras.insert(key, value);
        self
    }
}

impl AvatarConfig for SensetimeAvatar {
    fn to_block(&self) -> AvatarBlock {
        from_object({
            let mut params = Config::new();
            if let Some(t) = &self.agora_token {
                params.insert("agora_token".into(), json!(t.expose()));
            }
            params.insert("agora_uid".into(), json!(self.agora_uid));
            params.insert("appId".into(), json!(self.app_id));
            params.insert("app_key".into(), json!(self.app_key.expose()));
            params.insert("sceneList".into(), Value::Array(self.scene_list.clone()));
            self.extras.append_to(&mut params);
            let mut m = Config::new();
            m.insert("enable".into(), json!(true));
            m.insert("vendor".into(), json!("sensetime"));
            m.insert("params".into(), Value::Object(params));
            m
        })
    }

    fn required_sample_rate(&self) -> u32 {
        16_000
    }
}

/// Spatius digital human (CN area).
///
/// Its channel token is signed by the session for `agora_uid` unless one is given with
/// [`agora_token`](Self::agora_token). Give [`sample_rate`](Self::sample_rate) to have the
/// agent check that the TTS produces audio at that rate.
///
/// ```
/// use shengwang_agent::vendors::{AvatarConfig, SpatiusAvatar};
/// let a = SpatiusAvatar::new("sp-key", "sp-app", "avatar-7", "3000").sample_rate(24_000);
/// assert_eq!(a.required_sample_rate(), 24_000);
/// assert_eq!(a.to_config()["vendor"], "spatius");
/// ```
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(from = "super::options::SpatiusOptions")]
#[must_use]
pub struct SpatiusAvatar {
    api_key: Secret,
    app_id: String,
    avatar_id: String,
    agora_uid: String,
    agora_token: Option<Secret>,
    region: Option<String>,
    sample_rate: Option<u32>,
    session_expire_minutes: Option<u32>,
    extras: Extras,
}

impl SpatiusAvatar {
    /// The Spatius API key, app id and avatar id, and the uid the avatar publishes as.
    pub fn new(
        api_key: impl Into<Secret>,
        app_id: impl Into<String>,
        avatar_id: impl Into<String>,
        agora_uid: impl Into<String>,
    ) -> Self {
        SpatiusAvatar {
            api_key: api_key.into(),
            app_id: app_id.into(),
            avatar_id: avatar_id.into(),
            agora_uid: agora_uid.into(),
            agora_token: None,
            region: None,
            sample_rate: None,
            session_expire_minutes: None,
            extras: Extras::default(),
        }
    }
    /// The avatar's own channel token (otherwise the session signs one).
    pub fn agora_token(mut self, token: impl Into<Secret>) -> Self {
        self.agora_token = Some(token.into());
        self
    }
    /// Spatius service region, e.g. `cn-beijing`.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }
    /// Audio sample rate (Hz) the avatar takes; the TTS must match it.
    pub fn sample_rate(mut self, hz: u32) -> Self {
        self.sample_rate = Some(hz);
        self
    }
    /// How long a Spatius session stays valid (minutes).
    pub fn session_expire_minutes(mut self, minutes: u32) -> Self {
        self.session_expire_minutes = Some(minutes);
        self
    }
    /// An option this crate does not model, sent inside `params`.
    pub fn extra(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extras.insert(key, value);
        self
    }
}

impl AvatarConfig for SpatiusAvatar {
    fn to_block(&self) -> AvatarBlock {
        from_object({
            let mut params = Config::new();
            params.insert("spatius_api_key".into(), json!(self.api_key.expose()));
            params.insert("spatius_app_id".into(), json!(self.app_id));
            params.insert("spatius_avatar_id".into(), json!(self.avatar_id));
            params.insert("agora_uid".into(), json!(self.agora_uid));
            if let Some(t) = &self.agora_token {
                params.insert("agora_token".into(), json!(t.expose()));
            }
            if let Some(r) = &self.region {
                params.insert("region".into(), json!(r));
            }
            if let Some(hz) = self.sample_rate {
                params.insert("sample_rate".into(), json!(hz));
            }
            if let Some(m) = self.session_expire_minutes {
                params.insert("session_expire_minutes".into(), json!(m));
            }
            self.extras.append_to(&mut params);
            let mut m = Config::new();
            m.insert("enable".into(), json!(true));
            m.insert("vendor".into(), json!("spatius"));
            m.insert("params".into(), Value::Object(params));
            m
        })
    }

    /// The configured sample rate; 0 when none is given (any TTS rate is accepted).
    fn required_sample_rate(&self) -> u32 {
        self.sample_rate.unwrap_or(0)
    }
}
