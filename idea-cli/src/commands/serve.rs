//! `idea serve`: a simulated device on a real socket (or serial line) until interrupted.

use crate::failure::Failure;
use crate::serial_line::LineArgs;
use idea_sim::devices::ModbusAt;
use std::io::Write;

/// `idea serve`'s arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// What to run: iec104-router (the IDEA energy router's IEC 104 profile), iec104-meter (a smart meter:
    /// measured values and integrated totals), mqtt-devices (an MQTT broker on --listen carrying every meter's
    /// and relay's state, and relay commands, IOT-05) or a Modbus/SunSpec device —
    /// modbus-router, modbus-hub, modbus-port, modbus-rectiverter, modbus-meter, modbus-relay, modbus-der —
    /// each an element of a simulated microgrid (--topology) whose points read and command the model; or
    /// sep2-server (an IEEE 2030.5 DER server with one program, its default control and an event a minute
    /// after start). Services: mqtt-broker (an MQTT 3.1.1 broker on --listen), directory (the agents'
    /// directory, plug & play), te-node (avatars, contracts, meter-to-cash, clearing, the ledger), market
    /// (the P2P double auction), arbitrator (answers a section's cells before they commit, from --section),
    /// agent (a power cell's agent from --settings, which registers with --directory and trades; its event
    /// log as JSON lines on standard output), load-shedding (opens a cell's relays on its agent's
    /// request, over MQTT) and meter-gateway (registers an enrolled meter at the TE node, submits its signed
    /// readings and signs back the delivery tokens), all on --broker.
    #[arg(value_parser = serve_kinds())]
    pub(crate) kind: String,
    /// Address to listen on, HOST:PORT with a host name or an IP address: localhost:1502, 127.0.0.1:2404.
    #[arg(
        long,
        required_unless_present_any = ["serial", "list_faults", "broker"],
        conflicts_with = "serial",
        value_parser = crate::address::socket_address
    )]
    pub(crate) listen: Option<std::net::SocketAddr>,
    /// Modbus devices: serve Modbus RTU on this serial port instead of Modbus TCP (/dev/ttyUSB0, COM3).
    #[arg(long, value_name = "PORT")]
    pub(crate) serial: Option<String>,
    #[command(flatten)]
    pub(crate) line: LineArgs,
    /// Modbus devices: the register address of the SunSpec map ("SunS") [default: 40000].
    #[arg(long)]
    pub(crate) base: Option<u16>,
    /// Modbus devices: the unit id answered [default: 1].
    #[arg(long)]
    pub(crate) unit: Option<u8>,
    /// iec104-router, iec104-meter, sep2-server: the server's certificate chain (PEM); with --key and --client-ca it
    /// serves mutual TLS only (IEC 62351-3 for IEC 104) and refuses plain connections; without them plain
    /// TCP / HTTP with no authentication (local testing only). Other kinds refuse it.
    #[arg(long, requires_all = ["key", "client_ca"])]
    pub(crate) cert: Option<std::path::PathBuf>,
    /// iec104-router, iec104-meter, sep2-server: the server's private key (PEM).
    #[arg(long, requires = "cert")]
    pub(crate) key: Option<std::path::PathBuf>,
    /// iec104-router, iec104-meter, sep2-server: the CA certifying the clients (PEM); a client without a certificate
    /// from it is refused during the handshake, and the refusal is logged.
    #[arg(long, requires = "cert")]
    pub(crate) client_ca: Option<std::path::PathBuf>,
    /// sep2-server: a device allowed to register, as LFDI=PIN (repeatable).
    #[arg(long, value_parser = parse_enrolment)]
    pub(crate) enrol: Vec<(ieee2030_5::primitives::HexBinary160, u32)>,
    /// sep2-server: in-band registration (CSIP-AUS) — a client certified by the CA and not enrolled
    /// registers itself with POST /edev (at most 10,000 do).
    #[arg(long)]
    pub(crate) in_band: bool,
    /// sep2-server: an aggregator's certificate, as its LFDI (repeatable): it registers and acts for
    /// EndDevices of other LFDIs.
    #[arg(long, value_name = "LFDI", value_parser = parse_lfdi)]
    pub(crate) aggregator: Vec<ieee2030_5::primitives::HexBinary160>,
    /// sep2-server: start with no FunctionSetAssignments, program, default control or event — the operator
    /// creates them through --operator-api.
    #[arg(long)]
    pub(crate) empty: bool,
    /// Devices: the microgrid they are part of, a topology file (TOML) or a built-in one by name:
    /// demo-microgrid (the demonstration complex, the default) or router-bench (an energy router whose two
    /// microgrid ports follow their setpoints, for certifying NG-R2 and NG-R4 under load).
    #[arg(long, value_name = "FILE|NAME")]
    pub(crate) topology: Option<std::path::PathBuf>,
    /// Devices: the model element the device is (a router, hub, converter, meter, relay or DER name of the
    /// topology) [default: the kind's element in demo-microgrid: router, cell1.hub, cell1.port,
    /// cell3.rectiverter, cell1.meter, cell4.workshop.relay, cell3.der].
    #[arg(long, value_name = "NAME")]
    pub(crate) element: Option<String>,
    /// Devices: the seed the simulation draws its clouds from [default: 1].
    #[arg(long)]
    pub(crate) seed: Option<u64>,
    /// Devices: how many times faster than real time the simulation runs [default: 1].
    #[arg(long)]
    pub(crate) speed: Option<f64>,
    /// Devices: where the simulated calendar starts, RFC 3339 (the sun, the load curves and the clouds follow
    /// it) [default: now]. A fixed start makes a device's behaviour the same at any hour of the day.
    #[arg(long, value_name = "RFC3339", value_parser = parse_start)]
    pub(crate) start: Option<idea_proto::Timestamp>,
    /// A fault the device shows, NAME or NAME@SECONDS (after that many seconds); repeatable. See
    /// --list-faults.
    #[arg(long, value_name = "NAME[@SECONDS]")]
    pub(crate) fault: Vec<idea_sim::fault::FaultPlan>,
    /// Prints the faults the kind can show and exits.
    #[arg(long)]
    pub(crate) list_faults: bool,
    /// Log each connection and completed handshake, not only refusals and failures.
    #[arg(long, short)]
    pub(crate) verbose: bool,
    #[command(flatten)]
    pub(crate) station: StationTimers,
    #[command(flatten)]
    pub(crate) service: crate::commands::serve_service::ServiceArgs,
}

/// The IEC 104 devices' link timers and select timeout (IEC 60870-5-104 clause 5.5 and 9.6; IEC 60870-5-101
/// clause 7.4.2): a lab sets short ones to keep a conformance run short.
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct StationTimers {
    /// IEC 104 devices: t1, seconds (1–255; default 15): a sent frame unconfirmed this long closes the
    /// connection.
    #[arg(long, value_name = "SECONDS")]
    pub(crate) t1: Option<f64>,
    /// IEC 104 devices: t2, seconds (below t1; default 10): received I frames are acknowledged within this.
    #[arg(long, value_name = "SECONDS")]
    pub(crate) t2: Option<f64>,
    /// IEC 104 devices: t3, seconds (default 20): an idle connection is tested after this.
    #[arg(long, value_name = "SECONDS")]
    pub(crate) t3: Option<f64>,
    /// IEC 104 devices: how long a selection (select-before-operate) stays valid, seconds (default 10).
    #[arg(long, value_name = "SECONDS")]
    pub(crate) select_timeout: Option<f64>,
}

impl StationTimers {
    fn any(&self) -> bool {
        self.t1.is_some() || self.t2.is_some() || self.t3.is_some() || self.select_timeout.is_some()
    }

    /// The station set-up: these timers over the standard's defaults, checked by the link's rules.
    fn station(
        &self,
        tls: Option<&idea_sim::devices::ServerTls>,
    ) -> Result<idea_sim::devices::Iec104Station, String> {
        let seconds = |flag: &str, v: f64| {
            std::time::Duration::try_from_secs_f64(v)
                .ok()
                .filter(|d| !d.is_zero())
                .ok_or_else(|| format!("--{flag} {v}: a positive number of seconds"))
        };
        let mut link = iec104::link::LinkParams::default();
        if let Some(v) = self.t1 {
            link.t1 = seconds("t1", v)?;
        }
        if let Some(v) = self.t2 {
            link.t2 = seconds("t2", v)?;
        }
        if let Some(v) = self.t3 {
            link.t3 = seconds("t3", v)?;
        }
        link.validate().map_err(|e| e.to_string())?;
        Ok(idea_sim::devices::Iec104Station {
            tls: tls.cloned(),
            link,
            select_timeout: self
                .select_timeout
                .map(|v| seconds("select-timeout", v))
                .transpose()?,
            on_demand: None,
        })
    }
}

/// What `idea serve` runs: the IEC 104 router and every shipped Modbus device profile.
pub(crate) fn serve_kinds() -> clap::builder::PossibleValuesParser {
    let modbus = modbus_profiles::simulator::SHIPPED
        .iter()
        .map(|(name, _)| *name);
    clap::builder::PossibleValuesParser::new(
        [
            "iec104-router",
            "iec104-meter",
            "mqtt-devices",
            "sep2-server",
        ]
        .into_iter()
        .chain(crate::commands::serve_service::KINDS)
        .chain(modbus),
    )
}

/// `--start`: an RFC 3339 instant.
pub(crate) fn parse_start(text: &str) -> Result<idea_proto::Timestamp, String> {
    text.parse().map_err(|e: idea_proto::Error| e.to_string())
}

/// An LFDI: 40 hex digits.
pub(crate) fn parse_lfdi(text: &str) -> Result<ieee2030_5::primitives::HexBinary160, String> {
    ieee2030_5::primitives::HexBinary160::parse(text).map_err(|e| e.to_string())
}

/// `LFDI=PIN`: 40 hex digits and a decimal PIN.
pub(crate) fn parse_enrolment(
    text: &str,
) -> Result<(ieee2030_5::primitives::HexBinary160, u32), String> {
    let (lfdi, pin) = text.split_once('=').ok_or("expected LFDI=PIN")?;
    let lfdi = ieee2030_5::primitives::HexBinary160::parse(lfdi).map_err(|e| e.to_string())?;
    Ok((lfdi, pin.parse().map_err(|e| format!("PIN: {e}"))?))
}

/// Which of `idea serve`'s kind-specific options were given.
pub(crate) struct ServeOptions {
    serial: bool,
    line: bool,
    base: bool,
    unit: bool,
    tls: bool,
    enrol: bool,
    model: bool,
    stale: bool,
    /// The first IEC 104 protocol fault planned, if any.
    iec104_fault: Option<&'static str>,
    /// IEC 104 timers or the select timeout were given.
    iec104_timers: bool,
    /// The first energy-router fault planned, if any.
    router_fault: Option<&'static str>,
    /// The first Modbus/SunSpec device fault planned, if any.
    modbus_fault: Option<&'static str>,
    /// The first Modbus fault planned that rewrites frames, if any.
    modbus_frame_fault: Option<&'static str>,
}

/// The faults `kind` can show: `silent` and `stale` for devices on the model, with the IEC 104 protocol
/// faults for the IEC 104 devices and the Modbus ones for the Modbus/SunSpec devices; only `silent` for the
/// 2030.5 server, which holds no measurements to freeze.
pub(crate) fn faults_of(kind: &str) -> Vec<idea_sim::fault::Fault> {
    use idea_sim::fault::Fault;
    let modbus = modbus_profiles::simulator::SHIPPED
        .iter()
        .any(|(name, _)| *name == kind);
    match kind {
        "sep2-server" => vec![Fault::Silent],
        "iec104-router" => [Fault::COMMON.as_slice(), &Fault::IEC104, &Fault::ROUTER].concat(),
        "iec104-meter" => [Fault::COMMON.as_slice(), &Fault::IEC104].concat(),
        _ if modbus => [Fault::COMMON.as_slice(), &Fault::MODBUS].concat(),
        _ => Fault::COMMON.to_vec(),
    }
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
        if self.tls && !matches!(kind, "iec104-router" | "iec104-meter" | "sep2-server") {
            return refused(
                "--cert, --key or --client-ca (it does not implement TLS)",
                "iec104-router, iec104-meter and sep2-server",
            );
        }
        if self.iec104_timers && !matches!(kind, "iec104-router" | "iec104-meter") {
            return refused(
                "--t1, --t2, --t3 or --select-timeout",
                "iec104-router and iec104-meter",
            );
        }
        if self.enrol && kind != "sep2-server" {
            return refused("--enrol, --in-band, --aggregator or --empty", "sep2-server");
        }
        if self.model && kind == "sep2-server" {
            return refused(
                "--topology, --element, --seed, --speed or --start",
                "devices on the simulated microgrid",
            );
        }
        if self.stale && kind == "sep2-server" {
            return Err("sep2-server holds no measurements: the stale fault does not apply".into());
        }
        if let Some(fault) = self.modbus_fault
            && !modbus
        {
            return Err(format!(
                "--fault {fault} is a Modbus/SunSpec fault: it applies to the Modbus/SunSpec devices only"
            ));
        }
        if let Some(fault) = self.modbus_frame_fault
            && self.serial
        {
            return Err(format!(
                "--fault {fault} rewrites Modbus TCP frames: serve with --listen, not --serial"
            ));
        }
        if let Some(fault) = self.router_fault
            && kind != "iec104-router"
        {
            return Err(format!(
                "--fault {fault} is an energy-router fault: it applies to iec104-router only"
            ));
        }
        if let Some(fault) = self.iec104_fault {
            if !matches!(kind, "iec104-router" | "iec104-meter") {
                return Err(format!(
                    "--fault {fault} is an IEC 104 protocol fault: it applies to iec104-router and iec104-meter only"
                ));
            }
            if self.tls {
                return Err(format!(
                    "--fault {fault} rewrites IEC 104 frames, which TLS hides: serve over plain TCP"
                ));
            }
        }
        Ok(())
    }
}

/// Where `idea serve` serves.
pub(crate) enum Endpoint {
    /// A TCP socket.
    Tcp(std::net::SocketAddr),
    /// A serial line (Modbus RTU devices only).
    Serial(modbus_profiles::net::SerialLine),
}

/// The simulated microgrid a device is part of.
pub(crate) struct Plant {
    topology: idea_sim::grid::Topology,
    element: Option<String>,
    seed: u64,
    speed: f64,
    /// The simulated calendar's start; `None` starts it at the wall clock's now.
    start: Option<idea_proto::Timestamp>,
}

pub(crate) fn serve(
    kind: &str,
    endpoint: &Endpoint,
    at: ModbusAt,
    (tls, station): (
        Option<&idea_sim::devices::ServerTls>,
        &idea_sim::devices::Iec104Station,
    ),
    sep2: &Sep2Setup,
    plant: &Plant,
    plans: &[idea_sim::fault::FaultPlan],
) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let modbus = modbus_profiles::simulator::SHIPPED
        .iter()
        .any(|(name, _)| *name == kind);
    let ModbusAt { base, unit } = at;
    runtime.block_on(async {
        let mut fault_tasks = idea_sim::Tasks::default();
        let faults = idea_sim::fault::Faults::planned(plans, &mut fault_tasks);
        let start = match plant.start {
            Some(start) => start,
            None => crate::output::wall_clock()?,
        };
        let (grid, mut clock) = if kind == "sep2-server" {
            (None, idea_sim::Tasks::default())
        } else {
            let (grid, clock) =
                idea_sim::clock::plant(&plant.topology, plant.seed, start, plant.speed)
                    .map_err(|e| e.to_string())?;
            (Some(grid), clock)
        };
        let on_model = |grid: &Option<idea_sim::grid::SharedGrid>| {
            grid.clone().ok_or_else(|| format!("{kind} needs the simulated microgrid"))
        };
        let listen = match endpoint {
            Endpoint::Serial(line) if modbus => {
                let binding = idea_sim::physical::Binding::for_kind(kind, plant.element.as_deref())
                    .map_err(|e| e.to_string())?;
                let (_, mut tasks) = idea_sim::devices::modbus_model_device_serial(
                    line,
                    binding,
                    on_model(&grid)?,
                    at,
                    &faults,
                )
                .map_err(|e| e.to_string())?;
                let _ = writeln!(
                    std::io::stderr(),
                    "idea: serving {kind} (Modbus RTU, unit {unit}) on {line}; Ctrl-C stops"
                );
                return tokio::select! {
                    stop = tokio::signal::ctrl_c() => stop.map_err(|e| e.to_string()),
                    why = tasks.failed() => Err(format!("{}: {why}", line.path)),
                    why = clock.failed() => Err(why),
                    why = fault_tasks.failed() => Err(why),
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
        let (how, mut tasks) = match kind {
            "iec104-router" => {
                let router = plant.element.as_deref().unwrap_or("router");
                let tasks =
                    idea_sim::devices::iec104_router(listener, station, on_model(&grid)?, router, &faults)
                        .await
                        .map_err(|e| e.to_string())?;
                let how = match tls {
                    Some(files) => format!(
                        "IEC 104 over mutual TLS (IEC 62351-3; TLS 1.2 and 1.3; clients certified by {})",
                        files.client_ca.display()
                    ),
                    None => "IEC 104 over plain TCP: no authentication, no encryption".to_owned(),
                };
                (how, tasks)
            }
            "iec104-meter" => {
                let meter = plant.element.as_deref().unwrap_or("cell1.meter");
                let tasks =
                    idea_sim::devices::iec104_meter(listener, station, on_model(&grid)?, meter, &faults)
                        .await
                        .map_err(|e| e.to_string())?;
                let how = match tls {
                    Some(_) => format!("IEC 104 over mutual TLS; meter {meter}"),
                    None => format!("IEC 104 over plain TCP; meter {meter}"),
                };
                (how, tasks)
            }
            "mqtt-devices" => {
                // The embedded broker takes the address: free it, then start the broker on it.
                drop(listener);
                let broker = fipa_acl::mqtt::EmbeddedBroker::start_on(address)
                    .map_err(|e| format!("the MQTT broker on {address}: {e}"))?;
                let (meters, relays) = {
                    let shared = on_model(&grid)?;
                    let model = idea_sim::grid::lock(&shared);
                    (
                        model.meters.iter().map(|m| m.name.clone()).collect::<Vec<_>>(),
                        model.relays.iter().map(|r| r.name.clone()).collect::<Vec<_>>(),
                    )
                };
                let devices = idea_sim::mqtt::MqttDevices {
                    broker: (broker.addr().ip().to_string(), broker.addr().port()),
                    prefix: "idea/devices".into(),
                    meters: meters.clone(),
                    relays: relays.clone(),
                    period: std::time::Duration::from_secs(1),
                };
                let mut tasks = idea_sim::Tasks::default();
                tasks.spawn(
                    "the MQTT devices",
                    idea_sim::mqtt::run(on_model(&grid)?, devices, faults.clone()),
                );
                let how = format!(
                    "MQTT 3.1.1 broker; {} meters and {} relays under idea/devices/NAME/state, relay commands on idea/devices/NAME/set",
                    meters.len(),
                    relays.len()
                );
                (how, tasks)
            }
            "sep2-server" => {
                let (shared, mut tasks) =
                    idea_sim::devices::sep2_server(listener, tls, &sep2.registration, &faults)
                        .await?;
                let mut how = match tls {
                    Some(files) => format!(
                        "IEEE 2030.5 over HTTPS with mutual TLS (clients certified by {})",
                        files.client_ca.display()
                    ),
                    None => "IEEE 2030.5 over plain HTTP: every client is the operator".to_owned(),
                };
                if let Some((listener, token, bound)) =
                    crate::commands::serve_service::interface_listener(
                        sep2.operator_api,
                        sep2.operator_token.as_deref(),
                        "--operator-api",
                    )
                    .await?
                {
                    tasks.spawn(
                        "the operator interface",
                        sep2_operator(listener, shared, token),
                    );
                    how.push_str(&format!("; operator interface on http://{bound}/"));
                }
                (how, tasks)
            }
            modbus_device if modbus => {
                let binding =
                    idea_sim::physical::Binding::for_kind(modbus_device, plant.element.as_deref())
                        .map_err(|e| e.to_string())?;
                let element = binding.element().to_owned();
                let (_, tasks) = idea_sim::devices::modbus_model_device(
                    listener,
                    binding,
                    on_model(&grid)?,
                    at,
                    &faults,
                )
                .await
                .map_err(|e| e.to_string())?;
                (
                    format!(
                        "Modbus TCP, unit {unit}, SunSpec map at {base}; element {element} of {}, {}× real time",
                        plant.topology.name, plant.speed
                    ),
                    tasks,
                )
            }
            other => return Err(format!("unknown device {other}")),
        };
        let _ = writeln!(
            std::io::stderr(),
            "idea: serving {kind} on {address} ({how}); Ctrl-C stops"
        );
        // Supervised: a serving task that ends is the device failing, and ends the command with why.
        tokio::select! {
            stop = tokio::signal::ctrl_c() => stop.map_err(|e| e.to_string()),
            why = tasks.failed() => Err(format!("{kind} on {address}: {why}")),
            why = clock.failed() => Err(format!("{kind} on {address}: {why}")),
            why = fault_tasks.failed() => Err(format!("{kind} on {address}: {why}")),
        }
    })
}

/// Serves what `args` asks for until Ctrl-C, refusing options the kind does not implement.
pub(crate) fn run(args: &ServeArgs) -> Result<(), Failure> {
    let ServeArgs {
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
        in_band,
        aggregator,
        empty,
        topology,
        element,
        seed,
        speed,
        start,
        fault,
        list_faults,
        verbose: _,
        station,
        service,
    } = args;
    if crate::commands::serve_service::KINDS.contains(&kind.as_str()) {
        let device_options = serial.is_some()
            || line.is_set()
            || base.is_some()
            || unit.is_some()
            || cert.is_some()
            || !enrol.is_empty()
            || *in_band
            || *empty
            || !aggregator.is_empty()
            || topology.is_some()
            || element.is_some()
            || seed.is_some()
            || speed.is_some()
            || start.is_some()
            || !fault.is_empty()
            || *list_faults
            || station.any();
        if device_options {
            return Err(Failure::Usage(format!(
                "{kind} is not a simulated device: it takes --listen (mqtt-broker) or --broker and the \
                 service options only"
            )));
        }
        return crate::commands::serve_service::run(kind, *listen, service).map_err(Failure::Usage);
    }
    // sep2-server takes the operator's interface of the service options, and nothing else of them.
    let operator = (kind == "sep2-server")
        .then(|| (service.operator_api, service.operator_token.clone()))
        .filter(|(api, _)| api.is_some());
    let rest = crate::commands::serve_service::ServiceArgs {
        operator_api: None,
        operator_token: None,
        ..service.clone()
    };
    if let Some((Some(address), None)) = &operator
        && !address.ip().is_loopback()
    {
        return Err(Failure::Usage(format!(
            "--operator-api {address} is not a loopback address: give --operator-token FILE"
        )));
    }
    if (kind == "sep2-server" && rest.any()) || (kind != "sep2-server" && service.any()) {
        return Err(Failure::Usage(format!(
            "{kind} is a simulated device: --broker, --name, --signing-key, --directory, --enrolled, \
             --settings, --stored-wh and --owner-api are for mqtt-broker, directory and agent"
        )));
    }
    if *list_faults {
        let mut out = std::io::stdout().lock();
        for f in faults_of(kind) {
            let _ = writeln!(out, "{:<30} {}", f.name(), f.describe());
        }
        return Ok(());
    }
    let tls = match (cert, key, client_ca) {
        (Some(cert), Some(key), Some(client_ca)) => Some(idea_sim::devices::ServerTls {
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
        enrol: !enrol.is_empty() || *in_band || *empty || !aggregator.is_empty(),
        model: topology.is_some()
            || element.is_some()
            || seed.is_some()
            || speed.is_some()
            || start.is_some(),
        stale: fault
            .iter()
            .any(|p| p.fault == idea_sim::fault::Fault::Stale),
        iec104_fault: fault
            .iter()
            .find(|p| p.fault.is_iec104())
            .map(|p| p.fault.name()),
        iec104_timers: station.any(),
        router_fault: fault
            .iter()
            .find(|p| idea_sim::fault::Fault::ROUTER.contains(&p.fault))
            .map(|p| p.fault.name()),
        modbus_fault: fault
            .iter()
            .find(|p| p.fault.is_modbus())
            .map(|p| p.fault.name()),
        modbus_frame_fault: fault
            .iter()
            .find(|p| p.fault.is_modbus() && p.fault.rewrites_frames())
            .map(|p| p.fault.name()),
    };
    options.check(kind).map_err(Failure::Usage)?;
    let endpoint = match (listen, serial) {
        (_, Some(path)) => Endpoint::Serial(line.line(path)),
        (Some(address), None) => Endpoint::Tcp(*address),
        (None, None) => return Err(Failure::Usage("--listen or --serial is needed".into())),
    };
    let modbus = ModbusAt {
        base: base.unwrap_or(40000),
        unit: unit.unwrap_or(1),
    };
    let topology = crate::commands::sim::topology(topology.as_deref()).map_err(Failure::Usage)?;
    let speed = speed.unwrap_or(1.0);
    if !(speed.is_finite() && speed > 0.0) {
        return Err(Failure::Usage(format!(
            "--speed {speed}: a positive factor"
        )));
    }
    let plant = Plant {
        topology,
        element: element.clone(),
        seed: seed.unwrap_or(1),
        speed,
        start: *start,
    };
    let sep2 = Sep2Setup {
        registration: idea_sim::devices::Sep2Registration {
            enrol: enrol.clone(),
            in_band: *in_band,
            aggregators: aggregator.clone(),
            empty: *empty,
        },
        operator_api: operator.as_ref().and_then(|(api, _)| *api),
        operator_token: operator.and_then(|(_, token)| token),
    };
    let station = station.station(tls.as_ref()).map_err(Failure::Usage)?;
    serve(
        kind,
        &endpoint,
        modbus,
        (tls.as_ref(), &station),
        &sep2,
        &plant,
        fault,
    )
    .map_err(Failure::Usage)
}

/// What `idea serve sep2-server` adds to a served device: who registers, and the operator's interface.
#[derive(Debug, Default)]
pub(crate) struct Sep2Setup {
    pub(crate) registration: idea_sim::devices::Sep2Registration,
    pub(crate) operator_api: Option<std::net::SocketAddr>,
    pub(crate) operator_token: Option<std::path::PathBuf>,
}

/// Serves the 2030.5 server's operator interface (`ieee2030_5::server::operator`) as HTTP/JSON behind the
/// bearer token, until the task is dropped.
async fn sep2_operator(
    listener: tokio::net::TcpListener,
    shared: ieee2030_5::net::SharedServer,
    token: Option<String>,
) -> Result<(), String> {
    let clock = ieee2030_5::net::system_clock();
    let routes: idea_agent::json_http::JsonRoutes = std::sync::Arc::new(move |request| {
        let shared = std::sync::Arc::clone(&shared);
        let clock = std::sync::Arc::clone(&clock);
        Box::pin(async move {
            let path = request
                .path
                .split('?')
                .next()
                .unwrap_or_default()
                .to_owned();
            let Ok(mut server) = shared.lock() else {
                return (
                    500,
                    serde_json::json!({ "error": "the server's state is poisoned" }),
                );
            };
            ieee2030_5::server::operator::answer(
                &mut server,
                &ieee2030_5::server::operator::OperatorRequest {
                    method: &request.method,
                    path: &path,
                    body: &request.body,
                },
                clock(),
            )
        })
    });
    idea_agent::json_http::serve_json(listener, routes, token, "sep2 operator interface").await;
    Ok(())
}
