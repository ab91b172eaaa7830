//! The "TCP analysis" section of `lab inspect --detail N`: what Wireshark's
//! `tshark -V` shows as `[SEQ/ACK analysis]`, with what each flag means.

use std::fmt::Write;

use crate::analysis::{Flag, TcpAnalysis};

/// The section for one segment (empty when the analysis has nothing).
pub fn section(a: &TcpAnalysis) -> String {
    let mut out = String::new();
    if a.is_empty() {
        return out;
    }
    // `write!` into a String cannot fail.
    let _ = writeln!(
        out,
        "TCP analysis (Wireshark's [SEQ/ACK analysis], from the segments before this one)"
    );
    if let Some(acked) = a.acked {
        let _ = writeln!(
            out,
            "  ACKs the segment in frame #{}, sent {} before: one round trip (tcp.analysis.acks_frame, ack_rtt)",
            acked.frame,
            seconds(acked.rtt_us)
        );
    }
    if let Some(n) = a.bytes_in_flight {
        let _ = writeln!(
            out,
            "  {n} bytes in flight: sent by this side and not yet ACKed (tcp.analysis.bytes_in_flight)"
        );
    }
    for f in &a.flags {
        let _ = writeln!(
            out,
            "  [{}] {}",
            f.kind().wireshark_label(),
            f.kind().field()
        );
        let _ = writeln!(out, "    {}", f.kind().meaning());
        match f {
            Flag::Retransmission { original, after_us } => {
                let _ = writeln!(
                    out,
                    "    oldest segment still unACKed: frame #{original}, {} before (tcp.analysis.rto_frame, rto)",
                    seconds(*after_us)
                );
            }
            Flag::DuplicateAck { number, of } => {
                let _ = writeln!(
                    out,
                    "    duplicate #{number} of the ACK in frame #{of} (tcp.analysis.duplicate_ack_num, duplicate_ack_frame)"
                );
            }
            _ => {}
        }
    }
    out
}

/// `0.000051 s`, as Wireshark writes relative times (to the µs here).
fn seconds(us: u64) -> String {
    format!("{}.{:06} s", us / 1_000_000, us % 1_000_000)
}
