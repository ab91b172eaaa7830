//! One captured frame, layer by layer: each header that wrapped the
//! application's bytes, with its fields and the bytes that hold them.
//!
//! This is the course's picture of encapsulation (chapters 2 and 3: each
//! layer puts its header in front of what the layer above gave it) drawn
//! from a real frame instead of by hand. The fields and their bytes come
//! from [`crate::dissect`], so a field shown here is a field the decoder
//! read; [`super::hex`] shows the same dissection as a bytes pane.

use std::fmt::Write;

use crate::dissect::{self, Dissection};
use crate::wire::LinkType;

/// Bytes per line of a hex dump.
const HEX_LINE: usize = 16;

/// The frame, layer by layer, or why it cannot be shown that way (a
/// header is cut short or contradicts itself).
pub fn render(link: LinkType, frame: &[u8]) -> Result<String, String> {
    let d = dissect::dissect(link, frame).map_err(|e| e.to_string())?;
    Ok(text(&d, frame, true))
}

/// The dissection as text: each layer's title and byte range, its bytes in
/// hex when `bytes` is set, then its fields with what each means.
pub fn text(d: &Dissection, frame: &[u8], bytes: bool) -> String {
    let mut out = String::new();
    // `write!` into a String cannot fail.
    let _ = writeln!(
        out,
        "One frame of {} bytes, as it crossed lo. Each layer put its header in front of",
        d.len
    );
    let _ = writeln!(out, "what the layer above handed it:");
    for layer in &d.layers {
        let _ = writeln!(out);
        let (from, to) = (layer.range.start, layer.range.end.min(frame.len()));
        let _ = writeln!(
            out,
            "{}: bytes {from} to {} ({} bytes)",
            layer.title,
            to.saturating_sub(1),
            to - from.min(to)
        );
        if bytes {
            // Two hex digits a byte, written straight into the text: a
            // packet of data has a hundred such lines, `--detail all` of a
            // big file millions.
            const DIGITS: &[u8; 16] = b"0123456789abcdef";
            for chunk in frame[from.min(to)..to].chunks(HEX_LINE) {
                out.push_str("  |");
                for &b in chunk {
                    out.push(' ');
                    out.push(char::from(DIGITS[usize::from(b >> 4)]));
                    out.push(char::from(DIGITS[usize::from(b & 0xf)]));
                }
                out.push('\n');
            }
        }
        for f in &layer.fields {
            match &f.note {
                Some(note) if f.value.is_empty() => {
                    let _ = writeln!(out, "  {:<17} {note}", f.name);
                }
                Some(note) => {
                    let _ = writeln!(out, "  {:<17} {}: {note}", f.name, f.value);
                }
                None => {
                    let _ = writeln!(out, "  {:<17} {}", f.name, f.value);
                }
            }
        }
        if let Some(remark) = &layer.remark {
            let _ = writeln!(out, "  {remark}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// "hello" in TCP over IPv4 on lo, as captured (lab 01's first send).
    fn frame() -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00]);
        // IPv4: 20 bytes, total 45 = 20 + 20 + 5, DF, TTL 64, TCP.
        f.extend_from_slice(&[
            0x45, 0, 0, 45, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1,
        ]);
        // TCP: ports 40000 -> 9000, seq 1000, ack 2000, 20-byte header,
        // PSH+ACK, window 512.
        f.extend_from_slice(&[
            0x9c, 0x40, 0x23, 0x28, 0, 0, 0x03, 0xe8, 0, 0, 0x07, 0xd0, 0x50, 0x18, 0x02, 0, 0, 0,
            0, 0,
        ]);
        f.extend_from_slice(b"hello");
        f
    }

    #[test]
    fn each_layer_with_its_fields_and_bytes() {
        let text = render(LinkType::Ethernet, &frame()).unwrap();
        assert!(
            text.contains("Ethernet (link layer): bytes 0 to 13 (14 bytes)"),
            "{text}"
        );
        assert!(
            text.contains("IPv4 (network layer): bytes 14 to 33 (20 bytes)"),
            "{text}"
        );
        assert!(
            text.contains("TCP (transport layer): bytes 34 to 53 (20 bytes)"),
            "{text}"
        );
        assert!(text.contains("bytes 54 to 58 (5 bytes)"), "{text}");
        assert!(text.contains("  data              \"hello\""), "{text}");
        assert!(text.contains("source port       40000"), "{text}");
        assert!(text.contains("sequence number   1000"), "{text}");
        assert!(text.contains("  | 68 65 6c 6c 6f"), "{text}");
    }

    #[test]
    fn a_frame_that_is_not_tcp_or_udp_shows_its_ip_header() {
        let mut f = frame();
        f[23] = 1; // ICMP
        let text = render(LinkType::Ethernet, &f).unwrap();
        assert!(text.contains("protocol          1 (ICMP)"), "{text}");
        assert!(
            text.contains("Payload of IP protocol 1: bytes 34 to 58"),
            "{text}"
        );
        assert!(render(LinkType::Ethernet, &[0u8; 10]).is_err());
    }
}
