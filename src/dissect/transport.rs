//! The transport layer (TCP or UDP) and the data it carries.

use std::ops::Range;

use super::{Layer, LayerKind};
use crate::escape::escape;
use crate::wire::tcp_option::{OptionItem, walk_options};
use crate::wire::{Frame, TcpOption, Transport, checksum, tcp, udp};

/// Adds the transport header and the data; `packet` is the rest of the IP
/// packet from the transport header on, as far as it was captured.
pub(super) fn dissect(f: &Frame, frame: &[u8], packet: Range<usize>, out: &mut Vec<Layer>) {
    let start = packet.start;
    let segment = frame.get(packet.clone()).unwrap_or_default();
    let checked = !f.truncated;
    let data = match &f.transport {
        Transport::Tcp(t) => {
            let end = start + t.header_len;
            let mut l = Layer::new(LayerKind::Transport, "TCP (transport layer)", start..end);
            l.noted(
                "source port",
                tcp::field::SRC_PORT,
                t.src_port,
                "the sending socket",
            );
            l.noted(
                "destination port",
                tcp::field::DST_PORT,
                t.dst_port,
                "the socket it is for",
            );
            l.noted(
                "sequence number",
                tcp::field::SEQ_NUM,
                t.seq.0,
                "the stream offset of the first payload byte, from a random start",
            );
            l.noted(
                "ack number",
                tcp::field::ACK_NUM,
                t.ack.0,
                "every byte before this one has arrived",
            );
            l.field(
                "header length",
                tcp::field::FLAGS,
                format!("{} bytes", t.header_len),
            );
            l.field("flags", tcp::field::FLAGS, t.flags);
            l.noted(
                "window",
                tcp::field::WIN_SIZE,
                t.window,
                "room in the sender's receive buffer (before scaling)",
            );
            let ok = checked && checksum::tcp_checksum_ok(f.ip.src, f.ip.dst, segment);
            l.noted(
                "checksum",
                tcp::field::CHECKSUM,
                format!("0x{:04x}", t.checksum),
                checksum_note(ok, f.truncated),
            );
            l.noted(
                "urgent pointer",
                tcp::field::URGENT,
                t.urgent,
                "unused by modern programs (only with the URG flag)",
            );
            let area_start = tcp::MIN_HEADER_LEN;
            let area = frame.get(start + area_start..end).unwrap_or_default();
            for (range, item) in walk_options(area) {
                let range = area_start + range.start..area_start + range.end;
                match item {
                    OptionItem::Nop => {
                        l.noted("option NOP", range, "", "padding, to align the next option")
                    }
                    OptionItem::End => l.noted(
                        "option end",
                        range,
                        "",
                        "no more options; the rest is padding",
                    ),
                    OptionItem::Option(o) => {
                        let (name, note) = option_meaning(&o);
                        l.noted(name, range, o, note);
                    }
                }
            }
            out.push(l);
            Some((end, &t.payload))
        }
        Transport::Udp(u) => {
            let end = start + udp::HEADER_LEN;
            let mut l = Layer::new(LayerKind::Transport, "UDP (transport layer)", start..end);
            l.noted(
                "source port",
                udp::field::SRC_PORT,
                u.src_port,
                "the sending socket",
            );
            l.noted(
                "destination port",
                udp::field::DST_PORT,
                u.dst_port,
                "the socket it is for",
            );
            l.noted(
                "length",
                udp::field::LENGTH,
                format!("{} bytes", u.length),
                "this header and the datagram's data",
            );
            let ok = checked && checksum::udp_checksum_ok(f.ip.src, f.ip.dst, segment);
            l.noted(
                "checksum",
                udp::field::CHECKSUM,
                format!("0x{:04x}", u.checksum),
                checksum_note(ok, f.truncated),
            );
            out.push(l);
            Some((end, &u.payload))
        }
        Transport::Fragment { payload_len } => {
            let mut l = Layer::new(LayerKind::Data, "Fragment data", packet.clone());
            l.remark = Some(format!(
                "({payload_len} bytes from the middle or end of a larger packet: its TCP or UDP header is in the first fragment)"
            ));
            out.push(l);
            None
        }
        Transport::Other {
            protocol,
            payload_len,
        } => {
            let mut l = Layer::new(
                LayerKind::Data,
                format!("Payload of IP protocol {protocol}"),
                packet.clone(),
            );
            l.remark = Some(format!(
                "({payload_len} bytes this reader does not take apart)"
            ));
            out.push(l);
            None
        }
    };
    // A segment with no data (a SYN, a bare ACK) has no data layer.
    if let Some((from, payload)) = data.filter(|(_, payload)| !payload.is_empty()) {
        let mut l = Layer::new(
            LayerKind::Data,
            "Data (application layer: what send() was given)",
            from..from + payload.len(),
        );
        l.field("data", 0..payload.len(), format!("\"{}\"", escape(payload)));
        out.push(l);
    }
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

/// A TCP option's name, and what it is for in a learner's words.
fn option_meaning(option: &TcpOption) -> (&'static str, &'static str) {
    match option {
        TcpOption::Mss(_) => (
            "option MSS",
            "maximum segment size: the most data per segment this side will take",
        ),
        TcpOption::WindowScale(_) => (
            "option WS",
            "window scale: this side's window field counts in units of 2^n bytes (SYN only)",
        ),
        TcpOption::SackPermitted => (
            "option SACK ok",
            "SACK permitted: this side can take acknowledgments of blocks beyond a gap",
        ),
        TcpOption::Sack(_) => (
            "option SACK",
            "selective acknowledgment: these byte ranges arrived, past a gap",
        ),
        TcpOption::Timestamps { .. } => (
            "option TS",
            "timestamps: the sender's clock and the last one it heard, to time round trips and spot old duplicates",
        ),
        TcpOption::Unknown { .. } => ("option", "an option this reader does not know"),
        TcpOption::Malformed { .. } => ("option", "malformed: its length does not fit"),
    }
}
