//! One line of the socket REPL, parsed into a small syntax tree.
//!
//! The learner types the Python of the course (`conn, addr = server.accept()`,
//! `client.sendall(b'hello\n')`) or a REPL command (`map`, `save FILE`,
//! `help send`). [`parse`] turns the line into a [`Line`]; it runs nothing,
//! and it never panics, whatever the input.
//!
//! It works in two steps, like most parsers:
//!
//! 1. The *tokenizer* (or lexer) cuts the characters into tokens, the
//!    "words" of the language: the name `server`, the punctuation `(`, the
//!    string `"127.0.0.1"` with its escapes already decoded, the number
//!    `8080`. Spaces and `# comments` disappear at this step.
//! 2. The *parser* reads the tokens left to right, checks that they follow
//!    the grammar (`targets = call`, `call = name(args)`, ...) and builds the
//!    tree as it goes: one method per rule, calling each other ("recursive
//!    descent").
//!
//! Every token remembers its *column*: where it starts in the line, counted
//! in characters from 1. A wrong line then gets an error that points at the
//! very spot ("column 12: expected `)` ..."), and [`ParseError::caret`] draws
//! a `^` under it. A tab counts as one column.
//!
//! What a line may hold: Python's integers (`1024`, `-1`, `0x1F`), floats
//! (`2.5`, `1e-3`), `True`, `False`, `None`, strings and bytes in single or
//! double quotes (escapes `\n \r \t \\ \' \" \xNN` and octal such as `\0`),
//! `"text".encode()`, tuples, calls such as `server.getsockname()`, and
//! `struct.pack('ii', 1, 0)`. Refused with an error: keyword arguments,
//! raw and f-strings (`r'..'`, `f'..'`), chained attributes (`a.b.c()`), and
//! more than one statement per line.

/// A parsed line of the REPL.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    /// Nothing to do: a blank line, or only a `# comment`.
    Empty,
    /// A REPL command: `help`, `map`, `state`, `save FILE` or `quit`.
    Command {
        /// The command word.
        name: String,
        /// The rest of the line (`FILE`, `send`), or the text inside
        /// `help(...)`, if any.
        arg: Option<String>,
    },
    /// A socket call, maybe assigned to names.
    Statement(Statement),
}

/// `targets = call`, or a bare `call`.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// The names assigned to, left to right: none for a bare call, two for
    /// `conn, addr = server.accept()`.
    pub targets: Vec<String>,
    /// The call on the right-hand side.
    pub call: CallExpr,
}

/// A call such as `server.bind(("127.0.0.1", 0))` or `socket(AF_INET, ...)`.
#[derive(Debug, Clone, PartialEq)]
pub struct CallExpr {
    /// The variable whose method is called (`server`); `None` for a plain
    /// function such as `socket(...)`, also written `socket.socket(...)`.
    pub receiver: Option<String>,
    /// The method or function name: `bind`, `socket`, ...
    pub method: String,
    /// The positional arguments, in order.
    pub args: Vec<Expr>,
    /// The column where the call starts (its receiver, or its name).
    pub column: usize,
}

/// A value written as an argument.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// An integer: `1024`, `-1`, `0x10`.
    Int(i64),
    /// A floating-point number: `2.5`, `1e-3`.
    Float(f64),
    /// `True` or `False`.
    Bool(bool),
    /// `None`.
    None,
    /// A text string, escapes decoded: `"127.0.0.1"`.
    Str(String),
    /// Bytes: `b"hello\n"`, or `"text".encode()`.
    Bytes(Vec<u8>),
    /// A variable (`addr`) or a constant (`AF_INET`). The `socket.` prefix
    /// of the socket module's constants is stripped (see
    /// [`is_socket_constant`]); other dotted names are kept whole.
    Name(String),
    /// A tuple: `("127.0.0.1", 8080)`.
    Tuple(Vec<Expr>),
    /// A call whose result is the value: `server.getsockname()`.
    Call(Box<CallExpr>),
    /// `struct.pack('ii', 1, 0)`.
    Pack {
        /// The `struct` format, such as `ii`.
        format: String,
        /// The integers to pack, in order.
        values: Vec<i64>,
    },
}

/// Why a line could not be parsed, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct ParseError {
    /// The 1-based character column of the problem; one past the last
    /// character when the line ended too early.
    pub column: usize,
    /// What was expected, and what was found.
    pub message: String,
}

impl ParseError {
    fn new(column: usize, message: impl Into<String>) -> Self {
        let message = message.into();
        ParseError { column, message }
    }

    /// Spaces and a `^` under the error's column, to print below the line.
    pub fn caret(&self) -> String {
        format!("{}^", " ".repeat(self.column.saturating_sub(1)))
    }
}

/// Whether `name` is a socket module constant whose `socket.` prefix
/// [`parse`] strips: `AF_*`, `SOCK_*`, `SOL_*`, `SO_*`, `IPPROTO_*`, `TCP_*`,
/// `SHUT_*`, `MSG_*` or `SOMAXCONN`.
pub fn is_socket_constant(name: &str) -> bool {
    const PREFIXES: [&str; 8] = [
        "AF_", "SOCK_", "SOL_", "SO_", "IPPROTO_", "TCP_", "SHUT_", "MSG_",
    ];
    name == "SOMAXCONN" || PREFIXES.iter().any(|p| name.starts_with(p))
}

/// Parses one line typed in the REPL. Never panics.
pub fn parse(line: &str) -> Result<Line, ParseError> {
    // Characters, not bytes: `chars[i]` is at column `i + 1`, even after an `é`.
    let chars: Vec<char> = line.chars().collect();
    if let Some(command) = parse_command(&chars) {
        return command;
    }
    let mut parser = Parser {
        tokens: tokenize(&chars),
        pos: 0,
        depth: 0,
    };
    parser.line()
}

// --- REPL commands ----------------------------------------------------------
// They are recognised on the raw characters, before the tokenizer, because
// an argument such as `save out/run-1.txt` is not Python.

/// `None` when the line is not a command, so that `state = socket(...)` and
/// `map.close()` stay statements: a variable may well be called `map`.
fn parse_command(chars: &[char]) -> Option<Result<Line, ParseError>> {
    let start = skip_space(chars, 0);
    let end = start
        + chars[start..]
            .iter()
            .take_while(|c| is_ident_char(**c))
            .count();
    let name: String = chars[start..end].iter().collect();
    // How many arguments: `Some(true)` one, `Some(false)` none, `None` either.
    let takes_arg = match name.as_str() {
        "map" | "state" | "quit" => Some(false),
        "save" => Some(true),
        "help" => None,
        _ => return None,
    };
    let next = skip_space(chars, end);
    match (chars.get(end), chars.get(next)) {
        (_, Some('=' | ',')) | (Some('.'), _) => return None,
        (Some(c), _) if !(c.is_whitespace() || matches!(c, '(' | ';' | '#')) => return None,
        _ => {}
    }
    let (arg, col) = match command_arg(chars, next) {
        Ok(found) => found,
        Err(e) => return Some(Err(e)),
    };
    let message = match (takes_arg, &arg) {
        (Some(true), None) => format!("expected a file name after `{name}`, found end of line"),
        (Some(false), Some(arg)) => format!("`{name}` takes no argument, found `{arg}`"),
        _ => return Some(Ok(Line::Command { name, arg })),
    };
    Some(Err(ParseError::new(col, message)))
}

/// The argument of a command, starting at index `i`: `help send`,
/// `help(send)` or `help('send')`; with the column where it starts (or where
/// it is missing).
fn command_arg(chars: &[char], i: usize) -> Result<(Option<String>, usize), ParseError> {
    let (text, col) = if chars.get(i) == Some(&'(') {
        let Some(close) = chars[i..].iter().position(|c| *c == ')').map(|n| i + n) else {
            let msg = format!(
                "expected `)` to close the `(` at column {}, found end of line",
                i + 1
            );
            return Err(ParseError::new(chars.len() + 1, msg));
        };
        let mut after = skip_space(chars, close + 1);
        if chars.get(after) == Some(&';') {
            after = skip_space(chars, after + 1);
        }
        if let Some(c) = chars.get(after).filter(|c| **c != '#') {
            return Err(ParseError::new(
                after + 1,
                format!("expected end of line after `)`, found `{c}`"),
            ));
        }
        let inner = skip_space(chars, i + 1).min(close);
        let text = match trim_end(&chars[inner..close]) {
            [q @ ('\'' | '"'), quoted @ .., last] if last == q => quoted,
            text => text,
        };
        (text, inner + 1)
    } else {
        // Up to a comment: a `#` at the start of the argument or after a space.
        let stop =
            (i..chars.len()).find(|&n| chars[n] == '#' && (n == i || chars[n - 1].is_whitespace()));
        let text = trim_end(&chars[i..stop.unwrap_or(chars.len())]);
        (text.strip_suffix(&[';']).map_or(text, trim_end), i + 1)
    };
    Ok(((!text.is_empty()).then(|| text.iter().collect()), col))
}

fn skip_space(chars: &[char], mut i: usize) -> usize {
    while chars.get(i).is_some_and(|c| c.is_whitespace()) {
        i += 1;
    }
    i
}

fn trim_end(chars: &[char]) -> &[char] {
    let len = chars
        .iter()
        .rposition(|c| !c.is_whitespace())
        .map_or(0, |n| n + 1);
    &chars[..len]
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

// --- The tokenizer ----------------------------------------------------------

/// The kinds of token.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    /// An integer without its sign: `-` is a token of its own, negated by
    /// the parser (so that `-9223372036854775808` fits in an `i64`).
    Int(u64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    LParen,
    RParen,
    Comma,
    Dot,
    Equals,
    Semicolon,
    Minus,
    /// The end of the line, or the start of a comment.
    End,
    /// Characters that make no token, and why. Always the last token: the
    /// parser reports it only when the line is fine up to there, so errors
    /// come in the order they appear in the line.
    Bad(String),
}

/// A token and the column where it starts.
#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    col: usize,
}

/// Cuts the line into tokens; the last one is `End` or `Bad`.
fn tokenize(chars: &[char]) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut i = 0;
    loop {
        i = skip_space(chars, i);
        let col = i + 1;
        let Some(&c) = chars.get(i).filter(|c| **c != '#') else {
            tokens.push(Token { tok: Tok::End, col });
            return tokens;
        };
        let punct = match c {
            '(' => Some(Tok::LParen),
            ')' => Some(Tok::RParen),
            ',' => Some(Tok::Comma),
            '=' => Some(Tok::Equals),
            ';' => Some(Tok::Semicolon),
            '-' => Some(Tok::Minus),
            '.' if !chars.get(i + 1).is_some_and(char::is_ascii_digit) => Some(Tok::Dot),
            _ => None,
        };
        let result = if let Some(tok) = punct {
            i += 1;
            Ok(tok)
        } else if c == '\'' || c == '"' {
            string(chars, &mut i, col, false)
        } else if matches!(c, 'b' | 'B') && matches!(chars.get(i + 1), Some('\'' | '"')) {
            i += 1;
            string(chars, &mut i, col, true)
        } else if c.is_ascii_digit() || c == '.' {
            number(chars, &mut i, col)
        } else if c.is_ascii_alphabetic() || c == '_' {
            let len = chars[i..].iter().take_while(|c| is_ident_char(**c)).count();
            i += len;
            Ok(Tok::Ident(chars[i - len..i].iter().collect()))
        } else {
            Err(ParseError::new(
                col,
                format!("unexpected character `{}`", c.escape_debug()),
            ))
        };
        match result {
            Ok(tok) => tokens.push(Token { tok, col }),
            Err(e) => {
                tokens.push(Token {
                    tok: Tok::Bad(e.message),
                    col: e.column,
                });
                return tokens;
            }
        }
    }
}

/// A string (or, if `bytes`, a bytes literal) whose opening quote is at
/// `chars[*i]`; `col` is where the literal starts.
fn string(chars: &[char], i: &mut usize, col: usize, bytes: bool) -> Result<Tok, ParseError> {
    let quote = chars[*i];
    *i += 1;
    let unterminated = || {
        let msg = format!(
            "expected `{quote}` to close the string opened at column {col}, found end of line"
        );
        ParseError::new(chars.len() + 1, msg)
    };
    // Code points for a string, byte values for bytes: both fit in a u32.
    let mut out: Vec<u32> = Vec::new();
    loop {
        let at = *i + 1; // the column of the character being read
        let c = *chars.get(*i).ok_or_else(unterminated)?;
        *i += 1;
        if c == quote {
            break;
        } else if bytes && !c.is_ascii() {
            let msg = format!("a bytes literal holds only ASCII characters, found `{c}`");
            return Err(ParseError::new(at, msg));
        } else if c != '\\' {
            out.push(c.into());
            continue;
        }
        let e = *chars.get(*i).ok_or_else(unterminated)?;
        *i += 1;
        out.push(match e {
            'n' => 10,
            'r' => 13,
            't' => 9,
            '\\' | '\'' | '"' => e.into(),
            'x' => {
                let hex = chars.get(*i..*i + 2).unwrap_or_default();
                let value = hex
                    .iter()
                    .try_fold(0, |v, h| Some(v * 16 + h.to_digit(16)?));
                let Some(value) = value.filter(|_| hex.len() == 2) else {
                    let msg = "expected two hex digits after `\\x`, as in `\\x0a`";
                    return Err(ParseError::new(at, msg));
                };
                *i += 2;
                value
            }
            '0'..='7' => {
                // Octal, one to three digits, as in Python: `\0` is NUL.
                let mut value = 0;
                let digits = chars[*i - 1..].iter().take(3).map_while(|d| d.to_digit(8));
                for digit in digits {
                    value = value * 8 + digit;
                    *i += 1;
                }
                *i -= 1; // the first digit was read already
                if bytes && value > 0xff {
                    let msg = format!("octal escape `\\{value:o}` is more than a byte");
                    return Err(ParseError::new(at, msg));
                }
                value
            }
            _ => {
                let known = r#"\n \r \t \\ \' \" \xNN and \0"#;
                let msg = format!(
                    "unknown escape `\\{}`; known escapes are {known}",
                    e.escape_debug()
                );
                return Err(ParseError::new(at, msg));
            }
        });
    }
    Ok(if bytes {
        // All below 256: ASCII characters, `\xNN`, checked octal escapes.
        Tok::Bytes(out.into_iter().map(|v| v as u8).collect())
    } else {
        Tok::Str(out.into_iter().filter_map(char::from_u32).collect())
    })
}

/// A number starting at `chars[*i]`: `1024`, `0x1F`, `2.5`, `.5`, `1e-3`.
fn number(chars: &[char], i: &mut usize, col: usize) -> Result<Tok, ParseError> {
    let start = *i;
    let hex = chars[start] == '0' && matches!(chars.get(start + 1), Some('x' | 'X'));
    // The whole run of letters, digits and dots, so that `5abc` or `1.2.3`
    // is one bad number rather than a number followed by something else.
    while let Some(&c) = chars.get(*i) {
        let exponent_sign = matches!(c, '+' | '-') && !hex && matches!(chars[*i - 1], 'e' | 'E');
        if !(is_ident_char(c) || c == '.' || exponent_sign) {
            break;
        }
        *i += 1;
    }
    let text: String = chars[start..*i].iter().collect();
    let invalid = || ParseError::new(col, format!("invalid number `{text}`"));
    let parsed = if hex {
        u64::from_str_radix(&text[2..], 16)
    } else if text.contains(['.', 'e', 'E']) {
        return text.parse().map(Tok::Float).map_err(|_| invalid());
    } else if text.bytes().all(|b| b.is_ascii_digit())
        && text.starts_with('0')
        && !text.trim_matches('0').is_empty()
    {
        let octal = text.trim_start_matches('0');
        let msg = format!("leading zeros are not allowed in `{text}`; write 0o{octal} for octal");
        return Err(ParseError::new(col, msg));
    } else {
        text.parse()
    };
    match parsed {
        Ok(n) => Ok(Tok::Int(n)),
        Err(e) if *e.kind() == std::num::IntErrorKind::PosOverflow => Err(ParseError::new(
            col,
            format!("`{text}` does not fit in 64 bits"),
        )),
        Err(_) => Err(invalid()),
    }
}

// --- The parser -------------------------------------------------------------

/// How deeply tuples and calls may nest: `((((...))))` a million deep would
/// otherwise overflow the stack, and a fuzzer would find it.
const MAX_DEPTH: usize = 32;

/// The tokens and where the parser is in them.
struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
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
    fn line(&mut self) -> Result<Line, ParseError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    // Small builders, so that each expected tree reads like the line.
    fn name(n: &str) -> Expr {
        Expr::Name(n.into())
    }
    fn text(s: &str) -> Expr {
        Expr::Str(s.into())
    }
    fn bytes(b: &[u8]) -> Expr {
        Expr::Bytes(b.to_vec())
    }
    fn addr(host: &str, port: i64) -> Expr {
        Expr::Tuple(vec![text(host), Expr::Int(port)])
    }
    fn call(receiver: &str, method: &str, args: Vec<Expr>, column: usize) -> CallExpr {
        let receiver = (!receiver.is_empty()).then(|| receiver.to_string());
        CallExpr {
            receiver,
            method: method.into(),
            args,
            column,
        }
    }
    fn stmt(targets: &[&str], call: CallExpr) -> Line {
        let targets = targets.iter().map(|t| t.to_string()).collect();
        Line::Statement(Statement { targets, call })
    }
    fn command(name: &str, arg: Option<&str>) -> Line {
        Line::Command {
            name: name.into(),
            arg: arg.map(String::from),
        }
    }
    fn check(line: &str, expected: Line) {
        assert_eq!(parse(line), Ok(expected), "{line}");
    }
    /// The error's column and message.
    fn error(line: &str) -> (usize, String) {
        let e = parse(line).expect_err(line);
        (e.column, e.message)
    }

    #[test]
    fn creating_sockets() {
        let stream = vec![name("AF_INET"), name("SOCK_STREAM")];
        let socket = call("", "socket", stream.clone(), 10);
        check(
            "server = socket(AF_INET, SOCK_STREAM)",
            stmt(&["server"], socket.clone()),
        );
        let line = "server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)";
        check(line, stmt(&["server"], socket));
        let udp = call("", "socket", vec![name("AF_INET"), name("SOCK_DGRAM")], 5);
        check("u = socket(AF_INET, SOCK_DGRAM)", stmt(&["u"], udp));
        let unix = call("", "socket", vec![name("AF_UNIX"), name("SOCK_STREAM")], 5);
        check("x = socket(AF_UNIX, SOCK_STREAM)", stmt(&["x"], unix));
    }

    #[test]
    fn addresses_and_connections() {
        let bind = |port| {
            stmt(
                &[],
                call("server", "bind", vec![addr("127.0.0.1", port)], 1),
            )
        };
        check(r#"server.bind(("127.0.0.1", 0))"#, bind(0));
        check("server.bind(('127.0.0.1', 8080))", bind(8080));
        let listen = call("server", "listen", vec![Expr::Int(5)], 1);
        check("server.listen(5)", stmt(&[], listen));
        let getsockname = Expr::Call(Box::new(call("server", "getsockname", vec![], 16)));
        let connect = call("client", "connect", vec![getsockname], 1);
        check("client.connect(server.getsockname())", stmt(&[], connect));
        let connect = call("client", "connect", vec![addr("127.0.0.1", 8080)], 1);
        check(r#"client.connect(("127.0.0.1", 8080))"#, stmt(&[], connect));
        let connect_ex = call("client", "connect_ex", vec![addr("127.0.0.1", 9)], 7);
        check(
            r#"err = client.connect_ex(("127.0.0.1", 9))"#,
            stmt(&["err"], connect_ex),
        );
        let accept = call("server", "accept", vec![], 14);
        check(
            "conn, addr = server.accept()",
            stmt(&["conn", "addr"], accept),
        );
    }

    #[test]
    fn sending_and_receiving() {
        let send = call("client", "send", vec![bytes(b"hello")], 1);
        check(r#"client.send(b"hello")"#, stmt(&[], send));
        let sendall = call("client", "sendall", vec![bytes(b"hello\n\0")], 1);
        check(r"client.sendall(b'hello\n\x00')", stmt(&[], sendall));
        let encoded = stmt(&[], call("client", "send", vec![bytes(b"text")], 1));
        check(r#"client.send("text".encode())"#, encoded.clone());
        check(r#"client.send("text".encode('utf-8'))"#, encoded);
        let utf8 = stmt(&[], call("c", "send", vec![bytes("é".as_bytes())], 1));
        check(r#"c.send("é".encode())"#, utf8);
        let recv = |column| call("conn", "recv", vec![Expr::Int(1024)], column);
        check("data = conn.recv(1024)", stmt(&["data"], recv(8)));
        check("conn.recv(1024)", stmt(&[], recv(1)));
        let to = vec![bytes(b"hi"), addr("127.0.0.1", 9000)];
        check(
            r#"u.sendto(b"hi", ("127.0.0.1", 9000))"#,
            stmt(&[], call("u", "sendto", to, 1)),
        );
        let recvfrom = call("u", "recvfrom", vec![Expr::Int(1024)], 14);
        check(
            "data, addr = u.recvfrom(1024)",
            stmt(&["data", "addr"], recvfrom),
        );
    }

    #[test]
    fn options_and_teardown() {
        let opt = |args| stmt(&[], call("s", "setsockopt", args, 1));
        let reuse = vec![name("SOL_SOCKET"), name("SO_REUSEADDR"), Expr::Int(1)];
        check("s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)", opt(reuse));
        let nodelay = vec![name("IPPROTO_TCP"), name("TCP_NODELAY"), Expr::Bool(true)];
        check(
            "s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, True)",
            opt(nodelay),
        );
        let pack = Expr::Pack {
            format: "ii".into(),
            values: vec![1, 0],
        };
        let linger = vec![name("SOL_SOCKET"), name("SO_LINGER"), pack];
        check(
            "s.setsockopt(SOL_SOCKET, SO_LINGER, struct.pack('ii', 1, 0))",
            opt(linger),
        );
        let rcvbuf = vec![name("SOL_SOCKET"), name("SO_RCVBUF")];
        check(
            "s.getsockopt(SOL_SOCKET, SO_RCVBUF)",
            stmt(&[], call("s", "getsockopt", rcvbuf, 1)),
        );
        let on_s = |method: &str, args| stmt(&[], call("s", method, args, 1));
        check(
            "s.setblocking(False)",
            on_s("setblocking", vec![Expr::Bool(false)]),
        );
        check(
            "s.settimeout(2.5)",
            on_s("settimeout", vec![Expr::Float(2.5)]),
        );
        check("s.settimeout(None)", on_s("settimeout", vec![Expr::None]));
        check(
            "s.shutdown(SHUT_WR)",
            on_s("shutdown", vec![name("SHUT_WR")]),
        );
        check("s.close()", on_s("close", vec![]));
        check("s.getsockname()", on_s("getsockname", vec![]));
        check("s.getpeername()", on_s("getpeername", vec![]));
    }

    #[test]
    fn commands_and_empty_lines() {
        check("help", command("help", None));
        check("help(send)", command("help", Some("send")));
        check("help send", command("help", Some("send")));
        check("  help('send')  # quoted", command("help", Some("send")));
        check("map", command("map", None));
        check("state", command("state", None));
        check("quit", command("quit", None));
        check("save FILE", command("save", Some("FILE")));
        check(
            "save out/run-1.txt  # the session",
            command("save", Some("out/run-1.txt")),
        );
        // A variable may have a command's name.
        let socket = call("", "socket", vec![name("AF_INET"), name("SOCK_STREAM")], 9);
        check(
            "state = socket(AF_INET, SOCK_STREAM)",
            stmt(&["state"], socket),
        );
        check("map.close()", stmt(&[], call("map", "close", vec![], 1)));
        for blank in ["", "   ", "# a comment", "\t# indented comment"] {
            check(blank, Line::Empty);
        }
    }

    #[test]
    fn literals() {
        let args = |line: &str| match parse(line) {
            Ok(Line::Statement(s)) => s.call.args,
            other => panic!("{line}: {other:?}"),
        };
        let ints = [0, 0x1f, -1, i64::MIN, i64::MAX].map(Expr::Int);
        let line = "f(0, 0x1F, -1, -9223372036854775808, 9223372036854775807)";
        assert_eq!(args(line), ints);
        let floats = [0.5, 1e-3, -2.0, 100.0].map(Expr::Float);
        assert_eq!(args("f(.5, 1e-3, -2.0, 1E2)"), floats);
        assert_eq!(
            args(r#"f('\r\t\\\'\"\x41\101\0')"#),
            [text("\r\t\\'\"AA\0")]
        );
        assert_eq!(args(r#"f(b"\xff#", 'é')"#), [bytes(b"\xff#"), text("é")]);
        assert_eq!(args("f((1), (1,), (), (1, 2,),)  # trailing commas"), {
            let one = Expr::Int(1);
            let pair = Expr::Tuple(vec![one.clone(), Expr::Int(2)]);
            [
                one.clone(),
                Expr::Tuple(vec![one]),
                Expr::Tuple(vec![]),
                pair,
            ]
        });
        assert_eq!(
            args("f(socket.foo, a.b);"),
            [name("socket.foo"), name("a.b")]
        );
        let create = call("socket", "create_connection", vec![addr("::1", 80)], 5);
        check(
            r#"c = socket.create_connection(("::1", 80))"#,
            stmt(&["c"], create),
        );
    }

    #[test]
    fn errors_point_at_their_column() {
        let cases: &[(&str, usize, &str)] = &[
            (
                "server.listen(5",
                16,
                "expected `)` to close the call opened at column 14, found end of line",
            ),
            (
                r#"s.bind(("h", 1)"#,
                16,
                "expected `)` to close the call opened at column 7, found end of line",
            ),
            (
                r#"s.bind(("h", 1"#,
                15,
                "expected `)` to close the tuple opened at column 8, found end of line",
            ),
            (
                "s.recv(1024 5)",
                13,
                "expected `,` or `)` in the call opened at column 7, found number `5`",
            ),
            (
                r#"c.send(b"\q")"#,
                10,
                r#"unknown escape `\q`; known escapes are \n \r \t \\ \' \" \xNN and \0"#,
            ),
            (
                r#"c.send(b"\x4")"#,
                10,
                r"expected two hex digits after `\x`, as in `\x0a`",
            ),
            (
                r#"c.send("hello"#,
                14,
                "expected `\"` to close the string opened at column 8, found end of line",
            ),
            (
                "c.send(b'é')",
                10,
                "a bytes literal holds only ASCII characters, found `é`",
            ),
            (
                // Columns count characters: `é` is two bytes but one column.
                "c.send(\"é\", 'a",
                15,
                "expected `'` to close the string opened at column 13, found end of line",
            ),
            ("conn,", 6, "expected a name after `,`, found end of line"),
            (
                "conn, = s.accept()",
                7,
                "expected a name after `,`, found `=`",
            ),
            (
                "conn, addr s.accept()",
                12,
                "expected `,` or `=` after the names to assign to, found name `s`",
            ),
            (
                "= recv()",
                1,
                "expected a name before `=`, as in `data = conn.recv(1024)`, found `=`",
            ),
            ("None = s.accept()", 1, "cannot assign to `None`"),
            (
                "x = ",
                5,
                "expected a call such as `conn.recv(1024)`, found end of line",
            ),
            (
                "x = 5",
                5,
                "expected a call such as `conn.recv(1024)`, found number `5`",
            ),
            ("x = y", 6, "expected `(` to call `y`, found end of line"),
            (
                "a.b.c()",
                1,
                "expected a method of one variable, as in `conn.recv(1024)`, found `a.b.c(...)`",
            ),
            (
                "s.recv(bufsize=5)",
                8,
                "`bufsize=`: keyword arguments are not supported; pass the value by position",
            ),
            (
                "s.recv(1024) x",
                14,
                "expected end of line after the call, found name `x`",
            ),
            (
                "s.recv(1); s.close()",
                12,
                "expected end of line after `;` (one statement per line), found name `s`",
            ),
            ("s.recv(1024)!", 13, "unexpected character `!`"),
            (
                "x = = 'unterminated",
                5,
                "expected a call such as `conn.recv(1024)`, found `=`",
            ),
            (
                "s.recv(010)",
                8,
                "leading zeros are not allowed in `010`; write 0o10 for octal",
            ),
            ("s.recv(1.2.3)", 8, "invalid number `1.2.3`"),
            (
                "s.recv(9223372036854775808)",
                8,
                "`9223372036854775808` does not fit in a 64-bit signed integer",
            ),
            (
                "s.recv(99999999999999999999)",
                8,
                "`99999999999999999999` does not fit in 64 bits",
            ),
            (
                "s.send('x'.upper())",
                12,
                "expected `encode` after a string's `.`, as in `\"text\".encode()`, found name `upper`",
            ),
            (
                "s.f(struct.pack('i', 'x'))",
                22,
                "expected an integer to pack, found another value",
            ),
            (
                "s.f(struct.pack('i',",
                21,
                "expected `)` to close the call opened at column 16, found end of line",
            ),
            ("map x", 5, "`map` takes no argument, found `x`"),
            (
                "save",
                5,
                "expected a file name after `save`, found end of line",
            ),
            (
                "help(send",
                10,
                "expected `)` to close the `(` at column 5, found end of line",
            ),
        ];
        for &(line, column, message) in cases {
            assert_eq!(error(line), (column, message.to_string()), "{line}");
        }
    }

    #[test]
    fn error_display_and_caret() {
        let e = parse("server.listen(5").unwrap_err();
        let shown =
            "column 16: expected `)` to close the call opened at column 14, found end of line";
        assert_eq!(e.to_string(), shown);
        assert_eq!(e.caret(), format!("{}^", " ".repeat(15)));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let line = format!("s.f({}", "(".repeat(10_000));
        assert_eq!(error(&line), (37, "nested more than 32 deep".to_string()));
        assert!(parse(&format!("s.f({}1{})", "(".repeat(31), ")".repeat(31))).is_ok());
    }

    /// Every example line of the brief, for the fuzzer to mutate.
    const EXAMPLES: &[&str] = &[
        "server = socket(AF_INET, SOCK_STREAM)",
        "server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)",
        "u = socket(AF_INET, SOCK_DGRAM)",
        "x = socket(AF_UNIX, SOCK_STREAM)",
        r#"server.bind(("127.0.0.1", 0))"#,
        "server.bind(('127.0.0.1', 8080))",
        "server.listen(5)",
        "client.connect(server.getsockname())",
        r#"client.connect(("127.0.0.1", 8080))"#,
        r#"err = client.connect_ex(("127.0.0.1", 9))"#,
        "conn, addr = server.accept()",
        r#"client.send(b"hello")"#,
        r"client.sendall(b'hello\n\x00')",
        r#"client.send("text".encode())"#,
        "data = conn.recv(1024)",
        "conn.recv(1024)",
        r#"u.sendto(b"hi", ("127.0.0.1", 9000))"#,
        "data, addr = u.recvfrom(1024)",
        "s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)",
        "s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, True)",
        "s.setsockopt(SOL_SOCKET, SO_LINGER, struct.pack('ii', 1, 0))",
        "s.getsockopt(SOL_SOCKET, SO_RCVBUF)",
        "s.setblocking(False)",
        "s.settimeout(2.5)",
        "s.settimeout(None)",
        "s.shutdown(SHUT_WR)",
        "s.close()",
        "s.getsockname()",
        "s.getpeername()",
        "help",
        "help(send)",
        "save FILE",
        "# a comment",
    ];

    #[test]
    fn every_example_parses() {
        for line in EXAMPLES {
            assert!(parse(line).is_ok(), "{line}: {:?}", parse(line));
        }
    }

    /// A tiny xorshift pseudo-random generator: the same "random" lines on
    /// every run, without a crate.
    struct XorShift(u64);

    impl XorShift {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n.max(1) as u64) as usize
        }
    }

    #[test]
    fn fuzzed_lines_never_panic() {
        const TRICKY: &[u8] = b"()[],.=;#'\"\\bx0e9-+_ \t\xc3\xa9\xff";
        let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
        for _ in 0..10_000 {
            let mut line = EXAMPLES[rng.below(EXAMPLES.len())].as_bytes().to_vec();
            if rng.below(10) == 0 {
                line = (0..rng.below(40)).map(|_| rng.below(256) as u8).collect();
            }
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(line.len() + 1);
                let end = at + rng.below(line.len() - at + 1);
                match rng.below(5) {
                    0 => line.insert(at, TRICKY[rng.below(TRICKY.len())]),
                    1 => line.insert(at, rng.below(256) as u8),
                    2 => drop(line.drain(at..end)),
                    3 => line.truncate(at),
                    _ => {
                        let other = EXAMPLES[rng.below(EXAMPLES.len())].as_bytes();
                        line.splice(at..end, other[rng.below(other.len())..].iter().copied());
                    }
                }
            }
            let text = String::from_utf8_lossy(&line);
            let columns = text.chars().count() + 1;
            match parse(&text) {
                Err(e) => {
                    assert!((1..=columns).contains(&e.column), "{text:?}: {e}");
                    assert!(e.to_string().starts_with("column "));
                }
                Ok(Line::Statement(s)) => assert!((1..columns).contains(&s.call.column)),
                Ok(_) => {}
            }
        }
    }
}
