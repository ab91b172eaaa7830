use super::layout::{self, BREAK_PX, Point, ROW};
use super::*;
use crate::correlate::segment;
use crate::wire::TcpFlags;

fn at(t_us: u64) -> Point {
    Point {
        t_us,
        labelled: true,
    }
}

#[test]
fn later_moments_are_always_lower_and_the_axis_follows_them() {
    // Bunched, equal and far apart: the order of time is the order down.
    let times = [0, 0, 3, 10, 11, 500, 501, 40_000, 40_002, 140_000, 140_005];
    let points: Vec<Point> = times.iter().map(|&t| at(t)).collect();
    let l = layout::place(&points, 100.0);
    for w in l.ys.windows(2) {
        assert!(w[1] - w[0] >= ROW - 1e-9, "rows overlap: {:?}", l.ys);
    }
    // Between the points too, and every tick is where its time falls.
    let mut last = f64::MIN;
    for t in (0..=140_005).step_by(97) {
        let y = l.y_at(t);
        assert!(y >= last, "y_at({t}) = {y} went up from {last}");
        last = y;
    }
    let ticks = l.ticks();
    assert!(ticks.len() >= 3, "{ticks:?}");
    for w in ticks.windows(2) {
        assert!(w[0].t_us < w[1].t_us && w[0].y < w[1].y, "{ticks:?}");
    }
    assert!(ticks.iter().all(|t| t.label.ends_with(" ms")));
}

#[test]
fn a_long_gap_is_broken_and_a_short_one_is_drawn_to_scale() {
    // Lab 09's shape: half a millisecond of calls, a 100 ms sleep, more.
    let points: Vec<Point> = [0, 100, 200, 400, 100_400, 100_500, 100_600]
        .iter()
        .map(|&t| at(t))
        .collect();
    let l = layout::place(&points, 0.0);
    assert_eq!(l.breaks.len(), 1, "{:?}", l.breaks);
    let b = l.breaks[0];
    assert_eq!((b.from_us, b.to_us), (400, 100_400));
    assert_eq!(b.y1 - b.y0, BREAK_PX);
    // The rest is to one scale: 100 µs is the same height everywhere.
    let d1 = l.ys[1] - l.ys[0];
    let d2 = l.ys[6] - l.ys[5];
    assert!((d1 - d2).abs() < 1e-9);
    assert!(l.ticks().iter().all(|t| t.t_us <= 400 || t.t_us >= 100_400));
    // Evenly spread time has no break at all.
    let even: Vec<Point> = (0..20).map(|i| at(i * 15_000)).collect();
    assert!(layout::place(&even, 0.0).breaks.is_empty());
}

#[test]
fn several_stalls_are_each_broken_not_only_the_longest() {
    // Lab 13's shape: three 40 ms delayed-ACK stalls between short bursts.
    let gaps = [50, 40_000, 60, 40_000, 30, 40_000, 80, 300_000];
    let long = layout::long_gaps(&gaps);
    assert_eq!(
        long,
        [false, true, false, true, false, true, false, true],
        "{gaps:?}"
    );
    // Under the floor nothing is broken, however it compares.
    assert_eq!(layout::long_gaps(&[5, 9_000]), [false, false]);
}

/// A small session: a connect, a handshake, one send and the recv that
/// waited for it.
fn session() -> Diagram {
    let mut d = Diagram::new("lab run 01 <&>");
    let mut syn = segment(
        "127.0.0.1:40000",
        "127.0.0.1:7000",
        0,
        0,
        TcpFlags::SYN,
        b"",
    );
    syn.t_us = 100;
    syn.info.from = Some("client".into());
    syn.info.to = Some("server".into());
    let mut synack = segment(
        "127.0.0.1:7000",
        "127.0.0.1:40000",
        0,
        1,
        TcpFlags::SYN | TcpFlags::ACK,
        b"",
    );
    synack.t_us = 110;
    synack.info.from = Some("server".into());
    synack.info.to = Some("client".into());
    let mut data = segment(
        "127.0.0.1:40000",
        "127.0.0.1:7000",
        1,
        1,
        TcpFlags::PSH | TcpFlags::ACK,
        b"<hi&>",
    );
    data.t_us = 300;
    data.info.from = Some("client".into());
    data.info.to = Some("server".into());
    let mut recv = Call::new(50, "server", Op::Recv);
    recv.waited_us = 260;
    recv.returned = Some(5);
    recv.data = Some(b"<hi&>".to_vec());
    let mut connect = Call::new(90, "client", Op::Connect);
    connect.waited_us = 30;
    connect.returned = Some(0);
    let mut send = Call::new(290, "client", Op::Send);
    send.len = Some(5);
    send.returned = Some(5);
    send.data = Some(b"<hi&>".to_vec());
    for e in [
        Event::Call(connect),
        Event::Packet(syn),
        Event::Packet(synack),
        Event::Call(send),
        Event::Packet(data),
        Event::Call(recv),
    ] {
        d.add(&e);
    }
    d
}

/// The text of an element as an SVG viewer shows it: its text nodes
/// joined, runs of white space (the newlines the writer puts around text)
/// made one space, and the ends trimmed.
fn shown(n: roxmltree::Node) -> String {
    let all: String = n
        .descendants()
        .filter(|t| t.is_text())
        .filter_map(|t| t.text())
        .collect();
    all.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn every_call_and_packet_is_drawn_once_and_text_is_escaped() {
    let d = session();
    assert_eq!(d.lanes, ["client", "server"]);
    let svg = d.render();
    // Well-formed XML, with the escaped text read back as written.
    let doc = roxmltree::Document::parse(&svg).expect("well-formed");
    let texts: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(shown)
        .collect();
    let count = |s: &str| texts.iter().filter(|t| t.as_str() == s).count();
    assert_eq!(count("lab run 01 <&>"), 1, "{texts:?}");
    assert_eq!(count("client"), 1);
    assert_eq!(count("server"), 1);
    assert_eq!(count("SYN"), 1, "{texts:?}");
    assert_eq!(count("SYN,ACK"), 1);
    assert_eq!(count("PSH,ACK 5 B"), 1);
    assert_eq!(count("connect"), 1);
    assert_eq!(count("send 5 B \"<hi&>\""), 1, "{texts:?}");
    assert_eq!(count("recv → 5 B \"<hi&>\""), 1, "{texts:?}");
    // The recv waited while the packets came, and the connect while its
    // handshake crossed: each a bar, its start labelled; the send did not.
    assert_eq!(count("recv …"), 1);
    assert_eq!(count("connect …"), 1);
    assert_eq!(count("send …"), 0);
    let packets = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("packet"))
        .count();
    assert_eq!(packets, 3);
    let bars = doc
        .descendants()
        .filter(|n| {
            n.has_tag_name("rect") && n.parent().and_then(|p| p.attribute("class")) == Some("bars")
        })
        .count();
    assert_eq!(
        bars, 2,
        "the recv and the connect waited while others acted"
    );
    // Nothing raw in the bytes: the markup characters are entities.
    assert!(!svg.contains("<hi&>") && svg.contains("&lt;hi&amp;&gt;"));
}

#[test]
fn a_packet_s_analysis_marks_are_drawn_after_its_label() {
    let mut d = session();
    d.packets[2].marks.push(AnalysisMark {
        label: "retransmission".into(),
    });
    let svg = d.render();
    let doc = roxmltree::Document::parse(&svg).expect("well-formed");
    let mark = doc
        .descendants()
        .find(|n| n.attribute("class") == Some("mark"))
        .expect("a mark");
    assert_eq!(shown(mark), "[retransmission]");
    let label = mark.parent().expect("in the packet's label");
    assert_eq!(shown(label), "PSH,ACK 5 B [retransmission]");
}

#[test]
fn calls_say_what_they_did_in_a_few_words() {
    let mut c = Call::new(0, "server", Op::Recv);
    c.returned = Some(0);
    assert_eq!(call_label(&c), "recv → 0 B (peer closed)");
    c.error = Some("ECONNRESET".into());
    c.returned = None;
    assert_eq!(call_label(&c), "recv → ECONNRESET");
    let mut s = Call::new(0, "client", Op::Send);
    s.len = Some(4096);
    s.returned = Some(1024);
    s.data = Some(vec![b'x'; 1024]);
    assert_eq!(call_label(&s), "send 1024 of 4096 B \"xxxxxxxxxxxxxxxx…\"");
    let mut o = Call::new(0, "client", Op::SetOption);
    o.args = "SO_LINGER=0".into();
    assert_eq!(call_label(&o), "set_option SO_LINGER=0");
    let mut z = Call::new(0, "client", Op::Sleep);
    z.waited_us = 100_150;
    assert_eq!(call_label(&z), "sleep 100.2 ms");
    assert_eq!(call_label(&Call::new(0, "server", Op::Accept)), "accept");
}

#[test]
fn packets_between_two_sockets_of_one_actor_go_between_their_addresses() {
    // `lab trace` of a program that is its own client and server: one
    // actor owns both ends, so the arrow goes between the addresses.
    let mut d = Diagram::new("lab trace -- python3 pair.py");
    d.add(&Event::Call(Call::new(0, "python3[9114]", Op::Connect)));
    let mut syn = segment(
        "127.0.0.1:40000",
        "127.0.0.1:7000",
        0,
        0,
        TcpFlags::SYN,
        b"",
    );
    syn.info.from = Some("python3[9114]".into());
    syn.info.to = Some("python3[9114]".into());
    d.add(&Event::Packet(syn));
    assert_eq!(
        d.lanes,
        ["python3[9114]", "127.0.0.1:40000", "127.0.0.1:7000"]
    );
    assert_eq!((d.packets[0].from, d.packets[0].to), (1, 2));
}

#[test]
fn an_empty_session_and_a_long_one_still_make_whole_documents() {
    // An empty pcap: a page with its title, and nothing made up.
    let empty = Diagram::new("lab inspect empty.pcap").render();
    let doc = roxmltree::Document::parse(&empty).expect("well-formed");
    assert!(
        !doc.descendants()
            .any(|n| n.attribute("class") == Some("packet"))
    );
    // A long trace stops at MAX_ITEMS and says how many it left out.
    let mut d = Diagram::new("lab trace -- busy");
    for i in 0..(MAX_ITEMS as u64 + 50) {
        let mut c = Call::new(i * 10, "busy[1]", Op::Send);
        c.len = Some(1);
        c.returned = Some(1);
        d.add(&Event::Call(c));
    }
    assert_eq!((d.calls.len(), d.left_out), (MAX_ITEMS, 50));
    let svg = d.render();
    let doc = roxmltree::Document::parse(&svg).expect("well-formed");
    let note = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(shown)
        .find(|t| t.starts_with("… and 50 more"));
    assert!(note.is_some(), "the cut is said");
}

#[test]
fn the_text_diagram_has_a_row_per_call_and_packet_in_time_order() {
    let text = session().text();
    let lines: Vec<&str> = text.lines().collect();
    // The heading names both lifelines; the client connected first, so it
    // was met first and stands on the left.
    assert!(
        lines[0].contains("client") && lines[0].contains("server"),
        "{text}"
    );
    assert!(lines[0].find("client") < lines[0].find("server"), "{text}");
    let rows: Vec<&str> = lines[1..].to_vec();
    assert_eq!(rows.len(), 6, "three calls and three packets:\n{text}");
    // In time order: SYN (0.100 ms), SYN,ACK, connect (0.120), send
    // (0.290), data (0.300), recv (0.310).
    let order = [
        "SYN ",
        "SYN,ACK",
        "connect",
        "send 5 B",
        "PSH,ACK 5 B",
        "recv → 5 B",
    ];
    for (row, want) in rows.iter().zip(order) {
        assert!(row.contains(want), "{want} in {row}\n{text}");
    }
    // Client to server points right; server to client points left.
    assert!(rows[0].contains('▶') && !rows[0].contains('◀'), "{text}");
    assert!(rows[1].contains('◀') && !rows[1].contains('▶'), "{text}");
    assert!(rows[0].starts_with("   0.100 ms"), "{text}");
}

#[test]
fn the_text_diagram_marks_a_long_wait_with_its_length() {
    let mut d = Diagram::new("gap");
    let mut a = Call::new(0, "server", Op::Listen);
    a.returned = Some(0);
    let mut b = Call::new(300_000, "server", Op::Close);
    b.returned = Some(0);
    let mut c = Call::new(300_050, "server", Op::Close);
    c.returned = Some(0);
    for e in [Event::Call(a), Event::Call(b), Event::Call(c)] {
        d.add(&e);
    }
    let text = d.text();
    assert!(text.contains("┊ … 300.0 ms …"), "{text}");
    assert_eq!(text.matches('┊').count(), 1, "one wait broken:\n{text}");
}
