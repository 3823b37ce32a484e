//! Feeds arbitrary bytes to the outbound-message parser: it must return, never panic or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = sfhs_core::outbound::parse(data, sfhs_core::outbound::DEFAULT_MAX_BODY_BYTES);
});
