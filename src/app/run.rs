//! `lab run`: one lab with its timeline and verdicts, or `--all`.

use std::io::Write;
use std::sync::mpsc;
use std::time::Instant;

use colored::Colorize;

use super::{Failure, Outcome, labs, resolve};
use crate::catalog::Lab;
use crate::check::{self, Verdict};
use crate::clock::Clock;
use crate::expr::Scope;
use crate::render::{human::Human, json};
use crate::runner;
use crate::trace::{Call, Event};

/// Options of one `lab run`.
pub struct RunArgs<'a> {
    pub set: &'a [String],
    pub json: bool,
}

/// Everything one run produced.
pub struct Finished {
    pub calls: Vec<Call>,
    pub verdicts: Vec<Verdict>,
    pub capture: String,
}

impl Finished {
    pub fn passed(&self) -> bool {
        self.verdicts.iter().all(|v| v.passed)
    }
}

/// Runs `lab`, handing every event to `on_event` as it happens.
pub fn execute(
    lab: &Lab,
    knobs: &Scope,
    mut on_event: impl FnMut(&Event) -> std::io::Result<()>,
) -> Result<Finished, Failure> {
    let clock = Clock::start();
    let (tx, rx) = mpsc::channel();
    let capture = "off: not available in this build".to_string();
    let (calls, result) = std::thread::scope(|s| -> Result<_, Failure> {
        let worker = s.spawn(|| runner::run(lab, knobs, clock, &tx));
        let mut calls = Vec::new();
        let mut write_error = None;
        // The channel closes when the runner returns and drops its sender.
        let tx_done = &tx;
        let _ = tx_done;
        loop {
            match rx.recv_timeout(std::time::Duration::from_millis(20)) {
                Ok(event) => {
                    if write_error.is_none()
                        && let Err(e) = on_event(&event)
                    {
                        write_error = Some(e);
                    }
                    if let Event::Call(c) = event {
                        calls.push(c);
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) if worker.is_finished() => {
                    // Drain what is left, then stop.
                    while let Ok(event) = rx.try_recv() {
                        if write_error.is_none()
                            && let Err(e) = on_event(&event)
                        {
                            write_error = Some(e);
                        }
                        if let Event::Call(c) = event {
                            calls.push(c);
                        }
                    }
                    break;
                }
                Err(_) => {}
            }
        }
        let result = worker
            .join()
            .map_err(|_| Failure::Usage("the runner panicked".into()))?;
        if let Some(e) = write_error {
            return Err(e.into());
        }
        Ok((calls, result))
    })?;
    let mut scope = knobs.clone();
    scope.extend(result.saved.clone());
    let verdicts = check::check_all(lab, &scope, &calls, &result.failures);
    Ok(Finished {
        calls,
        verdicts,
        capture,
    })
}

/// `lab run ID`.
pub fn run_one(out: &mut dyn Write, query: &str, args: &RunArgs) -> Outcome {
    let lab = resolve(query)?;
    let knobs = lab.knob_values(args.set)?;
    if args.json {
        json::lab_line(out, lab.id(), &lab.def.title, &knobs)?;
        let done = execute(&lab, &knobs, |e| json::event_line(out, e))?;
        for v in &done.verdicts {
            json::check_line(out, v)?;
        }
        json::summary_line(out, done.passed(), done.calls.len(), &done.capture)?;
        out.flush()?;
        return Ok(done.passed());
    }
    let view = Human::new(&lab);
    view.header(out, &lab, &knobs)?;
    out.flush()?;
    let done = execute(&lab, &knobs, |e| {
        view.event(out, e)?;
        out.flush()
    })?;
    view.verdicts(out, &done.verdicts)?;
    view.explanation(out, &lab)?;
    writeln!(out, "{} capture {}", "·".dimmed(), done.capture.dimmed())?;
    Ok(done.passed())
}

/// `lab run --all`: every lab at its defaults, one verdict line each.
pub fn run_all(out: &mut dyn Write) -> Outcome {
    let labs = labs()?;
    let started = Instant::now();
    let mut all_passed = true;
    for lab in &labs {
        let knobs = lab.knob_values(&[])?;
        let t0 = Instant::now();
        let done = execute(lab, &knobs, |_| Ok(()))?;
        let held = done.verdicts.iter().filter(|v| v.passed).count();
        let mark = if done.passed() {
            "✓".green().bold()
        } else {
            "✗".red().bold()
        };
        writeln!(
            out,
            "{mark} {:<24} {held}/{} checks  {:>5} ms",
            lab.id(),
            done.verdicts.len(),
            t0.elapsed().as_millis()
        )?;
        for v in done.verdicts.iter().filter(|v| !v.passed) {
            writeln!(out, "    ✗ {}: {}", v.name, v.detail)?;
        }
        all_passed &= done.passed();
    }
    writeln!(
        out,
        "{} labs in {} ms",
        labs.len(),
        started.elapsed().as_millis()
    )?;
    Ok(all_passed)
}
