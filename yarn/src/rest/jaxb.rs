//! Serde helpers for the JSON that Hadoop's JAXB/Jersey stack writes.
//!
//! Jersey's JSON is JAXB's XML model written as JSON, and it shows: an empty list becomes `null` or
//! disappears, a one-element list may become the bare element, a `java.util.Map` becomes
//! `{"entry":[{"key":..,"value":..}]}`, and numbers sometimes arrive as strings (`"2048"`, `"NaN"`).
//! These helpers accept every one of those shapes when reading, and write the canonical one.

use std::fmt::Display;
use std::str::FromStr;

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// Reads a list that may be `null`, absent, a single element or an array.
pub(crate) fn one_or_many<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    match Value::deserialize(d)? {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items
            .into_iter()
            .map(|v| serde_json::from_value(v).map_err(D::Error::custom))
            .collect(),
        one => serde_json::from_value(one)
            .map(|t| vec![t])
            .map_err(D::Error::custom),
    }
}

/// Reads a number that may be written as a JSON number, as a string (`"2048"`, `"NaN"`), or be `null`
/// (read as the type's default, as Java's primitive would be).
pub(crate) fn num<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned + FromStr + Default,
    T::Err: Display,
{
    match Value::deserialize(d)? {
        Value::Null => Ok(T::default()),
        Value::String(s) => s
            .trim()
            .parse()
            .map_err(|e| D::Error::custom(format!("expected a number, got {s:?}: {e}"))),
        v => serde_json::from_value(v).map_err(D::Error::custom),
    }
}

/// [`num`] for an optional number: `null` or absent is `None`.
pub(crate) fn opt_num<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned + FromStr,
    T::Err: Display,
{
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::String(s) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|e| D::Error::custom(format!("expected a number, got {s:?}: {e}"))),
        v => serde_json::from_value(v)
            .map(Some)
            .map_err(D::Error::custom),
    }
}

/// Reads a boolean written as `true`/`false` or as the strings `"true"`/`"false"`; `null` is false.
pub(crate) fn boolean<'de, D>(d: D) -> Result<bool, D::Error>
where
    D: Deserializer<'de>,
{
    match Value::deserialize(d)? {
        Value::Null => Ok(false),
        Value::Bool(b) => Ok(b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        other => Err(D::Error::custom(format!("expected a boolean, got {other}"))),
    }
}

/// Reads an optional boolean written as `true`/`false` or as a string; `null` or absent is `None`.
pub(crate) fn opt_bool<'de, D>(d: D) -> Result<Option<bool>, D::Error>
where
    D: Deserializer<'de>,
{
    opt_num(d)
}

/// Reads a string that may be `null` (read as empty).
pub(crate) fn string<'de, D>(d: D) -> Result<String, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// A `java.util.Map` as JAXB writes it: `{"entry":[{"key":"k","value":v}, ...]}`.
///
/// Order is kept as received (Hadoop's maps are hash maps, so no order is promised).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Entries<V> {
    /// The key/value pairs.
    #[serde(
        rename = "entry",
        default,
        deserialize_with = "one_or_many",
        bound(deserialize = "V: DeserializeOwned")
    )]
    pub entry: Vec<Entry<V>>,
}

impl<V> Default for Entries<V> {
    fn default() -> Self {
        Entries { entry: Vec::new() }
    }
}

impl<V: std::fmt::Debug> std::fmt::Debug for Entries<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.entry.iter().map(|e| (&e.key, &e.value)))
            .finish()
    }
}

impl<V> Entries<V> {
    /// The value for `key`, if present.
    pub fn get(&self, key: &str) -> Option<&V> {
        self.entry.iter().find(|e| e.key == key).map(|e| &e.value)
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entry.is_empty()
    }
}

impl<K: Into<String>, V> FromIterator<(K, V)> for Entries<V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Entries {
            entry: iter
                .into_iter()
                .map(|(key, value)| Entry {
                    key: key.into(),
                    value,
                })
                .collect(),
        }
    }
}

/// One `{"key":..,"value":..}` pair of an [`Entries`] map.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry<V> {
    /// The key.
    #[serde(deserialize_with = "string")]
    pub key: String,
    /// The value.
    pub value: V,
}

/// A numeric map value that Jersey may write as a string (`"value":"2048"`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Long(#[serde(deserialize_with = "num")] pub i64);

/// Writes a list of strings the way Hadoop's own documentation writes a one-element list (a bare
/// string), and longer lists as arrays; both are accepted by the ResourceManager.
pub(crate) fn bare_if_single<S>(items: &[String], s: S) -> Result<S::Ok, S::Error>
where
    S: Serializer,
{
    match items {
        [one] => s.serialize_str(one),
        many => many.serialize(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct L {
        #[serde(default, deserialize_with = "one_or_many")]
        x: Vec<u32>,
    }

    #[derive(Debug, Deserialize)]
    struct N {
        #[serde(default, deserialize_with = "num")]
        f: f64,
        #[serde(default, deserialize_with = "num")]
        i: i64,
    }

    #[test]
    fn lists_in_every_jaxb_shape() {
        let read = |s: &str| serde_json::from_str::<L>(s).unwrap().x;
        assert_eq!(read(r#"{"x":null}"#), Vec::<u32>::new());
        assert_eq!(read(r#"{}"#), Vec::<u32>::new());
        assert_eq!(read(r#"{"x":7}"#), vec![7]);
        assert_eq!(read(r#"{"x":[1,2]}"#), vec![1, 2]);
        assert!(serde_json::from_str::<L>(r#"{"x":"seven"}"#).is_err());
    }

    #[test]
    fn numbers_as_strings_nan_and_null() {
        let n: N = serde_json::from_str(r#"{"f":"NaN","i":"2048"}"#).unwrap();
        assert!(n.f.is_nan());
        assert_eq!(n.i, 2048);
        let n: N = serde_json::from_str(r#"{"f":null,"i":-1}"#).unwrap();
        assert_eq!((n.f, n.i), (0.0, -1));
        let err = serde_json::from_str::<N>(r#"{"i":"lots"}"#).unwrap_err();
        assert!(err.to_string().contains("\"lots\""), "{err}");
    }

    #[test]
    fn map_entries_single_or_many() {
        let one: Entries<Long> =
            serde_json::from_str(r#"{"entry":{"key":"memory-mb","value":"12345"}}"#).unwrap();
        assert_eq!(one.get("memory-mb"), Some(&Long(12345)));
        let many: Entries<String> =
            serde_json::from_str(r#"{"entry":[{"key":"a","value":"1"},{"key":"b","value":"2"}]}"#)
                .unwrap();
        assert_eq!(many.get("b").map(String::as_str), Some("2"));
        assert_eq!(
            serde_json::to_string(&many).unwrap(),
            r#"{"entry":[{"key":"a","value":"1"},{"key":"b","value":"2"}]}"#
        );
    }
}
