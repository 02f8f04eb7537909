//! Avatar vendors.

use serde_json::{json, Value};

use super::{AvatarConfig, Config, Extras, Secret};

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
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct SensetimeAvatar {
    agora_token: Secret,
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
            agora_token: agora_token.into(),
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
    fn to_config(&self) -> Config {
        let mut params = Config::new();
        params.insert("agora_token".into(), json!(self.agora_token.expose()));
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
    }

    fn required_sample_rate(&self) -> u32 {
        16_000
    }
}
