//! `idea decode`: a protocol frame or document into readable form or JSON.

use crate::output::{pretty, read_input};
use clap::Subcommand;
use std::io::Write;

#[derive(Debug, Subcommand)]
pub(crate) enum DecodeCommand {
    /// Decode a FIPA-ACL message from a file or `-` (standard input) in any representation: bit-efficient
    /// (SC00069) when it starts with its message id 0xFA, XML (SC00071) when it starts with `<`, else the
    /// string representation (SC00070).
    Fipa {
        /// The file, or `-` for standard input.
        file: String,
        /// Print JSON: {"performative", "sender", "receivers", "reply_to", "content" (and "content_hex" when not
        /// UTF-8), "language", "encoding", "ontology", "protocol", "conversation_id", "reply_with",
        /// "in_reply_to", "reply_by", "user_params": [{"name", "value"}, …] in order, repeated names kept}.
        #[arg(long, conflicts_with = "to")]
        json: bool,
        /// Re-encode in a representation and write it to standard output (bit-efficient output is binary).
        #[arg(long, value_parser = ["string", "xml", "bit-efficient"])]
        to: Option<String>,
    },
    /// Decode a Modbus frame given as hex: a TCP ADU (MBAP header), or with `--rtu` an RTU ADU (unit id, PDU,
    /// CRC). The direction is found by decoding (a request first); `--response` forces it.
    Modbus {
        /// The frame in hex, e.g. "00 01 00 00 00 06 01 03 9C 40 00 02".
        hex: String,
        /// The frame is RTU (CRC-16 checked).
        #[arg(long)]
        rtu: bool,
        /// Read the frame as a response (a server's answer).
        #[arg(long)]
        response: bool,
        /// Print JSON: {"adu": "tcp"|"rtu", "direction": "request"|"response", "transaction" (TCP), "unit",
        /// "pdu": {"function", "name", …fields; "exception" and "exception_name" for an exception}}.
        #[arg(long)]
        json: bool,
    },
    /// Decode an IEEE 2030.5 document (any resource of the DER, device, metering, response and
    /// subscription function sets) from a file or `-` (standard input) and print it as an outline.
    Sep2 {
        /// The file, or `-` for standard input.
        file: String,
        /// Print JSON: {"TypeName": {attribute and element names as in the schema, nested resources as objects,
        /// lists as arrays, HexBinary as uppercase hex, "unknown": extension elements kept}}.
        #[arg(long, conflicts_with = "xml")]
        json: bool,
        /// Write the resource back as canonical XML (schema order, IEEE 2030.5 the default namespace).
        #[arg(long)]
        xml: bool,
    },
    /// Decode an IEC 60870-5-104 APDU given as hex (spaces and colons allowed), field by field.
    Iec104 {
        /// The APDU in hex, e.g. "68 04 07 00 00 00".
        hex: String,
        /// Print JSON: {"format": "I"|"S"|"U", "ns", "nr", "u", "asdu": {"type_id", "type", "sq", "count", "cot",
        /// "cot_name", "negative", "test", "originator", "common_address", "objects": [{"ioa", "value",
        /// "quality", "time"}]}}; times are ISO 8601; quality lists the flags set (OV, EI, BL, SB, NT, IV; CY,
        /// CA, IV of counters); a CP56 time's IV and SU flags are in the value's "extra"."time_flags";
        /// commands carry their qualifier and state by name.
        #[arg(long)]
        json: bool,
        /// Octets of the cause of transmission (1 or 2).
        #[arg(long, default_value_t = 2)]
        cot_size: u8,
        /// Octets of the common address (1 or 2).
        #[arg(long, default_value_t = 2)]
        ca_size: u8,
        /// Octets of an information object address (1, 2 or 3).
        #[arg(long, default_value_t = 3)]
        ioa_size: u8,
    },
}

/// Decodes a Modbus ADU given as hex into its JSON view; a request unless `response` (or unless it only
/// decodes as a response).
pub(crate) fn decode_modbus(
    hex: &str,
    rtu: bool,
    response: bool,
) -> Result<serde_json::Value, String> {
    use modbus_profiles::frame::view;
    let bytes = idea_proto::hex::decode_spaced(hex)?;
    if response {
        return view::response_adu_json(&bytes, rtu).map_err(|e| e.to_string());
    }
    view::request_adu_json(&bytes, rtu).or_else(|request_error| {
        view::response_adu_json(&bytes, rtu).map_err(|response_error| {
            format!("not a request ({request_error}) nor a response ({response_error})")
        })
    })
}

/// Runs one `idea decode` subcommand.
pub(crate) fn run(command: DecodeCommand) -> Result<String, String> {
    match command {
        DecodeCommand::Sep2 { file, json, xml } => {
            let bytes = read_input(&file)?;
            let (resource, _) =
                ieee2030_5::resources::decode(&bytes).map_err(|e| format!("{file}: {e}"))?;
            if xml {
                let mut out = Vec::new();
                ieee2030_5::resources::encode(&resource, &mut out);
                Ok(String::from_utf8_lossy(&out).into_owned() + "\n")
            } else if json {
                // Straight from the types, so the fields stay in schema order.
                serde_json::to_string_pretty(&resource)
                    .map(|text| text + "\n")
                    .map_err(|e| e.to_string())
            } else {
                Ok(ieee2030_5::view::to_text(&resource))
            }
        }
        DecodeCommand::Fipa { file, json, to } => {
            let bytes = read_input(&file)?;
            let (message, _, _) =
                fipa_acl::AclMessage::decode_any(&bytes).map_err(|e| format!("{file}: {e}"))?;
            if let Some(to) = to {
                let representation = fipa_acl::Representation::from_name(&to)
                    .ok_or_else(|| format!("unknown representation {to:?}"))?;
                let mut out = Vec::new();
                message
                    .encode_as(representation, &mut out)
                    .map_err(|e| format!("{representation}: {e}"))?;
                if representation == fipa_acl::Representation::String {
                    out.push(b'\n');
                }
                let mut stdout = std::io::stdout().lock();
                stdout
                    .write_all(&out)
                    .and_then(|()| stdout.flush())
                    .map_err(|e| format!("standard output: {e}"))?;
                return Ok(String::new());
            }
            if json {
                pretty(&fipa_acl::view::to_json(&message))
            } else {
                Ok(fipa_acl::view::to_text(&message))
            }
        }
        DecodeCommand::Modbus {
            hex,
            rtu,
            response,
            json,
        } => {
            let value = decode_modbus(&hex, rtu, response)?;
            if json {
                pretty(&value)
            } else {
                Ok(modbus_profiles::frame::view::to_text(&value))
            }
        }
        DecodeCommand::Iec104 {
            hex,
            json,
            cot_size,
            ca_size,
            ioa_size,
        } => {
            let params = iec104::AsduParams {
                cot_size,
                ca_size,
                ioa_size,
            };
            let bytes = idea_proto::hex::decode_spaced(&hex)?;
            let (apdu, used) = iec104::Apdu::decode(&bytes, &params).map_err(|e| e.to_string())?;
            if used != bytes.len() {
                return Err(format!(
                    "{} octets after the APDU (it ends at octet {used})",
                    bytes.len().saturating_sub(used)
                ));
            }
            if json {
                pretty(&iec104::view::to_json(&apdu))
            } else {
                Ok(iec104::view::to_text(&apdu))
            }
        }
    }
}
