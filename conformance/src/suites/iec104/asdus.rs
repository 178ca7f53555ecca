//! The ASDUs the IEC 104 cases send (IEC 60870-5-101 clause 7.3 types, as IEC 104 clause 8 carries them).

use iec104::{Asdu, Cot, Cp56Time2a, Element, InformationObject, Objects};

/// Causes of transmission (clause 7.2.3).
pub(super) mod cause {
    /// Spontaneous.
    pub(crate) const SPONTANEOUS: u8 = 3;
    /// Activation.
    pub(crate) const ACTIVATION: u8 = 6;
    /// Activation confirmation.
    pub(crate) const ACTIVATION_CON: u8 = 7;
    /// Activation termination.
    pub(crate) const ACTIVATION_TERM: u8 = 10;
    /// Interrogated by station interrogation.
    pub(crate) const STATION: u8 = 20;
    /// Requested by general counter request.
    pub(crate) const GENERAL_COUNTER: u8 = 37;
    /// Unknown type identification.
    pub(crate) const UNKNOWN_TYPE: u8 = 44;
    /// Unknown cause of transmission.
    pub(crate) const UNKNOWN_CAUSE: u8 = 45;
    /// Unknown common address of ASDU.
    pub(crate) const UNKNOWN_COMMON_ADDRESS: u8 = 46;
    /// Unknown information object address.
    pub(crate) const UNKNOWN_OBJECT_ADDRESS: u8 = 47;
}

/// Type identifications the cases use.
pub(super) mod types {
    /// Single-point information.
    pub(crate) const M_SP_NA_1: u8 = 1;
    /// Measured value, short floating point.
    pub(crate) const M_ME_NC_1: u8 = 13;
    /// Integrated totals.
    pub(crate) const M_IT_NA_1: u8 = 15;
    /// Single command.
    pub(crate) const C_SC_NA_1: u8 = 45;
    /// Set-point command, scaled value.
    pub(crate) const C_SE_NB_1: u8 = 49;
    /// Set-point command, short floating point.
    pub(crate) const C_SE_NC_1: u8 = 50;
    /// Interrogation command.
    pub(crate) const C_IC_NA_1: u8 = 100;
    /// Counter interrogation command.
    pub(crate) const C_CI_NA_1: u8 = 101;
    /// Clock synchronisation command.
    pub(crate) const C_CS_NA_1: u8 = 103;
}

fn one(type_id: u8, cause: u8, ca: u16, ioa: u32, elements: Vec<Element>) -> Asdu {
    Asdu {
        type_id,
        sq: false,
        count: 1,
        cot: Cot::new(cause),
        common_address: ca,
        objects: Objects::Known(vec![InformationObject { ioa, elements }]),
    }
}

/// `C_IC_NA_1` with qualifier `qoi` (20 station, 21–36 groups 1–16) and cause `cause`.
pub(super) fn interrogation(ca: u16, qoi: u8, cause: u8) -> Asdu {
    one(types::C_IC_NA_1, cause, ca, 0, vec![Element::Qoi(qoi)])
}

/// `C_CI_NA_1` with qualifier `qcc` (RQT in bits 0–5: 5 the general request; FRZ in bits 6–7: 0 read) and
/// cause `cause`.
pub(super) fn counter_interrogation(ca: u16, qcc: u8, cause: u8) -> Asdu {
    one(types::C_CI_NA_1, cause, ca, 0, vec![Element::Qcc(qcc)])
}

/// `C_SE_NC_1` (activation) of `value` to `ioa`; `select` sets the S/E bit.
#[allow(non_snake_case)]
pub(super) fn setpoint(ca: u16, ioa: u32, value: f32, select: bool) -> Asdu {
    let qos = if select { 0x80 } else { 0 };
    one(
        types::C_SE_NC_1,
        cause::ACTIVATION,
        ca,
        ioa,
        vec![Element::R32(value.to_bits()), Element::Qos(qos)],
    )
}

/// `C_CS_NA_1` (activation) with `time`.
pub(super) fn clock_sync(ca: u16, time: Cp56Time2a) -> Asdu {
    one(
        types::C_CS_NA_1,
        cause::ACTIVATION,
        ca,
        0,
        vec![Element::Cp56(time)],
    )
}

/// A monitor-direction `M_SP_NA_1` sent as if it were a command (activation): no station accepts it.
pub(super) fn monitor_type_as_command(ca: u16) -> Asdu {
    one(
        types::M_SP_NA_1,
        cause::ACTIVATION,
        ca,
        1,
        vec![Element::Siq(0)],
    )
}

/// `M_ME_NC_1`: `value` at `ioa`, good quality, with `cause` (3 spontaneous, 20 station interrogation, …).
pub(super) fn measured_float(ca: u16, ioa: u32, value: f32, cause: u8) -> Asdu {
    one(
        types::M_ME_NC_1,
        cause,
        ca,
        ioa,
        vec![Element::R32(value.to_bits()), Element::Qds(0)],
    )
}

/// `M_IT_NA_1`: the binary counter reading `value` at `ioa` (sequence number 0, good), with `cause`.
pub(super) fn counter(ca: u16, ioa: u32, value: i32, cause: u8) -> Asdu {
    one(
        types::M_IT_NA_1,
        cause,
        ca,
        ioa,
        vec![Element::Bcr(value, 0)],
    )
}

/// `C_SC_NA_1` (activation): `on` or off to `ioa`; `select` sets the S/E bit (SCO, clause 7.2.6.15).
pub(super) fn single_command(ca: u16, ioa: u32, on: bool, select: bool) -> Asdu {
    let sco = u8::from(on) | if select { 0x80 } else { 0 };
    one(
        types::C_SC_NA_1,
        cause::ACTIVATION,
        ca,
        ioa,
        vec![Element::Sco(sco)],
    )
}

/// `C_SE_NB_1` (activation, executed at once) of the scaled `value` to `ioa`.
pub(super) fn scaled_setpoint(ca: u16, ioa: u32, value: i16) -> Asdu {
    one(
        types::C_SE_NB_1,
        cause::ACTIVATION,
        ca,
        ioa,
        vec![Element::Sva(value), Element::Qos(0)],
    )
}

/// The fixed instant the time-tagged ASDUs carry (clock synchronisation, time-tagged commands): a run is
/// reproducible, and the station only confirms or refuses it.
pub(super) fn fixed_time() -> Option<Cp56Time2a> {
    "2026-12-03T12:00:00Z"
        .parse::<idea_proto::Timestamp>()
        .ok()
        .and_then(Cp56Time2a::from_timestamp)
}
