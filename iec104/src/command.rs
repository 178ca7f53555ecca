//! Commands in control direction (IEC 60870-5-101 clause 7.3.2, types 45–51 and their time-tagged forms 58–64)
//! built from a value as a person or an application states it: a state, a step or a set-point.

use crate::asdu::{Asdu, Cot, InformationObject, Objects};
use crate::element::Element;
use crate::error::Error;
use crate::station::cause;
use crate::time::Cp56Time2a;
use crate::types::{ElementKind, type_info};

/// A command to one information object.
///
/// `value` means, by type: `C_SC_NA_1`/`C_SC_TA_1` 0 (off) or 1 (on); `C_DC_NA_1`/`C_DC_TA_1` 1 (off) or 2 (on);
/// `C_RC_NA_1`/`C_RC_TA_1` 1 (next step lower) or 2 (next step higher); `C_SE_NA_1`/`C_SE_TA_1` a normalised
/// value in −1 … 1 − 2⁻¹⁵; `C_SE_NB_1`/`C_SE_TB_1` a scaled value (an integer of i16); `C_SE_NC_1`/`C_SE_TC_1`
/// a short float; `C_BO_NA_1`/`C_BO_TA_1` a 32-bit string as an unsigned integer.
#[doc(alias = "C_SC_NA_1")]
#[doc(alias = "C_DC_NA_1")]
#[doc(alias = "C_RC_NA_1")]
#[doc(alias = "C_SE_NA_1")]
#[doc(alias = "C_SE_NB_1")]
#[doc(alias = "C_SE_NC_1")]
#[doc(alias = "C_BO_NA_1")]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Command {
    /// The type identification: 45–51 or 58–64.
    pub type_id: u8,
    /// Common address of the ASDU.
    pub common_address: u16,
    /// Information object address.
    pub ioa: u32,
    /// The commanded value (see the type's meaning above).
    pub value: f64,
    /// Select (S/E = 1) instead of execute, for select-before-operate.
    pub select: bool,
    /// QU of a single, double or step command (0–31: 0 no additional definition, 1 short pulse, 2 long pulse,
    /// 3 persistent output) or QL of a set-point (0–127); ignored by `C_BO_*`.
    pub qualifier: u8,
    /// The time tag, required by the time-tagged types 58–64 and refused by the others.
    pub time: Option<Cp56Time2a>,
}

fn value_error(type_name: &str, reason: impl std::fmt::Display) -> Error {
    Error::Encode {
        field: "command value",
        reason: format!("{type_name}: {reason}"),
    }
}

impl Command {
    /// The activation ASDU (cause 6) of this command.
    pub fn to_asdu(&self) -> Result<Asdu, Error> {
        let info = type_info(self.type_id)
            .filter(|t| (45..=51).contains(&t.id) || (58..=64).contains(&t.id))
            .ok_or_else(|| Error::Encode {
                field: "type identification",
                reason: format!("{} is not a command type (45–51, 58–64)", self.type_id),
            })?;
        let name = info.name;
        let select = if self.select { 0x80 } else { 0 };
        let mut elements = Vec::with_capacity(info.elements.len());
        for kind in info.elements {
            let element = match kind {
                ElementKind::Sco => {
                    Element::Sco(self.state(name, &[0, 1])? | self.qu(name)? | select)
                }
                ElementKind::Dco => {
                    Element::Dco(self.state(name, &[1, 2])? | self.qu(name)? | select)
                }
                ElementKind::Rco => {
                    Element::Rco(self.state(name, &[1, 2])? | self.qu(name)? | select)
                }
                ElementKind::Nva => Element::Nva(self.normalised(name)?),
                ElementKind::Sva => Element::Sva(self.integer(name)?),
                ElementKind::R32 => Element::R32(self.float(name)?.to_bits()),
                ElementKind::Bsi => Element::Bsi(self.integer(name)?),
                ElementKind::Qos if self.qualifier <= 0x7f => Element::Qos(self.qualifier | select),
                ElementKind::Qos => {
                    return Err(value_error(name, "the set-point qualifier QL is 0–127"));
                }
                ElementKind::Cp56 => {
                    Element::Cp56(self.time.ok_or_else(|| {
                        value_error(name, "a time-tagged command needs a time tag")
                    })?)
                }
                other => return Err(value_error(name, format!("unexpected element {other:?}"))),
            };
            elements.push(element);
        }
        if self.time.is_some() && !info.elements.contains(&ElementKind::Cp56) {
            return Err(value_error(
                name,
                "has no time tag (use the time-tagged type)",
            ));
        }
        Ok(Asdu {
            type_id: self.type_id,
            sq: false,
            count: 1,
            cot: Cot::new(cause::ACTIVATION),
            common_address: self.common_address,
            objects: Objects::Known(vec![InformationObject {
                ioa: self.ioa,
                elements,
            }]),
        })
    }

    /// The state bits of a single, double or step command: the value must be one of `allowed`.
    fn state(&self, name: &str, allowed: &[u8]) -> Result<u8, Error> {
        allowed
            .iter()
            .copied()
            .find(|a| f64::from(*a) == self.value)
            .ok_or_else(|| {
                value_error(
                    name,
                    format!("the value must be one of {allowed:?}, not {}", self.value),
                )
            })
    }

    /// The QU bits (2–6) of a single, double or step command.
    fn qu(&self, name: &str) -> Result<u8, Error> {
        if self.qualifier > 31 {
            return Err(value_error(name, "the command qualifier QU is 0–31"));
        }
        Ok(self.qualifier << 2)
    }

    /// A normalised value: −1 … 1 − 2⁻¹⁵, rounded to the nearest step of 2⁻¹⁵.
    fn normalised(&self, name: &str) -> Result<i16, Error> {
        let steps = (self.value * 32768.0).round();
        if !(-32768.0..=32767.0).contains(&steps) {
            return Err(value_error(
                name,
                format!("{} is outside −1 … 1 − 2⁻¹⁵", self.value),
            ));
        }
        // In range and whole: checked just above.
        #[allow(clippy::cast_possible_truncation)]
        Ok(steps as i16)
    }

    /// A whole value that fits `T` (i16 for scaled set-points, u32 for bit strings).
    fn integer<T: TryFrom<i64>>(&self, name: &str) -> Result<T, Error> {
        let whole = self.value.fract() == 0.0 && self.value.abs() < 9.0e15;
        // Whole and far inside i64: checked just above.
        #[allow(clippy::cast_possible_truncation)]
        let as_int = self.value as i64;
        whole
            .then_some(as_int)
            .and_then(|v| T::try_from(v).ok())
            .ok_or_else(|| {
                value_error(
                    name,
                    format!("{} is not a whole value in range", self.value),
                )
            })
    }

    /// A short float: finite and within f32's range.
    fn float(&self, name: &str) -> Result<f32, Error> {
        // Rounded to the nearest f32; infinities and NaN refused below.
        #[allow(clippy::cast_possible_truncation)]
        let short = self.value as f32;
        if short.is_finite() {
            Ok(short)
        } else {
            Err(value_error(
                name,
                format!("{} is not a finite short float", self.value),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn command(type_id: u8, value: f64) -> Command {
        Command {
            type_id,
            common_address: 1,
            ioa: 5001,
            value,
            select: false,
            qualifier: 0,
            time: None,
        }
    }

    fn elements(asdu: &Asdu) -> Vec<Element> {
        match &asdu.objects {
            Objects::Known(objects) => objects.iter().flat_map(|o| o.elements.clone()).collect(),
            Objects::Raw(_) => Vec::new(),
        }
    }

    #[test]
    fn each_type_encodes_its_value() {
        let select = Command {
            select: true,
            qualifier: 1,
            ..command(45, 1.0)
        };
        assert_eq!(elements(&select.to_asdu().unwrap()), [Element::Sco(0x85)]);
        assert_eq!(
            elements(&command(46, 2.0).to_asdu().unwrap()),
            [Element::Dco(2)]
        );
        assert_eq!(
            elements(&command(47, 1.0).to_asdu().unwrap()),
            [Element::Rco(1)]
        );
        assert_eq!(
            elements(&command(48, -0.5).to_asdu().unwrap()),
            [Element::Nva(-16384), Element::Qos(0)]
        );
        assert_eq!(
            elements(&command(49, -1200.0).to_asdu().unwrap()),
            [Element::Sva(-1200), Element::Qos(0)]
        );
        assert_eq!(
            elements(&command(50, 12.5).to_asdu().unwrap()),
            [Element::R32(12.5f32.to_bits()), Element::Qos(0)]
        );
        assert_eq!(
            elements(&command(51, 5.0).to_asdu().unwrap()),
            [Element::Bsi(5)]
        );
        let asdu = command(50, 1.0).to_asdu().unwrap();
        assert_eq!(
            (asdu.cot.cause, asdu.common_address),
            (cause::ACTIVATION, 1)
        );
    }

    #[test]
    fn time_tags_go_with_the_time_tagged_types_only() {
        let time = Cp56Time2a::from_timestamp("2026-12-02T12:00:00Z".parse().unwrap()).unwrap();
        let tagged = Command {
            time: Some(time),
            ..command(63, 3.0)
        };
        assert_eq!(
            elements(&tagged.to_asdu().unwrap()),
            [
                Element::R32(3.0f32.to_bits()),
                Element::Qos(0),
                Element::Cp56(time)
            ]
        );
        assert!(matches!(
            command(63, 3.0).to_asdu(),
            Err(Error::Encode { reason, .. }) if reason.contains("needs a time tag")
        ));
        let untagged = Command {
            time: Some(time),
            ..command(50, 3.0)
        };
        assert!(matches!(
            untagged.to_asdu(),
            Err(Error::Encode { reason, .. }) if reason.contains("has no time tag")
        ));
    }

    #[test]
    fn values_out_of_range_are_refused_with_the_reason() {
        let refused = |c: Command, needle: &str| match c.to_asdu() {
            Err(Error::Encode { reason, .. }) => assert!(reason.contains(needle), "{reason}"),
            other => panic!("{c:?}: {other:?}"),
        };
        refused(command(45, 2.0), "one of [0, 1]");
        refused(command(46, 0.0), "one of [1, 2]");
        refused(command(48, 1.0), "outside");
        refused(command(49, 40000.0), "not a whole value");
        refused(command(49, 1.5), "not a whole value");
        refused(command(50, f64::NAN), "not a finite");
        refused(command(50, 1e300), "not a finite");
        refused(command(51, -1.0), "not a whole value");
        refused(
            Command {
                qualifier: 32,
                ..command(45, 1.0)
            },
            "QU is 0–31",
        );
        refused(
            Command {
                qualifier: 128,
                ..command(50, 1.0)
            },
            "QL is 0–127",
        );
        assert!(matches!(
            command(13, 1.0).to_asdu(),
            Err(Error::Encode {
                field: "type identification",
                ..
            })
        ));
    }
}
