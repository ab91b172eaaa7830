//! Rows too long for the page, broken where a reader can put them back
//! together: at a space when there is one (the next line starts with
//! `↪ `), else inside a word (the next line starts with `↪` alone).

use super::WIDTH;

/// Marks the rest of a row cut at a space; without the space, the rest of
/// a word cut where it did not fit.
pub(super) const GOES_ON: &str = "↪";

/// `text` with each line too long for the page wrapped under its value:
/// `   checksum          0xfe35: not the sum of these bytes, ...` goes on
/// under `0xfe35`.
pub fn fit(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        for l in wrap(line, value_column(line)) {
            out.push_str(&l);
            out.push('\n');
        }
    }
    out
}

/// Where the value of `   name   value` starts: after the first run of two
/// or more spaces past the indent, or a little past the indent.
fn value_column(line: &str) -> usize {
    let chars: Vec<char> = line.chars().collect();
    let indent = chars.iter().take_while(|c| **c == ' ').count();
    (indent + 1..chars.len().saturating_sub(1))
        .find(|&i| chars[i] == ' ' && chars[i + 1] == ' ')
        .map(|i| i + chars[i..].iter().take_while(|c| **c == ' ').count())
        .unwrap_or(indent + 2)
}

/// Where a wrapped line goes on: under its own indent, a little further.
pub(super) fn continuation_indent(line: &str) -> usize {
    line.chars().take_while(|c| *c == ' ').count() + 2
}

/// Splits `line` into lines of at most [`WIDTH`] columns; each one after
/// the first starts at `indent` with [`GOES_ON`].
pub fn wrap(line: &str, indent: usize) -> Vec<String> {
    let chars: Vec<char> = line.trim_end().chars().collect();
    if chars.len() <= WIDTH {
        return vec![chars.iter().collect()];
    }
    // Continuation lines need room for the mark and some text.
    let indent = if indent + 2 + 20 > WIDTH { 4 } else { indent };
    let lead = " ".repeat(indent);
    let mut out = Vec::new();
    let mut rest: &[char] = &chars;
    let mut prefix = String::new();
    loop {
        let room = WIDTH - prefix.chars().count();
        if rest.len() <= room {
            out.push(format!("{prefix}{}", rest.iter().collect::<String>()));
            return out;
        }
        // The last space that leaves something on this line, preferring the
        // double space between a row's fields when it is not far back.
        let start = rest.iter().take_while(|c| **c == ' ').count();
        let spaces: Vec<usize> = (start + 1..=room)
            .filter(|&i| rest.get(i) == Some(&' ') && rest[i - 1] != ' ')
            .collect();
        let double = spaces
            .iter()
            .rev()
            .find(|&&i| rest.get(i + 1) == Some(&' ') && i + 16 > room);
        let (cut, skip, mark) = match double.or(spaces.last()) {
            Some(&i) => {
                let after = rest[i..].iter().take_while(|c| **c == ' ').count();
                (i, after, format!("{GOES_ON} "))
            }
            None => (room, 0, GOES_ON.to_string()),
        };
        out.push(format!(
            "{prefix}{}",
            rest[..cut].iter().collect::<String>()
        ));
        rest = &rest[cut + skip..];
        prefix = format!("{lead}{mark}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_word_longer_than_the_page_is_cut_with_a_mark() {
        let long = format!("  \"{}\"", "x".repeat(200));
        let lines = wrap(&long, 4);
        assert!(lines.iter().all(|l| l.chars().count() <= WIDTH));
        assert!(
            lines[1].starts_with(&format!("    {GOES_ON}x")),
            "{lines:?}"
        );
        let joined: String = lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                if i == 0 {
                    l.as_str()
                } else {
                    &l[4 + GOES_ON.len()..]
                }
            })
            .collect();
        assert_eq!(joined, long);
    }
}
