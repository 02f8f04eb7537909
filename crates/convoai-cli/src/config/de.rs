//! A serde deserializer over a parsed `serde_json::Value` whose errors carry the path of the
//! offending option and a structured description instead of serde's text.
//!
//! Serde's own messages quote the value they rejected (`invalid type: string "sk-…"`), and a
//! config file holds keys in arbitrary fields; building the message here from the error's
//! parts keeps file values out of it by construction.

use std::fmt;

use serde::de::{
    self, value::StrDeserializer, DeserializeOwned, DeserializeSeed, Expected, IntoDeserializer,
    MapAccess, SeqAccess, Unexpected, Visitor,
};
use serde_json::Value;

/// One step of a path into the tree: a table key or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Seg {
    Key(String),
    Index(usize),
}

/// Renders `tts.key`, `llm.mcp_servers[0].name`.
pub(super) fn path_string(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) if s.is_empty() => s.push_str(k),
            Seg::Key(k) => {
                s.push('.');
                s.push_str(k);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// What went wrong, without the value that caused it.
#[derive(Debug)]
enum Kind {
    Missing(&'static str),
    Unknown(&'static [&'static str]),
    Type {
        found: &'static str,
        expected: String,
    },
    Value {
        expected: String,
    },
    Length {
        len: usize,
        expected: String,
    },
    Other(String),
}

/// A deserialization error: the path (innermost segment first while it unwinds) and the kind.
#[derive(Debug)]
pub(super) struct DeError {
    rev_path: Vec<Seg>,
    kind: Kind,
}

impl DeError {
    fn new(kind: Kind) -> Self {
        DeError {
            rev_path: Vec::new(),
            kind,
        }
    }

    fn at(mut self, seg: Seg) -> Self {
        self.rev_path.push(seg);
        self
    }

    /// One line for the user: `base.path: what`, where `required_by` names what needs a
    /// missing option (e.g. `the minimax TTS`).
    pub(super) fn describe(&self, base: &[Seg], required_by: Option<&str>) -> String {
        let mut path = base.to_vec();
        path.extend(self.rev_path.iter().rev().cloned());
        let at = |path: &[Seg]| {
            let p = path_string(path);
            if p.is_empty() {
                "(top level)".to_owned()
            } else {
                p
            }
        };
        match &self.kind {
            Kind::Missing(field) => {
                path.push(Seg::Key((*field).to_owned()));
                match required_by {
                    Some(who) => format!("{}: missing (required by {who})", at(&path)),
                    None => format!("{}: missing (required)", at(&path)),
                }
            }
            Kind::Unknown(expected) => {
                let what = if path.len() == 1 {
                    "unknown table or option"
                } else {
                    "unknown option"
                };
                if expected.is_empty() {
                    format!("{}: {what} (no options are allowed here)", at(&path))
                } else {
                    format!(
                        "{}: {what} (expected one of {})",
                        at(&path),
                        expected.join(", ")
                    )
                }
            }
            Kind::Type { found, expected } => {
                format!(
                    "{}: expected {}, found {found}",
                    at(&path),
                    friendly(expected)
                )
            }
            Kind::Value { expected } => {
                format!(
                    "{}: invalid value (expected {})",
                    at(&path),
                    friendly(expected)
                )
            }
            Kind::Length { len, expected } => {
                format!(
                    "{}: expected {}, found {len} elements",
                    at(&path),
                    friendly(expected)
                )
            }
            Kind::Other(msg) => {
                // A rule between options (the SDK's `OptionError`) names the option it is
                // about: put it on the path.
                if let Some((option, rest)) = msg
                    .strip_prefix("option `")
                    .and_then(|m| m.split_once("`: "))
                {
                    path.push(Seg::Key(option.to_owned()));
                    return format!("{}: {rest}", at(&path));
                }
                format!("{}: {msg}", at(&path))
            }
        }
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe(&[], None))
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        // Only the SDK's own `Deserialize` impls raise custom errors (e.g. an encryption mode
        // outside 1 to 8); they describe the rule, not a secret.
        DeError::new(Kind::Other(msg.to_string()))
    }
    fn invalid_type(unexp: Unexpected<'_>, exp: &dyn Expected) -> Self {
        DeError::new(Kind::Type {
            found: kind_of(&unexp),
            expected: exp.to_string(),
        })
    }
    fn invalid_value(_unexp: Unexpected<'_>, exp: &dyn Expected) -> Self {
        DeError::new(Kind::Value {
            expected: exp.to_string(),
        })
    }
    fn invalid_length(len: usize, exp: &dyn Expected) -> Self {
        DeError::new(Kind::Length {
            len,
            expected: exp.to_string(),
        })
    }
    fn unknown_variant(_variant: &str, expected: &'static [&'static str]) -> Self {
        DeError::new(Kind::Other(format!(
            "unknown value (expected one of {})",
            expected.join(", ")
        )))
    }
    fn unknown_field(_field: &str, expected: &'static [&'static str]) -> Self {
        // The key itself is added to the path by the map access.
        DeError::new(Kind::Unknown(expected))
    }
    fn missing_field(field: &'static str) -> Self {
        DeError::new(Kind::Missing(field))
    }
    fn duplicate_field(_field: &'static str) -> Self {
        DeError::new(Kind::Other("set more than once".to_owned()))
    }
}

/// The kind of a rejected value, never the value.
fn kind_of(u: &Unexpected<'_>) -> &'static str {
    match u {
        Unexpected::Bool(_) => "a boolean",
        Unexpected::Unsigned(_) | Unexpected::Signed(_) => "an integer",
        Unexpected::Float(_) => "a number with a fraction",
        Unexpected::Char(_) | Unexpected::Str(_) => "a string",
        Unexpected::Bytes(_) => "bytes",
        Unexpected::Unit => "null",
        Unexpected::Seq => "an array",
        Unexpected::Map => "a table",
        _ => "another kind of value",
    }
}

/// Serde's type names in the words of a config file.
fn friendly(expected: &str) -> String {
    let s = match expected {
        "u8" => "an integer from 0 to 255",
        "u16" => "an integer from 0 to 65535",
        "u32" => "an integer from 0 to 4294967295",
        "u64" | "usize" => "a non-negative integer",
        "i8" | "i16" | "i32" | "i64" | "isize" => "an integer",
        "f32" | "f64" => "a number",
        "a sequence" => "an array",
        "a map" => "a table",
        "a borrowed string" | "a string" | "a char" => "a string",
        other if other.starts_with("struct ") => "a table",
        other => other,
    };
    s.to_owned()
}

/// Deserializes `T` from `value`.
pub(super) fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, DeError> {
    T::deserialize(ValueDe(value))
}

struct ValueDe(Value);

impl<'de> de::Deserializer<'de> for ValueDe {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    visitor.visit_u64(u)
                } else if let Some(i) = n.as_i64() {
                    visitor.visit_i64(i)
                } else {
                    match n.as_f64() {
                        Some(f) => visitor.visit_f64(f),
                        None => Err(de::Error::custom("unsupported number")),
                    }
                }
            }
            Value::String(s) => visitor.visit_string(s),
            Value::Array(items) => {
                let len = items.len();
                let mut seq = SeqAcc {
                    iter: items.into_iter().enumerate(),
                };
                let v = visitor.visit_seq(&mut seq)?;
                if seq.iter.len() == 0 {
                    Ok(v)
                } else {
                    Err(de::Error::invalid_length(len, &"fewer elements"))
                }
            }
            Value::Object(map) => visitor.visit_map(MapAcc {
                iter: map.into_iter(),
                pending: None,
            }),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            other => visitor.visit_some(ValueDe(other)),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self.0 {
            // Unit variants only: the file format has no tagged values.
            Value::String(s) => visitor.visit_enum(s.into_deserializer()),
            other => ValueDe(other).deserialize_any(visitor),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier
    }
}

struct SeqAcc {
    iter: std::iter::Enumerate<std::vec::IntoIter<Value>>,
}

impl<'de> SeqAccess<'de> for SeqAcc {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        match self.iter.next() {
            None => Ok(None),
            Some((i, v)) => seed
                .deserialize(ValueDe(v))
                .map(Some)
                .map_err(|e| e.at(Seg::Index(i))),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

struct MapAcc {
    iter: serde_json::map::IntoIter,
    pending: Option<(String, Value)>,
}

impl<'de> MapAccess<'de> for MapAcc {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        match self.iter.next() {
            None => Ok(None),
            Some((k, v)) => {
                let key = seed
                    .deserialize(StrDeserializer::<DeError>::new(&k))
                    .map_err(|e| e.at(Seg::Key(k.clone())))?;
                self.pending = Some((k, v));
                Ok(Some(key))
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let (k, v) = self
            .pending
            .take()
            .ok_or_else(|| <DeError as de::Error>::custom("value asked before its key"))?;
        seed.deserialize(ValueDe(v)).map_err(|e| e.at(Seg::Key(k)))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

/// A uid: a string, or an integer read as its digits. The API takes uids as strings, but they
/// are numbers unless string uids are on, and YAML and TOML users write `agent_uid: 1001`.
struct Uid(String);

impl<'de> de::Deserialize<'de> for Uid {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct UidVisitor;
        impl Visitor<'_> for UidVisitor {
            type Value = Uid;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a uid (a string, or a non-negative integer)")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Uid, E> {
                Ok(Uid(s.to_owned()))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Uid, E> {
                Ok(Uid(n.to_string()))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Uid, E> {
                Err(E::invalid_value(Unexpected::Signed(n), &self))
            }
        }
        d.deserialize_any(UidVisitor)
    }
}

/// `deserialize_with` for an optional uid (with `#[serde(default)]`).
pub(super) fn opt_uid<'de, D: de::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(<Option<Uid> as de::Deserialize>::deserialize(d)?.map(|u| u.0))
}

/// `deserialize_with` for an optional list of uids (with `#[serde(default)]`).
pub(super) fn opt_uids<'de, D: de::Deserializer<'de>>(
    d: D,
) -> Result<Option<Vec<String>>, D::Error> {
    Ok(<Option<Vec<Uid>> as de::Deserialize>::deserialize(d)?
        .map(|uids| uids.into_iter().map(|u| u.0).collect()))
}
