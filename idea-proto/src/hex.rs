//! Hexadecimal text for ids, keys, hashes and frames: the one hex helper of the workspace.
//!
//! ```
//! assert_eq!(idea_proto::hex::encode(&[0, 0xab]), "00ab");
//! assert_eq!(idea_proto::hex::decode("00AB"), Ok(vec![0, 0xab]));
//! assert_eq!(idea_proto::hex::decode_spaced("68 04:07"), Ok(vec![0x68, 4, 7]));
//! ```

/// Lower-case hex of `bytes`.
pub fn encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes from hex text as people type frames: white space and colons between octets are ignored
/// (`68 04 07 00 00 00`, `68:04:07`); an odd count of digits or a non-hex character is an error.
pub fn decode_spaced(text: &str) -> Result<Vec<u8>, String> {
    let digits: String = text
        .chars()
        .filter(|c| !(c.is_whitespace() || *c == ':'))
        .collect();
    decode(&digits)
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => c.checked_sub(b'0'),
        b'a'..=b'f' => c.checked_sub(b'a' - 10),
        b'A'..=b'F' => c.checked_sub(b'A' - 10),
        _ => None,
    }
}

/// Bytes from hex text (either case); an odd length or a non-hex character is an error.
pub fn decode(text: &str) -> Result<Vec<u8>, String> {
    if !text.len().is_multiple_of(2) {
        return Err(format!("{} hex digits is an odd count", text.len()));
    }
    text.as_bytes()
        .chunks_exact(2)
        .enumerate()
        .map(|(i, pair)| match pair {
            [hi, lo] => match (nibble(*hi), nibble(*lo)) {
                (Some(hi), Some(lo)) => Ok((hi << 4) | lo),
                _ => Err(format!("byte {}: not a hex digit", i.saturating_mul(2))),
            },
            _ => Err("hex digits come in pairs".to_owned()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_hex() {
        assert_eq!(decode("00fFa9"), Ok(vec![0, 255, 0xa9]));
        assert_eq!(encode(&[0, 255, 0xa9]), "00ffa9");
        assert!(decode("+f").is_err());
        assert!(decode("0g").is_err());
        assert!(decode("abc").is_err());
    }
}
