//! How a packet reads in a timeline row, shared by the human view of a lab
//! run, `lab capture` and `lab inspect`.

use std::net::SocketAddr;

use colored::{Color, Colorize};

use crate::analysis::{Flag, FlagKind};
use crate::escape::preview;
use crate::trace::Packet;
use crate::wire::{TcpOption, Transport};

/// Bytes of payload a packet row previews.
const PACKET_PREVIEW: usize = 32;

/// The colour of an actor's name (the human view's palette).
pub type Palette<'a> = &'a dyn Fn(&str) -> Color;

/// What Wireshark's analysis found, as short tags after a packet row:
/// `  [retransmission of #6] [dup ACK #2 of #9]`. Signs of loss are red,
/// the rest (windows, keep-alives, reordering) yellow.
pub fn flag_tags(flags: &[Flag]) -> String {
    let mut s = String::new();
    for f in flags {
        let tag = format!("[{}]", f.tag());
        let lossy = matches!(
            f.kind(),
            FlagKind::Retransmission
                | FlagKind::FastRetransmission
                | FlagKind::SpuriousRetransmission
                | FlagKind::LostSegment
                | FlagKind::AckedUnseen
                | FlagKind::DuplicateAck
        );
        s.push_str("  ");
        s.push_str(&if lossy { tag.red() } else { tag.yellow() }.to_string());
    }
    s
}

/// The text after the time and number: `client → server  PSH,ACK  seq=1
/// ack=1 len=5 win=512 "hello"  [0, 5)`.
pub fn describe(p: &Packet, palette: Palette) -> String {
    let frame = match &p.frame {
        Ok(f) => f,
        Err(e) => return format!("{} ({} B): {e}", "undecodable frame".red(), p.orig_len),
    };
    // Endpoints are named after the actors that own them when known, and
    // the arrow takes the sender's colour.
    let name = |actor: &Option<String>, addr: SocketAddr| match actor {
        Some(a) => a.color(palette(a)).to_string(),
        None => addr.to_string(),
    };
    let arrow = |src: SocketAddr, dst: SocketAddr| {
        let a = match &p.info.from {
            Some(actor) => "→".color(palette(actor)).bold().to_string(),
            None => "→".to_string(),
        };
        format!("{} {a} {}", name(&p.info.from, src), name(&p.info.to, dst))
    };
    let mut out = match &frame.transport {
        Transport::Tcp(t) => {
            let (src, dst) = frame.endpoints().expect("TCP has ports");
            let mut s = format!("{}  {:<8}", arrow(src, dst), t.flags.to_string().bold());
            if let Some(seq) = p.info.rel_seq {
                s.push_str(&format!(" seq={seq}"));
            }
            if let Some(ack) = p.info.rel_ack {
                s.push_str(&format!(" ack={ack}"));
            }
            let window = p.info.window.unwrap_or(u32::from(t.window));
            s.push_str(&format!(" len={} win={window}", t.payload_len));
            for o in &t.options {
                match o {
                    TcpOption::Mss(m) => s.push_str(&format!(" mss={m}")),
                    TcpOption::WindowScale(w) => s.push_str(&format!(" ws={w}")),
                    TcpOption::SackPermitted => s.push_str(" sack_ok"),
                    _ => {}
                }
            }
            if !t.payload.is_empty() {
                let (text, cut) = preview(&t.payload, PACKET_PREVIEW);
                s.push_str(&format!(
                    " \"{}{}\"",
                    text.green(),
                    if cut { "…" } else { "" }
                ));
            }
            if let Some((a, b)) = p.info.stream {
                s.push_str(&format!("  {}", format!("[{a}, {b})").dimmed()));
            }
            if let Some(analysis) = &p.info.analysis {
                s.push_str(&flag_tags(&analysis.flags));
            }
            s
        }
        Transport::Udp(u) => {
            let (src, dst) = frame.endpoints().expect("UDP has ports");
            let mut s = format!(
                "{}  {:<8} len={}",
                arrow(src, dst),
                "UDP".bold(),
                u.length.saturating_sub(8)
            );
            if !u.payload.is_empty() {
                let (text, cut) = preview(&u.payload, PACKET_PREVIEW);
                s.push_str(&format!(
                    " \"{}{}\"",
                    text.green(),
                    if cut { "…" } else { "" }
                ));
            }
            s
        }
        Transport::Fragment { payload_len } => {
            format!(
                "{} → {}  {:<8} {payload_len} B of a larger datagram",
                frame.ip.src,
                frame.ip.dst,
                "IP-FRAG".bold()
            )
        }
        Transport::Other {
            protocol,
            payload_len,
        } => {
            format!(
                "{} → {}  protocol {protocol}, {payload_len} B",
                frame.ip.src, frame.ip.dst
            )
        }
    };
    if let Some(f) = frame.ip.fragment {
        out.push_str(&format!(
            "  {}",
            format!(
                "fragment id={} offset={}{}",
                f.ident,
                f.offset,
                if f.more { " more" } else { "" }
            )
            .yellow()
        ));
    }
    if frame.truncated {
        out.push_str(&format!("  {}", "[cut by the capture]".red()));
    }
    out
}
