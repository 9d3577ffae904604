//! Any bytes at all: `validate` may answer `Err` (not a PDF) or a report, but
//! must never panic, hang or run out of memory. Run with `cargo xtask fuzz`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let config = coffre_seal::ValidationConfig::new(
        Vec::new(),
        Vec::new(),
        coffre_seal::UnixTime(1_800_000_000),
    );
    let _ = coffre_seal::validate(data, &config);
});
