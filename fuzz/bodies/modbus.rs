//! Fuzz target bodies for `modbus-profiles`, shared by `fuzz/fuzz_targets/*` and
//! `modbus-profiles/tests/fuzz_corpus.rs`.
#![allow(unreachable_pub, dead_code, clippy::expect_used, clippy::panic)]

use modbus_profiles::frame::{Pdu, Request, Response, RtuFrame, TcpFrame};

/// Whatever decodes re-encodes to the same bytes, except what encoding refuses as invalid (a quantity out of
/// range decodes, so that a server can answer exception 3, but a client does not send it).
fn same_bytes<P: Pdu + std::fmt::Debug>(
    decoded: &P,
    original: &[u8],
    encode: impl Fn(&mut Vec<u8>) -> Result<(), modbus_profiles::Error>,
) {
    let mut again = Vec::new();
    match encode(&mut again) {
        Ok(()) => assert_eq!(again, original, "{decoded:?}"),
        Err(modbus_profiles::Error::Invalid { .. }) => {}
        Err(other) => panic!("{other}"),
    }
}

/// TCP frames, both directions.
pub fn tcp(data: &[u8]) {
    if let Ok((frame, used)) = TcpFrame::<Request>::decode(data) {
        assert!(used <= data.len());
        same_bytes(&frame.pdu, &data[..used], |out| frame.encode(out));
    }
    if let Ok((frame, used)) = TcpFrame::<Response>::decode(data) {
        assert!(used <= data.len());
        same_bytes(&frame.pdu, &data[..used], |out| frame.encode(out));
    }
}

/// RTU frames, both directions.
pub fn rtu(data: &[u8]) {
    if let Ok((frame, used)) = RtuFrame::<Request>::decode(data) {
        assert!(used <= data.len());
        same_bytes(&frame.pdu, &data[..used], |out| frame.encode(out));
    }
    if let Ok((frame, used)) = RtuFrame::<Response>::decode(data) {
        assert!(used <= data.len());
        same_bytes(&frame.pdu, &data[..used], |out| frame.encode(out));
    }
}
