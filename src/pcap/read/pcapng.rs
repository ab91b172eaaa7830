//! pcapng blocks: what each means for the reader. Section header blocks
//! start over the list of interfaces; interface description blocks add
//! one (its link type, the unit of its timestamps); enhanced and simple
//! packet blocks hold frames captured on one of them.

use std::borrow::Cow;
use std::time::Duration;

use pcap_file::pcapng::blocks::{
    enhanced_packet::EnhancedPacketOption, interface_description::InterfaceDescriptionOption,
    section_header::SectionHeaderOption,
};
use pcap_file::pcapng::{Block, PcapNgParser};

use super::{LinkType, MAX_INTERFACES, Record, Stop, Taken, unsupported};

/// A pcapng interface, as its description block gave it: what the frames
/// captured on it start with, and how to read their timestamps.
#[derive(Debug, Clone, Copy)]
pub(super) struct Interface {
    link: LinkType,
    /// Nanoseconds per timestamp unit, as a ratio (numerator, denominator).
    unit: (u128, u128),
    /// Seconds to add to every timestamp (`if_tsoffset`).
    offset: u64,
}

/// pcapng: the next block, if the buffer holds all of it, and the frame
/// in it if it is a packet. Packets refer to an interface block that gives
/// their link type and the unit of their timestamps.
pub(super) fn ng_record<'a>(
    parser: &mut PcapNgParser,
    interfaces: &mut Vec<Interface>,
    first_link: &mut Option<LinkType>,
    sections: &mut Vec<String>,
    unparsed: &'a [u8],
    n: u64,
) -> Result<Option<Taken<'a>>, Stop> {
    let (rest, block) = match parser.next_block(unparsed) {
        Ok(parsed) => parsed,
        Err(pcap_file::PcapError::IncompleteBuffer) => return Ok(None),
        // Bytes that are no block: the file is damaged from here on.
        Err(e) => {
            return Err(Stop::Cut(format!("the block after frame {}: {e}", n - 1)));
        }
    };
    let record = match block {
        Block::SectionHeader(shb) => {
            interfaces.clear();
            section_comments(&shb.options, sections);
            None
        }
        Block::InterfaceDescription(idb) => {
            let code = u32::from(idb.linktype);
            let link = LinkType::from_code(code).ok_or_else(|| Stop::Failed(unsupported(code)))?;
            if interfaces.len() >= MAX_INTERFACES {
                return Err(Stop::Failed(format!(
                    "more than {MAX_INTERFACES} interfaces in one section: not a capture this reader takes"
                )));
            }
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
            interfaces.push(Interface { link, unit, offset });
            None
        }
        Block::EnhancedPacket(epb) => {
            let &Interface {
                link,
                unit: (num, den),
                offset,
            } = interfaces.get(epb.interface_id as usize).ok_or_else(|| {
                Stop::Failed(format!("frame {n}: unknown interface {}", epb.interface_id))
            })?;
            // The crate reads the 64-bit timestamp as nanoseconds; it is
            // really a count of the interface's units.
            let units = epb.timestamp.as_nanos();
            let ns = (units * num / den).min(u64::MAX as u128) as u64;
            Some(Record {
                link,
                // An offset near 2^64 s would overflow: saturate.
                wall: Duration::from_secs(offset).saturating_add(Duration::from_nanos(ns)),
                data: epb.data,
                orig_len: epb.original_len as usize,
                // What `lab ... --pcapng` wrote on the packet (Wireshark's
                // "Packet comments").
                comments: epb
                    .options
                    .iter()
                    .filter_map(|o| match o {
                        EnhancedPacketOption::Comment(c) => Some(c.to_string()),
                        _ => None,
                    })
                    .collect(),
            })
        }
        Block::SimplePacket(spb) => {
            // No timestamp, always interface 0; the block's data runs on
            // into its padding, so cut it at the packet's length.
            let &Interface { link, .. } = interfaces
                .first()
                .ok_or_else(|| Stop::Failed(format!("frame {n}: no interface")))?;
            let len = spb.data.len().min(spb.original_len as usize);
            let data = match spb.data {
                Cow::Borrowed(d) => Cow::Borrowed(&d[..len]),
                Cow::Owned(mut d) => {
                    d.truncate(len);
                    Cow::Owned(d)
                }
            };
            Some(Record {
                link,
                wall: Duration::ZERO,
                data,
                orig_len: spb.original_len as usize,
                comments: Vec::new(),
            })
        }
        _ => None,
    };
    Ok(Some(Taken {
        used: unparsed.len() - rest.len(),
        record,
    }))
}

/// Adds the comments among a section header's options to `sections`.
pub(super) fn section_comments(options: &[SectionHeaderOption], sections: &mut Vec<String>) {
    sections.extend(options.iter().filter_map(|o| match o {
        SectionHeaderOption::Comment(c) => Some(c.to_string()),
        _ => None,
    }));
}
