//! The Internet checksum (RFC 1071), to check IPv4 headers, TCP and UDP.
//!
//! The sum is the ones' complement of the ones' complement sum of 16-bit
//! words. TCP and UDP also cover a pseudo-header: both addresses, the
//! protocol and the segment length, so a packet delivered to the wrong
//! address fails the check.
//!
//! These functions only report. On loopback Linux usually leaves TCP and
//! UDP checksums unfinished (`CHECKSUM_PARTIAL`: the field holds just the
//! pseudo-header sum, for hardware to complete), so a failed check there is
//! normal and nothing is rejected for it.

use std::net::IpAddr;

use super::ip::protocol;

/// Adds `bytes` as big-endian 16-bit words to a running 32-bit sum
/// (an odd last byte is padded with zero).
fn add_words(mut sum: u32, bytes: &[u8]) -> u32 {
    let mut words = bytes.chunks_exact(2);
    for word in &mut words {
        sum += u32::from(u16::from_be_bytes([word[0], word[1]]));
    }
    if let [last] = words.remainder() {
        sum += u32::from(*last) << 8;
    }
    // Fold the carries back in now and then so the sum never overflows.
    fold(sum)
}

/// Folds a 32-bit sum into 16 bits, end-around carry included.
fn fold(mut sum: u32) -> u32 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum
}

/// The Internet checksum of `bytes`: the value to put in a zeroed field.
pub fn internet_checksum(bytes: &[u8]) -> u16 {
    !(fold(add_words(0, bytes)) as u16)
}

/// True when an IPv4 header (IHL * 4 bytes, checksum field included) sums
/// to zero, as a correct one does.
pub fn ipv4_header_checksum_ok(header: &[u8]) -> bool {
    internet_checksum(header) == 0
}

/// Sum of the TCP/UDP pseudo-header; `None` if the address families differ.
fn pseudo_header(src: IpAddr, dst: IpAddr, protocol: u8, len: usize) -> Option<u32> {
    let sum = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let sum = add_words(add_words(0, &s.octets()), &d.octets());
            // The IPv4 pseudo-header length is 16 bits.
            add_words(sum, &u16::try_from(len).ok()?.to_be_bytes())
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let sum = add_words(add_words(0, &s.octets()), &d.octets());
            add_words(sum, &u32::try_from(len).ok()?.to_be_bytes())
        }
        _ => return None,
    };
    Some(add_words(sum, &[0, protocol]))
}

/// True when a complete TCP segment (header and all its data) carries a
/// correct checksum for these addresses.
pub fn tcp_checksum_ok(src: IpAddr, dst: IpAddr, segment: &[u8]) -> bool {
    pseudo_header(src, dst, protocol::TCP, segment.len())
        .is_some_and(|sum| !(fold(add_words(sum, segment)) as u16) == 0)
}

/// True when a complete UDP datagram carries a correct checksum for these
/// addresses, or, over IPv4, carries none (the field is 0).
pub fn udp_checksum_ok(src: IpAddr, dst: IpAddr, datagram: &[u8]) -> bool {
    if src.is_ipv4() && datagram.get(6..8) == Some(&[0, 0]) {
        return true;
    }
    pseudo_header(src, dst, protocol::UDP, datagram.len())
        .is_some_and(|sum| !(fold(add_words(sum, datagram)) as u16) == 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn rfc1071_example() {
        // The worked example of RFC 1071 section 3: the sum is 0xddf2.
        let bytes = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(internet_checksum(&bytes), !0xddf2);
    }

    #[test]
    fn ipv4_header_from_lo() {
        // The header of a SYN captured on lo; Linux always fills this one.
        let header = [
            0x45, 0x00, 0x00, 0x3c, 0xd5, 0x79, 0x40, 0x00, 0x40, 0x06, 0x67, 0x40, 0x7f, 0x00,
            0x00, 0x01, 0x7f, 0x00, 0x00, 0x01,
        ];
        assert!(ipv4_header_checksum_ok(&header));
        let mut bad = header;
        bad[8] = 0x3f; // TTL changed, checksum not updated
        assert!(!ipv4_header_checksum_ok(&bad));
    }

    #[test]
    fn udp_zero_means_no_checksum_over_ipv4() {
        let lo = IpAddr::V4(Ipv4Addr::LOCALHOST);
        assert!(udp_checksum_ok(
            lo,
            lo,
            &[0x13, 0x89, 0x13, 0x88, 0, 8, 0, 0]
        ));
        // Mixed families have no pseudo-header.
        let lo6 = IpAddr::V6(std::net::Ipv6Addr::LOCALHOST);
        assert!(!tcp_checksum_ok(lo, lo6, &[0; 20]));
    }
}
