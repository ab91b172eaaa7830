//! `--svg FILE`: the sequence diagram a session draws as its events are
//! released (see [`crate::render::svg`]), checked before the session
//! starts and written whole when it ends.

use std::io::Write;

use colored::Colorize;

use super::Failure;
use super::run::View;
use super::step::{Answer, Paused};
use crate::render::svg::{Diagram, SvgFile};
use crate::trace::Event;

/// A view that also draws every event it is shown into a sequence
/// diagram (`--svg`), then hands it on.
pub(super) struct Drawing<'d, V> {
    pub view: V,
    pub diagram: Option<&'d mut Diagram>,
}

impl<V: View> View for Drawing<'_, V> {
    fn event(&mut self, event: &Event) -> std::io::Result<()> {
        if let Some(d) = self.diagram.as_mut() {
            d.add(event);
        }
        self.view.event(event)
    }

    fn pause(&mut self, at: &Paused) -> std::io::Result<Answer> {
        self.view.pause(at)
    }

    fn released(&mut self, cutoff_us: u64) -> std::io::Result<()> {
        self.view.released(cutoff_us)
    }
}

/// `--svg FILE`: checked before anything runs (a bad path is one line and
/// no run), and the diagram that will be drawn into it.
pub(super) fn svg_target(
    path: Option<&std::path::Path>,
    title: impl FnOnce() -> String,
) -> Result<Option<(SvgFile, Diagram)>, Failure> {
    match path {
        None => Ok(None),
        Some(p) => {
            let file = SvgFile::preflight(p).map_err(Failure::Usage)?;
            Ok(Some((file, Diagram::new(&title()))))
        }
    }
}

/// Writes the diagram once the session is over: in one piece, or not at
/// all.
pub(super) fn write_svg(
    out: &mut dyn Write,
    target: Option<(SvgFile, Diagram)>,
    say: bool,
) -> Result<(), Failure> {
    if let Some((file, diagram)) = target {
        file.write(&diagram).map_err(Failure::Usage)?;
        if say {
            writeln!(
                out,
                "{} sequence diagram written to {}",
                "·".dimmed(),
                file.path().display()
            )?;
        }
    }
    Ok(())
}
