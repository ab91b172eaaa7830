//! Asking a parsed filter of one packet.

use std::net::IpAddr;

use super::field::FieldValue;
use super::{Cmp, DisplayFilter, Expr, SetItem, Test, Value};
use crate::trace::Packet;

impl DisplayFilter {
    /// Whether `packet` matches. The packet must have been through the
    /// timeline (see [`crate::timeline::Timeline::filtered`]), which works
    /// out its frame number, stream and relative sequence numbers.
    pub fn matches(&self, packet: &Packet) -> bool {
        eval(&self.expr, packet)
    }
}

fn eval(expr: &Expr, p: &Packet) -> bool {
    match expr {
        Expr::Test(t) => test(t, p),
        Expr::Not(e) => !eval(e, p),
        Expr::And(a, b) => eval(a, p) && eval(b, p),
        Expr::Or(a, b) => eval(a, p) || eval(b, p),
    }
}

fn test(t: &Test, p: &Packet) -> bool {
    // How many of the field's occurrences there are, and how many pass.
    let (mut seen, mut passed) = (0usize, 0usize);
    let field = match t {
        Test::Present(f)
        | Test::Compare { field: f, .. }
        | Test::Contains { field: f, .. }
        | Test::In { field: f, .. } => *f,
    };
    field.read(p, &mut |v| {
        seen += 1;
        let ok = match t {
            Test::Present(_) => true,
            // `!=` passes only if every occurrence differs (below): each
            // occurrence is counted as passing when it differs.
            Test::Compare { cmp, value, .. } => compare(&v, *cmp, value),
            Test::Contains { bytes, .. } => match v {
                FieldValue::Bytes(b) => contains(b, bytes),
                _ => false,
            },
            Test::In { set, .. } => set.iter().any(|item| match item {
                SetItem::One(x) => compare(&v, Cmp::Eq, x),
                SetItem::Range(lo, hi) => compare(&v, Cmp::Ge, lo) && compare(&v, Cmp::Le, hi),
            }),
        };
        passed += usize::from(ok);
    });
    match t {
        // Wireshark 4: `a != b` is `!(a == b)` for a field that is there;
        // a packet without the field matches no comparison on it.
        Test::Compare { cmp: Cmp::Ne, .. } => seen > 0 && passed == seen,
        _ => passed > 0,
    }
}

/// One occurrence of a field against a value of its type.
fn compare(v: &FieldValue, cmp: Cmp, value: &Value) -> bool {
    use std::cmp::Ordering;
    let order: Option<Ordering> = match (v, value) {
        (FieldValue::Unsigned(a), Value::Unsigned(b)) => Some(a.cmp(b)),
        (FieldValue::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
        (FieldValue::Bytes(a), Value::Bytes(b)) => Some((*a).cmp(b.as_slice())),
        (FieldValue::Addr(a), Value::Addr { addr, prefix }) => {
            if *prefix < super::parser::full(*addr) {
                // A network: `==` asks whether the address is in it.
                let inside = in_network(*a, *addr, *prefix);
                return match cmp {
                    Cmp::Eq => inside,
                    Cmp::Ne => !inside,
                    _ => false, // refused by the parser
                };
            }
            match (a, addr) {
                (IpAddr::V4(x), IpAddr::V4(y)) => Some(x.cmp(y)),
                (IpAddr::V6(x), IpAddr::V6(y)) => Some(x.cmp(y)),
                _ => None,
            }
        }
        _ => None,
    };
    let Some(o) = order else { return false };
    match cmp {
        Cmp::Eq => o == Ordering::Equal,
        Cmp::Ne => o != Ordering::Equal,
        Cmp::Lt => o == Ordering::Less,
        Cmp::Gt => o == Ordering::Greater,
        Cmp::Le => o != Ordering::Greater,
        Cmp::Ge => o != Ordering::Less,
    }
}

/// Whether `a` lies in the network `net/prefix`.
fn in_network(a: IpAddr, net: IpAddr, prefix: u8) -> bool {
    match (a, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// Whether `needle` occurs in `hay` (an empty needle always does).
fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}
