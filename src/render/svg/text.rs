//! The same sequence diagram in text, for the terminal (`lab run
//! --diagram`): a column per lifeline, a row per call or packet in time
//! order, and the long waits the SVG breaks with a zig-zag marked by a row
//! of their own.
//!
//! ```text
//!       time  client               server
//!   0.041 ms  ● connect → 0          │
//!   0.052 ms  ├──────── SYN ────────▶│
//!   0.060 ms  │◀────── SYN,ACK ──────┤
//!             ┊  … 100.1 ms …        ┊
//! ```
//!
//! Calls are written beside their lifeline, at the moment they returned,
//! cut with `…` where the next lifeline begins. It is drawn from the
//! [`Diagram`] the SVG is drawn from, so both tell the same story.

use unicode_width::UnicodeWidthStr;

use super::Diagram;
use super::layout::long_gaps;

/// Columns of the time on the left, and between two lifelines.
const TIME: usize = 11;
const SPAN: usize = 26;

/// One row: a call (its lane and label) or a packet (its ends and label).
enum Row<'a> {
    Call {
        lane: usize,
        label: &'a str,
    },
    Packet {
        from: usize,
        to: usize,
        label: String,
    },
}

impl Diagram {
    /// The diagram as lines of text, `width` columns at most for a
    /// diagram of up to `width / SPAN` lifelines (more are drawn anyway).
    pub fn text(&self) -> String {
        let mut rows: Vec<(u64, Row)> = Vec::new();
        for c in &self.calls {
            rows.push((
                c.end_us,
                Row::Call {
                    lane: c.lane,
                    label: &c.label,
                },
            ));
        }
        for p in &self.packets {
            let mut label = p.label.clone();
            for m in &p.marks {
                label.push_str(&format!(" [{}]", m.label));
            }
            rows.push((
                p.t_us,
                Row::Packet {
                    from: p.from,
                    to: p.to,
                    label,
                },
            ));
        }
        // In time order; a call and a packet at the same instant keep the
        // order they were met in (stable sort).
        rows.sort_by_key(|(t, _)| *t);
        let lanes = self.lanes.len().max(1);
        let col = |lane: usize| TIME + 2 + lane * SPAN;
        let width = col(lanes - 1) + SPAN;
        let mut out = String::new();
        // The heading: each lifeline's name over its column.
        let mut head = format!("{:>TIME$}  ", "time");
        for (i, name) in self.lanes.iter().enumerate() {
            pad_to(&mut head, col(i));
            head.push_str(&cut(name, SPAN - 1));
        }
        out.push_str(head.trim_end());
        out.push('\n');
        let gaps: Vec<u64> = rows.windows(2).map(|w| w[1].0 - w[0].0).collect();
        let long = long_gaps(&gaps);
        for (i, (t, row)) in rows.iter().enumerate() {
            if i > 0 && long[i - 1] {
                // A long wait, drawn shortened as in the SVG, with its length.
                let mut line: Vec<String> = vec![" ".to_string(); width];
                for lane in 0..lanes {
                    line[col(lane)] = "┊".into();
                }
                let gap = format!("… {:.1} ms …", gaps[i - 1] as f64 / 1e3);
                for (k, ch) in gap.chars().enumerate().take(SPAN - 3) {
                    line[col(0) + 2 + k] = ch.to_string();
                }
                out.push_str(&" ".repeat(TIME));
                out.push_str(line.concat()[TIME..].trim_end());
                out.push('\n');
            }
            let mut line: Vec<String> = vec![" ".to_string(); width];
            for lane in 0..lanes {
                line[col(lane)] = "│".into();
            }
            match row {
                Row::Call { lane, label } => {
                    line[col(*lane)] = "●".into();
                    // The label runs to the next lifeline, not over it.
                    let room = if *lane + 1 < lanes { SPAN - 2 } else { 60 };
                    let text = cut(label, room);
                    let start = col(*lane) + 2;
                    for (placed, ch) in text.chars().enumerate() {
                        let at = start + placed;
                        if at >= line.len() {
                            line.push(String::new());
                        }
                        line[at] = ch.to_string();
                    }
                }
                Row::Packet { from, to, label } => {
                    let (a, b) = (col(*from.min(to)), col(*from.max(to)));
                    if a == b {
                        line[a] = "◆".into(); // both ends on one lifeline
                    } else {
                        for cell in line.iter_mut().take(b).skip(a + 1) {
                            *cell = "─".into();
                        }
                        let rightwards = from < to;
                        line[a] = if rightwards { "├" } else { "│" }.into();
                        line[b] = if rightwards { "│" } else { "┤" }.into();
                        if rightwards {
                            line[b - 1] = "▶".into();
                        } else {
                            line[a + 1] = "◀".into();
                        }
                        // The label in the middle of the arrow, spaced.
                        let room = b - a - 4;
                        let text = format!(" {} ", cut(label, room.saturating_sub(2)));
                        let len = text.chars().count();
                        if len <= room {
                            let start = a + 2 + (room - len) / 2;
                            for (k, ch) in text.chars().enumerate() {
                                line[start + k] = ch.to_string();
                            }
                        }
                    }
                }
            }
            let time = format!("{:>TIME$}", format!("{:.3} ms", *t as f64 / 1e3));
            out.push_str(&time);
            out.push_str(line.concat()[TIME..].trim_end());
            out.push('\n');
        }
        if self.left_out > 0 {
            out.push_str(&format!(
                "… and {} more calls and packets, not drawn\n",
                self.left_out
            ));
        }
        out
    }
}

/// `text`, cut to `room` columns with `…` at the end if it is longer.
fn cut(text: &str, room: usize) -> String {
    if text.width() <= room {
        return text.to_string();
    }
    let mut out = String::new();
    for ch in text.chars() {
        if out.width() + 2 > room {
            break;
        }
        out.push(ch);
    }
    out.push('…');
    out
}

/// Pads `line` with spaces to `col` columns.
fn pad_to(line: &mut String, col: usize) {
    while line.width() < col {
        line.push(' ');
    }
    if !line.ends_with(' ') {
        line.push(' ');
    }
}
