//! The message map: for every call that moved bytes, the packets that
//! carried them, and for every receive, the sends its bytes came from.
//! The one view neither a packet analyser (packets only) nor a syscall
//! tracer (calls only) can give.

use std::collections::BTreeMap;
use std::io::{self, Write};

use colored::Colorize;
use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};

use crate::analysis::Flag;
use crate::correlate::MapEntry;
use crate::escape::preview;
use crate::trace::{Call, Packet};

/// Rows of one call repeated more than this (a bulk transfer) fold into
/// one summary row, as in the timeline.
const FOLD_AFTER: usize = 4;

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

/// `call_name` for every call at once (a long trace has tens of
/// thousands: counting from the start for each is quadratic).
pub fn call_names(calls: &[Call]) -> Vec<String> {
    let mut seen: std::collections::HashMap<(&str, crate::trace::Op), usize> =
        std::collections::HashMap::new();
    calls
        .iter()
        .map(|c| {
            let n = seen.entry((c.actor.as_str(), c.op)).or_insert(0);
            *n += 1;
            format!("{} {} #{n}", c.actor, c.op)
        })
        .collect()
}

/// The packets Wireshark's TCP analysis flagged, by their index (from 0)
/// among the timeline's packets, with what it said: the map notes them
/// beside the packet numbers (a retransmission carried the same bytes
/// again; a reader should see why a send rode in two packets).
pub type Flagged = BTreeMap<usize, Vec<Flag>>;

/// The flagged packets of `packets` (in timeline order).
pub fn flagged(packets: &[Packet]) -> Flagged {
    packets
        .iter()
        .enumerate()
        .filter_map(|(j, p)| {
            let a = p.info.analysis.as_ref()?;
            (!a.flags.is_empty()).then(|| (j, a.flags.clone()))
        })
        .collect()
}

/// Flagged packets noted after a long, shortened list.
const FLAGGED_NOTED: usize = 3;

/// `#5 [retransmission of #4]`: a packet's number and its flags.
fn packet_name(j: usize, flagged: &Flagged) -> String {
    let mut s = format!("#{}", j + 1);
    for f in flagged.get(&j).into_iter().flatten() {
        s.push_str(&format!(" [{}]", f.tag()));
    }
    s
}

/// Packets by their timeline numbers; a long list keeps its ends and
/// names its first flagged packets.
fn packet_list(packets: &[usize], flagged: &Flagged) -> String {
    match packets {
        [] => "—".to_string(),
        [first, .., last] if packets.len() > 6 => {
            let mut s = format!("#{} … #{} ({} packets", first + 1, last + 1, packets.len());
            let marked: Vec<usize> = packets
                .iter()
                .copied()
                .filter(|j| flagged.contains_key(j))
                .collect();
            for &j in marked.iter().take(FLAGGED_NOTED) {
                s.push_str(&format!("; {}", packet_name(j, flagged)));
            }
            if marked.len() > FLAGGED_NOTED {
                s.push_str(&format!("; {} more flagged", marked.len() - FLAGGED_NOTED));
            }
            s.push(')');
            s
        }
        _ => packets
            .iter()
            .map(|&j| packet_name(j, flagged))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// One table row: the call and its bytes, the packets, the sources.
fn row(calls: &[Call], names: &[String], e: &MapEntry, flagged: &Flagged) -> Vec<String> {
    let c = &calls[e.call];
    let (text, cut) = preview(c.data.as_deref().unwrap_or_default(), 24);
    let what = format!(
        "{}  \"{text}{}\"",
        names[e.call],
        if cut { "…" } else { "" }
    );
    let bytes = match c.stream {
        Some((a, b)) => format!("{} B [{a}, {b})", b - a),
        None => format!("{} B", c.returned.unwrap_or(0)),
    };
    let from = e
        .sources
        .iter()
        .map(|(k, s, t)| format!("{} [{s}, {t})", names[*k]))
        .collect::<Vec<_>>()
        .join(" + ");
    vec![what, bytes, packet_list(&e.packets, flagged), from]
}

/// Writes the map as a table.
pub fn write(
    out: &mut dyn Write,
    calls: &[Call],
    map: &[MapEntry],
    flagged: &Flagged,
) -> io::Result<()> {
    write_first(out, calls, map, flagged, usize::MAX)
}

/// Writes the map's first `limit` rows (a long trace's map has one per
/// call), then one line saying how many more there are.
pub fn write_first(
    out: &mut dyn Write,
    calls: &[Call],
    map: &[MapEntry],
    flagged: &Flagged,
    limit: usize,
) -> io::Result<()> {
    if map.is_empty() {
        return Ok(());
    }
    let names = call_names(calls);
    let (map, left) = map.split_at(map.len().min(limit));
    let mut table = Table::new();
    table
        .load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    crate::render::fit(&mut table);
    table.set_header(vec!["call", "bytes", "rode in", "came from"]);
    let mut i = 0;
    while i < map.len() {
        // A run of entries for the same actor and op.
        let key = |e: &MapEntry| (calls[e.call].actor.as_str(), calls[e.call].op);
        let run = map[i..]
            .iter()
            .take_while(|e| key(e) == key(&map[i]))
            .count();
        let shown = if run > FOLD_AFTER + 1 {
            FOLD_AFTER
        } else {
            run
        };
        for e in &map[i..i + shown] {
            table.add_row(row(calls, &names, e, flagged));
        }
        if shown < run {
            let rest = &map[i + shown..i + run];
            let bytes: i64 = rest.iter().filter_map(|e| calls[e.call].returned).sum();
            let packets: Vec<usize> = rest
                .iter()
                .flat_map(|e| e.packets.iter().copied())
                .collect();
            let (actor, op) = key(&map[i]);
            table.add_row(vec![
                format!("… {} more {actor} {op}", rest.len()),
                format!("{bytes} B"),
                packet_list(&packets, flagged),
                String::new(),
            ]);
        }
        i += run;
    }
    writeln!(out)?;
    writeln!(
        out,
        "{}",
        "Message map: which bytes rode in which packet".bold()
    )?;
    writeln!(out, "{table}")?;
    if !left.is_empty() {
        writeln!(
            out,
            "{}",
            format!("… {} more rows (all in --json)", left.len()).dimmed()
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flagged_packets_carry_their_tags_in_short_and_long_lists() {
        let mut flagged = Flagged::new();
        flagged.insert(
            4,
            vec![Flag::Retransmission {
                original: 4,
                after_us: 210_000,
            }],
        );
        // A send whose bytes rode twice: once lost, once again.
        assert_eq!(
            packet_list(&[3, 4], &flagged),
            "#4, #5 [retransmission of #4]"
        );
        // A long list keeps its ends and names the flagged packets.
        let many: Vec<usize> = (0..10).collect();
        assert_eq!(
            packet_list(&many, &flagged),
            "#1 … #10 (10 packets; #5 [retransmission of #4])"
        );
        assert_eq!(packet_list(&many, &Flagged::new()), "#1 … #10 (10 packets)");
    }
}
