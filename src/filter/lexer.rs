//! Display-filter text to tokens, each with the column it starts at.

/// One token of a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    LParen,
    RParen,
    LBrace,
    RBrace,
    Comma,
    /// `&&` or `and`.
    And,
    /// `||` or `or`.
    Or,
    /// `!` or `not`.
    Not,
    /// A comparison: `==`, `eq`, `<`, ...
    Cmp(super::Cmp),
    Contains,
    In,
    /// A quoted string, its escapes resolved, as bytes.
    Str(Vec<u8>),
    /// Anything else: a field name, a number, an address, `aa:bb`.
    Word(String),
}

impl Token {
    /// How an error message shows the token.
    pub fn describe(&self) -> String {
        match self {
            Token::LParen => "'('".into(),
            Token::RParen => "')'".into(),
            Token::LBrace => "'{'".into(),
            Token::RBrace => "'}'".into(),
            Token::Comma => "','".into(),
            Token::And => "'&&'".into(),
            Token::Or => "'||'".into(),
            Token::Not => "'!'".into(),
            Token::Cmp(c) => format!("'{}'", c.symbol()),
            Token::Contains => "'contains'".into(),
            Token::In => "'in'".into(),
            Token::Str(_) => "a quoted string".into(),
            Token::Word(w) => format!("`{w}`"),
        }
    }
}

/// A token and its column (from 1, in characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spanned {
    pub token: Token,
    pub column: usize,
}

/// Characters that end a word: spaces, brackets and operator symbols.
fn ends_word(c: char) -> bool {
    c.is_whitespace() || "(){},=!<>&|\"~^".contains(c)
}

/// Splits a filter into tokens.
///
/// # Errors
///
/// `(column, message)` for a character that starts no token or a string
/// left open.
pub fn tokens(text: &str) -> Result<Vec<Spanned>, (usize, String)> {
    use super::Cmp;
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let column = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let next = chars.get(i + 1).copied();
        let (token, len) = match (c, next) {
            ('(', _) => (Token::LParen, 1),
            (')', _) => (Token::RParen, 1),
            ('{', _) => (Token::LBrace, 1),
            ('}', _) => (Token::RBrace, 1),
            (',', _) => (Token::Comma, 1),
            ('&', Some('&')) => (Token::And, 2),
            ('|', Some('|')) => (Token::Or, 2),
            ('=', Some('=')) => (Token::Cmp(Cmp::Eq), 2),
            ('!', Some('=')) => (Token::Cmp(Cmp::Ne), 2),
            ('<', Some('=')) => (Token::Cmp(Cmp::Le), 2),
            ('>', Some('=')) => (Token::Cmp(Cmp::Ge), 2),
            ('<', _) => (Token::Cmp(Cmp::Lt), 1),
            ('>', _) => (Token::Cmp(Cmp::Gt), 1),
            ('!', _) => (Token::Not, 1),
            ('=', _) => {
                return Err((
                    column,
                    "'=' is not an operator: write '==' to compare".into(),
                ));
            }
            ('&', _) => return Err((column, "'&' is not an operator: write '&&' (and)".into())),
            ('|', _) => return Err((column, "'|' is not an operator: write '||' (or)".into())),
            ('"', _) => {
                let (bytes, len) = string(&chars[i..]).map_err(|m| (column, m))?;
                (Token::Str(bytes), len)
            }
            _ if ends_word(c) => {
                return Err((column, format!("'{c}' is not supported in a filter")));
            }
            _ => {
                let len = chars[i..].iter().take_while(|c| !ends_word(**c)).count();
                let word: String = chars[i..i + len].iter().collect();
                let token = match word.as_str() {
                    "and" => Token::And,
                    "or" => Token::Or,
                    "not" => Token::Not,
                    "eq" => Token::Cmp(Cmp::Eq),
                    "ne" => Token::Cmp(Cmp::Ne),
                    "lt" => Token::Cmp(Cmp::Lt),
                    "gt" => Token::Cmp(Cmp::Gt),
                    "le" => Token::Cmp(Cmp::Le),
                    "ge" => Token::Cmp(Cmp::Ge),
                    "contains" => Token::Contains,
                    "in" => Token::In,
                    _ => Token::Word(word),
                };
                (token, len)
            }
        };
        out.push(Spanned { token, column });
        i += len;
    }
    Ok(out)
}

/// A quoted string at the start of `chars`: its bytes and how many
/// characters it took, quotes included. Escapes as in C: `\"`, `\\`,
/// `\n`, `\r`, `\t`, `\xNN`.
fn string(chars: &[char]) -> Result<(Vec<u8>, usize), String> {
    let mut bytes = Vec::new();
    let mut i = 1;
    loop {
        let Some(&c) = chars.get(i) else {
            return Err("this string has no closing '\"'".into());
        };
        i += 1;
        match c {
            '"' => return Ok((bytes, i)),
            '\\' => {
                let Some(&e) = chars.get(i) else {
                    return Err("this string has no closing '\"'".into());
                };
                i += 1;
                match e {
                    '"' | '\\' => bytes.push(e as u8),
                    'n' => bytes.push(b'\n'),
                    'r' => bytes.push(b'\r'),
                    't' => bytes.push(b'\t'),
                    '0' => bytes.push(0),
                    'x' => {
                        let hex: String = chars.get(i..i + 2).unwrap_or_default().iter().collect();
                        let b = u8::from_str_radix(&hex, 16)
                            .map_err(|_| format!("`\\x` needs two hex digits, found `{hex}`"))?;
                        bytes.push(b);
                        i += 2;
                    }
                    other => return Err(format!("unknown escape `\\{other}` in a string")),
                }
            }
            c => {
                let mut buf = [0u8; 4];
                bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
}
