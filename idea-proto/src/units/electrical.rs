//! Voltage, current and frequency, in milli-units so that device readings keep their resolution.

use super::quantity;

quantity!(
    /// Voltage in millivolts (RMS for AC).
    Voltage, from_mv, mv, "mV", 1000
);
quantity!(
    /// Current in milliamperes (RMS for AC).
    Current, from_ma, ma, "mA", 1000
);
quantity!(
    /// Frequency in millihertz: 50 Hz is `Frequency::from_mhz(50_000)`.
    Frequency, from_mhz, mhz, "mHz", 1000
);

impl Voltage {
    /// From whole volts; `None` if it overflows.
    pub fn from_v(volts: i64) -> Option<Voltage> {
        volts.checked_mul(1000).map(Voltage::from_mv)
    }
}

impl Frequency {
    /// 50 Hz.
    pub const NOMINAL_50HZ: Frequency = Frequency::from_mhz(50_000);
    /// 60 Hz.
    pub const NOMINAL_60HZ: Frequency = Frequency::from_mhz(60_000);
}
