//! Writing captures as pcapng files whose packets carry the message map.
//!
//! A classic pcap file (see [`crate::pcap`]) holds frames and nothing
//! else. pcapng is made of typed blocks, and most blocks take options,
//! among them comments that Wireshark shows under each packet
//! ("Packet comments") and tshark prints as the field `frame.comment`:
//!
//! - a **Section Header Block** opens the file; its `shb_comment` says
//!   which lab (or command) made the capture and who its actors are, and
//!   `shb_userappl` names the program that wrote it (`socket-lab 0.1.0`);
//! - an **Interface Description Block** describes `lo`: its name
//!   (`if_name`), what was watched (`if_description`), the link type
//!   (Ethernet, as `lo` frames are), and the unit of the timestamps
//!   (`if_tsresol`: nanoseconds);
//! - an **Enhanced Packet Block** per frame, with one `opt_comment` per
//!   [`Note`]: `client send #2 [5, 9) "feng"` (see [`crate::annotate`]).
//!
//! So a learner who opens the file in Wireshark sees, on every packet, the
//! call whose bytes it carries, in the names the lab's timeline uses, and
//! `tshark -r F -T fields -e frame.number -e frame.comment` lists them.
//!
//! As for pcap, the file is written under a hidden temporary name next to
//! the target and renamed into place by [`PcapngWriter::finish`]: a run
//! that fails leaves nothing behind.

use std::borrow::Cow;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pcap_file::pcapng::PcapNgWriter;
use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::blocks::section_header::{SectionHeaderBlock, SectionHeaderOption};
use pcap_file::{DataLink, Endianness};

use crate::annotate::Note;
use crate::catalog::Lab;
use crate::clock::Clock;
use crate::expr::Scope;
use crate::partial::Partial;
use crate::pcap::{PcapError, SNAPLEN};
use crate::trace::Packet;

/// An option's length field has 16 bits: longer text is cut (on a
/// character boundary) to fit.
const OPTION_MAX: usize = 65_000;

/// What the file says about itself, before any packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The section's comment: a line naming the lab or command, one naming
    /// its actors, and any more lines worth keeping with the capture.
    pub comment: Vec<String>,
    /// The interface's description: what was captured on `lo`.
    pub interface: String,
}

impl Section {
    /// The section comment as one text, a line each.
    pub fn text(&self) -> String {
        self.comment.join("\n")
    }
}

/// The program that writes the file, as `shb_userappl` names it.
pub fn user_application() -> String {
    format!("socket-lab {}", env!("CARGO_PKG_VERSION"))
}

/// Streams frames with their notes into a pcapng file, written under a
/// temporary name until [`PcapngWriter::finish`].
pub struct PcapngWriter {
    inner: Option<PcapNgWriter<BufWriter<File>>>,
    path: PathBuf,
    /// The file under its hidden name until `finish` (see
    /// [`crate::partial`]); dropped unfinished, it is removed.
    file: Partial,
    /// Wall-clock time (since the Unix epoch) of the run clock's zero.
    zero: Duration,
    frames: u64,
}

impl PcapngWriter {
    /// Starts a pcapng file in which `t_us = 0` is the wall time `zero`,
    /// opening with `section` and the interface `lo`.
    pub fn create(
        path: impl AsRef<Path>,
        zero: SystemTime,
        section: &Section,
    ) -> Result<PcapngWriter, PcapError> {
        let path = path.as_ref().to_path_buf();
        let (partial, file) = Partial::create(&path).map_err(|e| PcapError::new(&path, e))?;
        let mut writer = PcapngWriter {
            inner: None,
            path,
            file: partial,
            zero: zero.duration_since(UNIX_EPOCH).unwrap_or_default(),
            frames: 0,
        };
        // From here on an error drops `writer`, which removes the file.
        let shb = SectionHeaderBlock {
            endianness: Endianness::native(),
            major_version: 1,
            minor_version: 0,
            // -1: the section's length is not known in advance.
            section_length: -1,
            options: vec![
                SectionHeaderOption::Comment(fit(section.text())),
                SectionHeaderOption::UserApplication(fit(user_application())),
            ],
        };
        let mut inner =
            PcapNgWriter::with_section_header(BufWriter::with_capacity(1 << 16, file), shb)
                .map_err(|e| PcapError::writing(&writer.path, e))?;
        let idb = InterfaceDescriptionBlock {
            linktype: DataLink::ETHERNET,
            snaplen: SNAPLEN,
            options: vec![
                InterfaceDescriptionOption::IfName(Cow::Borrowed("lo")),
                InterfaceDescriptionOption::IfDescription(fit(section.interface.clone())),
                // 10^-9 s per unit. The crate writes a packet's timestamp
                // as its Duration in nanoseconds: with this resolution,
                // that count is the right one.
                InterfaceDescriptionOption::IfTsResol(9),
            ],
        };
        inner
            .write_pcapng_block(idb)
            .map_err(|e| PcapError::writing(&writer.path, e))?;
        writer.inner = Some(inner);
        Ok(writer)
    }

    /// Appends one frame: `t_us` on the run's clock, the bytes as
    /// captured, the frame's length on the wire, and its notes (one
    /// comment each; none is fine).
    pub fn write(
        &mut self,
        t_us: u64,
        data: &[u8],
        orig_len: usize,
        notes: &[Note],
    ) -> Result<(), PcapError> {
        let data = &data[..data.len().min(SNAPLEN as usize)];
        let original_len = u32::try_from(orig_len.max(data.len())).unwrap_or(u32::MAX);
        let block = EnhancedPacketBlock {
            interface_id: 0,
            timestamp: self.zero + Duration::from_micros(t_us),
            original_len,
            data: Cow::Borrowed(data),
            options: notes
                .iter()
                .map(|n| EnhancedPacketOption::Comment(fit(n.to_string())))
                .collect(),
        };
        let inner = self.inner.as_mut().expect("open until finish");
        inner
            .write_pcapng_block(block)
            .map_err(|e| PcapError::writing(&self.path, e))?;
        self.frames += 1;
        Ok(())
    }

    /// Flushes the file and moves it into place. Returns the frame count.
    pub fn finish(mut self) -> Result<u64, PcapError> {
        let inner = self.inner.take().expect("open until finish");
        let file = inner
            .into_inner()
            .into_inner()
            .map_err(|e| PcapError::new(&self.path, format!("cannot write: {}", e.error())))?;
        drop(file);
        self.file
            .commit()
            .map_err(|e| PcapError::new(&self.path, e))?;
        Ok(self.frames)
    }
}

/// The wall time of `clock`'s zero: "now minus the clock's reading now",
/// taken once, so that a file's gaps are the clock's.
pub fn wall_time_of_zero(clock: &Clock) -> SystemTime {
    SystemTime::now() - Duration::from_micros(clock.now_us())
}

/// Writes a whole pcapng file at once: `packets` in order, each with its
/// `notes` (same index; see [`crate::annotate::of_run`]). For a run or a
/// trace, whose notes are known only when it is over and whose packets
/// are kept until then anyway, for the message map. Returns the number of
/// packets written.
pub fn write_file(
    path: &Path,
    zero: SystemTime,
    section: &Section,
    packets: &[Packet],
    notes: &[Vec<Note>],
) -> Result<u64, PcapError> {
    let mut w = PcapngWriter::create(path, zero, section)?;
    for (j, p) in packets.iter().enumerate() {
        let mine = notes.get(j).map_or(&[][..], Vec::as_slice);
        w.write(p.t_us, &p.raw, p.orig_len, mine)?;
    }
    w.finish()
}

/// The section of a lab's run: its id and title, its actors and knobs,
/// and where on `lo` the packets were captured.
pub fn lab_section(lab: &Lab, knobs: &Scope, isolated: bool) -> Section {
    let actors: Vec<&str> = lab.def.actors.iter().map(|a| a.name.as_str()).collect();
    let knobs: Vec<String> = knobs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut comment = vec![
        format!("lab {}: {}", lab.id(), lab.def.title),
        format!("actors: {}", actors.join(", ")),
    ];
    if !knobs.is_empty() {
        comment.push(format!("knobs: {}", knobs.join(", ")));
    }
    comment.push(NOTES_SAY.to_string());
    Section {
        comment,
        interface: match isolated {
            true => "loopback in the lab's own network namespace: every packet on it is the lab's"
                .into(),
            false => "loopback of the host: the packets of the lab's ports".into(),
        },
    }
}

/// The section of `lab capture`: the ports watched, and what the
/// packets' comments say.
pub fn capture_section(ports: &[u16]) -> Section {
    let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
    Section {
        comment: vec![
            format!("lab capture --port {}", ports.join(" --port ")),
            "actors: unknown (no calls are seen; `lab trace` sees them)".into(),
            "Each packet that carries data has a comment naming its conversation \
             (numbered as Wireshark's tcp.stream / udp.stream), its direction and its \
             bytes: [start, end) of the byte stream for TCP, the datagram's size for UDP."
                .into(),
        ],
        interface: format!(
            "loopback of the host: the packets of ports {}",
            ports.join(", ")
        ),
    }
}

/// The section of `lab trace`: the command traced (or its pid) and the
/// processes and threads seen making calls (its actors).
pub fn trace_section(command: &[String], pid: i32, actors: &[&str]) -> Section {
    let what = match command.is_empty() {
        true => format!("lab trace --pid {pid}"),
        false => format!("lab trace -- {}", command.join(" ")),
    };
    Section {
        comment: vec![
            what,
            format!("actors: {}", actors.join(", ")),
            NOTES_SAY.to_string(),
        ],
        interface: "loopback of the host: the packets of the ports the program's sockets used"
            .into(),
    }
}

/// The last line of a run's section comment: what the packets' comments
/// are.
pub const NOTES_SAY: &str = "Each packet's comment names the call whose bytes it carries \
     (actor, call and its number, stream bytes [start, end)) or the call that sent it \
     (SYN: connect, FIN: close), as lab's message map does.";

/// `text`, cut to fit an option's 16-bit length.
fn fit(mut text: String) -> Cow<'static, str> {
    if text.len() > OPTION_MAX {
        let mut end = OPTION_MAX;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    Cow::Owned(text)
}

/// Reads the comments back from a pcapng file's bytes: the section's, and
/// each packet's, in file order (frames numbered from 0 as they come,
/// counting every packet block). A classic pcap file has none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comments {
    /// The section header's comments (one per section, in order).
    pub section: Vec<String>,
    /// For each packet, in file order: its comments.
    pub packets: Vec<Vec<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::annotate::Note;
    use std::fs;

    #[test]
    fn a_written_file_reads_back_with_its_comments_and_times() {
        let dir = std::env::temp_dir().join(format!("pcapng-unit-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.pcapng");
        let section = Section {
            comment: vec![
                "lab 09-sticky-packet".into(),
                "actors: client, server".into(),
            ],
            interface: "loopback".into(),
        };
        let zero = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let mut w = PcapngWriter::create(&path, zero, &section).unwrap();
        // An Ethernet header and the start of an IPv4 header.
        let frame = [&[0u8; 12][..], &[0x08, 0x00], &[0x45, 0, 0, 20], &[0; 16]].concat();
        let note = Note::UnseenClose;
        w.write(1_500, &frame, frame.len(), std::slice::from_ref(&note))
            .unwrap();
        w.write(2_500, &frame, frame.len(), &[]).unwrap();
        assert!(!path.exists(), "nothing in place before finish");
        assert_eq!(w.finish().unwrap(), 2);

        let bytes = fs::read(&path).unwrap();
        let file = crate::pcap::read_pcap_bytes(&path, &bytes).unwrap();
        assert_eq!(file.frames.len(), 2);
        assert_eq!(file.frames[1].t_us - file.frames[0].t_us, 1_000);
        assert_eq!(
            file.start,
            zero + Duration::from_micros(1_500),
            "nanosecond units read back as the wall time written"
        );
        assert_eq!(file.comments.packets, vec![vec![note.to_string()], vec![]]);
        assert_eq!(
            file.comments.section,
            vec!["lab 09-sticky-packet\nactors: client, server".to_string()]
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_writer_dropped_unfinished_leaves_nothing() {
        let dir = std::env::temp_dir().join(format!("pcapng-drop-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let section = Section {
            comment: vec![],
            interface: String::new(),
        };
        let w = PcapngWriter::create(dir.join("x.pcapng"), SystemTime::now(), &section).unwrap();
        drop(w);
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn text_too_long_for_an_option_is_cut_on_a_character() {
        let long = "é".repeat(40_000); // 80,000 bytes
        let cut = fit(long);
        assert!(cut.len() <= OPTION_MAX);
        assert!(cut.chars().all(|c| c == 'é'));
    }
}
