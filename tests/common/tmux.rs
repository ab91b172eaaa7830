//! Tests in a real terminal: a `lab` command in a tmux session, driven by
//! send-keys and read back with capture-pane, as a learner would type.

#![allow(dead_code)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One tmux command, on this test process's own tmux server (`-L`), so no
/// other session or server setting meets ours. Its standard streams are
/// never the test's own: a tmux client that inherits them can take keys
/// meant for the pane.
fn tmux(args: &[&str]) -> std::process::Output {
    let server = format!("socket-lab-test-{}", std::process::id());
    Command::new("tmux")
        .args(["-L", &server, "-f", "/dev/null"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("tmux runs")
}

/// A tmux session running one `lab` command in a real terminal.
pub struct Tmux {
    name: String,
}

impl Tmux {
    /// Starts `lab ARGS` (space-separated) in a 160x50 terminal and waits
    /// for `ready` on its screen; `None` (and a line saying why) without
    /// tmux.
    pub fn start(test: &str, args: &str, ready: &str) -> Option<Tmux> {
        if Command::new("tmux").arg("-V").output().is_err() {
            eprintln!("{test} skipped: tmux is not installed (.ci/run installs it)");
            return None;
        }
        let name = format!("lab-{}-{test}", std::process::id());
        // The pane stays after `lab` ends, so its last words can be read;
        // dropping the Tmux ends the session.
        let cmd = format!(
            "env -u HOME -u XDG_STATE_HOME {} --color=never {args}; echo '[lab exited]'; sleep 600",
            env!("CARGO_BIN_EXE_lab")
        );
        let started = tmux(&[
            "new-session",
            "-d",
            "-x",
            "160",
            "-y",
            "50",
            "-s",
            &name,
            &cmd,
        ]);
        assert!(
            started.status.success(),
            "tmux could not start: {started:?}"
        );
        let t = Tmux { name };
        t.wait_for(ready);
        Some(t)
    }

    pub fn screen(&self) -> String {
        let out = tmux(&["capture-pane", "-p", "-J", "-S", "-200", "-t", &self.name]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Types a line and presses Enter, then waits for the next `>>> `
    /// prompt (a line typed before the prompt is back may be dropped by the
    /// line editor, as in any terminal program that resets the tty).
    pub fn line(&self, text: &str) {
        self.quiet();
        let prompts = self.screen().matches(">>> ").count();
        self.type_keys(text);
        // The line editor can drop keys on a loaded machine (seen while the
        // CPU was busy compiling): the line is checked on the screen, and
        // what is missing typed again, before Enter. What the tests are
        // about (the prompt, the blocked call) is untouched.
        for _ in 0..5 {
            let screen = self.screen();
            let shown = screen
                .lines()
                .rev()
                .find_map(|l| l.strip_prefix(">>> "))
                .unwrap_or("")
                .trim_end()
                .to_string();
            if shown == text {
                break;
            }
            if text.starts_with(&shown) {
                self.type_keys(&text[shown.len()..]);
            } else {
                // Something else on the line: clear it and type it whole.
                tmux(&["send-keys", "-t", &self.name, "C-u"]);
                self.type_keys(text);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        tmux(&["send-keys", "-t", &self.name, "Enter"]);
        let start = Instant::now();
        let mut again = false;
        while self.screen().matches(">>> ").count() <= prompts {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "no prompt after {text:?}:\n{}",
                self.screen()
            );
            // An Enter that was dropped too: the line still waits.
            if !again && start.elapsed() > Duration::from_secs(3) {
                tmux(&["send-keys", "-t", &self.name, "Enter"]);
                again = true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until the screen has not changed for 100 ms: the program has
    /// drawn its prompt and printed what it had to, as a person would wait
    /// before typing.
    pub fn quiet(&self) {
        let start = Instant::now();
        let mut last = self.screen();
        let mut since = Instant::now();
        while since.elapsed() < Duration::from_millis(100) {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "the screen never settled:\n{last}"
            );
            std::thread::sleep(Duration::from_millis(20));
            let now = self.screen();
            if now != last {
                last = now;
                since = Instant::now();
            }
        }
    }

    /// Types `text` a key at a time, as a person types, then Enter. (A
    /// whole line sent in one burst just as the prompt starts can lose
    /// keys in the line editor on a loaded machine: seen once in about
    /// fifteen runs with the CPU busy compiling.)
    pub fn type_line(&self, text: &str) {
        self.type_keys(text);
        tmux(&["send-keys", "-t", &self.name, "Enter"]);
    }

    fn type_keys(&self, text: &str) {
        for c in text.chars() {
            tmux(&["send-keys", "-t", &self.name, "-l", &c.to_string()]);
        }
    }

    pub fn keys(&self, keys: &str) {
        tmux(&["send-keys", "-t", &self.name, keys]);
    }

    /// Waits until the screen shows `text` (up to 20 s: far beyond the
    /// milliseconds it takes).
    pub fn wait_for(&self, text: &str) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "the screen never showed {text:?}:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        tmux(&["kill-session", "-t", &self.name]);
    }
}
