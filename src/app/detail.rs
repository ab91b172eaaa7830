//! `--detail` and `--hex` wherever packets are shown (`lab run`, `lab
//! capture`, `lab inspect`): a packet layer by layer
//! ([`crate::render::layers`]), and its bytes pane ([`crate::render::hex`]),
//! both from one [`crate::dissect`] of the frame.

use std::io::Write;

use colored::Colorize;

use crate::cli::Detail;
use crate::render::human::time;

/// Which packets to show in detail, and how.
#[derive(Debug, Clone, Copy)]
pub struct Chosen {
    pub which: Detail,
    /// The bytes pane too.
    pub hex: bool,
}

impl Chosen {
    /// Whether packet `number` (from 1, as the timeline numbers it) is one.
    pub fn wants(&self, number: u64) -> bool {
        match self.which {
            Detail::All => true,
            Detail::One(n) => n as u64 == number,
        }
    }
}

/// Packet `number`, captured at `t_us` as the Ethernet frame `raw`: a title
/// line, its layers, what Wireshark's TCP analysis says of it, and with
/// `hex` its bytes pane.
pub fn write(
    out: &mut dyn Write,
    number: u64,
    t_us: u64,
    raw: &[u8],
    analysis: Option<&crate::analysis::TcpAnalysis>,
    hex: bool,
) -> std::io::Result<()> {
    writeln!(
        out,
        "{}",
        format!("── packet #{number} at {}", time(t_us).trim()).bold()
    )?;
    // Frames of lo, and frames read from a file, start with an Ethernet
    // header (the reader rewrites other link layers to it: `crate::pcap`).
    match crate::dissect::dissect(crate::wire::LinkType::Ethernet, raw) {
        Ok(d) => {
            write!(out, "{}", crate::render::layers::text(&d, raw, !hex))?;
            if let Some(a) = analysis {
                write!(out, "{}", crate::render::analysis::section(a))?;
            }
            if hex {
                writeln!(out)?;
                write!(out, "{}", crate::render::hex::render(&d, raw))?;
            }
        }
        Err(why) => writeln!(out, "  (not shown layer by layer: {why})")?,
    }
    writeln!(out)
}
