//! Fuzz target bodies for `modbus-profiles`, shared by `fuzz/fuzz_targets/*` and
//! `modbus-profiles/tests/fuzz_corpus.rs`.
#![allow(unreachable_pub, dead_code, clippy::expect_used, clippy::panic)]

use modbus_profiles::frame::{Request, Response, RtuFrame, TcpFrame};

/// Whatever decodes re-encodes and decodes back to the same value, except what encoding refuses as invalid
/// (a quantity out of range decodes, so that a server can answer exception 3, but a client does not send it).
/// The bytes may differ only where the decoder is lenient: padding bits after the last coil of a 0x0F
/// request are ignored and written back as zeros.
fn same_bytes<F: std::fmt::Debug + PartialEq>(
    decoded: &F,
    original: &[u8],
    encode: impl Fn(&mut Vec<u8>) -> Result<(), modbus_profiles::Error>,
    decode: impl Fn(&[u8]) -> Result<F, modbus_profiles::Error>,
) {
    let mut again = Vec::new();
    match encode(&mut again) {
        Ok(()) => {
            assert_eq!(again.len(), original.len(), "{decoded:?}");
            assert_eq!(&decode(&again).expect("re-encoded decodes"), decoded);
        }
        Err(modbus_profiles::Error::Invalid { .. }) => {}
        Err(other) => panic!("{other}"),
    }
}

/// TCP frames, both directions.
pub fn tcp(data: &[u8]) {
    if let Ok((frame, used)) = TcpFrame::<Request>::decode(data) {
        assert!(used <= data.len());
        same_bytes(
            &frame,
            &data[..used],
            |out| frame.encode(out),
            |b| TcpFrame::<Request>::decode(b).map(|(f, _)| f),
        );
    }
    if let Ok((frame, used)) = TcpFrame::<Response>::decode(data) {
        assert!(used <= data.len());
        same_bytes(
            &frame,
            &data[..used],
            |out| frame.encode(out),
            |b| TcpFrame::<Response>::decode(b).map(|(f, _)| f),
        );
    }
}

/// RTU frames, both directions.
pub fn rtu(data: &[u8]) {
    if let Ok((frame, used)) = RtuFrame::<Request>::decode(data) {
        assert!(used <= data.len());
        same_bytes(
            &frame,
            &data[..used],
            |out| frame.encode(out),
            |b| RtuFrame::<Request>::decode(b).map(|(f, _)| f),
        );
    }
    if let Ok((frame, used)) = RtuFrame::<Response>::decode(data) {
        assert!(used <= data.len());
        same_bytes(
            &frame,
            &data[..used],
            |out| frame.encode(out),
            |b| RtuFrame::<Response>::decode(b).map(|(f, _)| f),
        );
    }
}
