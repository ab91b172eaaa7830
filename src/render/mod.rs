//! Renderers: the same event stream as a terminal view, JSON Lines or an
//! SVG sequence diagram.

pub mod analysis;
pub mod hex;
pub mod human;
pub mod json;
pub mod layers;
pub mod map;
pub mod svg;
pub mod wire_row;

use std::io::IsTerminal;

/// `--color` as the user asked for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Applies the colour choice for this process. `auto` means: stdout is a
/// terminal, `NO_COLOR` is unset, and `TERM` is not `dumb`.
pub fn set_color(choice: ColorChoice) {
    set_color_for(choice, std::io::stdout().is_terminal());
}

/// [`set_color`] for output that goes elsewhere than standard output
/// (`lab trace` writes to standard error or a file): `terminal` says
/// whether it is a terminal.
pub fn set_color_for(choice: ColorChoice, terminal: bool) {
    let on = match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            terminal
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::env::var("TERM").map_or(true, |t| t != "dumb")
        }
    };
    colored::control::set_override(on);
}

/// Columns a table may take when the output is not a terminal (a pipe, a
/// file, the book): most terminals people read in are 80 to 100 wide.
pub const PAGE_WIDTH: u16 = 100;

/// Fits a table to the terminal, or to [`PAGE_WIDTH`] when there is none:
/// long cells wrap instead of running off the right edge.
pub fn fit(table: &mut comfy_table::Table) {
    if table.width().is_none() {
        table.set_width(PAGE_WIDTH);
    }
}
