//! `lab list` and `lab show`.

use std::io::Write;

use colored::Colorize;
use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use serde_json::json;

use super::{Outcome, labs, progress, resolve};
use crate::catalog::Action;
use crate::progress::Progress;
use crate::render::human::wrap;

/// `lab list [--json]`, with the labs done marked.
pub fn list(out: &mut dyn Write, as_json: bool) -> Outcome {
    list_marked(out, as_json, progress::marks().as_ref())
}

/// `lab list [--json]` with the marks of `progress`; `None` (progress off,
/// or the book's page) shows no done column.
pub fn list_marked(out: &mut dyn Write, as_json: bool, progress: Option<&Progress>) -> Outcome {
    let labs = labs()?;
    if as_json {
        let all: Vec<_> = labs
            .iter()
            .map(|l| {
                let knobs: Vec<_> = l
                    .def
                    .knobs
                    .iter()
                    .map(|k| {
                        json!({
                            "name": k.name, "type": k.kind.name(), "default": toml_json(&k.default),
                            "help": k.help, "accepts": k.accepts(), "min": k.min, "max": k.max,
                            "values": k.values, "unit": k.unit,
                        })
                    })
                    .collect();
                json!({"id": l.id(), "title": l.def.title, "chapter": l.def.chapter,
                       "summary": l.def.summary, "knobs": knobs,
                       "done": progress.is_some_and(|p| p.is_done(l.id()))})
            })
            .collect();
        serde_json::to_writer_pretty(&mut *out, &all).map_err(std::io::Error::from)?;
        writeln!(out)?;
        return Ok(true);
    }
    let mut table = Table::new();
    table
        .load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    crate::render::fit(&mut table);
    let mut header = progress.map_or(vec![], |p| progress::list_headers(p, &labs));
    header.extend(["id", "ch.", "title", "summary"]);
    table.set_header(header);
    for l in &labs {
        let mut row = progress.map_or(vec![], |p| progress::list_cells(p, &labs, l));
        row.extend([
            l.id().to_string(),
            l.def.chapter.clone(),
            l.def.title.clone(),
            l.def.summary.clone(),
        ]);
        table.add_row(row);
    }
    writeln!(out, "{table}")?;
    writeln!(
        out,
        "Run one with `lab run ID`; `lab show ID` explains it first."
    )?;
    if let Some(p) = progress {
        let done = labs.iter().filter(|l| p.is_done(l.id())).count();
        let n = labs.len();
        writeln!(
            out,
            "{done} of {n} done; `lab next` runs the first one not done."
        )?;
    }
    Ok(true)
}

/// `lab show ID`.
pub fn show(out: &mut dyn Write, query: &str) -> Outcome {
    let lab = resolve(query)?;
    let d = &lab.def;
    writeln!(
        out,
        "{}  {}   (course ch. {})",
        d.id.bold(),
        d.title,
        d.chapter
    )?;
    writeln!(out)?;
    for l in wrap(&d.summary, 78) {
        writeln!(out, "{l}")?;
    }
    writeln!(out)?;
    writeln!(out, "{}", "What it does".bold())?;
    for actor in &d.actors {
        let ops: Vec<&str> = actor
            .steps
            .iter()
            .map(|s| &s.get_ref().action)
            .filter(|a| !matches!(a, Action::Signal(_) | Action::Wait(_)))
            .map(Action::name)
            .collect();
        writeln!(out, "  {:<8} {}", actor.name, ops.join(" → "))?;
    }
    if !d.knobs.is_empty() {
        writeln!(out)?;
        writeln!(out, "{}", "Knobs (--set name=value)".bold())?;
        let mut table = Table::new();
        table
            .load_style(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic);
        crate::render::fit(&mut table);
        table.set_header(vec!["knob", "default", "accepts", "what it changes"]);
        for k in &d.knobs {
            table.add_row(vec![
                k.name.clone(),
                k.default.to_string().trim_matches('"').to_string(),
                k.accepts(),
                k.help.clone(),
            ]);
        }
        writeln!(out, "{table}")?;
    }
    if !d.watch.is_empty() {
        writeln!(out)?;
        writeln!(out, "{}", "Watch for".bold())?;
        for w in &d.watch {
            let lines = wrap(w, 74);
            for (i, l) in lines.iter().enumerate() {
                writeln!(out, "  {} {l}", if i == 0 { "•" } else { " " })?;
            }
        }
    }
    if let Some(c) = &d.course_says {
        writeln!(out)?;
        writeln!(out, "{}", "The course says / what really happens".bold())?;
        for l in wrap(c, 76) {
            writeln!(out, "  {l}")?;
        }
    }
    writeln!(out)?;
    writeln!(out, "Run it: lab run {}", d.id)?;
    if let Some(serve) = &d.serve {
        writeln!(
            out,
            "Its server, for your own clients: lab serve {} ({})",
            &d.id[..2],
            serve.says
        )?;
    }
    Ok(true)
}

fn toml_json(v: &toml::Value) -> serde_json::Value {
    match v {
        toml::Value::Integer(n) => json!(n),
        toml::Value::Boolean(b) => json!(b),
        toml::Value::String(s) => json!(s),
        other => json!(other.to_string()),
    }
}
