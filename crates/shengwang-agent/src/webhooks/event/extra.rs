//! Unknown payload keys, kept in one pass.
//!
//! `#[serde(flatten)]` buffers every key and value of a struct before it looks at any, which
//! made parsing the largest cost of receiving a callback. The envelope and the payload
//! structs instead derive a plain `Deserialize` (their `extra` map skipped) and are read
//! through [`from_slice`], which hands the struct its own keys and collects every other key
//! into `extra` as it streams past.

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::forward_to_deserialize_any;
use serde_json::{Map, Value};

/// A payload struct with an `extra` map of the keys it does not know.
pub(crate) trait Extra {
    fn set_extra(&mut self, extra: Map<String, Value>);
}

macro_rules! keeps_extra {
    ($($t:ty),* $(,)?) => {
        $(impl extra::Extra for $t {
            fn set_extra(&mut self, extra: Map<String, Value>) {
                // A struct that flattens its `extra` (one shared with the REST side, such as
                // `AgentHistory`) is read as a map and has filled it itself.
                self.extra.extend(extra);
            }
        })*
    };
}
pub(crate) use keeps_extra;

/// Parses `text` as `T`, with the keys `T` does not declare in its `extra`.
pub(crate) fn from_slice<'de, T: de::Deserialize<'de> + Extra>(
    text: &'de [u8],
) -> serde_json::Result<T> {
    let mut json = serde_json::Deserializer::from_slice(text);
    let mut extra = Map::new();
    let mut value = T::deserialize(Capturing {
        inner: &mut json,
        extra: &mut extra,
    })?;
    json.end()?;
    value.set_extra(extra);
    Ok(value)
}

/// A deserializer that hands a struct's visitor only the struct's own keys.
struct Capturing<'a, D> {
    inner: D,
    extra: &'a mut Map<String, Value>,
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Capturing<'_, D> {
    type Error = D::Error;

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.inner.deserialize_map(Outer {
            visitor,
            fields,
            extra: self.extra,
        })
    }

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.inner.deserialize_any(visitor)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

/// Wraps the struct's visitor: a JSON object becomes a filtered map; anything else is refused
/// with the struct's own "expected" text.
struct Outer<'a, V> {
    visitor: V,
    fields: &'static [&'static str],
    extra: &'a mut Map<String, Value>,
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Outer<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.visitor.expecting(f)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_map(Filtered {
            inner: map,
            fields: self.fields,
            extra: self.extra,
        })
    }
}

struct Filtered<'a, A> {
    inner: A,
    fields: &'static [&'static str],
    extra: &'a mut Map<String, Value>,
}

/// A key: one of the struct's (as its static name) or another one (owned, for `extra`).
enum Key {
    Known(&'static str),
    Other(String),
}

struct KeySeed(&'static [&'static str]);

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Key, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for KeySeed {
    type Value = Key;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E: de::Error>(self, k: &str) -> Result<Key, E> {
        Ok(match self.0.iter().find(|f| **f == k) {
            Some(known) => Key::Known(known),
            None => Key::Other(k.to_owned()),
        })
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Filtered<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        loop {
            match self.inner.next_key_seed(KeySeed(self.fields))? {
                None => return Ok(None),
                Some(Key::Known(name)) => {
                    return seed
                        .deserialize(de::value::BorrowedStrDeserializer::new(name))
                        .map(Some)
                }
                Some(Key::Other(key)) => {
                    let value: Value = self.inner.next_value()?;
                    self.extra.insert(key, value);
                }
            }
        }
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        self.inner.next_value_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;

    #[test]
    fn unknown_keys_land_in_extra_and_known_ones_in_their_fields() {
        let left: AgentLeft = super::from_slice(
            br#"{"agent_id":"A","new_key":{"deep":[1,2]},"channel":"c","status":"STOPPED","message":"OK","later":7}"#,
        )
        .unwrap();
        assert_eq!(left.agent_id.as_str(), "A");
        assert_eq!(left.channel, "c");
        assert_eq!(left.reason(), LeaveReason::Stopped);
        assert_eq!(left.extra.len(), 2);
        assert_eq!(left.extra["new_key"]["deep"][1], 2);
        assert_eq!(left.extra["later"], 7);
        // And back out: the extras serialize beside the known keys.
        let out = serde_json::to_value(&left).unwrap();
        assert_eq!(out["later"], 7);
    }

    #[test]
    fn the_envelope_keeps_its_unknown_keys_and_refuses_duplicates() {
        let n = parse(
            br#"{"noticeId":"n1","future":[1],"productId":17,"eventType":999,"payload":{"a":1}}"#,
        )
        .unwrap();
        assert_eq!(n.extra["future"][0], 1);
        assert_eq!(n.notify_ms, 0);
        assert!(matches!(&n.event, Event::Other(o) if o.payload["a"] == 1));
        assert!(
            parse(br#"{"noticeId":"a","noticeId":"b","productId":17,"eventType":101}"#).is_err()
        );
        assert!(parse(br#"{"productId":17,"eventType":101}"#).is_err());
    }

    #[test]
    fn shapes_and_duplicates_are_refused_as_before() {
        assert!(super::from_slice::<AgentLeft>(b"[1,2]").is_err());
        assert!(super::from_slice::<AgentLeft>(b"null").is_err());
        assert!(super::from_slice::<AgentLeft>(br#"{"channel":"c"}"#)
            .unwrap_err()
            .to_string()
            .starts_with("missing field `agent_id`"));
        assert!(super::from_slice::<AgentLeft>(
            br#"{"agent_id":"A","agent_id":"B","channel":"c","status":"STOPPED"}"#
        )
        .is_err());
        assert!(super::from_slice::<AgentLeft>(
            br#"{"agent_id":"A","channel":"c","status":"STOPPED"} trailing"#
        )
        .is_err());
    }
}
