//! The DER control modes a `DERControlBase` can carry (IEEE 2030.5-2018 clause 10.10, the `DERControlType`
//! bitmap of the schema, and the CSIP-AUS dynamic operating envelope controls), and sets of them.
//!
//! The scheduler arbitrates per mode: two events that set different modes run side by side; two that set the
//! same mode compete by primacy and creation time.

use crate::primitives::{HexBinary, HexBinary32};
use crate::resources::DERControlBase;

/// Where a mode's bit sits in a capability bitmap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapabilityBit {
    /// Bit of `DERCapability.modesSupported` (`DERControlType`).
    Sep(u8),
    /// Bit of `csipaus:doeModesSupported` (`DOEControlType`).
    Doe(u8),
}

macro_rules! der_modes {
    ($( $(#[$doc:meta])* $mode:ident => $field:ident, $xml:literal, $bit:expr; )*) => {
        /// One DER control mode: an element of `DERControlBase` (`rampTms` is not a mode but a property of
        /// the control that sets them).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum DerMode {
            $( $(#[$doc])* #[doc(alias = $xml)] $mode, )*
        }

        impl DerMode {
            /// Every mode, in the schema's element order.
            pub const ALL: &'static [DerMode] = &[$(DerMode::$mode),*];

            /// The element's name in the schema (`opModTargetW`).
            pub fn name(self) -> &'static str {
                match self { $(DerMode::$mode => $xml,)* }
            }

            /// The mode's bit in the capability bitmaps.
            pub fn capability_bit(self) -> CapabilityBit {
                match self { $(DerMode::$mode => $bit,)* }
            }

            /// Whether `base` sets this mode.
            pub fn is_set(self, base: &DERControlBase) -> bool {
                match self { $(DerMode::$mode => base.$field.is_some(),)* }
            }

            /// Copies this mode's value from `from` into `to` (clearing it when `from` does not set it).
            pub fn copy(self, from: &DERControlBase, to: &mut DERControlBase) {
                match self { $(DerMode::$mode => to.$field.clone_from(&from.$field),)* }
            }
        }
    };
}

der_modes! {
    /// Connect (true) or disconnect with galvanic isolation.
    Connect => op_mod_connect, "opModConnect", CapabilityBit::Sep(2);
    /// Energize or de-energize.
    Energize => op_mod_energize, "opModEnergize", CapabilityBit::Sep(3);
    /// Fixed power factor while absorbing active power.
    FixedPfAbsorbW => op_mod_fixed_pf_absorb_w, "opModFixedPFAbsorbW", CapabilityBit::Sep(4);
    /// Fixed power factor while injecting active power.
    FixedPfInjectW => op_mod_fixed_pf_inject_w, "opModFixedPFInjectW", CapabilityBit::Sep(5);
    /// Reactive power setpoint.
    FixedVar => op_mod_fixed_var, "opModFixedVar", CapabilityBit::Sep(6);
    /// Charge/discharge setpoint, % of `setMaxW`.
    FixedW => op_mod_fixed_w, "opModFixedW", CapabilityBit::Sep(7);
    /// Parameterised frequency-watt droop.
    FreqDroop => op_mod_freq_droop, "opModFreqDroop", CapabilityBit::Sep(8);
    /// Frequency-watt curve.
    FreqWatt => op_mod_freq_watt, "opModFreqWatt", CapabilityBit::Sep(9);
    /// High-frequency ride-through, may trip.
    HfrtMayTrip => op_mod_hfrt_may_trip, "opModHFRTMayTrip", CapabilityBit::Sep(10);
    /// High-frequency ride-through, must trip.
    HfrtMustTrip => op_mod_hfrt_must_trip, "opModHFRTMustTrip", CapabilityBit::Sep(11);
    /// High-voltage ride-through, may trip.
    HvrtMayTrip => op_mod_hvrt_may_trip, "opModHVRTMayTrip", CapabilityBit::Sep(12);
    /// High-voltage ride-through, momentary cessation.
    HvrtMomentaryCessation => op_mod_hvrt_momentary_cessation, "opModHVRTMomentaryCessation", CapabilityBit::Sep(13);
    /// High-voltage ride-through, must trip.
    HvrtMustTrip => op_mod_hvrt_must_trip, "opModHVRTMustTrip", CapabilityBit::Sep(14);
    /// Low-frequency ride-through, may trip.
    LfrtMayTrip => op_mod_lfrt_may_trip, "opModLFRTMayTrip", CapabilityBit::Sep(15);
    /// Low-frequency ride-through, must trip.
    LfrtMustTrip => op_mod_lfrt_must_trip, "opModLFRTMustTrip", CapabilityBit::Sep(16);
    /// Low-voltage ride-through, may trip.
    LvrtMayTrip => op_mod_lvrt_may_trip, "opModLVRTMayTrip", CapabilityBit::Sep(17);
    /// Low-voltage ride-through, momentary cessation.
    LvrtMomentaryCessation => op_mod_lvrt_momentary_cessation, "opModLVRTMomentaryCessation", CapabilityBit::Sep(18);
    /// Low-voltage ride-through, must trip.
    LvrtMustTrip => op_mod_lvrt_must_trip, "opModLVRTMustTrip", CapabilityBit::Sep(19);
    /// Maximum active power, % of `setMaxW`.
    MaxLimW => op_mod_max_lim_w, "opModMaxLimW", CapabilityBit::Sep(20);
    /// Target reactive power.
    TargetVar => op_mod_target_var, "opModTargetVar", CapabilityBit::Sep(21);
    /// Target active power.
    TargetW => op_mod_target_w, "opModTargetW", CapabilityBit::Sep(22);
    /// Volt-var curve.
    VoltVar => op_mod_volt_var, "opModVoltVar", CapabilityBit::Sep(23);
    /// Volt-watt curve.
    VoltWatt => op_mod_volt_watt, "opModVoltWatt", CapabilityBit::Sep(24);
    /// Watt-power-factor curve.
    WattPf => op_mod_watt_pf, "opModWattPF", CapabilityBit::Sep(25);
    /// Watt-var curve.
    WattVar => op_mod_watt_var, "opModWattVar", CapabilityBit::Sep(26);
    /// CSIP-AUS: maximum imported active power at the connection point.
    ImpLimW => op_mod_imp_lim_w, "opModImpLimW", CapabilityBit::Doe(1);
    /// CSIP-AUS: maximum exported active power at the connection point.
    ExpLimW => op_mod_exp_lim_w, "opModExpLimW", CapabilityBit::Doe(0);
    /// CSIP-AUS: maximum generation (discharge) rate.
    GenLimW => op_mod_gen_lim_w, "opModGenLimW", CapabilityBit::Doe(2);
    /// CSIP-AUS: maximum load (charge) rate.
    LoadLimW => op_mod_load_lim_w, "opModLoadLimW", CapabilityBit::Doe(3);
}

impl DerMode {
    /// The mode's bit in a [`ModeSet`]: its declaration order (fewer than 32 modes).
    fn bit(self) -> u32 {
        1u32.checked_shl(self as u32).unwrap_or(0)
    }
}

/// A set of [`DerMode`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ModeSet(u32);

impl ModeSet {
    /// No mode.
    pub const EMPTY: ModeSet = ModeSet(0);

    /// Every mode.
    pub fn all() -> Self {
        DerMode::ALL.iter().copied().collect()
    }

    /// The modes `base` sets.
    pub fn of(base: &DERControlBase) -> Self {
        DerMode::ALL
            .iter()
            .copied()
            .filter(|m| m.is_set(base))
            .collect()
    }

    /// The modes a device declares in `DERCapability.modesSupported` and, for CSIP-AUS devices,
    /// `csipaus:doeModesSupported`.
    pub fn from_capability(
        modes_supported: &HexBinary32,
        doe_modes_supported: Option<&HexBinary<1>>,
    ) -> Self {
        DerMode::ALL
            .iter()
            .copied()
            .filter(|m| match m.capability_bit() {
                CapabilityBit::Sep(bit) => modes_supported.bit(usize::from(bit)),
                CapabilityBit::Doe(bit) => {
                    doe_modes_supported.is_some_and(|d| d.bit(usize::from(bit)))
                }
            })
            .collect()
    }

    /// Whether `mode` is in the set.
    pub fn contains(self, mode: DerMode) -> bool {
        self.0 & mode.bit() != 0
    }

    /// Adds `mode`.
    pub fn insert(&mut self, mode: DerMode) {
        self.0 |= mode.bit();
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether the two sets share a mode.
    pub fn intersects(self, other: ModeSet) -> bool {
        self.0 & other.0 != 0
    }

    /// Whether every mode of `self` is in `other`.
    pub fn is_subset(self, other: ModeSet) -> bool {
        self.0 & !other.0 == 0
    }

    /// The modes of `self` not in `other`.
    #[must_use]
    pub fn difference(self, other: ModeSet) -> ModeSet {
        ModeSet(self.0 & !other.0)
    }

    /// The modes in either set.
    #[must_use]
    pub fn union(self, other: ModeSet) -> ModeSet {
        ModeSet(self.0 | other.0)
    }

    /// The modes, in schema order.
    pub fn iter(self) -> impl Iterator<Item = DerMode> {
        DerMode::ALL
            .iter()
            .copied()
            .filter(move |m| self.contains(*m))
    }
}

impl FromIterator<DerMode> for ModeSet {
    fn from_iter<I: IntoIterator<Item = DerMode>>(iter: I) -> Self {
        let mut set = ModeSet::EMPTY;
        for mode in iter {
            set.insert(mode);
        }
        set
    }
}
