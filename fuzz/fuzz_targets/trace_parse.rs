//! Fuzzes the trace parser with arbitrary text: parsing never panics, every error names a
//! line (>= 1, and no further than the text's last line), and every trace that parses
//! renders to text that parses back to the same trace (and renders identically).
#![no_main]

use libfuzzer_sys::fuzz_target;
use simloop::Trace;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match text.parse::<Trace>() {
        Ok(trace) => {
            let rendered = trace.to_string();
            let again: Trace = rendered
                .parse()
                .unwrap_or_else(|e| panic!("a rendered trace does not parse: {e}\n{rendered}"));
            assert_eq!(again, trace, "parse(render(t)) != t for\n{rendered}");
            assert_eq!(again.to_string(), rendered, "render is not stable");
            let _ = (trace.digest(), trace.steps(), trace.end_time(), trace.len());
        }
        Err(e) => {
            let lines = text.lines().count().max(1);
            assert!(e.line >= 1, "error without a line number: {e}");
            assert!(
                e.line <= lines + 1,
                "error at line {} of a {lines}-line text: {e}",
                e.line
            );
            assert!(!e.to_string().is_empty());
        }
    }
});
