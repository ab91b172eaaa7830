//! The terminal view: a timeline of calls on one clock, then the verdicts
//! and what the learner just saw.

use std::io::{self, Write};

use colored::{Color, Colorize};

use crate::catalog::Lab;
use crate::check::Verdict;
use crate::escape::preview;
use crate::expr::Scope;
use crate::trace::{Call, Event, MapEntry, Op};

use super::wire_row::describe;

/// How many bytes of a payload a timeline row shows.
const ROW_PREVIEW: usize = 48;

/// Colours of actors, in the order the lab declares them.
const ACTOR_COLORS: [Color; 5] = [
    Color::Cyan,
    Color::Yellow,
    Color::Magenta,
    Color::Green,
    Color::Blue,
];

/// Renders one run for a person at a terminal.
pub struct Human {
    actors: Vec<String>,
    width: usize,
    /// Packets shown so far: rows are numbered `#1`, `#2`, ...
    packets: usize,
    /// A run of the same call repeated (a bulk transfer): after a few
    /// rows, the rest are counted instead of shown.
    run: Run,
    /// Packets in a row with no call between them (calls the lab does not
    /// show one by one, such as a benchmark's), and how many were hidden.
    streak: usize,
    streak_hidden: usize,
    streak_last_t_us: u64,
    /// Said on a fold's line: where the hidden rows can be seen.
    folded_note: &'static str,
    /// The map rows and checks the session ended with, printed after the
    /// timeline by [`Human::map`] and [`Human::verdicts`].
    map: Vec<MapEntry>,
    judged: Vec<Verdict>,
    /// The packets Wireshark's analysis flagged, noted in the map.
    flagged: crate::render::map::Flagged,
}

/// How many packets in a row, with no call row between them, are shown
/// before the rest of the streak is counted instead. (Lab 14's 1 MiB reply
/// is about 22 packets here and usually shows whole; lab 13's benchmark,
/// over a thousand, folds.)
const PACKETS_BEFORE_FOLD: usize = 24;

/// How many times one call may repeat in a row before rows are folded.
const FOLD_AFTER: usize = 4;

/// The current run of repeated calls, and what it has hidden so far.
#[derive(Debug, Default)]
struct Run {
    key: Option<(String, Op, Option<String>)>,
    seen: usize,
    hidden_calls: usize,
    hidden_bytes: i64,
    hidden_packets: usize,
    last_t_us: u64,
}

impl Human {
    pub fn new(lab: &Lab) -> Self {
        let actors: Vec<String> = lab.def.actors.iter().map(|a| a.name.clone()).collect();
        Human::with_actors(actors)
    }

    /// A view for a list of actor names (`lab capture` has none).
    pub fn with_actors(actors: Vec<String>) -> Self {
        let width = actors.iter().map(|a| a.len()).max().unwrap_or(6).max(6);
        Human {
            actors,
            width,
            packets: 0,
            run: Run::default(),
            streak: 0,
            streak_hidden: 0,
            streak_last_t_us: 0,
            folded_note: "all in --json and the map below",
            map: Vec::new(),
            judged: Vec::new(),
            flagged: Default::default(),
        }
    }

    /// Pads the actor column to at least `width` columns (traced actors,
    /// `python3[4182/4190]`, are met as they come).
    pub fn min_width(mut self, width: usize) -> Self {
        self.width = self.width.max(width);
        self
    }

    /// Where the rows a fold hides can be seen, said on the fold's line
    /// (`lab serve` has no JSON and no map: its folds say so).
    pub fn folded_note(mut self, note: &'static str) -> Self {
        self.folded_note = note;
        self
    }

    /// Makes an actor known (`lab repl` meets its sockets one by one): it
    /// gets the next colour; the column stays as wide as it was.
    pub fn add_actor(&mut self, name: &str) {
        if !self.actors.iter().any(|a| a == name) {
            self.actors.push(name.to_string());
        }
    }

    /// The colour of an actor: by its order in the lab; actors a server
    /// spawns (`server/conn2`) share their parent's, and so do a traced
    /// process's threads (`python3[4182/4190]` takes `python3[4182]`'s).
    pub fn color_of(&self, name: &str) -> Color {
        let base = name.split('/').next().unwrap_or(name);
        let i = self
            .actors
            .iter()
            .position(|a| a == base || a.strip_suffix(']') == Some(base))
            .unwrap_or(0);
        ACTOR_COLORS[i % ACTOR_COLORS.len()]
    }

    /// The actor's name, padded and coloured.
    pub fn actor(&self, name: &str) -> String {
        format!("{name:<w$}", w = self.width)
            .color(self.color_of(name))
            .to_string()
    }

    pub fn header(&self, out: &mut dyn Write, lab: &Lab, knobs: &Scope) -> io::Result<()> {
        let d = &lab.def;
        writeln!(
            out,
            "{}  {}   {}",
            d.id.bold(),
            d.title,
            format!("(course ch. {})", d.chapter).dimmed()
        )?;
        if !knobs.is_empty() {
            let list: Vec<String> = knobs.iter().map(|(k, v)| format!("{k}={v}")).collect();
            writeln!(out, "{} {}", "knobs:".dimmed(), list.join("  "))?;
        }
        writeln!(out)?;
        writeln!(
            out,
            "{}",
            format!(
                "{:>14}  {:<w$}  call → result",
                "time",
                "actor",
                w = self.width
            )
            .dimmed()
        )
    }

    pub fn event(&mut self, out: &mut dyn Write, event: &Event) -> io::Result<()> {
        match event {
            Event::Call(c) => {
                self.end_streak(out)?;
                let key = (c.actor.clone(), c.op, c.sock.clone());
                if self.run.key.as_ref() == Some(&key) {
                    self.run.seen += 1;
                } else {
                    self.finish(out)?;
                    self.run.key = Some(key);
                    self.run.seen = 1;
                }
                if self.run.seen > FOLD_AFTER && c.error.is_none() {
                    self.run.hidden_calls += 1;
                    self.run.hidden_bytes += c.returned.unwrap_or(0);
                    self.run.last_t_us = c.t_us + c.waited_us;
                    return Ok(());
                }
                self.call(out, c)
            }
            Event::Packet(p) => {
                self.packets += 1;
                if let Some(a) = p.info.analysis.as_ref().filter(|a| !a.flags.is_empty()) {
                    self.flagged.insert(self.packets - 1, a.flags.clone());
                }
                // Inside a folded run, data segments and their ACKs fold
                // too; a SYN, FIN or RST always shows.
                let control = p
                    .frame
                    .as_ref()
                    .ok()
                    .and_then(|f| f.tcp())
                    .is_some_and(|t| {
                        use crate::wire::TcpFlags;
                        t.flags.contains(TcpFlags::SYN)
                            || t.flags.contains(TcpFlags::FIN)
                            || t.flags.contains(TcpFlags::RST)
                    });
                if self.run.seen >= FOLD_AFTER && !control {
                    self.run.hidden_packets += 1;
                    self.run.last_t_us = p.t_us;
                    return Ok(());
                }
                if control {
                    self.end_streak(out)?;
                } else {
                    self.streak += 1;
                    if self.streak > PACKETS_BEFORE_FOLD {
                        self.streak_hidden += 1;
                        self.streak_last_t_us = p.t_us;
                        return Ok(());
                    }
                }
                let number = format!("{:<w$}", format!("#{}", self.packets), w = self.width);
                writeln!(
                    out,
                    "{}  {}  {}",
                    time(p.t_us),
                    number.dimmed(),
                    describe(p, &|a| self.color_of(a))
                )
            }
            // The timeline shows a call where it returned; where steps
            // begin and which calls are blocking is what the step view
            // (`lab run --step`) shows at each pause.
            Event::StepStarted(_) | Event::CallStarted { .. } => Ok(()),
            // Tables after the timeline: kept until it has ended.
            Event::Map(m) => {
                self.map.push(m.clone());
                Ok(())
            }
            Event::Check(v) => {
                self.judged.push(v.clone());
                Ok(())
            }
            Event::ActorFailed {
                t_us,
                actor,
                message,
            } => writeln!(
                out,
                "{}  {}  {} {}",
                time(*t_us),
                self.actor(actor),
                "stopped:".red().bold(),
                message
            ),
        }
    }

    /// Ends a streak of packets, with one line for those it hid.
    fn end_streak(&mut self, out: &mut dyn Write) -> io::Result<()> {
        let hidden = std::mem::take(&mut self.streak_hidden);
        self.streak = 0;
        if hidden == 0 {
            return Ok(());
        }
        writeln!(
            out,
            "{}  {:<w$}  {}",
            time(self.streak_last_t_us),
            "",
            format!("… {hidden} more packets ({})", self.folded_note).dimmed(),
            w = self.width
        )
    }

    /// Ends a folded run with one line saying what it hid. Call it after
    /// the last event too.
    pub fn finish(&mut self, out: &mut dyn Write) -> io::Result<()> {
        self.end_streak(out)?;
        let run = std::mem::take(&mut self.run);
        if run.hidden_calls == 0 && run.hidden_packets == 0 {
            return Ok(());
        }
        let Some((actor, op, _)) = run.key else {
            return Ok(());
        };
        let mut what = Vec::new();
        if run.hidden_calls > 0 {
            what.push(format!(
                "{} more {op} calls ({} B)",
                run.hidden_calls, run.hidden_bytes
            ));
        }
        if run.hidden_packets > 0 {
            what.push(format!("{} packets", run.hidden_packets));
        }
        writeln!(
            out,
            "{}  {}  {}",
            time(run.last_t_us),
            self.actor(&actor),
            format!("… {} ({})", what.join(" and "), self.folded_note).dimmed()
        )
    }

    fn call(&self, out: &mut dyn Write, c: &Call) -> io::Result<()> {
        // A row stands where the call returned: that is when the program
        // learned the result, and it keeps cause before effect.
        let t_end = c.t_us + c.waited_us;
        let result = match (&c.returned, &c.error) {
            (_, Some(e)) if c.timed_out => format!(
                "{} {}",
                format!("still blocked after {}", duration(c.waited_us)).red(),
                format!("(watchdog: {e})").dimmed()
            ),
            (_, Some(e)) => e.red().bold().to_string(),
            (Some(n), None) if c.op.returns_fd() => format!("fd {n}"),
            (Some(n), None) if c.is_send() || c.is_recv() => format!("{n} B"),
            (Some(n), None) => n.to_string(),
            (None, None) => "?".into(),
        };
        let mut line = format!("{}({})", c.op.name().bold(), self.args(c));
        line.push_str(&format!(" → {result}"));
        if let Some(d) = &c.data
            && c.returned.is_some()
            && (!d.is_empty() || c.is_recv())
        {
            let (text, cut) = preview(d, ROW_PREVIEW);
            line.push_str(&format!(
                " \"{}{}\"",
                text.green(),
                if cut { "…" } else { "" }
            ));
        }
        let mut notes = Vec::new();
        if c.op.is_stream_recv()
            && c.proto != Some(crate::trace::Proto::Udp)
            && c.returned == Some(0)
            && c.len != Some(0)
        {
            notes.push("end of stream: the peer closed its side".to_string());
        }
        if c.truncated == Some(true) {
            notes.push(
                format!(
                    "datagram was {} B, the rest is gone",
                    c.datagram_len.unwrap_or(0)
                )
                .red()
                .to_string(),
            );
        }
        if let Some((a, b)) = c.stream {
            notes.push(format!("stream [{a}, {b})"));
        }
        if c.op == Op::RecvFrom && c.error.is_none() {
            notes.push(c.args.clone());
        }
        if c.repeat > 1 {
            let spin = format!("×{} in a row within {}", c.repeat, duration(c.waited_us));
            notes.push(spin.red().bold().to_string());
        } else if c.waited_us >= 1000 && !c.timed_out && c.op != Op::Sleep {
            let mut waited = format!("waited {}", duration(c.waited_us));
            if c.paused_us >= 1000 {
                // Lab time stood still meanwhile: the lesson is the rest.
                waited.push_str(&format!(" ({} of it paused)", duration(c.paused_us)));
            }
            notes.push(waited);
        }
        if matches!(c.op, Op::Bind | Op::Connect | Op::Accept)
            && let Some(local) = c.local
        {
            match c.peer {
                Some(peer) => notes.push(format!("{local} ⇄ {peer}")),
                None => notes.push(format!("at {local}")),
            }
        }
        if !notes.is_empty() {
            line.push_str(&format!("  {}", notes.join(", ").dimmed()));
        }
        writeln!(out, "{}  {}  {}", time(t_end), self.actor(&c.actor), line)
    }

    fn args(&self, c: &Call) -> String {
        let mut parts = Vec::new();
        if let Some(s) = &c.sock
            && c.op != Op::Socket
        {
            parts.push(s.clone());
        }
        match c.op {
            op if op.is_recv() => parts.push(format!("{}", c.len.unwrap_or(0))),
            op if op.is_send() => parts.push(format!("{} B", c.len.unwrap_or(0))),
            _ => {}
        }
        // recv_from's "from ADDR" is a result, shown after the arrow.
        if !c.args.is_empty() && c.op != Op::RecvFrom {
            parts.push(c.args.clone());
        }
        parts.join(", ")
    }

    /// The message map the session sent, with `calls` (the calls it sent,
    /// in order) to name each row's call.
    pub fn map(&self, out: &mut dyn Write, calls: &[Call]) -> io::Result<()> {
        crate::render::map::write(out, calls, &self.map, &self.flagged)
    }

    /// The packets shown so far that Wireshark's analysis flagged, by
    /// their index among the packets (for a map written elsewhere).
    pub fn flagged(&self) -> &crate::render::map::Flagged {
        &self.flagged
    }

    /// The checks the session sent, with what each teaches.
    pub fn verdicts(&self, out: &mut dyn Write) -> io::Result<()> {
        if self.judged.is_empty() {
            return Ok(());
        }
        writeln!(out)?;
        for v in &self.judged {
            let mark = if v.passed {
                "✓".green().bold()
            } else {
                "✗".red().bold()
            };
            writeln!(out, "{mark} {}", v.name.bold())?;
            writeln!(out, "    {}", v.detail.dimmed())?;
            if let Some(e) = &v.explain {
                for l in wrap(e, 76) {
                    writeln!(out, "    {l}")?;
                }
            }
        }
        Ok(())
    }

    pub fn explanation(&self, out: &mut dyn Write, lab: &Lab) -> io::Result<()> {
        writeln!(out)?;
        writeln!(out, "{}", "What you just saw".bold().underline())?;
        for para in lab.def.explain.trim().split("\n\n") {
            for l in wrap(para, 78) {
                writeln!(out, "  {l}")?;
            }
            writeln!(out)?;
        }
        Ok(())
    }
}

/// Milliseconds with microsecond precision: `  101.204 ms`.
pub fn time(t_us: u64) -> String {
    format!("{:>7}.{:03} ms", t_us / 1000, t_us % 1000)
        .dimmed()
        .to_string()
}

fn duration(us: u64) -> String {
    if us >= 1000 {
        format!("{:.1} ms", us as f64 / 1000.0)
    } else {
        format!("{us} µs")
    }
}

/// Greedy word wrap of one paragraph (its own line breaks are ignored).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    use unicode_width::UnicodeWidthStr;
    // Widths are terminal columns: a Chinese character takes two.
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        for piece in split_wide(word, width) {
            if !line.is_empty() && line.width() + 1 + piece.width() > width {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(piece);
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// A "word" wider than a line (a run of Chinese, which has no spaces) in
/// pieces that fit; any other word whole.
fn split_wide(word: &str, width: usize) -> Vec<&str> {
    use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};
    if word.width() <= width {
        return vec![word];
    }
    let mut pieces = Vec::new();
    let (mut start, mut used) = (0, 0);
    for (i, c) in word.char_indices() {
        let w = c.width().unwrap_or(0);
        if used + w > width && i > start {
            pieces.push(&word[start..i]);
            start = i;
            used = 0;
        }
        used += w;
    }
    pieces.push(&word[start..]);
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_counts_columns_not_chars() {
        use unicode_width::UnicodeWidthStr;
        // Ten Chinese characters are 20 columns wide.
        let text = "粘包 sticky packet 拆包 split packet 固定长度报头认证客户端的链接合法性 end";
        for l in wrap(text, 12) {
            assert!(l.width() <= 12, "{l:?} is {} columns", l.width());
        }
        assert_eq!(wrap("a b c", 3), ["a b", "c"]);
        assert_eq!(wrap("粘包 粘包", 4), ["粘包", "粘包"]);
    }
}
