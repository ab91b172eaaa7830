//! The interactive socket REPL: a learner types Python-style socket calls
//! (`server = socket(AF_INET, SOCK_STREAM)`, `conn.recv(1024)`) one line at
//! a time; [`line`](mod@line) turns each line into a small syntax tree.

pub mod line;
