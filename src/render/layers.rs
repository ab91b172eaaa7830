//! One captured frame, layer by layer: each header that wrapped the
//! application's bytes, with its fields and the bytes that hold them.
//!
//! This is the course's picture of encapsulation (chapters 2 and 3: each
//! layer puts its header in front of what the layer above gave it) drawn
//! from a real frame instead of by hand. The frame comes from a run; the
//! offsets come from the decoders in [`crate::wire`], so a field shown here
//! is a field the decoder read.

use std::fmt::Write;

use crate::escape::escape;
use crate::wire::{self, LinkType, Transport};

/// Bytes per line of a hex dump.
const HEX_LINE: usize = 16;

/// The frame, layer by layer, or why it cannot be shown that way (it must
/// be an Ethernet-framed TCP or UDP packet, as captured on `lo`).
pub fn render(frame: &[u8]) -> Result<String, String> {
    let f = wire::decode_frame(LinkType::Ethernet, frame).map_err(|e| e.to_string())?;
    let eth = f.eth.as_ref().ok_or("not an Ethernet frame")?;
    let mut out = String::new();
    let eth_len = 14 + 4 * eth.vlans.len();
    let ip_end = eth_len + f.ip.header_len;
    // `write!` into a String cannot fail.
    let _ = writeln!(
        out,
        "One frame of {} bytes, as it crossed lo. Each layer put its header in front of",
        frame.len()
    );
    let _ = writeln!(out, "what the layer above handed it:");
    let _ = writeln!(out);

    section(&mut out, "Ethernet (link layer)", frame, 0, eth_len);
    let _ = writeln!(out, "  destination MAC   {}", eth.dst);
    let _ = writeln!(out, "  source MAC        {}", eth.src);
    let _ = writeln!(
        out,
        "  EtherType         0x{:04x} ({}): what the payload is",
        eth.ethertype,
        match eth.ethertype {
            0x0800 => "IPv4",
            0x86dd => "IPv6",
            _ => "other",
        }
    );
    let _ = writeln!(
        out,
        "  (lo is not a real Ethernet: its addresses are all zero, but the header is there)"
    );
    let _ = writeln!(out);

    let ip_name = if f.ip.version == 4 { "IPv4" } else { "IPv6" };
    section(
        &mut out,
        &format!("{ip_name} (network layer)"),
        frame,
        eth_len,
        ip_end,
    );
    let _ = writeln!(out, "  version           {}", f.ip.version);
    let _ = writeln!(out, "  header length     {} bytes", f.ip.header_len);
    let _ = writeln!(
        out,
        "  total length      {} bytes: this header and all it carries",
        f.ip.total_len
    );
    if let Some(id) = f.ip.ident {
        let _ = writeln!(out, "  identification    {id}");
    }
    let _ = writeln!(
        out,
        "  don't fragment    {}",
        if f.ip.dont_fragment { "set" } else { "clear" }
    );
    let _ = writeln!(
        out,
        "  time to live      {}: routers count it down; at 0 the packet is dropped",
        f.ip.ttl_or_hop_limit
    );
    let _ = writeln!(
        out,
        "  protocol          {} ({}): what the payload is",
        f.ip.protocol,
        match f.ip.protocol {
            6 => "TCP",
            17 => "UDP",
            _ => "other",
        }
    );
    if f.ip.version == 4 && ip_end <= frame.len() {
        let header = &frame[eth_len..ip_end];
        let field = u16::from_be_bytes([header[10], header[11]]);
        let _ = writeln!(
            out,
            "  header checksum   0x{field:04x}: {}",
            if wire::checksum::ipv4_header_checksum_ok(header) {
                "correct (the sum of the header's 16-bit words)"
            } else {
                "wrong: a router would drop this packet"
            }
        );
    }
    let _ = writeln!(out, "  source            {}", f.ip.src);
    let _ = writeln!(out, "  destination       {}", f.ip.dst);
    let _ = writeln!(out);
    // The transport header and its data, as the checksum covers them.
    let segment = frame.get(ip_end..frame.len().min(eth_len + f.ip.total_len));

    let (payload, start) = match &f.transport {
        Transport::Tcp(t) => {
            let end = ip_end + t.header_len;
            section(&mut out, "TCP (transport layer)", frame, ip_end, end);
            let _ = writeln!(
                out,
                "  source port       {}: the sending socket",
                t.src_port
            );
            let _ = writeln!(
                out,
                "  destination port  {}: the socket it is for",
                t.dst_port
            );
            let _ = writeln!(
                out,
                "  sequence number   {}: the stream offset of the first payload byte, from a random start",
                t.seq.0
            );
            let _ = writeln!(
                out,
                "  ack number        {}: every byte before this one has arrived",
                t.ack.0
            );
            let _ = writeln!(out, "  header length     {} bytes", t.header_len);
            let _ = writeln!(out, "  flags             {}", t.flags);
            let _ = writeln!(
                out,
                "  window            {}: room in the sender's receive buffer (before scaling)",
                t.window
            );
            let ok = !f.truncated
                && segment
                    .is_some_and(|seg| wire::checksum::tcp_checksum_ok(f.ip.src, f.ip.dst, seg));
            let _ = writeln!(
                out,
                "  checksum          0x{:04x}: {}",
                t.checksum,
                checksum_note(ok, f.truncated)
            );
            for o in &t.options {
                let _ = writeln!(out, "  option            {o}: {}", option_meaning(o));
            }
            (&t.payload, end)
        }
        Transport::Udp(u) => {
            let end = ip_end + 8;
            section(&mut out, "UDP (transport layer)", frame, ip_end, end);
            let _ = writeln!(out, "  source port       {}", u.src_port);
            let _ = writeln!(out, "  destination port  {}", u.dst_port);
            let _ = writeln!(out, "  length            {} bytes", u.length);
            let ok = !f.truncated
                && segment
                    .is_some_and(|seg| wire::checksum::udp_checksum_ok(f.ip.src, f.ip.dst, seg));
            let _ = writeln!(
                out,
                "  checksum          0x{:04x}: {}",
                u.checksum,
                checksum_note(ok, f.truncated)
            );
            (&u.payload, end)
        }
        _ => return Err("neither TCP nor UDP".into()),
    };
    let _ = writeln!(out);
    section(
        &mut out,
        "Data (application layer: what send() was given)",
        frame,
        start,
        start + payload.len(),
    );
    let _ = writeln!(out, "  \"{}\"", escape(payload));
    Ok(out)
}

/// What a transport checksum's state means, in a learner's words.
fn checksum_note(ok: bool, truncated: bool) -> &'static str {
    match (ok, truncated) {
        (true, _) => "correct (over a pseudo-header of the addresses, the header and the data)",
        (false, true) => "not checked: the capture kept only part of the packet",
        // Linux leaves the sum of outgoing packets to the network card
        // (checksum offload); lo has no card and nobody ever checks it.
        (false, false) => {
            "not the sum of these bytes, which is normal on lo: the kernel leaves it to a network card (offload), and lo has none"
        }
    }
}

/// What a TCP option is for, in a learner's words.
fn option_meaning(option: &wire::TcpOption) -> &'static str {
    match option {
        wire::TcpOption::Mss(_) => {
            "maximum segment size: the most data per segment this side will take"
        }
        wire::TcpOption::WindowScale(_) => {
            "window scale: this side's window field counts in units of 2^n bytes (SYN only)"
        }
        wire::TcpOption::SackPermitted => {
            "SACK permitted: this side can take acknowledgments of blocks beyond a gap"
        }
        wire::TcpOption::Sack(_) => {
            "selective acknowledgment: these byte ranges arrived, past a gap"
        }
        wire::TcpOption::Timestamps { .. } => {
            "timestamps: the sender's clock and the last one it heard, to time round trips and spot old duplicates"
        }
        wire::TcpOption::Unknown { .. } => "an option this reader does not know",
        wire::TcpOption::Malformed { .. } => "malformed: its length does not fit",
    }
}

/// A layer's title with its byte range, then its bytes in hex.
fn section(out: &mut String, title: &str, frame: &[u8], from: usize, to: usize) {
    let to = to.min(frame.len());
    let _ = writeln!(
        out,
        "{title}: bytes {from} to {} ({} bytes)",
        to.saturating_sub(1),
        to - from.min(to)
    );
    for chunk in frame[from.min(to)..to].chunks(HEX_LINE) {
        let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
        let _ = writeln!(out, "  | {}", hex.join(" "));
    }
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
        let text = render(&frame()).unwrap();
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
        assert!(text.contains("  \"hello\""), "{text}");
        assert!(text.contains("source port       40000"), "{text}");
        assert!(text.contains("sequence number   1000"), "{text}");
        assert!(text.contains("  | 68 65 6c 6c 6f"), "{text}");
    }

    #[test]
    fn a_frame_that_is_not_tcp_or_udp_is_refused() {
        let mut f = frame();
        f[23] = 1; // ICMP
        assert!(render(&f).is_err());
        assert!(render(&[0u8; 10]).is_err());
    }
}
