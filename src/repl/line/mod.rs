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

mod lexer;
mod parser;
#[cfg(test)]
mod tests;

use lexer::tokenize;
use parser::Parser;
