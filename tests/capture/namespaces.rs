//! Network namespaces: one per lab, invisible to the host and each other.

use std::net::{TcpListener, TcpStream, UdpSocket};
use std::sync::{Arc, Barrier, mpsc};
use std::thread;

use socket_lab::capture::{Capture, CaptureStats, CapturedFrame, Filter};
use socket_lab::clock::Clock;
use socket_lab::netns;

use super::{can_capture, skip};

/// The identity of the calling thread's network namespace.
fn namespace() -> std::path::PathBuf {
    std::fs::read_link("/proc/thread-self/ns/net").unwrap()
}

/// Two labs, each on a thread in its own namespace, bind the same address
/// at the same time; threads they spawn share their namespace; the host
/// sees none of it. A capture opened inside sees only the lab's traffic,
/// without a filter, and a lowered MTU fragments a datagram.
#[test]
fn labs_in_private_namespaces_do_not_meet() {
    if !netns::can_unshare() {
        skip("cannot create network namespaces (needs CAP_SYS_ADMIN)");
        return;
    }
    let capture_too = can_capture();
    let host = namespace();
    let host_mtu = netns::lo_mtu().unwrap();
    let both_bound = Arc::new(Barrier::new(2));
    let labs: Vec<_> = (0..2)
        .map(|_| {
            let both_bound = Arc::clone(&both_bound);
            thread::spawn(move || {
                netns::enter_private_netns().unwrap();
                let ours = namespace();
                let listener =
                    TcpListener::bind("127.0.0.1:7000").expect("7000 is free in a new namespace");
                both_bound.wait();
                // A thread spawned from here starts in the same namespace,
                // where 7000 is taken.
                let (child_ns, rebind) =
                    thread::spawn(|| (namespace(), TcpListener::bind("127.0.0.1:7000").map(drop)))
                        .join()
                        .unwrap();
                assert_eq!(child_ns, ours);
                assert_eq!(rebind.unwrap_err().kind(), std::io::ErrorKind::AddrInUse);
                // `lo` is up: a connection to ourselves works.
                TcpStream::connect("127.0.0.1:7000").unwrap();
                drop(listener);

                netns::set_lo_mtu(1500).unwrap();
                assert_eq!(netns::lo_mtu().unwrap(), 1500);
                if capture_too {
                    let (frames, stats) = fragment_in_namespace();
                    assert_eq!(stats.dropped, 0);
                    // 3000 B of UDP payload + 8 B header over 1480-byte
                    // fragments: 1480 + 1480 + 48, and nothing else.
                    let sizes: Vec<usize> = frames.iter().map(|f| f.data.len() - 14 - 20).collect();
                    assert_eq!(sizes, [1480, 1480, 48]);
                }
                ours
            })
        })
        .collect();
    let spaces: Vec<_> = labs.into_iter().map(|lab| lab.join().unwrap()).collect();
    assert_ne!(spaces[0], spaces[1]);
    assert!(!spaces.contains(&host));
    assert_eq!(namespace(), host, "the test thread never moved");
    assert_eq!(
        netns::lo_mtu().unwrap(),
        host_mtu,
        "the host's lo is untouched"
    );
}

/// Sends one 3000-byte datagram under an unfiltered capture.
fn fragment_in_namespace() -> (Vec<CapturedFrame>, CaptureStats) {
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let clock = Clock::start();
    let (tx, rx) = mpsc::channel::<CapturedFrame>();
    let capture = Capture::start(&Filter::everything(), clock, tx).unwrap();
    server.send_to(&[1u8; 3000], ("127.0.0.1", port)).unwrap();
    let mut buf = [0u8; 4000];
    assert_eq!(server.recv(&mut buf).unwrap(), 3000, "reassembled");
    let stats = capture.stop();
    (rx.try_iter().collect(), stats)
}
