use super::*;
use crate::correlate::MapEntry;
use crate::trace::{Call, Op, Packet};

/// An Ethernet frame (as `lo` gives them) with IPv4 and TCP from
/// 127.0.0.1:40000 to 127.0.0.1:7000, built byte by byte.
fn frame(seq: u32, flags: u8, payload: &[u8]) -> Packet {
    let mut f = vec![0u8; 12];
    f.extend_from_slice(&[0x08, 0x00]);
    let total = (40 + payload.len()) as u16;
    f.extend_from_slice(&[
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0,
        1,
        0x40,
        0,
        64,
        6,
        0,
        0,
    ]);
    f.extend_from_slice(&[127, 0, 0, 1, 127, 0, 0, 1]);
    f.extend_from_slice(&40000u16.to_be_bytes());
    f.extend_from_slice(&7000u16.to_be_bytes());
    f.extend_from_slice(&seq.to_be_bytes());
    f.extend_from_slice(&0u32.to_be_bytes());
    f.extend_from_slice(&[0x50, flags, 0x02, 0x00, 0, 0, 0, 0]);
    f.extend_from_slice(payload);
    let len = f.len();
    Packet::decode(0, f, len)
}

/// A connect's SYN, and a send whose segment carries text that would end
/// a script element early if it were written as it is.
fn page() -> Page {
    let mut p = Page::new("lab run 01 <&>");
    let mut syn = frame(1000, 0x02, b"");
    syn.t_us = 100;
    let mut data = frame(1001, 0x18, b"</script><!--");
    data.t_us = 300;
    let mut connect = Call::new(90, "client", Op::Connect);
    connect.returned = Some(0);
    let mut send = Call::new(290, "client", Op::Send);
    send.len = Some(13);
    send.returned = Some(13);
    send.data = Some(b"</script><!--".to_vec());
    for e in [
        Event::Call(connect),
        Event::Packet(syn),
        Event::Call(send),
        Event::Packet(data),
        Event::Map(MapEntry {
            call: 1,
            packets: vec![1],
            sources: vec![],
        }),
    ] {
        p.add(&e);
    }
    p
}

/// The text of the page's one `<script type="application/json">`.
fn embedded(html: &str) -> &str {
    let open = "<script type=\"application/json\" id=\"session\">";
    assert_eq!(html.matches(open).count(), 1);
    let start = html.find(open).unwrap() + open.len();
    let len = html[start..].find("</script>").unwrap();
    &html[start..start + len]
}

#[test]
fn the_embedded_session_reads_back_whole_though_its_data_holds_a_closing_tag() {
    let p = page();
    let html = p.render();
    let text = embedded(&html);
    assert!(!text.contains('<'), "{text}");
    let back: Json = serde_json::from_str(text).unwrap();
    assert_eq!(back, p.data());
    let events = back["events"].as_array().unwrap();
    assert_eq!(events.len(), 5);
    assert_eq!(events[2]["kind"], "call");
    assert_eq!(events[2]["index"], 1);
    assert_eq!(events[2]["data"], "</script><!--");
    assert_eq!(events[3]["index"], 1);
    assert_eq!(events[4]["kind"], "map");
}

#[test]
fn a_packet_carries_its_fields_on_its_bytes() {
    let v = page().data();
    let packet = &v["events"][3];
    let bytes = packet["bytes"].as_str().unwrap();
    let layers = packet["layers"].as_array().unwrap();
    let kinds: Vec<&str> = layers.iter().map(|l| l["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["link", "network", "transport", "data"]);
    // Every field's bytes lie inside its layer, and the layers inside the frame.
    for l in layers {
        let (a, b) = (
            l["range"][0].as_u64().unwrap(),
            l["range"][1].as_u64().unwrap(),
        );
        assert!(a < b && b as usize <= bytes.len() / 2, "{l}");
        for f in l["fields"].as_array().unwrap() {
            let (fa, fb) = (
                f["range"][0].as_u64().unwrap(),
                f["range"][1].as_u64().unwrap(),
            );
            assert!(a <= fa && fa < fb && fb <= b, "{f} outside {l}");
        }
    }
    // The source port is the two bytes after IPv4's 20: 40000 is 9c40.
    let tcp = &layers[2];
    let port = tcp["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "source port")
        .unwrap();
    assert_eq!(port["value"], "40000");
    let (a, b) = (
        port["range"][0].as_u64().unwrap() as usize,
        port["range"][1].as_u64().unwrap() as usize,
    );
    assert_eq!(&bytes[2 * a..2 * b], "9c40");
    // The data layer holds the payload's bytes.
    let d = &layers[3];
    let (a, b) = (
        d["range"][0].as_u64().unwrap() as usize,
        d["range"][1].as_u64().unwrap() as usize,
    );
    let payload: String = b"</script><!--"
        .iter()
        .map(|c| format!("{c:02x}"))
        .collect();
    assert_eq!(&bytes[2 * a..2 * b], payload);
    // Nothing to say of a lone segment: no marks, no analysis.
    assert_eq!(packet["marks"], serde_json::json!([]));
    assert!(packet.get("analysis").is_none() && packet.get("analysis_text").is_none());
}

#[test]
fn the_page_needs_nothing_from_elsewhere() {
    let html = page().render();
    for outside in ["src=", "href=", "@import", "url(http", "//cdn", "fetch("] {
        assert!(!html.contains(outside), "the page refers to {outside}");
    }
    // The diagram is inside, each packet and call marked for the script.
    assert!(html.contains("<svg"));
    assert!(html.contains("data-packet=\"1\""));
    assert!(html.contains("data-call=\"1\""));
    assert!(html.contains("<title>lab run 01 &lt;&amp;&gt;</title>"));
}
