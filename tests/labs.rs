//! Every lab runs on the real kernel, at its defaults and at each of its
//! knobs' `try` values, and everything it claims holds.

use socket_lab::app::{CaptureMode, Files, execute};
use socket_lab::catalog::{self, Lab};
use socket_lab::trace::Call;

/// The capture as this process may run it. As root (CI) it is on, and
/// every run also checks that the capture accounts for every byte of every
/// call (the message map is complete); otherwise the reason is printed.
fn mode() -> CaptureMode {
    static SAID: std::sync::Once = std::sync::Once::new();
    let mode = CaptureMode::detect(true);
    if let CaptureMode::Off(reason) = &mode {
        // On the real stderr: the harness hides `eprintln!` of passing tests.
        SAID.call_once(|| {
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "labs: capture checks skipped: {reason}");
        });
    }
    mode
}

/// Runs `lab` with `settings` and returns its calls, failing on any
/// expectation that did not hold.
fn run(lab: &Lab, settings: &[String]) -> Result<Vec<Call>, String> {
    let knobs = lab.knob_values(settings)?;
    let done = execute(lab, &knobs, &mode(), Files::default(), |_| Ok(()))
        .map_err(|e| format!("{e:?}"))?;
    if done.verdicts.is_empty() {
        return Err(format!("{} {settings:?}: no expectation applies", lab.id()));
    }
    let failed: Vec<String> = done
        .verdicts
        .iter()
        .filter(|v| !v.passed)
        .map(|v| format!("{} {settings:?}: ✗ {}: {}", lab.id(), v.name, v.detail))
        .collect();
    if failed.is_empty() {
        Ok(done.calls)
    } else {
        Err(failed.join("\n"))
    }
}

fn lab(id: &str) -> Lab {
    let labs = catalog::builtin().expect("embedded labs are valid");
    catalog::find(&labs, id).expect("lab exists").clone()
}

#[test]
fn every_lab_holds_at_defaults_and_at_each_try_value() {
    let labs = catalog::builtin().expect("embedded labs are valid");
    let mut cases: Vec<(Lab, Vec<String>)> = Vec::new();
    for l in &labs {
        cases.push((l.clone(), Vec::new()));
        for k in &l.def.knobs {
            for t in &k.tries {
                let text = match t {
                    toml::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                cases.push((l.clone(), vec![format!("{}={text}", k.name)]));
            }
        }
    }
    // All at once, as users' parallel runs would: ephemeral ports keep
    // them apart.
    let failures: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = cases
            .iter()
            .map(|(l, set)| s.spawn(move || run(l, set).err()))
            .collect();
        handles
            .into_iter()
            .filter_map(|h| h.join().expect("no panic"))
            .collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        cases.len() >= labs.len() * 2,
        "most labs have a knob worth trying"
    );
}

fn data(c: &Call) -> &[u8] {
    c.data.as_deref().unwrap_or_default()
}

fn calls<'a>(all: &'a [Call], actor: &str, op: &str) -> Vec<&'a Call> {
    all.iter()
        .filter(|c| c.actor == actor && c.op == op)
        .collect()
}

#[test]
fn sticky_packet_one_recv_gets_both_sends() {
    let trace = run(&lab("09-sticky-packet"), &[]).unwrap();
    let recvs = calls(&trace, "server", "recv");
    assert_eq!(data(recvs[0]), b"hellofeng");
    assert_eq!(recvs[0].stream, Some((0, 9)));
}

#[test]
fn sticky_packet_short_recv_leaves_the_rest_for_the_next() {
    // The course's recv(2) then recv(10): "he", then "llofeng".
    let trace = run(
        &lab("09-sticky-packet"),
        &["recv1=2".into(), "recv2=10".into()],
    )
    .unwrap();
    let recvs = calls(&trace, "server", "recv");
    assert_eq!(data(recvs[0]), b"he");
    assert_eq!(data(recvs[1]), b"llofeng");
    assert_eq!(recvs[1].stream, Some((2, 9)));
}

#[test]
fn blocking_recv_both_ends_wait_for_the_watchdog() {
    let trace = run(&lab("03-blocking-recv"), &["watchdog_ms=100".into()]).unwrap();
    for actor in ["server", "client"] {
        let r = calls(&trace, actor, "recv")[0];
        assert!(r.timed_out, "{actor} recv should time out: {r:?}");
        assert_eq!(r.error.as_deref(), Some("EAGAIN"));
        assert!(
            r.waited_us >= 90_000,
            "{actor} waited only {} µs",
            r.waited_us
        );
    }
}

#[test]
fn client_disconnect_orderly_spins_and_abortive_resets() {
    let orderly = run(&lab("04-client-disconnect"), &[]).unwrap();
    let spin = calls(&orderly, "server", "recv")[1];
    assert_eq!((spin.returned, spin.repeat > 1), (Some(0), true));

    let abortive = run(&lab("04-client-disconnect"), &["abort=true".into()]).unwrap();
    let reset = calls(&abortive, "server", "recv")[1];
    assert_eq!(reset.error.as_deref(), Some("ECONNRESET"));
}

#[test]
fn udp_truncation_cuts_and_keeps_boundaries() {
    let trace = run(&lab("10-udp-truncation"), &[]).unwrap();
    let r = calls(&trace, "server", "recv_from");
    assert_eq!(
        (r[0].returned, r[0].truncated, r[0].datagram_len),
        (Some(1024), Some(true), Some(3000))
    );
    let rest: Vec<&[u8]> = r[1..].iter().map(|c| data(c)).collect();
    assert_eq!(rest, [&b"hello"[..], b"feng", b"!"]);

    let too_big = run(&lab("10-udp-truncation"), &["big=65508".into()]).unwrap();
    assert_eq!(
        calls(&too_big, "client", "send_to")[0].error.as_deref(),
        Some("EMSGSIZE")
    );
    let largest = run(
        &lab("10-udp-truncation"),
        &["big=65507".into(), "buf=65507".into()],
    )
    .unwrap();
    assert_eq!(
        calls(&largest, "server", "recv_from")[0].returned,
        Some(65507)
    );
}

#[test]
fn send_takes_what_fits_and_send_all_the_rest() {
    let trace = run(&lab("11-send-vs-sendall"), &[]).unwrap();
    let sends = calls(&trace, "client", "send");
    let first = sends[0].returned.unwrap();
    assert!(first > 0 && first < 262_144, "short count, got {first}");
    assert_eq!(sends.last().unwrap().error.as_deref(), Some("EAGAIN"));
    let accepted: i64 = sends.iter().filter_map(|c| c.returned).sum();
    let all = calls(&trace, "client", "send_all")[0];
    assert_eq!(accepted + all.returned.unwrap(), 262_144);
}

#[test]
fn fixed_header_ends_agree_only_when_both_change_order() {
    // Lab 14's course box once offered `--set order=network` as the run
    // where "both ends agree, all is well". The reader knob stays at
    // `native`, so with that setting alone the ends disagree: 1 MiB reads
    // as 4096 and the next header is refused. Agreement in network order
    // takes both settings.
    let lab = lab("14-fixed-header");
    let calls_of = |sets: &[&str]| {
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        run(&lab, &sets).unwrap()
    };
    let alone = calls_of(&["order=network"]);
    let commands = calls(&alone, "client", "command");
    assert_eq!(commands[1].returned, Some(4096));
    assert_eq!(commands[2].error.as_deref(), Some("too_big"));
    let both = calls_of(&["order=network", "reader=network"]);
    let commands = calls(&both, "client", "command");
    assert_eq!(commands[1].returned, Some(1_048_576));
    assert_eq!(data(commands[2]), b"x");
    let header = &data(calls(&both, "server", "send_all")[1])[..4];
    assert_eq!(header, [0x00, 0x10, 0x00, 0x00]);
    // And the lab's text says so: whatever follows a suggested experiment
    // (up to the next one or the end of the sentence) may claim that the
    // ends agree only for the experiment with both settings.
    let def = &lab.def;
    let text = [
        def.explain.as_str(),
        def.course_says.as_deref().unwrap_or(""),
    ]
    .into_iter()
    .chain(def.watch.iter().map(String::as_str))
    .collect::<Vec<_>>()
    .join(" ");
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut i = 0;
    while i < words.len() {
        if words[i] != "--set" {
            i += 1;
            continue;
        }
        let mut sets = Vec::new();
        while i + 1 < words.len() && words[i] == "--set" {
            sets.push(words[i + 1].trim_end_matches([',', '.', ':', ')']));
            i += 2;
        }
        let claim: Vec<&str> = words[i..]
            .iter()
            .take_while(|w| **w != "--set")
            .scan(false, |ended, w| {
                let this = (!*ended).then_some(*w);
                *ended = w.ends_with('.');
                this
            })
            .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
            .collect();
        let said = claim.join(" ");
        if claim.contains(&"agree") || said.contains("arrives whole") {
            assert_eq!(
                sets,
                ["order=network", "reader=network"],
                "lab 14 says the ends agree after {sets:?}: {said}"
            );
        }
    }
}

#[test]
fn a_refused_call_that_goes_unchecked_fails_at_the_send() {
    // The course's clients dial with connect_ex and ignore its result.
    // With nobody listening, the refusal is ECONNREFUSED (connect_ex's
    // 111), and the program only notices at its send: EPIPE, Python's
    // BrokenPipeError.
    let trace = run(&lab("01-phone-call"), &["listening=false".into()]).unwrap();
    let connect = calls(&trace, "client", "connect")[0];
    assert_eq!(connect.error.as_deref(), Some("ECONNREFUSED"));
    assert_eq!(libc::ECONNREFUSED, 111, "the number connect_ex returns");
    let send = calls(&trace, "client", "send")[0];
    assert_eq!(send.error.as_deref(), Some("EPIPE"));
    assert!(calls(&trace, "server", "accept").is_empty());
}
