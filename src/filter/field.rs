//! The fields a display filter can name, with Wireshark's names and types,
//! and how each is read from a decoded packet.
//!
//! A field is either there or not: `tcp.port` is in every TCP segment and
//! in nothing else, `tcp.payload` only in a segment that carries data.
//! Some fields occur twice in one packet (`tcp.port` is the source port
//! and the destination port, `ip.addr` the source and destination
//! address); a test on such a field asks about either occurrence, as in
//! Wireshark.

use std::net::IpAddr;

use crate::analysis::FlagKind;
use crate::conversations::Kind;
use crate::trace::Packet;
use crate::wire::{TcpFlags, Transport};

/// What a field holds, which decides the values it can be compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// A whole protocol (`tcp`, `ipv6`): only its presence can be tested.
    Protocol,
    /// A mark with no value, there or not (Wireshark's `FT_NONE`): what
    /// the `tcp.analysis.*` flags are, such as `tcp.analysis.retransmission`.
    Marker,
    /// An unsigned integer of this many bits (`tcp.port` has 16).
    Unsigned(u32),
    /// A flag: 0 or 1 (`true` or `false`).
    Bool,
    Ipv4,
    Ipv6,
    /// Bytes: `"text"` or `aa:bb:cc`; `contains` looks inside them.
    Bytes,
}

impl FieldType {
    /// How an error message names the type.
    pub fn describe(self) -> String {
        match self {
            FieldType::Protocol => "a protocol".into(),
            FieldType::Marker => "a mark with no value".into(),
            FieldType::Unsigned(bits) => format!("a {bits}-bit unsigned integer"),
            FieldType::Bool => "a flag (0 or 1)".into(),
            FieldType::Ipv4 => "an IPv4 address".into(),
            FieldType::Ipv6 => "an IPv6 address".into(),
            FieldType::Bytes => "a byte string".into(),
        }
    }
}

/// One field a filter can name. Each variant is one Wireshark field; its
/// name and type are in [`Field::name`] and [`Field::ty`], how it is read
/// in [`Field::read`].
///
/// Adding a field is a variant here, its row in [`Field::ALL`], and one
/// arm in each of `name`, `ty` and `read`. Wireshark's `tcp.analysis.*`
/// flags are one variant, [`Field::TcpAnalysis`], per
/// [`FlagKind`]: [`FieldType::Marker`]s, there when the analysis the
/// timeline made of the segment (see [`crate::analysis`]) says so. Names
/// under `tcp.analysis.` that are no field yet (`tcp.analysis.ack_rtt`)
/// are refused as "not supported yet" (see [`not_supported_yet`]), not as
/// unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Frame,
    FrameNumber,
    FrameLen,
    FrameCapLen,
    Ip,
    IpSrc,
    IpDst,
    IpAddr,
    IpLen,
    IpTtl,
    IpProto,
    IpId,
    Ipv6,
    Ipv6Src,
    Ipv6Dst,
    Ipv6Addr,
    Ipv6Plen,
    Ipv6Hlim,
    Tcp,
    TcpSrcPort,
    TcpDstPort,
    TcpPort,
    TcpStream,
    TcpLen,
    TcpSeq,
    TcpSeqRaw,
    TcpAck,
    TcpAckRaw,
    TcpHdrLen,
    TcpFlags,
    TcpFlagsFin,
    TcpFlagsSyn,
    TcpFlagsReset,
    TcpFlagsPush,
    TcpFlagsAck,
    TcpFlagsUrg,
    TcpFlagsEce,
    TcpFlagsCwr,
    TcpFlagsAe,
    TcpWindowSizeValue,
    TcpWindowSize,
    TcpUrgentPointer,
    TcpChecksum,
    TcpPayload,
    /// Any of the analysis flags below (`tcp.analysis.flags`).
    TcpAnalysisFlags,
    /// One flag of Wireshark's TCP analysis: `tcp.analysis.retransmission`.
    TcpAnalysis(FlagKind),
    /// The frame this ACK acknowledges (`tcp.analysis.acks_frame`).
    TcpAnalysisAcksFrame,
    /// Bytes sent and not yet acknowledged (`tcp.analysis.bytes_in_flight`).
    TcpAnalysisBytesInFlight,
    Udp,
    UdpSrcPort,
    UdpDstPort,
    UdpPort,
    UdpLength,
    UdpStream,
    UdpChecksum,
    UdpPayload,
}

/// A field's value in one packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue<'p> {
    /// A protocol that is there.
    Present,
    Unsigned(u64),
    Bool(bool),
    Addr(IpAddr),
    Bytes(&'p [u8]),
}

impl Field {
    /// Every field, in the order `lab inspect --help` lists them.
    pub const ALL: &[Field] = &[
        Field::Frame,
        Field::FrameNumber,
        Field::FrameLen,
        Field::FrameCapLen,
        Field::Ip,
        Field::IpSrc,
        Field::IpDst,
        Field::IpAddr,
        Field::IpLen,
        Field::IpTtl,
        Field::IpProto,
        Field::IpId,
        Field::Ipv6,
        Field::Ipv6Src,
        Field::Ipv6Dst,
        Field::Ipv6Addr,
        Field::Ipv6Plen,
        Field::Ipv6Hlim,
        Field::Tcp,
        Field::TcpSrcPort,
        Field::TcpDstPort,
        Field::TcpPort,
        Field::TcpStream,
        Field::TcpLen,
        Field::TcpSeq,
        Field::TcpSeqRaw,
        Field::TcpAck,
        Field::TcpAckRaw,
        Field::TcpHdrLen,
        Field::TcpFlags,
        Field::TcpFlagsFin,
        Field::TcpFlagsSyn,
        Field::TcpFlagsReset,
        Field::TcpFlagsPush,
        Field::TcpFlagsAck,
        Field::TcpFlagsUrg,
        Field::TcpFlagsEce,
        Field::TcpFlagsCwr,
        Field::TcpFlagsAe,
        Field::TcpWindowSizeValue,
        Field::TcpWindowSize,
        Field::TcpUrgentPointer,
        Field::TcpChecksum,
        Field::TcpPayload,
        Field::TcpAnalysisFlags,
        Field::TcpAnalysis(FlagKind::Retransmission),
        Field::TcpAnalysis(FlagKind::FastRetransmission),
        Field::TcpAnalysis(FlagKind::SpuriousRetransmission),
        Field::TcpAnalysis(FlagKind::OutOfOrder),
        Field::TcpAnalysis(FlagKind::DuplicateAck),
        Field::TcpAnalysis(FlagKind::ZeroWindow),
        Field::TcpAnalysis(FlagKind::ZeroWindowProbe),
        Field::TcpAnalysis(FlagKind::ZeroWindowProbeAck),
        Field::TcpAnalysis(FlagKind::WindowFull),
        Field::TcpAnalysis(FlagKind::WindowUpdate),
        Field::TcpAnalysis(FlagKind::KeepAlive),
        Field::TcpAnalysis(FlagKind::KeepAliveAck),
        Field::TcpAnalysis(FlagKind::LostSegment),
        Field::TcpAnalysis(FlagKind::AckedUnseen),
        Field::TcpAnalysisAcksFrame,
        Field::TcpAnalysisBytesInFlight,
        Field::Udp,
        Field::UdpSrcPort,
        Field::UdpDstPort,
        Field::UdpPort,
        Field::UdpLength,
        Field::UdpStream,
        Field::UdpChecksum,
        Field::UdpPayload,
    ];

    /// Wireshark's name for the field.
    pub fn name(self) -> &'static str {
        match self {
            Field::Frame => "frame",
            Field::FrameNumber => "frame.number",
            Field::FrameLen => "frame.len",
            Field::FrameCapLen => "frame.cap_len",
            Field::Ip => "ip",
            Field::IpSrc => "ip.src",
            Field::IpDst => "ip.dst",
            Field::IpAddr => "ip.addr",
            Field::IpLen => "ip.len",
            Field::IpTtl => "ip.ttl",
            Field::IpProto => "ip.proto",
            Field::IpId => "ip.id",
            Field::Ipv6 => "ipv6",
            Field::Ipv6Src => "ipv6.src",
            Field::Ipv6Dst => "ipv6.dst",
            Field::Ipv6Addr => "ipv6.addr",
            Field::Ipv6Plen => "ipv6.plen",
            Field::Ipv6Hlim => "ipv6.hlim",
            Field::Tcp => "tcp",
            Field::TcpSrcPort => "tcp.srcport",
            Field::TcpDstPort => "tcp.dstport",
            Field::TcpPort => "tcp.port",
            Field::TcpStream => "tcp.stream",
            Field::TcpLen => "tcp.len",
            Field::TcpSeq => "tcp.seq",
            Field::TcpSeqRaw => "tcp.seq_raw",
            Field::TcpAck => "tcp.ack",
            Field::TcpAckRaw => "tcp.ack_raw",
            Field::TcpHdrLen => "tcp.hdr_len",
            Field::TcpFlags => "tcp.flags",
            Field::TcpFlagsFin => "tcp.flags.fin",
            Field::TcpFlagsSyn => "tcp.flags.syn",
            Field::TcpFlagsReset => "tcp.flags.reset",
            Field::TcpFlagsPush => "tcp.flags.push",
            Field::TcpFlagsAck => "tcp.flags.ack",
            Field::TcpFlagsUrg => "tcp.flags.urg",
            Field::TcpFlagsEce => "tcp.flags.ece",
            Field::TcpFlagsCwr => "tcp.flags.cwr",
            Field::TcpFlagsAe => "tcp.flags.ae",
            Field::TcpWindowSizeValue => "tcp.window_size_value",
            Field::TcpWindowSize => "tcp.window_size",
            Field::TcpUrgentPointer => "tcp.urgent_pointer",
            Field::TcpChecksum => "tcp.checksum",
            Field::TcpPayload => "tcp.payload",
            Field::TcpAnalysisFlags => "tcp.analysis.flags",
            Field::TcpAnalysis(kind) => kind.field(),
            Field::TcpAnalysisAcksFrame => "tcp.analysis.acks_frame",
            Field::TcpAnalysisBytesInFlight => "tcp.analysis.bytes_in_flight",
            Field::Udp => "udp",
            Field::UdpSrcPort => "udp.srcport",
            Field::UdpDstPort => "udp.dstport",
            Field::UdpPort => "udp.port",
            Field::UdpLength => "udp.length",
            Field::UdpStream => "udp.stream",
            Field::UdpChecksum => "udp.checksum",
            Field::UdpPayload => "udp.payload",
        }
    }

    /// The field a name stands for, if we know it.
    pub fn from_name(name: &str) -> Option<Field> {
        Field::ALL.iter().copied().find(|f| f.name() == name)
    }

    /// What the field holds.
    pub fn ty(self) -> FieldType {
        use FieldType::*;
        match self {
            Field::Frame | Field::Ip | Field::Ipv6 | Field::Tcp | Field::Udp => Protocol,
            Field::FrameNumber | Field::FrameLen | Field::FrameCapLen => Unsigned(32),
            Field::IpSrc | Field::IpDst | Field::IpAddr => Ipv4,
            Field::Ipv6Src | Field::Ipv6Dst | Field::Ipv6Addr => Ipv6,
            Field::IpTtl | Field::IpProto | Field::Ipv6Hlim | Field::TcpHdrLen => Unsigned(8),
            Field::IpLen
            | Field::IpId
            | Field::Ipv6Plen
            | Field::TcpSrcPort
            | Field::TcpDstPort
            | Field::TcpPort
            | Field::TcpFlags
            | Field::TcpWindowSizeValue
            | Field::TcpUrgentPointer
            | Field::TcpChecksum
            | Field::UdpSrcPort
            | Field::UdpDstPort
            | Field::UdpPort
            | Field::UdpLength
            | Field::UdpChecksum => Unsigned(16),
            Field::TcpStream
            | Field::UdpStream
            | Field::TcpLen
            | Field::TcpSeq
            | Field::TcpSeqRaw
            | Field::TcpAck
            | Field::TcpAckRaw
            | Field::TcpWindowSize
            | Field::TcpAnalysisAcksFrame
            | Field::TcpAnalysisBytesInFlight => Unsigned(32),
            Field::TcpAnalysisFlags | Field::TcpAnalysis(_) => Marker,
            Field::TcpFlagsFin
            | Field::TcpFlagsSyn
            | Field::TcpFlagsReset
            | Field::TcpFlagsPush
            | Field::TcpFlagsAck
            | Field::TcpFlagsUrg
            | Field::TcpFlagsEce
            | Field::TcpFlagsCwr
            | Field::TcpFlagsAe => Bool,
            Field::TcpPayload | Field::UdpPayload => Bytes,
        }
    }

    /// The field's values in one packet (with its place in the capture
    /// worked out by the timeline: frame number, stream, relative
    /// numbers), handed to `each` (none when the
    /// packet does not have the field; two for `tcp.port`, `ip.addr`, ...).
    pub fn read<'p>(self, p: &'p Packet, each: &mut dyn FnMut(FieldValue<'p>)) {
        use FieldValue::{Addr, Bool, Bytes, Present, Unsigned};
        let int = |v: u64| Unsigned(v);
        // The frame is always there, decoded or not.
        match self {
            Field::Frame => return each(Present),
            Field::FrameNumber => return each(int(p.info.number)),
            Field::FrameLen => return each(int(p.orig_len as u64)),
            Field::FrameCapLen => return each(int(p.raw.len() as u64)),
            _ => {}
        }
        let Ok(frame) = &p.frame else { return };
        let ip = &frame.ip;
        let (v4, v6) = (ip.version == 4, ip.version == 6);
        let tcp = match &frame.transport {
            Transport::Tcp(t) => Some(t),
            _ => None,
        };
        let udp = match &frame.transport {
            Transport::Udp(u) => Some(u),
            _ => None,
        };
        let flag = |bit: TcpFlags| tcp.map(|t| Bool(t.flags.contains(bit)));
        // What the timeline's TCP analysis said of the segment, if anything.
        let analysis = tcp.and(p.info.analysis.as_ref());
        let stream = |kind: Kind| {
            p.info
                .conversation
                .filter(|(k, _)| *k == kind)
                .map(|(_, n)| int(n as u64))
        };
        let one = match self {
            Field::Frame | Field::FrameNumber | Field::FrameLen | Field::FrameCapLen => {
                unreachable!("answered above")
            }
            Field::Ip => v4.then_some(Present),
            Field::Ipv6 => v6.then_some(Present),
            Field::IpSrc => v4.then_some(Addr(ip.src)),
            Field::IpDst => v4.then_some(Addr(ip.dst)),
            Field::Ipv6Src => v6.then_some(Addr(ip.src)),
            Field::Ipv6Dst => v6.then_some(Addr(ip.dst)),
            Field::IpAddr | Field::Ipv6Addr => {
                if (self == Field::IpAddr && v4) || (self == Field::Ipv6Addr && v6) {
                    each(Addr(ip.src));
                    each(Addr(ip.dst));
                }
                return;
            }
            Field::IpLen => v4.then_some(int(ip.total_len as u64)),
            Field::IpTtl => v4.then_some(int(u64::from(ip.ttl_or_hop_limit))),
            Field::IpProto => v4.then_some(int(u64::from(ip.protocol))),
            Field::IpId => ip.ident.filter(|_| v4).map(|id| int(u64::from(id))),
            Field::Ipv6Plen => v6.then_some(int(ip.total_len.saturating_sub(40) as u64)),
            Field::Ipv6Hlim => v6.then_some(int(u64::from(ip.ttl_or_hop_limit))),
            Field::Tcp => tcp.map(|_| Present),
            Field::TcpSrcPort => tcp.map(|t| int(u64::from(t.src_port))),
            Field::TcpDstPort => tcp.map(|t| int(u64::from(t.dst_port))),
            Field::TcpPort => {
                if let Some(t) = tcp {
                    each(int(u64::from(t.src_port)));
                    each(int(u64::from(t.dst_port)));
                }
                return;
            }
            Field::TcpStream => stream(Kind::Tcp),
            Field::TcpLen => tcp.map(|t| int(t.payload_len as u64)),
            // Relative, as Wireshark shows them by default: the SYN is 0.
            Field::TcpSeq => tcp.and(p.info.rel_seq).map(|s| int(u64::from(s))),
            Field::TcpSeqRaw => tcp.map(|t| int(u64::from(t.seq.0))),
            // Wireshark puts `tcp.ack` in every segment; without the ACK
            // flag (a first SYN) it is 0.
            Field::TcpAck => tcp.map(|_| int(u64::from(p.info.rel_ack.unwrap_or(0)))),
            Field::TcpAckRaw => tcp.map(|t| int(u64::from(t.ack.0))),
            Field::TcpHdrLen => tcp.map(|t| int(t.header_len as u64)),
            Field::TcpFlags => tcp.map(|t| int(u64::from(t.flags.bits()))),
            Field::TcpFlagsFin => flag(TcpFlags::FIN),
            Field::TcpFlagsSyn => flag(TcpFlags::SYN),
            Field::TcpFlagsReset => flag(TcpFlags::RST),
            Field::TcpFlagsPush => flag(TcpFlags::PSH),
            Field::TcpFlagsAck => flag(TcpFlags::ACK),
            Field::TcpFlagsUrg => flag(TcpFlags::URG),
            Field::TcpFlagsEce => flag(TcpFlags::ECE),
            Field::TcpFlagsCwr => flag(TcpFlags::CWR),
            Field::TcpFlagsAe => flag(TcpFlags::AE),
            Field::TcpWindowSizeValue => tcp.map(|t| int(u64::from(t.window))),
            // Scaled by the shift both SYNs agreed on, when the handshake
            // was seen; the raw value otherwise (as Wireshark shows it).
            Field::TcpWindowSize => {
                tcp.map(|t| int(u64::from(p.info.window.unwrap_or(u32::from(t.window)))))
            }
            Field::TcpUrgentPointer => tcp.map(|t| int(u64::from(t.urgent))),
            Field::TcpChecksum => tcp.map(|t| int(u64::from(t.checksum))),
            Field::TcpPayload => tcp.filter(|t| t.payload_len > 0).map(|t| Bytes(&t.payload)),
            Field::TcpAnalysisFlags => analysis.filter(|a| !a.flags.is_empty()).map(|_| Present),
            Field::TcpAnalysis(kind) => analysis.filter(|a| a.has(kind)).map(|_| Present),
            Field::TcpAnalysisAcksFrame => analysis.and_then(|a| a.acked).map(|a| int(a.frame)),
            Field::TcpAnalysisBytesInFlight => analysis
                .and_then(|a| a.bytes_in_flight)
                .map(|b| int(u64::from(b))),
            Field::Udp => udp.map(|_| Present),
            Field::UdpSrcPort => udp.map(|u| int(u64::from(u.src_port))),
            Field::UdpDstPort => udp.map(|u| int(u64::from(u.dst_port))),
            Field::UdpPort => {
                if let Some(u) = udp {
                    each(int(u64::from(u.src_port)));
                    each(int(u64::from(u.dst_port)));
                }
                return;
            }
            Field::UdpLength => udp.map(|u| int(u64::from(u.length))),
            Field::UdpStream => stream(Kind::Udp),
            Field::UdpChecksum => udp.map(|u| int(u64::from(u.checksum))),
            Field::UdpPayload => udp.filter(|u| u.payload_len > 0).map(|u| Bytes(&u.payload)),
        };
        if let Some(v) = one {
            each(v);
        }
    }
}

/// Wireshark names we know but do not offer yet: the error says so rather
/// than calling them unknown.
pub fn not_supported_yet(name: &str) -> bool {
    (name == "tcp.analysis" || name.starts_with("tcp.analysis."))
        && Field::from_name(name).is_none()
}

/// The known field closest to a mistyped name, if one is close.
pub fn closest(name: &str) -> Option<&'static str> {
    Field::ALL
        .iter()
        .map(|f| (crate::catalog::distance(name, f.name()), f.name()))
        .filter(|(d, _)| *d <= 2.max(name.chars().count() / 3))
        .min()
        .map(|(_, n)| n)
}
