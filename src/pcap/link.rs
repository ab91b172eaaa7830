//! The link layer a capture file names, and how each kind of frame
//! becomes the Ethernet frame that `lo` captures have.

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
    pub(super) fn from_code(code: u32) -> Option<LinkType> {
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
    pub(super) fn to_ethernet(self, data: &[u8], orig_len: usize) -> Option<(Vec<u8>, usize)> {
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

#[cfg(test)]
mod tests {
    use super::LinkType;

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
}
