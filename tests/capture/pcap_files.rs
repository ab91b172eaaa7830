//! pcap files: our own round trip, and files other tools write and read.

use std::io::Read;
use std::net::UdpSocket;
use std::process::Command;
use std::thread;

use socket_lab::capture::CapturedFrame;
use socket_lab::clock::Clock;
use socket_lab::pcap::{self, LinkType, PcapWriter};

use super::{can_capture, skip};

/// Five UDP/IPv4 frames of growing size, 250 µs apart.
fn udp_frames() -> Vec<CapturedFrame> {
    (0..5u8)
        .map(|i| {
            // A UDP/IPv4 frame whose IP total length matches its size.
            let size = 42 + usize::from(i) * 100;
            let mut data = vec![0u8; size];
            data[12..14].copy_from_slice(&[0x08, 0x00]);
            data[14] = 0x45;
            data[16..18].copy_from_slice(&((size - 14) as u16).to_be_bytes());
            data[22] = 64;
            data[23] = 17;
            data[26..34].copy_from_slice(&[127, 0, 0, 1, 127, 0, 0, 1]);
            CapturedFrame {
                t_us: 1_000 + u64::from(i) * 250,
                data,
                orig_len: size,
            }
        })
        .collect()
}

#[test]
fn pcap_round_trip_and_other_tools_agree() {
    let dir = std::env::temp_dir().join(format!("socket-lab-pcap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("round-trip.pcap");
    let frames = udp_frames();
    let clock = Clock::start();
    let mut writer = PcapWriter::create(&path, &clock).unwrap();
    for f in &frames {
        writer.write(f).unwrap();
    }
    assert!(!path.exists(), "nothing at the final name before finish()");
    assert_eq!(writer.finish().unwrap(), 5);

    let back = pcap::read_pcap(&path).unwrap();
    assert_eq!(back.link_type, LinkType::Ethernet);
    let shifted: Vec<CapturedFrame> = frames
        .iter()
        .map(|f| CapturedFrame {
            t_us: f.t_us - 1_000,
            ..f.clone()
        })
        .collect();
    assert_eq!(back.frames, shifted, "same bytes, lengths and gaps");

    match Command::new("tshark")
        .args(["-r"])
        .arg(&path)
        .args(["-T", "fields", "-e", "frame.len"])
        .output()
    {
        Ok(out) if out.status.success() => {
            let lens: Vec<usize> = String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(|l| l.trim().parse().unwrap())
                .collect();
            assert_eq!(lens, frames.iter().map(|f| f.orig_len).collect::<Vec<_>>());
        }
        _ => skip("tshark check (tshark not installed)"),
    }
    match Command::new("tcpdump")
        .args(["-nn", "-r"])
        .arg(&path)
        .output()
    {
        Ok(out) if out.status.success() => {
            assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 5);
        }
        _ => skip("tcpdump -r check (tcpdump not installed)"),
    }

    // A writer dropped before finish() leaves no file, not even a partial one.
    let abandoned = dir.join("abandoned.pcap");
    let mut writer = PcapWriter::create(&abandoned, &clock).unwrap();
    writer.write(&frames[0]).unwrap();
    drop(writer);
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        1,
        "only round-trip.pcap"
    );

    // Errors are one line naming the file.
    let junk = dir.join("junk.pcap");
    std::fs::write(&junk, b"this is not a capture file").unwrap();
    let err = pcap::read_pcap(&junk).unwrap_err().to_string();
    assert!(
        err.starts_with(&junk.display().to_string()) && !err.contains('\n'),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Reads a file that tcpdump wrote while we sent three datagrams.
#[test]
fn reads_what_tcpdump_writes() {
    if !can_capture() {
        return;
    }
    if Command::new("tcpdump").arg("--version").output().is_err() {
        skip("tcpdump not installed (apt-get install -y tcpdump)");
        return;
    }
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let path = std::env::temp_dir().join(format!("socket-lab-tcpdump-{port}.pcap"));
    let mut tcpdump = Command::new("tcpdump")
        .args(["-i", "lo", "--immediate-mode", "-U", "-Z", "root", "-w"])
        .arg(&path)
        .arg(format!("udp port {port}"))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // tcpdump says "listening on lo" once its socket is open.
    let mut stderr = tcpdump.stderr.take().unwrap();
    let mut said = Vec::new();
    let mut byte = [0u8];
    while !String::from_utf8_lossy(&said).contains("listening on")
        && stderr.read(&mut byte).unwrap() == 1
    {
        said.push(byte[0]);
    }
    for text in ["one", "two", "three"] {
        server
            .send_to(text.as_bytes(), ("127.0.0.1", port))
            .unwrap();
    }
    // Without --immediate-mode tcpdump would lose these: libpcap's ring
    // hands a block over after up to a second, and SIGINT does not wait for
    // it (the very trap Capture::stop avoids).
    thread::sleep(std::time::Duration::from_millis(200));
    // SIGINT: tcpdump flushes and closes the file.
    unsafe { libc::kill(tcpdump.id() as libc::pid_t, libc::SIGINT) };
    tcpdump.wait().unwrap();

    let file = pcap::read_pcap(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(file.link_type, LinkType::Ethernet);
    let payloads: Vec<&[u8]> = file.frames.iter().map(|f| &f.data[42..]).collect();
    assert_eq!(
        payloads,
        [&b"one"[..], b"two", b"three"],
        "each datagram once, whole"
    );
    assert!(file.frames.windows(2).all(|w| w[0].t_us <= w[1].t_us));
}

/// The same frames converted by editcap (Wireshark's converter) to pcapng
/// and to nanosecond pcap read back the same as our own file.
#[test]
fn pcapng_and_nanosecond_files_read_the_same() {
    if Command::new("editcap").arg("-h").output().is_err() {
        return skip("editcap not installed (apt-get install -y tshark)");
    }
    let dir = std::env::temp_dir().join(format!("socket-lab-editcap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ours = dir.join("ours.pcap");
    let mut writer = PcapWriter::create(&ours, &Clock::start()).unwrap();
    for f in udp_frames() {
        writer.write(&f).unwrap();
    }
    writer.finish().unwrap();
    let expected = pcap::read_pcap(&ours).unwrap();
    for format in ["pcapng", "nsecpcap"] {
        let converted = dir.join(format!("converted.{format}"));
        let status = Command::new("editcap")
            .args(["-F", format])
            .arg(&ours)
            .arg(&converted)
            .status()
            .unwrap();
        assert!(status.success());
        let back = pcap::read_pcap(&converted).unwrap();
        assert_eq!(back, expected, "{format}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_file_cut_short_shows_the_frames_before_the_cut_and_says_so() {
    // `lab inspect` of a pcap whose last record was cut off (a capture
    // killed mid-write) once showed nothing at all; tshark shows the frames
    // before the cut and warns.
    let dir = std::env::temp_dir().join(format!("socket-lab-pcap-cut-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let whole = dir.join("whole.pcap");
    let clock = Clock::start();
    let mut writer = PcapWriter::create(&whole, &clock).unwrap();
    for f in &udp_frames() {
        writer.write(f).unwrap();
    }
    writer.finish().unwrap();
    let bytes = std::fs::read(&whole).unwrap();
    let cut = dir.join("cut.pcap");
    // The last frame is 442 bytes: cut 100 of them off.
    std::fs::write(&cut, &bytes[..bytes.len() - 100]).unwrap();

    let back = pcap::read_pcap(&cut).expect("a cut file still reads");
    assert_eq!(back.frames.len(), 4, "the four frames before the cut");
    let why = back.cut_short.expect("the cut is reported");
    assert!(
        why.contains("cut short") && why.contains("frame 5"),
        "{why}"
    );
    assert!(pcap::read_pcap(&whole).unwrap().cut_short.is_none());

    let out = Command::new(env!("CARGO_BIN_EXE_lab"))
        .args(["inspect", "--color", "never"])
        .arg(&cut)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stdout.contains("#4 "), "frames shown: {stdout}");
    assert!(!stdout.contains("#5 "), "{stdout}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("lab: ") && stderr.contains("cut short"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
