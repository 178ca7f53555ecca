//! The tokio transports on loopback: scans, verified writes, timeouts with stale answers, RTU streams.
#![cfg(feature = "tokio")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(clippy::arithmetic_side_effects, clippy::cast_possible_truncation)]
#![allow(missing_docs)]

mod common;
use common::{scaled, shared};
use modbus_profiles::Error;
use modbus_profiles::frame::{ExceptionCode, MbapHeader, Request, Response, RtuFrame, TcpFrame};
use modbus_profiles::net::{Client, Framing, serve_rtu, serve_tcp};
use modbus_profiles::server::Server;
use modbus_profiles::simulator::SimulatedDevice;
use modbus_profiles::sunspec::{Catalog, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

async fn listen(name: &str) -> (String, Arc<Mutex<Server<SimulatedDevice>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let server = shared(name);
    tokio::spawn(serve_tcp(listener, Arc::clone(&server)));
    (address, server)
}

#[tokio::test]
async fn tcp_scan_and_verified_write() {
    let (address, server) = listen("modbus-der").await;
    let mut client = Client::connect(&address, 1).await.unwrap();
    let device = client.scan(Catalog::builtin().unwrap()).await.unwrap();
    let ids: Vec<u16> = device.models().iter().map(|m| m.id()).collect();
    assert_eq!(ids, [1, 701, 702, 704, 705, 711, 712, 713]);
    // Write a setpoint and a sync group, read both back.
    let mut ctl = device.model(704).unwrap().clone();
    ctl.set_scaled("WSet", 4200.0).unwrap();
    ctl.set_scaled("PFWInj.PF", 0.9).unwrap();
    ctl.set("PFWInj.Ext", &Value::Uint(1)).unwrap();
    client.write_verified(&mut ctl).await.unwrap();
    assert_eq!(scaled(&server, "704.WSet"), Some(4200.0));
    assert_eq!(scaled(&server, "704.PFWInj.PF"), Some(0.9));
    // The measurement follows (tau 0.5 s).
    tokio::time::sleep(Duration::from_millis(3000)).await;
    let again = client.scan(Catalog::builtin().unwrap()).await.unwrap();
    let w = again.model(701).unwrap().get_scaled("W").unwrap().unwrap();
    assert!((w - 4200.0).abs() < 50.0, "W {w}");
    // A refused write is an error carrying the exception, and nothing changes.
    ctl.set_scaled("WSet", 20000.0).unwrap();
    let err = client
        .write_verified(&mut ctl)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("IllegalDataValue"), "{err}");
    // Exceptions are values.
    assert_eq!(
        client.read_holding_registers(1, 2).await.unwrap(),
        Err(ExceptionCode::IllegalDataAddress)
    );
    match client
        .request(&Request::ReadDeviceIdentification {
            code: 1,
            object_id: 0,
        })
        .await
        .unwrap()
    {
        Response::ReadDeviceIdentification { objects, .. } => {
            assert_eq!(objects[1].value, b"DER simulator")
        }
        other => panic!("{other:?}"),
    }
}

/// A server that answers the first request late (after the client gave up) and then answers the second.
#[tokio::test]
async fn late_answers_with_stale_transaction_ids_are_discarded() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut pending = Vec::new();
        let mut buf = [0u8; 256];
        for round in 0..2 {
            let n = stream.read(&mut buf).await.unwrap();
            let (frame, _) = TcpFrame::<Request>::decode(&buf[..n]).unwrap();
            let value = if round == 0 { 0xDEAD } else { 0x0BEE };
            pending.push(TcpFrame {
                header: frame.header,
                pdu: Response::ReadHoldingRegisters(vec![value]),
            });
            if round == 0 {
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
        // Both answers at once, the stale one first.
        let mut out = Vec::new();
        for frame in &pending {
            frame.encode(&mut out).unwrap();
        }
        stream.write_all(&out).await.unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
    });
    let mut client = Client::connect(&address, 1).await.unwrap();
    client.set_timeout(Duration::from_millis(150));
    assert!(matches!(
        client.read_holding_registers(40000, 1).await,
        Err(Error::Timeout(_))
    ));
    client.set_timeout(Duration::from_secs(2));
    assert_eq!(
        client.read_holding_registers(40000, 1).await.unwrap(),
        Ok(vec![0x0BEE])
    );
    assert!(client.discarded() >= 1);
}

#[tokio::test]
async fn rtu_over_a_stream_answers_its_unit_only() {
    let server = shared("modbus-meter");
    let (near, far) = tokio::io::duplex(4096);
    tokio::spawn(serve_rtu(
        far,
        Arc::clone(&server),
        Duration::from_millis(5),
    ));
    let mut client = Client::new(near, Framing::Rtu, 1);
    let device = client.scan(Catalog::builtin().unwrap()).await.unwrap();
    assert_eq!(
        device.model(203).unwrap().get_scaled("W").unwrap(),
        Some(3600.0)
    );
    assert_eq!(
        client
            .request(&Request::WriteSingleRegister {
                address: 40000,
                value: 1
            })
            .await
            .unwrap(),
        Response::Exception {
            function: 6,
            code: ExceptionCode::IllegalDataAddress
        }
    );
    // Another unit id on the same line: the server stays silent.
    let (near, far) = tokio::io::duplex(4096);
    tokio::spawn(serve_rtu(far, server, Duration::from_millis(5)));
    let mut other = Client::new(near, Framing::Rtu, 2);
    other.set_timeout(Duration::from_millis(200));
    assert!(matches!(
        other.read_holding_registers(40000, 2).await,
        Err(Error::Timeout(_))
    ));
}

/// An RTU device on a byte stream answering each request with `answers(round, request)` after `delays[round]`.
fn rtu_device(
    stream: tokio::io::DuplexStream,
    delays: Vec<Duration>,
    answers: fn(usize, &Request) -> Response,
) {
    tokio::spawn(async move {
        let mut stream = stream;
        let mut buf = [0u8; 256];
        for (round, delay) in delays.into_iter().enumerate() {
            let n = stream.read(&mut buf).await.unwrap();
            let (frame, _) = RtuFrame::<Request>::decode(&buf[..n]).unwrap();
            tokio::time::sleep(delay).await;
            let mut out = Vec::new();
            RtuFrame {
                unit: frame.unit,
                pdu: answers(round, &frame.pdu),
            }
            .encode(&mut out)
            .unwrap();
            stream.write_all(&out).await.unwrap();
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    });
}

/// A device answers the first read (0xDEAD) 150 ms late, after the client's 100 ms timeout, and the second
/// (0x0BEE) at once; returns what the client's second read got and how many answers it discarded.
async fn second_read_after_a_late_answer(frame_gap: Duration) -> (Vec<u16>, u64) {
    let (near, far) = tokio::io::duplex(4096);
    rtu_device(
        far,
        vec![Duration::from_millis(150), Duration::ZERO],
        |round, _| Response::ReadHoldingRegisters(vec![if round == 0 { 0xDEAD } else { 0x0BEE }]),
    );
    let mut client = Client::new(near, Framing::Rtu, 1);
    client.set_frame_gap(frame_gap);
    client.set_timeout(Duration::from_millis(100));
    assert!(matches!(
        client.read_holding_registers(40000, 1).await,
        Err(Error::Timeout(_))
    ));
    client.set_timeout(Duration::from_secs(2));
    let second = client
        .read_holding_registers(40000, 1)
        .await
        .unwrap()
        .unwrap();
    (second, client.discarded())
}

/// RTU frames carry no transaction id: an answer that comes after the client gave up, within a frame gap,
/// is dropped while the client waits for the line to fall silent, and the next request gets its own answer.
/// Without a gap the late answer is taken for the next request's: the gap is what makes the difference.
#[tokio::test]
async fn rtu_late_answer_within_the_gap_is_not_taken_for_the_next() {
    assert_eq!(
        second_read_after_a_late_answer(Duration::from_millis(300)).await,
        (vec![0x0BEE], 1)
    );
    assert_eq!(
        second_read_after_a_late_answer(Duration::ZERO).await,
        (vec![0xDEAD], 0)
    );
}

/// An RTU answer naming another function than the request's answers something else: ignored, and an
/// exception to the request's function is taken as its answer.
#[tokio::test]
async fn rtu_answers_must_name_the_requests_function() {
    let (near, far) = tokio::io::duplex(4096);
    rtu_device(far, vec![Duration::ZERO; 2], |round, _| {
        if round == 0 {
            Response::ReadInputRegisters(vec![1])
        } else {
            Response::Exception {
                function: 3,
                code: ExceptionCode::IllegalDataAddress,
            }
        }
    });
    let mut client = Client::new(near, Framing::Rtu, 1);
    client.set_timeout(Duration::from_millis(200));
    assert!(matches!(
        client.read_holding_registers(40000, 1).await,
        Err(Error::Timeout(_))
    ));
    assert_eq!(client.discarded(), 1);
    assert_eq!(
        client.read_holding_registers(40000, 1).await.unwrap(),
        Err(ExceptionCode::IllegalDataAddress)
    );
}

/// A broadcast write (unit 0) is applied by the device, which answers nothing; the next request on the line
/// gets its own answer. Reads and Modbus TCP are refused.
#[tokio::test]
async fn rtu_broadcast_writes_are_applied_without_answer() {
    let server = shared("modbus-der");
    let (near, far) = tokio::io::duplex(4096);
    tokio::spawn(serve_rtu(
        far,
        Arc::clone(&server),
        Duration::from_millis(2),
    ));
    let mut client = Client::new(near, Framing::Rtu, 1);
    client.set_frame_gap(Duration::from_millis(2));
    let device = client.scan(Catalog::builtin().unwrap()).await.unwrap();
    let mut ctl = device.model(704).unwrap().clone();
    ctl.set_scaled("WSet", 2500.0).unwrap();
    let write = ctl.take_writes().remove(0);
    let request = Request::WriteMultipleRegisters {
        address: write.address,
        values: write.registers.clone(),
    };
    client
        .broadcast(&request, Duration::from_millis(20))
        .await
        .unwrap();
    assert_eq!(scaled(&server, "704.WSet"), Some(2500.0));
    let count = u16::try_from(write.registers.len()).unwrap();
    assert_eq!(
        client
            .read_holding_registers(write.address, count)
            .await
            .unwrap(),
        Ok(write.registers)
    );
    assert_eq!(client.discarded(), 0);
    let read = Request::ReadHoldingRegisters {
        address: 40000,
        count: 2,
    };
    assert!(matches!(
        client.broadcast(&read, Duration::ZERO).await,
        Err(Error::Invalid {
            field: "request",
            ..
        })
    ));
    let (address, _server) = listen("modbus-relay").await;
    let mut tcp = Client::connect(&address, 1).await.unwrap();
    assert!(matches!(
        tcp.broadcast(&request, Duration::ZERO).await,
        Err(Error::Invalid {
            field: "framing",
            ..
        })
    ));
}

#[tokio::test]
async fn pipelined_requests_on_one_connection_are_all_answered() {
    let (address, _server) = listen("modbus-relay").await;
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let mut out = Vec::new();
    for t in 0..20u16 {
        TcpFrame {
            header: MbapHeader {
                transaction: t,
                unit: 1,
            },
            pdu: Request::ReadHoldingRegisters {
                address: 40000,
                count: 2,
            },
        }
        .encode(&mut out)
        .unwrap();
    }
    stream.write_all(&out).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while got.len() < 20 * 13 {
        let n = stream.read(&mut buf).await.unwrap();
        got.extend_from_slice(&buf[..n]);
    }
    let mut at = 0;
    for t in 0..20u16 {
        let (frame, used) = TcpFrame::<Response>::decode(&got[at..]).unwrap();
        assert_eq!(frame.header.transaction, t);
        assert_eq!(
            frame.pdu,
            Response::ReadHoldingRegisters(vec![0x5375, 0x6e53])
        );
        at += used;
    }
}

#[tokio::test]
async fn a_pipelined_group_gets_each_answer_in_request_order() {
    let (address, _server) = listen("modbus-der").await;
    let requests: Vec<Request> = (0..40u16)
        .map(|i| Request::ReadHoldingRegisters {
            address: 40000 + i * 3,
            count: 1 + i % 5,
        })
        .chain([Request::ReadHoldingRegisters {
            address: 1,
            count: 1,
        }])
        .collect();
    let mut one_by_one = Client::connect(&address, 1).await.unwrap();
    let mut expected = Vec::new();
    for request in &requests {
        expected.push(one_by_one.request(request).await.unwrap());
    }
    let mut client = Client::connect(&address, 1).await.unwrap();
    let answers = client.pipeline(&requests).await.unwrap();
    assert_eq!(answers, expected);
    // The read outside the map is an exception in its own slot.
    assert!(matches!(
        answers.last(),
        Some(Response::Exception {
            code: ExceptionCode::IllegalDataAddress,
            ..
        })
    ));
    assert_eq!(client.discarded(), 0);
    // The client goes on one request at a time afterwards.
    assert_eq!(client.request(&requests[0]).await.unwrap(), expected[0]);
}

#[tokio::test]
async fn pipelined_answers_out_of_order_are_matched_by_transaction_id() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        let mut frames = Vec::new();
        while frames.len() < 3 {
            let n = stream.read(&mut buf).await.unwrap();
            got.extend_from_slice(&buf[..n]);
            while let Ok((frame, used)) = TcpFrame::<Request>::decode(&got) {
                frames.push(frame);
                got.drain(..used);
            }
        }
        // A stray answer with a foreign id, then the three in reverse order.
        let mut out = Vec::new();
        let stray = TcpFrame {
            header: MbapHeader {
                transaction: 0x7777,
                unit: 1,
            },
            pdu: Response::ReadHoldingRegisters(vec![0]),
        };
        stray.encode(&mut out).unwrap();
        for frame in frames.iter().rev() {
            let Request::ReadHoldingRegisters { address, .. } = frame.pdu else {
                panic!("{:?}", frame.pdu);
            };
            TcpFrame {
                header: frame.header,
                pdu: Response::ReadHoldingRegisters(vec![address]),
            }
            .encode(&mut out)
            .unwrap();
        }
        stream.write_all(&out).await.unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
    });
    let mut client = Client::connect(&address, 1).await.unwrap();
    let requests: Vec<Request> = [7u16, 8, 9]
        .iter()
        .map(|a| Request::ReadHoldingRegisters {
            address: *a,
            count: 1,
        })
        .collect();
    let answers = client.pipeline(&requests).await.unwrap();
    assert_eq!(
        answers,
        [7u16, 8, 9].map(|a| Response::ReadHoldingRegisters(vec![a]))
    );
    assert_eq!(client.discarded(), 1);
}

#[tokio::test]
async fn pipelining_is_refused_over_rtu_and_beyond_its_bound() {
    let (a, _b) = tokio::io::duplex(64);
    let mut rtu = Client::new(a, Framing::Rtu, 1);
    let one = Request::ReadHoldingRegisters {
        address: 0,
        count: 1,
    };
    assert!(matches!(
        rtu.pipeline(std::slice::from_ref(&one)).await,
        Err(Error::Invalid {
            field: "framing",
            ..
        })
    ));
    let (c, _d) = tokio::io::duplex(64);
    let mut tcp = Client::new(c, Framing::Tcp, 1);
    let many = vec![one; modbus_profiles::net::MAX_PIPELINE + 1];
    assert!(matches!(
        tcp.pipeline(&many).await,
        Err(Error::Invalid {
            field: "requests",
            ..
        })
    ));
}

/// Registers that want ticks only after a write, counting those they get.
#[derive(Debug, Default)]
struct TickCounter {
    armed: bool,
    ticks: Arc<std::sync::atomic::AtomicUsize>,
}

impl modbus_profiles::server::Registers for TickCounter {
    fn read(
        &mut self,
        _table: modbus_profiles::server::Table,
        _address: u16,
        out: &mut [u16],
    ) -> Result<(), ExceptionCode> {
        out.fill(0);
        Ok(())
    }

    fn write(&mut self, _address: u16, _values: &[u16]) -> Result<(), ExceptionCode> {
        self.armed = true;
        Ok(())
    }

    fn tick(&mut self, _now: std::time::Instant) {
        self.ticks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    fn poll_timeout(&self, now: std::time::Instant) -> Option<std::time::Instant> {
        self.armed.then_some(now)
    }
}

#[tokio::test]
async fn registers_that_want_no_ticks_get_them_only_with_requests_until_a_request_arms_them() {
    use std::sync::atomic::Ordering;
    let ticks = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let registers = TickCounter {
        armed: false,
        ticks: Arc::clone(&ticks),
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(serve_tcp(
        listener,
        Arc::new(Mutex::new(Server::new(1, registers))),
    ));
    let mut client = Client::connect(&address, 1).await.unwrap();
    // Quiet registers: the ticker's first tick, then one before each request, nothing in between.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let idle = ticks.load(Ordering::Relaxed);
    assert!(idle <= 1, "{idle} ticks while quiet");
    client.read_holding_registers(0, 2).await.unwrap().unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(ticks.load(Ordering::Relaxed), idle + 1);
    // A write arms them: the ticker wakes and ticks every 50 ms again.
    client
        .write_multiple_registers(0, &[1])
        .await
        .unwrap()
        .unwrap();
    let armed = ticks.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = ticks.load(Ordering::Relaxed) - armed;
    assert!(after >= 4, "{after} ticks in 500 ms once armed");
}
