//! Serial lines for Modbus RTU (feature `serial`): open a port with the character format of Modbus over
//! Serial Line V1.02 (2.5.1: 8 data bits, even parity by default, 11 bits a character), then serve a
//! device on it or run a client over it with the 3.5-character silence between frames.

use crate::Error;
use crate::frame::frame_gap;
use crate::net::{Client, Framing, Shared, serve_rtu};
use crate::server::Registers;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;
use tokio_serial::SerialPortBuilderExt;

/// An open serial port: an `AsyncRead + AsyncWrite` byte stream (termios on Unix, a COM port on Windows),
/// opened for exclusive use.
pub use tokio_serial::SerialStream;

/// The parity bit of each character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parity {
    /// No parity bit: two stop bits keep the character at 11 bits (2.5.1).
    None,
    /// Even parity, the Modbus default.
    Even,
    /// Odd parity.
    Odd,
}

impl FromStr for Parity {
    type Err = Error;

    /// `none`, `even` or `odd` (or `N`, `E`, `O`), in any case.
    fn from_str(text: &str) -> Result<Self, Error> {
        match text.to_ascii_lowercase().as_str() {
            "none" | "n" => Ok(Parity::None),
            "even" | "e" => Ok(Parity::Even),
            "odd" | "o" => Ok(Parity::Odd),
            _ => Err(Error::Invalid {
                field: "parity",
                reason: format!("{text:?}: none, even or odd"),
            }),
        }
    }
}

impl fmt::Display for Parity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Parity::None => "none",
            Parity::Even => "even",
            Parity::Odd => "odd",
        })
    }
}

/// A serial line and its character format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialLine {
    /// The device: `/dev/ttyUSB0`, `/dev/ttyS1`, `COM3`.
    pub path: String,
    /// Bits per second (Modbus requires 9 600 and 19 200, the default).
    pub baud: u32,
    /// The parity bit.
    pub parity: Parity,
    /// Stop bits, 1 or 2: 2 without parity, 1 with (set by [`SerialLine::new`]).
    pub stop_bits: u8,
}

impl SerialLine {
    /// The line at `path` with 8 data bits, `parity`, and the stop bits that make 11-bit characters.
    pub fn new(path: impl Into<String>, baud: u32, parity: Parity) -> Self {
        Self {
            path: path.into(),
            baud,
            parity,
            stop_bits: if parity == Parity::None { 2 } else { 1 },
        }
    }

    /// The silence that ends a frame on this line: 3.5 characters, 1.75 ms above 19 200 bit/s.
    pub fn frame_gap(&self) -> Duration {
        frame_gap(self.baud)
    }

    /// Opens the port in raw mode with this format, for exclusive use (a second opener is refused).
    ///
    /// # Errors
    /// [`Error::Invalid`] for a baud rate of 0 or stop bits other than 1 and 2; [`Error::Transport`]
    /// naming the device when it cannot be opened or configured.
    pub fn open(&self) -> Result<SerialStream, Error> {
        if self.baud == 0 {
            return Err(Error::Invalid {
                field: "baud",
                reason: "0 bit/s".into(),
            });
        }
        let stop_bits = match self.stop_bits {
            1 => tokio_serial::StopBits::One,
            2 => tokio_serial::StopBits::Two,
            n => {
                return Err(Error::Invalid {
                    field: "stop_bits",
                    reason: format!("{n}: 1 or 2"),
                });
            }
        };
        tokio_serial::new(&self.path, self.baud)
            .data_bits(tokio_serial::DataBits::Eight)
            .parity(match self.parity {
                Parity::None => tokio_serial::Parity::None,
                Parity::Even => tokio_serial::Parity::Even,
                Parity::Odd => tokio_serial::Parity::Odd,
            })
            .stop_bits(stop_bits)
            .flow_control(tokio_serial::FlowControl::None)
            .open_native_async()
            .map_err(|e| Error::Transport(format!("{}: {e}", self.path)))
    }
}

impl fmt::Display for SerialLine {
    /// `/dev/ttyUSB0 19200 8E1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parity = match self.parity {
            Parity::None => 'N',
            Parity::Even => 'E',
            Parity::Odd => 'O',
        };
        write!(f, "{} {} 8{parity}{}", self.path, self.baud, self.stop_bits)
    }
}

impl Client<SerialStream> {
    /// Opens `line` and returns an RTU client for `unit` on it that keeps the line's frame gap before each
    /// request.
    ///
    /// # Errors
    /// As [`SerialLine::open`].
    pub fn open_serial(line: &SerialLine, unit: u8) -> Result<Self, Error> {
        let mut client = Client::new(line.open()?, Framing::Rtu, unit);
        client.set_frame_gap(line.frame_gap());
        Ok(client)
    }
}

/// Opens `line` and serves `server` on it as an RTU device until the port fails: frames end at the
/// line's 3.5-character silence or when their length is reached; other units get silence.
///
/// # Errors
/// As [`SerialLine::open`], then [`Error::Transport`] when the port fails.
pub async fn serve_serial<R: Registers>(line: &SerialLine, server: Shared<R>) -> Result<(), Error> {
    serve_rtu(line.open()?, server, line.frame_gap()).await
}
