//! The serial line settings `idea serve --serial` and `idea sunspec scan --serial` share.

/// The character format of a serial line (Modbus over Serial Line 2.5.1: 8 data bits, 11 bits a character).
#[derive(Debug, clap::Args)]
pub(crate) struct LineArgs {
    /// With --serial: bits per second [default: 19200].
    #[arg(long, requires = "serial")]
    pub(crate) baud: Option<u32>,
    /// With --serial: parity, none, even or odd [default: even].
    #[arg(long, requires = "serial")]
    pub(crate) parity: Option<modbus_profiles::net::Parity>,
    /// With --serial: stop bits (default 1 with parity, 2 without).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=2), requires = "serial")]
    pub(crate) stop_bits: Option<u8>,
}

impl LineArgs {
    /// Whether any setting was given.
    pub(crate) fn is_set(&self) -> bool {
        self.baud.is_some() || self.parity.is_some() || self.stop_bits.is_some()
    }

    pub(crate) fn line(&self, path: &str) -> modbus_profiles::net::SerialLine {
        // Modbus over Serial Line 2.5.1: 19 200 bit/s and even parity unless configured otherwise.
        let mut line = modbus_profiles::net::SerialLine::new(
            path,
            self.baud.unwrap_or(19_200),
            self.parity.unwrap_or(modbus_profiles::net::Parity::Even),
        );
        if let Some(stop_bits) = self.stop_bits {
            line.stop_bits = stop_bits;
        }
        line
    }
}
