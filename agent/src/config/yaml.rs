//! The YAML loader: one document into a [`Value`] with PyYAML `safe_load`'s
//! resolution (the rules are in the [`config`](super) module docs), on
//! yaml-rust2's event parser.

use std::collections::HashMap;
use std::path::Path;

use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::{ConfigError, LoadLimits};
use crate::value::Value;

pub(super) struct YamlError {
    message: String,
    line: usize,
    column: usize,
    /// A loading budget was passed (the YAML itself may be fine).
    over_budget: bool,
}

impl YamlError {
    pub(super) fn at(self, path: &Path) -> ConfigError {
        if self.over_budget {
            return ConfigError::OverBudget {
                path: path.to_owned(),
                message: self.message,
                line: self.line,
                column: self.column,
            };
        }
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
        over_budget: false,
    }
}

fn over(message: String, mark: Marker) -> YamlError {
    YamlError {
        over_budget: true,
        ..err(message, mark)
    }
}

/// An anchored node, with what it costs each time an alias repeats it.
struct Anchored {
    value: Value,
    /// Nodes in it (itself included).
    nodes: usize,
    /// Bytes of scalar text (keys included) in it.
    bytes: usize,
    /// Levels below it.
    height: usize,
}

/// One document (empty text is `Null`); several documents are an
/// error, as in `yaml.safe_load`. The document is built within `limits`
/// (see [`LoadLimits`]): an alias counts as the whole node it repeats.
pub(super) fn parse(text: &str, limits: &LoadLimits) -> Result<Value, YamlError> {
    let mut b = Builder {
        p: Parser::new_from_str(text),
        anchors: HashMap::new(),
        limits: *limits,
        nodes: 0,
        bytes: 0,
        deepest: 0,
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
    anchors: HashMap<usize, Anchored>,
    limits: LoadLimits,
    /// Nodes built so far, aliases counted at their expansion.
    nodes: usize,
    /// Scalar bytes built so far, likewise.
    bytes: usize,
    /// The deepest level reached in the node being built.
    deepest: usize,
}

impl Builder<'_> {
    fn next(&mut self) -> Result<(Event, Marker), YamlError> {
        self.p.next_token().map_err(|e| err(e.info(), *e.marker()))
    }

    /// Count `nodes` more nodes and `bytes` more bytes of text, reached at
    /// level `deepest`; past a budget, the error that names it.
    fn spend(&mut self, nodes: usize, bytes: usize, deepest: usize, mark: Marker) -> Result<(), YamlError> {
        self.nodes = self.nodes.saturating_add(nodes);
        self.bytes = self.bytes.saturating_add(bytes);
        self.deepest = self.deepest.max(deepest);
        let l = &self.limits;
        if self.nodes > l.max_nodes {
            return Err(over(
                format!(
                    "over the YAML loading budget: more than {} nodes (aliases count as the nodes they repeat; \
                     --yaml-max-nodes)",
                    l.max_nodes
                ),
                mark,
            ));
        }
        if self.bytes > l.max_bytes {
            return Err(over(
                format!(
                    "over the YAML loading budget: more than {} bytes of text (aliases count as the text they \
                     repeat; --yaml-max-bytes)",
                    l.max_bytes
                ),
                mark,
            ));
        }
        if deepest > l.max_depth {
            return Err(over(
                format!(
                    "over the YAML loading budget: nested more than {} levels deep (--yaml-max-depth)",
                    l.max_depth
                ),
                mark,
            ));
        }
        Ok(())
    }

    /// Build one node, recording it under `anchor` (if not 0) with its cost.
    fn node(&mut self, ev: Event, mark: Marker, depth: usize) -> Result<Value, YamlError> {
        let anchor = match &ev {
            Event::Scalar(_, _, a, _) | Event::SequenceStart(a, _) | Event::MappingStart(a, _) => *a,
            _ => 0,
        };
        if anchor == 0 {
            return self.build(ev, mark, depth);
        }
        let (nodes, bytes, outer) = (self.nodes, self.bytes, self.deepest);
        self.deepest = depth;
        let v = self.build(ev, mark, depth)?;
        let anchored = Anchored {
            value: v.clone(),
            nodes: self.nodes - nodes,
            bytes: self.bytes - bytes,
            height: self.deepest - depth,
        };
        self.deepest = self.deepest.max(outer);
        self.anchors.insert(anchor, anchored);
        Ok(v)
    }

    fn build(&mut self, ev: Event, mark: Marker, depth: usize) -> Result<Value, YamlError> {
        match ev {
            Event::Alias(id) => {
                let Some(a) = self.anchors.get(&id) else {
                    return Err(err("unknown alias", mark));
                };
                let (nodes, bytes, deepest) = (a.nodes, a.bytes, depth + a.height);
                // Counted before the copy is made: a bomb stops here.
                self.spend(nodes, bytes, deepest, mark)?;
                Ok(self.anchors[&id].value.clone())
            }
            Event::Scalar(text, style, _, tag) => {
                self.spend(1, text.len(), depth, mark)?;
                scalar(&text, style, tag.as_ref(), mark)
            }
            Event::SequenceStart(_, tag) => {
                check_collection_tag(tag.as_ref(), "seq", mark)?;
                self.spend(1, 0, depth, mark)?;
                let mut items = Vec::new();
                loop {
                    let (ev, m) = self.next()?;
                    if ev == Event::SequenceEnd {
                        break;
                    }
                    items.push(self.node(ev, m, depth + 1)?);
                }
                Ok(Value::Array(items))
            }
            Event::MappingStart(_, tag) => {
                check_collection_tag(tag.as_ref(), "map", mark)?;
                self.spend(1, 0, depth, mark)?;
                self.mapping(depth)
            }
            other => Err(err(format!("unexpected {other:?}"), mark)),
        }
    }

    fn mapping(&mut self, depth: usize) -> Result<Value, YamlError> {
        let mut own = Pairs::default();
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
            return Ok(Value::Object(own.pairs));
        }
        // PyYAML: the merged maps (earlier ones win), then the map's own keys.
        let mut out = Pairs::default();
        for m in merges.into_iter().rev() {
            for (k, v) in m {
                out.insert(k, v);
            }
        }
        for (k, v) in own.pairs {
            out.insert(k, v);
        }
        Ok(Value::Object(out.pairs))
    }
}

/// A mapping being built: keys unique, a repeated key keeps its first
/// position and its last value. Past a few keys a hash index finds them, so
/// a mapping of n keys costs O(n), not O(n^2) (a file with one huge mapping
/// must load as fast as the budgets promise).
#[derive(Default)]
struct Pairs {
    pairs: Vec<(String, Value)>,
    index: HashMap<String, usize>,
}

impl Pairs {
    const INDEX_FROM: usize = 16;

    fn insert(&mut self, key: String, value: Value) {
        let found = if self.pairs.len() < Self::INDEX_FROM {
            self.pairs.iter().position(|(k, _)| *k == key)
        } else {
            if self.index.is_empty() {
                self.index = self
                    .pairs
                    .iter()
                    .enumerate()
                    .map(|(i, (k, _))| (k.clone(), i))
                    .collect();
            }
            self.index.get(&key).copied()
        };
        match found {
            Some(i) => self.pairs[i].1 = value,
            None => {
                if !self.index.is_empty() {
                    self.index.insert(key.clone(), self.pairs.len());
                }
                self.pairs.push((key, value));
            }
        }
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
    use crate::config::{parse_yaml, parse_yaml_with, ConfigError};

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
        assert!(e.contains("levels deep") || e.contains("recursion limit"), "{e}");
        let deep_blocks: String = (0..300).map(|i| format!("{}k:\n", "  ".repeat(i))).collect();
        let e = parse_yaml(&deep_blocks).unwrap_err().to_string();
        assert!(e.contains("levels deep") || e.contains("recursion limit"), "{e}");
    }

    /// The reproduction: 9 levels of 10 aliases each, 10^9 nodes
    /// once expanded, in about 500 bytes.
    fn bomb(levels: usize) -> String {
        let mut s =
            String::from("a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
        for i in 1..=levels {
            let prev = format!("*a{}", i - 1);
            let items = [prev.as_str(); 10].join(",");
            s.push_str(&format!("a{i}: &a{i} [{items}]\n"));
        }
        s.push_str("instances: [{}]\n");
        s
    }

    fn limits(max_nodes: usize, max_bytes: usize, max_depth: usize) -> LoadLimits {
        LoadLimits {
            max_bytes,
            max_nodes,
            max_depth,
        }
    }

    #[test]
    fn an_alias_bomb_stops_at_the_node_budget() {
        let text = bomb(9);
        assert!(text.len() < 600, "{}", text.len());
        let started = std::time::Instant::now();
        let e = parse_yaml(&text).unwrap_err();
        // Generous: it takes milliseconds; the bomb itself took 9 s and 4 GB.
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        match &e {
            ConfigError::OverBudget { line, message, .. } => {
                assert!(
                    message.contains("500000 nodes") && message.contains("--yaml-max-nodes"),
                    "{e}"
                );
                assert!(*line >= 6, "the position of the alias that passed it: {e}");
            }
            other => panic!("{other}"),
        }
        // The same shape within the budget loads, with every alias expanded
        // (PyYAML's value).
        let v = parse_yaml_with(&bomb(2), &limits(2000, 1 << 20, 10)).unwrap();
        let a2 = v.get("a2").unwrap().as_array().unwrap();
        assert_eq!(a2.len(), 10);
        assert_eq!(a2[9].as_array().unwrap()[9].as_array().unwrap().len(), 10);
        assert_eq!(
            a2[9].as_array().unwrap()[9].as_array().unwrap()[0].as_str(),
            Some("lol")
        );
        // One node too many is refused: a0 is 11 nodes, a1 111, a2 1111,
        // plus the top mapping, its keys, `instances` and its value.
        let total = 1 + 11 + 1 + 111 + 1 + 1111 + 1 + 2 + 1;
        assert!(parse_yaml_with(&bomb(2), &limits(total, 1 << 20, 10)).is_ok());
        assert!(parse_yaml_with(&bomb(2), &limits(total - 1, 1 << 20, 10)).is_err());
    }

    #[test]
    fn aliases_count_their_text_and_their_depth() {
        // 10 aliases of a 1000-byte string: 11 000 bytes of text.
        let big = "x".repeat(1000);
        let text = format!("s: &s {big}\nl: [*s, *s, *s, *s, *s, *s, *s, *s, *s, *s]\n");
        assert!(parse_yaml_with(&text, &limits(100, 12_000, 10)).is_ok());
        let e = parse_yaml_with(&text, &limits(100, 10_000, 10))
            .unwrap_err()
            .to_string();
        assert!(e.contains("10000 bytes") && e.contains("--yaml-max-bytes"), "{e}");
        // A 3-deep anchor used 3 levels down is 6 deep.
        let text = "a: &a [[[1]]]\nb: [[*a]]\n";
        assert!(parse_yaml_with(text, &limits(100, 1000, 6)).is_ok());
        let e = parse_yaml_with(text, &limits(100, 1000, 5)).unwrap_err().to_string();
        assert!(
            e.contains("more than 5 levels deep") && e.contains("--yaml-max-depth"),
            "{e}"
        );
    }

    #[test]
    fn a_huge_mapping_loads_in_linear_time() {
        // 200 000 keys: with a linear search per key this took minutes.
        let text: String = (0..200_000).map(|i| format!("k{i}: {i}\n")).collect();
        let started = std::time::Instant::now();
        let v = parse_yaml(&text).unwrap();
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
        let pairs = v.as_object().unwrap();
        assert_eq!(pairs.len(), 200_000);
        assert_eq!(pairs[199_999], ("k199999".to_string(), Value::Int(199_999)));
        // Repeated keys keep their first position and last value past the index threshold too.
        let text: String = (0..40).map(|i| format!("k{}: {i}\n", i % 20)).collect();
        let v = parse_yaml(&text).unwrap();
        let pairs = v.as_object().unwrap();
        assert_eq!(pairs.len(), 20);
        assert_eq!(pairs[3], ("k3".to_string(), Value::Int(23)));
    }
}
