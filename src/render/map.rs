//! The message map: for every call that moved bytes, the packets that
//! carried them, and for every receive, the sends its bytes came from.
//! The one view neither a packet analyser (packets only) nor a syscall
//! tracer (calls only) can give.

use std::io::{self, Write};

use colored::Colorize;
use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};

use crate::correlate::MapEntry;
use crate::escape::preview;
use crate::trace::Call;

/// `client send #2`: the call's actor, op and its number among that
/// actor's calls of the same op (as in `call = "client.send#2"`).
pub fn call_name(calls: &[Call], i: usize) -> String {
    let c = &calls[i];
    let n = calls[..=i]
        .iter()
        .filter(|o| o.actor == c.actor && o.op == c.op)
        .count();
    format!("{} {} #{n}", c.actor, c.op)
}

fn packet_list(packets: &[usize]) -> String {
    if packets.is_empty() {
        return "—".to_string();
    }
    packets
        .iter()
        .map(|j| format!("#{}", j + 1))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Writes the map as a table.
pub fn write(out: &mut dyn Write, calls: &[Call], map: &[MapEntry]) -> io::Result<()> {
    if map.is_empty() {
        return Ok(());
    }
    let mut table = Table::new();
    table
        .load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(vec!["call", "bytes", "rode in", "came from"]);
    for e in map {
        let c = &calls[e.call];
        let (text, cut) = preview(c.data.as_deref().unwrap_or_default(), 24);
        let what = format!(
            "{}  \"{text}{}\"",
            call_name(calls, e.call),
            if cut { "…" } else { "" }
        );
        let bytes = match c.stream {
            Some((a, b)) => format!("{} B [{a}, {b})", b - a),
            None => format!("{} B", c.returned.unwrap_or(0)),
        };
        let from = e
            .sources
            .iter()
            .map(|(k, s, t)| format!("{} [{s}..{t})", call_name(calls, *k)))
            .collect::<Vec<_>>()
            .join(" + ");
        table.add_row(vec![what, bytes, packet_list(&e.packets), from]);
    }
    writeln!(out)?;
    writeln!(
        out,
        "{}",
        "Message map: which bytes rode in which packet".bold()
    )?;
    writeln!(out, "{table}")
}
