//! The command line, as clap reads it. Doc comments here are the `--help`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::render::ColorChoice;

/// A lab bench for socket programming: run experiments on real sockets over
/// loopback and see what every call did and what crossed the wire.
#[derive(Debug, Parser)]
#[command(name = "lab", version, propagate_version = true)]
pub struct Cli {
    /// When to use colour: auto (a terminal, NO_COLOR unset), always, never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the experiments.
    List {
        /// Print a JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Describe one experiment, its knobs and what to watch for, without running it.
    Show {
        /// Lab id (`09-sticky-packet`), its number (`09`) or its slug.
        id: String,
    },
    /// Run an experiment on real sockets and check what it claims.
    ///
    /// A lab of the catalog whose checks all held is then marked done
    /// (`lab progress`); a lab file given by its path is not.
    Run {
        /// Lab id, number or slug, or the path of a lab file (`./my-lab.toml`).
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        lab: Option<String>,
        /// Run every lab with its default knobs; one verdict line per lab.
        #[arg(long, conflicts_with_all = ["json", "pcap", "pcapng", "set", "step"])]
        all: bool,
        /// With --all: how many labs run at once, each in a network
        /// namespace of its own (as root). Labs mostly wait, so the default
        /// runs them all at once; `--jobs 1` runs one after the other.
        /// Without a private namespace they always run one at a time.
        #[arg(long, requires = "all", conflicts_with = "lab", value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
        jobs: Option<u16>,
        /// Change a knob: `--set nodelay=true` (repeatable).
        #[arg(long = "set", value_name = "KNOB=VALUE")]
        set: Vec<String>,
        /// Print JSON Lines (one object per event) instead of the timeline.
        #[arg(long)]
        json: bool,
        /// Also write the captured packets to this pcap file (Wireshark, tshark).
        #[arg(long, value_name = "FILE")]
        pcap: Option<PathBuf>,
        /// Also write the packets to this pcapng file, each with a comment
        /// naming what it carries (`client send #2 [5, 9) "feng"`, `SYN
        /// (client connect #1)`): the message map, inside Wireshark. Written
        /// when the run ends.
        #[arg(long, value_name = "FILE")]
        pcapng: Option<PathBuf>,
        /// Also draw the session as a sequence diagram in this SVG file: a
        /// lifeline per actor, calls beside it, packets as arrows, time
        /// running down.
        #[arg(long, value_name = "FILE", conflicts_with = "all")]
        svg: Option<PathBuf>,
        /// Also write the session as one web page to explore offline: the
        /// sequence diagram, the timeline, the message map and the checks;
        /// click a packet for its layers, fields and bytes, a call for its
        /// arguments, result and packets.
        #[arg(long, value_name = "FILE", conflicts_with = "all")]
        html: Option<PathBuf>,
        /// Do not capture packets, even when privileged.
        #[arg(long)]
        no_capture: bool,
        /// Stop before every step: Enter runs it, `c` runs to the end, `q`
        /// stops. Answers are read from standard input, a line each.
        #[arg(long, conflicts_with = "json")]
        step: bool,
        /// Predict, then observe: the run stops before each step that
        /// carries one of the lab's questions and asks it; after the run,
        /// each answer is judged against what the run did, and a score is
        /// printed. Answers are read from the terminal, a line each.
        #[arg(long, conflicts_with_all = ["json", "step", "all"])]
        predict: bool,
        /// The answers for --predict without a terminal, in the order the
        /// questions are asked: `--answers 9,EAGAIN,b` (a number, an errno
        /// name or `none`, a letter). An empty one is no answer; questions
        /// left when the answers run out count as not answered.
        #[arg(long, requires = "predict", value_name = "A,B,...")]
        answers: Option<String>,
        /// After the run, show packet N of its timeline (or `all`) layer by
        /// layer, as `lab inspect --detail` does. Needs the capture.
        #[arg(long, value_name = "N|all", conflicts_with_all = ["json", "all", "step", "predict", "no_capture"], value_parser = parse_detail)]
        detail: Option<Detail>,
        /// With --detail: the bytes pane too (see `lab inspect --hex`).
        #[arg(long, requires = "detail")]
        hex: bool,
        /// After the run, draw it as a sequence diagram in text: a column
        /// per actor, a row per call or packet in time order, long waits
        /// marked with their length (`--svg` draws the same to scale).
        #[arg(long, conflicts_with_all = ["json", "all", "step", "predict"])]
        diagram: bool,
    },
    /// Drive sockets by hand in the course's Python (`conn.recv(1024)`),
    /// every packet shown as it crosses; `help` inside lists the calls.
    /// Lines come from the terminal, or from a script on standard input.
    Repl {
        /// Do not capture packets, even when privileged.
        #[arg(long)]
        no_capture: bool,
    },
    /// Watch the loopback traffic of your own programs (needs CAP_NET_RAW).
    Capture {
        /// A TCP or UDP port to watch (repeatable).
        #[arg(long = "port", value_name = "PORT", required = true)]
        ports: Vec<u16>,
        /// Stop after this many packets.
        #[arg(long, value_name = "N")]
        count: Option<u64>,
        /// Stop after this many seconds.
        #[arg(long, value_name = "S")]
        seconds: Option<f64>,
        /// Print JSON Lines instead of the timeline.
        #[arg(long)]
        json: bool,
        /// Also write the packets to this pcap file.
        #[arg(long, value_name = "FILE")]
        pcap: Option<PathBuf>,
        /// Also draw the packets as a sequence diagram in this SVG file,
        /// written when the capture stops: a lifeline per address and port.
        #[arg(long, value_name = "FILE", conflicts_with = "quiet")]
        svg: Option<PathBuf>,
        /// Also write the packets as one web page to explore offline,
        /// written when the capture stops: the diagram and the timeline;
        /// click a packet for its layers, fields and bytes.
        #[arg(long, value_name = "FILE", conflicts_with = "quiet")]
        html: Option<PathBuf>,
        /// With --pcap: no row per packet and no streams, only the counters
        /// at the end (as `tcpdump -w` writes without printing).
        #[arg(long, short, requires = "pcap", conflicts_with_all = ["json", "pcapng"])]
        quiet: bool,
        /// Show (and write to --pcap) only the packets this display filter
        /// matches, in Wireshark's syntax: `tcp.len > 0`, `tcp.flags.syn ==
        /// 1`, `udp`. The ports still decide what is captured, and --count
        /// counts captured packets; frame and stream numbers count every
        /// packet captured. `lab inspect --help` lists the fields.
        #[arg(long, value_name = "EXPR", conflicts_with = "quiet")]
        filter: Option<String>,
        /// Under packet N's row (or every row: `all`), the packet layer by
        /// layer, as `lab inspect --detail` shows it.
        #[arg(long, value_name = "N|all", conflicts_with_all = ["json", "quiet"], value_parser = parse_detail)]
        detail: Option<Detail>,
        /// With --detail: the bytes pane too (see `lab inspect --hex`).
        #[arg(long, requires = "detail")]
        hex: bool,
        /// Also write the packets to this pcapng file; each packet that
        /// carries data has a comment naming its conversation (as
        /// Wireshark's tcp.stream / udp.stream numbers it), its direction
        /// and its bytes.
        #[arg(long, value_name = "FILE")]
        pcapng: Option<PathBuf>,
    },
    /// Run any program (or attach to one) and record its socket calls, shown
    /// as a lab run shows its own: with the packets on lo when capture is
    /// possible, the message map and the capture's check.
    ///
    /// Every process and thread the program starts is traced; each is an
    /// actor named after its command and ids: `python3[4182]` for a
    /// process's main thread, `python3[4182/4190]` for another of its
    /// threads. The program keeps its terminal (standard input, output and
    /// error); the trace goes to standard error, or to `-o FILE`. `lab
    /// trace` exits with the program's exit code (128+N if a signal N
    /// killed it). Linux x86_64 only.
    #[command(
        after_help = "Examples:\n  lab trace -- python3 server.py\n  lab trace -- sh -c 'python3 server.py & sleep 0.3; python3 client.py'\n  lab trace --json -- python3 client.py\n  lab trace --pid 4182          (Ctrl-C lets go; the program runs on)"
    )]
    Trace {
        /// Attach to this running process (every thread) instead of
        /// starting one; Ctrl-C detaches and the program runs on.
        #[arg(long, value_name = "PID", conflicts_with = "command")]
        pid: Option<i32>,
        /// Print JSON Lines (one object per event) instead of the timeline.
        #[arg(long)]
        json: bool,
        /// Also write the captured packets to this pcap file.
        #[arg(long, value_name = "FILE")]
        pcap: Option<PathBuf>,
        /// Also write the packets to this pcapng file, each with a comment
        /// naming the call whose bytes it carries (as the message map
        /// does). Written when the trace ends.
        #[arg(long, value_name = "FILE")]
        pcapng: Option<PathBuf>,
        /// Also draw the trace as a sequence diagram in this SVG file: a
        /// lifeline per process or thread, calls beside it, packets as
        /// arrows.
        #[arg(long, value_name = "FILE")]
        svg: Option<PathBuf>,
        /// Also write the trace as one web page to explore offline: the
        /// diagram, the timeline, the message map and the capture's check;
        /// click a packet for its layers, fields and bytes, a call for its
        /// arguments, result and packets.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
        /// Do not capture packets, even when privileged.
        #[arg(long)]
        no_capture: bool,
        /// Write the trace to this file instead of standard error.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
        /// The program and its arguments, after `--`.
        #[arg(
            last = true,
            value_name = "CMD",
            required_unless_present = "pid",
            num_args = 1..
        )]
        command: Vec<String>,
    },
    /// Show a pcap file (ours, or tcpdump's on lo) as a timeline and streams.
    #[command(after_long_help = crate::filter::fields_help())]
    Inspect {
        /// The pcap or pcapng file.
        file: PathBuf,
        /// Print JSON Lines instead of the timeline.
        #[arg(long)]
        json: bool,
        /// Show packet N (as numbered in the timeline, from 1), or `all`,
        /// layer by layer: each header's fields and what they are for,
        /// checksums checked, and the bytes that hold them.
        #[arg(long, value_name = "N|all", conflicts_with = "json", value_parser = parse_detail)]
        detail: Option<Detail>,
        /// With --detail: the packet's bytes as a bytes pane, each byte
        /// coloured by the field it belongs to, with a legend naming the
        /// fields (without colour: one line per field with its bytes).
        #[arg(long, requires = "detail")]
        hex: bool,
        /// Follow one conversation: TCP connection N (Wireshark's
        /// `tcp.stream`, from 0), or `udp:N` (`udp.stream`).
        #[arg(long, value_name = "N|udp:N", value_parser = parse_stream)]
        stream: Option<(crate::conversations::Kind, usize)>,
        /// One line per conversation: packets and bytes each way, how long
        /// it lasted, the handshake's round trip, and the throughput.
        #[arg(long, conflicts_with_all = ["detail", "stream"])]
        stats: bool,
        /// Show only the packets this display filter matches, in
        /// Wireshark's syntax (as `tshark -Y`): `udp`, `tcp.len > 0`,
        /// `tcp.port == 9000 && tcp.flags.syn == 1`, `ip.addr == 127.0.0.1`,
        /// `!(tcp.port == 22)`, `tcp.payload contains "feng"`, `frame.number
        /// in {1, 3, 5..9}`. Frame numbers, stream numbers and relative
        /// sequence numbers stay those of the whole file, as in Wireshark.
        /// The rows, --json, --detail, --stats and the streams at the end
        /// take only the matching packets. The fields are listed below.
        #[arg(long, value_name = "EXPR")]
        filter: Option<String>,
        /// Also draw the packets (of the --stream chosen, if any) as a
        /// sequence diagram in this SVG file: a lifeline per address and
        /// port, time running down.
        #[arg(long, value_name = "FILE", conflicts_with_all = ["detail", "stats"])]
        svg: Option<PathBuf>,
        /// Also write the packets (those --stream and --filter keep) as one
        /// web page to explore offline: the diagram and the timeline; click
        /// a packet for its layers, fields and bytes.
        #[arg(long, value_name = "FILE", conflicts_with_all = ["detail", "stats"])]
        html: Option<PathBuf>,
    },
    /// Run the server side of a lab for your own clients (the course's
    /// Python programs), printing every call, until Ctrl-C.
    Serve {
        /// Lab id, number or slug of a lab with a server (`lab show` says so).
        lab: String,
        /// The port to listen on; 0 lets the OS pick one (printed first).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// The address to listen on. Without it, 127.0.0.1 only.
        #[arg(long, value_name = "ADDR")]
        bind: Option<std::net::IpAddr>,
        /// Lab 16: where uploads go (default: a fresh temporary folder).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Close a connection whose client has sent nothing for this many
        /// seconds (one line says so).
        #[arg(long, value_name = "SECS", default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=86_400))]
        idle: u32,
        /// Change a knob: `--set order=network` (repeatable).
        #[arg(long = "set", value_name = "KNOB=VALUE")]
        set: Vec<String>,
        /// Do not capture packets, even when privileged.
        #[arg(long)]
        no_capture: bool,
    },
    /// Regenerate the book's transcripts and command reference from real runs.
    Book {
        /// Write nothing: fail if a transcript is stale, a suggested
        /// experiment fails, a lab has no chapter, or a chapter names a lab,
        /// knob or link that does not exist.
        #[arg(long)]
        check: bool,
        /// Write every transcript afresh, not only those whose run changed
        /// (after a change to how `lab` prints a run).
        #[arg(long, conflicts_with = "check")]
        rewrite: bool,
        /// The book's folder (with book.toml and src/).
        #[arg(long, value_name = "DIR", default_value = "book")]
        dir: PathBuf,
    },
    /// Run the first lab, in the catalog's order, that is not done yet, as
    /// `lab run ID` runs it.
    Next {
        /// Do not capture packets, even when privileged.
        #[arg(long)]
        no_capture: bool,
    },
    /// How far you are: how many labs are done, which are left, and where
    /// progress is kept.
    ///
    /// A lab is done once a `lab run ID` of it ended with every check held.
    /// Progress is kept in $XDG_STATE_HOME/socket-lab/progress.json, else
    /// ~/.local/state/socket-lab/progress.json.
    Progress,
    /// Forget progress: every lab, or one.
    Reset {
        /// Lab id, number or slug to forget; without it, every lab.
        lab: Option<String>,
    },
}

/// Which packets `--detail` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Packet N, counted from 1 as the timeline numbers them.
    One(usize),
    All,
}

fn parse_detail(text: &str) -> Result<Detail, String> {
    match text {
        "all" => Ok(Detail::All),
        n => match n.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(Detail::One(n)),
            _ => Err(format!("`{n}` is not a packet number (1, 2, ...) or `all`")),
        },
    }
}

fn parse_stream(text: &str) -> Result<(crate::conversations::Kind, usize), String> {
    use crate::conversations::Kind;
    let (kind, n) = match text.split_once(':') {
        Some(("tcp", n)) => (Kind::Tcp, n),
        Some(("udp", n)) => (Kind::Udp, n),
        Some(_) => return Err(format!("`{text}`: say N, tcp:N or udp:N")),
        None => (Kind::Tcp, text),
    };
    n.parse()
        .map(|n| (kind, n))
        .map_err(|_| format!("`{text}`: a conversation's number (0, 1, ...), tcp:N or udp:N"))
}
