//! `idea`: the IDEA SDK command line. It parses arguments and calls library functions that tests call too.

use clap::{Parser, Subcommand};
use idea_conformance::{Catalogue, render};
use std::io::Write;
use std::process::ExitCode;

/// The IDEA SDK command line: the requirement catalogue, decoders, reference devices, device clients, the
/// TE ledger and Neural Grid algorithms.
#[derive(Debug, Parser)]
#[command(
    name = "idea",
    version,
    propagate_version = true,
    after_help = "Exit codes: 0 success; 1 a check or verdict failed (a refused command, a ledger that does \
                  not verify); 2 usage or input error (including an option the device kind does not \
                  implement); 3 a peer or device did not answer (or refused the connection or the TLS \
                  handshake)."
)]
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
        /// Modbus devices: the register address of the SunSpec map ("SunS") [default: 40000].
        #[arg(long)]
        base: Option<u16>,
        /// Modbus devices: the unit id answered [default: 1].
        #[arg(long)]
        unit: Option<u8>,
        /// iec104-router, sep2-server: the server's certificate chain (PEM); with --key and --client-ca it
        /// serves mutual TLS only (IEC 62351-3 for IEC 104) and refuses plain connections; without them plain
        /// TCP / HTTP with no authentication (local testing only). Other kinds refuse it.
        #[arg(long, requires_all = ["key", "client_ca"])]
        cert: Option<std::path::PathBuf>,
        /// iec104-router, sep2-server: the server's private key (PEM).
        #[arg(long, requires = "cert")]
        key: Option<std::path::PathBuf>,
        /// iec104-router, sep2-server: the CA certifying the clients (PEM); a client without a certificate
        /// from it is refused during the handshake, and the refusal is logged.
        #[arg(long, requires = "cert")]
        client_ca: Option<std::path::PathBuf>,
        /// sep2-server: a device allowed to register, as LFDI=PIN (repeatable).
        #[arg(long, value_parser = parse_enrolment)]
        enrol: Vec<(ieee2030_5::primitives::HexBinary160, u32)>,
        /// Log each connection and completed handshake, not only refusals and failures.
        #[arg(long, short)]
        verbose: bool,
    },
    /// Poke an IEC 60870-5-104 controlled station by hand: interrogate it or send it a command, over TCP or
    /// mutual TLS.
    #[command(subcommand)]
    Iec104(Iec104Command),
    /// SunSpec devices over Modbus TCP.
    #[command(subcommand)]
    Sunspec(SunspecCommand),
    /// The Transactive Energy ledger.
    #[command(subcommand)]
    Ledger(LedgerCommand),
}

#[derive(Debug, Subcommand)]
enum Iec104Command {
    /// Station (QOI 20) or group interrogation: connect, STARTDT, C_IC_NA_1, print every object reported.
    Interrogate {
        #[command(flatten)]
        station: StationArgs,
        /// Qualifier of interrogation: 20 the station, 21–36 groups 1–16.
        #[arg(long, default_value_t = 20)]
        qoi: u8,
        /// Print JSON: an array of ASDUs {"type_id", "type", "cot", "negative", "common_address",
        /// "objects": [{"ioa", "value", "quality", "time"}], …}.
        #[arg(long)]
        json: bool,
    },
    /// Send one command (activation) and report its confirmation and termination. Exits 1 when the station
    /// confirms negatively.
    Command {
        #[command(flatten)]
        station: StationArgs,
        /// Information object address.
        #[arg(long)]
        ioa: u32,
        /// The command type by name or number: C_SC_NA_1, C_DC_NA_1, C_RC_NA_1, C_SE_NA_1, C_SE_NB_1, C_SE_NC_1,
        /// C_BO_NA_1, or their time-tagged forms (…_TA_1, C_SE_TB_1, C_SE_TC_1; tagged with the time now).
        #[arg(long = "type", value_parser = parse_command_type)]
        type_id: u8,
        /// The value: single command 0/1, double command 1 (off) / 2 (on), step 1 (lower) / 2 (higher),
        /// normalised set-point −1…1, scaled set-point an integer, float set-point a number, bit string an
        /// unsigned integer.
        #[arg(long, allow_hyphen_values = true)]
        value: f64,
        /// Select instead of execute (select-before-operate: send again without --select to execute).
        #[arg(long)]
        select: bool,
        /// QU of a single/double/step command (0–31) or QL of a set-point (0–127).
        #[arg(long, default_value_t = 0)]
        qualifier: u8,
        /// Print JSON: {"confirmed", "terminated", "answers": [ASDU, …]}.
        #[arg(long)]
        json: bool,
    },
}

/// How to reach a controlled station.
#[derive(Debug, clap::Args)]
struct StationArgs {
    /// The station, HOST:PORT (e.g. localhost:2404).
    address: String,
    /// Common address of the ASDU.
    #[arg(long, default_value_t = 1)]
    common_address: u16,
    /// Seconds to wait for the connection and then for each answer.
    #[arg(long, default_value_t = 5.0)]
    timeout: f64,
    /// Our certificate chain (PEM): with --key and --server-ca, connect over mutual TLS (IEC 62351-3).
    #[arg(long, requires_all = ["key", "server_ca"])]
    cert: Option<std::path::PathBuf>,
    /// Our private key (PEM).
    #[arg(long, requires = "cert")]
    key: Option<std::path::PathBuf>,
    /// The CA certifying the station (PEM).
    #[arg(long, requires = "cert")]
    server_ca: Option<std::path::PathBuf>,
    /// The name the station's certificate must carry in its subject alternative names [default: the host
    /// of the address].
    #[arg(long, requires = "cert")]
    server_name: Option<String>,
}

impl StationArgs {
    fn target(&self) -> Result<idea_conformance::iec104_client::Target, Failure> {
        use idea_conformance::iec104_client::{ClientTlsFiles, Target};
        let timeout = std::time::Duration::try_from_secs_f64(self.timeout)
            .ok()
            .filter(|t| !t.is_zero())
            .ok_or_else(|| {
                Failure::Usage(format!(
                    "--timeout {}: a positive number of seconds",
                    self.timeout
                ))
            })?;
        let tls = match (&self.cert, &self.key, &self.server_ca) {
            (Some(cert), Some(key), Some(server_ca)) => Some(ClientTlsFiles {
                cert: cert.clone(),
                key: key.clone(),
                server_ca: server_ca.clone(),
                server_name: self.server_name.clone(),
            }),
            _ => None,
        };
        Ok(Target {
            address: self.address.clone(),
            tls,
            timeout,
        })
    }
}

/// A command type by name (`C_SE_NC_1`) or number (50).
fn parse_command_type(text: &str) -> Result<u8, String> {
    let info = match text.parse::<u8>() {
        Ok(id) => iec104::type_info(id),
        Err(_) => iec104::type_by_name(&text.to_ascii_uppercase()),
    };
    info.filter(|t| (45..=51).contains(&t.id) || (58..=64).contains(&t.id))
        .map(|t| t.id)
        .ok_or_else(|| {
            format!("{text:?} is not a command type (C_SC_NA_1 … C_BO_NA_1, 45–51, 58–64)")
        })
}

#[derive(Debug, Subcommand)]
enum LedgerCommand {
    /// Walk a ledger (SQLite file, opened read-only): every link and hash, every key recorded once, time
    /// order, every entry of a known kind, every signature against the registry rebuilt from the registrar's
    /// key, every checkpoint the registrar signed, and the anchor (--head or --checkpoint) when given.
    /// Exits 1 at the first fault or for a file that is not a ledger, 2 for bad arguments.
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
        /// The head the chain must hold, SEQ:HASH (as an earlier verification printed it): finds entries
        /// removed from the end or rewritten.
        #[arg(long, conflicts_with = "checkpoint")]
        head: Option<String>,
        /// The operator's latest signed checkpoint, kept outside the ledger (a file of its bytes).
        #[arg(long)]
        checkpoint: Option<std::path::PathBuf>,
        /// Print JSON (entries, signatures, head, checkpoints, last_checkpoint, unanchored) instead of text.
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

/// Why a command did not succeed, and so its exit code: 1 a check or verdict failed, 2 usage or input, 3 a peer
/// or device did not answer.
#[derive(Debug)]
enum Failure {
    /// A check or verdict failed (exit 1).
    Check(String),
    /// Bad usage or input (exit 2).
    Usage(String),
    /// A peer or device did not answer (exit 3).
    NoAnswer(String),
}

impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure::Usage(message)
    }
}

impl From<idea_conformance::iec104_client::ClientFailure> for Failure {
    fn from(failure: idea_conformance::iec104_client::ClientFailure) -> Failure {
        use idea_conformance::iec104_client::ClientFailure;
        match failure {
            ClientFailure::NoAnswer(why) => Failure::NoAnswer(why),
            other => Failure::Usage(other.to_string()),
        }
    }
}

impl Failure {
    fn exit(self) -> ExitCode {
        let (code, message) = match self {
            Failure::Check(m) => (1, m),
            Failure::Usage(m) => (2, m),
            Failure::NoAnswer(m) => (3, m),
        };
        let _ = writeln!(std::io::stderr(), "idea: {message}");
        ExitCode::from(code)
    }
}

/// Log records of the libraries (refused handshakes, failed accepts, connections with `--verbose`) as lines on
/// standard error.
struct StderrLog;

impl log::Log for StderrLog {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            let level = record.level().as_str().to_ascii_lowercase();
            let _ = writeln!(std::io::stderr(), "idea: {level}: {}", record.args());
        }
    }

    fn flush(&self) {}
}

static LOG: StderrLog = StderrLog;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let verbose = matches!(&cli.command, Command::Serve { verbose: true, .. });
    if log::set_logger(&LOG).is_ok() {
        log::set_max_level(if verbose {
            log::LevelFilter::Info
        } else {
            log::LevelFilter::Warn
        });
    }
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
        verbose: _,
    } = &cli.command
    {
        let tls = match (cert, key, client_ca) {
            (Some(cert), Some(key), Some(client_ca)) => Some(idea_conformance::serve::ServerTls {
                cert: cert.clone(),
                key: key.clone(),
                client_ca: client_ca.clone(),
            }),
            _ => None,
        };
        let options = ServeOptions {
            serial: serial.is_some(),
            line: line.is_set(),
            base: base.is_some(),
            unit: unit.is_some(),
            tls: tls.is_some(),
            enrol: !enrol.is_empty(),
        };
        if let Err(message) = options.check(kind) {
            return Failure::Usage(message).exit();
        }
        let endpoint = match (listen, serial) {
            (_, Some(path)) => Endpoint::Serial(line.line(path)),
            (Some(address), None) => Endpoint::Tcp(*address),
            (None, None) => {
                return Failure::Usage("--listen or --serial is needed".into()).exit();
            }
        };
        let modbus = ModbusAt {
            base: base.unwrap_or(40000),
            unit: unit.unwrap_or(1),
        };
        return match serve(kind, &endpoint, modbus, tls.as_ref(), enrol) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => Failure::Usage(message).exit(),
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
        Err(failure) => failure.exit(),
    }
}

/// Which of `idea serve`'s kind-specific options were given.
struct ServeOptions {
    serial: bool,
    line: bool,
    base: bool,
    unit: bool,
    tls: bool,
    enrol: bool,
}

impl ServeOptions {
    /// Refuses every option `kind` does not implement: an option silently ignored is a lie to the operator.
    fn check(&self, kind: &str) -> Result<(), String> {
        let modbus = modbus_profiles::simulator::SHIPPED
            .iter()
            .any(|(name, _)| *name == kind);
        if !self.serial && self.line {
            // clap drops `requires` when a conflicting argument (--listen) is given: checked here.
            return Err(
                "--baud, --parity and --stop-bits set a serial line: they need --serial".into(),
            );
        }
        let refused = |options: &str, who: &str| {
            Err(format!(
                "{kind} does not take {options}: it applies to {who} only"
            ))
        };
        if !modbus && (self.serial || self.line) {
            return refused("--serial", "Modbus devices");
        }
        if !modbus && (self.base || self.unit) {
            return refused("--base or --unit", "Modbus devices");
        }
        if self.tls && !matches!(kind, "iec104-router" | "sep2-server") {
            return refused(
                "--cert, --key or --client-ca (it does not implement TLS)",
                "iec104-router and sep2-server",
            );
        }
        if self.enrol && kind != "sep2-server" {
            return refused("--enrol", "sep2-server");
        }
        Ok(())
    }
}

/// Where a Modbus device's SunSpec map sits and which unit it answers as.
#[derive(Debug, Clone, Copy)]
struct ModbusAt {
    base: u16,
    unit: u8,
}

/// `idea ledger verify`: prints the report.
fn verify_ledger(
    check: &idea_conformance::ledger_check::LedgerCheck,
    json: bool,
) -> Result<String, Failure> {
    use idea_conformance::ledger_check::{LedgerCheckFailure, verify_ledger_file};
    let report = verify_ledger_file(check).map_err(|e| match e {
        LedgerCheckFailure::Failed(why) => Failure::Check(why),
        other => Failure::Usage(other.to_string()),
    })?;
    let head = |h: Option<te_contract::ledger::ChainHead>| {
        h.map(|h| format!("{}:{}", h.seq, idea_proto::hex::encode(&h.hash)))
    };
    let anchored = check.head.is_some() || check.checkpoint.is_some();
    if json {
        return Ok(pretty(&serde_json::json!({
            "entries": report.entries,
            "signatures": report.signatures,
            "head": head(report.head),
            "checkpoints": report.checkpoints,
            "last_checkpoint": head(report.last_checkpoint),
            "unanchored": report.unanchored,
            "anchored": anchored,
        }))?);
    }
    let file = check.file.display();
    let Some(h) = head(report.head) else {
        return Ok(format!("{file}: empty ledger\n"));
    };
    let mut out = format!(
        "{file}: {} entries and {} signatures verified; head {h}\n",
        report.entries, report.signatures
    );
    match head(report.last_checkpoint) {
        Some(c) => out.push_str(&format!(
            "{} checkpoints by the operator, the last over entry {c}; {} entries after it\n",
            report.checkpoints, report.unanchored
        )),
        None => out.push_str("no checkpoint by the operator in the chain\n"),
    }
    if !anchored {
        out.push_str(
            "not anchored: entries removed from the end, or rewritten after the last checkpoint, cannot be \
             told without --head or --checkpoint\n",
        );
    }
    Ok(out)
}

/// Runs `work`, showing `label` and the time elapsed on standard error while it runs — only when standard
/// error is a terminal and the work takes more than half a second; piped output stays clean.
fn with_progress<T: Send>(label: &str, work: impl FnOnce() -> T + Send) -> T {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return work();
    }
    let started = std::time::Instant::now();
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        let shown = scope.spawn(|| {
            let mut shown = false;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_millis(100));
                let elapsed = started.elapsed();
                if elapsed.as_millis() >= 500 && !done.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = write!(
                        std::io::stderr(),
                        "\r{label}: {:.1} s",
                        elapsed.as_secs_f64()
                    );
                    shown = true;
                }
            }
            shown
        });
        let result = work();
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        if shown.join().unwrap_or(false) {
            // Clear the progress line.
            let _ = write!(
                std::io::stderr(),
                "\r{}\r",
                " ".repeat(label.len().saturating_add(16))
            );
        }
        result
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
    ModbusAt { base, unit }: ModbusAt,
    tls: Option<&idea_conformance::serve::ServerTls>,
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
        let how = match kind {
            "iec104-router" => {
                idea_conformance::serve::iec104_router(listener, tls)
                    .await
                    .map_err(|e| e.to_string())?;
                match tls {
                    Some(files) => format!(
                        "IEC 104 over mutual TLS (IEC 62351-3; TLS 1.2 and 1.3; clients certified by {})",
                        files.client_ca.display()
                    ),
                    None => "IEC 104 over plain TCP: no authentication, no encryption".to_owned(),
                }
            }
            "sep2-server" => {
                idea_conformance::serve::sep2_server(listener, tls, enrol)?;
                match tls {
                    Some(files) => format!(
                        "IEEE 2030.5 over HTTPS with mutual TLS (clients certified by {})",
                        files.client_ca.display()
                    ),
                    None => "IEEE 2030.5 over plain HTTP: every client is the operator".to_owned(),
                }
            }
            modbus_device if modbus => {
                idea_conformance::serve::modbus_device(listener, modbus_device, base, unit)
                    .map_err(|e| e.to_string())?;
                format!("Modbus TCP, unit {unit}, SunSpec map at {base}")
            }
            other => return Err(format!("unknown device {other}")),
        };
        let _ = writeln!(
            std::io::stderr(),
            "idea: serving {kind} on {address} ({how}); Ctrl-C stops"
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

fn run(cli: Cli) -> Result<String, Failure> {
    match cli.command {
        Command::Iec104(command) => iec104(command),
        Command::Ledger(LedgerCommand::Verify {
            file,
            deployment,
            registrar,
            registrar_key,
            genesis,
            head,
            checkpoint,
            json,
        }) => verify_ledger(
            &idea_conformance::ledger_check::LedgerCheck {
                file,
                deployment,
                registrar,
                registrar_key,
                genesis,
                head,
                checkpoint,
            },
            json,
        ),
        other => run_text(other).map_err(Failure::Usage),
    }
}

/// `idea iec104 interrogate|command`.
fn iec104(command: Iec104Command) -> Result<String, Failure> {
    use idea_conformance::iec104_client;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    match command {
        Iec104Command::Interrogate { station, qoi, json } => {
            let target = station.target()?;
            let data = runtime.block_on(iec104_client::interrogate(
                &target,
                station.common_address,
                qoi,
            ))?;
            if json {
                let asdus: Vec<_> = data.iter().map(iec104::view::asdu_json).collect();
                Ok(pretty(&asdus)?)
            } else if data.is_empty() {
                Ok(format!("{}: no objects reported\n", station.address))
            } else {
                Ok(iec104::view::points_text(&data))
            }
        }
        Iec104Command::Command {
            station,
            ioa,
            type_id,
            value,
            select,
            qualifier,
            json,
        } => {
            let target = station.target()?;
            let tagged = (58..=64).contains(&type_id);
            let time = if tagged {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_err(|e| e.to_string())?;
                let ms = i64::try_from(now.as_millis()).map_err(|e| e.to_string())?;
                let stamp = idea_proto::Timestamp::from_unix_ms(ms).map_err(|e| e.to_string())?;
                Some(
                    iec104::Cp56Time2a::from_timestamp(stamp)
                        .ok_or_else(|| "the clock is outside CP56Time2a".to_owned())?,
                )
            } else {
                None
            };
            let command = iec104::Command {
                type_id,
                common_address: station.common_address,
                ioa,
                value,
                select,
                qualifier,
                time,
            };
            let outcome = runtime.block_on(iec104_client::command(&target, &command))?;
            let verdict = match (outcome.confirmed, outcome.terminated) {
                (true, true) => "confirmed and terminated",
                (true, false) => "confirmed",
                (false, _) => "refused (negative confirmation)",
            };
            let text = if json {
                let answers: Vec<_> = outcome
                    .answers
                    .iter()
                    .map(iec104::view::asdu_json)
                    .collect();
                pretty(&serde_json::json!({
                    "confirmed": outcome.confirmed,
                    "terminated": outcome.terminated,
                    "answers": answers,
                }))?
            } else {
                format!("{}: IOA {ioa}: {verdict}\n", station.address)
            };
            if outcome.confirmed {
                Ok(text)
            } else {
                // The answer is still printed: a refusal is the station's verdict, shown in full.
                let mut stdout = std::io::stdout().lock();
                let _ = stdout.write_all(text.as_bytes());
                Err(Failure::Check(format!(
                    "{}: IOA {ioa}: the station refused the command",
                    station.address
                )))
            }
        }
    }
}

fn run_text(command: Command) -> Result<String, String> {
    match command {
        Command::Serve { .. } | Command::Iec104(_) | Command::Ledger(_) => {
            Err("handled in main".into())
        }
        Command::Sunspec(SunspecCommand::Scan {
            target,
            serial,
            line,
            unit,
            json,
        }) => scan(&target, serial.then(|| line.line(&target)), unit, json),
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
            let label = format!("solving {} ({} buses)", case.display(), parsed.buses.len());
            let result = with_progress(&label, || ng_control::powerflow::solve(&parsed, &options))
                .map_err(|e| format!("{}: {e}", case.display()))?;
            if json {
                pretty(&result)
            } else {
                Ok(render::power_flow(&result))
            }
        }
    }
}
