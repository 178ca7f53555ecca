//! `idea serve mqtt-broker|directory|te-node|market|arbitrator|demand-response|agent|load-shedding`: the broker and the agents' side of
//! a deployment as processes.
//! The broker listens on `--listen`; the directory and agents connect to `--broker` and
//! speak signed FIPA-ACL over MQTT (`idea_agent`'s protocol, documented in its README).

use idea_agent::load_shedding::{LoadSheddingClient, LoadSheddingService};
use idea_agent::owner_http::{OwnerCell, serve_owner_api};
use idea_agent::runtime::{RunningAgent, RunningService, Sinks, system_clock};
use idea_agent::{
    Admission, Agent, AgentConfig, DirectoryConfig, DirectoryService, MarketParticipant,
    OwnerSettings, P2pBuyer, P2pSeller, Peer, PlugAndPlay,
};
use idea_proto::{PublicKey, SigningKey};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The kinds this module serves.
pub(crate) const KINDS: [&str; 9] = [
    "mqtt-broker",
    "directory",
    "te-node",
    "market",
    "arbitrator",
    "demand-response",
    "agent",
    "load-shedding",
    "meter-gateway",
];

/// The options of the broker, the directory, the market and agents.
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct ServiceArgs {
    /// directory, agent: the MQTT broker to connect to, HOST:PORT.
    #[arg(long, value_name = "HOST:PORT")]
    pub(crate) broker: Option<String>,
    /// directory, agent: the ACL name (by default df@idea, or CELL@idea for an agent).
    #[arg(long, value_name = "NAME")]
    pub(crate) name: Option<String>,
    /// directory, agent: a file holding the ed25519 signing key as 64 hex digits (its seed); the
    /// public key is printed at start.
    #[arg(long, value_name = "FILE")]
    pub(crate) signing_key: Option<PathBuf>,
    /// agent: the directory to register with, NAME=PUBLIC-KEY (64 hex digits).
    #[arg(long, value_name = "NAME=KEY", value_parser = parse_peer)]
    pub(crate) directory: Option<(String, PublicKey)>,
    /// directory, te-node: admit only the public keys listed in this file (64 hex digits per line); without
    /// it any agent that proves its key registers (plug & play).
    #[arg(long, value_name = "FILE")]
    pub(crate) enrolled: Option<PathBuf>,
    /// agent, demand-response, meter-gateway: the TE node to register with (and record contracts at, or
    /// submit readings to), NAME=PUBLIC-KEY (64 hex digits); the avatar is the one the process's key names.
    #[arg(long, value_name = "NAME=KEY", value_parser = parse_peer)]
    pub(crate) te_node: Option<(String, PublicKey)>,
    /// te-node: meters that may register themselves and are read once registered (TOML `[[meter]]` tables:
    /// id, cell, key (the gateway's public key, 64 hex digits), max_power_w, reading_interval_s, period_s);
    /// a node rebuilt from its ledger reads them again.
    #[arg(long, value_name = "FILE")]
    pub(crate) meters: Option<PathBuf>,
    /// meter-gateway: the meter's id, as the TE node enrolled it.
    #[arg(long, value_name = "ID")]
    pub(crate) meter_id: Option<String>,
    /// meter-gateway: the cell at whose connection the meter measures, as the TE node enrolled it.
    #[arg(long, value_name = "CELL")]
    pub(crate) cell: Option<String>,
    /// meter-gateway: seconds between the readings it submits [default: 10].
    #[arg(long, value_name = "SECONDS")]
    pub(crate) every_s: Option<u64>,
    /// te-node, agent: the TE deployment's name.
    #[arg(long, value_name = "NAME", default_value = "idea")]
    pub(crate) deployment: String,
    /// market: how long before a settlement period starts its book closes, seconds (gate closure)
    /// [default: 300].
    #[arg(long, value_name = "SECONDS")]
    pub(crate) gate_closure_s: Option<u64>,
    /// te-node: run the clearing every this many seconds, aligned to UTC (TE-08: it must divide a day and
    /// be at most 900) [default: 900].
    #[arg(long, value_name = "SECONDS")]
    pub(crate) clearing_period_s: Option<u64>,
    /// te-node: record registrations, contracts, readings, settlements and clearing runs in this SQLite
    /// ledger (TE-07), each committed before the notices it causes.
    #[arg(long, value_name = "FILE")]
    pub(crate) ledger: Option<PathBuf>,
    /// te-node, demand-response, sep2-server: serve the operator's HTTP/JSON interface on this address (the
    /// node's wallets, deposits, clearing and refusals; the service's calls for flexibility; the 2030.5
    /// server's devices, programs, events and access).
    #[arg(long, value_name = "HOST:PORT", value_parser = crate::address::socket_address)]
    pub(crate) operator_api: Option<std::net::SocketAddr>,
    /// te-node, demand-response, sep2-server: a file holding the bearer token the operator's interface
    /// requires (without it, the interface must listen on a loopback address).
    #[arg(long, value_name = "FILE", requires = "operator_api")]
    pub(crate) operator_token: Option<PathBuf>,
    /// demand-response: the most paid per kWh of flexibility, minor units (EUR cents) [default: 10].
    #[arg(long, value_name = "MINOR")]
    pub(crate) price_cap: Option<i64>,
    /// arbitrator: the section it watches (TOML: the MATPOWER case, the limits, where each cell sits; see
    /// idea-agent/data/section-ieee33.toml).
    #[arg(long, value_name = "FILE")]
    pub(crate) section: Option<PathBuf>,
    /// agent: the lease of its registration in the directory, seconds, renewed at half of it: an agent that
    /// vanishes without deregistering leaves the directory when it runs out [default: 120].
    #[arg(long, value_name = "SECONDS")]
    pub(crate) lease_s: Option<u64>,
    /// agent: ask this arbitrator (an agent registered in the directory) before each offer (ARCH-08
    /// option 1).
    #[arg(long, value_name = "NAME")]
    pub(crate) arbitrator: Option<String>,
    /// agent: the owner's settings (TOML, AUX-03).
    #[arg(long, value_name = "FILE")]
    pub(crate) settings: Option<PathBuf>,
    /// agent: the energy the cell's storage holds at start, Wh (what it may sell until a device reports).
    #[arg(long, value_name = "WH")]
    pub(crate) stored_wh: Option<i64>,
    /// agent: the cell's energy hub, HOST:PORT over Modbus/SunSpec (model 64901): the cell's local
    /// automation holds the agent's setpoints at the connection with the hub's storage (needs a meter).
    #[arg(long, value_name = "HOST:PORT", conflicts_with = "router")]
    pub(crate) hub: Option<String>,
    /// agent: the cell's energy router, HOST:PORT over IEC 104 (NG-R6): its port --router-port carries the
    /// agent's setpoints, in NG-R4, never beyond the cell's export and import limits (needs a meter).
    #[arg(long, value_name = "HOST:PORT", value_parser = crate::address::socket_address)]
    pub(crate) router: Option<std::net::SocketAddr>,
    /// agent: the router's port toward the cell [default: 1].
    #[arg(long, value_name = "N", requires = "router")]
    pub(crate) router_port: Option<u8>,
    /// agent, meter-gateway: the meter at the cell's connection, HOST:PORT over Modbus/SunSpec (model 203).
    #[arg(long, value_name = "HOST:PORT", conflicts_with = "iec104_meter")]
    pub(crate) meter: Option<String>,
    /// agent: the meter at the cell's connection, HOST:PORT over IEC 104 (the IDEA smart meter's profile).
    #[arg(long, value_name = "HOST:PORT", value_parser = crate::address::socket_address)]
    pub(crate) iec104_meter: Option<std::net::SocketAddr>,
    /// agent: keep debt payment channels with the cells it trades with (TE-09), opening them with this credit
    /// limit and countersigning opens of at most it, minor units (EUR cents); verified intervals then go into
    /// the channel and the TE node clears its net (needs --te-node).
    #[arg(long, value_name = "MINOR", requires = "te_node")]
    pub(crate) channel_credit_limit: Option<i64>,
    /// agent: keep the channels in this journal file (created if missing) and go on with those it holds
    /// after a restart — every state is written and synced before the agent relies on it or sends it.
    #[arg(long, value_name = "FILE", requires = "channel_credit_limit")]
    pub(crate) channel_journal: Option<std::path::PathBuf>,
    /// agent: our certificate chain (PEM) for mutual TLS (IEC 62351-3) to --router and --iec104-meter, with
    /// --device-key and --device-ca; without it they are reached in the clear.
    #[arg(long, value_name = "FILE", requires_all = ["device_key", "device_ca"])]
    pub(crate) device_cert: Option<PathBuf>,
    /// agent: our private key (PEM) for --device-cert.
    #[arg(long, value_name = "FILE", requires = "device_cert")]
    pub(crate) device_key: Option<PathBuf>,
    /// agent: the CA certifying the router and the meter (PEM); the certificate each presents must name the
    /// host of its address.
    #[arg(long, value_name = "FILE", requires = "device_cert")]
    pub(crate) device_ca: Option<PathBuf>,
    /// agent, meter-gateway: the Modbus unit --hub and --meter answer as [default: 1].
    #[arg(long, value_name = "UNIT")]
    pub(crate) device_unit: Option<u8>,
    /// agent: the cell's interface device is a DER (Table 3: a generator's power supply regulator) that this
    /// agent manages through an IEEE 2030.5 server it serves here: each setpoint becomes a `DERControl` event
    /// capping the DER at the setpoint's export (needs --der-enrol and a meter). With --device-cert,
    /// --device-key and --device-ca it is served over mutual TLS (the certificate is the server's; the CA
    /// certifies the DER), else over plain HTTP (local testing only).
    #[arg(long, value_name = "HOST:PORT", value_parser = crate::address::socket_address)]
    pub(crate) der_listen: Option<std::net::SocketAddr>,
    /// agent: the DER that registers with --der-listen, LFDI=PIN.
    #[arg(
        long,
        value_name = "LFDI=PIN",
        requires = "der_listen",
        value_parser = crate::commands::serve::parse_enrolment
    )]
    pub(crate) der_enrol: Option<(ieee2030_5::primitives::HexBinary160, u32)>,
    /// agent: the DER's active power rating, W (its caps are shares of it) [default: the cell's export
    /// limit].
    #[arg(long, value_name = "W", requires = "der_listen")]
    pub(crate) der_rating_w: Option<f64>,
    /// load-shedding: the loads it may shed (TOML `[[load]]` tables: relay, meter, cell, order) [default: the
    /// demonstration complex's].
    #[arg(long, value_name = "FILE")]
    pub(crate) loads: Option<PathBuf>,
    /// load-shedding: the topic prefix under which the relays and meters publish on the broker.
    #[arg(long, value_name = "PREFIX", default_value = "idea/devices")]
    pub(crate) devices_prefix: String,
    /// agent: serve the owner's HTTP/JSON interface (AG-08) on this address, under /cells/CELL.
    #[arg(long, value_name = "HOST:PORT", value_parser = crate::address::socket_address)]
    pub(crate) owner_api: Option<std::net::SocketAddr>,
    /// agent: a file holding the bearer token the owner's interface requires (without it, the interface
    /// must listen on a loopback address).
    #[arg(long, value_name = "FILE", requires = "owner_api")]
    pub(crate) owner_token: Option<PathBuf>,
}

impl ServiceArgs {
    /// Whether any of these options was given.
    pub(crate) fn any(&self) -> bool {
        self.broker.is_some()
            || self.name.is_some()
            || self.signing_key.is_some()
            || self.directory.is_some()
            || self.enrolled.is_some()
            || self.settings.is_some()
            || self.stored_wh.is_some()
            || self.owner_api.is_some()
            || self.owner_token.is_some()
            || self.loads.is_some()
            || self.te_node.is_some()
            || self.ledger.is_some()
            || self.gate_closure_s.is_some()
            || self.clearing_period_s.is_some()
            || self.section.is_some()
            || self.arbitrator.is_some()
            || self.operator_api.is_some()
            || self.price_cap.is_some()
            || self.lease_s.is_some()
            || self.devices_given()
            || self.channel_credit_limit.is_some()
            || self.meters.is_some()
            || self.meter_id.is_some()
            || self.cell.is_some()
            || self.every_s.is_some()
    }

    /// Whether any of the agent's device options was given.
    fn devices_given(&self) -> bool {
        self.hub.is_some()
            || self.router.is_some()
            || self.router_port.is_some()
            || self.meter.is_some()
            || self.iec104_meter.is_some()
            || self.device_unit.is_some()
            || self.device_cert.is_some()
            || self.der_listen.is_some()
    }

    /// How to reach an IEC 104 device at `address`: in the clear, or over mutual TLS with --device-cert.
    fn iec104_config(
        &self,
        address: std::net::SocketAddr,
    ) -> Result<iec104::net::ClientConfig, String> {
        use iec104::net::tls::{ClientTls, Identity, trust_anchors_file};
        let mut config = iec104::net::ClientConfig::default();
        if let (Some(cert), Some(key), Some(ca)) =
            (&self.device_cert, &self.device_key, &self.device_ca)
        {
            let identity =
                Identity::from_pem_files(cert, key).map_err(|e| format!("--device-cert: {e}"))?;
            let anchors = trust_anchors_file(ca).map_err(|e| format!("--device-ca: {e}"))?;
            config.tls = Some(
                ClientTls::new(identity, anchors, &address.ip().to_string())
                    .map_err(|e| format!("--device-cert: {e}"))?,
            );
        }
        Ok(config)
    }

    /// The agent's device link, if its devices were given: the interface device and the meter at the
    /// connection, both or neither.
    fn cell_link(
        &self,
        settings: &OwnerSettings,
        der: Option<idea_agent::device::DerControls>,
    ) -> Result<Option<idea_agent::device::link::CellLinkConfig>, String> {
        use idea_agent::device::link::{CellLinkConfig, ConnectionMeter, InterfaceDevice};
        if !self.devices_given() {
            return Ok(None);
        }
        let unit = self.device_unit.unwrap_or(1);
        let limits = settings.cell.limits;
        // Watts of a cell's limits: exact in an f64.
        #[allow(clippy::cast_precision_loss)]
        let max_w = limits.max_export.w().max(limits.max_import.w()) as f64;
        let interface = match (&self.hub, self.router, der) {
            (Some(address), None, None) => InterfaceDevice::Hub {
                address: address.clone(),
                unit,
            },
            (None, Some(address), None) => InterfaceDevice::Router {
                address,
                port: self.router_port.unwrap_or(1),
                max_w,
                config: self.iec104_config(address)?,
            },
            (None, None, Some(controls)) => InterfaceDevice::Der(controls),
            _ => {
                return Err(
                    "the agent's devices need one interface device: --hub HOST:PORT, --router HOST:PORT or \
                     --der-listen HOST:PORT"
                        .into(),
                );
            }
        };
        let meter = match (&self.meter, self.iec104_meter) {
            (Some(address), None) => ConnectionMeter::SunSpec {
                address: address.clone(),
                unit,
            },
            (None, Some(address)) => ConnectionMeter::Iec104 {
                address,
                config: self.iec104_config(address)?,
            },
            _ => {
                return Err(
                    "the agent's devices need the meter at the connection: --meter HOST:PORT or \
                     --iec104-meter HOST:PORT"
                        .into(),
                );
            }
        };
        let cell = settings.cell.id.clone();
        let meter_id = idea_proto::MeterId::new(format!("{}.meter", cell.as_str()))
            .map_err(|e| e.to_string())?;
        Ok(Some(CellLinkConfig {
            interface,
            meter,
            period: std::time::Duration::from_secs(1),
            cell,
            meter_id,
        }))
    }

    /// The TE deployment `--deployment` names.
    fn deployment(&self) -> Result<te_contract::DeploymentId, String> {
        te_contract::DeploymentId::new(&self.deployment)
            .map_err(|e| format!("--deployment {}: {e}", self.deployment))
    }

    /// Refuses the options `kind` does not take.
    fn check(&self, kind: &str) -> Result<(), String> {
        let refused = |option: &str, who: &str| {
            Err(format!(
                "{kind} does not take {option}: it applies to {who} only"
            ))
        };
        if kind == "mqtt-broker" && self.any() {
            return Err(format!(
                "{kind} takes --listen only: --broker, --name, --signing-key, --directory, --enrolled, \
                 --settings, --stored-wh and --owner-api are for the directory and agents"
            ));
        }
        if self.enrolled.is_some() && !matches!(kind, "directory" | "te-node") {
            return refused("--enrolled", "directory and te-node");
        }
        if self.te_node.is_some() && !matches!(kind, "agent" | "demand-response" | "meter-gateway")
        {
            return refused("--te-node", "agent, demand-response and meter-gateway");
        }
        if self.lease_s.is_some() && kind != "agent" {
            return refused("--lease-s", "agent");
        }
        if self.channel_credit_limit.is_some() && kind != "agent" {
            return refused("--channel-credit-limit", "agent");
        }
        if kind == "meter-gateway" {
            if self.hub.is_some()
                || self.router.is_some()
                || self.router_port.is_some()
                || self.iec104_meter.is_some()
            {
                return refused("--hub, --router, --router-port and --iec104-meter", "agent");
            }
        } else if self.devices_given() && kind != "agent" {
            return refused(
                "--hub, --router, --router-port, --der-listen, --meter, --iec104-meter, --device-unit and --device-cert",
                "agent (--meter and --device-unit: agent and meter-gateway)",
            );
        }
        if (self.meter_id.is_some() || self.cell.is_some() || self.every_s.is_some())
            && kind != "meter-gateway"
        {
            return refused("--meter-id, --cell and --every-s", "meter-gateway");
        }
        if self.meters.is_some() && kind != "te-node" {
            return refused("--meters", "te-node");
        }
        if self.price_cap.is_some() && kind != "demand-response" {
            return refused("--price-cap", "demand-response");
        }
        if self.ledger.is_some() && kind != "te-node" {
            return refused("--ledger", "te-node");
        }
        if self.clearing_period_s.is_some() && kind != "te-node" {
            return refused("--clearing-period-s", "te-node");
        }
        if self.operator_api.is_some() && !matches!(kind, "te-node" | "demand-response") {
            return refused("--operator-api", "te-node, demand-response and sep2-server");
        }
        if let (Some(address), None) = (self.operator_api, &self.operator_token)
            && !address.ip().is_loopback()
        {
            return Err(format!(
                "--operator-api {address} is not a loopback address: give --operator-token FILE"
            ));
        }
        if self.section.is_some() && kind != "arbitrator" {
            return refused("--section", "arbitrator");
        }
        if self.arbitrator.is_some() && kind != "agent" {
            return refused("--arbitrator", "agent");
        }
        if self.gate_closure_s.is_some() && kind != "market" {
            return refused("--gate-closure-s", "market");
        }
        if self.directory.is_some() && kind == "te-node" {
            return refused("--directory", "agent and load-shedding");
        }
        if self.directory.is_some() && kind == "directory" {
            return refused("--directory", "agent and load-shedding");
        }
        if self.loads.is_some() && kind != "load-shedding" {
            return refused("--loads", "load-shedding");
        }
        if (self.settings.is_some() || self.stored_wh.is_some() || self.owner_api.is_some())
            && kind != "agent"
        {
            return refused("--settings, --stored-wh or --owner-api", "agent");
        }
        if let (Some(address), None) = (self.owner_api, &self.owner_token)
            && !address.ip().is_loopback()
        {
            return Err(format!(
                "--owner-api {address} is not a loopback address: give --owner-token FILE"
            ));
        }
        Ok(())
    }
}

fn parse_peer(text: &str) -> Result<(String, PublicKey), String> {
    let (name, key) = text.split_once('=').ok_or("expected NAME=KEY")?;
    let key = key
        .parse::<PublicKey>()
        .map_err(|e| format!("{name}'s key: {e}"))?;
    Ok((name.to_owned(), key))
}

/// Reads a signing key: 64 hex digits (whitespace around them ignored).
pub(crate) fn read_signing_key(path: &Path) -> Result<SigningKey, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let bytes =
        idea_proto::hex::decode(text.trim()).map_err(|e| format!("{}: {e}", path.display()))?;
    let seed: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
        format!(
            "{}: a signing key is 32 bytes (64 hex digits), not {}",
            path.display(),
            b.len()
        )
    })?;
    Ok(SigningKey::from_bytes(&seed))
}

fn enrolled(path: &Path) -> Result<Admission, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut keys = std::collections::BTreeSet::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let key = line
            .parse::<PublicKey>()
            .map_err(|e| format!("{} line {}: {e}", path.display(), n.saturating_add(1)))?;
        keys.insert(key.to_string());
    }
    Ok(Admission::Keys(keys))
}

fn broker(args: &ServiceArgs, kind: &str) -> Result<(String, u16), String> {
    let text = args
        .broker
        .as_deref()
        .ok_or_else(|| format!("{kind} needs --broker HOST:PORT"))?;
    let (host, port) = text
        .rsplit_once(':')
        .ok_or_else(|| format!("--broker {text}: expected HOST:PORT"))?;
    let port = port
        .parse::<u16>()
        .map_err(|e| format!("--broker {text}: port: {e}"))?;
    Ok((host.to_owned(), port))
}

/// The listener of an HTTP/JSON interface on `address` (given as `option`), the bearer token read from
/// `token_file`, and the address it is bound to; `None` without an address.
pub(crate) async fn interface_listener(
    address: Option<std::net::SocketAddr>,
    token_file: Option<&Path>,
    option: &str,
) -> Result<
    Option<(
        tokio::net::TcpListener,
        Option<String>,
        std::net::SocketAddr,
    )>,
    String,
> {
    let Some(address) = address else {
        return Ok(None);
    };
    let token = token_file
        .map(|p| {
            std::fs::read_to_string(p)
                .map(|t| t.trim().to_owned())
                .map_err(|e| format!("{}: {e}", p.display()))
        })
        .transpose()?;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| format!("{option} {address}: {e}"))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    Ok(Some((listener, token, bound)))
}

/// The operator's interface (`--operator-api`, `--operator-token`).
async fn operator_listener(
    args: &ServiceArgs,
) -> Result<
    Option<(
        tokio::net::TcpListener,
        Option<String>,
        std::net::SocketAddr,
    )>,
    String,
> {
    interface_listener(
        args.operator_api,
        args.operator_token.as_deref(),
        "--operator-api",
    )
    .await
}

/// The start-up line, on standard error as every `idea serve` writes it.
fn announce(what: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "idea: serving {what}; Ctrl-C stops");
    let _ = err.flush();
}

/// One line of the event log, on standard output.
fn print_line(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Serves `kind` until Ctrl-C.
pub(crate) fn run(
    kind: &str,
    listen: Option<std::net::SocketAddr>,
    args: &ServiceArgs,
) -> Result<(), String> {
    args.check(kind)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        if kind == "mqtt-broker" {
            let address = listen.ok_or("mqtt-broker needs --listen HOST:PORT")?;
            let broker = fipa_acl::mqtt::EmbeddedBroker::start_on(address)
                .map_err(|e| format!("the MQTT broker on {address}: {e}"))?;
            announce(&format!("mqtt-broker on {} (MQTT 3.1.1)", broker.addr()));
            return tokio::signal::ctrl_c().await.map_err(|e| e.to_string());
        }
        if listen.is_some() {
            return Err(format!(
                "{kind} connects to --broker; it does not take --listen"
            ));
        }
        let (host, port) = broker(args, kind)?;
        let key_path = args
            .signing_key
            .as_deref()
            .ok_or_else(|| format!("{kind} needs --signing-key FILE"))?;
        let key = read_signing_key(key_path)?;
        let public = PublicKey::from(&key);
        let directory = args.directory.as_ref().map(|(name, key)| Peer {
            agent: fipa_acl::AgentIdentifier::new(name.clone()),
            cell: None,
            key: *key,
            avatar: None,
        });
        let connect = |name: String| {
            let host = host.clone();
            async move {
                fipa_acl::mqtt::MqttTransport::connect(
                    &host,
                    port,
                    fipa_acl::AgentIdentifier::new(name.clone()),
                    fipa_acl::mqtt::TransportOptions::default(),
                )
                .await
                .map_err(|e| format!("{name} on {host}:{port}: {e}"))
            }
        };
        match kind {
            "directory" => {
                let name = args.name.clone().unwrap_or_else(|| "df@idea".into());
                let admission = match &args.enrolled {
                    Some(path) => enrolled(path)?,
                    None => Admission::Open,
                };
                let policy = match &admission {
                    Admission::Keys(keys) => format!("{} enrolled keys", keys.len()),
                    _ => "open to any agent that proves its key".to_owned(),
                };
                let transport = connect(name.clone()).await?;
                let service = DirectoryService::new(DirectoryConfig {
                    me: fipa_acl::AgentIdentifier::new(name.clone()),
                    key,
                    admission,
                });
                let running = RunningService::spawn(service, transport, system_clock());
                announce(&format!(
                    "directory {name} on the broker {host}:{port} (key {public}; {policy})"
                ));
                wait(|| running.is_finished()).await
            }
            "te-node" => {
                let name = args.name.clone().unwrap_or_else(|| "te@idea".into());
                let admission = match &args.enrolled {
                    Some(path) => enrolled(path)?,
                    None => Admission::Open,
                };
                let policy = match &admission {
                    Admission::Keys(keys) => format!("{} enrolled keys", keys.len()),
                    _ => "any agent that proves its key".to_owned(),
                };
                let deployment = args.deployment()?;
                let ledger = args
                    .ledger
                    .as_deref()
                    .map(|path| {
                        te_contract::ledger::SqliteStore::open(path)
                            .and_then(te_contract::ledger::Ledger::open)
                            .map_err(|e| format!("--ledger {}: {e}", path.display()))
                    })
                    .transpose()?;
                let now = fipa_acl::mqtt::system_now();
                let period = idea_proto::Duration::from_secs(args.clearing_period_s.unwrap_or(900));
                let meters = match &args.meters {
                    Some(path) => {
                        let text = std::fs::read_to_string(path)
                            .map_err(|e| format!("{}: {e}", path.display()))?;
                        idea_agent::te_node::meters_from_toml(&text)
                            .map_err(|e| format!("{}: {e}", path.display()))?
                    }
                    None => Vec::new(),
                };
                // A ledger that holds entries is verified and replayed: the node comes back as it was.
                let (node, rebuilt) = match (&ledger, &args.ledger) {
                    (Some(l), Some(path)) if l.head().is_some() => {
                        let (node, report) = idea_agent::TeNode::rebuilt_registrar(
                            deployment,
                            key.clone(),
                            admission,
                            &meters,
                            l.store(),
                            now,
                        )
                        .map_err(|e| {
                            format!("--ledger {}: the node cannot start over it: {e}", path.display())
                        })?;
                        (
                            node,
                            format!(
                                "; rebuilt from {} entries: {} avatars, {} contracts, {} intervals due, {} deposits, {} channels, {} meters",
                                report.entries,
                                report.avatars,
                                report.contracts,
                                report.due,
                                report.deposits,
                                report.channels,
                                report.meters
                            ),
                        )
                    }
                    _ => {
                        let mut node =
                            idea_agent::TeNode::registrar(deployment, key.clone(), admission, now);
                        for meter in &meters {
                            node.enrol_meter(meter.clone()).map_err(|e| e.to_string())?;
                        }
                        (node, String::new())
                    }
                };
                let policy = if meters.is_empty() {
                    policy
                } else {
                    format!("{policy}, and {} enrolled meters", meters.len())
                };
                let genesis = node.registry().genesis();
                let node = node
                    .with_clearing_period(period)
                    .map_err(|e| format!("--clearing-period-s: {e}"))?;
                let service = idea_agent::te_link::TeService::spawn_with_ledger(
                    node,
                    &name,
                    key,
                    &host,
                    port,
                    idea_agent::te_link::TE_PREFIX,
                    system_clock(),
                    ledger,
                )
                .await
                .map_err(|e| format!("{name} on {host}:{port}: {e}"))?;
                let ledger = args
                    .ledger
                    .as_deref()
                    .map_or_else(String::new, |p| format!("; ledger {}", p.display()));
                let service = std::sync::Arc::new(service);
                let (operator, operator_task) = match operator_listener(args).await? {
                    Some((listener, token, bound)) => {
                        let task = tokio::spawn(
                            std::sync::Arc::clone(&service).serve_operator_api(listener, token),
                        );
                        (format!("; operator interface on http://{bound}/"), Some(task))
                    }
                    None => (String::new(), None),
                };
                // What `idea ledger verify` needs to check the ledger: the deployment, the registrar's avatar
                // and key, and when the registry began.
                announce(&format!(
                    "te-node {name} on the broker {host}:{port} (key {public}; deployment {}; registrar avatar {} since {genesis}, admitting {policy}; clearing every {} s{ledger}{rebuilt}{operator})",
                    args.deployment,
                    idea_agent::te_node::avatar_of_key(&public),
                    period.as_secs()
                ));
                let stopped = tokio::signal::ctrl_c().await.map_err(|e| e.to_string());
                if let Some(task) = operator_task {
                    task.abort();
                    let _ = task.await;
                }
                // Everything the node accepted is in the ledger already; a request of the operator's still
                // being answered only keeps the connection from closing cleanly.
                if let Ok(service) = std::sync::Arc::try_unwrap(service) {
                    service.stop().await.map_err(|e| e.to_string())?;
                }
                stopped
            }
            "market" => {
                let name = args.name.clone().unwrap_or_else(|| "market@idea".into());
                let directory = directory.ok_or(
                    "market needs --directory NAME=KEY: its traders are the agents registered there",
                )?;
                let deployment = args.deployment()?;
                let gate_closure_s = args.gate_closure_s.unwrap_or(300);
                let config = idea_agent::MarketConfig {
                    me: fipa_acl::AgentIdentifier::new(name.clone()),
                    key,
                    service: idea_proto::ServiceId::new("p2p-market").map_err(|e| e.to_string())?,
                    operator: idea_proto::UserId::new("market-operator")
                        .map_err(|e| e.to_string())?,
                    currency: idea_proto::Currency::new("EUR", 2).map_err(|e| e.to_string())?,
                    period_s: 900,
                    gate_closure: idea_proto::Duration::from_secs(gate_closure_s),
                    tolerance: idea_proto::ToleranceBand::default(),
                    penalty_per_kwh: 0,
                    deployment,
                };
                let mut service = idea_agent::MarketService::new(config);
                service.join_directory(directory);
                let transport = connect(name.clone()).await?;
                let running = RunningService::spawn(service, transport, system_clock());
                announce(&format!(
                    "market {name} on the broker {host}:{port} (key {public}; service p2p-market, \
                     15-minute periods in EUR, pay-as-clear, gate closure {} s before each)",
                    gate_closure_s
                ));
                wait(|| running.is_finished()).await
            }
            "arbitrator" => {
                let name = args.name.clone().unwrap_or_else(|| "arbitrator@idea".into());
                let path = args
                    .section
                    .as_deref()
                    .ok_or("arbitrator needs --section FILE (the section's model)")?;
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                let config = idea_agent::SectionConfig::from_toml(&text)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                let case_path = path
                    .parent()
                    .unwrap_or_else(|| Path::new("."))
                    .join(&config.case);
                let case = std::fs::read_to_string(&case_path)
                    .map_err(|e| format!("{}: {e}", case_path.display()))?;
                let arbitrator = config
                    .arbitrator(&case)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                let directory = directory.ok_or(
                    "arbitrator needs --directory NAME=KEY: the cells that may ask register there",
                )?;
                let mut service = idea_agent::ArbitratorService::new(
                    fipa_acl::AgentIdentifier::new(name.clone()),
                    key,
                    arbitrator,
                );
                service.join_directory(directory);
                let transport = connect(name.clone()).await?;
                let running = RunningService::spawn(service, transport, system_clock());
                announce(&format!(
                    "arbitrator {name} on the broker {host}:{port} (key {public}; section {}: {} cells on {})",
                    path.display(),
                    config.sites.len(),
                    case_path.display()
                ));
                wait(|| running.is_finished()).await
            }
            "demand-response" => {
                let name = args
                    .name
                    .clone()
                    .unwrap_or_else(|| "demand-response@idea".into());
                let directory = directory.ok_or(
                    "demand-response needs --directory NAME=KEY: the cells it calls register there",
                )?;
                let deployment = args.deployment()?;
                let te = args.te_node.as_ref().map(|_| {
                    (
                        deployment,
                        idea_agent::te_node::avatar_of_key(&public),
                        0,
                    )
                });
                let price_cap = args.price_cap.unwrap_or(10);
                let config = idea_agent::demand_response::DemandResponseConfig {
                    me: fipa_acl::AgentIdentifier::new(name.clone()),
                    key,
                    agent_id: idea_proto::AgentId::new("demand-response")
                        .map_err(|e| e.to_string())?,
                    service: idea_proto::ServiceId::new("demand-response")
                        .map_err(|e| e.to_string())?,
                    operator: idea_proto::UserId::new("grid-operator").map_err(|e| e.to_string())?,
                    currency: idea_proto::Currency::new("EUR", 2).map_err(|e| e.to_string())?,
                    price_cap_per_kwh: price_cap,
                    penalty_per_kwh: 0,
                    tolerance: idea_proto::ToleranceBand::default(),
                    reply_within: idea_proto::Duration::from_secs(10),
                    te,
                };
                let mut service = idea_agent::demand_response::DemandResponseService::new(config);
                service.join_directory(directory);
                let now = fipa_acl::mqtt::system_now();
                let transport = connect(name.clone()).await?;
                let running = match &args.te_node {
                    Some((node, node_key)) => {
                        service
                            .register_at_te(node_key, now)
                            .map_err(|e| e.to_string())?;
                        RunningService::spawn_with_te(
                            service,
                            transport,
                            system_clock(),
                            idea_agent::te_link::TeLink {
                                host: host.clone(),
                                port,
                                node: node.clone(),
                                node_key: *node_key,
                                prefix: idea_agent::te_link::TE_PREFIX.to_owned(),
                            },
                        )
                        .await
                        .map_err(|e| format!("the TE link of {name}: {e}"))?
                    }
                    None => RunningService::spawn(service, transport, system_clock()),
                };
                let running = std::sync::Arc::new(running);
                let operator = match operator_listener(args).await? {
                    Some((listener, token, bound)) => {
                        tokio::spawn(idea_agent::demand_response::operator::serve_operator_api(
                            std::sync::Arc::clone(&running),
                            listener,
                            token,
                        ));
                        format!("; operator interface on http://{bound}/")
                    }
                    None => String::new(),
                };
                announce(&format!(
                    "demand-response {name} on the broker {host}:{port} (key {public}; service demand-response, \
                     price cap {price_cap} EUR cents per kWh{}{operator})",
                    if args.te_node.is_some() {
                        "; contracts recorded at the TE node"
                    } else {
                        ""
                    }
                ));
                wait(|| running.is_finished()).await
            }
            "agent" => {
                let path = args
                    .settings
                    .as_deref()
                    .ok_or("agent needs --settings FILE (the owner's settings)")?;
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                let settings = OwnerSettings::from_toml(&text)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                let cell_id = settings.cell.id.as_str().to_owned();
                let name = args
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("{cell_id}@idea"));
                let directory = directory
                    .ok_or("agent needs --directory NAME=KEY: it finds its peers there")?;
                let mut seed = [0u8; 16];
                seed.copy_from_slice(public.to_bytes().get(..16).unwrap_or(&[0; 16]));
                let deployment = args.deployment()?;
                let te = args.te_node.as_ref().map(|_| idea_agent::TeIdentity {
                    deployment,
                    avatar: idea_agent::te_node::avatar_of_key(&public),
                    key_version: 0,
                });
                let mut agent = Agent::new(AgentConfig {
                    me: fipa_acl::AgentIdentifier::new(name.clone()),
                    key,
                    settings,
                    id_seed: seed,
                    te,
                });
                for b in [
                    Box::new(PlugAndPlay::new(directory).with_lease(idea_proto::Duration::from_secs(
                        args.lease_s.unwrap_or(120),
                    ))) as Box<dyn idea_agent::Behaviour>,
                    Box::new(P2pSeller::new()),
                    Box::new(P2pBuyer::new()),
                    Box::new(MarketParticipant::discovering()),
                    Box::new(LoadSheddingClient::discovering()),
                ] {
                    agent.add_behaviour(b).map_err(|e| e.to_string())?;
                }
                if let Some(limit) = args.channel_credit_limit {
                    let keeper = match &args.channel_journal {
                        Some(path) => {
                            let journal = idea_agent::channel_journal::FileJournal::open(path)
                                .map_err(|e| format!("--channel-journal {e}"))?;
                            idea_agent::ChannelKeeper::with_journal(limit, Box::new(journal))
                                .map_err(|e| format!("--channel-journal: {e}"))?
                        }
                        None => idea_agent::ChannelKeeper::new(limit),
                    };
                    agent
                        .add_behaviour(Box::new(keeper))
                        .map_err(|e| e.to_string())?;
                }
                let now = fipa_acl::mqtt::system_now();
                if let Some(arbitrator) = &args.arbitrator {
                    agent.with_behaviour::<P2pSeller, _>(now, |s, _| {
                        s.ask_arbitrator(Some(fipa_acl::AgentIdentifier::new(arbitrator.clone())));
                    });
                }
                if let Some(wh) = args.stored_wh {
                    agent.handle_stored_energy(wh, now);
                }
                agent
                    .with_behaviour::<PlugAndPlay, _>(now, |p, cx| p.join(cx))
                    .ok_or("plug-and-play is missing")?
                    .map_err(|e| e.to_string())?;
                if let Some((_, node_key)) = &args.te_node {
                    agent
                        .register_at_te(node_key, now)
                        .map_err(|e| e.to_string())?;
                }
                // The cell's devices, reached before anything is served: one that does not answer ends the
                // command here.
                let der = match args.der_listen {
                    Some(address) => Some(serve_der(args, address, agent.settings()).await?),
                    None => None,
                };
                let link_config = args.cell_link(agent.settings(), der)?;
                let devices = match &link_config {
                    Some(config) => {
                        let mut described = describe_devices(config);
                        if let Some(address) = args.der_listen {
                            described.push_str(&format!(
                                " — the DER's 2030.5 server on {address} ({})",
                                if args.device_cert.is_some() {
                                    "mutual TLS"
                                } else {
                                    "plain HTTP: no authentication, local testing only"
                                }
                            ));
                        }
                        let link = idea_agent::device::link::CellLink::open(config.clone())
                            .await
                            .map_err(|e| format!("the devices of {name}: {e}"))?;
                        Some((link, described))
                    }
                    None => None,
                };
                let transport = connect(name.clone()).await?;
                let (events, mut rx) = tokio::sync::mpsc::channel(1024);
                let (commands, commands_rx) = tokio::sync::mpsc::channel(64);
                let (reports, reports_rx) = tokio::sync::mpsc::channel(256);
                let (linked, device_line) = match devices {
                    Some((link, described)) => (
                        Some(tokio::spawn(link.run(commands_rx, reports, system_clock()))),
                        format!("; devices: {described}"),
                    ),
                    None => (None, String::new()),
                };
                let sinks = Sinks {
                    events: Some(events),
                    commands: linked.as_ref().map(|_| commands),
                    ..Sinks::default()
                };
                let te = args.te_node.as_ref().map(|(node, node_key)| idea_agent::te_link::TeLink {
                    host: host.clone(),
                    port,
                    node: node.clone(),
                    node_key: *node_key,
                    prefix: idea_agent::te_link::TE_PREFIX.to_owned(),
                });
                let running = RunningAgent::spawn_linked(
                    agent,
                    transport,
                    system_clock(),
                    sinks,
                    idea_agent::runtime::Links {
                        te,
                        devices: linked.as_ref().map(|_| reports_rx),
                    },
                )
                .await
                .map_err(|e| format!("the TE link of {name}: {e}"))?;
                let running = std::sync::Arc::new(running);
                let ring = std::sync::Arc::new(std::sync::Mutex::new(
                    idea_agent::owner::EventRing::default(),
                ));
                let owner = match interface_listener(
                    args.owner_api,
                    args.owner_token.as_deref(),
                    "--owner-api",
                )
                .await?
                {
                    Some((listener, token, bound)) => {
                        let cell = OwnerCell {
                            agent: std::sync::Arc::clone(&running),
                            events: std::sync::Arc::clone(&ring),
                        };
                        let cells =
                            std::sync::Arc::new([(cell_id.clone(), cell)].into_iter().collect());
                        tokio::spawn(serve_owner_api(listener, cells, token));
                        format!("; owner interface on http://{bound}/cells/{cell_id}")
                    }
                    None => String::new(),
                };
                announce(&format!(
                    "agent {name} on the broker {host}:{port} (key {public}{device_line}{owner})"
                ));
                // The event log, one JSON object per line on standard output, and kept for the owner.
                let log = async {
                    while let Some(e) = rx.recv().await {
                        print_line(&e.to_json_line());
                        ring.lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .push(e);
                    }
                };
                let link_ended = async {
                    match linked {
                        Some(task) => {
                            let _ = task.await;
                        }
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    () = log => Err("the agent stopped".to_owned()),
                    () = link_ended => Err("the agent's device link stopped".to_owned()),
                    stop = tokio::signal::ctrl_c() => stop.map_err(|e| e.to_string()),
                }
            }
            "meter-gateway" => {
                let meter_id = args
                    .meter_id
                    .as_deref()
                    .ok_or("meter-gateway needs --meter-id ID (as the TE node enrolled it)")?;
                let meter_id = idea_proto::MeterId::new(meter_id).map_err(|e| format!("--meter-id: {e}"))?;
                let cell = args
                    .cell
                    .as_deref()
                    .ok_or("meter-gateway needs --cell CELL (as the TE node enrolled it)")?;
                let cell = idea_proto::CellId::new(cell).map_err(|e| format!("--cell: {e}"))?;
                let meter = args
                    .meter
                    .clone()
                    .ok_or("meter-gateway needs --meter HOST:PORT (the meter, Modbus/SunSpec)")?;
                let (node, node_key) = args
                    .te_node
                    .clone()
                    .ok_or("meter-gateway needs --te-node NAME=KEY (where its readings go)")?;
                let every_s = args.every_s.unwrap_or(10);
                if every_s == 0 {
                    return Err("--every-s: a positive number of seconds".into());
                }
                let name = args
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("meter-gateway-{}@idea", meter_id.as_str()));
                let deployment = args.deployment()?;
                let config = idea_agent::device::gateway_link::GatewayLinkConfig {
                    meter: meter.clone(),
                    unit: args.device_unit.unwrap_or(1),
                    name: name.clone(),
                    te: idea_agent::te_link::TeLink {
                        host: host.clone(),
                        port,
                        node,
                        node_key,
                        prefix: idea_agent::te_link::TE_PREFIX.to_owned(),
                    },
                    every: idea_proto::Duration::from_secs(every_s),
                };
                let now = fipa_acl::mqtt::system_now();
                let submission = idea_agent::te_node::meter_registration_submission(
                    &deployment,
                    &node_key,
                    meter_id.clone(),
                    cell.clone(),
                    &key,
                    now,
                );
                let avatar = idea_agent::device::gateway_link::register_meter(
                    &config,
                    submission,
                    std::time::Duration::from_secs(10),
                )
                .await
                .map_err(|e| format!("{name}: {e}"))?;
                let gateway = idea_agent::device::MeterGateway::new(
                    deployment,
                    idea_agent::te_node::avatar_of_key(&public),
                    key,
                    0,
                );
                announce(&format!(
                    "meter-gateway {name} on the broker {host}:{port} (key {public}; meter {} at {} registered as avatar {avatar}; reading {meter} every {every_s} s)",
                    meter_id.as_str(),
                    cell.as_str()
                ));
                let running = idea_agent::device::gateway_link::run_meter_gateway(
                    config,
                    gateway,
                    idea_agent::runtime::system_clock(),
                );
                tokio::select! {
                    ended = running => ended.map_err(|e| e.to_string()),
                    stop = tokio::signal::ctrl_c() => stop.map_err(|e| e.to_string()),
                }
            }
            "load-shedding" => {
                let name = args.name.clone().unwrap_or_else(|| "load-shedding@idea".into());
                let text = match &args.loads {
                    Some(path) => std::fs::read_to_string(path)
                        .map_err(|e| format!("{}: {e}", path.display()))?,
                    None => idea_agent::load_shedding::DEMO_LOADS.to_owned(),
                };
                let loads = idea_agent::load_shedding::loads_from_toml(&text).map_err(|e| {
                    format!("{}: {e}", args.loads.as_deref().map_or("the demonstration loads".into(), |p| p.display().to_string()))
                })?;
                let count = loads.len();
                let directory = directory
                    .ok_or("load-shedding needs --directory NAME=KEY: the cells that may ask register there")?;
                let mut service = LoadSheddingService::new(
                    fipa_acl::AgentIdentifier::new(name.clone()),
                    key,
                    loads,
                );
                service.join_directory(directory);
                let transport = connect(name.clone()).await?;
                announce(&format!(
                    "load-shedding {name} on the broker {host}:{port} (key {public}; {count} loads; devices under {})",
                    args.devices_prefix
                ));
                let running = idea_agent::load_shedding::link::run_load_shedding(
                    service,
                    transport,
                    idea_agent::load_shedding::link::DeviceBus {
                        host: host.clone(),
                        port,
                        prefix: args.devices_prefix.clone(),
                    },
                );
                tokio::select! {
                    ended = running => ended.map_err(|e| e.to_string()),
                    stop = tokio::signal::ctrl_c() => stop.map_err(|e| e.to_string()),
                }
            }
            other => Err(format!("unknown service {other}")),
        }
    })
}

/// Serves the IEEE 2030.5 server of the agent's DER on `address`: one function set assignment with one DER
/// program for the cell, the DER of --der-enrol registered to it; over mutual TLS with --device-cert.
async fn serve_der(
    args: &ServiceArgs,
    address: std::net::SocketAddr,
    settings: &OwnerSettings,
) -> Result<idea_agent::device::DerControls, String> {
    let (lfdi, pin) = args
        .der_enrol
        .ok_or("--der-listen needs the DER that registers with it: --der-enrol LFDI=PIN")?;
    // Watts of a cell's limit: exact in an f64.
    #[allow(clippy::cast_precision_loss)]
    let rating_w = args
        .der_rating_w
        .unwrap_or(settings.cell.limits.max_export.w() as f64);
    if !(rating_w.is_finite() && rating_w > 0.0) {
        return Err(format!("--der-rating-w {rating_w}: a rating above 0 W"));
    }
    let tls = match (&args.device_cert, &args.device_key, &args.device_ca) {
        (Some(cert), Some(key), Some(client_ca)) => {
            let files = idea_sim::devices::ServerTls {
                cert: cert.clone(),
                key: key.clone(),
                client_ca: client_ca.clone(),
            };
            Some(
                idea_sim::devices::sep2_tls(&files)
                    .map_err(|e| format!("--device-cert: {e}"))?
                    .0,
            )
        }
        _ => None,
    };
    let clock = ieee2030_5::net::system_clock();
    let now = clock();
    let mut core = ieee2030_5::server::Server::new(60);
    let fsa = core.add_fsa(settings.cell.id.as_str());
    let program = core.add_program(
        fsa,
        ieee2030_5::resources::DERProgram {
            description: Some(format!(
                "IDEA transactions of {}",
                settings.cell.id.as_str()
            )),
            primacy: 1,
            ..Default::default()
        },
    );
    core.enrol(lfdi, pin, &[fsa], now);
    let server = std::sync::Arc::new(std::sync::Mutex::new(core));
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| format!("--der-listen {address}: {e}"))?;
    tokio::spawn(ieee2030_5::net::serve(
        listener,
        tls,
        std::sync::Arc::clone(&server),
        clock,
    ));
    Ok(idea_agent::device::DerControls {
        server,
        program,
        rating_w,
    })
}

/// The agent's devices as its start line names them.
fn describe_devices(config: &idea_agent::device::link::CellLinkConfig) -> String {
    use idea_agent::device::link::{ConnectionMeter, InterfaceDevice};
    let interface = match &config.interface {
        InterfaceDevice::Hub { address, .. } => format!("hub {address} (Modbus/SunSpec)"),
        InterfaceDevice::Router {
            address,
            port,
            config,
            ..
        } => format!(
            "router {address} port {port} (IEC 104{})",
            if config.tls.is_some() {
                " over TLS"
            } else {
                ""
            }
        ),
        InterfaceDevice::Der(controls) => format!(
            "DER (IEEE 2030.5 DERControl events, rated {} W)",
            controls.rating_w
        ),
        _ => "an interface device".to_owned(),
    };
    let meter = match &config.meter {
        ConnectionMeter::SunSpec { address, .. } => format!("meter {address} (Modbus/SunSpec)"),
        ConnectionMeter::Iec104 { address, config } => format!(
            "meter {address} (IEC 104{})",
            if config.tls.is_some() {
                " over TLS"
            } else {
                ""
            }
        ),
        _ => "a meter".to_owned(),
    };
    format!("{interface}, {meter}")
}

/// Until Ctrl-C, or an error when the service's task ended (its broker went away).
async fn wait(finished: impl Fn() -> bool) -> Result<(), String> {
    let watch = async {
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            if finished() {
                return;
            }
        }
    };
    tokio::select! {
        stop = tokio::signal::ctrl_c() => stop.map_err(|e| e.to_string()),
        () = watch => Err("the service stopped: its broker connection ended".to_owned()),
    }
}
