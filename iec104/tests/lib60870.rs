//! Interoperability with lib60870 (through the Python package `c104`, pinned in interop/requirements.txt): our
//! controlling side — the sans-IO link layer and codec, driven over a real TCP socket on loopback — against a
//! c104 outstation: STARTDT, general interrogation, a setpoint, a single command, select-before-operate, a command
//! to an unknown address, STOPDT.
//!
//! Deviations of c104 2.2.1 from the standard, written down as they are met:
//! - A command to an unknown information object address is answered with three ASDUs: a negative activation
//!   confirmation with cause 7 (P/N = 1), then the same ASDU with cause 47 *without* P/N, then an activation
//!   termination (cause 10). The standard expects one mirrored ASDU with cause 47 and P/N = 1. Our controlling
//!   side takes the negative confirmation as the answer and the other two as information.
//! - A command sent with cause 3 (spontaneous) instead of 6 is executed, with no answer; the standard wants a
//!   negative confirmation with cause 45 (our outstation sends it and executes nothing: `tests/outstation.rs`).
//! - A frame with an octet after its last object (APDU length one more than the VSQ count implies) is executed,
//!   with no answer; our decoder refuses it with the offset (`tests/codec.rs`) and our outstation closes the
//!   connection.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::print_stderr
)]

use iec104::link::{Event, Link, LinkParams, Role};
use iec104::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "../../interop/python.rs"]
mod python;

struct Outstation {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Outstation {
    fn start(python: &PathBuf, port: u16) -> Outstation {
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/c104_outstation.py");
        let mut child = Command::new(python)
            .arg(script)
            .arg(port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the c104 outstation");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let ready = lines
            .recv_timeout(Duration::from_secs(30))
            .expect("the outstation starts");
        assert_eq!(ready, "READY");
        Outstation { child, lines }
    }

    fn received(&self) -> Vec<String> {
        self.lines.try_iter().collect()
    }
}

impl Drop for Outstation {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// Our controlling station for the test: the link layer over a blocking socket.
struct Client {
    stream: TcpStream,
    link: Link,
    buffer: Vec<u8>,
}

impl Client {
    fn connect(port: u16) -> Client {
        let deadline = Instant::now() + Duration::from_secs(10);
        let stream = loop {
            match TcpStream::connect(("127.0.0.1", port)) {
                Ok(s) => break s,
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                Err(e) => panic!("connect: {e}"),
            }
        };
        stream
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        stream.set_nodelay(true).unwrap();
        Client {
            stream,
            link: Link::new(Role::Controlling, LinkParams::default(), Instant::now()).unwrap(),
            buffer: Vec::new(),
        }
    }

    /// Sends what the link has to send, reads what arrived, and returns the events, for at most `within`.
    fn exchange_until(
        &mut self,
        within: Duration,
        mut done: impl FnMut(&[Event]) -> bool,
    ) -> Vec<Event> {
        let deadline = Instant::now() + within;
        let mut events = Vec::new();
        loop {
            let now = Instant::now();
            self.link.handle_timeout(now);
            while let Some(apdu) = self.link.poll_transmit(now) {
                let mut out = Vec::new();
                apdu.encode(&AsduParams::IEC104, &mut out).unwrap();
                self.stream.write_all(&out).unwrap();
            }
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => panic!("the outstation closed the connection"),
                Ok(n) => self.buffer.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => panic!("read: {e}"),
            }
            while let Ok((apdu, used)) = Apdu::decode(&self.buffer, &AsduParams::IEC104) {
                self.buffer.drain(..used);
                self.link.handle_apdu(apdu, Instant::now());
            }
            while let Some(e) = self.link.poll_event() {
                assert!(!matches!(e, Event::Closed(_)), "link closed: {e:?}");
                events.push(e);
            }
            if done(&events) || Instant::now() > deadline {
                return events;
            }
        }
    }
}

fn command(type_id: u8, ioa: u32, elements: Vec<Element>) -> Asdu {
    Asdu {
        type_id,
        sq: false,
        count: 1,
        cot: Cot::new(6),
        common_address: 1,
        objects: Objects::Known(vec![InformationObject { ioa, elements }]),
    }
}

fn asdus(events: &[Event]) -> Vec<&Asdu> {
    events
        .iter()
        .filter_map(|e| {
            if let Event::Asdu(a) = e {
                Some(a)
            } else {
                None
            }
        })
        .collect()
}

fn confirmation(events: &[Event], type_id: u8) -> Option<&Asdu> {
    asdus(events)
        .into_iter()
        .find(|a| a.type_id == type_id && a.cot.cause == 7)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn our_controlling_station_against_a_lib60870_outstation() {
    let Some(python) = python::python("lib60870 interoperability") else {
        return;
    };
    let port = free_port();
    let outstation = Outstation::start(&python, port);
    let mut client = Client::connect(port);
    let wait = Duration::from_secs(10);

    client.link.start();
    let events = client.exchange_until(wait, |e| e.contains(&Event::Started));
    assert!(
        events.contains(&Event::Started),
        "STARTDT confirmed: {events:?}"
    );

    // General interrogation: confirmation, the two monitored points with cause 20, termination.
    client
        .link
        .send_asdu(command(100, 0, vec![Element::Qoi(20)]));
    let events = client.exchange_until(wait, |e| {
        asdus(e)
            .iter()
            .any(|a| a.type_id == 100 && a.cot.cause == 10)
    });
    let all = asdus(&events);
    assert!(
        all.iter()
            .any(|a| a.type_id == 100 && a.cot.cause == 7 && !a.cot.negative),
        "ACT_CON: {all:?}"
    );
    let point = |ioa: u32| {
        all.iter()
            .filter(|a| a.cot.cause == 20)
            .flat_map(|a| match &a.objects {
                Objects::Known(o) => o.iter().map(|o| (a.type_id, o.clone())).collect::<Vec<_>>(),
                Objects::Raw(_) => vec![],
            })
            .find(|(_, o)| o.ioa == ioa)
            .unwrap_or_else(|| panic!("IOA {ioa} in the interrogation: {all:?}"))
    };
    let (t, measured) = point(1001);
    assert_eq!(t, 13, "M_ME_NC_1");
    assert_eq!(measured.elements[0], Element::R32(50.0f32.to_bits()));
    let (t, single) = point(2001);
    assert_eq!(t, 1, "M_SP_NA_1");
    assert_eq!(single.elements[0], Element::Siq(1));

    // A set-point (C_SE_NC_1) and a direct single command (C_SC_NA_1).
    client.link.send_asdu(command(
        50,
        3001,
        vec![Element::R32(12.5f32.to_bits()), Element::Qos(0)],
    ));
    let events = client.exchange_until(wait, |e| confirmation(e, 50).is_some());
    assert!(
        !confirmation(&events, 50)
            .expect("set-point confirmed")
            .cot
            .negative
    );
    client
        .link
        .send_asdu(command(45, 4001, vec![Element::Sco(0x01)]));
    let events = client.exchange_until(wait, |e| confirmation(e, 45).is_some());
    assert!(
        !confirmation(&events, 45)
            .expect("command confirmed")
            .cot
            .negative
    );

    // Select before operate: select (S/E = 1), then execute.
    client
        .link
        .send_asdu(command(45, 5001, vec![Element::Sco(0x81)]));
    let events = client.exchange_until(wait, |e| confirmation(e, 45).is_some());
    assert!(
        !confirmation(&events, 45)
            .expect("select confirmed")
            .cot
            .negative
    );
    client
        .link
        .send_asdu(command(45, 5001, vec![Element::Sco(0x01)]));
    let events = client.exchange_until(wait, |e| confirmation(e, 45).is_some());
    assert!(
        !confirmation(&events, 45)
            .expect("execute confirmed")
            .cot
            .negative
    );

    // A command to an address the outstation does not have.
    client
        .link
        .send_asdu(command(45, 9999, vec![Element::Sco(0x01)]));
    let events = client.exchange_until(Duration::from_secs(2), |_| false);
    let answers: Vec<_> = asdus(&events)
        .into_iter()
        .map(|a| (a.type_id, a.cot.cause, a.cot.negative))
        .collect();
    assert!(
        answers.iter().any(|&(_, _, negative)| negative),
        "a negative confirmation: {answers:?}"
    );
    // The deviation documented above; if a newer c104 fixes it, this assertion says so.
    assert_eq!(answers, [(45, 7, true), (45, 47, false), (45, 10, false)]);

    // A command with cause 3 (spontaneous) instead of 6 (activation), value 0 this time.
    let mut spontaneous = command(45, 4001, vec![Element::Sco(0x00)]);
    spontaneous.cot = Cot::new(3);
    client.link.send_asdu(spontaneous);
    let events = client.exchange_until(Duration::from_secs(2), |_| false);
    let cause_3_answers: Vec<_> = asdus(&events)
        .into_iter()
        .map(|a| (a.type_id, a.cot.cause, a.cot.negative))
        .collect();
    // Deviation: no answer at all (the standard wants a negative confirmation with cause 45); it executes.
    assert_eq!(cause_3_answers, [], "answer to a command with cause 3");

    client.link.stop();
    let events = client.exchange_until(wait, |e| e.contains(&Event::Stopped));
    assert!(events.contains(&Event::Stopped), "STOPDT confirmed");

    // A frame with one octet after its only object, on a connection of its own (raw octets).
    let trailing_answers = trailing_octet_probe(port);
    // Deviation: no answer, and it executes (checked below); a strict station refuses the frame.
    assert_eq!(
        trailing_answers,
        [],
        "answer to a frame with a trailing octet"
    );

    // The outstation executed the three commands it knows (the select alone executes nothing).
    std::thread::sleep(Duration::from_millis(200));
    let received = outstation.received();
    assert!(
        received.iter().any(|l| l == "RECEIVED 4001 False"),
        "the command with cause 3 executed (deviation): {received:?}"
    );
    assert_eq!(
        received
            .iter()
            .filter(|l| *l == "RECEIVED 4001 True")
            .count(),
        2,
        "the direct command and the one with a trailing octet executed (deviation): {received:?}"
    );
    for ioa in ["3001", "4001", "5001"] {
        assert!(
            received
                .iter()
                .any(|l| l.starts_with(&format!("RECEIVED {ioa}"))),
            "{ioa} executed: {received:?}"
        );
    }
}

/// Starts data transfer on a new connection and sends C_SC_NA_1 (IOA 4001, SCO 1) with one octet too many;
/// returns the (type, cause, negative) of every ASDU answered within a second.
fn trailing_octet_probe(port: u16) -> Vec<(u8, u8, bool)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let mut received = Vec::new();
    let read_for = |stream: &mut TcpStream, within: Duration, received: &mut Vec<u8>| {
        let deadline = Instant::now() + within;
        let mut chunk = [0u8; 1024];
        while Instant::now() < deadline {
            match stream.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => received.extend_from_slice(&chunk[..n]),
                Err(_) => {}
            }
        }
    };
    stream
        .write_all(&parse_hex("68 04 07 00 00 00").unwrap())
        .unwrap();
    read_for(&mut stream, Duration::from_millis(300), &mut received);
    assert!(
        received.starts_with(&parse_hex("68 04 0b 00 00 00").unwrap()),
        "STARTDT con: {received:02x?}"
    );
    received.clear();
    let frame = parse_hex("68 0f 00 00 00 00  2d 01 06 00 01 00  a1 0f 00  01  00").unwrap();
    stream.write_all(&frame).unwrap();
    read_for(&mut stream, Duration::from_secs(1), &mut received);
    let mut answers = Vec::new();
    let mut rest = received.as_slice();
    while let Ok((apdu, used)) = Apdu::decode(rest, &AsduParams::IEC104) {
        if let Apdu::I { asdu, .. } = apdu {
            answers.push((asdu.type_id, asdu.cot.cause, asdu.cot.negative));
        }
        rest = &rest[used..];
    }
    answers
}
