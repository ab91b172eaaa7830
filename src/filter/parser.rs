//! Tokens to a typed [`Expr`], by recursive descent:
//!
//! ```text
//! filter  = or
//! or      = and { ("||" | "or") and }
//! and     = unary { ("&&" | "and") unary }
//! unary   = ("!" | "not") unary | "(" or ")" | test
//! test    = FIELD [ CMP value | "contains" value | "in" "{" item { [","] item } "}" ]
//! item    = value [ ".." value ]
//! ```
//!
//! Each value is read as its field's type right away (an address for
//! `ip.src`, a number for `tcp.port`), so that a type error is a parse
//! error with a column, never a surprise on the thousandth packet.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::field::{self, Field, FieldType};
use super::lexer::{Spanned, Token, tokens};
use super::{ErrorKind, Expr, FilterError, SetItem, Test, Value};

/// Parses a whole filter.
pub fn parse(text: &str) -> Result<Expr, FilterError> {
    let tokens = tokens(text).map_err(|(column, m)| FilterError {
        column,
        kind: ErrorKind::Lex(m),
    })?;
    let mut p = Parser {
        tokens,
        at: 0,
        end: text.chars().count() + 1,
    };
    if p.tokens.is_empty() {
        return Err(p.expected("a field or '('", None));
    }
    let expr = p.or()?;
    if p.peek().is_some() {
        return Err(p.expected("'&&', '||' or the end of the filter", None));
    }
    Ok(expr)
}

struct Parser {
    tokens: Vec<Spanned>,
    at: usize,
    /// The column just past the text, where "end of filter" is.
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at).map(|s| &s.token)
    }

    fn column(&self) -> usize {
        self.tokens.get(self.at).map_or(self.end, |s| s.column)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).map(|s| s.token.clone());
        self.at += 1;
        t
    }

    /// "expected WHAT [after AFTER], found ..." at the current token.
    fn expected(&self, what: &'static str, after: Option<String>) -> FilterError {
        FilterError {
            column: self.column(),
            kind: ErrorKind::Expected {
                what,
                after,
                found: self.peek().map(Token::describe),
            },
        }
    }

    fn or(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.and()?;
        while self.peek() == Some(&Token::Or) {
            self.at += 1;
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.unary()?;
        while self.peek() == Some(&Token::And) {
            self.at += 1;
            let right = self.unary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, FilterError> {
        match self.peek() {
            Some(Token::Not) => {
                self.at += 1;
                Ok(Expr::Not(Box::new(self.unary()?)))
            }
            Some(Token::LParen) => {
                self.at += 1;
                let inner = self.or()?;
                if self.peek() != Some(&Token::RParen) {
                    return Err(self.expected("')'", None));
                }
                self.at += 1;
                Ok(inner)
            }
            Some(Token::Word(_)) => self.test(),
            _ => Err(self.expected("a field, '!' or '('", None)),
        }
    }

    fn test(&mut self) -> Result<Expr, FilterError> {
        let column = self.column();
        let Some(Token::Word(name)) = self.next() else {
            unreachable!("unary() saw a word")
        };
        // A value where a test should begin (`tcp.port == 80 || 443`).
        if name.starts_with(|c: char| c.is_ascii_digit() || c == ':') {
            self.at -= 1;
            return Err(self.expected("a field, '!' or '('", None));
        }
        let field = field_named(&name).map_err(|kind| FilterError { column, kind })?;
        let bad_op = |op: &Token, column: usize| FilterError {
            column,
            kind: ErrorKind::BadOperator {
                field,
                op: op.describe(),
            },
        };
        let op_column = self.column();
        let test = match self.peek().cloned() {
            Some(Token::Cmp(cmp)) => {
                let ty = field.ty();
                let unordered = !matches!(
                    ty,
                    FieldType::Unsigned(_) | FieldType::Ipv4 | FieldType::Ipv6
                );
                if matches!(ty, FieldType::Protocol | FieldType::Marker)
                    || (cmp.orders() && unordered)
                {
                    return Err(bad_op(&Token::Cmp(cmp), op_column));
                }
                self.at += 1;
                let value = self.value(field, format!("'{}'", cmp.symbol()))?;
                if cmp.orders()
                    && matches!(value, Value::Addr { addr, prefix } if prefix < full(addr))
                {
                    return Err(bad_op(&Token::Cmp(cmp), op_column));
                }
                Test::Compare { field, cmp, value }
            }
            Some(Token::Contains) => {
                if field.ty() != FieldType::Bytes {
                    return Err(bad_op(&Token::Contains, op_column));
                }
                self.at += 1;
                let Value::Bytes(bytes) = self.value(field, "'contains'".into())? else {
                    unreachable!("a bytes field reads bytes")
                };
                Test::Contains { field, bytes }
            }
            Some(Token::In) => {
                if matches!(
                    field.ty(),
                    FieldType::Protocol | FieldType::Marker | FieldType::Bytes
                ) {
                    return Err(bad_op(&Token::In, op_column));
                }
                self.at += 1;
                Test::In {
                    field,
                    set: self.set(field)?,
                }
            }
            _ => Test::Present(field),
        };
        Ok(Expr::Test(test))
    }

    /// `{a, b, c..d}`; commas are optional (Wireshark 3 wrote none).
    fn set(&mut self, field: Field) -> Result<Vec<SetItem>, FilterError> {
        if self.peek() != Some(&Token::LBrace) {
            return Err(self.expected("'{'", Some("'in'".into())));
        }
        self.at += 1;
        let mut items = Vec::new();
        loop {
            match self.peek() {
                Some(Token::RBrace) if !items.is_empty() => {
                    self.at += 1;
                    return Ok(items);
                }
                Some(Token::Comma) if !items.is_empty() => self.at += 1,
                _ => {}
            }
            let column = self.column();
            // `1..5` is one word to the lexer.
            if let Some(Token::Word(w)) = self.peek()
                && let Some((a, b)) = w.split_once("..")
            {
                let (a, b) = (a.to_string(), b.to_string());
                self.at += 1;
                let lo = word_value(field, &a).map_err(|kind| FilterError { column, kind })?;
                let hi = word_value(field, &b).map_err(|kind| FilterError { column, kind })?;
                items.push(SetItem::Range(lo, hi));
                continue;
            }
            if self.peek().is_none() {
                return Err(self.expected("a value or '}'", Some("'{'".into())));
            }
            items.push(SetItem::One(self.value(field, "'{'".into())?));
        }
    }

    /// The next token as a value of `field`'s type.
    fn value(&mut self, field: Field, after: String) -> Result<Value, FilterError> {
        let column = self.column();
        let bad = |value: String, why: String| FilterError {
            column,
            kind: ErrorKind::BadValue { field, value, why },
        };
        match self.peek().cloned() {
            Some(Token::Str(bytes)) => {
                self.at += 1;
                match field.ty() {
                    FieldType::Bytes => Ok(Value::Bytes(bytes)),
                    ty => Err(bad(
                        format!("\"{}\"", String::from_utf8_lossy(&bytes)),
                        format!(
                            "a string compares only with byte fields; write {}",
                            example(ty)
                        ),
                    )),
                }
            }
            Some(Token::Word(w)) => {
                self.at += 1;
                word_value(field, &w).map_err(|kind| FilterError { column, kind })
            }
            _ => Err(self.expected("a value", Some(after))),
        }
    }
}

/// The field a name stands for, or why there is none.
fn field_named(name: &str) -> Result<Field, ErrorKind> {
    if let Some(f) = Field::from_name(name) {
        return Ok(f);
    }
    if field::not_supported_yet(name) {
        return Err(ErrorKind::NotSupportedYet { name: name.into() });
    }
    Err(ErrorKind::UnknownField {
        name: name.into(),
        suggestion: field::closest(name),
    })
}

/// An example value of a type, for error messages.
fn example(ty: FieldType) -> &'static str {
    match ty {
        FieldType::Protocol => "the protocol's name alone",
        FieldType::Marker => "the field's name alone",
        FieldType::Unsigned(_) => "a number such as 80 or 0x50",
        FieldType::Bool => "1 or 0",
        FieldType::Ipv4 => "an address such as 127.0.0.1 or a network such as 10.0.0.0/8",
        FieldType::Ipv6 => "an address such as ::1 or a network such as fe80::/10",
        FieldType::Bytes => "\"text\" or bytes such as 66:65",
    }
}

/// A word (not a quoted string) read as a value of `field`'s type.
fn word_value(field: Field, w: &str) -> Result<Value, ErrorKind> {
    let ty = field.ty();
    let bad = |why: String| ErrorKind::BadValue {
        field,
        value: w.into(),
        why,
    };
    if let Some(f) = Field::from_name(w) {
        return Err(bad(format!(
            "{} is a field, and comparing two fields is not supported; write {}",
            f.name(),
            example(ty)
        )));
    }
    match ty {
        FieldType::Protocol | FieldType::Marker => Err(bad(format!("write {}", example(ty)))),
        FieldType::Unsigned(bits) => {
            let n = unsigned(w).ok_or_else(|| bad(format!("write {}", example(ty))))?;
            let max = if bits >= 64 {
                u64::MAX
            } else {
                (1u64 << bits) - 1
            };
            if n > max {
                return Err(bad(format!("the largest is {max}")));
            }
            Ok(Value::Unsigned(n))
        }
        FieldType::Bool => match w {
            "1" | "true" | "True" | "TRUE" => Ok(Value::Bool(true)),
            "0" | "false" | "False" | "FALSE" => Ok(Value::Bool(false)),
            _ => Err(bad(format!("write {}", example(ty)))),
        },
        FieldType::Ipv4 | FieldType::Ipv6 => {
            let (text, prefix) = match w.split_once('/') {
                Some((a, p)) => (a, Some(p)),
                None => (w, None),
            };
            let addr: IpAddr = match ty {
                FieldType::Ipv4 => match text.parse::<Ipv4Addr>() {
                    Ok(a) => a.into(),
                    Err(_) if text.parse::<Ipv6Addr>().is_ok() => {
                        return Err(bad(
                            "that is an IPv6 address: IPv6 fields are ipv6.addr, ipv6.src and ipv6.dst".into(),
                        ));
                    }
                    Err(_) => return Err(bad(format!("write {}", example(ty)))),
                },
                _ => match text.parse::<Ipv6Addr>() {
                    Ok(a) => a.into(),
                    Err(_) if text.parse::<Ipv4Addr>().is_ok() => {
                        return Err(bad(
                            "that is an IPv4 address: IPv4 fields are ip.addr, ip.src and ip.dst"
                                .into(),
                        ));
                    }
                    Err(_) => return Err(bad(format!("write {}", example(ty)))),
                },
            };
            let prefix = match prefix {
                None => full(addr),
                Some(p) => p
                    .parse::<u8>()
                    .ok()
                    .filter(|p| *p <= full(addr))
                    .ok_or_else(|| bad(format!("a prefix length is 0 to {}", full(addr))))?,
            };
            Ok(Value::Addr { addr, prefix })
        }
        FieldType::Bytes => hex_bytes(w)
            .map(Value::Bytes)
            .ok_or_else(|| bad(format!("write {}", example(ty)))),
    }
}

/// An address's length in bits: its prefix when it names one host.
pub(super) fn full(addr: IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// `80`, `0x50`, or (as in C and Wireshark) octal with a leading zero.
fn unsigned(w: &str) -> Option<u64> {
    if let Some(hex) = w.strip_prefix("0x").or_else(|| w.strip_prefix("0X")) {
        return u64::from_str_radix(hex, 16).ok();
    }
    if w.len() > 1
        && let Some(oct) = w.strip_prefix('0')
    {
        return u64::from_str_radix(oct, 8).ok();
    }
    w.parse().ok()
}

/// `66:65:6e:67` (or with `-` or `.` between bytes), or one byte `66`.
fn hex_bytes(w: &str) -> Option<Vec<u8>> {
    let sep = [':', '-', '.'].into_iter().find(|s| w.contains(*s));
    let parts: Vec<&str> = match sep {
        Some(s) => w.split(s).collect(),
        None => vec![w],
    };
    parts
        .iter()
        .map(|p| {
            (p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()))
                .then(|| u8::from_str_radix(p, 16).ok())
                .flatten()
        })
        .collect()
}
