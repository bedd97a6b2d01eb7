//! Fuzzes the schedule of `examples/deep_bug/program.rs`: the fuzzer's bytes choose which
//! runnable task runs at each step (`simloop::Bytes`). The program has a bug that
//! needs five scheduling choices in a row to go one way; a crash is the fuzzer finding it.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../examples/deep_bug/program.rs"]
mod program;

fuzz_target!(|data: &[u8]| {
    simloop::fuzz::check(data, program::body);
});
