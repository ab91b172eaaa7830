//! One captured frame taken apart field by field, each field with the
//! bytes that hold it.
//!
//! A frame is a stack of headers: the link layer's (Ethernet, or Linux's
//! "cooked" header when `tcpdump -i any` captured it), then IP's, then
//! TCP's or UDP's, then the application's bytes. [`crate::wire`] decodes
//! those headers into records; this module puts each field of each record
//! back on the bytes it came from, as Wireshark's detail and bytes panes
//! do: `time to live 64` is byte 22 of the frame, the source port bytes 34
//! and 35. Renderers then show the same dissection two ways:
//! [`crate::render::layers`] as a list of layers and fields with what
//! each is for, [`crate::render::hex`] as the bytes themselves, coloured
//! (or labelled) by the field they belong to.
//!
//! The offsets come from each protocol's fixed layout (the `field`
//! modules of [`crate::wire`]), and the values from the decoder, which
//! has already checked that every header is whole and its lengths agree:
//! a frame the decoder refuses is not dissected.

mod ip;
mod link;
mod transport;

use std::ops::Range;

use crate::wire::{self, DecodeError, LinkType};

/// Which layer a header belongs to; renderers colour by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerKind {
    /// Ethernet or Linux cooked: how the frame crossed the interface.
    Link,
    /// IPv4 or IPv6, extension headers included.
    Network,
    /// TCP or UDP.
    Transport,
    /// What the application gave `send()` (or a fragment's data).
    Data,
}

/// One header (or the data), with its fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    /// Which layer it is.
    pub kind: LayerKind,
    /// `IPv4 (network layer)`.
    pub title: String,
    /// The bytes of the frame it takes.
    pub range: Range<usize>,
    /// Its fields, in the order of their bytes.
    pub fields: Vec<Field>,
    /// A line about the whole layer (lo's all-zero addresses, say).
    pub remark: Option<String>,
}

/// One field of a header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// `time to live`.
    pub name: &'static str,
    /// The bytes of the frame that hold it. Fields that share a byte (IPv4's
    /// version and header length, TCP's flags) share the range.
    pub range: Range<usize>,
    /// `64`; empty when the name says it all (a NOP option).
    pub value: String,
    /// What it means, in a learner's words: `routers count it down; ...`.
    pub note: Option<String>,
}

/// A frame, layer by layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dissection {
    /// The bytes captured.
    pub len: usize,
    /// The headers from the outside in, then the data.
    pub layers: Vec<Layer>,
}

impl Layer {
    fn new(kind: LayerKind, title: impl Into<String>, range: Range<usize>) -> Layer {
        Layer {
            kind,
            title: title.into(),
            range,
            fields: Vec::new(),
            remark: None,
        }
    }

    /// Adds a field at `range` (relative to the layer's start).
    fn field(&mut self, name: &'static str, range: Range<usize>, value: impl ToString) {
        let at = self.range.start;
        self.fields.push(Field {
            name,
            range: at + range.start..at + range.end,
            value: value.to_string(),
            note: None,
        });
    }

    /// Adds a field with a note on what it means.
    fn noted(
        &mut self,
        name: &'static str,
        range: Range<usize>,
        value: impl ToString,
        note: impl Into<String>,
    ) {
        self.field(name, range, value);
        if let Some(f) = self.fields.last_mut() {
            f.note = Some(note.into());
        }
    }
}

/// Takes `frame`, captured with link type `link`, apart.
///
/// # Errors
///
/// The decoder's error when a header is cut short by the capture or
/// contradicts itself; such a frame has no reliable field offsets.
pub fn dissect(link: LinkType, frame: &[u8]) -> Result<Dissection, DecodeError> {
    let decoded = wire::decode_frame(link, frame)?;
    let mut layers = Vec::new();
    let ip_start = link::dissect(link, &decoded, &mut layers);
    let ip_end = ip::dissect(&decoded.ip, frame, ip_start, &mut layers);
    // The IP packet ends where its length says (Ethernet pads short frames
    // to 60 bytes; the padding is no one's data).
    let packet_end = frame.len().min(ip_start + decoded.ip.total_len);
    transport::dissect(&decoded, frame, ip_end..packet_end, &mut layers);
    Ok(Dissection {
        len: frame.len(),
        layers,
    })
}

#[cfg(test)]
mod tests;
