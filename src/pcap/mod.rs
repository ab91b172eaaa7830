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
//! - **Other tools' files.** [`Frames`] (in [`read`]) reads classic pcap
//!   (what `tcpdump -w` writes) and pcapng (what tshark and Wireshark
//!   write) a frame at a time, so a file of any size costs the same small
//!   memory. On `lo` frames have an Ethernet header; files captured
//!   elsewhere may have none (`LINKTYPE_RAW`) or Linux's "cooked" header
//!   (`tcpdump -i any`: `LINUX_SLL`, `LINUX_SLL2`). The reader gives every
//!   frame the same 14-byte Ethernet header our own capture has, so one
//!   decoder reads all.

mod link;
pub mod read;

pub use link::LinkType;
pub use read::{Frames, PcapFile, open_pcap, read_pcap, read_pcap_bytes};

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pcap_file::pcap::{PcapHeader, PcapPacket};
use pcap_file::{DataLink, Endianness, TsResolution};

use crate::capture::CapturedFrame;
use crate::clock::Clock;
use crate::partial::Partial;

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
    /// The file under its hidden name until `finish` (see
    /// [`crate::partial`]); dropped unfinished, it is removed.
    file: Partial,
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
        Partial::probe(path).map_err(|e| PcapError::new(path, e))
    }

    /// Starts a pcap file in which `t_us = 0` is the wall time `zero`.
    pub fn create_at(path: impl AsRef<Path>, zero: SystemTime) -> Result<PcapWriter, PcapError> {
        let path = path.as_ref().to_path_buf();
        let (partial, file) = Partial::create(&path).map_err(|e| PcapError::new(&path, e))?;
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
            file: partial,
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
        self.file
            .commit()
            .map_err(|e| PcapError::new(&self.path, e))?;
        Ok(self.frames)
    }
}
