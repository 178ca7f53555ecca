//! Serial ports (feature `serial`) on a pseudo-terminal pair: the device end is opened by its path as a
//! real port would be (termios, raw mode, exclusive), the test drives the other end.
#![cfg(all(unix, feature = "serial"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;
use common::{scaled, shared};
use modbus_profiles::Error;
use modbus_profiles::net::{
    Client, Framing, Parity, SerialLine, SerialStream, serve_rtu, serve_serial,
};
use modbus_profiles::sunspec::{Catalog, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A pseudo-terminal: the end the test drives, and the path of the other end (its first descriptor is kept
/// open, unused, so the line stays up while the path is opened by the code under test).
fn pty() -> (SerialStream, SerialStream, String) {
    let (driver, device) = SerialStream::pair().unwrap();
    let path = tokio_serial::SerialPort::name(&device).unwrap();
    (driver, device, path)
}

async fn read_exactly(stream: &mut SerialStream, n: usize) -> Vec<u8> {
    let mut got = Vec::new();
    let mut chunk = [0u8; 512];
    while got.len() < n {
        let read = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut chunk))
            .await
            .expect("bytes in time")
            .unwrap();
        got.extend_from_slice(&chunk[..read]);
    }
    got
}

/// Raw mode: no byte is translated (CR/LF), swallowed (XON/XOFF) or taken as a signal (^C), either way.
#[tokio::test]
async fn every_byte_value_crosses_an_opened_port_unchanged() {
    let (mut driver, _device, path) = pty();
    let mut port = SerialLine::new(&path, 19_200, Parity::Even).open().unwrap();
    let all: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
    driver.write_all(&all).await.unwrap();
    assert_eq!(read_exactly(&mut port, all.len()).await, all);
    port.write_all(&all).await.unwrap();
    assert_eq!(read_exactly(&mut driver, all.len()).await, all);
}

/// A simulated device served on a port opened by path is scanned through the line and gives what the same
/// device gives over an in-memory stream; a verified write goes through it.
#[tokio::test]
async fn a_device_served_on_a_serial_port_scans_as_over_any_stream() {
    let (driver, _device, path) = pty();
    let server = shared("modbus-der");
    let line = SerialLine::new(&path, 19_200, Parity::Even);
    tokio::spawn({
        let server = Arc::clone(&server);
        async move { serve_serial(&line, server).await }
    });
    // The port is opened by the task: wait until it is (a second opener is refused).
    for _ in 0..100 {
        if SerialLine::new(&path, 19_200, Parity::Even).open().is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut client = Client::new(driver, Framing::Rtu, 1);
    client.set_frame_gap(SerialLine::new(&path, 19_200, Parity::Even).frame_gap());
    let catalog = Catalog::builtin().unwrap();
    let over_serial = client.scan(catalog.clone()).await.unwrap();

    let (near, far) = tokio::io::duplex(4096);
    tokio::spawn(serve_rtu(
        far,
        Arc::clone(&server),
        Duration::from_millis(5),
    ));
    let over_stream = Client::new(near, Framing::Rtu, 1)
        .scan(catalog)
        .await
        .unwrap();
    let ids: Vec<u16> = over_serial.models().iter().map(|m| m.id()).collect();
    assert_eq!(ids, [1, 701, 702, 704, 705, 711, 712, 713]);
    // Static points agree; measurements move with time, so compare model 1 and the settings of 704.
    for id in [1, 702, 704] {
        assert_eq!(
            over_serial.model(id).unwrap().to_json(),
            over_stream.model(id).unwrap().to_json(),
            "model {id}"
        );
    }
    let mut ctl = over_serial.model(704).unwrap().clone();
    ctl.set_scaled("WSet", 3100.0).unwrap();
    ctl.set("PFWInj.Ext", &Value::Uint(1)).unwrap();
    client.write_verified(&mut ctl).await.unwrap();
    assert_eq!(scaled(&server, "704.WSet"), Some(3100.0));
    assert_eq!(client.discarded(), 0);
}

#[tokio::test]
async fn a_client_opened_on_a_port_talks_to_a_device_on_the_other_end() {
    let (driver, _device, path) = pty();
    tokio::spawn(serve_rtu(
        driver,
        shared("modbus-meter"),
        Duration::from_millis(2),
    ));
    let line = SerialLine::new(&path, 9_600, Parity::None);
    let mut client = Client::open_serial(&line, 1).unwrap();
    let device = client.scan(Catalog::builtin().unwrap()).await.unwrap();
    assert_eq!(
        device.model(203).unwrap().get_scaled("W").unwrap(),
        Some(3600.0)
    );
}

#[test]
fn line_settings_and_errors_name_the_device() {
    let line = SerialLine::new("/dev/ttyUSB0", 19_200, Parity::Even);
    assert_eq!(
        (line.stop_bits, line.to_string()),
        (1, "/dev/ttyUSB0 19200 8E1".to_owned())
    );
    // No parity: two stop bits keep 11 bits a character (Modbus over Serial Line 2.5.1).
    let none = SerialLine::new("COM3", 9_600, "N".parse().unwrap());
    assert_eq!(none.to_string(), "COM3 9600 8N2");
    assert_eq!(none.frame_gap(), Duration::from_micros(4_010));
    assert_eq!(
        SerialLine::new("x", 115_200, Parity::Odd).frame_gap(),
        Duration::from_micros(1_750)
    );
    assert_eq!("Odd".parse::<Parity>().unwrap(), Parity::Odd);
    assert!(matches!(
        "mark".parse::<Parity>(),
        Err(Error::Invalid {
            field: "parity",
            ..
        })
    ));
    let missing = SerialLine::new("/dev/idea-no-such-port", 19_200, Parity::Even)
        .open()
        .unwrap_err()
        .to_string();
    assert!(missing.contains("/dev/idea-no-such-port"), "{missing}");
    assert!(matches!(
        SerialLine::new("/dev/null", 0, Parity::Even).open(),
        Err(Error::Invalid { field: "baud", .. })
    ));
    let mut three = SerialLine::new("/dev/null", 19_200, Parity::Even);
    three.stop_bits = 3;
    assert!(matches!(
        three.open(),
        Err(Error::Invalid {
            field: "stop_bits",
            ..
        })
    ));
}

/// A port is opened for exclusive use: a second opener (another master on the same line) is refused, and the
/// error names the device.
#[tokio::test]
async fn a_port_is_opened_once() {
    let (_driver, _device, path) = pty();
    let line = SerialLine::new(&path, 19_200, Parity::Even);
    let _first = line.open().unwrap();
    let second = line.open().unwrap_err().to_string();
    assert!(second.contains(&path), "{second}");
}
