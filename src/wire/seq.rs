//! TCP sequence numbers: 32-bit counters that wrap around.
//!
//! A connection picks a random initial sequence number, so the counter can
//! pass 2^32 - 1 and start again at 0 in the middle of a transfer. Plain
//! `u32` comparison then says the later byte comes first. RFC 9293 (and
//! every TCP stack) compares sequence numbers by their wrapping distance
//! instead: `a` is before `b` when `b - a`, taken modulo 2^32, is less
//! than 2^31. [`SeqNumber`] does the same, like smoltcp's `TcpSeqNumber`.

use std::cmp::Ordering;
use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// A TCP sequence or acknowledgment number, with wrapping arithmetic.
///
/// - `seq + n` (`n: usize`) wraps modulo 2^32.
/// - `a - b` is the signed distance from `b` to `a`, an `i32`: the
///   shortest way round the circle, positive when `a` is after `b`.
/// - `<`, `>` compare by that distance. Two numbers exactly 2^31 apart are
///   ambiguous: `partial_cmp` returns `None` and both `<` and `>` are
///   false. That is why this type is `PartialOrd` and not `Ord`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SeqNumber(pub u32);

impl SeqNumber {
    /// The signed distance from `earlier` to `self` (see the type docs).
    pub fn distance_from(self, earlier: SeqNumber) -> i32 {
        self.0.wrapping_sub(earlier.0) as i32
    }

    /// The later of two numbers in wrapping order (`self` if ambiguous).
    pub fn max(self, other: SeqNumber) -> SeqNumber {
        if other > self { other } else { self }
    }

    /// The earlier of two numbers in wrapping order (`self` if ambiguous).
    pub fn min(self, other: SeqNumber) -> SeqNumber {
        if other < self { other } else { self }
    }
}

impl From<u32> for SeqNumber {
    fn from(value: u32) -> Self {
        SeqNumber(value)
    }
}

impl Add<usize> for SeqNumber {
    type Output = SeqNumber;

    /// Advances by `rhs` bytes, wrapping modulo 2^32 (a `usize` above
    /// 2^32 wraps too: sequence space is a circle).
    fn add(self, rhs: usize) -> SeqNumber {
        SeqNumber(self.0.wrapping_add(rhs as u32))
    }
}

impl AddAssign<usize> for SeqNumber {
    fn add_assign(&mut self, rhs: usize) {
        *self = *self + rhs;
    }
}

impl Sub<usize> for SeqNumber {
    type Output = SeqNumber;

    /// Goes back `rhs` bytes, wrapping modulo 2^32.
    fn sub(self, rhs: usize) -> SeqNumber {
        SeqNumber(self.0.wrapping_sub(rhs as u32))
    }
}

impl Sub for SeqNumber {
    type Output = i32;

    /// The signed wrapping distance `self - rhs`.
    fn sub(self, rhs: SeqNumber) -> i32 {
        self.distance_from(rhs)
    }
}

impl PartialOrd for SeqNumber {
    fn partial_cmp(&self, other: &SeqNumber) -> Option<Ordering> {
        match self.distance_from(*other) {
            i32::MIN => None,
            d => Some(d.cmp(&0)),
        }
    }
}

impl fmt::Display for SeqNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_wraps() {
        let near_end = SeqNumber(u32::MAX - 9);
        assert_eq!(near_end + 10, SeqNumber(0));
        assert_eq!(near_end + 15, SeqNumber(5));
        assert_eq!(SeqNumber(5) - 15, near_end);
        assert_eq!(SeqNumber(5) - near_end, 15);
        assert_eq!(near_end - SeqNumber(5), -15);
        let mut s = near_end;
        s += 20;
        assert_eq!(s, SeqNumber(10));
    }

    #[test]
    fn comparison_follows_the_circle() {
        let near_end = SeqNumber(u32::MAX - 9);
        // 5 comes after u32::MAX - 9 once the counter wrapped.
        assert!(SeqNumber(5) > near_end);
        assert!(near_end < SeqNumber(5));
        assert!(SeqNumber(1) < SeqNumber(2));
        assert_eq!(
            SeqNumber(7).partial_cmp(&SeqNumber(7)),
            Some(Ordering::Equal)
        );
        assert_eq!(SeqNumber(5).max(near_end), SeqNumber(5));
        assert_eq!(SeqNumber(5).min(near_end), near_end);
    }

    #[test]
    fn half_the_circle_apart_is_ambiguous() {
        let a = SeqNumber(0);
        let b = SeqNumber(1 << 31);
        assert_eq!(a.partial_cmp(&b), None);
        assert!(!a.lt(&b) && !a.gt(&b) && a != b);
        assert_eq!(a.max(b), a);
    }
}
