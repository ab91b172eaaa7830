//! A frame's bytes, each shown as belonging to its field: the bytes pane
//! of a packet analyser, for a terminal.
//!
//! With colour, the frame is the classic hex dump (offset, 16 bytes, the
//! same bytes as text), each byte coloured by its layer, with neighbouring
//! fields of one layer in alternating shades so their edges show, and a
//! legend that names each field in its colour. Without colour (a pipe, a
//! file, `--color=never`), each field gets a line of its own: its byte
//! range, its bytes and its name, so nothing depends on seeing colours.

use std::fmt::Write;
use std::ops::Range;

use colored::{Color, Colorize};

use crate::dissect::{Dissection, LayerKind};

/// Bytes per line of the dump.
const LINE: usize = 16;

/// The bytes of `frame` as dissected in `d`, coloured when the terminal
/// takes colour, labelled otherwise.
pub fn render(d: &Dissection, frame: &[u8]) -> String {
    if colored::control::SHOULD_COLORIZE.should_colorize() {
        coloured(d, frame)
    } else {
        labelled(d, frame)
    }
}

/// One field or several that share the same bytes (IPv4's version and
/// header length share a byte), with the layer they belong to.
struct Span {
    layer: usize,
    kind: LayerKind,
    range: Range<usize>,
    names: Vec<&'static str>,
    /// Its place among its layer's spans: even and odd alternate shades.
    nth: usize,
}

/// The fields of every layer, those with identical bytes merged; a layer
/// without fields (a fragment's data) is one span named by its title.
fn spans(d: &Dissection) -> Vec<Span> {
    let mut out: Vec<Span> = Vec::new();
    for (i, layer) in d.layers.iter().enumerate() {
        let first = out.len();
        for f in &layer.fields {
            match out.last_mut() {
                Some(s) if s.layer == i && s.range == f.range => s.names.push(f.name),
                _ => out.push(Span {
                    layer: i,
                    kind: layer.kind,
                    range: f.range.clone(),
                    names: vec![f.name],
                    nth: out.len() - first,
                }),
            }
        }
        if out.len() == first && !layer.range.is_empty() {
            out.push(Span {
                layer: i,
                kind: layer.kind,
                range: layer.range.clone(),
                names: vec!["data"],
                nth: 0,
            });
        }
    }
    out
}

/// The colour of a layer; `bright` for every other field of it.
fn colour(kind: LayerKind, bright: bool) -> Color {
    match (kind, bright) {
        (LayerKind::Link, false) => Color::Blue,
        (LayerKind::Link, true) => Color::BrightBlue,
        (LayerKind::Network, false) => Color::Green,
        (LayerKind::Network, true) => Color::BrightGreen,
        (LayerKind::Transport, false) => Color::Yellow,
        (LayerKind::Transport, true) => Color::BrightYellow,
        (LayerKind::Data, false) => Color::Magenta,
        (LayerKind::Data, true) => Color::BrightMagenta,
    }
}

fn span_colour(s: &Span) -> Color {
    colour(s.kind, s.nth % 2 == 1)
}

/// The byte as text in the dump's right column.
fn printable(b: u8) -> char {
    if b.is_ascii_graphic() || b == b' ' {
        char::from(b)
    } else {
        '.'
    }
}

fn coloured(d: &Dissection, frame: &[u8]) -> String {
    let spans = spans(d);
    // Which span each byte belongs to: the first that holds it (a byte in
    // no field, such as Ethernet's padding, stays plain).
    let mut owner: Vec<Option<usize>> = vec![None; frame.len()];
    for (i, s) in spans.iter().enumerate() {
        for slot in owner.iter_mut().take(s.range.end).skip(s.range.start) {
            slot.get_or_insert(i);
        }
    }
    let paint = |i: usize, text: String| match owner[i] {
        Some(s) => text.color(span_colour(&spans[s])).to_string(),
        None => text.dimmed().to_string(),
    };
    let mut out = String::new();
    for (line, chunk) in frame.chunks(LINE).enumerate() {
        let at = line * LINE;
        let _ = write!(out, "{}  ", format!("{at:04x}").dimmed());
        for col in 0..LINE {
            if col == LINE / 2 {
                out.push(' ');
            }
            match chunk.get(col) {
                Some(b) => {
                    let _ = write!(out, "{} ", paint(at + col, format!("{b:02x}")));
                }
                None => out.push_str("   "),
            }
        }
        out.push(' ');
        for (col, b) in chunk.iter().enumerate() {
            out.push_str(&paint(at + col, printable(*b).to_string()));
        }
        out.push('\n');
    }
    // The legend: each layer, then its fields in their colours.
    out.push('\n');
    let mut layer = usize::MAX;
    let mut line = String::new();
    let mut width = 0;
    for s in &spans {
        if s.layer != layer {
            if !line.is_empty() {
                let _ = writeln!(out, "{line}");
            }
            layer = s.layer;
            let title = &d.layers[layer].title;
            let _ = writeln!(out, "{}", title.color(colour(s.kind, false)).bold());
            line = "   ".into();
            width = 3;
        }
        let item = format!("{} {}", s.names.join(", "), range_text(&s.range));
        if width + item.len() + 3 > 78 && width > 3 {
            let _ = writeln!(out, "{line}");
            line = "   ".into();
            width = 3;
        }
        let _ = write!(line, " {}  ", item.color(span_colour(s)));
        width += item.len() + 3;
    }
    if !line.is_empty() {
        let _ = writeln!(out, "{line}");
    }
    out
}

/// `[14]` for one byte, `[26, 30)` for several (offsets in the frame).
fn range_text(r: &Range<usize>) -> String {
    if r.len() == 1 {
        format!("[{}]", r.start)
    } else {
        format!("[{}, {})", r.start, r.end)
    }
}

fn labelled(d: &Dissection, frame: &[u8]) -> String {
    let mut out = String::new();
    let mut layer = usize::MAX;
    let mut covered = 0;
    for s in spans(d) {
        if s.layer != layer {
            layer = s.layer;
            let _ = writeln!(out, "{}", d.layers[layer].title);
        }
        let bytes = frame.get(s.range.clone()).unwrap_or_default();
        for (i, chunk) in bytes.chunks(LINE).enumerate() {
            let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
            let (place, name) = if i == 0 {
                let place = match s.range.len() {
                    1 => format!("{:>5}      ", s.range.start),
                    _ => format!("{:>5}-{:<5}", s.range.start, s.range.end - 1),
                };
                (place, s.names.join(", "))
            } else {
                (" ".repeat(11), String::new())
            };
            let _ = writeln!(out, "  {place} {:<48} {name}", hex.join(" "));
        }
        covered = covered.max(s.range.end);
    }
    if covered < frame.len() {
        let _ = writeln!(
            out,
            "  bytes {covered} to {}: after the packet's end (padding to the link's minimum frame size)",
            frame.len() - 1
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::dissect;
    use crate::wire::LinkType;

    /// An Ethernet + IPv4 + UDP frame carrying "hi", padded to 60 bytes as
    /// Ethernet requires.
    fn padded_udp() -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00]);
        f.extend_from_slice(&[
            0x45, 0, 0, 30, 0, 1, 0x40, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1,
        ]);
        f.extend_from_slice(&[0x9c, 0x40, 0x23, 0x28, 0, 10, 0, 0]);
        f.extend_from_slice(b"hi");
        f.resize(60, 0);
        f
    }

    #[test]
    fn without_colour_every_field_is_a_line_with_its_bytes() {
        let f = padded_udp();
        let d = dissect(LinkType::Ethernet, &f).unwrap();
        let text = labelled(&d, &f);
        assert!(text.contains("Ethernet (link layer)\n"), "{text}");
        assert!(
            text.contains("     12-13    08 00") && text.contains("EtherType"),
            "{text}"
        );
        // Version and header length share byte 14: one line names both.
        assert!(text.contains("version, header length"), "{text}");
        let udp_ports = text.lines().find(|l| l.ends_with("source port")).unwrap();
        assert!(
            udp_ports.contains("34-35") && udp_ports.contains("9c 40"),
            "{text}"
        );
        let data = text.lines().find(|l| l.ends_with(" data")).unwrap();
        assert!(data.contains("42-43") && data.contains("68 69"), "{text}");
        assert!(
            text.contains("bytes 44 to 59: after the packet's end"),
            "{text}"
        );
    }

    #[test]
    fn the_dump_has_sixteen_bytes_a_line_then_a_legend_of_every_field() {
        // Whether colour is on is the process's setting (tests must not
        // change it under each other): the colours themselves are checked
        // through `lab inspect --color=always` in tests/inspector.rs.
        let f = padded_udp();
        let d = dissect(LinkType::Ethernet, &f).unwrap();
        let text = coloured(&d, &f);
        let dump: Vec<&str> = text.lines().take_while(|l| !l.is_empty()).collect();
        assert_eq!(dump.len(), 4, "60 bytes: {text}");
        for name in [
            "destination MAC",
            "time to live",
            "checksum",
            "data [42, 44)",
        ] {
            assert!(text.contains(name), "{name} in {text}");
        }
    }
}
