//! Fuzz target: the pcap and pcapng reader behind `lab inspect FILE`
//! (`socket_lab::pcap::read_pcap_bytes`), on files from anywhere.
//!
//! The input is the file. It reads, or gives one line of error naming the
//! file; a file cut short keeps the frames before the cut. Every frame
//! read starts with the Ethernet header the decoder expects, and then goes
//! through the decoder and the flow tracker, as in `lab inspect`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use socket_lab::correlate::Flows;
use socket_lab::pcap::read_pcap_bytes;
use socket_lab::trace::Packet;

fuzz_target!(|data: &[u8]| {
    let file = match read_pcap_bytes("fuzz.pcap", data) {
        Ok(file) => file,
        Err(e) => {
            assert!(!e.to_string().contains('\n'), "{e}");
            return;
        }
    };
    let mut flows = Flows::default();
    for frame in file.frames {
        let mut packet = Packet::decode(frame.t_us, frame.data, frame.orig_len);
        packet.info = flows.observe(&packet);
    }
});
