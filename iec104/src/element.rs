//! Information element values, read and written exactly as on the wire.

use crate::error::{Error, decode_error};
use crate::time::{Cp24Time2a, Cp56Time2a};
use crate::types::ElementKind;

/// One information element. Octets keep every bit the sender set (reserved bits included), so encoding a
/// decoded element gives back the same bytes; floats are kept as their bit pattern for the same reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Element {
    /// Single-point information with quality: bit 0 SPI, bits 4–7 BL SB NT IV.
    Siq(u8),
    /// Double-point information with quality: bits 0–1 DPI, bits 4–7 BL SB NT IV.
    Diq(u8),
    /// Step position: bits 0–6 value (signed), bit 7 transient.
    Vti(u8),
    /// Quality descriptor: bit 0 OV, bits 4–7 BL SB NT IV.
    Qds(u8),
    /// 32-bit binary state information.
    Bsi(u32),
    /// Normalised value (−1 … 1 − 2⁻¹⁵ as i16 / 32768).
    Nva(i16),
    /// Scaled value.
    Sva(i16),
    /// IEEE 754 short float, as its bits.
    R32(u32),
    /// Binary counter reading: the count and the sequence/flags octet (SQ 0–4, CY, CA, IV).
    Bcr(i32, u8),
    /// Single event of protection equipment.
    Sep(u8),
    /// Start events of protection equipment.
    Spe(u8),
    /// Output circuit information.
    Oci(u8),
    /// Quality descriptor for protection events.
    Qdp(u8),
    /// Status and status change detection.
    Scd(u32),
    /// Single command: bit 0 SCS, bits 2–6 QU, bit 7 S/E (select).
    Sco(u8),
    /// Double command: bits 0–1 DCS, bits 2–6 QU, bit 7 S/E.
    Dco(u8),
    /// Regulating step command: bits 0–1 RCS, bits 2–6 QU, bit 7 S/E.
    Rco(u8),
    /// Qualifier of set-point command: bits 0–6 QL, bit 7 S/E.
    Qos(u8),
    /// Cause of initialisation.
    Coi(u8),
    /// Qualifier of interrogation (20 = station, 21–36 = groups 1–16).
    Qoi(u8),
    /// Qualifier of counter interrogation.
    Qcc(u8),
    /// Qualifier of reset process.
    Qrp(u8),
    /// Fixed test bit pattern (0x55AA).
    Fbp(u16),
    /// Test sequence counter.
    Tsc(u16),
    /// Qualifier of parameter of measured values.
    Qpm(u8),
    /// Qualifier of parameter activation.
    Qpa(u8),
    /// Two-octet time, milliseconds.
    Cp16(u16),
    /// Three-octet time.
    Cp24(Cp24Time2a),
    /// Seven-octet time.
    Cp56(Cp56Time2a),
}

fn take<const N: usize>(input: &[u8], at: usize, field: &'static str) -> Result<[u8; N], Error> {
    input
        .get(at..at.saturating_add(N))
        .and_then(|s| <[u8; N]>::try_from(s).ok())
        .map_or_else(
            || {
                decode_error(
                    at,
                    field,
                    format!("needs {N} octets, {} left", input.len().saturating_sub(at)),
                )
            },
            Ok,
        )
}

impl Element {
    /// The kind of this element.
    pub fn kind(&self) -> ElementKind {
        match self {
            Element::Siq(_) => ElementKind::Siq,
            Element::Diq(_) => ElementKind::Diq,
            Element::Vti(_) => ElementKind::Vti,
            Element::Qds(_) => ElementKind::Qds,
            Element::Bsi(_) => ElementKind::Bsi,
            Element::Nva(_) => ElementKind::Nva,
            Element::Sva(_) => ElementKind::Sva,
            Element::R32(_) => ElementKind::R32,
            Element::Bcr(..) => ElementKind::Bcr,
            Element::Sep(_) => ElementKind::Sep,
            Element::Spe(_) => ElementKind::Spe,
            Element::Oci(_) => ElementKind::Oci,
            Element::Qdp(_) => ElementKind::Qdp,
            Element::Scd(_) => ElementKind::Scd,
            Element::Sco(_) => ElementKind::Sco,
            Element::Dco(_) => ElementKind::Dco,
            Element::Rco(_) => ElementKind::Rco,
            Element::Qos(_) => ElementKind::Qos,
            Element::Coi(_) => ElementKind::Coi,
            Element::Qoi(_) => ElementKind::Qoi,
            Element::Qcc(_) => ElementKind::Qcc,
            Element::Qrp(_) => ElementKind::Qrp,
            Element::Fbp(_) => ElementKind::Fbp,
            Element::Tsc(_) => ElementKind::Tsc,
            Element::Qpm(_) => ElementKind::Qpm,
            Element::Qpa(_) => ElementKind::Qpa,
            Element::Cp16(_) => ElementKind::Cp16,
            Element::Cp24(_) => ElementKind::Cp24,
            Element::Cp56(_) => ElementKind::Cp56,
        }
    }

    /// Reads an element of `kind` at `at` in `input`.
    pub(crate) fn decode(kind: ElementKind, input: &[u8], at: usize) -> Result<Element, Error> {
        let one = |field| take::<1>(input, at, field).map(|[b]| b);
        let two = |field| take::<2>(input, at, field);
        let four = |field| take::<4>(input, at, field);
        Ok(match kind {
            ElementKind::Siq => Element::Siq(one("SIQ")?),
            ElementKind::Diq => Element::Diq(one("DIQ")?),
            ElementKind::Vti => Element::Vti(one("VTI")?),
            ElementKind::Qds => Element::Qds(one("QDS")?),
            ElementKind::Bsi => Element::Bsi(u32::from_le_bytes(four("BSI")?)),
            ElementKind::Nva => Element::Nva(i16::from_le_bytes(two("NVA")?)),
            ElementKind::Sva => Element::Sva(i16::from_le_bytes(two("SVA")?)),
            ElementKind::R32 => Element::R32(u32::from_le_bytes(four("R32")?)),
            ElementKind::Bcr => {
                let [a, b, c, d, f] = take::<5>(input, at, "BCR")?;
                Element::Bcr(i32::from_le_bytes([a, b, c, d]), f)
            }
            ElementKind::Sep => Element::Sep(one("SEP")?),
            ElementKind::Spe => Element::Spe(one("SPE")?),
            ElementKind::Oci => Element::Oci(one("OCI")?),
            ElementKind::Qdp => Element::Qdp(one("QDP")?),
            ElementKind::Scd => Element::Scd(u32::from_le_bytes(four("SCD")?)),
            ElementKind::Sco => Element::Sco(one("SCO")?),
            ElementKind::Dco => Element::Dco(one("DCO")?),
            ElementKind::Rco => Element::Rco(one("RCO")?),
            ElementKind::Qos => Element::Qos(one("QOS")?),
            ElementKind::Coi => Element::Coi(one("COI")?),
            ElementKind::Qoi => Element::Qoi(one("QOI")?),
            ElementKind::Qcc => Element::Qcc(one("QCC")?),
            ElementKind::Qrp => Element::Qrp(one("QRP")?),
            ElementKind::Fbp => Element::Fbp(u16::from_le_bytes(two("FBP")?)),
            ElementKind::Tsc => Element::Tsc(u16::from_le_bytes(two("TSC")?)),
            ElementKind::Qpm => Element::Qpm(one("QPM")?),
            ElementKind::Qpa => Element::Qpa(one("QPA")?),
            ElementKind::Cp16 => Element::Cp16(u16::from_le_bytes(two("CP16Time2a")?)),
            ElementKind::Cp24 => Element::Cp24(Cp24Time2a(take::<3>(input, at, "CP24Time2a")?)),
            ElementKind::Cp56 => Element::Cp56(Cp56Time2a(take::<7>(input, at, "CP56Time2a")?)),
        })
    }

    /// Appends the element's octets.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        match *self {
            Element::Siq(b)
            | Element::Diq(b)
            | Element::Vti(b)
            | Element::Qds(b)
            | Element::Sep(b)
            | Element::Spe(b)
            | Element::Oci(b)
            | Element::Qdp(b)
            | Element::Sco(b)
            | Element::Dco(b)
            | Element::Rco(b)
            | Element::Qos(b)
            | Element::Coi(b)
            | Element::Qoi(b)
            | Element::Qcc(b)
            | Element::Qrp(b)
            | Element::Qpm(b)
            | Element::Qpa(b) => out.push(b),
            Element::Bsi(v) | Element::R32(v) | Element::Scd(v) => {
                out.extend_from_slice(&v.to_le_bytes())
            }
            Element::Nva(v) | Element::Sva(v) => out.extend_from_slice(&v.to_le_bytes()),
            Element::Bcr(v, f) => {
                out.extend_from_slice(&v.to_le_bytes());
                out.push(f);
            }
            Element::Fbp(v) | Element::Tsc(v) | Element::Cp16(v) => {
                out.extend_from_slice(&v.to_le_bytes())
            }
            Element::Cp24(t) => out.extend_from_slice(&t.0),
            Element::Cp56(t) => out.extend_from_slice(&t.0),
        }
    }
}
