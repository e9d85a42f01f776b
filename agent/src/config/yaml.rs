//! The YAML loader: one document into a [`Value`] with PyYAML `safe_load`'s
//! resolution (the rules are in the [`config`](super) module docs), on
//! yaml-rust2's event parser.

use std::collections::HashMap;
use std::path::Path;

use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::ConfigError;
use crate::value::Value;

pub(super) struct YamlError {
    message: String,
    line: usize,
    column: usize,
}

impl YamlError {
    pub(super) fn at(self, path: &Path) -> ConfigError {
        ConfigError::Yaml {
            path: path.to_owned(),
            message: self.message,
            line: self.line,
            column: self.column,
        }
    }
}

fn err(message: impl Into<String>, mark: Marker) -> YamlError {
    YamlError {
        message: message.into(),
        line: mark.line(),
        column: mark.col() + 1,
    }
}

const MAX_DEPTH: usize = 256;

/// One document (empty text is `Null`); several documents are an
/// error, as in `yaml.safe_load`.
pub(super) fn parse(text: &str) -> Result<Value, YamlError> {
    let mut b = Builder {
        p: Parser::new_from_str(text),
        anchors: HashMap::new(),
    };
    let mut doc = None;
    loop {
        let (ev, mark) = b.next()?;
        match ev {
            Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
            Event::StreamEnd => break,
            Event::DocumentStart => {
                if doc.is_some() {
                    return Err(err("expected a single document in the stream", mark));
                }
                let (ev, mark) = b.next()?;
                doc = Some(b.node(ev, mark, 0)?);
            }
            other => return Err(err(format!("unexpected {other:?}"), mark)),
        }
    }
    Ok(doc.unwrap_or(Value::Null))
}

struct Builder<'a> {
    p: Parser<std::str::Chars<'a>>,
    anchors: HashMap<usize, Value>,
}

impl Builder<'_> {
    fn next(&mut self) -> Result<(Event, Marker), YamlError> {
        self.p.next_token().map_err(|e| YamlError {
            message: e.info().to_owned(),
            line: e.marker().line(),
            column: e.marker().col() + 1,
        })
    }

    fn remember(&mut self, anchor: usize, v: &Value) {
        if anchor != 0 {
            self.anchors.insert(anchor, v.clone());
        }
    }

    fn node(&mut self, ev: Event, mark: Marker, depth: usize) -> Result<Value, YamlError> {
        if depth > MAX_DEPTH {
            return Err(err("nesting too deep", mark));
        }
        match ev {
            Event::Alias(id) => self.anchors.get(&id).cloned().ok_or_else(|| err("unknown alias", mark)),
            Event::Scalar(text, style, anchor, tag) => {
                let v = scalar(&text, style, tag.as_ref(), mark)?;
                self.remember(anchor, &v);
                Ok(v)
            }
            Event::SequenceStart(anchor, tag) => {
                check_collection_tag(tag.as_ref(), "seq", mark)?;
                let mut items = Vec::new();
                loop {
                    let (ev, m) = self.next()?;
                    if ev == Event::SequenceEnd {
                        break;
                    }
                    items.push(self.node(ev, m, depth + 1)?);
                }
                let v = Value::Array(items);
                self.remember(anchor, &v);
                Ok(v)
            }
            Event::MappingStart(anchor, tag) => {
                check_collection_tag(tag.as_ref(), "map", mark)?;
                let v = self.mapping(depth)?;
                self.remember(anchor, &v);
                Ok(v)
            }
            other => Err(err(format!("unexpected {other:?}"), mark)),
        }
    }

    fn mapping(&mut self, depth: usize) -> Result<Value, YamlError> {
        let mut own = Value::object();
        // Maps merged in with `<<`, in order of appearance.
        let mut merges: Vec<Vec<(String, Value)>> = Vec::new();
        loop {
            let (kev, kmark) = self.next()?;
            if kev == Event::MappingEnd {
                break;
            }
            let is_merge = matches!(&kev, Event::Scalar(t, TScalarStyle::Plain, _, None) if t == "<<");
            let key = self.node(kev, kmark, depth + 1)?;
            let (vev, vmark) = self.next()?;
            let value = self.node(vev, vmark, depth + 1)?;
            if is_merge {
                match value {
                    Value::Object(p) => merges.push(p),
                    Value::Array(items) => {
                        for it in items {
                            match it {
                                Value::Object(p) => merges.push(p),
                                _ => return Err(err("a merge key (<<) takes a mapping or a list of mappings", vmark)),
                            }
                        }
                    }
                    _ => return Err(err("a merge key (<<) takes a mapping or a list of mappings", vmark)),
                }
                continue;
            }
            let Some(key) = key.key_text() else {
                return Err(err("mapping keys must be scalars", kmark));
            };
            own.insert(key, value);
        }
        if merges.is_empty() {
            return Ok(own);
        }
        // PyYAML: the merged maps (earlier ones win), then the map's own keys.
        let mut out = Value::object();
        for m in merges.into_iter().rev() {
            for (k, v) in m {
                out.insert(k, v);
            }
        }
        if let Value::Object(pairs) = own {
            for (k, v) in pairs {
                out.insert(k, v);
            }
        }
        Ok(out)
    }
}

/// The standard tag's name (`str`, `int`, ...), or an error for others.
fn std_tag(tag: &Tag, mark: Marker) -> Result<&str, YamlError> {
    if tag.handle == "tag:yaml.org,2002:" || tag.handle == "!!" {
        Ok(tag.suffix.as_str())
    } else if tag.handle == "!" && tag.suffix.is_empty() {
        // The non-specific tag: a plain string.
        Ok("str")
    } else {
        Err(err(
            format!(
                "could not determine a constructor for the tag {}{}",
                tag.handle, tag.suffix
            ),
            mark,
        ))
    }
}

fn check_collection_tag(tag: Option<&Tag>, want: &str, mark: Marker) -> Result<(), YamlError> {
    match tag {
        None => Ok(()),
        Some(t) => match std_tag(t, mark)? {
            s if s == want || (want == "map" && (s == "omap" || s == "set")) => Ok(()),
            s => Err(err(format!("tag !!{s} cannot be used on a {want}"), mark)),
        },
    }
}

fn scalar(text: &str, style: TScalarStyle, tag: Option<&Tag>, mark: Marker) -> Result<Value, YamlError> {
    if let Some(t) = tag {
        let bad = |what: &str| err(format!("{text:?} is not a valid {what}"), mark);
        return match std_tag(t, mark)? {
            "str" => Ok(Value::String(text.to_owned())),
            "int" => int_value(text).ok_or_else(|| bad("!!int")),
            "float" => float_value(text)
                .or_else(|| int_value(text).and_then(|v| v.as_f64().map(Value::Float)))
                .ok_or_else(|| bad("!!float")),
            "bool" => bool_value(text).ok_or_else(|| bad("!!bool")),
            "null" => Ok(Value::Null),
            "timestamp" => Ok(Value::String(text.to_owned())),
            other => Err(err(
                format!("could not determine a constructor for the tag !!{other}"),
                mark,
            )),
        };
    }
    if style != TScalarStyle::Plain {
        return Ok(Value::String(text.to_owned()));
    }
    Ok(resolve_plain(text))
}

/// PyYAML's implicit resolvers for a plain scalar.
fn resolve_plain(s: &str) -> Value {
    if let Some(b) = bool_value(s) {
        return b;
    }
    if matches!(s, "" | "~" | "null" | "Null" | "NULL") {
        return Value::Null;
    }
    if is_float(s) {
        if let Some(v) = float_value(s) {
            return v;
        }
    }
    if is_int(s) {
        if let Some(v) = int_value(s) {
            return v;
        }
    }
    Value::String(s.to_owned())
}

fn bool_value(s: &str) -> Option<Value> {
    match s {
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => Some(Value::Bool(true)),
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => Some(Value::Bool(false)),
        _ => None,
    }
}

/// A tiny cursor for the resolver patterns.
struct Cur<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cur<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn eat(&mut self, f: impl Fn(u8) -> bool) -> bool {
        match self.peek() {
            Some(c) if f(c) => {
                self.i += 1;
                true
            }
            _ => false,
        }
    }
    fn eat_all(&mut self, f: impl Fn(u8) -> bool) -> usize {
        let start = self.i;
        while self.eat(&f) {}
        self.i - start
    }
    fn sign(&mut self) {
        self.eat(|c| c == b'-' || c == b'+');
    }
    fn done(&self) -> bool {
        self.i == self.b.len()
    }
    fn rest(&self) -> &[u8] {
        &self.b[self.i..]
    }
    /// `(?::[0-5]?[0-9])+`
    fn sexagesimal_groups(&mut self) -> bool {
        let mut n = 0;
        while self.peek() == Some(b':') {
            let save = self.i;
            self.i += 1;
            let d1 = self.peek();
            let d2 = self.b.get(self.i + 1).copied();
            match (d1, d2) {
                (Some(b'0'..=b'5'), Some(b'0'..=b'9')) => self.i += 2,
                (Some(b'0'..=b'9'), _) => self.i += 1,
                _ => {
                    self.i = save;
                    break;
                }
            }
            n += 1;
        }
        n > 0
    }
    /// `(?:[eE][-+][0-9]+)?`, all or nothing.
    fn opt_exponent(&mut self) {
        let save = self.i;
        if self.eat(|c| c == b'e' || c == b'E') && self.eat(|c| c == b'-' || c == b'+') && self.eat_all(is_d) > 0 {
            return;
        }
        self.i = save;
    }
}

fn is_d(c: u8) -> bool {
    c.is_ascii_digit()
}
fn is_d_(c: u8) -> bool {
    c.is_ascii_digit() || c == b'_'
}

fn is_int(s: &str) -> bool {
    let alt = |f: &dyn Fn(&mut Cur) -> bool| {
        let mut c = Cur { b: s.as_bytes(), i: 0 };
        f(&mut c) && c.done()
    };
    // [-+]?0b[0-1_]+
    alt(&|c| { c.sign(); c.rest().starts_with(b"0b") && { c.i += 2; c.eat_all(|x| x == b'0' || x == b'1' || x == b'_') > 0 } })
        // [-+]?0[0-7_]+
        || alt(&|c| { c.sign(); c.eat(|x| x == b'0') && c.eat_all(|x| (b'0'..=b'7').contains(&x) || x == b'_') > 0 })
        // [-+]?(?:0|[1-9][0-9_]*)
        || alt(&|c| { c.sign(); c.eat(|x| x == b'0') || (c.eat(|x| (b'1'..=b'9').contains(&x)) && { c.eat_all(is_d_); true }) })
        // [-+]?0x[0-9a-fA-F_]+
        || alt(&|c| { c.sign(); c.rest().starts_with(b"0x") && { c.i += 2; c.eat_all(|x| x.is_ascii_hexdigit() || x == b'_') > 0 } })
        // [-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+
        || alt(&|c| { c.sign(); c.eat(|x| (b'1'..=b'9').contains(&x)) && { c.eat_all(is_d_); c.sexagesimal_groups() } })
}

fn is_float(s: &str) -> bool {
    let alt = |f: &dyn Fn(&mut Cur) -> bool| {
        let mut c = Cur { b: s.as_bytes(), i: 0 };
        f(&mut c) && c.done()
    };
    // [-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
    alt(&|c| { c.sign(); c.eat(is_d) && { c.eat_all(is_d_); c.eat(|x| x == b'.') } && { c.eat_all(is_d_); c.opt_exponent(); true } })
        // \.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
        || alt(&|c| c.eat(|x| x == b'.') && c.eat(is_d) && { c.eat_all(is_d_); c.opt_exponent(); true })
        // [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
        || alt(&|c| { c.sign(); c.eat(is_d) && { c.eat_all(is_d_); c.sexagesimal_groups() } && c.eat(|x| x == b'.') && { c.eat_all(is_d_); true } })
        // [-+]?\.(?:inf|Inf|INF)
        || alt(&|c| { c.sign(); matches!(c.rest(), b".inf" | b".Inf" | b".INF") && { c.i = c.b.len(); true } })
        // \.(?:nan|NaN|NAN)
        || matches!(s, ".nan" | ".NaN" | ".NAN")
}

/// `construct_yaml_int` (accepts what `is_int` matched, and `!!int` text).
fn int_value(s: &str) -> Option<Value> {
    let v: String = s.chars().filter(|&c| c != '_').collect();
    let (neg, v) = match v.as_bytes().first()? {
        b'-' => (true, &v[1..]),
        b'+' => (false, &v[1..]),
        _ => (false, &v[..]),
    };
    if v.is_empty() {
        return None;
    }
    let mag: i128 = if v == "0" {
        0
    } else if let Some(b) = v.strip_prefix("0b") {
        i128::from_str_radix(b, 2).ok()?
    } else if let Some(h) = v.strip_prefix("0x") {
        i128::from_str_radix(h, 16).ok()?
    } else if v.starts_with('0') {
        i128::from_str_radix(v, 8).ok()?
    } else if v.contains(':') {
        let mut total: i128 = 0;
        for part in v.split(':') {
            total = total.checked_mul(60)?.checked_add(part.parse::<i128>().ok()?)?;
        }
        total
    } else {
        v.parse::<i128>().ok()?
    };
    let signed = if neg { -mag } else { mag };
    Some(match i64::try_from(signed) {
        Ok(i) => Value::Int(i),
        Err(_) => Value::Float(signed as f64),
    })
}

/// `construct_yaml_float`.
fn float_value(s: &str) -> Option<Value> {
    let v: String = s.chars().filter(|&c| c != '_').collect::<String>().to_lowercase();
    let (sign, v) = match v.as_bytes().first()? {
        b'-' => (-1.0, &v[1..]),
        b'+' => (1.0, &v[1..]),
        _ => (1.0, &v[..]),
    };
    let f = if v == ".inf" {
        f64::INFINITY
    } else if v == ".nan" {
        return Some(Value::Float(f64::NAN));
    } else if v.contains(':') {
        let mut total = 0.0;
        for part in v.split(':') {
            total = total * 60.0 + part.parse::<f64>().ok()?;
        }
        total
    } else {
        v.parse::<f64>().ok()?
    };
    Some(Value::Float(sign * f))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{parse_yaml, ConfigError};

    fn y(text: &str) -> Value {
        parse_yaml(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    #[test]
    fn plain_scalars_resolve_like_pyyaml() {
        let cases: &[(&str, Value)] = &[
            ("yes", Value::Bool(true)),
            ("Off", Value::Bool(false)),
            ("TRUE", Value::Bool(true)),
            ("yEs", Value::String("yEs".into())),
            ("~", Value::Null),
            ("", Value::Null),
            ("Null", Value::Null),
            ("42", Value::Int(42)),
            ("-17", Value::Int(-17)),
            ("+5", Value::Int(5)),
            ("0", Value::Int(0)),
            ("0755", Value::Int(493)),
            ("0x1F", Value::Int(31)),
            ("0b101", Value::Int(5)),
            ("1_000", Value::Int(1000)),
            ("190:20:30", Value::Int(685230)),
            ("09", Value::String("09".into())),
            ("1.5", Value::Float(1.5)),
            ("-.5", Value::String("-.5".into())),
            (".5", Value::Float(0.5)),
            ("1.", Value::Float(1.0)),
            ("1.0e+3", Value::Float(1000.0)),
            ("1e3", Value::String("1e3".into())),
            ("1.0e3", Value::String("1.0e3".into())),
            ("190:20:30.15", Value::Float(685230.15)),
            ("-.inf", Value::Float(f64::NEG_INFINITY)),
            ("1.2.3", Value::String("1.2.3".into())),
            ("2001-12-14", Value::String("2001-12-14".into())),
            ("12345678901234567890", Value::Float(12345678901234567890.0)),
            ("localhost:6379", Value::String("localhost:6379".into())),
            ("<<", Value::String("<<".into())),
            ("0_7", Value::Int(7)),
            ("1:77", Value::String("1:77".into())),
            ("0o17", Value::String("0o17".into())),
            ("+.inf", Value::Float(f64::INFINITY)),
            ("._5", Value::String("._5".into())),
            ("1_0.5_0", Value::Float(10.5)),
        ];
        for (text, want) in cases {
            assert_eq!(&resolve_plain(text), want, "{text:?}");
        }
        assert!(resolve_plain(".NaN").as_f64().unwrap().is_nan());
    }

    #[test]
    fn quoting_and_tags() {
        let v = y("a: 'yes'\nb: \"42\"\nc: !!str 42\nd: !!int '7'\ne: !!float 3\nf: |\n  line1\n  line2\ng: >\n  folded\n  text\n");
        assert_eq!(v.get("a"), Some(&Value::String("yes".into())));
        assert_eq!(v.get("b"), Some(&Value::String("42".into())));
        assert_eq!(v.get("c"), Some(&Value::String("42".into())));
        assert_eq!(v.get("d"), Some(&Value::Int(7)));
        assert_eq!(v.get("e"), Some(&Value::Float(3.0)));
        assert_eq!(v.get("f"), Some(&Value::String("line1\nline2\n".into())));
        assert_eq!(v.get("g"), Some(&Value::String("folded text\n".into())));
        let e = parse_yaml("a: !!python/object:os.system x").unwrap_err().to_string();
        assert!(e.contains("could not determine a constructor"), "{e}");
        assert!(parse_yaml("a: !custom x").is_err());
        assert!(parse_yaml("a: !!int nope")
            .unwrap_err()
            .to_string()
            .contains("not a valid !!int"));
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let v = y("base: &b {host: h, port: 1}\nother: &o {port: 2, extra: x}\nuse: *b\nm:\n  <<: [*b, *o]\n  port: 3\nn:\n  <<: *o\n");
        assert_eq!(v.get("use"), v.get("base"));
        let m = v.get("m").unwrap();
        // Own keys win; among merged maps, the first wins.
        assert_eq!(m.get("port"), Some(&Value::Int(3)));
        assert_eq!(m.get("host").and_then(Value::as_str), Some("h"));
        assert_eq!(m.get("extra").and_then(Value::as_str), Some("x"));
        assert_eq!(v.get("n").unwrap().get("port"), Some(&Value::Int(2)));
        // PyYAML's key order: {'port': 3, 'extra': 'x', 'host': 'h'}.
        let keys: Vec<&str> = m.as_object().unwrap().iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["port", "extra", "host"]);
        let v = y("a: &x {p: 1}\nb:\n  <<: [*x, {p: 2, q: 3}]\n");
        assert_eq!(v.get("b").unwrap().get("p"), Some(&Value::Int(1)));
        assert!(parse_yaml("a: *nowhere").is_err());
        assert!(parse_yaml("a:\n  <<: 5\n")
            .unwrap_err()
            .to_string()
            .contains("merge key"));
    }

    #[test]
    fn keys_duplicates_and_documents() {
        let v = y("1: one\ntrue: t\nnull: n\nk: first\nk: last\n");
        assert_eq!(v.get("1").and_then(Value::as_str), Some("one"));
        assert_eq!(v.get("true").and_then(Value::as_str), Some("t"));
        assert_eq!(v.get("null").and_then(Value::as_str), Some("n"));
        assert_eq!(v.get("k").and_then(Value::as_str), Some("last"));
        assert!(parse_yaml("? [a, b]\n: v\n")
            .unwrap_err()
            .to_string()
            .contains("keys must be scalars"));
        assert_eq!(y(""), Value::Null);
        assert_eq!(y("# only a comment\n"), Value::Null);
        assert_eq!(y("---\na: 1\n...\n").get("a"), Some(&Value::Int(1)));
        assert!(parse_yaml("a: 1\n---\nb: 2\n")
            .unwrap_err()
            .to_string()
            .contains("single document"));
    }

    #[test]
    fn syntax_errors_have_positions() {
        let e = parse_yaml("instances:\n  - host: a\n   bad: [unclosed\n").unwrap_err();
        match e {
            ConfigError::Yaml { line, column, .. } => {
                assert!(line >= 2 && column >= 1, "{line}:{column}")
            }
            other => panic!("{other}"),
        }
        let deep = "[".repeat(300) + &"]".repeat(300);
        // Our limit, or the scanner's own.
        let e = parse_yaml(&deep).unwrap_err().to_string();
        assert!(e.contains("too deep") || e.contains("recursion limit"), "{e}");
        let deep_blocks: String = (0..300).map(|i| format!("{}k:\n", "  ".repeat(i))).collect();
        let e = parse_yaml(&deep_blocks).unwrap_err().to_string();
        assert!(e.contains("too deep") || e.contains("recursion limit"), "{e}");
    }
}
