//! Sequence diagrams drawn from a run's transcript: two lifelines, the
//! calls beside them and the packets as arrows between them.
//!
//! ```text
//!                       client                             server
//!   socket → fd 7         │                                  │
//!                         │ SYN ───────────────────────────▶ │
//!                         │ ◀─────────────────────── SYN,ACK │
//!   connect → 0           │                                  │
//! ```
//!
//! A diagram is a pure function of a transcript, so it is exactly as true
//! as the transcript, which `lab book --check` compares with fresh runs.

use super::transcript;

/// Width of the text beside each lifeline, and of the space between them.
const NOTE: usize = 30;
const SPAN: usize = 36;

/// Draws the diagram of a `lab run` transcript with exactly two actors
/// (the packets' ends); `None` for any other transcript.
pub fn render(transcript: &str) -> Option<String> {
    let rows = transcript::timeline(transcript);
    let mut actors: Vec<String> = Vec::new();
    for r in &rows {
        if let transcript::Line::Call { actor, .. } = r
            && !actors.contains(actor)
        {
            actors.push(actor.clone());
        }
    }
    if actors.len() != 2 {
        return None;
    }
    // The client (the side that connects) on the left reads naturally.
    if actors[0] == "server" {
        actors.swap(0, 1);
    }
    let (left, right) = (&actors[0], &actors[1]);
    let mut out = String::new();
    out.push_str(&format!(
        "{:>w$}{:^3}{:span$}{:^3}\n",
        "",
        left,
        "",
        right,
        w = NOTE,
        span = SPAN - left.chars().count().saturating_sub(1)
    ));
    let lifelines = |note_left: &str, middle: &str, note_right: &str| {
        let mut line = format!(
            "{:>w$}  │{:^span$}│  {}",
            cut(note_left, NOTE),
            middle,
            cut(note_right, NOTE),
            w = NOTE,
            span = SPAN
        );
        while line.ends_with(' ') {
            line.pop();
        }
        line.push('\n');
        line
    };
    for r in rows {
        match r {
            transcript::Line::Call { actor, text } => {
                let note = call_note(&text);
                if &actor == left {
                    out.push_str(&lifelines(&note, "", ""));
                } else {
                    out.push_str(&lifelines("", "", &note));
                }
            }
            transcript::Line::Packet { from, to, text } => {
                let label = cut(&packet_label(&text), SPAN - 6);
                let fill = SPAN - 4 - label.chars().count();
                let arrow = if &from == left && &to == right {
                    format!(" {label} {}▶ ", "─".repeat(fill))
                } else if &from == right && &to == left {
                    format!(" ◀{} {label} ", "─".repeat(fill))
                } else {
                    continue;
                };
                out.push_str(&lifelines("", &arrow, ""));
            }
            transcript::Line::Gap(text) => {
                out.push_str(&lifelines("", &format!("⋮ {}", cut(&text, SPAN - 4)), ""));
            }
        }
    }
    Some(out)
}

/// `send(sock, 5 B) → 5 B "hello"  stream [0, 5)` → `send → 5 B "hello"`.
fn call_note(text: &str) -> String {
    let op = text.split('(').next().unwrap_or(text);
    let result = text
        .split_once(" → ")
        .map(|(_, r)| r.split("  ").next().unwrap_or(r))
        .unwrap_or("");
    format!("{op} → {result}")
}

/// `PSH,ACK  seq=1 ack=1 len=5 win=65536 "hello"  [0, 5)` → `PSH,ACK "hello"`.
fn packet_label(text: &str) -> String {
    let flags = text.split_whitespace().next().unwrap_or("");
    match text.find('"') {
        Some(q) => {
            let payload = text[q..].split("  ").next().unwrap_or("");
            format!("{flags} {payload}")
        }
        None => flags.to_string(),
    }
}

/// At most `n` characters, with `…` where it was cut.
fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    let mut t: String = s.chars().take(n - 1).collect();
    t.push('…');
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUN: &str = "\
$ lab run 09
09  Sticky   (course ch. 9)

          time  actor   call → result
     17.362 ms  server  socket(AF_INET, SOCK_STREAM) → fd 5
     17.512 ms  client  socket(AF_INET, SOCK_STREAM) → fd 7
     17.600 ms  #1      client → server  SYN      seq=0 len=0 win=65495 mss=65495
     17.610 ms  #2      server → client  SYN,ACK  seq=0 ack=1 len=0 win=65495 mss=65495
     17.805 ms  #4      client → server  PSH,ACK  seq=1 ack=1 len=5 win=65536 \"hello\"  [0, 5)
     17.825 ms  client  send(sock, 5 B) → 5 B \"hello\"  stream [0, 5)
";

    #[test]
    fn calls_sit_beside_their_lifeline_and_packets_point_the_right_way() {
        let d = render(RUN).expect("two actors");
        let lines: Vec<&str> = d.lines().collect();
        assert!(lines[0].contains("client") && lines[0].contains("server"));
        assert!(lines[0].find("client") < lines[0].find("server"));
        assert!(lines[1].ends_with("socket → fd 5"), "{d}");
        assert!(lines[2].trim_start().starts_with("socket → fd 7"), "{d}");
        assert!(lines[3].contains("SYN") && lines[3].contains("▶"), "{d}");
        assert!(
            lines[4].contains("◀") && lines[4].contains("SYN,ACK"),
            "{d}"
        );
        assert!(lines[5].contains("PSH,ACK \"hello\""), "{d}");
        assert!(lines[6].contains("send → 5 B \"hello\""), "{d}");
    }

    #[test]
    fn only_two_actors_make_a_diagram() {
        assert!(render("$ lab list\nnothing\n").is_none());
    }
}
