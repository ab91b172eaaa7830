//! The files a run, a trace or a capture writes besides what it prints:
//! `--pcap` (the packets as they are shown) and `--pcapng` (the packets
//! with the message map on them, once the run is over; see
//! [`crate::pcapng`] and [`crate::annotate`]).

use std::io::Write;
use std::path::{Path, PathBuf};

use colored::Colorize;

use super::Failure;
use super::run::CaptureMode;
use crate::catalog::Lab;
use crate::correlate::MapEntry;
use crate::expr::Scope;
use crate::pcap::PcapWriter;
use crate::trace::{Call, Packet};

/// The files a run writes besides what it prints.
#[derive(Debug, Clone, Copy, Default)]
pub struct Files<'a> {
    /// `--pcap`: the packets as they are shown, in a classic pcap file.
    pub pcap: Option<&'a Path>,
    /// `--pcapng`: the packets with a comment each naming what it carries
    /// (see [`crate::annotate`]), written once the run is over and its
    /// message map known.
    pub pcapng: Option<&'a Path>,
}

impl<'a> Files<'a> {
    /// The files `args` asks for.
    pub fn of(pcap: &'a Option<PathBuf>, pcapng: &'a Option<PathBuf>) -> Self {
        Files {
            pcap: pcap.as_deref(),
            pcapng: pcapng.as_deref(),
        }
    }

    /// Refuses files that need a capture when there is none, and checks
    /// each file could be written (before anything runs).
    pub fn check(&self, mode: &CaptureMode) -> Result<(), Failure> {
        for (flag, path) in [("--pcap", self.pcap), ("--pcapng", self.pcapng)] {
            let Some(path) = path else { continue };
            if let CaptureMode::Off(reason) = mode {
                return Err(Failure::Usage(format!(
                    "{flag} needs the capture, which is off: {reason}"
                )));
            }
            PcapWriter::preflight(path).map_err(|e| Failure::Usage(e.to_string()))?;
        }
        Ok(())
    }

    /// `· packets written to F`, for each file written.
    pub fn say_written(&self, out: &mut dyn Write) -> std::io::Result<()> {
        for p in self.pcap.iter().chain(self.pcapng.iter()) {
            writeln!(out, "{} packets written to {}", "·".dimmed(), p.display())?;
        }
        Ok(())
    }
}

/// Writes a run's pcapng file: its packets, each with its notes.
#[allow(clippy::too_many_arguments)]
pub(super) fn write_pcapng(
    path: &Path,
    zero: std::time::SystemTime,
    lab: &Lab,
    knobs: &Scope,
    mode: &CaptureMode,
    calls: &[Call],
    packets: &[Packet],
    map: &[MapEntry],
) -> Result<u64, Failure> {
    let section = crate::pcapng::lab_section(lab, knobs, matches!(mode, CaptureMode::Isolated));
    let notes = crate::annotate::of_run(calls, packets, map);
    crate::pcapng::write_file(path, zero, &section, packets, &notes)
        .map_err(|e| Failure::Usage(e.to_string()))
}
