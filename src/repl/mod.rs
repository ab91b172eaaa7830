//! `lab repl`: a line of Python socket calls, parsed ([`line`]) and made
//! into the same typed steps a lab file holds ([`translate`]); a session
//! written back as a lab file ([`save`]).

pub mod line;
pub mod save;
pub mod translate;
