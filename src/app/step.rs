//! `lab run ID --step`: the run stops before every step, shows what has
//! happened so far, and waits for the learner.
//!
//! The pieces:
//!
//! - [`Stepper`] is the run's [`Controller`]: an actor about to start a
//!   step asks it, and it passes the question to the thread that shows the
//!   run (the only one that writes to the terminal), then waits for the
//!   answer. Lab time stands still meanwhile, so a peer blocked in `recv`
//!   does not time out however long the learner thinks. `lab run
//!   --predict` uses it too, stopping only at the steps that carry one of
//!   the lab's questions ([`Pausing::Questions`], see `predict.rs`).
//! - [`Waiting`] follows which actors are inside a call that has not
//!   returned (a `CallStarted` without its `Call`): at a pause, "the server
//!   is blocked in recv" is what a learner most needs to see.
//! - [`StepView`] is the human view plus the prompt.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use colored::Colorize;

use crate::render::human::Human;
use crate::runner::{Controller, Decision};
use crate::trace::{Event, Op, StepStarted};

use super::run::View;

/// What the learner answered at a pause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Run this step, and stop again before the next one.
    Step,
    /// Run to the end without stopping.
    Continue,
    /// Stop the run here.
    Quit,
}

/// Where a run stops for the learner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pausing {
    /// Nowhere: `lab run`, the tests, the book.
    Never,
    /// Before every step (`lab run --step`).
    EveryStep,
    /// Only before the steps that carry one of the lab's questions
    /// (`lab run --predict`).
    Questions,
}

/// One question from an actor to the view: may I run this step?
pub struct Ask {
    pub step: StepStarted,
    reply: mpsc::Sender<Decision>,
}

/// The controller of a run that may pause before its steps.
pub struct Stepper {
    asks: Mutex<mpsc::Sender<Ask>>,
    /// Still stopping before each step (false once the learner said `c`,
    /// and always false for a batch run).
    stepping: AtomicBool,
    /// The learner said `q`: every step from now on is refused.
    quit: AtomicBool,
    /// Steps without a question run without asking (`--predict`).
    only_questions: bool,
}

impl Stepper {
    /// A controller that stops where `pausing` says.
    pub fn new(asks: mpsc::Sender<Ask>, pausing: Pausing) -> Stepper {
        Stepper {
            asks: Mutex::new(asks),
            stepping: AtomicBool::new(pausing != Pausing::Never),
            quit: AtomicBool::new(false),
            only_questions: pausing == Pausing::Questions,
        }
    }

    /// Whether questions still go to the learner. An actor may have asked
    /// while the learner was answering another: after `c` or `q`, its
    /// question is answered without asking again.
    pub fn settled(&self) -> Option<Answer> {
        if self.quit.load(Ordering::SeqCst) {
            Some(Answer::Quit)
        } else if !self.stepping.load(Ordering::SeqCst) {
            Some(Answer::Continue)
        } else {
            None
        }
    }

    /// Passes the learner's answer to the actor that asked.
    pub fn answer(&self, ask: &Ask, answer: Answer) {
        let decision = match answer {
            Answer::Step => Decision::Run,
            Answer::Continue => {
                self.stepping.store(false, Ordering::SeqCst);
                Decision::Run
            }
            Answer::Quit => {
                self.quit.store(true, Ordering::SeqCst);
                Decision::Stop
            }
        };
        // The actor waits for this; it is gone only if the run is over.
        let _ = ask.reply.send(decision);
    }
}

impl Controller for Stepper {
    fn before_step(&self, step: &StepStarted) -> Decision {
        if self.quit.load(Ordering::SeqCst) {
            return Decision::Stop;
        }
        if !self.stepping.load(Ordering::SeqCst) || (self.only_questions && step.ask.is_none()) {
            return Decision::Run;
        }
        let (reply, answer) = mpsc::channel();
        let ask = Ask {
            step: step.clone(),
            reply,
        };
        let sent = self
            .asks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .send(ask);
        match sent {
            // No view to ask (the run is ending): go on.
            Err(_) => Decision::Run,
            Ok(()) => answer.recv().unwrap_or(Decision::Stop),
        }
    }
}

/// A call an actor is inside, as a pause shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    pub actor: String,
    pub op: Op,
    pub sock: Option<String>,
    /// When the call began (µs on the run's clock).
    pub since_us: u64,
}

/// Which actors are inside a call right now, from the events so far.
#[derive(Debug, Default)]
pub struct Waiting {
    inside: BTreeMap<String, Blocked>,
}

impl Waiting {
    /// Follows one event as it arrives from the run.
    pub fn arrived(&mut self, event: &Event) {
        match event {
            Event::CallStarted {
                t_us,
                actor,
                op,
                sock,
            } => {
                let blocked = Blocked {
                    actor: actor.clone(),
                    op: *op,
                    sock: sock.clone(),
                    since_us: *t_us,
                };
                self.inside.insert(actor.clone(), blocked);
            }
            Event::Call(c) => {
                self.inside.remove(&c.actor);
            }
            Event::ActorFailed { actor, .. } => {
                self.inside.remove(actor);
            }
            _ => {}
        }
    }

    /// The calls in progress, by actor.
    pub fn now(&self) -> Vec<Blocked> {
        self.inside.values().cloned().collect()
    }
}

/// Where a run stands at a pause.
pub struct Paused {
    /// The step about to run.
    pub step: StepStarted,
    /// The calls other actors are inside.
    pub waiting: Vec<Blocked>,
    /// The lab file, for `file:line`.
    pub origin: String,
}

/// The human timeline, with a prompt at every pause. Answers are read a
/// line at a time from `input` (the terminal, or a script on a pipe).
pub struct StepView<'a> {
    pub out: &'a mut dyn Write,
    pub human: Human,
    pub input: Box<dyn BufRead + 'a>,
    /// The learner stopped the run.
    pub quit: bool,
    /// Where the learner quit: `server step 3`.
    pub quit_at: Option<String>,
    /// Write each answer after its prompt: the input is a script, not a
    /// terminal that shows what is typed.
    pub echo: bool,
}

impl View for StepView<'_> {
    fn event(&mut self, event: &Event) -> std::io::Result<()> {
        self.human.event(self.out, event)?;
        self.out.flush()
    }

    fn pause(&mut self, at: &Paused) -> std::io::Result<Answer> {
        // The timeline folds long runs of identical calls; a pause shows
        // them before it asks.
        self.human.finish(self.out)?;
        let s = &at.step;
        let place = match s.line {
            Some(line) => format!("{}:{line}", at.origin),
            None => at.origin.clone(),
        };
        writeln!(
            self.out,
            "{} {} step {}  {}",
            "──".dimmed(),
            s.actor.bold(),
            s.index,
            place.dimmed()
        )?;
        writeln!(self.out, "   next: {}", s.text)?;
        for b in &at.waiting {
            let sock = b.sock.as_deref().unwrap_or("");
            writeln!(
                self.out,
                "   {} {} is blocked in {}({sock}), lab time stopped",
                "⋯".yellow(),
                b.actor,
                b.op
            )?;
        }
        write!(
            self.out,
            "   {} ",
            "Enter: run it · c: run to the end · q: stop ›".dimmed()
        )?;
        self.out.flush()?;
        let mut line = String::new();
        let read = self.input.read_line(&mut line)?;
        if crate::signals::received().is_some() {
            // Stopped by a signal while waiting: no more steps; the run
            // ends and says which signal stopped it.
            writeln!(self.out)?;
            return Ok(Answer::Quit);
        }
        let answer = match line.trim() {
            // The end of the answers (a script, or Ctrl-D) runs the rest.
            _ if read == 0 => {
                writeln!(self.out, "(no more input: running to the end)")?;
                Answer::Continue
            }
            "c" | "C" | "continue" => Answer::Continue,
            "q" | "Q" | "quit" => Answer::Quit,
            _ => Answer::Step,
        };
        if self.echo && read > 0 {
            let shown = match line.trim() {
                "" => "(Enter)",
                other => other,
            };
            writeln!(self.out, "{}", shown.dimmed())?;
        } else if read > 0 && !line.ends_with('\n') {
            writeln!(self.out)?;
        }
        if answer == Answer::Quit {
            self.quit = true;
            self.quit_at = Some(format!("{} step {}", s.actor, s.index));
        }
        Ok(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::Call;

    #[test]
    fn a_call_is_waited_in_from_its_start_to_its_return() {
        let mut w = Waiting::default();
        w.arrived(&Event::CallStarted {
            t_us: 10,
            actor: "server".into(),
            op: Op::Recv,
            sock: Some("conn".into()),
        });
        assert_eq!(w.now().len(), 1);
        assert_eq!(w.now()[0].op, Op::Recv);
        w.arrived(&Event::Call(Call::new(10, "server", Op::Recv)));
        assert!(w.now().is_empty());
    }

    #[test]
    fn quit_refuses_every_later_step_and_continue_stops_asking() {
        let (tx, rx) = mpsc::channel();
        let stepper = Stepper::new(tx, Pausing::EveryStep);
        let step = StepStarted {
            t_us: 0,
            actor: "client".into(),
            index: 1,
            line: Some(3),
            text: "{ op = \"close\", on = \"s\" }".into(),
            ask: None,
        };
        std::thread::scope(|s| {
            let asker = s.spawn(|| stepper.before_step(&step));
            let ask = rx.recv().unwrap();
            assert_eq!(ask.step.index, 1);
            stepper.answer(&ask, Answer::Continue);
            assert_eq!(asker.join().unwrap(), Decision::Run);
        });
        // After `c`, no more questions.
        assert_eq!(stepper.before_step(&step), Decision::Run);
        assert!(rx.try_recv().is_err());

        let (tx, rx) = mpsc::channel();
        let stepper = Stepper::new(tx, Pausing::EveryStep);
        std::thread::scope(|s| {
            let asker = s.spawn(|| stepper.before_step(&step));
            stepper.answer(&rx.recv().unwrap(), Answer::Quit);
            assert_eq!(asker.join().unwrap(), Decision::Stop);
        });
        assert_eq!(stepper.before_step(&step), Decision::Stop);
    }
}
