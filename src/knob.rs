//! Knobs: the settings a learner turns with `--set name=value`.

use serde::Deserialize;

use crate::expr::Value;

/// The type of a knob, as written in a lab file (`type = "int"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KnobType {
    Int,
    Bool,
    Choice,
    /// Any text up to [`MAX_TEXT`] bytes (an HMAC key, say).
    Text,
}

/// The longest value a `text` knob takes.
pub const MAX_TEXT: usize = 256;

impl KnobType {
    pub fn name(self) -> &'static str {
        match self {
            KnobType::Int => "int",
            KnobType::Bool => "bool",
            KnobType::Choice => "choice",
            KnobType::Text => "text",
        }
    }
}

/// A knob as declared in a lab file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Knob {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: KnobType,
    pub default: toml::Value,
    /// Smallest and largest accepted value of an `int` knob.
    pub min: Option<i64>,
    pub max: Option<i64>,
    /// Accepted values of a `choice` knob.
    #[serde(default)]
    pub values: Vec<String>,
    /// Unit shown after values (`ms`, `B`).
    #[serde(default)]
    pub unit: String,
    pub help: String,
    /// Other values worth trying; the test suite runs each of them.
    #[serde(default, rename = "try")]
    pub tries: Vec<toml::Value>,
}

impl Knob {
    /// The default as a [`Value`], checked like a user's value.
    pub fn default_value(&self) -> Result<Value, String> {
        self.from_toml(&self.default)
    }

    /// Converts a value written in the lab file (default, `try`).
    pub fn from_toml(&self, v: &toml::Value) -> Result<Value, String> {
        let text = match v {
            toml::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        self.parse(&text)
    }

    /// Parses a value the user typed, with a message naming what the knob
    /// accepts when it does not fit.
    pub fn parse(&self, text: &str) -> Result<Value, String> {
        // Text is taken as typed (a key may have spaces at its ends).
        let raw = text;
        let text = text.trim();
        match self.kind {
            KnobType::Bool => match text {
                "true" | "1" | "yes" | "on" => Ok(Value::Bool(true)),
                "false" | "0" | "no" | "off" => Ok(Value::Bool(false)),
                _ => Err(format!(
                    "knob `{}` is true or false, not `{text}`",
                    self.name
                )),
            },
            KnobType::Int => {
                let n: i64 = text.replace('_', "").parse().map_err(|_| {
                    format!(
                        "knob `{}` takes a whole number{}, not `{text}`",
                        self.name,
                        self.range_text()
                    )
                })?;
                if self.min.is_some_and(|m| n < m) || self.max.is_some_and(|m| n > m) {
                    return Err(format!(
                        "knob `{}` must be{}, not {n}",
                        self.name,
                        self.range_text()
                    ));
                }
                Ok(Value::Int(n))
            }
            KnobType::Text => {
                let text = raw;
                if text.len() > MAX_TEXT {
                    return Err(format!(
                        "knob `{}` takes at most {MAX_TEXT} bytes of text, not {}",
                        self.name,
                        text.len()
                    ));
                }
                if text.contains('\0') {
                    return Err(format!("knob `{}` takes text without NUL bytes", self.name));
                }
                Ok(Value::Str(text.to_string()))
            }
            KnobType::Choice => {
                if self.values.iter().any(|v| v == text) {
                    Ok(Value::Str(text.to_string()))
                } else {
                    Err(format!(
                        "knob `{}` is one of {}, not `{text}`",
                        self.name,
                        self.values.join(", ")
                    ))
                }
            }
        }
    }

    /// What the knob accepts, for `lab show` and error messages.
    pub fn accepts(&self) -> String {
        match self.kind {
            KnobType::Bool => "true | false".to_string(),
            KnobType::Choice => self.values.join(" | "),
            KnobType::Text => format!("any text (up to {MAX_TEXT} bytes)"),
            KnobType::Int => match (self.min, self.max) {
                (Some(a), Some(b)) => format!("{a}..={b}{}", self.unit_suffix()),
                (Some(a), None) => format!(">= {a}{}", self.unit_suffix()),
                (None, Some(b)) => format!("<= {b}{}", self.unit_suffix()),
                (None, None) => "any whole number".to_string(),
            },
        }
    }

    fn range_text(&self) -> String {
        match (self.min, self.max) {
            (Some(a), Some(b)) => format!(" from {a} to {b}{}", self.unit_suffix()),
            (Some(a), None) => format!(" of at least {a}{}", self.unit_suffix()),
            (None, Some(b)) => format!(" of at most {b}{}", self.unit_suffix()),
            (None, None) => String::new(),
        }
    }

    fn unit_suffix(&self) -> String {
        if self.unit.is_empty() {
            String::new()
        } else {
            format!(" {}", self.unit)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int_knob() -> Knob {
        Knob {
            name: "delay_ms".into(),
            kind: KnobType::Int,
            default: toml::Value::Integer(100),
            min: Some(0),
            max: Some(2000),
            values: vec![],
            unit: "ms".into(),
            help: String::new(),
            tries: vec![],
        }
    }

    #[test]
    fn int_knob_checks_range_and_type() {
        let k = int_knob();
        assert_eq!(k.parse("1_000"), Ok(Value::Int(1000)));
        let err = k.parse("5000").unwrap_err();
        assert!(
            err.contains("delay_ms") && err.contains("0 to 2000 ms"),
            "{err}"
        );
        assert!(k.parse("soon").unwrap_err().contains("whole number"));
    }

    #[test]
    fn bool_and_choice_knobs_name_what_they_accept() {
        let mut k = int_knob();
        k.kind = KnobType::Bool;
        assert_eq!(k.parse("on"), Ok(Value::Bool(true)));
        assert!(k.parse("maybe").unwrap_err().contains("true or false"));
        k.kind = KnobType::Choice;
        k.values = vec!["client".into(), "server".into()];
        assert!(k.parse("both").unwrap_err().contains("client, server"));
    }

    #[test]
    fn text_knobs_take_any_text_within_bounds() {
        let mut k = int_knob();
        k.kind = KnobType::Text;
        assert_eq!(
            k.parse(" linhaifeng bang bang bang").unwrap(),
            Value::Str(" linhaifeng bang bang bang".into()),
            "taken as typed"
        );
        assert!(k.parse(&"k".repeat(MAX_TEXT)).is_ok());
        let e = k.parse(&"k".repeat(MAX_TEXT + 1)).unwrap_err();
        assert!(e.contains("at most 256 bytes"), "{e}");
        assert!(k.parse("a\0b").is_err());
    }
}
