//! `lab serve ID`: the server side of a lab, for the learner's own clients.
//!
//! The server speaks the lab's protocol in the course's own wire format, so
//! the course's Python clients can talk to it, and prints every call as
//! clients come and go. It listens on 127.0.0.1 unless `--bind` names
//! another address, and runs until Ctrl-C.
//!
//! Every connection has a thread of its own (except in lab 18 with
//! `threads=false`, whose lesson is the one-at-a-time server), so a client
//! that sends garbage, claims a 10 GB header, says nothing or vanishes
//! mid-file ends its own connection with a logged error and nobody else's.
//!
//! A refusal is a close. When the server has read every byte the client
//! sent, the close is a FIN and the client reads the end of the stream;
//! when some were still unread (an upload's first bytes behind a header
//! that was refused), Linux resets the connection instead (RST: Python's
//! `ConnectionResetError`). Which one a client sees depends on how far the
//! server had read, so both mean "refused" (the capture shows which).

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use socket2::{Domain, Socket, Type};

use super::run::{PacketSink, Sink, View, drive};
use super::{Failure, Outcome, resolve};
use crate::capture::{self, Capture, Filter};
use crate::catalog::step::Protocol;
use crate::catalog::{Action, Step};
use crate::clock::Clock;
use crate::render::human::Human;
use crate::runner;
use crate::timeline::Timeline;
use crate::trace::{Event, Proto};

/// Options of one `lab serve`.
pub struct ServeArgs<'a> {
    pub set: &'a [String],
    /// 0: a port the OS picks (printed on the first line).
    pub port: u16,
    pub bind: Option<IpAddr>,
    pub dir: Option<PathBuf>,
    /// How long a client may stay silent before its connection is closed.
    pub idle: Duration,
    /// Capture the port's packets on `lo` when privileged.
    pub capture: bool,
}

/// The labs that have a server (`[serve]` in their file), for messages.
fn served_labs() -> String {
    let ids: Vec<String> = super::labs()
        .unwrap_or_default()
        .iter()
        .filter(|l| l.def.serve.is_some())
        .map(|l| l.id()[..2].to_string())
        .collect();
    ids.join(", ")
}

/// `lab serve ID`.
pub fn serve(out: &mut dyn Write, query: &str, args: &ServeArgs) -> Outcome {
    let lab = resolve(query)?;
    let knobs = lab.knob_values(args.set)?;
    // A folder only for the lab that stores files (16): the others would
    // leave an empty one behind.
    let Some(def) = &lab.def.serve else {
        return Err(Failure::Usage(format!(
            "lab {} has no server to run; `lab serve` works for labs {}",
            lab.id(),
            served_labs()
        )));
    };
    let Action::Serve(mut step) = def.step.get_ref().action.clone() else {
        unreachable!("the catalog checks that [serve] holds a serve step")
    };
    let proto = def.proto.unwrap_or(Proto::Tcp);
    let stores_files = step.protocol == Protocol::Files;
    let dir = match (&args.dir, stores_files) {
        (Some(d), true) => {
            std::fs::create_dir_all(d)
                .map_err(|e| Failure::Usage(format!("cannot use {}: {e}", d.display())))?;
            d.clone()
        }
        (None, true) => fresh_dir()?,
        (_, false) => PathBuf::new(),
    };
    if stores_files {
        step.dir = Some(dir.display().to_string());
    }
    let ip = args.bind.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    // A connection is a descriptor: take all the process may have, so a
    // crowd of clients meets `--idle` and the cap, not EMFILE.
    raise_descriptor_limit();
    let socket = listen(SocketAddr::new(ip, args.port), proto)?;
    let local = socket
        .local_addr()
        .ok()
        .and_then(|a| a.as_socket())
        .ok_or_else(|| Failure::Usage("the socket has no address".into()))?;
    // The first line is for scripts too: `listening on ADDR (...)`.
    writeln!(out, "listening on {local} ({}, {})", proto.name(), lab.id())?;
    writeln!(out, "{}: {}", lab.def.title, def.says)?;
    if stores_files {
        writeln!(out, "files are stored in {}", dir.display())?;
    }
    if step.protocol == Protocol::AuthEcho {
        // What a client must know to answer the challenge.
        let expand = |t: &Option<String>| {
            t.as_deref()
                .map(|t| crate::expr::expand(t, &knobs).map(|v| v.to_string()))
                .transpose()
        };
        let key = expand(&step.key)?.unwrap_or_default();
        let digest = expand(&step.digest)?.unwrap_or_default();
        writeln!(
            out,
            "key {key:?} ({} bytes), digest {digest}: answer with hmac.new(key, challenge, {digest:?}).digest()",
            key.len()
        )?;
    }
    if !ip.is_loopback() {
        writeln!(out, "warning: reachable from other machines on {ip}")?;
    }
    // Ctrl-C is caught (by `crate::signals`, from the start) before the
    // server says it can be used: a client (or a test) that stops it at
    // once finds it ready to stop cleanly. `stop` is for the other way
    // to end: the output gone.
    let stop = Arc::new(AtomicBool::new(false));
    if proto != Proto::Udp {
        writeln!(
            out,
            "a client that sends nothing for {} s is disconnected (--idle)",
            args.idle.as_secs()
        )?;
    }
    writeln!(out, "Ctrl-C stops the server.")?;
    out.flush()?;

    let clock = Clock::start();
    let (tx, rx) = mpsc::channel::<Event>();
    // The packets of this port, on the same clock, where we may capture:
    // only on loopback (the capture watches `lo`).
    let capture = match (args.capture, ip.is_loopback(), capture::privilege()) {
        (false, _, _) => Err("off: --no-capture".to_string()),
        (true, false, _) => Err(format!("off: the capture watches lo, not {ip}")),
        (true, true, Err(e)) => Err(format!("off: {e}")),
        (true, true, Ok(())) => Capture::start(
            &Filter::ports([local.port()]),
            clock,
            PacketSink(tx.clone()),
        )
        .map_err(|e| format!("off: {e}")),
    };
    match &capture {
        Ok(_) => writeln!(out, "capture on: packets of port {} on lo", local.port())?,
        Err(why) => writeln!(out, "capture {why}")?,
    }

    // The same pipeline as `lab run`: packets take their place among the
    // calls, with relative numbers and scaled windows, named after the
    // actors that own their addresses.
    let mut human = Human::new(&lab).folded_note("counted, not shown one by one");
    let mut view = ServeView {
        out,
        human: &mut human,
        stop: Arc::clone(&stop),
    };
    // A server runs for as long as the learner likes: nothing is kept.
    let mut timeline = Timeline::new(false).passing();
    let result = std::thread::scope(|s| {
        let server = s.spawn(|| {
            let step = Step::new(Action::Serve(step));
            let done =
                runner::serve_forever(socket, proto, &step, &knobs, clock, tx, args.idle, stop);
            // The capture holds a sender too: stop it, so the channel closes.
            if let Ok(c) = capture {
                c.stop();
            }
            done
        });
        let mut sink = Sink {
            writer: None,
            view: &mut view,
            error: None,
        };
        drive(
            &rx,
            clock,
            super::run::REORDER,
            &mut timeline,
            &mut sink,
            None,
        );
        let joined = server
            .join()
            .map_err(|_| Failure::Usage("the server panicked".into()));
        match sink.error {
            Some(e) => Err(Failure::from(e)),
            None => joined,
        }
    })?;
    let out = view.out;
    // A folder this server made for uploads goes with it if nothing was
    // uploaded (remove_dir takes only an empty folder); uploads stay.
    if stores_files && args.dir.is_none() && std::fs::remove_dir(&dir).is_err() {
        writeln!(out, "uploads kept in {}", dir.display())?;
    }
    result.map_err(Failure::Usage)?;
    writeln!(out, "stopped")?;
    match crate::signals::received() {
        Some(signal) => Err(Failure::Interrupted(signal)),
        None => Ok(true),
    }
}

/// `lab serve`'s view: the human timeline, flushed as each row comes.
struct ServeView<'a> {
    out: &'a mut dyn Write,
    human: &'a mut Human,
    /// Set when the output is gone (`lab serve 01 | head -1`): a server
    /// nobody can watch stops, as Ctrl-C would stop it.
    stop: Arc<AtomicBool>,
}

impl View for ServeView<'_> {
    fn event(&mut self, event: &Event) -> std::io::Result<()> {
        let shown = self
            .human
            .event(self.out, event)
            .and_then(|()| self.out.flush());
        if shown.is_err() {
            self.stop.store(true, Ordering::SeqCst);
        }
        shown
    }
}

/// A listening TCP socket or a bound UDP socket. SO_REUSEADDR, so a
/// restart does not meet EADDRINUSE (lab 05).
fn listen(addr: SocketAddr, proto: Proto) -> Result<Socket, Failure> {
    let ty = if proto == Proto::Udp {
        Type::DGRAM
    } else {
        Type::STREAM
    };
    let fail = |e: std::io::Error| Failure::Usage(format!("cannot listen on {addr}: {e}"));
    let socket = Socket::new(Domain::for_address(addr), ty, None).map_err(fail)?;
    socket.set_reuse_address(true).map_err(fail)?;
    socket.bind(&addr.into()).map_err(fail)?;
    if proto != Proto::Udp {
        // A crowd connects faster than one thread accepts: the kernel
        // keeps up to this many finished handshakes waiting (the system
        // may cap it lower: net.core.somaxconn).
        socket.listen(4096).map_err(fail)?;
    }
    Ok(socket)
}

/// Raises the soft limit on open descriptors to the hard limit (which only
/// privilege can raise). Best effort: if it fails, the old limit stands
/// and the server's cap follows it.
fn raise_descriptor_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit read and write a struct we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

/// A new private folder under the system's temporary directory.
fn fresh_dir() -> Result<PathBuf, Failure> {
    crate::runner::private_dir("lab-serve")
        .map_err(|e| Failure::Usage(format!("cannot make a folder for uploads: {e}")))
}
