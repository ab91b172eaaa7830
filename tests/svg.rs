//! `--svg FILE`: the sequence diagram of a real session, read back with an
//! XML parser. Runs of labs capture as root; without CAP_NET_RAW the
//! packets' part of a test prints why it skips and the calls are checked.

use std::path::Path;
use std::process::Command;

use socket_lab::app::CaptureMode;

mod common;
use common::{lab, privileged, skip};

/// What a diagram says: the text of each `<text>` as a viewer shows it
/// (white space collapsed), with its class.
struct Drawn {
    texts: Vec<(String, String)>,
    packets: usize,
}

impl Drawn {
    fn read(path: &Path) -> Drawn {
        let svg = std::fs::read_to_string(path).expect("the diagram was written");
        let doc = roxmltree::Document::parse(&svg).expect("the diagram is well-formed XML");
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        let texts = doc
            .descendants()
            .filter(|n| n.has_tag_name("text"))
            .map(|n| {
                let all: String = n
                    .descendants()
                    .filter(|t| t.is_text())
                    .filter_map(|t| t.text())
                    .collect();
                let shown = all.split_whitespace().collect::<Vec<_>>().join(" ");
                (n.attribute("class").unwrap_or("").to_string(), shown)
            })
            .collect();
        let packets = doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("packet"))
            .count();
        Drawn { texts, packets }
    }

    fn of_class(&self, class: &str) -> Vec<&str> {
        self.texts
            .iter()
            .filter(|(c, _)| c.split(' ').any(|c| c == class))
            .map(|(_, t)| t.as_str())
            .collect()
    }

    fn count(&self, class: &str, text: &str) -> usize {
        self.of_class(class).iter().filter(|t| **t == text).count()
    }
}

#[test]
fn a_run_of_lab_09_draws_its_actors_calls_packets_and_the_sleep() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("09.svg");
    let captured = privileged("svg of lab 09's packets");
    let mut args = vec!["run", "09-sticky-packet", "--svg", file.to_str().unwrap()];
    if !captured {
        args.push("--no-capture");
    }
    let out = lab(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("sequence diagram written to"));
    let d = Drawn::read(&file);
    let mut lanes = d.of_class("lane");
    lanes.sort_unstable();
    assert_eq!(lanes, ["client", "server"]);
    assert_eq!(d.of_class("title"), ["lab run 09-sticky-packet"]);
    // What the lab teaches: two sends, one recv that got both.
    assert_eq!(d.count("call", "send 5 B \"hello\""), 1, "{:?}", d.texts);
    assert_eq!(d.count("call", "send 4 B \"feng\""), 1);
    assert_eq!(d.count("call", "recv → 9 B \"hellofeng\""), 1);
    assert_eq!(d.count("call", "accept"), 1);
    // The server's 100 ms sleep is long next to the rest: drawn shortened,
    // with its length (split where a delayed ACK came in the middle).
    let breaks = d.of_class("brk");
    assert!(!breaks.is_empty(), "{:?}", d.texts);
    let broken_ms: f64 = breaks
        .iter()
        .map(|b| {
            let ms = b.trim_matches(['…', ' ']).trim_end_matches(" ms");
            ms.parse::<f64>()
                .unwrap_or_else(|_| panic!("a length: {b}"))
        })
        .sum();
    assert!(broken_ms >= 50.0, "{breaks:?}");
    assert!(d.of_class("call").iter().any(|t| t.starts_with("sleep 10")));
    // Ticks on the axis, in ms.
    assert!(d.of_class("axis").iter().all(|t| t.ends_with(" ms")));
    assert!(d.of_class("axis").len() >= 2);
    if captured {
        let pkts = d.of_class("pkt");
        assert_eq!(d.packets, pkts.len());
        assert_eq!(pkts.iter().filter(|t| **t == "SYN").count(), 1, "{pkts:?}");
        assert_eq!(pkts.iter().filter(|t| **t == "SYN,ACK").count(), 1);
        // However the kernel cut the 9 bytes, they are all on the wire.
        let carried: usize = pkts
            .iter()
            .filter_map(|t| t.strip_suffix(" B"))
            .filter_map(|t| t.rsplit(' ').next()?.parse::<usize>().ok())
            .sum();
        assert_eq!(carried, 9, "{pkts:?}");
    }
    // Nothing but the diagram is left in the folder.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["09.svg"]);
}

#[test]
fn inspect_draws_a_lifeline_per_endpoint_and_every_packet_once() {
    if !privileged("svg of lab inspect") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("01.pcap");
    let svg = dir.path().join("01.svg");
    let out = lab(&["run", "01", "--pcap", pcap.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = lab(&["inspect", pcap.to_str().unwrap(), "--json"]);
    let packets = String::from_utf8_lossy(&json.stdout)
        .lines()
        .filter(|l| l.contains("\"kind\":\"packet\""))
        .count();
    assert!(packets >= 7, "a handshake, data and a teardown: {packets}");
    let out = lab(&[
        "inspect",
        pcap.to_str().unwrap(),
        "--svg",
        svg.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let d = Drawn::read(&svg);
    let lanes = d.of_class("lane");
    assert_eq!(lanes.len(), 2, "{lanes:?}");
    for lane in lanes {
        lane.parse::<std::net::SocketAddr>()
            .unwrap_or_else(|_| panic!("a lifeline per address and port: {lane}"));
    }
    assert_eq!(d.packets, packets);
    assert_eq!(d.of_class("call").len(), 0, "a pcap has no calls");
}

#[test]
fn a_bad_svg_path_is_one_line_and_nothing_runs() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/folder/run.svg");
    for (target, says) in [
        (missing.to_str().unwrap(), "cannot write"),
        (dir.path().to_str().unwrap(), "is a folder"),
    ] {
        let out = lab(&["run", "09", "--no-capture", "--svg", target]);
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("lab: ") && err.contains(says), "{err}");
        assert!(out.stdout.is_empty(), "nothing ran");
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn a_trace_draws_a_lifeline_per_thread_and_the_sticky_recv() {
    if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        skip("svg of lab trace", "lab trace decodes x86_64 Linux only");
        return;
    }
    if Command::new("python3").arg("-c").arg("").status().is_err() {
        skip("svg of lab trace", "python3 is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("trace.svg");
    let program = Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src/examples/trace_sticky.py");
    let out = lab(&[
        "trace",
        "--svg",
        svg.to_str().unwrap(),
        "-o",
        dir.path().join("trace.txt").to_str().unwrap(),
        "--",
        "python3",
        program.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let d = Drawn::read(&svg);
    // The main thread (the client) and the server thread: `python3[PID]`
    // and `python3[PID/TID]`.
    let lanes = d.of_class("lane");
    let threads: Vec<&&str> = lanes.iter().filter(|l| l.starts_with("python3[")).collect();
    assert_eq!(threads.len(), 2, "{lanes:?}");
    assert_eq!(
        d.count("call", "recv → 9 B \"hellofeng\""),
        1,
        "{:?}",
        d.texts
    );
    assert!(d.of_class("call").iter().any(|t| t.starts_with("send")));
    if privileged("svg of lab trace's packets") {
        assert!(d.of_class("pkt").contains(&"SYN"), "{:?}", d.texts);
    }
}

#[test]
fn capture_draws_the_packets_it_saw_between_their_addresses() {
    use std::io::{BufRead, Read};
    if !privileged("svg of lab capture") {
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("capture.svg");
    let mut child = Command::new(env!("CARGO_BIN_EXE_lab"))
        .args([
            "capture",
            "--port",
            &port,
            "--count",
            "3",
            "--seconds",
            "20",
        ])
        .arg("--svg")
        .arg(&svg)
        .env_remove("HOME")
        .env_remove("XDG_STATE_HOME")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start lab capture");
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    // The capture is open once it says so: connect only then.
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.starts_with("capturing"), "{first}");
    let _client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let _server = listener.accept().unwrap();
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert!(child.wait().unwrap().success(), "{rest}");
    assert!(rest.contains("sequence diagram written to"), "{rest}");
    // The three packets of the handshake, each once, between two addresses.
    let d = Drawn::read(&svg);
    assert_eq!(
        d.of_class("pkt"),
        ["SYN", "SYN,ACK", "ACK"],
        "{:?}",
        d.texts
    );
    let lanes = d.of_class("lane");
    assert_eq!(lanes.len(), 2);
    assert!(
        lanes.iter().any(|l| l.ends_with(&format!(":{port}"))),
        "{lanes:?}"
    );
}

/// `lab run --diagram`: the same diagram in text, after the run. Without
/// capture privilege it has the calls only.
#[test]
fn a_run_draws_itself_in_text_with_its_calls_packets_and_the_sleep() {
    let out = lab(&["run", "09", "--diagram", "--color=never"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let diagram = text
        .split("Sequence diagram\n")
        .nth(1)
        .expect("the diagram after the run");
    let heading = diagram.lines().next().unwrap();
    assert!(
        heading.contains("server") && heading.contains("client"),
        "{diagram}"
    );
    // The sticky recv, then the server's sleep shown as a marked wait.
    assert!(diagram.contains("● recv → 9 B \"hellofeng\""), "{diagram}");
    assert!(diagram.contains("● sleep 100."), "{diagram}");
    assert!(diagram.contains("┊ … "), "a long wait marked:\n{diagram}");
    // Each row's time is later than or equal to the one before.
    let times: Vec<f64> = diagram
        .lines()
        .filter_map(|l| l.trim_start().split(" ms").next()?.parse().ok())
        .collect();
    assert!(times.len() >= 10, "{diagram}");
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{diagram}");
    if !matches!(CaptureMode::detect(true), CaptureMode::Off(_)) {
        assert!(diagram.contains("SYN"), "packets drawn as root:\n{diagram}");
    }
}
