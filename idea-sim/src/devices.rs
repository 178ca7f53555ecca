//! The devices `idea serve` runs: real servers on real sockets with behaviour behind their registers.

use crate::tasks::Tasks;
use iec104::net::{Server, ServerConfig};
use iec104::profile::Profile;
use iec104::station::{CommandHandler, CommandResult, Outstation};
use iec104::{Element, InformationObject};
use modbus_profiles::simulator::SimulatedDevice;
use modbus_profiles::sunspec::Catalog;
use ng_control::router::{Mode, PortLimits, Router};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

/// Rating of each router port when no limit is set, kW.
const PORT_RATING_KW: f64 = 25.0;

/// What the router has been told to do.
#[derive(Debug, Clone, PartialEq)]
pub struct RouterState {
    /// NG-R1..NG-R5 as 1..=5.
    pub mode: i16,
    /// Whether it regulates (false: every port at zero).
    pub enabled: bool,
    /// Requested active power per port, kW (positive into the port's side).
    pub p_setpoint_kw: Vec<f64>,
    /// Requested reactive power per port, kvar.
    pub q_setpoint_kvar: Vec<f64>,
    /// Limit per port, kW (both directions).
    pub p_limit_kw: Vec<f64>,
}

/// The command side of the simulated router.
struct RouterCommands {
    names: BTreeMap<u32, String>,
    state: Arc<Mutex<RouterState>>,
}

fn port_of(name: &str) -> Option<(String, usize)> {
    let (base, rest) = name.split_once('[')?;
    Some((base.to_owned(), rest.trim_end_matches(']').parse().ok()?))
}

impl CommandHandler for RouterCommands {
    fn command(
        &mut self,
        _type_id: u8,
        object: &InformationObject,
        _now: Instant,
    ) -> CommandResult {
        let Some(name) = self.names.get(&object.ioa) else {
            return CommandResult::Reject;
        };
        let mut s = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let value = object.elements.iter().find_map(|e| match e {
            Element::R32(bits) => Some(f64::from(f32::from_bits(*bits))),
            Element::Sva(v) => Some(f64::from(*v)),
            Element::Sco(b) => Some(f64::from(b & 1)),
            _ => None,
        });
        let Some(value) = value.filter(|v| v.is_finite()) else {
            return CommandResult::Reject;
        };
        match (name.as_str(), port_of(name)) {
            ("set_mode", _) if (1.0..=5.0).contains(&value) && value.fract() == 0.0 => {
                // Checked whole and within 1..=5 just above.
                #[allow(clippy::cast_possible_truncation)]
                let mode = value as i16;
                s.mode = mode;
            }
            ("set_enable", _) => s.enabled = value != 0.0,
            (_, Some((base, port))) => {
                let target = match base.as_str() {
                    "p_setpoint_kw" => &mut s.p_setpoint_kw,
                    "q_setpoint_kvar" => &mut s.q_setpoint_kvar,
                    "p_limit_kw" if value >= 0.0 => &mut s.p_limit_kw,
                    _ => return CommandResult::Reject,
                };
                match target.get_mut(port) {
                    Some(slot) => *slot = value,
                    None => return CommandResult::Reject,
                }
            }
            _ => return CommandResult::Reject,
        }
        CommandResult::Accept
    }
}

/// The flows the router settles at for its state: NG-R1..R5 over the ports, setpoints moving the flows and
/// limits clamping them, kW per port.
pub fn router_flows(state: &RouterState) -> Vec<f64> {
    let ports = state.p_setpoint_kw.len();
    if !state.enabled || ports < 2 {
        return vec![0.0; ports];
    }
    let limits = state
        .p_limit_kw
        .iter()
        .map(|l| PortLimits::symmetric(l * 1000.0))
        .collect();
    let router = Router::new(limits);
    let microgrid_limits = (1..ports)
        .map(|p| (p, state.p_limit_kw.get(p).copied().unwrap_or(0.0) * 1000.0))
        .collect();
    let mode = match state.mode {
        2 => Mode::R2 { sources: vec![1] },
        3 => Mode::R3 {
            limits: microgrid_limits,
        },
        4 => Mode::R4 {
            grid_export_limit_w: state.p_limit_kw.first().copied().unwrap_or(0.0) * 1000.0,
        },
        5 => Mode::R5 { sources: vec![1] },
        _ => Mode::R1,
    };
    let requests: Vec<f64> = state.p_setpoint_kw.iter().map(|kw| kw * 1000.0).collect();
    router.setpoints(&mode, &requests).map_or_else(
        |_| vec![0.0; ports],
        |s| s.port_w.iter().map(|w| w / 1000.0).collect(),
    )
}

/// Serves the IDEA energy router's IEC 104 profile on `listener` with a simulated router behind it, until the
/// task is dropped; with `tls`, mutual TLS to the IEC 62351-3 profile only (a client without a certificate
/// from `tls.client_ca`, or without TLS, is refused during the handshake and the refusal is logged). Returns
/// the shared state for tests and status displays.
pub async fn iec104_router(
    listener: TcpListener,
    tls: Option<&ServerTls>,
) -> Result<(Arc<Mutex<RouterState>>, Tasks), iec104::Error> {
    // Read before anything is served: a bad file ends the command before it says "serving".
    let tls = match tls {
        Some(files) => Some(iec104::net::tls::server_config(
            iec104::net::tls::Identity::from_pem_files(&files.cert, &files.key)?,
            iec104::net::tls::trust_anchors_file(&files.client_ca)?,
        )?),
        None => None,
    };
    let profile = Profile::energy_router()?;
    let ports = profile
        .points
        .iter()
        .filter(|p| p.name.starts_with("p_kw["))
        .count();
    let state = Arc::new(Mutex::new(RouterState {
        mode: 1,
        enabled: false,
        p_setpoint_kw: vec![0.0; ports],
        q_setpoint_kvar: vec![0.0; ports],
        p_limit_kw: vec![PORT_RATING_KW; ports],
    }));
    let names = profile
        .commands
        .iter()
        .map(|c| (c.ioa, c.name.clone()))
        .collect();
    let (db, config) = profile.station();
    let app = RouterCommands {
        names,
        state: Arc::clone(&state),
    };
    let server = Server::new(
        Outstation::new(config, db, app, Instant::now()),
        ServerConfig::default(),
    )?;
    let mut tasks = Tasks::default();
    match tls {
        Some(tls) => tasks.spawn(
            "the IEC 104 server (TLS)",
            Arc::clone(&server).run_tls(listener, tls),
        ),
        None => tasks.spawn("the IEC 104 server", Arc::clone(&server).run(listener)),
    };
    let shared = Arc::clone(&state);
    tasks.spawn::<_, std::convert::Infallible>("the router simulation", async move {
        let ioa = |name: &str| profile.entry(name).map(|e| e.ioa);
        let float = |v: f64| {
            // Measurements are reported as short floats.
            #[allow(clippy::cast_possible_truncation)]
            let f = v as f32;
            vec![Element::R32(f.to_bits()), Element::Qds(0)]
        };
        let mut last: BTreeMap<u32, Vec<Element>> = BTreeMap::new();
        loop {
            let s = shared
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone();
            let flows = router_flows(&s);
            let mut values: Vec<(Option<u32>, Vec<Element>)> = vec![
                (ioa("voltage_v"), float(400.0)),
                (ioa("frequency_hz"), float(50.0)),
                (ioa("mode"), vec![Element::Sva(s.mode), Element::Qds(0)]),
                (ioa("enabled"), vec![Element::Siq(u8::from(s.enabled))]),
            ];
            for (port, p) in flows.iter().enumerate() {
                values.push((ioa(&format!("p_kw[{port}]")), float(*p)));
                let q = if s.enabled {
                    s.q_setpoint_kvar.get(port).copied().unwrap_or(0.0)
                } else {
                    0.0
                };
                values.push((ioa(&format!("q_kvar[{port}]")), float(q)));
            }
            for (address, elements) in values {
                if let Some(address) = address
                    && last.get(&address) != Some(&elements)
                {
                    server.update(address, elements.clone());
                    last.insert(address, elements);
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    Ok((state, tasks))
}

/// The shared core of a simulated Modbus device.
pub type SimulatedServer = modbus_profiles::net::Shared<SimulatedDevice>;

/// The server core of the simulated Modbus device of profile `name` (a name of
/// [`modbus_profiles::simulator::SHIPPED`]), its SunSpec map at `base`, answering as `unit`.
fn modbus_core(name: &str, base: u16, unit: u8) -> Result<SimulatedServer, modbus_profiles::Error> {
    let catalog = Catalog::builtin()?;
    let device = SimulatedDevice::new(
        modbus_profiles::simulator::Profile::builtin(name)?,
        &catalog,
        base,
    )?;
    Ok(Arc::new(Mutex::new(modbus_profiles::server::Server::new(
        unit, device,
    ))))
}

/// Serves the simulated Modbus device of profile `name` (a name of
/// [`modbus_profiles::simulator::SHIPPED`]) on `listener`, its SunSpec map at `base`, answering as `unit`,
/// until the tasks are dropped. Returns the shared server core and its tasks.
pub fn modbus_device(
    listener: TcpListener,
    name: &str,
    base: u16,
    unit: u8,
) -> Result<(SimulatedServer, Tasks), modbus_profiles::Error> {
    let server = modbus_core(name, base, unit)?;
    let mut tasks = Tasks::default();
    tasks.spawn(
        "the Modbus TCP server",
        modbus_profiles::net::serve_tcp(listener, Arc::clone(&server)),
    );
    Ok((server, tasks))
}

/// Opens `line` and serves the simulated Modbus device of profile `name` on it over Modbus RTU (frames
/// delimited by the line's 3.5-character silence). Returns the shared server core and its task, which ends
/// when the port fails or closes.
///
/// # Errors
/// The profile's errors, and the port's when it cannot be opened (the error names it).
pub fn modbus_device_serial(
    line: &modbus_profiles::net::SerialLine,
    name: &str,
    base: u16,
    unit: u8,
) -> Result<(SimulatedServer, Tasks), modbus_profiles::Error> {
    let server = modbus_core(name, base, unit)?;
    let port = line.open()?;
    let mut tasks = Tasks::default();
    tasks.spawn(
        "the Modbus RTU server (the serial port closed)",
        modbus_profiles::net::serve_rtu(port, Arc::clone(&server), line.frame_gap()),
    );
    Ok((server, tasks))
}

/// The TLS files of a served device (`idea serve iec104-router`, `idea serve sep2-server`): the server's
/// certificate chain and key, and the CA that certifies its clients (PEM).
#[derive(Debug, Clone)]
pub struct ServerTls {
    /// Server certificate chain.
    pub cert: std::path::PathBuf,
    /// Server private key.
    pub key: std::path::PathBuf,
    /// Trust anchors for client certificates.
    pub client_ca: std::path::PathBuf,
}

/// Serves an IEEE 2030.5 DER server on `listener` until the task is dropped: one function set assignment
/// with one DER program (primacy 1), a `DefaultDERControl` (maximum active power 100 %), and an event a
/// minute after start limiting it to 50 % for five minutes. Devices in `enrol` (LFDI, PIN) may register.
/// Without `tls` it speaks plain HTTP and every client is the operator (local testing only).
pub fn sep2_server(
    listener: TcpListener,
    tls: Option<&ServerTls>,
    enrol: &[(ieee2030_5::primitives::HexBinary160, u32)],
) -> Result<(ieee2030_5::net::SharedServer, Tasks), String> {
    use ieee2030_5::primitives::HexBinary;
    use ieee2030_5::resources::{
        DERControl, DERControlBase, DERProgram, DateTimeInterval, DefaultDERControl,
    };
    let clock = ieee2030_5::net::system_clock();
    let now = clock();
    let mut server = ieee2030_5::server::Server::new(60);
    let fsa = server.add_fsa("IDEA demonstration feeder");
    let program = server.add_program(
        fsa,
        DERProgram {
            description: Some("IDEA export management".into()),
            primacy: 1,
            ..Default::default()
        },
    );
    let base = |percent: u16| DERControlBase {
        op_mod_max_lim_w: Some(percent.saturating_mul(100)),
        ..Default::default()
    };
    server.set_default(
        program,
        DefaultDERControl {
            der_control_base: base(100),
            ..Default::default()
        },
    );
    server.add_control(
        program,
        DERControl {
            creation_time: now,
            interval: DateTimeInterval {
                start: now.saturating_add(60),
                duration: 300,
                ..Default::default()
            },
            der_control_base: base(50),
            response_required: Some(HexBinary([0x03])),
            ..Default::default()
        },
        now,
    );
    for (lfdi, pin) in enrol {
        server.enrol(*lfdi, *pin, &[fsa], now);
    }
    // TLS both ways: serving, and delivering notifications to `https://` subscribers with the same identity.
    let (tls, notify_tls) = match tls {
        Some(files) => {
            use ieee2030_5::net::tls::{Identity, client_config, server_config, trust_anchors};
            let read = |p: &std::path::Path| idea_proto::pem::read(p);
            let (cert, key, ca) = (
                read(&files.cert)?,
                read(&files.key)?,
                read(&files.client_ca)?,
            );
            let serving = server_config(
                Identity::from_pem(&cert, &key).map_err(|e| e.to_string())?,
                trust_anchors(&ca).map_err(|e| e.to_string())?,
            )
            .map_err(|e| e.to_string())?;
            let notifying = client_config(
                Identity::from_pem(&cert, &key).map_err(|e| e.to_string())?,
                trust_anchors(&ca).map_err(|e| e.to_string())?,
            )
            .map_err(|e| e.to_string())?;
            (Some(Arc::new(serving)), Some(Arc::new(notifying)))
        }
        None => (None, None),
    };
    let shared = Arc::new(Mutex::new(server));
    let mut tasks = Tasks::default();
    tasks.spawn(
        "the IEEE 2030.5 server",
        ieee2030_5::net::serve(listener, tls, Arc::clone(&shared), clock),
    );
    let notifying = ieee2030_5::net::deliver_notifications(
        Arc::downgrade(&shared),
        notify_tls,
        Duration::from_secs(1),
    );
    tasks.spawn::<_, std::convert::Infallible>("the notification delivery", async move {
        notifying.await;
        Ok(())
    });
    Ok((shared, tasks))
}
