//! `lab`: the command-line front of socket-lab.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use socket_lab::app::{self, Failure};
use socket_lab::cli::{Cli, Command};
use socket_lab::render;

fn main() -> ExitCode {
    let cli = Cli::parse();
    render::set_color(cli.color);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let outcome = match &cli.command {
        Command::List { json } => app::list(&mut out, *json),
        Command::Show { id } => app::show(&mut out, id),
        Command::Run { all: true, .. } => app::run_all(&mut out),
        Command::Run { lab, set, json, .. } => {
            let args = app::RunArgs { set, json: *json };
            app::run_one(&mut out, lab.as_deref().unwrap_or_default(), &args)
        }
    };
    let outcome = outcome.and_then(|ok| app::flush(&mut out).map(|()| ok));
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(Failure::BrokenPipe) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            let _ = out.flush();
            eprintln!("lab: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Io(e)) => {
            eprintln!("lab: {e}");
            ExitCode::from(2)
        }
    }
}
