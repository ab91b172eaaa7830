//! TCP options (RFC 9293 section 3.2, RFC 7323, RFC 2018).
//!
//! Options fill the header between byte 20 and the data offset. Each is a
//! kind byte; all but End of Option List (0) and No-Operation (1) then
//! give their total length, kind and length bytes included:
//!
//! ```text
//! kind 2  len 4   MSS (u16)                          Maximum Segment Size, SYN only
//! kind 3  len 3   shift (u8)                         Window Scale, SYN only
//! kind 4  len 2                                      SACK permitted, SYN only
//! kind 5  len 2+8n  n x (left edge u32, right edge)  SACK blocks
//! kind 8  len 10  TSval (u32), TSecr (u32)           Timestamps
//! ```
//!
//! # Bad options
//!
//! A bad option does not make the segment an error: the learner should
//! still see the segment, and Linux's `tcp_parse_options` also carries on
//! with it. Like Linux, we stop parsing at the first option whose length
//! cannot be trusted (below 2, or past the end of the options); that
//! option is recorded as [`TcpOption::Malformed`] and the rest is skipped.
//! A known option with a well-formed but wrong length (MSS with length 6,
//! say) is also `Malformed`, and parsing goes on after it.

use std::fmt;

/// Option kinds this module knows.
pub mod kind {
    /// End of option list: the rest is padding.
    pub const END: u8 = 0;
    /// No-operation: one byte of padding between options.
    pub const NOP: u8 = 1;
    /// Maximum segment size.
    pub const MSS: u8 = 2;
    /// Window scale.
    pub const WINDOW_SCALE: u8 = 3;
    /// Selective acknowledgment permitted.
    pub const SACK_PERMITTED: u8 = 4;
    /// Selective acknowledgment blocks.
    pub const SACK: u8 = 5;
    /// Timestamps.
    pub const TIMESTAMPS: u8 = 8;
}

/// One TCP option. Padding (EOL, NOP) is not kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TcpOption {
    /// The largest segment the sender wants to receive, in bytes.
    Mss(u16),
    /// The sender's receive window is `window << shift` from now on.
    WindowScale(u8),
    /// The sender understands SACK blocks.
    SackPermitted,
    /// Blocks of data received beyond the cumulative ACK: `(left, right)`
    /// sequence numbers, right edge exclusive.
    Sack(Vec<(u32, u32)>),
    /// RFC 7323 timestamps: the sender's clock, and the last one it saw.
    Timestamps {
        /// The sender's timestamp clock.
        tsval: u32,
        /// The `tsval` most recently received from the peer (0 in a SYN).
        tsecr: u32,
    },
    /// An option kind we do not decode (TCP Fast Open, MPTCP, MD5, ...).
    Unknown {
        /// The option kind.
        kind: u8,
        /// Its total length, kind and length bytes included.
        len: u8,
    },
    /// An option whose length is wrong for its kind or does not fit; see
    /// the module documentation for what parsing does next.
    Malformed {
        /// The option kind.
        kind: u8,
        /// The length byte found (0 if the options ended before it).
        len: u8,
    },
}

/// Parses the options area of a TCP header (the bytes between the fixed
/// header and the data offset). Never fails; see the module docs.
pub fn parse_options(area: &[u8]) -> Vec<TcpOption> {
    walk_options(area)
        .into_iter()
        .filter_map(|(_, item)| match item {
            OptionItem::Option(option) => Some(option),
            OptionItem::Nop | OptionItem::End => None,
        })
        .collect()
}

/// One item of the options area, padding included, as
/// [`walk_options`] finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptionItem {
    /// A one-byte NOP, which aligns the next option.
    Nop,
    /// End of options: it and every byte after it are padding.
    End,
    /// An option with its kind and length bytes.
    Option(TcpOption),
}

/// Every item of the options area with the bytes it takes (offsets from
/// the start of the area): what a packet dissector shows byte by byte.
/// After [`OptionItem::End`], or a malformed option, the walk stops.
pub fn walk_options(area: &[u8]) -> Vec<(std::ops::Range<usize>, OptionItem)> {
    let mut items = Vec::new();
    let mut at = 0;
    while let Some(&kind) = area.get(at) {
        match kind {
            kind::END => {
                items.push((at..area.len(), OptionItem::End));
                break;
            }
            kind::NOP => {
                items.push((at..at + 1, OptionItem::Nop));
                at += 1;
                continue;
            }
            _ => {}
        }
        let Some(&len) = area.get(at + 1) else {
            let malformed = TcpOption::Malformed { kind, len: 0 };
            items.push((at..area.len(), OptionItem::Option(malformed)));
            break;
        };
        // The length covers the kind and length bytes and must fit.
        let end = at + usize::from(len);
        let Some(option) = area.get(at..end).filter(|_| len >= 2) else {
            let malformed = TcpOption::Malformed { kind, len };
            items.push((at..area.len(), OptionItem::Option(malformed)));
            break;
        };
        items.push((at..end, OptionItem::Option(parse_one(kind, option))));
        at = end;
    }
    items
}

/// Decodes one option from its bytes (kind, length and value).
fn parse_one(kind: u8, option: &[u8]) -> TcpOption {
    let len = option.len() as u8;
    let value = &option[2..];
    let be32 = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    match (kind, value.len()) {
        (kind::MSS, 2) => TcpOption::Mss(u16::from_be_bytes([value[0], value[1]])),
        (kind::WINDOW_SCALE, 1) => TcpOption::WindowScale(value[0]),
        (kind::SACK_PERMITTED, 0) => TcpOption::SackPermitted,
        (kind::SACK, n) if n > 0 && n % 8 == 0 => TcpOption::Sack(
            value
                .chunks_exact(8)
                .map(|block| (be32(&block[..4]), be32(&block[4..])))
                .collect(),
        ),
        (kind::TIMESTAMPS, 8) => TcpOption::Timestamps {
            tsval: be32(&value[..4]),
            tsecr: be32(&value[4..]),
        },
        (
            kind::MSS | kind::WINDOW_SCALE | kind::SACK_PERMITTED | kind::SACK | kind::TIMESTAMPS,
            _,
        ) => TcpOption::Malformed { kind, len },
        _ => TcpOption::Unknown { kind, len },
    }
}

/// Short forms in the summary line: `mss=65495`, `ws=7` (the shift
/// count: the window is multiplied by 2^7), `sackOK`, `sack=1-2,5-9`,
/// `ts=TSVAL/TSECR`, `opt30/len12`, `bad-opt2/len6`.
impl fmt::Display for TcpOption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TcpOption::Mss(mss) => write!(f, "mss={mss}"),
            TcpOption::WindowScale(shift) => write!(f, "ws={shift}"),
            TcpOption::SackPermitted => f.write_str("sackOK"),
            TcpOption::Sack(blocks) => {
                f.write_str("sack=")?;
                for (i, (left, right)) in blocks.iter().enumerate() {
                    let sep = if i == 0 { "" } else { "," };
                    write!(f, "{sep}{left}-{right}")?;
                }
                Ok(())
            }
            TcpOption::Timestamps { tsval, tsecr } => write!(f, "ts={tsval}/{tsecr}"),
            TcpOption::Unknown { kind, len } => write!(f, "opt{kind}/len{len}"),
            TcpOption::Malformed { kind, len } => write!(f, "bad-opt{kind}/len{len}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_linux_syn() {
        // The options of a SYN from a Linux client on lo (MTU 65536).
        let area = [
            0x02, 0x04, 0xff, 0xd7, // MSS 65495
            0x04, 0x02, // SACK permitted
            0x08, 0x0a, 0x91, 0x6a, 0x28, 0xfd, 0x00, 0x00, 0x00, 0x00, // TS
            0x01, // NOP
            0x03, 0x03, 0x0a, // window scale 10
        ];
        assert_eq!(
            parse_options(&area),
            vec![
                TcpOption::Mss(65495),
                TcpOption::SackPermitted,
                TcpOption::Timestamps {
                    tsval: 0x916a_28fd,
                    tsecr: 0
                },
                TcpOption::WindowScale(10),
            ]
        );
    }

    #[test]
    fn sack_blocks_and_padding() {
        let area = [
            0x01, 0x01, // NOP NOP
            0x05, 0x12, // SACK, 2 blocks
            0, 0, 0, 10, 0, 0, 0, 20, // 10-20
            0, 0, 0, 30, 0, 0, 0, 40, // 30-40
            0x00, 0x02, 0x04, // EOL, then bytes that must be ignored
        ];
        let options = parse_options(&area);
        assert_eq!(options, vec![TcpOption::Sack(vec![(10, 20), (30, 40)])]);
        assert_eq!(options[0].to_string(), "sack=10-20,30-40");
    }

    #[test]
    fn unknown_options_are_skipped_by_length() {
        // TCP Fast Open cookie request (kind 34, length 2), then MSS.
        let area = [34, 2, 2, 4, 0x05, 0xb4];
        assert_eq!(
            parse_options(&area),
            vec![
                TcpOption::Unknown { kind: 34, len: 2 },
                TcpOption::Mss(1460)
            ]
        );
    }

    #[test]
    fn bad_lengths() {
        // MSS with length 3: well-formed length, wrong for MSS; go on.
        assert_eq!(
            parse_options(&[2, 3, 0xff, 4, 2]),
            vec![
                TcpOption::Malformed { kind: 2, len: 3 },
                TcpOption::SackPermitted
            ]
        );
        // SACK with a partial block.
        assert_eq!(
            parse_options(&[5, 6, 0, 0, 0, 1]),
            vec![TcpOption::Malformed { kind: 5, len: 6 }]
        );
        // Length 0 or 1 would loop forever or go backwards: stop.
        for len in [0, 1] {
            assert_eq!(
                parse_options(&[8, len, 4, 2]),
                vec![TcpOption::Malformed { kind: 8, len }]
            );
        }
        // Length past the end of the options: stop.
        assert_eq!(
            parse_options(&[2, 4, 0x05]),
            vec![TcpOption::Malformed { kind: 2, len: 4 }]
        );
        // The options end between kind and length.
        assert_eq!(
            parse_options(&[1, 3]),
            vec![TcpOption::Malformed { kind: 3, len: 0 }]
        );
    }

    #[test]
    fn every_byte_pair_is_safe() {
        // Every 2-byte start followed by a little junk: no panic.
        for kind in 0..=255u8 {
            for len in 0..=255u8 {
                let area = [kind, len, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7];
                let _ = parse_options(&area);
            }
        }
    }
}
