//! `--html FILE`: the page of a real run of lab 09, opened in a real
//! browser. Headless Chromium is driven over the Chrome DevTools Protocol
//! (JSON over a websocket): the page must load without a console error or
//! an exception, a real mouse click on a packet's arrow must show that
//! packet's fields and bytes, pointing at a field must light exactly its
//! bytes, a click on a call must show the call and its packets, and the
//! screenshot must not be blank. Without capture privilege or without
//! `chromium` the browser test prints why it skips.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};
use socket_lab::app::CaptureMode;

#[path = "common/cdp.rs"]
mod cdp;

use cdp::{Browser, Cdp, chromium};

mod common;
use common::skip;

fn lab(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lab"))
        .args(args)
        .current_dir(dir)
        // Progress off: these runs are not the developer's own progress.
        .env_remove("HOME")
        .env_remove("XDG_STATE_HOME")
        .output()
        .expect("run lab")
}

/// Opens `page` (a file in `dir`) in a new headless Chromium whose profile
/// goes in `dir` too, and waits until it has loaded without an error.
fn open_in_browser(exe: &Path, dir: tempfile::TempDir, page: &Path) -> (Browser, Cdp) {
    let (browser, port) = Browser::start(exe, dir);
    let mut cdp = Cdp::connect(port);
    for domain in ["Runtime.enable", "Log.enable", "Page.enable"] {
        cdp.call(domain, json!({}));
    }
    cdp.call(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": 1400, "height": 1000, "deviceScaleFactor": 1, "mobile": false}),
    );
    cdp.events.clear();
    let url = format!("file://{}", page.display());
    cdp.call("Page.navigate", json!({ "url": url }));
    cdp.wait_event("Page.loadEventFired");
    assert_eq!(cdp.eval("document.readyState"), "complete");
    assert_eq!(cdp.errors(), Vec::<String>::new(), "errors on loading");
    (browser, cdp)
}

/// The centre of the first element `selector` finds, scrolled into view,
/// checked to be what a click there lands on (inside `owner`).
fn centre(cdp: &mut Cdp, selector: &str, owner: &str) -> (f64, f64) {
    let sel = serde_json::to_string(selector).unwrap();
    let own = serde_json::to_string(owner).unwrap();
    let v = cdp.eval(&format!(
        "(() => {{ const e = document.querySelector({sel}); if (!e) return null;
           e.scrollIntoView({{block: 'center', inline: 'center'}});
           const r = e.getBoundingClientRect();
           const x = r.left + r.width / 2, y = r.top + r.height / 2;
           const hit = document.elementFromPoint(x, y);
           return {{x, y, lands: !!(hit && hit.closest({own}) === e.closest({own}))}}; }})()"
    ));
    assert!(!v.is_null(), "no element {selector} on the page");
    assert_eq!(
        v["lands"], true,
        "a click on {selector} lands elsewhere: {v}"
    );
    (v["x"].as_f64().unwrap(), v["y"].as_f64().unwrap())
}

fn pane(cdp: &mut Cdp) -> String {
    cdp.eval("document.getElementById('detail').innerText")
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn the_page_of_a_run_opens_in_a_browser_and_a_click_shows_a_packet_and_a_call() {
    let test = "html_in_a_browser";
    if let CaptureMode::Off(reason) = CaptureMode::detect(true) {
        return skip(test, &reason);
    }
    let Some(exe) = chromium() else {
        return skip(
            test,
            "no chromium on the PATH (Debian: apt-get install chromium)",
        );
    };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("run.html");
    let out = lab(dir.path(), &["run", "09", "--html", "run.html"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("page written to run.html"), "{stdout}");
    let (browser, mut cdp) = open_in_browser(&exe, dir, &page);

    // The segment that carried the client's "hello", and the send it came from.
    let ids = cdp.eval(
        "(() => { const d = JSON.parse(document.getElementById('session').textContent);
           const p = d.events.find(e => e.kind === 'packet' && e.data === 'hello');
           const c = d.events.find(e => e.kind === 'call' && e.op === 'send' && e.data === 'hello');
           return {packet: p.index, frame: p.frame, src: p.src, call: c.index}; })()",
    );
    let (packet, frame, call) = (&ids["packet"], &ids["frame"], &ids["call"]);
    let src_port: u16 = ids["src"]
        .as_str()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();

    // Its arrow in the diagram, clicked.
    let arrow = format!("#diagram g[data-packet=\"{packet}\"] line:not(.hit)");
    let at = centre(&mut cdp, &arrow, "[data-packet]");
    cdp.click(at);
    let text = pane(&mut cdp);
    for want in [
        format!("Packet #{frame}"),
        "source port".into(),
        "sequence number".into(),
        "hello".into(),
        "TCP (transport layer)".into(),
        "Carries the bytes of".into(),
        // Wireshark's TCP analysis of it: the 5 bytes not yet ACKed.
        "TCP analysis".into(),
        "5 bytes in flight".into(),
    ] {
        assert!(text.contains(&want), "no {want:?} in the pane:\n{text}");
    }
    let selected = cdp.eval("document.querySelectorAll('.sel[data-packet]').length");
    assert!(
        selected.as_u64().unwrap() >= 2,
        "arrow and row selected: {selected}"
    );

    // Pointing at the source port lights its two bytes, and only them.
    let row = cdp.eval(
        "(() => { const r = [...document.querySelectorAll('#detail tr.field')]
             .find(r => r.cells[0].textContent === 'source port');
           r.setAttribute('id', 'srcport'); return true; })()",
    );
    assert_eq!(row, true);
    let (x, y) = centre(&mut cdp, "#srcport", "tr");
    cdp.mouse("mouseMoved", x, y);
    let lit = cdp.eval(
        "[...document.querySelectorAll('#detail pre.bytes span.hl')]
           .filter(s => s.textContent.length === 2).map(s => s.textContent).join('')",
    );
    assert_eq!(
        lit,
        format!("{src_port:04x}"),
        "the bytes lit for the source port"
    );

    // Pointing at a byte of the payload lights the field that holds it.
    let (x, y) = centre(
        &mut cdp,
        "#detail pre.bytes span[data-b]:last-of-type",
        "pre",
    );
    cdp.mouse("mouseMoved", x, y);
    let field = cdp.eval("document.querySelector('#detail tr.field.hl').cells[0].textContent");
    assert_eq!(field, "data", "the field of the last byte");

    // The segment that carried "feng", clicked in the timeline.
    let feng = cdp.eval(
        "(() => { const d = JSON.parse(document.getElementById('session').textContent);
           const p = d.events.find(e => e.kind === 'packet' && e.data === 'feng');
           return {packet: p.index, frame: p.frame}; })()",
    );
    let row = format!("#timeline tr[data-packet=\"{}\"]", feng["packet"]);
    let at = centre(&mut cdp, &row, "tr");
    cdp.click(at);
    let text = pane(&mut cdp);
    let title = format!("Packet #{}", feng["frame"]);
    assert!(text.contains(&title) && text.contains("\"feng\""), "{text}");

    // The send, clicked where the diagram labels it.
    let label = cdp.eval(&format!(
        "(() => {{ const t = [...document.querySelectorAll('#diagram text[data-call=\"{call}\"]')]
             .find(t => t.textContent.includes('hello'));
           t.setAttribute('id', 'sendlabel'); return t.textContent; }})()"
    ));
    assert!(
        label.as_str().unwrap().trim().starts_with("send"),
        "{label}"
    );
    let at = centre(&mut cdp, "#sendlabel", "[data-call]");
    cdp.click(at);
    let text = pane(&mut cdp);
    for want in [
        "client: send".to_string(),
        "socket".into(),
        "result".into(),
        "\"hello\"".into(),
        "Packets the map ties it to".into(),
        format!("#{frame}"),
    ] {
        assert!(text.contains(&want), "no {want:?} in the pane:\n{text}");
    }
    assert_eq!(
        cdp.errors(),
        Vec::<String>::new(),
        "errors after the clicks"
    );

    // The page as it looks, not blank.
    let shot = cdp.call("Page.captureScreenshot", json!({"format": "png"}));
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(shot["data"].as_str().expect("PNG data"))
        .expect("base64");
    let file = browser.dir.path().join("page.png");
    std::fs::write(&file, &bytes).unwrap();
    if let Some(keep) = std::env::var_os("LAB_HTML_SCREENSHOT") {
        std::fs::copy(&file, keep).unwrap();
    }
    let decoder = png::Decoder::new(std::io::Cursor::new(&bytes));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("a size")];
    let info = reader.next_frame(&mut buf).expect("a frame");
    assert_eq!((info.width, info.height), (1400, 1000));
    let px = info.color_type.samples();
    let mut colours = std::collections::HashSet::new();
    for p in buf[..info.buffer_size()].chunks(px) {
        colours.insert(p.to_vec());
    }
    assert!(
        colours.len() > 50,
        "only {} colours: a blank page?",
        colours.len()
    );
    drop(browser);
}

#[test]
fn a_page_that_cannot_be_written_is_one_line_and_no_run() {
    let dir = tempfile::tempdir().unwrap();
    for (path, says) in [
        ("no/such/folder/run.html", "cannot write"),
        (".", "is a folder"),
    ] {
        let out = lab(dir.path(), &["run", "09", "--no-capture", "--html", path]);
        assert_eq!(out.status.code(), Some(2), "{path}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains(says), "{err}");
        assert!(
            out.stdout.is_empty(),
            "the run started: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "a file was left"
    );
}

#[test]
fn the_page_of_a_file_embeds_every_packet_taken_apart() {
    let test = "html_of_a_pcap";
    if let CaptureMode::Off(reason) = CaptureMode::detect(true) {
        return skip(test, &reason);
    }
    let dir = tempfile::tempdir().unwrap();
    let out = lab(dir.path(), &["run", "09", "--pcap", "run.pcap"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = lab(
        dir.path(),
        &[
            "inspect",
            "run.pcap",
            "--filter",
            "tcp.len > 0",
            "--html",
            "data.html",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(dir.path().join("data.html")).unwrap();
    let open = "<script type=\"application/json\" id=\"session\">";
    let start = html.find(open).expect("the session's JSON") + open.len();
    let end = start + html[start..].find("</script>").unwrap();
    let v: Value = serde_json::from_str(&html[start..end]).unwrap();
    let packets: Vec<&Value> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "packet")
        .collect();
    // The filter keeps the two segments of data: "hello" and "feng".
    let data: Vec<&str> = packets
        .iter()
        .map(|p| p["data"].as_str().unwrap())
        .collect();
    assert_eq!(data, ["hello", "feng"]);
    for p in &packets {
        let layers = p["layers"].as_array().expect("layers");
        let last = layers.last().unwrap();
        assert_eq!(last["kind"], "data");
        let (a, b) = (
            last["range"][0].as_u64().unwrap() as usize,
            last["range"][1].as_u64().unwrap() as usize,
        );
        let hex = &p["bytes"].as_str().unwrap()[2 * a..2 * b];
        let text: String = (0..hex.len() / 2)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap() as char)
            .collect();
        assert_eq!(text, p["data"].as_str().unwrap());
    }
    // A page with packets only (no calls, no map, no checks) works too.
    let Some(exe) = chromium() else {
        return skip(test, "no chromium on the PATH: the page is not opened");
    };
    let page = dir.path().join("data.html");
    let (browser, mut cdp) = open_in_browser(&exe, dir, &page);
    let at = centre(&mut cdp, "#timeline tr[data-packet=\"1\"]", "tr");
    cdp.click(at);
    let text = pane(&mut cdp);
    assert!(
        text.contains("\"feng\"") && text.contains("destination port"),
        "{text}"
    );
    assert_eq!(cdp.errors(), Vec::<String>::new(), "errors after a click");
    drop(browser);
}
