//! Drawing a [`Diagram`] as an SVG document: lifelines, the time axis,
//! call labels and bars, packet arrows and the marks of long waits.

use svg::Document;
use svg::node::element::{
    Definitions, Group, Line, Marker, Path, Polyline, Rectangle, Style, Text,
};

use super::layout::{self, Layout, Point};
use super::{Diagram, millis};

/// Width of the time axis column, of the labels left of the first
/// lifeline and right of the last, and between lifelines when there are
/// more than two (px). Two lifelines make a 760 px diagram: book width.
const AXIS: f64 = 76.0;
const SIDE: f64 = 200.0;
const LANE_GAP_TWO: f64 = 284.0;
const LANE_GAP_MANY: f64 = 236.0;

/// Where the first row starts, below the title, legend and lifeline names.
const TOP: f64 = 116.0;

/// How far down a packet's arrow falls from sender to receiver (px). Not a
/// measurement: on `lo` a packet's flight takes no time the capture can
/// see. The legend says so.
pub const SLOPE: f64 = 8.0;

/// Width of one character of the labels' monospace font at 11 px (px),
/// to cut labels to the room they have.
const CHAR_PX: f64 = 6.7;

/// The lifelines' colours, in order (failures and analysis marks are red: see CSS).
const LANE_COLORS: [&str; 6] = [
    "#1f6fb2", "#7b4ea3", "#2e8b57", "#a0522d", "#138d9c", "#b03a7a",
];

const CSS: &str = "text{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:11px;fill:#222}\
.title{font-size:13px;font-weight:bold}\
.legend{font-size:10px;fill:#555}\
.axis{font-size:10px;fill:#666}\
.lane{font-weight:bold;fill:#fff}\
.call,.pkt,.brk{paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}\
.fail{fill:#c0392b}\
.brk{font-style:italic;fill:#555}\
.mark{fill:#c0392b;font-weight:bold}";

/// What one item of the diagram is, for placing its moments.
#[derive(Clone, Copy)]
enum Item {
    CallStart(usize),
    CallEnd(usize),
    Packet(usize),
}

/// Rounds to a tenth of a pixel: smaller files, the same picture.
fn r(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// At most `n` characters, with `…` where it was cut.
fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
    t.push('…');
    t
}

fn text(x: f64, y: f64, class: &str, anchor: &str, content: &str) -> Text {
    Text::new(content)
        .set("x", r(x))
        .set("y", r(y))
        .set("class", class)
        .set("text-anchor", anchor)
}

/// The diagram's geometry across the page.
struct Lanes {
    xs: Vec<f64>,
    width: f64,
}

impl Lanes {
    fn new(n: usize) -> Lanes {
        let gap = if n <= 2 { LANE_GAP_TWO } else { LANE_GAP_MANY };
        let xs: Vec<f64> = (0..n).map(|i| AXIS + SIDE + i as f64 * gap).collect();
        let width = xs.last().map_or(AXIS + 2.0 * SIDE, |x| x + SIDE);
        Lanes { xs, width }
    }

    /// Where a lane's call labels go: left of the first lifeline when there
    /// are others (the outside of the picture), else to the right.
    fn label(&self, lane: usize) -> (f64, &'static str, usize) {
        let x = self.xs[lane];
        if lane == 0 && self.xs.len() > 1 {
            return (x - 10.0, "end", ((SIDE - 14.0) / CHAR_PX) as usize);
        }
        let room = if lane + 1 == self.xs.len() {
            SIDE
        } else {
            LANE_GAP_MANY
        };
        (x + 10.0, "start", ((room - 16.0) / CHAR_PX) as usize)
    }
}

/// The whole document.
pub fn document(d: &Diagram, title: &str) -> String {
    // Every moment to place, in time order (ties keep the order they came).
    let mut items: Vec<(Point, Item)> = Vec::new();
    let bar: Vec<bool> = d.calls.iter().map(|c| d.is_bar(c)).collect();
    for (i, c) in d.calls.iter().enumerate() {
        if bar[i] {
            let start = Point {
                t_us: c.start_us,
                labelled: true,
            };
            items.push((start, Item::CallStart(i)));
        }
        let end = Point {
            t_us: c.end_us,
            labelled: true,
        };
        items.push((end, Item::CallEnd(i)));
    }
    for (i, p) in d.packets.iter().enumerate() {
        let at = Point {
            t_us: p.t_us,
            labelled: true,
        };
        items.push((at, Item::Packet(i)));
    }
    items.sort_by_key(|(p, _)| p.t_us);
    let points: Vec<Point> = items.iter().map(|(p, _)| *p).collect();
    let placed = layout::place(&points, TOP);
    let lanes = Lanes::new(d.lanes.len().max(1));
    let height = r(placed.bottom + 30.0 + if d.left_out > 0 { 16.0 } else { 0.0 });

    let mut doc = Document::new()
        .set("xmlns", "http://www.w3.org/2000/svg")
        .set("viewBox", (0, 0, r(lanes.width), height))
        .set("width", r(lanes.width))
        .set("height", height)
        .add(Style::new(CSS))
        .add(defs())
        // A page of its own: readable on the book's dark themes too.
        .add(
            Rectangle::new()
                .set("width", "100%")
                .set("height", "100%")
                .set("fill", "#fff"),
        );
    doc = header(doc, d, title, &lanes, &placed);
    doc = doc.add(axis(&placed));
    doc = doc.add(lifelines(&lanes, &placed));
    let mut bars = Group::new().set("class", "bars");
    let mut arrows = Group::new().set("class", "packets");
    let mut labels = Group::new().set("class", "calls");
    let mut ys_start = vec![None; d.calls.len()];
    for ((_, item), &y) in items.iter().zip(&placed.ys) {
        if let Item::CallStart(i) = item {
            ys_start[*i] = Some(y);
        }
    }
    for ((_, item), &y) in items.iter().zip(&placed.ys) {
        match *item {
            Item::CallStart(i) => {
                let c = &d.calls[i];
                let (x, anchor, room) = lanes.label(c.lane);
                let op = c.label.split(' ').next().unwrap_or_default();
                labels = labels.add(text(
                    x,
                    y + 4.0,
                    "call",
                    anchor,
                    &cut(&format!("{op} …"), room),
                ));
            }
            Item::CallEnd(i) => {
                let c = &d.calls[i];
                let x = lanes.xs[c.lane];
                if let Some(y0) = ys_start[i] {
                    let nested = depth(d, &bar, i).min(3) as f64 * 3.0;
                    bars = bars.add(
                        Rectangle::new()
                            .set("x", r(x - 4.0 + nested))
                            .set("y", r(y0))
                            .set("width", 8)
                            .set("height", r(y - y0))
                            .set("fill", "#e3ecf7")
                            .set("stroke", LANE_COLORS[c.lane % LANE_COLORS.len()]),
                    );
                } else {
                    bars = bars.add(
                        Line::new()
                            .set("x1", r(x - 4.0))
                            .set("x2", r(x + 4.0))
                            .set("y1", r(y))
                            .set("y2", r(y))
                            .set("stroke", LANE_COLORS[c.lane % LANE_COLORS.len()])
                            .set("stroke-width", 2),
                    );
                }
                let (lx, anchor, room) = lanes.label(c.lane);
                let class = if c.failed { "call fail" } else { "call" };
                labels = labels.add(text(lx, y + 4.0, class, anchor, &cut(&c.label, room)));
            }
            Item::Packet(i) => arrows = arrows.add(arrow(d, i, &lanes, y)),
        }
    }
    doc = doc.add(bars).add(arrows).add(labels);
    doc = doc.add(breaks(&lanes, &placed));
    if d.left_out > 0 {
        doc = doc.add(text(
            AXIS,
            placed.bottom + 34.0,
            "legend",
            "start",
            &format!(
                "… and {} more calls and packets, not drawn (the diagram stops at {}; --json has them all)",
                d.left_out,
                super::MAX_ITEMS
            ),
        ));
    }
    let mut s = doc.to_string();
    s.push('\n');
    s
}

/// How many other bars of its lifeline hold call `i`'s bar: a summary
/// (`served`) spans the calls that made it up, and each level is drawn a
/// little to the right so that both show.
fn depth(d: &Diagram, bar: &[bool], i: usize) -> usize {
    let c = &d.calls[i];
    let key = |o: &super::CallMark| (o.start_us, std::cmp::Reverse(o.end_us));
    d.calls
        .iter()
        .enumerate()
        .filter(|&(j, o)| {
            j != i
                && bar[j]
                && o.lane == c.lane
                && o.start_us <= c.start_us
                && o.end_us >= c.end_us
                && (key(o), j) < (key(c), i)
        })
        .count()
}

/// The arrowhead every packet ends in.
fn defs() -> Definitions {
    let head = Marker::new()
        .set("id", "head")
        .set("viewBox", "0 0 10 10")
        .set("refX", 10)
        .set("refY", 5)
        .set("markerWidth", 7)
        .set("markerHeight", 7)
        .set("orient", "auto-start-reverse")
        .add(
            Path::new()
                .set("d", "M0,0 L10,5 L0,10 z")
                .set("fill", "context-stroke"),
        );
    Definitions::new().add(head)
}

/// Title, legend and a name box atop each lifeline.
fn header(mut doc: Document, d: &Diagram, title: &str, lanes: &Lanes, placed: &Layout) -> Document {
    doc = doc.add(text(8.0, 18.0, "title", "start", title));
    let scale = placed.px_per_ms;
    let scale = if scale >= 10.0 {
        format!("{scale:.0} px per ms")
    } else {
        format!("{:.0} px per s", scale * 1000.0)
    };
    let legend = [
        format!(
            "Time runs down (ms on the session's clock). Each call and packet has a row; the time between rows adds {scale}."
        ),
        format!(
            "A packet's arrow falls a fixed {SLOPE:.0} px to show its direction: the capture saw it once, at one instant."
        ),
        "A bar is a call in progress (blocked, or sending) while other things happen. A zig-zag is a long".to_string(),
        "gap drawn shortened, its length written in it.".to_string(),
    ];
    for (i, line) in legend.iter().enumerate() {
        doc = doc.add(text(8.0, 34.0 + 12.0 * i as f64, "legend", "start", line));
    }
    for (i, name) in d.lanes.iter().enumerate() {
        let x = lanes.xs[i];
        let label = cut(name, 24);
        let w = label.chars().count() as f64 * CHAR_PX + 14.0;
        doc = doc
            .add(
                Rectangle::new()
                    .set("x", r(x - w / 2.0))
                    .set("y", 84)
                    .set("width", r(w))
                    .set("height", 18)
                    .set("rx", 3)
                    .set("fill", LANE_COLORS[i % LANE_COLORS.len()]),
            )
            .add(text(x, 97.0, "lane", "middle", &label));
    }
    doc
}

/// The time axis: a line and a tick per round time.
fn axis(placed: &Layout) -> Group {
    let x = AXIS - 8.0;
    let mut g = Group::new().set("class", "time-axis").add(
        Line::new()
            .set("x1", x)
            .set("x2", x)
            .set("y1", TOP - 6.0)
            .set("y2", r(placed.bottom + 6.0))
            .set("stroke", "#999"),
    );
    for tick in placed.ticks() {
        g = g
            .add(
                Line::new()
                    .set("x1", x - 4.0)
                    .set("x2", x)
                    .set("y1", r(tick.y))
                    .set("y2", r(tick.y))
                    .set("stroke", "#999"),
            )
            .add(text(x - 6.0, tick.y + 3.5, "axis", "end", &tick.label));
    }
    g
}

fn lifelines(lanes: &Lanes, placed: &Layout) -> Group {
    let mut g = Group::new().set("class", "lifelines");
    for (i, &x) in lanes.xs.iter().enumerate() {
        g = g.add(
            Line::new()
                .set("x1", r(x))
                .set("x2", r(x))
                .set("y1", 102)
                .set("y2", r(placed.bottom + 10.0))
                .set("stroke", LANE_COLORS[i % LANE_COLORS.len()])
                .set("stroke-opacity", 0.5)
                .set("stroke-dasharray", "4 3"),
        );
    }
    g
}

/// One packet: an arrow from its sender's lifeline to its receiver's,
/// falling [`SLOPE`], its label above the middle, analysis marks after it.
fn arrow(d: &Diagram, i: usize, lanes: &Lanes, y: f64) -> Group {
    let p = &d.packets[i];
    let color = LANE_COLORS[p.from % LANE_COLORS.len()];
    let (x0, x1) = (lanes.xs[p.from], lanes.xs[p.to]);
    let (y0, y1) = (y - SLOPE / 2.0, y + SLOPE / 2.0);
    let mut g = Group::new().set("class", "packet");
    let (label_x, label_y, anchor);
    if p.from == p.to {
        // Between two sockets of one actor: a loop out and back.
        g = g.add(
            Path::new()
                .set("d", format!("M{},{} h28 v{} h-28", r(x0), r(y0), r(SLOPE)))
                .set("fill", "none")
                .set("stroke", color)
                .set("marker-end", "url(#head)"),
        );
        (label_x, label_y, anchor) = (x0 + 32.0, y + 4.0, "start");
    } else {
        // Stop short of the lifeline so the head is not hidden by it.
        let end = if x1 > x0 { x1 - 1.0 } else { x1 + 1.0 };
        g = g.add(
            Line::new()
                .set("x1", r(x0))
                .set("y1", r(y0))
                .set("x2", r(end))
                .set("y2", r(y1))
                .set("stroke", color)
                .set("stroke-width", 1.3)
                .set("marker-end", "url(#head)"),
        );
        // Above the arrow's middle, clear of its line.
        (label_x, label_y, anchor) = ((x0 + x1) / 2.0, y - 6.0, "middle");
    }
    let room = ((x1 - x0).abs().max(SIDE) / CHAR_PX) as usize;
    let mut t = Text::new("")
        .set("x", r(label_x))
        .set("y", r(label_y))
        .set("class", "pkt")
        .set("text-anchor", anchor)
        .add(svg::node::Text::new(cut(&p.label, room)));
    for m in &p.marks {
        t = t.add(svg::node::element::TSpan::new(format!(" [{}]", m.label)).set("class", "mark"));
    }
    g.add(t)
}

/// Each long wait: the lifelines and the axis cut with a zig-zag, and how
/// long it was written across.
fn breaks(lanes: &Lanes, placed: &Layout) -> Group {
    let mut g = Group::new().set("class", "breaks");
    for b in &placed.breaks {
        let (y0, y1) = (b.y0 + 5.0, b.y1 - 5.0);
        g = g.add(
            Rectangle::new()
                .set("x", AXIS - 14.0)
                .set("y", r(y0))
                .set("width", r(lanes.width - AXIS + 14.0))
                .set("height", r(y1 - y0))
                .set("fill", "#fff"),
        );
        let xs = std::iter::once(AXIS - 8.0).chain(lanes.xs.iter().copied());
        for x in xs {
            let mut pts = vec![format!("{},{}", r(x), r(y0))];
            let steps = 4;
            for k in 1..steps {
                let dx = if k % 2 == 1 { -4.0 } else { 4.0 };
                let yk = y0 + (y1 - y0) * k as f64 / steps as f64;
                pts.push(format!("{},{}", r(x + dx), r(yk)));
            }
            pts.push(format!("{},{}", r(x), r(y1)));
            g = g.add(
                Polyline::new()
                    .set("points", pts.join(" "))
                    .set("fill", "none")
                    .set("stroke", "#888"),
            );
        }
        let middle = match lanes.xs.as_slice() {
            [first, .., last] => (first + last) / 2.0,
            [only] => only + SIDE / 2.0,
            [] => lanes.width / 2.0,
        };
        g = g.add(text(
            middle,
            (y0 + y1) / 2.0 + 4.0,
            "brk",
            "middle",
            &format!("… {} …", millis(b.to_us - b.from_us)),
        ));
    }
    g
}
