//! Input rules checked before anything is signed. They live in [`crate::validate`], with
//! every other input rule of the SDK; this module keeps the token-related ones at hand.

pub use crate::validate::{
    validate_account, validate_app_certificate, validate_app_id, validate_channel,
    validate_privilege_expire, validate_token_expire, validate_user_id, MAX_ACCOUNT_LEN,
    MAX_CHANNEL_LEN, MAX_EXPIRE_SECS, MAX_USER_ID_LEN,
};
