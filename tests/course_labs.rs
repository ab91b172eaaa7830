//! What each lab of the course teaches, asserted on real runs: the bytes,
//! the error names, the waits. (tests/labs.rs runs every lab at every
//! `try` value; these pin the lessons.)

use socket_lab::app::{CaptureMode, Files, execute};
use socket_lab::catalog::{self, Lab};
use socket_lab::course::{auth, command};
use socket_lab::trace::Call;

fn lab(id: &str) -> Lab {
    let labs = catalog::builtin().expect("embedded labs are valid");
    catalog::find(&labs, id).expect("lab exists").clone()
}

/// Runs a lab and returns its calls; every expectation must hold.
fn run(id: &str, settings: &[&str]) -> Vec<Call> {
    let lab = lab(id);
    let set: Vec<String> = settings.iter().map(|s| s.to_string()).collect();
    let knobs = lab.knob_values(&set).expect("knobs");
    // With capture where the process may (root), so the capture's own
    // completeness check runs on these labs too.
    let mode = CaptureMode::detect(true);
    let done = execute(&lab, &knobs, &mode, Files::default(), |_| Ok(())).expect("run");
    let failed: Vec<String> = done
        .verdicts
        .iter()
        .filter(|v| !v.passed)
        .map(|v| format!("✗ {}: {}", v.name, v.detail))
        .collect();
    assert!(
        failed.is_empty(),
        "{id} {settings:?}:\n{}",
        failed.join("\n")
    );
    done.calls
}

fn calls<'a>(all: &'a [Call], actor: &str, op: &str) -> Vec<&'a Call> {
    all.iter()
        .filter(|c| c.actor == actor && c.op == op)
        .collect()
}

fn data(c: &Call) -> &[u8] {
    c.data.as_deref().unwrap_or_default()
}

fn text(c: &Call) -> String {
    String::from_utf8_lossy(data(c)).into_owned()
}

#[test]
fn phone_call_time_wait_stays_with_the_side_that_hung_up_first() {
    for (closer, local_actor) in [("client", "client"), ("server", "server")] {
        let trace = run("01-phone-call", &[&format!("closer={closer}")]);
        let row = text(calls(&trace, "client", "netstat")[0]);
        let connect = calls(&trace, "client", "connect")[0];
        let (client, server) = (connect.local.unwrap(), connect.peer.unwrap());
        let (local, remote) = if local_actor == "client" {
            (client, server)
        } else {
            (server, client)
        };
        assert_eq!(
            row,
            format!("{local} -> {remote} TIME_WAIT"),
            "closer={closer}"
        );
    }
}

#[test]
fn echo_loops_serve_clients_in_turn() {
    let trace = run("02-echo-loops", &["clients=3", "hold_ms=200"]);
    assert_eq!(calls(&trace, "server", "accept").len(), 3);
    for n in 1..=3 {
        let r = calls(&trace, &format!("client{n}"), "recv");
        assert_eq!(text(r[0]), format!("HELLO FROM {n}"));
        assert_eq!(text(r[1]), format!("BYE FROM {n}"));
    }
    // The second client's first answer waited for the first client to go.
    assert!(calls(&trace, "client2", "recv")[0].waited_us >= 100_000);
}

#[test]
fn address_in_use_needs_reuse_on_both_sockets() {
    for (reuse, error) in [
        ("none", Some("EADDRINUSE")),
        ("restart_only", Some("EADDRINUSE")),
        ("both", None),
    ] {
        let trace = run("05-address-in-use", &[&format!("reuse={reuse}")]);
        let binds = calls(&trace, "server", "bind");
        assert_eq!(binds[1].error.as_deref(), error, "reuse={reuse}");
        assert!(text(calls(&trace, "server", "netstat")[0]).ends_with("TIME_WAIT"));
    }
}

#[test]
fn udp_empty_datagram_is_a_message_from_someone() {
    let trace = run("06-udp-echo", &[]);
    let got = calls(&trace, "server", "recv_from")[1];
    assert_eq!((got.returned, got.datagram_len), (Some(0), Some(0)));
    // recvfrom names the sender: the client's port (its socket is bound to
    // the wildcard address 0.0.0.0, the datagram came from 127.0.0.1).
    let client = calls(&trace, "client", "send_to")[1].local.unwrap();
    assert_eq!(got.peer.map(|a| a.port()), Some(client.port()));
    let reply = calls(&trace, "server", "send_to")[1];
    assert_eq!(reply.peer.map(|a| a.port()), Some(client.port()));
}

#[test]
fn udp_server_answers_each_peer_where_it_came_from() {
    let trace = run("07-udp-many-clients", &[]);
    let asked = calls(&trace, "server", "recv_from");
    let answered = calls(&trace, "server", "send_to");
    for (q, a) in asked.iter().zip(&answered) {
        assert_eq!(q.peer, a.peer);
        assert_eq!(data(a), data(q).to_ascii_uppercase());
    }
    assert_eq!(calls(&trace, "d", "recv_from")[0].returned, Some(19));
}

#[test]
fn remote_command_reply_sticks_to_the_next_unless_framed() {
    let listing = command::output(b"ls -l /usr/bin");
    let trace = run("08-remote-command", &[]);
    let got = calls(&trace, "client", "command");
    let first = data(got[0]).len();
    let second = data(got[1]);
    // The answer to `pwd` is the listing's next bytes, exactly.
    assert_eq!(second, &listing[first..first + second.len()]);

    let framed = run("08-remote-command", &["framing=fixed"]);
    let got = calls(&framed, "client", "command");
    assert_eq!(data(got[0]), &*listing);
    assert_eq!(data(got[1]), b"/home/lab\n");
    assert!(text(got[2]).starts_with("sh: 1: rm: not found"));
}

#[test]
fn segmentation_mss_follows_the_mtu_in_a_private_namespace() {
    let trace = run("12-segmentation", &["mtu=1500"]);
    let mtu = calls(&trace, "server", "lo_mtu")[0].returned;
    let mss = calls(&trace, "client", "get_option")[0].returned.unwrap();
    if mtu == Some(1500) {
        assert_eq!(mss, 1448, "1500 - 20 (IP) - 20 (TCP) - 12 (timestamps)");
    } else {
        eprintln!("not root: lo keeps its MTU ({mtu:?}); MSS {mss}");
        assert!(mss > 1448);
    }
    assert_eq!(calls(&trace, "server", "recv_from")[0].returned, Some(3000));
}

#[test]
fn length_then_ready_costs_a_round_trip_and_two_small_writes_cost_more() {
    let trace = run("13-length-then-ready", &["requests=50"]);
    let ready = calls(&trace, "ready_server", "recv");
    assert_eq!(data(ready[1]), b"recv_ready");
    let fixed = calls(&trace, "fixed_server", "send_all")[0];
    assert_eq!(
        data(fixed),
        b"\x04\0\0\0lab\n",
        "struct 'i' of 4, then `lab\\n`"
    );
    // Header and body in two writes: Nagle holds the body until the
    // header's delayed ACK (tens of ms) comes back.
    let slow = run("13-length-then-ready", &["requests=20", "writes=two"]);
    let rate = calls(&slow, "fixed_client", "bench")[0].returned.unwrap();
    assert!(rate < 200, "two writes per reply: {rate} msg/s");
}

#[test]
fn fixed_header_bytes_and_the_wrong_byte_order() {
    let trace = run("14-fixed-header", &[]);
    let sent = calls(&trace, "server", "send_all");
    assert_eq!(data(sent[0]), b"\0\0\0\0");
    assert_eq!(&data(sent[1])[..4], &1_048_576i32.to_ne_bytes());
    assert_eq!(data(sent[2]), b"\x01\0\0\0x");

    let network = run("14-fixed-header", &["order=network", "reader=network"]);
    let sent = calls(&network, "server", "send_all");
    assert_eq!(&data(sent[1])[..4], b"\x00\x10\x00\x00");
    assert_eq!(
        calls(&network, "client", "command")[1].returned,
        Some(1_048_576)
    );

    let wrong = run("14-fixed-header", &["reader=network"]);
    let got = calls(&wrong, "client", "command");
    assert_eq!(got[1].returned, Some(4096));
    assert_eq!(got[2].error.as_deref(), Some("too_big"));
}

#[test]
fn json_header_layout_on_the_wire() {
    let trace = run("15-json-header", &[]);
    let first = data(calls(&trace, "server", "send_all")[0]);
    let len = i32::from_ne_bytes(first[..4].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&first[4..4 + len]).unwrap();
    let body = &first[4 + len..];
    assert_eq!(header["cmd"], "ls -l");
    assert_eq!(header["data_size"], body.len());
    assert_eq!(body, &*command::output(b"ls -l"));
}

#[test]
fn file_transfer_round_trip_and_refusals() {
    let trace = run("16-file-transfer", &["size=123457"]);
    let got = calls(&trace, "client", "get")[0];
    let want: Vec<u8> = (0..123_457u64).map(|i| b'a' + (i % 26) as u8).collect();
    assert_eq!(data(got), want.as_slice());
    assert_eq!(
        calls(&trace, "client", "put")[1].error.as_deref(),
        Some("refused")
    );
    let served = calls(&trace, "server", "served");
    assert_eq!(served[1].error.as_deref(), Some("closed_mid_frame"));
    assert_eq!(
        calls(&trace, "checker", "get")[0].error.as_deref(),
        Some("refused")
    );
}

#[test]
fn hmac_answer_is_hmac_of_the_challenge() {
    for (digest, name, len) in [
        (auth::Digest::Sha256, "sha256", 32),
        (auth::Digest::Md5, "md5", 16),
    ] {
        let trace = run("17-hmac-auth", &[&format!("digest={name}")]);
        let challenge = data(calls(&trace, "good", "recv")[0]);
        assert_eq!(challenge.len(), 32);
        let answer = data(calls(&trace, "good", "auth")[0]);
        assert_eq!(answer.len(), len);
        assert_eq!(
            answer,
            auth::answer(b"socket-lab shared key", challenge, digest)
        );
        // A fresh challenge for every connection.
        let sent = calls(&trace, "server", "send_all");
        assert_ne!(data(sent[0]), data(sent[2]));
    }
}

#[test]
fn concurrent_server_threads_do_not_wait() {
    let iterative = run("18-concurrent-server", &["hold_ms=300"]);
    assert!(calls(&iterative, "client2", "recv")[0].waited_us >= 250_000);
    let threaded = run("18-concurrent-server", &["threads=true", "hold_ms=300"]);
    for conn in ["server/conn1", "server/conn2"] {
        assert_eq!(calls(&threaded, conn, "served").len(), 1, "{conn}");
    }
    // Both connections were open at once: conn2 was served before conn1 ended.
    let two_done = calls(&threaded, "server/conn2", "served")[0];
    let one_done = calls(&threaded, "server/conn1", "served")[0];
    assert!(two_done.t_us + two_done.waited_us < one_done.t_us + one_done.waited_us);
}

#[test]
fn unix_socket_same_calls_no_ports() {
    let trace = run("19-unix-socket", &[]);
    assert_eq!(
        text(calls(&trace, "client", "recv")[0]),
        "HELLO OVER AF_UNIX"
    );
    let connect = calls(&trace, "client", "connect")[0];
    assert!(connect.local.is_none() && connect.peer.is_none());
    assert!(connect.args.ends_with(".sock"), "{}", connect.args);
}
