//! The devices `idea serve` runs: real servers on real sockets with behaviour behind their registers.

use crate::fault::{Fault, Faults};
use crate::grid::{SharedGrid, lock};
use crate::physical::{Binding, ModelDevice};
use crate::tasks::Tasks;
use iec104::net::{Server, ServerConfig};
use iec104::profile::Profile;
use iec104::station::{CommandHandler, CommandResult, Outstation};
use iec104::{Element, InformationObject};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

/// The command side of the IEC 104 router: commands set the model router's mode, enable and port setpoints.
struct RouterCommands {
    names: BTreeMap<u32, String>,
    grid: SharedGrid,
    router: String,
    /// With `port-limit-ignored`, a port limit is confirmed and never applied; with
    /// `network-export-unchecked`, NG-R2 and NG-R4 are applied as NG-R3 and the network port's limit is
    /// confirmed and never applied.
    faults: Faults,
    /// The mode last commanded, which the mode point reports with `network-export-unchecked`.
    commanded_mode: Arc<AtomicU8>,
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
        let value = object.elements.iter().find_map(|e| match e {
            Element::R32(bits) => Some(f64::from(f32::from_bits(*bits))),
            Element::Sva(v) => Some(f64::from(*v)),
            Element::Sco(b) => Some(f64::from(b & 1)),
            _ => None,
        });
        let Some(value) = value.filter(|v| v.is_finite()) else {
            return CommandResult::Reject;
        };
        let mut model = lock(&self.grid);
        let Ok(r) = model.router_mut(&self.router) else {
            return CommandResult::Reject;
        };
        match (name.as_str(), port_of(name)) {
            ("set_mode", _) if (1.0..=5.0).contains(&value) && value.fract() == 0.0 => {
                // Checked whole and within 1..=5 just above.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let mode = value as u8;
                self.commanded_mode.store(mode, Ordering::Relaxed);
                r.mode =
                    if matches!(mode, 2 | 4) && self.faults.is_on(Fault::NetworkExportUnchecked) {
                        3
                    } else {
                        mode
                    };
            }
            ("set_enable", _) => r.enabled = value != 0.0,
            (_, Some((base, port))) => {
                let (target, scale) = match base.as_str() {
                    "p_setpoint_kw" => (&mut r.setpoint_w, 1000.0),
                    "q_setpoint_kvar" => (&mut r.q_setpoint_var, 1000.0),
                    // Confirmed, never applied: the limit stays what it was.
                    "p_limit_kw" if value >= 0.0 && self.faults.is_on(Fault::PortLimitIgnored) => {
                        return CommandResult::Accept;
                    }
                    // The network port's limit, likewise, with network-export-unchecked.
                    "p_limit_kw"
                        if value >= 0.0
                            && port == 0
                            && self.faults.is_on(Fault::NetworkExportUnchecked) =>
                    {
                        return CommandResult::Accept;
                    }
                    "p_limit_kw" if value >= 0.0 => {
                        // One limit both ways, as the IEC 104 profile has it.
                        if let Some(slot) = r.limit_in_w.get_mut(port) {
                            *slot = value * 1000.0;
                        }
                        if port == 0 {
                            r.grid_export_limit_w = value * 1000.0;
                        }
                        (&mut r.limit_out_w, 1000.0)
                    }
                    _ => return CommandResult::Reject,
                };
                match target.get_mut(port) {
                    Some(slot) => *slot = value * scale,
                    None => return CommandResult::Reject,
                }
            }
            _ => return CommandResult::Reject,
        }
        CommandResult::Accept
    }
}

/// Serves the IDEA energy router's IEC 104 profile on `listener` for the router `router` of `grid`, until the
/// tasks are dropped: commands set the model router's mode (NG-R1..R5), enable, port setpoints and limits;
/// measured values (port flows, voltage and frequency at the network port) come from the model unless the
/// device is stale. With `tls`, mutual TLS to the IEC 62351-3 profile only (a client without a certificate
/// from `tls.client_ca`, or without TLS, is refused during the handshake and the refusal is logged). Ports the
/// profile has beyond the model router's read zero and refuse commands.
///
/// # Errors
/// The profile's, the TLS files', or [`crate::Error::UnknownElement`] when the model has no such router.
pub async fn iec104_router(
    listener: TcpListener,
    station: &Iec104Station,
    grid: SharedGrid,
    router: &str,
    faults: &Faults,
) -> crate::Result<Tasks> {
    lock(&grid).router_mut(router)?;
    let profile = Profile::energy_router().map_err(device_error)?;
    let names = profile
        .commands
        .iter()
        .map(|c| (c.ioa, c.name.clone()))
        .collect();
    let commanded_mode = Arc::new(AtomicU8::new(0));
    let app = RouterCommands {
        names,
        grid: Arc::clone(&grid),
        router: router.to_owned(),
        faults: faults.clone(),
        commanded_mode: Arc::clone(&commanded_mode),
    };
    let claims = faults.clone();
    let ports = profile
        .points
        .iter()
        .filter(|p| p.name.starts_with("p_kw["))
        .count();
    let router = router.to_owned();
    let measure = move || {
        let mut model = lock(&grid);
        let Ok(r) = model.router_mut(&router) else {
            return Vec::new();
        };
        let r = r.clone();
        let network = r.ports.first().copied().unwrap_or(0);
        let mode = match commanded_mode.load(Ordering::Relaxed) {
            claimed @ 1..=5 if claims.is_on(Fault::NetworkExportUnchecked) => claimed,
            _ => r.mode,
        };
        let mut values = vec![
            ("voltage_v".to_owned(), float(model.bus_volts(network))),
            (
                "frequency_hz".to_owned(),
                float(model.bus_frequency_hz(network)),
            ),
            (
                "mode".to_owned(),
                vec![Element::Sva(i16::from(mode)), Element::Qds(0)],
            ),
            (
                "enabled".to_owned(),
                vec![Element::Siq(u8::from(r.enabled))],
            ),
        ];
        for port in 0..ports {
            let p = r.p_w.get(port).copied().unwrap_or(0.0) / 1000.0;
            let q = r.q_var.get(port).copied().unwrap_or(0.0) / 1000.0;
            values.push((format!("p_kw[{port}]"), float(p)));
            values.push((format!("q_kvar[{port}]"), float(q)));
        }
        values
    };
    serve_iec104(listener, station, profile, app, faults, measure).await
}

/// The IEC 104 side of a device that takes no commands: every command is refused (negative confirmation).
struct NoCommands;

impl CommandHandler for NoCommands {
    fn command(&mut self, _: u8, _: &InformationObject, _: Instant) -> CommandResult {
        CommandResult::Reject
    }
}

/// Serves the IDEA smart meter's IEC 104 profile (`iec104::profile::Profile::smart_meter`) for the meter
/// `meter` of `grid`: active and reactive power, voltage, current and frequency as measured values, and its
/// energy registers as integrated totals (M_IT_NA_1, Wh, read by counter interrogation; a counter rolls over
/// at 2^31 Wh as a BCR does). Same TLS and fault behaviour as [`iec104_router`].
///
/// # Errors
/// The profile's, the TLS files', or [`crate::Error::UnknownElement`] when the model has no such meter.
pub async fn iec104_meter(
    listener: TcpListener,
    station: &Iec104Station,
    grid: SharedGrid,
    meter: &str,
    faults: &Faults,
) -> crate::Result<Tasks> {
    lock(&grid).meter(meter)?;
    let profile = Profile::smart_meter().map_err(device_error)?;
    let meter = meter.to_owned();
    let measure = move || {
        let model = lock(&grid);
        let Ok(m) = model.meter(&meter) else {
            return Vec::new();
        };
        let m = m.clone();
        let counter = |wh: f64| {
            // Whole watt-hours modulo 2^31: what a binary counter reading holds.
            #[allow(clippy::cast_possible_truncation)]
            let value = (wh.floor() as i64).rem_euclid(1 << 31) as i32;
            vec![Element::Bcr(value, 0)]
        };
        vec![
            ("p_kw".to_owned(), float(m.p_w / 1000.0)),
            ("q_kvar".to_owned(), float(m.q_var / 1000.0)),
            ("voltage_v".to_owned(), float(model.bus_volts(m.bus))),
            (
                "current_a".to_owned(),
                float(model.current_a(m.bus, m.p_w, m.q_var)),
            ),
            (
                "frequency_hz".to_owned(),
                float(model.bus_frequency_hz(m.bus)),
            ),
            ("energy_import_wh".to_owned(), counter(m.import_wh)),
            ("energy_export_wh".to_owned(), counter(m.export_wh)),
        ]
    };
    serve_iec104(listener, station, profile, NoCommands, faults, measure).await
}

fn device_error(e: iec104::Error) -> crate::Error {
    crate::Error::Device(e.to_string())
}

/// A measured value as a short float with good quality.
fn float(v: f64) -> Vec<Element> {
    // Measurements are reported as short floats.
    #[allow(clippy::cast_possible_truncation)]
    let f = v as f32;
    vec![Element::R32(f.to_bits()), Element::Qds(0)]
}

/// Serves `profile`'s station with `handler` behind the fault gate (mutual TLS to IEC 62351-3 with `tls`),
/// and every 100 ms, unless the device is stale, updates the points `measure` names, each reported
/// spontaneously when it moved beyond the deadband.
async fn serve_iec104<H: CommandHandler + Send + 'static>(
    listener: TcpListener,
    station: &Iec104Station,
    profile: Profile,
    handler: H,
    faults: &Faults,
    mut measure: impl FnMut() -> Vec<(String, Vec<Element>)> + Send + 'static,
) -> crate::Result<Tasks> {
    // Read before anything is served: a bad file ends the command before it says "serving".
    let tls = match &station.tls {
        Some(files) => Some(
            iec104::net::tls::server_config(
                iec104::net::tls::Identity::from_pem_files(&files.cert, &files.key)
                    .map_err(device_error)?,
                iec104::net::tls::trust_anchors_file(&files.client_ca).map_err(device_error)?,
            )
            .map_err(device_error)?,
        ),
        None => None,
    };
    let (db, mut config) = profile.station();
    if let Some(timeout) = station.select_timeout {
        config.select_timeout = timeout;
    }
    let server = Server::new(
        Outstation::new(config, db, handler, Instant::now()),
        ServerConfig {
            link: station.link,
            ..ServerConfig::default()
        },
    )
    .map_err(device_error)?;
    let mut tasks = Tasks::default();
    let listener = crate::fault::front(listener, faults, &mut tasks).await?;
    match tls {
        Some(tls) => tasks.spawn(
            "the IEC 104 server (TLS)",
            Arc::clone(&server).run_tls(listener, tls),
        ),
        None => tasks.spawn("the IEC 104 server", Arc::clone(&server).run(listener)),
    };
    let faults = faults.clone();
    let on_demand = match &station.on_demand {
        Some(handle) => Some(handle.take().ok_or_else(|| {
            crate::Error::Device("a measure-on-demand handle serves one station".into())
        })?),
        None => None,
    };
    tasks.spawn::<_, std::convert::Infallible>("the device's measurements", async move {
        let mut last: BTreeMap<u32, Vec<Element>> = BTreeMap::new();
        let mut on_demand = on_demand;
        loop {
            let ack = match on_demand.as_mut() {
                Some(requests) => match requests.recv().await {
                    Some(ack) => Some(ack),
                    // Nobody can ask any more: the station keeps what it last measured.
                    None => std::future::pending().await,
                },
                None => None,
            };
            if !faults.stale() {
                for (name, elements) in measure() {
                    if let Some(address) = profile.entry(&name).map(|e| e.ioa)
                        && beyond_deadband(last.get(&address), &elements)
                    {
                        server.update(address, elements.clone());
                        last.insert(address, elements);
                    }
                }
            }
            match ack {
                Some(ack) => {
                    let _ = ack.send(());
                }
                None => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    });
    Ok(tasks)
}

/// The deadband of the router's measured values (IEC 60870-5-101 clause 7.2.6.x spontaneous transmission on
/// change beyond a threshold): kW, kvar, V and Hz alike, so a slowly drifting flow does not flood the link.
const DEADBAND: f32 = 0.05;
/// Integrated totals are updated each time they move this many watt-hours.
const COUNTER_STEP_WH: u64 = 10;

/// Whether `now` differs from what was `last` reported enough to be reported: any change of a status or
/// mode, a measured value moved beyond [`DEADBAND`].
fn beyond_deadband(last: Option<&Vec<Element>>, now: &[Element]) -> bool {
    let Some(last) = last else {
        return true;
    };
    match (last.first(), now.first()) {
        (Some(Element::R32(a)), Some(Element::R32(b))) => {
            (f32::from_bits(*a) - f32::from_bits(*b)).abs() >= DEADBAND
        }
        // Counters: every ten watt-hours (or a roll-over).
        (Some(Element::Bcr(a, _)), Some(Element::Bcr(b, _))) => {
            i64::from(*a).abs_diff(i64::from(*b)) >= COUNTER_STEP_WH
        }
        _ => last.as_slice() != now,
    }
}

/// Serves the Modbus/SunSpec device `binding` of `grid` on `listener` (Modbus TCP), its SunSpec map at
/// `base`, answering as `unit`, until the tasks are dropped.
///
/// # Errors
/// [`crate::Error::UnknownElement`] when the model has no such element; [`crate::Error::Device`] for a
/// profile that does not build.
pub async fn modbus_model_device(
    listener: TcpListener,
    binding: Binding,
    grid: SharedGrid,
    at: ModbusAt,
    faults: &Faults,
) -> crate::Result<(modbus_profiles::net::Shared<ModelDevice>, Tasks)> {
    let device = ModelDevice::new(binding, grid, faults.clone(), at.base)?;
    let server = Arc::new(Mutex::new(modbus_profiles::server::Server::new(
        at.unit, device,
    )));
    let mut tasks = Tasks::default();
    let listener = crate::fault::front(listener, faults, &mut tasks).await?;
    tasks.spawn(
        "the Modbus TCP server",
        modbus_profiles::net::serve_tcp(listener, Arc::clone(&server)),
    );
    Ok((server, tasks))
}

/// [`modbus_model_device`] over Modbus RTU on a serial line (frames delimited by the line's 3.5-character
/// silence); `silent` drops requests there too.
///
/// # Errors
/// As [`modbus_model_device`], and the port's when it cannot be opened (the error names it).
pub fn modbus_model_device_serial(
    line: &modbus_profiles::net::SerialLine,
    binding: Binding,
    grid: SharedGrid,
    at: ModbusAt,
    faults: &Faults,
) -> crate::Result<(modbus_profiles::net::Shared<ModelDevice>, Tasks)> {
    let device = ModelDevice::new(binding, grid, faults.clone(), at.base)?;
    let server = Arc::new(Mutex::new(modbus_profiles::server::Server::new(
        at.unit, device,
    )));
    let port = line
        .open()
        .map_err(|e| crate::Error::Device(e.to_string()))?;
    let mut tasks = Tasks::default();
    tasks.spawn(
        "the Modbus RTU server (the serial port closed)",
        modbus_profiles::net::serve_rtu(port, Arc::clone(&server), line.frame_gap()),
    );
    Ok((server, tasks))
}

/// Where a Modbus device's SunSpec map sits and which unit it answers as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModbusAt {
    /// Register address of "SunS".
    pub base: u16,
    /// Unit id answered.
    pub unit: u8,
}

impl Default for ModbusAt {
    fn default() -> ModbusAt {
        ModbusAt {
            base: 40000,
            unit: 1,
        }
    }
}

/// An IEC 104 device's measurements taken when its caller asks rather than every 100 ms of real time: what a
/// caller that owns simulated time uses so that what the station reports follows the model's steps, never
/// the wall clock (a run reproducible at any speed). One station per handle.
#[derive(Debug, Clone)]
pub struct MeasureOnDemand {
    requests: tokio::sync::mpsc::Sender<tokio::sync::oneshot::Sender<()>>,
    taken: Arc<
        std::sync::Mutex<Option<tokio::sync::mpsc::Receiver<tokio::sync::oneshot::Sender<()>>>>,
    >,
}

impl Default for MeasureOnDemand {
    fn default() -> MeasureOnDemand {
        let (requests, receiver) = tokio::sync::mpsc::channel(4);
        MeasureOnDemand {
            requests,
            taken: Arc::new(std::sync::Mutex::new(Some(receiver))),
        }
    }
}

impl MeasureOnDemand {
    /// The station measures the model now (reporting what moved beyond its deadband); returns once its
    /// database holds the measurement.
    ///
    /// # Errors
    /// [`crate::Error::Device`] when the station is not serving.
    pub async fn measure(&self) -> crate::Result<()> {
        let (ack, done) = tokio::sync::oneshot::channel();
        self.requests
            .send(ack)
            .await
            .map_err(|_| crate::Error::Device("the station's measurements stopped".into()))?;
        done.await
            .map_err(|_| crate::Error::Device("the station's measurements stopped".into()))
    }

    fn take(&self) -> Option<tokio::sync::mpsc::Receiver<tokio::sync::oneshot::Sender<()>>> {
        self.taken
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }
}

/// How an IEC 104 device's controlled station is set up: TLS, its link parameters, its select timeout.
#[derive(Debug, Clone, Default)]
pub struct Iec104Station {
    /// Mutual TLS to the IEC 62351-3 profile; `None` for plain TCP.
    pub tls: Option<ServerTls>,
    /// k, w and the timers t1–t3 of every connection (the standard's defaults unless set).
    pub link: iec104::link::LinkParams,
    /// How long a selection stays valid (select-before-operate); the station's default (10 s) when `None`.
    pub select_timeout: Option<std::time::Duration>,
    /// Measurements taken when asked; every 100 ms of real time when `None`.
    pub on_demand: Option<MeasureOnDemand>,
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

/// Who has an EndDevice on a served IEEE 2030.5 server, and who may get one.
#[derive(Debug, Clone, Default)]
pub struct Sep2Registration {
    /// Devices enrolled by the operator (LFDI, registration PIN).
    pub enrol: Vec<(ieee2030_5::primitives::HexBinary160, u32)>,
    /// In-band registration (CSIP-AUS): a client certified by the CA and not enrolled registers itself
    /// with `POST /edev` and gets the server's function set assignment.
    pub in_band: bool,
    /// Aggregators' certificates (LFDIs): each registers and acts for EndDevices of other LFDIs.
    pub aggregators: Vec<ieee2030_5::primitives::HexBinary160>,
    /// No FunctionSetAssignments, program, default control or event: the operator creates them.
    pub empty: bool,
}

/// The TLS of an IEEE 2030.5 server from its files: serving (mutual TLS, clients certified by
/// `files.client_ca`), and delivering notifications to `https://` subscribers with the same identity.
///
/// # Errors
/// A file that cannot be read or holds no usable certificate or key.
pub fn sep2_tls(
    files: &ServerTls,
) -> Result<
    (
        Arc<ieee2030_5::net::tls::ServerConfig>,
        Arc<ieee2030_5::net::tls::ClientConfig>,
    ),
    String,
> {
    use ieee2030_5::net::tls::{Identity, client_config, server_config, trust_anchors};
    let read = |p: &std::path::Path| idea_proto::pem::read(p);
    let (cert, key, ca) = (
        read(&files.cert)?,
        read(&files.key)?,
        read(&files.client_ca)?,
    );
    let identity = || Identity::from_pem(&cert, &key).map_err(|e| e.to_string());
    let anchors = || trust_anchors(&ca).map_err(|e| e.to_string());
    let serving = server_config(identity()?, anchors()?).map_err(|e| e.to_string())?;
    let notifying = client_config(identity()?, anchors()?).map_err(|e| e.to_string())?;
    Ok((Arc::new(serving), Arc::new(notifying)))
}

/// Serves an IEEE 2030.5 DER server on `listener` until the task is dropped (it holds no measurements, so
/// of the faults only `silent` applies): one function set assignment
/// with one DER program (primacy 1), a `DefaultDERControl` (maximum active power 100 %), and an event a
/// minute after start limiting it to 50 % for five minutes. Who may register is `registration`'s.
/// Without `tls` it speaks plain HTTP and every client is the operator (local testing only).
pub async fn sep2_server(
    listener: TcpListener,
    tls: Option<&ServerTls>,
    registration: &Sep2Registration,
    faults: &Faults,
) -> Result<(ieee2030_5::net::SharedServer, Tasks), String> {
    let clock = ieee2030_5::net::system_clock();
    let now = clock();
    let mut server = ieee2030_5::server::Server::new(60);
    let fsas = if registration.empty {
        Vec::new()
    } else {
        vec![demonstration(&mut server, now)]
    };
    for (lfdi, pin) in &registration.enrol {
        server.enrol(*lfdi, *pin, &fsas, now);
    }
    if registration.in_band {
        server.set_registration_policy(ieee2030_5::server::RegistrationPolicy::InBand { fsas });
    }
    for aggregator in &registration.aggregators {
        server.add_aggregator(*aggregator);
    }
    // TLS both ways: serving, and delivering notifications to `https://` subscribers with the same identity.
    let (tls, notify_tls) = match tls {
        Some(files) => {
            let (serving, notifying) = sep2_tls(files)?;
            (Some(serving), Some(notifying))
        }
        None => (None, None),
    };
    let shared = Arc::new(Mutex::new(server));
    let mut tasks = Tasks::default();
    let listener = crate::fault::front(listener, faults, &mut tasks)
        .await
        .map_err(|e| e.to_string())?;
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

/// The demonstration content of `idea serve sep2-server`: one FSA with one DER program (primacy 1), a
/// `DefaultDERControl` of 100 % and an event a minute after `now` limiting to 50 % for five minutes.
fn demonstration(server: &mut ieee2030_5::server::Server, now: i64) -> ieee2030_5::server::FsaId {
    use ieee2030_5::primitives::HexBinary;
    use ieee2030_5::resources::{
        DERControl, DERControlBase, DERProgram, DateTimeInterval, DefaultDERControl,
    };
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
    fsa
}
