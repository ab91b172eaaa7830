//! `--svg FILE` and `--html FILE`: the sequence diagram and the page a
//! session draws as its events are released (see [`crate::render::svg`]
//! and [`crate::render::html`]), checked before the session starts and
//! written whole when it ends.

use std::io::Write;
use std::path::Path;

use colored::Colorize;

use super::Failure;
use super::run::View;
use super::step::{Answer, Paused};
use crate::render::file::WholeFile;
use crate::render::html::{HtmlFile, Page};
use crate::render::svg::Diagram;
use crate::trace::Event;

/// What a session draws besides what it prints, as its events are
/// released: the sequence diagram (`--svg`) and the page (`--html`).
/// Either file is checked before the session starts (a bad path is one
/// line and no run) and written whole when it ends.
#[derive(Default)]
pub struct Drawings {
    /// The diagram, and the file it goes to (none when only a caller
    /// wants the picture, as the book does).
    pub diagram: Option<Diagram>,
    svg: Option<WholeFile>,
    page: Option<(HtmlFile, Page)>,
}

impl Drawings {
    /// The drawings `--svg` and `--html` ask for, their paths checked.
    pub fn open(
        svg: Option<&Path>,
        html: Option<&Path>,
        title: impl FnOnce() -> String,
    ) -> Result<Drawings, Failure> {
        let mut d = Drawings::default();
        if svg.is_none() && html.is_none() {
            return Ok(d);
        }
        let title = title();
        if let Some(p) = svg {
            d.svg = Some(WholeFile::preflight(p, "run.svg").map_err(Failure::Usage)?);
            d.diagram = Some(Diagram::new(&title));
        }
        if let Some(p) = html {
            let file = HtmlFile::preflight(p, "run.html").map_err(Failure::Usage)?;
            d.page = Some((file, Page::new(&title)));
        }
        Ok(d)
    }

    /// A diagram drawn for the caller, written nowhere.
    pub fn diagram_only(title: &str) -> Drawings {
        Drawings {
            diagram: Some(Diagram::new(title)),
            ..Drawings::default()
        }
    }

    /// Takes one event of the session.
    pub fn add(&mut self, event: &Event) {
        if let Some(d) = self.diagram.as_mut() {
            d.add(event);
        }
        if let Some((_, p)) = self.page.as_mut() {
            p.add(event);
        }
    }

    /// Writes each file once the session is over: in one piece, or not at
    /// all. With `say`, a line for each.
    pub fn write(self, out: &mut dyn Write, say: bool) -> Result<(), Failure> {
        if let (Some(file), Some(diagram)) = (&self.svg, &self.diagram) {
            file.write(&diagram.render()).map_err(Failure::Usage)?;
            if say {
                written(out, "sequence diagram", file.path())?;
            }
        }
        if let Some((file, page)) = &self.page {
            file.write(&page.render()).map_err(Failure::Usage)?;
            if say {
                written(out, "page", file.path())?;
            }
        }
        Ok(())
    }
}

/// `· page written to F`.
pub(super) fn written(out: &mut dyn Write, what: &str, path: &Path) -> std::io::Result<()> {
    writeln!(out, "{} {what} written to {}", "·".dimmed(), path.display())
}

/// A view that also draws every event it is shown (`--svg`, `--html`),
/// then hands it on.
pub(super) struct Drawing<'d, V> {
    pub view: V,
    pub drawings: &'d mut Drawings,
}

impl<V: View> View for Drawing<'_, V> {
    fn event(&mut self, event: &Event) -> std::io::Result<()> {
        self.drawings.add(event);
        self.view.event(event)
    }

    fn pause(&mut self, at: &Paused) -> std::io::Result<Answer> {
        self.view.pause(at)
    }

    fn released(&mut self, cutoff_us: u64) -> std::io::Result<()> {
        self.view.released(cutoff_us)
    }
}
