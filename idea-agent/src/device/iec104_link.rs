//! The IEC 60870-5-104 side of the device link (NG-R6): the energy router as the cell's actuator — its port
//! toward the cell carries the agent's setpoint, in mode NG-R4 (flows either way) — and the IDEA smart meter
//! at the connection (IOT-05): measured values from the general interrogation and spontaneous reports
//! (`M_ME_NC_1`), energy registers by counter interrogation (`C_CI_NA_1` → `M_IT_NA_1`). Addresses and types
//! come from the profiles `iec104` ships (`Profile::energy_router`, `Profile::smart_meter`).

use super::ConnectionController;
use super::link::{MeterSample, link_error};
use idea_proto::Timestamp;
use iec104::net::{Client, ClientConfig};
use iec104::profile::{Entry, Profile};
use iec104::{Asdu, Command, Element, Objects};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

/// How long a command, an interrogation or the start of data transfer may take.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);
/// Qualifier of interrogation: the station (IEC 60870-5-101 clause 7.2.6.22).
const QOI_STATION: u8 = 20;
/// Qualifier of counter interrogation: read, every counter (clause 7.2.6.23).
const QCC_ALL: u8 = 5;
/// NG-R4: flows in either direction, export into the network limited (the router's own limit).
const MODE_R4: f64 = 4.0;
/// A binary counter reading holds 31 bits of magnitude (clause 7.2.6.9): it rolls over here.
const COUNTER_SPAN: i64 = 1 << 31;

/// A controlled station reached over IEC 104, with what it last reported.
struct Station {
    client: Client,
    name: String,
    common_address: u16,
    /// The last value of each monitored object, by IOA.
    values: BTreeMap<u32, f64>,
    /// The commands the profile says are selected before they are executed, by IOA.
    select_before_operate: std::collections::BTreeSet<u32>,
}

/// The value an information object carries, as a number (a float, a scaled or normalised value, a counter,
/// a single point).
fn value_of(elements: &[Element]) -> Option<f64> {
    match elements.first()? {
        Element::R32(bits) => Some(f64::from(f32::from_bits(*bits))),
        Element::Sva(v) => Some(f64::from(*v)),
        Element::Nva(v) => Some(f64::from(*v) / 32768.0),
        Element::Bcr(v, _) => Some(f64::from(*v)),
        Element::Siq(s) => Some(f64::from(*s & 1)),
        _ => None,
    }
}

impl Station {
    async fn open(
        address: SocketAddr,
        config: ClientConfig,
        common_address: u16,
    ) -> crate::Result<Station> {
        let name = address.to_string();
        let mut client = Client::connect(address, config).map_err(|e| link_error(&name, e))?;
        client
            .wait_started(ANSWER_WITHIN)
            .await
            .map_err(|e| link_error(&name, e))?;
        let mut station = Station {
            client,
            name,
            common_address,
            values: BTreeMap::new(),
            select_before_operate: std::collections::BTreeSet::new(),
        };
        station.interrogate().await?;
        Ok(station)
    }

    fn take(&mut self, asdus: &[Asdu]) {
        for asdu in asdus {
            if let Objects::Known(objects) = &asdu.objects {
                for object in objects {
                    if let Some(v) = value_of(&object.elements) {
                        self.values.insert(object.ioa, v);
                    }
                }
            }
        }
    }

    /// A station interrogation: every monitored value afresh.
    async fn interrogate(&mut self) -> crate::Result<()> {
        let answers = self
            .client
            .interrogate(self.common_address, QOI_STATION, ANSWER_WITHIN)
            .await
            .map_err(|e| link_error(&self.name, e))?;
        self.take(&answers);
        Ok(())
    }

    /// Takes the spontaneous reports that arrived since the last call (without waiting for more).
    async fn drain(&mut self) {
        let mut arrived = Vec::new();
        while let Ok(Some(asdu)) =
            tokio::time::timeout(Duration::ZERO, self.client.next_event()).await
        {
            arrived.push(asdu);
        }
        self.take(&arrived);
    }

    /// A counter interrogation: the integrated totals, by IOA.
    async fn counters(&mut self) -> crate::Result<BTreeMap<u32, f64>> {
        let answers = self
            .client
            .interrogate_counters(self.common_address, QCC_ALL, ANSWER_WITHIN)
            .await
            .map_err(|e| link_error(&self.name, e))?;
        let mut totals = BTreeMap::new();
        for asdu in &answers {
            if let Objects::Known(objects) = &asdu.objects {
                for object in objects {
                    if let Some(v) = value_of(&object.elements) {
                        totals.insert(object.ioa, v);
                    }
                }
            }
        }
        Ok(totals)
    }

    /// Sends one command; a negative confirmation (or none) is the command refused, with the reason.
    /// Sends a command: selected first where the profile says so (IEC 60870-5-101 clause 7.4.2), then
    /// executed; a negative confirmation of either is the command failing.
    async fn command(&self, entry: &Entry, value: f64) -> Result<(), String> {
        let steps: &[bool] = if self.select_before_operate.contains(&entry.ioa) {
            &[true, false]
        } else {
            &[false]
        };
        for &select in steps {
            let asdu = Command {
                type_id: entry.type_id,
                common_address: self.common_address,
                ioa: entry.ioa,
                value,
                select,
                qualifier: 0,
                time: None,
            }
            .to_asdu()
            .map_err(|e| format!("{}: {e}", entry.name))?;
            let what = if select { "selection of " } else { "" };
            match self.client.command(asdu, ANSWER_WITHIN).await {
                Ok(outcome) if outcome.confirmed => {}
                Ok(_) => {
                    return Err(format!(
                        "{}: {what}{} = {value} refused (negative confirmation)",
                        self.name, entry.name
                    ));
                }
                Err(e) => {
                    return Err(format!(
                        "{}: {what}{} = {value}: {e}",
                        self.name, entry.name
                    ));
                }
            }
        }
        Ok(())
    }
}

fn entry(profile: &Profile, name: &str) -> crate::Result<Entry> {
    profile
        .entry(name)
        .cloned()
        .ok_or_else(|| link_error("the IEC 104 profile", format!("no point {name}")))
}

/// The energy router as the cell's actuator: the setpoint in force goes to the cell's port
/// (`p_setpoint_kw[port]`, `C_SE_NC_1`, positive into the port's side — so an export is negative), and to
/// zero when it lapses. The router is put in NG-R4 and enabled when the first setpoint arrives; until then
/// the agent leaves it as it found it.
pub(crate) struct RouterActuator {
    station: Station,
    set_mode: Entry,
    set_enable: Entry,
    setpoint: Entry,
    /// Whether the router was put in NG-R4 and enabled.
    ready: bool,
    /// The export the port was last told, W (NaN: nothing yet).
    held_w: f64,
    /// The most the port is commanded either way, W.
    max_w: f64,
}

impl RouterActuator {
    /// Connects to the router at `address` for its microgrid port `port` (1.., the port toward the cell), never
    /// commanding more than `max_w` either way.
    pub(crate) async fn open(
        address: SocketAddr,
        port: u8,
        max_w: f64,
        config: ClientConfig,
    ) -> crate::Result<RouterActuator> {
        let profile = Profile::energy_router().map_err(|e| link_error("the router profile", e))?;
        if port == 0 {
            return Err(link_error(
                &address.to_string(),
                "port 0 faces the supply network; the cell is on a microgrid port (1..)",
            ));
        }
        let setpoint = entry(&profile, &format!("p_setpoint_kw[{port}]"))?;
        let mut station = Station::open(address, config, profile.common_address).await?;
        station.select_before_operate = profile.select_before_operate.clone();
        Ok(RouterActuator {
            station,
            set_mode: entry(&profile, "set_mode")?,
            set_enable: entry(&profile, "set_enable")?,
            setpoint,
            ready: false,
            held_w: f64::NAN,
            max_w: max_w.max(0.0),
        })
    }

    /// A setpoint arrived: the router is put in NG-R4 and enabled (a router that refuses either is the
    /// command failing).
    pub(crate) async fn accept(&mut self) -> Result<(), String> {
        if !self.ready {
            self.station.command(&self.set_mode, MODE_R4).await?;
            self.station.command(&self.set_enable, 1.0).await?;
            self.ready = true;
        }
        Ok(())
    }

    /// One step: the setpoint in force (zero when none) to the port, when it moved by a watt or more.
    pub(crate) async fn step(
        &mut self,
        controller: &mut ConnectionController,
        now: Timestamp,
        import_w: f64,
    ) -> crate::Result<()> {
        // Drops lapsed setpoints; the router, not the storage, holds the connection here.
        controller.update(now, import_w);
        self.station.drain().await;
        if !self.ready {
            return Ok(());
        }
        let export_w = controller
            .target(now)
            .unwrap_or(0.0)
            .clamp(-self.max_w, self.max_w);
        if (export_w - self.held_w).abs() >= 1.0 || self.held_w.is_nan() {
            self.station
                .command(&self.setpoint, -export_w / 1000.0)
                .await
                .map_err(crate::Error::Link)?;
            self.held_w = export_w;
        }
        Ok(())
    }
}

/// A 31-bit binary counter unrolled into a running total.
#[derive(Debug, Default, Clone, Copy)]
struct Counter {
    last: Option<i64>,
    total: i64,
}

impl Counter {
    fn read(&mut self, raw: f64) -> f64 {
        // A counter reading is an i32.
        #[allow(clippy::cast_possible_truncation)]
        let raw = raw as i64;
        let step = match self.last {
            // A large fall is the counter rolling over; a small one a glitch or a reset: nothing counted.
            Some(last) if last.saturating_sub(raw) > COUNTER_SPAN / 2 => {
                raw.saturating_add(COUNTER_SPAN).saturating_sub(last)
            }
            Some(last) => raw.saturating_sub(last).max(0),
            None => raw,
        };
        self.last = Some(raw);
        self.total = self.total.saturating_add(step);
        // Watt-hours of one meter: exact in an f64.
        #[allow(clippy::cast_precision_loss)]
        let total = self.total as f64;
        total
    }
}

/// The IDEA smart meter at the connection over IEC 104.
pub(crate) struct Iec104Meter {
    station: Station,
    power: Entry,
    import: (Entry, Counter),
    export: (Entry, Counter),
}

impl Iec104Meter {
    pub(crate) async fn open(
        address: SocketAddr,
        config: ClientConfig,
    ) -> crate::Result<Iec104Meter> {
        let profile = Profile::smart_meter().map_err(|e| link_error("the meter profile", e))?;
        Ok(Iec104Meter {
            power: entry(&profile, "p_kw")?,
            import: (entry(&profile, "energy_import_wh")?, Counter::default()),
            export: (entry(&profile, "energy_export_wh")?, Counter::default()),
            station: Station::open(address, config, profile.common_address).await?,
        })
    }

    /// The meter's sample: its power as last reported, its energy registers read now.
    pub(crate) async fn sample(&mut self) -> crate::Result<MeterSample> {
        self.station.drain().await;
        let totals = self.station.counters().await?;
        let name = self.station.name.clone();
        let (Some(import_raw), Some(export_raw), Some(kw)) = (
            totals.get(&self.import.0.ioa),
            totals.get(&self.export.0.ioa),
            self.station.values.get(&self.power.ioa),
        ) else {
            return Err(link_error(&name, "the meter reported no power or energy"));
        };
        Ok(MeterSample {
            import_w: kw * 1000.0,
            import_wh: self.import.1.read(*import_raw),
            export_wh: self.export.1.read(*export_raw),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::float_cmp)]
    use super::*;

    #[test]
    fn a_counter_that_rolls_over_keeps_counting() {
        let mut c = Counter::default();
        assert_eq!(c.read(2_147_483_000.0), 2_147_483_000.0);
        assert_eq!(c.read(2_147_483_600.0), 2_147_483_600.0);
        assert_eq!(
            c.read(100.0),
            2_147_483_748.0,
            "48 Wh to the top, 100 past it"
        );
        assert_eq!(c.read(40.0), 2_147_483_748.0, "a small fall counts nothing");
        assert_eq!(
            c.read(50.0),
            2_147_483_758.0,
            "and counting goes on from it"
        );
    }

    #[test]
    fn values_are_read_from_each_element_kind() {
        assert_eq!(value_of(&[Element::R32(1.5f32.to_bits())]), Some(1.5));
        assert_eq!(value_of(&[Element::Sva(-4), Element::Qds(0)]), Some(-4.0));
        assert_eq!(value_of(&[Element::Bcr(7, 0)]), Some(7.0));
        assert_eq!(value_of(&[Element::Qds(0)]), None);
    }
}
