//! Response status codes (IEEE 2030.5-2018 Table 27, "Response Types by Function Set") and the
//! `responseRequired` bits that decide which of them a device sends (clause 12.1.3, the
//! `RespondableResource` type of the schema).

use crate::primitives::HexBinary;

/// The `status` of a `Response`: what a device reports about an event.
///
/// Which the DER scheduler sends, and when, is listed on each variant. `EventAcknowledge` and
/// `EventNoDisplay` belong to the messaging function set and are never sent for a `DERControl`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ResponseStatus {
    /// 1: the event was received (on first receipt).
    EventReceived,
    /// 2: the event started (when it first takes control of one of its modes).
    EventStarted,
    /// 3: the event completed (at its effective end, having run without an opt-out).
    EventCompleted,
    /// 4: the user chose to opt out (at the moment of the choice).
    EventOptOut,
    /// 5: the user chose to opt in again (at the moment of the choice).
    EventOptIn,
    /// 6: the event was cancelled (`currentStatus` 2 at once, 3 after the end randomisation).
    EventCancelled,
    /// 7: the event was superseded by a newer event of the same program on the same modes, or marked
    /// superseded (`currentStatus` 4) by its server.
    EventSuperseded,
    /// 8: the event ended after running partly, the user having opted out during it.
    EventPartialOptOut,
    /// 9: the event ended after running partly, the user having opted in during it.
    EventPartialOptIn,
    /// 10: the event ended without running at all, the user having opted out.
    EventCompletedNoUserParticipation,
    /// 11: messaging only: the user acknowledged a text message.
    EventAcknowledge,
    /// 12: messaging only: the message could not be displayed.
    EventNoDisplay,
    /// 13: the event was aborted by an event from another server (higher primacy, or newer on the same
    /// modes at equal primacy).
    EventAbortedServer,
    /// 14: the event was aborted by an event from another program of the same server (higher primacy, or
    /// newer on the same modes at equal primacy).
    EventAbortedProgram,
    /// 252: rejected: the event sets a mode this device does not support.
    EventNotApplicable,
    /// 253: rejected: the event is invalid (no mode, randomisation outside ±3600 s, an unknown
    /// `currentStatus`, times beyond ±2⁴⁰ s).
    EventInvalid,
    /// 254: rejected: the event had already ended when it was received.
    EventExpired,
}

impl ResponseStatus {
    /// Every status, in code order.
    pub const ALL: &'static [ResponseStatus] = &[
        ResponseStatus::EventReceived,
        ResponseStatus::EventStarted,
        ResponseStatus::EventCompleted,
        ResponseStatus::EventOptOut,
        ResponseStatus::EventOptIn,
        ResponseStatus::EventCancelled,
        ResponseStatus::EventSuperseded,
        ResponseStatus::EventPartialOptOut,
        ResponseStatus::EventPartialOptIn,
        ResponseStatus::EventCompletedNoUserParticipation,
        ResponseStatus::EventAcknowledge,
        ResponseStatus::EventNoDisplay,
        ResponseStatus::EventAbortedServer,
        ResponseStatus::EventAbortedProgram,
        ResponseStatus::EventNotApplicable,
        ResponseStatus::EventInvalid,
        ResponseStatus::EventExpired,
    ];

    /// The code on the wire.
    pub fn code(self) -> u8 {
        match self {
            ResponseStatus::EventReceived => 1,
            ResponseStatus::EventStarted => 2,
            ResponseStatus::EventCompleted => 3,
            ResponseStatus::EventOptOut => 4,
            ResponseStatus::EventOptIn => 5,
            ResponseStatus::EventCancelled => 6,
            ResponseStatus::EventSuperseded => 7,
            ResponseStatus::EventPartialOptOut => 8,
            ResponseStatus::EventPartialOptIn => 9,
            ResponseStatus::EventCompletedNoUserParticipation => 10,
            ResponseStatus::EventAcknowledge => 11,
            ResponseStatus::EventNoDisplay => 12,
            ResponseStatus::EventAbortedServer => 13,
            ResponseStatus::EventAbortedProgram => 14,
            ResponseStatus::EventNotApplicable => 252,
            ResponseStatus::EventInvalid => 253,
            ResponseStatus::EventExpired => 254,
        }
    }

    /// The status a code stands for; `None` for reserved codes.
    pub fn from_code(code: u8) -> Option<Self> {
        ResponseStatus::ALL
            .iter()
            .copied()
            .find(|s| s.code() == code)
    }

    /// The `responseRequired` bit that asks for this status: receipt for `EventReceived`, the user
    /// response for opt-in and opt-out, the specific response for everything else.
    pub fn required_by(self) -> ResponseRequired {
        match self {
            ResponseStatus::EventReceived => ResponseRequired::RECEIVED,
            ResponseStatus::EventOptOut
            | ResponseStatus::EventOptIn
            | ResponseStatus::EventAcknowledge => ResponseRequired::USER,
            _ => ResponseRequired::SPECIFIC,
        }
    }
}

/// The `responseRequired` bitmap of a respondable resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ResponseRequired(pub u8);

impl ResponseRequired {
    /// Bit 0: the device shall say that it received the resource.
    pub const RECEIVED: ResponseRequired = ResponseRequired(0x01);
    /// Bit 1: the device shall send the specific responses (started, completed, cancelled, …).
    pub const SPECIFIC: ResponseRequired = ResponseRequired(0x02);
    /// Bit 2: an end-user response (opt in, opt out) is required.
    pub const USER: ResponseRequired = ResponseRequired(0x04);

    /// Whether every bit of `bits` is set.
    pub fn contains(self, bits: ResponseRequired) -> bool {
        self.0 & bits.0 == bits.0
    }
}

impl From<Option<HexBinary<1>>> for ResponseRequired {
    /// The attribute's value; absent means `00` (the schema's default).
    fn from(value: Option<HexBinary<1>>) -> Self {
        ResponseRequired(value.map_or(0, |v| v.0[0]))
    }
}
