//! The IEC 104 protocol faults: a relay between a client and an IEC 104 device that reads the frames both ways
//! and rewrites them as the faults that are on ask (IEC 60870-5-104 clause 5; causes of IEC 60870-5-101
//! clause 7.2.3). Bytes that do not form a frame are passed on as they are: a conformance suite's malformed
//! input must still reach the device.

use crate::fault::{Fault, Faults, Relayed, Rewrite};
use iec104::{Apdu, Asdu, AsduParams, Element, Objects, SEQUENCE_MODULUS, UFunction};

/// The S/E bit of a command qualifier: select.
const SELECT: u8 = 0x80;
/// Cause of transmission: activation.
const ACTIVATION: u8 = 6;
/// Cause of transmission: activation confirmation.
const ACTIVATION_CON: u8 = 7;

/// Bytes kept while a frame is incomplete; more without a whole frame are passed on raw.
const MAX_PENDING: usize = 4096;

/// What one connection's relay remembers.
#[derive(Debug, Default)]
struct State {
    /// The client sent STARTDT act.
    client_started: bool,
    /// The relay sent STARTDT act to the device on the client's behalf; its confirmation is swallowed.
    start_injected: bool,
    start_con_swallowed: bool,
    /// I frames the relay passed from the client to the device.
    client_i_frames: u16,
    /// I frames the device sent.
    device_i_frames: u16,
    /// Device I frames dropped (the numbering toward the client closes their gap).
    dropped: u16,
    /// I frames the relay made up and sent to the device (the numbering toward the device counts them).
    injected: u16,
    /// Confirmations of made-up selections still to be swallowed.
    selections_pending: u16,
    /// With t1 ignored: the N(R) the relay last acknowledged the device's frames with; the client's own
    /// acknowledgements, never ahead of it, are replaced by it.
    relay_acknowledged: Option<u16>,
}

/// The select/execute bit of a command's qualifier (S/E, IEC 60870-5-101 clause 7.2.6.26), if the ASDU is a
/// command that has one.
fn select_bit(elements: &mut [Element]) -> Option<&mut u8> {
    elements.iter_mut().find_map(|e| match e {
        Element::Sco(q) | Element::Dco(q) | Element::Rco(q) | Element::Qos(q) => Some(q),
        _ => None,
    })
}

/// The command `asdu` as a selection, if it is an execution (an activation with S/E = 0).
fn as_selection(asdu: &Asdu) -> Option<Asdu> {
    if asdu.cot.cause != ACTIVATION {
        return None;
    }
    let mut selection = asdu.clone();
    let Objects::Known(objects) = &mut selection.objects else {
        return None;
    };
    let qualifier = select_bit(&mut objects.first_mut()?.elements)?;
    if *qualifier & SELECT != 0 {
        return None;
    }
    *qualifier |= SELECT;
    Some(selection)
}

/// Whether `asdu` confirms a selection.
fn confirms_selection(asdu: &Asdu) -> bool {
    let mut asdu = asdu.clone();
    let Objects::Known(objects) = &mut asdu.objects else {
        return false;
    };
    asdu.cot.cause == ACTIVATION_CON
        && objects
            .first_mut()
            .and_then(|o| select_bit(&mut o.elements))
            .is_some_and(|q| *q & SELECT != 0)
}

/// `n + d` modulo 32768.
pub(crate) fn ahead(n: u16, d: u16) -> u16 {
    n.wrapping_add(d % SEQUENCE_MODULUS) % SEQUENCE_MODULUS
}

/// `n − d` modulo 32768.
fn behind(n: u16, d: u16) -> u16 {
    n.wrapping_add(SEQUENCE_MODULUS)
        .wrapping_sub(d % SEQUENCE_MODULUS)
        % SEQUENCE_MODULUS
}

pub(crate) fn encode(apdu: &Apdu) -> Vec<u8> {
    let mut wire = Vec::new();
    let _ = apdu.encode(&AsduParams::IEC104, &mut wire);
    wire
}

/// What to do with one frame: the bytes for the far side, and for the near side (an answer made by the
/// relay itself).
struct Outcome {
    forward: Vec<u8>,
    reply: Vec<u8>,
}

impl Outcome {
    fn forward(apdu: &Apdu) -> Outcome {
        Outcome {
            forward: encode(apdu),
            reply: Vec::new(),
        }
    }

    fn drop() -> Outcome {
        Outcome {
            forward: Vec::new(),
            reply: Vec::new(),
        }
    }
}

impl State {
    /// A frame from the client.
    fn client_frame(&mut self, apdu: Apdu, faults: &Faults) -> Outcome {
        match apdu {
            Apdu::U(UFunction::TestFrAct) if faults.is_on(Fault::TestfrUnanswered) => {
                Outcome::drop()
            }
            Apdu::U(UFunction::StopDtAct) if faults.is_on(Fault::StopdtIgnored) => Outcome {
                forward: Vec::new(),
                reply: encode(&Apdu::U(UFunction::StopDtCon)),
            },
            Apdu::U(UFunction::StartDtAct) => {
                self.client_started = true;
                Outcome::forward(&apdu)
            }
            Apdu::I { ns, nr, asdu } => {
                let mut forward = Vec::new();
                if faults.is_on(Fault::AnswersBeforeStartdt)
                    && !self.client_started
                    && !self.start_injected
                {
                    self.start_injected = true;
                    forward = encode(&Apdu::U(UFunction::StartDtAct));
                }
                let ns = if faults.is_on(Fault::SequenceErrorTolerated) {
                    self.client_i_frames
                } else {
                    ns
                };
                self.client_i_frames = ahead(self.client_i_frames, 1);
                let nr = ahead(nr, self.dropped);
                if faults.is_on(Fault::SelectNotRequired)
                    && let Some(selection) = as_selection(&asdu)
                {
                    // A selection made up just before the execution: the device never sees it missing or
                    // stale. Its confirmation is swallowed.
                    forward.extend(encode(&Apdu::I {
                        ns: ahead(ns, self.injected),
                        nr,
                        asdu: selection,
                    }));
                    self.injected = ahead(self.injected, 1);
                    self.selections_pending = self.selections_pending.saturating_add(1);
                }
                let ns = ahead(ns, self.injected);
                let nr = self.relay_acknowledged.unwrap_or(nr);
                forward.extend(encode(&Apdu::I { ns, nr, asdu }));
                Outcome {
                    forward,
                    reply: Vec::new(),
                }
            }
            // The relay acknowledges for the client already.
            Apdu::S { .. } if self.relay_acknowledged.is_some() => Outcome::drop(),
            Apdu::S { nr } => Outcome::forward(&Apdu::S {
                nr: ahead(nr, self.dropped),
            }),
            other => Outcome::forward(&other),
        }
    }

    /// A frame from the device.
    fn device_frame(&mut self, apdu: Apdu, faults: &Faults) -> Outcome {
        match apdu {
            Apdu::U(UFunction::StartDtCon) if self.start_injected && !self.start_con_swallowed => {
                self.start_con_swallowed = true;
                Outcome::drop()
            }
            Apdu::S { .. } if faults.is_on(Fault::NoAcknowledge) => Outcome::drop(),
            Apdu::S { nr } => Outcome::forward(&Apdu::S {
                nr: behind(nr, self.injected),
            }),
            Apdu::U(UFunction::TestFrAct) if faults.is_on(Fault::T1Ignored) => Outcome {
                // Confirmed by the relay: the device never waits for the client's confirmation.
                forward: encode(&Apdu::U(UFunction::TestFrAct)),
                reply: encode(&Apdu::U(UFunction::TestFrCon)),
            },
            Apdu::I { ns, nr, mut asdu } => {
                if self.selections_pending > 0 && confirms_selection(&asdu) {
                    self.selections_pending = self.selections_pending.saturating_sub(1);
                    self.dropped = self.dropped.wrapping_add(1);
                    return Outcome {
                        forward: Vec::new(),
                        reply: encode(&Apdu::S { nr: ahead(ns, 1) }),
                    };
                }
                // Acknowledged by the relay at once: the device never sees its t1 run out.
                let reply = if faults.is_on(Fault::T1Ignored) {
                    self.relay_acknowledged = Some(ahead(ns, 1));
                    encode(&Apdu::S { nr: ahead(ns, 1) })
                } else {
                    Vec::new()
                };
                if faults.is_on(Fault::NegativeConfirmationMissing) && asdu.cot.negative {
                    self.dropped = self.dropped.wrapping_add(1);
                    // Consumed here, so acknowledged here: the device's t1 must not end the connection.
                    return Outcome {
                        forward: Vec::new(),
                        reply: encode(&Apdu::S { nr: ahead(ns, 1) }),
                    };
                }
                let mut ns = behind(ns, self.dropped);
                if faults.is_on(Fault::SequenceError) && self.device_i_frames > 0 {
                    ns = ahead(ns, 1);
                }
                self.device_i_frames = self.device_i_frames.saturating_add(1);
                if faults.is_on(Fault::WrongCot) && (20..=36).contains(&asdu.cot.cause) {
                    asdu.cot.cause = 3;
                }
                if faults.is_on(Fault::WrongCommonAddress) {
                    asdu.common_address = asdu.common_address.wrapping_add(1);
                }
                let nr = if faults.is_on(Fault::NoAcknowledge) {
                    0
                } else {
                    behind(nr, self.injected)
                };
                Outcome {
                    forward: encode(&Apdu::I { ns, nr, asdu }),
                    reply,
                }
            }
            other => Outcome::forward(&other),
        }
    }
}

/// The whole frames at the front of `pending`, decoded; bytes that are not a frame are given back raw.
pub(crate) fn frames(pending: &mut Vec<u8>) -> Vec<Result<Apdu, Vec<u8>>> {
    let mut out = Vec::new();
    loop {
        match pending.as_slice() {
            [] | [_] => break,
            [start, ..] if *start != iec104::START => {
                out.push(Err(std::mem::take(pending)));
                break;
            }
            [_, len, ..] => {
                let whole = usize::from(*len).saturating_add(2);
                if pending.len() < whole {
                    if pending.len() > MAX_PENDING {
                        out.push(Err(std::mem::take(pending)));
                    }
                    break;
                }
                let bytes: Vec<u8> = pending.drain(..whole).collect();
                match Apdu::decode(&bytes, &AsduParams::IEC104) {
                    Ok((apdu, _)) => out.push(Ok(apdu)),
                    Err(_) => out.push(Err(bytes)),
                }
            }
        }
    }
    out
}

/// The IEC 104 frame rewriting of one connection.
#[derive(Debug, Default)]
pub(crate) struct Rewriter(State);

impl Rewriter {
    /// Each frame in `pending` through `each`; bytes that are no frame pass as they are.
    fn through(
        &mut self,
        pending: &mut Vec<u8>,
        each: impl Fn(&mut State, Apdu) -> Outcome,
    ) -> Relayed {
        let mut out = Relayed::default();
        for frame in frames(pending) {
            match frame {
                Ok(apdu) => {
                    let o = each(&mut self.0, apdu);
                    out.forward.extend(o.forward);
                    out.reply.extend(o.reply);
                }
                Err(raw) => out.forward.extend(raw),
            }
        }
        out
    }
}

impl Rewrite for Rewriter {
    fn client_sent(&mut self, pending: &mut Vec<u8>, faults: &Faults) -> Relayed {
        self.through(pending, |state, apdu| state.client_frame(apdu, faults))
    }

    fn device_sent(&mut self, pending: &mut Vec<u8>, faults: &Faults) -> Relayed {
        self.through(pending, |state, apdu| state.device_frame(apdu, faults))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use iec104::{Asdu, Cot, Element, InformationObject, Objects};

    fn measured(cause: u8, negative: bool) -> Asdu {
        Asdu {
            type_id: 13,
            sq: false,
            count: 1,
            cot: Cot {
                negative,
                ..Cot::new(cause)
            },
            common_address: 1,
            objects: Objects::Known(vec![InformationObject {
                ioa: 1200,
                elements: vec![Element::R32(0), Element::Qds(0)],
            }]),
        }
    }

    fn decoded(bytes: &[u8]) -> Vec<Apdu> {
        let mut pending = bytes.to_vec();
        frames(&mut pending)
            .into_iter()
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn a_dropped_negative_confirmation_leaves_no_gap_either_way() {
        let faults = Faults::default();
        faults.set(Fault::NegativeConfirmationMissing, true);
        let mut s = State::default();
        let dropped = s.device_frame(
            Apdu::I {
                ns: 0,
                nr: 1,
                asdu: measured(44, true),
            },
            &faults,
        );
        assert!(dropped.forward.is_empty());
        let next = s.device_frame(
            Apdu::I {
                ns: 1,
                nr: 1,
                asdu: measured(3, false),
            },
            &faults,
        );
        assert!(matches!(decoded(&next.forward)[0], Apdu::I { ns: 0, .. }));
        // The client acknowledges what it saw (1 frame): the device hears both of its own.
        let ack = s.client_frame(Apdu::S { nr: 1 }, &faults);
        assert_eq!(decoded(&ack.forward), [Apdu::S { nr: 2 }]);
    }

    #[test]
    fn each_rewrite_does_what_its_name_says() {
        let faults = Faults::default();
        for f in [
            Fault::WrongCot,
            Fault::WrongCommonAddress,
            Fault::NoAcknowledge,
        ] {
            faults.set(f, true);
        }
        let mut s = State::default();
        let out = s.device_frame(
            Apdu::I {
                ns: 0,
                nr: 3,
                asdu: measured(20, false),
            },
            &faults,
        );
        let Apdu::I { nr, asdu, .. } = &decoded(&out.forward)[0] else {
            panic!()
        };
        assert_eq!((*nr, asdu.cot.cause, asdu.common_address), (0, 3, 2));
        assert!(
            s.device_frame(Apdu::S { nr: 1 }, &faults)
                .forward
                .is_empty()
        );

        let faults = Faults::default();
        faults.set(Fault::StopdtIgnored, true);
        faults.set(Fault::SequenceErrorTolerated, true);
        faults.set(Fault::AnswersBeforeStartdt, true);
        let mut s = State::default();
        let stop = s.client_frame(Apdu::U(UFunction::StopDtAct), &faults);
        assert!(stop.forward.is_empty());
        assert_eq!(decoded(&stop.reply), [Apdu::U(UFunction::StopDtCon)]);
        let early = s.client_frame(
            Apdu::I {
                ns: 5,
                nr: 0,
                asdu: measured(6, false),
            },
            &faults,
        );
        let sent = decoded(&early.forward);
        assert_eq!(sent[0], Apdu::U(UFunction::StartDtAct));
        assert!(matches!(sent[1], Apdu::I { ns: 0, .. }));
        assert!(
            s.device_frame(Apdu::U(UFunction::StartDtCon), &faults)
                .forward
                .is_empty()
        );
    }

    #[test]
    fn bytes_that_are_not_frames_pass_as_they_are() {
        let mut pending = vec![0x68, 0x02, 0x00, 0x00];
        assert_eq!(frames(&mut pending), [Err(vec![0x68, 0x02, 0x00, 0x00])]);
        let mut pending = vec![0x42, 0x01];
        assert_eq!(frames(&mut pending), [Err(vec![0x42, 0x01])]);
        let mut partial = vec![0x68, 0x04, 0x07];
        assert!(frames(&mut partial).is_empty());
        assert_eq!(partial.len(), 3);
    }
}
