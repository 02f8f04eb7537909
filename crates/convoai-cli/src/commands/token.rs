//! `convoai token …`: thin over `shengwang_agent::token`, which validates every input.

use std::io::Write;

use serde_json::json;
use shengwang_agent::token::{
    self, AccessToken, RtcRole, RtcUid, ServiceBody, ServiceType, TokenBuilder, Validation,
};

use super::Ctx;
use crate::cli::{Reproducible, Role, TokenCommand};
use crate::error::CliError;
use crate::output::Output;

pub fn run(ctx: &Ctx, cmd: TokenCommand, out: &mut dyn Write) -> Result<(), CliError> {
    match cmd {
        TokenCommand::Rtc {
            channel,
            uid,
            account,
            role,
            expire,
            privilege_expire,
            fixed,
        } => {
            let builder = builder(ctx, &fixed)?;
            let uid = rtc_uid(uid, account)?;
            let mut req = builder
                .rtc(&channel, uid)
                .role(match role {
                    Role::Publisher => RtcRole::Publisher,
                    Role::Subscriber => RtcRole::Subscriber,
                })
                .expire(expire);
            if let Some(p) = privilege_expire {
                req = req.privilege_expire(p);
            }
            print_token(ctx, out, "rtc", &req.build()?)?;
        }
        TokenCommand::Convoai {
            channel,
            account,
            expire,
            privilege_expire,
            with_convoai_service,
            fixed,
        } => {
            let t = builder(ctx, &fixed)?
                .convo_ai(&channel, &account)
                .expire(expire)
                .privilege_expire(privilege_expire)
                .with_convoai_service(with_convoai_service)
                .build()?;
            print_token(ctx, out, "convoai", &t)?;
        }
        TokenCommand::Rtm {
            user_id,
            expire,
            fixed,
        } => {
            let t = builder(ctx, &fixed)?.rtm(&user_id).expire(expire).build()?;
            print_token(ctx, out, "rtm", &t)?;
        }
        TokenCommand::Decode { token } => decode(ctx, &token, out)?,
        TokenCommand::Verify {
            token,
            channel,
            uid,
            at,
        } => {
            let v = validation(ctx, channel, uid, at)?;
            verify(ctx, &token, &v, out)?;
        }
    }
    Ok(())
}

/// Who an RTC token is for: `--uid` wins over `--account`; one of them is required.
fn rtc_uid(uid: Option<u32>, account: Option<String>) -> Result<RtcUid, CliError> {
    match (uid, account) {
        (Some(n), _) => Ok(RtcUid::Uid(n)),
        (None, Some(a)) => Ok(RtcUid::Account(a)),
        (None, None) => Err(CliError::Invalid("--uid or --account is required".into())),
    }
}

/// `token decode`: the token's content as one JSON line or as text.
fn decode(ctx: &Ctx, token: &str, out: &mut dyn Write) -> Result<(), CliError> {
    let content = token::decode(token.trim())?.content;
    if ctx.out.json {
        ctx.out.json_line(out, &to_json(&content))
    } else {
        write_text(&ctx.out, &content, out)
    }
}

/// What `token verify` checks: the app's signature, at `at` (unix time) if given, and the
/// channel (and uid) to join when given.
fn validation(
    ctx: &Ctx,
    channel: Option<String>,
    uid: Option<String>,
    at: Option<u64>,
) -> Result<Validation, CliError> {
    let (app_id, cert) = ctx.app_credentials()?;
    let mut v = Validation::new(app_id, cert)?;
    if let Some(now) = at {
        v = v.at(now);
    }
    Ok(match (channel, uid) {
        (Some(c), Some(u)) => v.require_rtc_join(c, u),
        (Some(c), None) => v.require_rtc_channel(c),
        _ => v,
    })
}

/// `token verify`: says when a valid token expires; an invalid one is the command's failure.
fn verify(ctx: &Ctx, token: &str, v: &Validation, out: &mut dyn Write) -> Result<(), CliError> {
    // Here a bad token is the answer "not valid" (exit 1), not a usage error.
    let content = token::verify(token.trim(), v).map_err(|e| CliError::Failed(e.to_string()))?;
    if ctx.out.json {
        ctx.out.json_line(
            out,
            &json!({"valid": true, "expires_at": content.expires_at()}),
        )
    } else {
        writeln!(out, "valid: expires at unix time {}", content.expires_at())?;
        Ok(())
    }
}

/// A built token: the bare string (for `$(…)`), or with `--json` one JSON line.
fn print_token(ctx: &Ctx, out: &mut dyn Write, kind: &str, token: &str) -> Result<(), CliError> {
    if ctx.out.json {
        ctx.out
            .json_line(out, &json!({"type": kind, "token": token}))
    } else {
        writeln!(out, "{token}")?;
        Ok(())
    }
}

fn builder(ctx: &Ctx, fixed: &Reproducible) -> Result<TokenBuilder, CliError> {
    let (app_id, cert) = ctx.app_credentials()?;
    let mut b = TokenBuilder::new(app_id, cert)?;
    if let Some(ts) = fixed.issue_ts {
        b = b.issue_ts(ts);
    }
    if let Some(salt) = fixed.salt {
        b = b.salt(salt);
    }
    Ok(b)
}

fn privilege_name(service: ServiceType, id: u16) -> &'static str {
    match (service, id) {
        (ServiceType::Rtc, 1) => "join_channel",
        (ServiceType::Rtc, 2) => "publish_audio_stream",
        (ServiceType::Rtc, 3) => "publish_video_stream",
        (ServiceType::Rtc, 4) => "publish_data_stream",
        (ServiceType::Rtm | ServiceType::Fpa, 1) => "login",
        (ServiceType::Streaming, 1) => "publish_mix_stream",
        (ServiceType::Streaming, 2) => "publish_raw_stream",
        (ServiceType::Chat, 1) => "user",
        (ServiceType::Chat, 2) => "app",
        (ServiceType::Fcdn, 1) => "publish",
        (ServiceType::Fcdn, 2) => "play",
        (ServiceType::Apaas, 1) => "room_user",
        (ServiceType::Apaas, 2) => "user",
        (ServiceType::Apaas, 3) => "app",
        _ => "unknown",
    }
}

/// The identifying fields of a service as (key, value) pairs, in wire order.
fn fields(body: &ServiceBody) -> Vec<(&'static str, serde_json::Value)> {
    match body {
        ServiceBody::Rtc { channel, uid } => vec![("channel", json!(channel)), ("uid", json!(uid))],
        ServiceBody::Rtm { user_id } | ServiceBody::Chat { user_id } => {
            vec![("user_id", json!(user_id))]
        }
        ServiceBody::Streaming { channel, account } | ServiceBody::Fcdn { channel, account } => {
            vec![("channel", json!(channel)), ("account", json!(account))]
        }
        ServiceBody::Apaas {
            room_uuid,
            user_uuid,
            role,
        } => vec![
            ("room_uuid", json!(room_uuid)),
            ("user_uuid", json!(user_uuid)),
            ("role", json!(role)),
        ],
        ServiceBody::Rtm2 {
            user_id,
            permissions,
        } => vec![
            ("user_id", json!(user_id)),
            ("permissions", json!(permissions)),
        ],
        _ => Vec::new(),
    }
}

fn to_json(c: &AccessToken) -> serde_json::Value {
    let services: Vec<_> = c
        .services
        .iter()
        .map(|s| {
            let kind = s.service_type();
            let mut obj = serde_json::Map::new();
            obj.insert("type".into(), json!(kind.code()));
            obj.insert("name".into(), json!(kind.name()));
            for (k, v) in fields(&s.body) {
                obj.insert(k.into(), v);
            }
            let privileges: Vec<_> = s
                .privileges
                .iter()
                .map(|(id, expire)| {
                    json!({"id": id, "name": privilege_name(kind, *id), "expire": expire})
                })
                .collect();
            obj.insert("privileges".into(), json!(privileges));
            serde_json::Value::Object(obj)
        })
        .collect();
    json!({
        "app_id": c.app_id,
        "issue_ts": c.issue_ts,
        "expire": c.expire,
        "expires_at": c.expires_at(),
        "salt": c.salt,
        "services": services,
    })
}

/// A decoded token for people; its strings come from whoever made the token, so each line goes
/// through [`Output::line`].
fn write_text(o: &Output, c: &AccessToken, out: &mut dyn Write) -> Result<(), CliError> {
    o.line(out, &format!("app_id:   {}", c.app_id))?;
    o.line(out, &format!("issue_ts: {}", c.issue_ts))?;
    o.line(
        out,
        &format!(
            "expire:   {} s (until unix time {})",
            c.expire,
            c.expires_at()
        ),
    )?;
    o.line(out, &format!("salt:     {}", c.salt))?;
    o.line(out, "services:")?;
    for s in &c.services {
        let kind = s.service_type();
        let described: Vec<String> = fields(&s.body)
            .into_iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}={s:?}"),
                other => format!("{k}={other}"),
            })
            .collect();
        o.line(
            out,
            &format!(
                "  {} ({}) {}",
                kind.name(),
                kind.code(),
                described.join(" ")
            ),
        )?;
        for (id, expire) in &s.privileges {
            o.line(
                out,
                &format!("    {} ({id}): {expire} s", privilege_name(kind, *id)),
            )?;
        }
    }
    Ok(())
}
