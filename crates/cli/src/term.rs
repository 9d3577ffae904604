//! Text from others (names, messages, certificate fields, server answers)
//! as it may safely reach a terminal.

/// `s` with control characters (C0, DEL, C1) and the bidirectional
/// overrides that reorder what a terminal shows written as `\u{…}`: such
/// text can no longer move the cursor, clear the screen, change colours
/// or fake lines of output.
pub fn printable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// As [`printable`], keeping line breaks (a message of several lines).
pub fn printable_lines(s: &str) -> String {
    s.split('\n').map(printable).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_terminals_obey() {
        assert_eq!(printable("Léa Żółć 王小明"), "Léa Żółć 王小明");
        assert_eq!(printable("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(printable("x\r\n#2  fake"), "x\\u{d}\\u{a}#2  fake");
        assert_eq!(printable("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(printable("abc\u{202e}fdp.exe"), "abc\\u{202e}fdp.exe");
    }
}
