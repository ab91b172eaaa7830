//! Where `lab repl`'s lines come from: the terminal through rustyline
//! (history, completion of names and methods, a hint of each method's
//! arguments), or a script on standard input.

use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use colored::Colorize;

use super::Printer;
use crate::app::Failure;
use crate::repl::translate;

/// What reading a line gave.
pub(super) enum Read {
    Line(String),
    /// Ctrl-C at the prompt.
    Interrupted,
    /// Ctrl-D, or the end of a script.
    End,
}

/// Where lines come from: the terminal through rustyline, or a script.
pub(super) enum Input {
    Terminal {
        editor: Box<rustyline::Editor<Helper, rustyline::history::DefaultHistory>>,
        printer: Printer,
        /// The line editor is reading: output goes above the prompt
        /// through its printer. Otherwise straight to the terminal (the
        /// editor would hold it until the next prompt, and then draw it
        /// while the learner may already be typing).
        reading: Arc<AtomicBool>,
    },
    Script {
        lines: std::io::Lines<std::io::StdinLock<'static>>,
        printer: Printer,
    },
}

impl Input {
    pub(super) fn new(terminal: bool) -> Result<Input, Failure> {
        if !terminal {
            let stdout: Box<dyn FnMut(String) + Send> = Box::new(|text: String| {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{text}");
                let _ = out.flush();
            });
            return Ok(Input::Script {
                lines: std::io::stdin().lock().lines(),
                printer: Arc::new(Mutex::new(stdout)),
            });
        }
        let mut editor = rustyline::Editor::new()
            .map_err(|e| Failure::Usage(format!("cannot use the terminal: {e}")))?;
        editor.set_helper(Some(Helper::default()));
        let mut external = editor
            .create_external_printer()
            .map_err(|e| Failure::Usage(format!("cannot use the terminal: {e}")))?;
        let reading = Arc::new(AtomicBool::new(false));
        let editing = Arc::clone(&reading);
        let print: Box<dyn FnMut(String) + Send> = Box::new(move |text: String| {
            use rustyline::ExternalPrinter;
            if editing.load(Ordering::SeqCst) {
                let _ = external.print(format!("{text}\n"));
            } else {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{text}");
                let _ = out.flush();
            }
        });
        Ok(Input::Terminal {
            editor: Box::new(editor),
            printer: Arc::new(Mutex::new(print)),
            reading,
        })
    }

    pub(super) fn printer(&self) -> Printer {
        match self {
            Input::Terminal { printer, .. } | Input::Script { printer, .. } => Arc::clone(printer),
        }
    }

    /// Gives completion the names the session has now.
    pub(super) fn set_names(&mut self, names: Vec<String>) {
        if let Input::Terminal { editor, .. } = self
            && let Some(h) = editor.helper_mut()
        {
            h.names = names;
        }
    }

    pub(super) fn read(&mut self) -> Result<Read, Failure> {
        match self {
            Input::Script { lines, .. } => match lines.next() {
                None => Ok(Read::End),
                Some(Ok(line)) => Ok(Read::Line(line)),
                Some(Err(e)) => Err(Failure::Usage(format!("cannot read standard input: {e}"))),
            },
            Input::Terminal {
                editor,
                printer,
                reading,
            } => {
                // Whatever the printer is writing finishes first; from now
                // on output goes above the prompt.
                let held = printer.lock().unwrap_or_else(|p| p.into_inner());
                reading.store(true, Ordering::SeqCst);
                drop(held);
                let line = editor.readline(">>> ");
                let held = printer.lock().unwrap_or_else(|p| p.into_inner());
                reading.store(false, Ordering::SeqCst);
                drop(held);
                match line {
                    Ok(line) => {
                        let _ = editor.add_history_entry(line.as_str());
                        Ok(Read::Line(line))
                    }
                    Err(rustyline::error::ReadlineError::Interrupted) => Ok(Read::Interrupted),
                    Err(rustyline::error::ReadlineError::Eof) => Ok(Read::End),
                    Err(e) => Err(Failure::Usage(format!("cannot read the terminal: {e}"))),
                }
            }
        }
    }
}

/// Completion of names and methods, and a hint of a method's arguments.
#[derive(Default)]
pub(super) struct Helper {
    names: Vec<String>,
}

impl rustyline::completion::Completer for Helper {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        let before = &line[..pos];
        let start = before
            .char_indices()
            .rev()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '.'))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let word = &before[start..];
        let candidates: Vec<String> = match word.split_once('.') {
            Some((var, method)) => translate::METHODS
                .iter()
                .filter(|m| m.starts_with(method))
                .map(|m| format!("{var}.{m}("))
                .collect(),
            None => self
                .names
                .iter()
                .map(String::as_str)
                .chain([
                    "socket(",
                    "AF_INET",
                    "AF_UNIX",
                    "SOCK_STREAM",
                    "SOCK_DGRAM",
                    "SOL_SOCKET",
                    "IPPROTO_TCP",
                    "SHUT_WR",
                    "help",
                    "map",
                    "state",
                    "save ",
                ])
                .filter(|n| n.starts_with(word))
                .map(str::to_string)
                .collect(),
        };
        Ok((start, candidates))
    }
}

impl rustyline::hint::Hinter for Helper {
    type Hint = String;

    fn hint(&self, line: &str, pos: usize, _: &rustyline::Context<'_>) -> Option<String> {
        if pos != line.len() || !line.ends_with('(') {
            return None;
        }
        let method = line[..line.len() - 1].rsplit('.').next()?;
        let hint = match method {
            "bind" | "connect" | "connect_ex" => "('127.0.0.1', 0))",
            "listen" => "5)",
            "recv" | "recvfrom" => "1024)",
            "send" | "sendall" => "b'hello')",
            "sendto" => "b'hi', ('127.0.0.1', 9000))",
            "setsockopt" => "SOL_SOCKET, SO_REUSEADDR, 1)",
            "getsockopt" => "SOL_SOCKET, SO_RCVBUF)",
            "settimeout" => "2.5)",
            "setblocking" => "False)",
            "shutdown" => "SHUT_WR)",
            "socket" => "AF_INET, SOCK_STREAM)",
            _ => return None,
        };
        Some(hint.dimmed().to_string())
    }
}

impl rustyline::highlight::Highlighter for Helper {}
impl rustyline::validate::Validator for Helper {}
impl rustyline::Helper for Helper {}
