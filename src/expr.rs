//! The small expression language of lab files.
//!
//! Lab files stay declarative, but a few values depend on knobs: a step runs
//! only `when = "abort"`, a send offers `size = "${total - first}"` bytes, an
//! expectation holds `when = "delay_ms >= 50 && recv1 >= 9"`. This module
//! parses and evaluates exactly that: integers, booleans, strings in single
//! quotes, names (knobs and values saved by earlier steps), `! - * / % + -
//! < <= > >= == != && ||` with the usual precedence, and parentheses.
//!
//! Templates are strings where `${expr}` is replaced by the value of `expr`;
//! a template that is exactly one `${expr}` keeps the value's type.

use std::collections::BTreeMap;
use std::fmt;

/// A value in an expression: what knobs and saved results hold.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Value {
    Int(i64),
    Bool(bool),
    Str(String),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(n) => write!(f, "{n}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Str(s) => write!(f, "{s}"),
        }
    }
}

impl Value {
    /// A short name of the type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Int(_) => "integer",
            Value::Bool(_) => "boolean",
            Value::Str(_) => "string",
        }
    }
}

/// Names an expression may use, and their values.
pub type Scope = BTreeMap<String, Value>;

/// Evaluates `src` in `scope`.
pub fn eval(src: &str, scope: &Scope) -> Result<Value, String> {
    let tokens = lex(src)?;
    let mut p = Parser {
        tokens: &tokens,
        pos: 0,
        depth: 0,
        scope,
    };
    let v = p.or()?;
    match p.tokens.get(p.pos) {
        None => Ok(v),
        Some(t) => Err(format!("unexpected `{t}` in `{src}`")),
    }
}

/// Evaluates `src` and requires a boolean.
pub fn eval_bool(src: &str, scope: &Scope) -> Result<bool, String> {
    match eval(src, scope)? {
        Value::Bool(b) => Ok(b),
        other => Err(format!(
            "`{src}` is a {}, expected true or false",
            other.type_name()
        )),
    }
}

/// Expands `${expr}` in a template. A template that is a single `${expr}`
/// returns that value with its own type; anything else gives a string.
pub fn expand(template: &str, scope: &Scope) -> Result<Value, String> {
    let trimmed = template.trim();
    if let Some(inner) = trimmed.strip_prefix("${").and_then(|s| s.strip_suffix('}'))
        && !inner.contains('}')
    {
        return eval(inner, scope);
    }
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("`${{` without a closing `}}` in `{template}`"))?;
        out.push_str(&eval(&after[..end], scope)?.to_string());
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(Value::Str(out))
}

/// The names an expression refers to (to validate lab files before
/// running them).
pub fn names(src: &str) -> Result<Vec<String>, String> {
    Ok(lex(src)?
        .into_iter()
        .filter_map(|t| match t {
            Token::Name(n) if n != "true" && n != "false" => Some(n),
            _ => None,
        })
        .collect())
}

/// The names the `${...}` parts of a template refer to.
pub fn template_names(template: &str) -> Result<Vec<String>, String> {
    let mut all = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("`${{` without a closing `}}` in `{template}`"))?;
        all.extend(names(&after[..end])?);
        rest = &after[end + 1..];
    }
    Ok(all)
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Int(i64),
    Str(String),
    Name(String),
    Op(&'static str),
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Int(n) => write!(f, "{n}"),
            Token::Str(s) => write!(f, "'{s}'"),
            Token::Name(n) => write!(f, "{n}"),
            Token::Op(o) => write!(f, "{o}"),
        }
    }
}

const OPS: [&str; 19] = [
    "&&", "||", "==", "!=", "<=", ">=", "<", ">", "!", "+", "-", "*", "/", "%", "(", ")", ",", "=",
    "&",
];

fn lex(src: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let bytes = src.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'_') {
                i += 1;
            }
            let digits = src[start..i].replace('_', "");
            let n = digits
                .parse()
                .map_err(|_| format!("number `{}` is too large", &src[start..i]))?;
            tokens.push(Token::Int(n));
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            tokens.push(Token::Name(src[start..i].to_string()));
        } else if c == b'\'' {
            let end = src[i + 1..]
                .find('\'')
                .ok_or_else(|| format!("unclosed string in `{src}`"))?;
            tokens.push(Token::Str(src[i + 1..i + 1 + end].to_string()));
            i += end + 2;
        } else {
            let op = OPS
                .iter()
                .find(|op| src[i..].starts_with(**op))
                .ok_or_else(|| {
                    format!(
                        "unexpected `{}` in `{src}`",
                        &src[i..].chars().next().unwrap_or(' ')
                    )
                })?;
            if *op == "=" || *op == "&" {
                return Err(format!("`{op}` in `{src}`: did you mean `{op}{op}`?"));
            }
            tokens.push(Token::Op(op));
            i += op.len();
        }
    }
    Ok(tokens)
}

/// How deeply parentheses, `min(...)`, `max(...)` and `!`/`-` may nest.
/// Each level is a few nested calls of the parser: without a bound, a lab
/// file holding `((((...` a few thousand deep overflows the stack.
const MAX_DEPTH: usize = 64;

struct Parser<'a> {
    tokens: &'a [Token],
    pos: usize,
    /// How many levels of nesting the parser is in.
    depth: usize,
    scope: &'a Scope,
}

impl Parser<'_> {
    /// Runs `parse` one nesting level deeper, or refuses past [`MAX_DEPTH`].
    fn nested(
        &mut self,
        parse: impl FnOnce(&mut Self) -> Result<Value, String>,
    ) -> Result<Value, String> {
        if self.depth >= MAX_DEPTH {
            return Err(format!("expression nested more than {MAX_DEPTH} deep"));
        }
        self.depth += 1;
        let value = parse(self);
        self.depth -= 1;
        value
    }

    fn eat(&mut self, op: &str) -> bool {
        if matches!(self.tokens.get(self.pos), Some(Token::Op(o)) if *o == op) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Value, String> {
        let mut v = self.and()?;
        while self.eat("||") {
            let r = self.and()?;
            v = Value::Bool(as_bool(&v)? || as_bool(&r)?);
        }
        Ok(v)
    }

    fn and(&mut self) -> Result<Value, String> {
        let mut v = self.cmp()?;
        while self.eat("&&") {
            let r = self.cmp()?;
            v = Value::Bool(as_bool(&v)? && as_bool(&r)?);
        }
        Ok(v)
    }

    fn cmp(&mut self) -> Result<Value, String> {
        let l = self.sum()?;
        for op in ["==", "!=", "<=", ">=", "<", ">"] {
            if self.eat(op) {
                let r = self.sum()?;
                if std::mem::discriminant(&l) != std::mem::discriminant(&r) {
                    return Err(format!(
                        "cannot compare {} `{l}` with {} `{r}`",
                        l.type_name(),
                        r.type_name()
                    ));
                }
                let b = match op {
                    "==" => l == r,
                    "!=" => l != r,
                    "<=" => l <= r,
                    ">=" => l >= r,
                    "<" => l < r,
                    _ => l > r,
                };
                return Ok(Value::Bool(b));
            }
        }
        Ok(l)
    }

    fn sum(&mut self) -> Result<Value, String> {
        let mut v = self.product()?;
        loop {
            if self.eat("+") {
                v = Value::Int(as_int(&v)?.saturating_add(as_int(&self.product()?)?));
            } else if self.eat("-") {
                v = Value::Int(as_int(&v)?.saturating_sub(as_int(&self.product()?)?));
            } else {
                return Ok(v);
            }
        }
    }

    fn product(&mut self) -> Result<Value, String> {
        let mut v = self.unary()?;
        loop {
            let op = if self.eat("*") {
                "*"
            } else if self.eat("/") {
                "/"
            } else if self.eat("%") {
                "%"
            } else {
                return Ok(v);
            };
            let (a, b) = (as_int(&v)?, as_int(&self.unary()?)?);
            v = Value::Int(match op {
                "*" => a.saturating_mul(b),
                _ if b == 0 => return Err("division by zero".to_string()),
                "/" => a.checked_div(b).ok_or("number too large")?,
                _ => a.checked_rem(b).ok_or("number too large")?,
            });
        }
    }

    fn unary(&mut self) -> Result<Value, String> {
        if self.eat("!") {
            let v = self.nested(Self::unary)?;
            return Ok(Value::Bool(!as_bool(&v)?));
        }
        if self.eat("-") {
            let v = self.nested(Self::unary)?;
            return Ok(Value::Int(as_int(&v)?.saturating_neg()));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Value, String> {
        let token = self
            .tokens
            .get(self.pos)
            .cloned()
            .ok_or("expression ends too early")?;
        self.pos += 1;
        match token {
            Token::Int(n) => Ok(Value::Int(n)),
            Token::Str(s) => Ok(Value::Str(s)),
            Token::Name(n) if n == "true" => Ok(Value::Bool(true)),
            Token::Name(n) if n == "false" => Ok(Value::Bool(false)),
            Token::Name(n) if (n == "min" || n == "max") && self.eat("(") => self.nested(|p| {
                let a = as_int(&p.or()?)?;
                if !p.eat(",") {
                    return Err(format!("`{n}` takes two numbers: {n}(a, b)"));
                }
                let b = as_int(&p.or()?)?;
                if !p.eat(")") {
                    return Err("missing `)`".to_string());
                }
                Ok(Value::Int(if n == "min" { a.min(b) } else { a.max(b) }))
            }),
            Token::Name(n) => self
                .scope
                .get(&n)
                .cloned()
                .ok_or_else(|| format!("unknown name `{n}`")),
            Token::Op("(") => self.nested(|p| {
                let v = p.or()?;
                if !p.eat(")") {
                    return Err("missing `)`".to_string());
                }
                Ok(v)
            }),
            Token::Op(op) => Err(format!("unexpected `{op}`")),
        }
    }
}

fn as_int(v: &Value) -> Result<i64, String> {
    match v {
        Value::Int(n) => Ok(*n),
        other => Err(format!(
            "expected a number, got {} `{other}`",
            other.type_name()
        )),
    }
}

fn as_bool(v: &Value) -> Result<bool, String> {
    match v {
        Value::Bool(b) => Ok(*b),
        other => Err(format!(
            "expected true or false, got {} `{other}`",
            other.type_name()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> Scope {
        let mut s = Scope::new();
        s.insert("delay_ms".into(), Value::Int(100));
        s.insert("abort".into(), Value::Bool(false));
        s.insert("order".into(), Value::Str("network".into()));
        s
    }

    #[test]
    fn precedence_and_comparisons() {
        let s = scope();
        assert_eq!(eval("1 + 2 * 3", &s), Ok(Value::Int(7)));
        assert_eq!(eval("(1 + 2) * 3", &s), Ok(Value::Int(9)));
        assert_eq!(eval("min(delay_ms, 7) + max(1, 2)", &s), Ok(Value::Int(9)));
        assert_eq!(eval_bool("delay_ms >= 50 && !abort", &s), Ok(true));
        assert_eq!(eval_bool("abort || delay_ms < 50", &s), Ok(false));
        assert_eq!(eval_bool("order == 'network'", &s), Ok(true));
    }

    #[test]
    fn templates_keep_types_or_make_strings() {
        let s = scope();
        assert_eq!(expand("${delay_ms - 1}", &s), Ok(Value::Int(99)));
        assert_eq!(
            expand("wait ${delay_ms} ms", &s),
            Ok(Value::Str("wait 100 ms".into()))
        );
        assert_eq!(expand("{\"a\":1}", &s), Ok(Value::Str("{\"a\":1}".into())));
        assert_eq!(
            expand("${delay_ms}-{x}", &s),
            Ok(Value::Str("100-{x}".into()))
        );
    }

    #[test]
    fn errors_name_the_problem() {
        let s = scope();
        assert!(eval("nope + 1", &s).unwrap_err().contains("nope"));
        assert!(eval("delay_ms = 1", &s).unwrap_err().contains("=="));
        assert!(eval("abort + 1", &s).unwrap_err().contains("number"));
        assert!(eval("1 / 0", &s).unwrap_err().contains("zero"));
        // i64::MIN / -1 overflows: an error, not a panic.
        assert!(eval("(0 - 9223372036854775807 - 1) / (0 - 1)", &s).is_err());
        assert!(eval("order < 3", &s).unwrap_err().contains("compare"));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        // Regression: 4,000 `(` in a lab file's `when` (an input of the
        // `expr` fuzz target) overflowed the stack; each level of nesting
        // is several calls of the parser deep.
        let s = scope();
        for deep in ["(".repeat(4000), "!".repeat(100_000), "-".repeat(100_000)] {
            let e = eval(&deep, &s).unwrap_err();
            assert!(e.contains("nested more than 64 deep"), "{e}");
        }
        let e = eval(
            &format!("{}1{}", "min(1, ".repeat(100), ")".repeat(100)),
            &s,
        )
        .unwrap_err();
        assert!(e.contains("nested"), "{e}");
        // Real expressions are far from the bound.
        let ok = format!("{}1{}", "(".repeat(60), ")".repeat(60));
        assert_eq!(eval(&ok, &s), Ok(Value::Int(1)));
        assert_eq!(eval("!!abort", &s), Ok(Value::Bool(false)));
    }

    #[test]
    fn names_lists_references() {
        assert_eq!(
            template_names("${total - first} B").unwrap(),
            vec!["total", "first"]
        );
        assert!(template_names("hello").unwrap().is_empty());
        assert_eq!(names("a && !b").unwrap(), vec!["a", "b"]);
    }
}
