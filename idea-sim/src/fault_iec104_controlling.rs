//! Faulty IEC 104 controlling stations, to prove the `iec104-controlling` conformance suite: a relay between a
//! controlling station (the client, say `idea iec104 monitor`) and the controlled station it connects to (the
//! conformance runner), rewriting frames as the chosen fault makes the client misbehave (IEC 60870-5-104
//! clauses 5.1–5.3; IEC 60870-5-101 clause 7.2, 7.4). The client itself stays correct: the fault lives only
//! in the relay, so a reference implementation is never built with a switch to break it.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use idea_sim::fault_iec104_controlling::{ControllingFault, relay};
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! // The client connects to `listener`; the relay connects on to the runner at 127.0.0.1:2404.
//! relay(listener, "127.0.0.1:2404".parse().unwrap(), ControllingFault::NoStartdt).await
//! # }
//! ```

use crate::fault::{Faults, Relayed, Rewrite, relay_rewriting};
use crate::fault_iec104::{ahead, encode, frames};
use iec104::{Apdu, Element, Objects, SEQUENCE_MODULUS, UFunction};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

/// Connections relayed at once; more wait in the listener's backlog.
const MAX_CONNECTIONS: usize = 16;
/// A type identification no station knows (reserved, IEC 60870-5-101 clause 7.2.1.1): the one the suite sends.
const RESERVED_TYPE: u8 = 42;
/// Cause of transmission: activation.
const ACTIVATION: u8 = 6;
/// Cause of transmission: spontaneous.
const SPONTANEOUS: u8 = 3;

/// A fault of a controlling station.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ControllingFault {
    /// It never starts data transfer (its STARTDT act is lost).
    NoStartdt,
    /// It never confirms the controlled station's TESTFR act.
    TestfrUnanswered,
    /// It never acknowledges with an S frame.
    NoAcknowledge,
    /// It never tests an idle connection (its TESTFR act is lost).
    NoIdleTest,
    /// When it closes a connection (t1 run out, a sequence error), the connection stays open.
    T1Ignored,
    /// An I frame with a wrong send sequence number is taken as the next.
    SequenceErrorTolerated,
    /// An acknowledgement of frames it never sent is taken as an acknowledgement of what it sent.
    AcknowledgementRangeTolerated,
    /// Its commands carry COT 3 (spontaneous) instead of 6 (activation).
    WrongCot,
    /// Its interrogation asks for group 1 (QOI 21) instead of the station (QOI 20).
    WrongQualifier,
    /// Its clock synchronisation carries a time marked invalid (IV).
    ClockInvalid,
    /// An ASDU of unknown type makes it drop the connection.
    ClosesOnUnknownType,
}

impl ControllingFault {
    /// Every fault, in the order `--list-faults` prints them.
    pub const ALL: [ControllingFault; 11] = [
        ControllingFault::NoStartdt,
        ControllingFault::TestfrUnanswered,
        ControllingFault::NoAcknowledge,
        ControllingFault::NoIdleTest,
        ControllingFault::T1Ignored,
        ControllingFault::SequenceErrorTolerated,
        ControllingFault::AcknowledgementRangeTolerated,
        ControllingFault::WrongCot,
        ControllingFault::WrongQualifier,
        ControllingFault::ClockInvalid,
        ControllingFault::ClosesOnUnknownType,
    ];

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ControllingFault::NoStartdt => "no-startdt",
            ControllingFault::TestfrUnanswered => "testfr-unanswered",
            ControllingFault::NoAcknowledge => "no-acknowledge",
            ControllingFault::NoIdleTest => "no-idle-test",
            ControllingFault::T1Ignored => "t1-ignored",
            ControllingFault::SequenceErrorTolerated => "sequence-error-tolerated",
            ControllingFault::AcknowledgementRangeTolerated => "acknowledgement-range-tolerated",
            ControllingFault::WrongCot => "wrong-cot",
            ControllingFault::WrongQualifier => "wrong-qualifier",
            ControllingFault::ClockInvalid => "clock-invalid",
            ControllingFault::ClosesOnUnknownType => "closes-on-unknown-type",
        }
    }

    /// The fault called `name`.
    pub fn by_name(name: &str) -> Option<ControllingFault> {
        ControllingFault::ALL.into_iter().find(|f| f.name() == name)
    }

    /// What it does, in a line.
    pub fn describe(self) -> &'static str {
        match self {
            ControllingFault::NoStartdt => "never starts data transfer (STARTDT act lost)",
            ControllingFault::TestfrUnanswered => "never confirms the station's TESTFR act",
            ControllingFault::NoAcknowledge => "never acknowledges with an S frame",
            ControllingFault::NoIdleTest => "never tests an idle connection (TESTFR act lost)",
            ControllingFault::T1Ignored => {
                "a connection it closes (t1 run out, sequence error) stays open"
            }
            ControllingFault::SequenceErrorTolerated => {
                "an I frame with a wrong send sequence number is taken as the next"
            }
            ControllingFault::AcknowledgementRangeTolerated => {
                "an acknowledgement of frames never sent is taken as one of what it sent"
            }
            ControllingFault::WrongCot => "its commands carry COT 3 instead of 6 (activation)",
            ControllingFault::WrongQualifier => {
                "its interrogation asks for group 1 (QOI 21), not the station (QOI 20)"
            }
            ControllingFault::ClockInvalid => "its clock synchronisation's time is marked invalid",
            ControllingFault::ClosesOnUnknownType => "an ASDU of unknown type drops the connection",
        }
    }
}

/// Relays every connection to `listener` on to `upstream`, with `fault`. Accept errors are retried after a
/// pause; at most 16 connections are relayed at once.
pub async fn relay(
    listener: TcpListener,
    upstream: SocketAddr,
    fault: ControllingFault,
) -> std::io::Result<()> {
    let open = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(permit) = std::sync::Arc::clone(&open).acquire_owned().await else {
            return Ok(());
        };
        let client = match listener.accept().await {
            Ok((client, _)) => client,
            Err(e) => {
                log::warn!("controlling-station fault relay: accept failed: {e}; retrying");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        tokio::spawn(async move {
            // The client sees the upstream's refusal as its own connection closing.
            if let Ok(device) = TcpStream::connect(upstream).await {
                let _ = device.set_nodelay(true);
                let _ = client.set_nodelay(true);
                let rewrite = Rewriter {
                    fault,
                    ..Rewriter::default()
                };
                relay_rewriting(client, device, &Faults::default(), rewrite).await;
            }
            drop(permit);
        });
    }
}

/// The rewriting of one connection.
#[derive(Debug)]
struct Rewriter {
    fault: ControllingFault,
    /// I frames the client sent on this connection.
    client_i_frames: u16,
    /// I frames the station sent, as the client numbers them.
    station_i_frames: u16,
}

impl Default for Rewriter {
    fn default() -> Rewriter {
        Rewriter {
            fault: ControllingFault::NoStartdt,
            client_i_frames: 0,
            station_i_frames: 0,
        }
    }
}

impl Rewriter {
    /// A frame from the controlling station (the client), rewritten or dropped.
    fn client_frame(&mut self, apdu: Apdu) -> Option<Apdu> {
        use ControllingFault as F;
        match (self.fault, apdu) {
            (F::NoStartdt, Apdu::U(UFunction::StartDtAct)) => None,
            (F::NoIdleTest, Apdu::U(UFunction::TestFrAct)) => None,
            (F::NoAcknowledge, Apdu::S { .. }) => None,
            (_, Apdu::I { ns, nr, mut asdu }) => {
                self.client_i_frames = ahead(self.client_i_frames, 1);
                let activation = asdu.cot.cause == ACTIVATION;
                if self.fault == F::WrongCot && activation {
                    asdu.cot.cause = SPONTANEOUS;
                }
                if let Objects::Known(objects) = &mut asdu.objects {
                    for element in objects.iter_mut().flat_map(|o| o.elements.iter_mut()) {
                        match (self.fault, element) {
                            (F::WrongQualifier, Element::Qoi(q)) if *q == 20 => *q = 21,
                            (F::ClockInvalid, Element::Cp56(t)) => {
                                if let Some(minute) = t.0.get_mut(2) {
                                    *minute |= 0x80;
                                }
                            }
                            _ => {}
                        }
                    }
                }
                Some(Apdu::I { ns, nr, asdu })
            }
            (_, other) => Some(other),
        }
    }

    /// A frame from the controlled station (the runner), rewritten or dropped; `close` when the client would
    /// drop the connection on it.
    fn station_frame(&mut self, apdu: Apdu) -> (Option<Apdu>, bool) {
        use ControllingFault as F;
        match (self.fault, apdu) {
            (F::TestfrUnanswered, Apdu::U(UFunction::TestFrAct)) => (None, false),
            (_, Apdu::I { ns, nr, asdu }) => {
                let close = self.fault == F::ClosesOnUnknownType && asdu.type_id == RESERVED_TYPE;
                let ns = if self.fault == F::SequenceErrorTolerated {
                    self.station_i_frames
                } else {
                    ns
                };
                self.station_i_frames = ahead(self.station_i_frames, 1);
                let nr = self.clamped(nr);
                (Some(Apdu::I { ns, nr, asdu }), close)
            }
            (_, Apdu::S { nr }) => (
                Some(Apdu::S {
                    nr: self.clamped(nr),
                }),
                false,
            ),
            (_, other) => (Some(other), false),
        }
    }

    /// An acknowledgement beyond what the client sent, taken back to what it sent.
    fn clamped(&self, nr: u16) -> u16 {
        let beyond = nr
            .wrapping_add(SEQUENCE_MODULUS)
            .wrapping_sub(self.client_i_frames)
            % SEQUENCE_MODULUS;
        if self.fault == ControllingFault::AcknowledgementRangeTolerated
            && beyond != 0
            && beyond < SEQUENCE_MODULUS / 2
        {
            self.client_i_frames
        } else {
            nr
        }
    }
}

impl Rewrite for Rewriter {
    fn client_sent(&mut self, pending: &mut Vec<u8>, _: &Faults) -> Relayed {
        let mut out = Relayed::default();
        for frame in frames(pending) {
            match frame {
                Ok(apdu) => {
                    if let Some(a) = self.client_frame(apdu) {
                        out.forward.extend(encode(&a));
                    }
                }
                Err(raw) => out.forward.extend(raw),
            }
        }
        out
    }

    fn device_sent(&mut self, pending: &mut Vec<u8>, _: &Faults) -> Relayed {
        let mut out = Relayed::default();
        for frame in frames(pending) {
            match frame {
                Ok(apdu) => {
                    let (a, close) = self.station_frame(apdu);
                    if let Some(a) = a {
                        out.forward.extend(encode(&a));
                    }
                    if close {
                        out.close = true;
                        break;
                    }
                }
                Err(raw) => out.forward.extend(raw),
            }
        }
        out
    }

    fn holds_device_open(&self) -> bool {
        self.fault == ControllingFault::T1Ignored
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use iec104::{Asdu, Cot, InformationObject};

    fn interrogation() -> Asdu {
        Asdu {
            type_id: 100,
            sq: false,
            count: 1,
            cot: Cot::new(ACTIVATION),
            common_address: 1,
            objects: Objects::Known(vec![InformationObject {
                ioa: 0,
                elements: vec![Element::Qoi(20)],
            }]),
        }
    }

    fn with(fault: ControllingFault) -> Rewriter {
        Rewriter {
            fault,
            ..Rewriter::default()
        }
    }

    #[test]
    fn names_are_unique_and_found_again() {
        for f in ControllingFault::ALL {
            assert_eq!(ControllingFault::by_name(f.name()), Some(f));
        }
        assert_eq!(ControllingFault::by_name("none"), None);
    }

    #[test]
    fn the_qualifier_and_the_cause_are_rewritten() {
        let sent = Apdu::I {
            ns: 0,
            nr: 0,
            asdu: interrogation(),
        };
        let Some(Apdu::I { asdu, .. }) =
            with(ControllingFault::WrongQualifier).client_frame(sent.clone())
        else {
            panic!("dropped");
        };
        assert_eq!(asdu.objects, interrogation_with(21));
        let Some(Apdu::I { asdu, .. }) = with(ControllingFault::WrongCot).client_frame(sent) else {
            panic!("dropped");
        };
        assert_eq!(asdu.cot.cause, SPONTANEOUS);
    }

    fn interrogation_with(qoi: u8) -> Objects {
        Objects::Known(vec![InformationObject {
            ioa: 0,
            elements: vec![Element::Qoi(qoi)],
        }])
    }

    #[test]
    fn a_wrong_sequence_number_and_a_wild_acknowledgement_are_mended() {
        let mut r = with(ControllingFault::SequenceErrorTolerated);
        let (got, _) = r.station_frame(Apdu::I {
            ns: 5,
            nr: 0,
            asdu: interrogation(),
        });
        assert!(matches!(got, Some(Apdu::I { ns: 0, .. })));
        let mut r = with(ControllingFault::AcknowledgementRangeTolerated);
        r.client_frame(Apdu::I {
            ns: 0,
            nr: 0,
            asdu: interrogation(),
        });
        assert_eq!(
            r.station_frame(Apdu::S { nr: 12 }).0,
            Some(Apdu::S { nr: 1 })
        );
        assert_eq!(
            r.station_frame(Apdu::S { nr: 1 }).0,
            Some(Apdu::S { nr: 1 })
        );
    }

    #[test]
    fn an_unknown_type_closes_and_the_start_is_lost() {
        let mut asdu = interrogation();
        asdu.type_id = RESERVED_TYPE;
        let (_, close) = with(ControllingFault::ClosesOnUnknownType).station_frame(Apdu::I {
            ns: 0,
            nr: 0,
            asdu,
        });
        assert!(close);
        assert_eq!(
            with(ControllingFault::NoStartdt).client_frame(Apdu::U(UFunction::StartDtAct)),
            None
        );
    }
}
