//! Where on the page each moment of a session goes: time to y.
//!
//! A session's moments bunch up: a handshake, a request and its reply take
//! a few hundred microseconds, then a program sleeps 100 ms, then the
//! teardown takes another few hundred. Drawn to one scale, the interesting
//! part is a smear at the top and the bottom; drawn one row per event with
//! no scale, a 100 ms wait looks like 10 µs. So the mapping has three
//! parts:
//!
//! - every moment that carries a label gets a row of its own ([`ROW`]
//!   pixels), so labels never overlap and order is always kept;
//! - the time between two moments adds space in proportion to it, at one
//!   scale for the whole diagram ([`Layout::px_per_ms`]), chosen so that
//!   the drawn time takes about [`BUDGET_PX`];
//! - a gap that is long next to the rest of the session (at least
//!   [`BREAK_MIN_US`], and more than [`BREAK_SHARE`] of the time the other
//!   gaps drawn to scale add up to) is not drawn to scale but as a
//!   [`Break`] of fixed height, which the diagram marks with a zig-zag and
//!   the gap's length.
//!
//! The axis then marks real times where they fall ([`Layout::ticks`]), so
//! the reader can always tell how far apart two rows are in time.

/// Height of a labelled row (px).
pub const ROW: f64 = 17.0;

/// Height taken by a moment without a label of its own (the start of a
/// short wait).
pub const ANCHOR: f64 = 3.0;

/// Height of a long gap drawn shortened.
pub const BREAK_PX: f64 = 38.0;

/// About how much height the time drawn to scale takes in all.
pub const BUDGET_PX: f64 = 240.0;

/// The scale never exceeds this many pixels per millisecond (a session of
/// a few microseconds would otherwise be drawn as if they were long).
pub const MAX_PX_PER_MS: f64 = 2_000.0;

/// A gap shorter than this is always drawn to scale.
pub const BREAK_MIN_US: u64 = 10_000;

/// A gap longer than this share of the other gaps drawn to scale is
/// "long next to the rest" and drawn shortened.
pub const BREAK_SHARE: f64 = 0.25;

/// Least space between two labelled ticks of the time axis (px).
const TICK_GAP_PX: f64 = 24.0;

/// Space between two ticks the scale aims for (px).
const TICK_AIM_PX: f64 = 60.0;

/// A moment to place: a call's start or return, a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Point {
    pub t_us: u64,
    /// Whether a label is written at this moment (it needs a row).
    pub labelled: bool,
}

/// A long gap, drawn shortened between `y0` and `y1`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Break {
    pub from_us: u64,
    pub to_us: u64,
    pub y0: f64,
    pub y1: f64,
}

/// A mark on the time axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    pub t_us: u64,
    pub y: f64,
    /// `17.5 ms`.
    pub label: String,
}

/// The points placed.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The points' times, in order, and the y of each.
    times: Vec<u64>,
    pub ys: Vec<f64>,
    pub breaks: Vec<Break>,
    /// The scale of the time drawn to scale.
    pub px_per_ms: f64,
    /// Where the last row ends.
    pub bottom: f64,
}

/// Which gaps between consecutive points are drawn shortened. Taken
/// longest first: each is judged against the gaps still drawn to scale
/// besides it, so one 300 ms wait does not hide three 40 ms ones.
pub fn long_gaps(gaps: &[u64]) -> Vec<bool> {
    let mut order: Vec<usize> = (0..gaps.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(gaps[i]));
    let mut long = vec![false; gaps.len()];
    let mut drawn: u64 = gaps.iter().sum();
    for i in order {
        let rest = drawn - gaps[i];
        if gaps[i] < BREAK_MIN_US || (gaps[i] as f64) <= BREAK_SHARE * rest as f64 {
            break;
        }
        long[i] = true;
        drawn = rest;
    }
    long
}

/// Places `points` (sorted by time) from `top` down.
pub fn place(points: &[Point], top: f64) -> Layout {
    debug_assert!(points.windows(2).all(|w| w[0].t_us <= w[1].t_us));
    let gaps: Vec<u64> = points.windows(2).map(|w| w[1].t_us - w[0].t_us).collect();
    let long = long_gaps(&gaps);
    let scaled_us: u64 = gaps
        .iter()
        .zip(&long)
        .filter(|(_, l)| !**l)
        .map(|(g, _)| g)
        .sum();
    let px_per_ms = match scaled_us {
        0 => MAX_PX_PER_MS,
        us => (BUDGET_PX / (us as f64 / 1000.0)).min(MAX_PX_PER_MS),
    };
    let height = |p: &Point| if p.labelled { ROW } else { ANCHOR };
    let mut ys = Vec::with_capacity(points.len());
    let mut breaks = Vec::new();
    let mut y = top;
    for (i, p) in points.iter().enumerate() {
        if i > 0 {
            let gap = gaps[i - 1];
            if long[i - 1] {
                breaks.push(Break {
                    from_us: points[i - 1].t_us,
                    to_us: p.t_us,
                    y0: y,
                    y1: y + BREAK_PX,
                });
                y += BREAK_PX;
            } else {
                y += gap as f64 / 1000.0 * px_per_ms;
            }
        }
        // The row is centred on the moment: half before, half after.
        y += height(p) / 2.0;
        ys.push(y);
        y += height(p) / 2.0;
    }
    Layout {
        times: points.iter().map(|p| p.t_us).collect(),
        ys,
        breaks,
        px_per_ms,
        bottom: y,
    }
}

impl Layout {
    /// The y of a moment between the points: between the last point at or
    /// before it and the first after it, in proportion.
    pub fn y_at(&self, t_us: u64) -> f64 {
        let after = self.times.partition_point(|&t| t <= t_us);
        match (after.checked_sub(1), self.times.get(after)) {
            (None, _) => self.ys.first().copied().unwrap_or(0.0),
            (Some(i), None) => self.ys[i],
            (Some(i), Some(&t1)) => {
                let (t0, y0, y1) = (self.times[i], self.ys[i], self.ys[after]);
                y0 + (y1 - y0) * (t_us - t0) as f64 / (t1 - t0) as f64
            }
        }
    }

    /// Marks of the time axis: round times (1, 2 or 5 times a power of
    /// ten µs, about [`TICK_AIM_PX`] apart at the diagram's scale), each
    /// where it falls, none inside a break and none crowding the one
    /// before.
    pub fn ticks(&self) -> Vec<Tick> {
        let (Some(&first), Some(&last)) = (self.times.first(), self.times.last()) else {
            return Vec::new();
        };
        // Rows add height too: aim by the height the drawn time really
        // takes, breaks left out.
        let drawn_us =
            (last - first) - self.breaks.iter().map(|b| b.to_us - b.from_us).sum::<u64>();
        let drawn_px =
            (self.ys[self.ys.len() - 1] - self.ys[0]) - self.breaks.len() as f64 * BREAK_PX;
        let px_per_ms = match drawn_us {
            0 => self.px_per_ms,
            us => (drawn_px / (us as f64 / 1000.0)).max(self.px_per_ms),
        };
        let step = nice_step_us(TICK_AIM_PX / px_per_ms * 1000.0);
        let mut out: Vec<Tick> = Vec::new();
        let mut t = first.div_ceil(step) * step;
        while t <= last {
            if let Some(b) = self.breaks.iter().find(|b| t > b.from_us && t < b.to_us) {
                // Past the break: the next round time after it.
                t = b.to_us.div_ceil(step) * step;
                continue;
            }
            let y = self.y_at(t);
            if out.last().is_none_or(|prev| y - prev.y >= TICK_GAP_PX) {
                out.push(Tick {
                    t_us: t,
                    y,
                    label: tick_label(t, step),
                });
            }
            t += step;
        }
        out
    }
}

/// The smallest of 1, 2, 5 × 10ⁿ µs that is at least `us`.
fn nice_step_us(us: f64) -> u64 {
    let mut base = 1u64;
    loop {
        for m in [1, 2, 5] {
            if (base * m) as f64 >= us {
                return base * m;
            }
        }
        base = base.saturating_mul(10);
        if base >= 1 << 50 {
            return base;
        }
    }
}

/// `17 ms`, `17.5 ms`, `17.25 ms`, `17.125 ms`: as many decimals as the
/// step needs.
fn tick_label(t_us: u64, step_us: u64) -> String {
    let ms = t_us as f64 / 1000.0;
    match step_us {
        s if s >= 1000 => format!("{ms:.0} ms"),
        s if s >= 100 => format!("{ms:.1} ms"),
        s if s >= 10 => format!("{ms:.2} ms"),
        _ => format!("{ms:.3} ms"),
    }
}
