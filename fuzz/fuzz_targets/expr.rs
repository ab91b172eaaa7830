//! Fuzz target: the expression language of lab files (`socket_lab::expr`).
//!
//! The input is one expression, also read as a template, evaluated in a
//! small scope of knobs: every function gives a value or an error message,
//! never a panic (overflow, deep nesting, a `${` without its `}`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use socket_lab::expr::{self, Scope, Value};

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let mut scope = Scope::new();
    scope.insert("delay_ms".into(), Value::Int(100));
    scope.insert("total".into(), Value::Int(i64::MAX));
    scope.insert("first".into(), Value::Int(i64::MIN));
    scope.insert("abort".into(), Value::Bool(false));
    scope.insert("order".into(), Value::Str("network".into()));

    let value = expr::eval(src, &scope);
    let boolean = expr::eval_bool(src, &scope);
    // eval_bool is eval that insists on a boolean.
    match &value {
        Ok(Value::Bool(b)) => assert_eq!(boolean, Ok(*b)),
        _ => assert!(boolean.is_err()),
    }
    // Every name an expression that evaluates uses is one `names` lists.
    if let (Ok(_), Ok(names)) = (&value, expr::names(src)) {
        for name in names {
            assert!(!name.is_empty());
        }
    }
    let _ = expr::expand(src, &scope);
    let _ = expr::template_names(src);
});
