//! `lab run ID --predict`: predict, then observe.
//!
//! A lab's questions (see [`crate::catalog::question`]) are put before the
//! steps that carry their lessons. The run goes as `lab run --step` goes,
//! but stops only at a step with `ask`: the view shows the question, reads
//! the learner's answer, and the step runs. Lab time stands still while
//! the learner thinks (the runner pauses it around every
//! [`Controller`](crate::runner::Controller) call), so no watchdog fires
//! and the run ends as a run without questions would.
//!
//! Only when the run is over is each answer judged: the call that answers
//! a question may come after the step that asked it, and from another
//! actor. The verdicts of the lab's checks print as in a normal run, then
//! each prediction with the answer this run gave, and the score. The exit
//! code is the checks' (an answer never changes it).
//!
//! Answers come from the terminal, a line each. Without a terminal they
//! come from `--answers 9,EAGAIN,b`, in the order the questions are asked;
//! an empty one (`9,,b`) is no answer. When they run out, the questions
//! left count as not answered (judged, and not right): a script that gives
//! too few answers still sees the whole run and what each answer was.
//! More answers than the lab has questions is an error before the run.
//!
//! A question whose call the run never made (or whose choices none or
//! several fit) is "not judged", with the reason; it counts neither way.
//! The score of a catalog lab is kept in the progress file
//! (`questions_right` of `questions_asked`, the questions judged).

use std::collections::VecDeque;
use std::io::{BufRead, IsTerminal, Write};

use colored::Colorize;

use super::run::{CaptureMode, Files, Finished, RunArgs, View, execute_with};
use super::step::{Answer, Paused, Pausing};
use super::{Failure, Outcome, is_path, resolve};
use crate::catalog::Lab;
use crate::catalog::question::{Judgement, Kind, Question};
use crate::expr::Scope;
use crate::progress::Store;
use crate::render::human::{Human, wrap};

/// Where the learner's answers come from.
pub enum Answers<'a> {
    /// `--answers`, one per question in the order the questions are asked.
    Given(VecDeque<String>),
    /// A terminal (or any reader), a line per question.
    Typed(Box<dyn BufRead + 'a>),
}

impl Answers<'_> {
    /// `9,EAGAIN,b` → `9`, `EAGAIN`, `b`; `9,,b` has an empty (no) answer.
    pub fn given(list: &str) -> Answers<'static> {
        Answers::Given(list.split(',').map(|a| a.trim().to_string()).collect())
    }
}

/// One question put in a run, and what became of it.
#[derive(Debug, Clone)]
pub struct Prediction {
    pub question: String,
    /// The learner's answer; `None`: none was given.
    pub answer: Option<String>,
    pub judgement: Judgement,
}

/// How a run's predictions add up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Score {
    pub right: usize,
    /// Questions the run could judge (right or not).
    pub judged: usize,
    /// Questions asked but not judged (their call never happened, ...).
    pub not_judged: usize,
}

impl Score {
    pub fn of(predictions: &[Prediction]) -> Score {
        let mut s = Score::default();
        for p in predictions {
            match p.judgement {
                Judgement::Judged { correct, .. } => {
                    s.judged += 1;
                    s.right += usize::from(correct);
                }
                Judgement::NotJudged(_) => s.not_judged += 1,
            }
        }
        s
    }
}

/// The human timeline, with a question at each step that asks one.
struct PredictView<'a> {
    out: &'a mut dyn Write,
    human: Human,
    lab: &'a Lab,
    knobs: &'a Scope,
    answers: Answers<'a>,
    /// The questions put so far, in order, with the answers.
    asked: Vec<(String, Option<String>)>,
}

impl View for PredictView<'_> {
    fn event(&mut self, event: &crate::trace::Event) -> std::io::Result<()> {
        self.human.event(self.out, event)?;
        self.out.flush()
    }

    fn pause(&mut self, at: &Paused) -> std::io::Result<Answer> {
        let Some(q) = at.step.ask.as_deref().and_then(|n| question(self.lab, n)) else {
            return Ok(Answer::Step);
        };
        // A step that repeats asks its question the first time only.
        if self.asked.iter().any(|(name, _)| *name == q.name) {
            return Ok(Answer::Step);
        }
        self.human.finish(self.out)?;
        let s = &at.step;
        let place = match s.line {
            Some(line) => format!("{}:{line}", at.origin),
            None => at.origin.clone(),
        };
        let out = &mut *self.out;
        writeln!(
            out,
            "{} {} before {} step {}  {}",
            "──".dimmed(),
            format!("question {}", self.asked.len() + 1).bold(),
            s.actor.bold(),
            s.index,
            place.dimmed()
        )?;
        writeln!(out, "   next: {}", s.text)?;
        for b in &at.waiting {
            let sock = b.sock.as_deref().unwrap_or("");
            writeln!(
                out,
                "   {} {} is blocked in {}({sock}), lab time stopped",
                "⋯".yellow(),
                b.actor,
                b.op
            )?;
        }
        for (i, line) in wrap(&q.text(self.knobs), 74).iter().enumerate() {
            let mark = if i == 0 {
                "?".yellow().bold()
            } else {
                " ".into()
            };
            writeln!(out, "   {mark} {line}")?;
        }
        for choice in q.choices(self.knobs) {
            writeln!(out, "       {choice}")?;
        }
        let prompt = format!("your answer ({}; Enter: none) ›", q.form());
        write!(out, "   {} ", prompt.dimmed())?;
        out.flush()?;
        let answer = match &mut self.answers {
            Answers::Given(list) => {
                let given = list.pop_front();
                let answer = given.clone().filter(|a| !a.is_empty());
                let shown = match (&given, &answer) {
                    (None, _) => "(no answer: --answers ran out)".to_string(),
                    (Some(_), None) => "(no answer)".to_string(),
                    (Some(_), Some(a)) => match q.reads(a) {
                        Ok(()) => a.clone(),
                        Err(e) => format!("{a}  ({e}: it counts as wrong)"),
                    },
                };
                writeln!(out, "{}", shown.dimmed())?;
                answer
            }
            Answers::Typed(input) => typed(out, input, q)?,
        };
        writeln!(out)?;
        if crate::signals::received().is_some() {
            // Stopped while waiting for the answer: no more steps; the run
            // ends and says which signal stopped it.
            return Ok(Answer::Quit);
        }
        self.asked.push((q.name.clone(), answer));
        Ok(Answer::Step)
    }
}

/// Reads an answer a line at a time until it has the question's form (a
/// number, a name, a letter); Enter or the end of the input is no answer.
fn typed(
    out: &mut dyn Write,
    input: &mut Box<dyn BufRead + '_>,
    q: &Question,
) -> std::io::Result<Option<String>> {
    loop {
        let mut line = String::new();
        if input.read_line(&mut line)? == 0 {
            if crate::signals::received().is_some() {
                // Stopped: the run ends and says why.
                return Ok(None);
            }
            writeln!(out, "{}", "(no more input: no answer)".dimmed())?;
            return Ok(None);
        }
        let answer = line.trim();
        if answer.is_empty() {
            return Ok(None);
        }
        match q.reads(answer) {
            Ok(()) => return Ok(Some(answer.to_string())),
            Err(e) => {
                write!(out, "   {} ", format!("{e}; again ›").dimmed())?;
                out.flush()?;
            }
        }
    }
}

/// The lab's question named `name`.
fn question<'a>(lab: &'a Lab, name: &str) -> Option<&'a Question> {
    lab.def
        .questions
        .iter()
        .map(|q| q.get_ref())
        .find(|q| q.name == name)
}

/// Runs `lab` in predict mode with the human view on `out`: the timeline
/// with the questions, the map, the verdicts, the explanation, then each
/// prediction judged and the score.
pub fn predicted(
    out: &mut dyn Write,
    lab: &Lab,
    knobs: &Scope,
    mode: &CaptureMode,
    files: Files,
    answers: Answers,
) -> Result<(Finished, Vec<Prediction>), Failure> {
    predicted_drawn(out, lab, knobs, mode, files, None, answers)
}

/// [`predicted`], every event also drawn into `diagram` (`--svg`).
fn predicted_drawn(
    out: &mut dyn Write,
    lab: &Lab,
    knobs: &Scope,
    mode: &CaptureMode,
    files: Files,
    diagram: Option<&mut crate::render::svg::Diagram>,
    answers: Answers,
) -> Result<(Finished, Vec<Prediction>), Failure> {
    let human = Human::new(lab);
    human.header(out, lab, knobs)?;
    if let CaptureMode::Off(reason) = mode {
        writeln!(out, "{} {}", "capture off:".yellow(), reason)?;
    }
    writeln!(
        out,
        "{} the run stops before each step that carries a question: answer it, then watch. Lab time (every timeout of the run) stands still while you think; the kernel's own timers do not.",
        "Predicting:".bold()
    )?;
    writeln!(out)?;
    out.flush()?;
    let mut view = PredictView {
        out,
        human,
        lab,
        knobs,
        answers,
        asked: Vec::new(),
    };
    let drawing = super::drawing::Drawing {
        view: &mut view,
        diagram,
    };
    let done = execute_with(lab, knobs, mode, files, Pausing::Questions, drawing)?;
    let PredictView {
        out,
        mut human,
        answers,
        asked,
        ..
    } = view;
    super::run::report(out, &mut human, lab, &done)?;
    let predictions: Vec<Prediction> = asked
        .into_iter()
        .filter_map(|(name, answer)| {
            let q = question(lab, &name)?;
            Some(Prediction {
                judgement: q.judge(answer.as_deref(), &done.calls, knobs),
                question: name,
                answer,
            })
        })
        .collect();
    write_predictions(out, lab, knobs, &predictions)?;
    if let Answers::Given(left) = answers
        && !left.is_empty()
    {
        writeln!(
            out,
            "{} {} of the answers given with --answers were not used: this run asked {} question(s).",
            "note:".yellow(),
            left.len(),
            predictions.len()
        )?;
    }
    Ok((done, predictions))
}

/// `Your predictions`: each question, the answer given, what the run
/// said, and why; then the score.
fn write_predictions(
    out: &mut dyn Write,
    lab: &Lab,
    knobs: &Scope,
    predictions: &[Prediction],
) -> std::io::Result<()> {
    writeln!(out)?;
    writeln!(out, "{}", "Your predictions".bold().underline())?;
    if predictions.is_empty() {
        writeln!(
            out,
            "  No question was asked: with these knobs, the steps that ask did not run."
        )?;
        return Ok(());
    }
    for (i, p) in predictions.iter().enumerate() {
        let Some(q) = question(lab, &p.question) else {
            continue;
        };
        let said = match &p.answer {
            Some(a) => format!("you said {a}"),
            None => "no answer".to_string(),
        };
        // `seen` is what the call did, in the words of a check's detail.
        let (mark, verdict) = match &p.judgement {
            Judgement::Judged {
                right,
                seen,
                correct: true,
            } => {
                let right = match q.kind {
                    Kind::Choice { .. } => format!(", {right}"),
                    _ => String::new(),
                };
                ("✓".green().bold(), format!("{said}: right{right}. {seen}."))
            }
            Judgement::Judged {
                right,
                seen,
                correct: false,
            } => (
                "✗".red().bold(),
                format!("{said}; this run says {right}. {seen}."),
            ),
            Judgement::NotJudged(why) => {
                ("?".yellow().bold(), format!("{said}; not judged: {why}."))
            }
        };
        let text = wrap(&q.text(knobs), 72);
        for (n, line) in text.iter().enumerate() {
            match n {
                0 => writeln!(out, "  {mark} {}. {}", i + 1, line.bold())?,
                _ => writeln!(out, "       {}", line.bold())?,
            }
        }
        for line in wrap(&verdict, 72) {
            writeln!(out, "       {line}")?;
        }
        for line in wrap(&q.explain, 72) {
            writeln!(out, "       {}", line.dimmed())?;
        }
    }
    let s = Score::of(predictions);
    let not_judged = match s.not_judged {
        0 => String::new(),
        1 => "; 1 question not judged".to_string(),
        n => format!("; {n} questions not judged"),
    };
    writeln!(out)?;
    writeln!(
        out,
        "{} {} of {} right{not_judged}",
        "Score:".bold(),
        s.right,
        s.judged
    )?;
    Ok(())
}

/// `lab run ID --predict`: the run with its questions; then, for a lab of
/// the catalog, the score is kept and a passing run marks the lab done.
pub fn run_and_record(out: &mut dyn Write, query: &str, args: &RunArgs) -> Outcome {
    let lab = resolve(query)?;
    if lab.def.questions.is_empty() {
        return Err(Failure::Usage(format!(
            "lab {} asks no questions, so there is nothing to predict: run it without --predict",
            lab.id()
        )));
    }
    let knobs = lab.knob_values(args.set)?;
    let stdin = std::io::stdin();
    let answers = match args.answers {
        Some(list) => Answers::given(list),
        // Read so that Ctrl-C stops the run while it waits for an answer.
        None if stdin.is_terminal() => {
            Answers::Typed(Box::new(std::io::BufReader::new(crate::signals::Stdin)))
        }
        None => {
            return Err(Failure::Usage(
                "--predict reads answers from a terminal, and standard input is not one: give them with --answers (e.g. --answers 9,EAGAIN,b), one per question in the order asked".into(),
            ));
        }
    };
    if let Answers::Given(list) = &answers
        && list.len() > lab.def.questions.len()
    {
        return Err(Failure::Usage(format!(
            "--answers gives {} answers, and lab {} has {} question(s)",
            list.len(),
            lab.id(),
            lab.def.questions.len()
        )));
    }
    let mode = CaptureMode::detect(args.capture);
    let files = Files::of(&args.pcap, &args.pcapng);
    files.check(&mode)?;
    let mut svg = super::drawing::svg_target(args.svg.as_deref(), || {
        format!("lab run {} --predict", lab.id())
    })?;
    let diagram = svg.as_mut().map(|(_, d)| d);
    let (done, predictions) = predicted_drawn(out, &lab, &knobs, &mode, files, diagram, answers)?;
    files.say_written(out)?;
    super::drawing::write_svg(out, svg, true)?;
    // A lab file from a path is not the catalog's lab: nothing is kept.
    if !is_path(query) {
        record_score(lab.id(), Score::of(&predictions));
        if done.passed() {
            super::progress::record(out, query, args)?;
        }
    }
    Ok(done.passed())
}

/// Keeps the score of the last predict run of `id` (the questions it
/// judged); like all progress, never at the cost of the run.
fn record_score(id: &str, score: Score) {
    if score.judged == 0 {
        return;
    }
    let Ok(store) = Store::from_env() else {
        return;
    };
    let kept = store.update(|p| {
        let lab = p.labs.entry(id.to_string()).or_default();
        lab.questions_right = Some(score.right as u32);
        lab.questions_asked = Some(score.judged as u32);
    });
    if let Err(e) = kept {
        super::progress::warn(&e, "this score is not recorded");
    }
}

/// A predict run as `lab book --check` makes one: no answers, no output.
/// What matters is that the run asks its questions and can judge them.
pub fn rehearse(
    lab: &Lab,
    knobs: &Scope,
    mode: &CaptureMode,
) -> Result<(Finished, Vec<Prediction>), Failure> {
    let none = Answers::Given(VecDeque::new());
    predicted(
        &mut std::io::sink(),
        lab,
        knobs,
        mode,
        Files::default(),
        none,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::{Controller, Decision};
    use crate::trace::StepStarted;
    use std::sync::mpsc;

    fn step(ask: Option<&str>) -> StepStarted {
        StepStarted {
            t_us: 0,
            actor: "server".into(),
            index: 3,
            line: Some(7),
            text: "{ op = \"recv\", on = \"conn\", size = 9 }".into(),
            ask: ask.map(str::to_string),
        }
    }

    #[test]
    fn a_predict_run_stops_only_where_a_question_is_asked() {
        let (tx, rx) = mpsc::channel();
        let stepper = super::super::step::Stepper::new(tx, Pausing::Questions);
        // No question: the step runs without asking anyone.
        assert_eq!(stepper.before_step(&step(None)), Decision::Run);
        assert!(rx.try_recv().is_err());
        std::thread::scope(|s| {
            let asker = s.spawn(|| stepper.before_step(&step(Some("first-recv"))));
            let ask = rx.recv().unwrap();
            assert_eq!(ask.step.ask.as_deref(), Some("first-recv"));
            stepper.answer(&ask, Answer::Step);
            assert_eq!(asker.join().unwrap(), Decision::Run);
        });
    }

    #[test]
    fn answers_are_split_at_commas_and_an_empty_one_is_none() {
        let Answers::Given(list) = Answers::given("9, EAGAIN,,b") else {
            panic!("not given")
        };
        assert_eq!(list, ["9", "EAGAIN", "", "b"]);
    }

    #[test]
    fn the_score_counts_judged_questions_only() {
        let p = |j| Prediction {
            question: "q".into(),
            answer: None,
            judgement: j,
        };
        let judged = |correct| Judgement::Judged {
            right: "0".into(),
            seen: "x".into(),
            correct,
        };
        let s = Score::of(&[
            p(judged(true)),
            p(judged(false)),
            p(Judgement::NotJudged("no call".into())),
        ]);
        assert_eq!(
            s,
            Score {
                right: 1,
                judged: 2,
                not_judged: 1
            }
        );
    }
}
