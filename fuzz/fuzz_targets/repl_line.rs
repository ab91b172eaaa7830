//! Fuzz target: the line parser of `lab repl` (`socket_lab::repl::line::parse`)
//! and the translation of a parsed statement into a lab step
//! (`socket_lab::repl::translate::translate`).
//!
//! The input is one typed line. It parses into a line or an error whose
//! column is in the line (or one past its end); a statement translates
//! into a plan or a one-line message, in a session that already has a TCP
//! server, a connection and a UDP socket.

#![no_main]

use libfuzzer_sys::fuzz_target;
use socket_lab::repl::line::{self, Line};
use socket_lab::repl::translate::{self, Address, Value, Vars};
use socket_lab::trace::Proto;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let statement = match line::parse(text) {
        Ok(Line::Statement(statement)) => statement,
        Ok(_) => return,
        Err(e) => {
            assert!(e.column >= 1 && e.column <= text.chars().count() + 1, "{e}");
            let _ = e.caret();
            return;
        }
    };
    let mut vars = Vars::default();
    for (name, proto) in [
        ("server", Proto::Tcp),
        ("conn", Proto::Tcp),
        ("client", Proto::Tcp),
        ("udp", Proto::Udp),
    ] {
        vars.names.insert(name.into(), Value::Socket(proto));
    }
    let here: std::net::SocketAddr = "127.0.0.1:8080".parse().expect("an address");
    vars.names
        .insert("addr".into(), Value::Addr(Address::Inet(here)));
    vars.names
        .insert("data".into(), Value::Bytes(b"hello".to_vec()));
    vars.local.insert("server".into(), Address::Inet(here));
    if let Err(message) = translate::translate(&statement, &vars) {
        assert!(!message.is_empty());
    }
});
