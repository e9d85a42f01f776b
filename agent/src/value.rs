//! The data value that YAML documents, JSON payloads and Python objects
//! have in common: what a check's configuration holds, what the host hands
//! to Python and what the outputs write.
//!
//! * YAML: [`config`](crate::config) builds values with PyYAML's resolution;
//! * Python: [`ToPython`] and [`FromPython`] below (`dict` <-> [`Value::Object`]...);
//! * JSON: [`serde::Serialize`] and [`serde::Deserialize`], so `serde_json`
//!   reads and writes it; [`Display`](fmt::Display) is the compact JSON text.
//!
//! Choices, following Python's `dict` and `json` where they apply:
//!
//! * objects keep their insertion order; a repeated key keeps its first
//!   position and its last value (as a `dict` and `json.loads` do);
//! * integers that fit `i64` stay integers ([`Value::Int`]); larger ones
//!   become [`Value::Float`] (Python would keep them exact);
//! * floats may be NaN or infinite (YAML's `.nan`, Python's `float('inf')`),
//!   and cross to and from Python unchanged. JSON has no spelling for them:
//!   written with `serde_json` they are `null` (standard JSON, which every
//!   reader of the outputs accepts), and `serde_json` does not read Python's
//!   `NaN`/`Infinity`. JSON text that comes from Python code is therefore
//!   decoded by Python itself ([`json_loads`]), as rtloader's `from_json` does.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, Serializer};

use pyhost::{Bound, Dict, Error, FromPython, List, Python, Result as PyResult, ToPython};

/// A YAML / JSON / Python value. Objects are ordered lists of `(key, value)` pairs.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// `null` / `None`.
    #[default]
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer that fits `i64`.
    Int(i64),
    /// Any other number, NaN and infinities included.
    Float(f64),
    /// A string.
    String(String),
    /// An array / list.
    Array(Vec<Value>),
    /// An object / dict, in insertion order, keys unique.
    Object(Vec<(String, Value)>),
}

impl Value {
    /// An empty object.
    pub fn object() -> Value {
        Value::Object(Vec::new())
    }

    /// `obj[key]` for an object; `None` for a missing key or a non-object.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(pairs) => pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Set `obj[key] = value` on an object, replacing an existing key in
    /// place. Returns false (and does nothing) if `self` is not an object.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<Value>) -> bool {
        match self {
            Value::Object(pairs) => {
                insert_pair(pairs, key.into(), value.into());
                true
            }
            _ => false,
        }
    }

    /// True for `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The integer, if this is one.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// Any number as `f64`.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// The elements, if this is an array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The pairs, if this is an object.
    pub fn as_object(&self) -> Option<&[(String, Value)]> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }

    /// Python's truthiness of the value (`bool(v)` of its Python object).
    pub fn is_truthy(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::String(s) => !s.is_empty(),
            Value::Array(a) => !a.is_empty(),
            Value::Object(o) => !o.is_empty(),
        }
    }

    /// A scalar used as a mapping key, as text: strings as they are, other
    /// scalars as `json.dumps` writes a non-`str` dict key (`1`, `true`,
    /// `null`, `1.5`, `NaN`). `None` for arrays and objects, which cannot be keys.
    pub fn key_text(self) -> Option<String> {
        Some(match self {
            Value::String(s) => s,
            Value::Null => "null".to_owned(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) if f.is_nan() => "NaN".to_owned(),
            Value::Float(f) if f.is_infinite() => if f > 0.0 { "Infinity" } else { "-Infinity" }.to_owned(),
            Value::Float(f) => format!("{f:?}"),
            Value::Array(_) | Value::Object(_) => return None,
        })
    }
}

fn insert_pair(pairs: &mut Vec<(String, Value)>, key: String, value: Value) {
    match pairs.iter_mut().find(|(k, _)| *k == key) {
        Some(slot) => slot.1 = value,
        None => pairs.push((key, value)),
    }
}

/// The compact JSON text (non-finite floats as `null`, see the module docs).
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Cannot fail: keys are strings and Value's serializer has no error path.
        f.write_str(&serde_json::to_string(self).map_err(|_| fmt::Error)?)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Bool(v)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Value {
        Value::Int(v.into())
    }
}
impl From<u32> for Value {
    fn from(v: u32) -> Value {
        Value::Int(v.into())
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::Float(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::String(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::String(v)
    }
}
impl From<Vec<Value>> for Value {
    fn from(v: Vec<Value>) -> Value {
        Value::Array(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

// ---- serde -----------------------------------------------------------------------

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Float(f) => s.serialize_f64(*f),
            Value::String(v) => s.serialize_str(v),
            Value::Array(items) => s.collect_seq(items),
            Value::Object(pairs) => s.collect_map(pairs.iter().map(|(k, v)| (k, v))),
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(v) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(0));
        while let Some((k, v)) = map.next_entry()? {
            insert_pair(&mut pairs, k, v);
        }
        Ok(Value::Object(pairs))
    }
}

// ---- Python ------------------------------------------------------------------------

/// Python's `json.loads(text)`: for JSON that Python code wrote (with
/// `json.dumps`, so possibly `NaN` or `Infinity`), decoded with the same
/// semantics, as rtloader's `from_json` does. The GIL is held (`py`).
pub fn json_loads<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py>> {
    py.import("json")?.call_method1("loads", (text,))
}

/// Maximum nesting converted from Python (a cycle, most likely).
const MAX_DEPTH: usize = 512;

/// `None`, `bool`, `int`, `float`, `str`, `list` and `dict` (in order).
impl ToPython for Value {
    fn to_python<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py>> {
        match self {
            Value::Null => Ok(py.None()),
            Value::Bool(b) => Ok(py.bool(*b)),
            Value::Int(i) => i.to_python(py),
            Value::Float(f) => f.to_python(py),
            Value::String(s) => s.to_python(py),
            Value::Array(items) => {
                let list = List::empty(py);
                for v in items {
                    list.append(v)?;
                }
                Ok(list.into_any())
            }
            Value::Object(pairs) => {
                let d = Dict::new(py);
                for (k, v) in pairs {
                    d.set_item(k.as_str(), v)?;
                }
                Ok(d.into_any())
            }
        }
    }
}

/// What `json.dumps` accepts: `None`, `bool`, `int` (beyond `i64` as a
/// float), `float`, `str`, `bytes` (UTF-8, lossy), `list`/`tuple` and `dict`
/// (keys `str`, or `int`/`float`/`bool`/`None` as [`Value::key_text`]).
/// Anything else is the `TypeError` `json.dumps` raises; nesting deeper
/// than 512 (a cycle, most likely) is a `ValueError`.
impl<'py> FromPython<'py> for Value {
    fn from_python(obj: &Bound<'py>) -> PyResult<Self> {
        from_python_depth(obj, 0)
    }
}

fn from_python_depth(obj: &Bound<'_>, depth: usize) -> PyResult<Value> {
    if depth > MAX_DEPTH {
        return Err(Error::value_error(
            "Circular reference detected (or nesting deeper than 512)",
        ));
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if obj.is_bool() {
        return obj.extract::<bool>().map(Value::Bool);
    }
    if obj.is_int() {
        return match obj.extract::<i64>() {
            Ok(i) => Ok(Value::Int(i)),
            Err(e) if e.is("OverflowError") => obj.extract::<f64>().map(Value::Float),
            Err(e) => Err(e),
        };
    }
    if obj.is_float() {
        return obj.extract::<f64>().map(Value::Float);
    }
    if obj.is_str() {
        return obj.to_str().map(|s| Value::String(s.to_owned()));
    }
    if obj.is_bytes() {
        return Ok(Value::String(String::from_utf8_lossy(obj.as_bytes()?).into_owned()));
    }
    if obj.is_list() || obj.is_tuple() {
        let mut items = Vec::new();
        for item in obj.iter()? {
            items.push(from_python_depth(&item?, depth + 1)?);
        }
        return Ok(Value::Array(items));
    }
    if let Ok(d) = obj.downcast_dict() {
        let mut pairs = Vec::with_capacity(d.len());
        for (k, v) in d.items() {
            let key = from_python_depth(&k, depth + 1).ok().and_then(Value::key_text);
            let Some(key) = key else {
                return Err(Error::type_error(format!(
                    "keys must be str, int, float, bool or None, not {}",
                    k.type_name()
                )));
            };
            insert_pair(&mut pairs, key, from_python_depth(&v, depth + 1)?);
        }
        return Ok(Value::Object(pairs));
    }
    Err(Error::type_error(format!(
        "Object of type {} is not JSON serializable",
        obj.type_name()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Value {
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn decodes_scalars() {
        assert_eq!(parse("null"), Value::Null);
        assert_eq!(parse(" true "), Value::Bool(true));
        assert_eq!(parse("0"), Value::Int(0));
        assert_eq!(parse("-12"), Value::Int(-12));
        assert_eq!(parse("1.5"), Value::Float(1.5));
        assert_eq!(parse("-2e3"), Value::Float(-2000.0));
        assert_eq!(parse("\"hi\""), Value::String("hi".into()));
        // Beyond i64: a float, as documented.
        assert_eq!(parse("9223372036854775808"), Value::Float(9223372036854775808.0));
        assert_eq!(parse("9223372036854775807"), Value::Int(i64::MAX));
        assert_eq!(parse("-9223372036854775808"), Value::Int(i64::MIN));
    }

    #[test]
    fn decodes_nested_in_order_and_last_duplicate_wins() {
        let v = parse(r#"{"b": [1, {"x": null}], "a": "s", "b": 2}"#);
        let keys: Vec<&str> = v.as_object().unwrap().iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["b", "a"]);
        assert_eq!(v.get("b"), Some(&Value::Int(2)));
        assert_eq!(v.get("a").and_then(Value::as_str), Some("s"));
        assert_eq!(v.get("zz"), None);
    }

    #[test]
    fn encodes_compactly_in_order() {
        let mut v = Value::object();
        v.insert("s", "q\"\\\n\t\u{1}é");
        v.insert("i", -3i64);
        v.insert("f", 2.0);
        v.insert("n", Value::Null);
        v.insert("a", vec![Value::Bool(true), Value::Bool(false)]);
        assert_eq!(
            v.to_string(),
            r#"{"s":"q\"\\\n\t\u0001é","i":-3,"f":2.0,"n":null,"a":[true,false]}"#
        );
        assert!(v.insert("i", 4i64));
        assert_eq!(v.get("i"), Some(&Value::Int(4)));
        assert_eq!(v.as_object().unwrap()[1].0, "i", "replacing keeps the position");
        assert!(!Value::Null.insert("k", 1i64));
    }

    #[test]
    fn non_finite_floats_are_written_as_null() {
        let v = Value::Array(vec![
            Value::Float(f64::NAN),
            Value::Float(f64::INFINITY),
            Value::Float(f64::NEG_INFINITY),
        ]);
        assert_eq!(v.to_string(), "[null,null,null]");
        // And strict JSON does not read Python's spellings (json_loads does).
        assert!(serde_json::from_str::<Value>("NaN").is_err());
    }

    #[test]
    fn floats_round_trip_and_stay_floats() {
        for f in [
            0.0,
            -0.0,
            1.0,
            0.1,
            1e300,
            1e-300,
            123456789.125,
            1.5e16,
            f64::MAX,
            f64::MIN_POSITIVE,
        ] {
            let text = Value::Float(f).to_string();
            assert!(text.contains('.') || text.contains('e'), "{text}");
            assert_eq!(parse(&text), Value::Float(f), "{text}");
        }
    }

    #[test]
    fn round_trips_documents() {
        let src = r#"{"name":"foo","list":[1,2.5,"x",null,{"deep":[[]]}],"t":true,"empty":{}}"#;
        let v = parse(src);
        assert_eq!(v.to_string(), src);
    }

    #[test]
    fn truthiness_matches_python() {
        assert!(!Value::Int(0).is_truthy());
        assert!(!Value::from("").is_truthy());
        assert!(!Value::Array(vec![]).is_truthy());
        assert!(!Value::Null.is_truthy());
        assert!(Value::from("false").is_truthy());
        assert!(Value::Array(vec![Value::Int(0)]).is_truthy());
    }

    #[test]
    fn scalar_keys_as_json_dumps_writes_them() {
        assert_eq!(Value::Int(1).key_text().as_deref(), Some("1"));
        assert_eq!(Value::Bool(true).key_text().as_deref(), Some("true"));
        assert_eq!(Value::Null.key_text().as_deref(), Some("null"));
        assert_eq!(Value::Float(1.5).key_text().as_deref(), Some("1.5"));
        assert_eq!(Value::Float(f64::NAN).key_text().as_deref(), Some("NaN"));
        assert_eq!(Value::Float(f64::NEG_INFINITY).key_text().as_deref(), Some("-Infinity"));
        assert_eq!(Value::from("k").key_text().as_deref(), Some("k"));
        assert_eq!(Value::Array(vec![]).key_text(), None);
    }
}
