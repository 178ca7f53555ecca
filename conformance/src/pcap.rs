//! A case's TCP exchange as a pcap file (libpcap format, link type `LINKTYPE_RAW`: IPv4 packets, or IPv6 ones
//! (RFC 8200) when the device was reached over IPv6), so a lab opens
//! the evidence in Wireshark and its IEC 104 or Modbus/TCP dissector reads every frame. The packets are
//! rebuilt from the trace: a handshake, each unit sent or received as one segment with consistent sequence and
//! acknowledgement numbers and checksums, and a close.

use crate::trace::{Direction, TraceEntry};
use std::net::{IpAddr, SocketAddr};

const LINKTYPE_RAW: u32 = 101;
const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const PSH: u8 = 0x08;
const FIN: u8 = 0x01;

/// One side of the connection: its address and next sequence number.
struct Side {
    address: SocketAddr,
    seq: u32,
}

fn checksum(words: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for chunk in words.chunks(2) {
        let hi = u32::from(chunk.first().copied().unwrap_or(0));
        let lo = u32::from(chunk.get(1).copied().unwrap_or(0));
        sum = sum.wrapping_add((hi << 8) | lo);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff).wrapping_add(sum >> 16);
    }
    !u16::try_from(sum).unwrap_or(0xffff)
}

/// The two addresses as IPv4 (both are) or as IPv6 (either is; an IPv4 one mapped, `::ffff:a.b.c.d`).
enum Addresses {
    V4([u8; 4], [u8; 4]),
    V6([u8; 16], [u8; 16]),
}

fn addresses(from: &SocketAddr, to: &SocketAddr) -> Addresses {
    let v6 = |ip: IpAddr| match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    };
    match (from.ip(), to.ip()) {
        (IpAddr::V4(a), IpAddr::V4(b)) => Addresses::V4(a.octets(), b.octets()),
        (a, b) => Addresses::V6(v6(a), v6(b)),
    }
}

/// An IPv4 or IPv6 packet carrying one TCP segment.
fn packet(from: &Side, to: &Side, flags: u8, payload: &[u8]) -> Vec<u8> {
    let family = addresses(&from.address, &to.address);
    let mut tcp = Vec::with_capacity(20usize.saturating_add(payload.len()));
    tcp.extend_from_slice(&from.address.port().to_be_bytes());
    tcp.extend_from_slice(&to.address.port().to_be_bytes());
    tcp.extend_from_slice(&from.seq.to_be_bytes());
    let ack = if flags & ACK != 0 { to.seq } else { 0 };
    tcp.extend_from_slice(&ack.to_be_bytes());
    tcp.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    tcp.extend_from_slice(payload);
    let tcp_len = u16::try_from(tcp.len()).unwrap_or(u16::MAX);
    // The TCP checksum covers a pseudo-header of the addresses (RFC 793; RFC 8200 clause 8.1 for IPv6).
    let mut pseudo = Vec::with_capacity(40usize.saturating_add(tcp.len()));
    match &family {
        Addresses::V4(src, dst) => {
            pseudo.extend_from_slice(src);
            pseudo.extend_from_slice(dst);
            pseudo.extend_from_slice(&[0, 6]);
            pseudo.extend_from_slice(&tcp_len.to_be_bytes());
        }
        Addresses::V6(src, dst) => {
            pseudo.extend_from_slice(src);
            pseudo.extend_from_slice(dst);
            pseudo.extend_from_slice(&u32::from(tcp_len).to_be_bytes());
            pseudo.extend_from_slice(&[0, 0, 0, 6]);
        }
    }
    pseudo.extend_from_slice(&tcp);
    let sum = checksum(&pseudo).to_be_bytes();
    if let Some(slot) = tcp.get_mut(16..18) {
        slot.copy_from_slice(&sum);
    }
    let (src, dst) = match family {
        Addresses::V4(src, dst) => (src, dst),
        Addresses::V6(src, dst) => {
            // Version 6, no traffic class or flow label, the payload length, TCP, hop limit 64.
            let mut ip = vec![0x60, 0, 0, 0];
            ip.extend_from_slice(&tcp_len.to_be_bytes());
            ip.extend_from_slice(&[6, 64]);
            ip.extend_from_slice(&src);
            ip.extend_from_slice(&dst);
            ip.extend_from_slice(&tcp);
            return ip;
        }
    };
    let total = u16::try_from(tcp.len().saturating_add(20)).unwrap_or(u16::MAX);
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&[0, 0, 0x40, 0, 64, 6, 0, 0]);
    ip.extend_from_slice(&src);
    ip.extend_from_slice(&dst);
    let sum = checksum(&ip).to_be_bytes();
    if let Some(slot) = ip.get_mut(10..12) {
        slot.copy_from_slice(&sum);
    }
    ip.extend_from_slice(&tcp);
    ip
}

fn record(out: &mut Vec<u8>, at_us: u64, data: &[u8]) {
    let secs = u32::try_from(at_us / 1_000_000).unwrap_or(u32::MAX);
    let micros = u32::try_from(at_us % 1_000_000).unwrap_or(0);
    let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
    for field in [secs, micros, len, len] {
        out.extend_from_slice(&field.to_le_bytes());
    }
    out.extend_from_slice(data);
}

/// The pcap file of a case's exchange between the runner (`runner`) and the device (`device`), its packets
/// stamped from `start_unix_ms` plus each entry's time.
pub fn pcap(
    runner: SocketAddr,
    device: SocketAddr,
    start_unix_ms: u64,
    entries: &[TraceEntry],
) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&65_535u32.to_le_bytes());
    out.extend_from_slice(&LINKTYPE_RAW.to_le_bytes());
    let mut ours = Side {
        address: runner,
        seq: 1_000,
    };
    let mut theirs = Side {
        address: device,
        seq: 50_000,
    };
    let at = |ms: u64| start_unix_ms.saturating_add(ms).saturating_mul(1000);
    // The handshake, at the start of the case.
    record(&mut out, at(0), &packet(&ours, &theirs, SYN, &[]));
    ours.seq = ours.seq.wrapping_add(1);
    record(&mut out, at(0), &packet(&theirs, &ours, SYN | ACK, &[]));
    theirs.seq = theirs.seq.wrapping_add(1);
    record(&mut out, at(0), &packet(&ours, &theirs, ACK, &[]));
    let mut last_ms = 0;
    for e in entries {
        last_ms = e.at_ms;
        let Ok(bytes) = idea_proto::hex::decode(&e.hex) else {
            continue;
        };
        if bytes.is_empty() {
            continue;
        }
        let (from, to) = match e.direction {
            Direction::Sent => (&mut ours, &mut theirs),
            Direction::Received => (&mut theirs, &mut ours),
            Direction::Note => continue,
        };
        record(&mut out, at(e.at_ms), &packet(from, to, PSH | ACK, &bytes));
        let advance = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        from.seq = from.seq.wrapping_add(advance);
    }
    record(
        &mut out,
        at(last_ms),
        &packet(&ours, &theirs, FIN | ACK, &[]),
    );
    out
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )]
    use super::*;

    /// The packets of a pcap file, walking its records after the 24-byte global header.
    fn packets_of(file: &[u8]) -> Vec<Vec<u8>> {
        let mut at = 24;
        let mut packets = Vec::new();
        while at < file.len() {
            let len = u32::from_le_bytes(file[at + 8..at + 12].try_into().unwrap()) as usize;
            packets.push(file[at + 16..at + 16 + len].to_vec());
            at += 16 + len;
        }
        packets
    }

    #[test]
    fn the_capture_holds_a_handshake_the_units_and_a_close_with_valid_checksums() {
        let entries = [
            TraceEntry {
                at_ms: 0,
                direction: Direction::Note,
                hex: String::new(),
                summary: "connected".into(),
            },
            TraceEntry {
                at_ms: 1,
                direction: Direction::Sent,
                hex: "680407000000".into(),
                summary: "STARTDT_ACT".into(),
            },
            TraceEntry {
                at_ms: 2,
                direction: Direction::Received,
                hex: "68040b000000".into(),
                summary: "STARTDT_CON".into(),
            },
        ];
        let runner: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let device: SocketAddr = "127.0.0.1:2404".parse().unwrap();
        let file = pcap(runner, device, 1_796_300_000_000, &entries);
        assert_eq!(&file[..4], &0xa1b2_c3d4u32.to_le_bytes());
        // 3 handshake + 2 units + 1 FIN.
        let packets = packets_of(&file);
        assert_eq!(packets.len(), 6);
        for p in &packets {
            assert_eq!(checksum(&p[..20]), 0, "IPv4 header checksum");
            let mut pseudo = p[12..20].to_vec();
            pseudo.extend_from_slice(&[0, 6]);
            pseudo.extend_from_slice(&u16::try_from(p.len() - 20).unwrap().to_be_bytes());
            pseudo.extend_from_slice(&p[20..]);
            assert_eq!(checksum(&pseudo), 0, "TCP checksum");
        }
        // The STARTDT act from the runner's port to 2404, the con back, sequence numbers continuing.
        assert_eq!(&packets[3][40..], [0x68, 4, 7, 0, 0, 0]);
        assert_eq!(u16::from_be_bytes([packets[3][22], packets[3][23]]), 2404);
        assert_eq!(&packets[4][40..], [0x68, 4, 0x0b, 0, 0, 0]);
        let seq_of = |p: &Vec<u8>| u32::from_be_bytes(p[24..28].try_into().unwrap());
        let ack_of = |p: &Vec<u8>| u32::from_be_bytes(p[28..32].try_into().unwrap());
        assert_eq!(ack_of(&packets[4]), seq_of(&packets[3]) + 6);
    }

    #[test]
    fn a_device_reached_over_ipv6_is_captured_in_ipv6_packets() {
        let entries = [TraceEntry {
            at_ms: 1,
            direction: Direction::Sent,
            hex: "680407000000".into(),
            summary: "STARTDT_ACT".into(),
        }];
        let runner: SocketAddr = "[::1]:40000".parse().unwrap();
        let device: SocketAddr = "[2001:db8::2]:2404".parse().unwrap();
        let packets = packets_of(&pcap(runner, device, 1_796_300_000_000, &entries));
        assert_eq!(packets.len(), 5, "handshake, one unit, close");
        for p in &packets {
            assert_eq!(p[0] >> 4, 6, "IPv6");
            assert_eq!(usize::from(u16::from_be_bytes([p[4], p[5]])), p.len() - 40);
            assert_eq!(p[6], 6, "next header: TCP");
            let mut pseudo = p[8..40].to_vec();
            pseudo.extend_from_slice(&u32::try_from(p.len() - 40).unwrap().to_be_bytes());
            pseudo.extend_from_slice(&[0, 0, 0, 6]);
            pseudo.extend_from_slice(&p[40..]);
            assert_eq!(
                checksum(&pseudo),
                0,
                "TCP checksum over the IPv6 pseudo-header"
            );
        }
        assert_eq!(
            &packets[3][24..40],
            &"2001:db8::2"
                .parse::<std::net::Ipv6Addr>()
                .unwrap()
                .octets()
        );
        assert_eq!(&packets[3][60..], [0x68, 4, 7, 0, 0, 0]);
    }
}
