//! The AccessToken2 content model: signing_info layout (spec §3, §5), signing (§4) and the
//! strict decoder (§9).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::wire::{Reader, Writer};
use crate::TokenError;

/// The version prefix of every AccessToken2 string.
pub const VERSION: &str = "007";

/// Longest token string accepted by the decoder. Real tokens are a few hundred characters.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;
/// Upper bound on the inflated content, so a zlib bomb costs at most this much memory.
pub const MAX_CONTENT_LEN: usize = 64 * 1024;

type HmacSha256 = Hmac<Sha256>;

/// AccessToken2 service types (spec §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u16)]
pub enum ServiceType {
    /// Real-time communication (channel join and publish privileges).
    Rtc = 1,
    /// Real-time messaging (signaling) login.
    Rtm = 2,
    /// Media push streaming.
    Streaming = 3,
    /// Flexible private access.
    Fpa = 4,
    /// Chat.
    Chat = 5,
    /// Fusion CDN.
    Fcdn = 6,
    /// APaaS / education.
    Apaas = 7,
    /// Signaling 2.x with resource permissions.
    Rtm2 = 8,
    /// Conversational AI Engine.
    ConvoAi = 9,
    /// Real-time speech-to-text.
    Stt = 10,
}

impl ServiceType {
    /// The numeric type written on the wire.
    pub fn code(self) -> u16 {
        self as u16
    }

    /// The service for a wire code, if known.
    pub fn from_code(code: u16) -> Option<Self> {
        Some(match code {
            1 => Self::Rtc,
            2 => Self::Rtm,
            3 => Self::Streaming,
            4 => Self::Fpa,
            5 => Self::Chat,
            6 => Self::Fcdn,
            7 => Self::Apaas,
            8 => Self::Rtm2,
            9 => Self::ConvoAi,
            10 => Self::Stt,
            _ => return None,
        })
    }

    /// Lower-case name, as printed by `convoai token decode`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Rtc => "rtc",
            Self::Rtm => "rtm",
            Self::Streaming => "streaming",
            Self::Fpa => "fpa",
            Self::Chat => "chat",
            Self::Fcdn => "fcdn",
            Self::Apaas => "apaas",
            Self::Rtm2 => "rtm2",
            Self::ConvoAi => "convoai",
            Self::Stt => "stt",
        }
    }
}

impl fmt::Display for ServiceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Privilege ids of the RTC service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum RtcPrivilege {
    /// Join the channel.
    JoinChannel = 1,
    /// Publish an audio stream.
    PublishAudioStream = 2,
    /// Publish a video stream.
    PublishVideoStream = 3,
    /// Publish a data stream.
    PublishDataStream = 4,
}

/// Privilege id of the RTM login privilege.
pub const RTM_LOGIN: u16 = 1;

/// The fields a service carries after its privilege map.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServiceBody {
    /// RTC: channel name and uid (a decimal uid or a string account; empty = any uid).
    Rtc {
        /// Channel name.
        channel: String,
        /// Uid as text.
        uid: String,
    },
    /// RTM: user id.
    Rtm {
        /// User id.
        user_id: String,
    },
    /// Streaming: channel and account.
    Streaming {
        /// Channel name.
        channel: String,
        /// Account.
        account: String,
    },
    /// FPA: no fields.
    Fpa,
    /// Chat: user id (empty for an app-level token).
    Chat {
        /// User id.
        user_id: String,
    },
    /// FCDN: channel and account.
    Fcdn {
        /// Channel name.
        channel: String,
        /// Account.
        account: String,
    },
    /// APaaS: room, user and role.
    Apaas {
        /// Room uuid.
        room_uuid: String,
        /// User uuid.
        user_uuid: String,
        /// Role.
        role: i16,
    },
    /// RTM2: user id and permissions per resource type (type → permission → resources).
    Rtm2 {
        /// User id.
        user_id: String,
        /// Resource type → permission → resource names.
        permissions: BTreeMap<u16, BTreeMap<u16, Vec<String>>>,
    },
    /// ConvoAI: no fields.
    ConvoAi,
    /// STT: no fields.
    Stt,
}

impl ServiceBody {
    /// The service type of this body.
    pub fn service_type(&self) -> ServiceType {
        match self {
            Self::Rtc { .. } => ServiceType::Rtc,
            Self::Rtm { .. } => ServiceType::Rtm,
            Self::Streaming { .. } => ServiceType::Streaming,
            Self::Fpa => ServiceType::Fpa,
            Self::Chat { .. } => ServiceType::Chat,
            Self::Fcdn { .. } => ServiceType::Fcdn,
            Self::Apaas { .. } => ServiceType::Apaas,
            Self::Rtm2 { .. } => ServiceType::Rtm2,
            Self::ConvoAi => ServiceType::ConvoAi,
            Self::Stt => ServiceType::Stt,
        }
    }
}

/// One service of a token: privileges (id → seconds after issue) and its fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// Privilege id → expiry in seconds relative to the token's issue time.
    pub privileges: BTreeMap<u16, u32>,
    /// Service-specific fields.
    pub body: ServiceBody,
}

impl Service {
    /// A service with no privileges yet.
    pub fn new(body: ServiceBody) -> Self {
        Service {
            privileges: BTreeMap::new(),
            body,
        }
    }

    /// Adds (or replaces) a privilege.
    #[must_use]
    pub fn with_privilege(mut self, id: u16, expire: u32) -> Self {
        self.privileges.insert(id, expire);
        self
    }

    /// The service type.
    pub fn service_type(&self) -> ServiceType {
        self.body.service_type()
    }

    fn encode(&self, w: &mut Writer) {
        w.u16(self.service_type().code());
        w.map(self.privileges.iter());
        match &self.body {
            ServiceBody::Rtc { channel, uid } => {
                w.bytes(channel.as_bytes());
                w.bytes(uid.as_bytes());
            }
            ServiceBody::Rtm { user_id } | ServiceBody::Chat { user_id } => {
                w.bytes(user_id.as_bytes())
            }
            ServiceBody::Streaming { channel, account }
            | ServiceBody::Fcdn { channel, account } => {
                w.bytes(channel.as_bytes());
                w.bytes(account.as_bytes());
            }
            ServiceBody::Apaas {
                room_uuid,
                user_uuid,
                role,
            } => {
                w.bytes(room_uuid.as_bytes());
                w.bytes(user_uuid.as_bytes());
                w.i16(*role);
            }
            ServiceBody::Rtm2 {
                user_id,
                permissions,
            } => {
                w.bytes(user_id.as_bytes());
                w.u16(permissions.len() as u16);
                for (kind, perms) in permissions {
                    w.u16(*kind);
                    w.u16(perms.len() as u16);
                    for (perm, resources) in perms {
                        w.u16(*perm);
                        w.u16(resources.len() as u16);
                        for r in resources {
                            w.bytes(r.as_bytes());
                        }
                    }
                }
            }
            ServiceBody::Fpa | ServiceBody::ConvoAi | ServiceBody::Stt => {}
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, TokenError> {
        let code = r.u16("service type")?;
        let kind = ServiceType::from_code(code).ok_or(TokenError::UnknownService(code))?;
        let count = r.u16("privilege count")?;
        let mut privileges = BTreeMap::new();
        for _ in 0..count {
            let id = ascending(&privileges, r.u16("privilege id")?, "privilege id")?;
            let expire = r.u32("privilege expire")?;
            privileges.insert(id, expire);
        }
        let body = match kind {
            ServiceType::Rtc => ServiceBody::Rtc {
                channel: r.string("rtc channel")?,
                uid: r.string("rtc uid")?,
            },
            ServiceType::Rtm => ServiceBody::Rtm {
                user_id: r.string("rtm user id")?,
            },
            ServiceType::Streaming => ServiceBody::Streaming {
                channel: r.string("streaming channel")?,
                account: r.string("streaming account")?,
            },
            ServiceType::Fpa => ServiceBody::Fpa,
            ServiceType::Chat => ServiceBody::Chat {
                user_id: r.string("chat user id")?,
            },
            ServiceType::Fcdn => ServiceBody::Fcdn {
                channel: r.string("fcdn channel")?,
                account: r.string("fcdn account")?,
            },
            ServiceType::Apaas => ServiceBody::Apaas {
                room_uuid: r.string("apaas room uuid")?,
                user_uuid: r.string("apaas user uuid")?,
                role: r.i16("apaas role")?,
            },
            ServiceType::Rtm2 => {
                let user_id = r.string("rtm2 user id")?;
                let mut permissions = BTreeMap::new();
                for _ in 0..r.u16("rtm2 resource type count")? {
                    let kind = ascending(
                        &permissions,
                        r.u16("rtm2 resource type")?,
                        "rtm2 resource type",
                    )?;
                    let mut perms = BTreeMap::new();
                    for _ in 0..r.u16("rtm2 permission count")? {
                        let perm = ascending(&perms, r.u16("rtm2 permission")?, "rtm2 permission")?;
                        // Bounded by the input: each resource consumes at least two bytes.
                        let n = r.u16("rtm2 resource count")?;
                        let mut resources = Vec::new();
                        for _ in 0..n {
                            resources.push(r.string("rtm2 resource")?);
                        }
                        perms.insert(perm, resources);
                    }
                    permissions.insert(kind, perms);
                }
                ServiceBody::Rtm2 {
                    user_id,
                    permissions,
                }
            }
            ServiceType::ConvoAi => ServiceBody::ConvoAi,
            ServiceType::Stt => ServiceBody::Stt,
        };
        Ok(Service { privileges, body })
    }
}

/// Map keys must be strictly ascending, as every encoder writes them, so that one content has
/// exactly one encoding and a duplicate key cannot shadow another.
fn ascending<V>(map: &BTreeMap<u16, V>, key: u16, field: &'static str) -> Result<u16, TokenError> {
    match map.keys().next_back() {
        Some(last) if *last >= key => Err(TokenError::NonCanonical { field }),
        _ => Ok(key),
    }
}

/// The signed content of an AccessToken2, without its signature.
///
/// Build one directly for services the high-level [`TokenBuilder`](super::TokenBuilder) does not
/// cover, then [`sign`](AccessToken::sign) it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// The 32-character app id, as text.
    pub app_id: String,
    /// Unix time (seconds) the token was issued.
    pub issue_ts: u32,
    /// Lifetime in seconds after `issue_ts`.
    pub expire: u32,
    /// Random salt mixed into the signing key.
    pub salt: u32,
    /// Services in wire order.
    pub services: Vec<Service>,
}

impl AccessToken {
    /// Unix time (seconds) at which the token stops being valid.
    pub fn expires_at(&self) -> u64 {
        u64::from(self.issue_ts) + u64::from(self.expire)
    }

    /// The first service of the given type.
    pub fn service(&self, kind: ServiceType) -> Option<&Service> {
        self.services.iter().find(|s| s.service_type() == kind)
    }

    /// The `signing_info` bytes (spec §3): what the signature covers.
    pub fn signing_info(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(96 + 64 * self.services.len());
        w.bytes(self.app_id.as_bytes());
        w.u32(self.issue_ts);
        w.u32(self.expire);
        w.u32(self.salt);
        w.u16(self.services.len() as u16);
        for s in &self.services {
            s.encode(&mut w);
        }
        w.0
    }

    /// Signs the content with the app certificate and returns the `007…` string.
    ///
    /// The certificate is not validated here; [`TokenBuilder`](super::TokenBuilder) does that.
    /// Compression uses classic zlib at the default level so the bytes equal those of the
    /// Python and AgoraIO/Tools builders.
    pub fn sign(&self, app_certificate: &str) -> String {
        let info = self.signing_info();
        let signature = signature(app_certificate.as_bytes(), self.issue_ts, self.salt, &info);
        let mut content = Writer::with_capacity(info.len() + 34);
        content.bytes(&signature);
        content.0.extend_from_slice(&info);

        let compressed = zlib(&content.0);
        let mut out = String::with_capacity(3 + compressed.len().div_ceil(3) * 4);
        out.push_str(VERSION);
        base64::engine::general_purpose::STANDARD.encode_string(&compressed, &mut out);
        out
    }
}

thread_local! {
    /// One deflate state per thread, reset for each token. Creating one allocates about
    /// 256 KiB, which the allocator tends to hand back to the OS on drop; allocating it per
    /// token made signing ~7x slower than compressing.
    static DEFLATE: RefCell<Compress> = RefCell::new(Compress::new(Compression::default(), true));
}

/// Classic zlib at the default level (window 15, memLevel 8): the bytes CPython's
/// `zlib.compress` writes.
fn zlib(data: &[u8]) -> Vec<u8> {
    DEFLATE.with(|cell| {
        let mut z = cell.borrow_mut();
        z.reset();
        // zlib's bound for small inputs is a few bytes over the input length.
        let mut out = Vec::with_capacity(data.len() + data.len() / 8 + 64);
        loop {
            let consumed = z.total_in() as usize;
            match z.compress_vec(&data[consumed..], &mut out, FlushCompress::Finish) {
                Ok(Status::StreamEnd) => break,
                Ok(_) => out.reserve(out.capacity().max(64)),
                // Unreachable with a valid state and Finish; an empty result then fails to
                // decode rather than panicking here.
                Err(_) => return Vec::new(),
            }
        }
        out
    })
}

/// HMAC-SHA256 chain of spec §4.
pub(crate) fn signature(certificate: &[u8], issue_ts: u32, salt: u32, info: &[u8]) -> [u8; 32] {
    let mut mac = signing_mac(certificate, issue_ts, salt);
    mac.update(info);
    mac.finalize().into_bytes().into()
}

pub(crate) fn signing_mac(certificate: &[u8], issue_ts: u32, salt: u32) -> HmacSha256 {
    let k1 = hmac(&issue_ts.to_le_bytes(), certificate);
    let k_sign = hmac(&salt.to_le_bytes(), &k1);
    // HMAC accepts keys of any length.
    <HmacSha256 as Mac>::new_from_slice(&k_sign).expect("HMAC takes any key length")
}

fn hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// A parsed token: its content plus what verification needs.
#[derive(Clone, PartialEq, Eq)]
pub struct DecodedToken {
    /// The parsed content.
    pub content: AccessToken,
    pub(crate) signature: [u8; 32],
    pub(crate) signing_info: Vec<u8>,
}

impl fmt::Debug for DecodedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecodedToken")
            .field("content", &self.content)
            .finish_non_exhaustive()
    }
}

/// Parses an AccessToken2 string without checking its signature.
///
/// Safe on untrusted input: bounded in memory and never panics. Failures are
/// [`Error::Token`](crate::Error::Token). Use [`verify`](super::verify) to also check
/// signature, app id and expiry.
pub fn decode(token: &str) -> crate::Result<DecodedToken> {
    Ok(decode_inner(token)?)
}

fn decode_inner(token: &str) -> Result<DecodedToken, TokenError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(TokenError::TooLarge {
            limit: MAX_TOKEN_LEN,
        });
    }
    let body = token.strip_prefix(VERSION).ok_or(TokenError::WrongPrefix)?;
    let compressed = base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|_| TokenError::Base64)?;
    let content = inflate_strict(&compressed)?;

    let mut r = Reader::new(&content);
    let sig = r.bytes("signature")?;
    let signature: [u8; 32] = sig
        .try_into()
        .map_err(|_| TokenError::SignatureLength(sig.len()))?;
    let signing_info = r.rest().to_vec();

    let app_id = r.string("app id")?;
    let issue_ts = r.u32("issue_ts")?;
    let expire = r.u32("expire")?;
    let salt = r.u32("salt")?;
    let count = r.u16("service count")?;
    let mut services = Vec::new();
    for _ in 0..count {
        services.push(Service::decode(&mut r)?);
    }
    if r.remaining() != 0 {
        return Err(TokenError::TrailingBytes(r.remaining()));
    }
    Ok(DecodedToken {
        content: AccessToken {
            app_id,
            issue_ts,
            expire,
            salt,
            services,
        },
        signature,
        signing_info,
    })
}

/// Inflates a zlib stream, refusing anything a compressor would not have written: output over
/// [`MAX_CONTENT_LEN`], bytes after the stream, or set padding bits in the last deflate byte.
/// The last two would let a token be altered without changing what it decodes to.
fn inflate_strict(data: &[u8]) -> Result<Vec<u8>, TokenError> {
    let out = inflate_bounded(data)?;
    // zlib = 2-byte header + deflate + 4-byte Adler-32; deflate pads its last byte with high
    // zero bits. Clearing the highest set bit of that byte must change the result if the bit
    // is part of the data; if the output is unchanged, it was padding that is not zero.
    if data.len() >= 7 {
        let last = data.len() - 5;
        let byte = data[last];
        if byte != 0 {
            let top = 1u8 << (7 - byte.leading_zeros());
            let mut altered = data.to_vec();
            altered[last] = byte & !top;
            if inflate_bounded(&altered).is_ok_and(|o| o == out) {
                return Err(TokenError::Inflate);
            }
        }
    }
    Ok(out)
}

fn inflate_bounded(data: &[u8]) -> Result<Vec<u8>, TokenError> {
    let mut z = Decompress::new(true);
    let mut out = Vec::with_capacity(512);
    loop {
        let consumed = z.total_in() as usize;
        let status = z
            .decompress_vec(&data[consumed..], &mut out, FlushDecompress::Finish)
            .map_err(|_| TokenError::Inflate)?;
        match status {
            Status::StreamEnd => break,
            _ if out.len() == out.capacity() => {
                if out.capacity() > MAX_CONTENT_LEN {
                    return Err(TokenError::TooLarge {
                        limit: MAX_CONTENT_LEN,
                    });
                }
                out.reserve(out.capacity());
            }
            // Input exhausted before the end of the stream.
            _ => return Err(TokenError::Inflate),
        }
    }
    if out.len() > MAX_CONTENT_LEN {
        return Err(TokenError::TooLarge {
            limit: MAX_CONTENT_LEN,
        });
    }
    if z.total_in() as usize != data.len() {
        return Err(TokenError::Inflate);
    }
    Ok(out)
}
