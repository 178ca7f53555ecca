//! Modbus frames: the specification's examples byte for byte, round trips of arbitrary requests and
//! responses in both ADUs, truncation, corruption and arbitrary bytes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use modbus_profiles::Error;
use modbus_profiles::frame::{
    DeviceIdObject, ExceptionCode, MbapHeader, Request, Response, RtuFrame, TcpFrame, crc16,
};
use proptest::prelude::*;

fn hex(text: &str) -> Vec<u8> {
    text.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

fn request(bytes: &[u8]) -> Request {
    let (r, used) = Request::decode(bytes).unwrap();
    assert_eq!(used, bytes.len());
    let mut again = Vec::new();
    r.encode(&mut again).unwrap();
    assert_eq!(again, bytes, "re-encoded");
    r
}

fn response(bytes: &[u8]) -> Response {
    let (r, used) = Response::decode(bytes).unwrap();
    assert_eq!(used, bytes.len());
    let mut again = Vec::new();
    r.encode(&mut again).unwrap();
    assert_eq!(again, bytes, "re-encoded");
    r
}

#[test]
fn the_application_protocol_examples() {
    // §6.3 Read Holding Registers: registers 108–110.
    assert_eq!(
        request(&hex("03 00 6B 00 03")),
        Request::ReadHoldingRegisters {
            address: 0x6b,
            count: 3
        }
    );
    assert_eq!(
        response(&hex("03 06 02 2B 00 00 00 64")),
        Response::ReadHoldingRegisters(vec![0x022b, 0, 0x64])
    );
    // §6.1 Read Coils 20–38: 19 coils in three bytes.
    let coils = response(&hex("01 03 CD 6B 05"));
    let bits = coils.bits(19).unwrap();
    assert_eq!(
        &bits[..8],
        [true, false, true, true, false, false, true, true]
    );
    assert_eq!(&bits[16..], [true, false, true]);
    // §6.12 Write Multiple Registers.
    assert_eq!(
        request(&hex("10 00 01 00 02 04 00 0A 01 02")),
        Request::WriteMultipleRegisters {
            address: 1,
            values: vec![0x000a, 0x0102]
        }
    );
    assert_eq!(
        response(&hex("10 00 01 00 02")),
        Response::WriteMultipleRegisters {
            address: 1,
            count: 2
        }
    );
    // §6.11 Write Multiple Coils: 10 coils from 20.
    assert_eq!(
        request(&hex("0F 00 13 00 0A 02 CD 01")),
        Request::WriteMultipleCoils {
            address: 0x13,
            values: vec![
                true, false, true, true, false, false, true, true, true, false
            ]
        }
    );
    // §6.5 Write Single Coil.
    assert_eq!(
        request(&hex("05 00 AC FF 00")),
        Request::WriteSingleCoil {
            address: 0xac,
            value: true
        }
    );
    // §6.17 Read/Write Multiple Registers.
    assert_eq!(
        request(&hex("17 00 03 00 06 00 0E 00 03 06 00 FF 00 FF 00 FF")),
        Request::ReadWriteMultipleRegisters {
            read_address: 3,
            read_count: 6,
            write_address: 14,
            values: vec![0xff, 0xff, 0xff]
        }
    );
    assert_eq!(
        response(&hex("17 0C 00 FE 0A CD 00 01 00 03 00 0D 00 FF")),
        Response::ReadWriteMultipleRegisters(vec![0xfe, 0x0acd, 1, 3, 0x0d, 0xff])
    );
    // §6.21 Read Device Identification.
    assert_eq!(
        request(&hex("2B 0E 01 00")),
        Request::ReadDeviceIdentification {
            code: 1,
            object_id: 0
        }
    );
    let mut id = hex("2B 0E 01 01 00 00 03 00 16");
    id.extend_from_slice(b"Company identification");
    id.extend_from_slice(&hex("01 0D"));
    id.extend_from_slice(b"Product code1");
    id.extend_from_slice(&hex("02 05"));
    id.extend_from_slice(b"V2.11");
    match response(&id) {
        Response::ReadDeviceIdentification {
            objects,
            more_follows,
            ..
        } => {
            assert!(!more_follows);
            assert_eq!(
                objects[2],
                DeviceIdObject {
                    id: 2,
                    value: b"V2.11".to_vec()
                }
            );
        }
        other => panic!("{other:?}"),
    }
    // §7 exception: illegal data address for function 3.
    assert_eq!(
        response(&hex("83 02")),
        Response::Exception {
            function: 3,
            code: ExceptionCode::IllegalDataAddress
        }
    );
}

#[test]
fn rtu_frames_carry_the_crc_low_byte_first() {
    // The classic: unit 1 reads ten holding registers from 0.
    let wire = hex("01 03 00 00 00 0A C5 CD");
    assert_eq!(crc16(&wire[..6]), 0xcdc5);
    let (frame, used) = RtuFrame::<Request>::decode(&wire).unwrap();
    assert_eq!(used, 8);
    assert_eq!(frame.unit, 1);
    assert_eq!(
        frame.pdu,
        Request::ReadHoldingRegisters {
            address: 0,
            count: 10
        }
    );
    let mut again = Vec::new();
    frame.encode(&mut again).unwrap();
    assert_eq!(again, wire);
    // A flipped bit is caught at the CRC.
    let mut bad = wire.clone();
    bad[3] ^= 0x01;
    assert!(matches!(
        RtuFrame::<Request>::decode(&bad),
        Err(Error::Decode {
            field: "crc",
            offset: 6,
            ..
        })
    ));
    // A partial frame asks for the rest.
    assert_eq!(
        RtuFrame::<Request>::decode(&wire[..5]),
        Err(Error::Incomplete {
            needed: 8,
            available: 5
        })
    );
}

#[test]
fn tcp_frames_check_protocol_and_length() {
    let wire = hex("00 01 00 00 00 06 11 03 00 6B 00 03");
    let (frame, used) = TcpFrame::<Request>::decode(&wire).unwrap();
    assert_eq!(used, 12);
    assert_eq!(
        frame.header,
        MbapHeader {
            transaction: 1,
            unit: 0x11
        }
    );
    let mut other_protocol = wire.clone();
    other_protocol[3] = 1;
    assert!(matches!(
        TcpFrame::<Request>::decode(&other_protocol),
        Err(Error::Decode {
            field: "protocol id",
            ..
        })
    ));
    let mut long = wire.clone();
    long[5] = 7;
    long.push(0);
    assert!(matches!(
        TcpFrame::<Request>::decode(&long),
        Err(Error::Decode {
            field: "length",
            ..
        })
    ));
    assert!(matches!(
        TcpFrame::<Request>::decode(&wire[..9]),
        Err(Error::Incomplete { needed: 12, .. })
    ));
    // An unknown function still frames over TCP, so a server can answer exception 1.
    let (unknown, _) = TcpFrame::<Request>::decode(&hex("00 02 00 00 00 03 01 41 00")).unwrap();
    assert_eq!(unknown.pdu.check(), Err(ExceptionCode::IllegalFunction));
}

#[test]
fn servers_learn_which_exception_to_answer() {
    let too_many = Request::ReadHoldingRegisters {
        address: 0,
        count: 126,
    };
    assert_eq!(too_many.check(), Err(ExceptionCode::IllegalDataValue));
    assert!(
        too_many.encode(&mut Vec::new()).is_err(),
        "a client does not send it"
    );
    let past_the_end = Request::ReadHoldingRegisters {
        address: 0xfff0,
        count: 0x20,
    };
    assert_eq!(past_the_end.check(), Err(ExceptionCode::IllegalDataAddress));
    assert_eq!(
        Request::ReadCoils {
            address: 0,
            count: 2000
        }
        .check(),
        Ok(())
    );
    assert_eq!(
        Request::ReadCoils {
            address: 0,
            count: 2001
        }
        .check(),
        Err(ExceptionCode::IllegalDataValue)
    );
}

fn any_request() -> impl Strategy<Value = Request> {
    prop_oneof![
        (any::<u16>(), 1u16..=125)
            .prop_filter("in range", |(a, n)| u32::from(*a) + u32::from(*n)
                <= 0x10000)
            .prop_map(|(address, count)| Request::ReadHoldingRegisters { address, count }),
        (any::<u16>(), 1u16..=125)
            .prop_filter("in range", |(a, n)| u32::from(*a) + u32::from(*n)
                <= 0x10000)
            .prop_map(|(address, count)| Request::ReadInputRegisters { address, count }),
        (any::<u16>(), 1u16..=2000)
            .prop_filter("in range", |(a, n)| u32::from(*a) + u32::from(*n)
                <= 0x10000)
            .prop_map(|(address, count)| Request::ReadCoils { address, count }),
        (any::<u16>(), 1u16..=2000)
            .prop_filter("in range", |(a, n)| u32::from(*a) + u32::from(*n)
                <= 0x10000)
            .prop_map(|(address, count)| Request::ReadDiscreteInputs { address, count }),
        (any::<u16>(), any::<bool>())
            .prop_map(|(address, value)| Request::WriteSingleCoil { address, value }),
        (any::<u16>(), any::<u16>())
            .prop_map(|(address, value)| Request::WriteSingleRegister { address, value }),
        (0u16..0xf000, prop::collection::vec(any::<bool>(), 1..=1968))
            .prop_map(|(address, values)| Request::WriteMultipleCoils { address, values }),
        (0u16..0xff00, prop::collection::vec(any::<u16>(), 1..=123))
            .prop_map(|(address, values)| Request::WriteMultipleRegisters { address, values }),
        (
            0u16..0xff00,
            1u16..=125,
            0u16..0xff00,
            prop::collection::vec(any::<u16>(), 1..=121)
        )
            .prop_map(|(read_address, read_count, write_address, values)| {
                Request::ReadWriteMultipleRegisters {
                    read_address,
                    read_count,
                    write_address,
                    values,
                }
            }),
        (1u8..=4, any::<u8>())
            .prop_map(|(code, object_id)| Request::ReadDeviceIdentification { code, object_id }),
    ]
}

fn any_response() -> impl Strategy<Value = Response> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..=250).prop_map(Response::ReadCoils),
        prop::collection::vec(any::<u8>(), 0..=250).prop_map(Response::ReadDiscreteInputs),
        prop::collection::vec(any::<u16>(), 0..=125).prop_map(Response::ReadHoldingRegisters),
        prop::collection::vec(any::<u16>(), 0..=125).prop_map(Response::ReadInputRegisters),
        prop::collection::vec(any::<u16>(), 0..=125).prop_map(Response::ReadWriteMultipleRegisters),
        (any::<u16>(), any::<bool>())
            .prop_map(|(address, value)| Response::WriteSingleCoil { address, value }),
        (any::<u16>(), any::<u16>())
            .prop_map(|(address, value)| Response::WriteSingleRegister { address, value }),
        (any::<u16>(), any::<u16>())
            .prop_map(|(address, count)| Response::WriteMultipleCoils { address, count }),
        (any::<u16>(), any::<u16>())
            .prop_map(|(address, count)| Response::WriteMultipleRegisters { address, count }),
        (1u8..0x7f, any::<u8>()).prop_map(|(function, code)| Response::Exception {
            function,
            code: ExceptionCode::from_code(code)
        }),
        (
            1u8..=4,
            any::<u8>(),
            any::<bool>(),
            any::<u8>(),
            prop::collection::vec(
                (any::<u8>(), prop::collection::vec(any::<u8>(), 0..40)),
                0..5
            )
        )
            .prop_map(
                |(code, conformity, more_follows, next_object_id, objects)| {
                    Response::ReadDeviceIdentification {
                        code,
                        conformity,
                        more_follows,
                        next_object_id,
                        objects: objects
                            .into_iter()
                            .map(|(id, value)| DeviceIdObject { id, value })
                            .collect(),
                    }
                }
            ),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn requests_round_trip_in_both_adus(pdu in any_request(), transaction in any::<u16>(), unit in any::<u8>()) {
        let tcp = TcpFrame { header: MbapHeader { transaction, unit }, pdu: pdu.clone() };
        let mut wire = Vec::new();
        tcp.encode(&mut wire).unwrap();
        prop_assert_eq!(TcpFrame::<Request>::decode(&wire).unwrap(), (tcp, wire.len()));
        let rtu = RtuFrame { unit, pdu };
        let mut wire = Vec::new();
        rtu.encode(&mut wire).unwrap();
        prop_assert_eq!(RtuFrame::<Request>::decode(&wire).unwrap(), (rtu, wire.len()));
        for cut in 0..wire.len() {
            let is_incomplete = matches!(RtuFrame::<Request>::decode(&wire[..cut]), Err(Error::Incomplete { .. }));
            prop_assert!(is_incomplete);
        }
    }

    #[test]
    fn responses_round_trip_in_both_adus(pdu in any_response(), transaction in any::<u16>(), unit in any::<u8>()) {
        let tcp = TcpFrame { header: MbapHeader { transaction, unit }, pdu: pdu.clone() };
        let mut wire = Vec::new();
        tcp.encode(&mut wire).unwrap();
        prop_assert_eq!(TcpFrame::<Response>::decode(&wire).unwrap(), (tcp, wire.len()));
        let rtu = RtuFrame { unit, pdu };
        let mut wire = Vec::new();
        rtu.encode(&mut wire).unwrap();
        prop_assert_eq!(RtuFrame::<Response>::decode(&wire).unwrap(), (rtu, wire.len()));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = Request::decode(&bytes);
        let _ = Response::decode(&bytes);
        let _ = TcpFrame::<Request>::decode(&bytes);
        let _ = TcpFrame::<Response>::decode(&bytes);
        let _ = RtuFrame::<Request>::decode(&bytes);
        let _ = RtuFrame::<Response>::decode(&bytes);
    }
}
