//! Display filters: `--filter 'tcp.port == 9000 && tcp.len > 0'` picks the
//! packets `lab inspect` and `lab capture` show, with Wireshark's field
//! names and syntax, so that what a learner types here works in Wireshark
//! and tshark (`-Y`) too, and the other way round.
//!
//! # What a filter asks
//!
//! A filter is a question asked of every packet. Its smallest parts are
//! tests on fields:
//!
//! - a field alone asks whether the packet has it: `udp` (a UDP datagram),
//!   `tcp.payload` (a segment that carries data). Careful: a TCP flag is a
//!   field of every segment, set or not, so `tcp.flags.push` alone matches
//!   every TCP segment; `tcp.flags.push == 1` asks whether PSH is set;
//! - a comparison, `field OP value`, with `==` `!=` `<` `>` `<=` `>=` (or
//!   `eq` `ne` `lt` `gt` `le` `ge`): `tcp.len > 0`, `ip.src == 127.0.0.1`,
//!   `ip.addr == 10.0.0.0/8` (a network), `tcp.flags.syn == 1`;
//! - `field contains bytes`: `tcp.payload contains "GET"` or `... contains
//!   47:45:54`;
//! - `field in {a, b, c..d}`: any of those values or ranges.
//!
//! Tests combine with `&&` `||` `!` (or `and` `or` `not`) and parentheses;
//! `!` binds tightest, then `&&`, then `||`.
//!
//! A field can occur twice in one packet: `tcp.port` is both the source and
//! the destination port. `tcp.port == 22` asks whether either is 22;
//! `tcp.port != 22` whether neither is (Wireshark 4's meaning). A packet
//! without the field fails every comparison on it, `!=` included: `tcp.port
//! != 22` does not match a UDP datagram, `!(tcp.port == 22)` does.
//!
//! # Numbers that depend on the whole capture
//!
//! `frame.number` is the packet's place in the file (or the capture), from
//! 1; `tcp.stream` and `udp.stream` number conversations in the order they
//! began; `tcp.seq` and `tcp.ack` count from each side's first sequence
//! number. All of them are worked out over every packet, before the filter
//! looks: `tcp.stream == 2` is the third connection of the file whatever
//! the filter leaves out, as in Wireshark.
//!
//! # Where we differ from Wireshark
//!
//! - Sets may also be written without commas, `{1 3 5}`, as Wireshark 3
//!   wrote them; Wireshark 4 wants `{1, 3, 5}`.
//! - Wireshark puts an IP datagram cut into fragments back together and
//!   shows its `udp` fields on the last fragment; we decode packets one by
//!   one, so they are on the first (the one that holds the UDP header).
//! - Fields cannot be compared with each other (`tcp.srcport ==
//!   tcp.dstport`), and there is no `matches` (regular expressions), no
//!   slices (`tcp.payload[0:2]`) and no functions (`len(...)`).
//!
//! # Layout
//!
//! [`lexer`] cuts the text into tokens, [`parser`] builds a typed [`Expr`]
//! (every value already checked against its field's type, so a filter that
//! parses cannot fail on a packet), [`field`] names the fields and reads
//! them from a packet, and [`DisplayFilter::matches`] asks the question.

mod eval;
pub mod field;
mod lexer;
mod parser;

use std::fmt;
use std::net::IpAddr;

pub use field::{Field, FieldType};

/// The fields `--filter` knows, for `lab inspect --help`: a paragraph per
/// protocol, each field with its type.
pub fn fields_help() -> String {
    let mut text = String::from(
        "Fields for --filter (Wireshark's names; a field alone tests that the packet has it):\n",
    );
    let mut protocol = "";
    let mut line = String::new();
    for &f in Field::ALL {
        let ty = match f.ty() {
            FieldType::Protocol | FieldType::Marker => "",
            FieldType::Unsigned(_) => " (number)",
            FieldType::Bool => " (0 or 1)",
            FieldType::Ipv4 => " (IPv4 address)",
            FieldType::Ipv6 => " (IPv6 address)",
            FieldType::Bytes => " (bytes)",
        };
        let item = format!("{}{ty}", f.name());
        let proto = f.name().split('.').next().unwrap_or_default();
        if proto != protocol || line.len() + item.len() > 76 {
            if !line.is_empty() {
                // A protocol's last field ends its paragraph: no comma.
                let end = if proto == protocol { "" } else { "," };
                text.push_str(line.trim_end_matches(end));
                text.push('\n');
            }
            line = String::from(if proto == protocol { "    " } else { "  " });
            protocol = proto;
        } else {
            line.push(' ');
        }
        line.push_str(&item);
        line.push(',');
    }
    text.push_str(line.trim_end_matches(','));
    text.push_str(
        "\nOperators: == != < > <= >= (eq ne lt gt le ge), contains, in {..};\n\
         \x20 && || ! (and or not), ( ).\n\
         Values: 80, 0x50; 127.0.0.1, 10.0.0.0/8, ::1; \"text\" or 66:65:6e:67 for bytes.\n\
         Example: lab inspect capture.pcap --filter 'tcp.port == 9000 && tcp.len > 0'",
    );
    text
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

impl Cmp {
    /// The symbol Wireshark prints for it.
    pub fn symbol(self) -> &'static str {
        match self {
            Cmp::Eq => "==",
            Cmp::Ne => "!=",
            Cmp::Lt => "<",
            Cmp::Gt => ">",
            Cmp::Le => "<=",
            Cmp::Ge => ">=",
        }
    }

    /// `<` `>` `<=` `>=`: they need values that have an order.
    fn orders(self) -> bool {
        !matches!(self, Cmp::Eq | Cmp::Ne)
    }
}

/// A value in a filter, already of its field's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Unsigned(u64),
    Bool(bool),
    /// An address, or a network when `prefix` is shorter than the address
    /// (`10.0.0.0/8`).
    Addr {
        addr: IpAddr,
        prefix: u8,
    },
    Bytes(Vec<u8>),
}

/// One element of a set: a value or an inclusive range `a..b`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetItem {
    One(Value),
    Range(Value, Value),
}

/// A test on one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Test {
    /// The field alone: is it in the packet?
    Present(Field),
    Compare {
        field: Field,
        cmp: Cmp,
        value: Value,
    },
    Contains {
        field: Field,
        bytes: Vec<u8>,
    },
    In {
        field: Field,
        set: Vec<SetItem>,
    },
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    Test(Test),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

/// A display filter, parsed and type-checked, ready to ask of packets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayFilter {
    pub expr: Expr,
    /// Whether it names `tcp.stream` or `udp.stream`: only then must the
    /// timeline number conversations.
    pub needs_streams: bool,
}

impl DisplayFilter {
    /// Parses a filter as typed on the command line.
    ///
    /// # Errors
    ///
    /// A [`FilterError`] saying what was expected, or what is wrong with a
    /// field or value, and at which column.
    pub fn parse(text: &str) -> Result<DisplayFilter, FilterError> {
        let expr = parser::parse(text)?;
        Ok(DisplayFilter::new(expr))
    }

    /// The filter for one conversation: `tcp.stream == n` (`udp.stream`).
    pub fn stream(kind: crate::conversations::Kind, n: usize) -> DisplayFilter {
        let field = match kind {
            crate::conversations::Kind::Tcp => Field::TcpStream,
            crate::conversations::Kind::Udp => Field::UdpStream,
        };
        DisplayFilter::new(Expr::Test(Test::Compare {
            field,
            cmp: Cmp::Eq,
            value: Value::Unsigned(n as u64),
        }))
    }

    /// Both filters at once.
    pub fn and(self, other: DisplayFilter) -> DisplayFilter {
        DisplayFilter::new(Expr::And(Box::new(self.expr), Box::new(other.expr)))
    }

    fn new(expr: Expr) -> DisplayFilter {
        let needs_streams = expr.names(Field::TcpStream) || expr.names(Field::UdpStream);
        DisplayFilter {
            expr,
            needs_streams,
        }
    }
}

impl Expr {
    /// Whether the expression tests `field` anywhere.
    fn names(&self, field: Field) -> bool {
        match self {
            Expr::Test(
                Test::Present(f)
                | Test::Compare { field: f, .. }
                | Test::Contains { field: f, .. }
                | Test::In { field: f, .. },
            ) => *f == field,
            Expr::Not(e) => e.names(field),
            Expr::And(a, b) | Expr::Or(a, b) => a.names(field) || b.names(field),
        }
    }
}

/// Why a filter did not parse, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {kind}")]
pub struct FilterError {
    /// Where the trouble starts, from 1, in characters.
    pub column: usize,
    pub kind: ErrorKind,
}

/// What is wrong with a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// A character or a string that starts no token.
    Lex(String),
    /// The grammar wanted something else here.
    Expected {
        what: &'static str,
        after: Option<String>,
        /// How the token found is shown; `None` at the end of the filter.
        found: Option<String>,
    },
    /// A name that is no field we know.
    UnknownField {
        name: String,
        suggestion: Option<&'static str>,
    },
    /// A Wireshark field we know of but do not offer yet.
    NotSupportedYet { name: String },
    /// A value that is not of the field's type, or out of its range.
    BadValue {
        field: Field,
        value: String,
        why: String,
    },
    /// An operator the field's type does not have.
    BadOperator { field: Field, op: String },
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Lex(m) => f.write_str(m),
            ErrorKind::Expected { what, after, found } => {
                write!(f, "expected {what}")?;
                if let Some(a) = after {
                    write!(f, " after {a}")?;
                }
                match found {
                    Some(t) => write!(f, ", found {t}"),
                    None => write!(f, ", found end of filter"),
                }
            }
            ErrorKind::UnknownField { name, suggestion } => {
                write!(f, "unknown field `{name}`")?;
                match suggestion {
                    Some(s) => write!(f, "; did you mean `{s}`?"),
                    None => write!(f, "; `lab inspect --help` lists the fields"),
                }
            }
            ErrorKind::NotSupportedYet { name } => write!(
                f,
                "`{name}` is a Wireshark field that lab does not support yet"
            ),
            ErrorKind::BadValue { field, value, why } => write!(
                f,
                "`{value}` is not a value for {} ({}): {why}",
                field.name(),
                field.ty().describe()
            ),
            ErrorKind::BadOperator { field, op } => match field.ty() {
                FieldType::Marker => write!(
                    f,
                    "{} is a mark with no value: test it alone (`{}`); {op} does not apply",
                    field.name(),
                    field.name()
                ),
                FieldType::Protocol => write!(
                    f,
                    "{} is a protocol: test it alone (`{}`) or compare one of its fields; {op} does not apply",
                    field.name(),
                    field.name()
                ),
                ty => write!(
                    f,
                    "{op} does not apply to {} ({})",
                    field.name(),
                    ty.describe()
                ),
            },
        }
    }
}

#[cfg(test)]
mod tests;
