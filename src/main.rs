//! `lab`: the command-line front of socket-lab.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use socket_lab::app::{self, Failure};
use socket_lab::cli::{Cli, Command};
use socket_lab::render;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return bad_arguments(e),
    };
    render::set_color(cli.color);
    // The REPL prints from several threads (results above the prompt), so
    // it must not find standard output locked by this one.
    if let Command::Repl { no_capture } = &cli.command {
        let outcome = app::repl(&app::ReplArgs {
            capture: !no_capture,
        });
        return exit_code(outcome, &mut std::io::sink());
    }
    // The traced program's exit code is lab's: a command of its own.
    if let Command::Trace {
        pid,
        json,
        pcap,
        svg,
        html,
        pcapng,
        no_capture,
        output,
        command,
    } = &cli.command
    {
        // The trace goes to standard error or a file, not standard output.
        use std::io::IsTerminal;
        let terminal = output.is_none() && std::io::stderr().is_terminal();
        render::set_color_for(cli.color, terminal);
        let args = app::TraceArgs {
            command,
            pid: *pid,
            json: *json,
            capture: !no_capture,
            pcap: pcap.clone(),
            svg: svg.clone(),
            html: html.clone(),
            pcapng: pcapng.clone(),
            output: output.clone(),
        };
        return match app::trace(&args) {
            Ok(code) => ExitCode::from(code),
            Err(f) => exit_code(Err(f), &mut std::io::sink()),
        };
    }
    // Commands that stop cleanly on SIGINT, SIGTERM and SIGHUP (their files
    // complete, their scratch folders gone) take those signals over; the
    // others, short, end as usual. `--step` and `--predict` wait for keys
    // through `signals::Stdin`, which a signal ends.
    let stops_cleanly = matches!(
        &cli.command,
        Command::Run { .. }
            | Command::Next { .. }
            | Command::Capture { .. }
            | Command::Inspect { .. }
            | Command::Serve { .. }
    );
    if stops_cleanly && let Err(e) = socket_lab::signals::install() {
        eprintln!("lab: cannot catch signals: {e}");
        return ExitCode::from(2);
    }
    // Buffered: a timeline of thousands of rows must not cost a write(2)
    // per line. Every command flushes where a person waits for output.
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let outcome = match &cli.command {
        Command::List { json } => app::list(&mut out, *json),
        Command::Show { id } => app::show(&mut out, id),
        Command::Capture {
            ports,
            count,
            seconds,
            json,
            pcap,
            svg,
            html,
            quiet,
            filter,
            pcapng,
            detail,
            hex,
        } => app::capture(
            &mut out,
            &app::CaptureArgs {
                ports,
                count: *count,
                seconds: *seconds,
                json: *json,
                pcap: pcap.clone(),
                svg: svg.clone(),
                html: html.clone(),
                pcapng: pcapng.clone(),
                quiet: *quiet,
                filter: filter.as_deref(),
                detail: detail.map(|which| app::Chosen { which, hex: *hex }),
            },
        ),
        Command::Inspect {
            file,
            json,
            detail,
            hex,
            stream,
            stats,
            svg,
            html,
            filter,
        } => app::inspect(
            &mut out,
            file,
            &app::InspectArgs {
                json: *json,
                detail: *detail,
                hex: *hex,
                stream: *stream,
                stats: *stats,
                svg: svg.clone(),
                html: html.clone(),
                filter: filter.as_deref(),
            },
        ),
        Command::Repl { .. } | Command::Trace { .. } => unreachable!("handled above"),
        Command::Serve {
            lab,
            port,
            bind,
            dir,
            idle,
            set,
            no_capture,
        } => app::serve(
            &mut out,
            lab,
            &app::ServeArgs {
                set,
                port: *port,
                bind: *bind,
                dir: dir.clone(),
                idle: std::time::Duration::from_secs(u64::from(*idle)),
                capture: !no_capture,
            },
        ),
        Command::Book {
            check,
            rewrite,
            dir,
        } => app::book(
            &mut out,
            &app::BookArgs {
                dir,
                check: *check,
                rewrite: *rewrite,
            },
        ),
        Command::Next { no_capture } => app::next(&mut out, !no_capture),
        Command::Progress => app::progress(&mut out),
        Command::Reset { lab } => app::reset(&mut out, lab.as_deref()),
        Command::Run {
            all: true,
            no_capture,
            jobs,
            ..
        } => app::run_all(&mut out, !no_capture, jobs.map(usize::from)),
        Command::Run {
            lab,
            set,
            json,
            pcap,
            svg,
            html,
            pcapng,
            no_capture,
            step,
            predict,
            answers,
            detail,
            hex,
            diagram,
            ..
        } => {
            let args = app::RunArgs {
                set,
                json: *json,
                capture: !no_capture,
                pcap: pcap.clone(),
                svg: svg.clone(),
                html: html.clone(),
                pcapng: pcapng.clone(),
                step: *step,
                predict: *predict,
                answers: answers.as_deref(),
                detail: detail.map(|which| app::Chosen { which, hex: *hex }),
                diagram: *diagram,
            };
            app::run_and_record(&mut out, lab.as_deref().unwrap_or_default(), &args)
        }
    };
    let outcome = outcome.and_then(|ok| app::flush(&mut out).map(|()| ok));
    exit_code(outcome, &mut out)
}

/// The exit code of a command's outcome: 0 held, 1 a check failed, 2 bad
/// input or an error, said in one line on stderr after what was printed.
fn exit_code(outcome: Result<bool, Failure>, out: &mut dyn Write) -> ExitCode {
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(Failure::BrokenPipe) => ExitCode::SUCCESS,
        Err(Failure::Stopped) => {
            let _ = out.flush();
            ExitCode::SUCCESS
        }
        Err(Failure::Usage(message)) => {
            let _ = out.flush();
            eprintln!("lab: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Interrupted(signal)) => {
            let _ = out.flush();
            eprintln!("lab: {}", Failure::Interrupted(signal));
            ExitCode::from(socket_lab::signals::exit_code(signal))
        }
        Err(Failure::Io(e)) => {
            eprintln!("lab: {e}");
            ExitCode::from(2)
        }
    }
}

/// `--help` and `--version` print as clap prints them; a mistake on the
/// command line is one line, `lab: ...`, naming what was wrong and where to
/// look, and exit 2.
fn bad_arguments(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion)
        || e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    {
        let _ = e.print();
        return if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        };
    }
    let text = e.render().to_string();
    // The message and its details (the missing argument, the values that
    // fit), up to the usage clap would print after a blank line.
    let first: Vec<&str> = text
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(|l| l.trim().trim_start_matches("error: "))
        .collect();
    let first = first.join(" ");
    let tip = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("tip: "))
        .map(|t| format!("; {t}"))
        .unwrap_or_default();
    eprintln!("lab: {first}{tip} (`lab --help` lists the commands)");
    ExitCode::from(2)
}
