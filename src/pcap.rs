//! Writing captures as pcap files, and reading pcap or pcapng files back.
//!
//! A pcap file opens in Wireshark, tcpdump (`tcpdump -r`) and tshark, so a
//! learner can check what the lab showed with the tools they will use
//! later. The format work is done by the `pcap-file` crate; this module
//! decides the parts that are ours:
//!
//! - **Time.** Frames carry microseconds of the lab's monotonic
//!   [`Clock`]; a pcap file wants wall-clock time. The writer takes the wall
//!   time of the clock's zero once, when it is created, and writes each frame
//!   at "that moment + `t_us`", so Wireshark shows real dates and exactly
//!   the gaps the lab saw.
//! - **Memory.** [`PcapWriter`] writes frames as they come, through a
//!   buffer; a long capture never sits in memory.
//! - **No half files.** It writes to a hidden temporary file next to the
//!   target and renames it into place in [`PcapWriter::finish`]; a run that
//!   fails (or a writer dropped without `finish`) leaves nothing behind.
//! - **Other tools' files.** [`read_pcap`] reads classic pcap (what
//!   `tcpdump -w` writes) and pcapng (what tshark and Wireshark write). On
//!   `lo` frames have an Ethernet header; files captured elsewhere may have
//!   none (`LINKTYPE_RAW`) or Linux's "cooked" header (`tcpdump -i any`:
//!   `LINUX_SLL`, `LINUX_SLL2`). The reader gives every frame the same
//!   14-byte Ethernet header our own capture has, so one decoder reads all.

use std::fs::{self, File};
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapParser};
use pcap_file::pcapng::blocks::{
    enhanced_packet::EnhancedPacketOption, interface_description::InterfaceDescriptionOption,
    section_header::SectionHeaderOption,
};
use pcap_file::pcapng::{Block, PcapNgParser};
use pcap_file::{DataLink, Endianness, TsResolution};

use crate::capture::CapturedFrame;
use crate::clock::Clock;
use crate::pcapng::Comments;

/// The snapshot length written in the file header: larger than any frame.
pub const SNAPLEN: u32 = 262_144;

/// A pcap problem, as one line that names the file.
#[derive(Debug, thiserror::Error)]
#[error("{}: {reason}", path.display())]
pub struct PcapError {
    /// The file concerned.
    pub path: PathBuf,
    /// What went wrong with it.
    pub reason: String,
}

impl PcapError {
    pub(crate) fn new(path: &Path, reason: impl std::fmt::Display) -> PcapError {
        PcapError {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        }
    }

    /// A failed write, with the system's reason (`No space left on
    /// device`), which the pcap library's own message leaves out.
    pub(crate) fn writing(path: &Path, e: pcap_file::PcapError) -> PcapError {
        match e {
            pcap_file::PcapError::IoError(io) => {
                PcapError::new(path, format!("cannot write: {io}"))
            }
            other => PcapError::new(path, other),
        }
    }
}

/// Streams frames into a classic pcap file (`LINKTYPE_ETHERNET`,
/// microsecond timestamps), written under a temporary name until
/// [`PcapWriter::finish`].
pub struct PcapWriter {
    inner: Option<pcap_file::pcap::PcapWriter<BufWriter<File>>>,
    path: PathBuf,
    partial: PathBuf,
    /// Wall-clock time (since the Unix epoch) of the lab clock's zero.
    zero: Duration,
    frames: u64,
}

impl PcapWriter {
    /// Starts a pcap file for frames stamped by `clock`.
    pub fn create(path: impl AsRef<Path>, clock: &Clock) -> Result<PcapWriter, PcapError> {
        PcapWriter::create_at(path, crate::pcapng::wall_time_of_zero(clock))
    }

    /// Checks, before anything runs, that a pcap file could be written at
    /// `path`: it is not a folder, and its folder exists and takes a new
    /// file. Leaves nothing behind.
    pub fn preflight(path: impl AsRef<Path>) -> Result<(), PcapError> {
        let path = path.as_ref();
        if path.is_dir() {
            return Err(PcapError::new(
                path,
                "is a folder: give the name of a file to write, e.g. run.pcap",
            ));
        }
        let name = path
            .file_name()
            .ok_or_else(|| PcapError::new(path, "not a file name"))?;
        let probe = path.with_file_name(format!(
            ".{}.{}.preflight",
            name.to_string_lossy(),
            std::process::id()
        ));
        File::create(&probe).map_err(|e| PcapError::new(path, e))?;
        let _ = std::fs::remove_file(&probe);
        Ok(())
    }

    /// Starts a pcap file in which `t_us = 0` is the wall time `zero`.
    pub fn create_at(path: impl AsRef<Path>, zero: SystemTime) -> Result<PcapWriter, PcapError> {
        let path = path.as_ref().to_path_buf();
        let name = path
            .file_name()
            .ok_or_else(|| PcapError::new(&path, "not a file name"))?;
        let partial = path.with_file_name(format!(
            ".{}.{}.partial",
            name.to_string_lossy(),
            std::process::id()
        ));
        let file = File::create(&partial).map_err(|e| PcapError::new(&path, e))?;
        let header = PcapHeader {
            version_major: 2,
            version_minor: 4,
            ts_correction: 0,
            ts_accuracy: 0,
            snaplen: SNAPLEN,
            datalink: DataLink::ETHERNET,
            ts_resolution: TsResolution::MicroSecond,
            endianness: Endianness::native(),
        };
        let inner = pcap_file::pcap::PcapWriter::with_header(
            BufWriter::with_capacity(1 << 16, file),
            header,
        );
        let mut writer = PcapWriter {
            inner: None,
            path,
            partial,
            zero: zero.duration_since(UNIX_EPOCH).unwrap_or_default(),
            frames: 0,
        };
        // On error `writer` is dropped here, which removes the partial file.
        writer.inner = Some(inner.map_err(|e| PcapError::writing(&writer.path, e))?);
        Ok(writer)
    }

    /// Appends one frame.
    pub fn write(&mut self, frame: &CapturedFrame) -> Result<(), PcapError> {
        self.write_bytes(frame.t_us, &frame.data, frame.orig_len)
    }

    /// Writes one frame from its parts: `t_us` on the run's clock, the
    /// bytes as captured, and the frame's length on the wire.
    pub fn write_bytes(
        &mut self,
        t_us: u64,
        data: &[u8],
        orig_len: usize,
    ) -> Result<(), PcapError> {
        let data = &data[..data.len().min(SNAPLEN as usize)];
        let orig_len = u32::try_from(orig_len.max(data.len())).unwrap_or(u32::MAX);
        let packet = PcapPacket::new(self.zero + Duration::from_micros(t_us), orig_len, data);
        let inner = self.inner.as_mut().expect("open until finish");
        inner
            .write_packet(&packet)
            .map_err(|e| PcapError::writing(&self.path, e))?;
        self.frames += 1;
        Ok(())
    }

    /// Flushes the file and moves it into place. Returns the frame count.
    pub fn finish(mut self) -> Result<u64, PcapError> {
        let inner = self.inner.take().expect("open until finish");
        let file = inner
            .into_writer()
            .into_inner()
            .map_err(|e| PcapError::new(&self.path, format!("cannot write: {}", e.error())))?;
        drop(file);
        fs::rename(&self.partial, &self.path).map_err(|e| PcapError::new(&self.path, e))?;
        Ok(self.frames)
    }
}

impl Drop for PcapWriter {
    fn drop(&mut self) {
        // Not finished (an error, a panic, an early return): remove the
        // partial file. After `finish` it has been renamed and is gone.
        let _ = fs::remove_file(&self.partial);
    }
}

/// The link layer of a file: what header each frame in it starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkType {
    /// `LINKTYPE_ETHERNET` (1): an Ethernet header, as on `lo`.
    Ethernet,
    /// `LINKTYPE_RAW` (101, or 12 in old files): the IP header comes first.
    Raw,
    /// `LINKTYPE_LINUX_SLL` (113): Linux "cooked" header, 16 bytes.
    LinuxSll,
    /// `LINKTYPE_LINUX_SLL2` (276): Linux "cooked" header v2, 20 bytes.
    LinuxSll2,
}

impl LinkType {
    fn from_code(code: u32) -> Option<LinkType> {
        match code {
            1 => Some(LinkType::Ethernet),
            12 | 101 => Some(LinkType::Raw),
            113 => Some(LinkType::LinuxSll),
            276 => Some(LinkType::LinuxSll2),
            _ => None,
        }
    }

    /// Rewrites a frame of this link type into an Ethernet frame like those
    /// captured on `lo`: zero addresses, then the EtherType, then the
    /// packet. `orig_len` is adjusted by the change in header size.
    fn to_ethernet(self, data: &[u8], orig_len: usize) -> Option<(Vec<u8>, usize)> {
        let (header_len, ether_type) = match self {
            LinkType::Ethernet => return Some((data.to_vec(), orig_len)),
            // No link header: the IP version nibble says which IP it is.
            LinkType::Raw => match data.first()? >> 4 {
                4 => (0, 0x0800),
                6 => (0, 0x86dd),
                _ => return None,
            },
            // The protocol field holds the EtherType.
            LinkType::LinuxSll => (16, u16::from_be_bytes([*data.get(14)?, *data.get(15)?])),
            LinkType::LinuxSll2 => (20, u16::from_be_bytes([*data.first()?, *data.get(1)?])),
        };
        let packet = data.get(header_len..)?;
        let mut frame = Vec::with_capacity(14 + packet.len());
        frame.extend_from_slice(&[0; 12]);
        frame.extend_from_slice(&ether_type.to_be_bytes());
        frame.extend_from_slice(packet);
        Some((frame, (orig_len + 14).saturating_sub(header_len)))
    }
}

/// The frames of a pcap or pcapng file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcapFile {
    /// The file's link type (of its first interface, for pcapng).
    pub link_type: LinkType,
    /// Wall time of the first frame; each frame's `t_us` counts from it.
    pub start: SystemTime,
    /// The frames, in file order, each rewritten to start with an Ethernet
    /// header (see [`LinkType`]).
    pub frames: Vec<CapturedFrame>,
    /// Set when the file ends in the middle of a record: what was wrong.
    /// The frames before the cut are in `frames`.
    pub cut_short: Option<String>,
    /// The comments a pcapng file holds (none in classic pcap): what
    /// `lab ... --pcapng` wrote on each packet (see [`crate::pcapng`]).
    pub comments: Comments,
}

/// Reads a classic pcap or a pcapng file.
///
/// The whole file is read into memory first (its frames end up there
/// anyway), then parsed by [`read_pcap_bytes`].
pub fn read_pcap(path: impl AsRef<Path>) -> Result<PcapFile, PcapError> {
    let path = path.as_ref();
    let bytes = fs::read(path).map_err(|e| PcapError::new(path, e))?;
    read_pcap_bytes(path, &bytes)
}

/// Reads a classic pcap or a pcapng file from its bytes; `path` only names
/// it in messages.
///
/// The bytes may come from anywhere, so nothing in them is trusted: a
/// record that claims more bytes than the file holds is a file cut short,
/// and no length field makes this function allocate more than the file's
/// own size.
pub fn read_pcap_bytes(path: impl AsRef<Path>, bytes: &[u8]) -> Result<PcapFile, PcapError> {
    let path = path.as_ref();
    let fail = |reason: &dyn std::fmt::Display| PcapError::new(path, reason);
    if bytes.len() < 4 {
        return Err(fail(&"too short to be a pcap file"));
    }
    let pcapng = bytes[..4] == [0x0a, 0x0d, 0x0d, 0x0a];
    let mut raw = Vec::new();
    let mut cut = None;
    let mut comments = Comments::default();
    let link_type = if pcapng {
        read_pcapng(bytes, &mut raw, &mut comments, &mut cut).map_err(|e| fail(&e))?
    } else {
        read_classic(bytes, &mut raw, &mut cut).map_err(|e| fail(&e))?
    };
    let link_type =
        link_type.ok_or_else(|| fail(&"no interface description before the first packet"))?;

    let start = raw.first().map_or(Duration::ZERO, |r| r.wall);
    let mut frames = Vec::with_capacity(raw.len());
    for (n, r) in raw.into_iter().enumerate() {
        let (data, orig_len) = r.link.to_ethernet(&r.data, r.orig_len).ok_or_else(|| {
            fail(&format!(
                "frame {}: too short for its {:?} header",
                n + 1,
                r.link
            ))
        })?;
        let t_us = r.wall.saturating_sub(start).as_micros() as u64;
        frames.push(CapturedFrame {
            t_us,
            data,
            orig_len,
        });
    }
    Ok(PcapFile {
        link_type,
        // Past what the system's clock can name (an `if_tsoffset` near
        // 2^64 s), the start reads as the epoch rather than panicking.
        start: UNIX_EPOCH.checked_add(start).unwrap_or(UNIX_EPOCH),
        frames,
        comments,
        cut_short: cut.map(|why| {
            format!(
                "{}: the file is cut short ({why}); the frames before the cut are shown",
                path.display()
            )
        }),
    })
}

/// A frame as stored, before it is rewritten to Ethernet.
struct RawFrame {
    link: LinkType,
    wall: Duration,
    data: Vec<u8>,
    orig_len: usize,
}

/// A record that could not be read, in words: "need more bytes" says
/// little about a file.
fn record_error(e: &pcap_file::PcapError) -> String {
    match e {
        pcap_file::PcapError::IncompleteBuffer => "it runs past the end of the file".into(),
        other => other.to_string(),
    }
}

fn unsupported(code: u32) -> String {
    format!("link type {code} is not supported (Ethernet, RAW, LINUX_SLL and LINUX_SLL2 are)")
}

/// Classic pcap: one header, then (timestamp, lengths, bytes) records.
fn read_classic(
    bytes: &[u8],
    out: &mut Vec<RawFrame>,
    cut: &mut Option<String>,
) -> Result<Option<LinkType>, String> {
    let (mut rest, parser) =
        PcapParser::new(bytes).map_err(|_| "not a pcap or pcapng file".to_string())?;
    let header = parser.header();
    let code = u32::from(header.datalink);
    let link = LinkType::from_code(code).ok_or_else(|| unsupported(code))?;
    // Raw records: the crate's checked packets reject orig_len > snaplen,
    // which is exactly what a capture with a small snaplen (-s 96) holds.
    while !rest.is_empty() {
        let p = match parser.next_raw_packet(rest) {
            Ok((after, p)) => {
                rest = after;
                p
            }
            Err(e) => {
                // A file cut short (a capture killed mid-write, a partial
                // download): keep the frames before the cut, as tshark does.
                *cut = Some(format!("frame {}: {}", out.len() + 1, record_error(&e)));
                break;
            }
        };
        let frac_ns = match header.ts_resolution {
            TsResolution::MicroSecond => u64::from(p.ts_frac) * 1000,
            TsResolution::NanoSecond => u64::from(p.ts_frac),
        };
        out.push(RawFrame {
            link,
            wall: Duration::from_secs(u64::from(p.ts_sec)) + Duration::from_nanos(frac_ns),
            data: p.data.into_owned(),
            orig_len: p.orig_len as usize,
        });
    }
    Ok(Some(link))
}

/// pcapng: blocks; packets refer to an interface block that gives their
/// link type and the unit of their timestamps.
fn read_pcapng(
    bytes: &[u8],
    out: &mut Vec<RawFrame>,
    comments: &mut Comments,
    cut: &mut Option<String>,
) -> Result<Option<LinkType>, String> {
    let (mut rest, mut parser) =
        PcapNgParser::new(bytes).map_err(|e| format!("not a pcapng file: {e}"))?;
    // The parser reads the first section header itself.
    section_comments(&parser.section().options, comments);
    let mut first_link = None;
    // Per interface: link type, nanoseconds per timestamp unit as a ratio
    // (numerator, denominator), offset in seconds.
    let mut interfaces: Vec<(LinkType, (u128, u128), u64)> = Vec::new();
    while !rest.is_empty() {
        let block = match parser.next_block(rest) {
            Ok((after, b)) => {
                rest = after;
                b
            }
            Err(e) => {
                *cut = Some(format!(
                    "the block after frame {}: {}",
                    out.len(),
                    record_error(&e)
                ));
                break;
            }
        };
        match block {
            Block::SectionHeader(shb) => {
                interfaces.clear();
                section_comments(&shb.options, comments);
            }
            Block::InterfaceDescription(idb) => {
                let code = u32::from(idb.linktype);
                let link = LinkType::from_code(code).ok_or_else(|| unsupported(code))?;
                let mut unit = (1_000, 1); // default: microseconds
                let mut offset = 0;
                for option in &idb.options {
                    match option {
                        // High bit clear: 10^-n s per unit; set: 2^-n s.
                        // 10^n fits 128 bits up to n = 38; a unit even
                        // smaller makes every stamp read as 0.
                        InterfaceDescriptionOption::IfTsResol(r) if r & 0x80 == 0 => {
                            let den = 10u128.checked_pow(u32::from(*r)).unwrap_or(u128::MAX);
                            unit = (1_000_000_000, den);
                        }
                        InterfaceDescriptionOption::IfTsResol(r) => {
                            unit = (1_000_000_000, 1u128 << (r & 0x7f).min(100));
                        }
                        InterfaceDescriptionOption::IfTsOffset(s) => offset = *s,
                        _ => {}
                    }
                }
                first_link.get_or_insert(link);
                interfaces.push((link, unit, offset));
            }
            Block::EnhancedPacket(epb) => {
                let &(link, (num, den), offset) =
                    interfaces.get(epb.interface_id as usize).ok_or_else(|| {
                        format!(
                            "frame {}: unknown interface {}",
                            out.len() + 1,
                            epb.interface_id
                        )
                    })?;
                // The crate reads the 64-bit timestamp as nanoseconds; it
                // is really a count of the interface's units.
                let units = epb.timestamp.as_nanos();
                let ns = (units * num / den).min(u64::MAX as u128) as u64;
                comments.packets.push(
                    epb.options
                        .iter()
                        .filter_map(|o| match o {
                            EnhancedPacketOption::Comment(c) => Some(c.to_string()),
                            _ => None,
                        })
                        .collect(),
                );
                out.push(RawFrame {
                    link,
                    // An offset near 2^64 s would overflow: saturate.
                    wall: Duration::from_secs(offset).saturating_add(Duration::from_nanos(ns)),
                    data: epb.data.into_owned(),
                    orig_len: epb.original_len as usize,
                });
            }
            Block::SimplePacket(spb) => {
                // No timestamp, always interface 0; the block's data runs
                // on into its padding, so cut it at the packet's length.
                let &(link, ..) = interfaces
                    .first()
                    .ok_or_else(|| format!("frame {}: no interface", out.len() + 1))?;
                let len = spb.data.len().min(spb.original_len as usize);
                comments.packets.push(Vec::new());
                out.push(RawFrame {
                    link,
                    wall: Duration::ZERO,
                    data: spb.data[..len].to_vec(),
                    orig_len: spb.original_len as usize,
                });
            }
            _ => {}
        }
    }
    Ok(first_link)
}

/// The comments among a section header's options.
fn section_comments(options: &[SectionHeaderOption], comments: &mut Comments) {
    comments
        .section
        .extend(options.iter().filter_map(|o| match o {
            SectionHeaderOption::Comment(c) => Some(c.to_string()),
            _ => None,
        }));
}

#[cfg(test)]
mod tests {
    use super::{LinkType, read_pcap_bytes};

    /// The start of an IPv4 header: version 4, IHL 5.
    const IPV4: [u8; 4] = [0x45, 0, 0, 20];

    #[test]
    fn every_link_type_becomes_the_ethernet_framing_of_lo() {
        let ethernet_v4 = [&[0u8; 12][..], &[0x08, 0x00], &IPV4].concat();

        // LINKTYPE_RAW: no header; the version nibble picks the EtherType.
        assert_eq!(
            LinkType::Raw.to_ethernet(&IPV4, 20),
            Some((ethernet_v4.clone(), 34))
        );
        let v6 = [0x60, 0, 0, 0];
        let (frame, _) = LinkType::Raw.to_ethernet(&v6, 40).unwrap();
        assert_eq!(frame[12..14], [0x86, 0xdd]);

        // LINUX_SLL: 16 bytes, EtherType in the last two.
        let mut sll = vec![0u8; 14];
        sll.extend_from_slice(&[0x08, 0x00]);
        sll.extend_from_slice(&IPV4);
        assert_eq!(
            LinkType::LinuxSll.to_ethernet(&sll, 36),
            Some((ethernet_v4.clone(), 34))
        );

        // LINUX_SLL2: 20 bytes, EtherType in the first two.
        let mut sll2 = vec![0x08, 0x00];
        sll2.extend_from_slice(&[0u8; 18]);
        sll2.extend_from_slice(&IPV4);
        assert_eq!(
            LinkType::LinuxSll2.to_ethernet(&sll2, 40),
            Some((ethernet_v4.clone(), 34))
        );

        assert_eq!(
            LinkType::Ethernet.to_ethernet(&ethernet_v4, 34),
            Some((ethernet_v4, 34))
        );
    }

    #[test]
    fn headers_that_do_not_fit_are_refused() {
        assert_eq!(LinkType::LinuxSll.to_ethernet(&[0u8; 15], 15), None);
        assert_eq!(LinkType::LinuxSll2.to_ethernet(&[0u8; 1], 1), None);
        assert_eq!(LinkType::Raw.to_ethernet(&[], 0), None);
        assert_eq!(LinkType::Raw.to_ethernet(&[0x20], 1), None, "IP version 2");
    }

    #[test]
    fn a_record_claiming_more_than_the_file_holds_is_a_cut_not_an_allocation() {
        // A classic pcap header (little-endian, microseconds, Ethernet),
        // then one record that claims 4 GiB - 1 captured bytes.
        let mut file = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
        file.extend_from_slice(&[0; 8]);
        file.extend_from_slice(&262_144u32.to_le_bytes());
        file.extend_from_slice(&1u32.to_le_bytes());
        file.extend_from_slice(&[0; 8]);
        file.extend_from_slice(&u32::MAX.to_le_bytes());
        file.extend_from_slice(&u32::MAX.to_le_bytes());
        file.extend_from_slice(b"a few bytes");
        let read = read_pcap_bytes("claims.pcap", &file).unwrap();
        assert!(read.frames.is_empty());
        let why = read.cut_short.unwrap();
        assert!(
            why.starts_with("claims.pcap: the file is cut short (frame 1: it runs past the end"),
            "{why}"
        );
    }

    /// A little-endian pcapng file: a section, one Ethernet interface with
    /// `options` (already padded, without the end marker), and one packet
    /// stamped `ts` units, carrying a 20-byte IPv4 header.
    fn pcapng(options: &[u8], ts: u64) -> Vec<u8> {
        fn block(kind: u32, body: &[u8]) -> Vec<u8> {
            let len = (12 + body.len()) as u32;
            [
                &kind.to_le_bytes()[..],
                &len.to_le_bytes(),
                body,
                &len.to_le_bytes(),
            ]
            .concat()
        }
        // Byte-order magic, version 1.0, section length unknown (-1).
        let shb = [&0x1a2b_3c4du32.to_le_bytes()[..], &[1, 0, 0, 0], &[0xff; 8]].concat();
        // Link type 1 (Ethernet), reserved, snaplen; options; opt_endofopt.
        let idb = [
            &[1, 0, 0, 0][..],
            &262_144u32.to_le_bytes(),
            options,
            &[0; 4],
        ]
        .concat();
        let frame = [&[0u8; 12][..], &[0x08, 0x00], &IPV4, &[0; 16]].concat();
        let epb = [
            &0u32.to_le_bytes()[..],
            &((ts >> 32) as u32).to_le_bytes(),
            &(ts as u32).to_le_bytes(),
            &(frame.len() as u32).to_le_bytes(),
            &(frame.len() as u32).to_le_bytes(),
            &frame,
            &[0; 2], // padding to 32 bits
        ]
        .concat();
        [block(0x0a0d_0d0a, &shb), block(1, &idb), block(6, &epb)].concat()
    }

    #[test]
    fn absurd_time_units_and_offsets_read_without_panicking() {
        // Regression, found by the `read_pcap` fuzz target: an interface
        // whose if_tsresol (option 9) says 10^-112 s per unit made
        // 10^112 overflow 128 bits. Such a unit now reads every stamp as 0.
        let tsresol = |r: u8| [9, 0, 1, 0, r, 0, 0, 0];
        let file = read_pcap_bytes("resol.pcapng", &pcapng(&tsresol(112), 5_000)).unwrap();
        assert_eq!(file.frames.len(), 1);
        assert_eq!(file.start, std::time::UNIX_EPOCH);
        // Nanoseconds (10^-9) still read as they should.
        let file = read_pcap_bytes("ns.pcapng", &pcapng(&tsresol(9), 5_000_000_000)).unwrap();
        assert_eq!(
            file.start,
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(5)
        );

        // The same code added an if_tsoffset (option 14) of 2^64 - 1 s to
        // the stamp (a Duration overflow), then made it a SystemTime (an
        // overflow of the clock). Both saturate now.
        let offset = [&[14, 0, 8, 0][..], &u64::MAX.to_le_bytes()].concat();
        let file = read_pcap_bytes("offset.pcapng", &pcapng(&offset, u64::MAX)).unwrap();
        assert_eq!(file.frames.len(), 1);
        assert_eq!(file.frames[0].t_us, 0);
    }
}
