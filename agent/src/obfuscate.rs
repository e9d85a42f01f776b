//! SQL literal obfuscation, as the Datadog Agent does it for
//! `datadog_agent.obfuscate_sql(query, options)`.
//!
//! This is a port of the Agent's default ("legacy") obfuscator,
//! `pkg/obfuscate/sql_tokenizer.go` and `pkg/obfuscate/sql.go` in
//! `DataDog/datadog-agent`: a tokenizer, then a chain of token filters.
//!
//! * **metadata** (options `table_names`, `collect_commands`,
//!   `collect_comments`): the table after `FROM`/`JOIN`/`UPDATE`/`INTO`, the
//!   command keywords, the comments;
//! * **discard**: comments and `;` are dropped, and so are `AS` aliases
//!   unless `keep_sql_alias`;
//! * **replace**: string literals (`'...'`, dollar-quoted `$tag$...$tag$`),
//!   numbers (decimal, float, hex `0x..`), `NULL`, `TRUE`/`FALSE`,
//!   variables (`%s`, `%(name)s`), prepared-statement parameters (`$1`),
//!   `{...}` escape sequences, a double-quoted string right after `=`, and
//!   the value after `SAVEPOINT` become `?`; with `replace_digits`, digits
//!   in identifiers and table names become `?`;
//! * **grouping**: runs of `?` collapse, so `IN (1, 2, 3)` becomes
//!   `IN ( ? )` and `VALUES (1, 2), (3, 4)` becomes `VALUES ( ? )`.
//!
//! Kept: keywords and identifiers as written (double-quoted and backquoted
//! identifiers lose their quotes), operators. Tokens are re-joined with
//! single spaces (no space before `,`), so `select * from t where id=1`
//! becomes `select * from t where id = ?`.
//!
//! An input the tokenizer cannot read is an error, never a pass-through:
//! an empty result is `"result is empty"` (the message rtloader's tests
//! expect), a lexing failure reads like the Agent's (`at position 7:
//! unexpected EOF in string`). As in the Agent, a failure in a query that
//! contained a backslash is retried with backslashes taken literally.
//!
//! The go-sqllexer modes (`obfuscation_mode: obfuscate_only` or
//! `obfuscate_and_normalize`) are not implemented: they are reported as an
//! error rather than approximated.

use std::borrow::Cow;

use serde::ser::{Serialize, SerializeStruct, Serializer};

use super::value::Value;

/// `dbms` values the tokenizer treats specially.
const DBMS_SQLSERVER: &str = "mssql";
const DBMS_POSTGRES: &str = "postgresql";

/// The options `obfuscate_sql` takes as JSON (rtloader's `sqlConfig`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SqlOptions {
    /// `dbms`: `"postgresql"`, `"mssql"`, `"mysql"`, `"oracle"` or empty.
    pub dbms: String,
    /// `table_names`: collect table names.
    pub table_names: bool,
    /// `collect_commands`: collect `SELECT`, `INSERT`, ... .
    pub collect_commands: bool,
    /// `collect_comments`: collect comments.
    pub collect_comments: bool,
    /// `replace_digits`: replace digits in identifiers and table names.
    pub replace_digits: bool,
    /// `keep_sql_alias`: keep `AS alias`.
    pub keep_sql_alias: bool,
    /// `dollar_quoted_func`: obfuscate the body of `$func$...$func$` instead of hiding it.
    pub dollar_quoted_func: bool,
    /// `return_json_metadata`: return `{"query": ..., "metadata": ...}` as JSON.
    pub return_json_metadata: bool,
    /// `obfuscation_mode`: empty for this obfuscator.
    pub obfuscation_mode: String,
}

impl SqlOptions {
    /// Parse the options JSON. `""` means no options; unknown keys are
    /// ignored and keys match case-insensitively, as Go's `json.Unmarshal` does.
    pub fn from_json(text: &str) -> Result<SqlOptions, String> {
        let mut o = SqlOptions::default();
        if text.trim().is_empty() {
            return Ok(o);
        }
        // Strict JSON, as Go's json.Unmarshal reads it in the Agent.
        let v: Value = serde_json::from_str(text).map_err(|e| format!("invalid obfuscation options: {e}"))?;
        let Value::Object(pairs) = v else {
            return Err("invalid obfuscation options: expected a JSON object".into());
        };
        for (key, val) in &pairs {
            let k = key.to_ascii_lowercase();
            let flag = match k.as_str() {
                "table_names" => &mut o.table_names,
                "collect_commands" => &mut o.collect_commands,
                "collect_comments" => &mut o.collect_comments,
                "replace_digits" => &mut o.replace_digits,
                "keep_sql_alias" => &mut o.keep_sql_alias,
                "dollar_quoted_func" => &mut o.dollar_quoted_func,
                "return_json_metadata" => &mut o.return_json_metadata,
                "dbms" | "obfuscation_mode" => {
                    let s = match val {
                        Value::Null => String::new(),
                        Value::String(s) => s.clone(),
                        _ => return Err(format!("invalid obfuscation options: {key} must be a string")),
                    };
                    if k == "dbms" {
                        o.dbms = s;
                    } else {
                        o.obfuscation_mode = s;
                    }
                    continue;
                }
                _ => continue,
            };
            match val {
                Value::Bool(b) => *flag = *b,
                Value::Null => {}
                _ => return Err(format!("invalid obfuscation options: {key} must be a boolean")),
            }
        }
        Ok(o)
    }
}

/// What the metadata filter collected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SqlMetadata {
    /// Bytes of metadata collected (the Agent's cache cost).
    pub size: i64,
    /// Distinct table names, comma-separated, in order of appearance.
    pub tables_csv: String,
    /// Command keywords, upper case, in order.
    pub commands: Vec<String>,
    /// Comments, each on one line.
    pub comments: Vec<String>,
}

/// As Go's `json.Marshal` writes the Agent's `SQLMetadata`: the size field
/// is `Size`, empty lists are `null`, and `procedures` (not collected here)
/// is `null`.
impl Serialize for SqlMetadata {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut md = s.serialize_struct("SqlMetadata", 5)?;
        md.serialize_field("Size", &self.size)?;
        md.serialize_field("tables_csv", &self.tables_csv)?;
        md.serialize_field("commands", &non_empty(&self.commands))?;
        md.serialize_field("comments", &non_empty(&self.comments))?;
        md.serialize_field("procedures", &None::<()>)?;
        md.end()
    }
}

fn non_empty(v: &[String]) -> Option<&[String]> {
    (!v.is_empty()).then_some(v)
}

/// An obfuscated query and its metadata; serialized as the Agent's
/// `ObfuscatedQuery` (`{"query": ..., "metadata": {...}}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ObfuscatedQuery {
    /// The obfuscated query.
    pub query: String,
    /// The metadata.
    pub metadata: SqlMetadata,
}

impl ObfuscatedQuery {
    /// The JSON the Agent returns with `return_json_metadata`.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("strings and numbers serialize")
    }
}

/// `datadog_agent.obfuscate_sql(query, options)`: the obfuscated query, or
/// with `return_json_metadata` the JSON of [`ObfuscatedQuery::to_json`].
/// `Err` carries the message rtloader raises as `RuntimeError`.
pub fn obfuscate_sql(query: &str, options_json: &str) -> Result<String, String> {
    let opts = SqlOptions::from_json(options_json)?;
    let oq = obfuscate_sql_with_options(query, &opts)?;
    Ok(if opts.return_json_metadata {
        oq.to_json()
    } else {
        oq.query
    })
}

/// Obfuscate with parsed options.
pub fn obfuscate_sql_with_options(query: &str, opts: &SqlOptions) -> Result<ObfuscatedQuery, String> {
    match opts.obfuscation_mode.as_str() {
        "" => {}
        "obfuscate_only" | "obfuscate_and_normalize" => {
            return Err(format!(
                "obfuscation_mode {:?} (the go-sqllexer obfuscator) is not supported by this host; \
                 omit obfuscation_mode to use the Agent's default obfuscator",
                opts.obfuscation_mode
            ))
        }
        other => return Err(format!("invalid obfuscation mode: {other}")),
    }
    let mut tok = Tokenizer::new(query, false, opts);
    match attempt(&mut tok) {
        Ok(q) => Ok(q),
        Err(e) if tok.seen_escape => {
            // Retry reading backslashes literally (the Agent's literal-escapes retry).
            let mut tok2 = Tokenizer::new(query, true, opts);
            attempt(&mut tok2).map_err(|_| e)
        }
        Err(e) => Err(e),
    }
}

// ---- tokens --------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    /// No token yet (Go's zero `TokenKind`).
    None,
    /// A single-character token: the character itself.
    Char(char),
    End,
    LexError,
    Id,
    Limit,
    Null,
    String,
    DoubleQuotedString,
    DollarQuotedString,
    DollarQuotedFunc,
    Number,
    BooleanLiteral,
    ValueArg,
    ListArg,
    Comment,
    Variable,
    Savepoint,
    PreparedStatement,
    EscapeSequence,
    NullSafeEqual,
    Le,
    Ge,
    Ne,
    Not,
    As,
    Alter,
    Drop,
    Create,
    Grant,
    Revoke,
    Commit,
    Begin,
    Truncate,
    Select,
    From,
    Update,
    Delete,
    Insert,
    Into,
    Join,
    TableName,
    ColonCast,
    JsonSelect,
    JsonSelectText,
    JsonSelectPath,
    JsonSelectPathText,
    JsonContains,
    JsonContainsLeft,
    JsonKeyExists,
    JsonAnyKeysExist,
    JsonAllKeysExist,
    JsonDelete,
    FilteredGroupable,
    FilteredGroupableParenthesis,
    Filtered,
    FilteredBracketedIdentifier,
}

fn keyword(upper: &str) -> Option<Tok> {
    Some(match upper {
        "NULL" => Tok::Null,
        "TRUE" | "FALSE" => Tok::BooleanLiteral,
        "SAVEPOINT" => Tok::Savepoint,
        "LIMIT" => Tok::Limit,
        "AS" => Tok::As,
        "ALTER" => Tok::Alter,
        "CREATE" => Tok::Create,
        "GRANT" => Tok::Grant,
        "REVOKE" => Tok::Revoke,
        "COMMIT" => Tok::Commit,
        "BEGIN" => Tok::Begin,
        "TRUNCATE" => Tok::Truncate,
        "DROP" => Tok::Drop,
        "SELECT" => Tok::Select,
        "FROM" => Tok::From,
        "UPDATE" => Tok::Update,
        "DELETE" => Tok::Delete,
        "INSERT" => Tok::Insert,
        "INTO" => Tok::Into,
        "JOIN" => Tok::Join,
        _ => return None,
    })
}

/// The command name the metadata filter records for a keyword token.
fn command_name(t: Tok) -> Option<&'static str> {
    Some(match t {
        Tok::Select => "SELECT",
        Tok::Update => "UPDATE",
        Tok::Insert => "INSERT",
        Tok::Delete => "DELETE",
        Tok::Join => "JOIN",
        Tok::Alter => "ALTER",
        Tok::Drop => "DROP",
        Tok::Create => "CREATE",
        Tok::Grant => "GRANT",
        Tok::Revoke => "REVOKE",
        Tok::Commit => "COMMIT",
        Tok::Begin => "BEGIN",
        Tok::Truncate => "TRUNCATE",
        _ => return None,
    })
}

type Buf<'a> = Option<Cow<'a, [u8]>>;

// ---- the tokenizer ----------------------------------------------------------------

/// A faithful port of `SQLTokenizer`: `off` is the absolute offset of the
/// unread input, `start` the absolute start of the current token, `last`
/// the last read character (`None` before the first read, `END` after the end).
struct Tokenizer<'a> {
    src: &'a str,
    start: usize,
    off: usize,
    last: Option<char>,
    /// Byte position of `last`, for error messages (Go's `pos`).
    pos: i64,
    err: Option<String>,
    curlys: u32,
    literal_escapes: bool,
    seen_escape: bool,
    opts: &'a SqlOptions,
}

/// A value no character can have, standing for end of input.
const END: char = '\u{10FFFF}';

fn is_space(c: char) -> bool {
    c != END && c.is_whitespace()
}
fn is_leading_letter(c: char) -> bool {
    c != END && (c.is_alphabetic() || c == '_' || c == '@')
}
fn is_letter(c: char) -> bool {
    is_leading_letter(c) || c == '#'
}
fn is_digit(c: char) -> bool {
    c.is_ascii_digit()
}
fn digit_val(c: char) -> u32 {
    c.to_digit(16).filter(|_| c.is_ascii()).unwrap_or(16)
}
fn is_valid_char_after_operator(c: char) -> bool {
    matches!(c, '(' | '`' | '\'' | '"' | '+' | '-') || is_space(c) || is_letter(c) || is_digit(c)
}

impl<'a> Tokenizer<'a> {
    fn new(src: &'a str, literal_escapes: bool, opts: &'a SqlOptions) -> Tokenizer<'a> {
        Tokenizer {
            src,
            start: 0,
            off: 0,
            last: None,
            pos: 0,
            err: None,
            curlys: 0,
            literal_escapes,
            seen_escape: false,
            opts,
        }
    }

    fn ch(&self) -> char {
        self.last.unwrap_or('\0')
    }

    fn set_err(&mut self, msg: String) {
        if self.err.is_none() {
            self.err = Some(format!("at position {}: {}", self.pos, msg));
        }
    }

    fn advance(&mut self) {
        match self.src[self.off..].chars().next() {
            None => {
                self.pos += 1;
                self.last = Some(END);
            }
            Some(c) => {
                let n = c.len_utf8();
                if self.last.is_some() || self.pos > 0 {
                    self.pos += n as i64;
                }
                self.off += n;
                self.last = Some(c);
            }
        }
    }

    /// The bytes advanced over since the last call, excluding `last`.
    fn bytes(&mut self) -> &'a [u8] {
        let src = self.src.as_bytes();
        let end = match self.last {
            Some(END) | None => self.off,
            Some(c) => self.off.saturating_sub(c.len_utf8()).max(self.start),
        };
        let ret = &src[self.start..end];
        self.start = end;
        ret
    }

    fn skip_blank(&mut self) {
        while is_space(self.ch()) {
            self.advance();
        }
        self.bytes();
    }

    fn scan(&mut self) -> (Tok, Buf<'a>) {
        if self.last.is_none() {
            self.advance();
        }
        self.skip_blank();
        let ch = self.ch();
        let pg = self.opts.dbms == DBMS_POSTGRES;
        let mssql = self.opts.dbms == DBMS_SQLSERVER;
        if is_leading_letter(ch) && !(pg && ch == '@') {
            return self.scan_identifier();
        }
        if is_digit(ch) {
            return self.scan_number(false);
        }
        self.advance();
        let next = self.ch();
        let b = |t: &mut Self, k: Tok| (k, Some(Cow::Borrowed(t.bytes())));
        let lit = |k: Tok, s: &'static str| (k, Some(Cow::Borrowed(s.as_bytes())));
        match ch {
            END => {
                if self.err.is_some() {
                    (Tok::LexError, None)
                } else {
                    (Tok::End, None)
                }
            }
            ':' => {
                if next == ':' {
                    self.advance();
                    return lit(Tok::ColonCast, "::");
                }
                if is_space(next) {
                    return b(self, Tok::Char(':'));
                }
                if next != '=' {
                    return self.scan_bind_var();
                }
                // ':=' : the '~' rule applies to ':'.
                b(self, Tok::Char(':'))
            }
            '~' => {
                if next == '*' {
                    self.advance();
                    lit(Tok::Char('~'), "~*")
                } else {
                    b(self, Tok::Char('~'))
                }
            }
            '?' if pg => match next {
                '|' => {
                    self.advance();
                    lit(Tok::JsonAnyKeysExist, "?|")
                }
                '&' => {
                    self.advance();
                    lit(Tok::JsonAllKeysExist, "?&")
                }
                _ => b(self, Tok::JsonKeyExists),
            },
            '?' | '=' | ',' | ';' | '(' | ')' | '+' | '*' | '&' | '|' | '^' | ']' => b(self, Tok::Char(ch)),
            '[' => {
                if mssql {
                    self.scan_string(']', Tok::DoubleQuotedString)
                } else {
                    b(self, Tok::Char('['))
                }
            }
            '.' => {
                if is_digit(next) {
                    self.scan_number(true)
                } else {
                    b(self, Tok::Char('.'))
                }
            }
            '/' => match next {
                '/' => {
                    self.advance();
                    self.scan_comment_line()
                }
                '*' => {
                    self.advance();
                    self.scan_comment_block()
                }
                _ => b(self, Tok::Char('/')),
            },
            '-' => {
                if next == '-' {
                    self.advance();
                    return self.scan_comment_line();
                }
                if next == '>' && pg {
                    self.advance();
                    if self.ch() == '>' {
                        self.advance();
                        return lit(Tok::JsonSelectText, "->>");
                    }
                    return lit(Tok::JsonSelect, "->");
                }
                if next == '>' || is_digit(next) {
                    return self.scan_number(false);
                }
                if next == '.' {
                    self.advance();
                    if is_digit(self.ch()) {
                        return self.scan_number(true);
                    }
                    // Go steps back onto the '.' without moving `off`.
                    self.last = Some('.');
                    self.pos -= 1;
                }
                b(self, Tok::Char('-'))
            }
            '#' => {
                if mssql {
                    return self.scan_identifier();
                }
                if pg {
                    return match next {
                        '>' => {
                            self.advance();
                            if self.ch() == '>' {
                                self.advance();
                                lit(Tok::JsonSelectPathText, "#>>")
                            } else {
                                lit(Tok::JsonSelectPath, "#>")
                            }
                        }
                        '-' => {
                            self.advance();
                            lit(Tok::JsonDelete, "#-")
                        }
                        _ => b(self, Tok::Char('#')),
                    };
                }
                self.advance();
                self.scan_comment_line()
            }
            '<' => match next {
                '>' => {
                    self.advance();
                    lit(Tok::Ne, "<>")
                }
                '=' => {
                    self.advance();
                    if self.ch() == '>' {
                        self.advance();
                        lit(Tok::NullSafeEqual, "<=>")
                    } else {
                        lit(Tok::Le, "<=")
                    }
                }
                '@' if pg => {
                    self.advance();
                    lit(Tok::JsonContainsLeft, "<@")
                }
                _ => b(self, Tok::Char('<')),
            },
            '>' => {
                if next == '=' {
                    self.advance();
                    lit(Tok::Ge, ">=")
                } else {
                    b(self, Tok::Char('>'))
                }
            }
            '!' => match next {
                '=' => {
                    self.advance();
                    lit(Tok::Ne, "!=")
                }
                '~' => {
                    self.advance();
                    if self.ch() == '*' {
                        self.advance();
                        lit(Tok::Ne, "!~*")
                    } else {
                        lit(Tok::Ne, "!~")
                    }
                }
                c if is_valid_char_after_operator(c) => b(self, Tok::Not),
                c => {
                    self.set_err(format!(
                        "unexpected char \"{}\" ({}) after \"!\"",
                        go_char(c),
                        go_code(c)
                    ));
                    b(self, Tok::LexError)
                }
            },
            '\'' => self.scan_string('\'', Tok::String),
            '"' => self.scan_string('"', Tok::DoubleQuotedString),
            '`' => self.scan_string('`', Tok::Id),
            '%' => {
                if next == '(' {
                    self.scan_variable_identifier()
                } else if is_letter(next) {
                    self.advance();
                    b(self, Tok::Variable)
                } else {
                    b(self, Tok::Char('%'))
                }
            }
            '$' => {
                if is_digit(next) {
                    return self.scan_prepared_statement();
                }
                if mssql && is_letter(next) {
                    return self.scan_identifier();
                }
                let (kind, tok) = self.scan_dollar_quoted_string();
                if kind == Tok::DollarQuotedFunc {
                    let body = tok
                        .as_deref()
                        .map(String::from_utf8_lossy)
                        .unwrap_or_default()
                        .into_owned();
                    let mut inner = Tokenizer::new(&body, self.literal_escapes, self.opts);
                    return match attempt(&mut inner) {
                        Err(_) => (Tok::DollarQuotedString, tok),
                        Ok(out) => {
                            let s = format!("$func${}$func$", out.query);
                            (kind, Some(Cow::Owned(s.into_bytes())))
                        }
                    };
                }
                (kind, tok)
            }
            '@' if pg => {
                if next == '>' {
                    self.advance();
                    lit(Tok::JsonContains, "@>")
                } else {
                    b(self, Tok::Char('@'))
                }
            }
            '@' | '{' => {
                if self.pos == 1 || self.curlys > 0 {
                    // A top-level escape like {call proc(?)} keeps its shape.
                    self.curlys += 1;
                    return b(self, Tok::Char(ch));
                }
                self.scan_escape_sequence()
            }
            '}' => {
                if self.curlys == 0 {
                    self.set_err(format!("unexpected byte {}", go_code(ch)));
                    return b(self, Tok::LexError);
                }
                self.curlys -= 1;
                b(self, Tok::Char('}'))
            }
            _ => {
                self.set_err(format!("unexpected byte {}", go_code(ch)));
                b(self, Tok::LexError)
            }
        }
    }

    fn scan_identifier(&mut self) -> (Tok, Buf<'a>) {
        self.advance();
        loop {
            let c = self.ch();
            if is_letter(c) || is_digit(c) || matches!(c, '.' | '*' | '$') {
                self.advance();
            } else {
                break;
            }
        }
        let t = self.bytes();
        let upper = String::from_utf8_lossy(t).to_uppercase();
        (keyword(&upper).unwrap_or(Tok::Id), Some(Cow::Borrowed(t)))
    }

    fn scan_variable_identifier(&mut self) -> (Tok, Buf<'a>) {
        self.advance();
        while self.ch() != ')' && self.ch() != END {
            self.advance();
        }
        self.advance();
        if !is_letter(self.ch()) {
            let c = self.ch();
            self.set_err(format!(
                "invalid character after variable identifier: \"{}\" ({})",
                go_char(c),
                go_code(c)
            ));
            return (Tok::LexError, Some(Cow::Borrowed(self.bytes())));
        }
        self.advance();
        (Tok::Variable, Some(Cow::Borrowed(self.bytes())))
    }

    fn scan_dollar_quoted_string(&mut self) -> (Tok, Buf<'a>) {
        let (kind, tag) = self.scan_string('$', Tok::String);
        if kind == Tok::LexError {
            return (kind, Some(Cow::Borrowed(self.bytes())));
        }
        let tag = tag.unwrap_or_default().into_owned();
        // An empty tag comes back as the delimiters themselves ("$$").
        let delim: Vec<u8> = if tag == b"$$" {
            tag
        } else {
            [&b"$"[..], &tag, b"$"].concat()
        };
        let mut got = 0;
        let mut buf = String::new();
        loop {
            let c = self.ch();
            self.advance();
            if c == END {
                self.set_err("unexpected EOF in dollar-quoted string".into());
                return (Tok::LexError, Some(Cow::Owned(buf.into_bytes())));
            }
            // Go compares byte(ch): the low byte of the code point.
            if (c as u32 & 0xFF) as u8 == delim[got] {
                got += 1;
                if got == delim.len() {
                    break;
                }
                continue;
            }
            if got > 0 {
                buf.push_str(&String::from_utf8_lossy(&delim[..got]));
                got = 0;
            }
            buf.push(c);
        }
        if self.opts.dollar_quoted_func && delim == b"$func$" {
            return (Tok::DollarQuotedFunc, Some(Cow::Owned(buf.into_bytes())));
        }
        (Tok::DollarQuotedString, Some(Cow::Owned(buf.into_bytes())))
    }

    fn scan_prepared_statement(&mut self) -> (Tok, Buf<'a>) {
        let (t, buf) = self.scan_number(false);
        if t == Tok::LexError {
            self.set_err("invalid number".into());
            return (Tok::LexError, Some(Cow::Borrowed(self.bytes())));
        }
        (Tok::PreparedStatement, buf)
    }

    fn scan_escape_sequence(&mut self) -> (Tok, Buf<'a>) {
        while self.ch() != '}' && self.ch() != END {
            self.advance();
        }
        if self.ch() == END {
            self.set_err("unexpected EOF in escape sequence".into());
            return (Tok::LexError, Some(Cow::Borrowed(self.bytes())));
        }
        self.advance();
        (Tok::EscapeSequence, Some(Cow::Borrowed(self.bytes())))
    }

    fn scan_bind_var(&mut self) -> (Tok, Buf<'a>) {
        let mut tok = Tok::ValueArg;
        if self.ch() == ':' {
            tok = Tok::ListArg;
            self.advance();
        }
        let c = self.ch();
        if !is_letter(c) && !is_digit(c) {
            self.set_err(format!(
                "bind variables should start with letters or digits, got \"{}\" ({})",
                go_char(c),
                go_code(c)
            ));
            return (Tok::LexError, Some(Cow::Borrowed(self.bytes())));
        }
        while is_letter(self.ch()) || is_digit(self.ch()) || self.ch() == '.' {
            self.advance();
        }
        (tok, Some(Cow::Borrowed(self.bytes())))
    }

    fn scan_mantissa(&mut self, base: u32) {
        while digit_val(self.ch()) < base {
            self.advance();
        }
    }

    fn scan_number(&mut self, seen_decimal_point: bool) -> (Tok, Buf<'a>) {
        let mut fraction = true;
        let mut exponent = true;
        if seen_decimal_point {
            self.scan_mantissa(10);
            fraction = false;
        } else if self.ch() == '0' {
            self.advance();
            if matches!(self.ch(), 'x' | 'X') {
                self.advance();
                self.scan_mantissa(16);
                fraction = false;
                exponent = false;
            } else {
                self.scan_mantissa(8);
                if matches!(self.ch(), '8' | '9') {
                    self.scan_mantissa(10);
                }
                if !matches!(self.ch(), '.' | 'e' | 'E') {
                    fraction = false;
                    exponent = false;
                }
            }
        } else {
            self.scan_mantissa(10);
        }
        if fraction && self.ch() == '.' {
            self.advance();
            self.scan_mantissa(10);
        }
        if exponent && matches!(self.ch(), 'e' | 'E') {
            self.advance();
            if matches!(self.ch(), '+' | '-') {
                self.advance();
            }
            self.scan_mantissa(10);
        }
        let t = self.bytes();
        if t.is_empty() {
            self.set_err("Parse error: ended up with zero-length number.".into());
            return (Tok::LexError, None);
        }
        (Tok::Number, Some(Cow::Borrowed(t)))
    }

    fn scan_string(&mut self, delim: char, kind: Tok) -> (Tok, Buf<'a>) {
        let mut buf = String::new();
        loop {
            let mut c = self.ch();
            self.advance();
            if c == delim {
                if self.ch() == delim {
                    // A doubled delimiter is the delimiter itself.
                    self.advance();
                } else {
                    break;
                }
            } else if c == '\\' {
                self.seen_escape = true;
                if !self.literal_escapes {
                    c = self.ch();
                    self.advance();
                }
            }
            if c == END {
                self.set_err("unexpected EOF in string".into());
                return (Tok::LexError, Some(Cow::Owned(buf.into_bytes())));
            }
            buf.push(c);
        }
        if (kind == Tok::Id && buf.is_empty()) || buf.chars().all(char::is_whitespace) {
            // Keep the delimiters of an empty identifier or string.
            return (kind, Some(Cow::Owned(format!("{delim}{delim}").into_bytes())));
        }
        (kind, Some(Cow::Owned(buf.into_bytes())))
    }

    fn scan_comment_line(&mut self) -> (Tok, Buf<'a>) {
        while self.ch() != END {
            if self.ch() == '\n' {
                self.advance();
                break;
            }
            self.advance();
        }
        (Tok::Comment, Some(Cow::Borrowed(self.bytes())))
    }

    fn scan_comment_block(&mut self) -> (Tok, Buf<'a>) {
        loop {
            if self.ch() == '*' {
                self.advance();
                if self.ch() == '/' {
                    self.advance();
                    break;
                }
                continue;
            }
            if self.ch() == END {
                self.set_err("unexpected EOF in comment".into());
                return (Tok::LexError, Some(Cow::Borrowed(self.bytes())));
            }
            self.advance();
        }
        (Tok::Comment, Some(Cow::Borrowed(self.bytes())))
    }
}

/// Go's `%c` of the characters in lexer errors (`END` prints as the replacement char).
fn go_char(c: char) -> char {
    if c == END {
        '\u{FFFD}'
    } else {
        c
    }
}

/// Go's `%d` of a rune (`EndChar` is `unicode.MaxRune + 1`).
fn go_code(c: char) -> u32 {
    if c == END {
        0x11_0000
    } else {
        c as u32
    }
}

/// Replace each run of ASCII digits with one `?`.
fn replace_digits(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let mut in_digits = false;
    for &c in b {
        if c.is_ascii_digit() {
            if !in_digits {
                in_digits = true;
                out.push(b'?');
            }
            continue;
        }
        in_digits = false;
        out.push(c);
    }
    out
}

// ---- the filters --------------------------------------------------------------

#[derive(Default)]
struct MetadataFilter {
    table_names: bool,
    commands: bool,
    comments: bool,
    replace_digits: bool,
    md: SqlMetadata,
    seen_tables: Vec<String>,
}

impl MetadataFilter {
    fn filter<'a>(&mut self, token: Tok, last: Tok, buf: Buf<'a>) -> (Tok, Buf<'a>) {
        let bytes = buf.as_deref().unwrap_or_default();
        if self.comments && token == Tok::Comment {
            let c = String::from_utf8_lossy(bytes).replace('\n', " ").trim().to_owned();
            self.md.size += c.len() as i64;
            self.md.comments.push(c);
        }
        if self.commands {
            if let Some(c) = command_name(token) {
                self.md.size += c.len() as i64;
                self.md.commands.push(c.to_owned());
            }
        }
        if self.table_names {
            let is_table = match last {
                // SELECT ... FROM t, ... JOIN t: only if it starts with a letter
                // (FROM (SELECT ...) is a subquery).
                Tok::From | Tok::Join => String::from_utf8_lossy(bytes)
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_alphabetic()),
                Tok::Update | Tok::Into => true,
                _ => false,
            };
            if is_table {
                let name = if self.replace_digits {
                    replace_digits(bytes)
                } else {
                    bytes.to_vec()
                };
                self.store_table(String::from_utf8_lossy(&name).into_owned());
                return (Tok::TableName, buf);
            }
        }
        (token, buf)
    }

    fn store_table(&mut self, name: String) {
        if self.seen_tables.contains(&name) {
            return;
        }
        if !self.md.tables_csv.is_empty() {
            self.md.size += 1;
            self.md.tables_csv.push(',');
        }
        self.md.size += name.len() as i64;
        self.md.tables_csv.push_str(&name);
        self.seen_tables.push(name);
    }
}

fn mark_filtered_groupable(t: Tok) -> Tok {
    if t == Tok::Char('(') {
        Tok::FilteredGroupableParenthesis
    } else {
        Tok::FilteredGroupable
    }
}

fn is_filtered_groupable(t: Tok) -> bool {
    matches!(t, Tok::FilteredGroupable | Tok::FilteredGroupableParenthesis)
}

fn discard_filter<'a>(keep_alias: bool, token: Tok, last: Tok, buf: Buf<'a>) -> Result<(Tok, Buf<'a>), String> {
    match last {
        Tok::FilteredBracketedIdentifier if token != Tok::Char(']') => {
            // Inside an MSSQL [bracketed identifier] after AS: keep discarding.
            if token != Tok::Id {
                return Err(format!("expected identifier in bracketed filter, got {token:?}"));
            }
            return Ok((Tok::FilteredBracketedIdentifier, None));
        }
        Tok::FilteredBracketedIdentifier | Tok::As => {
            if token == Tok::Char('[') {
                return Ok((Tok::FilteredBracketedIdentifier, None));
            }
            if keep_alias {
                return Ok((token, buf));
            }
            return Ok((Tok::Filtered, None));
        }
        _ => {}
    }
    Ok(match token {
        Tok::Comment => (Tok::Filtered, None),
        Tok::Char(';') => (mark_filtered_groupable(token), None),
        Tok::As if !keep_alias => (Tok::As, None),
        _ => (token, buf),
    })
}

fn replace_filter<'a>(replace_digits_opt: bool, token: Tok, last: Tok, buf: Buf<'a>) -> (Tok, Buf<'a>) {
    let q = || Some(Cow::Borrowed(&b"?"[..]));
    if last == Tok::Savepoint || (last == Tok::Char('=') && token == Tok::DoubleQuotedString) {
        return (mark_filtered_groupable(token), q());
    }
    match token {
        Tok::DollarQuotedString
        | Tok::String
        | Tok::Number
        | Tok::Null
        | Tok::Variable
        | Tok::PreparedStatement
        | Tok::BooleanLiteral
        | Tok::EscapeSequence
        | Tok::Char('?') => (mark_filtered_groupable(token), q()),
        Tok::TableName | Tok::Id if replace_digits_opt => {
            let b = buf.map(|b| Cow::Owned(replace_digits(&b)));
            (token, b)
        }
        _ => (token, buf),
    }
}

#[derive(Default)]
struct GroupingFilter {
    group_filter: u32,
    group_multi: u32,
}

impl GroupingFilter {
    fn filter<'a>(&mut self, token: Tok, last: Tok, buf: Buf<'a>) -> (Tok, Buf<'a>) {
        if (last == Tok::Char('(') && is_filtered_groupable(token)) || (token == Tok::Char('(') && self.group_multi > 0)
        {
            self.group_multi += 1;
        }
        let starts_subquery = matches!(token, Tok::Select | Tok::Delete | Tok::Update | Tok::Id);
        if self.group_multi > 0 && last == Tok::FilteredGroupableParenthesis && starts_subquery {
            // A nested query, not a group of values: cancel the grouping.
            self.reset();
            let mut b = b"( ".to_vec();
            b.extend_from_slice(buf.as_deref().unwrap_or_default());
            return (token, Some(Cow::Owned(b)));
        }
        if is_filtered_groupable(token) {
            self.group_filter += 1;
            if self.group_filter > 1 {
                return (mark_filtered_groupable(token), None);
            }
        } else if (self.group_filter > 0 && matches!(token, Tok::Char(',') | Tok::Char('?'))) || self.group_multi > 1 {
            // Inside a group: a separator, or a token of a repeated group.
            return (mark_filtered_groupable(token), None);
        } else if !matches!(token, Tok::Char(',') | Tok::Char('(') | Tok::Char(')')) {
            self.reset();
        }
        (token, buf)
    }

    fn reset(&mut self) {
        self.group_filter = 0;
        self.group_multi = 0;
    }
}

/// `attemptObfuscation`: run the tokenizer through the filter chain.
fn attempt(tok: &mut Tokenizer<'_>) -> Result<ObfuscatedQuery, String> {
    let opts = tok.opts;
    let mut out: Vec<u8> = Vec::with_capacity(tok.src.len());
    let mut last = Tok::None;
    let mut metadata = MetadataFilter {
        table_names: opts.table_names,
        commands: opts.collect_commands,
        comments: opts.collect_comments,
        replace_digits: opts.replace_digits,
        ..Default::default()
    };
    let mut grouping = GroupingFilter::default();
    loop {
        let (token, buf) = tok.scan();
        if token == Tok::End {
            break;
        }
        if token == Tok::LexError {
            return Err(tok.err.clone().unwrap_or_else(|| "unknown lexing error".into()));
        }
        let (token, buf) = metadata.filter(token, last, buf);
        let (token, buf) = discard_filter(opts.keep_sql_alias, token, last, buf)?;
        let (token, buf) = replace_filter(opts.replace_digits, token, last, buf);
        let (token, buf) = grouping.filter(token, last, buf);
        if let Some(b) = buf {
            if !out.is_empty() {
                let space = match token {
                    Tok::Char(',') => false,
                    Tok::Char('=') => last != Tok::Char(':'),
                    _ => true,
                };
                if space {
                    out.push(b' ');
                }
            }
            out.extend_from_slice(&b);
        }
        last = token;
    }
    if out.is_empty() {
        return Err("result is empty".into());
    }
    Ok(ObfuscatedQuery {
        query: String::from_utf8_lossy(&out).into_owned(),
        metadata: metadata.md,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obf(q: &str) -> String {
        obfuscate_sql(q, "").unwrap_or_else(|e| panic!("{q:?}: {e}"))
    }

    fn with(q: &str, opts: &SqlOptions) -> ObfuscatedQuery {
        obfuscate_sql_with_options(q, opts).unwrap_or_else(|e| panic!("{q:?}: {e}"))
    }

    #[test]
    fn rtloader_test_case() {
        assert_eq!(
            obf("select * from table where id = 1"),
            "select * from table where id = ?"
        );
    }

    #[test]
    fn replaces_literals() {
        for (q, want) in [
            (
                "SELECT * FROM t WHERE name = 'bob' AND age > 42",
                "SELECT * FROM t WHERE name = ? AND age > ?",
            ),
            (
                "SELECT * FROM t WHERE a = 1.5e10 OR b = -3 OR c = .5",
                "SELECT * FROM t WHERE a = ? OR b = ? OR c = ?",
            ),
            ("SELECT * FROM t WHERE h = 0xDEADbeef", "SELECT * FROM t WHERE h = ?"),
            (
                "SELECT * FROM t WHERE x IS NULL AND ok = TRUE AND no = false",
                "SELECT * FROM t WHERE x IS ? AND ok = ? AND no = ?",
            ),
            ("SELECT * FROM t WHERE s = 'it''s'", "SELECT * FROM t WHERE s = ?"),
            ("SELECT * FROM t WHERE s = 'a\\'b'", "SELECT * FROM t WHERE s = ?"),
            (
                "SELECT * FROM t WHERE id = $1 AND n = %s AND m = %(name)s",
                "SELECT * FROM t WHERE id = ? AND n = ? AND m = ?",
            ),
            // Consecutive values collapse, commas included.
            ("SELECT $tag$secret 'x'$tag$, $$also$$", "SELECT ?"),
            ("SAVEPOINT my_savepoint", "SAVEPOINT ?"),
            ("UPDATE t SET a = \"quoted\"", "UPDATE t SET a = ?"),
            ("SELECT {fn NOW()} FROM t", "SELECT ? FROM t"),
        ] {
            assert_eq!(obf(q), want, "{q}");
        }
    }

    #[test]
    fn groups_value_lists() {
        for (q, want) in [
            (
                "SELECT * FROM t WHERE id IN (1, 2, 3)",
                "SELECT * FROM t WHERE id IN ( ? )",
            ),
            (
                "INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y')",
                "INSERT INTO t ( a, b ) VALUES ( ? )",
            ),
            (
                "SELECT * FROM t WHERE a = ARRAY[?, ?, ?]",
                "SELECT * FROM t WHERE a = ARRAY [ ? ]",
            ),
            (
                "SELECT * FROM t WHERE id IN (SELECT id FROM u WHERE x = 1)",
                "SELECT * FROM t WHERE id IN ( SELECT id FROM u WHERE x = ? )",
            ),
        ] {
            assert_eq!(obf(q), want, "{q}");
        }
    }

    #[test]
    fn keeps_identifiers_drops_comments_and_aliases() {
        assert_eq!(
            obf("SELECT u.name AS n, `weird col` -- trailing\nFROM \"Users\" u /* block */ WHERE u.id=4;"),
            "SELECT u.name, weird col FROM Users u WHERE u.id = ?"
        );
        assert_eq!(obf("SELECT a::text FROM t"), "SELECT a :: text FROM t");
        assert_eq!(
            obf("SELECT * FROM t WHERE a <> 1 AND b != 2 AND c <= 3"),
            "SELECT * FROM t WHERE a <> ? AND b != ? AND c <= ?"
        );
        assert_eq!(
            obf("autovacuum: VACUUM ANALYZE fake.table"),
            "autovacuum : VACUUM ANALYZE fake.table"
        );
    }

    #[test]
    fn agent_keep_sql_alias_case() {
        let q = "SELECT username AS person FROM users WHERE id=4";
        assert_eq!(obf(q), "SELECT username FROM users WHERE id = ?");
        let o = SqlOptions {
            keep_sql_alias: true,
            ..Default::default()
        };
        assert_eq!(with(q, &o).query, "SELECT username AS person FROM users WHERE id = ?");
    }

    #[test]
    fn agent_dollar_quoted_func_cases() {
        let q = "SELECT $func$INSERT INTO table VALUES ('a', 1, 2)$func$ FROM users";
        assert_eq!(obf(q), "SELECT ? FROM users");
        let o = SqlOptions {
            dollar_quoted_func: true,
            ..Default::default()
        };
        assert_eq!(
            with(q, &o).query,
            "SELECT $func$INSERT INTO table VALUES ( ? )$func$ FROM users"
        );
    }

    #[test]
    fn agent_metadata_cases() {
        let all = SqlOptions {
            table_names: true,
            collect_commands: true,
            collect_comments: true,
            ..Default::default()
        };
        let q = "\n/* Multi-line comment */\nSELECT * FROM clients WHERE (clients.first_name = 'Andy') LIMIT 1 BEGIN INSERT INTO owners (created_at, first_name, locked, orders_count, updated_at) VALUES ('2011-08-30 05:22:57', 'Andy', 1, NULL, '2011-08-30 05:22:57') COMMIT";
        let r = with(q, &all);
        assert_eq!(
            r.query,
            "SELECT * FROM clients WHERE ( clients.first_name = ? ) LIMIT ? BEGIN INSERT INTO owners ( created_at, first_name, locked, orders_count, updated_at ) VALUES ( ? ) COMMIT"
        );
        assert_eq!(r.metadata.tables_csv, "clients,owners");
        assert_eq!(r.metadata.commands, ["SELECT", "BEGIN", "INSERT", "COMMIT"]);
        assert_eq!(r.metadata.comments, ["/* Multi-line comment */"]);
        let expected_size = "clients,owners".len() + "SELECTBEGININSERTCOMMIT".len() + "/* Multi-line comment */".len();
        assert_eq!(r.metadata.size, expected_size as i64);

        let q = "\n-- Single line comment\n-- Another single line comment\n-- Another another single line comment\nGRANT USAGE, DELETE ON SCHEMA datadog TO datadog";
        let r = with(q, &all);
        assert_eq!(r.query, "GRANT USAGE, DELETE ON SCHEMA datadog TO datadog");
        assert_eq!(r.metadata.commands, ["GRANT", "DELETE"]);
        assert_eq!(r.metadata.comments.len(), 3);
        assert_eq!(r.metadata.comments[0], "-- Single line comment");

        let digits = SqlOptions {
            replace_digits: true,
            ..all.clone()
        };
        let r = with("SELECT * FROM (VALUES (1, 'dog')) AS d (id, animal)", &digits);
        assert_eq!(r.query, "SELECT * FROM ( VALUES ( ? ) ) ( id, animal )");
        assert_eq!(r.metadata.tables_csv, "");
        let r = with(
            "SELECT sf2.* FROM gosalesdw28391.sls_order_method_dim AS md JOIN t1 ON x = 5",
            &digits,
        );
        assert_eq!(
            r.query,
            "SELECT sf?.* FROM gosalesdw?.sls_order_method_dim JOIN t? ON x = ?"
        );
        assert_eq!(r.metadata.tables_csv, "gosalesdw?.sls_order_method_dim,t?");

        let r = with(
            "CREATE TRIGGER dogwatcher SELECT ON w1 BEFORE (UPDATE d1 SET (c1, c2, c3) = (c1 + 1, c2 + 1, c3 + 1))",
            &SqlOptions {
                collect_comments: false,
                ..all
            },
        );
        assert_eq!(
            r.query,
            "CREATE TRIGGER dogwatcher SELECT ON w1 BEFORE ( UPDATE d1 SET ( c1, c2, c3 ) = ( c1 + ? c2 + ? c3 + ? ) )"
        );
        assert_eq!(r.metadata.tables_csv, "d1");
        assert_eq!(r.metadata.commands, ["CREATE", "SELECT", "UPDATE"]);
    }

    #[test]
    fn agent_utf8_case() {
        assert_eq!(
            obf("SELECT Codi , Nom_CA AS Nom, Descripció_CAT AS Descripció FROM ProtValAptitud WHERE Vigent=1 ORDER BY Ordre, Codi"),
            "SELECT Codi, Nom_CA, Descripció_CAT FROM ProtValAptitud WHERE Vigent = ? ORDER BY Ordre, Codi"
        );
    }

    #[test]
    fn agent_mssql_dollar_identifier_case() {
        let q = "MERGE INTO Employees AS target USING EmployeeUpdates AS source ON (target.EmployeeID = source.EmployeeID) WHEN MATCHED THEN UPDATE SET target.Name = source.Name OUTPUT $action, inserted.*, deleted.*;";
        let o = SqlOptions {
            dbms: "mssql".into(),
            ..Default::default()
        };
        assert_eq!(
            with(q, &o).query,
            "MERGE INTO Employees USING EmployeeUpdates ON ( target.EmployeeID = source.EmployeeID ) WHEN MATCHED THEN UPDATE SET target.Name = source.Name OUTPUT $action, inserted.*, deleted.*"
        );
    }

    #[test]
    fn postgres_json_operators() {
        let o = SqlOptions {
            dbms: "postgresql".into(),
            ..Default::default()
        };
        assert_eq!(
            with(
                "SELECT data->>'name', data #> '{a}' FROM t WHERE data @> '{\"x\": 1}' AND data ? 'k'",
                &o
            )
            .query,
            "SELECT data ->> ? data #> ? FROM t WHERE data @> ? AND data ? ?"
        );
    }

    #[test]
    fn errors_are_clear_never_pass_through() {
        assert_eq!(obfuscate_sql("", "").unwrap_err(), "result is empty");
        assert_eq!(obfuscate_sql("  -- only a comment", "").unwrap_err(), "result is empty");
        let e = obfuscate_sql("SELECT 'unterminated", "").unwrap_err();
        assert!(e.contains("unexpected EOF in string"), "{e}");
        assert!(e.starts_with("at position"), "{e}");
        let e = obfuscate_sql("SELECT /* open", "").unwrap_err();
        assert!(e.contains("unexpected EOF in comment"), "{e}");
        let e = obfuscate_sql("SELECT } FROM t", "").unwrap_err();
        assert!(e.contains("unexpected byte 125"), "{e}");
        let e = obfuscate_sql("SELECT $$abc", "").unwrap_err();
        assert!(e.contains("dollar-quoted"), "{e}");
        assert!(obfuscate_sql("select 1", "{not json")
            .unwrap_err()
            .contains("invalid obfuscation options"));
        assert!(obfuscate_sql("select 1", "{\"table_names\": 1}")
            .unwrap_err()
            .contains("must be a boolean"));
        assert!(
            obfuscate_sql("select 1", "{\"obfuscation_mode\": \"obfuscate_and_normalize\"}")
                .unwrap_err()
                .contains("not supported")
        );
        assert_eq!(
            obfuscate_sql("select 1", "{\"obfuscation_mode\": \"bogus\"}").unwrap_err(),
            "invalid obfuscation mode: bogus"
        );
    }

    #[test]
    fn backslash_failure_is_retried_literally() {
        // With backslash escapes the string never ends; read literally it does.
        assert_eq!(
            obf("SELECT * FROM t WHERE p = 'C:\\' AND q = 1"),
            "SELECT * FROM t WHERE p = ? AND q = ?"
        );
    }

    #[test]
    fn options_json_and_metadata_json() {
        let o = SqlOptions::from_json(
            r#"{"DBMS": "postgresql", "Table_Names": true, "collect_commands": true, "return_json_metadata": true, "unknown": [1]}"#,
        )
        .unwrap();
        assert_eq!(o.dbms, "postgresql");
        assert!(o.table_names && o.collect_commands && o.return_json_metadata && !o.collect_comments);
        let out = obfuscate_sql(
            "SELECT * FROM users WHERE id = 123 AND name = 'alice'",
            r#"{"table_names": true, "collect_commands": true, "return_json_metadata": true}"#,
        )
        .unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            v.get("query").and_then(Value::as_str),
            Some("SELECT * FROM users WHERE id = ? AND name = ?")
        );
        let md = v.get("metadata").unwrap();
        assert_eq!(md.get("tables_csv").and_then(Value::as_str), Some("users"));
        assert_eq!(md.get("commands"), Some(&Value::Array(vec!["SELECT".into()])));
        assert_eq!(md.get("comments"), Some(&Value::Null));
        assert_eq!(md.get("Size"), Some(&Value::Int(11)));
    }

    /// Cases from the Agent's `TestSQLQuantizer` (default options).
    #[test]
    fn agent_quantizer_cases() {
        let cases: &[(&str, &str)] = &[
            ("select * from users where float = .43422", "select * from users where float = ?"),
            ("SELECT host, status FROM ec2_status WHERE org_id=42", "SELECT host, status FROM ec2_status WHERE org_id = ?"),
            ("-- get user \n--\n select * \n   from users \n    where\n       id = 214325346", "select * from users where id = ?"),
            (
                "SELECT * FROM `host` WHERE `id` IN (42, 43) /*comment with parameters,host:localhost,url:controller#home,id:FF005:00CAA*/",
                "SELECT * FROM host WHERE id IN ( ? )",
            ),
            ("SELECT `host`.`address` FROM `host` WHERE org_id=42", "SELECT host . address FROM host WHERE org_id = ?"),
            (r#"SELECT "host"."address" FROM "host" WHERE org_id=42"#, "SELECT host . address FROM host WHERE org_id = ?"),
            (
                "UPDATE user_dash_pref SET json_prefs = %(json_prefs)s, modified = '2015-08-27 22:10:32.492912' WHERE user_id = %(user_id)s AND url = %(url)s",
                "UPDATE user_dash_pref SET json_prefs = ? modified = ? WHERE user_id = ? AND url = ?",
            ),
            (
                "SELECT DISTINCT host.id AS host_id FROM host JOIN host_alias ON host_alias.host_id = host.id WHERE host.org_id = %(org_id_1)s AND host.name NOT IN (%(name_1)s) AND host.name IN (%(name_2)s, %(name_3)s, %(name_4)s, %(name_5)s)",
                "SELECT DISTINCT host.id FROM host JOIN host_alias ON host_alias.host_id = host.id WHERE host.org_id = ? AND host.name NOT IN ( ? ) AND host.name IN ( ? )",
            ),
            (
                "SELECT org_id, metric_key   FROM metrics_metadata   WHERE org_id = %(org_id)s AND metric_key = ANY(array[21, 25, 32])",
                "SELECT org_id, metric_key FROM metrics_metadata WHERE org_id = ? AND metric_key = ANY ( array [ ? ] )",
            ),
            ("SELECT articles.* FROM articles WHERE articles.id = 1 LIMIT 15,20;", "SELECT articles.* FROM articles WHERE articles.id = ? LIMIT ?"),
            (
                "SELECT articles.* FROM articles WHERE (articles.created_at BETWEEN $1 AND $2)",
                "SELECT articles.* FROM articles WHERE ( articles.created_at BETWEEN ? AND ? )",
            ),
            ("SELECT articles.* FROM articles WHERE ( title = ? ) AND ( author = ? )", "SELECT articles.* FROM articles WHERE ( title = ? ) AND ( author = ? )"),
            ("SELECT articles.* FROM articles WHERE ( title = :title )", "SELECT articles.* FROM articles WHERE ( title = :title )"),
            ("SELECT articles.* FROM articles WHERE ( title = @title )", "SELECT articles.* FROM articles WHERE ( title = @title )"),
            (
                "SELECT date(created_at) as ordered_date, sum(price) as total_price FROM orders GROUP BY date(created_at) HAVING sum(price) > 100",
                "SELECT date ( created_at ), sum ( price ) FROM orders GROUP BY date ( created_at ) HAVING sum ( price ) > ?",
            ),
            ("SAVEPOINT \"s139956586256192_x1\"", "SAVEPOINT ?"),
            (
                "INSERT INTO user (id, username) VALUES ('Fred','Smith'), ('John','Smith'), ('Michael','Smith'), ('Robert','Smith');",
                "INSERT INTO user ( id, username ) VALUES ( ? )",
            ),
            (
                "CREATE KEYSPACE Excelsior WITH replication = {'class': 'SimpleStrategy', 'replication_factor' : 3};",
                "CREATE KEYSPACE Excelsior WITH replication = ?",
            ),
            (
                "SELECT server_table.host AS host_id FROM table#.host_tags as server_table WHERE server_table.host_id = 50",
                "SELECT server_table.host FROM table#.host_tags WHERE server_table.host_id = ?",
            ),
            ("* SELECT * FROM fake_data(1, 2, 3);", "* SELECT * FROM fake_data ( ? )"),
            (
                "CREATE FUNCTION add(integer, integer) RETURNS integer\n AS 'select $1 + $2;'\n LANGUAGE SQL\n IMMUTABLE\n RETURNS NULL ON NULL INPUT;",
                "CREATE FUNCTION add ( integer, integer ) RETURNS integer LANGUAGE SQL IMMUTABLE RETURNS ? ON ? INPUT",
            ),
            ("SELECT * FROM public.table ( array [ ROW ( array [ 'magic', 'foo',", "SELECT * FROM public.table ( array [ ROW ( array [ ?"),
            ("SELECT pg_try_advisory_lock (123) AS t46eef3f025cc27feb31ca5a2d668a09a", "SELECT pg_try_advisory_lock ( ? )"),
            ("INSERT INTO `qual-aa`.issues (alert0 , alert1) VALUES (NULL, NULL)", "INSERT INTO qual-aa . issues ( alert0, alert1 ) VALUES ( ? )"),
            ("select * from users where id = 214325346     # This comment continues to the end of line", "select * from users where id = ?"),
            ("SELECT /*! STRAIGHT_JOIN */ col1 FROM table1", "SELECT col1 FROM table1"),
            (
                "DELETE FROM t1\n\t\t\tWHERE s11 > ANY\n\t\t\t(SELECT COUNT(*) /* no hint */ FROM t2\n\t\t\tWHERE NOT EXISTS\n\t\t\t(SELECT * FROM t3\n\t\t\tWHERE ROW(5*t2.s1,77)=\n\t\t\t(SELECT 50,11*s1 FROM t4 UNION SELECT 50,77 FROM\n\t\t\t(SELECT * FROM t5) AS t5)));",
                "DELETE FROM t1 WHERE s11 > ANY ( SELECT COUNT ( * ) FROM t2 WHERE NOT EXISTS ( SELECT * FROM t3 WHERE ROW ( ? * t2.s1, ? ) = ( SELECT ? * s1 FROM t4 UNION SELECT ? FROM ( SELECT * FROM t5 ) ) ) )",
            ),
            ("SET @g = 'POLYGON((0 0,10 0,10 10,0 10,0 0),(5 5,7 5,7 7,5 7, 5 5))';", "SET @g = ?"),
            (
                "SELECT daily_values.*, LEAST((5040000 - @runtot), value) AS value, (@runtot := @runtot + daily_values.value) AS total FROM (SELECT @runtot:=0) AS n, `daily_values`  WHERE `daily_values`.`subject_id` = 12345 AND `daily_values`.`subject_type` = 'Skippity' AND (daily_values.date BETWEEN '2018-05-09' AND '2018-06-19') HAVING value >= 0 ORDER BY date",
                "SELECT daily_values.*, LEAST ( ( ? - @runtot ), value ), ( @runtot := @runtot + daily_values.value ) FROM ( SELECT @runtot := ? ), daily_values WHERE daily_values . subject_id = ? AND daily_values . subject_type = ? AND ( daily_values.date BETWEEN ? AND ? ) HAVING value >= ? ORDER BY date",
            ),
            (
                "SELECT [b].[BlogId], [b].[Name]\nFROM [Blogs] AS [b]\nORDER BY [b].[Name]",
                "SELECT [ b ] . [ BlogId ], [ b ] . [ Name ] FROM [ Blogs ] ORDER BY [ b ] . [ Name ]",
            ),
            ("SELECT * FROM users WHERE firstname=''", "SELECT * FROM users WHERE firstname = ?"),
            ("SELECT * FROM users WHERE lastname=\"\t \"", "SELECT * FROM users WHERE lastname = ?"),
            (
                r#"INSERT INTO delayed_jobs (attempts, created_at, failed_at, handler, last_error, locked_at, locked_by, priority, queue, run_at, updated_at) VALUES (0, '2016-12-04 17:09:59', NULL, '--- !ruby/object:Delayed::PerformableMethod\nobject: !ruby/object:Item\n  store:\n  - a simple string\n  - an \'escaped \' string\n  - another \'escaped\' string\n  - 42\n  string: a string with many \\\\\'escapes\\\\\'\nmethod_name: :show_store\nargs: []\n', NULL, NULL, NULL, 0, NULL, '2016-12-04 17:09:59', '2016-12-04 17:09:59')"#,
                "INSERT INTO delayed_jobs ( attempts, created_at, failed_at, handler, last_error, locked_at, locked_by, priority, queue, run_at, updated_at ) VALUES ( ? )",
            ),
        ];
        for (q, want) in cases {
            assert_eq!(obf(q), *want, "{q}");
        }
    }

    /// Cases from the Agent's table-name tests (`table_names` + `replace_digits`).
    #[test]
    fn agent_table_name_cases() {
        let o = SqlOptions {
            table_names: true,
            replace_digits: true,
            ..Default::default()
        };
        let cases: &[(&str, &str, &str)] = &[
            (
                "REPLACE INTO sales_2019_07_01 (`itemID`, `date`, `qty`, `price`) VALUES ((SELECT itemID FROM item1001 WHERE `sku` = [sku]), CURDATE(), [qty], 0.00)",
                "sales_?_?_?,item?",
                "REPLACE INTO sales_?_?_? ( itemID, date, qty, price ) VALUES ( ( SELECT itemID FROM item? WHERE sku = [ sku ] ), CURDATE ( ), [ qty ], ? )",
            ),
            ("SELECT name FROM people WHERE person_id = -1", "people", "SELECT name FROM people WHERE person_id = ?"),
            ("select * from test where !is_good;", "test", "select * from test where ! is_good"),
            ("select * from test where !45;", "test", "select * from test where ! ?"),
            ("select * from test where !(select is_good from good_things);", "test,good_things", "select * from test where ! ( select is_good from good_things )"),
            ("select * from test where !\"weird_query\"", "test", "select * from test where ! weird_query"),
            ("select !- 2", "", "select ! - ?"),
            ("select !+2", "", "select ! + ?"),
            ("select count(*) as `count(*)` from test", "test", "select count ( * ) from test"),
            ("SELECT age as `age``}` FROM profile", "profile", "SELECT age FROM profile"),
            ("SELECT * from users where user_id =:0_USER", "users", "SELECT * from users where user_id = :0_USER"),
        ];
        for (q, tables, want) in cases {
            let r = with(q, &o);
            assert_eq!(r.query, *want, "{q}");
            assert_eq!(r.metadata.tables_csv, *tables, "{q}");
        }
    }

    #[test]
    fn replace_digits_runs() {
        assert_eq!(replace_digits(b"a12b3c"), b"a?b?c");
        assert_eq!(replace_digits(b"123"), b"?");
        assert_eq!(replace_digits(b"abc"), b"abc");
    }
}
