//! Cells of the CSV and XLSX files we write, made safe to open in a
//! spreadsheet: a text cell starting with `=`, `+`, `-`, `@`, a tab or a
//! carriage return would run as a formula there (`=HYPERLINK(...)`, DDE
//! `=cmd|...`), so it gets a leading `'` (OWASP's advice). Numbers stay
//! numbers. Every exporter writes its cells through here.

use std::borrow::Cow;

/// `s` as a cell a spreadsheet shows as text, never runs: unchanged when it
/// is a number or starts harmlessly, else with a leading `'`.
pub fn cell(s: &str) -> Cow<'_, str> {
    let risky = s.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && s.trim().parse::<f64>().is_err() {
        Cow::Owned(format!("'{s}"))
    } else {
        Cow::Borrowed(s)
    }
}

/// `s` as one CSV field: [`cell`], then quoted when it holds a comma, a
/// quote or a line break.
pub fn csv_field(s: &str) -> String {
    let c = cell(s);
    if c.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", c.replace('"', "\"\""))
    } else {
        c.into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_become_text_and_numbers_stay_numbers() {
        for bad in [
            "=HYPERLINK(\"http://x\",\"y\")",
            "=cmd|'/C calc'!A0",
            "+1+1",
            "-2+3",
            "@SUM(A1)",
            "\tx",
            "\r=1",
        ] {
            assert!(cell(bad).starts_with('\''), "{bad:?}");
        }
        for fine in ["-3.5", "+7", "42", "张三", "610902001001", "", "a=b"] {
            assert_eq!(cell(fine), fine);
        }
        assert_eq!(csv_field("=1,2"), "\"'=1,2\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
