//! Reading a pcap or pcapng file one frame at a time.
//!
//! A capture file can be larger than the memory of the machine that reads
//! it: a minute of a fast transfer on `lo` is gigabytes. [`Frames`] reads
//! it the way a program reads messages from a TCP socket (the framing of
//! labs 13 to 15): it keeps a buffer of bytes read from the file but not
//! parsed yet, tries to take one whole record from the front of it, and
//! when the buffer holds only part of a record, reads more of the file and
//! tries again. A record split across two reads is normal; a file that
//! *ends* inside a record was cut short (a capture killed mid-write, a
//! partial download), and the frames before the cut are still good.
//!
//! On disk, the two formats frame their records differently:
//!
//! - **Classic pcap** (`tcpdump -w`): a 24-byte file header (magic number,
//!   which also gives the byte order and whether timestamps count
//!   microseconds or nanoseconds; the snapshot length; the link type),
//!   then one record per frame: a 16-byte header (seconds, fraction,
//!   captured length, length on the wire) and the captured bytes.
//! - **pcapng** (tshark, Wireshark): a list of blocks, each `type, total
//!   length, body, total length again`. A section header block gives the
//!   byte order; an interface description block gives an interface's link
//!   type and timestamp unit; each enhanced packet block names its
//!   interface. Other blocks (statistics, name resolution) are skipped.
//!
//! The `pcap-file` crate parses a record from a slice of bytes, or says it
//! needs more ([`pcap_file::PcapError::IncompleteBuffer`]); this module
//! owns the buffer around it and what the records mean.
//!
//! **Memory.** The buffer starts at [`BUFFER`] bytes (a read from the file
//! fills it) and grows only when one record is larger than the buffer,
//! doubling, up to [`MAX_RECORD`] (16 MiB, the limit libpcap puts on a
//! pcapng block). A length field is never used to allocate: the buffer
//! grows only as bytes really arrive, so a record claiming 4 GiB in a file
//! of a few bytes is a cut, found at the end of the file, and one that
//! does not end within 16 MiB is treated as a cut there. Each frame handed
//! out is one copy of its bytes; nothing else grows with the file, apart
//! from one small entry per pcapng interface (at most
//! [`MAX_INTERFACES`]).

use std::borrow::Cow;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pcap_file::TsResolution;
use pcap_file::pcap::PcapParser;
use pcap_file::pcapng::PcapNgParser;

use super::{LinkType, PcapError};
use crate::capture::CapturedFrame;
use crate::pcapng::Comments;
use buffer::{Buffer, Fill};
use pcapng::{Interface, ng_record, section_comments};

mod buffer;
mod pcapng;

/// The buffer's size to begin with: each read from the file asks for up to
/// this much (a quarter of a MiB: few system calls, little memory).
pub const BUFFER: usize = 256 * 1024;

/// The largest record read: the buffer never grows past it. Classic pcap
/// records hold at most a snapshot length (262,144 bytes for tcpdump and
/// our own files), pcapng blocks a packet and its options; libpcap refuses
/// pcapng blocks over 16 MiB, and so do we.
pub const MAX_RECORD: usize = 16 * 1024 * 1024;

/// Interfaces one pcapng section may describe. Each costs a few hundred
/// bytes (here and in the parser); a real capture has a handful.
pub const MAX_INTERFACES: usize = 65_536;

/// The file's format, and what reading its records needs.
enum Format {
    /// Classic pcap: one link type and one timestamp unit for the file.
    Classic { parser: PcapParser, link: LinkType },
    /// pcapng: each packet names its interface, described earlier.
    Ng {
        parser: Box<PcapNgParser>,
        interfaces: Vec<Interface>,
        /// The first interface's link type: the file's, as far as one
        /// link type names it.
        first_link: Option<LinkType>,
    },
}

/// A file header, parsed.
enum Header {
    Classic(PcapParser),
    Ng(Box<PcapNgParser>),
}

/// One frame as it lies in the buffer, before it is rewritten to Ethernet.
struct Record<'a> {
    link: LinkType,
    /// Wall time, since the Unix epoch.
    wall: Duration,
    data: Cow<'a, [u8]>,
    orig_len: usize,
    /// Its comments (pcapng only).
    comments: Vec<String>,
}

/// One record taken from the front of the buffer.
struct Taken<'a> {
    /// How many bytes it took.
    used: usize,
    /// The frame it holds (pcapng blocks other than packets hold none).
    record: Option<Record<'a>>,
}

/// Why reading stopped before the end of the file.
#[derive(Debug)]
enum Stop {
    /// The file ends, or turns into bytes that are no record, in the middle
    /// of the record that follows the frames read: a cut, not an error
    /// for the frames before it.
    Cut(String),
    /// A record that reads but cannot be shown (an interface never
    /// described, a link type not supported, a frame too short for its
    /// link header), or the file could not be read.
    Failed(String),
}

/// The frames of a pcap or pcapng file, read one at a time (see the
/// module's documentation): an [`Iterator`] of frames, each rewritten to
/// start with an Ethernet header (see [`LinkType`]), with `t_us` counting
/// from the first frame.
///
/// A file cut short ends the iteration after the frames before the cut,
/// and [`Frames::cut_short`] says so. Any other problem is the last item,
/// an `Err` naming the file.
pub struct Frames<R> {
    path: PathBuf,
    buffer: Buffer<R>,
    format: Format,
    /// Wall time of the first frame: every frame's `t_us` counts from it.
    start: Option<Duration>,
    /// Frames handed out so far.
    read: u64,
    cut_short: Option<String>,
    done: bool,
    /// The comments of the frame read last (pcapng).
    comments: Vec<String>,
    /// The comments of the sections read so far (pcapng).
    sections: Vec<String>,
}

/// Opens a classic pcap or pcapng file to read its frames one at a time.
pub fn open_pcap(path: impl AsRef<Path>) -> Result<Frames<File>, PcapError> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|e| PcapError::new(path, e))?;
    Frames::new(path, file)
}

impl<R: Read> Frames<R> {
    /// Reads the file header from `input`; `path` only names the file in
    /// messages.
    pub fn new(path: impl AsRef<Path>, input: R) -> Result<Frames<R>, PcapError> {
        Frames::with_buffer(path.as_ref(), input, BUFFER)
    }

    fn with_buffer(path: &Path, input: R, size: usize) -> Result<Frames<R>, PcapError> {
        let fail = |reason: &dyn std::fmt::Display| PcapError::new(path, reason);
        let mut buffer = Buffer::new(input, size);
        // The first four bytes say which format it is.
        while buffer.unparsed().len() < 4 {
            if buffer.fill().map_err(|e| fail(&e))? != Fill::More {
                return Err(fail(&"too short to be a pcap file"));
            }
        }
        let pcapng = buffer.unparsed()[..4] == [0x0a, 0x0d, 0x0d, 0x0a];
        // Then the file header (pcapng: the first section header block),
        // which may need more reads.
        let header = loop {
            let unparsed = buffer.unparsed();
            let parsed = if pcapng {
                PcapNgParser::new(unparsed)
                    .map(|(rest, p)| (unparsed.len() - rest.len(), Header::Ng(Box::new(p))))
            } else {
                PcapParser::new(unparsed)
                    .map(|(rest, p)| (unparsed.len() - rest.len(), Header::Classic(p)))
            };
            match parsed {
                Ok((used, header)) => {
                    buffer.consume(used);
                    break header;
                }
                Err(pcap_file::PcapError::IncompleteBuffer)
                    if buffer.fill().map_err(|e| fail(&e))? == Fill::More => {}
                Err(e) if pcapng => return Err(fail(&format!("not a pcapng file: {e}"))),
                Err(_) => return Err(fail(&"not a pcap or pcapng file")),
            }
        };
        let mut sections = Vec::new();
        let format = match header {
            Header::Classic(parser) => {
                let code = u32::from(parser.header().datalink);
                let link = LinkType::from_code(code).ok_or_else(|| fail(&unsupported(code)))?;
                Format::Classic { parser, link }
            }
            Header::Ng(parser) => {
                // The parser reads the first section header itself.
                section_comments(&parser.section().options, &mut sections);
                Format::Ng {
                    parser,
                    interfaces: Vec::new(),
                    first_link: None,
                }
            }
        };
        Ok(Frames {
            path: path.to_path_buf(),
            buffer,
            format,
            start: None,
            read: 0,
            cut_short: None,
            done: false,
            comments: Vec::new(),
            sections,
        })
    }

    /// The file's link type (pcapng: of its first interface, once its
    /// description has been read).
    pub fn link_type(&self) -> Option<LinkType> {
        match &self.format {
            Format::Classic { link, .. } => Some(*link),
            Format::Ng { first_link, .. } => *first_link,
        }
    }

    /// Wall time of the first frame (the epoch before one is read).
    pub fn start(&self) -> SystemTime {
        // Past what the system's clock can name (an `if_tsoffset` near
        // 2^64 s), the start reads as the epoch rather than panicking.
        UNIX_EPOCH
            .checked_add(self.start.unwrap_or_default())
            .unwrap_or(UNIX_EPOCH)
    }

    /// Frames read so far.
    pub fn frames_read(&self) -> u64 {
        self.read
    }

    /// The comments of the frame read last: what `lab ... --pcapng` wrote
    /// on it (none in classic pcap). Taken, so each is shown once.
    pub fn take_comments(&mut self) -> Vec<String> {
        std::mem::take(&mut self.comments)
    }

    /// The comments of the file's sections read so far (pcapng): for a
    /// file written by `--pcapng`, the lab or command and its actors. The
    /// first section's are known once the file is open.
    pub fn section_comments(&self) -> &[String] {
        &self.sections
    }

    /// Once the frames have run out: whether the file ended in the middle
    /// of a record, as one line naming the file (the frames before the cut
    /// were read).
    pub fn cut_short(&self) -> Option<&str> {
        self.cut_short.as_deref()
    }

    /// The next frame, `None` at the end of the file.
    fn next_frame(&mut self) -> Result<Option<CapturedFrame>, Stop> {
        let n = self.read + 1; // the number of the frame to come
        loop {
            let unparsed = self.buffer.unparsed();
            let have = unparsed.len();
            let taken = match &mut self.format {
                Format::Classic { parser, link } => classic_record(parser, *link, unparsed),
                Format::Ng {
                    parser,
                    interfaces,
                    first_link,
                } => ng_record(
                    parser,
                    interfaces,
                    first_link,
                    &mut self.sections,
                    unparsed,
                    n,
                )?,
            };
            let Some(Taken { used, record }) = taken else {
                // Only part of a record is in the buffer: read more.
                let cut = |why: &str| match self.format {
                    Format::Classic { .. } => format!("frame {n}: {why}"),
                    Format::Ng { .. } => format!("the block after frame {}: {why}", n - 1),
                };
                match self
                    .buffer
                    .fill()
                    .map_err(|e| Stop::Failed(e.to_string()))?
                {
                    Fill::More => continue,
                    Fill::End if have == 0 => return Ok(None),
                    Fill::End => return Err(Stop::Cut(cut("it runs past the end of the file"))),
                    Fill::Full => {
                        return Err(Stop::Cut(cut(&format!(
                            "it does not end within {} MiB, more than any capture's record",
                            MAX_RECORD >> 20
                        ))));
                    }
                }
            };
            let frame = match record {
                Some(mut r) => {
                    self.comments = std::mem::take(&mut r.comments);
                    Some(to_frame(&mut self.start, r, n)?)
                }
                None => None,
            };
            self.buffer.consume(used);
            if let Some(frame) = frame {
                self.read = n;
                return Ok(Some(frame));
            }
        }
    }
}

/// A record as the rest of the program sees frames: an Ethernet header
/// first, time in µs from the file's first frame (`start`, set by the
/// first).
fn to_frame(start: &mut Option<Duration>, r: Record<'_>, n: u64) -> Result<CapturedFrame, Stop> {
    let (data, orig_len) = r
        .link
        .to_ethernet(&r.data, r.orig_len)
        .ok_or_else(|| Stop::Failed(format!("frame {n}: too short for its {:?} header", r.link)))?;
    let start = *start.get_or_insert(r.wall);
    Ok(CapturedFrame {
        t_us: r.wall.saturating_sub(start).as_micros() as u64,
        data,
        orig_len,
    })
}

impl<R: Read> Iterator for Frames<R> {
    type Item = Result<CapturedFrame, PcapError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let failed = match self.next_frame() {
            Ok(Some(frame)) => return Some(Ok(frame)),
            Ok(None) => None,
            Err(Stop::Cut(why)) => {
                // A file cut short (a capture killed mid-write, a partial
                // download): the frames before the cut stand, as in tshark.
                self.cut_short = Some(format!(
                    "{}: the file is cut short ({why}); the frames before the cut are shown",
                    self.path.display()
                ));
                None
            }
            Err(Stop::Failed(why)) => Some(why),
        };
        self.done = true;
        let failed = failed.or_else(|| {
            self.link_type()
                .is_none()
                .then(|| "no interface description before the first packet".to_string())
        });
        failed.map(|why| Err(PcapError::new(&self.path, why)))
    }
}

/// Classic pcap: the next record, if the buffer holds all of it.
fn classic_record<'a>(
    parser: &PcapParser,
    link: LinkType,
    unparsed: &'a [u8],
) -> Option<Taken<'a>> {
    // The raw record: the crate's checked one rejects a captured length
    // over the snapshot length, which is exactly what a capture with a
    // small snaplen (-s 96) holds. Its only error is "need more bytes".
    let (rest, p) = parser.next_raw_packet(unparsed).ok()?;
    let frac_ns = match parser.header().ts_resolution {
        TsResolution::MicroSecond => u64::from(p.ts_frac) * 1000,
        TsResolution::NanoSecond => u64::from(p.ts_frac),
    };
    Some(Taken {
        used: unparsed.len() - rest.len(),
        record: Some(Record {
            link,
            wall: Duration::from_secs(u64::from(p.ts_sec)) + Duration::from_nanos(frac_ns),
            data: p.data,
            orig_len: p.orig_len as usize,
            comments: Vec::new(),
        }),
    })
}

fn unsupported(code: u32) -> String {
    format!("link type {code} is not supported (Ethernet, RAW, LINUX_SLL and LINUX_SLL2 are)")
}

/// The frames of a pcap or pcapng file, all in memory: for files known to
/// be small (tests, the fuzz target). `lab inspect` reads with [`Frames`].
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

/// Reads every frame of a classic pcap or pcapng file into memory.
pub fn read_pcap(path: impl AsRef<Path>) -> Result<PcapFile, PcapError> {
    read_all(open_pcap(path)?)
}

/// Reads a classic pcap or a pcapng file from its bytes, with the same
/// reader as [`open_pcap`]; `path` only names it in messages.
///
/// The bytes may come from anywhere, so nothing in them is trusted: a
/// record that claims more bytes than the file holds is a file cut short,
/// and no length field makes the reader allocate (see the module's
/// documentation).
pub fn read_pcap_bytes(path: impl AsRef<Path>, bytes: &[u8]) -> Result<PcapFile, PcapError> {
    // A small file gets a small buffer.
    read_all(Frames::with_buffer(
        path.as_ref(),
        bytes,
        bytes.len().clamp(64, BUFFER),
    )?)
}

fn read_all<R: Read>(mut frames: Frames<R>) -> Result<PcapFile, PcapError> {
    let mut list = Vec::new();
    let mut comments = Comments::default();
    while let Some(frame) = frames.next() {
        list.push(frame?);
        // One list per frame, empty in classic pcap: the same frames read
        // the same in either format.
        comments.packets.push(frames.take_comments());
    }
    comments.section = frames.sections.clone();
    Ok(PcapFile {
        comments,
        // Known: a file that named none ended in an error above.
        link_type: frames.link_type().unwrap_or(LinkType::Ethernet),
        start: frames.start(),
        frames: list,
        cut_short: frames.cut_short,
    })
}
#[cfg(test)]
mod tests;
