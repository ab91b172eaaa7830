//! The parser: tokens to a [`Line`], one method per grammar rule.

use super::lexer::{Tok, Token};
use super::*;

/// How deeply tuples and calls may nest: `((((...))))` a million deep would
/// otherwise overflow the stack, and a fuzzer would find it.
const MAX_DEPTH: usize = 32;

/// The tokens and where the parser is in them.
pub(super) struct Parser {
    pub(super) tokens: Vec<Token>,
    pub(super) pos: usize,
    pub(super) depth: usize,
}

impl Parser {
    /// The token `n` ahead, or the last one (`End` or `Bad`).
    fn peek_at(&self, n: usize) -> &Token {
        let last = self.tokens.len().saturating_sub(1);
        &self.tokens[(self.pos + n).min(last)]
    }

    fn peek(&self) -> &Token {
        self.peek_at(0)
    }

    /// Moves past the current token (never past the last one).
    fn bump(&mut self) -> Token {
        let token = self.peek().clone();
        self.pos = (self.pos + 1).min(self.tokens.len().saturating_sub(1));
        token
    }

    /// Moves past the current token if it is `tok` (for punctuation).
    fn eat(&mut self, tok: &Tok) -> bool {
        let found = self.peek().tok == *tok;
        if found {
            self.bump();
        }
        found
    }

    /// "expected {what}, found {the current token}", or the tokenizer's own
    /// error if the current token is `Bad`.
    fn expected(&self, what: &str) -> ParseError {
        let token = self.peek();
        let found = match &token.tok {
            Tok::Bad(message) => return ParseError::new(token.col, message.clone()),
            Tok::Ident(n) if matches!(n.as_str(), "True" | "False" | "None") => format!("`{n}`"),
            Tok::Ident(n) => format!("name `{n}`"),
            Tok::Int(n) => format!("number `{n}`"),
            Tok::Float(f) => format!("number `{f}`"),
            Tok::Str(_) => "a string".into(),
            Tok::Bytes(_) => "a bytes literal".into(),
            Tok::LParen => "`(`".into(),
            Tok::RParen => "`)`".into(),
            Tok::Comma => "`,`".into(),
            Tok::Dot => "`.`".into(),
            Tok::Equals => "`=`".into(),
            Tok::Semicolon => "`;`".into(),
            Tok::Minus => "`-`".into(),
            Tok::End => "end of line".into(),
        };
        ParseError::new(token.col, format!("expected {what}, found {found}"))
    }

    /// The error when the `(` at column `open` is followed by neither `,`
    /// nor `)`.
    fn unclosed(&self, open: usize, what: &str) -> ParseError {
        match self.peek().tok {
            Tok::End => self.expected(&format!("`)` to close the {what} opened at column {open}")),
            _ => self.expected(&format!("`,` or `)` in the {what} opened at column {open}")),
        }
    }

    /// line = [name {"," name} "="] call [";"]
    pub(super) fn line(&mut self) -> Result<Line, ParseError> {
        match self.peek().tok {
            Tok::End => return Ok(Line::Empty),
            Tok::Equals => {
                return Err(self.expected("a name before `=`, as in `data = conn.recv(1024)`"));
            }
            _ => {}
        }
        let mut targets = Vec::new();
        // `name =` or `name ,` starts a list of names to assign to.
        let mut assigns = matches!(self.peek_at(1).tok, Tok::Comma | Tok::Equals);
        while assigns {
            let Token {
                tok: Tok::Ident(name),
                col,
            } = self.peek().clone()
            else {
                return Err(self.expected("a name to assign to"));
            };
            if matches!(name.as_str(), "True" | "False" | "None") {
                return Err(ParseError::new(col, format!("cannot assign to `{name}`")));
            }
            targets.push(name);
            self.bump();
            if self.eat(&Tok::Equals) {
                assigns = false;
            } else if !self.eat(&Tok::Comma) {
                return Err(self.expected("`,` or `=` after the names to assign to"));
            } else if !matches!(self.peek().tok, Tok::Ident(_)) {
                return Err(self.expected("a name after `,`"));
            }
        }
        let column = self.peek().col;
        let path = self.path("a call such as `conn.recv(1024)`")?;
        if self.peek().tok != Tok::LParen {
            return Err(self.expected(&format!("`(` to call `{}`", path.join("."))));
        }
        let call = self.call(path, column)?;
        let what = match self.eat(&Tok::Semicolon) {
            true => "end of line after `;` (one statement per line)",
            false => "end of line after the call",
        };
        match self.peek().tok {
            Tok::End => Ok(Line::Statement(Statement { targets, call })),
            _ => Err(self.expected(what)),
        }
    }

    /// path = name {"." name}: `server`, `socket.AF_INET`, `s.getsockname`.
    fn path(&mut self, what: &str) -> Result<Vec<String>, ParseError> {
        let mut path = Vec::new();
        loop {
            match &self.peek().tok {
                Tok::Ident(n) => path.push(n.clone()),
                _ if path.is_empty() => return Err(self.expected(what)),
                _ => return Err(self.expected("a name after `.`")),
            }
            self.bump();
            if !self.eat(&Tok::Dot) {
                return Ok(path);
            }
        }
    }

    /// call = path "(" [expr {"," expr} [","]] ")", with the path read and
    /// `(` next; the call starts at `column`.
    fn call(&mut self, mut path: Vec<String>, column: usize) -> Result<CallExpr, ParseError> {
        let open = self.bump().col;
        let mut args = Vec::new();
        while !self.eat(&Tok::RParen) {
            if self.peek().tok == Tok::End {
                return Err(self.unclosed(open, "call"));
            }
            if let (Tok::Ident(name), Tok::Equals) = (&self.peek().tok, &self.peek_at(1).tok) {
                let msg = "keyword arguments are not supported; pass the value by position";
                return Err(ParseError::new(
                    self.peek().col,
                    format!("`{name}=`: {msg}"),
                ));
            }
            args.push(self.expr()?);
            if !self.eat(&Tok::Comma) && self.peek().tok != Tok::RParen {
                return Err(self.unclosed(open, "call"));
            }
        }
        let method = path.pop().unwrap_or_default();
        let receiver = match &path[..] {
            [] => None,
            [module] if module == "socket" && method == "socket" => None,
            [receiver] => Some(receiver.clone()),
            _ => {
                let found = format!("`{}.{method}(...)`", path.join("."));
                let msg = format!(
                    "expected a method of one variable, as in `conn.recv(1024)`, found {found}"
                );
                return Err(ParseError::new(column, msg));
            }
        };
        Ok(CallExpr {
            receiver,
            method,
            args,
            column,
        })
    }

    /// One value, within the nesting limit.
    fn expr(&mut self) -> Result<Expr, ParseError> {
        self.depth += 1;
        let result = match self.depth > MAX_DEPTH {
            true => Err(ParseError::new(
                self.peek().col,
                format!("nested more than {MAX_DEPTH} deep"),
            )),
            false => self.value(),
        };
        self.depth -= 1;
        result
    }

    /// value = number | "-" number | string [".encode()"] | bytes | True |
    /// False | None | tuple | path | call | struct.pack(...)
    fn value(&mut self) -> Result<Expr, ParseError> {
        let Token { tok, col } = self.peek().clone();
        let value = match tok {
            Tok::Int(n) => Expr::Int(int(n, false, col)?),
            Tok::Float(f) => Expr::Float(f),
            Tok::Bytes(b) => Expr::Bytes(b),
            Tok::Ident(n) if n == "True" || n == "False" => Expr::Bool(n == "True"),
            Tok::Ident(n) if n == "None" => Expr::None,
            Tok::Minus => {
                self.bump();
                let value = match self.peek().tok {
                    Tok::Int(n) => Expr::Int(int(n, true, col)?),
                    Tok::Float(f) => Expr::Float(-f),
                    _ => return Err(self.expected("a number after `-`")),
                };
                self.bump();
                return Ok(value);
            }
            Tok::Str(s) => {
                self.bump();
                return if self.eat(&Tok::Dot) {
                    self.encode(s)
                } else {
                    Ok(Expr::Str(s))
                };
            }
            Tok::LParen => return self.tuple(),
            Tok::Ident(_) => {
                let path = self.path("a name")?;
                return match &path[..] {
                    _ if self.peek().tok == Tok::LParen && path == ["struct", "pack"] => {
                        self.pack()
                    }
                    _ if self.peek().tok == Tok::LParen => {
                        Ok(Expr::Call(Box::new(self.call(path, col)?)))
                    }
                    [module, name] if module == "socket" && is_socket_constant(name) => {
                        Ok(Expr::Name(name.clone()))
                    }
                    _ => Ok(Expr::Name(path.join("."))),
                };
            }
            _ => {
                return Err(self.expected("a value (a number, string, bytes, name, tuple or call)"));
            }
        };
        self.bump();
        Ok(value)
    }

    /// `.encode()` or `.encode('utf-8')` after a string, with the dot read.
    fn encode(&mut self, text: String) -> Result<Expr, ParseError> {
        if !matches!(&self.peek().tok, Tok::Ident(n) if n == "encode") {
            return Err(self.expected("`encode` after a string's `.`, as in `\"text\".encode()`"));
        }
        self.bump();
        let open = self.peek().col;
        if !self.eat(&Tok::LParen) {
            return Err(self.expected("`(` after `encode`"));
        }
        if let Tok::Str(codec) = self.peek().tok.clone() {
            if !matches!(
                codec.to_ascii_lowercase().as_str(),
                "utf-8" | "utf8" | "utf_8"
            ) {
                let msg = format!("expected the encoding 'utf-8', found '{codec}'");
                return Err(ParseError::new(self.peek().col, msg));
            }
            self.bump();
        }
        match self.eat(&Tok::RParen) {
            true => Ok(Expr::Bytes(text.into_bytes())),
            false => Err(self.unclosed(open, "call")),
        }
    }

    /// tuple = "(" [expr {"," expr} [","]] ")"; `(x)` alone is just `x`.
    fn tuple(&mut self) -> Result<Expr, ParseError> {
        let open = self.bump().col;
        let mut items = Vec::new();
        let mut comma = false;
        while !self.eat(&Tok::RParen) {
            if self.peek().tok == Tok::End {
                return Err(self.unclosed(open, "tuple"));
            }
            items.push(self.expr()?);
            if self.eat(&Tok::Comma) {
                comma = true;
            } else if self.peek().tok != Tok::RParen {
                return Err(self.unclosed(open, "tuple"));
            }
        }
        match (items.pop(), comma) {
            (Some(item), false) => Ok(item),
            (last, _) => Ok(Expr::Tuple(items.into_iter().chain(last).collect())),
        }
    }

    /// `('ii', 1, 0)` after `struct.pack`: a format, then integers.
    fn pack(&mut self) -> Result<Expr, ParseError> {
        let open = self.bump().col;
        let format = match self.peek().tok.clone() {
            Tok::Str(s) => s,
            Tok::Bytes(b) => b.into_iter().map(char::from).collect(),
            _ => return Err(self.expected("a format such as 'ii' first in struct.pack")),
        };
        self.bump();
        let mut values = Vec::new();
        loop {
            let comma = self.eat(&Tok::Comma);
            if self.eat(&Tok::RParen) {
                return Ok(Expr::Pack { format, values });
            } else if !comma || self.peek().tok == Tok::End {
                return Err(self.unclosed(open, "call"));
            }
            let col = self.peek().col;
            match self.value() {
                Ok(Expr::Int(n)) => values.push(n),
                Ok(Expr::Bool(b)) => values.push(i64::from(b)),
                Ok(_) => {
                    return Err(ParseError::new(
                        col,
                        "expected an integer to pack, found another value",
                    ));
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// The integer `n`, negated if `negative`, if it fits in an `i64`.
fn int(n: u64, negative: bool, col: usize) -> Result<i64, ParseError> {
    let value = if negative {
        -i128::from(n)
    } else {
        i128::from(n)
    };
    i64::try_from(value).map_err(|_| {
        ParseError::new(
            col,
            format!("`{value}` does not fit in a 64-bit signed integer"),
        )
    })
}
