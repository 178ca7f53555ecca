//! `idea`: the IDEA SDK command line. It parses arguments and calls library functions that tests call too.

use clap::{Parser, Subcommand};
use idea_conformance::{Catalogue, render};
use std::io::Write;
use std::process::ExitCode;

/// The IDEA SDK command line. Subcommands arrive with the crates they drive; today: the requirement catalogue.
#[derive(Debug, Parser)]
#[command(name = "idea", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the IDEA requirement catalogue (IDs quoted by reports and certificates).
    ///
    /// Each requirement shows how it is verified: `test` (conformance test cases check it) or `declared`
    /// (the vendor's statement covers it).
    Requirements {
        /// Print a JSON array (keys: id, area, text, source, check) instead of a table.
        #[arg(long)]
        json: bool,
        /// Only the requirements of one area: ARCH, AG, UC, AUX, PROP, TE, IOT, NG, SEC or DEMO
        /// (case-insensitive).
        #[arg(long, value_name = "AREA")]
        area: Option<String>,
    },
    /// Neural Grid algorithms on case files.
    #[command(subcommand)]
    Ng(NgCommand),
    /// Decode a protocol frame into readable form or JSON.
    #[command(subcommand)]
    Decode(DecodeCommand),
    /// Run a reference device on a real socket until interrupted (Ctrl-C).
    Serve {
        /// What to run: iec104-router (the IDEA energy router's IEC 104 profile with a simulated router behind
        /// it: setpoints move the measured flows, limits clamp them, NG-R1..R5 by the mode setpoint), a
        /// simulated Modbus/SunSpec device: modbus-router, modbus-hub, modbus-port, modbus-rectiverter,
        /// modbus-meter, modbus-relay, modbus-der; or sep2-server (an IEEE 2030.5 DER server with one
        /// program, its default control and an event a minute after start).
        #[arg(value_parser = serve_kinds())]
        kind: String,
        /// Address to listen on, e.g. 127.0.0.1:2404 or 127.0.0.1:1502.
        #[arg(long, required_unless_present = "serial", conflicts_with = "serial")]
        listen: Option<std::net::SocketAddr>,
        /// Modbus devices: serve Modbus RTU on this serial port instead of Modbus TCP (/dev/ttyUSB0, COM3).
        #[arg(long, value_name = "PORT")]
        serial: Option<String>,
        #[command(flatten)]
        line: LineArgs,
        /// Modbus devices: the register address of the SunSpec map ("SunS").
        #[arg(long, default_value_t = 40000)]
        base: u16,
        /// Modbus devices: the unit id answered.
        #[arg(long, default_value_t = 1)]
        unit: u8,
        /// sep2-server: the server's certificate chain (PEM); with --key and --client-ca it serves mutual
        /// TLS, without them plain HTTP where every client is the operator (local testing only).
        #[arg(long, requires_all = ["key", "client_ca"])]
        cert: Option<std::path::PathBuf>,
        /// sep2-server: the server's private key (PEM).
        #[arg(long, requires = "cert")]
        key: Option<std::path::PathBuf>,
        /// sep2-server: the CA certifying the clients (PEM).
        #[arg(long, requires = "cert")]
        client_ca: Option<std::path::PathBuf>,
        /// sep2-server: a device allowed to register, as LFDI=PIN (repeatable).
        #[arg(long, value_parser = parse_enrolment)]
        enrol: Vec<(ieee2030_5::primitives::HexBinary160, u32)>,
    },
    /// SunSpec devices over Modbus TCP.
    #[command(subcommand)]
    Sunspec(SunspecCommand),
    /// The Transactive Energy ledger.
    #[command(subcommand)]
    Ledger(LedgerCommand),
}

#[derive(Debug, Subcommand)]
enum LedgerCommand {
    /// Walk a ledger (SQLite file): every link and hash, every key recorded once, time order, and every
    /// signature against the registry rebuilt from the registrar's key. Exits 2 at the first fault.
    Verify {
        /// The ledger database.
        file: std::path::PathBuf,
        /// The deployment its objects were signed for.
        #[arg(long)]
        deployment: String,
        /// The registrar's avatar id (32 hex digits).
        #[arg(long)]
        registrar: String,
        /// The registrar's ed25519 public key (64 hex digits).
        #[arg(long)]
        registrar_key: String,
        /// When the registry began (RFC 3339).
        #[arg(long)]
        genesis: String,
        /// Print JSON (entries, signatures, head) instead of a sentence.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum SunspecCommand {
    /// Scan a device: find "SunS" at 40000, 0 or 50000, read every model and print its points.
    Scan {
        /// The device, HOST:PORT (Modbus TCP), or with --serial its serial port (Modbus RTU).
        target: String,
        /// The target is a serial port: scan over Modbus RTU.
        #[arg(long)]
        serial: bool,
        #[command(flatten)]
        line: LineArgs,
        /// Unit id.
        #[arg(long, default_value_t = 1)]
        unit: u8,
        /// Print JSON (base, models with id, name, address, length and points) instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// The character format of a serial line (Modbus over Serial Line 2.5.1: 8 data bits, 11 bits a character).
#[derive(Debug, clap::Args)]
struct LineArgs {
    /// With --serial: bits per second [default: 19200].
    #[arg(long, requires = "serial")]
    baud: Option<u32>,
    /// With --serial: parity, none, even or odd [default: even].
    #[arg(long, requires = "serial")]
    parity: Option<modbus_profiles::net::Parity>,
    /// With --serial: stop bits (default 1 with parity, 2 without).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=2), requires = "serial")]
    stop_bits: Option<u8>,
}

impl LineArgs {
    /// Whether any setting was given.
    fn is_set(&self) -> bool {
        self.baud.is_some() || self.parity.is_some() || self.stop_bits.is_some()
    }

    fn line(&self, path: &str) -> modbus_profiles::net::SerialLine {
        // Modbus over Serial Line 2.5.1: 19 200 bit/s and even parity unless configured otherwise.
        let mut line = modbus_profiles::net::SerialLine::new(
            path,
            self.baud.unwrap_or(19_200),
            self.parity.unwrap_or(modbus_profiles::net::Parity::Even),
        );
        if let Some(stop_bits) = self.stop_bits {
            line.stop_bits = stop_bits;
        }
        line
    }
}

#[derive(Debug, Subcommand)]
enum DecodeCommand {
    /// Decode a FIPA-ACL message from a file or `-` (standard input) in any representation: bit-efficient
    /// (SC00069) when it starts with its message id 0xFA, XML (SC00071) when it starts with `<`, else the
    /// string representation (SC00070).
    Fipa {
        /// The file, or `-` for standard input.
        file: String,
        /// Print JSON: {"performative", "sender", "receivers", "reply_to", "content" (and "content_hex" when not
        /// UTF-8), "language", "encoding", "ontology", "protocol", "conversation_id", "reply_with",
        /// "in_reply_to", "reply_by", "user_params"}.
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
        /// "negative", "test", "originator", "common_address", "objects": [{"ioa", "value", "quality",
        /// "time"}]}}; times are ISO 8601.
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

#[derive(Debug, Subcommand)]
enum NgCommand {
    /// Solve the power flow of a MATPOWER case file (`mpc.baseMVA`, `mpc.bus`, `mpc.gen`, `mpc.branch`).
    ///
    /// Radial feeders are solved by backward/forward sweep, meshed networks by Newton-Raphson, unless
    /// `--method` says otherwise.
    Pf {
        /// The case file.
        case: std::path::PathBuf,
        /// Print JSON: {"converged", "method", "iterations", "buses": [{"bus", "vm_pu", "va_deg"}],
        /// "branches": [{"from", "to", "in_service", "p_from_mw", "q_from_mvar", "p_to_mw", "q_to_mvar",
        /// "loading"}], "losses_mw", "slack_p_mw", "slack_q_mvar"}. Loading is in percent of rate A.
        #[arg(long)]
        json: bool,
        /// auto, sweep or newton-raphson.
        #[arg(long, default_value = "auto", value_parser = parse_method)]
        method: ng_control::powerflow::Method,
        /// Convergence tolerance in MVA.
        #[arg(long, default_value_t = 1e-9)]
        tolerance_mva: f64,
        /// Iteration limit.
        #[arg(long, default_value_t = 100)]
        max_iterations: usize,
    },
}

fn parse_method(s: &str) -> Result<ng_control::powerflow::Method, String> {
    use ng_control::powerflow::Method;
    match s {
        "auto" => Ok(Method::Auto),
        "sweep" => Ok(Method::Sweep),
        "newton-raphson" | "nr" => Ok(Method::NewtonRaphson),
        other => Err(format!("{other:?} is not auto, sweep or newton-raphson")),
    }
}

/// What `idea serve` runs: the IEC 104 router and every shipped Modbus device profile.
fn serve_kinds() -> clap::builder::PossibleValuesParser {
    let modbus = modbus_profiles::simulator::SHIPPED
        .iter()
        .map(|(name, _)| *name);
    clap::builder::PossibleValuesParser::new(
        ["iec104-router", "sep2-server"].into_iter().chain(modbus),
    )
}

/// `LFDI=PIN`: 40 hex digits and a decimal PIN.
fn parse_enrolment(text: &str) -> Result<(ieee2030_5::primitives::HexBinary160, u32), String> {
    let (lfdi, pin) = text.split_once('=').ok_or("expected LFDI=PIN")?;
    let lfdi = ieee2030_5::primitives::HexBinary160::parse(lfdi).map_err(|e| e.to_string())?;
    Ok((lfdi, pin.parse().map_err(|e| format!("PIN: {e}"))?))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Serve {
        kind,
        listen,
        serial,
        line,
        base,
        unit,
        cert,
        key,
        client_ca,
        enrol,
    } = &cli.command
    {
        let tls = match (cert, key, client_ca) {
            (Some(cert), Some(key), Some(client_ca)) => Some(idea_conformance::serve::Sep2Tls {
                cert: cert.clone(),
                key: key.clone(),
                client_ca: client_ca.clone(),
            }),
            _ => None,
        };
        if serial.is_none() && line.is_set() {
            // clap drops `requires` when a conflicting argument (--listen) is given: checked here.
            let _ = writeln!(
                std::io::stderr(),
                "error: --baud, --parity and --stop-bits set a serial line: they need --serial"
            );
            return ExitCode::from(2);
        }
        let endpoint = match (listen, serial) {
            (_, Some(path)) => Endpoint::Serial(line.line(path)),
            (Some(address), None) => Endpoint::Tcp(*address),
            (None, None) => {
                let _ = writeln!(std::io::stderr(), "idea: --listen or --serial is needed");
                return ExitCode::from(2);
            }
        };
        return match serve(kind, &endpoint, *base, *unit, tls.as_ref(), enrol) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                let _ = writeln!(std::io::stderr(), "idea: {message}");
                ExitCode::from(2)
            }
        };
    }
    match run(cli) {
        Ok(text) => {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`idea requirements | head`) is not an error worth reporting.
            let _ = stdout.write_all(text.as_bytes());
            let _ = stdout.flush();
            ExitCode::SUCCESS
        }
        Err(message) => {
            let _ = writeln!(std::io::stderr(), "idea: {message}");
            ExitCode::from(2)
        }
    }
}

/// `idea ledger verify`.
fn verify_ledger(
    file: &std::path::Path,
    deployment: &str,
    registrar: &str,
    key: &str,
    genesis: &str,
    json: bool,
) -> Result<String, String> {
    let deployment = te_contract::DeploymentId::new(deployment).map_err(|e| e.to_string())?;
    let registrar: te_contract::AvatarId = registrar
        .parse()
        .map_err(|e: te_contract::Error| e.to_string())?;
    let key: idea_proto::PublicKey = key
        .parse()
        .map_err(|e: idea_proto::Error| format!("--registrar-key: {e}"))?;
    let genesis: idea_proto::Timestamp = genesis
        .parse()
        .map_err(|e: idea_proto::Error| format!("--genesis: {e}"))?;
    if !file.exists() {
        return Err(format!("{}: no such file", file.display()));
    }
    let store = te_contract::ledger::SqliteStore::open(file)
        .map_err(|e| format!("{}: {e}", file.display()))?;
    let report = te_contract::ledger::verify(&store, &deployment, registrar, key, genesis)
        .map_err(|e| format!("{}: {e}", file.display()))?;
    let head = report.head.map(|h| {
        (
            h.seq,
            h.hash
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>(),
        )
    });
    if json {
        return pretty(&serde_json::json!({
            "entries": report.entries,
            "signatures": report.signatures,
            "head": head.map(|(seq, hash)| serde_json::json!({"seq": seq, "hash": hash})),
        }));
    }
    Ok(match head {
        Some((seq, hash)) => format!(
            "{}: {} entries and {} signatures verified; head {seq} {hash}\n",
            file.display(),
            report.entries,
            report.signatures
        ),
        None => format!("{}: empty ledger\n", file.display()),
    })
}

/// Pretty JSON with a final newline.
fn pretty(value: &impl serde::Serialize) -> Result<String, String> {
    serde_json::to_string_pretty(value)
        .map(|s| s + "\n")
        .map_err(|e| e.to_string())
}

/// Scans the SunSpec device at `target` (HOST:PORT), or on `serial` when given.
fn scan(
    target: &str,
    serial: Option<modbus_profiles::net::SerialLine>,
    unit: u8,
    json: bool,
) -> Result<String, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let device = runtime
        .block_on(async {
            match &serial {
                Some(line) => idea_conformance::serve::sunspec_scan_serial(line, unit).await,
                None => idea_conformance::serve::sunspec_scan(target, unit).await,
            }
        })
        .map_err(|e| format!("{target}: {e}"))?;
    Ok(if json {
        pretty(&device.to_json())?
    } else {
        render::sunspec_device(&device)
    })
}

/// Where `idea serve` serves.
enum Endpoint {
    /// A TCP socket.
    Tcp(std::net::SocketAddr),
    /// A serial line (Modbus RTU devices only).
    Serial(modbus_profiles::net::SerialLine),
}

fn serve(
    kind: &str,
    endpoint: &Endpoint,
    base: u16,
    unit: u8,
    tls: Option<&idea_conformance::serve::Sep2Tls>,
    enrol: &[(ieee2030_5::primitives::HexBinary160, u32)],
) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let modbus = modbus_profiles::simulator::SHIPPED
        .iter()
        .any(|(name, _)| *name == kind);
    runtime.block_on(async {
        let listen = match endpoint {
            Endpoint::Serial(line) if modbus => {
                let (_, served) =
                    idea_conformance::serve::modbus_device_serial(line, kind, base, unit)
                        .map_err(|e| e.to_string())?;
                let _ = writeln!(
                    std::io::stderr(),
                    "idea: serving {kind} (Modbus RTU, unit {unit}) on {line}; Ctrl-C stops"
                );
                return tokio::select! {
                    stop = tokio::signal::ctrl_c() => stop.map_err(|e| e.to_string()),
                    ended = served => match ended {
                        Ok(Ok(())) => Err(format!("{}: the port closed", line.path)),
                        Ok(Err(e)) => Err(e.to_string()),
                        Err(e) => Err(e.to_string()),
                    },
                };
            }
            Endpoint::Serial(_) => {
                return Err(format!(
                    "{kind} does not serve on a serial line (Modbus devices do)"
                ));
            }
            Endpoint::Tcp(listen) => *listen,
        };
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| format!("{listen}: {e}"))?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        match kind {
            "iec104-router" => {
                idea_conformance::serve::iec104_router(listener)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            "sep2-server" => {
                idea_conformance::serve::sep2_server(listener, tls, enrol)?;
            }
            modbus_device if modbus => {
                idea_conformance::serve::modbus_device(listener, modbus_device, base, unit)
                    .map_err(|e| e.to_string())?;
            }
            other => return Err(format!("unknown device {other}")),
        }
        let _ = writeln!(
            std::io::stderr(),
            "idea: serving {kind} on {address}; Ctrl-C stops"
        );
        tokio::signal::ctrl_c().await.map_err(|e| e.to_string())
    })
}

/// Decodes a Modbus ADU given as hex into its JSON view; a request unless `response` (or unless it only
/// decodes as a response).
fn decode_modbus(hex: &str, rtu: bool, response: bool) -> Result<serde_json::Value, String> {
    use modbus_profiles::frame::view;
    let bytes = iec104::parse_hex(hex).map_err(|e| e.to_string())?;
    if response {
        return view::response_adu_json(&bytes, rtu).map_err(|e| e.to_string());
    }
    view::request_adu_json(&bytes, rtu).or_else(|request_error| {
        view::response_adu_json(&bytes, rtu).map_err(|response_error| {
            format!("not a request ({request_error}) nor a response ({response_error})")
        })
    })
}

/// The bytes of `file`, or of standard input for `-`.
fn read_input(file: &str) -> Result<Vec<u8>, String> {
    if file == "-" {
        let mut buffer = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buffer)
            .map_err(|e| format!("standard input: {e}"))?;
        Ok(buffer)
    } else {
        std::fs::read(file).map_err(|e| format!("{file}: {e}"))
    }
}

fn run(cli: Cli) -> Result<String, String> {
    match cli.command {
        Command::Serve { .. } => Err("serve runs in main".into()),
        Command::Sunspec(SunspecCommand::Scan {
            target,
            serial,
            line,
            unit,
            json,
        }) => scan(&target, serial.then(|| line.line(&target)), unit, json),
        Command::Ledger(LedgerCommand::Verify {
            file,
            deployment,
            registrar,
            registrar_key,
            genesis,
            json,
        }) => verify_ledger(
            &file,
            &deployment,
            &registrar,
            &registrar_key,
            &genesis,
            json,
        ),
        Command::Requirements { json, area } => {
            let catalogue = Catalogue::builtin();
            let selected = match &area {
                Some(area) if !catalogue.has_area(area) => {
                    let known: Vec<&str> = catalogue.areas.iter().map(|a| a.id.as_str()).collect();
                    return Err(format!(
                        "unknown area {area:?}; known areas: {}",
                        known.join(", ")
                    ));
                }
                Some(area) => catalogue.in_area(area),
                None => catalogue.all(),
            };
            if json {
                Ok(render::json(&selected) + "\n")
            } else {
                Ok(render::table(&selected, 100))
            }
        }
        Command::Decode(DecodeCommand::Sep2 { file, json, xml }) => {
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
        Command::Decode(DecodeCommand::Fipa { file, json, to }) => {
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
        Command::Decode(DecodeCommand::Modbus {
            hex,
            rtu,
            response,
            json,
        }) => {
            let value = decode_modbus(&hex, rtu, response)?;
            if json {
                pretty(&value)
            } else {
                Ok(modbus_profiles::frame::view::to_text(&value))
            }
        }
        Command::Decode(DecodeCommand::Iec104 {
            hex,
            json,
            cot_size,
            ca_size,
            ioa_size,
        }) => {
            let params = iec104::AsduParams {
                cot_size,
                ca_size,
                ioa_size,
            };
            let bytes = iec104::parse_hex(&hex).map_err(|e| e.to_string())?;
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
        Command::Ng(NgCommand::Pf {
            case,
            json,
            method,
            tolerance_mva,
            max_iterations,
        }) => {
            let text =
                std::fs::read_to_string(&case).map_err(|e| format!("{}: {e}", case.display()))?;
            let parsed = ng_control::Case::from_matpower(&text)
                .map_err(|e| format!("{}: {e}", case.display()))?;
            let options = ng_control::powerflow::Options {
                method,
                tolerance_mva,
                max_iterations,
            };
            let result = ng_control::powerflow::solve(&parsed, &options)
                .map_err(|e| format!("{}: {e}", case.display()))?;
            if json {
                pretty(&result)
            } else {
                Ok(render::power_flow(&result))
            }
        }
    }
}
