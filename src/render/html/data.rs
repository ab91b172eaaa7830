//! What a packet's JSON object gains on a page: its dissection, layer by
//! layer and field by field with the bytes each holds, and the bytes
//! themselves, for the detail and bytes panes.

use serde_json::{Value as Json, json};

use crate::dissect::{Dissection, LayerKind};
use crate::trace::Packet;

/// Sets `key` on a JSON object.
pub(super) fn set(v: &mut Json, key: &str, value: Json) {
    if let Some(o) = v.as_object_mut() {
        o.insert(key.into(), value);
    }
}

/// Adds to a packet's object (which has `analysis` already when
/// Wireshark's TCP analysis has something to say of it, as `--json`
/// writes it): `bytes`, the frame in hex; `layers`, its dissection (or
/// `dissect_error`, why it has none); `marks`, the analysis flags as
/// short tags, and `analysis_text`, the analysis as `--detail` writes it.
pub(super) fn packet_detail(v: &mut Json, p: &Packet) {
    set(v, "bytes", hex(&p.raw).into());
    // Frames of lo, and frames read from a file, start with an Ethernet
    // header (the reader rewrites other link layers to it: `crate::pcap`).
    match crate::dissect::dissect(crate::wire::LinkType::Ethernet, &p.raw) {
        Ok(d) => set(v, "layers", layers(&d)),
        Err(e) => set(v, "dissect_error", e.to_string().into()),
    }
    // The marks the diagram draws, from the one place that reads them off
    // a packet: a flag (`retransmission of #6`, `dup ACK #1 of #9`) shows
    // on the page's rows as on the diagram's arrows.
    let marks: Vec<Json> = crate::render::svg::analysis_marks(p)
        .into_iter()
        .map(|m| m.label.into())
        .collect();
    set(v, "marks", marks.into());
    if let Some(a) = p.info.analysis.as_ref().filter(|a| !a.is_empty()) {
        set(
            v,
            "analysis_text",
            crate::render::analysis::section(a).into(),
        );
    }
}

/// `45 00 00 41` as `"45000041"`.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn layers(d: &Dissection) -> Json {
    let layers: Vec<Json> = d
        .layers
        .iter()
        .map(|l| {
            let fields: Vec<Json> = l
                .fields
                .iter()
                .map(|f| {
                    json!({"name": f.name, "range": [f.range.start, f.range.end],
                           "value": f.value, "note": f.note})
                })
                .collect();
            json!({
                "kind": kind(l.kind),
                "title": l.title,
                "range": [l.range.start, l.range.end],
                "remark": l.remark,
                "fields": fields,
            })
        })
        .collect();
    layers.into()
}

fn kind(k: LayerKind) -> &'static str {
    match k {
        LayerKind::Link => "link",
        LayerKind::Network => "network",
        LayerKind::Transport => "transport",
        LayerKind::Data => "data",
    }
}
