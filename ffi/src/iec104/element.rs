//! Information elements (IEC 60870-5-101 clause 7.2.6) as a flat C struct: the kind, the value as on the wire,
//! the counter's flags and the time octets.

use crate::IdeaResult;
use crate::buffer::value_out;
use crate::error::FfiError;
use crate::guard::guard;
use iec104::{Cp24Time2a, Cp56Time2a, Element, ElementKind};

/// The kind of an information element. Numbers are stable.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdeaIec104ElementKind {
    /// Single-point information with quality (SIQ).
    Siq = 1,
    /// Double-point information with quality (DIQ).
    Diq = 2,
    /// Value with transient state indication (VTI).
    Vti = 3,
    /// Quality descriptor (QDS).
    Qds = 4,
    /// Binary state information, 32 bits (BSI).
    Bsi = 5,
    /// Normalised value (NVA): `value` holds the 16 bits.
    Nva = 6,
    /// Scaled value (SVA): `value` holds the 16 bits.
    Sva = 7,
    /// IEEE 754 short float (R32): `value` holds its bits.
    R32 = 8,
    /// Binary counter reading (BCR): `value` holds the count's 32 bits, `flags` the SQ/CY/CA/IV octet.
    Bcr = 9,
    /// Single event of protection equipment (SEP).
    Sep = 10,
    /// Start events of protection equipment (SPE).
    Spe = 11,
    /// Output circuit information (OCI).
    Oci = 12,
    /// Quality descriptor for protection events (QDP).
    Qdp = 13,
    /// Status and status change detection (SCD).
    Scd = 14,
    /// Single command (SCO).
    Sco = 15,
    /// Double command (DCO).
    Dco = 16,
    /// Regulating step command (RCO).
    Rco = 17,
    /// Qualifier of set-point command (QOS).
    Qos = 18,
    /// Cause of initialisation (COI).
    Coi = 19,
    /// Qualifier of interrogation (QOI).
    Qoi = 20,
    /// Qualifier of counter interrogation (QCC).
    Qcc = 21,
    /// Qualifier of reset process (QRP).
    Qrp = 22,
    /// Fixed test bit pattern (FBP).
    Fbp = 23,
    /// Test sequence counter (TSC).
    Tsc = 24,
    /// Qualifier of parameter of measured values (QPM).
    Qpm = 25,
    /// Qualifier of parameter activation (QPA).
    Qpa = 26,
    /// Two-octet time, milliseconds (CP16Time2a): in `time[0..2]`.
    Cp16 = 27,
    /// Three-octet time (CP24Time2a): in `time[0..3]`.
    Cp24 = 28,
    /// Seven-octet time (CP56Time2a): in `time[0..7]`.
    Cp56 = 29,
}

const KINDS: [(IdeaIec104ElementKind, ElementKind); 29] = [
    (IdeaIec104ElementKind::Siq, ElementKind::Siq),
    (IdeaIec104ElementKind::Diq, ElementKind::Diq),
    (IdeaIec104ElementKind::Vti, ElementKind::Vti),
    (IdeaIec104ElementKind::Qds, ElementKind::Qds),
    (IdeaIec104ElementKind::Bsi, ElementKind::Bsi),
    (IdeaIec104ElementKind::Nva, ElementKind::Nva),
    (IdeaIec104ElementKind::Sva, ElementKind::Sva),
    (IdeaIec104ElementKind::R32, ElementKind::R32),
    (IdeaIec104ElementKind::Bcr, ElementKind::Bcr),
    (IdeaIec104ElementKind::Sep, ElementKind::Sep),
    (IdeaIec104ElementKind::Spe, ElementKind::Spe),
    (IdeaIec104ElementKind::Oci, ElementKind::Oci),
    (IdeaIec104ElementKind::Qdp, ElementKind::Qdp),
    (IdeaIec104ElementKind::Scd, ElementKind::Scd),
    (IdeaIec104ElementKind::Sco, ElementKind::Sco),
    (IdeaIec104ElementKind::Dco, ElementKind::Dco),
    (IdeaIec104ElementKind::Rco, ElementKind::Rco),
    (IdeaIec104ElementKind::Qos, ElementKind::Qos),
    (IdeaIec104ElementKind::Coi, ElementKind::Coi),
    (IdeaIec104ElementKind::Qoi, ElementKind::Qoi),
    (IdeaIec104ElementKind::Qcc, ElementKind::Qcc),
    (IdeaIec104ElementKind::Qrp, ElementKind::Qrp),
    (IdeaIec104ElementKind::Fbp, ElementKind::Fbp),
    (IdeaIec104ElementKind::Tsc, ElementKind::Tsc),
    (IdeaIec104ElementKind::Qpm, ElementKind::Qpm),
    (IdeaIec104ElementKind::Qpa, ElementKind::Qpa),
    (IdeaIec104ElementKind::Cp16, ElementKind::Cp16),
    (IdeaIec104ElementKind::Cp24, ElementKind::Cp24),
    (IdeaIec104ElementKind::Cp56, ElementKind::Cp56),
];

/// The C number of a Rust element kind.
pub(crate) fn kind_number(kind: ElementKind) -> u32 {
    KINDS
        .iter()
        .find(|(_, k)| *k == kind)
        .map_or(0, |(c, _)| *c as u32)
}

/// The Rust element kind of a C number.
pub(crate) fn kind_of(number: u32) -> Result<ElementKind, FfiError> {
    KINDS
        .iter()
        .find(|(c, _)| *c as u32 == number)
        .map(|(_, k)| *k)
        .ok_or_else(|| FfiError::invalid(format!("{number} is not an IdeaIec104ElementKind")))
}

/// One information element. `kind` is an `IdeaIec104ElementKind`; `value` holds one-, two- and four-octet
/// elements zero-extended as on the wire (a normalised or scaled value's 16 bits, a float's bits, a counter's
/// 32 bits); `flags` is a counter's sequence/flags octet; `time` holds a time element's octets as on the wire.
/// Unused fields are zero. `idea_iec104_element_float` and `idea_iec104_element_number` convert values.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IdeaIec104Element {
    /// An `IdeaIec104ElementKind`.
    pub kind: u32,
    /// The value, as described above.
    pub value: u32,
    /// The counter reading's sequence/flags octet (BCR only).
    pub flags: u8,
    /// The time octets (CP16: 2, CP24: 3, CP56: 7).
    pub time: [u8; 7],
}

fn octet(value: u32, kind: &str) -> Result<u8, FfiError> {
    u8::try_from(value)
        .map_err(|_| FfiError::invalid(format!("{kind} value {value} exceeds one octet")))
}

fn two(value: u32, kind: &str) -> Result<u16, FfiError> {
    u16::try_from(value)
        .map_err(|_| FfiError::invalid(format!("{kind} value {value} exceeds two octets")))
}

impl IdeaIec104Element {
    /// The C view of an element.
    pub(crate) fn from_element(element: &Element) -> IdeaIec104Element {
        let mut out = IdeaIec104Element {
            kind: kind_number(element.kind()),
            ..IdeaIec104Element::default()
        };
        match *element {
            Element::Siq(v)
            | Element::Diq(v)
            | Element::Vti(v)
            | Element::Qds(v)
            | Element::Sep(v)
            | Element::Spe(v)
            | Element::Oci(v)
            | Element::Qdp(v)
            | Element::Sco(v)
            | Element::Dco(v)
            | Element::Rco(v)
            | Element::Qos(v)
            | Element::Coi(v)
            | Element::Qoi(v)
            | Element::Qcc(v)
            | Element::Qrp(v)
            | Element::Qpm(v)
            | Element::Qpa(v) => out.value = u32::from(v),
            Element::Bsi(v) | Element::R32(v) | Element::Scd(v) => out.value = v,
            Element::Nva(v) | Element::Sva(v) => out.value = u32::from(v.cast_unsigned()),
            Element::Fbp(v) | Element::Tsc(v) => out.value = u32::from(v),
            Element::Bcr(count, flags) => {
                out.value = count.cast_unsigned();
                out.flags = flags;
            }
            Element::Cp16(ms) => {
                let [a, b] = ms.to_le_bytes();
                out.time = [a, b, 0, 0, 0, 0, 0];
            }
            Element::Cp24(t) => {
                let [a, b, c] = t.0;
                out.time = [a, b, c, 0, 0, 0, 0];
            }
            Element::Cp56(t) => out.time = t.0,
        }
        out
    }

    /// The element this view describes, refused when a value does not fit its kind.
    pub(crate) fn to_element(self) -> Result<Element, FfiError> {
        let kind = kind_of(self.kind)?;
        let name = format!("{kind:?}").to_uppercase();
        let v = self.value;
        let [t0, t1, t2, ..] = self.time;
        Ok(match kind {
            ElementKind::Siq => Element::Siq(octet(v, &name)?),
            ElementKind::Diq => Element::Diq(octet(v, &name)?),
            ElementKind::Vti => Element::Vti(octet(v, &name)?),
            ElementKind::Qds => Element::Qds(octet(v, &name)?),
            ElementKind::Bsi => Element::Bsi(v),
            ElementKind::Nva => Element::Nva(two(v, &name)?.cast_signed()),
            ElementKind::Sva => Element::Sva(two(v, &name)?.cast_signed()),
            ElementKind::R32 => Element::R32(v),
            ElementKind::Bcr => Element::Bcr(v.cast_signed(), self.flags),
            ElementKind::Sep => Element::Sep(octet(v, &name)?),
            ElementKind::Spe => Element::Spe(octet(v, &name)?),
            ElementKind::Oci => Element::Oci(octet(v, &name)?),
            ElementKind::Qdp => Element::Qdp(octet(v, &name)?),
            ElementKind::Scd => Element::Scd(v),
            ElementKind::Sco => Element::Sco(octet(v, &name)?),
            ElementKind::Dco => Element::Dco(octet(v, &name)?),
            ElementKind::Rco => Element::Rco(octet(v, &name)?),
            ElementKind::Qos => Element::Qos(octet(v, &name)?),
            ElementKind::Coi => Element::Coi(octet(v, &name)?),
            ElementKind::Qoi => Element::Qoi(octet(v, &name)?),
            ElementKind::Qcc => Element::Qcc(octet(v, &name)?),
            ElementKind::Qrp => Element::Qrp(octet(v, &name)?),
            ElementKind::Fbp => Element::Fbp(two(v, &name)?),
            ElementKind::Tsc => Element::Tsc(two(v, &name)?),
            ElementKind::Qpm => Element::Qpm(octet(v, &name)?),
            ElementKind::Qpa => Element::Qpa(octet(v, &name)?),
            ElementKind::Cp16 => Element::Cp16(u16::from_le_bytes([t0, t1])),
            ElementKind::Cp24 => Element::Cp24(Cp24Time2a([t0, t1, t2])),
            ElementKind::Cp56 => Element::Cp56(Cp56Time2a(self.time)),
        })
    }
}

/// An R32 element (short float, IEC 60870-5-101 clause 7.2.6.8) holding `value`, written through `out`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `out` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_iec104_element_float(
    value: f32,
    out: *mut IdeaIec104Element,
) -> IdeaResult {
    guard(|| {
        let element = IdeaIec104Element::from_element(&Element::R32(value.to_bits()));
        // SAFETY: the caller's guarantee.
        unsafe { value_out(out, element, "out") }
    })
}

/// The number an element stands for: an R32's float, a normalised value as a fraction (NVA ÷ 32768), a scaled
/// value, a counter's count, and the value of the one-octet and two-octet elements; time elements are refused
/// with `IDEA_RESULT_INVALID_ARGUMENT`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `element` is valid for reading; `out` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_iec104_element_number(
    element: *const IdeaIec104Element,
    out: *mut f64,
) -> IdeaResult {
    guard(|| {
        // SAFETY: null or valid by the caller's guarantee.
        let view = unsafe { element.as_ref() }.ok_or_else(|| FfiError::null("element"))?;
        let number = match view.to_element()? {
            Element::R32(bits) => f64::from(f32::from_bits(bits)),
            Element::Nva(v) => f64::from(v) / 32768.0,
            Element::Sva(v) => f64::from(v),
            Element::Bcr(count, _) => f64::from(count),
            Element::Bsi(v) | Element::Scd(v) => f64::from(v),
            Element::Cp16(_) | Element::Cp24(_) | Element::Cp56(_) => {
                return Err(FfiError::invalid("a time element is not a number"));
            }
            _ => f64::from(view.value),
        };
        // SAFETY: the caller's guarantee.
        unsafe { value_out(out, number, "out") }
    })
}

/// The CP56Time2a octets (`time[0..7]` of a CP56 element) for a UTC instant in milliseconds since the Unix
/// epoch, within the years 2000–2099 the format can carry.
///
/// Thread safety: any thread.
///
/// # Safety
/// `out_time` is valid for writing 7 octets.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_iec104_cp56_from_unix_ms(
    unix_ms: i64,
    out_time: *mut u8,
) -> IdeaResult {
    guard(|| {
        let t = idea_proto::Timestamp::from_unix_ms(unix_ms)
            .map_err(|e| FfiError::invalid(format!("{unix_ms} ms: {e}")))?;
        let cp56 = Cp56Time2a::from_timestamp(t)
            .ok_or_else(|| FfiError::invalid(format!("{unix_ms} ms lies outside 2000–2099")))?;
        if out_time.is_null() {
            return Err(FfiError::null("out_time"));
        }
        // SAFETY: valid for 7 octets by the caller's guarantee.
        unsafe { std::ptr::copy_nonoverlapping(cp56.0.as_ptr(), out_time, 7) };
        Ok(())
    })
}

/// The UTC instant (milliseconds since the Unix epoch) of CP56Time2a octets; `IDEA_RESULT_INVALID_ARGUMENT` when
/// the octets are not a valid date.
///
/// Thread safety: any thread.
///
/// # Safety
/// `time` is valid for reading 7 octets; `out_unix_ms` is valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn idea_iec104_cp56_to_unix_ms(
    time: *const u8,
    out_unix_ms: *mut i64,
) -> IdeaResult {
    guard(|| {
        if time.is_null() {
            return Err(FfiError::null("time"));
        }
        let mut octets = [0u8; 7];
        // SAFETY: valid for 7 octets by the caller's guarantee.
        unsafe { std::ptr::copy_nonoverlapping(time, octets.as_mut_ptr(), 7) };
        let t = Cp56Time2a(octets)
            .to_timestamp()
            .ok_or_else(|| FfiError::invalid("the octets are not a valid CP56Time2a date"))?;
        // SAFETY: the caller's guarantee.
        unsafe { value_out(out_unix_ms, t.unix_ms(), "out_unix_ms") }
    })
}
