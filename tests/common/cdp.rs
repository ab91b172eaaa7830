//! Headless Chromium driven over the Chrome DevTools Protocol (CDP):
//! JSON commands and events over a websocket, as a browser's own tools
//! talk to it. Started with a fresh profile in a temporary folder, on a
//! port the system picks; killed, and the folder removed, whatever
//! happens.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

/// How long any one wait may take: the browser starting, an answer, an
/// event.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// `chromium` on the PATH, if there is one.
pub fn chromium() -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("chromium"))
            .find(|p| p.is_file())
    })
}

/// The browser, and the folder that holds its profile and the page: on
/// drop, whatever happened, the browser is killed and the folder removed.
pub struct Browser {
    child: Child,
    pub dir: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The browser's helpers (renderer, GPU, zygote) are in its process
        // group: all of them go, so none is left writing into the folder.
        let group = nix::unistd::Pid::from_raw(-(self.child.id() as i32));
        let _ = nix::sys::signal::kill(group, nix::sys::signal::Signal::SIGKILL);
        let _ = self.child.kill();
        let _ = self.child.wait();
        // `dir` is removed when it drops, after the browser is gone.
    }
}

impl Browser {
    /// Starts headless Chromium with a fresh profile in `dir`, on a
    /// DevTools port the system picks, and returns it with that port.
    pub fn start(exe: &Path, dir: tempfile::TempDir) -> (Browser, u16) {
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
            // A process group of its own, for Drop to end whole.
            .process_group(0)
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
pub struct Cdp {
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    next: u64,
    pub events: Vec<Value>,
}

impl Cdp {
    pub fn connect(port: u16) -> Cdp {
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
    pub fn call(&mut self, method: &str, params: Value) -> Value {
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
    pub fn wait_event(&mut self, method: &str) -> Value {
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
    pub fn eval(&mut self, expression: &str) -> Value {
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
    pub fn click(&mut self, (x, y): (f64, f64)) {
        self.mouse("mouseMoved", x, y);
        self.mouse("mousePressed", x, y);
        self.mouse("mouseReleased", x, y);
    }

    pub fn mouse(&mut self, kind: &str, x: f64, y: f64) {
        let mut p = json!({"type": kind, "x": x, "y": y});
        if kind != "mouseMoved" {
            p["button"] = "left".into();
            p["clickCount"] = 1.into();
        }
        self.call("Input.dispatchMouseEvent", p);
    }

    /// Console errors, exceptions and error log entries so far.
    pub fn errors(&self) -> Vec<String> {
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
