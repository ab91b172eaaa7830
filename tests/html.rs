//! `--html FILE`: the page of a real run of lab 09, opened in a real
//! browser. Headless Chromium is driven over the Chrome DevTools Protocol
//! (JSON over a websocket): the page must load without a console error or
//! an exception, a real mouse click on a packet's arrow must show that
//! packet's fields and bytes, pointing at a field must light exactly its
//! bytes, a click on a call must show the call and its packets, and the
//! screenshot must not be blank. Without capture privilege or without
//! `chromium` the browser test prints why it skips.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use socket_lab::app::CaptureMode;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

/// How long any one wait may take: the page loading, an answer, an event.
const TIMEOUT: Duration = Duration::from_secs(30);

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

/// Says why a test skips, on the real stderr.
fn skip(test: &str, reason: &str) {
    let _ = writeln!(std::io::stderr(), "{test}: skipped: {reason}");
}

/// `chromium` on the PATH, if there is one.
fn chromium() -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("chromium"))
            .find(|p| p.is_file())
    })
}

/// The browser, and the folder that holds its profile and the page: on
/// drop, whatever happened, the browser is killed and the folder removed.
struct Browser {
    child: Child,
    dir: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // `dir` is removed when it drops, after the browser is gone.
    }
}

impl Browser {
    /// Starts headless Chromium with a fresh profile in `dir`, on a
    /// DevTools port the system picks, and returns it with that port.
    fn start(exe: &Path, dir: tempfile::TempDir) -> (Browser, u16) {
        let profile = dir.path().join("profile");
        let child = Command::new(exe)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-port=0",
                "--window-size=1400,1000",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromium");
        let mut browser = Browser { child, dir };
        // Chromium writes the port it listens on (line 1) once it does.
        let file = profile.join("DevToolsActivePort");
        let deadline = Instant::now() + TIMEOUT;
        let port = loop {
            if let Some(port) = std::fs::read_to_string(&file)
                .ok()
                .and_then(|s| s.lines().next().and_then(|l| l.trim().parse().ok()))
            {
                break port;
            }
            if let Ok(Some(status)) = browser.child.try_wait() {
                panic!("chromium exited before it listened: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "chromium wrote no DevToolsActivePort"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        (browser, port)
    }
}

/// `GET path` on the DevTools HTTP endpoint, or None when it gave no
/// whole answer (it may not serve yet).
fn http_get(port: u16, path: &str) -> Option<Value> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(TIMEOUT)).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    // Read to the end of the body its Content-Length gives: the server
    // may keep the connection open.
    let mut got: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        got.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&got);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len = head.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse::<usize>().ok())?
            })?;
            if body.len() >= len {
                break;
            }
        }
    }
    let text = String::from_utf8_lossy(&got).into_owned();
    let body = text.split_once("\r\n\r\n")?.1;
    serde_json::from_str(body).ok()
}

/// One page's DevTools session: commands answered by id, the events that
/// arrive meanwhile kept in order.
struct Cdp {
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    next: u64,
    events: Vec<Value>,
}

impl Cdp {
    fn connect(port: u16) -> Cdp {
        // The browser's first page, once it lists one.
        let deadline = Instant::now() + TIMEOUT;
        let url = loop {
            let page = http_get(port, "/json/list").and_then(|targets| {
                targets.as_array()?.iter().find(|t| t["type"] == "page")?["webSocketDebuggerUrl"]
                    .as_str()
                    .map(String::from)
            });
            if let Some(url) = page {
                break url;
            }
            assert!(Instant::now() < deadline, "DevTools listed no page");
            std::thread::sleep(Duration::from_millis(50));
        };
        let url = url.as_str();
        let (ws, _) = tungstenite::connect(url).expect("open the page's websocket");
        if let MaybeTlsStream::Plain(s) = ws.get_ref() {
            // Short reads, so that a wait can check its own deadline.
            s.set_read_timeout(Some(Duration::from_millis(200)))
                .unwrap();
        }
        Cdp {
            ws,
            next: 0,
            events: Vec::new(),
        }
    }

    /// The next message, or None when none came in a short while.
    fn read(&mut self, deadline: Instant, waiting_for: &str) -> Option<Value> {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {waiting_for}"
        );
        match self.ws.read() {
            Ok(Message::Text(t)) => Some(serde_json::from_str(t.as_str()).expect("CDP JSON")),
            Ok(_) => None,
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                None
            }
            Err(e) => panic!("DevTools websocket: {e} (waiting for {waiting_for})"),
        }
    }

    /// Sends a command and returns its result; an error answer fails.
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next += 1;
        let id = self.next;
        let msg = json!({"id": id, "method": method, "params": params});
        self.ws
            .send(Message::text(msg.to_string()))
            .expect("send a CDP command");
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let Some(m) = self.read(deadline, method) else {
                continue;
            };
            if m["id"] == id {
                assert!(m.get("error").is_none(), "{method}: {m}");
                return m["result"].clone();
            }
            if m.get("method").is_some() {
                self.events.push(m);
            }
        }
    }

    /// Waits for an event (one that already came counts).
    fn wait_event(&mut self, method: &str) -> Value {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(e) = self.events.iter().find(|e| e["method"] == method) {
                return e.clone();
            }
            if let Some(m) = self.read(deadline, method)
                && m.get("method").is_some()
            {
                self.events.push(m);
            }
        }
    }

    /// The value of a JavaScript expression; an exception fails.
    fn eval(&mut self, expression: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true}),
        );
        assert!(
            r.get("exceptionDetails").is_none(),
            "{expression}: {}",
            r["exceptionDetails"]
        );
        r["result"]["value"].clone()
    }

    /// A real click (the mouse pressed and released) at a point of the
    /// viewport, as a user's mouse would give it.
    fn click(&mut self, (x, y): (f64, f64)) {
        self.mouse("mouseMoved", x, y);
        self.mouse("mousePressed", x, y);
        self.mouse("mouseReleased", x, y);
    }

    fn mouse(&mut self, kind: &str, x: f64, y: f64) {
        let mut p = json!({"type": kind, "x": x, "y": y});
        if kind != "mouseMoved" {
            p["button"] = "left".into();
            p["clickCount"] = 1.into();
        }
        self.call("Input.dispatchMouseEvent", p);
    }

    /// Console errors, exceptions and error log entries so far.
    fn errors(&self) -> Vec<String> {
        self.events
            .iter()
            .filter(|e| match e["method"].as_str() {
                Some("Runtime.exceptionThrown") => true,
                Some("Runtime.consoleAPICalled") => e["params"]["type"] == "error",
                Some("Log.entryAdded") => e["params"]["entry"]["level"] == "error",
                _ => false,
            })
            .map(|e| e.to_string())
            .collect()
    }
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
    let (browser, port) = Browser::start(&exe, dir);
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
}
