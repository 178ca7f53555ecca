//! Frames over a byte stream: a receive buffer that yields whole APDUs, and writing what a link has to send.

use crate::apci::Apdu;
use crate::asdu::AsduParams;
use crate::error::Error;
use crate::link::Link;
use std::time::Instant;
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// Octets received but not yet decoded.
#[derive(Default)]
pub(super) struct ReceiveBuffer {
    bytes: Vec<u8>,
}

impl ReceiveBuffer {
    pub(super) fn extend(&mut self, data: &[u8]) {
        self.bytes.extend_from_slice(data);
    }

    /// The next whole APDU, `Ok(None)` when more octets are needed, an error when the stream is corrupt.
    pub(super) fn next(&mut self, params: &AsduParams) -> Result<Option<Apdu>, Error> {
        let Some(&len) = self.bytes.get(1) else {
            return Ok(None);
        };
        match self.bytes.first() {
            Some(&crate::apci::START) => {}
            // A TLS record (alert 0x15, handshake 0x16) with the version's major octet 3: the peer speaks TLS.
            Some(&record @ (0x15 | 0x16)) if len == 3 => {
                return Err(Error::Transport(format!(
                    "the peer sent a TLS record (type {record:#04x}), not IEC 104: it expects TLS"
                )));
            }
            _ => return Apdu::decode(&self.bytes, params).map(|_| None),
        }
        if self.bytes.len() < usize::from(len).saturating_add(2) {
            return Ok(None);
        }
        let (apdu, used) = Apdu::decode(&self.bytes, params)?;
        self.bytes.drain(..used);
        Ok(Some(apdu))
    }
}

/// Writes every frame the link has to send now.
pub(super) async fn flush(
    link: &mut Link,
    params: &AsduParams,
    writer: &mut (impl AsyncWrite + Unpin),
) -> Result<(), Error> {
    let mut out = Vec::new();
    while let Some(apdu) = link.poll_transmit(Instant::now()) {
        apdu.encode(params, &mut out)?;
    }
    if !out.is_empty() {
        writer
            .write_all(&out)
            .await
            .map_err(|e| Error::Transport(e.to_string()))?;
    }
    Ok(())
}

/// The earlier of two optional instants.
pub(super) fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
