//! The tokenizer: characters to tokens, each with its column.

use super::{ParseError, is_ident_char, skip_space};

/// The kinds of token.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
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
pub(super) struct Token {
    pub(super) tok: Tok,
    pub(super) col: usize,
}

/// Cuts the line into tokens; the last one is `End` or `Bad`.
pub(super) fn tokenize(chars: &[char]) -> Vec<Token> {
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
