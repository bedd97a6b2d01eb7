//! Snapshot normalisation shared by the test binaries that include it with
//! `#[path = "support/normalize.rs"] mod normalize;`.

/// `text` with the digits after each `prefix` (e.g. `sim-tests/check.rs:`) replaced by
/// `[LINE]`, so editing a test file does not change its snapshots.
pub fn without_line_numbers(text: &str, prefix: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(prefix) {
        out.push_str(&rest[..i + prefix.len()]);
        rest = &rest[i + prefix.len()..];
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits > 0 {
            out.push_str("[LINE]");
            rest = &rest[digits..];
        }
    }
    out.push_str(rest);
    out
}
