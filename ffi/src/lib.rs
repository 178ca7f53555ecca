//! The C ABI of the IDEA SDK: `include/idea.h`, generated from this crate by cbindgen, over the codecs and
//! state machines of the workspace — for device vendors who link the SDK into C and C++ firmware and gateways.
//!
//! What it does: IEC 60870-5-104 APDUs decoded into C struct views (with iteration over information objects)
//! and encoded, and the link layer driven from C with bytes and explicit time ([`iec104`]); FIPA-ACL messages
//! in the string, XML and bit-efficient representations, read field by field and built ([`fipa`]); Modbus TCP
//! register requests and answers ([`modbus`]); SunSpec models loaded from the official JSON definitions,
//! decoded from and encoded to register blocks, and device discovery driven by the caller's reads ([`sunspec`]);
//! ed25519 keys and the TE signed objects — contracts, channel states, meter readings and delivery tokens —
//! decoded, read, signed (also over their digest, by a secure element) and verified ([`te`]); the IEEE 1547
//! characteristics and frequency droop, and a power flow on a MATPOWER case ([`ng`]); IEEE 2030.5 documents,
//! the `DERControl` fields a DER client needs and the DER event scheduler driven from C, LFDI and SFDI
//! ([`sep2`]).
//!
//! What it does not do: sockets, TLS, threads or clocks —
//! the caller owns them, as in every sans-IO core of the SDK.
//!
//! The rules every function keeps:
//! - it returns an [`IdeaResult`] (0 is success; stable numbers in ranges per area) and never unwinds into C:
//!   a panic is caught and reported as `IDEA_RESULT_PANIC`; the details of any failure are in
//!   [`idea_last_error`], per thread;
//! - objects are typed opaque handles made by `_new` (or a decode) and released by `_free`, which takes the
//!   address of the caller's variable and sets it to null, so a second free of that variable does nothing; a
//!   handle of the wrong type is refused (`IDEA_RESULT_INVALID_HANDLE`); no allocation crosses the boundary to be
//!   freed on the other side;
//! - inputs are pointer and length (text is NUL-terminated UTF-8); outputs go into the caller's buffer, whose
//!   needed length is always written to `*out_len` — a call with a null or short buffer fails with
//!   `IDEA_RESULT_BUFFER_TOO_SMALL` and tells the length (text outputs need one more byte, for the NUL);
//! - a null pointer where one is required is `IDEA_RESULT_NULL_POINTER`, never a crash.
//!
//! ```
//! use idea::{IdeaResult, idea_abi_version, idea_iec104_apdu_decode, idea_iec104_asdu_free};
//! use idea::iec104::apdu::IdeaIec104ApduInfo;
//! let frame = [0x68, 0x04, 0x07, 0x00, 0x00, 0x00]; // STARTDT act
//! let mut info = IdeaIec104ApduInfo { kind: 9, ns: 0, nr: 0, u_function: 0 };
//! let (mut asdu, mut used) = (std::ptr::null_mut(), 0);
//! // SAFETY: every pointer is valid for the call.
//! let result = unsafe {
//!     idea_iec104_apdu_decode(frame.as_ptr(), frame.len(), std::ptr::null(), &mut info, &mut asdu, &mut used)
//! };
//! assert_eq!((result, info.kind, info.u_function, used), (IdeaResult::Ok, 2, 0x07, 6));
//! assert!(asdu.is_null()); // a U frame carries no ASDU
//! // SAFETY: a pointer to the (null) handle variable.
//! assert_eq!(unsafe { idea_iec104_asdu_free(&mut asdu) }, IdeaResult::Ok);
//! assert_eq!(idea_abi_version(), 1);
//! ```

mod buffer;
mod error;
pub mod fipa;
mod guard;
mod handle;
pub mod iec104;
pub mod modbus;
pub mod ng;
mod result;
pub mod sep2;
pub mod sunspec;
pub mod te;
mod version;

pub use error::idea_last_error;
pub use fipa::*;
#[cfg(feature = "test-hooks")]
pub use guard::idea_test_panic;
pub use iec104::IdeaIec104AsduParams;
pub use iec104::apdu::*;
pub use iec104::asdu::*;
pub use iec104::element::*;
pub use iec104::link::*;
pub use modbus::*;
pub use ng::*;
pub use result::{IdeaResult, idea_result_name};
pub use sep2::*;
pub use sunspec::*;
pub use te::*;
pub use version::{IDEA_ABI_VERSION, idea_abi_version, idea_version};
