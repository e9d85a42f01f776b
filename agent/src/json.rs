//! A small JSON value with an encoder and a decoder, and its conversions to
//! and from Python objects.
//!
//! The check runtime needs JSON in three places: the payloads rtloader hands
//! to Python (`get_config`, `headers`, `get_connection_info`, all decoded
//! with `json.loads` on the Python side), the obfuscator's options and
//! metadata, and the JSON-lines outputs. That is too little to justify
//! `serde_json` as a default dependency of the library, so this is a
//! hand-written, dependency-free value type.
//!
//! Compatibility choices, all following Python's `json` module because
//! Python is the other end of every payload:
//!
//! * objects keep their insertion order; a repeated key keeps its first
//!   position and its last value (`json.loads` keeps the last value);
//! * integers that fit `i64` stay integers ([`Value::Int`]); larger ones
//!   become [`Value::Float`] (Python would keep them exact);
//! * `NaN`, `Infinity` and `-Infinity` are accepted and written, as
//!   `json.loads`/`json.dumps` do (strict JSON has no spelling for them);
//! * lone UTF-16 surrogates in `\u` escapes are an error (a Rust `String`
//!   cannot hold them);
//! * non-ASCII text is written as UTF-8, not `\u` escapes.

use std::fmt;

use pyhost::{Bound, Dict, Error, FromPython, List, Python, Result as PyResult, ToPython};

/// A JSON value. Objects are ordered lists of `(key, value)` pairs.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// `null` / `None`.
    #[default]
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer that fits `i64`.
    Int(i64),
    /// Any other number.
    Float(f64),
    /// A string.
    String(String),
    /// An array / list.
    Array(Vec<Value>),
    /// An object / dict, in insertion order, keys unique.
    Object(Vec<(String, Value)>),
}

/// Where and why decoding failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    /// What was wrong.
    pub message: String,
    /// Byte offset in the input.
    pub offset: usize,
    /// 1-based line of `offset`.
    pub line: usize,
    /// 1-based column (in characters) of `offset`.
    pub column: usize,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: line {} column {} (char {})",
            self.message, self.line, self.column, self.offset
        )
    }
}

impl std::error::Error for JsonError {}

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

    /// Python's truthiness of the decoded value (`bool(json.loads(...))`).
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

    /// The compact JSON text (`json.dumps(v, separators=(",", ":"))`).
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out);
        out
    }

    /// Append the compact JSON text to `out`.
    pub fn write_json(&self, out: &mut String) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(true) => out.push_str("true"),
            Value::Bool(false) => out.push_str("false"),
            Value::Int(i) => {
                use fmt::Write;
                let _ = write!(out, "{i}");
            }
            Value::Float(f) => write_f64(out, *f),
            Value::String(s) => write_str(out, s),
            Value::Array(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write_json(out);
                }
                out.push(']');
            }
            Value::Object(pairs) => {
                out.push('{');
                for (i, (k, v)) in pairs.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_str(out, k);
                    out.push(':');
                    v.write_json(out);
                }
                out.push('}');
            }
        }
    }
}

fn insert_pair(pairs: &mut Vec<(String, Value)>, key: String, value: Value) {
    match pairs.iter_mut().find(|(k, _)| *k == key) {
        Some(slot) => slot.1 = value,
        None => pairs.push((key, value)),
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json())
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
/// A list of strings (tags), as a JSON array.
impl From<&[String]> for Value {
    fn from(v: &[String]) -> Value {
        Value::Array(v.iter().map(|s| Value::from(s.as_str())).collect())
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

/// Append `s` as a JSON string literal (quotes included).
pub fn write_str(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            use fmt::Write;
            let _ = write!(out, "\\u{:04x}", b);
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Append a float as Python's `json.dumps` would read it back: always with a
/// fraction or exponent so it decodes as a float, `NaN`/`Infinity` for the
/// non-finite values.
pub fn write_f64(out: &mut String, f: f64) {
    use fmt::Write;
    if f.is_nan() {
        out.push_str("NaN");
    } else if f.is_infinite() {
        out.push_str(if f > 0.0 { "Infinity" } else { "-Infinity" });
    } else {
        // `{:?}` is the shortest round-trip form and always has '.' or 'e'.
        let _ = write!(out, "{f:?}");
    }
}

/// Maximum nesting of arrays/objects the decoder accepts (stack safety).
const MAX_DEPTH: usize = 512;

/// Decode one JSON document. Surrounding whitespace is allowed; anything
/// else after the value is an error ("Extra data", as in Python).
pub fn parse(text: &str) -> Result<Value, JsonError> {
    let mut p = Parser {
        s: text.as_bytes(),
        pos: 0,
        text,
    };
    p.skip_ws();
    let v = p.value(0)?;
    p.skip_ws();
    if p.pos != p.s.len() {
        return Err(p.err("Extra data"));
    }
    Ok(v)
}

/// A `\u` escape not followed by four hex digits.
const BAD_UNICODE_ESCAPE: &str = "Invalid \\u escape: expected four hex digits";

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    text: &'a str,
}

impl Parser<'_> {
    fn err(&self, message: &str) -> JsonError {
        let before = &self.text[..self.pos.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        JsonError {
            message: message.to_owned(),
            offset: self.pos,
            line,
            column,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn eat_lit(&mut self, lit: &str) -> bool {
        if self.s[self.pos..].starts_with(lit.as_bytes()) {
            self.pos += lit.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.err("Nesting too deep"));
        }
        match self.peek() {
            None => Err(self.err("Expecting value")),
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => self.string().map(Value::String),
            Some(b't') if self.eat_lit("true") => Ok(Value::Bool(true)),
            Some(b'f') if self.eat_lit("false") => Ok(Value::Bool(false)),
            Some(b'n') if self.eat_lit("null") => Ok(Value::Null),
            Some(b'N') if self.eat_lit("NaN") => Ok(Value::Float(f64::NAN)),
            Some(b'I') if self.eat_lit("Infinity") => Ok(Value::Float(f64::INFINITY)),
            Some(b'-') if self.eat_lit("-Infinity") => Ok(Value::Float(f64::NEG_INFINITY)),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.err("Expecting value")),
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, JsonError> {
        self.pos += 1; // '{'
        let mut pairs: Vec<(String, Value)> = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Object(pairs));
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.err("Expecting property name enclosed in double quotes"));
            }
            let key = self.string()?;
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.err("Expecting ':' delimiter"));
            }
            self.pos += 1;
            self.skip_ws();
            let v = self.value(depth + 1)?;
            insert_pair(&mut pairs, key, v);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Value::Object(pairs));
                }
                _ => return Err(self.err("Expecting ',' delimiter")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, JsonError> {
        self.pos += 1; // '['
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.err("Expecting ',' delimiter")),
            }
        }
    }

    fn number(&mut self) -> Result<Value, JsonError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.err("Expecting value")),
        }
        let mut is_float = false;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.err("Expecting digits after the decimal point"));
            }
            self.digits();
            is_float = true;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.err("Expecting digits in the exponent"));
            }
            self.digits();
            is_float = true;
        }
        let lit = &self.text[start..self.pos];
        if !is_float {
            if let Ok(i) = lit.parse::<i64>() {
                return Ok(Value::Int(i));
            }
        }
        lit.parse::<f64>()
            .map(Value::Float)
            .map_err(|_| self.err("Invalid number"))
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let h = self
            .s
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.err(BAD_UNICODE_ESCAPE))?;
        let h = std::str::from_utf8(h).map_err(|_| self.err(BAD_UNICODE_ESCAPE))?;
        let v = u32::from_str_radix(h, 16).map_err(|_| self.err(BAD_UNICODE_ESCAPE))?;
        self.pos += 4;
        Ok(v)
    }

    fn string(&mut self) -> Result<String, JsonError> {
        self.pos += 1; // opening quote
        let mut out = String::new();
        loop {
            // Copy the run of plain bytes in one go.
            let run_start = self.pos;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            out.push_str(&self.text[run_start..self.pos]);
            match self.peek() {
                None => return Err(self.err("Unterminated string starting at")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let c = self.peek().ok_or_else(|| self.err("Unterminated string starting at"))?;
                    self.pos += 1;
                    match c {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = self.hex4()?;
                            let cp = if (0xD800..0xDC00).contains(&hi) {
                                if !self.eat_lit("\\u") {
                                    return Err(self.err("Lone surrogate in \\u escape"));
                                }
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(self.err("Lone surrogate in \\u escape"));
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else if (0xDC00..0xE000).contains(&hi) {
                                return Err(self.err("Lone surrogate in \\u escape"));
                            } else {
                                hi
                            };
                            out.push(char::from_u32(cp).ok_or_else(|| self.err(BAD_UNICODE_ESCAPE))?);
                        }
                        _ => {
                            self.pos -= 1;
                            return Err(self.err("Invalid \\escape"));
                        }
                    }
                }
                Some(_) => return Err(self.err("Invalid control character at")),
            }
        }
    }
}

// ---- Python conversions ---------------------------------------------------

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
/// (keys `str`, or `int`/`float`/`bool`/`None` written as their JSON text,
/// as `json.dumps` does). Anything else is the `TypeError` `json.dumps`
/// raises; nesting deeper than 512 (a cycle, most likely) is a `ValueError`.
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
            let key = match from_python_depth(&k, depth + 1) {
                Ok(Value::String(s)) => s,
                Ok(v @ (Value::Int(_) | Value::Float(_) | Value::Bool(_) | Value::Null)) => v.to_json(),
                _ => {
                    return Err(Error::type_error(format!(
                        "keys must be str, int, float, bool or None, not {}",
                        k.type_name()
                    )))
                }
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

    #[test]
    fn decodes_scalars() {
        assert_eq!(parse("null").unwrap(), Value::Null);
        assert_eq!(parse(" true ").unwrap(), Value::Bool(true));
        assert_eq!(parse("false").unwrap(), Value::Bool(false));
        assert_eq!(parse("0").unwrap(), Value::Int(0));
        assert_eq!(parse("-12").unwrap(), Value::Int(-12));
        assert_eq!(parse("1.5").unwrap(), Value::Float(1.5));
        assert_eq!(parse("-2e3").unwrap(), Value::Float(-2000.0));
        assert_eq!(parse("1E-2").unwrap(), Value::Float(0.01));
        assert_eq!(parse("\"hi\"").unwrap(), Value::String("hi".into()));
        // Beyond i64: a float, as documented.
        assert_eq!(
            parse("9223372036854775808").unwrap(),
            Value::Float(9223372036854775808.0)
        );
        assert_eq!(parse("9223372036854775807").unwrap(), Value::Int(i64::MAX));
    }

    #[test]
    fn decodes_python_extensions() {
        assert!(parse("NaN").unwrap().as_f64().unwrap().is_nan());
        assert_eq!(parse("Infinity").unwrap(), Value::Float(f64::INFINITY));
        assert_eq!(parse("-Infinity").unwrap(), Value::Float(f64::NEG_INFINITY));
    }

    #[test]
    fn decodes_nested_in_order_and_last_duplicate_wins() {
        let v = parse(r#"{"b": [1, {"x": null}], "a": "s", "b": 2}"#).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["b", "a"]);
        assert_eq!(v.get("b"), Some(&Value::Int(2)));
        assert_eq!(v.get("a").and_then(Value::as_str), Some("s"));
        assert_eq!(v.get("zz"), None);
    }

    #[test]
    fn decodes_escapes() {
        let v = parse(r#""a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00""#).unwrap();
        assert_eq!(v.as_str().unwrap(), "a\"b\\c/d\u{8}\u{c}\n\r\t\u{e9}\u{1F600}");
        let raw = parse("\"caf\u{e9} \u{1F600}\"").unwrap();
        assert_eq!(raw.as_str().unwrap(), "caf\u{e9} \u{1F600}");
    }

    #[test]
    fn rejects_invalid_documents_with_positions() {
        for (bad, what) in [
            ("", "Expecting value"),
            ("[1,]", "Expecting value"),
            ("{\"a\" 1}", "Expecting ':' delimiter"),
            ("{a: 1}", "Expecting property name"),
            ("[1 2]", "Expecting ',' delimiter"),
            ("\"abc", "Unterminated string"),
            ("\"a\nb\"", "Invalid control character"),
            ("\"\\x\"", "Invalid \\escape"),
            ("\"\\ud800\"", "Lone surrogate"),
            ("\"\\udc00\"", "Lone surrogate"),
            ("01", "Extra data"),
            ("1.", "Expecting digits"),
            ("1e", "Expecting digits"),
            ("-", "Expecting value"),
            ("tru", "Expecting value"),
            ("{} x", "Extra data"),
        ] {
            let e = parse(bad).expect_err(bad);
            assert!(e.message.starts_with(what), "{bad:?}: got {e}");
        }
        let e = parse("{\n  \"a\": ?\n}").unwrap_err();
        assert_eq!((e.line, e.column, e.offset), (2, 8, 9));
    }

    #[test]
    fn rejects_excessive_nesting() {
        let deep = "[".repeat(MAX_DEPTH + 2) + &"]".repeat(MAX_DEPTH + 2);
        assert!(parse(&deep).unwrap_err().message.contains("Nesting too deep"));
        let ok = "[".repeat(100) + &"]".repeat(100);
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn encodes_compactly_and_escapes() {
        let mut v = Value::object();
        v.insert("s", "q\"\\\n\t\u{1}é");
        v.insert("i", -3i64);
        v.insert("f", 2.0);
        v.insert("n", Value::Null);
        v.insert("a", vec![Value::Bool(true), Value::Bool(false)]);
        assert_eq!(
            v.to_json(),
            r#"{"s":"q\"\\\n\t\u0001é","i":-3,"f":2.0,"n":null,"a":[true,false]}"#
        );
        assert!(v.insert("i", 4i64));
        assert_eq!(v.get("i"), Some(&Value::Int(4)));
        assert_eq!(v.as_object().unwrap()[1].0, "i", "replacing keeps the position");
        assert!(!Value::Null.insert("k", 1i64));
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
            let text = Value::Float(f).to_json();
            assert!(text.contains('.') || text.contains('e'), "{text}");
            assert_eq!(parse(&text).unwrap(), Value::Float(f), "{text}");
        }
        assert_eq!(Value::Float(f64::NAN).to_json(), "NaN");
        assert_eq!(Value::Float(f64::NEG_INFINITY).to_json(), "-Infinity");
    }

    #[test]
    fn round_trips_documents() {
        let src = r#"{"name":"foo","list":[1,2.5,"x",null,{"deep":[[]]}],"t":true,"empty":{}}"#;
        let v = parse(src).unwrap();
        assert_eq!(v.to_json(), src);
        assert_eq!(parse(&v.to_string()).unwrap(), v);
    }

    #[test]
    fn truthiness_matches_python() {
        assert!(!parse("0").unwrap().is_truthy());
        assert!(!parse("\"\"").unwrap().is_truthy());
        assert!(!parse("[]").unwrap().is_truthy());
        assert!(!parse("null").unwrap().is_truthy());
        assert!(parse("\"false\"").unwrap().is_truthy());
        assert!(parse("[0]").unwrap().is_truthy());
    }
}
